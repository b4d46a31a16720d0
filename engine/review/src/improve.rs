//! Stage 3, the improver: findings become suggestions the owner can act on, each naming the
//! file and the YAML path or flow step to change, with proposed text where one can be written
//! from the call alone (a menu item or FAQ entry to fill in, a trigger example to add).
//!
//! Findings of the same kind at the same place make one suggestion (a caller asked for pizza
//! twice: one suggestion, mentioned twice). Priority 1 is the most urgent: what the caller
//! could not get answered or made them hang up comes first, slowness last.

use vartalaap_store::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, NewSuggestion, SuggestionTarget};

use crate::classify::{location, quote, root_cause};
use crate::layout::BusinessLayout;
use crate::qa::{Finding, FindingKind};

/// Words that carry no dish or topic: dropped when proposing an entry from a question.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "are",
    "do",
    "does",
    "you",
    "your",
    "have",
    "has",
    "serve",
    "any",
    "there",
    "can",
    "i",
    "get",
    "some",
    "please",
    "what",
    "about",
    "how",
    "much",
    "for",
    "of",
    "kya",
    "hai",
    "hain",
    "milta",
    "milti",
    "milega",
    "milegi",
    "aapke",
    "paas",
    "yahan",
    "ka",
    "ki",
    "ke",
    "me",
    "mein",
    "bhi",
    "kitne",
    "kitna",
    "price",
    "menu",
    "on",
    "want",
    "to",
    "order",
    "and",
    "or",
    "my",
    "we",
    "like",
    "would",
    "need",
    "ho",
    "sakta",
    "sakti",
    "क्या",
    "है",
    "हैं",
    "मिलता",
    "मिलती",
    "मिलेगा",
    "आपके",
    "पास",
    "का",
    "की",
    "के",
    "में",
];

/// The dish or topic words of a question: lower-cased, punctuation and filler removed.
pub fn topic_words(question: &str) -> Vec<String> {
    question
        .split(|c: char| c.is_whitespace() || c == ',' || c == '?' || c == '.' || c == '!')
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.as_str()))
        .collect()
}

fn slug(words: &[String]) -> String {
    let ascii: Vec<String> = words
        .iter()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if ascii.is_empty() {
        "new_entry".into()
    } else {
        ascii.join("_")
    }
}

fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn title_case(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn priority(kind: &FindingKind, times: usize) -> u8 {
    let base: u8 = match kind {
        FindingKind::ConfigError { .. } => 1,
        FindingKind::MenuItemMissing
        | FindingKind::UnansweredFaq
        | FindingKind::HangupMidFlow
        | FindingKind::Fallback => 2,
        FindingKind::RepeatedCorrection { .. }
        | FindingKind::Reprompt { .. }
        | FindingKind::Handoff
        | FindingKind::TtsFallback { .. }
        | FindingKind::ReplyTooLong { .. }
        | FindingKind::LowSttConfidence { .. } => 3,
        FindingKind::RepeatRequested | FindingKind::LongSilence => 4,
        FindingKind::SlowTurn { .. } => 5,
    };
    if times > 1 {
        base.saturating_sub(1).max(1)
    } else {
        base
    }
}

/// One suggestion for a group of findings of the same kind at the same place.
fn suggestion(group: &[&Finding], layout: &BusinessLayout) -> NewSuggestion {
    let first = group[0];
    let (file, yaml_path) = location(first, layout);
    let file = file.unwrap_or_else(|| layout.business_file.clone());
    let flow_step = match (&first.flow, &first.step) {
        (Some(f), Some(s)) => Some(format!("{f}.{s}")),
        _ => None,
    };
    let quotes: Vec<String> = {
        let mut q: Vec<String> = group
            .iter()
            .filter_map(|f| f.caller_words.as_deref())
            .map(|w| quote(w, 120))
            .collect();
        q.dedup();
        q
    };
    let asked = if quotes.is_empty() {
        String::new()
    } else {
        format!(" Callers said: {}.", quotes.join(", "))
    };
    let times = group.len();
    let where_ = flow_step
        .as_deref()
        .map(|s| format!(" at {s}"))
        .unwrap_or_default();
    let lang = &first.language;
    let topic = first
        .caller_words
        .as_deref()
        .map(topic_words)
        .unwrap_or_default();
    let (title, description, proposed) = match &first.kind {
        FindingKind::MenuItemMissing => {
            let dish = if topic.is_empty() {
                "a dish".to_string()
            } else {
                title_case(&topic)
            };
            (
                format!(
                    "Callers ask for {dish}: add it to the menu, or an FAQ saying you don't serve it"
                ),
                format!(
                    "No dish on the menu matched what the caller asked for, so the bot said it is not on the menu.{asked} If you serve it, add it under /menu (a category's items) with its price; if you don't, an FAQ entry lets the bot say so politely and suggest what you have."
                ),
                Some(format!(
                    "- id: {}\n  name: {{ en: {} }}\n  price_inr: <price in rupees>\n  diet: <veg | non_veg | vegan>",
                    slug(&topic),
                    yaml_string(&dish)
                )),
            )
        }
        FindingKind::UnansweredFaq => {
            let question = first.caller_words.clone().unwrap_or_default();
            (
                format!("Add an FAQ answering {}", quote(&question, 120)),
                format!(
                    "No FAQ matched the caller's question, so the bot could not answer it.{asked} Add an entry under /faqs with the question as callers say it and your answer."
                ),
                Some(format!(
                    "- id: {}\n  questions:\n    {lang}: [{}]\n  answer:\n    {lang}: <your answer>",
                    slug(&topic),
                    yaml_string(&question)
                )),
            )
        }
        FindingKind::Fallback => {
            let question = first.caller_words.clone().unwrap_or_default();
            (
                format!("The bot did not understand {}", quote(&question, 120)),
                format!(
                    "Nothing the bot knows matched the caller's words, so the fallback answered{where_}.{asked} If the words ask for something the bot does, add them as an example to the trigger of the flow that should answer (flows/<flow>.yaml, /triggers/<n>/examples/{lang}); if not, an FAQ can answer them."
                ),
                first
                    .caller_words
                    .as_ref()
                    .map(|w| format!("{lang}: [{}]", yaml_string(w))),
            )
        }
        FindingKind::Reprompt { slot, prompt } => (
            format!("Callers are asked for {slot} twice: make the {prompt} question clearer"),
            format!(
                "The bot asked for {slot} again right after the caller answered{where_}, {times} time(s).{asked} Give an example answer in the prompt {prompt} (at {}), or add the words callers use.",
                yaml_path.clone().unwrap_or_default()
            ),
            None,
        ),
        FindingKind::RepeatRequested => (
            format!("Callers ask the bot to repeat itself{where_}"),
            format!(
                "The caller asked to hear the bot's words again{where_}, {times} time(s). Shorter sentences in the template this step speaks are easier to follow on the phone."
            ),
            None,
        ),
        FindingKind::LongSilence => (
            format!("Callers go quiet{where_}"),
            format!(
                "The caller said nothing and the bot had to prompt{where_}, {times} time(s). End the question with what you need, in a few words (e.g. \"For how many people?\")."
            ),
            None,
        ),
        FindingKind::RepeatedCorrection {
            slot: Some(slot),
            count,
        } => (
            format!("Callers correct {slot} again and again{where_}"),
            format!(
                "The caller corrected {slot} {count} times in one call{where_}.{asked} Make the question for {slot} say what form of answer you need, and confirm the value back as soon as it is given (a confirmation template naming it), so a mishearing is caught once."
            ),
            None,
        ),
        FindingKind::TtsFallback {
            failed_voice, used, ..
        } => (
            format!("The voice {failed_voice} failed{where_}"),
            format!(
                "The voice {failed_voice} could not say the reply{where_}, {times} time(s); {used} said it instead, so callers heard a different voice (or an apology). Check that the voice is installed (models folder, espeak-ng), or set a working Edge voice for the language at {} (EDGE_TTS_ENABLED=true).",
                yaml_path.clone().unwrap_or_default()
            ),
            None,
        ),
        FindingKind::ConfigError { error } => (
            format!(
                "Fix the {} {}",
                crate::classify::source_word(error.source),
                error.name
            ),
            format!(
                "The {} {} failed{where_}, {times} time(s): {}{}. The call went on without it (nothing said for a template; a hook's safe default; the step's on_failure). `vartalaap validate` and the config editor check the file; `vartalaap test` replays a conversation through it.",
                crate::classify::source_word(error.source),
                error.name,
                error.message,
                error
                    .line
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default()
            ),
            None,
        ),
        FindingKind::ReplyTooLong { words, .. } => (
            format!("Callers cut the bot off{where_}: shorten the reply"),
            format!(
                "The caller interrupted a {words}-word reply{where_}, {times} time(s). On the phone, one short sentence and a question work better; move details into answers callers ask for{}.",
                yaml_path
                    .as_deref()
                    .map(|p| format!(" (the text is at {p})"))
                    .unwrap_or_default()
            ),
            None,
        ),
        FindingKind::RepeatedCorrection { slot: None, count } => (
            format!("Callers correct the details again and again{where_}"),
            format!(
                "The caller corrected the booking details {count} times in one flow{where_}.{asked} Confirm each detail back as it is given (a confirmation template naming the value), so mistakes are caught once."
            ),
            None,
        ),
        FindingKind::LowSttConfidence { .. } => (
            format!("The recogniser was unsure of the caller{where_}"),
            format!(
                "{times} caller turn(s) were recognised with low confidence{where_}.{asked} Ask questions that invite short answers, and add the words callers use as aliases (menu items) or trigger examples; for Hindi callers, Deepgram recognises better than the offline English recogniser."
            ),
            None,
        ),
        FindingKind::SlowTurn { total_ms, slowest } => (
            format!("Slow reply{where_} ({total_ms} ms)"),
            format!(
                "The reply took {total_ms} ms from the end of the caller's speech to the first audio{where_}{}. docs/PERFORMANCE.md lists what each stage costs and how to speed it up.",
                slowest
                    .map(|(s, ms)| format!("; the slowest stage was {} ({ms} ms)", s.name()))
                    .unwrap_or_default()
            ),
            None,
        ),
        FindingKind::Handoff => (
            format!("The call was handed to a person{where_}"),
            format!(
                "The call went to a person{where_}.{asked} If the bot could have answered, add what it needed (an FAQ, a menu item, trigger examples) so the next caller is helped without waiting."
            ),
            None,
        ),
        FindingKind::HangupMidFlow => (
            format!("A caller hung up{where_}"),
            format!(
                "The caller hung up while the bot was waiting for an answer{where_}.{asked} Check that the question is short and clear, and that the flow does not ask for more than it needs."
            ),
            None,
        ),
    };
    NewSuggestion {
        category: root_cause(&first.kind),
        title: cut(title, MAX_TITLE_CHARS),
        description: cut(description, MAX_DESCRIPTION_CHARS),
        target: SuggestionTarget {
            file,
            yaml_path,
            flow_step,
        },
        priority: priority(&first.kind, times),
        proposed_text: proposed,
    }
}

/// Suggestions for `findings`, most urgent first (ties in transcript order).
pub fn suggest(findings: &[Finding], layout: &BusinessLayout) -> Vec<NewSuggestion> {
    // Group by kind and place, keeping the order of first appearance.
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in findings {
        let (file, path) = location(f, layout);
        let key = format!(
            "{}|{}|{}|{}|{}",
            f.kind.name(),
            file.unwrap_or_default(),
            path.unwrap_or_default(),
            f.flow.as_deref().unwrap_or_default(),
            f.step.as_deref().unwrap_or_default()
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    let mut out: Vec<NewSuggestion> = groups
        .iter()
        .map(|(_, members)| suggestion(members, layout))
        .collect();
    out.sort_by_key(|s| s.priority);
    out
}
