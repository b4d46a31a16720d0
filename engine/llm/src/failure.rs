//! Why an LLM step gave up, reduced to what the turn needs: every failure means "take the
//! offline path now", and the reason is a short label for logs and metrics.

use std::time::Duration;

use vartalaap_providers::groq::LlmError;

/// Why the LLM could not help with this turn. The caller never waits for a retry: the edge
/// takes the offline path in the same turn and the reason is logged and counted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The per-turn budget passed (no headers, no first token, or the answer took too long).
    #[error("the LLM did not answer within the turn's budget")]
    Timeout,
    /// HTTP 429; further requests pause until `retry_after` (or a default) has passed.
    #[error("the LLM provider's rate limit was reached")]
    RateLimited {
        /// When the provider said to try again.
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx status (401 key, 400 decommissioned model, 5xx, …).
    #[error("the LLM provider answered HTTP {0}")]
    Status(u16),
    /// An error event inside the stream (e.g. `tool_use_failed`).
    #[error("the LLM stream reported {0}")]
    Api(String),
    /// The response broke the protocol (bad JSON chunk, no `[DONE]`, wrong content type).
    #[error("the LLM response was malformed")]
    Malformed,
    /// Connection refused, reset, TLS failure.
    #[error("the LLM provider could not be reached")]
    Transport,
    /// The configuration cannot form a request.
    #[error("the LLM client is misconfigured: {0}")]
    Config(String),
    /// The model answered in text instead of calling the understanding tool.
    #[error("the model did not call the tool")]
    NoToolCall,
    /// The tool arguments were not the JSON object the schema asks for.
    #[error("the tool arguments were unusable")]
    BadArguments,
    /// The answer hit the token limit; a cut-off sentence is never spoken.
    #[error("the answer was cut off at the token limit")]
    Truncated,
    /// A rate limit is still in force; no request was sent.
    #[error("requests are paused after a rate limit")]
    CoolingDown,
}

impl Failure {
    /// A stable, low-cardinality label for logs and the `outcome` metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::RateLimited { .. } => "rate_limited",
            Failure::Status(code) if *code >= 500 => "server_error",
            Failure::Status(_) => "http_error",
            Failure::Api(_) => "stream_error",
            Failure::Malformed => "malformed",
            Failure::Transport => "unreachable",
            Failure::Config(_) => "misconfigured",
            Failure::NoToolCall => "no_tool_call",
            Failure::BadArguments => "bad_arguments",
            Failure::Truncated => "truncated",
            Failure::CoolingDown => "cooling_down",
        }
    }
}

impl From<LlmError> for Failure {
    fn from(e: LlmError) -> Self {
        match e {
            LlmError::Timeout { stage } => {
                // The stage is useful when tuning budgets; the turn only needs "too slow".
                tracing::debug!(?stage, "LLM deadline passed.");
                Failure::Timeout
            }
            LlmError::RateLimited { retry_after } => Failure::RateLimited { retry_after },
            LlmError::Status { code, .. } => Failure::Status(code),
            LlmError::Api { code, .. } => Failure::Api(code),
            LlmError::Malformed(detail) => {
                // The detail may quote model output; keep it out of info-level logs.
                tracing::debug!(%detail, "LLM response malformed.");
                Failure::Malformed
            }
            LlmError::Transport(detail) => {
                tracing::debug!(%detail, "LLM transport error.");
                Failure::Transport
            }
            LlmError::Config(detail) => Failure::Config(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vartalaap_providers::groq::TimeoutStage;

    #[test]
    fn provider_errors_map_to_labels() {
        let cases = [
            (
                LlmError::Timeout {
                    stage: TimeoutStage::FirstToken,
                },
                "timeout",
            ),
            (LlmError::RateLimited { retry_after: None }, "rate_limited"),
            (
                LlmError::Status {
                    code: 503,
                    body: String::new(),
                },
                "server_error",
            ),
            (
                LlmError::Status {
                    code: 400,
                    body: String::new(),
                },
                "http_error",
            ),
            (LlmError::Malformed("x".into()), "malformed"),
            (LlmError::Transport("x".into()), "unreachable"),
        ];
        for (e, label) in cases {
            assert_eq!(Failure::from(e).reason(), label);
        }
    }
}
