//! The two things a language model does for the engine, as traits, and the offline default.
//!
//! **Design decision:** the traits return boxed futures so the edges can hold one
//! `Arc<dyn Interpreter>` / `Arc<dyn Phraser>` chosen at start-up from settings (offline, Groq,
//! or a test double) without generics spreading through the call and chat code.

use std::pin::Pin;

use futures_util::Stream;
use futures_util::future::BoxFuture;
use vartalaap_config::Lang;
use vartalaap_core::Interpretation;

use crate::context::TurnContext;
use crate::failure::Failure;

/// Text pieces of a streamed answer (a few tokens each), in order. An `Err` ends the stream.
pub type TokenStream = Pin<Box<dyn Stream<Item = Result<String, Failure>> + Send>>;

/// Turns a caller's utterance into structured commands for the engine.
pub trait Interpreter: Send + Sync {
    /// Short name for logs (`offline`, `groq`).
    fn name(&self) -> &'static str;

    /// What the caller said, read against the conversation: an intent, slot values in the
    /// engine's canonical forms, and whether it corrects an earlier value. `Ok(None)` means
    /// "no opinion" (the offline reading stands).
    fn interpret<'a>(
        &'a self,
        ctx: &'a TurnContext,
        utterance: &'a str,
    ) -> BoxFuture<'a, Result<Option<Interpretation>, Failure>>;
}

/// One answer to phrase.
#[derive(Debug, Clone)]
pub struct PhraseRequest<'a> {
    /// The conversation after the engine's turn (slots, language, snapshot, time).
    pub ctx: &'a TurnContext,
    /// What the caller said.
    pub utterance: &'a str,
    /// The business template the engine answered with (`faq_not_found`, …).
    pub template: &'a str,
    /// The engine's rendered answer: the facts to keep and the fallback.
    pub template_text: &'a str,
    /// What the bot says after this answer in the same turn.
    pub following: &'a [String],
    /// The language to answer in.
    pub lang: Lang,
}

/// Phrases a free-form answer, streamed. The text is untrusted: [`crate::GuardedAnswer`]
/// checks every sentence before anyone may speak it.
pub trait Phraser: Send + Sync {
    /// Short name for logs.
    fn name(&self) -> &'static str;

    /// Starts an answer; `Ok(None)` means this phraser does not phrase (offline).
    fn phrase<'a>(
        &'a self,
        request: &'a PhraseRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<TokenStream>, Failure>>;
}

/// No model: the engine's own rule-based understanding and its templates do everything.
/// This is the default, and what every failure falls back to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

impl Interpreter for Offline {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn interpret<'a>(
        &'a self,
        _: &'a TurnContext,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<Interpretation>, Failure>> {
        Box::pin(async { Ok(None) })
    }
}

impl Phraser for Offline {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn phrase<'a>(
        &'a self,
        _: &'a PhraseRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<TokenStream>, Failure>> {
        Box::pin(async { Ok(None) })
    }
}
