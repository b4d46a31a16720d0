//! Test helper for `tests/crash.rs` (not a product binary): a process that books a stream of
//! reservations with WhatsApp follow-ups while its job runner sends them, so the test can
//! `kill -9` it mid-stream and check what survives.
//!
//! Usage: `store_crash_helper <db> <webhook-url> book <start-index>` (runs until killed) or
//! `store_crash_helper <db> <webhook-url> drain` (sends everything pending, then exits 0).
//! Uses fixed test-only keys.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;
use vartalaap_store::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, url, mode, rest @ ..] = args.as_slice() else {
        return Err("usage: store_crash_helper <db> <webhook-url> book <start>|drain".into());
    };
    let crypto = PhoneCrypto::new(
        PhoneKey::new("crash-test", [5; 32])?,
        HashPepper::new(b"crash-test-pepper!".to_vec())?,
    );
    let store = Arc::new(Store::open(db, crypto)?);
    let sender = WhatsAppSender::new(WhatsAppConfig {
        webhook_url: url.clone(),
        token: WebhookToken::new("crash-token"),
        timeout: Duration::from_secs(2),
    })?;
    let config = RunnerConfig {
        owner: format!("crash-helper-{}", std::process::id()),
        poll_interval: Duration::from_millis(10),
        lease: Duration::from_secs(3),
        batch: 4,
        backoff: Backoff {
            base: Duration::from_millis(50),
            max: Duration::from_millis(500),
        },
        schedules: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runner = JobRunner::new(store.clone(), config).register(
        WHATSAPP_FOLLOWUP_KIND,
        WhatsAppFollowupHandler::new(store.clone(), sender, clock),
    );
    let shutdown = CancellationToken::new();
    let worker = runtime.spawn(runner.run(shutdown.clone()));

    match (mode.as_str(), rest) {
        ("book", [start]) => {
            let start: u64 = start.parse()?;
            let rule = CapacityRule {
                capacity_covers: 1_000_000,
                hold_minutes: 90,
            };
            let base = NaiveDate::from_ymd_opt(2026, 12, 1).ok_or("bad date")?;
            let mut out = std::io::stdout().lock();
            for i in start.. {
                let req = BookingRequest {
                    business_id: "himalayan-kitchen".into(),
                    call_id: None,
                    customer_name: Some(format!("guest {i}")),
                    phone: Some(PhoneNumber::parse(&format!("98{:08}", i % 100_000_000))?),
                    party_size: u8::try_from(i % 6 + 1)?,
                    date: base
                        .checked_add_days(Days::new(i % 7))
                        .ok_or("date overflow")?,
                    time: TimeOfDay::from_hm(19, 0).ok_or("bad time")?,
                    language: Some("hi".into()),
                    notes: None,
                    whatsapp_consent: true,
                    followup: Some(FollowupSpec {
                        template: "reservation_confirmed".into(),
                        language: "en".into(),
                        restaurant_name: "Himalayan Kitchen".into(),
                        max_attempts: 50,
                    }),
                };
                let booked = store.book(&req, &rule, Utc::now())?;
                // Printed only after the commit returned: every printed id must survive a kill.
                writeln!(out, "booked {}", booked.reservation.id)?;
                out.flush()?;
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(())
        }
        ("drain", []) => {
            let open = |status| JobFilter {
                status: Some(status),
                kind: None,
            };
            loop {
                let pending = store
                    .list_jobs(&open(JobStatus::Pending), &PageRequest::default())?
                    .items
                    .len();
                let running = store
                    .list_jobs(&open(JobStatus::Running), &PageRequest::default())?
                    .items
                    .len();
                if pending + running == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            shutdown.cancel();
            runtime.block_on(worker)?;
            println!("drained");
            Ok(())
        }
        _ => Err("usage: store_crash_helper <db> <webhook-url> book <start>|drain".into()),
    }
}
