//! A phrased answer that can only ever yield checked sentences.
//!
//! Tokens are cut into sentences (`.`, `?`, `!`, `।`) as they stream in; every sentence is
//! checked with the core's guard against the conversation's facts, and against claims about
//! bookings or free tables, *before* it is handed out. The first sentence that fails — or
//! any failure of the stream — ends the model's answer and hands out the engine's template
//! answer instead. So an ungrounded sentence is never returned, and the template is the
//! floor.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use vartalaap_core::guard::{Facts, Verdict, check_generated};
use vartalaap_lang::SentenceSplitter;

use crate::provider::TokenStream;
use crate::stats::{Stats, Use};

/// Most sentences taken from the model per answer (a phone answer is short; the rest of a
/// rambling answer is dropped, not spoken).
pub const MAX_SENTENCES: usize = 3;
/// A sentence that grows past this many characters is cut at a clause break for TTS.
const MAX_SENTENCE_CHARS: usize = 220;

/// One piece of a phrased answer, in speaking order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A sentence the model wrote that passed the guard.
    Sentence(String),
    /// The engine's template answer, replacing the model's from here on (and the last piece).
    Template(String),
}

/// How an answer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhraseOutcome {
    /// Not finished yet.
    Pending,
    /// Every sentence handed out was the model's and passed the guard.
    Grounded,
    /// The template answer was handed out; the label says why (`ungrounded`,
    /// `booking_claim`, `timeout`, `rate_limited`, `empty`, …, or `offline`).
    Template(&'static str),
}

/// Why a sentence may not be spoken, if it may not.
pub fn reject(sentence: &str, facts: &Facts) -> Option<&'static str> {
    if let Verdict::Ungrounded { .. } = check_generated(sentence, facts) {
        return Some("ungrounded");
    }
    claims_booking(sentence).then_some("booking_claim")
}

/// Whether a sentence states a booking or a free table — facts only the store may give. The
/// guard reads numbers; this catches the number-free claims ("your table is booked").
pub fn claims_booking(sentence: &str) -> bool {
    let s = sentence.to_lowercase();
    const DONE: [&str; 9] = [
        "booked",
        "reserved",
        "confirmed",
        "book kar d",
        "book ho ga",
        "बुक कर द",
        "बुक हो ग",
        "पक्की",
        "pakki",
    ];
    const FREE: [&str; 8] = [
        "available",
        "free",
        "khali",
        "खाली",
        "mil jayegi",
        "मिल जाएगी",
        "उपलब्ध",
        "jagah hai",
    ];
    let table = ["table", "टेबल", "seat", "jagah", "जगह"]
        .iter()
        .any(|w| s.contains(w));
    DONE.iter().any(|w| s.contains(w)) || table && FREE.iter().any(|w| s.contains(w))
}

/// A streamed, guarded answer. Pull pieces with [`next`](Self::next); dropping it cancels the
/// model's request.
pub struct GuardedAnswer {
    tokens: Option<TokenStream>,
    splitter: SentenceSplitter,
    ready: VecDeque<String>,
    facts: Facts,
    template: String,
    deadline: Option<tokio::time::Instant>,
    first_token: Option<Instant>,
    sentences: usize,
    outcome: PhraseOutcome,
    stats: Option<Arc<Stats>>,
}

impl std::fmt::Debug for GuardedAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedAnswer")
            .field("streaming", &self.tokens.is_some())
            .field("sentences", &self.sentences)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl GuardedAnswer {
    /// An answer that is just the template (no model, or the model could not start).
    pub fn template(template: impl Into<String>, reason: &'static str) -> GuardedAnswer {
        let mut a = GuardedAnswer::new(None, Facts::default(), template.into(), None, None);
        a.outcome = PhraseOutcome::Template(reason);
        a
    }

    /// Guards `tokens` against `facts`; `template` replaces the model's answer on any problem.
    pub(crate) fn streaming(
        tokens: TokenStream,
        facts: Facts,
        template: String,
        deadline: Option<tokio::time::Instant>,
        stats: Option<Arc<Stats>>,
    ) -> GuardedAnswer {
        GuardedAnswer::new(Some(tokens), facts, template, deadline, stats)
    }

    /// Guards an arbitrary token stream (other providers, tests).
    pub fn from_tokens(tokens: TokenStream, facts: Facts, template: String) -> GuardedAnswer {
        GuardedAnswer::new(Some(tokens), facts, template, None, None)
    }

    fn new(
        tokens: Option<TokenStream>,
        facts: Facts,
        template: String,
        deadline: Option<tokio::time::Instant>,
        stats: Option<Arc<Stats>>,
    ) -> GuardedAnswer {
        GuardedAnswer {
            tokens,
            splitter: SentenceSplitter::with_max_chars(MAX_SENTENCE_CHARS),
            ready: VecDeque::new(),
            facts,
            template,
            deadline,
            first_token: None,
            sentences: 0,
            outcome: PhraseOutcome::Pending,
            stats,
        }
    }

    /// When the model's first token arrived (for the turn's "LLM first token" timing).
    pub fn first_token_at(&self) -> Option<Instant> {
        self.first_token
    }

    /// How the answer ended (`Pending` until the last piece was taken).
    pub fn outcome(&self) -> &PhraseOutcome {
        &self.outcome
    }

    /// Whether the model is still being read.
    pub fn is_streaming(&self) -> bool {
        self.tokens.is_some()
    }

    fn finish(&mut self, outcome: PhraseOutcome) {
        self.tokens = None;
        self.ready.clear();
        if let Some(stats) = &self.stats {
            let label = match &outcome {
                PhraseOutcome::Grounded => "grounded",
                PhraseOutcome::Template(reason) => reason,
                PhraseOutcome::Pending => "pending",
            };
            stats.count(Use::Phrase, label);
            if let PhraseOutcome::Template(reason) = &outcome {
                tracing::warn!(
                    outcome = reason,
                    sentences_spoken = self.sentences,
                    "The LLM answer was replaced by the template answer."
                );
            }
        }
        self.outcome = outcome;
    }

    fn fall_back(&mut self, reason: &'static str) -> Option<Piece> {
        self.finish(PhraseOutcome::Template(reason));
        let t = std::mem::take(&mut self.template);
        (!t.trim().is_empty()).then_some(Piece::Template(t))
    }

    /// The next piece to speak, or `None` when the answer is complete.
    pub async fn next(&mut self) -> Option<Piece> {
        loop {
            if !matches!(self.outcome, PhraseOutcome::Pending) {
                if self.tokens.is_none() && !self.template.is_empty() {
                    // A template-only answer hands out its template once.
                    let t = std::mem::take(&mut self.template);
                    return (!t.trim().is_empty()).then_some(Piece::Template(t));
                }
                return None;
            }
            if let Some(sentence) = self.ready.pop_front() {
                if let Some(reason) = reject(&sentence, &self.facts) {
                    return self.fall_back(reason);
                }
                self.sentences += 1;
                if self.sentences >= MAX_SENTENCES {
                    self.finish(PhraseOutcome::Grounded);
                    self.template.clear();
                }
                return Some(Piece::Sentence(sentence));
            }
            let Some(stream) = self.tokens.as_mut() else {
                if self.sentences == 0 {
                    return self.fall_back("empty");
                }
                self.finish(PhraseOutcome::Grounded);
                self.template.clear();
                return None;
            };
            let item = match self.deadline {
                Some(d) => match tokio::time::timeout_at(d, stream.next()).await {
                    Ok(item) => item,
                    Err(_) => return self.fall_back("timeout"),
                },
                None => stream.next().await,
            };
            match item {
                Some(Ok(text)) => {
                    if !text.is_empty() {
                        self.first_token.get_or_insert_with(Instant::now);
                    }
                    let pieces = self.splitter.push(&text);
                    self.ready.extend(pieces);
                }
                Some(Err(failure)) => return self.fall_back(failure.reason()),
                None => {
                    let rest = self.splitter.finish();
                    self.ready.extend(rest);
                    self.tokens = None;
                }
            }
        }
    }

    /// The whole answer as one text: the model's sentences when every one passed, else the
    /// template alone (text chat shows one consistent answer, never a mix).
    pub async fn into_text(mut self) -> String {
        let mut said = Vec::new();
        while let Some(piece) = self.next().await {
            match piece {
                Piece::Sentence(s) => said.push(s),
                Piece::Template(t) => return t,
            }
        }
        said.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_claims_are_caught_without_numbers() {
        assert!(claims_booking("Your table is booked."));
        assert!(claims_booking("Haan ji, table available hai."));
        assert!(claims_booking("आपकी टेबल बुक हो गई है।"));
        assert!(!claims_booking("We have parking for 10 cars."));
        assert!(!claims_booking("Chilli paneer is quite spicy."));
    }
}
