//! Which language a caller speaks, and which language the bot should answer in.

use serde::{Deserialize, Serialize};

use crate::normalize::{Token, tokenize};

/// The three ways callers speak to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Hindi in Devanagari script; replies are Devanagari.
    Hi,
    /// English.
    En,
    /// Hindi (often mixed with English) written in Latin script; replies are romanized Hindi.
    Hinglish,
}

impl Lang {
    /// The short code used in flow templates and the API (`hi`, `en`, `hinglish`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Hi => "hi",
            Lang::En => "en",
            Lang::Hinglish => "hinglish",
        }
    }

    /// Parses the code written by [`Lang::code`]; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "hi" | "hindi" => Some(Lang::Hi),
            "en" | "english" => Some(Lang::En),
            "hinglish" | "hi-latn" => Some(Lang::Hinglish),
            _ => None,
        }
    }
}

/// Romanized Hindi words that mark an utterance as Hinglish (function words and everyday
/// vocabulary that are not also English words).
#[rustfmt::skip]
const HINDI_MARKERS: &[&str] = &[
    "bolo", "suno", "dekho", "aana", "aayenge", "aaenge", "jana", "chalo", "haanji", "hoga", "bataiye",
    "hai", "hain", "ho", "hoon", "hun", "hu", "kya", "kyaa", "ka", "ki", "ke", "ko", "se", "mein",
    "main", "mai", "mujhe", "muje", "mera", "meri", "mere", "hum", "humein", "hume", "hamara",
    "hamare", "aap", "aapka", "aapke", "apna", "apne", "nahi", "nahin", "nhi", "kal", "aaj",
    "parso", "parson", "baje", "bje", "log", "logon", "logo", "liye", "chahiye", "chaiye", "karo",
    "kijiye", "kariye", "karna", "karni", "karne", "karenge", "dijiye", "dena", "dedo", "do",
    "bataiye", "batao", "batayiye", "kitne", "kitna", "kitni", "kab", "kaise", "kaun", "kahan",
    "kidhar", "yeh", "ye", "woh", "wo", "aur", "bhi", "toh", "tha", "thi", "raha", "rahi", "rahe",
    "wala", "wale", "wali", "abhi", "phir", "fir", "dobara", "matlab", "accha", "acha", "achha",
    "theek", "thik", "bilkul", "zaroor", "jarur", "shukriya", "dhanyavaad", "dhanyawad", "namaste",
    "bas", "rehne", "chhodo", "chodo", "sirf", "naam", "shaam", "raat", "subah", "dopahar",
    "saadhe", "sade", "sawa", "paune", "dedh", "dhai", "tarikh", "agle", "agla", "hafte", "lijiye",
    "likh", "boliye", "bolo", "baat", "karao", "karwa", "krna", "krdo", "kardo", "kar", "hoga",
    "hogi", "milega", "milegi", "sakte", "sakta", "sakti", "wale", "bachche", "bacche", "akela",
    "chaar", "paanch", "teen", "aath", "saat", "nau", "das", "ek", "mat", "ruko", "suniye",
    "bhaiya", "bhai", "madam", "sahab", "insaan", "kisi", "samjha", "samajh", "gaya", "gayi",
    "somvar", "mangalvar", "budhvar", "guruvar", "shukravar", "shanivar", "ravivar", "shaniwar",
    "shukrawar", "itwar", "haan", "ji", "nahi", "na", "tarah", "kuch", "koi", "jaldi", "der",
    // Everyday verbs and words of short requests ("menu sunao", "bill kitna", "kya banta hai").
    "sunao", "sunaiye", "sunaao", "dikhao", "dikhaiye", "bhejo", "bhejiye", "batana", "bataye",
    "milta", "milti", "milte", "banta", "banti", "bante", "hota", "hoti", "hote", "lagta",
    "lagti", "lagega", "yahan", "yaha", "wahan", "khana", "khaana", "daaru", "jagah", "kaunsa",
    "konsa", "kaun", "kripya", "zyada", "jyada", "kam", "thoda", "thodi", "wapas", "pakka",
];

/// English words with the endings of romanized Hindi verbs ("-ao", "-enge", "-ega").
#[rustfmt::skip]
const ENGLISH_LOOKALIKES: &[&str] = &[
    "ciao", "tao", "cacao", "mao", "bao", "chao", "luau", "mega", "omega", "vega", "bodega",
    "strega", "challenge", "challenges", "revenge", "avenge", "scavenge", "doge", "yoga",
];

/// Endings of romanized Hindi verb forms: imperatives (sunao, bataiye, kijiye), futures
/// (milega, aayenge, karoge, jaunga) and causatives (karwao, dilwana).
const HINDI_VERB_ENDINGS: &[&str] = &[
    "aiye", "ijiye", "iyega", "ao", "aao", "ega", "egi", "enge", "oge", "ogi", "unga", "ungi",
    "oonga", "oongi", "wao", "wana", "wani", "wane", "wayenge",
];

/// True for a Latin word shaped like a romanized Hindi verb form ("sunao", "dikhaiye",
/// "milegi", "chalenge"), with English words of the same endings excluded.
fn looks_romanized_hindi(word: &str) -> bool {
    word.len() >= 4
        && word.bytes().all(|b| b.is_ascii_lowercase())
        && !ENGLISH_LOOKALIKES.contains(&word)
        && HINDI_VERB_ENDINGS.iter().any(|e| word.ends_with(e))
}

/// English function words and booking vocabulary.
#[rustfmt::skip]
const ENGLISH_MARKERS: &[&str] = &[
    "noon", "midnight", "tonight", "yesterday", "weekend", "order", "instead", "people", "us",
    "the", "a", "an", "is", "are", "am", "was", "i", "im", "you", "we", "my", "your", "our", "for",
    "to", "of", "at", "in", "on", "please", "want", "would", "like", "book", "booking", "table",
    "can", "could", "have", "has", "what", "when", "where", "how", "tomorrow", "today", "tonight",
    "people", "name", "time", "and", "with", "this", "that", "it", "be", "me", "evening",
    "morning", "night", "afternoon", "reservation", "reserve", "cancel", "change", "menu", "open",
    "close", "there", "do", "does", "will", "just", "make", "it", "its", "thats", "sorry",
    "repeat", "again", "talk", "speak", "human", "manager", "thank", "thanks", "bye", "yes", "no",
    "okay", "ok", "sure", "yeah", "next", "friday", "saturday", "sunday", "monday", "tuesday",
    "wednesday", "thursday", "need", "get", "some", "any", "much", "many", "how", "should",
    "about", "from", "but", "actually", "mean", "pm", "am", "oclock", "past", "quarter", "half",
];

/// Words that say nothing about the language (answers any caller gives): they never switch the
/// reply language.
#[rustfmt::skip]
const NEUTRAL: &[&str] = &[
    "ok", "okay", "okk", "haan", "han", "ha", "haa", "ji", "jee", "yes", "no", "yeah", "hello",
    "hi", "hmm", "hm", "thanks", "sorry", "sure", "accha", "acha", "achha", "हां", "जी", "हा",
    "ठीक", "हेलो", "ओके", "bye", "hallo", "haanji", "हांजी",
];

/// Everyday Devanagari words: never a bare name, never a dish (`चाहिए` ≈ "chai").
#[rustfmt::skip]
const DEVANAGARI_COMMON: &[&str] = &[
    "रहने", "दीजिए", "दो", "बस", "धन्यवाद", "शुक्रिया", "नमस्ते", "हेलो", "ठीक", "बुक", "टेबल",
    "कीजिए", "करो", "कर", "करना", "करनी", "चाहिए", "क्या", "कब", "कहां", "कितने", "कितना", "आप",
    "आपका", "आपके", "हम", "हमें", "मुझे", "बोलिए", "बोलो", "फिर", "बात", "कराइए", "करवाइए", "हां",
    "नहीं", "अच्छा", "सुनिए", "भैया", "भाई", "सर", "मैडम", "लोग", "आज", "कल", "मेनू", "खाना",
    "रात", "शाम", "सुबह", "दोपहर", "और", "या", "भी", "तो", "यह", "वह", "अभी", "बाद", "पहले", "के",
    "की", "का", "को", "से", "में", "लिए", "है", "हैं", "मेरा", "मेरी", "लोगों", "पास",
    "बिल्कुल", "जरूर", "सही", "गलत", "मत", "छोडो", "छोडिए", "बजे", "तारीख",
];

/// What one utterance tells about its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanguageEvidence {
    /// The language the utterance is in (see [`detect_language`]).
    pub lang: Lang,
    /// How many non-neutral words support `lang`; 0 means the utterance is neutral ("ok",
    /// "haan", "4", a bare name) and must not switch the call's language.
    pub strength: usize,
}

/// The language of one utterance: Devanagari words in the majority → [`Lang::Hi`]; Latin script
/// containing romanized-Hindi words — marker words, or words shaped like a Hindi verb form
/// ("sunao", "milegi") — or a minority of Devanagari words → [`Lang::Hinglish`], however short
/// ("menu sunao", "bill kitna"); otherwise [`Lang::En`] (also for empty or purely numeric input).
pub fn detect_language(text: &str) -> Lang {
    language_evidence(text).lang
}

/// [`detect_language`] plus how strongly the utterance supports it (see [`LanguageEvidence`]).
pub fn language_evidence(text: &str) -> LanguageEvidence {
    let toks = tokenize(text);
    evidence_from_tokens(&toks)
}

/// True for words that mark a language (function words, everyday vocabulary): such a word is
/// never taken as a bare name.
pub(crate) fn is_marker_word(word: &str) -> bool {
    HINDI_MARKERS.contains(&word)
        || ENGLISH_MARKERS.contains(&word)
        || NEUTRAL.contains(&word)
        || DEVANAGARI_COMMON.contains(&word)
}

pub(crate) fn evidence_from_tokens(toks: &[Token]) -> LanguageEvidence {
    let mut deva = 0usize;
    let mut deva_strong = 0usize;
    let mut latin = 0usize;
    let mut hindi = 0usize;
    let mut hindi_strong = 0usize;
    let mut english_strong = 0usize;
    for t in toks {
        let neutral = NEUTRAL.contains(&t.text.as_str());
        if t.is_devanagari() {
            deva += 1;
            if !neutral {
                deva_strong += 1;
            }
        } else if t.text.chars().any(|c| c.is_alphabetic()) {
            latin += 1;
            let w = t.text.as_str();
            if HINDI_MARKERS.contains(&w)
                || !ENGLISH_MARKERS.contains(&w) && !neutral && looks_romanized_hindi(w)
            {
                hindi += 1;
                if !neutral && w != "do" {
                    hindi_strong += 1;
                }
            }
            if ENGLISH_MARKERS.contains(&w) && !neutral {
                english_strong += 1;
            }
        }
    }
    if deva > 0 && deva >= latin {
        return LanguageEvidence {
            lang: Lang::Hi,
            strength: deva_strong,
        };
    }
    // "do" is both a Hindi number and an English verb: it is Hindi only with other Hindi words.
    if hindi_strong > 0 || deva > 0 || (hindi > 0 && english_strong == 0) {
        return LanguageEvidence {
            lang: Lang::Hinglish,
            strength: hindi_strong + deva_strong,
        };
    }
    LanguageEvidence {
        lang: Lang::En,
        strength: english_strong,
    }
}

/// Tracks the language of a call and chooses the reply language.
///
/// The rule (documented in `docs/LANGUAGE.md`):
/// 1. Neutral utterances (strength 0: "ok", "haan", "4", a bare name) never change anything.
/// 2. The first non-neutral utterance of the call sets the language immediately.
/// 3. After that, an utterance in another language switches only when it is long and
///    unambiguous (at least [`LanguagePolicy::STRONG_SWITCH`] supporting words) or when two
///    consecutive non-neutral utterances are in that same other language. One stray utterance
///    ("sorry, what?") in another language does not flip the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguagePolicy {
    current: Lang,
    settled: bool,
    pending: Option<Lang>,
}

impl LanguagePolicy {
    /// Supporting words needed for a single utterance to switch the call's language.
    pub const STRONG_SWITCH: usize = 4;

    /// A policy that replies in `default` (the business's first language) until the caller says
    /// something that is not neutral.
    pub fn new(default: Lang) -> Self {
        LanguagePolicy {
            current: default,
            settled: false,
            pending: None,
        }
    }

    /// The language replies should be in now.
    pub fn current(&self) -> Lang {
        self.current
    }

    /// Feeds one caller utterance and returns the language to reply in.
    pub fn observe(&mut self, text: &str) -> Lang {
        self.observe_evidence(language_evidence(text))
    }

    /// Same as [`LanguagePolicy::observe`] for evidence computed elsewhere.
    pub fn observe_evidence(&mut self, ev: LanguageEvidence) -> Lang {
        if ev.strength == 0 {
            return self.current;
        }
        if ev.lang == self.current {
            self.pending = None;
        } else if !self.settled
            || ev.strength >= Self::STRONG_SWITCH
            || self.pending == Some(ev.lang)
        {
            self.current = ev.lang;
            self.pending = None;
        } else {
            self.pending = Some(ev.lang);
        }
        self.settled = true;
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_scripts_and_mixing() {
        assert_eq!(detect_language("मुझे कल टेबल चाहिए"), Lang::Hi);
        assert_eq!(detect_language("mujhe kal table chahiye"), Lang::Hinglish);
        assert_eq!(detect_language("I need a table tomorrow"), Lang::En);
        assert_eq!(detect_language("do you have momos"), Lang::En);
        assert_eq!(detect_language("do log"), Lang::Hinglish);
    }

    #[test]
    fn policy_sticks_until_clear_switch() {
        let mut p = LanguagePolicy::new(Lang::Hi);
        assert_eq!(p.observe("ok"), Lang::Hi);
        assert_eq!(p.observe("I want to book a table"), Lang::En);
        assert_eq!(p.observe("haan"), Lang::En);
        assert_eq!(p.observe("kal aana hai"), Lang::En);
        assert_eq!(p.observe("8 baje"), Lang::Hinglish);
        assert_eq!(p.observe("sorry, what?"), Lang::Hinglish);
        assert_eq!(
            p.observe("could you please tell me what time you open on Sunday"),
            Lang::En
        );
    }
}
