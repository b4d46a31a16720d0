//! End-to-end tests of the admin's routes through a real `vartalaap serve`: working a callback
//! request a conversation left, correcting a caller's stored preferences, and the per-day
//! stats following bookings as they are made, changed and cancelled.

mod common;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use common::{KEY, PEPPER, Server};
use serde_json::json;
use vartalaap_store::{
    CallEnd, CallOutcome, CallerUpdate, HashPepper, NewCall, NewTurn, PhoneCrypto, PhoneKey,
    PhoneNumber, Store, TurnRole, TurnTimings,
};

/// A future dinner date Himalayan Kitchen is open on.
fn open_date(days_ahead: i64) -> NaiveDate {
    let today = (Utc::now() + Duration::minutes(330)).date_naive();
    let mut date = today + Duration::days(days_ahead);
    let exceptions = ["2026-12-31", "2027-01-01", "2027-01-26"];
    while date.weekday() == Weekday::Mon || exceptions.contains(&date.to_string().as_str()) {
        date += Duration::days(1);
    }
    date
}

/// The server's own store, opened while it is stopped (same keys as the harness gives it).
fn open_store(dir: &std::path::Path) -> Store {
    let crypto = PhoneCrypto::new(
        PhoneKey::from_text_fingerprinted(KEY).unwrap(),
        HashPepper::new(PEPPER.as_bytes().to_vec()).unwrap(),
    );
    Store::open(dir.join("data/vartalaap.redb"), crypto).unwrap()
}

#[test]
fn a_callback_request_left_by_a_conversation_is_worked_through() {
    let server = Server::start();
    let token = server.login();
    // A caller asks for a person; with no transfer number the bot takes a callback request.
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(
            &json!({ "at": "2026-11-25T12:00:00+05:30", "caller": "+91 98765 43210" }).to_string(),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    server.say(&token, &id, "can I talk to a person please");
    let last = server.say(&token, &id, "it's Jonathan");
    assert!(
        last["actions"].to_string().contains("create_callback"),
        "{last}"
    );
    let list = server.request(
        "GET",
        "/api/callbacks?business_id=himalayan_kitchen&status=pending",
        Some(&token),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    let cb = &list.json["items"][0];
    assert_eq!(cb["customer_name"], "Jonathan");
    assert_eq!(cb["staff_note"], serde_json::Value::Null);
    let path = format!("/api/callbacks/{}", cb["id"]);

    // Contacted, with a note.
    let r = server.request(
        "PATCH",
        &path,
        Some(&token),
        Some(r#"{"status": "contacted", "note": "rang back, will confirm numbers tonight"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "contacted");
    assert_eq!(
        r.json["staff_note"],
        "rang back, will confirm numbers tonight"
    );
    // Then booked; the note stays when only the status is sent.
    let r = server.request(
        "PATCH",
        &path,
        Some(&token),
        Some(r#"{"status": "booked"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "booked");
    assert_eq!(
        r.json["staff_note"],
        "rang back, will confirm numbers tonight"
    );
    let booked = server.request(
        "GET",
        "/api/callbacks?business_id=himalayan_kitchen&status=booked",
        Some(&token),
        None,
    );
    assert_eq!(booked.json["items"].as_array().unwrap().len(), 1);

    // Refusals name what was wrong.
    let r = server.request(
        "PATCH",
        &path,
        Some(&token),
        Some(r#"{"status": "resolved"}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["field"], "status");
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("pending, contacted, booked, declined"),
        "{}",
        r.text
    );
    let r = server.request("PATCH", &path, Some(&token), Some("{}"));
    assert_eq!(r.status, 400, "{}", r.text);
    let long = json!({ "note": "x".repeat(1001) }).to_string();
    let r = server.request("PATCH", &path, Some(&token), Some(&long));
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (400, Some("note")),
        "{}",
        r.text
    );
    let r = server.request(
        "PATCH",
        "/api/callbacks/999999",
        Some(&token),
        Some(r#"{"status": "declined"}"#),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(
        r.json["error"].as_str().unwrap().contains("999999"),
        "{}",
        r.text
    );
    // The token is required.
    let r = server.request("PATCH", &path, None, Some(r#"{"status": "declined"}"#));
    assert_eq!(r.status, 401);
}

#[test]
fn a_callers_preferences_are_corrected_and_calls_feed_the_stats() {
    // A caller the store remembers, and a day of two calls (one handed to a person) with
    // timed bot turns: written while the server is stopped, as a phone call would leave them.
    let server = Server::start();
    let dir = server.stop();
    let store = open_store(dir.path());
    let caller = PhoneNumber::parse("+91 98765 43210").unwrap();
    let hash = store.crypto().hash(&caller);
    let call_day = Utc.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).unwrap();
    store
        .update_caller_preferences(
            &hash,
            &CallerUpdate {
                language: Some("hi".into()),
                name: Some("Asha".into()),
                whatsapp_consent: Some(true),
                call_at: Some(call_day),
            },
            call_day,
        )
        .unwrap();
    for (outcome, latencies) in [
        (CallOutcome::Transferred, &[450_u32, 480][..]),
        (CallOutcome::Completed, &[420, 460, 1_900][..]),
    ] {
        let call = store
            .create_call(
                &NewCall {
                    business_id: "himalayan_kitchen".into(),
                    external_call_id: None,
                    caller: Some(caller.clone()),
                    started_at: call_day,
                    language: Some("hi".into()),
                },
                call_day,
            )
            .unwrap();
        for &ms in latencies {
            let turn = NewTurn {
                role: TurnRole::Bot,
                text: "…".into(),
                language: Some("hi".into()),
                stt_confidence: None,
                started_at: call_day,
                timings: TurnTimings {
                    total_ms: Some(ms),
                    ..TurnTimings::default()
                },
                handled_by: None,
            };
            store.append_turn(call.id, &turn, call_day).unwrap();
        }
        let end = CallEnd {
            ended_at: call_day + Duration::seconds(90),
            outcome,
            reservation_id: None,
            language: None,
            summary: None,
        };
        store.finish_call(call.id, &end, call_day).unwrap();
    }
    drop(store);
    let server = Server::start_in(dir, &[]);
    let token = server.login();

    let path = format!("/api/callers/{}/preferences", hash.as_str());
    let body =
        json!({"last_language": "en", "preferred_name": "Asha Rawat", "whatsapp_consent": null});
    let r = server.request("PUT", &path, Some(&token), Some(&body.to_string()));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["last_language"], "en");
    assert_eq!(r.json["preferred_name"], "Asha Rawat");
    assert_eq!(r.json["whatsapp_consent"], serde_json::Value::Null);
    assert_eq!(r.json["total_calls"], 1, "call counts are kept");
    let stored = server.request("GET", &path, Some(&token), None);
    assert_eq!(stored.status, 200);
    assert_eq!(stored.json, r.json);
    // Every field must be sent; languages are the engine's; unknown callers are 404.
    let r = server.request(
        "PUT",
        &path,
        Some(&token),
        Some(r#"{"preferred_name": "Asha", "whatsapp_consent": true}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.json["error"].as_str().unwrap().contains("last_language"));
    let bad_lang = json!({"last_language": "fr", "preferred_name": null, "whatsapp_consent": null});
    let r = server.request("PUT", &path, Some(&token), Some(&bad_lang.to_string()));
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (400, Some("last_language"))
    );
    let stranger = format!("/api/callers/{}/preferences", "b".repeat(64));
    let r = server.request("PUT", &stranger, Some(&token), Some(&body.to_string()));
    assert_eq!(r.status, 404, "{}", r.text);

    // The day of the two calls: calls, handoffs and turn latency percentiles.
    let r = server.request(
        "GET",
        "/api/stats?business_id=himalayan_kitchen&date_from=2026-11-19&date_to=2026-11-21",
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let days = r.json["days"].as_array().unwrap();
    assert_eq!(days.len(), 3, "every day of the range: {}", r.text);
    assert_eq!(days[0]["calls"], 0);
    let day = &days[1];
    assert_eq!(day["date"], "2026-11-20");
    assert_eq!(
        (day["calls"].as_u64(), day["handoffs"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(day["turns_timed"], 5);
    assert_eq!(day["turn_latency_p50_ms"], 500);
    assert_eq!(day["turn_latency_p95_ms"], 1_900);
    assert_eq!(days[2]["turn_latency_p50_ms"], serde_json::Value::Null);
}

#[test]
fn stats_follow_bookings_as_they_are_made_changed_and_cancelled() {
    let server = Server::start();
    let token = server.login();
    let (day, other) = (open_date(3), open_date(5));
    let book = |party: u32, time: &str| -> u64 {
        let body = json!({
            "business_id": "himalayan_kitchen", "customer_name": "Asha Rawat",
            "party_size": party, "date": day.to_string(), "time": time,
        });
        let r = server.request(
            "POST",
            "/api/reservations",
            Some(&token),
            Some(&body.to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_u64().unwrap()
    };
    let counts = |date: NaiveDate| -> (u64, u64) {
        let r = server.request(
            "GET",
            &format!("/api/stats?business_id=himalayan_kitchen&date_from={date}&date_to={date}"),
            Some(&token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let d = &r.json["days"][0];
        (
            d["bookings"].as_u64().unwrap(),
            d["covers"].as_u64().unwrap(),
        )
    };
    let a = book(4, "19:00");
    let b = book(2, "20:00");
    assert_eq!(counts(day), (2, 6));
    let r = server.request(
        "POST",
        &format!("/api/reservations/{a}/cancel"),
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        counts(day),
        (1, 2),
        "a cancelled booking leaves the counters"
    );
    let patch = json!({"party_size": 6}).to_string();
    let r = server.request(
        "PATCH",
        &format!("/api/reservations/{b}"),
        Some(&token),
        Some(&patch),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(counts(day), (1, 6), "a new party size changes the covers");
    let patch = json!({"date": other.to_string()}).to_string();
    let r = server.request(
        "PATCH",
        &format!("/api/reservations/{b}"),
        Some(&token),
        Some(&patch),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(counts(day), (0, 0), "a moved booking leaves its old day");
    assert_eq!(counts(other), (1, 6), "… and arrives on its new one");

    // Without dates: the last seven days up to today.
    let r = server.request(
        "GET",
        "/api/stats?business_id=himalayan_kitchen",
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["days"].as_array().unwrap().len(), 7);
    // Refusals.
    let r = server.request("GET", "/api/stats?business_id=nowhere", Some(&token), None);
    assert_eq!(r.status, 404, "{}", r.text);
    let r = server.request("GET", "/api/stats", Some(&token), None);
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (400, Some("business_id"))
    );
    let r = server.request(
        "GET",
        "/api/stats?business_id=himalayan_kitchen&date_from=2020-01-01&date_to=2026-01-01",
        Some(&token),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.text);
    let r = server.request(
        "GET",
        "/api/stats?business_id=himalayan_kitchen",
        None,
        None,
    );
    assert_eq!(r.status, 401);
}
