//! The socket load generator's engine: N callers that dial a running Vartalaap server through
//! its front door exactly as Plivo does, and what they measured.
//!
//! Each caller: the signed `POST /plivo/answer`, the signed WebSocket upgrade of the `<Stream>`
//! it returns, `start`, then a 20 ms µ-law `media` frame every 20 ms in real time (silence, or
//! the caller's recorded sentence), the bot's `playAudio` drained at real time by the
//! simulator's playout model with `playedStream` acks and `clearedAudio` on `clearAudio`. After
//! the greeting it says its sentence `turns` times, each once the bot has answered and gone
//! quiet, then sends Plivo's `stop` and waits for the server to close the socket.
//!
//! **Measured:** for every caller turn, end of the caller's speech (its last speech frame sent)
//! → first `playAudio` frame, and → first *audible* frame (above
//! [`AUDIBLE_FLOOR_DBFS`](vartalaap_telephony::simulator::AUDIBLE_FLOOR_DBFS)); this includes
//! the recogniser's endpointing (the mock's delay), which the report also subtracts. The server
//! process's CPU (`/proc/<pid>/stat`, its espeak-ng children apart) and memory (`VmRSS`), and
//! this process's own CPU, which holds the callers and the mock Deepgram.
//!
//! **Timers are shared:** one clock task ticks every millisecond and wakes one of 20 phase
//! groups per tick, so each call is woken once per 20 ms (on its own phase, spreading the
//! calls' frames over the 20 ms like real calls) without a timer per call. A caller woken late
//! sends every frame it owes at once, as Plivo's media clock does not wait.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use vartalaap_telephony::simulator::playout::{FRAME_BYTES, Playout};
use vartalaap_telephony::simulator::{
    SimConfig, StreamSocket, answer, connect_stream, is_audible, start_event,
};
use vartalaap_telephony::stream::MediaFrame;
use vartalaap_telephony::{Command, StreamEvent};

/// 20 ms: one media frame.
const FRAME: Duration = Duration::from_millis(20);
/// Phase groups of the shared clock (one per millisecond of a frame).
const PHASES: u64 = 20;
/// µ-law silence.
const SILENCE: u8 = 0xFF;

/// What to run against which server.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server's answer URL, e.g. `http://127.0.0.1:8080/plivo/answer`.
    pub answer_url: String,
    /// The Plivo auth token the server verifies signatures with.
    pub auth_token: String,
    /// The dialled business number (as Plivo sends it).
    pub business_number: String,
    /// Concurrent calls.
    pub calls: usize,
    /// Caller turns per call after the greeting.
    pub turns: usize,
    /// Calls arrive evenly over this long.
    pub ramp: Duration,
    /// The caller's sentence: 8 kHz µ-law, whole 20 ms frames, ending with the last word.
    pub speech: Arc<Vec<u8>>,
    /// The caller speaks once the bot has been quiet this long.
    pub bot_quiet: Duration,
    /// The recogniser's endpointing delay (the mock's), subtracted for "added latency".
    pub endpointing: Duration,
    /// A call that runs longer than this is given up.
    pub max_call: Duration,
    /// The server process, whose CPU and memory are reported (`None`: not reported).
    pub server_pid: Option<u32>,
}

/// One caller turn's timings, from the end of the caller's speech.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurnSample {
    /// → first `playAudio` frame.
    pub first_frame: Option<Duration>,
    /// → first audible `playAudio` frame.
    pub first_audible: Option<Duration>,
}

/// What one call did.
#[derive(Debug, Default)]
struct CallOutcome {
    error: Option<String>,
    /// Stream connected → the greeting's first audible frame.
    greeting_audible: Option<Duration>,
    turns: Vec<TurnSample>,
    /// How the server closed the socket (`1000 call ended: abandoned`), if it did.
    close: Option<String>,
    /// Seconds the stream was connected.
    connected_secs: f64,
}

/// How much of `mulaw` (ms) a Deepgram mock counts as speech: its loud 20 ms frames (most
/// bytes loud). The mock gives a scripted sentence's words in proportion to the speech it heard,
/// so its script must say how much speech the caller's sentence has.
pub fn loud_speech_ms(mulaw: &[u8]) -> u32 {
    let loud = |b: &u8| ((!*b) & 0x7F) >= 0x20;
    mulaw
        .chunks(FRAME_BYTES)
        .filter(|f| f.iter().filter(|b| loud(b)).count() * 2 > f.len())
        .count() as u32
        * 20
}

/// CPU seconds and memory of one process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// User + system CPU of the process itself.
    pub cpu: f64,
    /// User + system CPU of its waited-for children (espeak-ng, for the server).
    pub children_cpu: f64,
    /// Resident memory, MB.
    pub rss_mb: f64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status` (`pid` may be `self`).
pub fn proc_sample(pid: &str) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields count from after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // After the name: state(0) … utime(11) stime(12) cutime(13) cstime(14).
    let cpu = (ticks(11)? + ticks(12)?) / hz;
    let children_cpu = (ticks(13)? + ticks(14)?) / hz;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(ProcSample {
        cpu,
        children_cpu,
        rss_mb: rss_kb / 1024.0,
    })
}

/// Everything a run measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Calls started.
    pub calls: usize,
    /// Calls whose stream connected and ran to the end of their script.
    pub completed: usize,
    /// Why the others failed, with how many failed so.
    pub failures: BTreeMap<String, usize>,
    /// How the server closed the sockets, with counts.
    pub closes: BTreeMap<String, usize>,
    /// Every caller turn's timings.
    pub turns: Vec<TurnSample>,
    /// Stream connected → greeting's first audible frame, per call.
    pub greeting_audible: Vec<Duration>,
    /// The recogniser's endpointing delay (subtracted for the added latency).
    pub endpointing: Duration,
    /// From the first call's start to the last call's end.
    pub wall: Duration,
    /// Seconds of connected streams, summed over calls.
    pub call_seconds: f64,
    /// The server before the calls (idle) and its CPU during the run.
    pub server_idle: Option<ProcSample>,
    /// The server's CPU seconds during the run (itself, children).
    pub server_cpu: Option<(f64, f64)>,
    /// The server's largest resident memory during the run, MB.
    pub server_peak_rss_mb: Option<f64>,
    /// This process's CPU seconds during the run (callers and mock Deepgram).
    pub own_cpu: f64,
}

/// `p` (0..1) percentile of `values` in ms; NaN when empty.
fn percentile_ms(values: &[Duration], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut ms: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() as f64 - 1.0) * p).round() as usize]
}

fn spread(values: &[Duration]) -> String {
    format!(
        "p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms (n = {})",
        percentile_ms(values, 0.5),
        percentile_ms(values, 0.95),
        percentile_ms(values, 0.99),
        percentile_ms(values, 1.0),
        values.len()
    )
}

impl LoadReport {
    /// Server CPU seconds (itself and its children) per minute of connected call.
    pub fn server_cpu_per_call_minute(&self) -> Option<f64> {
        let (own, children) = self.server_cpu?;
        (self.call_seconds > 0.0).then(|| (own + children) / (self.call_seconds / 60.0))
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wall = self.wall.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "calls: {} started, {} completed; {:.1} call-minutes over {:.1} s",
            self.calls,
            self.completed,
            self.call_seconds / 60.0,
            wall
        )?;
        for (why, n) in &self.failures {
            writeln!(f, "  failed ({n}): {why}")?;
        }
        for (close, n) in &self.closes {
            writeln!(f, "  server closed the socket with {close}: {n}")?;
        }
        match (self.server_cpu, self.server_cpu_per_call_minute()) {
            (Some((own, children)), Some(per)) => writeln!(
                f,
                "server CPU: {own:.1} s + {children:.1} s in child processes ({:.1}% of one core); {per:.3} core-seconds per call-minute",
                100.0 * (own + children) / wall
            )?,
            _ => writeln!(f, "server CPU: not measured (no server process id)")?,
        }
        writeln!(
            f,
            "load generator CPU (callers + mock Deepgram, this process): {:.1} s ({:.1}% of one core)",
            self.own_cpu,
            100.0 * self.own_cpu / wall
        )?;
        if let (Some(idle), Some(peak)) = (self.server_idle, self.server_peak_rss_mb) {
            writeln!(
                f,
                "server memory: {:.0} MB idle, {:.0} MB peak, {:.2} MB per call",
                idle.rss_mb,
                peak,
                (peak - idle.rss_mb) / self.calls.max(1) as f64
            )?;
        }
        let first: Vec<Duration> = self.turns.iter().filter_map(|t| t.first_frame).collect();
        let audible: Vec<Duration> = self.turns.iter().filter_map(|t| t.first_audible).collect();
        let added: Vec<Duration> = audible
            .iter()
            .map(|d| d.saturating_sub(self.endpointing))
            .collect();
        writeln!(
            f,
            "end of caller speech -> first frame:         {}",
            spread(&first)
        )?;
        writeln!(
            f,
            "end of caller speech -> first audible frame: {}",
            spread(&audible)
        )?;
        writeln!(
            f,
            "  minus the mock's {} ms endpointing (added latency): {}",
            self.endpointing.as_millis(),
            spread(&added)
        )?;
        writeln!(
            f,
            "stream connected -> greeting's first audible frame: {}",
            spread(&self.greeting_audible)
        )
    }
}

/// The shared 20 ms clock: one task, [`PHASES`] phase groups, each told the number of the
/// frame now due on its phase.
fn start_clock() -> Vec<watch::Receiver<u64>> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..PHASES).map(|_| watch::channel(0u64)).unzip();
    tokio::spawn(async move {
        let step = FRAME / PHASES as u32;
        let t0 = tokio::time::Instant::now();
        let mut tick = 0u64;
        loop {
            tick += 1;
            tokio::time::sleep_until(t0 + step * tick as u32).await;
            let phase = (tick % PHASES) as usize;
            if senders[phase].send(tick / PHASES).is_err() && senders.iter().all(|s| s.is_closed())
            {
                break;
            }
        }
    });
    receivers
}

/// What the caller's side is doing.
enum Phase {
    /// Quiet, waiting for the bot to speak and then be quiet for `bot_quiet`.
    Listening { heard: bool, quiet: Duration },
    /// Saying the sentence; the next frame starts at this byte.
    Speaking(usize),
}

/// One call, start to end.
async fn caller(
    cfg: Arc<LoadConfig>,
    client: reqwest::Client,
    index: usize,
    mut clock: watch::Receiver<u64>,
) -> CallOutcome {
    let mut out = CallOutcome::default();
    let mut sim = SimConfig::new(
        &cfg.answer_url,
        &cfg.auth_token,
        &format!("+9198{index:08}"),
        &cfg.business_number,
    );
    sim.call_uuid = Some(format!("load-{index:06}-{:08x}", rand::random::<u32>()));
    let call_uuid = sim.call_uuid.clone().unwrap_or_default();
    let stream = match answer(&client, &sim, &call_uuid).await {
        Ok(stream) => stream,
        Err(e) => {
            out.error = Some(format!("answer: {e}"));
            return out;
        }
    };
    let mut ws = match connect_stream(&sim, &stream).await {
        Ok(ws) => ws,
        Err(e) => {
            out.error = Some(format!("upgrade: {e}"));
            return out;
        }
    };
    let connected = Instant::now();
    let result = converse(&cfg, &mut ws, &call_uuid, &mut clock, &mut out, connected).await;
    out.connected_secs = connected.elapsed().as_secs_f64();
    if let Err(e) = result {
        out.error = Some(e);
    }
    out
}

/// The stream: `start`, real-time media, the bot's audio played out, `turns` sentences, `stop`.
async fn converse(
    cfg: &LoadConfig,
    ws: &mut StreamSocket,
    call_uuid: &str,
    clock: &mut watch::Receiver<u64>,
    out: &mut CallOutcome,
    connected: Instant,
) -> Result<(), String> {
    let stream_id = format!("stream-{call_uuid}");
    let mut seq = 1u64;
    send(
        ws,
        start_event(call_uuid, &stream_id).to_json(seq, &stream_id, None),
    )
    .await?;
    let mut playout = Playout::new();
    let mut phase = Phase::Listening {
        heard: false,
        quiet: Duration::ZERO,
    };
    let mut said = 0usize;
    // The caller turn being timed: (when the caller stopped, its sample).
    let mut pending: Option<(Instant, TurnSample)> = None;
    let mut frames_sent = *clock.borrow_and_update();
    let mut chunk = 0u64;
    let deadline = connected + cfg.max_call;
    loop {
        tokio::select! {
            changed = clock.changed() => {
                if changed.is_err() {
                    return Err("the load generator's clock stopped".into());
                }
                let due = *clock.borrow_and_update();
                if Instant::now() > deadline {
                    return Err(format!("still running after {} s", cfg.max_call.as_secs()));
                }
                while frames_sent < due {
                    frames_sent += 1;
                    let tick = playout.tick();
                    for name in tick.played {
                        seq += 1;
                        send(ws, StreamEvent::PlayedStream { name }.to_json(seq, &stream_id, None)).await?;
                    }
                    let payload = match &mut phase {
                        Phase::Listening { heard, quiet } => {
                            if tick.bot_audible {
                                *heard = true;
                                *quiet = Duration::ZERO;
                            } else if playout.is_idle() {
                                *quiet += FRAME;
                            }
                            if *heard && *quiet >= cfg.bot_quiet {
                                if let Some((_, sample)) = pending.take() {
                                    out.turns.push(sample);
                                }
                                if said == cfg.turns {
                                    return finish(ws, &stream_id, seq + 1, out).await;
                                }
                                phase = Phase::Speaking(0);
                            }
                            vec![SILENCE; FRAME_BYTES]
                        }
                        Phase::Speaking(pos) => {
                            let start = *pos;
                            let end = (start + FRAME_BYTES).min(cfg.speech.len());
                            let mut frame = cfg.speech[start..end].to_vec();
                            frame.resize(FRAME_BYTES, SILENCE);
                            if end >= cfg.speech.len() {
                                said += 1;
                                pending = Some((Instant::now(), TurnSample::default()));
                                phase = Phase::Listening { heard: false, quiet: Duration::ZERO };
                            } else {
                                *pos = end;
                            }
                            frame
                        }
                    };
                    seq += 1;
                    chunk += 1;
                    let media = StreamEvent::Media(MediaFrame {
                        track: "inbound".into(),
                        timestamp: chunk.to_string(),
                        chunk,
                        payload,
                    });
                    send(ws, media.to_json(seq, &stream_id, None)).await?;
                }
            }
            message = ws.next() => {
                let text = match message {
                    None => return Err("the server closed the socket mid-call".into()),
                    Some(Err(e)) => return Err(format!("socket: {e}")),
                    Some(Ok(Message::Close(frame))) => {
                        out.close = Some(close_text(frame));
                        return Err("the server closed the socket mid-call".into());
                    }
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                match Command::parse(text.as_str()) {
                    Ok(Command::PlayAudio { mulaw, .. }) => {
                        let now = Instant::now();
                        let audible = is_audible(&mulaw);
                        if audible && out.greeting_audible.is_none() {
                            out.greeting_audible = Some(now - connected);
                        }
                        if let Some((stopped, sample)) = pending.as_mut() {
                            sample.first_frame.get_or_insert(now - *stopped);
                            if audible {
                                sample.first_audible.get_or_insert(now - *stopped);
                            }
                        }
                        playout.push_audio(mulaw);
                    }
                    Ok(Command::Checkpoint { name, .. }) => playout.push_checkpoint(name),
                    Ok(Command::ClearAudio { .. }) => {
                        playout.clear();
                        seq += 1;
                        send(ws, StreamEvent::ClearedAudio.to_json(seq, &stream_id, None)).await?;
                    }
                    Ok(Command::SendDtmf { .. }) => {}
                    Err(e) => return Err(format!("a command Plivo would refuse: {e}")),
                }
            }
        }
    }
}

/// The caller hangs up: Plivo's `stop`, then the server closes the socket.
async fn finish(
    ws: &mut StreamSocket,
    stream_id: &str,
    seq: u64,
    out: &mut CallOutcome,
) -> Result<(), String> {
    send(ws, StreamEvent::Stop.to_json(seq, stream_id, None)).await?;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(frame) = message {
                return Some(close_text(frame));
            }
        }
        None
    })
    .await;
    match closed {
        Ok(Some(close)) => {
            out.close = Some(close);
            Ok(())
        }
        Ok(None) => Err("the socket dropped after `stop` without a close frame".into()),
        Err(_) => Err("the server did not close the socket within 10 s of `stop`".into()),
    }
}

fn close_text(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) => format!("{} {}", u16::from(f.code), f.reason),
        None => "no close code (1005)".into(),
    }
}

async fn send(ws: &mut StreamSocket, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("socket: {e}"))
}

/// Runs the calls and reports. Call from inside a tokio runtime (every caller, the shared
/// clock and the memory sampler are tasks on it).
pub async fn run(cfg: LoadConfig) -> LoadReport {
    let cfg = Arc::new(cfg);
    let server = cfg.server_pid.map(|p| p.to_string());
    let server_before = server.as_deref().and_then(proc_sample);
    let own_before = proc_sample("self").unwrap_or_default();
    let peak = Arc::new(Mutex::new(server_before.map_or(0.0, |s| s.rss_mb)));
    let sampler = server.clone().map(|pid| {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(s) = proc_sample(&pid)
                    && let Ok(mut p) = peak.lock()
                {
                    *p = p.max(s.rss_mb);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    });
    let client = reqwest::Client::new();
    let clock = start_clock();
    let started = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(cfg.calls);
    for index in 0..cfg.calls {
        let offset = cfg.ramp.mul_f64(index as f64 / cfg.calls.max(1) as f64);
        let (cfg, client) = (cfg.clone(), client.clone());
        let phase = clock[index % clock.len()].clone();
        handles.push(tokio::spawn(async move {
            tokio::time::sleep_until(started + offset).await;
            caller(cfg, client, index, phase).await
        }));
    }
    drop(clock);
    let mut report = LoadReport {
        calls: cfg.calls,
        endpointing: cfg.endpointing,
        server_idle: server_before,
        ..LoadReport::default()
    };
    for handle in handles {
        let outcome = handle.await.unwrap_or_else(|e| CallOutcome {
            error: Some(format!("caller task: {e}")),
            ..CallOutcome::default()
        });
        report.call_seconds += outcome.connected_secs;
        report.turns.extend(outcome.turns.iter().copied());
        report.greeting_audible.extend(outcome.greeting_audible);
        if let Some(close) = outcome.close {
            *report.closes.entry(close).or_default() += 1;
        }
        match outcome.error {
            Some(e) => *report.failures.entry(e).or_default() += 1,
            None => report.completed += 1,
        }
    }
    report.wall = started.elapsed();
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    let own_after = proc_sample("self").unwrap_or_default();
    report.own_cpu = own_after.cpu - own_before.cpu;
    if let (Some(before), Some(after)) = (server_before, server.as_deref().and_then(proc_sample)) {
        report.server_cpu = Some((
            after.cpu - before.cpu,
            after.children_cpu - before.children_cpu,
        ));
        report.server_peak_rss_mb = peak.lock().ok().map(|p| p.max(after.rss_mb));
    }
    report
}
