//! No input may panic an extractor: callers' words come from speech recognizers and chat boxes.
//! A deterministic generator mixes Devanagari, Latin, digits in both scripts, punctuation,
//! combining marks and vocabulary fragments, and every public function is run on each string.

use chrono::{NaiveDate, NaiveTime};
use vartalaap_lang::*;

const PIECES: &[&str] = &[
    "kal",
    "8",
    "baje",
    "saadhe",
    "paune",
    "sawa",
    "1",
    "ek",
    "log",
    "after",
    "tomorrow",
    "next",
    "agle",
    "is",
    "the",
    "of",
    "25th",
    "December",
    "25/12",
    "31/02/2026",
    "8:30",
    "8.",
    ".30",
    "pm",
    "p.m.",
    "Rs.",
    "₹",
    "।",
    "॥",
    "?",
    "!",
    "...",
    "\"",
    "'",
    "-",
    "nahi",
    "haan",
    "ji",
    "naam",
    "mera",
    "hai",
    "Rahul",
    "राहुल",
    "नाम",
    "है",
    "कल",
    "८",
    "बजे",
    "साढ़े",
    "ज़",
    "़",
    "ँ",
    "्",
    "\u{200d}",
    "momo",
    "मोमोज़",
    "थुकपा",
    "hum",
    "do",
    "adults",
    "bachche",
    "me",
    "and",
    "friends",
    "mere",
    "saath",
    "under",
    "din",
    "baad",
    "tarikh",
    "ko",
    "0",
    "99999999999",
    "24:60",
    "12:00",
    "quarter",
    "to",
    "half",
    "past",
    "dedh",
    "dhai",
    " ",
    "  ",
    "\n",
    "\t",
    "I",
    "am",
    "this",
    "bol",
    "raha",
    "here",
    "bas",
    "cancel",
    "repeat",
    "manager",
    "actually",
];

#[test]
fn no_input_panics() {
    let reference = NaiveDate::from_ymd_opt(2026, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 0))
        .expect("valid");
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid");
    let hints = TimeHints::with_windows(vec![(t(19, 0), t(2, 0))]);
    let menu = vec![MenuEntry {
        id: "m".into(),
        names: vec!["Chicken Momo".into(), "".into()],
        aliases: vec!["मोमो".into()],
    }];
    let intents = vec![IntentExamples {
        intent: "x".into(),
        examples: vec!["".into(), "kal 8 baje".into()],
    }];
    let analyzer = Analyzer::new(&menu, &intents, hints.clone());
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut policy = LanguagePolicy::new(Lang::Hi);
    let mut splitter = SentenceSplitter::new();
    let mut short = SentenceSplitter::with_max_chars(7);
    for _ in 0..3000 {
        let n = (next() % 8) as usize;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
            if next() % 3 == 0 {
                s.push(' ');
            }
        }
        for ctx in [DateContext::booking(), DateContext::past()] {
            let _ = extract_date(&s, reference, ctx);
            let _ = analyzer.analyze(&s, reference, ctx);
        }
        let _ = extract_time(&s, &hints);
        let _ = extract_time(&s, &TimeHints::default());
        let _ = extract_party_size(&s);
        let _ = extract_number(&s);
        if let Some(r) = extract_yes_no_detail(&s)
            && let Some(rest) = r.rest
        {
            assert!(
                s.get(rest).is_some(),
                "rest span must cut {s:?} on char boundaries"
            );
        }
        let _ = extract_name(&s);
        let _ = match_menu_item(&s, &menu);
        let _ = classify_intent(&s, &intents);
        let _ = detect_language(&s);
        let _ = policy.observe(&s);
        let _ = split_sentences(&s);
        let _ = splitter.push(&s);
        let _ = short.push(&s);
    }
    let _ = splitter.finish();
    let _ = short.finish();
}

#[test]
fn speaking_covers_every_value() {
    let reference = NaiveDate::from_ymd_opt(2026, 11, 26).expect("valid");
    for lang in [Lang::Hi, Lang::En, Lang::Hinglish] {
        for n in (0..2_000u64).chain([99_999, 100_000, 1_234_567, 987_654_321, u64::MAX]) {
            assert!(!speak_number(n, lang).is_empty());
            assert!(!speak_money_inr(n, lang).is_empty());
        }
        for h in 0..24 {
            for m in 0..60 {
                let t = NaiveTime::from_hms_opt(h, m, 0).expect("valid");
                assert!(!speak_time(t, lang).is_empty());
            }
        }
        for d in 0..800 {
            let date = reference + chrono::Duration::days(d - 400);
            assert!(!speak_date(date, reference, lang).is_empty());
        }
    }
}
