//! Short-lived stream tokens: the answer URL's permission slip for one WebSocket upgrade.
//!
//! The answer handler has verified Plivo's signature and routed the call to a business; the
//! stream upgrade arrives a moment later on a different URL. The token ties the two together:
//! `/plivo/stream?token=v1.<claims>.<mac>` carries the call, the business and an expiry, MACed
//! with a server secret, so an upgrade the answer URL did not issue (or one replayed an hour
//! later) is refused before any audio is processed. Plivo does not substitute placeholders in
//! the URL (protocols §1.3), so the claims must be rendered in.
//!
//! Format: `v1.` + base64url(JSON claims) + `.` + base64url(HMAC-SHA256(secret, "v1." + claims)).
//! Pure: `now` is always passed in. One-use enforcement (a call streams once) belongs to the
//! server, which knows which calls already have a socket.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "v1.";
/// Shortest accepted server secret, in bytes.
pub const MIN_SECRET_LEN: usize = 16;
/// Longest token accepted before any decoding (URLs are capped at 2048 by Plivo anyway).
pub const MAX_TOKEN_LEN: usize = 1024;
/// How long a stream token stays valid: Plivo connects within a second or two of the answer
/// and retries the connect twice, so a minute is generous without being replayable later.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::seconds(60);

/// What a stream token vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamClaims {
    /// Plivo's `CallUUID` from the answer request; must equal `start.callId` on the socket.
    #[serde(rename = "c")]
    pub call_uuid: String,
    /// The business the dialled number routed to (pins which config the call runs).
    #[serde(rename = "b")]
    pub business_id: String,
    /// After this instant the token is refused.
    #[serde(rename = "e", with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
}

/// Why a stream token was refused. Messages never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The server secret is too short to be a real key.
    #[error(
        "stream token secret is {len} bytes; use at least {MIN_SECRET_LEN} random bytes (STREAM_TOKEN_SECRET)"
    )]
    WeakSecret { len: usize },
    /// Not shaped like a token at all (missing, truncated, wrong version, bad base64/JSON).
    #[error("malformed stream token: {0}")]
    Malformed(&'static str),
    /// Well-formed but not MACed with our secret: forged or altered.
    #[error("stream token signature does not match (forged or altered)")]
    Tampered,
    /// Genuine but too old; Plivo should have connected long before.
    #[error("stream token expired at {expired_at}")]
    Expired { expired_at: DateTime<Utc> },
}

/// The server's key for stream tokens.
#[derive(Clone)]
pub struct StreamTokenKey {
    /// HMAC keyed once with the secret; cloned per token (the secret itself is not kept).
    keyed: HmacSha256,
}

impl std::fmt::Debug for StreamTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamTokenKey(..)")
    }
}

impl StreamTokenKey {
    /// Wraps a server secret (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakSecret { len: secret.len() });
        }
        let keyed = <HmacSha256 as Mac>::new_from_slice(secret)
            .map_err(|_| TokenError::WeakSecret { len: secret.len() })?;
        Ok(Self { keyed })
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(signed.as_bytes());
        mac
    }

    /// Issues a token for `call_uuid` at `business_id`, valid until `now + ttl`.
    pub fn issue(
        &self,
        call_uuid: &str,
        business_id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> String {
        let claims = StreamClaims {
            call_uuid: call_uuid.to_string(),
            business_id: business_id.to_string(),
            expires_at: now + ttl,
        };
        self.issue_claims(&claims)
    }

    /// Issues a token for explicit claims.
    pub fn issue_claims(&self, claims: &StreamClaims) -> String {
        // Serializing three strings/ints to JSON cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let signed = format!("{PREFIX}{}", B64URL.encode(json));
        let tag = B64URL.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    /// Checks a token and returns its claims. The MAC is checked (in constant time) before
    /// the claims are even parsed, so forged JSON never reaches serde.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<StreamClaims, TokenError> {
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
        let claims: StreamClaims = serde_json::from_slice(&json)
            .map_err(|_| TokenError::Malformed("claims are not valid JSON"))?;
        if now >= claims.expires_at {
            return Err(TokenError::Expired {
                expired_at: claims.expires_at,
            });
        }
        Ok(claims)
    }
}

/// The stream URL to render into the answer XML: `wss://host/plivo/stream?token=…`.
///
/// `public_base_url` is the server's public origin (`https://bot.example.in`, optionally with a
/// path prefix); `https` becomes `wss` and `http` (local tests only) becomes `ws`.
pub fn stream_url(public_base_url: &str, path: &str, token: &str) -> String {
    let base = public_base_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    let path = path.trim_start_matches('/');
    // base64url has no characters that need escaping in a query.
    format!("{base}/{path}?token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key() -> StreamTokenKey {
        StreamTokenKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 18, 0, 0).unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let k = key();
        let tok = k.issue(
            "c5d3b2a0-1111",
            "himalayan-kitchen",
            t0(),
            DEFAULT_TOKEN_TTL,
        );
        assert!(tok.starts_with("v1."));
        assert!(
            tok.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        let claims = k.verify(&tok, t0() + Duration::seconds(59)).unwrap();
        assert_eq!(claims.call_uuid, "c5d3b2a0-1111");
        assert_eq!(claims.business_id, "himalayan-kitchen");
        assert_eq!(claims.expires_at, t0() + DEFAULT_TOKEN_TTL);
        assert_eq!(
            k.verify(&tok, t0() + Duration::seconds(60)),
            Err(TokenError::Expired {
                expired_at: t0() + DEFAULT_TOKEN_TTL
            })
        );
    }

    #[test]
    fn another_secret_or_any_altered_byte_is_tampered() {
        let tok = key().issue("call-1", "biz", t0(), DEFAULT_TOKEN_TTL);
        let other = StreamTokenKey::new(b"another-secret-of-enough-length").unwrap();
        assert_eq!(other.verify(&tok, t0()), Err(TokenError::Tampered));

        // Swap in claims for a different call, keeping the original MAC.
        let forged_claims = StreamClaims {
            call_uuid: "call-2".into(),
            business_id: "biz".into(),
            expires_at: t0() + Duration::days(365),
        };
        let forged = other.issue_claims(&forged_claims);
        let (_, real_tag) = tok.rsplit_once('.').unwrap();
        let (forged_body, _) = forged.rsplit_once('.').unwrap();
        assert_eq!(
            key().verify(&format!("{forged_body}.{real_tag}"), t0()),
            Err(TokenError::Tampered)
        );

        // Flip each character of the claims part in turn.
        for i in 3..tok.rfind('.').unwrap() {
            let mut bytes = tok.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered == tok {
                continue;
            }
            let err = key().verify(&altered, t0()).unwrap_err();
            assert!(
                matches!(err, TokenError::Tampered | TokenError::Malformed(_)),
                "{err}"
            );
        }
    }

    #[test]
    fn malformed_tokens_are_typed_not_panics() {
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
            let err = k.verify(bad, t0()).unwrap_err();
            assert!(
                matches!(err, TokenError::Malformed(_) | TokenError::Tampered),
                "{bad:?}: {err}"
            );
        }
        let long = "v1.".to_string() + &"a".repeat(MAX_TOKEN_LEN);
        assert_eq!(
            k.verify(&long, t0()),
            Err(TokenError::Malformed("too long"))
        );

        // Correctly MACed but not our JSON: still malformed, not a panic.
        let signed = format!("v1.{}", B64URL.encode(b"{\"c\":1}"));
        let tag = B64URL.encode(k.mac(&signed).finalize().into_bytes());
        assert_eq!(
            k.verify(&format!("{signed}.{tag}"), t0()),
            Err(TokenError::Malformed("claims are not valid JSON"))
        );
    }

    #[test]
    fn weak_secrets_are_refused_and_keys_do_not_print() {
        assert_eq!(
            StreamTokenKey::new(b"short").unwrap_err(),
            TokenError::WeakSecret { len: 5 }
        );
        assert_eq!(format!("{:?}", key()), "StreamTokenKey(..)");
    }

    #[test]
    fn stream_urls_switch_to_websocket_schemes() {
        assert_eq!(
            stream_url("https://bot.example.in/", "/plivo/stream", "v1.a.b"),
            "wss://bot.example.in/plivo/stream?token=v1.a.b"
        );
        assert_eq!(
            stream_url("http://127.0.0.1:8080", "plivo/stream", "t"),
            "ws://127.0.0.1:8080/plivo/stream?token=t"
        );
    }
}
