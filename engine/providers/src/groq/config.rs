//! Groq settings, filled from GROQ_API_KEY, GROQ_BASE_URL and GROQ_MODEL.

use std::fmt;
use std::time::Duration;

/// Everything the Groq client needs. The model always comes from here, never from code:
/// Groq decommissions models routinely.
#[derive(Clone, PartialEq)]
pub struct GroqConfig {
    /// `https://api.groq.com/openai/v1` in production; `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>`; never logged.
    pub api_key: String,
    /// Model name, e.g. from GROQ_MODEL.
    pub model: String,
    /// TCP + TLS connect bound.
    pub connect_timeout: Duration,
    /// From sending the request to the first content or tool-call delta.
    pub first_token_timeout: Duration,
    /// From sending the request to `[DONE]` (or the whole non-streaming body).
    pub total_timeout: Duration,
    /// Keep the raw SSE bytes of each stream ([`super::ChatStream::recorded_sse`]) so a real
    /// answer can be saved as a test fixture (`tests/fixtures/groq/*.sse`) and replayed by the
    /// mock. Off in production.
    pub record_sse: bool,
}

impl GroqConfig {
    /// A config with the live-call timeouts from the protocol notes (cap the wait at a few
    /// seconds, then speak a filler rather than waiting the SDK's 60 s).
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            model: model.into(),
            connect_timeout: Duration::from_secs(3),
            first_token_timeout: Duration::from_secs(3),
            total_timeout: Duration::from_secs(10),
            record_sse: false,
        }
    }
}

impl fmt::Debug for GroqConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroqConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &crate::redact::secret(&self.api_key))
            .field("model", &self.model)
            .field("connect_timeout", &self.connect_timeout)
            .field("first_token_timeout", &self.first_token_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("record_sse", &self.record_sse)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_groq_config_hides_the_api_key() {
        let cfg = GroqConfig::new("https://api.groq.com/openai/v1", "gsk_live_secret_key", "m");
        let shown = format!("{cfg:?} {cfg:#?}");
        assert!(!shown.contains("gsk_live_secret_key"), "{shown}");
        assert!(shown.contains("<redacted, 19 chars>"), "{shown}");
    }
}
