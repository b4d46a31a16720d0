//! Plivo REST calls a voice bot needs mid-call: transfer (re-fetch call XML) and hang up
//! (protocol notes §1.8). The media stream itself is served by the server crate.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Plivo REST settings (PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN, PLIVO_API_BASE_URL).
#[derive(Clone, PartialEq)]
pub struct PlivoRestConfig {
    /// `https://api.plivo.com` in production; `/v1/Account/{auth_id}/…` is appended.
    pub base_url: String,
    /// Account Auth ID (Basic-auth user, also part of every path).
    pub auth_id: String,
    /// Auth Token (Basic-auth password); never logged.
    pub auth_token: String,
    /// Whole-request bound; a hang-up must not hold the call task.
    pub timeout: Duration,
}

impl PlivoRestConfig {
    /// Config with a 5 s request timeout.
    pub fn new(
        base_url: impl Into<String>,
        auth_id: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            auth_id: auth_id.into(),
            auth_token: auth_token.into(),
            timeout: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for PlivoRestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlivoRestConfig")
            .field("base_url", &self.base_url)
            .field("auth_id", &crate::redact::secret(&self.auth_id))
            .field("auth_token", &crate::redact::secret(&self.auth_token))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Which legs of the call fetch the new XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legs {
    /// The caller's leg (what a bot transfer wants).
    ALeg,
    /// The dialled leg.
    BLeg,
    /// Both.
    Both,
}

/// Where Plivo fetches the XML that continues the call (e.g. a `<Dial>` to a human).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Legs to transfer.
    pub legs: Legs,
    /// URL of the XML document for the transferred leg(s).
    pub url: String,
    /// HTTP method Plivo uses to fetch it (`POST` or `GET`).
    pub method: String,
}

impl Transfer {
    /// Transfer the caller's leg to the XML at `url`, fetched with POST.
    pub fn aleg(url: impl Into<String>) -> Self {
        Self {
            legs: Legs::ALeg,
            url: url.into(),
            method: "POST".to_owned(),
        }
    }
}

/// How a hang-up went; both mean the call is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupOutcome {
    /// Plivo ended the call (204).
    HungUp,
    /// The call was already gone (404) — the caller hung up first. Not an error.
    AlreadyEnded,
}

/// Why a Plivo REST call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlivoError {
    /// Config or argument cannot form a request.
    #[error("Plivo request invalid: {0}")]
    Invalid(String),
    /// 401/403: check PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN.
    #[error("Plivo rejected the credentials (HTTP {0}); check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN")]
    Unauthorized(u16),
    /// 404 on a transfer: the call ended before it could be transferred.
    #[error("Plivo call not found (it has probably ended)")]
    CallNotFound,
    /// 429: too many API requests.
    #[error("Plivo API rate limit reached")]
    RateLimited,
    /// Another non-success status, with Plivo's `error` text.
    #[error("Plivo returned HTTP {code}: {message}")]
    Status {
        /// HTTP status.
        code: u16,
        /// Plivo's `error` field, or the raw body.
        message: String,
    },
    /// No answer within the configured timeout.
    #[error("Plivo did not answer within {0:?}")]
    Timeout(Duration),
    /// Connection failure.
    #[error("Plivo transport error: {0}")]
    Transport(String),
}

/// Plivo REST client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PlivoRest {
    cfg: PlivoRestConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl PlivoRest {
    /// Builds the client; validates the base URL and auth id.
    pub fn new(cfg: PlivoRestConfig) -> Result<Self, PlivoError> {
        let base = cfg.base_url.trim_end_matches('/');
        let parsed = url::Url::parse(base).map_err(|e| {
            PlivoError::Invalid(format!(
                "PLIVO_API_BASE_URL {base:?} is not a URL ({e}); expected e.g. https://api.plivo.com"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(PlivoError::Invalid(format!(
                "PLIVO_API_BASE_URL {base:?} must start with http:// or https://"
            )));
        }
        if !is_path_safe(&cfg.auth_id) {
            return Err(PlivoError::Invalid(
                "PLIVO_AUTH_ID must be non-empty letters and digits".into(),
            ));
        }
        let http = crate::tls::http_client(cfg.timeout.min(Duration::from_secs(5)))
            .map_err(PlivoError::Invalid)?;
        Ok(Self { cfg, http })
    }

    fn call_url(&self, call_uuid: &str) -> Result<String, PlivoError> {
        if !is_path_safe(call_uuid) {
            return Err(PlivoError::Invalid(format!(
                "call UUID {call_uuid:?} has characters other than letters, digits and '-'"
            )));
        }
        Ok(format!(
            "{}/v1/Account/{}/Call/{}/",
            self.cfg.base_url.trim_end_matches('/'),
            self.cfg.auth_id,
            call_uuid
        ))
    }

    /// Transfers a live call: Plivo fetches new XML for the given legs (202 on success).
    pub async fn transfer(&self, call_uuid: &str, transfer: &Transfer) -> Result<(), PlivoError> {
        let url = self.call_url(call_uuid)?;
        let body = match transfer.legs {
            Legs::ALeg => serde_json::json!({
                "legs": "aleg", "aleg_url": transfer.url, "aleg_method": transfer.method,
            }),
            Legs::BLeg => serde_json::json!({
                "legs": "bleg", "bleg_url": transfer.url, "bleg_method": transfer.method,
            }),
            Legs::Both => serde_json::json!({
                "legs": "both",
                "aleg_url": transfer.url, "aleg_method": transfer.method,
                "bleg_url": transfer.url, "bleg_method": transfer.method,
            }),
        };
        let request = self.http.post(url).json(&body);
        let (code, text) = self.execute(request).await?;
        match code {
            200..=299 => Ok(()),
            404 => Err(PlivoError::CallNotFound),
            _ => Err(status_error(code, &text)),
        }
    }

    /// Hangs up a call. A call that is already gone (404) counts as success.
    pub async fn hangup(&self, call_uuid: &str) -> Result<HangupOutcome, PlivoError> {
        let url = self.call_url(call_uuid)?;
        let (code, text) = self.execute(self.http.delete(url)).await?;
        match code {
            200..=299 => Ok(HangupOutcome::HungUp),
            404 => Ok(HangupOutcome::AlreadyEnded),
            _ => Err(status_error(code, &text)),
        }
    }

    async fn execute(&self, request: reqwest::RequestBuilder) -> Result<(u16, String), PlivoError> {
        let request = request
            .basic_auth(&self.cfg.auth_id, Some(&self.cfg.auth_token))
            .header("accept", "application/json");
        let run = async {
            let response = request.send().await?;
            let code = response.status().as_u16();
            let text = response.text().await?;
            Ok::<_, reqwest::Error>((code, text))
        };
        match tokio::time::timeout(self.cfg.timeout, run).await {
            Err(_) => Err(PlivoError::Timeout(self.cfg.timeout)),
            Ok(Err(e)) if e.is_timeout() => Err(PlivoError::Timeout(self.cfg.timeout)),
            Ok(Err(e)) => Err(PlivoError::Transport(e.without_url().to_string())),
            Ok(Ok((code, text))) => {
                if matches!(code, 401 | 403) {
                    return Err(PlivoError::Unauthorized(code));
                }
                if code == 429 {
                    return Err(PlivoError::RateLimited);
                }
                Ok((code, text))
            }
        }
    }
}

fn status_error(code: u16, text: &str) -> PlivoError {
    let message = serde_json::from_str::<ErrorBody>(text)
        .ok()
        .and_then(|b| b.error)
        .map(|e| match e {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .unwrap_or_else(|| text.chars().take(500).collect());
    PlivoError::Status { code, message }
}

fn is_path_safe(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_ids_that_would_escape_the_path() {
        let rest =
            PlivoRest::new(PlivoRestConfig::new("http://127.0.0.1:1", "MA123", "t")).unwrap();
        assert!(rest.call_url("abc-123").is_ok());
        assert!(matches!(rest.call_url("../x"), Err(PlivoError::Invalid(_))));
        assert!(matches!(
            PlivoRest::new(PlivoRestConfig::new("ftp://x", "MA1", "t")),
            Err(PlivoError::Invalid(_))
        ));
    }

    #[test]
    fn error_text_comes_from_the_error_field() {
        assert_eq!(
            status_error(500, r#"{"api_id":"x","error":"internal"}"#),
            PlivoError::Status {
                code: 500,
                message: "internal".into()
            }
        );
        assert_eq!(
            status_error(502, "Bad Gateway"),
            PlivoError::Status {
                code: 502,
                message: "Bad Gateway".into()
            }
        );
    }

    #[test]
    fn debug_hides_credentials() {
        let cfg = PlivoRestConfig::new("http://x", "MAABCDEF", "tok-secret");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("MAABCDEF") && !shown.contains("tok-secret"));
    }
}
