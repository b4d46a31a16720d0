//! Socket load: N concurrent phone calls through the server's front door, as Plivo makes them.
//!
//! ```text
//! cargo build --release -p vartalaap --features vartalaap/stt-whisper --bin vartalaap --example socket_load
//! target/release/examples/socket_load --server target/release/vartalaap --calls 100 --turns 2
//!     [--ramp-secs 10]         calls arrive evenly over this long
//!     [--endpointing-ms 300]   the mock Deepgram's endpointing delay (whatever the client asks)
//!     [--interim-ms 100]       its whole-sentence interim this far into the caller's pause
//!                              (0: none; interims every second of speech come regardless)
//!     [--threads 2]            worker threads of the load generator's one tokio runtime
//! ```
//!
//! The example starts a mock Deepgram and a mock Plivo REST API in this process, then the
//! server binary given by `--server` as a child process (`vartalaap serve` on a free port, the
//! repository's `businesses/`, `flows/`, `plugins/`, a scratch data directory, telephony and
//! Deepgram pointed at the mocks), waits until it is healthy and has synthesized its greetings,
//! measures its idle memory, and runs the calls (`load.rs`). It prints the server's CPU per
//! call-minute (read from `/proc/<pid>/stat`, apart from this process's own CPU), its memory,
//! and end of caller speech → first audible bot frame. See `docs/PERFORMANCE.md`.
//!
//! The caller's sentence is synthesized by espeak-ng once and replayed by every caller.

mod load;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use vartalaap_audio::tts::{EspeakTts, Lang, Tts};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_providers::mock::plivo::MockPlivoRest;
use vartalaap_telephony::simulator::caller_mulaw;

/// What every caller says (the mock "recognises" it from the audio's length).
const SENTENCE: &str = "kal raat 8 baje 4 log ke liye table chahiye";
const AUTH_ID: &str = "MALOADGENERATOR00001";
const DEEPGRAM_KEY: &str = "dg-load-key";
/// Himalayan Kitchen's number, as Plivo sends it.
const BUSINESS_NUMBER: &str = "911352710000";

/// Phone calls through `/plivo/answer` and `/plivo/stream`, with the server's CPU and memory.
#[derive(Debug, Parser)]
#[command(about)]
struct Cli {
    /// The `vartalaap` binary to run (a release build for numbers worth recording).
    #[arg(long)]
    server: PathBuf,
    /// Concurrent calls.
    #[arg(long, default_value_t = 10)]
    calls: usize,
    /// Caller turns per call after the greeting.
    #[arg(long, default_value_t = 2)]
    turns: usize,
    /// Calls arrive evenly over this many seconds.
    #[arg(long, default_value_t = 10.0)]
    ramp_secs: f64,
    /// The mock Deepgram's endpointing delay (ms of silence before `speech_final`).
    #[arg(long, default_value_t = 300)]
    endpointing_ms: u32,
    /// The mock's whole-sentence interim this far into the caller's pause (ms; 0: none).
    #[arg(long, default_value_t = 100)]
    interim_ms: u32,
    /// Worker threads of the load generator's tokio runtime.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .thread_name("load")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The server child process; killed when dropped.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Lets this process and the server (which inherits it) hold a socket per call and more.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

fn start_server(
    cli: &Cli,
    deepgram: &str,
    plivo: &str,
    auth_token: &str,
) -> anyhow::Result<(Server, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free port for the server")?
        .port();
    let public = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().context("creating the server's scratch directory")?;
    let log = std::fs::File::create(dir.path().join("server.log"))
        .context("creating the server's log file")?;
    let mut command = Command::new(&cli.server);
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("PUBLIC_BASE_URL", &public)
        .env("CONFIG_ROOT", repo_root())
        .env("DATA_DIR", dir.path().join("data"))
        .env("LOG_DIR", dir.path().join("logs"))
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "info")
        .env("PHONE_ENCRYPTION_KEY", random_hex(32))
        .env("PHONE_HASH_PEPPER", random_hex(24))
        .env("SESSION_SECRET", random_hex(32))
        .env("PLIVO_AUTH_ID", AUTH_ID)
        .env("PLIVO_AUTH_TOKEN", auth_token)
        .env("PLIVO_API_BASE_URL", plivo)
        .env("STT_PROVIDER", "deepgram")
        .env("DEEPGRAM_API_KEY", DEEPGRAM_KEY)
        .env("DEEPGRAM_BASE_URL", deepgram)
        .env("MAX_CONCURRENT_CALLS", cli.calls.max(1).to_string())
        .env("MAX_CONNECTIONS", (4 * cli.calls + 256).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", cli.server.display()))?;
    Ok((Server { child, dir }, public))
}

/// Waits until the server answers `/health` and has synthesized its greetings (so the calls
/// measure serving, not the start-up), or fails with the log's path.
async fn wait_ready(server: &mut Server, public: &str) -> anyhow::Result<()> {
    let log = server.dir.path().join("server.log");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut healthy = false;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            anyhow::bail!("the server exited ({status}) before serving:\n{text}");
        }
        if !healthy {
            healthy = client
                .get(format!("{public}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if healthy && text.contains("Greetings and fixed lines are synthesized.") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!(
        "the server was not ready within 300 s; its log is {}",
        log.display()
    )
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    raise_open_file_limit();
    let pcm = EspeakTts::default()
        .synthesize(SENTENCE, Lang::English)
        .context("espeak-ng speaks for the callers (scripts/setup.sh installs it)")?;
    let speech = caller_mulaw(&pcm).context("encoding the caller's sentence")?;
    let speech_ms = load::loud_speech_ms(&speech);
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        api_key: DEEPGRAM_KEY.into(),
        script: vec![ScriptedUtterance::new(SENTENCE, speech_ms); cli.turns.max(1)],
        pause_interim_ms: (cli.interim_ms > 0).then_some(cli.interim_ms),
        endpointing_ms: Some(cli.endpointing_ms),
        ..MockDeepgramConfig::default()
    })
    .await
    .context("starting the mock Deepgram")?;
    let auth_token = random_hex(20);
    let plivo = MockPlivoRest::start(AUTH_ID, &auth_token)
        .await
        .context("starting the mock Plivo REST API")?;
    let (mut server, public) =
        start_server(&cli, &deepgram.base_url, &plivo.base_url, &auth_token)?;
    println!(
        "server: {} (pid {}), scratch directory {}",
        cli.server.display(),
        server.child.id(),
        server.dir.path().display()
    );
    wait_ready(&mut server, &public).await?;
    println!(
        "calls: {} over {} s, {} caller turns each ({} ms of speech); mock Deepgram endpointing {} ms, pause interim {}",
        cli.calls,
        cli.ramp_secs,
        cli.turns,
        speech.len() / 8,
        cli.endpointing_ms,
        if cli.interim_ms > 0 {
            format!("{} ms", cli.interim_ms)
        } else {
            "off".into()
        }
    );
    let report = load::run(load::LoadConfig {
        answer_url: format!("{public}/plivo/answer"),
        auth_token,
        business_number: BUSINESS_NUMBER.into(),
        calls: cli.calls,
        turns: cli.turns,
        ramp: Duration::from_secs_f64(cli.ramp_secs.max(0.0)),
        speech: Arc::new(speech),
        bot_quiet: Duration::from_millis(1500),
        endpointing: Duration::from_millis(u64::from(cli.endpointing_ms)),
        max_call: Duration::from_secs(300),
        server_pid: Some(server.child.id()),
    })
    .await;
    print!("{report}");
    if report.completed < report.calls {
        let log = std::fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        anyhow::bail!(
            "{} of {} calls failed; the end of the server's log:\n{}",
            report.calls - report.completed,
            report.calls,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}
