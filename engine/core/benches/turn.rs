//! One engine turn: utterance text in → reply out, offline understanding, warm snapshot.
//!
//! The conversation is cloned from a warmed-up state before each measured turn, so every
//! iteration handles the same turn ("kal raat 8 baje 4 log" at the party-size question,
//! which fills three slots, runs the festival plugin and asks for the name after an
//! availability tool call) with templates already compiled.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use criterion::{Criterion, black_box, criterion_group};
use vartalaap_config::ConfigStore;
use vartalaap_core::{CallerContext, Conversation, Input, Prepared};
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};

fn turn(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let store = ConfigStore::load(&root).expect("repository configuration is valid");
    let snap = store.current("himalayan_kitchen").expect("business exists");
    let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
    let host = RhaiHost::new(runtime, snap.clone());
    let now = NaiveDate::from_ymd_opt(2026, 11, 25)
        .and_then(|d| d.and_hms_opt(18, 0, 0))
        .expect("valid time");
    let prepared = Prepared::new(snap);
    let (mut warm, _) =
        Conversation::start_prepared(&prepared, now, CallerContext::default(), &host);
    let _ = warm.handle(now, Input::text("table book karna hai"), &host);
    // Warm the templates this turn renders.
    let mut probe = warm.clone();
    let _ = probe.handle(now, Input::text("kal raat 8 baje 4 log"), &host);
    c.bench_function("start: greeting (prepared snapshot)", |b| {
        b.iter(|| {
            black_box(Conversation::start_prepared(
                &prepared,
                now,
                CallerContext::default(),
                &host,
            ))
        })
    });
    c.bench_function("turn: booking details in Hinglish", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut conv| black_box(conv.handle(now, Input::text("kal raat 8 baje 4 log"), &host)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("turn: menu question in Hindi", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut conv| black_box(conv.handle(now, Input::text("मोमोज़ कितने के हैं"), &host)),
            criterion::BatchSize::SmallInput,
        )
    });
}

/// Criterion reports means; the latency target is a percentile, so also time single turns.
fn percentiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let store = ConfigStore::load(&root).expect("repository configuration is valid");
    let snap = store.current("himalayan_kitchen").expect("business exists");
    let host = RhaiHost::new(
        Arc::new(ScriptRuntime::new(ScriptLimits::default())),
        snap.clone(),
    );
    let now = NaiveDate::from_ymd_opt(2026, 11, 25)
        .and_then(|d| d.and_hms_opt(18, 0, 0))
        .expect("valid time");
    let prepared = Prepared::new(snap);
    let (mut warm, _) =
        Conversation::start_prepared(&prepared, now, CallerContext::default(), &host);
    let _ = warm.handle(now, Input::text("table book karna hai"), &host);
    for (label, text) in [
        ("booking details (Hinglish)", "kal raat 8 baje 4 log"),
        ("menu question (Hindi)", "मोमोज़ कितने के हैं"),
        ("party size answer (English)", "four people"),
    ] {
        let mut times: Vec<u128> = (0..2000)
            .map(|_| {
                let mut conv = warm.clone();
                let start = std::time::Instant::now();
                black_box(conv.handle(now, Input::text(text), &host));
                start.elapsed().as_nanos()
            })
            .collect();
        times.sort_unstable();
        let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)] as f64 / 1000.0;
        println!(
            "turn {label}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            pct(50),
            pct(99),
            times[times.len() - 1] as f64 / 1000.0
        );
    }
}

criterion_group!(benches, turn);

fn main() {
    benches();
    percentiles();
    Criterion::default().configure_from_args().final_summary();
}
