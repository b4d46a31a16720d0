//! A private PostgreSQL server for tests: Debian's PostgreSQL (`scripts/setup.sh` installs the
//! `postgresql` package) started once per test process in a temporary directory, reachable
//! only over a unix socket in that directory, with a fresh database per test.
//!
//! PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (via
//! `runuser`). A watchdog shell beside the server stops it and deletes its directory when the
//! test process exits, however it exits: statics are never dropped, and a killed test must not
//! leave a server behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where Debian installs PostgreSQL's server programs.
const PG_LIB: &str = "/usr/lib/postgresql";
/// The port number in the socket's file name (no TCP port is opened).
const PORT: u16 = 5432;

/// The running server of this test process.
pub struct TestServer {
    socket_dir: PathBuf,
}

static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty database on this process's server (started on first use); returns its
/// `postgresql://` URL. Panics with what to do when PostgreSQL is not installed.
pub fn fresh_database() -> String {
    let server = match SERVER.get_or_init(TestServer::start) {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    };
    let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
    let mut admin = postgres::Client::connect(&server.url("postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL server: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    server.url(&name)
}

/// The test server's connection string for `database` (used by tests that stop or break
/// connections on purpose).
pub fn server_url(database: &str) -> String {
    match SERVER.get_or_init(TestServer::start) {
        Ok(server) => server.url(database),
        Err(why) => panic!("{why}"),
    }
}

impl TestServer {
    /// A `postgresql://` URL (what `DATABASE_URL` takes): the socket directory is the
    /// percent-encoded host.
    fn url(&self, database: &str) -> String {
        let host = self.socket_dir.display().to_string().replace('/', "%2F");
        format!("postgresql://postgres@{host}:{PORT}/{database}?connect_timeout=10")
    }

    fn start() -> Result<TestServer, String> {
        let bin = server_bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("vartalaap-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a directory for the test PostgreSQL: {e}"))?
            .keep();
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let data = dir.join("data");
        run(user_command(as_root, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]))?;
        let script = format!(
            r#""{postgres}" -D "{data}" -k "{dir}" -p {PORT} -c listen_addresses='' \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                -c max_connections=300 >"{dir}/server.log" 2>&1 &
            pg=$!
            while [ -d /proc/{test_pid} ] && kill -0 $pg 2>/dev/null; do sleep 1; done
            kill -INT $pg 2>/dev/null; wait $pg; rm -rf "{dir}""#,
            postgres = bin.join("postgres").display(),
            data = data.display(),
            dir = dir.display(),
            test_pid = std::process::id(),
        );
        user_command(as_root, Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the test PostgreSQL: {e}"))?;
        let server = TestServer { socket_dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match postgres::Client::connect(&server.url("postgres"), postgres::NoTls) {
                Ok(_) => return Ok(server),
                Err(e) if Instant::now() > deadline => {
                    let log = std::fs::read_to_string(server.socket_dir.join("server.log"))
                        .unwrap_or_default();
                    return Err(format!(
                        "the test PostgreSQL did not accept connections within 60 s ({e}); its log:\n{log}"
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// The newest installed PostgreSQL's `bin` directory.
fn server_bin_dir() -> Result<PathBuf, String> {
    let missing = || {
        format!(
            "PostgreSQL is not installed (no {PG_LIB}/<version>/bin/postgres): run scripts/setup.sh, \
             which installs Debian's postgresql package, then run the tests again"
        )
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(PG_LIB)
        .map_err(|_| missing())?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(missing)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` as the `postgres` user when we are root (PostgreSQL refuses root), else as us.
fn user_command(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
