//! The seam between the pure review pipeline and a language model at the edge.
//!
//! **Design decision:** the pipeline ([`crate::llm_review`]) builds every request and checks
//! every answer itself; the model only turns chat messages into text. So this crate keeps no
//! I/O (the Groq implementation lives in `vartalaap-llm`, tests use a scripted double), and a
//! model can never put anything into a review that the pipeline did not validate.

use std::future::Future;
use std::pin::Pin;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// The request content.
    User,
    /// An earlier answer of the model (shown back to it with the validation error on retry).
    Assistant,
}

/// One chat message sent to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (already masked when it carries call content).
    pub content: String,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// Why the model gave no answer (timeout, rate limit, HTTP error…): a short label for logs.
/// The stage then takes its offline result; a failure is not retried (only an invalid
/// answer is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFailure {
    /// Low-cardinality reason, e.g. `timeout`, `rate_limited`.
    pub reason: String,
}

/// A model's answer, awaited by the pipeline.
pub type ModelAnswer<'a> = Pin<Box<dyn Future<Output = Result<String, ModelFailure>> + Send + 'a>>;

/// A chat model the review pipeline asks.
pub trait ReviewModel: Send + Sync {
    /// The model's name, stored as the review's `agent_model`.
    fn model_name(&self) -> &str;

    /// The model's text answer to `messages`.
    fn ask<'a>(&'a self, messages: &'a [Message]) -> ModelAnswer<'a>;
}
