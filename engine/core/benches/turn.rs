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

/// CPU time this thread has used. On a shared machine a wall-clock sample also counts the time
/// the scheduler gave the core to someone else; the thread's CPU clock does not, so its
/// percentiles describe the engine's own cost.
fn thread_cpu_nanos() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and CLOCK_THREAD_CPUTIME_ID is supported on
    // every Linux this project targets.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// Criterion reports means; the latency target is a percentile, so also time single turns,
/// by the wall clock and by the thread's CPU clock.
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
    const SAMPLES: usize = 5000;
    for (label, text) in [
        ("booking details (Hinglish)", "kal raat 8 baje 4 log"),
        ("menu question (Hindi)", "मोमोज़ कितने के हैं"),
        ("party size answer (English)", "four people"),
    ] {
        let mut wall = Vec::with_capacity(SAMPLES);
        let mut cpu = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let mut conv = warm.clone();
            let (start, start_cpu) = (std::time::Instant::now(), thread_cpu_nanos());
            black_box(conv.handle(now, Input::text(text), &host));
            cpu.push(thread_cpu_nanos() - start_cpu);
            wall.push(start.elapsed().as_nanos());
        }
        for (clock, times) in [("wall", &mut wall), ("cpu", &mut cpu)] {
            times.sort_unstable();
            let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)] as f64 / 1e3;
            println!(
                "turn {label} [{clock}]: p50 {:.1} µs, p95 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
                pct(50),
                pct(95),
                pct(99),
                times[times.len() - 1] as f64 / 1e3
            );
        }
    }
}

criterion_group!(benches, turn);

fn main() {
    benches();
    percentiles();
    Criterion::default().configure_from_args().final_summary();
}
