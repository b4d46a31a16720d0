//! In-sentence corrections: which of several values of one slot the caller meant.
//!
//! Callers correct themselves mid-sentence: "kal nahi, parso", "not Thursday, Sunday",
//! "saat nahi aath baje", "चार नहीं पाँच लोग", "8 no wait 9", "saat ki jagah aath",
//! "make it 9 instead of 8". Every extractor finds its candidate values with their token spans
//! and asks [`settle`] which of them still stand, so the rule is written once for dates,
//! times and party sizes alike:
//!
//! 1. **Taken back.** A value is dropped when the caller negates or replaces it:
//!    * followed by a Hindi negation, optionally after a postposition: "kal nahi",
//!      "saat baje nahi", "shanivaar ko nahi", "चार नहीं";
//!    * preceded by English "not", optionally before a preposition: "not Thursday",
//!      "not on Thursday", "Sunday, not Thursday";
//!    * named as what is replaced: "instead of 8", "rather than Friday", "in place of 4",
//!      "8 ki jagah", "kal ke bajaye", "चार के बदले"; "change it from 8 to 9".
//! 2. **Said again.** When a correction marker ("no", "nahi", "wait", "sorry", "actually",
//!    "I mean", "matlab", "balki", "oops", "rather") stands between values still standing,
//!    only the values after the last such marker stand: "8 no wait 9", "kal, sorry, parso".
//!
//! When every value was taken back none stands: "kal nahi" says which day the caller does
//! *not* want, so no date is heard and the dialog asks. Values with no marker between them
//! are left to the extractor's own preference ("kal ya parso" keeps the first).

use std::ops::Range;

use crate::normalize::Token;

/// Postpositions and particles that may stand between a value and its negation
/// ("shanivaar *ko* nahi", "saat *wala* nahi").
const BEFORE_NEGATION: &[&str] = &[
    "ko",
    "को",
    "wala",
    "wali",
    "wale",
    "waala",
    "waali",
    "waale",
    "वाला",
    "वाली",
    "वाले",
    "hi",
    "ही",
    "to",
    "तो",
    "bhi",
    "भी",
];

/// Prepositions between English "not"/"instead of" and the value ("not *on* Thursday").
const PREPOSITIONS: &[&str] = &["on", "at", "for", "the", "in", "by", "around", "about"];

/// Hindi words for "in place of", after "ke"/"ki": "saat ki jagah", "kal ke bajaye".
const IN_PLACE_OF: &[&str] = &[
    "jagah",
    "jageh",
    "jaga",
    "bajaye",
    "bajay",
    "bajaaye",
    "bajae",
    "badle",
    "badley",
    "जगह",
    "बजाय",
    "बजाए",
    "बदले",
];

/// Words after which the caller says a value again ("8 no wait 9").
const MARKERS: &[&str] = &[
    "no",
    "nope",
    "nah",
    "wait",
    "sorry",
    "actually",
    "matlab",
    "mean",
    "meant",
    "oops",
    "rather",
    "balki",
    "ruko",
    "instead",
    "मतलब",
    "बल्कि",
    "रुको",
    "सॉरी",
    "माफ",
];

/// Words of a change request ("change it from 8 to 9", "move it from Friday to Saturday").
const CHANGE_WORDS: &[&str] = &[
    "change",
    "move",
    "shift",
    "switch",
    "badal",
    "badlo",
    "badalna",
    "badal do",
    "बदल",
    "बदलो",
    "बदलना",
];

fn is_negation(t: &Token) -> bool {
    t.canon == "nahi"
}

/// True for a word after which the caller restates a value.
pub(crate) fn is_marker(t: &Token) -> bool {
    MARKERS.contains(&t.text.as_str()) || is_negation(t)
}

/// True when some word of `toks` announces a correction: a marker ("nahi", "no", "wait",
/// "actually", "matlab" …), "not", "instead", "jagah"/"bajaye", or "make it"/"make that".
pub(crate) fn has_correction_cue(toks: &[Token]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        is_marker(t)
            || matches!(t.text.as_str(), "not" | "instead")
            || IN_PLACE_OF.contains(&t.text.as_str())
            || (t.text == "make"
                && toks
                    .get(i + 1)
                    .is_some_and(|n| matches!(n.text.as_str(), "it" | "that" | "this")))
    })
}

/// True when token `i` is the verb "do" of "kar do" ("9 kar do"), not the number two.
pub(crate) fn is_verb_do(toks: &[Token], i: usize) -> bool {
    toks.get(i)
        .is_some_and(|t| matches!(t.text.as_str(), "do" | "दो" | "dijiye" | "दीजिए"))
        && i > 0
        && matches!(toks[i - 1].text.as_str(), "kar" | "kr" | "कर")
}

/// True when the words announce a correction of something said before: "make it 5",
/// "make that 5", "8 no wait 9", "not Thursday, Sunday", "saat ki jagah aath", "nahi, 6 log".
/// The dialog uses it to let a bare number at the read-back change the party size.
pub fn says_correction(text: &str) -> bool {
    has_correction_cue(&crate::normalize::tokenize(text))
}

/// A correction said as "old … new" in one utterance, for slots whose values have no
/// extractor-level rule (names): the words taken back and the words that replace them, as
/// byte ranges of the utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// What the caller took back ("Rahul" in "Rahul nahi, Rohit"); `None` when the
    /// correction only starts with a marker ("nahi, Rohit").
    pub old: Option<Range<usize>>,
    /// What the caller says instead ("Rohit").
    pub new: Range<usize>,
}

/// Splits "Rahul nahi, Rohit", "Rahul no wait Rohit", "sorry, Rohit", "not Rahul, Rohit",
/// "not Rahul but Rohit" and "Rohit, not Rahul" into the words taken back and their
/// replacement; `None` when the utterance is not a correction of that shape.
pub fn split_correction(text: &str) -> Option<Replacement> {
    let toks = crate::normalize::tokenize(text);
    let filler = |t: &Token| matches!(t.text.as_str(), "i" | "mean" | "meant" | "wait" | "ji");
    let m0 = toks.iter().position(|t| is_marker(t) || t.text == "not")?;
    let mut m1 = m0;
    while toks
        .get(m1 + 1)
        .is_some_and(|t| is_marker(t) || t.text == "not" || filler(t))
    {
        m1 += 1;
    }
    let range = |a: usize, b: usize| toks[a].span.start..toks[b].span.end;
    let before = (m0 > 0).then(|| range(0, m0 - 1));
    let after = (m1 + 1 < toks.len()).then(|| range(m1 + 1, toks.len() - 1));
    if m0 == m1 && toks[m0].text == "not" {
        return match (before, after) {
            // "Rohit, not Rahul"
            (Some(new), Some(old)) => Some(Replacement {
                old: Some(old),
                new,
            }),
            // "not Rahul, Rohit", "not Rahul but Rohit"
            (None, Some(_)) => {
                let rest = &toks[m1 + 1..];
                let cut = (1..rest.len()).find(|&k| {
                    rest[k].text == "but"
                        || text[rest[k - 1].span.end..rest[k].span.start].contains(',')
                })?;
                let first_new = if rest[cut].text == "but" {
                    cut + 1
                } else {
                    cut
                };
                (first_new < rest.len()).then(|| Replacement {
                    old: Some(rest[0].span.start..rest[cut - 1].span.end),
                    new: rest[first_new].span.start..rest[rest.len() - 1].span.end,
                })
            }
            _ => None,
        };
    }
    Some(Replacement {
        old: before,
        new: after?,
    })
}

/// Whether the value at tokens `from..=to` was taken back (rule 1 of the module docs).
fn taken_back(toks: &[Token], from: usize, to: usize) -> bool {
    let text = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    // After: "kal nahi", "shanivaar ko nahi", "saat ki jagah", "kal ke bajaye".
    let mut j = to + 1;
    while j < toks.len() && BEFORE_NEGATION.contains(&text(j)) {
        j += 1;
    }
    if toks.get(j).is_some_and(is_negation) {
        return true;
    }
    if toks.get(to + 1).is_some_and(|t| t.canon == "ke") && IN_PLACE_OF.contains(&text(to + 2)) {
        return true;
    }
    // Before: "not (on) Thursday", "instead of (the) 8", "rather than 7", "from 8 to 9".
    let mut k = from;
    while k > 0 && PREPOSITIONS.contains(&text(k - 1)) {
        k -= 1;
    }
    let Some(p1) = k.checked_sub(1) else {
        return false;
    };
    let p2 = p1.checked_sub(1).map_or("", text);
    let p3 = p1.checked_sub(2).map_or("", text);
    match text(p1) {
        "not" => true,
        "of" => p2 == "instead" || (p2 == "place" && p3 == "in"),
        "than" => p2 == "rather",
        "from" => {
            toks.iter().any(|t| CHANGE_WORDS.contains(&t.text.as_str()))
                && toks[to + 1..].iter().any(|t| t.text == "to")
        }
        _ => false,
    }
}

/// Which of the candidate values at token spans `spans` (`from..=to`, in any order) still
/// stand after the caller's corrections; `true` = keep. See the module docs for the rules.
pub(crate) fn settle(toks: &[Token], spans: &[(usize, usize)]) -> Vec<bool> {
    let mut keep: Vec<bool> = spans
        .iter()
        .map(|&(from, to)| !taken_back(toks, from, to))
        .collect();
    // Rule 2: the last marker with standing values on both sides cuts off what came before.
    let standing = |keep: &[bool]| -> Vec<(usize, usize)> {
        spans
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(s, _)| *s)
            .collect()
    };
    let alive = standing(&keep);
    let cut = (0..toks.len()).rev().find(|&m| {
        is_marker(&toks[m])
            && alive.iter().any(|&(_, to)| to < m)
            && alive.iter().any(|&(from, _)| from > m)
    });
    if let Some(m) = cut {
        for (k, &(from, _)) in keep.iter_mut().zip(spans) {
            if from < m {
                *k = false;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tokenize;

    /// The surviving words among single-word candidates `words`.
    fn standing(text: &str, words: &[&str]) -> Vec<String> {
        let toks = tokenize(text);
        let spans: Vec<(usize, usize)> = (0..toks.len())
            .filter(|&i| words.contains(&toks[i].text.as_str()))
            .map(|i| (i, i))
            .collect();
        settle(&toks, &spans)
            .into_iter()
            .zip(&spans)
            .filter(|(k, _)| *k)
            .map(|(_, &(i, _))| toks[i].text.clone())
            .collect()
    }

    #[test]
    fn a_negated_value_is_dropped() {
        assert_eq!(standing("kal nahi, parso", &["kal", "parso"]), ["parso"]);
        assert_eq!(
            standing("not Thursday, Sunday", &["thursday", "sunday"]),
            ["sunday"]
        );
        assert_eq!(
            standing("Sunday, not on Thursday", &["thursday", "sunday"]),
            ["sunday"]
        );
        assert_eq!(
            standing("shanivaar ko nahi ravivaar ko", &["shanivaar", "ravivaar"]),
            ["ravivaar"]
        );
        assert_eq!(standing("चार नहीं पाँच", &["चार", "पांच"]), ["पांच"]);
    }

    #[test]
    fn a_replaced_value_is_dropped() {
        assert_eq!(standing("9 instead of 8", &["8", "9"]), ["9"]);
        assert_eq!(standing("saat ki jagah aath", &["saat", "aath"]), ["aath"]);
        assert_eq!(
            standing("kal ke bajaye parso", &["kal", "parso"]),
            ["parso"]
        );
        assert_eq!(standing("change it from 4 to 5", &["4", "5"]), ["5"]);
        // Without a change word "from … to" is a range, not a correction.
        assert_eq!(standing("from 4 to 5", &["4", "5"]), ["4", "5"]);
    }

    #[test]
    fn values_after_a_marker_win() {
        assert_eq!(standing("8 no wait 9", &["8", "9"]), ["9"]);
        assert_eq!(standing("kal, sorry, parso", &["kal", "parso"]), ["parso"]);
        assert_eq!(standing("nahi nahi, 6", &["6"]), ["6"]);
        // No marker between: both stand (the extractor decides).
        assert_eq!(
            standing("kal ya parso", &["kal", "parso"]),
            ["kal", "parso"]
        );
    }

    #[test]
    fn everything_taken_back_leaves_nothing() {
        assert!(standing("kal nahi", &["kal"]).is_empty());
        assert!(standing("not Thursday", &["thursday"]).is_empty());
    }

    fn split(text: &str) -> Option<(Option<&str>, &str)> {
        split_correction(text).map(|r| (r.old.map(|o| &text[o]), &text[r.new]))
    }

    #[test]
    fn old_and_new_words() {
        assert_eq!(split("Rahul nahi, Rohit"), Some((Some("Rahul"), "Rohit")));
        assert_eq!(split("राहुल नहीं, रोहित"), Some((Some("राहुल"), "रोहित")));
        assert_eq!(
            split("Rahul no wait Rohit Sharma"),
            Some((Some("Rahul"), "Rohit Sharma"))
        );
        assert_eq!(split("nahi nahi, Rohit"), Some((None, "Rohit")));
        assert_eq!(split("sorry, I mean Rohit"), Some((None, "Rohit")));
        assert_eq!(split("not Rahul, Rohit"), Some((Some("Rahul"), "Rohit")));
        assert_eq!(split("not Rahul but Rohit"), Some((Some("Rahul"), "Rohit")));
        assert_eq!(split("Rohit, not Rahul"), Some((Some("Rahul"), "Rohit")));
        assert_eq!(split("not Rahul"), None);
        assert_eq!(split("Rahul nahi"), None);
        assert_eq!(split("Rohit"), None);
    }

    #[test]
    fn cues() {
        for text in [
            "make it 5",
            "make that 5",
            "8 no wait 9",
            "not 7",
            "saat ki jagah aath",
        ] {
            assert!(has_correction_cue(&tokenize(text)), "{text}");
        }
        for text in ["5 log", "kal 8 baje", "table for two"] {
            assert!(!has_correction_cue(&tokenize(text)), "{text}");
        }
    }
}
