//! Yes/no answers, including "no + a new value" corrections ("nahi, 5 log").
//!
//! Rules, in order: phrases that only look negative mean yes ("no problem", "koi baat nahi",
//! "kyun nahi", "why not"); "don't know" phrases ("pata nahi", "not sure", "maybe") give no
//! answer; any negation ("nahi", "no", "nope", "mat", "don't", "galat", "wrong"; "na" only as the
//! first word) makes the answer no, so "theek nahi hai" and "ji nahi" are no; otherwise a yes
//! word ("haan", "ji", "bilkul", "theek hai", "sure", "ok", "zaroor", "हाँ", "जी" …) makes it
//! yes. Whatever else the caller said after the yes/no words is reported as `rest`, which for
//! a "no" is a correction for the dialog to parse.

use std::ops::Range;

use crate::normalize::{Token, tokenize};

/// A yes/no answer and what came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YesNoReply {
    /// true = yes, false = no.
    pub answer: bool,
    /// Byte range of the caller's other words ("5 log" in "nahi, 5 log"), if any.
    pub rest: Option<Range<usize>>,
}

impl YesNoReply {
    /// True for "no" followed by a new value: the caller is correcting, not just refusing.
    pub fn is_correction(&self) -> bool {
        !self.answer && self.rest.is_some()
    }
}

/// Yes (`Some(true)`), no (`Some(false)`) or neither.
pub fn extract_yes_no(text: &str) -> Option<bool> {
    extract_yes_no_detail(text).map(|r| r.answer)
}

#[rustfmt::skip]
const YES_PHRASES: &[&[&str]] = &[
    &["no", "problem"], &["koi", "baat", "nahi"], &["koi", "dikkat", "nahi"],
    &["koi", "problem", "nahi"], &["kyun", "nahi"], &["kyon", "nahi"], &["kyu", "nahi"],
    &["why", "not"], &["no", "worries"], &["क्यों", "नहीं"], &["कोई", "बात", "नहीं"],
    &["of", "course"], &["go", "ahead"], &["sounds", "good"], &["ho", "jayega"], &["kar", "do"],
    &["kar", "dijiye"], &["please", "do"], &["thats", "right"], &["that", "is", "right"],
    &["thats", "correct"], &["sahi", "hai"], &["सही", "है"], &["कर", "दीजिए"], &["कर", "दो"],
    &["ho", "jaega"], &["chalega"], &["चलेगा"], &["why", "not"], &["not", "a", "problem"],
];

#[rustfmt::skip]
const UNKNOWN_PHRASES: &[&[&str]] = &[
    &["pata", "nahi"], &["पता", "नहीं"], &["not", "sure"], &["dont", "know"], &["maloom", "nahi"],
    &["malum", "nahi"], &["maybe"], &["shayad"], &["शायद"], &["no", "idea"], &["sure", "nahi"],
];

#[rustfmt::skip]
const NO_WORDS: &[&str] = &[
    "nahi", "no", "nope", "nah", "mat", "dont", "not", "galat", "wrong", "never", "नहीं", "मत",
    "गलत", "incorrect", "negative",
];

#[rustfmt::skip]
const YES_WORDS: &[&str] = &[
    "haan", "ji", "bilkul", "theek", "sure", "yes", "yeah", "yep", "yup", "ok", "okay", "okk",
    "zaroor", "correct", "right", "done", "perfect", "confirm", "confirmed", "absolutely",
    "definitely", "great", "fine", "sahi", "accha", "acha", "achha", "हां", "जी", "ठीक", "बिल्कुल",
    "जरूर", "हाँ", "alright", "yea", "han", "ओके", "हांजी", "chalo",
];

/// Words that carry no content beside a yes/no ("ji", "please", "sir", "hai").
#[rustfmt::skip]
const FILLER: &[&str] = &[
    "ji", "hai", "sir", "madam", "please", "actually", "arre", "are", "oh", "toh", "to", "but",
    "lekin", "par", "hmm", "sorry", "its", "it", "is", "that", "thats", "bhai", "bhaiya", "wait",
    "ruko", "matlab", "chahiye", "no", "nahi", "na", "is", "haan", "theek", "yes", "ok", "okay",
    "बस", "तो", "है", "जी", "sahi", "correct", "bilkul", "thank", "you", "thanks", "dhanyavaad",
    "i", "mean", "karo", "kijiye", "so", "well", "ya", "yeah", "dont", "not", "mat", "wrong",
    "galat",
    "करो", "कीजिए", "करिए", "dijiye", "do",
    "yaar", "yar", "boss",
];

fn contains_phrase(toks: &[Token], phrase: &[&str]) -> Option<usize> {
    if phrase.is_empty() || toks.len() < phrase.len() {
        return None;
    }
    (0..=toks.len() - phrase.len()).find(|&i| {
        phrase
            .iter()
            .enumerate()
            .all(|(k, p)| toks[i + k].text == *p || toks[i + k].canon == *p)
    })
}

/// [`extract_yes_no`] with the rest of the utterance.
pub fn extract_yes_no_detail(text: &str) -> Option<YesNoReply> {
    let toks = tokenize(text);
    yes_no_in(&toks)
}

/// Same as the public function, on tokens already made from `text`.
pub(crate) fn yes_no_in(toks: &[Token]) -> Option<YesNoReply> {
    if toks.is_empty() {
        return None;
    }
    for p in UNKNOWN_PHRASES {
        if contains_phrase(toks, p).is_some() {
            return None;
        }
    }
    let mut used = vec![false; toks.len()];
    let mut answer: Option<bool> = None;
    for p in YES_PHRASES {
        if let Some(i) = contains_phrase(toks, p) {
            answer = Some(true);
            used[i..i + p.len()].iter_mut().for_each(|u| *u = true);
        }
    }
    if answer.is_none() {
        let negated = toks.iter().enumerate().any(|(i, t)| {
            NO_WORDS.contains(&t.text.as_str())
                || NO_WORDS.contains(&t.canon.as_str())
                || (i == 0 && matches!(t.text.as_str(), "na" | "naa" | "ना"))
        });
        if negated {
            answer = Some(false);
        } else if toks
            .iter()
            .any(|t| YES_WORDS.contains(&t.text.as_str()) || YES_WORDS.contains(&t.canon.as_str()))
        {
            answer = Some(true);
        }
    }
    let answer = answer?;
    // "ji" alone is yes, but "ji" in a longer non-answer ("ji, menu batao") is only politeness.
    let content: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            let t = &toks[i];
            !used[i]
                && !FILLER.contains(&t.text.as_str())
                && !FILLER.contains(&t.canon.as_str())
                && !YES_WORDS.contains(&t.text.as_str())
                && !YES_WORDS.contains(&t.canon.as_str())
                && !NO_WORDS.contains(&t.canon.as_str())
                && !(i == 0 && matches!(t.text.as_str(), "na" | "naa" | "ना"))
        })
        .collect();
    let strong_yes = toks.iter().any(|t| {
        (YES_WORDS.contains(&t.text.as_str()) || YES_WORDS.contains(&t.canon.as_str()))
            && t.canon != "ji"
    }) || used.iter().any(|u| *u);
    if answer && !strong_yes && !content.is_empty() {
        return None;
    }
    let rest = match (content.first(), content.last()) {
        (Some(&a), Some(&b)) => Some(toks[a].span.start..toks[b].span.end),
        _ => None,
    };
    Some(YesNoReply { answer, rest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(extract_yes_no("haan ji"), Some(true));
        assert_eq!(extract_yes_no("ji nahi"), Some(false));
        assert_eq!(extract_yes_no("theek nahi hai"), Some(false));
        assert_eq!(extract_yes_no("koi baat nahi"), Some(true));
        assert_eq!(extract_yes_no("pata nahi"), None);
        assert_eq!(extract_yes_no("हाँ, ठीक है"), Some(true));
        assert_eq!(extract_yes_no("aa jao na"), None);
        assert_eq!(extract_yes_no("menu batao"), None);
    }

    #[test]
    fn corrections() {
        let text = "nahi, 5 log";
        let r = extract_yes_no_detail(text).unwrap();
        assert!(r.is_correction());
        assert_eq!(&text[r.rest.unwrap()], "5 log");
        assert!(!extract_yes_no_detail("nahi").unwrap().is_correction());
    }
}
