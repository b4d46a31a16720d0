//! `vartalaap backup` and `vartalaap restore`: the database to one file and back.
//!
//! Design decision: `backup` first tries to open the database itself. That works only when no
//! server is running (redb lets one process hold the file); then the copy is made directly. When
//! a server holds the file, `backup` asks that server for a snapshot
//! (`GET /api/admin/backup`, see `http/backup.rs`) with a short-lived admin token it signs with
//! `SESSION_SECRET` — the same `.env` the server runs with, so no password is needed on the
//! command line or in a cron job. Either way the snapshot is one read transaction: consistent,
//! and calls keep working while it is taken. The downloaded file is then checked row by row
//! before it is renamed into place, so a truncated download never becomes a "backup".
//!
//! `restore` needs the server stopped; it keeps the replaced database as
//! `vartalaap.redb.before-restore`. A backup holds phone numbers encrypted: restoring it needs
//! the same `PHONE_ENCRYPTION_KEY` and `PHONE_HASH_PEPPER` (back up `.env` separately, and
//! in development mode `data/dev-secrets.env`).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use vartalaap_store::{BackupError, BackupReport};

use crate::http::auth;
use crate::settings::Settings;
use crate::storage::database_path;

/// How long the token `backup` signs for the server is valid.
const BACKUP_TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(5);

/// `vartalaap backup <file> [--server URL]`.
pub fn backup_command(
    settings: &Settings,
    file: &Path,
    server: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let database = database_path(settings);
    anyhow::ensure!(
        database.exists(),
        "there is no database at {} to back up (check DATA_DIR)",
        database.display()
    );
    let report = match vartalaap_store::backup_file(&database, file) {
        Ok(report) => {
            println!(
                "backed up {} (server not running) to {}",
                database.display(),
                file.display()
            );
            report
        }
        Err(BackupError::InUse { .. }) => {
            let base = match server {
                Some(url) => url.trim_end_matches('/').to_string(),
                None => local_url(settings.bind_addr),
            };
            let report = backup_from_server(settings, &base, file)?;
            println!(
                "backed up the running server at {base} to {}",
                file.display()
            );
            report
        }
        Err(e) => {
            return Err(e).with_context(|| format!("could not back up {}", database.display()));
        }
    };
    print_report(&report);
    Ok(ExitCode::SUCCESS)
}

/// `vartalaap restore <file> [--force]`.
pub fn restore_command(settings: &Settings, file: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let database = database_path(settings);
    if database.exists() && !force {
        anyhow::bail!(
            "{} already exists; stop the server and run restore again with --force to replace it \
             (the current database is kept as {}.before-restore)",
            database.display(),
            database.display()
        );
    }
    create_private_dir(&settings.data_dir)?;
    let report = vartalaap_store::restore_file(file, &database).with_context(|| {
        format!(
            "could not restore {} into {}",
            file.display(),
            database.display()
        )
    })?;
    println!("restored {} into {}", file.display(), database.display());
    print_report(&report);
    println!(
        "start the server with the same PHONE_ENCRYPTION_KEY and PHONE_HASH_PEPPER as when the \
         backup was taken, or stored phone numbers cannot be read"
    );
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &BackupReport) {
    println!(
        "schema version {}, {} bytes: {} reservation(s), {} call(s), {} job(s), {} callback request(s)",
        report.schema_version,
        report.bytes,
        report.rows("reservations"),
        report.rows("call_logs"),
        report.rows("jobs"),
        report.rows("callback_requests"),
    );
}

/// The server's own address as seen from this host (`0.0.0.0` means loopback here).
fn local_url(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, bind.port()))
}

/// Downloads a snapshot from the running server, checks it and moves it to `file`.
fn backup_from_server(
    settings: &Settings,
    base: &str,
    file: &Path,
) -> anyhow::Result<BackupReport> {
    let secret = settings.secrets.session_secret.as_ref().context(
        "SESSION_SECRET is not set, so this command cannot sign in to the running server; run it with the server's .env",
    )?;
    let now = chrono::Utc::now();
    let key = auth::admin_token_key(secret).context("SESSION_SECRET cannot sign a login token")?;
    let token = auth::sign_token(&key, &auth::Claims::admin(now, BACKUP_TOKEN_TTL));
    let body = http_get(base, "/api/admin/backup", &token)?;
    let download = sibling(file, ".download");
    write_private(&download, &body)
        .with_context(|| format!("could not write {}", download.display()))?;
    // Re-copying the download row by row proves it is a whole, readable database.
    let checked = vartalaap_store::backup_file(&download, file);
    let _ = std::fs::remove_file(&download);
    checked.with_context(|| format!("the snapshot the server at {base} sent is not usable"))
}

/// The data directory holds personal data: created owner-only, like `serve` does.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    file.with_file_name(name)
}

/// A plain HTTP/1.1 GET to the local server (`http://host:port` only: the server itself never
/// speaks TLS; the proxy in front of it does).
fn http_get(base: &str, path: &str, token: &str) -> anyhow::Result<Vec<u8>> {
    let authority = base.strip_prefix("http://").with_context(|| {
        format!("--server must be the server's local http:// address (BIND_ADDR), not {base:?}")
    })?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .ok()
        .and_then(|mut a| a.next())
        .with_context(|| format!("{base} is not a host:port address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).with_context(|| {
        format!(
            "the database is in use, but no server answers at {base}; pass --server with the running server's address"
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the snapshot from {base} failed"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .with_context(|| format!("{base} sent no HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = raw[split + 4..].to_vec();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .with_context(|| format!("{base} sent no HTTP status line"))?;
    if status != 200 {
        let hint = if status == 401 {
            " (run this with the server's settings: its SESSION_SECRET signs the request)"
        } else {
            ""
        };
        anyhow::bail!(
            "the server at {base} refused the backup with HTTP {status}: {}{hint}",
            String::from_utf8_lossy(&body).trim()
        );
    }
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    if let Some(length) = length {
        anyhow::ensure!(
            body.len() == length,
            "the snapshot from {base} was cut off ({} of {length} bytes)",
            body.len()
        );
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_is_reached_on_loopback() {
        assert_eq!(
            local_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(local_url("[::]:9000".parse().unwrap()), "http://[::1]:9000");
        assert_eq!(
            local_url("10.0.0.2:80".parse().unwrap()),
            "http://10.0.0.2:80"
        );
    }
}
