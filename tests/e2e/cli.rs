//! End-to-end tests of the `vartalaap` command line: exit codes and what a person sees.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;

use common::{copy_tree, repo_root};

/// The binary with a clean environment: no `.env` from the developer's checkout leaks in.
fn vartalaap(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vartalaap"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch copy of the repository's businesses/, flows/, plugins/.
fn config_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["businesses", "flows", "plugins"] {
        copy_tree(&repo_root().join(sub), &dir.path().join(sub));
    }
    dir
}

#[test]
fn validate_accepts_the_shipped_configuration() {
    let out = vartalaap(&repo_root()).arg("validate").output().unwrap();
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("ok: no errors"));
}

fn break_business(dir: &Path) -> PathBuf {
    let path = dir.join("businesses/himalayan_kitchen.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(
        yaml.contains("capacity"),
        "the business file names its capacity"
    );
    let broken = yaml.replacen("capacity", "capcity", 1);
    std::fs::write(&path, broken).unwrap();
    path
}

#[test]
fn validate_reports_every_error_with_location_and_exits_1() {
    let dir = config_copy();
    break_business(dir.path());
    let out: Output = vartalaap(dir.path()).arg("validate").output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("capcity"))
        .unwrap_or_else(|| panic!("no line names the misspelt key:\n{stdout}"));
    assert!(
        line.starts_with("businesses/himalayan_kitchen.yaml:"),
        "{line}"
    );
    assert!(line.contains("did you mean"), "{line}");
}

#[test]
fn validate_json_output_is_machine_readable() {
    let dir = config_copy();
    break_business(dir.path());
    let out = vartalaap(dir.path())
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["ok"], false);
    let errors = doc["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(errors[0]["line"].as_u64().unwrap() > 0);
}

/// A closure dated in the past loads (it cannot affect a booking) but is shown as a warning,
/// with its line, in text and JSON; the exit code stays 0.
#[test]
fn validate_warns_about_a_closure_dated_in_the_past() {
    let dir = config_copy();
    let path = dir.path().join("businesses/himalayan_kitchen.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, common::with_closure_on(&yaml, "2020-11-14")).unwrap();
    let out = vartalaap(dir.path()).arg("validate").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("2020-11-14"))
        .unwrap_or_else(|| panic!("no warning names the past date:\n{stdout}"));
    assert!(
        line.starts_with("businesses/himalayan_kitchen.yaml:39:")
            && line
                .contains("/exceptions/0/date: warning: this closure on 2020-11-14 is in the past"),
        "{line}"
    );
    assert!(stdout.contains("ok: no errors"), "{stdout}");
    let out = vartalaap(dir.path())
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["ok"], true);
    assert_eq!(
        doc["warnings"][0]["pointer"], "/exceptions/0/date",
        "{doc:#}"
    );
}

#[test]
fn validate_a_single_named_file() {
    let dir = config_copy();
    let path = break_business(dir.path());
    let out = vartalaap(dir.path())
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let ok = vartalaap(dir.path())
        .args(["validate", "flows"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stdout));
}

#[test]
fn validate_reports_a_plugin_the_sandbox_refuses() {
    let dir = config_copy();
    let path = dir.path().join("plugins/festival_closures.rhai");
    let source = std::fs::read_to_string(&path).unwrap();
    let call = "        if e.date == date && (e.closed ?? false) {";
    assert!(source.contains(call), "the shipped plugin changed");
    // Valid Rhai; only the sandbox refuses `eval`.
    std::fs::write(
        &path,
        source.replacen(
            call,
            "        if eval(\"e.date == date\") && (e.closed ?? false) {",
            1,
        ),
    )
    .unwrap();
    for args in [
        vec!["validate"],
        vec!["validate", "plugins/festival_closures.rhai"],
    ] {
        let out = vartalaap(dir.path()).args(&args).output().unwrap();
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.contains("eval"))
            .unwrap_or_else(|| panic!("{args:?}: no line names eval:\n{stdout}"));
        assert!(
            line.starts_with("plugins/festival_closures.rhai:14:12: Rhai sandbox: `eval` is not allowed in plugins"),
            "{line}"
        );
    }
}

#[test]
fn keys_prints_values_the_settings_accept() {
    let out = vartalaap(&repo_root()).arg("keys").output().unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let mut names = Vec::new();
    for line in stdout.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.split_once('=').expect("NAME=value lines");
        names.push(name.to_string());
        match name {
            "PHONE_ENCRYPTION_KEY" => {
                assert_eq!(value.len(), 64);
                assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            "ADMIN_PASSWORD_HASH" => assert!(value.starts_with("'$argon2id$")),
            _ => assert!(value.len() >= 32),
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "ADMIN_PASSWORD_HASH",
            "PHONE_ENCRYPTION_KEY",
            "PHONE_HASH_PEPPER",
            "SESSION_SECRET"
        ]
    );
    // Two runs never print the same key.
    let again = text(&vartalaap(&repo_root()).arg("keys").output().unwrap().stdout);
    assert_ne!(stdout, again);
}

#[test]
fn keys_hashes_a_password_from_stdin() {
    use std::io::Write;
    let mut child = vartalaap(&repo_root())
        .args(["keys", "--admin-password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ADMIN_PASSWORD_HASH='$argon2id$"));
    assert!(!stdout.contains("a long enough password"));
}

#[test]
fn bad_settings_are_listed_together_without_a_panic() {
    let out = vartalaap(&repo_root())
        .arg("serve")
        .env("PHONE_ENCRYPTION_KEY", "not-hex")
        .env("LLM_PROVIDER", "groq")
        .env("LOG_FORMAT", "xml")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("PHONE_ENCRYPTION_KEY must be 64 hex characters"),
        "{stderr}"
    );
    assert!(
        stderr.contains("GROQ_API_KEY is required when LLM_PROVIDER=groq"),
        "{stderr}"
    );
    assert!(
        stderr.contains("LOG_FORMAT must be one of pretty, json"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-hex"),
        "a rejected secret is not echoed back: {stderr}"
    );
}

#[test]
fn production_refuses_to_start_without_secrets() {
    let out = vartalaap(&repo_root())
        .arg("serve")
        .env("APP_ENV", "production")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SESSION_SECRET is required when APP_ENV=production"),
        "{stderr}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["serve", "validate", "keys"] {
        let out = vartalaap(&repo_root())
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(text(&out.stdout).contains("Usage: vartalaap"), "{sub}");
    }
}

#[test]
fn migrate_applies_the_postgresql_schema_when_database_url_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let url = vartalaap_store::pg_test_server::fresh_database();
    let migrate = || {
        vartalaap(dir.path())
            .env("DATABASE_URL", &url)
            .arg("migrate")
            .output()
            .unwrap()
    };
    let out = migrate();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("PostgreSQL (DATABASE_URL): migrated from schema version 0 to"),
        "{stdout}"
    );
    assert!(stdout.contains("applied 0001_initial_schema"), "{stdout}");
    assert!(
        !stdout.contains(&url),
        "the URL (and its password) is never printed"
    );
    assert!(
        !dir.path().join("data/vartalaap.redb").exists(),
        "no redb file is created when PostgreSQL is selected"
    );
    let out = migrate();
    assert!(
        text(&out.stdout).contains("is current"),
        "{}",
        text(&out.stdout)
    );

    // The ER diagram of what was just migrated.
    let out = vartalaap(dir.path())
        .env("DATABASE_URL", &url)
        .arg("schema-diagram")
        .output()
        .unwrap();
    let diagram = text(&out.stdout);
    assert!(out.status.success(), "{diagram}{}", text(&out.stderr));
    assert!(diagram.starts_with("erDiagram\n"), "{diagram}");
    assert!(
        diagram.contains("reservations ||--o{ whatsapp_followups"),
        "{diagram}"
    );

    // A URL of another database is a settings mistake, said as such.
    let out = vartalaap(dir.path())
        .env("DATABASE_URL", "mysql://root@localhost/vartalaap")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("DATABASE_URL must be a PostgreSQL URL"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn migrate_import_redb_copies_an_existing_database_into_postgresql_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let source = data.join("vartalaap.redb");
    std::fs::copy(repo_root().join("tests/fixtures/store/v1.redb"), &source).unwrap();
    let url = vartalaap_store::pg_test_server::fresh_database();
    let import = || {
        vartalaap(dir.path())
            .env("DATABASE_URL", &url)
            .args(["migrate", "--import-redb"])
            .arg(&source)
            .output()
            .unwrap()
    };
    let out = import();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("copied into PostgreSQL"), "{stdout}");
    assert!(stdout.contains("reservations: 2"), "{stdout}");
    assert!(stdout.contains("conversation_turns: 2"), "{stdout}");
    assert!(!stdout.contains(&url), "{stdout}");
    // The target now holds records: a second import is refused, nothing is doubled.
    let out = import();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already holds"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn migrate_upgrades_an_old_database_and_reports_each_step() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        repo_root().join("tests/fixtures/store/v1.redb"),
        data.join("vartalaap.redb"),
    )
    .unwrap();
    let out = vartalaap(dir.path()).arg("migrate").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("migrated from schema version 1 to"),
        "{stdout}"
    );
    assert!(stdout.contains("applied"), "{stdout}");
    // Running it again is a no-op.
    let out = vartalaap(dir.path()).arg("migrate").output().unwrap();
    assert!(
        text(&out.stdout).contains("is current"),
        "{}",
        text(&out.stdout)
    );
}
