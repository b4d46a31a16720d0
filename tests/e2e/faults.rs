//! End-to-end hardening against faults and careless input (issue 10), through the real
//! binary: configuration bombs under a 2 GB address-space limit, the log scrubber in every log
//! format, files at rest, the purge schedule following hot reloads, and failing closed
//! (`before_booking` plugins that break, runaway templates, secrets in debug and trace logs).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Launch, Server, copy_tree, repo_root, strip_ansi};

/// Runs the server or the CLI with at most 2 GiB of address space (util-linux `prlimit`), so a
/// configuration that expands to gigabytes would kill the process instead of passing quietly.
const UNDER_2_GIB: [&str; 3] = ["prlimit", "--as=2147483648", "--"];

/// 1.2 MB of YAML: one 1 MiB string and 20,000 aliases of it (20 GiB once expanded).
fn alias_bomb() -> String {
    let mut text = format!(
        "bomb_text: &big \"{}\"\nbomb_list:\n",
        "x".repeat(1024 * 1024)
    );
    for _ in 0..20_000 {
        text.push_str("  - *big\n");
    }
    text
}

/// 3 MB of YAML: 60 nested 1,000-byte keys, then 45,000 leaves; each leaf's position is kept
/// under its full path, 60 KB, so parsing it naively holds 2.7 GB of paths.
fn long_keys_bomb() -> String {
    let mut text = String::new();
    for depth in 0..60 {
        text.push_str(&" ".repeat(depth));
        text.push_str(&format!("{}{depth:02}:\n", "k".repeat(1_000)));
    }
    let indent = " ".repeat(60);
    for leaf in 0..45_000 {
        text.push_str(&format!("{indent}v{leaf}: 1\n"));
    }
    text
}

fn config_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["businesses", "flows", "plugins"] {
        copy_tree(&repo_root().join(sub), &dir.path().join(sub));
    }
    dir
}

#[test]
fn validate_rejects_config_bombs_with_a_located_error_under_a_2_gib_limit() {
    let dir = config_copy();
    for (name, text) in [("aliases", alias_bomb()), ("long_keys", long_keys_bomb())] {
        let file = format!("businesses/{name}.yaml");
        std::fs::write(dir.path().join(&file), text).unwrap();
        let out = Command::new(UNDER_2_GIB[0])
            .args(&UNDER_2_GIB[1..])
            .arg(env!("CARGO_BIN_EXE_vartalaap"))
            .args(["validate", &file])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Exit 1 is "the file has errors"; a kill by the memory limit has no exit code.
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        let located = format!("{file}:");
        assert!(
            stdout.contains(&located) && stdout.contains("MiB of text"),
            "{name}: the error names the file, line and the budget:\n{stdout}"
        );
        std::fs::remove_file(dir.path().join(&file)).unwrap();
    }
}

/// Himalayan Kitchen's `last_rejected` in `/health/config`.
fn hk_rejection(health: &serde_json::Value) -> serde_json::Value {
    health["businesses"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["id"] == "himalayan_kitchen"))
        .map(|b| b["last_rejected"].clone())
        .unwrap_or_default()
}

#[test]
fn a_config_bomb_saved_on_a_live_server_is_rejected_and_conversations_keep_working() {
    let server = Server::launch(
        config_copy(),
        Launch {
            wrapper: &UNDER_2_GIB,
            ..Launch::default()
        },
    );
    let token = server.login();
    let good = std::fs::read_to_string(server.business_file()).unwrap();
    for bomb in [alias_bomb(), long_keys_bomb()] {
        // The owner's file keeps its real content and gains the bomb at the end.
        std::fs::write(server.business_file(), format!("{good}\n{bomb}")).unwrap();
        let health = server.wait_for_config("the bomb's rejection", |b| {
            hk_rejection(b)["errors"]
                .to_string()
                .contains("MiB of text")
        });
        let errors = hk_rejection(&health)["errors"].to_string();
        assert!(errors.contains("himalayan_kitchen.yaml"), "{errors}");
        // The server is alive and the last good version still answers.
        let (status, _) = server.get("/health");
        assert_eq!(status, 200);
        let r = server.request(
            "POST",
            "/api/businesses/himalayan_kitchen/conversations",
            Some(&token),
            Some(&serde_json::json!({ "at": "2026-11-25T18:00:00+05:30" }).to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.json["conversation_id"].as_str().unwrap().to_string();
        let reply = server.say(&token, &id, "what time do you open on sunday");
        assert!(
            reply["reply"].as_str().is_some_and(|t| !t.is_empty()),
            "{reply:#}"
        );
        // Clear the rejection before the next bomb.
        std::fs::write(
            server.business_file(),
            good.replacen("Himalayan Kitchen", "Himalayan Kitchen ", 1),
        )
        .unwrap();
        server.wait_for_config("the fix", |b| hk_rejection(b).is_null());
    }
}

/// A caller's number in the shapes it reaches text: plain, grouped as people read it out,
/// with the country code, and URL-encoded.
const NUMBER_SHAPES: [&str; 6] = [
    "9876543210",
    "98765 43210",
    "987 654 3210",
    "+91 98765-43210",
    "%2B919876543210",
    "+919876543210",
];

/// Makes the server log the number in every shape: configuration files named after it
/// (careless, but an owner may name a file after the business's number) are logged with the
/// file name as the business id — a value printed right after a colour code in the readable
/// format — and a conversation is opened from it.
fn log_the_number(server: &Server) {
    for (n, shape) in NUMBER_SHAPES.iter().enumerate() {
        let path = server.dir.path().join(format!("businesses/{shape}.yaml"));
        std::fs::write(&path, format!("name: caller {shape}\nbogus_{n}: {shape}\n")).unwrap();
    }
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(
            &serde_json::json!({ "at": "2026-11-25T18:00:00+05:30", "caller": "+91 98765 43210" })
                .to_string(),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // Every file was seen and reported (the rejections are logged as they are found).
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.console().matches("Configuration error").count() < NUMBER_SHAPES.len() {
        assert!(
            Instant::now() < deadline,
            "the files were not all reported:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The log files are written by a background thread; give it a moment.
    std::thread::sleep(Duration::from_millis(500));
}

fn assert_no_number(what: &str, text: &str) {
    for shape in NUMBER_SHAPES {
        assert!(
            !text.contains(shape),
            "{what}: the number reached the log as {shape:?}:\n{text}"
        );
    }
    assert!(
        !strip_ansi(text).contains("9876543210"),
        "{what}: the number survives once colour codes are removed:\n{text}"
    );
    assert!(
        text.contains("[phone]"),
        "{what}: nothing was redacted:\n{text}"
    );
}

fn assert_json_lines(what: &str, text: &str) {
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "{what}: not a JSON line: {line}"
        );
    }
}

fn log_files(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir.join("logs")).unwrap().flatten() {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap());
    }
    all
}

#[test]
fn the_number_is_redacted_in_coloured_console_lines_and_in_the_log_files() {
    let server = Server::launch(
        config_copy(),
        Launch {
            env: &[("LOG_FORMAT", "pretty")],
            ..Launch::default()
        },
    );
    log_the_number(&server);
    let console = server.console();
    assert!(console.contains('\u{1b}'), "the console lines are coloured");
    assert_no_number("coloured console", &console);
    let files = log_files(server.dir.path());
    assert_no_number("log files", &files);
    assert_json_lines("log files", &files);
}

#[test]
fn the_number_is_redacted_in_json_console_lines_which_stay_json() {
    let server = Server::start_in(config_copy(), &[]);
    log_the_number(&server);
    let console = server.console();
    assert_no_number("JSON console", &console);
    assert_json_lines("JSON console", &console);
    let files = log_files(server.dir.path());
    assert_no_number("log files", &files);
    assert_json_lines("log files", &files);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn data_logs_and_generated_secrets_are_private_and_the_password_stays_out_of_the_logs() {
    let server = Server::launch(
        config_copy(),
        Launch {
            without_secrets: true,
            ..Launch::default()
        },
    );
    let root = server.dir.path().to_path_buf();
    // No terminal: the generated password is in a private file, not in any log.
    let password_file = root.join("data/admin-password.txt");
    let password = std::fs::read_to_string(&password_file)
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", server.logs()))
        .trim()
        .to_string();
    assert!(password.len() >= 10, "{password:?}");
    let r = server.request(
        "POST",
        "/api/auth/login",
        None,
        Some(&serde_json::json!({ "password": password }).to_string()),
    );
    assert_eq!(r.status, 200, "the file's password logs in: {}", r.text);
    assert!(
        !server.logs().contains(&password),
        "the password was logged"
    );
    assert!(server.logs().contains("admin-password.txt"));
    let logs_dir = root.join("logs");
    let mut files = vec![
        (root.join("data"), 0o700),
        (root.join("data/vartalaap.redb"), 0o600),
        (root.join("data/dev-secrets.env"), 0o600),
        (password_file, 0o600),
        (logs_dir.clone(), 0o700),
    ];
    for entry in std::fs::read_dir(&logs_dir).unwrap().flatten() {
        files.push((entry.path(), 0o600));
    }
    assert!(files.len() > 5, "a log file exists");
    for (path, expected) in files {
        assert_eq!(mode(&path), expected, "{}", path.display());
    }

    // A secrets file someone made readable to others is refused at the next start.
    let dir = server.stop();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("data/dev-secrets.env"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with a world-readable secrets file");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("dev-secrets.env") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

/// Pending retention purges: business id → retention days in the job's payload.
fn pending_purges(server: &Server, token: &str) -> Vec<(String, u64)> {
    let r = server.request(
        "GET",
        "/api/jobs?kind=retention_purge&status=pending",
        Some(token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut out: Vec<(String, u64)> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["payload"]["business_id"].as_str().unwrap().to_string(),
                job["payload"]["retention_days"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn wait_for_purges(server: &Server, token: &str, expected: &[(&str, u64)]) {
    let expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(id, days)| (id.to_string(), *days))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = pending_purges(server, token);
        if found == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pending purges {found:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_new_business_and_a_changed_retention_reach_the_purge_schedule_without_a_restart() {
    let dir = config_copy();
    let dental =
        std::fs::read_to_string(dir.path().join("businesses/muskaan_dental.yaml")).unwrap();
    std::fs::remove_file(dir.path().join("businesses/muskaan_dental.yaml")).unwrap();
    let server = Server::start_in(dir, &[]);
    let token = server.login();
    wait_for_purges(&server, &token, &[("himalayan_kitchen", 90)]);

    // A business added while the server runs gets its purge.
    std::fs::write(
        server.dir.path().join("businesses/muskaan_dental.yaml"),
        dental,
    )
    .unwrap();
    wait_for_purges(
        &server,
        &token,
        &[("himalayan_kitchen", 90), ("muskaan_dental", 90)],
    );

    // A shorter retention applies to the next purge, not only after a restart.
    let good = std::fs::read_to_string(server.business_file()).unwrap();
    assert!(good.contains("retention_days: 90"));
    std::fs::write(
        server.business_file(),
        good.replace("retention_days: 90", "retention_days: 30"),
    )
    .unwrap();
    wait_for_purges(
        &server,
        &token,
        &[("himalayan_kitchen", 30), ("muskaan_dental", 90)],
    );
}

// ---- Failing closed -----------------------------------------------------------------------

/// A Wednesday evening in Delhi; "tomorrow" is 2026-11-26.
const EVENING: &str = "2026-11-25T18:00:00+05:30";

/// Himalayan Kitchen's live configuration version in `/health/config`.
fn hk_version(health: &serde_json::Value) -> String {
    health["businesses"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["id"] == "himalayan_kitchen"))
        .map(|b| b["live"]["version"].to_string())
        .unwrap_or_default()
}

/// Opens a text conversation with the restaurant from a known number; its id.
fn open_conversation(server: &Server, token: &str) -> String {
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(token),
        Some(&serde_json::json!({ "at": EVENING, "caller": "+91 98765 43210" }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["conversation_id"].as_str().unwrap().to_string()
}

/// Asks for a table for two tomorrow at 8 pm, gives a name and confirms; the last reply.
fn try_to_book(server: &Server, token: &str) -> serde_json::Value {
    let id = open_conversation(server, token);
    server.say(token, &id, "table for two tomorrow at 8 pm");
    server.say(token, &id, "Rahul");
    server.say(token, &id, "yes")
}

/// Tomorrow's reservations.
fn tomorrows_reservations(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let list = server.request(
        "GET",
        "/api/reservations?date_from=2026-11-26&date_to=2026-11-26",
        Some(token),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    list.json["items"].as_array().unwrap().clone()
}

/// The restaurant's files with one more plugin, `house_rules`, whose source is `source`.
fn with_house_rules(source: &str) -> tempfile::TempDir {
    let dir = config_copy();
    std::fs::write(dir.path().join("plugins/house_rules.rhai"), source).unwrap();
    let file = dir.path().join("businesses/himalayan_kitchen.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let edited = yaml.replacen("plugins:\n", "plugins:\n  - house_rules\n", 1);
    assert_ne!(edited, yaml, "the business file lists plugins");
    std::fs::write(file, edited).unwrap();
    dir
}

/// Fail closed: a `before_booking` hook that throws, or that the sandbox stops (operations,
/// size), is a "no". Through the conversation API the caller hears the handoff flow (the
/// restaurant has no transfer number: nobody is free, the manager will call back) and no
/// reservation is stored. The same dialogue books once the hook allows it, so the refusals are
/// the hook's doing.
#[test]
fn a_before_booking_hook_that_throws_or_hits_a_sandbox_limit_refuses_the_booking() {
    let failing = [
        (
            "throws",
            "fn before_booking(reservation) {\n    throw \"the table-rules service is down\";\n}\n",
        ),
        (
            "loops for ever (operations or CPU-time limit)",
            "fn before_booking(reservation) {\n    let n = 0;\n    loop { n += 1; }\n}\n",
        ),
        (
            "grows a string past the size limit",
            "fn before_booking(reservation) {\n    let s = \"x\";\n    loop { s += s; }\n}\n",
        ),
    ];
    let server = Server::start_in(with_house_rules(failing[0].1), &[]);
    let token = server.login();
    let plugin = server.dir.path().join("plugins/house_rules.rhai");
    for (n, (what, source)) in failing.iter().enumerate() {
        if n > 0 {
            let before = hk_version(
                &server.wait_for_config("a live version", |b| !hk_version(b).is_empty()),
            );
            std::fs::write(&plugin, source).unwrap();
            server.wait_for_config(what, |b| {
                hk_version(b) != before && hk_rejection(b).is_null()
            });
        }
        let started = Instant::now();
        let reply = try_to_book(&server, &token);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: the refusal took {:?}",
            started.elapsed()
        );
        let said = reply["reply"].as_str().unwrap_or_default();
        assert!(
            said.contains("Nobody is available on the phone right now"),
            "{what}: the caller hears the handoff flow:\n{reply:#}"
        );
        assert!(
            !reply["actions"].to_string().contains("\"book\""),
            "{what}: no booking was attempted:\n{reply:#}"
        );
        assert!(
            tomorrows_reservations(&server, &token).is_empty(),
            "{what}: nothing was stored"
        );
        assert!(
            server
                .console()
                .matches("A before_booking hook failed, so the booking was not made.")
                .count()
                > n,
            "{what}: the refusal is logged"
        );
    }
    // The control: the same dialogue books when the hook says yes.
    let before =
        hk_version(&server.wait_for_config("a live version", |b| !hk_version(b).is_empty()));
    std::fs::write(&plugin, "fn before_booking(reservation) {\n    true\n}\n").unwrap();
    server.wait_for_config("the allowing hook", |b| {
        hk_version(b) != before && hk_rejection(b).is_null()
    });
    let reply = try_to_book(&server, &token);
    assert!(
        reply["actions"].to_string().contains("\"book\""),
        "{reply:#}"
    );
    assert_eq!(tomorrows_reservations(&server, &token).len(), 1);
}

/// A restaurant file whose English `ask_date` prompt is `template`.
fn with_ask_date(yaml: &str, template: &str) -> String {
    let line = "    ask_date: \"For which day would you like to book?\"\n";
    assert!(yaml.contains(line), "the English ask_date prompt");
    yaml.replacen(line, &format!("    ask_date: \"{template}\"\n"), 1)
}

/// Ten loops, each over the restaurant's seven FAQs: 7¹⁰ (282 million) steps whatever the
/// call says, so the loader catches it.
fn loop_without_call_data() -> String {
    let mut t = String::new();
    for n in 0..10 {
        t.push_str(&format!("{{% for f{n} in business.faqs %}}"));
    }
    t.push_str(&"{% endfor %}".repeat(10));
    t.push_str("For which day?");
    t
}

/// The same loops for parties over three only: the call decides, so only the render-time
/// limit can stop it.
fn loop_on_call_data() -> String {
    format!(
        "{{% if slots.party_size > 3 %}}{}",
        loop_without_call_data()
    )
    .replacen("For which day?", "{% endif %}For which day?", 1)
}

/// Runs `vartalaap validate` in `dir`; its exit code and output. Bounded: a validator that
/// renders a runaway template without a limit would never return.
fn validate_within(dir: &Path, file: &str, limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .args(["validate", file])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`vartalaap validate {file}` did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// minijinja fuel: a template that loops for ever is rejected with a located error by
/// `validate` and by hot reload (the last good version keeps serving); one whose loop depends
/// on the call passes the loader and fails its render quickly, like any template error — the
/// turn answers in time, the error is logged, and the conversation goes on.
#[test]
fn a_runaway_template_is_rejected_at_load_or_fails_its_render_without_hanging() {
    let file = "businesses/himalayan_kitchen.yaml";
    // At load: `validate` names the file, the line and the template.
    let dir = config_copy();
    let good = std::fs::read_to_string(dir.path().join(file)).unwrap();
    std::fs::write(
        dir.path().join(file),
        with_ask_date(&good, &loop_without_call_data()),
    )
    .unwrap();
    let (code, out) = validate_within(dir.path(), file, Duration::from_secs(120));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("himalayan_kitchen.yaml:")
            && out.contains("template `ask_date`")
            && out.contains("template steps"),
        "{out}"
    );

    // At render: the loop over call data passes the loader and is stopped by fuel.
    std::fs::write(
        dir.path().join(file),
        with_ask_date(&good, &loop_on_call_data()),
    )
    .unwrap();
    let (code, out) = validate_within(dir.path(), file, Duration::from_secs(120));
    assert_eq!(code, Some(0), "{out}");
    let server = Server::start_in(dir, &[]);
    let token = server.login();
    let id = open_conversation(&server, &token);
    server.say(&token, &id, "I want to book a table");
    let started = Instant::now();
    let reply = server
        .try_request(
            "POST",
            &format!("/api/conversations/{id}/messages"),
            Some(&token),
            Some(&serde_json::json!({ "text": "four people" }).to_string()),
        )
        .expect("the turn answers");
    let took = started.elapsed();
    assert_eq!(reply.status, 200, "{}\n{}", reply.text, server.logs());
    assert!(took < Duration::from_secs(20), "the turn took {took:?}");
    assert!(
        server.logs().contains("engine ran out of fuel"),
        "the render error is logged:\n{}",
        server.logs()
    );
    let next = server.say(&token, &id, "tomorrow");
    assert_eq!(next["state"]["slots"]["date"], "2026-11-26", "{next:#}");
    assert!(
        next["reply"].as_str().unwrap().contains("what time"),
        "{next:#}"
    );

    // Hot reload: the loop without data is rejected, the last good version keeps serving.
    std::fs::write(
        server.business_file(),
        with_ask_date(&good, &loop_without_call_data()),
    )
    .unwrap();
    let health = server.wait_for_config("the runaway template's rejection", |b| {
        hk_rejection(b)["errors"]
            .to_string()
            .contains("template steps")
    });
    assert!(
        hk_rejection(&health)["errors"]
            .to_string()
            .contains("himalayan_kitchen.yaml"),
        "{health:#}"
    );
    let (status, _) = server.get("/health");
    assert_eq!(status, 200);
    let id = open_conversation(&server, &token);
    let reply = server.say(&token, &id, "what time do you open on sunday");
    assert!(
        reply["reply"].as_str().is_some_and(|t| !t.is_empty()),
        "{reply:#}"
    );
}

/// `Debug` never prints a secret: a server with every secret set, Plivo, Deepgram, Groq and
/// WhatsApp configured, logging at `trace`, takes a login, a text conversation and a simulated
/// Plivo call. Its console and log files hold none of the secrets — not the configured ones,
/// not the stream-token key derived from the session secret (which the log scrubber does not
/// know), not the admin's session token — and the scrubber never had to step in (no
/// `[redacted]`): the configuration the voice service runs with is logged at debug, redacted
/// by its own `Debug`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_debug_or_trace_logs() {
    use sha2::Digest;
    use vartalaap_telephony::simulator::{SimConfig, Step, run_call};
    const PLIVO_TOKEN: &str = "plivo-auth-token-for-the-secrets-test";
    const DEEPGRAM_KEY: &str = "deepgram-api-key-for-the-secrets-test";
    const GROQ_KEY: &str = "gsk_groq-api-key-for-the-secrets-test";
    const WHATSAPP_TOKEN: &str = "whatsapp-token-for-the-secrets-test";
    let port = common::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let models = std::env::var("VARTALAAP_MODEL_DIR").unwrap_or_default();
    let env = [
        ("BIND_ADDR", bind.as_str()),
        ("PUBLIC_BASE_URL", public.as_str()),
        ("LOG_LEVEL", "trace"),
        ("PLIVO_AUTH_ID", "MASECRETSTEST0000001"),
        ("PLIVO_AUTH_TOKEN", PLIVO_TOKEN),
        // Closed ports: every outside service fails fast, and its failure is logged too.
        ("PLIVO_API_BASE_URL", "http://127.0.0.1:9"),
        ("STT_PROVIDER", "deepgram"),
        ("DEEPGRAM_API_KEY", DEEPGRAM_KEY),
        ("DEEPGRAM_BASE_URL", "ws://127.0.0.1:9"),
        ("LLM_PROVIDER", "groq"),
        ("GROQ_API_KEY", GROQ_KEY),
        ("GROQ_MODEL", "a-model"),
        ("GROQ_BASE_URL", "http://127.0.0.1:9/openai/v1"),
        ("WHATSAPP_WEBHOOK_URL", "http://127.0.0.1:9/send"),
        ("WHATSAPP_WEBHOOK_TOKEN", WHATSAPP_TOKEN),
        ("VARTALAAP_MODEL_DIR", models.as_str()),
    ];
    let server = tokio::task::block_in_place(|| Server::start_in(config_copy(), &env));
    let session_token = tokio::task::block_in_place(|| {
        let token = server.login();
        let id = open_conversation(&server, &token);
        server.say(&token, &id, "what time do you open on sunday");
        token
    });
    let call = SimConfig::new(
        &format!("{public}/plivo/answer"),
        PLIVO_TOKEN,
        "+91 98765 43210",
        "911352710000",
    );
    run_call(
        &call,
        vec![
            Step::WaitForBot {
                max: Duration::from_secs(40),
            },
            Step::Hangup,
        ],
    )
    .await
    .expect("the simulated call is answered and streamed");
    // Buffered log-file lines are flushed when the server stops.
    std::thread::sleep(Duration::from_millis(500));
    let console = server.console();
    let dir = server.stop();
    let logs = format!("{console}{}", log_files(dir.path()));

    assert!(
        logs.contains("Voice service configuration.") && logs.contains("stream_token_secret"),
        "the voice configuration is logged at debug"
    );
    let stream_key = sha2::Sha256::digest(
        format!("vartalaap/plivo-stream-token/v1\0{}", common::SESSION).as_bytes(),
    );
    let key_bytes: Vec<String> = stream_key.iter().map(u8::to_string).collect();
    let secrets = [
        ("PHONE_ENCRYPTION_KEY", common::KEY.to_string()),
        ("PHONE_HASH_PEPPER", common::PEPPER.to_string()),
        ("SESSION_SECRET", common::SESSION.to_string()),
        ("ADMIN_PASSWORD_HASH", common::admin_hash()),
        ("admin password", common::ADMIN_PASSWORD.to_string()),
        ("PLIVO_AUTH_TOKEN", PLIVO_TOKEN.to_string()),
        ("DEEPGRAM_API_KEY", DEEPGRAM_KEY.to_string()),
        ("GROQ_API_KEY", GROQ_KEY.to_string()),
        ("WHATSAPP_WEBHOOK_TOKEN", WHATSAPP_TOKEN.to_string()),
        ("admin session token", session_token),
        ("stream-token key (Debug)", key_bytes[..8].join(", ")),
        ("stream-token key (hex)", hex::encode(stream_key)),
    ];
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{what} reached the log");
    }
    assert!(
        !logs.contains("[redacted]"),
        "a secret reached a log line and only the scrubber caught it: {}",
        logs.lines()
            .filter(|l| l.contains("[redacted]"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
