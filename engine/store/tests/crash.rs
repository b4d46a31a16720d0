//! Crash safety: `kill -9` a process in the middle of a stream of bookings with follow-ups,
//! restart, and check that no booking is half written and every follow-up reaches the webhook
//! exactly once in effect.
//!
//! Raw attempts vs effective deliveries: a process killed after the webhook accepted a message
//! but before it recorded the success will send that message again after restart (same
//! idempotency key). The receiver dedupes by key, so each confirmation is delivered once in
//! effect; the test also bounds raw duplicates to one per kill (the runner handles one job at
//! a time, so at most the in-flight one can be repeated).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::webhook::Webhook;
use vartalaap_store::*;

const HELPER: &str = env!("CARGO_BIN_EXE_store_crash_helper");

/// Runs a booking stream and SIGKILLs it after `lines` committed bookings. Returns the ids it
/// reported as committed.
fn book_then_kill(db: &str, url: &str, start: u64, lines: usize) -> Vec<u64> {
    let mut child = Command::new(HELPER)
        .args([db, url, "book", &start.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut ids = Vec::new();
    let mut line = String::new();
    while ids.len() < lines {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "helper exited early"
        );
        ids.push(
            line.trim()
                .strip_prefix("booked ")
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructors, no flush, no graceful shutdown.
    child.wait().unwrap();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_and_delivers_once() {
    let hook = Webhook::start(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.redb").display().to_string();
    let url = hook.url.clone();

    let (db2, url2) = (db.clone(), url.clone());
    let (reported, drained) = tokio::task::spawn_blocking(move || {
        let mut reported = book_then_kill(&db2, &url2, 0, 25);
        reported.extend(book_then_kill(&db2, &url2, 1000, 25));
        let out = Command::new(HELPER)
            .args([&db2, &url2, "drain"])
            .output()
            .unwrap();
        (reported, out)
    })
    .await
    .unwrap();
    assert!(
        drained.status.success(),
        "drain failed: {}",
        String::from_utf8_lossy(&drained.stderr)
    );

    let crypto = PhoneCrypto::new(
        PhoneKey::new("crash-test", [5; 32]).unwrap(),
        HashPepper::new(b"crash-test-pepper!".to_vec()).unwrap(),
    );
    let store = Store::open(&db, crypto).unwrap();
    let all = store
        .list_reservations(
            &ReservationFilter::default(),
            &PageRequest {
                after: None,
                limit: MAX_PAGE,
            },
        )
        .unwrap()
        .items;
    let ids: BTreeSet<u64> = all.iter().map(|r| r.id).collect();
    // Every booking reported as committed survived the kill (bookings killed before commit
    // simply do not exist).
    for id in &reported {
        assert!(
            ids.contains(id),
            "reservation {id} was reported committed but is missing"
        );
    }
    assert!(all.len() >= 50);

    // No half-written booking: each reservation is in its indexes and has exactly one
    // follow-up and one finished job with the same key.
    let via_index = store
        .list_reservations(
            &ReservationFilter {
                business_id: Some("himalayan-kitchen".into()),
                ..Default::default()
            },
            &PageRequest {
                after: None,
                limit: MAX_PAGE,
            },
        )
        .unwrap()
        .items;
    assert_eq!(
        via_index.len(),
        all.len(),
        "business+date index matches the table"
    );
    let jobs = store
        .list_jobs(
            &JobFilter::default(),
            &PageRequest {
                after: None,
                limit: MAX_PAGE,
            },
        )
        .unwrap()
        .items;
    let jobs_by_key: HashMap<&str, &Job> = jobs
        .iter()
        .map(|j| (j.idempotency_key.as_str(), j))
        .collect();
    assert_eq!(jobs.len(), all.len(), "one job per booking, no orphans");
    let mut expected_keys = BTreeSet::new();
    for r in &all {
        let hash = r
            .phone_hash
            .as_ref()
            .expect("phone hash written with the booking");
        assert!(
            store
                .find_reservations_by_phone(hash, r.reservation_date)
                .unwrap()
                .iter()
                .any(|x| x.id == r.id)
        );
        let followups = store.followups_for_reservation(r.id).unwrap();
        assert_eq!(followups.len(), 1, "reservation {}", r.id);
        let f = &followups[0];
        assert_eq!(
            f.status,
            FollowupStatus::Sent,
            "reservation {}: {f:?}",
            r.id
        );
        let job = jobs_by_key
            .get(f.idempotency_key.as_str())
            .expect("job written with the booking");
        assert_eq!(job.status, JobStatus::Done);
        assert!(r.whatsapp_sent);
        expected_keys.insert(f.idempotency_key.clone());
    }

    // Delivery: every key delivered, once in effect.
    let delivered = hook.delivered();
    let delivered_keys: BTreeSet<String> = delivered.keys().cloned().collect();
    assert_eq!(
        delivered_keys, expected_keys,
        "every follow-up delivered, nothing invented"
    );
    let raw: u32 = delivered.values().sum();
    let unique = u32::try_from(delivered.len()).unwrap();
    eprintln!(
        "crash test: {} bookings, {unique} follow-ups delivered once in effect, {raw} raw successful POSTs, {} raw attempts",
        all.len(),
        hook.attempts().len()
    );
    assert!(
        raw - unique <= 2,
        "at most one repeated send per kill (2 kills), got {} repeats",
        raw - unique
    );
}
