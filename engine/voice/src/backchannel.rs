//! Telling a backchannel ("haan", "hmm", "ok") from a real interruption.
//!
//! Callers murmur while the bot talks to show they are listening. Cutting the bot off for that
//! would make every reply stutter, so barge-in needs speech that is *more* than a backchannel.

/// Words that, alone or repeated, only signal "I'm listening" (Hindi, Hinglish, English).
const BACKCHANNELS: &[&str] = &[
    "haan",
    "han",
    "haa",
    "ha",
    "haanji",
    "hanji",
    "ji",
    "jee",
    "hmm",
    "hm",
    "hmmm",
    "mm",
    "mhm",
    "uh-huh",
    "uh",
    "huh",
    "accha",
    "achha",
    "acha",
    "achchha",
    "theek",
    "thik",
    "hai",
    "ok",
    "okay",
    "okk",
    "right",
    "yeah",
    "yes",
    "sure",
    "हाँ",
    "हां",
    "जी",
    "अच्छा",
    "ठीक",
    "है",
    "हम्म",
    "ओके",
];

/// Most words a backchannel may have ("haan ji", "accha theek hai").
const MAX_WORDS: usize = 3;

/// Whether `text` is only a backchannel (empty text counts: nothing was said yet).
pub fn is_backchannel(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| c.is_ascii_punctuation() || c == '।')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    words.len() <= MAX_WORDS && words.iter().all(|w| BACKCHANNELS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmurs_are_backchannels() {
        for t in [
            "haan",
            "Hmm.",
            "accha",
            "ji",
            "OK",
            "right",
            "haan ji",
            "accha theek hai",
            "हाँ जी",
            "",
        ] {
            assert!(is_backchannel(t), "{t:?}");
        }
    }

    #[test]
    fn real_speech_is_not() {
        for t in [
            "nahi nahi, 8 baje",
            "wait",
            "haan but 5 log",
            "kal raat 8 baje 4 log ke liye table chahiye",
            "ok ok ok ok",
            "नहीं",
        ] {
            assert!(!is_backchannel(t), "{t:?}");
        }
    }
}
