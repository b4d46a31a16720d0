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
    // The real Himalayan Kitchen menu and the shipped flows' intents, from the utterance table.
    let table = |name: &str| -> serde_yaml::Value {
        let path = format!("{}/../../tests/nlu/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let menu: Vec<MenuEntry> =
        serde_yaml::from_value(table("menu.yaml")["menu"].clone()).expect("menu in menu.yaml");
    let intents: Vec<IntentExamples> =
        serde_yaml::from_value(table("intents.yaml")["intents"].clone())
            .expect("intents in intents.yaml");
    let analyzer = Analyzer::new(&menu, &intents, hints.clone());
    for text in [
        "haan ji, kal raat saadhe aath baje chaar logon ke liye table book karna hai, mera naam Rahul hai",
        "अगले शुक्रवार रात आठ बजे पांच लोगों के लिए टेबल चाहिए",
    ] {
        let label: String = text.chars().take(24).collect();
        c.bench_function(&format!("one call per extractor: {label}"), |b| {
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
        c.bench_function(&format!("analyzer: {label}"), |b| {
            b.iter(|| analyzer.analyze(black_box(text), reference, DateContext::booking()))
        });
        c.bench_function(&format!("tokenize: {label}"), |b| {
            b.iter(|| tokenize(black_box(text)))
        });
        let mut g = c.benchmark_group(format!("single: {label}"));
        g.bench_function("date", |b| {
            b.iter(|| extract_date(black_box(text), reference, DateContext::booking()))
        });
        g.bench_function("time", |b| b.iter(|| extract_time(black_box(text), &hints)));
        g.bench_function("party", |b| b.iter(|| extract_party_size(black_box(text))));
        g.bench_function("yes_no", |b| b.iter(|| extract_yes_no(black_box(text))));
        g.bench_function("name", |b| b.iter(|| extract_name(black_box(text))));
        g.bench_function("menu", |b| {
            b.iter(|| match_menu_item(black_box(text), &menu))
        });
        g.bench_function("intent", |b| {
            b.iter(|| classify_intent(black_box(text), &intents))
        });
        g.finish();
    }
}

criterion_group!(benches, all_slots);
criterion_main!(benches);
