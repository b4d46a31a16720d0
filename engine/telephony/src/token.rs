//! Short-lived stream tokens: the answer URL's permission slip for one WebSocket upgrade.
//!
//! The answer handler has verified Plivo's signature and routed the call to a business; the
//! stream upgrade arrives a moment later on a different URL. The token ties the two together:
//! `/plivo/stream?token=v1.<claims>.<mac>` carries the call, the business and an expiry, MACed
//! with a server secret, so an upgrade the answer URL did not issue (or one replayed an hour
//! later) is refused before any audio is processed. Plivo does not substitute placeholders in
//! the URL (protocols §1.3), so the claims must be rendered in.
//!
//! The format, its bounds and checks are the project's one signed-token format
//! ([`vartalaap_token`]); this module adds the stream's claims and URL. Pure: `now` is always
//! passed in. One-use enforcement (a call streams once) belongs to the server, which knows
//! which calls already have a socket.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use vartalaap_token::{Expiring, TokenKey};

pub use vartalaap_token::{MAX_TOKEN_LEN, MIN_SECRET_LEN, TokenError};

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

impl Expiring for StreamClaims {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// The server's key for stream tokens.
#[derive(Debug, Clone)]
pub struct StreamTokenKey {
    key: TokenKey,
}

impl StreamTokenKey {
    /// Wraps a server secret (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        Ok(Self {
            key: TokenKey::new(secret)?,
        })
    }

    /// Issues a token for `call_uuid` at `business_id`, valid until `now + ttl`.
    pub fn issue(
        &self,
        call_uuid: &str,
        business_id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> String {
        self.issue_claims(&StreamClaims {
            call_uuid: call_uuid.to_string(),
            business_id: business_id.to_string(),
            expires_at: now + ttl,
        })
    }

    /// Issues a token for explicit claims.
    pub fn issue_claims(&self, claims: &StreamClaims) -> String {
        self.key.sign(claims)
    }

    /// Checks a token and returns its claims (MAC before parsing; see [`TokenKey::verify`]).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<StreamClaims, TokenError> {
        self.key.verify(token, now)
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
    fn issued_tokens_carry_the_call_and_business_until_they_expire() {
        let k = key();
        let tok = k.issue(
            "c5d3b2a0-1111",
            "himalayan-kitchen",
            t0(),
            DEFAULT_TOKEN_TTL,
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
        let other = StreamTokenKey::new(b"another-secret-of-enough-length").unwrap();
        assert_eq!(other.verify(&tok, t0()), Err(TokenError::Tampered));
    }

    #[test]
    fn claims_keep_their_short_wire_names() {
        // Stream URLs are rendered into Plivo's XML (2,048-character URL cap): one-letter keys.
        let claims = StreamClaims {
            call_uuid: "c".into(),
            business_id: "b".into(),
            expires_at: t0(),
        };
        assert_eq!(
            serde_json::to_string(&claims).unwrap(),
            format!(r#"{{"c":"c","b":"b","e":{}}}"#, t0().timestamp())
        );
    }

    #[test]
    fn weak_secrets_are_refused_and_keys_do_not_print() {
        assert_eq!(
            StreamTokenKey::new(b"short").unwrap_err(),
            TokenError::WeakSecret { len: 5 }
        );
        assert_eq!(
            format!("{:?}", key()),
            "StreamTokenKey { key: TokenKey(..) }"
        );
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
