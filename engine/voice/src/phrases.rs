//! Fixed lines the call itself speaks (not the business's flows): apologies and goodbyes for
//! situations the dialog engine does not know about (no recogniser, speech failure, shutdown).
//!
//! They are short and in every language the engine speaks, and go through the phrase cache
//! like any other sentence, so they cost nothing after the first call.

use vartalaap_config::Lang;

/// Which fixed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// Speech cannot be understood on this line (no recogniser configured, or it failed).
    CannotUnderstand,
    /// Offer the keypad instead of speech.
    UseKeypad,
    /// Speech synthesis failed; played from the pre-synthesized cache.
    Trouble,
    /// The transfer could not be made; a callback is arranged instead.
    TransferFailed,
    /// The call must end now (maximum duration or server shutdown).
    MustEnd,
}

/// The text of `phrase` in `lang`.
pub fn text(phrase: Phrase, lang: Lang) -> &'static str {
    use Phrase::*;
    match (phrase, lang) {
        (CannotUnderstand, Lang::En) => "Sorry, I cannot understand speech on this line right now.",
        (CannotUnderstand, Lang::Hi) => "माफ़ कीजिए, मैं अभी इस लाइन पर आपकी बात समझ नहीं पा रही हूँ।",
        (CannotUnderstand, Lang::Hinglish) => {
            "Maaf kijiye, main abhi is line par aapki baat samajh nahi pa rahi hoon."
        }
        (UseKeypad, Lang::En) => "Please use your phone's keypad to answer.",
        (UseKeypad, Lang::Hi) => "कृपया जवाब देने के लिए फ़ोन के बटन दबाइए।",
        (UseKeypad, Lang::Hinglish) => "Kripya jawab dene ke liye phone ke button dabaiye.",
        (Trouble, Lang::En) => "Sorry, I am having trouble speaking. Please stay on the line.",
        (Trouble, Lang::Hi) => "माफ़ कीजिए, बोलने में दिक्कत हो रही है। कृपया लाइन पर बने रहिए।",
        (Trouble, Lang::Hinglish) => {
            "Maaf kijiye, bolne mein dikkat ho rahi hai. Kripya line par bane rahiye."
        }
        (TransferFailed, Lang::En) => {
            "Sorry, I could not connect you. The manager will call you back soon."
        }
        (TransferFailed, Lang::Hi) => {
            "माफ़ कीजिए, मैं आपको जोड़ नहीं पाई। मैनेजर जल्द ही आपको वापस कॉल करेंगे।"
        }
        (TransferFailed, Lang::Hinglish) => {
            "Maaf kijiye, main aapko connect nahi kar paayi. Manager jald hi aapko call back karenge."
        }
        (MustEnd, Lang::En) => "Sorry, we have to end this call now. Please call again. Goodbye.",
        (MustEnd, Lang::Hi) => "माफ़ कीजिए, अब यह कॉल समाप्त करनी होगी। कृपया फिर से कॉल करें। नमस्ते।",
        (MustEnd, Lang::Hinglish) => {
            "Maaf kijiye, ab yeh call khatam karni hogi. Kripya phir se call karein. Namaste."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_exists_in_every_language() {
        use Phrase::*;
        for p in [
            CannotUnderstand,
            UseKeypad,
            Trouble,
            TransferFailed,
            MustEnd,
        ] {
            for l in Lang::ALL {
                assert!(!text(p, l).trim().is_empty());
            }
        }
    }
}
