//! Saying numbers, money, times and dates the way people say them on the phone.
//!
//! Templates render values through these functions so that TTS reads "ढाई सौ रुपये" rather than
//! "२५० रुपये" and "रात साढ़े आठ बजे" rather than "20:30". Large numbers use the Indian system
//! (हज़ार, लाख, करोड़ / thousand, lakh, crore) in every language, as Indian callers expect.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

use crate::Lang;

/// Devanagari and romanized words for 0–99 in the spelling we speak (index = value).
#[rustfmt::skip]
const HI_0_99: [&str; 100] = [
    "शून्य", "एक", "दो", "तीन", "चार", "पाँच", "छह", "सात", "आठ", "नौ", "दस", "ग्यारह", "बारह",
    "तेरह", "चौदह", "पंद्रह", "सोलह", "सत्रह", "अठारह", "उन्नीस", "बीस", "इक्कीस", "बाईस", "तेईस",
    "चौबीस", "पच्चीस", "छब्बीस", "सत्ताईस", "अट्ठाईस", "उनतीस", "तीस", "इकतीस", "बत्तीस", "तैंतीस",
    "चौंतीस", "पैंतीस", "छत्तीस", "सैंतीस", "अड़तीस", "उनतालीस", "चालीस", "इकतालीस", "बयालीस",
    "तैंतालीस", "चौवालीस", "पैंतालीस", "छियालीस", "सैंतालीस", "अड़तालीस", "उनचास", "पचास",
    "इक्यावन", "बावन", "तिरपन", "चौवन", "पचपन", "छप्पन", "सत्तावन", "अट्ठावन", "उनसठ", "साठ",
    "इकसठ", "बासठ", "तिरसठ", "चौंसठ", "पैंसठ", "छियासठ", "सड़सठ", "अड़सठ", "उनहत्तर", "सत्तर",
    "इकहत्तर", "बहत्तर", "तिहत्तर", "चौहत्तर", "पचहत्तर", "छिहत्तर", "सतहत्तर", "अठहत्तर",
    "उन्यासी", "अस्सी", "इक्यासी", "बयासी", "तिरासी", "चौरासी", "पचासी", "छियासी", "सत्तासी",
    "अट्ठासी", "नवासी", "नब्बे", "इक्यानबे", "बानबे", "तिरानबे", "चौरानबे", "पचानबे", "छियानबे",
    "सत्तानबे", "अट्ठानबे", "निन्यानबे",
];

#[rustfmt::skip]
const ROMAN_0_99: [&str; 100] = [
    "shunya", "ek", "do", "teen", "chaar", "paanch", "chhah", "saat", "aath", "nau", "das",
    "gyaarah", "baarah", "terah", "chaudah", "pandrah", "solah", "satrah", "athaarah", "unnees",
    "bees", "ikkees", "baaees", "teis", "chaubees", "pachchees", "chhabbees", "sattaees",
    "atthaees", "untees", "tees", "iktees", "battees", "taintees", "chauntees", "paintees",
    "chhattees", "saintees", "adtees", "untaalees", "chaalees", "iktaalees", "bayaalees",
    "taintaalees", "chauvaalees", "paintaalees", "chhiyaalees", "saintaalees", "adtaalees",
    "unchaas", "pachaas", "ikyaavan", "baavan", "tirpan", "chauvan", "pachpan", "chhappan",
    "sattaavan", "atthaavan", "unsath", "saath", "iksath", "baasath", "tirsath", "chaunsath",
    "painsath", "chhiyaasath", "sadsath", "adsath", "unhattar", "sattar", "ikhattar", "bahattar",
    "tihattar", "chauhattar", "pachhattar", "chhihattar", "sathattar", "athhattar", "unaasi",
    "assi", "ikyaasi", "bayaasi", "tiraasi", "chauraasi", "pachaasi", "chhiyaasi", "sattaasi",
    "atthaasi", "navaasi", "nabbe", "ikyaanave", "baanave", "tiraanave", "chauraanave",
    "pachaanave", "chhiyaanave", "sattaanave", "atthaanave", "ninyaanave",
];

#[rustfmt::skip]
const EN_0_19: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
];
#[rustfmt::skip]
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Words for one Hindi-family script.
struct HindiWords {
    units: &'static [&'static str; 100],
    hundred: &'static str,
    thousand: &'static str,
    lakh: &'static str,
    crore: &'static str,
    dedh: &'static str,
    dhai: &'static str,
    saadhe: &'static str,
    sawa: &'static str,
    paune: &'static str,
}

const DEVA: HindiWords = HindiWords {
    units: &HI_0_99,
    hundred: "सौ",
    thousand: "हज़ार",
    lakh: "लाख",
    crore: "करोड़",
    dedh: "डेढ़",
    dhai: "ढाई",
    saadhe: "साढ़े",
    sawa: "सवा",
    paune: "पौने",
};

const ROMAN: HindiWords = HindiWords {
    units: &ROMAN_0_99,
    hundred: "sau",
    thousand: "hazaar",
    lakh: "lakh",
    crore: "crore",
    dedh: "dedh",
    dhai: "dhai",
    saadhe: "saadhe",
    sawa: "sawa",
    paune: "paune",
};

fn words_for(lang: Lang) -> &'static HindiWords {
    if lang == Lang::Hi { &DEVA } else { &ROMAN }
}

/// Speaks a whole number: `speak_number(1250, Lang::Hi)` → "एक हज़ार दो सौ पचास",
/// `Lang::En` → "one thousand two hundred and fifty", `Lang::Hinglish` → "ek hazaar do sau
/// pachaas". Numbers from one lakh up use lakh/crore in every language.
pub fn speak_number(n: u64, lang: Lang) -> String {
    match lang {
        Lang::En => english(n),
        _ => hindi(n, words_for(lang)),
    }
}

fn hindi(n: u64, w: &HindiWords) -> String {
    if n < 100 {
        return w.units[n as usize].to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut rest = n;
    for (unit, word) in [
        (10_000_000u64, w.crore),
        (100_000, w.lakh),
        (1_000, w.thousand),
        (100, w.hundred),
    ] {
        if rest >= unit {
            let q = rest / unit;
            parts.push(format!("{} {word}", hindi(q, w)));
            rest %= unit;
        }
    }
    if rest > 0 {
        parts.push(w.units[rest as usize].to_string());
    }
    parts.join(" ")
}

fn english(n: u64) -> String {
    if n < 20 {
        return EN_0_19[n as usize].to_string();
    }
    if n < 100 {
        let t = EN_TENS[(n / 10) as usize];
        return if n.is_multiple_of(10) {
            t.to_string()
        } else {
            format!("{t}-{}", EN_0_19[(n % 10) as usize])
        };
    }
    let mut parts: Vec<String> = Vec::new();
    let mut rest = n;
    for (unit, word) in [
        (10_000_000u64, "crore"),
        (100_000, "lakh"),
        (1_000, "thousand"),
        (100, "hundred"),
    ] {
        if rest >= unit {
            parts.push(format!("{} {word}", english(rest / unit)));
            rest %= unit;
        }
    }
    if rest > 0 {
        parts.push(format!("and {}", english(rest)));
    }
    parts.join(" ")
}

/// Hindi amounts the way shops say them: 150 → डेढ़ सौ, 250 → ढाई सौ, 350 → साढ़े तीन सौ,
/// 1500 → डेढ़ हज़ार, 1250 → बारह सौ पचास; everything else as [`speak_number`].
fn hindi_amount(n: u64, w: &HindiWords) -> String {
    let fraction = |q: u64, unit: &str| -> Option<String> {
        match q {
            1 => Some(format!("{} {unit}", w.dedh)),
            2 => Some(format!("{} {unit}", w.dhai)),
            3..=99 => Some(format!("{} {} {unit}", w.saadhe, w.units[q as usize])),
            _ => None,
        }
    };
    if (150..1000).contains(&n)
        && n % 100 == 50
        && let Some(s) = fraction(n / 100, w.hundred)
    {
        return s;
    }
    if (1500..100_000).contains(&n)
        && n % 1000 == 500
        && let Some(s) = fraction(n / 1000, w.thousand)
    {
        return s;
    }
    if (1100..2000).contains(&n) {
        let hundreds = n / 100;
        let rest = n % 100;
        let mut s = format!("{} {}", w.units[hundreds as usize], w.hundred);
        if rest > 0 {
            s.push(' ');
            s.push_str(w.units[rest as usize]);
        }
        return s;
    }
    hindi(n, w)
}

/// Speaks an amount of rupees: 250 → "ढाई सौ रुपये" / "two hundred and fifty rupees" /
/// "dhai sau rupaye"; 1 → "एक रुपया" / "one rupee" / "ek rupaya".
pub fn speak_money_inr(rupees: u64, lang: Lang) -> String {
    match lang {
        Lang::En => {
            let unit = if rupees == 1 { "rupee" } else { "rupees" };
            format!("{} {unit}", english(rupees))
        }
        Lang::Hi => {
            let unit = if rupees == 1 {
                "रुपया"
            } else {
                "रुपये"
            };
            format!("{} {unit}", hindi_amount(rupees, &DEVA))
        }
        Lang::Hinglish => {
            let unit = if rupees == 1 { "rupaya" } else { "rupaye" };
            format!("{} {unit}", hindi_amount(rupees, &ROMAN))
        }
    }
}

/// Part of the day said before a Hindi clock time.
fn period(hour: u32, lang: Lang) -> &'static str {
    let (deva, roman) = match hour {
        0..=3 | 19..=23 => ("रात", "raat"),
        4..=11 => ("सुबह", "subah"),
        12..=15 => ("दोपहर", "dopahar"),
        _ => ("शाम", "shaam"),
    };
    if lang == Lang::Hi { deva } else { roman }
}

/// Speaks a clock time: 20:30 → "रात साढ़े आठ बजे" / "8:30 pm" / "raat saadhe aath baje";
/// 12:00 → "दोपहर बारह बजे" / "12 noon"; :15 and :45 use सवा/पौने, 1:30 and 2:30 डेढ़/ढाई,
/// other minutes "आठ बजकर दस मिनट".
pub fn speak_time(t: NaiveTime, lang: Lang) -> String {
    let (h, m) = (t.hour(), t.minute());
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    if lang == Lang::En {
        return match (h, m) {
            (12, 0) => "12 noon".to_string(),
            (0, 0) => "12 midnight".to_string(),
            _ => {
                let ampm = if h < 12 { "am" } else { "pm" };
                if m == 0 {
                    format!("{h12} {ampm}")
                } else {
                    format!("{h12}:{m:02} {ampm}")
                }
            }
        };
    }
    let w = words_for(lang);
    let baje = if lang == Lang::Hi {
        "बजे"
    } else {
        "baje"
    };
    let p = period(h, lang);
    let core = match m {
        0 => format!("{} {baje}", w.units[h12 as usize]),
        15 => format!("{} {} {baje}", w.sawa, w.units[h12 as usize]),
        30 if h12 == 1 => format!("{} {baje}", w.dedh),
        30 if h12 == 2 => format!("{} {baje}", w.dhai),
        30 => format!("{} {} {baje}", w.saadhe, w.units[h12 as usize]),
        45 => format!("{} {} {baje}", w.paune, w.units[(h12 % 12 + 1) as usize]),
        _ => {
            let (bajkar, minute) = if lang == Lang::Hi {
                ("बजकर", "मिनट")
            } else {
                ("bajkar", "minute")
            };
            format!(
                "{} {bajkar} {} {minute}",
                w.units[h12 as usize], w.units[m as usize]
            )
        }
    };
    format!("{p} {core}")
}

#[rustfmt::skip]
const HI_WEEKDAYS: [&str; 7] = [
    "सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार",
];
#[rustfmt::skip]
const ROMAN_WEEKDAYS: [&str; 7] = [
    "somvaar", "mangalvaar", "budhvaar", "guruvaar", "shukravaar", "shanivaar", "ravivaar",
];
#[rustfmt::skip]
const EN_WEEKDAYS: [&str; 7] = [
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
];
#[rustfmt::skip]
const HI_MONTHS: [&str; 12] = [
    "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर",
    "नवंबर", "दिसंबर",
];
#[rustfmt::skip]
const EN_MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
];

fn weekday_index(w: Weekday) -> usize {
    w.num_days_from_monday() as usize
}

/// Speaks a date relative to `reference` (the conversation's "today"): today/tomorrow/the day
/// after as "आज"/"कल"/"परसों" ("today"/"tomorrow"/"the day after tomorrow", "aaj"/"kal"/"parso"),
/// anything else as "शुक्रवार, 25 दिसंबर" / "Friday, 25 December" / "shukravaar, 25 December",
/// with the year added when it differs from the reference year. Digits stay digits because TTS
/// voices read day numbers correctly and "पच्चीस दिसंबर" would be no clearer.
pub fn speak_date(date: NaiveDate, reference: NaiveDate, lang: Lang) -> String {
    let diff = (date - reference).num_days();
    let rel = match (diff, lang) {
        (0, Lang::Hi) => Some("आज"),
        (1, Lang::Hi) => Some("कल"),
        (2, Lang::Hi) => Some("परसों"),
        (0, Lang::En) => Some("today"),
        (1, Lang::En) => Some("tomorrow"),
        (2, Lang::En) => Some("the day after tomorrow"),
        (0, Lang::Hinglish) => Some("aaj"),
        (1, Lang::Hinglish) => Some("kal"),
        (2, Lang::Hinglish) => Some("parso"),
        _ => None,
    };
    if let Some(r) = rel {
        return r.to_string();
    }
    let wd = weekday_index(date.weekday());
    let mi = date.month0() as usize;
    let (wname, mname) = match lang {
        Lang::Hi => (HI_WEEKDAYS[wd], HI_MONTHS[mi]),
        Lang::En => (EN_WEEKDAYS[wd], EN_MONTHS[mi]),
        Lang::Hinglish => (ROMAN_WEEKDAYS[wd], EN_MONTHS[mi]),
    };
    let mut s = format!("{wname}, {} {mname}", date.day());
    if date.year() != reference.year() {
        s.push_str(&format!(" {}", date.year()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(speak_number(0, Lang::En), "zero");
        assert_eq!(speak_number(45, Lang::En), "forty-five");
        assert_eq!(
            speak_number(1250, Lang::En),
            "one thousand two hundred and fifty"
        );
        assert_eq!(speak_number(250_000, Lang::En), "two lakh fifty thousand");
        assert_eq!(speak_number(1250, Lang::Hi), "एक हज़ार दो सौ पचास");
        assert_eq!(speak_number(37, Lang::Hinglish), "saintees");
        assert_eq!(speak_number(10_000_000, Lang::Hi), "एक करोड़");
    }

    #[test]
    fn money() {
        assert_eq!(speak_money_inr(250, Lang::Hi), "ढाई सौ रुपये");
        assert_eq!(
            speak_money_inr(250, Lang::En),
            "two hundred and fifty rupees"
        );
        assert_eq!(speak_money_inr(250, Lang::Hinglish), "dhai sau rupaye");
        assert_eq!(speak_money_inr(150, Lang::Hi), "डेढ़ सौ रुपये");
        assert_eq!(speak_money_inr(60, Lang::Hi), "साठ रुपये");
        assert_eq!(speak_money_inr(90, Lang::Hinglish), "nabbe rupaye");
        assert_eq!(speak_money_inr(180, Lang::Hi), "एक सौ अस्सी रुपये");
        assert_eq!(speak_money_inr(350, Lang::Hi), "साढ़े तीन सौ रुपये");
        assert_eq!(
            speak_money_inr(420, Lang::En),
            "four hundred and twenty rupees"
        );
        assert_eq!(speak_money_inr(1250, Lang::Hi), "बारह सौ पचास रुपये");
        assert_eq!(speak_money_inr(1500, Lang::Hinglish), "dedh hazaar rupaye");
        assert_eq!(speak_money_inr(2000, Lang::Hi), "दो हज़ार रुपये");
        assert_eq!(speak_money_inr(1, Lang::En), "one rupee");
        assert_eq!(speak_money_inr(100, Lang::Hi), "एक सौ रुपये");
    }

    #[test]
    fn times() {
        assert_eq!(speak_time(t(20, 30), Lang::Hi), "रात साढ़े आठ बजे");
        assert_eq!(speak_time(t(20, 30), Lang::En), "8:30 pm");
        assert_eq!(
            speak_time(t(20, 30), Lang::Hinglish),
            "raat saadhe aath baje"
        );
        assert_eq!(speak_time(t(12, 0), Lang::Hi), "दोपहर बारह बजे");
        assert_eq!(speak_time(t(12, 0), Lang::En), "12 noon");
        assert_eq!(speak_time(t(19, 15), Lang::Hi), "रात सवा सात बजे");
        assert_eq!(speak_time(t(20, 45), Lang::Hinglish), "raat paune nau baje");
        assert_eq!(speak_time(t(13, 30), Lang::Hi), "दोपहर डेढ़ बजे");
        assert_eq!(speak_time(t(14, 30), Lang::Hinglish), "dopahar dhai baje");
        assert_eq!(speak_time(t(9, 0), Lang::En), "9 am");
        assert_eq!(speak_time(t(18, 10), Lang::Hi), "शाम छह बजकर दस मिनट");
        assert_eq!(
            speak_time(t(12, 45), Lang::Hinglish),
            "dopahar paune ek baje"
        );
    }

    #[test]
    fn dates() {
        let r = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(speak_date(r, r, Lang::Hinglish), "aaj");
        assert_eq!(speak_date(d(11, 27), r, Lang::Hi), "कल");
        assert_eq!(speak_date(d(11, 28), r, Lang::En), "the day after tomorrow");
        assert_eq!(speak_date(d(12, 25), r, Lang::Hi), "शुक्रवार, 25 दिसंबर");
        assert_eq!(speak_date(d(12, 25), r, Lang::En), "Friday, 25 December");
        assert_eq!(
            speak_date(
                NaiveDate::from_ymd_opt(2027, 1, 2).unwrap(),
                r,
                Lang::Hinglish
            ),
            "shanivaar, 2 January 2027"
        );
    }
}
