//! Sentence splitting for TTS, in batch and streaming form.
//!
//! Sentences end at `.`, `?`, `!`, `।` and `॥` (runs like `?!` or `...` count as one end, and
//! closing quotes/brackets stay with their sentence). A `.` does not end a sentence when it is
//! followed by a non-space (`8.30`, `p.m.` inside a word), when it ends a known abbreviation
//! (`Rs.`, `Dr.`, `Mr.`, `No.` …) or when it ends `a.m.`/`p.m.` and the next word starts in lower
//! case or with a digit. `।`/`॥` always end a sentence. [`SentenceSplitter::with_max_chars`]
//! additionally cuts run-on sentences at clause breaks for streaming TTS.

/// Abbreviations after which a `.` never ends a sentence (lowercase, without the dot).
#[rustfmt::skip]
const ABBREVIATIONS: &[&str] = &[
    "rs", "dr", "mr", "mrs", "ms", "st", "no", "nos", "vs", "etc", "approx", "sr", "jr", "prof",
    "shri", "smt", "govt", "ltd", "pvt", "e.g", "i.e", "ph", "mob", "min", "max", "rd",
];

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '”' | '’' | '»')
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '?' | '!' | '।' | '॥')
}

/// Byte offsets just after each sentence end in `text`. When `complete` is false the text may
/// continue (streaming), so an end whose following character is not yet known is not reported.
fn boundaries(text: &str, complete: bool) -> Vec<usize> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if !is_terminal(c) {
            i += 1;
            continue;
        }
        // Extend over the whole run of terminators and closers.
        let mut j = i;
        let mut strong = false;
        while j < chars.len() && (is_terminal(chars[j].1) || is_closer(chars[j].1)) {
            if matches!(chars[j].1, '?' | '!' | '।' | '॥') {
                strong = true;
            }
            j += 1;
        }
        let end = chars.get(j).map_or(text.len(), |x| x.0);
        let next = chars.get(j).map(|x| x.1);
        if next.is_none() && !complete {
            // Cannot tell yet whether "8." continues as "8.30".
            break;
        }
        let followed_by_space = next.is_none_or(char::is_whitespace);
        let is_boundary = if matches!(c, '।' | '॥') {
            true
        } else if !followed_by_space {
            false
        } else if strong {
            true
        } else {
            match dot_is_abbreviation(text, pos, &chars[j..]) {
                Some(abbr) => !abbr,
                None if complete => true,
                // "p.m. " with the next word still to come: wait for it.
                None => break,
            }
        };
        if is_boundary {
            out.push(end);
        }
        i = j;
    }
    out
}

/// Whether the `.` at byte `dot` closes an abbreviation rather than a sentence; `None` when that
/// depends on a next word that has not arrived yet.
fn dot_is_abbreviation(text: &str, dot: usize, after: &[(usize, char)]) -> Option<bool> {
    let before = &text[..dot];
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace() || matches!(c, '(' | '"' | '\''))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = before[word_start..].to_lowercase();
    if ABBREVIATIONS.contains(&word.as_str()) {
        return Some(true);
    }
    if word == "a.m" || word == "p.m" {
        // "at 8 p.m. on Sunday" is still the same sentence; "at 8 p.m. See you" is not.
        let next_word = after.iter().map(|x| x.1).find(|c| !c.is_whitespace())?;
        return Some(next_word.is_lowercase() || next_word.is_ascii_digit());
    }
    // Single capital letters with dots are initials ("A. K. Sharma").
    let mut it = word.chars();
    Some(matches!((it.next(), it.next()), (Some(c), None) if c.is_ascii_alphabetic()))
}

/// Splits text into sentences (trimmed, empty ones dropped) by the rules in the module docs.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in boundaries(text, true) {
        let s = text[start..end].trim();
        if !s.is_empty() {
            out.push(s);
        }
        start = end;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Streams LLM tokens into whole sentences so TTS can start speaking the first sentence while
/// the rest is still being generated.
#[derive(Debug, Default, Clone)]
pub struct SentenceSplitter {
    buf: String,
    /// When set, an unfinished sentence longer than this many characters is cut at its last
    /// clause break (`,` `;` `:`) or space, so TTS never waits on a run-on sentence.
    max_chars: Option<usize>,
}

impl SentenceSplitter {
    /// An empty splitter that only ever cuts at sentence ends.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty splitter that also cuts a sentence once it grows past `max_chars` characters
    /// (at the last `,` `;` `:` before the limit, else the last space; a single word longer
    /// than the limit is never split).
    pub fn with_max_chars(max_chars: usize) -> Self {
        SentenceSplitter {
            buf: String::new(),
            max_chars: Some(max_chars.max(1)),
        }
    }

    /// Cuts the buffer at a clause break while it is longer than the limit.
    fn cut_long(&mut self, out: &mut Vec<String>) {
        let Some(max) = self.max_chars else { return };
        while self.buf.chars().count() > max {
            let limit = self
                .buf
                .char_indices()
                .nth(max)
                .map_or(self.buf.len(), |(i, _)| i);
            let head = &self.buf[..limit];
            let cut = head
                .char_indices()
                .rev()
                .find(|&(i, c)| {
                    matches!(c, ',' | ';' | ':')
                        && head[i + c.len_utf8()..].starts_with(char::is_whitespace)
                })
                .map(|(i, c)| i + c.len_utf8())
                .or_else(|| {
                    head.char_indices()
                        .rev()
                        .find(|&(i, c)| c.is_whitespace() && i > 0)
                        .map(|(i, _)| i)
                });
            let Some(cut) = cut else { return };
            let piece = self.buf[..cut].trim().to_string();
            if !piece.is_empty() {
                out.push(piece);
            }
            self.buf.drain(..cut);
        }
    }

    /// Adds a chunk and returns every sentence that is now known to be complete.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.buf.push_str(chunk);
        let ends = boundaries(&self.buf, false);
        let mut out = Vec::with_capacity(ends.len());
        if let Some(&last) = ends.last() {
            let mut start = 0;
            for end in ends {
                let s = self.buf[start..end].trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                start = end;
            }
            self.buf.drain(..last);
        }
        self.cut_long(&mut out);
        out
    }

    /// Ends the stream and returns whatever is left (zero or more sentences).
    pub fn finish(&mut self) -> Vec<String> {
        let text = std::mem::take(&mut self.buf);
        split_sentences(&text)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rules() {
        assert_eq!(
            split_sentences("नमस्ते! आपकी टेबल बुक हो गई है। कल मिलते हैं॥"),
            vec!["नमस्ते!", "आपकी टेबल बुक हो गई है।", "कल मिलते हैं॥"]
        );
        assert_eq!(
            split_sentences(
                "Momos cost Rs. 250. We open at 8.30 p.m. on Sundays. See you, Dr. Rao!"
            ),
            vec![
                "Momos cost Rs. 250.",
                "We open at 8.30 p.m. on Sundays.",
                "See you, Dr. Rao!"
            ]
        );
        assert_eq!(
            split_sentences("Open till 11 p.m. See you"),
            vec!["Open till 11 p.m.", "See you"]
        );
        assert_eq!(
            split_sentences("Really?! \"Yes.\" Ok"),
            vec!["Really?!", "\"Yes.\"", "Ok"]
        );
        assert_eq!(split_sentences("ठीक है।कल आइए"), vec!["ठीक है।", "कल आइए"]);
        assert!(split_sentences("  ").is_empty());
    }

    #[test]
    fn streaming_matches_batch() {
        let text = "Your table is booked for 8.30 pm. The bill was Rs. 1,250! धन्यवाद। Bye";
        for size in 1..8 {
            let mut sp = SentenceSplitter::new();
            let mut got = Vec::new();
            let chars: Vec<char> = text.chars().collect();
            for chunk in chars.chunks(size) {
                got.extend(sp.push(&chunk.iter().collect::<String>()));
            }
            got.extend(sp.finish());
            assert_eq!(got, split_sentences(text), "chunk size {size}");
        }
    }

    #[test]
    fn long_sentences_are_cut_at_clause_breaks() {
        let mut sp = SentenceSplitter::with_max_chars(30);
        let mut got = sp.push("हमारे यहाँ मोमो, थुकपा, दाल भात थाली और बहुत कुछ मिलता है");
        got.extend(sp.finish());
        assert!(got.len() > 1, "{got:?}");
        assert!(got.iter().all(|s| s.chars().count() <= 30), "{got:?}");
        assert_eq!(
            got.join(" "),
            "हमारे यहाँ मोमो, थुकपा, दाल भात थाली और बहुत कुछ मिलता है"
        );
        let mut sp = SentenceSplitter::with_max_chars(5);
        assert!(
            sp.push("Supercalifragilistic").is_empty(),
            "a single word is never split"
        );
    }

    #[test]
    fn streaming_emits_early() {
        let mut sp = SentenceSplitter::new();
        assert!(sp.push("Hello there.").is_empty());
        assert_eq!(sp.push(" How"), vec!["Hello there."]);
        assert_eq!(sp.push(" are you।"), Vec::<String>::new());
        assert_eq!(sp.push("x"), vec!["How are you।"]);
        assert_eq!(sp.finish(), vec!["x"]);
    }
}
