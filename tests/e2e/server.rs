//! End-to-end tests of `vartalaap serve`: the real binary, real HTTP, real files on disk.

mod common;

use common::{KEY, PEPPER, SESSION, Server};

/// Himalayan Kitchen's entry in `/health/config`, flattened to {version, loaded_at, last_rejected}.
fn business(health: &serde_json::Value) -> serde_json::Value {
    let entry = health["businesses"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["id"] == "himalayan_kitchen"))
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "version": entry["live"]["version"],
        "loaded_at": entry["live"]["loaded_at"],
        "last_rejected": entry["last_rejected"],
    })
}

#[test]
fn health_and_config_status_are_served() {
    let server = Server::start();
    let (status, body) = server.get("/health");
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    let shipped = common::shipped_businesses();
    assert_eq!(body["businesses"], shipped, "{body:#}");
    let (status, body) = server.get("/health/config");
    assert_eq!(status, 200);
    let hk = business(&body);
    assert!(
        hk["version"].as_str().is_some_and(|v| v.len() >= 12),
        "{body:#}"
    );
    assert!(hk["loaded_at"].is_string(), "{body:#}");
    assert!(hk["last_rejected"].is_null(), "{body:#}");
    let (status, body) = server.get("/no/such/route");
    assert_eq!(status, 404);
    assert_eq!(body["error"], "no such route");
}

#[test]
fn an_invalid_save_is_rejected_and_a_fix_goes_live_without_restart() {
    let server = Server::start();
    let (_, before) = server.get("/health/config");
    let v1 = business(&before)["version"].as_str().unwrap().to_string();
    let path = server.business_file();
    let good = std::fs::read_to_string(&path).unwrap();

    // A typo: the old version keeps serving and the rejection is visible with file:line.
    std::fs::write(&path, good.replacen("capacity", "capcity", 1)).unwrap();
    let rejected = server.wait_for_config("the rejected edit", |b| {
        !business(b)["last_rejected"].is_null()
    });
    let hk = business(&rejected);
    assert_eq!(
        hk["version"],
        v1.as_str(),
        "the last good version stays live"
    );
    let errors = hk["last_rejected"]["errors"].to_string();
    assert!(errors.contains("capcity"), "{errors}");
    assert!(errors.contains("himalayan_kitchen.yaml"), "{errors}");

    // The fix goes live (a real change, so a new version) and clears the rejection.
    std::fs::write(
        &path,
        good.replacen("Himalayan Kitchen", "Himalayan Kitchen ", 1),
    )
    .unwrap();
    let fixed = server.wait_for_config("the fix", |b| {
        business(b)["last_rejected"].is_null() && business(b)["version"] != v1.as_str()
    });
    assert!(business(&fixed)["version"].is_string());
    let logs = server.logs();
    assert!(logs.contains("capcity"), "the rejection is logged:\n{logs}");
}

/// A closure dated in the past is saved while the server runs: it goes live (it cannot affect
/// a booking), `/health/config` stays ok and lists it as a warning with file and line.
#[test]
fn a_past_dated_closure_goes_live_with_a_warning_in_health_config() {
    let server = Server::start();
    let path = server.business_file();
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, common::with_closure_on(&good, "2021-10-24")).unwrap();
    let body = server.wait_for_config("the warning", |b| {
        b["businesses"]
            .as_array()
            .is_some_and(|all| all.iter().any(|x| x["warnings"].is_array()))
    });
    assert_eq!(body["ok"], true, "{body:#}");
    let hk = body["businesses"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["id"] == "himalayan_kitchen"))
        .unwrap();
    assert!(hk["last_rejected"].is_null(), "{body:#}");
    let w = &hk["warnings"][0];
    assert_eq!(w["file"], "businesses/himalayan_kitchen.yaml", "{body:#}");
    assert_eq!(w["pointer"], "/exceptions/0/date", "{body:#}");
    assert!(
        w["message"]
            .as_str()
            .is_some_and(|m| m.contains("2021-10-24 is in the past")),
        "{body:#}"
    );
}

#[test]
fn logs_never_contain_secrets_or_phone_numbers() {
    let server = Server::start();
    // Make the server log a diagnostic that quotes a phone number from the file.
    let path = server.business_file();
    let good = std::fs::read_to_string(&path).unwrap();
    let edited = good.replacen("capacity", "capcity", 1)
        + "\n# caller +91 98765 43210 asked for this\nunknown_field: \"+91 98765 43210\"\n";
    std::fs::write(&path, edited).unwrap();
    server.wait_for_config("the rejected edit", |b| {
        !business(b)["last_rejected"].is_null()
    });
    let (_, _) = server.get("/health");
    let logs = server.logs();
    assert!(logs.contains("Vartalaap is serving."), "{logs}");
    for secret in [KEY, PEPPER, SESSION] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    for phone in ["98765 43210", "9876543210", "+91 135 271 0000"] {
        assert!(
            !logs.contains(phone),
            "a phone number reached the logs: {phone}"
        );
    }
}
