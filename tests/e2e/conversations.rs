//! End-to-end tests of text conversations: the HTTP conversation API and `vartalaap chat`,
//! both running the real engine with bookings written to the real store.

mod common;

#[path = "../../engine/store/tests/common/webhook.rs"]
#[allow(dead_code)]
mod webhook;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, repo_root};
use serde_json::json;

const AT: &str = "2026-11-25T18:00:00+05:30"; // a Wednesday evening

#[test]
fn an_english_caller_books_through_the_conversation_api() {
    let server = Server::start();
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(&json!({ "at": AT, "caller": "+91 98765 43210" }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    assert!(!r.json["reply"].as_str().unwrap().is_empty(), "a greeting");
    assert_eq!(r.json["ended"], false);

    let reply = server.say(&token, &id, "Hi, I want to book a table");
    assert_eq!(reply["language"], "en");
    assert_eq!(reply["state"]["flow"], "make_reservation");
    assert_eq!(
        reply["handled_by"],
        json!({ "intent": "book_table", "flow": "make_reservation", "step": "ask_party_size" }),
        "{reply:#}"
    );
    server.say(&token, &id, "four people");
    let reply = server.say(&token, &id, "tomorrow");
    assert_eq!(reply["state"]["slots"]["date"], "2026-11-26");
    let reply = server.say(&token, &id, "8 pm");
    assert_eq!(reply["state"]["slots"]["time"], "20:00");
    server.say(&token, &id, "Rahul Sharma");
    let reply = server.say(&token, &id, "yes please");
    let actions = reply["actions"].to_string();
    assert!(actions.contains("\"book\""), "{reply:#}");

    let list = server.request(
        "GET",
        "/api/reservations?date_from=2026-11-26&date_to=2026-11-26",
        Some(&token),
        None,
    );
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["party_size"], 4);
    assert_eq!(items[0]["reservation_time"], "20:00");
    assert_eq!(items[0]["customer_name"], "Rahul Sharma");
    assert!(items[0]["phone_hash"].is_string());
}

#[test]
fn a_hinglish_caller_says_everything_at_once() {
    let server = Server::start();
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(&json!({ "at": AT }).to_string()),
    );
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    let reply = server.say(&token, &id, "kal raat 8 baje 4 log ke liye table chahiye");
    assert_eq!(reply["language"], "hinglish", "{reply:#}");
    let slots = &reply["state"]["slots"];
    assert_eq!(slots["party_size"], 4, "{reply:#}");
    assert_eq!(slots["date"], "2026-11-26");
    assert_eq!(slots["time"], "20:00");
}

#[test]
fn conversation_api_refusals() {
    let server = Server::start();
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        None,
        Some("{}"),
    );
    assert_eq!(r.status, 401);
    let r = server.request(
        "POST",
        "/api/businesses/nope/conversations",
        Some(&token),
        Some("{}"),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(r#"{"at":"tomorrow"}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json["field"], "at");
    let r = server.request(
        "POST",
        "/api/conversations/doesnotexist/messages",
        Some(&token),
        Some(r#"{"text":"hi"}"#),
    );
    assert_eq!(r.status, 404);
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(""),
    );
    assert_eq!(
        r.status, 201,
        "an empty body starts a conversation now: {}",
        r.text
    );
    let id = r.json["conversation_id"].as_str().unwrap();
    let r = server.request(
        "POST",
        &format!("/api/conversations/{id}/messages"),
        Some(&token),
        Some(r#"{"txt":"hi"}"#),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn chat_in_the_terminal_books_into_a_scratch_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .args([
            "chat",
            "himalayan_kitchen",
            "--at",
            AT,
            "--show-state",
            "--root",
        ])
        .arg(repo_root())
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"I want to book a table\nfour people\ntomorrow\n8 pm\nRahul Sharma\nyes please\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("bot [en]>"), "{stdout}");
    assert!(stdout.contains("flow=make_reservation"), "{stdout}");
    assert!(
        stdout.contains("handled_by: intent=book_table flow=make_reservation step=ask_party_size"),
        "{stdout}"
    );
    assert!(stdout.contains("\"tool\":\"book\""), "{stdout}");
    assert!(
        !dir.path().join("data/vartalaap.redb").exists(),
        "scratch database only"
    );
}

#[test]
fn vartalaap_test_runs_the_shipped_dialogues() {
    let out = Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .arg("test")
        .current_dir(repo_root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Coverage for himalayan_kitchen"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

/// The clinic's dialogues run against a scratch store; this runs the same flows against the
/// server's store through the conversation API: the `book` step's notes are stored on the
/// appointment, and moving it to another day is one `modify` (one reservation throughout, its
/// chair on the old day freed in the same transaction that takes the new one).
#[test]
fn a_dental_appointment_keeps_its_notes_and_moves_to_another_day_in_the_store() {
    const AT: &str = "2026-12-01T10:00:00+05:30"; // a Tuesday morning
    let server = Server::start();
    let token = server.login();
    let start = |caller: &str| -> String {
        let r = server.request(
            "POST",
            "/api/businesses/muskaan_dental/conversations",
            Some(&token),
            Some(&json!({ "at": AT, "caller": caller }).to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["conversation_id"].as_str().unwrap().to_string()
    };
    // One patient per call, Friday at 5 pm; returns the last reply.
    let book = |caller: &str, request: &str, name: &str| -> serde_json::Value {
        let id = start(caller);
        let reply = server.say(&token, &id, request);
        assert_eq!(reply["state"]["step"], "ask_name", "{reply:#}");
        server.say(&token, &id, name);
        server.say(&token, &id, "yes")
    };
    let listed = || {
        let list = server.request(
            "GET",
            "/api/reservations?business_id=muskaan_dental&date_from=2026-12-01&date_to=2026-12-10",
            Some(&token),
            None,
        );
        assert_eq!(list.status, 200, "{}", list.text);
        list.json["items"].as_array().unwrap().clone()
    };

    // The three chairs at Friday 5 pm: our patient (a cleaning) and two others.
    let reply = book(
        "+91 98765 43210",
        "I need a cleaning on Friday at 5 pm",
        "Meera Nair",
    );
    assert!(
        reply["actions"].to_string().contains("\"book\""),
        "{reply:#}"
    );
    for (caller, name) in [("+91 98765 43211", "Ravi"), ("+91 98765 43212", "Sana")] {
        book(caller, "book an appointment for Friday at 5 pm", name);
    }
    let before = listed();
    assert_eq!(before.len(), 3, "{before:#?}");
    let meera = before
        .iter()
        .find(|r| r["customer_name"] == "Meera Nair")
        .unwrap()
        .clone();
    assert_eq!(meera["notes"], "Scaling and polishing (cleaning)");
    // Full now: a fourth patient is refused that time.
    let id = start("+91 98765 43213");
    let reply = server.say(&token, &id, "book an appointment for Friday at 5 pm");
    assert!(reply["state"]["slots"]["time"].is_null(), "{reply:#}");

    // Meera moves hers to Monday at 11 am in a new call.
    let id = start("+91 98765 43210");
    let reply = server.say(&token, &id, "I want to reschedule my appointment");
    assert_eq!(reply["state"]["step"], "ask_old_date", "{reply:#}");
    let reply = server.say(&token, &id, "Friday");
    // Caller ID can be spoofed: the name on the appointment is asked before anything moves.
    assert_eq!(reply["state"]["step"], "ask_booking_name", "{reply:#}");
    server.say(&token, &id, "Meera Nair");
    let reply = server.say(&token, &id, "Monday at 11 am");
    assert_eq!(reply["state"]["step"], "confirm", "{reply:#}");
    let reply = server.say(&token, &id, "yes");
    let actions = reply["actions"].to_string();
    assert!(actions.contains("\"modify\""), "{reply:#}");
    assert!(
        !actions.contains("\"book\"") && !actions.contains("\"cancel\""),
        "{reply:#}"
    );

    let after = listed();
    assert_eq!(after.len(), 3, "still one reservation each: {after:#?}");
    let moved = after
        .iter()
        .find(|r| r["customer_name"] == "Meera Nair")
        .unwrap();
    assert_eq!(moved["id"], meera["id"], "the same reservation, moved");
    assert_eq!(moved["reservation_date"], "2026-12-07");
    assert_eq!(moved["reservation_time"], "11:00");
    assert_eq!(moved["status"], "confirmed");
    assert_eq!(moved["notes"], "Scaling and polishing (cleaning)");
    // Her Friday chair is free again: the fourth patient gets it.
    let reply = book(
        "+91 98765 43213",
        "book an appointment for Friday at 5 pm",
        "Kabir",
    );
    assert!(
        reply["actions"].to_string().contains("\"book\""),
        "{reply:#}"
    );
}

const WEBHOOK_TOKEN: &str = "whatsapp-relay-token-for-the-conversation-test";

/// Starts a server whose WhatsApp confirmations go to a local webhook receiver.
fn server_with_webhook(rt: &tokio::runtime::Runtime) -> (Server, webhook::Webhook) {
    let hook = rt.block_on(webhook::Webhook::start(Vec::new()));
    let server = Server::start_with(&[
        ("WHATSAPP_WEBHOOK_URL", hook.url.as_str()),
        ("WHATSAPP_WEBHOOK_TOKEN", WEBHOOK_TOKEN),
    ]);
    (server, hook)
}

fn followup_jobs(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let jobs = server.request("GET", "/api/jobs?kind=whatsapp_followup", Some(token), None);
    assert_eq!(jobs.status, 200, "{}", jobs.text);
    jobs.json["items"].as_array().cloned().unwrap_or_default()
}

/// The flows ask "shall I send the details on WhatsApp?" after booking. A "yes" then queues
/// the confirmation (one job, however often it is asked) and the relay receives it; a caller
/// without a number is never offered it.
#[test]
fn whatsapp_consent_given_after_a_chat_booking_is_delivered_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, hook) = server_with_webhook(&rt);
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(&json!({ "at": AT, "caller": "+91 98765 43210" }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    server.say(&token, &id, "table for two tomorrow at 8 pm");
    server.say(&token, &id, "Rahul");
    let reply = server.say(&token, &id, "yes");
    assert!(
        reply["reply"].as_str().unwrap().contains("WhatsApp"),
        "{reply:#}"
    );
    assert!(followup_jobs(&server, &token).is_empty(), "no consent yet");
    let reply = server.say(&token, &id, "yes please");
    assert!(
        reply["actions"].to_string().contains("\"send_followup\""),
        "{reply:#}"
    );
    assert!(
        reply["reply"]
            .as_str()
            .unwrap()
            .contains("sent the details on WhatsApp"),
        "{reply:#}"
    );
    assert_eq!(reply["handled_by"]["flow"], "make_reservation", "{reply:#}");
    let jobs = followup_jobs(&server, &token);
    assert_eq!(jobs.len(), 1, "{jobs:#?}");

    // The relay receives it, once, with the booking's details.
    let deadline = Instant::now() + Duration::from_secs(60);
    while hook.delivered().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the confirmation never reached the webhook:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let attempts = hook.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let body = &attempts[0].body;
    assert_eq!(body["to"], "+919876543210");
    assert_eq!(body["language"], "en");
    assert_eq!(body["parameters"]["date"], "2026-11-26");
    assert_eq!(body["parameters"]["time"], "20:00");
    assert_eq!(body["parameters"]["party_size"], 2);

    // Without a caller number the bot books but never offers or promises WhatsApp.
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(&json!({ "at": AT }).to_string()),
    );
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    server.say(&token, &id, "table for two tomorrow at 9 pm");
    server.say(&token, &id, "Meera");
    let reply = server.say(&token, &id, "yes");
    assert!(
        reply["actions"].to_string().contains("\"book\""),
        "{reply:#}"
    );
    assert!(
        !reply["reply"].as_str().unwrap().contains("WhatsApp"),
        "{reply:#}"
    );
    assert_eq!(
        reply["state"]["slots"]["whatsapp_consent"], false,
        "{reply:#}"
    );
    assert_eq!(
        followup_jobs(&server, &token).len(),
        1,
        "still only Rahul's"
    );
    // Tool failures are logged by name, not by an opaque discriminant.
    assert!(
        !server.logs().contains("Discriminant("),
        "{}",
        server.logs()
    );
    drop(server);
    drop(rt);
}

/// One-turn answers end their flow within the turn (`state.flow` is null afterwards), but the
/// reply still says which intent, flow and step handled it.
#[test]
fn every_turn_says_what_handled_it() {
    let server = Server::start();
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(&json!({ "at": "2026-11-25T12:00:00+05:30" }).to_string()),
    );
    assert_eq!(r.json["handled_by"]["flow"], "greeting", "{}", r.text);
    let id = r.json["conversation_id"].as_str().unwrap().to_string();
    let reply = server.say(&token, &id, "what time do you open");
    assert!(reply["state"]["flow"].is_null(), "{reply:#}");
    assert_eq!(
        reply["handled_by"],
        json!({ "intent": "ask_hours", "flow": "hours_and_location", "step": "hours" }),
        "{reply:#}"
    );
    let reply = server.say(&token, &id, "is the chilli paneer spicy");
    assert!(reply["state"]["flow"].is_null(), "{reply:#}");
    assert_eq!(reply["handled_by"]["intent"], "ask_menu", "{reply:#}");
    assert_eq!(reply["handled_by"]["flow"], "menu_question", "{reply:#}");
    let reply = server.say(&token, &id, "blorp flibber");
    assert!(reply["handled_by"]["intent"].is_null(), "{reply:#}");
    assert_eq!(reply["handled_by"]["flow"], "fallback", "{reply:#}");
}

/// `vartalaap test` runs tool calls through the server's executor over a scratch store, so a
/// dialogue can assert the jobs a call leaves behind — and one that claims a WhatsApp
/// confirmation the store never queued fails, naming the difference.
#[test]
fn vartalaap_test_checks_the_jobs_in_a_real_store() {
    let dir = tempfile::tempdir().unwrap();
    let dialogue = |caller_number: &str, answer: &str| {
        format!(
            r#"business: himalayan_kitchen
at: "2026-11-25T18:00:00+05:30"
caller_number: {caller_number}
turns:
  - caller: "table for two tomorrow at 8 pm"
  - caller: "Rahul"
  - caller: "yes"
  - caller: "{answer}"
expect:
  reservations: [{{ date: "2026-11-26", time: "20:00", party_size: 2, name: Rahul }}]
  jobs: [{{ kind: whatsapp_followup, reservation_name: Rahul, language: en }}]
"#
        )
    };
    std::fs::write(
        dir.path().join("a_yes.yaml"),
        dialogue("\"+91 98765 43210\"", "yes please"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b_no.yaml"),
        dialogue("\"+91 98765 43210\"", "no thanks"),
    )
    .unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_vartalaap"))
            .arg("test")
            .arg(dir.path())
            .arg("--root")
            .arg(repo_root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, stdout) = run();
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    assert!(
        stdout.contains("FAIL") && stdout.contains("b_no.yaml"),
        "{stdout}"
    );
    assert!(stdout.contains("end: jobs: expected"), "{stdout}");
    assert!(
        !stdout.contains("a_yes.yaml"),
        "the yes dialogue passes: {stdout}"
    );
}
