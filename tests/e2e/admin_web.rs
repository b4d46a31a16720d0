//! The admin web app in a real browser: Debian's Chromium (headless) driven by playwright-core
//! (`web/e2e/admin.e2e.mjs`) against a real `vartalaap serve` serving the built admin
//! (`web/dist`). Scenarios: `/` leads to the admin, a wrong password is refused and the right
//! one logs in; a booking made in the admin (with a refused date shown at its field first)
//! appears on the dashboard's chart, and a caller-supplied name with HTML in it stays text;
//! the dashboard fits a 390×844 phone screen; Try it quotes a menu price; and "Call the bot"
//! in Try it talks to the bot through Chromium's fake microphone (`web/e2e/talk.e2e.mjs`).
//! The Business config editor has its own scenarios (`web/e2e/config.e2e.mjs`); a simulated
//! phone call is saved as a conversation test from its call page and replays
//! (`web/e2e/save-test.e2e.mjs`). A large-party callback is worked through, and a phone call
//! that went badly shows its transcript, review and suggestion, which the owner marks
//! implemented; the dashboard shows latency and top suggestions on a phone screen
//! (`web/e2e/reviews.e2e.mjs`).
//! Screenshots of every scenario go to `web/e2e-output/` (or `ADMIN_E2E_OUTPUT`).
//!
//! Needs Node, `npm ci` and `npm run build` in web/, and the `chromium` package:
//! `WITH_WEB=1 scripts/setup.sh` does all of it (scripts/test.sh does). Without them this
//! test says so and passes, unless `VARTALAAP_REQUIRE_TOOLS=1` (CI), where it fails.

mod common;
#[path = "common/phone_call.rs"]
mod phone_call;

use std::path::PathBuf;
use std::process::Command;

use common::{ADMIN_PASSWORD, Server, repo_root};

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// What is missing to run the browser tests, if anything.
fn missing_tools() -> Option<String> {
    let web = repo_root().join("web");
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !web.join("node_modules/playwright-core").is_dir() {
        return Some("web/node_modules is missing (npm ci in web/)".into());
    }
    if !web.join("dist/index.html").is_file() {
        return Some("the admin is not built (npm run build in web/)".into());
    }
    if !chromium().is_file() {
        return Some(format!(
            "{} is missing (apt install chromium)",
            chromium().display()
        ));
    }
    None
}

/// Whether the browser tests can run; `false` when the tools are missing outside CI (the test
/// then passes with a SKIPPED line, as the module doc says).
fn browser_tools_ready() -> bool {
    if let Some(missing) = missing_tools() {
        let required = std::env::var("VARTALAAP_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{missing}: run WITH_WEB=1 scripts/setup.sh (scripts/test.sh does)"
        );
        eprintln!("SKIPPED: {missing} (WITH_WEB=1 scripts/setup.sh)");
        return false;
    }
    true
}

/// The built admin (`web/dist`), as the server's `ADMIN_WEB_DIR`.
fn admin_web_dir() -> String {
    repo_root().join("web/dist").display().to_string()
}

/// Runs one browser script (`web/e2e/<script>`) against a fresh server started with `env`, and
/// returns its output and the server; `None` when the tools are missing outside CI.
fn run_browser_script(script: &str, env: &[(&str, &str)]) -> Option<(String, Server)> {
    if !browser_tools_ready() {
        return None;
    }
    let dist = admin_web_dir();
    let mut server_env = vec![("ADMIN_WEB_DIR", dist.as_str())];
    server_env.extend_from_slice(env);
    let server = Server::start_with(&server_env);
    let stdout = run_script(&server, script, &[]);
    Some((stdout, server))
}

/// Runs `web/e2e/<script>` against `server` with `env` added to its environment; returns what
/// it printed, failing the test when it fails.
fn run_script(server: &Server, script: &str, env: &[(&str, &str)]) -> String {
    let web = repo_root().join("web");
    let output_dir = std::env::var_os("ADMIN_E2E_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| web.join("e2e-output"));
    let run = Command::new("node")
        .arg(format!("e2e/{script}"))
        .current_dir(&web)
        .env("ADMIN_URL", format!("http://{}", server.addr))
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SCREENSHOT_DIR", &output_dir)
        .env("CHROMIUM", chromium())
        .envs(env.iter().copied())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "browser scenarios failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        server.logs()
    );
    stdout
}

#[test]
fn the_admin_works_in_a_real_browser() {
    let Some((stdout, server)) = run_browser_script("admin.e2e.mjs", &[]) else {
        return;
    };
    assert!(
        stdout.contains("admin e2e: 4 passed, 0 failed"),
        "not every scenario ran:\n{stdout}"
    );
    // The start-up log points the owner at the admin.
    assert!(
        server.logs().contains("/admin/"),
        "the start-up log does not name the admin URL"
    );
}

/// "Talk to it" from the Try it page: Chromium's fake microphone plays an espeak-ng question
/// (`web/e2e/talk.e2e.mjs`), the offline recogniser hears it, the bot's reply shows in the
/// call transcript, and hanging up links to the call log.
#[test]
fn the_owner_talks_to_the_bot_through_the_browsers_microphone() {
    let model_dir = std::env::var("VARTALAAP_MODEL_DIR").unwrap_or_default();
    let mut env = Vec::new();
    if !model_dir.is_empty() {
        env.push(("VARTALAAP_MODEL_DIR", model_dir.as_str()));
    }
    let Some((stdout, server)) = run_browser_script("talk.e2e.mjs", &env) else {
        return;
    };
    assert!(
        stdout.contains("talk e2e: 1 passed, 0 failed"),
        "the microphone scenario did not run:\n{stdout}"
    );
    // The call went through the phone call's pipeline and was logged as the admin's browser.
    let token = server.login();
    let calls = server.request("GET", "/api/calls", Some(&token), None);
    assert!(
        calls.text.contains("browser-"),
        "no browser call in the call log: {}",
        calls.text
    );
}

/// The Business config editor (`web/e2e/config.e2e.mjs`): a deep link to a dish's price opens
/// the file at that line; the price is changed and saved, and Try it quotes the new one; a
/// broken price is shown at its line before saving and the old version keeps answering; the
/// save is reverted from the history (on a phone-sized screen).
#[test]
fn the_owner_edits_the_business_config_in_a_real_browser() {
    let Some((stdout, server)) = run_browser_script("config.e2e.mjs", &[]) else {
        return;
    };
    assert!(
        stdout.contains("config e2e: 3 passed, 0 failed"),
        "not every config scenario ran:\n{stdout}"
    );
    // The save and the revert went through the server's history; the broken text never did.
    let token = server.login();
    let history = server.request(
        "GET",
        "/api/config/history?path=businesses/himalayan_kitchen.yaml",
        Some(&token),
        None,
    );
    assert_eq!(history.status, 200, "{}", history.text);
    let kinds: Vec<&str> = history.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["revert", "save"], "history: {}", history.text);
    let file = server.request(
        "GET",
        "/api/config/files/businesses/himalayan_kitchen.yaml",
        Some(&token),
        None,
    );
    let shipped =
        std::fs::read_to_string(repo_root().join("businesses/himalayan_kitchen.yaml")).unwrap();
    assert_eq!(
        file.json["content"].as_str(),
        Some(shipped.as_str()),
        "after the revert the file is not the shipped one again"
    );
}

/// "Save as test" (`web/e2e/save-test.e2e.mjs`): a simulated phone call (the call simulator
/// against this server) is opened on its call page and saved as a test; `vartalaap test` then
/// replays the file the server wrote and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_call_saved_as_a_test_in_the_admin_replays() {
    if !browser_tools_ready() {
        return;
    }
    if !phone_call::espeak_available() {
        eprintln!("SKIPPED: espeak-ng is not installed (it voices the simulated caller)");
        return;
    }
    let request = format!(
        "{} raat 8 baje 4 log ke liye table chahiye",
        phone_call::booking_day_word()
    );
    let lines = ["pizza milta hai kya", request.as_str(), "Amit ke naam se"];
    let dist = admin_web_dir();
    let rig = phone_call::rig(&lines, &[("ADMIN_WEB_DIR", dist.as_str())]).await;
    let call_id = rig.call(&lines).await.to_string();
    let stdout = tokio::task::block_in_place(|| {
        run_script(
            &rig.server,
            "save-test.e2e.mjs",
            &[("CALL_ID", call_id.as_str())],
        )
    });
    assert!(
        stdout.contains("save-test e2e: 1 passed, 0 failed"),
        "the scenario did not run:\n{stdout}"
    );
    let dir = rig.server.dir.path();
    let file = dir.join("tests/conversations/saved_from_admin.yaml");
    assert!(
        stdout.contains(&format!("SAVED {}", file.display())),
        "{stdout}"
    );
    let replay = std::process::Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .args(["test", "tests/conversations/saved_from_admin.yaml"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&replay.stdout);
    assert!(
        replay.status.success() && printed.contains("dialogues: 1 passed, 0 failed"),
        "{printed}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
}

/// The review loop and the callbacks in the browser (`web/e2e/reviews.e2e.mjs`). Before the
/// browser starts, a large party leaves a callback request through the text conversation API
/// and a phone call that goes badly (a dish not on the menu, the party size corrected twice,
/// a hang-up before confirming) comes in through the call simulator; its review is awaited
/// through `GET /api/calls/{id}/review`. The browser then works the callback (status + note,
/// kept after a reload), opens the call (summary, transcript, review, suggestion), marks the
/// suggestion implemented from the Reviews page, and checks the dashboard on a 390×844 screen.
/// Afterwards the API must show what the browser did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_works_callbacks_and_reviews_in_a_real_browser() {
    if !browser_tools_ready() {
        return;
    }
    if !phone_call::espeak_available() {
        let required = std::env::var("VARTALAAP_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "espeak-ng is missing (scripts/setup.sh installs it)"
        );
        eprintln!("SKIPPED: espeak-ng is missing");
        return;
    }
    let caller_lines = [
        "how much is the pizza",
        "table for 4 on Saturday at 8 pm",
        "my name is Amit",
        "no, make it 5 people",
        "no, make it 6 people",
    ];
    let dist = admin_web_dir();
    let rig = phone_call::rig(&caller_lines, &[("ADMIN_WEB_DIR", dist.as_str())]).await;
    let server = &rig.server;
    let api = |method: &str, path: &str, body: Option<&str>| {
        tokio::task::block_in_place(|| {
            let token = server.login();
            server.request(method, path, Some(&token), body)
        })
    };

    // A party of twelve becomes a callback request for the manager.
    let started = api(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(r#"{"at": "2026-11-25T12:00:00+05:30", "caller": "+91 98111 22333"}"#),
    );
    assert_eq!(started.status, 201, "{}", started.text);
    let conversation = started.json["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::task::block_in_place(|| {
        let token = server.login();
        server.say(
            &token,
            &conversation,
            "I want to book a table for 12 people on Sunday at 1 pm",
        );
        let last = server.say(&token, &conversation, "Mr Khanna");
        assert!(
            last["actions"].to_string().contains("create_callback"),
            "{last}"
        );
    });
    let callbacks = api("GET", "/api/callbacks?business_id=himalayan_kitchen", None);
    let callback_id = callbacks.json["items"][0]["id"]
        .as_u64()
        .unwrap()
        .to_string();

    // The call that goes badly, and its review.
    let call_id = rig.call(&caller_lines).await;
    let mut review = api("GET", &format!("/api/calls/{call_id}/review"), None);
    for _ in 0..300 {
        if review.status == 200 {
            break;
        }
        assert_eq!(review.status, 404, "{}", review.text);
        assert!(review.text.contains("no review yet"), "{}", review.text);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        review = api("GET", &format!("/api/calls/{call_id}/review"), None);
    }
    assert_eq!(review.status, 200, "{}\n{}", review.text, server.logs());
    assert_eq!(review.json["review"]["call_id"], call_id);
    let suggestion = review.json["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["category"] == "knowledge_gap")
        .unwrap_or_else(|| panic!("no knowledge_gap suggestion: {:#}", review.json))
        .clone();
    let suggestion_id = suggestion["id"].as_u64().unwrap();
    let unknown = api("GET", "/api/calls/999999/review", None);
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert!(unknown.text.contains("not found"), "{}", unknown.text);

    let call_id = call_id.to_string();
    let suggestion = suggestion_id.to_string();
    let stdout = tokio::task::block_in_place(|| {
        run_script(
            server,
            "reviews.e2e.mjs",
            &[
                ("CALL_ID", call_id.as_str()),
                ("CALLBACK_ID", callback_id.as_str()),
                ("SUGGESTION_ID", suggestion.as_str()),
            ],
        )
    });
    assert!(
        stdout.contains("reviews e2e: 3 passed, 0 failed"),
        "not every scenario ran:\n{stdout}"
    );
    // What the browser did is stored.
    let callback = api("GET", "/api/callbacks?business_id=himalayan_kitchen", None);
    let worked = &callback.json["items"][0];
    assert_eq!(worked["status"], "contacted", "{worked:#}");
    assert_eq!(
        worked["staff_note"], "Called back, offered the 13:00 sitting",
        "{worked:#}"
    );
    let decided = api(
        "GET",
        "/api/reviews/suggestions?business_id=himalayan_kitchen&status=implemented",
        None,
    );
    assert!(
        decided.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == suggestion_id),
        "{}",
        decided.text
    );
}
