//! Prints what every extractor finds in each line of standard input — the quickest way to see
//! why an utterance is (not) understood before adding a vocabulary variant or a table case.
//!
//! `echo "kal raat 8 baje 4 log" | cargo run -p vartalaap-lang --example nlu_probe`
//! Reference time: 2026-11-26 18:00 (override with the first argument, "YYYY-MM-DDTHH:MM");
//! opening hours: 12:00–15:30 and 19:00–23:00; menu and intents from `tests/nlu/menu.yaml` and
//! `tests/nlu/intents.yaml`.

use std::io::BufRead;

use chrono::{NaiveDateTime, NaiveTime};
use vartalaap_lang::*;

fn main() {
    let reference = std::env::args()
        .nth(1)
        .and_then(|s| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M").ok())
        .or_else(|| NaiveDateTime::parse_from_str("2026-11-26T18:00", "%Y-%m-%dT%H:%M").ok());
    let Some(reference) = reference else {
        eprintln!("bad reference time: use YYYY-MM-DDTHH:MM");
        std::process::exit(2);
    };
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    let hints = TimeHints::with_windows(vec![(t(12, 0), t(15, 30)), (t(19, 0), t(23, 0))]);
    let table = |name: &str| -> serde_yaml::Value {
        let path = format!("{}/../../tests/nlu/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_yaml::from_str(&t).ok())
            .unwrap_or(serde_yaml::Value::Null)
    };
    let menu: Vec<MenuEntry> =
        serde_yaml::from_value(table("menu.yaml")["menu"].clone()).unwrap_or_default();
    let intents: Vec<IntentExamples> =
        serde_yaml::from_value(table("intents.yaml")["intents"].clone()).unwrap_or_default();
    let analyzer = Analyzer::new(&menu, &intents, hints.clone());
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let toks: Vec<String> = tokenize(&line)
            .into_iter()
            .map(|t| {
                if t.canon == t.text {
                    t.text
                } else {
                    format!("{}→{}", t.text, t.canon)
                }
            })
            .collect();
        println!("{line}");
        println!("  tokens:   {}", toks.join(" "));
        println!("  language: {:?}", language_evidence(&line));
        println!(
            "  date:     {:?}",
            extract_date(&line, reference, DateContext::booking())
        );
        println!(
            "  time:     {:?}",
            extract_time_detail(&line, &hints).map(|e| (e.time, e.ambiguous))
        );
        println!("  party:    {:?}", extract_party_size(&line));
        println!(
            "  yes/no:   {:?}",
            extract_yes_no_detail(&line).map(|r| (r.answer, r.rest.map(|s| line[s].to_string())))
        );
        println!("  name:     {:?}", extract_name(&line));
        let u = analyzer.analyze(&line, reference, DateContext::booking());
        println!("  intent:   {:?}", u.intent.map(|m| (m.intent, m.score)));
        println!("  menu:     {:?}", u.menu_items);
    }
}
