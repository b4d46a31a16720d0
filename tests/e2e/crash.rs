//! Crash safety through the real server: `kill -9` a `vartalaap serve` process in the middle
//! of a stream of API bookings that each trigger a WhatsApp confirmation, restart it on the
//! same redb file, and check that
//! - every booking the API acknowledged (201) before the kill is still there, whole, with its
//!   follow-up job (booking and job commit in one transaction), and no other booking exists;
//! - every follow-up reaches the local webhook receiver exactly once in effect (the receiver
//!   dedupes by idempotency key, as the WhatsApp relay does); a raw repeat is possible only for
//!   the one message in flight at the moment of the kill.

mod common;

#[path = "../../engine/store/tests/common/webhook.rs"]
#[allow(dead_code)]
mod webhook;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Utc, Weekday};
use common::Server;
use serde_json::json;

const WEBHOOK_TOKEN: &str = "whatsapp-relay-token-for-the-crash-test";

/// The `i`-th booking of the stream: a different open day or dinner time each, party of 2, so
/// capacity never refuses one.
fn booking(i: usize) -> String {
    let today = (Utc::now() + chrono::Duration::minutes(330)).date_naive();
    let exceptions = ["2026-12-31", "2027-01-01", "2027-01-26"];
    let mut date: NaiveDate = today + chrono::Duration::days(2 + (i / 7) as i64);
    while date.weekday() == Weekday::Mon || exceptions.contains(&date.to_string().as_str()) {
        date += chrono::Duration::days(1);
    }
    let time = [
        "19:00", "19:30", "20:00", "20:30", "21:00", "21:30", "22:00",
    ][i % 7];
    json!({
        "business_id": "himalayan_kitchen",
        "customer_name": format!("Guest {i}"),
        "phone": format!("+91 98765 4{:04}", i),
        "party_size": 2,
        "date": date.to_string(),
        "time": time,
        "whatsapp_consent": true,
    })
    .to_string()
}

fn items(server: &Server, token: &str, path: &str) -> Vec<serde_json::Value> {
    let r = server.request("GET", path, Some(token), None);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn kill_9_mid_stream_loses_no_booking_and_delivers_every_followup_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hook = rt.block_on(webhook::Webhook::start(Vec::new()));
    let env = [
        ("WHATSAPP_WEBHOOK_URL", hook.url.as_str()),
        ("WHATSAPP_WEBHOOK_TOKEN", WEBHOOK_TOKEN),
    ];
    let server = Server::start_with(&env);
    let token = server.login();

    // Book in a stream; a second thread kills the server with SIGKILL after a few bookings,
    // while requests are still arriving.
    let committed = Arc::new(AtomicUsize::new(0));
    let pid = server.pid();
    let killer = {
        let committed = committed.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while committed.load(Ordering::SeqCst) < 12 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            let status = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "kill -9 failed");
        })
    };
    let mut acknowledged = Vec::new();
    for i in 0..200 {
        match server.try_request("POST", "/api/reservations", Some(&token), Some(&booking(i))) {
            Ok(r) if r.status == 201 => {
                acknowledged.push(r.json["id"].as_u64().unwrap());
                committed.fetch_add(1, Ordering::SeqCst);
            }
            // A request cut off by the kill gets no (or a broken) answer: the stream ends.
            Ok(r) if r.status == 0 || r.text.is_empty() => break,
            Ok(r) => panic!(
                "booking {i} refused before the crash: {} {}",
                r.status, r.text
            ),
            Err(_) => break,
        }
    }
    killer.join().unwrap();
    assert!(
        acknowledged.len() >= 12,
        "the stream should have reached the kill point"
    );

    // Restart on the same files and database, and keep booking.
    let server = server.restart(&env);
    let token = server.login();
    for i in 200..203 {
        let r = server.request("POST", "/api/reservations", Some(&token), Some(&booking(i)));
        assert_eq!(r.status, 201, "{}", r.text);
        acknowledged.push(r.json["id"].as_u64().unwrap());
    }

    // Every acknowledged booking survived whole; at most the one in flight at the kill may
    // also have committed (its 201 was lost with the process), and nothing else exists.
    let stored = items(
        &server,
        &token,
        "/api/reservations?business_id=himalayan_kitchen&limit=500",
    );
    for id in &acknowledged {
        let r = server.request(
            "GET",
            &format!("/api/reservations/{id}"),
            Some(&token),
            None,
        );
        assert_eq!(
            r.status, 200,
            "acknowledged booking {id} is gone: {}",
            r.text
        );
        assert_eq!(r.json["party_size"], 2, "{}", r.text);
        assert_eq!(r.json["status"], "confirmed", "{}", r.text);
    }
    assert!(
        stored.len() == acknowledged.len() || stored.len() == acknowledged.len() + 1,
        "{} stored vs {} acknowledged",
        stored.len(),
        acknowledged.len()
    );
    // Each stored booking has exactly one follow-up job (same transaction).
    let jobs = items(
        &server,
        &token,
        "/api/jobs?kind=whatsapp_followup&limit=500",
    );
    assert_eq!(jobs.len(), stored.len(), "one follow-up job per booking");

    // Every follow-up arrives, once in effect.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let delivered = hook.delivered();
        if delivered.len() == stored.len() {
            assert!(
                delivered.values().all(|n| *n >= 1),
                "every key delivered: {delivered:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} follow-ups delivered",
            delivered.len(),
            stored.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let attempts = hook.attempts();
    let successes = attempts.iter().filter(|a| a.answered == 200).count();
    assert!(
        successes <= stored.len() + 1,
        "at most the message in flight at the kill is sent twice: {successes} sends for {} bookings",
        stored.len()
    );
    for a in &attempts {
        assert_eq!(
            a.authorization.as_deref(),
            Some(format!("Bearer {WEBHOOK_TOKEN}").as_str())
        );
    }
    drop(server);
    drop(rt);
}
