//! The call summary with a language model: one sentence about what the caller wanted and how
//! the call ended, asked for with the masked transcript. The answer is untrusted: it must be
//! one plain sentence ([`summary_sentence`]), and the edge also passes it through the dialog's
//! number guard (`vartalaap_llm::review::guarded_summary`) before it replaces the templated
//! summary ([`crate::call_summary`]), which stays whenever the sentence is refused.

use serde_json::json;
use vartalaap_store::CallWithTurns;

use crate::mask::{Masker, NAME_MASK, PHONE_MASK};
use crate::model::{Message, Role};

/// Longest summary sentence accepted, in characters.
pub const MAX_SUMMARY_CHARS: usize = 240;

const INSTRUCTIONS: &str = "Write ONE short sentence (at most 30 words, English) for the \
business owner saying what the caller wanted and how this phone call ended. Use only what the \
transcript says. Do not mention the caller's name or phone number. Do not state any price, \
time, date or number of people that the transcript does not contain. Answer with the sentence \
only, without quotes.";

/// The request for the summary sentence: instructions, then the masked call.
pub fn summary_messages(call: &CallWithTurns, masker: &Masker) -> Vec<Message> {
    let turns: Vec<serde_json::Value> = call
        .turns
        .iter()
        .map(|t| json!({"role": t.role, "text": t.text}))
        .collect();
    let mut content = json!({"outcome": call.call.outcome, "turns": turns});
    masker.mask_json(&mut content);
    vec![
        Message::new(
            Role::System,
            format!(
                "{INSTRUCTIONS} Phone numbers appear as {PHONE_MASK} and the caller's name as {NAME_MASK}."
            ),
        ),
        Message::new(Role::User, content.to_string()),
    ]
}

/// The model's answer as one plain sentence, or `None` when it is not one: empty, too long,
/// several sentences or lines, or a mask placeholder (`[name]`) that would end up on the call
/// log.
pub fn summary_sentence(answer: &str) -> Option<String> {
    let s = answer
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\u{201c}' | '\u{201d}' | '\''))
        .trim();
    if s.is_empty()
        || s.chars().count() > MAX_SUMMARY_CHARS
        || s.contains(['\n', '[', ']', '{', '}', '<', '>'])
    {
        return None;
    }
    let body = s.trim_end_matches(['.', '!', '?', '।']);
    let several = [". ", "! ", "? ", "। "]
        .iter()
        .any(|end| body.contains(end));
    if several {
        return None;
    }
    let mut sentence = s.to_string();
    if !sentence.ends_with(['.', '!', '?', '।']) {
        sentence.push('.');
    }
    Some(sentence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_plain_sentence_is_accepted_and_anything_else_refused() {
        assert_eq!(
            summary_sentence(
                " \"The caller asked for pizza, which is not on the menu, and hung up\" "
            ),
            Some("The caller asked for pizza, which is not on the menu, and hung up.".into())
        );
        for bad in [
            "",
            "The caller booked. Then hung up.",
            "[name] asked about parking.",
            "Line one\nline two",
            "<b>bold</b>",
            &"very long ".repeat(40),
        ] {
            assert_eq!(summary_sentence(bad), None, "{bad:?}");
        }
    }
}
