//! Whether the name a caller says is the name a booking is under.
//!
//! Changing or cancelling a booking by phone asks for the name on it (caller ID can be
//! spoofed), and the name was heard twice — once when booking, once now — possibly in
//! different scripts and spellings ("रमेश" / "Ramesh", "Priya" / "Preeya"). Both are reduced
//! word by word to a comparable key (Devanagari transliterated, lowercased, then the forgiving
//! consonant skeleton used for menu items and weekdays) and compared as sets of words.

use crate::menu::transliterate;
use crate::normalize::{is_devanagari_letter, skeleton};

/// Most words a said name may have to count (a list of many names must not match anything).
const MAX_NAME_WORDS: usize = 3;

/// Whether `said` names the same person as `booked`: every word of one is a word of the
/// other (so "Ramesh" matches a booking under "Ramesh Kumar", and "Ramesh Kumar" one under
/// "Ramesh"), with at most three words said. Script and common spelling variants are equal.
pub fn names_match(said: &str, booked: &str) -> bool {
    let said = keys(said);
    let booked = keys(booked);
    if said.is_empty() || booked.is_empty() || said.len() > MAX_NAME_WORDS {
        return false;
    }
    said.iter().all(|w| booked.contains(w)) || booked.iter().all(|w| said.contains(w))
}

/// `s` without a character that repeats the one before it.
fn collapse_doubles(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

fn keys(name: &str) -> Vec<String> {
    name.split(|c: char| !(c.is_alphanumeric() || is_devanagari_letter(c)))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let latin = if w.chars().any(is_devanagari_letter) {
                transliterate(w)
            } else {
                w.to_lowercase()
            };
            // The skeleton maps "ee" and "e" to "i"; collapse the doubles that leaves
            // ("preeya" → "priia" → "pria" = "priya").
            collapse_doubles(&skeleton(&latin))
        })
        .filter(|k| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_in_any_script_or_spelling() {
        assert!(names_match("Ramesh", "Ramesh"));
        assert!(names_match("ramesh", "Ramesh Kumar"));
        assert!(names_match("Ramesh Kumar", "Ramesh"));
        assert!(names_match("रमेश", "Ramesh"));
        assert!(names_match("Preeya", "Priya"));
        assert!(names_match("राकेश शर्मा", "राकेश शर्मा"));
    }

    #[test]
    fn another_name_does_not_match() {
        assert!(!names_match("Suresh", "Ramesh"));
        assert!(!names_match("Anita", "Ramesh Kumar"));
        assert!(!names_match("", "Ramesh"));
        assert!(!names_match("Ramesh Suresh Mahesh Kumar", "Ramesh"));
    }
}
