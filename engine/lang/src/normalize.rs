//! Text normalization and tokenization shared by every extractor.
//!
//! Callers reach us through speech recognizers that emit Devanagari, romanized Hindi or English,
//! often mixed, with inconsistent punctuation, digits in either script and nukta/chandrabindu
//! spelled either way. Every extractor works on the same [`Token`] stream so that each of those
//! variations is handled exactly once, here:
//!
//! * lowercase; Devanagari digits `०-९` become ASCII digits;
//! * nukta letters (`ज़`, `ड़`, `फ़` …) lose the nukta, chandrabindu (`ँ`) becomes anusvara (`ं`),
//!   zero-width joiners disappear — so `हाँ`/`हां` and `मोमोज़`/`मोमोज` compare equal;
//! * punctuation (including `।` and `॥`) separates words, except `:` `.` `/` `-` between two digits
//!   (`8:30`, `8.30`, `25/12`) and `,` between digits (`1,250` → `1250`);
//! * a `.` between letters is dropped (`p.m.` → `pm`), apostrophes are dropped (`o'clock` →
//!   `oclock`), and digits split from letters (`8pm` → `8` `pm`, `25th` → `25` `th`);
//! * each token gets a canonical form from the [`crate::lexicon`] (`kl` → `kal`,
//!   `साढ़े` → `saadhe`, `चार`/`chaar`/`four` → `4`), and English tens+units are merged
//!   (`twenty five` → `25`).

use std::ops::Range;

use crate::lexicon;

/// One word of an utterance after normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The normalized surface form (lowercase, digits ASCII, nukta removed).
    pub text: String,
    /// The canonical form: a lexicon headword (`kal`, `baje`, `saadhe` …), digits for number
    /// words (`"4"` for `chaar`/`चार`/`four`), or `text` itself when the word is unknown.
    pub canon: String,
    /// Byte range of the token in the original (un-normalized) text, so callers can quote or
    /// cut the caller's own words (e.g. the remainder of a correction).
    pub span: Range<usize>,
}

impl Token {
    /// The numeric value when the canonical form is a plain integer (`"4"`, `"25"`).
    pub fn number(&self) -> Option<u32> {
        if self.canon.is_empty() || self.canon.len() > 9 {
            return None;
        }
        if self.canon.bytes().all(|b| b.is_ascii_digit()) {
            self.canon.parse().ok()
        } else if self.text.len() > 2
            && self.text.bytes().next().is_some_and(|b| b.is_ascii_digit())
        {
            // "25th": digits followed by an ordinal suffix.
            self.text
                .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse()
                .ok()
        } else {
            None
        }
    }

    /// True when this number word is also an ordinary word in another language (`do` is "two"
    /// in Hindi and a verb in English, `saath` is "sixty" and "with"), so extractors only trust
    /// it next to a unit word.
    pub fn is_weak_number(&self) -> bool {
        self.number().is_some() && lexicon::is_weak_number(&self.text)
    }

    /// True when the token is written in Devanagari.
    pub fn is_devanagari(&self) -> bool {
        self.text.chars().any(is_devanagari_letter)
    }
}

/// True for Devanagari letters, vowel signs and marks (not digits or dandas).
pub fn is_devanagari_letter(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{0963}' | '\u{0970}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}')
}

/// Maps one character to its normalized form; `None` means "drop it".
fn normalize_char(c: char) -> Option<char> {
    Some(match c {
        '\u{0966}'..='\u{096F}' => char::from(b'0' + (c as u32 - 0x0966) as u8),
        '\u{0958}' => 'क',
        '\u{0959}' => 'ख',
        '\u{095A}' => 'ग',
        '\u{095B}' => 'ज',
        '\u{095C}' => 'ड',
        '\u{095D}' => 'ढ',
        '\u{095E}' => 'फ',
        '\u{095F}' => 'य',
        '\u{093C}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => return None,
        '\u{0901}' => '\u{0902}',
        _ => c,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Sep,
}

fn class_of(c: char) -> Class {
    if c.is_ascii_digit() {
        Class::Digit
    } else if is_devanagari_letter(c) || c.is_alphabetic() {
        Class::Letter
    } else {
        Class::Sep
    }
}

/// Returns the normalized text with single spaces between tokens — handy for phrase matching
/// and for logs of what the extractors saw.
pub fn normalize(text: &str) -> String {
    let toks = tokenize(text);
    let mut out = String::with_capacity(text.len());
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&t.text);
    }
    out
}

/// Splits `text` into normalized tokens (see the module docs for every rule applied).
pub fn tokenize(text: &str) -> Vec<Token> {
    // First pass: normalized chars with their original byte offsets.
    let mut chars: Vec<(char, usize, usize)> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        for lc in c.to_lowercase() {
            if let Some(n) = normalize_char(lc) {
                chars.push((n, i, end));
            }
        }
    }
    let mut raw: Vec<Token> = Vec::new();
    let mut cur = String::new();
    let mut start = 0usize;
    let mut end = 0usize;
    let mut last: Option<Class> = None;
    let flush = |cur: &mut String, start: usize, end: usize, raw: &mut Vec<Token>| {
        if !cur.is_empty() {
            raw.push(Token {
                text: std::mem::take(cur),
                canon: String::new(),
                span: start..end,
            });
        }
    };
    let n = chars.len();
    for idx in 0..n {
        let (c, s, e) = chars[idx];
        let prev = if idx > 0 {
            Some(chars[idx - 1].0)
        } else {
            None
        };
        let next = chars.get(idx + 1).map(|x| x.0);
        let cls = class_of(c);
        match cls {
            Class::Sep => {
                let between_digits = prev.is_some_and(|p| p.is_ascii_digit())
                    && next.is_some_and(|x| x.is_ascii_digit())
                    && last == Some(Class::Digit);
                if between_digits && matches!(c, ':' | '.' | '/' | '-') {
                    cur.push(c);
                    end = e;
                    continue;
                }
                if between_digits && c == ',' {
                    continue;
                }
                let between_letters = prev.is_some_and(|p| class_of(p) == Class::Letter)
                    && next.is_some_and(|x| class_of(x) == Class::Letter)
                    && last == Some(Class::Letter);
                if between_letters && (c == '\'' || c == '’' || c == '.') {
                    continue;
                }
                // A trailing "." of "p.m." belongs to nothing; just separate.
                flush(&mut cur, start, end, &mut raw);
                last = None;
            }
            Class::Letter | Class::Digit => {
                if last.is_some() && last != Some(cls) {
                    flush(&mut cur, start, end, &mut raw);
                }
                if cur.is_empty() {
                    start = s;
                }
                cur.push(c);
                end = e;
                last = Some(cls);
            }
        }
    }
    flush(&mut cur, start, end, &mut raw);
    for t in &mut raw {
        t.canon = lexicon::canonical(&t.text).unwrap_or(&t.text).to_string();
    }
    let mut toks = merge_english_compounds(raw);
    people_jan(&mut toks);
    toks
}

/// "teen jan", "hum 5 jan", "5 jan hain": after a Hindi number word, after "hum N", or before
/// "hain"/"honge", "jan" is the counting word for people (जन), not January.
/// "5 jan" and "five jan" stay a date.
fn people_jan(toks: &mut [Token]) {
    for i in 1..toks.len() {
        if toks[i].text != "jan" || toks[i - 1].number().is_none() {
            continue;
        }
        let prev = &toks[i - 1].text;
        let hindi_number =
            !prev.bytes().all(|b| b.is_ascii_digit()) && !lexicon::is_english_number_word(prev);
        let hum = i >= 2 && toks[i - 2].canon == "hum";
        // "5 jan hain" / "5 jan honge" (but "5 jan ke liye" may be the 5th of January).
        let people_after = toks
            .get(i + 1)
            .is_some_and(|n| n.canon == "hain" || n.text == "honge");
        if hindi_number || hum || people_after {
            toks[i].canon = "log".to_string();
        }
    }
}

/// Merges English "twenty five" / "twenty-five" into one number token and drops ordinal
/// suffixes after digits ("25th" → "25").
fn merge_english_compounds(raw: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(raw.len());
    for t in raw {
        if matches!(t.text.as_str(), "th" | "st" | "nd" | "rd")
            && out
                .last()
                .is_some_and(|p| p.text.bytes().all(|b| b.is_ascii_digit()))
        {
            if let Some(p) = out.last_mut() {
                p.span.end = t.span.end;
                // Keep the suffix in the surface form: "25th" alone is a day of the month.
                p.text.push_str(&t.text);
            }
            continue;
        }
        if let (Some(prev), Some(unit)) = (out.last_mut(), t.number()) {
            let tens = prev.number();
            if let Some(tens) = tens
                && lexicon::is_english_tens(&prev.text)
                && (1..=9).contains(&unit)
                && lexicon::is_english_word_number(&t.text)
            {
                prev.canon = (tens + unit).to_string();
                prev.text = format!("{} {}", prev.text, t.text);
                prev.span.end = t.span.end;
                continue;
            }
        }
        out.push(t);
    }
    out
}

/// A consonant skeleton of a romanized word used for forgiving comparisons of long words
/// (weekday and month names, menu items): `h` after a consonant, doubled letters and vowel
/// length disappear, `w`→`v`, `z`→`j`, `q`/`ck`/`c`→`k`, `ph`→`f`.
pub fn skeleton(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let mapped = match c {
            'w' => 'v',
            'z' => 'j',
            'q' => 'k',
            'c' if next == Some('k') => {
                i += 1;
                continue;
            }
            'c' if next == Some('h') => 'c',
            'c' => 'k',
            'p' if next == Some('h') => {
                i += 2;
                s.push('f');
                continue;
            }
            'y' if i > 0 => 'i',
            _ => c,
        };
        if mapped == 'h' && i > 0 && !matches!(chars[i - 1], 'a' | 'e' | 'i' | 'o' | 'u') {
            i += 1;
            continue;
        }
        if mapped == 'h' && i > 0 && next.is_none() {
            i += 1;
            continue;
        }
        if s.ends_with(mapped) {
            i += 1;
            continue;
        }
        let mapped = match mapped {
            'e' if s.ends_with('e') => {
                i += 1;
                continue;
            }
            other => other,
        };
        s.push(mapped);
        i += 1;
    }
    // "ee"→"i", "oo"→"u" were collapsed to single letters above; equate them with i/u.
    s.replace("e", "i").replace('o', "u")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }
    fn canons(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.canon).collect()
    }

    #[test]
    fn punctuation_digits_and_scripts() {
        assert_eq!(texts("हाँ, ठीक है।"), vec!["हां", "ठीक", "है"]);
        assert_eq!(texts("८:३० बजे"), vec!["8:30", "बजे"]);
        assert_eq!(texts("8pm, 25th Dec"), vec!["8", "pm", "25th", "dec"]);
        assert_eq!(texts("Rs. 1,250 only!"), vec!["rs", "1250", "only"]);
        assert_eq!(texts("at 8.30 p.m."), vec!["at", "8.30", "pm"]);
        assert_eq!(texts("o'clock"), vec!["oclock"]);
        assert_eq!(texts("मोमोज़"), texts("मोमोज"));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canons("kl saade saat bje"),
            vec!["kal", "saadhe", "7", "baje"]
        );
        assert_eq!(canons("कल साढ़े सात बजे"), vec!["kal", "saadhe", "7", "baje"]);
        assert_eq!(canons("twenty-five people"), vec!["25", "log"]);
        assert_eq!(canons("पाँच"), vec!["5"]);
    }

    #[test]
    fn spans_point_into_original() {
        let s = "Nahi, ५ लोग";
        let t = tokenize(s);
        assert_eq!(&s[t[1].span.clone()], "५");
        assert_eq!(&s[t[2].span.clone()], "लोग");
    }

    #[test]
    fn skeleton_equates_spellings() {
        assert_eq!(skeleton("shaniwar"), skeleton("shanivaar"));
        assert_eq!(skeleton("guruwaar"), skeleton("guruvar"));
        assert_eq!(skeleton("chicken"), skeleton("chiken"));
    }
}
