//! Stage 2, the classifier: one root cause per finding, and where in the configuration it
//! points.
//!
//! | finding | root cause | points at |
//! | --- | --- | --- |
//! | `menu_item_missing`, `unanswered_faq` | `knowledge_gap` | the business file's `/menu` or `/faqs` |
//! | `fallback`, `reprompt`, `repeat_requested` | `prompt_weakness` | the step that answered (its prompt for a question) |
//! | `low_stt_confidence` | `stt_error` | the step that asked |
//! | `slow_turn` in speech recognition / synthesis | `stt_error` / `tts_issue` | the step that answered |
//! | `slow_turn` elsewhere, `long_silence`, `handoff`, `hangup_mid_flow` | `ux_issue` | the step that answered |
//! | `repeated_correction` | `ux_issue` | the step asking for the corrected slot (else the step that answered) |
//! | `reply_too_long` | `ux_issue` | the template the step speaks (`/prompts/<lang>/<name>`), else the step |
//! | `tts_fallback` | `tts_issue` | the business file's `/voices/<lang>` |
//! | `config_error` | `config_error` | the plugin file, or the template's YAML path, or the flow step |

use vartalaap_store::{ReviewCategory, ReviewIssue};

use crate::layout::{BusinessLayout, FlowLayout, StepLayout, StepRole};
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
        | FindingKind::ReplyTooLong { .. }
        | FindingKind::Handoff
        | FindingKind::HangupMidFlow => ReviewCategory::UxIssue,
        FindingKind::TtsFallback { .. } => ReviewCategory::TtsIssue,
        FindingKind::ConfigError { .. } => ReviewCategory::ConfigError,
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
        FindingKind::TtsFallback { .. } => (
            Some(layout.business_file.clone()),
            Some(format!("/voices/{}", finding.language)),
        ),
        FindingKind::ConfigError { error } if error.file.is_some() => {
            (error.file.clone(), error.yaml_path.clone())
        }
        FindingKind::ReplyTooLong { .. } => {
            let spoken = step_of(finding, layout).and_then(|(_, s, _)| match &s.role {
                StepRole::Say { template } => Some(template.clone()),
                StepRole::Question { prompt, .. } => Some(prompt.clone()),
                _ => None,
            });
            match spoken {
                Some(t) => (
                    Some(layout.business_file.clone()),
                    Some(format!("/prompts/{}/{t}", finding.language)),
                ),
                None => answering_step(finding, layout),
            }
        }
        FindingKind::RepeatedCorrection {
            slot: Some(slot), ..
        } => {
            let asking = finding.flow.as_deref().and_then(|f| {
                let flow = layout.flows.get(f)?;
                flow.steps
                    .iter()
                    .position(
                        |s| matches!(&s.role, StepRole::Question { slot: q, .. } if q == slot),
                    )
                    .map(|i| (flow.file.clone(), format!("/steps/{i}")))
            });
            match asking {
                Some((file, path)) => (Some(file), Some(path)),
                None => answering_step(finding, layout),
            }
        }
        _ => answering_step(finding, layout),
    }
}

/// The step that answered, with its flow.
fn step_of<'a>(
    finding: &Finding,
    layout: &'a BusinessLayout,
) -> Option<(&'a FlowLayout, &'a StepLayout, String)> {
    match (&finding.flow, &finding.step) {
        (Some(flow), Some(step)) => layout.step(flow, step),
        _ => None,
    }
}

/// The file and JSON pointer of the step that answered.
fn answering_step(finding: &Finding, layout: &BusinessLayout) -> (Option<String>, Option<String>) {
    match step_of(finding, layout) {
        Some((f, _, path)) => (Some(f.file.clone()), Some(path)),
        None => (None, None),
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
        FindingKind::RepeatedCorrection { slot: None, count } => {
            format!("The caller corrected the details {count} times{at}; the last was {said}.")
        }
        FindingKind::RepeatedCorrection {
            slot: Some(slot),
            count,
        } => format!("The caller corrected {slot} {count} times{at}; the last was {said}."),
        FindingKind::TtsFallback {
            failed_voice,
            used,
            sentences,
        } => format!(
            "The voice {failed_voice} failed on {sentences} sentence(s) of the reply{at}; {used} said them instead."
        ),
        FindingKind::ConfigError { error } => {
            let place = match (&error.file, error.line) {
                (Some(f), Some(l)) => format!(" ({f}, line {l})"),
                (Some(f), None) => format!(" ({f})"),
                _ => String::new(),
            };
            format!(
                "The {} {} failed{at}{place}: {}",
                source_word(error.source),
                error.name,
                error.message
            )
        }
        FindingKind::ReplyTooLong { words, played_ms } => match played_ms {
            Some(ms) => format!(
                "The caller cut off a {words}-word reply{at} after {:.1} s.",
                f64::from(*ms) / 1000.0
            ),
            None => format!("The caller cut off a {words}-word reply{at}."),
        },
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

/// How a configuration error's source reads in a sentence.
pub(crate) fn source_word(source: vartalaap_store::ConfigErrorSource) -> &'static str {
    use vartalaap_store::ConfigErrorSource as S;
    match source {
        S::Template => "template",
        S::Hook => "plugin hook",
        S::Plugin => "plugin function",
        S::Expression => "flow expression at step",
        S::Flow => "flow",
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
