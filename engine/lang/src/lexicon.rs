//! The shared vocabulary: every spelling variant we understand, mapped to one canonical form.
//!
//! Extending the vocabulary means adding a variant to the right row below (Devanagari is written
//! after normalization: no nukta, anusvara instead of chandrabindu). Number words map to their
//! digits so every extractor reads numbers the same way. Words that are numbers in one language
//! and ordinary words in another are listed in `WEAK_NUMBERS`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::normalize::skeleton;

/// Number words 0–100: `(value, [variants…])`. The first roman and Devanagari spellings are also
/// the ones [`crate::speak_number`] uses.
#[rustfmt::skip]
pub(crate) const NUMBER_WORDS: &[(u32, &[&str])] = &[
    (0, &["shunya", "शून्य", "zero", "sifar", "सिफर"]),
    (1, &["ek", "एक", "one", "ik"]),
    (2, &["do", "दो", "two", "doh"]),
    (3, &["teen", "तीन", "three", "tin", "theen"]),
    (4, &["chaar", "चार", "four", "char", "chhar"]),
    (5, &["paanch", "पांच", "five", "panch", "paach", "paanc", "panc", "पाच"]),
    (6, &["chhah", "छह", "six", "chhe", "chah", "che", "chhai", "chhey", "cheh", "chhah", "छः", "छै", "छे", "chh"]),
    (7, &["saat", "सात", "seven", "sat"]),
    (8, &["aath", "आठ", "eight", "aat", "ath"]),
    (9, &["nau", "नौ", "nine", "nao"]),
    (10, &["das", "दस", "ten", "dus", "dass"]),
    (11, &["gyaarah", "ग्यारह", "eleven", "gyarah", "gyara", "gyaara", "igyarah", "gyarha"]),
    (12, &["baarah", "बारह", "twelve", "barah", "bara", "baara", "barha"]),
    (13, &["terah", "तेरह", "thirteen", "tera", "teraa"]),
    (14, &["chaudah", "चौदह", "fourteen", "chauda", "chodah", "choda", "chaudha"]),
    (15, &["pandrah", "पंद्रह", "fifteen", "pandra", "पन्द्रह", "pundrah"]),
    (16, &["solah", "सोलह", "sixteen", "sola", "solha"]),
    (17, &["satrah", "सत्रह", "seventeen", "satra", "sattrah"]),
    (18, &["athaarah", "अठारह", "eighteen", "atharah", "athara", "attharah", "athaara"]),
    (19, &["unnees", "उन्नीस", "nineteen", "unnis", "unees", "unis", "unnis"]),
    (20, &["bees", "बीस", "twenty", "bis"]),
    (21, &["ikkees", "इक्कीस", "ikkis"]),
    (22, &["baaees", "बाईस", "bais", "baais"]),
    (23, &["teis", "तेईस", "teees"]),
    (24, &["chaubees", "चौबीस", "chaubis", "chobis"]),
    (25, &["pachchees", "पच्चीस", "pachis", "pachchis", "pacchis"]),
    (26, &["chhabbees", "छब्बीस", "chhabbis", "chabbis"]),
    (27, &["sattaees", "सत्ताईस", "sattais"]),
    (28, &["atthaees", "अट्ठाईस", "athais", "atthais"]),
    (29, &["untees", "उनतीस", "untis"]),
    (30, &["tees", "तीस", "thirty", "tis"]),
    (31, &["iktees", "इकतीस", "iktis"]),
    (32, &["battees", "बत्तीस", "battis"]),
    (33, &["taintees", "तैंतीस", "taintis"]),
    (34, &["chauntees", "चौंतीस", "chauntis"]),
    (35, &["paintees", "पैंतीस", "paintis"]),
    (36, &["chhattees", "छत्तीस", "chhattis"]),
    (37, &["saintees", "सैंतीस", "saintis"]),
    (38, &["adtees", "अड़तीस", "adtis", "अडतीस"]),
    (39, &["untaalees", "उनतालीस", "untalis"]),
    (40, &["chaalees", "चालीस", "forty", "chalis"]),
    (41, &["iktaalees", "इकतालीस", "iktalis"]),
    (42, &["bayaalees", "बयालीस", "bayalis"]),
    (43, &["taintaalees", "तैंतालीस", "taintalis"]),
    (44, &["chauvaalees", "चौवालीस", "chauvalis"]),
    (45, &["paintaalees", "पैंतालीस", "paintalis"]),
    (46, &["chhiyaalees", "छियालीस", "chhiyalis"]),
    (47, &["saintaalees", "सैंतालीस", "saintalis"]),
    (48, &["adtaalees", "अड़तालीस", "adtalis", "अडतालीस"]),
    (49, &["unchaas", "उनचास", "unchas"]),
    (50, &["pachaas", "पचास", "fifty", "pachas"]),
    (51, &["ikyaavan", "इक्यावन", "ikyavan"]),
    (52, &["baavan", "बावन", "bavan"]),
    (53, &["tirpan", "तिरपन"]),
    (54, &["chauvan", "चौवन"]),
    (55, &["pachpan", "पचपन"]),
    (56, &["chhappan", "छप्पन", "chappan"]),
    (57, &["sattaavan", "सत्तावन", "sattavan"]),
    (58, &["atthaavan", "अट्ठावन", "athavan"]),
    (59, &["unsath", "उनसठ"]),
    (60, &["saath", "साठ", "sixty"]),
    (61, &["iksath", "इकसठ"]),
    (62, &["baasath", "बासठ", "basath"]),
    (63, &["tirsath", "तिरसठ"]),
    (64, &["chaunsath", "चौंसठ", "chausath"]),
    (65, &["painsath", "पैंसठ"]),
    (66, &["chhiyaasath", "छियासठ", "chhiyasath"]),
    (67, &["sadsath", "सड़सठ", "सडसठ"]),
    (68, &["adsath", "अड़सठ", "अडसठ"]),
    (69, &["unhattar", "उनहत्तर"]),
    (70, &["sattar", "सत्तर", "seventy"]),
    (71, &["ikhattar", "इकहत्तर"]),
    (72, &["bahattar", "बहत्तर"]),
    (73, &["tihattar", "तिहत्तर"]),
    (74, &["chauhattar", "चौहत्तर"]),
    (75, &["pachhattar", "पचहत्तर", "pachattar"]),
    (76, &["chhihattar", "छिहत्तर"]),
    (77, &["sathattar", "सतहत्तर"]),
    (78, &["athhattar", "अठहत्तर"]),
    (79, &["unaasi", "उन्यासी", "unasi"]),
    (80, &["assi", "अस्सी", "eighty"]),
    (81, &["ikyaasi", "इक्यासी"]),
    (82, &["bayaasi", "बयासी"]),
    (83, &["tiraasi", "तिरासी"]),
    (84, &["chauraasi", "चौरासी", "chaurasi"]),
    (85, &["pachaasi", "पचासी", "pachasi"]),
    (86, &["chhiyaasi", "छियासी"]),
    (87, &["sattaasi", "सत्तासी"]),
    (88, &["atthaasi", "अट्ठासी"]),
    (89, &["navaasi", "नवासी"]),
    (90, &["nabbe", "नब्बे", "ninety"]),
    (91, &["ikyaanave", "इक्यानबे"]),
    (92, &["baanave", "बानबे"]),
    (93, &["tiraanave", "तिरानबे"]),
    (94, &["chauraanave", "चौरानबे"]),
    (95, &["pachaanave", "पचानबे"]),
    (96, &["chhiyaanave", "छियानबे"]),
    (97, &["sattaanave", "सत्तानबे"]),
    (98, &["atthaanave", "अट्ठानबे"]),
    (99, &["ninyaanave", "निन्यानबे"]),
    (100, &["sau", "सौ", "hundred"]),
];

/// Ordinals map to their number (dates: "December first", "25th" is handled by the tokenizer).
#[rustfmt::skip]
const ORDINALS: &[(u32, &[&str])] = &[
    (1, &["first", "pehli", "pahli", "पहली"]),
    (2, &["second", "doosri", "dusri", "दूसरी"]),
    (3, &["third", "teesri", "tisri", "तीसरी"]),
    (4, &["fourth"]),
    (5, &["fifth"]),
    (6, &["sixth"]),
    (7, &["seventh"]),
    (8, &["eighth"]),
    (9, &["ninth"]),
    (10, &["tenth"]),
    (11, &["eleventh"]),
    (12, &["twelfth"]),
    (13, &["thirteenth"]),
    (14, &["fourteenth"]),
    (15, &["fifteenth"]),
    (16, &["sixteenth"]),
    (17, &["seventeenth"]),
    (18, &["eighteenth"]),
    (19, &["nineteenth"]),
    (20, &["twentieth"]),
    (30, &["thirtieth"]),
];

/// Number words that are also common ordinary words; trusted only next to a unit word.
#[rustfmt::skip]
pub(crate) const WEAK_NUMBERS: &[&str] = &[
    "do", "one", "saath", "sat", "second", "ik", "che", "ath", "chh", "tin", "bis", "tis", "bara",
    "sola", "tera", "nao", "sun",
];

/// Canonical headword → variants (roman spellings, Devanagari, English equivalents where the
/// extractors treat them alike).
#[rustfmt::skip]
const WORDS: &[(&str, &[&str])] = &[
    ("baje", &["baje", "baj", "bje", "bajey", "baja", "bajay", "बजे", "बज", "oclock", "bajke", "bajkar", "बजकर"]),
    ("saadhe", &["saadhe", "sade", "sadhe", "saade", "saadhe", "sarhe", "saadey", "sadhey", "साढे", "साडे"]),
    ("sawa", &["sawa", "sava", "sawaa", "savaa", "सवा"]),
    ("paune", &["paune", "pone", "poune", "pauney", "paun", "पौने"]),
    ("dedh", &["dedh", "derh", "deddh", "dhedh", "डेढ", "डेड"]),
    ("dhai", &["dhai", "dhaai", "adhai", "arhai", "dhaee", "ढाई", "अढाई"]),
    ("subah", &["subah", "subha", "subeh", "suba", "subhe", "सुबह", "सवेरे", "savere", "morning"]),
    ("dopahar", &["dopahar", "dophar", "dupahar", "dopehar", "dupehar", "dopaher", "दोपहर", "afternoon"]),
    ("shaam", &["shaam", "sham", "shyam", "शाम", "evening"]),
    ("raat", &["raat", "rat", "raath", "रात", "night", "nite"]),
    ("tonight", &["tonight", "tonite", "tonyt", "tonght", "tonigh"]),
    ("minute", &["minute", "minutes", "min", "mins", "minat", "मिनट"]),
    ("aaj", &["aaj", "aj", "aajh", "आज", "today"]),
    ("kal", &["kal", "kl", "kall", "कल"]),
    ("parso", &["parso", "parson", "parsoon", "parsu", "परसों", "परसो"]),
    ("narso", &["narso", "narson", "नरसों"]),
    ("tarikh", &["tarikh", "tareekh", "tarik", "tareek", "tarikh", "तारीख", "तारिख", "date"]),
    ("agle", &["agle", "agla", "agli", "aglay", "अगले", "अगला", "अगली", "next"]),
    ("pichhle", &["pichhle", "pichle", "pichla", "pichhla", "पिछले", "पिछला", "last", "previous"]),
    ("is", &["is", "iss", "इस", "this", "coming", "aane", "aanewale", "आने", "upcoming"]),
    ("hafte", &["hafte", "hafta", "haftey", "हफ्ते", "हफ्ता", "week", "saptah", "सप्ताह", "weeks", "hafton", "haften", "हफ्तों", "hapte", "hapta", "हप्ते", "हप्ता", "saptaah"]),
    ("mahine", &["mahine", "mahina", "mahiney", "mahinay", "maheene", "maheena", "mahino", "mahinon", "महीने", "महीना", "महीनों", "month", "months"]),
    ("weekend", &["weekend", "weekends", "wknd", "वीकेंड", "वीकएंड", "वीकेन्ड", "सप्ताहांत", "saptahant"]),
    ("somvaar", &["somvaar", "somvar", "somwar", "somwaar", "som", "सोमवार", "monday", "mon"]),
    ("mangalvaar", &["mangalvaar", "mangalvar", "mangalwar", "mangal", "मंगलवार", "मंगल", "tuesday", "tue", "tues"]),
    ("budhvaar", &["budhvaar", "budhvar", "budhwar", "budhwaar", "budh", "buddhvar", "बुधवार", "बुध", "wednesday", "wed"]),
    ("guruvaar", &["guruvaar", "guruvar", "guruwar", "guruwaar", "brihaspativar", "brihaspatvar", "brahaspativar", "veervar", "veervaar", "virvar", "गुरुवार", "गुरूवार", "बृहस्पतिवार", "वीरवार", "thursday", "thu", "thurs"]),
    ("shukravaar", &["shukravaar", "shukravar", "shukrawar", "sukravar", "shukarvar", "shukra", "jummah", "शुक्रवार", "शुक्र", "friday", "fri"]),
    ("shanivaar", &["shanivaar", "shanivar", "shaniwar", "sanivar", "shani", "शनिवार", "शनि", "saturday"]),
    ("ravivaar", &["ravivaar", "ravivar", "raviwar", "itvaar", "itwaar", "aitvaar", "itwar", "itvar", "etvar", "aitvar", "aitwar", "रविवार", "इतवार", "sunday"]),
    ("january", &["january", "jan", "janvari", "janwari", "जनवरी"]),
    ("february", &["february", "feb", "farvari", "farwari", "फरवरी"]),
    ("march", &["march", "mar", "maarch", "मार्च"]),
    ("april", &["april", "apr", "aprail", "अप्रैल", "अप्रेल"]),
    ("may", &["may", "मई"]),
    ("june", &["june", "jun", "joon", "जून"]),
    ("july", &["july", "jul", "julai", "जुलाई"]),
    ("august", &["august", "aug", "agast", "अगस्त"]),
    ("september", &["september", "sep", "sept", "sitambar", "सितंबर", "सितम्बर"]),
    ("october", &["october", "oct", "aktubar", "aktoobar", "अक्टूबर", "अक्तूबर"]),
    ("november", &["november", "nov", "navambar", "नवंबर", "नवम्बर"]),
    ("december", &["december", "dec", "disambar", "दिसंबर", "दिसम्बर"]),
    ("log", &["log", "logo", "logon", "logg", "logs", "लोग", "लोगों", "लोगो", "people", "persons", "person", "pax", "guests", "guest", "members", "member", "जन", "jane", "जने", "jano", "janon", "जनों", "jana", "vyakti", "व्यक्ति", "aadmi", "आदमी", "admi", "sadasya", "heads", "peoples"]),
    ("adult", &["adult", "adults", "bade", "bado", "bada", "बड़े", "बडे", "बड़ों", "बडों", "grownups"]),
    ("bachche", &["bachche", "bacche", "bachhe", "bache", "bachcha", "bachhon", "bachchon", "bacchon", "बच्चे", "बच्चों", "बच्चा", "kids", "kid", "children", "child", "baby", "babies"]),
    ("hum", &["hum", "ham", "हम", "we"]),
    ("main", &["main", "mai", "mein", "मैं", "मै"]),
    ("akela", &["akela", "akeli", "akele", "अकेला", "अकेली", "अकेले", "alone"]),
    ("sirf", &["sirf", "sirph", "keval", "kewal", "सिर्फ", "केवल", "only", "just"]),
    ("liye", &["liye", "liya", "lie", "liyee", "लिए", "लिये"]),
    ("ke", &["ke", "ki", "ka", "के", "की", "का"]),
    ("hain", &["hain", "hai", "he", "hei", "hein", "hun", "hu", "hoon", "हैं", "है", "हूं", "हूँ", "हु"]),
    ("haan", &["haan", "han", "haa", "ha", "haanji", "hanji", "haanjee", "हां", "हा", "हांजी"]),
    ("ji", &["ji", "jee", "जी"]),
    ("nahi", &["nahi", "nahin", "nahii", "nai", "nahee", "nhi", "nahi", "नहीं", "नही", "नहि"]),
    ("mat", &["mat", "मत"]),
    ("theek", &["theek", "thik", "theekh", "thick", "tik", "ठीक"]),
    ("bilkul", &["bilkul", "bilkull", "बिल्कुल", "बिलकुल"]),
    ("zaroor", &["zaroor", "jaroor", "zarur", "jarur", "zaroor", "ज़रूर", "जरूर"]),
    ("cancel", &["cancel", "cancell", "cancle", "kensel", "kainsal", "कैंसल", "कैन्सल", "कैंसिल", "रद्द", "radd"]),
    ("open", &["open", "opening", "khula", "khulta", "khulte", "khulega", "खुला", "खुलता", "खुलते", "खुलेगा"]),
    ("close", &["close", "closed", "closing", "band", "बंद", "बन्द"]),
    ("booking", &["booking", "bookings", "reservation", "reservations", "बुकिंग", "रिजर्वेशन", "रिजर्वेसन", "rizervation",
                  // Spellings callers type or a recogniser writes ("kal ke liye bukking").
                  "bukking", "buking", "bookin", "boking", "bokking", "bookng", "boooking", "bukkin", "bukin",
                  "resrvation", "reservtion", "reservaton", "reservasion", "reservesion", "rezervation", "reservetion",
                  "rservation", "reservatoin", "बूकिंग", "बुकिन", "रिज़र्वेशन", "रेजर्वेशन", "रिजर्व",
                  "reserve", "reserved", "reserving", "reserv", "rizerv", "rizerve"]),
    // "Is it available": one word to the matchers, so a bare "milti" cannot pick a policy
    // ("biryani milti hai" is not the alcohol FAQ "kya sharab milti hai").
    ("milna", &["milna", "milta", "milti", "milte", "milega", "milegi", "milenge", "milyega", "mil", "milegaa",
                "मिलना", "मिलता", "मिलती", "मिलते", "मिलेगा", "मिलेगी", "मिलेंगे", "मिल"]),
    // What callers book: a table, a seat, some room ("seat mil jayegi?", "jagah hai kya kal?").
    ("table", &["table", "tables", "tabel", "tebal", "tebul", "teble", "tabl", "tablee", "taebal", "टेबल", "टेबिल", "टेबुल", "मेज"]),
    ("jagah", &["jagah", "jaga", "jageh", "jgah", "जगह", "space", "seat", "seats", "सीट", "सीटें"]),
    // Drinks a restaurant's alcohol policy is about ("daaru milti hai?", "can I bring wine").
    ("alcohol", &["alcohol", "alcohal", "alkohal", "alchohol", "daaru", "daru", "darru", "sharab", "sharaab", "sarab",
                  "शराब", "दारू", "दारु", "अल्कोहल", "beer", "beers", "biyar", "बियर", "wine", "wines", "वाइन",
                  "whisky", "whiskey", "vodka", "rum", "liquor", "liqour", "booze", "cocktail", "cocktails"]),
    ("naam", &["naam", "nam", "naamm", "नाम"]),
    ("mera", &["mera", "meraa", "mra", "मेरा", "meri", "मेरी", "mere", "मेरे"]),
];

fn table() -> &'static HashMap<&'static str, String> {
    static TABLE: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for (head, variants) in WORDS {
            for v in *variants {
                m.entry(*v).or_insert_with(|| (*head).to_string());
            }
        }
        for (n, variants) in NUMBER_WORDS.iter().chain(ORDINALS) {
            for v in *variants {
                // Words shared with the WORDS table ("sat" = Saturday abbreviation and a
                // spelling of seven) keep the WORDS meaning; number extractors check the
                // variant list directly for those.
                m.entry(*v).or_insert_with(|| n.to_string());
            }
        }
        m
    })
}

/// Skeletons of long canonical words (weekdays, months) for forgiving matches of spellings the
/// table does not list ("shanivaaar", "brahaspatiwar").
fn fuzzy_table() -> &'static Vec<(String, &'static str)> {
    static FUZZY: OnceLock<Vec<(String, &'static str)>> = OnceLock::new();
    FUZZY.get_or_init(|| {
        let mut v = Vec::new();
        for (head, variants) in WORDS {
            if head.ends_with("vaar") || is_month(head) {
                for var in *variants {
                    if var.len() >= 6 && var.is_ascii() {
                        v.push((skeleton(var), *head));
                    }
                }
            }
        }
        v
    })
}

fn is_month(head: &str) -> bool {
    month_number(head).is_some()
}

/// The canonical form of one normalized word, if the lexicon knows it: `"kl"` → `"kal"`,
/// `"साढे"` → `"saadhe"`, `"chaar"` → `"4"`. Pass words as [`crate::normalize()`] produces them
/// (lowercase, no nukta). Useful to check a new spelling before adding it to the tables.
pub fn canonical(text: &str) -> Option<&'static str> {
    if let Some(c) = table().get(text) {
        return Some(c.as_str());
    }
    if text.len() >= 7 && text.is_ascii() {
        let sk = skeleton(text);
        for (s, head) in fuzzy_table() {
            if *s == sk {
                return Some(head);
            }
        }
    }
    None
}

/// True when `word` (normalized) is an ambiguous number word.
pub(crate) fn is_weak_number(word: &str) -> bool {
    WEAK_NUMBERS.contains(&word)
}

/// Number value of a raw word even when the WORDS table gave it another meaning ("sat").
pub(crate) fn number_value_of_word(word: &str) -> Option<u32> {
    NUMBER_WORDS
        .iter()
        .find(|(_, vs)| vs.contains(&word))
        .map(|(n, _)| *n)
}

/// English tens words that can start a compound ("twenty five").
pub(crate) fn is_english_tens(word: &str) -> bool {
    matches!(
        word,
        "twenty" | "thirty" | "forty" | "fifty" | "sixty" | "seventy" | "eighty" | "ninety"
    )
}

/// English unit words that can end a compound ("twenty five", "thirty first").
pub(crate) fn is_english_word_number(word: &str) -> bool {
    matches!(
        word,
        "one"
            | "two"
            | "three"
            | "four"
            | "five"
            | "six"
            | "seven"
            | "eight"
            | "nine"
            | "first"
            | "second"
            | "third"
            | "fourth"
            | "fifth"
            | "sixth"
            | "seventh"
            | "eighth"
            | "ninth"
    )
}

/// English number words ("five", "twelve", "twenty"): "five jan" is a date, "paanch jan" is
/// five people.
pub(crate) fn is_english_number_word(word: &str) -> bool {
    is_english_tens(word)
        || is_english_word_number(word)
        || matches!(
            word,
            "zero"
                | "ten"
                | "eleven"
                | "twelve"
                | "thirteen"
                | "fourteen"
                | "fifteen"
                | "sixteen"
                | "seventeen"
                | "eighteen"
                | "nineteen"
                | "hundred"
        )
}

/// Month number (1–12) of a canonical month headword.
pub(crate) fn month_number(canon: &str) -> Option<u32> {
    Some(match canon {
        "january" => 1,
        "february" => 2,
        "march" => 3,
        "april" => 4,
        "may" => 5,
        "june" => 6,
        "july" => 7,
        "august" => 8,
        "september" => 9,
        "october" => 10,
        "november" => 11,
        "december" => 12,
        _ => return None,
    })
}

/// Weekday of a canonical weekday headword.
pub(crate) fn weekday(canon: &str) -> Option<chrono::Weekday> {
    use chrono::Weekday::*;
    Some(match canon {
        "somvaar" => Mon,
        "mangalvaar" => Tue,
        "budhvaar" => Wed,
        "guruvaar" => Thu,
        "shukravaar" => Fri,
        "shanivaar" => Sat,
        "ravivaar" => Sun,
        _ => return None,
    })
}
