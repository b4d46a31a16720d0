//! Plain numbers: "4", "४", "chaar", "चार", "four", "twenty five", "पच्चीस".

use crate::normalize::{Token, tokenize};
use crate::{Extraction, span_of};

/// The first number said in `text` (0–100 as words, any size as digits in either script).
/// Words that are also ordinary words ("do", "one", "saath") count only when the utterance is
/// nothing but that word, or when they stand next to another number-bearing word.
pub fn extract_number(text: &str) -> Option<u32> {
    extract_number_detail(text).map(|e| e.value)
}

/// [`extract_number`] with span and confidence.
pub fn extract_number_detail(text: &str) -> Option<Extraction<u32>> {
    let toks = tokenize(text);
    first_number(&toks)
}

pub(crate) fn first_number(toks: &[Token]) -> Option<Extraction<u32>> {
    let alone = toks.len() == 1;
    for (i, t) in toks.iter().enumerate() {
        if let Some(n) = t.number() {
            if t.is_weak_number() && !alone {
                continue;
            }
            return Some(Extraction {
                value: n,
                span: span_of(toks, i, i),
                confidence: 1.0,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_all_scripts() {
        assert_eq!(extract_number("४"), Some(4));
        assert_eq!(extract_number("chaar"), Some(4));
        assert_eq!(extract_number("पच्चीस"), Some(25));
        assert_eq!(extract_number("twenty-five"), Some(25));
        assert_eq!(extract_number("do"), Some(2));
        assert_eq!(extract_number("do you have 3"), Some(3));
        assert_eq!(extract_number("nothing"), None);
    }
}
