//! Kinds of request recognised by their shape, not by a flow's example phrases: everyday
//! phrasings that no list of examples covers, each with a rule the dialog engine can route by.
//!
//! * [`announces_visit`] — "kal aayenge", "hum shanivaar ko aayenge", "we'll come on Friday",
//!   "हम कल आएँगे": an arrival verb together with a day or a time, without a how/where question
//!   word and without a negation. Such a sentence books (or answers the booking's question); it
//!   is not the location question "kaise aana hai" / "how do I get there".
//! * [`asks_to_book`] — "seat mil jayegi?", "jagah hai kya kal?", "kal ke liye bukking",
//!   "could I reserve for this evening", "tabel chahiye": a booking word (booking, reservation,
//!   reserve and their misspellings; table; seat, space, jagah) without a cancel or change word
//!   and without "my booking" (that is about a booking the caller already has).
//! * [`asks_overview`] — "menu sunao", "kya kya milta hai", "what do you serve": the menu as a
//!   whole, with no dish named; answered with the menu's categories and a few dishes each.
//! * [`asks_availability`] — "pizza milega?", "beer hai?", "do you have pasta", "क्या बिरयानी
//!   मिलती है": whether something is served or allowed, with something named besides the
//!   question words. The engine answers it from the business's policies first, else from the
//!   menu ("not on our menu", with something similar that is).

use crate::lexicon;
use crate::normalize::{Token, tokenize};

/// Verbs of the caller's own coming (normalized: no nukta, anusvara for chandrabindu): "we/I
/// will come", "need to come" — not the third person singular ("train kab aayegi").
#[rustfmt::skip]
const ARRIVAL_VERBS: &[&str] = &[
    "aana", "aane", "aayenge", "aaenge", "aayege", "aaynge", "ayenge", "aenge", "aaege", "aaunga",
    "aaungi", "aaoonga", "aaoongi", "aunga", "aungi", "aayen", "pahunchenge", "pahuchenge",
    "pahunchunga", "pahunchungi",
    "आएंगे", "आयेंगे", "आऐंगे", "आएगे", "आऊंगा", "आऊंगी", "आना", "आने", "पहुंचेंगे", "पहुंचूंगा",
    "पहुंचूंगी",
];
/// English verbs of coming; they count with the caller as subject ("we'll come", "I'm coming").
const ENGLISH_ARRIVAL: &[&str] = &[
    "come", "coming", "visit", "visiting", "arrive", "arriving", "drop",
];
/// The caller as subject ("we'll" and "I'll" lose their apostrophe: "well", "ill").
const FIRST_PERSON: &[&str] = &[
    "we", "i", "us", "were", "well", "ill", "im", "ive", "weve", "myself", "family",
];
/// "aa" is a verb of coming only with these after it ("aa rahe hain", "aa jayenge").
#[rustfmt::skip]
const AA_AUX: &[&str] = &[
    "rahe", "raha", "rahi", "jayenge", "jaenge", "jaayenge", "jayega", "jayegi", "jaunga",
    "jaungi", "sakte", "sakta", "sakti", "रहे", "रहा", "रही", "जाएंगे", "जायेंगे", "जाएगा",
    "जाऊंगा", "सकते",
];
/// Words that ask how or where: with them an arrival verb is the location question.
#[rustfmt::skip]
const WAY_WORDS: &[&str] = &[
    "kaise", "kese", "kaisey", "kaisa", "how", "kahan", "kaha", "kahaan", "kahang", "where",
    "kidhar", "rasta", "raasta", "route", "directions", "direction", "address", "location",
    "map", "landmark", "कैसे", "कहां", "कहा", "किधर", "रास्ता", "पता", "लोकेशन", "एड्रेस",
];
/// Negations: "kal nahi aa payenge" is a cancellation, not a visit.
#[rustfmt::skip]
const NEGATIONS: &[&str] = &[
    "not", "cant", "cannot", "wont", "dont", "couldnt", "unable", "mat", "नहीं", "मत", "na",
];
/// Words of a day or a time that are not numbers.
#[rustfmt::skip]
const WHEN_WORDS: &[&str] = &[
    "aaj", "kal", "parso", "narso", "shaam", "raat", "subah", "dopahar", "baje", "tarikh",
    "hafte", "tonight", "tomorrow", "weekend", "noon", "lunch", "dinner", "later",
];
/// Words that change or cancel a booking instead of making one.
#[rustfmt::skip]
const CHANGE_WORDS: &[&str] = &[
    "cancel", "change", "changes", "modify", "shift", "move", "postpone", "prepone", "badalna",
    "badalni", "badal", "badlo", "badaliye", "बदलना", "बदलनी", "बदल", "बदलिए", "status", "confirm",
    "confirmed", "check",
];
/// Words that ask whether something is served, sold or allowed.
#[rustfmt::skip]
const AVAILABILITY_WORDS: &[&str] = &[
    "milega", "milegi", "milenge", "milta", "milti", "milte", "mil", "milyega", "available",
    "serve", "serves", "serving", "sell", "sells", "मिलेगा", "मिलेगी", "मिलेंगे", "मिलता", "मिलती",
    "मिलते", "मिल", "बनता", "बनती", "banta", "banti", "bante", "hota", "hoti", "होता", "होती",
];
/// Question words of the availability question that are not the thing asked about.
#[rustfmt::skip]
const QUESTION_FILLER: &[&str] = &[
    "do", "you", "have", "has", "got", "any", "is", "are", "there", "can", "i", "we", "get",
    "some", "a", "an", "the", "kya", "hai", "hain", "koi", "bhi", "aapke", "aapka", "yahan",
    "pass", "paas", "please", "ji", "sir", "madam", "bhaiya", "what", "about", "क्या", "है",
    "हैं", "कोई", "आपके", "यहां", "पास", "जी", "ke", "ka", "ki", "के", "का", "की", "me", "mein",
    "में", "here", "serve", "serves", "order", "bring", "la", "laa", "sakte", "sakta", "ला",
    "सकते", "tum", "aap", "आप", "to", "toh", "tho", "also", "too", "or", "aur", "और", "guys",
    "anything", "something", "else", "kuch", "कुछ",
];

/// Verbs of telling and showing, and vague words around a question ("menu bhej do", "what kind
/// of food", "what's on today").
#[rustfmt::skip]
const TELL_WORDS: &[&str] = &[
    "sunao", "sunaiye", "suna", "sunana", "bata", "batao", "bataiye", "batana", "bhej", "bhejo",
    "bhejiye", "dikhao", "dikhaiye", "read", "tell", "say", "list", "kind", "kinds", "type",
    "types", "sort", "on", "today", "here", "now", "dijiye", "dijie", "dena", "de", "log", "ho",
    "सुनाइए", "सुनाओ", "सुना", "बता", "बताओ", "बताइए", "भेज", "भेजो", "भेजिए", "दिखाइए", "दीजिए",
    "दो", "अच्छा", "acha", "accha", "achha", "nice",
];

/// Words that ask what there is.
const WHAT: &[&str] = &[
    "kya",
    "what",
    "whats",
    "which",
    "kaun",
    "kaunsa",
    "क्या",
    "कौन",
];
/// Verbs of serving or having, and words of praise ("what's good here").
#[rustfmt::skip]
const OFFER_WORDS: &[&str] = &[
    "serve", "serves", "serving", "have", "offer", "offers", "make", "cook", "banta", "banti",
    "bante", "banate", "बनता", "बनती", "बनते", "बनाते", "hota", "hoti", "hote", "होता", "होती", "होते",
    "good", "best", "special", "famous", "recommend", "tasty", "eat", "khaye", "khayen", "khilaoge",
];
/// Words for the menu or the food as a whole.
#[rustfmt::skip]
const MENU_ALL: &[&str] = &[
    "menu", "menyu", "मेनू", "मेन्यू", "khana", "khaana", "khane", "खाना", "खाने", "food", "dishes",
    "items", "cuisine",
];

/// "menu sunao", "aapke yahan kya banta hai", "खाने में क्या-क्या मिलता है", "what do you
/// serve", "what's good here": a question about the menu as a whole — a menu word, or a "what"
/// with a verb of serving — that names no dish and is not about a booking. The dialog answers
/// it with an overview of the menu's categories.
pub fn asks_overview(text: &str) -> bool {
    let toks = tokenize(text);
    let menu_word = has_text(&toks, MENU_ALL);
    let what_offer = has_text(&toks, WHAT)
        && (has_text(&toks, OFFER_WORDS) || toks.iter().any(|t| t.canon == "milna"));
    (menu_word || what_offer)
        && named_in(&toks).is_empty()
        && !toks.iter().any(|t| {
            matches!(t.canon.as_str(), "booking" | "table" | "jagah" | "cancel")
                || CHANGE_WORDS.contains(&t.text.as_str())
        })
}

/// Words about the menu itself, not a thing on it ("menu", "dish", "price").
#[rustfmt::skip]
const MENU_WORDS: &[&str] = &[
    "menu", "menyu", "मेनू", "मेन्यू", "dish", "dishes", "item", "items", "food", "khana", "khaana",
    "खाना", "price", "prices", "rate", "rates", "cost", "much", "kitna", "kitne", "kitni", "दाम",
    "कितने", "कितना", "plate", "order", "eat", "khane", "खाने", "sunao", "batao", "bataiye",
    "बताइए", "बताओ", "सुनाओ", "spicy", "teekha", "tikha", "veg", "nonveg", "vegetarian", "good",
    "best", "special", "recommend", "famous", "tasty", "nice", "other", "else", "more",
];

fn has_text(toks: &[Token], list: &[&str]) -> bool {
    toks.iter().any(|t| list.contains(&t.text.as_str()))
}

/// True when a word of the utterance names a day or a time.
fn says_when(toks: &[Token]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        let c = t.canon.as_str();
        WHEN_WORDS.contains(&c)
            || WHEN_WORDS.contains(&t.text.as_str())
            || lexicon::weekday(c).is_some()
            || t.text.contains(':') && t.text.bytes().any(|b| b.is_ascii_digit())
            || t.number().is_some()
                && toks.get(i + 1).is_some_and(|n| {
                    matches!(n.text.as_str(), "pm" | "am" | "oclock")
                        || matches!(n.canon.as_str(), "baje" | "tarikh")
                        || lexicon::month_number(&n.canon).is_some()
                })
    })
}

fn arrival_verb(toks: &[Token]) -> bool {
    let english = has_text(toks, ENGLISH_ARRIVAL) && has_text(toks, FIRST_PERSON);
    english
        || toks.iter().enumerate().any(|(i, t)| {
            ARRIVAL_VERBS.contains(&t.text.as_str())
                || matches!(t.text.as_str(), "aa" | "आ")
                    && toks
                        .get(i + 1)
                        .is_some_and(|n| AA_AUX.contains(&n.text.as_str()))
        })
}

/// "kal aayenge", "we'll come on Friday", "हम कल आएँगे": a visit with a day or time (see the
/// module docs). False for "kaise aana hai", "how do I get there on Friday", "kal nahi aa
/// payenge" and "are you open tomorrow".
pub fn announces_visit(text: &str) -> bool {
    let toks = tokenize(text);
    arrival_verb(&toks)
        && says_when(&toks)
        && !has_text(&toks, WAY_WORDS)
        && !has_text(&toks, NEGATIONS)
        && !toks.iter().any(|t| t.canon == "nahi")
}

/// "seat mil jayegi?", "jagah hai kya kal?", "kal ke liye bukking": a request for a booking in
/// other words (see the module docs). False for "cancel my booking", "booking badalni hai",
/// "meri booking kab ki hai" and "table nahi chahiye".
pub fn asks_to_book(text: &str) -> bool {
    let toks = tokenize(text);
    let booking_word = toks.iter().any(|t| {
        matches!(t.canon.as_str(), "booking" | "table" | "jagah")
            || matches!(t.text.as_str(), "book" | "बुक")
    });
    booking_word
        && !toks
            .iter()
            .any(|t| CHANGE_WORDS.contains(&t.text.as_str()) || t.canon == "cancel")
        && !toks
            .iter()
            .any(|t| t.canon == "mera" || matches!(t.text.as_str(), "my" | "mine"))
        && !toks.iter().any(|t| t.canon == "nahi")
        && !has_text(&toks, NEGATIONS)
}

/// "pizza milega?", "beer hai?", "do you have pasta": whether something is served or allowed
/// (see the module docs). Returns the words naming the thing asked about (as said, lowercase),
/// or `None` when the utterance is not such a question or names nothing.
pub fn asks_availability(text: &str) -> Option<Vec<String>> {
    let toks = tokenize(text);
    if toks.is_empty() {
        return None;
    }
    let w = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    let english = (0..toks.len()).any(|i| {
        matches!(
            (w(i), w(i + 1)),
            ("you", "have")
                | ("you", "serve")
                | ("you", "guys")
                | ("you", "got")
                | ("is", "there")
                | ("are", "there")
                | ("i", "get")
                | ("we", "get")
                | ("i", "have")
                | ("we", "have")
                | ("i", "order")
                | ("i", "bring")
                | ("we", "bring")
        ) || i == 0 && matches!(w(0), "any" | "got")
    });
    let hindi = has_text(&toks, AVAILABILITY_WORDS);
    // "beer hai?", "pizza hai kya", "बिरयानी है क्या": short, ends in hai (kya).
    // Every other word is a question word or names the thing ("mera naam Rahul hai" is not).
    let short_hai = toks.len() <= 4
        && toks
            .iter()
            .rev()
            .take(2)
            .any(|t| matches!(t.text.as_str(), "hai" | "hain" | "है" | "हैं"))
        && toks.iter().all(|t| {
            QUESTION_FILLER.contains(&t.text.as_str())
                || t.canon == "alcohol"
                || !crate::language::is_marker_word(&t.text)
                    && lexicon::canonical(&t.text).is_none()
        });
    if !(english || hindi || short_hai) {
        return None;
    }
    let named = named_in(&toks);
    (!named.is_empty()).then_some(named)
}

/// The words of a question that name a thing (a dish, a drink, a service), as said, lowercase:
/// "how much is the pizza" → `["pizza"]`, "beer milegi?" → `["beer"]`, "menu sunao" → `[]`.
/// Question words, function words, numbers and words of time are left out.
pub fn named_things(text: &str) -> Vec<String> {
    named_in(&tokenize(text))
}

fn named_in(toks: &[Token]) -> Vec<String> {
    toks.iter()
        .filter(|t| names_a_thing(t))
        .map(|t| t.text.clone())
        .collect()
}

/// A word that names a thing rather than asking about it: not a question, verb, menu, time or
/// function word, not a number ("pizza", "beer", "parking", "wheelchair"; not "serve", "होता").
pub(crate) fn names_a_thing(t: &Token) -> bool {
    let s = t.text.as_str();
    s.chars().count() >= 3
        && t.number().is_none()
        && !QUESTION_FILLER.contains(&s)
        && !AVAILABILITY_WORDS.contains(&s)
        && t.canon != "milna"
        && !MENU_WORDS.contains(&s)
        && !TELL_WORDS.contains(&s)
        && !WHAT.contains(&s)
        && !OFFER_WORDS.contains(&s)
        && !matches!(
            t.canon.as_str(),
            "aaj" | "kal" | "parso" | "shaam" | "raat" | "subah" | "dopahar" | "hain"
        )
        && (t.canon == "alcohol" || !crate::language::is_marker_word(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_need_a_day_or_time_and_no_way_question() {
        assert!(announces_visit("kal aayenge"));
        assert!(announces_visit("hum shanivaar ko aayenge"));
        assert!(announces_visit("we'll come on Friday"));
        assert!(announces_visit("हम कल आएंगे"));
        assert!(announces_visit("hum 8 baje aa jayenge"));
        assert!(!announces_visit("kaise aana hai"));
        assert!(!announces_visit("how do I get there on Friday"));
        assert!(!announces_visit("kal nahi aa payenge"));
        assert!(!announces_visit("are you open tomorrow"));
        assert!(!announces_visit("hum aayenge"));
    }

    #[test]
    fn booking_in_other_words() {
        assert!(asks_to_book("seat mil jayegi?"));
        assert!(asks_to_book("jagah hai kya kal?"));
        assert!(asks_to_book("kal ke liye bukking"));
        assert!(asks_to_book("could I reserve for this evening"));
        assert!(!asks_to_book("cancel my booking"));
        assert!(!asks_to_book("meri booking kab ki hai"));
        assert!(!asks_to_book("table nahi chahiye"));
    }

    #[test]
    fn availability_names_the_thing() {
        assert_eq!(
            asks_availability("pizza milega?"),
            Some(vec!["pizza".into()])
        );
        assert_eq!(asks_availability("beer hai?"), Some(vec!["beer".into()]));
        assert_eq!(
            asks_availability("do you have pasta"),
            Some(vec!["pasta".into()])
        );
        assert_eq!(asks_availability("kya milega"), None);
        assert_eq!(asks_availability("kal 8 baje 4 log"), None);
    }
}
