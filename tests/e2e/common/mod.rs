//! Shared helpers for the end-to-end tests: a real `vartalaap serve` process on a free port
//! with a scratch copy of the configuration, and a minimal HTTP/1.1 client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// How many business files the repository ships (the server loads each of them).
pub fn shipped_businesses() -> usize {
    std::fs::read_dir(repo_root().join("businesses"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count()
}

/// A business file's text with a closure on `date` added as its first exception (the file
/// must already have an `exceptions:` list).
pub fn with_closure_on(yaml: &str, date: &str) -> String {
    let edited = yaml.replacen(
        "exceptions:\n",
        &format!("exceptions:\n  - date: \"{date}\"\n    note: Diwali\n    closed: true\n"),
        1,
    );
    assert_ne!(edited, yaml, "the business file has an exceptions list");
    edited
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A running server on a free port, with a scratch config tree and data dir; killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
}

pub const PEPPER: &str = "pepper-for-the-e2e-test-0123456789";
pub const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
pub const SESSION: &str = "session-secret-for-the-e2e-test-0123456789";

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts with extra environment variables.
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["businesses", "flows", "plugins"] {
            copy_tree(&repo_root().join(sub), &dir.path().join(sub));
        }
        Server::start_in(dir, env)
    }

    /// Stops this server and starts a new one on the same files and database.
    pub fn restart(mut self, env: &[(&str, &str)]) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Server::start_in(dir, env)
    }

    /// Stops the server, keeping its folder (config, data, logs) for inspection.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Starts a server in an existing folder.
    pub fn start_in(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        Server::launch(
            dir,
            Launch {
                env,
                ..Launch::default()
            },
        )
    }

    /// Starts a server in an existing folder, as `launch` says.
    pub fn launch(dir: tempfile::TempDir, launch: Launch<'_>) -> Server {
        let (program, wrapper_args) = match launch.wrapper.split_first() {
            Some((program, args)) => (program.to_string(), args.to_vec()),
            None => (env!("CARGO_BIN_EXE_vartalaap").to_string(), Vec::new()),
        };
        let mut command = Command::new(program);
        if !launch.wrapper.is_empty() {
            command
                .args(wrapper_args)
                .arg(env!("CARGO_BIN_EXE_vartalaap"));
        }
        command
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("LOG_LEVEL", "debug");
        if !launch.without_secrets {
            command
                .env("PHONE_ENCRYPTION_KEY", KEY)
                .env("PHONE_HASH_PEPPER", PEPPER)
                .env("SESSION_SECRET", SESSION)
                .env("ADMIN_PASSWORD_HASH", admin_hash());
        }
        let mut child = command
            .envs(launch.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = serving_address(&line) {
                    let _ = tx.send(addr);
                }
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        // Generous: loading the voice models takes ~30 s on a loaded 2-core machine, and a test
        // may start several servers at once.
        let addr = match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start:\n{}", stderr.lock().unwrap());
            }
        };
        Server {
            child,
            addr,
            dir,
            stderr,
        }
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let reply = self.request("GET", path, None, None);
        (reply.status, reply.json)
    }

    pub fn business_file(&self) -> PathBuf {
        self.dir.path().join("businesses/himalayan_kitchen.yaml")
    }

    /// Polls `/health/config` until `check` holds (hot reload is asynchronous).
    pub fn wait_for_config(
        &self,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = self.get("/health/config");
            if check(&body) {
                return body;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; last /health/config:\n{body:#}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server printed on its console (standard error) so far.
    pub fn console(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn logs(&self) -> String {
        let mut all = self.stderr.lock().unwrap().clone();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("logs")) {
            for entry in entries.flatten() {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        all
    }
}

/// A free local port, for a server whose `PUBLIC_BASE_URL` (which Plivo signatures cover)
/// must name its port before it starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How to start a server process (see [`Server::launch`]).
#[derive(Default)]
pub struct Launch<'a> {
    /// Extra environment variables; they override the defaults (JSON logs, test secrets).
    pub env: &'a [(&'a str, &'a str)],
    /// A program the server runs under, with its arguments, e.g.
    /// `["prlimit", "--as=2147483648", "--"]`.
    pub wrapper: &'a [&'a str],
    /// Leaves the secrets unset, so development mode generates them.
    pub without_secrets: bool,
}

/// The address in the "Vartalaap is serving." line, in either log format (JSON, or the
/// readable format with its colour codes).
fn serving_address(line: &str) -> Option<SocketAddr> {
    if let Ok(event) = serde_json::from_str::<serde_json::Value>(line) {
        return event["fields"]["address"].as_str()?.parse().ok();
    }
    let plain = strip_ansi(line);
    if !plain.contains("Vartalaap is serving.") {
        return None;
    }
    let (_, after) = plain.split_once("address=")?;
    after.split_whitespace().next()?.parse().ok()
}

/// `text` without ANSI colour codes (ESC `[` … final letter).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n..];
        rest = rest.strip_prefix("\r\n").unwrap_or(rest);
    }
    out
}

/// The admin password every test server accepts.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Hashing is slow on purpose, so the hash is computed once per test binary.
pub fn admin_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| vartalaap::secrets::hash_password(ADMIN_PASSWORD).unwrap())
        .clone()
}

/// A response: status, lower-cased headers, body text and the body parsed as JSON (or Null).
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: serde_json::Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Server {
    /// Sends one request; `token` adds `Authorization: Bearer`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        self.try_request(method, path, token, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn raw_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
        content_type: &str,
    ) -> Reply {
        self.try_raw_request(method, path, token, body, content_type)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// The process id, for tests that kill the server from outside (`kill -9`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Like [`Server::request`], but a dead server is an `Err` instead of a panic.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> std::io::Result<Reply> {
        self.try_raw_request(
            method,
            path,
            token,
            body.map(str::as_bytes),
            "application/json",
        )
    }

    fn try_raw_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
        content_type: &str,
    ) -> std::io::Result<Reply> {
        let mut stream = TcpStream::connect(self.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        if let Some(body) = body {
            // The server may answer (413) before reading everything; ignore a reset here.
            let _ = stream.write_all(body);
        }
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let response = String::from_utf8_lossy(&raw).into_owned();
        parse_reply(&response)
    }

    /// Logs in as admin and returns the bearer token.
    pub fn login(&self) -> String {
        let reply = self.request(
            "POST",
            "/api/auth/login",
            None,
            Some(&serde_json::json!({ "password": ADMIN_PASSWORD }).to_string()),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json["token"].as_str().unwrap().to_string()
    }

    /// Sends one caller line to a text conversation and returns the reply JSON; a refusal
    /// fails the test with the line that was refused.
    pub fn say(&self, token: &str, conversation_id: &str, text: &str) -> serde_json::Value {
        let reply = self.request(
            "POST",
            &format!("/api/conversations/{conversation_id}/messages"),
            Some(token),
            Some(&serde_json::json!({ "text": text }).to_string()),
        );
        assert_eq!(reply.status, 200, "{text}: {}", reply.text);
        reply.json
    }
}

/// Opens a WebSocket upgrade that the server must refuse; the HTTP status and body it answered.
pub async fn refused_upgrade(url: &str) -> (u16, String) {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(e) => panic!("upgrade failed without an HTTP answer: {e}"),
        Ok(_) => panic!("the upgrade was accepted: {url}"),
    }
}

/// Parses a whole HTTP/1.1 response (status line, headers, a plain or chunked body).
pub fn parse_reply(response: &str) -> std::io::Result<Reply> {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.get(9..12))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {response:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let text = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Ok(Reply {
        status,
        headers,
        text,
        json,
    })
}
