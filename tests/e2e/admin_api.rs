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
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
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

/// Asks a fresh text conversation the price of masala chai and returns the bot's reply.
fn chai_price(server: &Server, token: &str) -> String {
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(token),
        Some(&json!({ "at": "2026-11-25T12:00:00+05:30" }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    let reply = server.say(token, &id, "how much is the masala chai");
    reply["reply"].as_str().unwrap().to_string()
}

#[test]
fn the_config_editor_changes_a_price_live_and_refuses_a_broken_save() {
    const FILE: &str = "/api/config/files/businesses/himalayan_kitchen.yaml";
    let server = Server::start();
    let token = server.login();
    let listing = server.request("GET", "/api/config/files", Some(&token), None);
    assert_eq!(listing.status, 200, "{}", listing.text);
    let paths: Vec<&str> = listing.json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "businesses/himalayan_kitchen.yaml",
        "businesses/muskaan_dental.yaml",
    ] {
        assert!(paths.contains(&expected), "{paths:?}");
    }
    assert!(paths.iter().any(|p| p.starts_with("flows/")), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("plugins/")), "{paths:?}");

    let original = server.request("GET", FILE, Some(&token), None);
    assert_eq!(original.status, 200, "{}", original.text);
    let text = original.json["content"].as_str().unwrap().to_string();
    let sha = original.json["sha256"].as_str().unwrap().to_string();
    assert!(chai_price(&server, &token).contains("sixty rupees"));

    // The chai's price line, and the same file with it changed or broken.
    let chai_line = text
        .lines()
        .position(|l| l.contains("id: masala_chai"))
        .unwrap()
        + 4;
    assert_eq!(
        text.lines().nth(chai_line - 1).unwrap().trim(),
        "price_inr: 60"
    );
    let with_price = |price: &str| -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[chai_line - 1] = format!("          price_inr: {price}");
        lines.join("\n") + "\n"
    };

    // Checked before saving: the mistake at its line, nothing written.
    let broken = with_price("sixty");
    let check = server.request(
        "POST",
        &format!("{FILE}/check"),
        Some(&token),
        Some(&json!({ "content": broken }).to_string()),
    );
    assert_eq!(check.status, 200, "{}", check.text);
    assert_eq!(check.json["valid"], false);
    let first = &check.json["errors"][0];
    assert_eq!(first["file"], "businesses/himalayan_kitchen.yaml");
    assert_eq!(first["line"], chai_line, "{}", check.text);
    let good = with_price("90");
    let check = server.request(
        "POST",
        &format!("{FILE}/check"),
        Some(&token),
        Some(&json!({ "content": good }).to_string()),
    );
    assert_eq!(
        (check.status, &check.json["valid"]),
        (200, &json!(true)),
        "{}",
        check.text
    );
    assert_eq!(
        server.request("GET", FILE, Some(&token), None).json["sha256"],
        sha,
        "a check writes nothing"
    );

    // Saved: live at once, the bot quotes the new price.
    let saved = server.request(
        "PUT",
        FILE,
        Some(&token),
        Some(&json!({ "content": good, "base_sha256": sha }).to_string()),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.json["saved"], true);
    assert!(
        saved.json["reload"]["updated"]
            .to_string()
            .contains("himalayan_kitchen"),
        "{}",
        saved.text
    );
    assert!(
        chai_price(&server, &token).contains("ninety rupees"),
        "the bot quotes the new price"
    );
    let new_sha = saved.json["sha256"].as_str().unwrap().to_string();

    // A broken save is refused with the error at its line; the saved version stays live.
    let refused = server.request(
        "PUT",
        FILE,
        Some(&token),
        Some(&json!({ "content": broken }).to_string()),
    );
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["field"], "content");
    assert_eq!(
        refused.json["errors"][0]["line"], chai_line,
        "{}",
        refused.text
    );
    assert!(
        refused.json["error"]
            .as_str()
            .unwrap()
            .contains(&format!("businesses/himalayan_kitchen.yaml:{chai_line}")),
        "{}",
        refused.text
    );
    let on_disk = std::fs::read_to_string(server.business_file()).unwrap();
    assert_eq!(on_disk, good, "a refused save writes nothing");
    assert!(chai_price(&server, &token).contains("ninety rupees"));
    // A save over a stale copy is refused too.
    let stale = server.request(
        "PUT",
        FILE,
        Some(&token),
        Some(&json!({ "content": with_price("95"), "base_sha256": sha }).to_string()),
    );
    assert_eq!(
        (stale.status, stale.json["field"].as_str()),
        (409, Some("base_sha256"))
    );

    // History with the diff, then revert.
    let history = server.request(
        "GET",
        "/api/config/history?path=businesses/himalayan_kitchen.yaml",
        Some(&token),
        None,
    );
    assert_eq!(history.status, 200, "{}", history.text);
    let items = history.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", history.text);
    assert_eq!(items[0]["after_sha256"], new_sha.as_str());
    let id = items[0]["id"].as_u64().unwrap();
    let detail = server.request(
        "GET",
        &format!("/api/config/history/{id}"),
        Some(&token),
        None,
    );
    let diff = detail.json["diff"].as_str().unwrap();
    assert!(diff.contains("-          price_inr: 60"), "{diff}");
    assert!(diff.contains("+          price_inr: 90"), "{diff}");
    let reverted = server.request(
        "POST",
        &format!("/api/config/history/{id}/revert"),
        Some(&token),
        None,
    );
    assert_eq!(reverted.status, 200, "{}", reverted.text);
    assert_eq!(reverted.json["sha256"], sha.as_str());
    assert_eq!(reverted.json["history"]["reverts"], id);
    assert!(chai_price(&server, &token).contains("sixty rupees"));

    // Only the three directories' plain file names; size-bounded; admin only.
    for path in [
        "/api/config/files/businesses/..%2F..%2Fdata%2Fvartalaap.redb",
        "/api/config/files/businesses/..",
        "/api/config/files/data/vartalaap.redb",
        "/api/config/files/businesses/.himalayan_kitchen.yaml",
        "/api/config/files/plugins/himalayan_kitchen.yaml",
    ] {
        let r = server.request("GET", path, Some(&token), None);
        assert!(
            matches!(r.status, 400 | 404),
            "{path}: {} {}",
            r.status,
            r.text
        );
        assert!(r.json["error"].is_string(), "{path}: {}", r.text);
    }
    let r = server.request(
        "GET",
        "/api/config/files/businesses/nowhere.yaml",
        Some(&token),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let huge = json!({ "content": "#".repeat(300 * 1024) }).to_string();
    let r = server.request("PUT", FILE, Some(&token), Some(&huge));
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(server.request("GET", FILE, None, None).status, 401);
    assert_eq!(
        server
            .request(
                "PUT",
                FILE,
                None,
                Some(&json!({ "content": good }).to_string())
            )
            .status,
        401
    );
}
