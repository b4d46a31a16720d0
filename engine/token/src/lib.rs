//! Signed, expiring tokens: one format for every "permission slip" the server hands out.
//!
//! The server issues small self-contained tokens in three places: the stream URL rendered into
//! Plivo's answer XML, the Talk-to-it ticket a browser puts in its WebSocket URL, and the admin's
//! login token. All three need the same properties — nothing stored server-side, claims that
//! cannot be altered, an expiry checked against an injected clock, and input from strangers that
//! never reaches the JSON parser unless it carries our MAC — so they share this one module
//! instead of two near-identical copies.
//!
//! Format: `v1.` + base64url(JSON claims) + `.` + base64url(HMAC-SHA256(key, "v1." + claims)).
//! Each use has its own key derived from the server secret ([`purpose_secret`]), so a token
//! issued for one purpose never verifies as another's even though the format is the same.
//!
//! Pure: `now` is always passed in; single-use enforcement belongs to whoever stores state.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "v1.";
/// Shortest accepted secret, in bytes.
pub const MIN_SECRET_LEN: usize = 16;
/// Longest token accepted before any decoding: real tokens are a few hundred bytes, and a
/// stranger's megabyte must not be base64-decoded or MACed.
pub const MAX_TOKEN_LEN: usize = 1024;

/// Claims that carry their own expiry.
pub trait Expiring {
    /// After this instant the token is refused.
    fn expires_at(&self) -> DateTime<Utc>;
}

/// Why a token was refused. Messages never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The secret is too short to be a real key.
    #[error("token secret is {len} bytes; use at least {MIN_SECRET_LEN} random bytes")]
    WeakSecret {
        /// Length of the refused secret.
        len: usize,
    },
    /// Not shaped like a token at all (missing, truncated, wrong version, bad base64/JSON).
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Well-formed but not MACed with our key: forged, altered, or issued for another purpose.
    #[error("token signature does not match (forged, altered or meant for something else)")]
    Tampered,
    /// Genuine but too old.
    #[error("token expired at {expired_at}")]
    Expired {
        /// When it stopped being valid.
        expired_at: DateTime<Utc>,
    },
}

/// A 32-byte key for one purpose, derived from a shared server secret.
///
/// Hashing `vartalaap/<purpose>\0<secret>` separates the domains: the admin's login key and
/// the stream-token key come from the same `SESSION_SECRET` but are unrelated keys.
pub fn purpose_secret(secret: &[u8], purpose: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"vartalaap/");
    hash.update(purpose.as_bytes());
    hash.update([0u8]);
    hash.update(secret);
    hash.finalize().into()
}

/// A key that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey {
    /// HMAC keyed once with the secret; cloned per token (the secret itself is not kept).
    keyed: HmacSha256,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Wraps a secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<TokenKey, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakSecret { len: secret.len() });
        }
        let keyed = <HmacSha256 as Mac>::new_from_slice(secret)
            .map_err(|_| TokenError::WeakSecret { len: secret.len() })?;
        Ok(TokenKey { keyed })
    }

    /// The key for `purpose`, derived from a shared `secret` (which must itself be at least
    /// [`MIN_SECRET_LEN`] bytes: hashing does not make a short secret strong).
    pub fn for_purpose(secret: &[u8], purpose: &str) -> Result<TokenKey, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakSecret { len: secret.len() });
        }
        TokenKey::new(&purpose_secret(secret, purpose))
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(signed.as_bytes());
        mac
    }

    /// Signs `claims` into a URL-safe token (characters `A–Z a–z 0–9 - _ .` only).
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        // Claims are plain structs of strings and numbers: serializing them cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let signed = format!("{PREFIX}{}", B64URL.encode(json));
        let tag = B64URL.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    /// Checks a token and returns its claims. The length is bounded and the MAC checked (in
    /// constant time) before the claims are decoded, so forged JSON never reaches serde.
    pub fn verify<C: DeserializeOwned + Expiring>(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<C, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Malformed("empty"));
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("too long"));
        }
        let rest = token
            .strip_prefix(PREFIX)
            .ok_or(TokenError::Malformed("unknown version"))?;
        let (claims_b64, tag_b64) = rest
            .split_once('.')
            .ok_or(TokenError::Malformed("missing signature part"))?;
        let tag = B64URL
            .decode(tag_b64)
            .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
        let signed = &token[..PREFIX.len() + claims_b64.len()];
        self.mac(signed)
            .verify_slice(&tag)
            .map_err(|_| TokenError::Tampered)?;
        let json = B64URL
            .decode(claims_b64)
            .map_err(|_| TokenError::Malformed("claims are not base64url"))?;
        let claims: C = serde_json::from_slice(&json)
            .map_err(|_| TokenError::Malformed("claims are not valid JSON"))?;
        let expired_at = claims.expires_at();
        if now >= expired_at {
            return Err(TokenError::Expired { expired_at });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Slip {
        who: String,
        #[serde(with = "chrono::serde::ts_seconds")]
        until: DateTime<Utc>,
    }

    impl Expiring for Slip {
        fn expires_at(&self) -> DateTime<Utc> {
            self.until
        }
    }

    fn key() -> TokenKey {
        TokenKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 18, 0, 0).unwrap()
    }

    fn slip() -> Slip {
        Slip {
            who: "caller-1".into(),
            until: t0() + Duration::seconds(60),
        }
    }

    #[test]
    fn signed_tokens_are_url_safe_and_verify_until_they_expire() {
        let token = key().sign(&slip());
        assert!(token.starts_with("v1."));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(
            key()
                .verify::<Slip>(&token, t0() + Duration::seconds(59))
                .unwrap(),
            slip()
        );
        assert_eq!(
            key().verify::<Slip>(&token, t0() + Duration::seconds(60)),
            Err(TokenError::Expired {
                expired_at: slip().until
            })
        );
    }

    #[test]
    fn another_key_swapped_claims_or_any_altered_byte_is_refused() {
        let token = key().sign(&slip());
        let other = TokenKey::new(b"another-secret-of-enough-length").unwrap();
        assert_eq!(
            other.verify::<Slip>(&token, t0()),
            Err(TokenError::Tampered)
        );

        // Claims for someone else, carrying the original MAC.
        let forged = other.sign(&Slip {
            who: "caller-2".into(),
            until: t0() + Duration::days(365),
        });
        let (_, real_tag) = token.rsplit_once('.').unwrap();
        let (forged_body, _) = forged.rsplit_once('.').unwrap();
        assert_eq!(
            key().verify::<Slip>(&format!("{forged_body}.{real_tag}"), t0()),
            Err(TokenError::Tampered)
        );

        for i in PREFIX.len()..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered == token {
                continue;
            }
            let err = key().verify::<Slip>(&altered, t0()).unwrap_err();
            assert!(
                matches!(err, TokenError::Tampered | TokenError::Malformed(_)),
                "{err}"
            );
        }
    }

    #[test]
    fn keys_for_different_purposes_do_not_accept_each_others_tokens() {
        let secret = b"one shared server secret, 32 byte";
        let login = TokenKey::for_purpose(secret, "admin-session/v1").unwrap();
        let stream = TokenKey::for_purpose(secret, "plivo-stream-token/v1").unwrap();
        let token = login.sign(&slip());
        assert!(login.verify::<Slip>(&token, t0()).is_ok());
        assert_eq!(
            stream.verify::<Slip>(&token, t0()),
            Err(TokenError::Tampered)
        );
        assert_ne!(
            purpose_secret(secret, "a"),
            purpose_secret(secret, "b"),
            "purposes separate the keys"
        );
        assert_eq!(
            TokenKey::for_purpose(b"short", "admin-session/v1").unwrap_err(),
            TokenError::WeakSecret { len: 5 }
        );
    }

    #[test]
    fn malformed_tokens_are_typed_errors_not_panics() {
        let k = key();
        for bad in [
            "",
            "v1",
            "v1.",
            "v1.abc",
            "v2.abc.def",
            "v1.abc.!!!",
            "v1..",
            "....",
            "v1.ü.ü",
        ] {
            let err = k.verify::<Slip>(bad, t0()).unwrap_err();
            assert!(
                matches!(err, TokenError::Malformed(_) | TokenError::Tampered),
                "{bad:?}: {err}"
            );
        }
        let long = "v1.".to_string() + &"a".repeat(MAX_TOKEN_LEN);
        assert_eq!(
            k.verify::<Slip>(&long, t0()),
            Err(TokenError::Malformed("too long"))
        );
        // Correctly MACed but not the expected claims: still malformed, not a panic.
        let signed = format!("v1.{}", B64URL.encode(b"{\"who\":1}"));
        let tag = B64URL.encode(k.mac(&signed).finalize().into_bytes());
        assert_eq!(
            k.verify::<Slip>(&format!("{signed}.{tag}"), t0()),
            Err(TokenError::Malformed("claims are not valid JSON"))
        );
    }

    #[test]
    fn weak_secrets_are_refused_and_keys_do_not_print() {
        assert_eq!(
            TokenKey::new(b"short").unwrap_err(),
            TokenError::WeakSecret { len: 5 }
        );
        assert_eq!(format!("{:?}", key()), "TokenKey(..)");
    }
}
