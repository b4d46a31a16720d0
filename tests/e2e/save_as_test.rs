//! "Save as test" end to end: a real phone call (the call simulator dialling a real `vartalaap
//! serve`, see `common/phone_call.rs`) becomes a dialogue file through the API
//! (`POST /api/calls/{id}/test`) and through the command line (`vartalaap test record`, with the
//! server stopped); `vartalaap test <file>` then passes against the same configuration and fails
//! once the configuration changes what the bot says. Also every refusal: unknown call, a call
//! with no caller turns, an unsafe name, an existing file, a database held by a running server.

mod common;
#[path = "common/phone_call.rs"]
mod phone_call;

use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use common::{KEY, PEPPER, SESSION};
use phone_call::{booking_day_word, espeak_available, rig};
use serde_json::json;
use vartalaap_store::{
    CallEnd, CallOutcome, HashPepper, NewCall, NewTurn, PhoneCrypto, PhoneKey, Store, TurnRole,
    TurnTimings,
};

/// `vartalaap <args>` in `dir` with the test server's keys (so it opens the same database).
fn vartalaap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PHONE_ENCRYPTION_KEY", KEY)
        .env("PHONE_HASH_PEPPER", PEPPER)
        .env("SESSION_SECRET", SESSION)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `vartalaap test <file>` passes; then, with the Hindi greeting reworded, it fails on the
/// greeting (turn 0) and shows what the bot says now.
fn replays_then_fails_after_a_config_change(dir: &Path, file: &str) {
    let out = vartalaap(dir, &["test", file]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("dialogues: 1 passed, 0 failed"),
        "{}",
        text(&out)
    );
    let business = dir.join("businesses/himalayan_kitchen.yaml");
    let yaml = std::fs::read_to_string(&business).unwrap();
    let edited = yaml.replacen("में आपका स्वागत है", "में आपका हार्दिक स्वागत है", 1);
    assert_ne!(edited, yaml);
    std::fs::write(&business, edited).unwrap();
    let out = vartalaap(dir, &["test", file]);
    assert!(!out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains(&format!("FAIL {file}")), "{printed}");
    assert!(printed.contains(":turn 0: expected exactly"), "{printed}");
    assert!(printed.contains("हार्दिक"), "{printed}");
    std::fs::write(&business, yaml).unwrap();
}

/// A call with a greeting and no caller turn (the caller said nothing), stored directly.
fn store_silent_call(dir: &Path) -> u64 {
    let crypto = PhoneCrypto::new(
        PhoneKey::from_text_fingerprinted(KEY).unwrap(),
        HashPepper::new(PEPPER.as_bytes().to_vec()).unwrap(),
    );
    let store = Store::open(dir.join("data/vartalaap.redb"), crypto).unwrap();
    let now = Utc::now();
    let call = store
        .create_call(
            &NewCall {
                business_id: "himalayan_kitchen".into(),
                external_call_id: Some("silent-call".into()),
                caller: None,
                started_at: now,
                language: Some("hi".into()),
            },
            now,
        )
        .unwrap();
    store
        .append_turn(
            call.id,
            &NewTurn {
                role: TurnRole::Bot,
                text: "नमस्ते".into(),
                language: Some("hi".into()),
                stt_confidence: None,
                started_at: now,
                timings: TurnTimings::default(),
                handled_by: None,
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
            },
            now,
        )
        .unwrap();
    store
        .finish_call(
            call.id,
            &CallEnd {
                ended_at: now,
                outcome: CallOutcome::Abandoned,
                reservation_id: None,
                language: None,
                summary: None,
            },
            now,
        )
        .unwrap();
    call.id
}

/// The checks every recorded file of the booking call passes: the call's own reference time
/// in the business's zone, every caller line, the slots the booking filled, and no phone
/// number anywhere.
fn check_recorded_file(content: &str, lines: &[&str]) {
    assert!(!content.contains("98765"), "{content}");
    assert!(!content.contains("43210"), "{content}");
    let dialogue: serde_json::Value = serde_yaml::from_str(content).unwrap();
    assert_eq!(dialogue["business"], "himalayan_kitchen");
    let at = dialogue["at"].as_str().unwrap();
    assert!(at.ends_with("+05:30"), "{at}");
    let turns = dialogue["turns"].as_array().unwrap();
    assert_eq!(
        turns.len(),
        lines.len() + 1,
        "greeting + one per line: {content}"
    );
    assert!(turns[0]["bot"]["say"].as_str().unwrap().contains("स्वागत"));
    for (turn, line) in turns[1..].iter().zip(lines) {
        assert_eq!(turn["caller"], *line, "{content}");
        assert!(turn["bot"]["say"].is_string(), "{content}");
    }
    let party = turns
        .iter()
        .find(|t| t["slots"]["party_size"].is_number())
        .unwrap_or_else(|| panic!("no party_size slot: {content}"));
    assert_eq!(party["slots"]["party_size"], 4, "{content}");
    assert!(
        turns
            .iter()
            .any(|t| t["actions"].to_string().contains("check_availability")),
        "{content}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_saved_through_the_api_replays_and_fails_when_the_config_changes() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let request = format!(
        "{} raat 8 baje 4 log ke liye table chahiye",
        booking_day_word()
    );
    let lines = ["pizza milta hai kya", request.as_str(), "Amit ke naam se"];
    let rig = rig(&lines, &[]).await;
    let id = rig.call(&lines).await;
    let server = &rig.server;
    let token = tokio::task::block_in_place(|| server.login());
    let post = |path: &str, token: Option<&str>, body: Option<&str>| {
        tokio::task::block_in_place(|| server.request("POST", path, token, body))
    };
    let path = format!("/api/calls/{id}/test");

    let r = post(
        &path,
        Some(&token),
        Some(r#"{"name": "pizza_then_booking"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let written = server
        .dir
        .path()
        .join("tests/conversations/pizza_then_booking.yaml");
    assert_eq!(r.json["path"], written.display().to_string());
    let content = r.json["content"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(&written).unwrap(), content);
    assert_eq!(r.json["name"], "pizza_then_booking");
    assert_eq!(r.json["turns"], lines.len() + 1);
    assert_eq!(
        r.json["notes"],
        json!([]),
        "every reply replayed: {content}"
    );
    check_recorded_file(content, &lines);

    // Refusals.
    let r = post(
        &path,
        Some(&token),
        Some(r#"{"name": "pizza_then_booking"}"#),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.json["field"], "name");
    assert!(
        r.json["error"].as_str().unwrap().contains("force"),
        "{}",
        r.text
    );
    let r = post(
        &path,
        Some(&token),
        Some(r#"{"name": "pizza_then_booking", "force": true}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = post(&path, Some(&token), Some(r#"{"name": "../escape"}"#));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["field"], "name");
    let r = post("/api/calls/999999/test", Some(&token), Some("{}"));
    assert_eq!(r.status, 404, "{}", r.text);
    let r = post(&path, None, Some("{}"));
    assert_eq!(r.status, 401, "{}", r.text);
    // An empty object: the default name.
    let r = post(&path, Some(&token), Some("{}"));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["name"], format!("call_{id}"));

    replays_then_fails_after_a_config_change(
        server.dir.path(),
        "tests/conversations/pizza_then_booking.yaml",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_records_a_call_once_the_server_is_stopped() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let request = format!(
        "{} raat 8 baje 4 log ke liye table chahiye",
        booking_day_word()
    );
    let lines = [request.as_str(), "Amit ke naam se"];
    let rig = rig(&lines, &[]).await;
    let id = rig.call(&lines).await;
    let id_arg = id.to_string();

    // While the server holds the database, the command says so and points to the API.
    let out = vartalaap(rig.server.dir.path(), &["test", "record", &id_arg]);
    assert!(!out.status.success());
    let printed = text(&out);
    assert!(printed.contains("in use by a running server"), "{printed}");
    assert!(
        printed.contains(&format!("POST /api/calls/{id}/test")),
        "{printed}"
    );

    let dir = tokio::task::block_in_place(|| rig.server.stop());
    let dir = dir.path();
    let out = vartalaap(dir, &["test", "record", &id_arg, "--name", "booking_amit"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("tests/conversations/booking_amit.yaml"),
        "{}",
        text(&out)
    );
    let file = dir.join("tests/conversations/booking_amit.yaml");
    let content = std::fs::read_to_string(&file).unwrap();
    check_recorded_file(&content, &lines);

    // Refusals, each saying what to do.
    let out = vartalaap(dir, &["test", "record", &id_arg, "--name", "booking_amit"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    std::fs::write(&file, "changed by hand").unwrap();
    let out = vartalaap(
        dir,
        &[
            "test",
            "record",
            &id_arg,
            "--name",
            "booking_amit",
            "--force",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), content);
    let out = vartalaap(dir, &["test", "record", &id_arg, "--name", "a/b"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a usable test name"),
        "{}",
        text(&out)
    );
    let out = vartalaap(dir, &["test", "record", "999999"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("call 999999 not found"),
        "{}",
        text(&out)
    );
    let silent = store_silent_call(dir).to_string();
    let out = vartalaap(dir, &["test", "record", &silent]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no caller turns"), "{}", text(&out));

    // --dir writes elsewhere; the default name is call_<id>.
    let out = vartalaap(dir, &["test", "record", &id_arg, "--dir", "regressions"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.join(format!("regressions/call_{id}.yaml")).is_file());

    replays_then_fails_after_a_config_change(dir, "tests/conversations/booking_amit.yaml");
}
