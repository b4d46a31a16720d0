//! End-to-end tests of the REST API through a real `vartalaap serve` process and a real redb
//! file: authentication and its refusals, reservations with the booking rules, bad input,
//! jobs, metrics, and the OpenAPI document against the real routes.

mod common;

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use common::{ADMIN_PASSWORD, SESSION, Server};
use serde_json::json;

/// A future dinner date the restaurant is open on (not a Monday, not a listed exception).
fn open_date(days_ahead: i64) -> NaiveDate {
    let today = (Utc::now() + Duration::minutes(330)).date_naive();
    let mut date = today + Duration::days(days_ahead);
    let exceptions = ["2026-12-31", "2027-01-01", "2027-01-26"];
    while date.weekday() == Weekday::Mon || exceptions.contains(&date.to_string().as_str()) {
        date += Duration::days(1);
    }
    date
}

fn next_monday() -> NaiveDate {
    let mut date = open_date(2);
    while date.weekday() != Weekday::Mon {
        date += Duration::days(1);
    }
    date
}

fn booking(date: NaiveDate, time: &str, party: u32) -> String {
    json!({
        "business_id": "himalayan_kitchen",
        "customer_name": "Asha Rawat",
        "phone": "+91 98765 43210",
        "party_size": party,
        "date": date.to_string(),
        "time": time,
    })
    .to_string()
}

#[test]
fn auth_refuses_missing_tampered_expired_tokens_and_wrong_passwords() {
    let server = Server::start();
    // No token.
    let r = server.request("GET", "/api/reservations", None, None);
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("missing bearer token")
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // A good token works.
    let token = server.login();
    assert_eq!(
        server
            .request("GET", "/api/reservations", Some(&token), None)
            .status,
        200
    );
    // Tampered: one character of the signature changed.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = server.request("GET", "/api/reservations", Some(&tampered), None);
    assert_eq!(r.status, 401);
    // Expired: correctly signed, but its time is up.
    let admin_key = |secret: &str| {
        vartalaap::http::auth::admin_token_key(&vartalaap::secrets::Secret::new(secret)).unwrap()
    };
    let expired = vartalaap::http::auth::sign_token(
        &admin_key(SESSION),
        &vartalaap::http::auth::Claims {
            sub: "admin".into(),
            iat: Utc::now().timestamp() - 100_000,
            exp: Utc::now().timestamp() - 10,
        },
    );
    let r = server.request("GET", "/api/reservations", Some(&expired), None);
    assert_eq!(r.status, 401);
    assert!(
        r.json["error"].as_str().unwrap().contains("expired"),
        "{}",
        r.text
    );
    // Signed with another secret.
    let foreign = vartalaap::http::auth::sign_token(
        &admin_key("some-other-secret-of-32-characters"),
        &vartalaap::http::auth::Claims {
            sub: "admin".into(),
            iat: 0,
            exp: Utc::now().timestamp() + 1000,
        },
    );
    assert_eq!(
        server
            .request("GET", "/api/jobs", Some(&foreign), None)
            .status,
        401
    );
    // Wrong password, then too many attempts.
    let wrong = json!({"password": "not the password"}).to_string();
    let r = server.request("POST", "/api/auth/login", None, Some(&wrong));
    assert_eq!(r.status, 401);
    for _ in 0..4 {
        server.request("POST", "/api/auth/login", None, Some(&wrong));
    }
    let r = server.request("POST", "/api/auth/login", None, Some(&wrong));
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(
        r.header("retry-after")
            .is_some_and(|s| s.parse::<u32>().unwrap() > 0)
    );
    // Even the right password waits now.
    let right = json!({ "password": ADMIN_PASSWORD }).to_string();
    assert_eq!(
        server
            .request("POST", "/api/auth/login", None, Some(&right))
            .status,
        429
    );
    // Health stays open.
    assert_eq!(server.get("/health").0, 200);
}

#[test]
fn reservations_are_created_listed_changed_and_cancelled() {
    let server = Server::start();
    let token = server.login();
    let date = open_date(3);
    let r = server.request(
        "POST",
        "/api/reservations",
        Some(&token),
        Some(&booking(date, "20:00", 4)),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_u64().unwrap();
    assert_eq!(r.json["status"], "confirmed");
    assert_eq!(r.json["reservation_time"], "20:00");
    assert!(r.json["phone_hash"].as_str().unwrap().len() == 64);
    assert!(
        !r.text.contains("98765"),
        "no plaintext number in the reply"
    );

    let list = server.request(
        "GET",
        &format!("/api/reservations?business_id=himalayan_kitchen&date_from={date}&date_to={date}"),
        Some(&token),
        None,
    );
    assert_eq!(list.status, 200);
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);

    let r = server.request(
        "PATCH",
        &format!("/api/reservations/{id}"),
        Some(&token),
        Some(r#"{"party_size": 6, "time": "20:30"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["party_size"], 6);
    assert_eq!(r.json["reservation_time"], "20:30");

    let r = server.request(
        "GET",
        &format!("/api/reservations/{id}"),
        Some(&token),
        None,
    );
    assert_eq!(r.json["party_size"], 6);

    let r = server.request(
        "POST",
        &format!("/api/reservations/{id}/cancel"),
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "cancelled");
    let r = server.request(
        "GET",
        "/api/reservations?status=cancelled",
        Some(&token),
        None,
    );
    assert_eq!(r.json["items"][0]["id"], id);
    assert_eq!(
        server
            .request("GET", "/api/reservations/999999", Some(&token), None)
            .status,
        404
    );
}

#[test]
fn the_booking_rules_apply_and_full_times_are_refused() {
    let server = Server::start();
    let token = server.login();
    let date = open_date(4);
    // 40 covers fill 21:00 (and overlapping holds).
    for _ in 0..4 {
        let r = server.request(
            "POST",
            "/api/reservations",
            Some(&token),
            Some(&booking(date, "21:00", 10)),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = server.request(
        "POST",
        "/api/reservations",
        Some(&token),
        Some(&booking(date, "21:30", 2)),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.json["error"].as_str().unwrap().contains("fully booked"));
    // Closed on Mondays.
    let r = server.request(
        "POST",
        "/api/reservations",
        Some(&token),
        Some(&booking(next_monday(), "20:00", 2)),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.json["field"], "date");
    // After last seating (22:00), and off the 30-minute grid.
    for time in ["22:30", "20:10"] {
        let r = server.request(
            "POST",
            "/api/reservations",
            Some(&token),
            Some(&booking(date, time, 2)),
        );
        assert_eq!(r.status, 409, "{time}: {}", r.text);
        assert_eq!(r.json["field"], "time");
    }
    // Beyond 30 days ahead.
    let r = server.request(
        "POST",
        "/api/reservations",
        Some(&token),
        Some(&booking(open_date(40), "20:00", 2)),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json["field"], "date");
}

#[test]
fn bad_input_gets_a_4xx_naming_the_field() {
    let server = Server::start();
    let token = server.login();
    let date = open_date(3);
    let cases: Vec<(String, &str)> = vec![
        (r#"{"business_id":"himalayan_kitchen","party_size":"four","date":"2030-01-01","time":"20:00"}"#.into(), "party_size"),
        (r#"{"business_id":"himalayan_kitchen","party_size":4,"date":"2030-01-01"}"#.into(), ""),
        (booking(date, "25:00", 2), "time"),
        (booking(date, "20:00", 0), "party_size"),
        (booking(date, "20:00", 21), "party_size"),
        (booking(date, "+1:30", 2), "time"),
        (json!({"business_id":"himalayan_kitchen","party_size":2,"date":date.to_string(),"time":"20:00","phone":""}).to_string(), "phone"),
        (json!({"business_id":"himalayan_kitchen","party_size":2,"date":date.to_string(),"time":"20:00","phone":" 9876543210"}).to_string(), "phone"),
        (json!({"business_id":"himalayan_kitchen","party_size":2,"date":date.to_string(),"time":"20:00","language":"fr"}).to_string(), "language"),
        (json!({"business_id":"himalayan_kitchen","party_size":2,"date":date.to_string(),"time":"20:00","phone":"12"}).to_string(), "phone"),
        (json!({"business_id":"himalayan_kitchen","party_size":2,"date":date.to_string(),"time":"20:00","capcity":1}).to_string(), ""),
        ("{not json".into(), ""),
    ];
    for (body, field) in cases {
        let r = server.request("POST", "/api/reservations", Some(&token), Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.json["error"].is_string(), "{body}: {}", r.text);
        if !field.is_empty() {
            assert_eq!(r.json["field"], field, "{body}: {}", r.text);
        }
    }
    let r = server.request(
        "GET",
        "/api/reservations?date_from=yesterday",
        Some(&token),
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json["field"], "date_from");
    let r = server.request("GET", "/api/reservations?limit=0", Some(&token), None);
    assert_eq!(r.json["field"], "limit");
    // A parameter that is present must be valid as written: empty, negative or padded values
    // are refused, not read as "no filter" (the OpenAPI document says the same).
    for (query, field) in [
        ("date_to=", "date_to"),
        ("date_from=2026-1-5", "date_from"),
        ("business_id=", "business_id"),
        ("after=-1", "after"),
        ("status=Confirmed", "status"),
        ("phone_hash=abc", "phone_hash"),
        ("limit=%2010", "limit"),
    ] {
        let r = server.request(
            "GET",
            &format!("/api/reservations?{query}"),
            Some(&token),
            None,
        );
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        assert_eq!(r.json["field"], field, "{query}: {}", r.text);
    }
    // A business that does not exist is a 404 naming the field.
    let r = server.request(
        "POST",
        "/api/reservations",
        Some(&token),
        Some(r#"{"business_id":"nope","party_size":4,"date":"2030-01-01","time":"20:00"}"#),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json["field"], "business_id");
    // Bodies over the limit are refused before they are read.
    let huge = format!(r#"{{"notes":"{}"}}"#, "x".repeat(100 * 1024));
    let r = server.request("POST", "/api/reservations", Some(&token), Some(&huge));
    assert_eq!(r.status, 413, "{}", r.text);
    // A documented path with a method it does not have: 405 and the methods it does have.
    let r = server.request("DELETE", "/api/reservations", Some(&token), None);
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = server.request("TRACE", "/health", None, None);
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(server.get("/health").0, 200, "the server is still up");
}

#[test]
fn a_consented_booking_queues_its_followup_job_durably() {
    let server = Server::start();
    let token = server.login();
    let body = json!({
        "business_id": "himalayan_kitchen",
        "phone": "098765 43210",
        "party_size": 2,
        "date": open_date(5).to_string(),
        "time": "13:00",
        "whatsapp_consent": true,
    })
    .to_string();
    let r = server.request("POST", "/api/reservations", Some(&token), Some(&body));
    assert_eq!(r.status, 201, "{}", r.text);
    let jobs = server.request(
        "GET",
        "/api/jobs?kind=whatsapp_followup",
        Some(&token),
        None,
    );
    assert_eq!(jobs.status, 200, "{}", jobs.text);
    let items = jobs.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", jobs.text);
    assert_eq!(items[0]["status"], "pending");
    let dead = server.request("GET", "/api/jobs/dead", Some(&token), None);
    assert_eq!(dead.json["items"].as_array().unwrap().len(), 0);
    let retry = server.request(
        "POST",
        &format!("/api/jobs/{}/retry", items[0]["id"]),
        Some(&token),
        None,
    );
    assert_eq!(
        retry.status, 409,
        "only dead jobs can be retried: {}",
        retry.text
    );
}

#[test]
fn metrics_are_exported_in_prometheus_text_format() {
    let server = Server::start();
    server.get("/health");
    let r = server.request("GET", "/metrics", None, None);
    assert_eq!(r.status, 200);
    assert!(
        r.text
            .contains("vartalaap_http_requests_total{method=\"GET\",status=\"200\"}"),
        "{}",
        r.text
    );
    let businesses = common::shipped_businesses();
    assert!(
        r.text
            .contains(&format!("vartalaap_live_businesses {businesses}")),
        "{}",
        r.text
    );
}

#[test]
fn every_documented_operation_exists_and_every_route_is_documented() {
    let server = Server::start();
    let token = server.login();
    let doc = server.request("GET", "/openapi.json", None, None).json;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["schemas"]["Reservation"]["properties"]["party_size"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path
                .replace("/businesses/{id}", "/businesses/himalayan_kitchen")
                .replace("{id}", "1")
                .replace("{dir}/{name}", "businesses/himalayan_kitchen.yaml")
                .replace("{phone_hash}", &"a".repeat(64));
            let body = if method == "post" || method == "patch" {
                Some("{}")
            } else {
                None
            };
            let needs_auth = op.get("security").is_some();
            let r = server.request(&method.to_uppercase(), &concrete, Some(&token), body);
            assert_ne!(
                r.json["error"], "no such route",
                "{method} {path} is documented but not served"
            );
            assert_ne!(r.status, 405, "{method} {path}");
            if needs_auth {
                let r = server.request(&method.to_uppercase(), &concrete, None, body);
                assert_eq!(r.status, 401, "{method} {path} must require a token");
            }
        }
    }
    // The routes the server actually has (kept in one list the router is checked against).
    let served = [
        "GET /health",
        "GET /health/config",
        "GET /metrics",
        "GET /openapi.json",
        "POST /api/auth/login",
        "GET /api/reservations",
        "POST /api/reservations",
        "GET /api/reservations/{id}",
        "PATCH /api/reservations/{id}",
        "POST /api/reservations/{id}/cancel",
        "GET /api/callbacks",
        "PATCH /api/callbacks/{id}",
        "GET /api/calls",
        "GET /api/calls/{id}",
        "POST /api/calls/{id}/test",
        "GET /api/callers/{phone_hash}/preferences",
        "PUT /api/callers/{phone_hash}/preferences",
        "GET /api/stats",
        "GET /api/reviews",
        "GET /api/reviews/stats",
        "GET /api/reviews/{id}",
        "GET /api/calls/{id}/review",
        "POST /api/reviews/analyze",
        "GET /api/reviews/suggestions",
        "PATCH /api/reviews/suggestions/{id}",
        "GET /api/config/files",
        "GET /api/config/files/{dir}/{name}",
        "PUT /api/config/files/{dir}/{name}",
        "POST /api/config/files/{dir}/{name}/check",
        "GET /api/config/history",
        "GET /api/config/history/{id}",
        "POST /api/config/history/{id}/revert",
        "GET /api/jobs",
        "GET /api/jobs/dead",
        "POST /api/jobs/{id}/retry",
        "GET /api/admin/backup",
        "POST /api/talk/tickets",
        "GET /api/talk/socket",
        "GET /api/businesses",
        "POST /api/businesses/{id}/conversations",
        "POST /api/conversations/{id}/messages",
        "POST /plivo/answer",
        "POST /plivo/hangup",
        "POST /plivo/stream-status",
        "POST /plivo/transfer/{business_id}",
        "GET /plivo/stream",
    ];
    for route in served {
        assert!(
            documented.contains(&route.to_string()),
            "{route} is served but not documented"
        );
    }
    assert_eq!(documented.len(), served.len(), "documented: {documented:?}");
}

#[test]
fn keys_rotate_offline_and_reads_keep_working_under_the_new_key() {
    const NEW_KEY: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    let server = Server::start();
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/reservations",
        Some(&token),
        Some(&booking(open_date(6), "19:30", 2)),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_u64().unwrap();
    let old_cipher = r.json["phone_encrypted"].as_str().unwrap().to_string();
    let hash = r.json["phone_hash"].as_str().unwrap().to_string();
    let dir = server.stop();

    // Offline rotation with the server stopped: new key current, old key decrypt-only.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .arg("rotate-keys")
        .current_dir(dir.path())
        .env_clear()
        .env("PHONE_ENCRYPTION_KEY", NEW_KEY)
        .env("PHONE_ENCRYPTION_OLD_KEYS", common::KEY)
        .env("PHONE_HASH_PEPPER", common::PEPPER)
        .env("SESSION_SECRET", SESSION)
        .env("ADMIN_PASSWORD_HASH", common::admin_hash())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("re-encrypted 1 phone number(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("0 left under old keys"), "{stdout}");

    // The server now runs with only the new key; the record is readable and re-keyed, and the
    // look-up hash (pepper unchanged) is the same.
    let server = Server::start_in(dir, &[("PHONE_ENCRYPTION_KEY", NEW_KEY)]);
    let token = server.login();
    let r = server.request(
        "GET",
        &format!("/api/reservations/{id}"),
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200);
    let new_cipher = r.json["phone_encrypted"].as_str().unwrap();
    assert_ne!(new_cipher, old_cipher);
    assert_ne!(
        new_cipher.split(':').next(),
        old_cipher.split(':').next(),
        "new key id"
    );
    assert_eq!(r.json["phone_hash"], hash.as_str());
}
