//! Running the CLI's subcommands: the process edge, where errors become `anyhow` with context.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use vartalaap_config::{ConfigStore, Diagnostic};
use vartalaap_store::{Clock, SystemClock};

use crate::cli::{Cli, Command, OutputFormat, TestAction};
use crate::http::metrics::Metrics;
use crate::http::{AppState, AuthState, routes};
use crate::logging;
use crate::secrets::{FreshSecrets, ensure_dev_secrets, hash_password, random_password};
use crate::settings::Settings;
use crate::storage;

/// How long a graceful shutdown waits for in-flight work before giving up.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs one CLI invocation to completion.
pub fn run_cli(cli: Cli) -> anyhow::Result<ExitCode> {
    crate::private_files::restrict_new_files();
    load_env_file(cli.env_file.as_deref())?;
    match cli.command {
        Command::Serve { bind, config_root } => serve_command(bind, config_root),
        Command::Validate {
            paths,
            root,
            format,
        } => Ok(validate_command(&root, &paths, format)),
        Command::Keys {
            admin_password_stdin,
        } => keys_command(admin_password_stdin),
        Command::Chat {
            business,
            at,
            show_state,
            caller,
            persist,
            root,
        } => crate::commands::chat(crate::commands::ChatOptions {
            business,
            at,
            show_state,
            caller,
            persist,
            root,
        }),
        Command::Test {
            action:
                Some(TestAction::Record {
                    call_id,
                    name,
                    force,
                    dir,
                    root,
                }),
            ..
        } => crate::commands::record_test(&command_settings()?, call_id, name, force, dir, &root),
        Command::Test {
            dir,
            root,
            action: None,
        } => crate::commands::test(&dir, &root),
        Command::Migrate { import_redb } => migrate_command(import_redb.as_deref()),
        Command::SchemaDiagram => {
            let settings = Settings::from_process_env()?;
            let url = settings.database_url.as_ref().context(
                "DATABASE_URL is not set: the ER diagram is read from a PostgreSQL database \
                 (run `vartalaap migrate` against it first)",
            )?;
            let diagram = vartalaap_store::schema_diagram(url.expose())
                .context("could not read the schema from DATABASE_URL")?;
            print!("{diagram}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(crate::http::openapi_document())
                    .context("could not print the OpenAPI document")?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::RotateKeys => rotate_keys_command(),
        Command::Backup { file, server } => {
            crate::backup::backup_command(&command_settings()?, &file, server.as_deref())
        }
        Command::Restore { file, force } => {
            crate::backup::restore_command(&Settings::from_process_env()?, &file, force)
        }
    }
}

/// Loads `.env` (or the given file) into the environment without overriding set variables.
fn load_env_file(path: Option<&Path>) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            dotenvy::from_path(path)
                .with_context(|| format!("could not read the env file {}", path.display()))?;
        }
        None => match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(e).context("could not read .env"),
        },
    }
    Ok(())
}

fn serve_command(bind: Option<String>, config_root: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::from_process_env()?;
    if let Some(bind) = bind {
        settings.bind_addr = bind.parse::<SocketAddr>().with_context(|| {
            format!("--bind must be host:port such as 0.0.0.0:8080, not {bind:?}")
        })?;
    }
    if let Some(root) = config_root {
        settings.config_root = root;
    }
    let dev_secrets = ensure_dev_secrets(&mut settings)?;
    let _log_guard = logging::init(logging::LogConfig {
        level: &settings.log_level,
        format: settings.log_format,
        dir: settings.log_dir.as_deref(),
        secrets: settings.secret_values(),
    })?;
    if !dev_secrets.generated.is_empty() || !dev_secrets.reused.is_empty() {
        tracing::warn!(
            generated = ?dev_secrets.generated,
            reused = ?dev_secrets.reused,
            file = %dev_secrets.path.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default(),
            "Development mode: secrets missing from the environment were taken from the data directory. Set them explicitly (and APP_ENV=production) for real use."
        );
    }
    warn_about_shared_files(&settings);
    if let Some(password) = &dev_secrets.new_admin_password {
        let url = admin_url(settings.public_base_url.as_deref(), settings.bind_addr);
        reveal_admin_password(password, &settings.data_dir, &url)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

/// Where a generated admin password goes when nobody is at a terminal to read it.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password.txt";

/// Shows a generated admin password to the person starting the server, never to a log: on the
/// terminal when standard output is one; otherwise (systemd, Docker, a pipe — output that ends
/// in journald or a log file) in `DATA_DIR/admin-password.txt`, readable by this user only.
fn reveal_admin_password(password: &str, data_dir: &Path, admin_url: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        println!(
            "\nGenerated a development admin password (shown only now): {password}\n\
             Log in to the admin at {admin_url} with it. Its hash is stored in {}.\n",
            crate::secrets::dev_secrets_path(data_dir).display()
        );
        return Ok(());
    }
    let path = data_dir.join(ADMIN_PASSWORD_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&path)
        .and_then(|mut file| writeln!(file, "{password}"))
        .with_context(|| format!("could not write the admin password to {}", path.display()))?;
    tracing::warn!(
        file = %path.display(),
        admin = %admin_url,
        "Generated a development admin password. It is in this file (readable only by this user), not in the log: read it, then delete the file."
    );
    Ok(())
}

/// Where the owner opens the admin web app: under `PUBLIC_BASE_URL` when set, otherwise on
/// the listening address (a wildcard address shown as loopback, which a local browser reaches).
pub fn admin_url(public_base_url: Option<&str>, bind: std::net::SocketAddr) -> String {
    if let Some(base) = public_base_url {
        return format!(
            "{}{}",
            base.trim_end_matches('/'),
            crate::http::admin_web::ADMIN_PATH
        );
    }
    let mut shown = bind;
    if shown.ip().is_unspecified() {
        shown.set_ip(if bind.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{shown}{}", crate::http::admin_web::ADMIN_PATH)
}

/// Warns about private files other users can read (made by an older version, or by hand);
/// new ones are created private (see `private_files`).
fn warn_about_shared_files(settings: &Settings) {
    let mut paths = vec![
        settings.data_dir.clone(),
        storage::database_path(settings),
        PathBuf::from(".env"),
    ];
    if let Some(dir) = &settings.log_dir {
        paths.push(dir.clone());
    }
    for (path, mode) in crate::private_files::shared_data_paths(&paths) {
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:03o}"),
            "This file or folder holds private data but other users on this machine can read it; run chmod go-rwx on it."
        );
    }
}

/// Loads configuration, starts the watcher and serves HTTP until SIGINT or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Absolute, so file events (which carry absolute paths) match the watched folders.
    let root = std::fs::canonicalize(&settings.config_root).with_context(|| {
        format!(
            "the configuration folder {} does not exist (set CONFIG_ROOT or --config-root)",
            settings.config_root.display()
        )
    })?;
    let config = ConfigStore::load(&root).map_err(|diagnostics| {
        anyhow::anyhow!(
            "no business could be loaded from {}:\n{}",
            root.display(),
            render_diagnostics(&diagnostics)
        )
    })?;
    let config = Arc::new(config);
    let _watcher = config
        .spawn_watcher()
        .with_context(|| format!("could not watch {} for changes", root.display()))?;
    for business in config.list() {
        tracing::info!(business = %business.id(), version = %business.version, "Business is live.");
    }
    let store = {
        let settings = settings.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || storage::open_store(&settings))
                .await
                .context("opening the database was interrupted")??,
        )
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let shutdown = CancellationToken::new();
    let jobs = storage::spawn_job_runner(
        store.clone(),
        config.clone(),
        &settings,
        clock.clone(),
        shutdown.clone(),
    )?;
    storage::spawn_key_rotation(store.clone(), &settings)?;
    storage::spawn_write_probe(store.clone(), shutdown.clone());
    let session_secret = settings
        .secrets
        .session_secret
        .clone()
        .context("SESSION_SECRET is not set; `vartalaap keys` prints one")?;
    let metrics = Arc::new(Metrics::new());
    let llm = crate::llm::from_settings(&settings, Some(metrics.clone()))?;
    let voice = crate::http::plivo::voice_service(
        &settings,
        config.clone(),
        store.clone(),
        clock.clone(),
        metrics.clone(),
        &session_secret,
        llm.clone(),
    )
    .await?;
    let listener = TcpListener::bind(settings.bind_addr)
        .await
        .with_context(|| format!("could not listen on {}", settings.bind_addr))?;
    let local = listener.local_addr().context("listener has no address")?;
    tracing::info!(address = %local, offline = settings.deepgram.is_none(), "Vartalaap is serving.");
    let admin_web = Arc::new(crate::http::admin_web::AdminWeb::load(
        &settings.admin_web_dir,
    ));
    match admin_web.missing() {
        None => tracing::info!(
            url = %admin_url(settings.public_base_url.as_deref(), local),
            "Admin web app: open it and log in with the admin password."
        ),
        Some(reason) => tracing::warn!(%reason, "Admin web app is not available."),
    }
    let chat = Arc::new(
        crate::chat::ChatService::new(
            config.clone(),
            store.clone(),
            Arc::new(vartalaap_script::ScriptRuntime::new(
                vartalaap_script::ScriptLimits::default(),
            )),
            clock.clone(),
        )
        .with_llm(llm.clone(), tokio::runtime::Handle::current()),
    );
    let state = AppState {
        chat,
        config,
        replay: Arc::new(crate::http::replay::ReplayGuard::new(store.clone())),
        store,
        clock,
        auth: Arc::new(AuthState {
            tokens: crate::http::auth::admin_token_key(&session_secret)
                .context("SESSION_SECRET cannot sign admin tokens")?,
            admin_password_hash: settings.secrets.admin_password_hash.clone(),
            limiter: Default::default(),
            password_checks: Default::default(),
        }),
        metrics,
        voice: voice.clone(),
        edge: Arc::new(crate::http::edge::Edge::new(
            settings.trusted_proxies.clone(),
            settings.public_base_url.as_deref(),
        )),
        admin_web,
        conversation_tests_dir: settings
            .conversation_tests_dir
            .clone()
            .unwrap_or_else(|| root.join("tests/conversations")),
        started: Instant::now(),
    };
    let limits = crate::http::listener::ConnectionLimits {
        header_timeout: Duration::from_secs(settings.http_header_timeout_seconds),
        idle_timeout: Duration::from_secs(settings.http_idle_timeout_seconds),
        max_connections: crate::http::listener::connection_cap(settings.max_connections),
    };
    crate::http::listener::serve(
        listener,
        warp::service(routes(state)),
        limits,
        async move {
            shutdown_signal().await;
            // Calls first: each says goodbye and hangs up before HTTP stops.
            let left = voice.shutdown().await;
            if left > 0 {
                tracing::warn!(
                    calls = left,
                    "Calls still running at shutdown were cut off."
                );
            }
        },
        SHUTDOWN_GRACE,
    )
    .await;
    shutdown.cancel();
    if tokio::time::timeout(SHUTDOWN_GRACE, jobs).await.is_err() {
        tracing::warn!(
            "Background jobs did not stop in time; their leases expire and they run again later."
        );
    }
    tracing::info!("Vartalaap stopped.");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "Could not listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "Could not listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("Shutting down.");
}

fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints every problem found; exit code 1 when there is any.
fn validate_command(root: &Path, paths: &[PathBuf], format: OutputFormat) -> ExitCode {
    let vartalaap_config::Validation {
        errors: diagnostics,
        warnings,
    } = vartalaap_config::validate(root, paths);
    match format {
        OutputFormat::Text => {
            for d in diagnostics.iter().chain(&warnings) {
                println!("{d}");
            }
            if diagnostics.is_empty() {
                println!("ok: no errors");
            } else {
                println!("{} error(s)", diagnostics.len());
            }
            if !warnings.is_empty() {
                println!("{} warning(s)", warnings.len());
            }
        }
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "ok": diagnostics.is_empty(),
                "errors": diagnostics,
                "warnings": warnings,
            });
            println!("{doc:#}");
        }
    }
    if diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn keys_command(admin_password_stdin: bool) -> anyhow::Result<ExitCode> {
    let fresh = FreshSecrets::generate();
    let (password, shown) = if admin_password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the admin password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        anyhow::ensure!(
            password.chars().count() >= 10,
            "the admin password must be at least 10 characters"
        );
        (password, false)
    } else {
        (random_password(), true)
    };
    let hash = hash_password(&password)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "# Fresh secrets for .env — keep them private.")?;
    write!(out, "{}", fresh.env_lines())?;
    if shown {
        writeln!(
            out,
            "# Admin password (give it to the owner, then forget it): {password}"
        )?;
    }
    // Single quotes: the PHC string contains `$`, which .env files would try to expand.
    writeln!(out, "ADMIN_PASSWORD_HASH='{hash}'")?;
    Ok(ExitCode::SUCCESS)
}

/// Settings for the offline commands, with development secrets filled in as `serve` would.
fn command_settings() -> anyhow::Result<Settings> {
    let mut settings = Settings::from_process_env()?;
    ensure_dev_secrets(&mut settings)?;
    Ok(settings)
}

fn migrate_command(import_redb: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env()?;
    if let Some(source) = import_redb {
        return import_redb_command(source);
    }
    if let Some(url) = &settings.database_url {
        // The URL may hold a password: never printed.
        let report = vartalaap_store::migrate_url(url.expose())
            .context("could not migrate the PostgreSQL database in DATABASE_URL")?;
        if report.applied.is_empty() {
            println!(
                "PostgreSQL (DATABASE_URL): schema version {} is current",
                report.to
            );
        } else {
            println!(
                "PostgreSQL (DATABASE_URL): migrated from schema version {} to {}",
                report.from, report.to
            );
            for name in &report.applied {
                println!("  applied {name}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = storage::database_path(&settings);
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("could not create {}", settings.data_dir.display()))?;
    let report = vartalaap_store::migrate_file(&path)
        .with_context(|| format!("could not migrate {}", path.display()))?;
    if report.applied.is_empty() {
        println!(
            "{}: schema version {} is current",
            path.display(),
            report.to
        );
    } else {
        println!(
            "{}: migrated from schema version {} to {}",
            path.display(),
            report.from,
            report.to
        );
        for name in &report.applied {
            println!("  applied {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `migrate --import-redb FILE`: migrates the PostgreSQL database in DATABASE_URL, then copies
/// every record of the redb file into it (nothing is decrypted: the same keys read them).
fn import_redb_command(source: &std::path::Path) -> anyhow::Result<ExitCode> {
    let settings = command_settings()?;
    let url = settings.database_url.as_ref().context(
        "--import-redb copies into PostgreSQL: set DATABASE_URL=postgres://… to the (empty) target database",
    )?;
    anyhow::ensure!(
        source.is_file(),
        "there is no redb database at {} to import",
        source.display()
    );
    let crypto = storage::phone_crypto(&settings)?;
    let redb = vartalaap_store::Store::open(source, crypto.clone())
        .with_context(|| format!("could not open {}", source.display()))?;
    let pg = vartalaap_store::PgStore::open(url.expose(), crypto)
        .context("could not open the PostgreSQL database in DATABASE_URL")?;
    let report = pg
        .import_redb(&redb)
        .with_context(|| format!("could not import {} into PostgreSQL", source.display()))?;
    println!(
        "{}: copied into PostgreSQL (DATABASE_URL)",
        source.display()
    );
    for (table, rows) in &report {
        println!("  {table}: {rows}");
    }
    Ok(ExitCode::SUCCESS)
}

fn rotate_keys_command() -> anyhow::Result<ExitCode> {
    let settings = command_settings()?;
    anyhow::ensure!(
        !settings.secrets.phone_encryption_old_keys.is_empty(),
        "PHONE_ENCRYPTION_OLD_KEYS is empty: put the previous key there and the new one in PHONE_ENCRYPTION_KEY"
    );
    let store = storage::open_store(&settings)?;
    let key = settings
        .secrets
        .phone_encryption_key
        .as_ref()
        .context("PHONE_ENCRYPTION_KEY is not set")?;
    let new_key = storage::phone_key(key)?;
    let report = store
        .rotate_keys(new_key, 200)
        .context("key rotation failed; run it again to resume")?;
    println!(
        "re-encrypted {} phone number(s) in {} batch(es) under key {}; {} left under old keys",
        report.reencrypted, report.batches, report.active_key_id, report.remaining_old
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::admin_url;

    #[test]
    fn the_admin_url_is_the_public_origin_or_a_reachable_local_address() {
        let any: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(admin_url(None, any), "http://127.0.0.1:8080/admin/");
        let local: std::net::SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(admin_url(None, local), "http://127.0.0.1:9000/admin/");
        assert_eq!(
            admin_url(Some("https://bot.example.in/"), any),
            "https://bot.example.in/admin/"
        );
    }
}
