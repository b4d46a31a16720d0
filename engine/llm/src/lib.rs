//! The optional LLM at the edge of a conversation: it may help *understand* a caller and
//! *phrase* a free-form answer, and it never decides a fact.
//!
//! ```text
//!  utterance ─▶ offline probe ─(offline reading changes nothing)─▶ Interpreter ─▶ Interpretation
//!                    │                                         (tool call whose JSON schema is
//!                    └─(offline understood)─▶ nothing to do     built from the flow's slots)
//!                                                                     │
//!  Conversation::handle(now, Utterance { interpretation }) ◀──────────┘   (validated like any value)
//!        │
//!        ▼ Say { template: faq_not_found | not_understood | menu_item_not_found | … }
//!  Phraser ─tokens─▶ sentences (".", "?", "।") ─▶ guard vs Conversation::facts() ─▶ speak
//!                                                    └─ first failure ─▶ the template answer
//! ```
//!
//! **Design decisions.**
//! - The core stays pure: the model is called here, at the edge, and its only ways into a
//!   turn are an [`Interpretation`] (which the engine parses and validates exactly like its
//!   own extraction, and which only fills gaps) and text that replaces a template answer
//!   *after* [`vartalaap_core::guard`] passed every sentence of it.
//! - The model is consulted for understanding only when the offline reading gives the engine
//!   nothing to act on ([`offline_misses`]), so the common turn costs no network round trip.
//! - Every failure — timeout past the per-turn budget, 429, 5xx, malformed stream, missing
//!   tool call, an ungrounded sentence — takes the offline path *in the same turn*; the
//!   reason is logged (never with the caller's words) and counted ([`Stats`]). A 429 pauses
//!   requests for the `retry-after` period, because Groq's limits are per organisation and a
//!   retry storm would starve every call.
//! - Availability and bookings never come from the model: it is never shown tool results it
//!   could contradict, its answers replace only the informational templates listed in
//!   [`LlmSettings::phrase_templates`], and sentences that claim a booking or a free table are
//!   rejected like invented numbers.
//! - Base URL and model name come from settings only (Groq retires models routinely).
//!
//! The call review's model ([`review::GroqReviewModel`]) and the guard of the LLM call
//! summary ([`review::guarded_summary`]) live here too; see `docs/REVIEWS.md`.
//!
//! See `docs/LLM.md`.

#![deny(missing_docs)]

mod context;
mod failure;
pub mod fixture;
mod groq;
mod guarded;
mod probe;
pub mod prompt;
mod provider;
pub mod review;
pub mod schema;
mod stats;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use vartalaap_config::Lang;
use vartalaap_core::guard::Facts;
use vartalaap_core::{
    Conversation, Input, Interpretation, Output, ScriptHost, ToolExecutor, drive,
};

pub use context::TurnContext;
pub use failure::Failure;
pub use groq::GroqLlm;
pub use guarded::{GuardedAnswer, MAX_SENTENCES, PhraseOutcome, Piece, claims_booking, reject};
pub use probe::offline_misses;
pub use provider::{Interpreter, Offline, PhraseRequest, Phraser, TokenStream};
pub use stats::{MetricsSink, Stats, Use};
/// Re-exported so edges can build [`Llm::groq`] without depending on the providers crate.
pub use vartalaap_providers::groq::GroqConfig;

/// Templates whose answers the model may re-phrase by default: answers to questions the
/// business file covers only loosely (no FAQ matched, no menu item matched, nothing
/// understood). Fact-bearing answers (menu prices, hours, bookings) keep their templates
/// unless an owner lists them.
pub const DEFAULT_PHRASE_TEMPLATES: [&str; 3] =
    ["faq_not_found", "menu_item_not_found", "not_understood"];

/// How long a 429 pauses requests when Groq did not say (`retry-after` absent).
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(10);
/// Longest pause a `retry-after` can impose.
const MAX_COOLDOWN: Duration = Duration::from_secs(60);

/// Budgets and policy, filled by the server from `LLM_*` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSettings {
    /// Per-turn budget: the whole understanding call, and the first token of a phrased
    /// answer. Past it the offline path runs (`LLM_TIMEOUT_MS`).
    pub timeout: Duration,
    /// Longest a phrased answer may stream in total (`LLM_ANSWER_TIMEOUT_MS`); what is not
    /// done by then is replaced by the template answer.
    pub answer_timeout: Duration,
    /// Template names whose answers the model phrases (`LLM_PHRASE_TEMPLATES`; empty turns
    /// phrasing off).
    pub phrase_templates: Vec<String>,
    /// Token cap of a phrased answer.
    pub max_answer_tokens: u32,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            timeout: Duration::from_millis(1500),
            answer_timeout: Duration::from_millis(6000),
            phrase_templates: DEFAULT_PHRASE_TEMPLATES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_answer_tokens: 160,
        }
    }
}

/// The Say output a turn's answer may be phrased for, found by [`Llm::phrase_target`].
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseTarget {
    /// Index of the `Say` in the turn's outputs.
    pub index: usize,
    /// Its template name.
    pub template: String,
    /// Its rendered text (the fallback).
    pub text: String,
    /// Its language.
    pub lang: Lang,
    /// Texts of the `Say`s after it in the same turn.
    pub following: Vec<String>,
}

/// What one text turn did (see [`Llm::text_turn`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextTurn {
    /// Everything the engine output this turn, tool calls included, with a phrased answer
    /// already in place of its template text.
    pub outputs: Vec<Output>,
    /// The model's interpretation went into the turn.
    pub interpreted: bool,
    /// The model's (guarded) words replaced a template answer.
    pub phrased: bool,
}

/// The LLM as the edges use it: understanding and guarded phrasing with the offline path as
/// the fallback of every step. One per process, shared by every call and chat.
pub struct Llm {
    interpreter: Arc<dyn Interpreter>,
    phraser: Arc<dyn Phraser>,
    settings: LlmSettings,
    stats: Arc<Stats>,
    paused_until: Mutex<Option<Instant>>,
    offline: bool,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("interpreter", &self.interpreter.name())
            .field("phraser", &self.phraser.name())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Llm {
    /// No model: every method returns the offline answer at once.
    pub fn offline() -> Llm {
        let mut llm = Llm::new(Arc::new(Offline), Arc::new(Offline), LlmSettings::default());
        llm.offline = true;
        llm
    }

    /// Groq for both jobs; `cfg` carries base URL, key and model from settings.
    pub fn groq(cfg: GroqConfig, settings: LlmSettings) -> Result<Llm, Failure> {
        let groq = Arc::new(GroqLlm::new(cfg, &settings)?);
        Ok(Llm::new(groq.clone(), groq, settings))
    }

    /// Any interpreter and phraser (another provider, a test double).
    pub fn new(
        interpreter: Arc<dyn Interpreter>,
        phraser: Arc<dyn Phraser>,
        settings: LlmSettings,
    ) -> Llm {
        Llm {
            interpreter,
            phraser,
            settings,
            stats: Arc::new(Stats::default()),
            paused_until: Mutex::new(None),
            offline: false,
        }
    }

    /// Reports every outcome to `sink` as well (the server's metrics).
    pub fn with_metrics(mut self, sink: MetricsSink) -> Llm {
        self.stats = Arc::new(Stats::with_sink(sink));
        self
    }

    /// Whether this is the offline default (no model configured).
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The settings in use.
    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// Outcome counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether the model should read this utterance: a model is configured and the offline
    /// reading gives the engine nothing to act on (see [`offline_misses`]). Counts `offline`
    /// when the offline reading suffices.
    pub fn should_interpret(
        &self,
        conv: &Conversation,
        now: NaiveDateTime,
        text: &str,
        host: &dyn ScriptHost,
    ) -> bool {
        if self.offline {
            return false;
        }
        let needed = offline_misses(conv, now, text, host);
        if !needed {
            self.stats.count(Use::Understand, "offline");
        }
        needed
    }

    fn paused(&self) -> bool {
        let mut until = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    fn note_failure(&self, use_: Use, failure: &Failure, elapsed: Duration) {
        if let Failure::RateLimited { retry_after } = failure {
            let pause = retry_after.unwrap_or(DEFAULT_COOLDOWN).min(MAX_COOLDOWN);
            *self.paused_until.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Instant::now() + pause);
            tracing::warn!(
                pause_ms = pause.as_millis() as u64,
                "LLM rate limit: requests paused; turns use the offline path meanwhile."
            );
        }
        self.stats.count(use_, failure.reason());
        tracing::warn!(
            task = use_.name(),
            outcome = failure.reason(),
            elapsed_ms = elapsed.as_millis() as u64,
            "The LLM could not help with this turn; the offline path answers."
        );
    }

    /// The model's reading of `utterance`, or `None` (offline reading stands) when there is
    /// no model, it has no opinion, or it failed — within [`LlmSettings::timeout`].
    pub async fn interpret(&self, ctx: &TurnContext, utterance: &str) -> Option<Interpretation> {
        if self.offline {
            return None;
        }
        if self.paused() {
            self.stats
                .count(Use::Understand, Failure::CoolingDown.reason());
            return None;
        }
        let started = Instant::now();
        let result = match tokio::time::timeout(
            self.settings.timeout,
            self.interpreter.interpret(ctx, utterance),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Failure::Timeout),
        };
        match result {
            Ok(Some(i)) if !schema::is_empty(&i) => {
                self.stats.count(Use::Understand, "understood");
                tracing::info!(
                    intent = i.intent.as_deref().unwrap_or("-"),
                    slots = i.slots.len(),
                    correction = i.is_correction,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "The LLM read the caller's words."
                );
                tracing::debug!(?i, "LLM interpretation.");
                Some(i)
            }
            Ok(_) => {
                self.stats.count(Use::Understand, "nothing");
                None
            }
            Err(failure) => {
                self.note_failure(Use::Understand, &failure, started.elapsed());
                None
            }
        }
    }

    /// The `Say` of this turn the model may phrase: the first whose template is listed in
    /// [`LlmSettings::phrase_templates`]. `None` without a model.
    pub fn phrase_target(&self, outputs: &[Output]) -> Option<PhraseTarget> {
        if self.offline || self.settings.phrase_templates.is_empty() {
            return None;
        }
        let index = outputs.iter().position(|o| {
            matches!(o, Output::Say { template: Some(t), .. }
                if self.settings.phrase_templates.iter().any(|p| p == t))
        })?;
        let Output::Say {
            text,
            lang,
            template: Some(template),
        } = &outputs[index]
        else {
            return None;
        };
        let following = outputs[index + 1..]
            .iter()
            .filter_map(|o| match o {
                Output::Say { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        Some(PhraseTarget {
            index,
            template: template.clone(),
            text: text.clone(),
            lang: *lang,
            following,
        })
    }

    /// Starts a guarded answer for `target`: the model's sentences as they pass the guard
    /// against `facts`, or the template text. Returns once the request is under way (or
    /// failed); the first token must come within [`LlmSettings::timeout`].
    pub async fn phrase(
        &self,
        ctx: &TurnContext,
        utterance: &str,
        target: &PhraseTarget,
        facts: Facts,
    ) -> GuardedAnswer {
        if self.offline {
            return GuardedAnswer::template(target.text.clone(), "offline");
        }
        if self.paused() {
            self.stats.count(Use::Phrase, Failure::CoolingDown.reason());
            return GuardedAnswer::template(target.text.clone(), "cooling_down");
        }
        let started = Instant::now();
        let request = PhraseRequest {
            ctx,
            utterance,
            template: &target.template,
            template_text: &target.text,
            following: &target.following,
            lang: target.lang,
        };
        let start = tokio::time::timeout(self.settings.timeout, self.phraser.phrase(&request));
        match start.await {
            Ok(Ok(Some(tokens))) => GuardedAnswer::streaming(
                tokens,
                facts,
                target.text.clone(),
                Some(tokio::time::Instant::from_std(
                    started + self.settings.answer_timeout,
                )),
                Some(self.stats.clone()),
            ),
            Ok(Ok(None)) => GuardedAnswer::template(target.text.clone(), "offline"),
            Ok(Err(failure)) => {
                self.note_failure(Use::Phrase, &failure, started.elapsed());
                GuardedAnswer::template(target.text.clone(), failure.reason())
            }
            Err(_) => {
                self.note_failure(Use::Phrase, &Failure::Timeout, started.elapsed());
                GuardedAnswer::template(target.text.clone(), "timeout")
            }
        }
    }

    /// Text chat: phrases this turn's answer (if any) and puts the result — the model's
    /// sentences when all of them passed the guard, else the template — into `outputs`.
    /// Returns whether the model's words were used.
    pub async fn phrase_outputs(
        &self,
        ctx: &TurnContext,
        utterance: &str,
        outputs: &mut [Output],
        facts: Facts,
    ) -> bool {
        let Some(target) = self.phrase_target(outputs) else {
            return false;
        };
        let answer = self.phrase(ctx, utterance, &target, facts).await;
        let text = answer.into_text().await;
        let used = text != target.text;
        if let Some(Output::Say { text: slot, .. }) = outputs.get_mut(target.index) {
            *slot = text;
        }
        used
    }

    /// One text-chat turn for an utterance, with the model where it can help: probe the
    /// offline reading, ask the model when it misses, run the engine turn with tool calls
    /// (through `tools`), then phrase the answer when its template is listed. Every model
    /// failure leaves the offline result of the same turn in place.
    pub async fn text_turn(
        &self,
        conv: &mut Conversation,
        now: NaiveDateTime,
        text: &str,
        host: &dyn ScriptHost,
        tools: &mut dyn ToolExecutor,
    ) -> TextTurn {
        let mut interpretation = None;
        if self.should_interpret(conv, now, text, host) {
            let ctx = TurnContext::of(conv, now);
            interpretation = self.interpret(&ctx, text).await;
        }
        let interpreted = interpretation.is_some();
        let input = Input::Utterance {
            text: text.to_string(),
            confidence: None,
            interpretation,
        };
        let mut outputs = drive(conv, now, input, host, tools);
        let mut phrased = false;
        if self.phrase_target(&outputs).is_some() {
            let ctx = TurnContext::of(conv, now);
            phrased = self
                .phrase_outputs(&ctx, text, &mut outputs, conv.facts())
                .await;
        }
        TextTurn {
            outputs,
            interpreted,
            phrased,
        }
    }
}
