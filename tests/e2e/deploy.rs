//! Deployment, end to end: the shipped files in `deploy/` and the server behind a real proxy.
//!
//! - Debian's `caddy` runs the shipped `deploy/Caddyfile.internal` (`tls internal`) in front
//!   of a spawned `vartalaap serve` in production mode; a simulated Plivo dials the signed
//!   answer URL over https and streams the call over wss *through the proxy*, and the admin
//!   logs in over https, trusting Caddy's own CA from its data directory.
//! - `caddy validate` on both Caddyfiles and `systemd-analyze verify` on the units (run by
//!   `scripts/test.sh` in CI, which installs both tools): a broken file fails here.
//! - `TRUSTED_PROXIES`: a spoofed `X-Forwarded-For` from an untrusted peer changes nothing.
//! - Security headers on token and personal-data replies; https required in production.
//! - `vartalaap backup` of a running server and `vartalaap restore` into a fresh directory.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc, Weekday};
use common::{ADMIN_PASSWORD, KEY, PEPPER, Reply, SESSION, Server, admin_hash, repo_root};
use serde_json::json;
use vartalaap_providers::mock::plivo::MockPlivoRest;
use vartalaap_telephony::simulator::{SimConfig, Step, run_call};

const AUTH_ID: &str = "MADEPLOYTESTACCOUNT01";
const AUTH_TOKEN: &str = "plivo-deploy-auth-token-0123456789";
/// Himalayan Kitchen's number as Plivo sends it.
const BUSINESS_NUMBER: &str = "911352710000";
const CALLER: &str = "+91 98765 43210";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One HTTP/1.1 exchange over any stream (plain TCP or TLS), with extra request headers.
fn exchange(
    mut stream: impl Read + Write,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> std::io::Result<Reply> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, body)) = body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    if let Some((_, body)) = body {
        head.push_str(body);
    }
    stream.write_all(head.as_bytes())?;
    stream.flush()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A TLS peer may close without close_notify once the reply is complete.
            Err(_) if !raw.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    let response = text(&raw);
    common::parse_reply(&response)
}

/// A plain request straight to the server, with extra headers.
fn direct(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    exchange(
        stream,
        "localhost",
        method,
        path,
        headers,
        body.map(|b| ("application/json", b)),
    )
    .unwrap()
}

fn wrong_password() -> String {
    json!({"password": "not the password"}).to_string()
}

fn right_password() -> String {
    json!({ "password": ADMIN_PASSWORD }).to_string()
}

/// Every reply carries these, whatever route and status.
fn assert_security_headers(what: &str, reply: &Reply) {
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        reply.header("content-security-policy"),
        Some("frame-ancestors 'none'"),
        "{what}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
}

// --- The shipped files ------------------------------------------------------------------------

/// Runs a deployment tool; a missing tool is a failure (scripts/test.sh installs it).
fn tool(program: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{program} is not installed; WITH_DEPLOY=1 scripts/setup.sh installs it (scripts/test.sh does)"
    );
    Command::new(program)
}

#[test]
fn the_shipped_caddyfiles_pass_caddy_validate() {
    let scratch = tempfile::tempdir().unwrap();
    for file in ["Caddyfile", "Caddyfile.internal"] {
        let out = tool("caddy")
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(repo_root().join("deploy").join(file))
            .env("HOME", scratch.path())
            .env("XDG_DATA_HOME", scratch.path().join("data"))
            .env("XDG_CONFIG_HOME", scratch.path().join("config"))
            .env("VARTALAAP_DOMAIN", "bot.example.com")
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(
            out.status.success(),
            "caddy validate deploy/{file} failed:\n{stderr}"
        );
        // Warnings too: an unformatted or half-understood Caddyfile fails here, not in production.
        assert!(
            !stderr.contains("\"level\":\"warn\"") && !stderr.contains("\"level\":\"error\""),
            "caddy validate deploy/{file} warns:\n{stderr}"
        );
    }
}

/// `KEY=value` settings of a unit file (every occurrence, in order).
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(&format!("{key}=")))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_shipped_systemd_units_pass_systemd_analyze_verify() {
    let units = repo_root().join("deploy/systemd");
    let scratch = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for name in [
        "vartalaap.service",
        "vartalaap-backup.service",
        "vartalaap-backup.timer",
    ] {
        let unit = std::fs::read_to_string(units.join(name)).unwrap();
        // verify checks that ExecStart's program exists: point it at the binary under test.
        let here = unit.replace("/usr/local/bin/vartalaap", env!("CARGO_BIN_EXE_vartalaap"));
        let path = scratch.path().join(name);
        std::fs::write(&path, here).unwrap();
        paths.push(path);
    }
    let out = tool("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{all}"
    );
    // Unknown or misplaced keys are only warnings to systemd ("ignoring"): not here.
    assert!(
        all.trim().is_empty(),
        "systemd-analyze verify warns:\n{all}"
    );

    let unit = std::fs::read_to_string(units.join("vartalaap.service")).unwrap();
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("User", "vartalaap"),
        ("Restart", "on-failure"),
    ] {
        assert_eq!(unit_values(&unit, key), [want], "{key}");
    }
    // The data and log directories the server is told to use are the writable ones.
    let env = unit_values(&unit, "Environment").join(" ");
    let writable = unit_values(&unit, "ReadWritePaths").join(" ");
    for (setting, dir) in [
        ("DATA_DIR", "/var/lib/vartalaap"),
        ("LOG_DIR", "/var/log/vartalaap"),
    ] {
        assert!(env.contains(&format!("{setting}={dir}")), "{env}");
        assert!(writable.split(' ').any(|d| d == dir), "{writable}");
    }
    // Stopping must outlast the call drain plus the background jobs' grace period.
    let stop: u64 = unit_values(&unit, "TimeoutStopSec")[0].parse().unwrap();
    let example = std::fs::read_to_string(repo_root().join(".env.example")).unwrap();
    let drain: u64 = example
        .lines()
        .find_map(|l| l.strip_prefix("CALL_DRAIN_SECONDS="))
        .unwrap()
        .parse()
        .unwrap();
    let grace = vartalaap::serve::SHUTDOWN_GRACE.as_secs();
    assert!(
        stop >= drain + grace,
        "TimeoutStopSec={stop} is shorter than CALL_DRAIN_SECONDS={drain} + {grace} s job grace"
    );
}

// --- Caddy in front of the server -------------------------------------------------------------

/// `caddy run` with the shipped `tls internal` Caddyfile; killed on drop.
struct Caddy {
    child: Child,
    dir: tempfile::TempDir,
    https_port: u16,
    tls: Arc<rustls::ClientConfig>,
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Caddy {
    fn start(upstream: &str, https_port: u16) -> Caddy {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("caddy.log")).unwrap();
        let child = tool("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(repo_root().join("deploy/Caddyfile.internal"))
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("VARTALAAP_DOMAIN", "localhost")
            .env("VARTALAAP_UPSTREAM", upstream)
            .env("CADDY_HTTPS_PORT", https_port.to_string())
            .env("CADDY_HTTP_PORT", free_port().to_string())
            .env("CADDY_ADMIN", format!("localhost:{}", free_port()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let root = dir.path().join("data/caddy/pki/authorities/local/root.crt");
        let mut caddy = Caddy {
            child,
            dir,
            https_port,
            tls: client_tls(None),
        };
        // Ready once the local CA exists and the site answers over https with its certificate.
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut last = String::from("no root certificate yet");
        while Instant::now() < deadline {
            if root.exists() {
                let tls = client_tls(Some(&root));
                match https_to(&tls, https_port, "GET", "/health", &[], None) {
                    Ok(r) if r.status == 200 => {
                        caddy.tls = tls;
                        return caddy;
                    }
                    Ok(r) => last = format!("HTTP {}: {}", r.status, r.text),
                    Err(e) => last = e.to_string(),
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = caddy.child.kill();
        panic!(
            "caddy did not serve https://localhost:{https_port}/health ({last}); its log:\n{}",
            caddy.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }

    fn origin(&self) -> String {
        format!("https://localhost:{}", self.https_port)
    }

    fn https(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        https_to(
            &self.tls,
            self.https_port,
            method,
            path,
            &headers,
            body.map(|b| ("application/json", b)),
        )
        .unwrap_or_else(|e| panic!("{method} {path} through caddy: {e}\n{}", self.log()))
    }
}

/// A TLS client that trusts only the given root (Caddy's local CA), or nothing at all.
fn client_tls(root: Option<&Path>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(root) = root {
        for cert in CertificateDer::pem_file_iter(root).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn https_to(
    tls: &Arc<rustls::ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> std::io::Result<Reply> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls.clone(), name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(60)))?;
    exchange(
        rustls::StreamOwned::new(conn, sock),
        &format!("localhost:{port}"),
        method,
        path,
        headers,
        body,
    )
}

/// The Plivo-related settings of a telephony-enabled server reachable at `public`.
fn telephony_env(public: &str, plivo_rest: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("PUBLIC_BASE_URL", public),
        ("PLIVO_AUTH_ID", AUTH_ID),
        ("PLIVO_AUTH_TOKEN", AUTH_TOKEN),
        ("PLIVO_API_BASE_URL", plivo_rest),
    ];
    let model_dir = std::env::var("VARTALAAP_MODEL_DIR").unwrap_or_default();
    if !model_dir.is_empty() {
        env.push(("VARTALAAP_MODEL_DIR", model_dir.as_str()));
    }
    env.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The greeting, then the caller hangs up.
fn greeting_then_hang_up() -> Vec<Step> {
    vec![
        Step::WaitForBot {
            max: Duration::from_secs(40),
        },
        Step::Hangup,
    ]
}

/// Polls the call list (through `get`) until a call has ended; returns it.
fn wait_for_ended_call(
    get: impl Fn(&str) -> Reply,
    logs: impl Fn() -> String,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let calls = get("/api/calls");
        assert_eq!(calls.status, 200, "{}", calls.text);
        if let Some(call) = calls.json["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["ended_at"].is_string()))
        {
            return call.clone();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("no ended call was recorded; server log:\n{}", logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_call_over_wss_and_an_admin_login_over_https_work_through_caddy() {
    let plivo = MockPlivoRest::start(AUTH_ID, AUTH_TOKEN).await.unwrap();
    let server_port = free_port();
    let https_port = free_port();
    let public = format!("https://localhost:{https_port}");
    let mut env = telephony_env(&public, &plivo.base_url);
    env.extend(
        [
            ("APP_ENV", "production"),
            ("BIND_ADDR", &format!("127.0.0.1:{server_port}")),
            ("TRUSTED_PROXIES", "127.0.0.1,::1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let (server, caddy) = tokio::task::block_in_place(|| {
        let server = Server::start_with(&env_refs(&env));
        let caddy = Caddy::start(&format!("127.0.0.1:{server_port}"), https_port);
        (server, caddy)
    });
    assert_eq!(caddy.origin(), public);

    // Through the proxy: https, HSTS (the public origin is https), the usual headers.
    let health = tokio::task::block_in_place(|| caddy.https("GET", "/health", None, None));
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(
        health.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_security_headers("GET /health via caddy", &health);
    // Metrics stay on the host: the proxy does not publish them.
    let metrics = tokio::task::block_in_place(|| caddy.https("GET", "/metrics", None, None));
    assert_eq!(metrics.status, 404);
    assert_eq!(server.get("/metrics").0, 200);

    // An unsigned answer request through the proxy is refused: signatures cover the public URL.
    let unsigned = tokio::task::block_in_place(|| {
        https_to(
            &caddy.tls,
            https_port,
            "POST",
            "/plivo/answer",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                "CallUUID=forged&From=919876543210&To=911352710000",
            )),
        )
        .unwrap()
    });
    assert_eq!(unsigned.status, 403, "{}", unsigned.text);

    // A call exactly as Plivo places it: a signed answer POST over https, then the audio
    // stream over wss, both through Caddy.
    let mut cfg = SimConfig::new(
        &format!("{public}/plivo/answer"),
        AUTH_TOKEN,
        CALLER,
        BUSINESS_NUMBER,
    );
    cfg.tls = Some(caddy.tls.clone());
    cfg.max_call = Duration::from_secs(120);
    let report = run_call(&cfg, greeting_then_hang_up())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "call through caddy failed: {e}\nserver log:\n{}",
                server.logs()
            )
        });
    assert!(
        report
            .stream
            .url
            .starts_with(&format!("wss://localhost:{https_port}/plivo/stream?")),
        "{}",
        report.stream.url
    );
    assert!(
        report.play_audio_received > 0 && report.turns[0].first_bot_audio.is_some(),
        "the greeting did not come back through the proxy: {:?}\nserver log:\n{}",
        report.turns,
        server.logs()
    );
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );

    // The admin logs in over https and finds the call.
    tokio::task::block_in_place(|| {
        let login = caddy.https("POST", "/api/auth/login", None, Some(&right_password()));
        assert_eq!(login.status, 200, "{}", login.text);
        assert_security_headers("login via caddy", &login);
        let token = login.json["token"].as_str().unwrap().to_string();
        let call = wait_for_ended_call(
            |path| caddy.https("GET", path, Some(&token), None),
            || server.logs(),
        );
        assert_eq!(call["business_id"], "himalayan_kitchen");
        // The server saw the real client and the https scheme from Caddy (a trusted proxy).
        let logs = server.logs();
        let line = logs
            .lines()
            .find(|l| l.contains("Admin logged in."))
            .unwrap_or_else(|| panic!("no login line:\n{logs}"));
        assert!(
            line.contains("\"client\":\"127.0.0.1\"") && line.contains("\"scheme\":\"https\""),
            "{line}"
        );
    });
}

// --- Forwarded headers, security headers, production settings ------------------------------

#[test]
fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxy: every attempt counts against the real peer, whatever it claims.
    let server = Server::start();
    for i in 0..5 {
        let claimed = format!("198.51.100.{i}");
        let r = direct(
            &server,
            "POST",
            "/api/auth/login",
            &[("X-Forwarded-For", &claimed)],
            Some(&wrong_password()),
        );
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = direct(
        &server,
        "POST",
        "/api/auth/login",
        &[("X-Forwarded-For", "198.51.100.99")],
        Some(&right_password()),
    );
    assert_eq!(
        r.status, 429,
        "a new X-Forwarded-For escaped the limit: {}",
        r.text
    );
    let logs = server.logs();
    assert!(logs.contains("\"client\":\"127.0.0.1\""), "{logs}");
    assert!(
        !logs.contains("198.51.100."),
        "a spoofed address reached the log:\n{logs}"
    );
}

#[test]
fn a_trusted_proxy_names_the_client_the_limiter_counts() {
    let server = Server::start_with(&[("TRUSTED_PROXIES", "127.0.0.1/32, ::1")]);
    let attacker = [
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-Proto", "https"),
    ];
    for _ in 0..5 {
        let r = direct(
            &server,
            "POST",
            "/api/auth/login",
            &attacker,
            Some(&wrong_password()),
        );
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = direct(
        &server,
        "POST",
        "/api/auth/login",
        &attacker,
        Some(&right_password()),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    // Another client behind the same proxy is not locked out by the attacker.
    let owner = [("X-Forwarded-For", "203.0.113.8")];
    let r = direct(
        &server,
        "POST",
        "/api/auth/login",
        &owner,
        Some(&right_password()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let logs = server.logs();
    let failed = logs
        .lines()
        .find(|l| l.contains("Admin login failed."))
        .unwrap();
    assert!(
        failed.contains("\"client\":\"203.0.113.7\"") && failed.contains("\"scheme\":\"https\""),
        "{failed}"
    );
}

#[test]
fn token_and_personal_data_replies_are_never_cached_or_framed() {
    let server = Server::start();
    let login = server.request("POST", "/api/auth/login", None, Some(&right_password()));
    assert_eq!(login.status, 200);
    assert_security_headers("login", &login);
    let token = login.json["token"].as_str().unwrap().to_string();
    let conversation = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some("{}"),
    );
    assert_security_headers("start a conversation", &conversation);
    for path in [
        "/api/reservations",
        "/api/calls",
        "/api/callbacks",
        "/api/jobs",
        &format!("/api/callers/{}/preferences", "ab".repeat(32)),
        "/health",
        "/no/such/page",
    ] {
        let r = server.request("GET", path, Some(&token), None);
        assert_security_headers(path, &r);
        // The public origin is not https here (none is set): no HSTS over plain http.
        assert_eq!(r.header("strict-transport-security"), None, "{path}");
    }
    let refused = server.request("GET", "/api/calls", None, None);
    assert_eq!(refused.status, 401);
    assert_security_headers("401", &refused);
}

#[test]
fn production_refuses_a_public_origin_that_is_not_https() {
    for (url, message) in [
        (
            Some("http://bot.example.com"),
            "PUBLIC_BASE_URL must be an https:// origin when APP_ENV=production",
        ),
        (None, "PUBLIC_BASE_URL is required when APP_ENV=production"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vartalaap"));
        cmd.arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("APP_ENV", "production")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("PHONE_ENCRYPTION_KEY", KEY)
            .env("PHONE_HASH_PEPPER", PEPPER)
            .env("SESSION_SECRET", SESSION)
            .env("ADMIN_PASSWORD_HASH", admin_hash())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = url {
            cmd.env("PUBLIC_BASE_URL", url);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve started in production with PUBLIC_BASE_URL={url:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(!status.success());
        assert!(stderr.contains(message), "{stderr}");
    }
}

// --- Backup and restore ---------------------------------------------------------------------

/// A day the restaurant is open, `days` or more ahead (IST).
fn open_date(days: i64) -> chrono::NaiveDate {
    let today = (Utc::now() + chrono::Duration::minutes(330)).date_naive();
    let mut date = today + chrono::Duration::days(days);
    let exceptions = ["2026-12-31", "2027-01-01", "2027-01-26"];
    while date.weekday() == Weekday::Mon || exceptions.contains(&date.to_string().as_str()) {
        date += chrono::Duration::days(1);
    }
    date
}

/// The CLI with the test server's secrets, in `dir`.
fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vartalaap"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PHONE_ENCRYPTION_KEY", KEY)
        .env("PHONE_HASH_PEPPER", PEPPER)
        .env("SESSION_SECRET", SESSION)
        .env("ADMIN_PASSWORD_HASH", admin_hash())
        .env("LOG_DIR", "off")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ids(reply: &Reply) -> Vec<u64> {
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_running_server_restores_every_booking_call_and_job() {
    let plivo = MockPlivoRest::start(AUTH_ID, AUTH_TOKEN).await.unwrap();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let mut env = telephony_env(&public, &plivo.base_url);
    env.push(("BIND_ADDR".into(), format!("127.0.0.1:{port}")));
    let server = tokio::task::block_in_place(|| Server::start_with(&env_refs(&env)));

    // A phone call, bookings (one with a WhatsApp confirmation job), a callback-free day.
    let mut cfg = SimConfig::new(
        &format!("{public}/plivo/answer"),
        AUTH_TOKEN,
        CALLER,
        BUSINESS_NUMBER,
    );
    cfg.max_call = Duration::from_secs(120);
    run_call(&cfg, greeting_then_hang_up()).await.unwrap();
    let (token, before_reservations, before_call, before_jobs) =
        tokio::task::block_in_place(|| {
            let token = server.login();
            for (time, consent) in [("19:00", true), ("20:00", false)] {
                let booking = json!({
                    "business_id": "himalayan_kitchen",
                    "customer_name": "Asha Rawat",
                    "phone": "+91 98765 43210",
                    "party_size": 2,
                    "date": open_date(3).to_string(),
                    "time": time,
                    "whatsapp_consent": consent,
                });
                let r = server.request(
                    "POST",
                    "/api/reservations",
                    Some(&token),
                    Some(&booking.to_string()),
                );
                assert_eq!(r.status, 201, "{}", r.text);
            }
            let call = wait_for_ended_call(
                |path| server.request("GET", path, Some(&token), None),
                || server.logs(),
            );
            let call_id = call["id"].as_u64().unwrap();
            let call = server.request("GET", &format!("/api/calls/{call_id}"), Some(&token), None);
            let reservations = server.request("GET", "/api/reservations", Some(&token), None);
            let jobs = server.request(
                "GET",
                "/api/jobs?kind=whatsapp_followup",
                Some(&token),
                None,
            );
            (token, reservations, call, jobs)
        });
    assert_eq!(ids(&before_reservations).len(), 2);
    assert_eq!(ids(&before_jobs).len(), 1, "{}", before_jobs.text);
    assert!(!before_call.json["turns"].as_array().unwrap().is_empty());

    // Backed up while the server runs (it holds the database, so the server takes the snapshot).
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("nightly.redb");
    let bind = server.addr.to_string();
    let out = tokio::task::block_in_place(|| {
        cli(
            server.dir.path(),
            &["backup", file.to_str().unwrap()],
            &[("BIND_ADDR", bind.as_str())],
        )
    });
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("backed up the running server"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("2 reservation(s), 1 call(s)"),
        "{}",
        text(&out.stdout)
    );
    assert!(server.logs().contains("Backup taken."));
    // The server kept serving.
    assert_eq!(server.get("/health").0, 200);
    drop(token);

    // Restored into a fresh directory, a new server there has everything.
    let fresh = tempfile::tempdir().unwrap();
    for sub in ["businesses", "flows", "plugins"] {
        common::copy_tree(&repo_root().join(sub), &fresh.path().join(sub));
    }
    let out = cli(fresh.path(), &["restore", file.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A second restore would replace a database: only with --force.
    let again = cli(fresh.path(), &["restore", file.to_str().unwrap()], &[]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );

    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let mut env = telephony_env(&public, &plivo.base_url);
    env.push(("BIND_ADDR".into(), format!("127.0.0.1:{port}")));
    let restored = tokio::task::block_in_place(|| Server::start_in(fresh, &env_refs(&env)));
    tokio::task::block_in_place(|| {
        let token = restored.login();
        let reservations = restored.request("GET", "/api/reservations", Some(&token), None);
        assert_eq!(
            reservations.json["items"],
            before_reservations.json["items"]
        );
        let call_id = before_call.json["call"]["id"].as_u64().unwrap();
        let call = restored.request("GET", &format!("/api/calls/{call_id}"), Some(&token), None);
        assert_eq!(call.status, 200, "{}", call.text);
        assert_eq!(call.json, before_call.json);
        let jobs = restored.request(
            "GET",
            "/api/jobs?kind=whatsapp_followup",
            Some(&token),
            None,
        );
        assert_eq!(ids(&jobs), ids(&before_jobs));
        assert_eq!(jobs.json["items"][0]["kind"], "whatsapp_followup");
    });

    // With the server stopped, backup copies the file directly.
    let dir = server.stop();
    let offline = backups.path().join("offline.redb");
    let out = cli(dir.path(), &["backup", offline.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("server not running"),
        "{}",
        text(&out.stdout)
    );
}
