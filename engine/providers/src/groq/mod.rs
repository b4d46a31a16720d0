//! Groq chat completions (OpenAI-compatible): streaming with tool calls, and non-streaming.
//!
//! [`GroqClient::stream`] returns a pull-based [`ChatStream`]: the call task asks for the next
//! [`LlmEvent`] when it is ready for it, and dropping the stream cancels the HTTP request
//! (barge-in). Timeouts are part of the stream: the first token must arrive within
//! `first_token_timeout`, the whole answer within `total_timeout`, or the stream yields
//! [`LlmError::Timeout`] and the call speaks a filler or apology instead of waiting.
//!
//! The client does not retry by itself: on a live call the right answer to a 429 depends on
//! how long the caller has already waited, so [`LlmError::RateLimited`] carries `retry_after`
//! and the engine decides.

mod client;
mod config;
mod sse;
mod stream;
mod types;

pub use client::GroqClient;
pub use config::GroqConfig;
pub use sse::{SseEvent, SseParser};
pub use stream::{ChatStream, ToolCallAccumulator};
pub use types::{
    ChatCompletion, ChatMessage, ChatRequest, FinishReason, LlmEvent, ToolCall, ToolChoice,
    ToolSpec, Usage,
};

use std::time::Duration;

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStage {
    /// No response headers (connect + queue) within the first-token budget.
    Connect,
    /// Headers came, but no content or tool call within `first_token_timeout`.
    FirstToken,
    /// The whole answer took longer than `total_timeout`.
    Total,
}

/// Why a Groq request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The configuration cannot form a request (e.g. bad base URL or key characters).
    #[error("Groq config invalid: {0}")]
    Config(String),
    /// A deadline passed; speak a filler/apology.
    #[error("Groq did not answer in time ({stage:?})")]
    Timeout {
        /// Which deadline.
        stage: TimeoutStage,
    },
    /// HTTP 429: the organisation's rate limit. `retry_after` from `retry-after-ms` or
    /// `retry-after` when Groq sent one.
    #[error("Groq rate limit reached; retry after {retry_after:?}")]
    RateLimited {
        /// When to try again, if Groq said.
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx status. `body` is Groq's error JSON (`error.message`, `error.code`).
    #[error("Groq returned HTTP {code}: {body}")]
    Status {
        /// HTTP status.
        code: u16,
        /// Response body (Groq's error JSON), truncated to 2 KB.
        body: String,
    },
    /// An error event inside a 200 stream (e.g. `tool_use_failed`).
    #[error("Groq stream error {code}: {message}")]
    Api {
        /// `error.code` (e.g. `tool_use_failed`).
        code: String,
        /// `error.message`.
        message: String,
    },
    /// The response is not what the protocol says (bad JSON, missing `[DONE]`, …).
    #[error("Groq response malformed: {0}")]
    Malformed(String),
    /// Connection failed or broke.
    #[error("Groq transport error: {0}")]
    Transport(String),
}
