//! Booking throughput and latency with the capacity check and durable (fsync) commits.
//!
//! `cargo run --release -p vartalaap-store --example store_bench [-- <dir>]`
//!
//! 1. Sequential: one writer books `SEQ` reservations spread over 14 days × 6 start times, so
//!    every capacity check reads a realistic day's worth of overlapping reservations.
//! 2. Concurrent: 8 writer threads book `PER_THREAD` each into a fresh database; reports
//!    throughput and p50/p99/max latency of one `Store::book` call (queueing for redb's
//!    single writer included — that is what a caller experiences).
//!
//! The database lives in `<dir>` (default: the system temp dir); use a real disk, since
//! tmpfs makes fsync free.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use vartalaap_store::*;

const SEQ: u64 = 2000;
const THREADS: u64 = 8;
const PER_THREAD: u64 = 250;

fn crypto() -> Result<PhoneCrypto, CryptoError> {
    Ok(PhoneCrypto::new(
        PhoneKey::new("bench", [1; 32])?,
        HashPepper::new(b"bench-pepper-bench".to_vec())?,
    ))
}

fn request(i: u64) -> Result<BookingRequest, Box<dyn std::error::Error>> {
    let base = NaiveDate::from_ymd_opt(2026, 12, 1).ok_or("date")?;
    Ok(BookingRequest {
        business_id: "himalayan-kitchen".into(),
        call_id: None,
        customer_name: Some("bench".into()),
        phone: Some(PhoneNumber::parse(&format!("98{:08}", i))?),
        party_size: u8::try_from(i % 4 + 2)?,
        date: base.checked_add_days(Days::new(i % 14)).ok_or("date")?,
        time: TimeOfDay::from_hm(18 + u16::try_from(i % 6 / 2)?, u16::try_from(i % 2 * 30)?)
            .ok_or("time")?,
        language: None,
        notes: None,
        whatsapp_consent: i.is_multiple_of(2),
        followup: Some(FollowupSpec {
            template: "reservation_confirmed".into(),
            language: "en".into(),
            restaurant_name: "Himalayan Kitchen".into(),
            max_attempts: 5,
        }),
    })
}

const RULE: CapacityRule = CapacityRule {
    capacity_covers: 100_000,
    hold_minutes: 90,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base)?;

    let store = Store::open(dir.path().join("seq.redb"), crypto()?)?;
    let started = Instant::now();
    for i in 0..SEQ {
        store.book(&request(i)?, &RULE, Utc::now())?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sequential: {SEQ} bookings in {secs:.2} s = {:.0} bookings/s (durable commits, capacity check over ~{} reservations/day)",
        SEQ as f64 / secs,
        SEQ / 14
    );

    let store = Arc::new(Store::open(dir.path().join("conc.redb"), crypto()?)?);
    let barrier = Arc::new(Barrier::new(usize::try_from(THREADS)?));
    let started = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                barrier.wait();
                let mut lat = Vec::with_capacity(PER_THREAD as usize);
                for i in 0..PER_THREAD {
                    let req = request(t * PER_THREAD + i).map_err(|e| e.to_string())?;
                    let t0 = Instant::now();
                    store
                        .book(&req, &RULE, Utc::now())
                        .map_err(|e| e.to_string())?;
                    lat.push(t0.elapsed());
                }
                Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().map_err(|_| "writer panicked")??);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all[((all.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(all.len() - 1)]
    };
    println!(
        "concurrent: {THREADS} writers x {PER_THREAD} = {} bookings in {secs:.2} s = {:.0} bookings/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        all.len() as f64 / secs,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all[all.len() - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
