//! Masking what identifies a caller before any part of a call leaves the process (the LLM
//! review stages and the LLM summary): phone numbers and the caller's name.
//!
//! - **Phone numbers:** any run of digits (ASCII or Devanagari) of at least
//!   [`MIN_PHONE_DIGITS`], optionally starting with `+` and broken by spaces, dashes, dots,
//!   slashes or brackets ("+91 98765-43210", "(080) 2345 6789"), becomes [`PHONE_MASK`]. An
//!   ISO date (`2026-12-24`) is left alone. Masking too much is harmless; too little is not,
//!   so a long digit run of any other meaning is masked too.
//! - **Names:** the words of the names the server knows for the call (the reservation's name,
//!   the caller's preferred name) and of every caller answer to a question for a name-like
//!   slot (a slot whose name contains `name`) become [`NAME_MASK`] wherever they appear, in
//!   caller and bot turns alike ("Thank you, Asha").
//!
//! **Design decision:** the masker works on the finished request content (every string of the
//! JSON sent, see [`Masker::mask_json`]), not on selected fields, so a caller's words quoted
//! inside an offline finding or a proposed FAQ entry are masked as well.

use serde_json::Value;
use vartalaap_store::{CallWithTurns, TurnRole};

use crate::layout::{BusinessLayout, StepRole};

/// What a phone number is replaced with.
pub const PHONE_MASK: &str = "[phone]";
/// What a caller's name is replaced with.
pub const NAME_MASK: &str = "[name]";
/// Fewest digits in a run that is treated as a phone number (a local landline has 7–8).
pub const MIN_PHONE_DIGITS: usize = 7;

/// Words around a name in an answer to "what name should I book under?" that are not the
/// name ("my name is …", "mera naam … hai", "… ke naam se").
const NOT_NAME: &[&str] = &[
    "my",
    "name",
    "is",
    "it",
    "its",
    "it's",
    "this",
    "i",
    "am",
    "i'm",
    "im",
    "me",
    "please",
    "the",
    "under",
    "book",
    "for",
    "on",
    "of",
    "yes",
    "no",
    "sir",
    "madam",
    "ji",
    "haan",
    "han",
    "nahi",
    "mera",
    "meri",
    "naam",
    "hai",
    "ke",
    "ka",
    "ki",
    "se",
    "main",
    "mai",
    "hoon",
    "hu",
    "number",
    "phone",
    "mobile",
    "likh",
    "likhiye",
    "lijiye",
    "kar",
    "do",
    "dijiye",
    "and",
    "mr",
    "mrs",
    "ms",
    "dr",
    "मेरा",
    "मेरी",
    "नाम",
    "है",
    "के",
    "से",
    "का",
    "की",
    "जी",
    "हाँ",
    "मैं",
    "हूँ",
    "लिखिए",
];

/// Replaces phone numbers and the caller's name in text sent to a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masker {
    /// Lower-cased name words, longest first.
    names: Vec<String>,
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{0966}'..='\u{096F}').contains(&c)
}

/// Letters, digits and the Devanagari signs that continue a word (matras, virama, nukta).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || ('\u{0900}'..='\u{097F}').contains(&c) || c == '\''
}

fn is_phone_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '/' | '(' | ')' | '\u{a0}')
}

/// Whether a masked-out run is an ISO date (`2026-12-24`), which is not a phone number.
fn is_iso_date(run: &str) -> bool {
    let parts: Vec<&str> = run.split('-').collect();
    parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.chars().count() == *n && p.chars().all(is_digit))
}

/// `text` with every phone-number-like digit run replaced by [`PHONE_MASK`].
pub fn mask_phone_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = is_digit(chars[i])
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(|c| is_digit(*c)))
            || (chars[i] == '(' && chars.get(i + 1).is_some_and(|c| is_digit(*c)));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Extend over digits and separators; the run ends at its last digit.
        let mut j = i;
        let mut last_digit = i;
        let mut digits = 0;
        while j < chars.len() && (is_digit(chars[j]) || is_phone_separator(chars[j]) || j == i) {
            if is_digit(chars[j]) {
                digits += 1;
                last_digit = j;
            }
            j += 1;
        }
        let run: String = chars[i..=last_digit].iter().collect();
        if digits >= MIN_PHONE_DIGITS && !is_iso_date(run.trim_start_matches('(')) {
            out.push_str(PHONE_MASK);
        } else {
            out.push_str(&run);
        }
        i = last_digit + 1;
    }
    out
}

impl Masker {
    /// A masker for these names (any number of words each; words shorter than two letters
    /// and filler like "my name is" are ignored).
    pub fn with_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut m = Masker::default();
        for name in names {
            m.add_name(name);
        }
        m
    }

    /// Adds the words of one name.
    pub fn add_name(&mut self, name: &str) {
        for word in name.split(|c: char| !is_word_char(c)) {
            let w = word.trim_matches('\'').to_lowercase();
            if w.chars().count() < 2 || w.chars().all(is_digit) || NOT_NAME.contains(&w.as_str()) {
                continue;
            }
            if !self.names.contains(&w) {
                self.names.push(w);
            }
        }
        self.names
            .sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    }

    /// A masker for one call: `known` names (the reservation's, the caller's preferred name)
    /// plus every caller answer to a question for a name-like slot in the transcript.
    pub fn for_call<'a>(
        call: &CallWithTurns,
        layout: &BusinessLayout,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Masker {
        let mut m = Masker::with_names(known);
        let mut asking_name = false;
        for turn in &call.turns {
            match turn.role {
                TurnRole::Bot => {
                    asking_name = turn
                        .handled_by
                        .as_ref()
                        .and_then(|h| Some((h.flow.as_deref()?, h.step.as_deref()?)))
                        .and_then(|(flow, step)| layout.step(flow, step))
                        .is_some_and(|(_, s, _)| {
                            matches!(&s.role, StepRole::Question { slot, .. } if slot.contains("name"))
                        });
                }
                TurnRole::Caller => {
                    if asking_name {
                        m.add_name(&turn.text);
                    }
                    asking_name = false;
                }
                TurnRole::System => {}
            }
        }
        m
    }

    /// Whether no name is known (only phone numbers are masked).
    pub fn knows_no_names(&self) -> bool {
        self.names.is_empty()
    }

    /// `text` with phone numbers and name words replaced.
    pub fn mask(&self, text: &str) -> String {
        let text = mask_phone_numbers(text);
        if self.names.is_empty() {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if word.is_empty() {
                return;
            }
            let lower = word.trim_matches('\'').to_lowercase();
            if self.names.contains(&lower) {
                out.push_str(NAME_MASK);
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in text.chars() {
            if is_word_char(c) {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    /// Masks every string inside `value` (object keys are the request's own field names and
    /// are left alone).
    pub fn mask_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.mask(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_in_any_common_shape_are_masked() {
        for (said, masked) in [
            ("mera number 9876543210 hai", "mera number [phone] hai"),
            ("call me on +91 98765-43210.", "call me on [phone]."),
            ("(080) 2345 6789 is the office", "[phone] is the office"),
            ("९८७६५ ४३२१० पर", "[phone] पर"),
            ("my number is 98 76 54 32 10 ok", "my number is [phone] ok"),
        ] {
            assert_eq!(mask_phone_numbers(said), masked, "{said}");
        }
    }

    #[test]
    fn short_numbers_times_and_dates_stay() {
        for text in [
            "4 log, kal 7:30 baje",
            "party of 12 on 2026-12-24 at 19:30",
            "₹ 350 ka hai",
            "table 5 6 7",
        ] {
            assert_eq!(mask_phone_numbers(text), text);
        }
    }

    #[test]
    fn name_words_are_masked_wherever_they_appear() {
        let m = Masker::with_names(["Asha Verma", "my name is Rahul"]);
        assert_eq!(
            m.mask("Thank you, asha! Booking for Asha Verma; Rahul ji, and Ashanti stays."),
            "Thank you, [name]! Booking for [name] [name]; [name] ji, and Ashanti stays."
        );
        let hindi = Masker::with_names(["राहुल"]);
        assert_eq!(hindi.mask("धन्यवाद राहुल जी"), "धन्यवाद [name] जी");
    }

    #[test]
    fn json_strings_are_masked_and_keys_kept() {
        let m = Masker::with_names(["Asha"]);
        let mut v =
            serde_json::json!({"name": "Asha", "turns": [{"text": "Asha, 98765 43210"}], "n": 4});
        m.mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"name": "[name]", "turns": [{"text": "[name], [phone]"}], "n": 4})
        );
    }
}
