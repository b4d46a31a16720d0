//! End-to-end tests of `vartalaap serve`: the real binary, real HTTP, real files on disk.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
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
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
}

const PEPPER: &str = "pepper-for-the-e2e-test-0123456789";
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const SESSION: &str = "session-secret-for-the-e2e-test-0123456789";

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["businesses", "flows", "plugins"] {
            copy_tree(&repo_root().join(sub), &dir.path().join(sub));
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_vartalaap"))
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("LOG_LEVEL", "debug")
            .env("PHONE_ENCRYPTION_KEY", KEY)
            .env("PHONE_HASH_PEPPER", PEPPER)
            .env("SESSION_SECRET", SESSION)
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
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(addr) = event["fields"]["address"].as_str()
                {
                    let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                }
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
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

    fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status: u16 = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let body = if response
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    fn business_file(&self) -> PathBuf {
        self.dir.path().join("businesses/himalayan_kitchen.yaml")
    }

    /// Polls `/health/config` until `check` holds (hot reload is asynchronous).
    fn wait_for_config(
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

    fn logs(&self) -> String {
        let mut all = self.stderr.lock().unwrap().clone();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("logs")) {
            for entry in entries.flatten() {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        all
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
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
    assert_eq!(body["businesses"], 1);
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
