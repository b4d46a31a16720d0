//! Stage 2, the classifier: one root cause per finding, and where in the configuration it
//! points.
//!
//! | finding | root cause | points at |
//! | --- | --- | --- |
//! | `menu_item_missing`, `unanswered_faq` | `knowledge_gap` | the business file's `/menu` or `/faqs` |
//! | `fallback`, `reprompt`, `repeat_requested` | `prompt_weakness` | the step that answered (its prompt for a question) |
//! | `low_stt_confidence` | `stt_error` | the step that asked |
//! | `slow_turn` in speech recognition / synthesis | `stt_error` / `tts_issue` | the step that answered |
//! | `slow_turn` elsewhere, `long_silence`, `repeated_correction`, `handoff`, `hangup_mid_flow` | `ux_issue` | the step that answered |

use vartalaap_store::{ReviewCategory, ReviewIssue};

use crate::layout::BusinessLayout;
use crate::qa::{Finding, FindingKind, Stage};

/// The one root cause of a finding.
pub fn root_cause(kind: &FindingKind) -> ReviewCategory {
    match kind {
        FindingKind::MenuItemMissing | FindingKind::UnansweredFaq => ReviewCategory::KnowledgeGap,
        FindingKind::Fallback | FindingKind::Reprompt { .. } | FindingKind::RepeatRequested => {
            ReviewCategory::PromptWeakness
        }
        FindingKind::LowSttConfidence { .. } => ReviewCategory::SttError,
        FindingKind::SlowTurn {
            slowest: Some((Stage::Stt, _)),
            ..
        } => ReviewCategory::SttError,
        FindingKind::SlowTurn {
            slowest: Some((Stage::Tts, _)),
            ..
        } => ReviewCategory::TtsIssue,
        FindingKind::SlowTurn { .. }
        | FindingKind::LongSilence
        | FindingKind::RepeatedCorrection { .. }
        | FindingKind::Handoff
        | FindingKind::HangupMidFlow => ReviewCategory::UxIssue,
    }
}

/// The file and JSON pointer a finding points at.
pub fn location(finding: &Finding, layout: &BusinessLayout) -> (Option<String>, Option<String>) {
    match &finding.kind {
        FindingKind::MenuItemMissing => (Some(layout.business_file.clone()), Some("/menu".into())),
        FindingKind::UnansweredFaq => (Some(layout.business_file.clone()), Some("/faqs".into())),
        FindingKind::Reprompt { prompt, .. } => (
            Some(layout.business_file.clone()),
            Some(format!("/prompts/{}/{prompt}", finding.language)),
        ),
        _ => match (&finding.flow, &finding.step) {
            (Some(flow), Some(step)) => match layout.step(flow, step) {
                Some((f, _, path)) => (Some(f.file.clone()), Some(path)),
                None => (None, None),
            },
            _ => (None, None),
        },
    }
}

/// Quotes the caller, cut to `max` characters.
pub(crate) fn quote(words: &str, max: usize) -> String {
    let cut: String = words.chars().take(max).collect();
    if cut.chars().count() < words.chars().count() {
        format!("\u{201c}{cut}…\u{201d}")
    } else {
        format!("\u{201c}{cut}\u{201d}")
    }
}

fn describe(finding: &Finding) -> String {
    let said = finding
        .caller_words
        .as_deref()
        .map(|w| quote(w, 160))
        .unwrap_or_else(|| "something".into());
    let at = match (&finding.flow, &finding.step) {
        (Some(f), Some(s)) => format!(" at {f}.{s}"),
        _ => String::new(),
    };
    match &finding.kind {
        FindingKind::Fallback => format!("The caller said {said} and the bot did not understand."),
        FindingKind::MenuItemMissing => {
            format!("The caller asked for {said}; no dish on the menu matched.")
        }
        FindingKind::UnansweredFaq => format!("The caller asked {said}; no FAQ answers it."),
        FindingKind::Reprompt { slot, .. } => {
            format!("The bot asked for {slot} again after the caller answered {said}{at}.")
        }
        FindingKind::RepeatRequested => format!("The caller asked the bot to repeat itself{at}."),
        FindingKind::LongSilence => format!("The caller went quiet and had to be prompted{at}."),
        FindingKind::RepeatedCorrection { count } => {
            format!("The caller corrected the details {count} times{at}; the last was {said}.")
        }
        FindingKind::LowSttConfidence { confidence } => format!(
            "The recogniser heard {said} with confidence {confidence:.2}, below the threshold."
        ),
        FindingKind::SlowTurn { total_ms, slowest } => match slowest {
            Some((stage, ms)) => format!(
                "The reply took {total_ms} ms from the end of the caller's speech to the first audio{at}; the slowest stage was {} ({ms} ms).",
                stage.name()
            ),
            None => format!(
                "The reply took {total_ms} ms from the end of the caller's speech to the first audio{at}."
            ),
        },
        FindingKind::Handoff => format!("The call was handed to a person{at}."),
        FindingKind::HangupMidFlow => {
            format!("The caller hung up while the bot was waiting for an answer{at}.")
        }
    }
}

/// A finding as a stored issue: its root cause, description and location.
pub fn issue(finding: &Finding, layout: &BusinessLayout) -> ReviewIssue {
    let (file, yaml_path) = location(finding, layout);
    ReviewIssue {
        turn: finding.turn,
        kind: finding.kind.name().to_string(),
        category: root_cause(&finding.kind),
        description: describe(finding),
        flow: finding.flow.clone(),
        step: finding.step.clone(),
        file,
        yaml_path,
    }
}
