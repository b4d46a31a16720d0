//! The pure half of Piper's front end: clause splitting and phoneme → id mapping.
//!
//! espeak-ng 1.51 (Debian 12) returns each clause's phonemes *without* its punctuation, but
//! Piper voices were trained with the punctuation marks as symbols (they shape pauses and
//! intonation: a `?` rises). So the text is split at punctuation here, each clause is
//! phonemized separately, and its mark is re-appended, which is what Piper's own
//! `espeak_TextToPhonemesWithTerminator` path produces on newer espeak-ng.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// One clause of input text and the punctuation that ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The words, without the terminating punctuation, trimmed.
    pub text: String,
    /// The mark that ended the clause (`,` `.` `;` `:` `!` `?`; Devanagari `।`/`॥` become
    /// `.`), or `None` at the end of text with no mark.
    pub punct: Option<char>,
    /// Whether this clause ends a sentence (`.` `!` `?` `।` `॥`, or end of text). Piper
    /// synthesizes one sentence per inference.
    pub ends_sentence: bool,
}

fn clause_mark(c: char) -> Option<(char, bool)> {
    match c {
        ',' | ';' | ':' => Some((c, false)),
        '.' | '!' | '?' => Some((c, true)),
        '।' | '॥' => Some(('.', true)),
        _ => None,
    }
}

/// Splits text into clauses at punctuation followed by whitespace or the end of text, so
/// "7:30", "1.5" and "e.g" stay whole. A run of marks ("?!", "...") counts as one; the first
/// mark is kept and the run ends a sentence if any mark in it does.
pub fn split_clauses(text: &str) -> Vec<Clause> {
    let chars: Vec<char> = text.chars().collect();
    let mut clauses = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if clause_mark(c).is_some() {
            let mut j = i;
            let mut first: Option<char> = None;
            let mut ends = false;
            while j < chars.len() {
                match clause_mark(chars[j]) {
                    Some((m, e)) => {
                        first.get_or_insert(m);
                        ends |= e;
                        j += 1;
                    }
                    None => break,
                }
            }
            let boundary = j == chars.len() || chars[j].is_whitespace();
            if boundary {
                push_clause(&mut clauses, &mut current, first, ends);
                i = j;
                continue;
            }
            // Not a boundary ("7:30"): keep the marks as text.
            current.extend(&chars[i..j]);
            i = j;
            continue;
        }
        // Control characters (including NUL, which no process argument may hold) become
        // spaces.
        current.push(if c.is_control() { ' ' } else { c });
        i += 1;
    }
    push_clause(&mut clauses, &mut current, None, true);
    clauses
}

fn push_clause(clauses: &mut Vec<Clause>, current: &mut String, punct: Option<char>, ends: bool) {
    let text = current.split_whitespace().collect::<Vec<_>>().join(" ");
    current.clear();
    if text.chars().any(char::is_alphanumeric) {
        clauses.push(Clause {
            text,
            punct,
            ends_sentence: ends,
        });
    } else if ends && let Some(last) = clauses.last_mut() {
        // "Hello, ." — a stray mark after a clause still ends the sentence.
        last.ends_sentence = true;
    }
}

/// A voice's `phoneme_id_map`: one code point → one or more model ids.
#[derive(Debug, Clone, Default)]
pub struct PhonemeIdMap {
    map: HashMap<char, Vec<i64>>,
}

/// Sentence start, pad and end symbols, fixed across Piper voices.
const BOS: char = '^';
const PAD: char = '_';
const EOS: char = '$';

impl PhonemeIdMap {
    /// Builds from the JSON map (keys are single code points; longer keys are ignored, as
    /// Piper does).
    pub fn from_json_map(raw: &HashMap<String, Vec<i64>>) -> Result<Self, String> {
        let mut map = HashMap::with_capacity(raw.len());
        for (k, v) in raw {
            let mut it = k.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                map.insert(c, v.clone());
            }
        }
        for need in [BOS, PAD, EOS] {
            if !map.contains_key(&need) {
                return Err(format!("phoneme_id_map lacks the `{need}` symbol"));
            }
        }
        Ok(Self { map })
    }

    /// Ids for one code point, if the voice knows it.
    pub fn get(&self, c: char) -> Option<&[i64]> {
        self.map.get(&c).map(Vec::as_slice)
    }
}

/// Phoneme string → model input ids: `^ _ (id _)* $`, over the NFD-normalized string (Piper
/// maps decomposed nasal marks etc.). Returns the ids and the code points the voice lacks
/// (skipped).
pub fn phoneme_ids(phonemes: &str, map: &PhonemeIdMap) -> (Vec<i64>, Vec<char>) {
    let mut ids = Vec::with_capacity(phonemes.len() * 2 + 3);
    let mut missing = Vec::new();
    let pad = map.get(PAD).unwrap_or(&[]);
    ids.extend_from_slice(map.get(BOS).unwrap_or(&[]));
    ids.extend_from_slice(pad);
    for c in phonemes.nfd() {
        match map.get(c) {
            Some(id) => {
                ids.extend_from_slice(id);
                ids.extend_from_slice(pad);
            }
            None => missing.push(c),
        }
    }
    ids.extend_from_slice(map.get(EOS).unwrap_or(&[]));
    (ids, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str, punct: Option<char>, ends: bool) -> Clause {
        Clause {
            text: text.into(),
            punct,
            ends_sentence: ends,
        }
    }

    #[test]
    fn splits_at_marks_followed_by_space() {
        assert_eq!(
            split_clauses("Hello, thank you for calling. Table for two at 7:30? Yes!"),
            vec![
                c("Hello", Some(','), false),
                c("thank you for calling", Some('.'), true),
                c("Table for two at 7:30", Some('?'), true),
                c("Yes", Some('!'), true),
            ]
        );
    }

    #[test]
    fn devanagari_danda_is_a_full_stop() {
        assert_eq!(
            split_clauses("नमस्ते, धन्यवाद। क्या आप आएंगे"),
            vec![
                c("नमस्ते", Some(','), false),
                c("धन्यवाद", Some('.'), true),
                c("क्या आप आएंगे", None, true)
            ]
        );
    }

    #[test]
    fn runs_of_marks_decimals_and_stray_marks() {
        assert_eq!(
            split_clauses("Wait... really?!"),
            vec![c("Wait", Some('.'), true), c("really", Some('?'), true)]
        );
        assert_eq!(
            split_clauses("Rs 1.5 lakh"),
            vec![c("Rs 1.5 lakh", None, true)]
        );
        assert_eq!(split_clauses("  , . "), vec![]);
        assert_eq!(split_clauses(""), vec![]);
        assert_eq!(
            split_clauses("ok ; . next"),
            vec![c("ok", Some(';'), true), c("next", None, true)]
        );
    }

    fn joe_like_map() -> PhonemeIdMap {
        let raw: HashMap<String, Vec<i64>> = [
            ("_", 0),
            ("^", 1),
            ("$", 2),
            (" ", 3),
            (",", 8),
            ("h", 20),
            ("a", 14),
            ("\u{303}", 141),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), vec![v]))
        .chain([("ab".to_string(), vec![99])])
        .collect();
        PhonemeIdMap::from_json_map(&raw).unwrap()
    }

    #[test]
    fn ids_are_bos_pad_interleaved_eos() {
        let (ids, missing) = phoneme_ids("ha, h", &joe_like_map());
        assert_eq!(ids, vec![1, 0, 20, 0, 14, 0, 8, 0, 3, 0, 20, 0, 2]);
        assert!(missing.is_empty());
    }

    #[test]
    fn nfd_splits_precomposed_nasals_and_unknowns_are_reported() {
        // "ã" (U+00E3) decomposes to a + U+0303, both in the map.
        let (ids, missing) = phoneme_ids("\u{e3}ʒ", &joe_like_map());
        assert_eq!(ids, vec![1, 0, 14, 0, 141, 0, 2]);
        assert_eq!(missing, vec!['ʒ']);
    }

    #[test]
    fn map_requires_special_symbols() {
        let raw: HashMap<String, Vec<i64>> = [("a".to_string(), vec![1])].into_iter().collect();
        assert!(PhonemeIdMap::from_json_map(&raw).unwrap_err().contains('^'));
    }
}
