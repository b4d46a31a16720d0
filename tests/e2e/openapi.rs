//! The API document tells the truth: schemathesis (a property-based HTTP client) reads
//! `/openapi.json` from the real server, generates requests for every operation — valid ones,
//! invalid ones, undocumented methods, missing auth, and create-then-use sequences — and runs
//! all of its checks on the replies: no 5xx, every status, content type, header and body as
//! documented, schema-valid input accepted and schema-violating input rejected, 405 with
//! `Allow`, auth enforced.
//!
//! schemathesis is a pinned PyPI tool that `scripts/setup.sh` installs with
//! `WITH_DEV_TOOLS=1` (scripts/test.sh does) and exports as `VARTALAAP_TOOLS_BIN`. Without it
//! this test says so and passes, unless `VARTALAAP_REQUIRE_TOOLS=1` (CI), where it fails.
//! The run is bounded (`SCHEMATHESIS_MAX_EXAMPLES` per operation, default 25, fixed seed) so
//! it takes a minute or two; set `SCHEMATHESIS_SEED` to explore other inputs.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;

/// The `st` executable, or `None` when schemathesis is not installed.
fn schemathesis() -> Option<PathBuf> {
    let from_setup =
        std::env::var_os("VARTALAAP_TOOLS_BIN").map(|dir| PathBuf::from(dir).join("st"));
    let candidates = from_setup.into_iter().chain(
        std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".cache/vartalaap/tools/bin/st")),
    );
    candidates.into_iter().find(|path| path.is_file())
}

#[test]
fn the_openapi_document_matches_what_the_server_does() {
    let Some(st) = schemathesis() else {
        let required = std::env::var("VARTALAAP_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "schemathesis is not installed: run WITH_DEV_TOOLS=1 scripts/setup.sh (scripts/test.sh does)"
        );
        eprintln!("SKIPPED: schemathesis is not installed (WITH_DEV_TOOLS=1 scripts/setup.sh)");
        return;
    };
    // Telephony configured, so the /plivo/* routes answer as in production (a request without
    // Plivo's signature is a 403) rather than 503.
    let server = Server::start_with(&[
        ("PLIVO_AUTH_ID", "MAOPENAPITEST0000000"),
        ("PLIVO_AUTH_TOKEN", "openapi-test-auth-token"),
        ("PUBLIC_BASE_URL", "http://127.0.0.1:9"),
    ]);
    let token = server.login();
    let examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "25".into());
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let report = tempfile::tempdir().unwrap();
    let output = Command::new(&st)
        .arg("--no-color")
        .arg("run")
        .arg(format!("http://{}/openapi.json", server.addr))
        .args(["--checks", "all"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", &examples])
        .args(["--seed", &seed])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .args(["--suppress-health-check", "too_slow"])
        .arg("--report-dir")
        .arg(report.path())
        .current_dir(report.path())
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found mismatches between /openapi.json and the server \
         (reproduce with the curl lines below):\n{stdout}\n{stderr}"
    );
    // The run really exercised the API (a document it could not load would fail above).
    assert!(stdout.contains("Tested:"), "{stdout}");
    println!("{stdout}");
    assert_eq!(server.get("/health").0, 200, "the server is still up");
}
