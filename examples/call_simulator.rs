//! Dial the bot like Plivo does and print each turn's timings.
//!
//! ```text
//! cargo run -p vartalaap-telephony --features simulator --example call_simulator -- \
//!     --answer-url http://127.0.0.1:8080/plivo/answer --auth-token "$PLIVO_AUTH_TOKEN" \
//!     --from 919812345678 --to 918071234567 --voice hi \
//!     --say "namaste, kal shaam aath baje chaar logon ke liye table chahiye" \
//!     --dtmf 1 --say "haan, theek hai" --wav-out bot.wav
//! ```
//!
//! The call waits for the greeting, then performs `--say`, `--say-wav` and `--dtmf` in the order
//! given, waiting for the bot's reply after each. `--say` text is spoken by espeak-ng (installed
//! by scripts/setup.sh); `--say-wav` plays a 16-bit PCM WAV at any sample rate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use vartalaap_audio::tts::{EspeakTts, Lang, Tts};
use vartalaap_audio::wav::{parse_wav, write_wav};
use vartalaap_telephony::simulator::{CallReport, SimConfig, Step, UpgradeSigning, run_call};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Voice {
    Hi,
    En,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SignAs {
    /// Sign the upgrade over the wss:// URL (Plivo's docs).
    Wss,
    /// Sign the upgrade over https:// (Plivo's Node stream SDK).
    Https,
}

/// A Plivo stand-in: signed answer URL, real-time µ-law stream, bot audio recorded to WAV.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The bot's public answer URL (what Plivo's application is configured with).
    #[arg(long)]
    answer_url: String,
    /// Plivo auth token the server verifies signatures with.
    #[arg(long, env = "PLIVO_AUTH_TOKEN", hide_env_values = true)]
    auth_token: String,
    /// Caller number (E.164; a leading + is dropped as Plivo does).
    #[arg(long, default_value = "919812345678")]
    from: String,
    /// Dialled business number.
    #[arg(long, default_value = "918071234567")]
    to: String,
    /// Something the caller says (espeak-ng); repeatable, kept in order with --dtmf/--say-wav.
    #[arg(long)]
    say: Vec<String>,
    /// A WAV file the caller plays (16-bit PCM, any rate); repeatable.
    #[arg(long)]
    say_wav: Vec<PathBuf>,
    /// A key the caller presses (0-9 * # A-D); repeatable.
    #[arg(long)]
    dtmf: Vec<char>,
    /// Voice for --say.
    #[arg(long, value_enum, default_value_t = Voice::Hi)]
    voice: Voice,
    /// Write the bot's side of the call (8 kHz, as heard) here.
    #[arg(long)]
    wav_out: Option<PathBuf>,
    /// Longest wait for the bot's reply after each caller action, in seconds.
    #[arg(long, default_value_t = 15)]
    wait_secs: u64,
    /// The application's hangup URL: receives Plivo's hangup callback when the call ends.
    #[arg(long)]
    hangup_url: Option<String>,
    /// Which URL form the WebSocket upgrade signature covers.
    #[arg(long, value_enum, default_value_t = SignAs::Wss)]
    sign_upgrade_as: SignAs,
}

enum Action {
    Say(String),
    SayWav(PathBuf),
    Dtmf(char),
}

/// The caller's actions in command-line order (clap keeps each flag's values separately).
fn actions_in_order(cli: &Cli, matches: &ArgMatches) -> Vec<Action> {
    let mut indexed: Vec<(usize, Action)> = Vec::new();
    let idx = |id: &str| -> Vec<usize> {
        matches
            .indices_of(id)
            .map(Iterator::collect)
            .unwrap_or_default()
    };
    for (i, text) in idx("say").into_iter().zip(&cli.say) {
        indexed.push((i, Action::Say(text.clone())));
    }
    for (i, path) in idx("say_wav").into_iter().zip(&cli.say_wav) {
        indexed.push((i, Action::SayWav(path.clone())));
    }
    for (i, d) in idx("dtmf").into_iter().zip(&cli.dtmf) {
        indexed.push((i, Action::Dtmf(*d)));
    }
    indexed.sort_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, a)| a).collect()
}

fn build_script(cli: &Cli, actions: Vec<Action>) -> Result<Vec<Step>, String> {
    let wait = Step::WaitForBot {
        max: Duration::from_secs(cli.wait_secs),
    };
    let lang = match cli.voice {
        Voice::Hi => Lang::Hindi,
        Voice::En => Lang::English,
    };
    let mut tts = EspeakTts::default();
    let mut script = vec![wait.clone()];
    for action in actions {
        match action {
            Action::Say(text) => {
                let pcm = tts
                    .synthesize(&text, lang)
                    .map_err(|e| format!("--say {text:?}: {e}"))?;
                let label: String = text.chars().take(40).collect();
                script.push(Step::Say { label, pcm });
            }
            Action::SayWav(path) => {
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("--say-wav {}: {e}", path.display()))?;
                let pcm =
                    parse_wav(&bytes).map_err(|e| format!("--say-wav {}: {e}", path.display()))?;
                script.push(Step::Say {
                    label: path.display().to_string(),
                    pcm,
                });
            }
            Action::Dtmf(d) => {
                if !(d.is_ascii_digit() || matches!(d, '*' | '#' | 'A'..='D')) {
                    return Err(format!("--dtmf {d:?}: use 0-9, *, # or A-D"));
                }
                script.push(Step::Dtmf(d));
            }
        }
        script.push(wait.clone());
    }
    script.push(Step::Hangup);
    Ok(script)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn print_report(r: &CallReport) {
    println!("call {} stream {}", r.call_uuid, r.stream_id);
    println!(
        "{:<3} {:<42} {:>10} {:>14} {:>10}",
        "#", "turn", "at", "first audio", "bot spoke"
    );
    for (i, t) in r.turns.iter().enumerate() {
        let first = t
            .first_bot_audio
            .map(ms)
            .unwrap_or_else(|| "no reply".into());
        let cut = if t.cleared { "  (cut off)" } else { "" };
        println!(
            "{:<3} {:<42} {:>10} {:>14} {:>10}{cut}",
            i,
            t.label,
            ms(t.started_at),
            first,
            ms(t.bot_audio)
        );
    }
    println!(
        "media frames sent {}, playAudio received {}, checkpoints played {}, clears {}, ended: {:?}",
        r.media_frames_sent,
        r.play_audio_received,
        r.played.len(),
        r.clears,
        r.ended
    );
    if let Some(h) = &r.hangup {
        println!(
            "call lasted {:.1} s; hangup: {} ({} {}, source {})",
            r.duration.as_secs_f64(),
            h.cause,
            h.code,
            h.name,
            h.source
        );
    }
    if let Some(n) = &r.transferred_to {
        println!(
            "transferred to a person (<Dial> to a {}-digit number)",
            n.len()
        );
    }
    for c in &r.callbacks {
        match &c.outcome {
            Ok(status) => println!("webhook {}: HTTP {status}", c.event),
            Err(e) => println!("webhook {}: failed: {e}", c.event),
        }
    }
    if !r.sent_dtmf.is_empty() {
        println!("bot sent DTMF: {:?}", r.sent_dtmf);
    }
    if r.overflow_bytes > 0 {
        println!(
            "WARNING: {} bytes of bot audio overflowed Plivo's 40 s buffer",
            r.overflow_bytes
        );
    }
    for e in &r.protocol_errors {
        println!("PROTOCOL ERROR: {e}");
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let actions = actions_in_order(&cli, &matches);
    let script = match build_script(&cli, actions) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cfg = SimConfig::new(&cli.answer_url, &cli.auth_token, &cli.from, &cli.to);
    cfg.hangup_url = cli.hangup_url.clone();
    cfg.upgrade_signing = match cli.sign_upgrade_as {
        SignAs::Wss => UpgradeSigning::WsUrl,
        SignAs::Https => UpgradeSigning::HttpsUrl,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(run_call(&cfg, script)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    print_report(&report);
    if let Some(path) = &cli.wav_out {
        if let Err(e) = std::fs::write(path, write_wav(&report.bot_audio)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("bot audio written to {}", path.display());
    }
    if report.protocol_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
