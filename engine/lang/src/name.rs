//! Caller names: "mera naam Rahul hai", "my name is Priya Sharma", "Rahul", "मेरा नाम राहुल है",
//! "naam likh lijiye Amit", "this is Neha", "Sharma ji ke naam se", "main Rahul bol raha hoon".
//!
//! A cue ("naam", "name is", "this is", "I am", "call me", "… bol raha/rahi hoon", "… ke naam
//! se") marks where the name is; up to three name-like words are taken from there. Without a
//! cue, an utterance of one to three words that are not vocabulary we know (numbers, yes/no,
//! dates, times, function words) is taken as a bare name with lower confidence. Latin names are
//! returned in Title Case; Devanagari names as spoken. Honorifics (ji, sahab, Mr, Mrs, Dr) are
//! dropped.

use crate::lexicon;
use crate::normalize::{Token, tokenize};
use crate::{Extraction, span_of};

/// The caller's name, Title Case, or `None`.
pub fn extract_name(text: &str) -> Option<String> {
    extract_name_detail(text).map(|e| e.value)
}

/// Words that end a name or can never be one.
#[rustfmt::skip]
const STOP: &[&str] = &[
    "hai", "hain", "he", "h", "hoon", "hu", "hun", "ho", "is", "am", "are", "was", "and", "aur",
    "se", "ke", "ka", "ki", "ko", "par", "pe", "please", "plz", "ji", "jee", "sahab", "saheb",
    "sir", "madam", "mr", "mrs", "ms", "dr", "shri", "smt", "bol", "bolraha", "raha", "rahi",
    "rahe", "speaking", "here", "calling", "the", "a", "an", "to", "of", "for", "from", "my",
    "name", "naam", "mera", "meri", "mere", "main", "mai", "i", "im", "me", "this", "it", "its",
    "thats", "that", "likh", "likhiye", "likho", "lijiye", "lo", "lena", "kar", "karo", "kijiye",
    "dijiye", "book", "booking", "table", "reservation", "call", "with", "yes", "no", "ok", "okay",
    "haan", "nahi", "sure", "thanks", "thank", "you", "hello", "hi", "hey", "namaste", "good",
    "evening", "morning", "is", "want", "need", "would", "like", "chahiye", "karna", "karni",
    "kal", "aaj", "log", "baje", "hum", "we", "just", "only", "sirf", "wala", "wali", "है", "हैं",
    "हूं", "से", "के", "का", "की", "को", "पर", "नाम", "मेरा", "मैं", "जी", "बोल", "रहा", "रही",
    "साहब", "लिख", "लीजिए", "लिखिए", "और", "हां", "नहीं", "also", "bhi", "ye", "yeh", "woh", "wo",
    "kya", "what", "your", "aapka", "apna", "sorry", "theek", "bilkul", "hmm", "so", "well",
    "actually", "speak", "on", "in", "at", "by", "as", "be", "do", "can", "could", "ask", "tell",
    "bata", "batao", "baat", "matlab", "we", "our", "hamara", "family",
];

/// Words between "naam"/"name" and the name itself ("naam likh lijiye Amit").
#[rustfmt::skip]
const NAAM_FILLER: &[&str] = &[
    "hai", "is", "h", "he", "likh", "likhiye", "likho", "lijiye", "likhe", "likhna", "note", "of",
    "the", "kar", "kijiye", "lo", "dijiye", "है", "लिख", "लीजिए", "लिखिए", "please", "ji", "jee",
    "जी", "se", "pe", "par", "mein", "में", "से", "पर",
];

/// Honorifics dropped around a name.
#[rustfmt::skip]
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "dr", "shri", "smt", "ji", "jee", "sahab", "saheb", "जी", "साहब",
    "श्री", "श्रीमती",
];

fn is_name_word(t: &Token, after_cue: bool) -> bool {
    let s = t.text.as_str();
    if s.chars().count() < 2 || s.chars().count() > 24 || STOP.contains(&s) {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_alphabetic() || crate::normalize::is_devanagari_letter(c))
    {
        return false;
    }
    if t.number().is_some() {
        return false;
    }
    // Known vocabulary is not a name, unless a cue said a name comes ("mera naam Mangal hai").
    let known = lexicon::canonical(s).is_some() || crate::language::is_marker_word(s);
    !known
        || after_cue
            && !matches!(
                t.canon.as_str(),
                "haan" | "nahi" | "ji" | "hain" | "ke" | "main" | "mera" | "naam"
            )
}

/// Up to three name words starting at `from`, skipping leading honorifics.
fn take_name(toks: &[Token], mut from: usize, after_cue: bool) -> Option<(usize, usize)> {
    while from < toks.len() && HONORIFICS.contains(&toks[from].text.as_str()) {
        from += 1;
    }
    let mut to = from;
    while to < toks.len() && to - from < 3 && is_name_word(&toks[to], after_cue) {
        to += 1;
    }
    (to > from).then(|| (from, to - 1))
}

/// Name words ending right before `end` (exclusive), for "Rahul Sharma ke naam se".
fn take_name_backwards(toks: &[Token], end: usize) -> Option<(usize, usize)> {
    let mut end = end;
    while end > 0 && HONORIFICS.contains(&toks[end - 1].text.as_str()) {
        end -= 1;
    }
    let mut from = end;
    while from > 0 && end - from < 3 && is_name_word(&toks[from - 1], true) {
        from -= 1;
    }
    (from < end).then(|| (from, end - 1))
}

fn title_case(text: &str, toks: &[Token], from: usize, to: usize) -> String {
    let mut out = Vec::new();
    for t in &toks[from..=to] {
        let original = &text[t.span.clone()];
        if t.is_devanagari() {
            out.push(original.to_string());
        } else {
            let mut cs = original.chars();
            let word: String = match cs.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(cs.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            };
            out.push(word);
        }
    }
    out.join(" ")
}

/// Words that are commands or answers to the bot, never a name on their own ("cancel",
/// "menu", "haan"), even after a cue.
#[rustfmt::skip]
const COMMAND_WORDS: &[&str] = &[
    "cancel", "menu", "haan", "nahi", "yes", "no", "stop", "help", "repeat", "operator", "human",
    "manager", "book", "booking", "table", "reservation", "ok", "okay", "hello", "bye", "exit",
    "quit", "back", "restart", "null", "undefined", "none", "test", "admin", "root", "select",
    "delete", "drop", "insert", "script", "alert", "http", "https", "www",
];

/// True when `text` carries markup, code or an address rather than words: `<script>`,
/// `{{ x }}`, `a=b;`, `$(…)`, a URL or an e-mail. Such an answer to "what name?" is asked again.
fn looks_like_code(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.chars().any(|c| {
        matches!(
            c,
            '<' | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '='
                | ';'
                | '|'
                | '\\'
                | '$'
                | '`'
                | '@'
                | '#'
                | '*'
                | '^'
                | '~'
                | '_'
                | '%'
                | '&'
                | '+'
                | '/'
        )
    }) || lower.contains("://")
        || lower.contains("www.")
        || [".com", ".in", ".org", ".net", ".io"].iter().any(|tld| {
            lower
                .split_whitespace()
                .any(|w| w.contains(tld) && !w.ends_with('.'))
        })
        || lower.contains("()")
}

/// Whether a value is a plausible name to store: one to four words of letters (any script;
/// `.`, `'` and `-` inside a word are fine: "D'Souza", "A. Kumar"), at most 60 characters, no
/// digits, no markup or code, and not only command words ("cancel", "menu", "haan"). The dialog
/// asks again for anything else; an LLM's reading of a name slot passes the same check.
pub fn is_plausible_name(value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 60 || looks_like_code(value) {
        return false;
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() > 4 {
        return false;
    }
    let letters_only = words.iter().all(|w| {
        w.chars().any(|c| c.is_alphabetic())
            && w.chars().all(|c| {
                c.is_alphabetic()
                    || crate::normalize::is_devanagari_letter(c)
                    || matches!(c, '.' | '\'' | '’' | '-' | ',')
            })
    });
    let all_commands = words.iter().all(|w| {
        let w = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        COMMAND_WORDS.contains(&w.as_str())
            || lexicon::canonical(&w).is_some_and(|c| COMMAND_WORDS.contains(&c))
    });
    letters_only && !all_commands
}

/// [`extract_name`] with span and confidence. Markup, code, URLs and command words give `None`
/// (see [`is_plausible_name`]).
pub fn extract_name_detail(text: &str) -> Option<Extraction<String>> {
    let toks = tokenize(text);
    plausible_name_in(text, &toks)
}

/// [`name_in`] with the plausibility checks of [`extract_name_detail`].
pub(crate) fn plausible_name_in(text: &str, toks: &[Token]) -> Option<Extraction<String>> {
    if looks_like_code(text) {
        return None;
    }
    name_in(text, toks).filter(|e| is_plausible_name(&e.value))
}

/// Same as the public function, on tokens already made from `text`.
pub(crate) fn name_in(text: &str, toks: &[Token]) -> Option<Extraction<String>> {
    let w = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    let c = |i: usize| toks.get(i).map_or("", |t| t.canon.as_str());
    let found = |range: Option<(usize, usize)>, conf: f32| {
        range.map(|(a, b)| Extraction {
            value: title_case(text, toks, a, b),
            span: span_of(toks, a, b),
            confidence: conf,
        })
    };
    for i in 0..toks.len() {
        // "naam … X" / "name is X" / "X ke naam se" / "X naam hai".
        if c(i) == "naam" || matches!(w(i), "name" | "names") {
            let mut j = i + 1;
            while j < toks.len() && NAAM_FILLER.contains(&w(j)) {
                j += 1;
            }
            let possessive = i > 0 && c(i - 1) == "ke";
            if !possessive && let Some(r) = take_name(toks, j, true) {
                return found(Some(r), 1.0);
            }
            // "Rahul ke naam se", "Rahul naam hai mera"
            let mut k = i;
            while k > 0 && matches!(c(k - 1), "ke" | "mera") {
                k -= 1;
            }
            if let Some(r) = take_name_backwards(toks, k) {
                return found(Some(r), 0.95);
            }
        }
        // "this is X", "I am X", "I'm X", "call me X", "it's X", "main X bol raha hoon"
        let cue = matches!(
            (w(i), w(i + 1)),
            ("this", "is") | ("i", "am") | ("call", "me") | ("it", "is")
        )
        .then_some(i + 2)
        .or_else(|| matches!(w(i), "im" | "its" | "under").then_some(i + 1));
        if let Some(j) = cue
            && let Some(r) = take_name(toks, j, false)
        {
            return found(Some(r), 0.95);
        }
        if matches!(c(i), "main")
            && let Some((a, b)) = take_name(toks, i + 1, false)
        {
            let after = c(b + 1);
            if matches!(w(b + 1), "bol" | "speaking" | "बोल" | "here") || after == "hain" {
                return found(Some((a, b)), 0.95);
            }
            // "मैं नेहा" / "main Rahul" as the whole answer.
            if i == 0 && b + 1 == toks.len() {
                return found(Some((a, b)), 0.85);
            }
        }
        // "X here", "X speaking", "X bol raha hoon"
        if matches!(w(i), "here" | "speaking" | "bol" | "बोल")
            && i > 0
            && (w(i) != "bol" || matches!(w(i + 1), "raha" | "rahi" | "रहा" | "रही"))
            && let Some(r) = take_name_backwards(toks, i)
            && (r.0 == 0 || matches!(c(r.0 - 1), "main" | "ji" | "haan"))
        {
            return found(Some(r), 0.9);
        }
    }
    // Bare name: the whole utterance (minus greetings/honorifics) is one to three name words.
    let core: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            !HONORIFICS.contains(&w(i))
                && !matches!(
                    w(i),
                    "hello" | "hi" | "namaste" | "ji" | "haan" | "sir" | "madam"
                )
        })
        .collect();
    if (1..=3).contains(&core.len())
        && core.windows(2).all(|p| p[1] == p[0] + 1)
        && core.iter().all(|&i| is_name_word(&toks[i], false))
    {
        return found(Some((core[0], core[core.len() - 1])), 0.7);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            extract_name("mera naam Rahul hai").as_deref(),
            Some("Rahul")
        );
        assert_eq!(
            extract_name("my name is priya sharma").as_deref(),
            Some("Priya Sharma")
        );
        assert_eq!(extract_name("Rahul").as_deref(), Some("Rahul"));
        assert_eq!(extract_name("मेरा नाम राहुल है").as_deref(), Some("राहुल"));
        assert_eq!(
            extract_name("naam likh lijiye Amit").as_deref(),
            Some("Amit")
        );
        assert_eq!(extract_name("this is Neha").as_deref(), Some("Neha"));
        assert_eq!(extract_name("haan"), None);
        assert_eq!(extract_name("4"), None);
        assert_eq!(extract_name("kal 8 baje"), None);
    }
}
