//! WhatsApp follow-up sender: one HTTP POST to `WHATSAPP_WEBHOOK_URL`.
//!
//! Body (our contract with the relay; see `docs/STORAGE.md` and protocols.md §5):
//! `{"template", "language", "idempotency_key", "to", "parameters": {"restaurant", "date",
//! "time", "party_size"}}` with `Authorization: Bearer <WHATSAPP_WEBHOOK_TOKEN>` and the same
//! key in an `Idempotency-Key` header. The decrypted number appears only in that body; errors
//! and logs carry status codes, never numbers, tokens or URLs.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::phone::PhoneNumber;

/// The bearer token (`WHATSAPP_WEBHOOK_TOKEN`); `Debug` redacts it.
#[derive(Clone)]
pub struct WebhookToken(String);

impl WebhookToken {
    /// Wraps the token text.
    pub fn new(token: impl Into<String>) -> WebhookToken {
        WebhookToken(token.into())
    }
}

impl fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookToken(<redacted>)")
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct WhatsAppConfig {
    /// `WHATSAPP_WEBHOOK_URL`.
    pub webhook_url: String,
    /// `WHATSAPP_WEBHOOK_TOKEN`.
    pub token: WebhookToken,
    /// Whole-request timeout (connect + response); a stalled webhook counts as a failure.
    pub timeout: Duration,
}

/// One confirmation to send.
#[derive(Debug, Clone)]
pub struct FollowupMessage {
    /// Approved template name.
    pub template: String,
    /// Template language code.
    pub language: String,
    /// Same key on every retry, so the receiver can drop duplicates.
    pub idempotency_key: String,
    /// Recipient.
    pub to: PhoneNumber,
    /// Restaurant display name.
    pub restaurant: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    /// Covers.
    pub party_size: u8,
}

/// What the webhook answered on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// HTTP status (2xx).
    pub status: u16,
    /// `messages[0].id` (Cloud API shape) or `id`, when present.
    pub message_id: Option<String>,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No response within the timeout.
    #[error("WhatsApp webhook did not answer within {0:?}")]
    Timeout(Duration),
    /// Could not connect.
    #[error("cannot connect to the WhatsApp webhook: {0}")]
    Connect(String),
    /// 429: slow down; `retry_after` from the `Retry-After` header (seconds) when given.
    #[error("WhatsApp webhook rate-limited the send (429, retry after {retry_after:?})")]
    RateLimited {
        /// Requested wait.
        retry_after: Option<Duration>,
    },
    /// 5xx or 408: the webhook failed; retry later.
    #[error("WhatsApp webhook failed with HTTP {0}")]
    Server(u16),
    /// Other 4xx: the request itself is wrong (bad token, unknown template); retrying won't help
    /// until configuration changes, so the job is dead-lettered.
    #[error("WhatsApp webhook rejected the send with HTTP {status}: {detail}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Start of the response body (the relay's reason).
        detail: String,
    },
    /// Anything else at the HTTP layer.
    #[error("WhatsApp webhook request failed: {0}")]
    Transport(String),
}

impl SendError {
    /// True when retrying cannot help without a configuration change.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Rejected { .. })
    }

    /// The wait the webhook asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// HTTP client for the webhook. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WhatsAppSender {
    client: reqwest::Client,
    config: WhatsAppConfig,
}

#[derive(Serialize)]
struct Body<'a> {
    template: &'a str,
    language: &'a str,
    idempotency_key: &'a str,
    to: &'a str,
    parameters: Parameters<'a>,
}

#[derive(Serialize)]
struct Parameters<'a> {
    restaurant: &'a str,
    date: &'a str,
    time: &'a str,
    party_size: u8,
}

impl WhatsAppSender {
    /// Builds the client (rustls with ring; timeouts from `config`).
    pub fn new(config: WhatsAppConfig) -> Result<WhatsAppSender, SendError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| SendError::Transport(e.without_url().to_string()))?;
        Ok(WhatsAppSender { client, config })
    }

    /// Sends one confirmation. Never retries by itself: the job queue decides when to try again
    /// (honouring `Retry-After`), so retries are durable across restarts.
    pub async fn send(&self, msg: &FollowupMessage) -> Result<SendReceipt, SendError> {
        let body = Body {
            template: &msg.template,
            language: &msg.language,
            idempotency_key: &msg.idempotency_key,
            to: msg.to.expose_e164(),
            parameters: Parameters {
                restaurant: &msg.restaurant,
                date: &msg.date,
                time: &msg.time,
                party_size: msg.party_size,
            },
        };
        let response = self
            .client
            .post(&self.config.webhook_url)
            .bearer_auth(&self.config.token.0)
            .header("Idempotency-Key", &msg.idempotency_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            let json: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
            let message_id = json
                .pointer("/messages/0/id")
                .or_else(|| json.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            return Ok(SendReceipt { status, message_id });
        }
        if status == 429 {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(SendError::RateLimited { retry_after });
        }
        if status >= 500 || status == 408 {
            return Err(SendError::Server(status));
        }
        let text = response.text().await.unwrap_or_default();
        Err(SendError::Rejected {
            status,
            detail: text.chars().take(200).collect(),
        })
    }

    fn classify(&self, e: reqwest::Error) -> SendError {
        if e.is_timeout() {
            SendError::Timeout(self.config.timeout)
        } else if e.is_connect() {
            SendError::Connect(e.without_url().to_string())
        } else {
            SendError::Transport(e.without_url().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_whatsapp_config_hides_the_token() {
        let cfg = WhatsAppConfig {
            webhook_url: "https://relay.example.in/send".into(),
            token: WebhookToken::new("whatsapp-bearer-token-value"),
            timeout: Duration::from_secs(5),
        };
        let shown = format!("{cfg:?} {cfg:#?}");
        assert!(!shown.contains("whatsapp-bearer-token-value"), "{shown}");
        assert!(shown.contains("WebhookToken(<redacted>)"), "{shown}");
    }
}
