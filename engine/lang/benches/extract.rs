//! Extracting every slot from one utterance, the per-turn cost of offline understanding.

use chrono::{NaiveDate, NaiveTime};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use vartalaap_lang::*;

fn all_slots(c: &mut Criterion) {
    let reference = NaiveDate::from_ymd_opt(2026, 11, 26)
        .and_then(|d| d.and_hms_opt(18, 0, 0))
        .expect("valid date");
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
    let hints = TimeHints::with_windows(vec![(t(12, 0), t(15, 30)), (t(19, 0), t(23, 0))]);
    let menu: Vec<MenuEntry> = [
        "veg_steamed_momo:veg momo",
        "chicken_steamed_momo:chicken momo",
        "veg_thukpa:veg thukpa",
        "chicken_thukpa:chicken thukpa",
        "masala_chai:masala chai",
    ]
    .iter()
    .map(|s| {
        let (id, name) = s.split_once(':').expect("id:name");
        MenuEntry {
            id: id.into(),
            names: vec![name.into()],
            aliases: vec![],
        }
    })
    .collect();
    let intents = vec![
        IntentExamples {
            intent: "make_reservation".into(),
            examples: vec![
                "table book karna hai".into(),
                "I want to book a table".into(),
                "मुझे टेबल बुक करनी है".into(),
            ],
        },
        IntentExamples {
            intent: "menu_question".into(),
            examples: vec!["menu mein kya hai".into(), "do you have momos".into()],
        },
    ];
    for text in [
        "haan ji, kal raat saadhe aath baje chaar logon ke liye table book karna hai, mera naam Rahul hai",
        "अगले शुक्रवार रात आठ बजे पांच लोगों के लिए टेबल चाहिए",
    ] {
        let label: String = text.chars().take(24).collect();
        c.bench_function(&format!("all slots: {label}"), |b| {
            b.iter(|| {
                let text = black_box(text);
                (
                    detect_language(text),
                    extract_date(text, reference, DateContext::booking()),
                    extract_time(text, &hints),
                    extract_party_size(text),
                    extract_yes_no(text),
                    extract_name(text),
                    match_menu_item(text, &menu),
                    classify_intent(text, &intents),
                )
            })
        });
    }
}

criterion_group!(benches, all_slots);
criterion_main!(benches);
