//! Stage 1, the QA reviewer: what went wrong in a call, found from the call log alone.
//!
//! Each bot turn carries what handled it (intent, flow, step) and its per-stage timings; each
//! caller turn its recogniser confidence; the call its outcome. From those:
//!
//! | finding | from |
//! | --- | --- |
//! | `fallback` | the business's fallback flow answered (nothing understood) |
//! | `menu_item_missing` | the step a menu look-up takes when no dish matched |
//! | `unanswered_faq` | the step an FAQ answer takes when no FAQ matched |
//! | `reprompt` | the same question asked again right after the caller answered it |
//! | `repeat_requested` | the caller asked the bot to say it again |
//! | `long_silence` | the caller said nothing and the bot had to prompt (`silence`) |
//! | `repeated_correction` | a second (or later) correction of the same slot (turns stored before `corrected_slots`: in the same flow) |
//! | `tts_fallback` | a reply some of whose sentences a fallback voice (or the apology) said |
//! | `config_error` | a template or plugin that failed while the turn was handled |
//! | `reply_too_long` | a reply of at least [`Thresholds::long_reply_words`] words the caller cut short |
//! | `low_stt_confidence` | a caller turn the recogniser was unsure of |
//! | `slow_turn` | a reply slower than [`Thresholds::slow_turn_ms`], with its slowest stage |
//! | `handoff` | the caller asked for a person, or the call was transferred |
//! | `hangup_mid_flow` | the caller hung up while a flow was waiting for an answer |

use std::collections::BTreeMap;

use vartalaap_store::{CallOutcome, CallWithTurns, ConversationTurn, HandledBy, TurnRole};

use crate::layout::{BusinessLayout, StepRole};

/// Limits that make a turn a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// A caller turn recognised with less confidence than this (0–1) is a finding.
    pub low_stt_confidence: f32,
    /// A reply whose end-of-speech → first audio took longer than this is a finding.
    pub slow_turn_ms: u32,
    /// A reply of at least this many words that the caller interrupted was too long.
    pub long_reply_words: usize,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            low_stt_confidence: 0.5,
            slow_turn_ms: 2500,
            long_reply_words: 12,
        }
    }
}

/// The slowest stage of a slow turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Speech recognition.
    Stt,
    /// The dialog engine and its tools.
    Engine,
    /// The language model.
    Llm,
    /// Speech synthesis up to the first audio.
    Tts,
    /// Pacing the first frame out.
    Send,
}

impl Stage {
    /// Name used in descriptions.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Stt => "speech recognition",
            Stage::Engine => "the dialog engine and its tools",
            Stage::Llm => "the language model",
            Stage::Tts => "speech synthesis",
            Stage::Send => "sending the first audio",
        }
    }
}

/// What kind of thing went wrong (see the module table).
#[derive(Debug, Clone, PartialEq)]
pub enum FindingKind {
    /// Nothing understood; the fallback flow answered.
    Fallback,
    /// A dish the menu does not have.
    MenuItemMissing,
    /// A question no FAQ answers.
    UnansweredFaq,
    /// The same question asked again.
    Reprompt {
        /// Slot asked for.
        slot: String,
        /// Template the question speaks.
        prompt: String,
    },
    /// The caller asked to hear it again.
    RepeatRequested,
    /// The caller was silent and was prompted.
    LongSilence,
    /// A second or later correction of one slot (or, for turns stored before corrected
    /// slots were recorded, in one flow).
    RepeatedCorrection {
        /// The slot corrected again, when known.
        slot: Option<String>,
        /// Corrections of it so far.
        count: u32,
    },
    /// Sentences of a reply said by a fallback instead of their own voice.
    TtsFallback {
        /// The voice that failed.
        failed_voice: String,
        /// What said them instead.
        used: String,
        /// How many sentences of the reply.
        sentences: usize,
    },
    /// A template or plugin failed while the turn was handled.
    ConfigError {
        /// What failed, as stored on the turn.
        error: vartalaap_store::TurnConfigError,
    },
    /// A long reply the caller cut short.
    ReplyTooLong {
        /// Words in the whole reply.
        words: usize,
        /// Audio the caller heard before interrupting, in ms.
        played_ms: Option<u32>,
    },
    /// The recogniser was unsure.
    LowSttConfidence {
        /// Its confidence (0–1).
        confidence: f32,
    },
    /// A slow reply.
    SlowTurn {
        /// End of speech → first audio.
        total_ms: u32,
        /// Its slowest stage and how long that took.
        slowest: Option<(Stage, u32)>,
    },
    /// The caller asked for a person, or was transferred.
    Handoff,
    /// The caller hung up while a flow waited for an answer.
    HangupMidFlow,
}

impl FindingKind {
    /// The stored `kind` name.
    pub fn name(&self) -> &'static str {
        match self {
            FindingKind::Fallback => "fallback",
            FindingKind::MenuItemMissing => "menu_item_missing",
            FindingKind::UnansweredFaq => "unanswered_faq",
            FindingKind::Reprompt { .. } => "reprompt",
            FindingKind::RepeatRequested => "repeat_requested",
            FindingKind::LongSilence => "long_silence",
            FindingKind::RepeatedCorrection { .. } => "repeated_correction",
            FindingKind::LowSttConfidence { .. } => "low_stt_confidence",
            FindingKind::SlowTurn { .. } => "slow_turn",
            FindingKind::Handoff => "handoff",
            FindingKind::HangupMidFlow => "hangup_mid_flow",
            FindingKind::TtsFallback { .. } => "tts_fallback",
            FindingKind::ConfigError { .. } => "config_error",
            FindingKind::ReplyTooLong { .. } => "reply_too_long",
        }
    }

    /// Whether the caller asked something the bot could not answer.
    pub fn is_unanswered_query(&self) -> bool {
        matches!(
            self,
            FindingKind::Fallback | FindingKind::MenuItemMissing | FindingKind::UnansweredFaq
        )
    }

    /// What it costs the call's score, in half points.
    pub fn penalty_halves(&self) -> u32 {
        match self {
            FindingKind::HangupMidFlow => 4,
            FindingKind::Fallback
            | FindingKind::MenuItemMissing
            | FindingKind::UnansweredFaq
            | FindingKind::RepeatedCorrection { .. }
            | FindingKind::ConfigError { .. }
            | FindingKind::Handoff => 2,
            FindingKind::Reprompt { .. }
            | FindingKind::RepeatRequested
            | FindingKind::LongSilence
            | FindingKind::LowSttConfidence { .. }
            | FindingKind::SlowTurn { .. }
            | FindingKind::TtsFallback { .. }
            | FindingKind::ReplyTooLong { .. } => 1,
        }
    }
}

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// `seq` of the turn it is about (`None`: the call as a whole).
    pub turn: Option<u32>,
    /// Flow that was answering.
    pub flow: Option<String>,
    /// Its step.
    pub step: Option<String>,
    /// What the caller said that led to it, when there is such a turn.
    pub caller_words: Option<String>,
    /// Language of the call or turn (`hi`, `en`, `hinglish`).
    pub language: String,
}

/// Text stored for a caller turn that was cut off before any words.
const CUT_OFF: &str = "[cut off before any words were heard]";

fn words(turn: Option<&ConversationTurn>) -> Option<String> {
    turn.map(|t| t.text.trim().to_string())
        .filter(|t| !t.is_empty() && t != CUT_OFF)
}

fn slowest(turn: &ConversationTurn) -> Option<(Stage, u32)> {
    let t = &turn.timings;
    [
        (Stage::Stt, t.stt_ms),
        (Stage::Engine, t.engine_ms),
        (Stage::Llm, t.llm_first_token_ms),
        (Stage::Tts, t.tts_first_audio_ms),
        (Stage::Send, t.first_frame_ms),
    ]
    .into_iter()
    .filter_map(|(stage, ms)| ms.map(|ms| (stage, ms)))
    .max_by_key(|(_, ms)| *ms)
}

/// Finds what went wrong in `call`, in transcript order.
pub fn inspect(
    call: &CallWithTurns,
    layout: &BusinessLayout,
    thresholds: &Thresholds,
) -> Vec<Finding> {
    let call_lang = call
        .call
        .language
        .clone()
        .unwrap_or_else(|| layout.default_language.clone());
    let mut found = Vec::new();
    let mut last_caller: Option<&ConversationTurn> = None;
    let mut previous_bot: Option<&HandledBy> = None;
    let mut corrections: BTreeMap<String, u32> = BTreeMap::new();
    let mut slot_corrections: BTreeMap<String, u32> = BTreeMap::new();
    let mut handed_off = false;
    for turn in &call.turns {
        let lang = turn.language.clone().unwrap_or_else(|| call_lang.clone());
        match turn.role {
            TurnRole::Caller => {
                if let Some(c) = turn.stt_confidence
                    && c < thresholds.low_stt_confidence
                {
                    found.push(Finding {
                        kind: FindingKind::LowSttConfidence { confidence: c },
                        turn: Some(turn.seq),
                        flow: previous_bot.and_then(|h| h.flow.clone()),
                        step: previous_bot.and_then(|h| h.step.clone()),
                        caller_words: words(Some(turn)),
                        language: lang,
                    });
                }
                last_caller = Some(turn);
            }
            TurnRole::Bot => {
                let Some(handled) = turn.handled_by.as_ref() else {
                    continue;
                };
                let at = |kind: FindingKind| Finding {
                    kind,
                    turn: Some(turn.seq),
                    flow: handled.flow.clone(),
                    step: handled.step.clone(),
                    caller_words: words(last_caller),
                    language: lang.clone(),
                };
                let role = match (&handled.flow, &handled.step) {
                    (Some(f), Some(s)) => layout.step(f, s).map(|(_, step, _)| &step.role),
                    _ => None,
                };
                let intent = handled.intent.as_deref();
                match intent {
                    Some("silence") => found.push(at(FindingKind::LongSilence)),
                    Some("repeat") => found.push(at(FindingKind::RepeatRequested)),
                    Some("human") => {
                        handed_off = true;
                        found.push(at(FindingKind::Handoff));
                    }
                    // Older turns name no slot: count corrections per flow instead.
                    Some("correction") if turn.corrected_slots.is_empty() => {
                        let flow = handled.flow.clone().unwrap_or_default();
                        let count = corrections.entry(flow).or_default();
                        *count += 1;
                        if *count >= 2 {
                            found.push(at(FindingKind::RepeatedCorrection {
                                slot: None,
                                count: *count,
                            }));
                        }
                    }
                    _ => {}
                }
                for slot in &turn.corrected_slots {
                    let count = slot_corrections.entry(slot.clone()).or_default();
                    *count += 1;
                    if *count >= 2 {
                        found.push(at(FindingKind::RepeatedCorrection {
                            slot: Some(slot.clone()),
                            count: *count,
                        }));
                    }
                }
                for error in &turn.config_errors {
                    found.push(Finding {
                        flow: error.flow.clone().or_else(|| handled.flow.clone()),
                        step: error.step.clone().or_else(|| handled.step.clone()),
                        ..at(FindingKind::ConfigError {
                            error: error.clone(),
                        })
                    });
                }
                if let Some(first) = turn.tts_fallbacks.first() {
                    found.push(at(FindingKind::TtsFallback {
                        failed_voice: first.failed_voice.clone(),
                        used: first.used.clone(),
                        sentences: turn.tts_fallbacks.len(),
                    }));
                }
                if turn.interrupted {
                    let words = turn
                        .intended_text
                        .as_deref()
                        .unwrap_or(&turn.text)
                        .split_whitespace()
                        .count();
                    if words >= thresholds.long_reply_words {
                        found.push(at(FindingKind::ReplyTooLong {
                            words,
                            played_ms: turn.played_ms,
                        }));
                    }
                }
                if handled.flow.as_deref() == Some(layout.fallback_flow.as_str())
                    && intent != Some("silence")
                {
                    found.push(at(FindingKind::Fallback));
                }
                match role {
                    Some(StepRole::MenuMiss) => found.push(at(FindingKind::MenuItemMissing)),
                    Some(StepRole::FaqMiss) => found.push(at(FindingKind::UnansweredFaq)),
                    Some(StepRole::Question { slot, prompt })
                        if previous_bot == Some(handled)
                            && !matches!(intent, Some("silence" | "repeat" | "correction")) =>
                    {
                        found.push(at(FindingKind::Reprompt {
                            slot: slot.clone(),
                            prompt: prompt.clone(),
                        }));
                    }
                    _ => {}
                }
                if let Some(total) = turn.timings.total_ms
                    && total > thresholds.slow_turn_ms
                {
                    found.push(at(FindingKind::SlowTurn {
                        total_ms: total,
                        slowest: slowest(turn),
                    }));
                }
                previous_bot = Some(handled);
            }
            TurnRole::System => {}
        }
    }
    let last = previous_bot;
    let waiting = last.and_then(|h| match (&h.flow, &h.step) {
        (Some(f), Some(s)) => layout.step(f, s).map(|(_, step, _)| step.role.clone()),
        _ => None,
    });
    match call.call.outcome {
        CallOutcome::Transferred if !handed_off => found.push(Finding {
            kind: FindingKind::Handoff,
            turn: None,
            flow: last.and_then(|h| h.flow.clone()),
            step: last.and_then(|h| h.step.clone()),
            caller_words: None,
            language: call_lang,
        }),
        CallOutcome::Abandoned if matches!(waiting, Some(StepRole::Question { .. })) => {
            found.push(Finding {
                kind: FindingKind::HangupMidFlow,
                turn: None,
                flow: last.and_then(|h| h.flow.clone()),
                step: last.and_then(|h| h.step.clone()),
                caller_words: words(last_caller),
                language: call_lang,
            })
        }
        _ => {}
    }
    found
}
