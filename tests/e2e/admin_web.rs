//! The admin web app in a real browser: Debian's Chromium (headless) driven by playwright-core
//! (`web/e2e/admin.e2e.mjs`) against a real `vartalaap serve` serving the built admin
//! (`web/dist`). Scenarios: `/` leads to the admin, a wrong password is refused and the right
//! one logs in; a booking made in the admin (with a refused date shown at its field first)
//! appears on the dashboard's chart, and a caller-supplied name with HTML in it stays text;
//! the dashboard fits a 390×844 phone screen; Try it quotes a menu price; and "Call the bot"
//! in Try it talks to the bot through Chromium's fake microphone (`web/e2e/talk.e2e.mjs`).
//! The Business config editor has its own scenarios (`web/e2e/config.e2e.mjs`).
//! Screenshots of every scenario go to `web/e2e-output/` (or `ADMIN_E2E_OUTPUT`).
//!
//! Needs Node, `npm ci` and `npm run build` in web/, and the `chromium` package:
//! `WITH_WEB=1 scripts/setup.sh` does all of it (scripts/test.sh does). Without them this
//! test says so and passes, unless `VARTALAAP_REQUIRE_TOOLS=1` (CI), where it fails.

mod common;

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

/// Runs one browser script (`web/e2e/<script>`) against a fresh server started with `env`, and
/// returns its output and the server; `None` when the tools are missing outside CI (the test
/// then passes with a SKIPPED line, as the module doc says).
fn run_browser_script(script: &str, env: &[(&str, &str)]) -> Option<(String, Server)> {
    if let Some(missing) = missing_tools() {
        let required = std::env::var("VARTALAAP_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{missing}: run WITH_WEB=1 scripts/setup.sh (scripts/test.sh does)"
        );
        eprintln!("SKIPPED: {missing} (WITH_WEB=1 scripts/setup.sh)");
        return None;
    }
    let web = repo_root().join("web");
    let dist = web.join("dist");
    let mut server_env = vec![("ADMIN_WEB_DIR", dist.to_str().unwrap())];
    server_env.extend_from_slice(env);
    let server = Server::start_with(&server_env);
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
    Some((stdout, server))
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
