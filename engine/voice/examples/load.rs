//! Load: N concurrent simulated calls against the voice service in-process, with mock Deepgram
//! (a real WebSocket on 127.0.0.1) and espeak-ng/Piper TTS, reporting CPU, memory per call and
//! the latency the pipeline adds.
//!
//! ```text
//! cargo run --release -p vartalaap-voice --example load -- --calls 50 --turns 2
//!     [--noise-dbfs -45]      white line noise on the caller's side (default: digital silence)
//!     [--cache-entries 1]     phrase cache size (1: nearly every sentence synthesized afresh)
//!     [--no-prewarm]          skip synthesizing greetings and fixed lines before the calls
//!     [--ramp-secs 1]         calls arrive evenly over this many seconds
//!     [--pause-interim-ms 100] the mock's whole-sentence interim this far into the caller's
//!                             pause (endpointing is 300 ms, as our client asks); `off`: none
//!     [--no-speculate]        no speculative first sentence from interims
//! ```
//!
//! The simulated callers and the mock Deepgram run on a tokio runtime of their own (threads
//! `gen-*`), the call sessions on another (`srv-*`, blocking pool included), so the report
//! splits the process's CPU by thread: what the server side needs per call, and what the load
//! generator costs on top (both still share the machine's cores).
//!
//! Each call is driven exactly as Plivo would over the stream socket, but through the call's
//! channels (no HTTP/WebSocket framing, which `tests/e2e/voice.rs` covers): `start`, a 20 ms
//! µ-law `media` frame every 20 ms in real time (the caller's espeak-ng speech or silence), the
//! bot's `playAudio` drained at real time by the simulator's playout model with `playedStream`
//! acks, `clearedAudio` on `clearAudio`. Tools answer from memory (no storage in the turn), but
//! call logs and turns are written to a real redb store.
//!
//! "Added latency" is transcript → first bot frame received: everything after the recogniser
//! (engine, TTS, pacing, channels). The recogniser's own endpointing delay is reported apart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use tokio::sync::mpsc;
use vartalaap_audio::tts::EspeakTts;
use vartalaap_audio::{Lang as VoiceLang, Tts, mulaw};
use vartalaap_core::{ToolCall, ToolExecutor, ToolKind, ToolResult};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_telephony::simulator::playout::Playout;
use vartalaap_telephony::stream::{Encoding, MediaFormat, MediaFrame, StartInfo};
use vartalaap_telephony::{Command, StreamEvent};
use vartalaap_voice::{DeepgramConfig, ModelPaths, VoiceConfig, VoiceDeps, VoiceService};

const SENTENCE: &str = "kal raat 8 baje 4 log ke liye table chahiye";

struct MemoryTools {
    next: u64,
}

impl ToolExecutor for MemoryTools {
    fn execute(&mut self, _now: NaiveDateTime, call: &ToolCall) -> ToolResult {
        match &call.kind {
            ToolKind::CheckAvailability { .. } => ToolResult::Available,
            ToolKind::Book { .. } => {
                self.next += 1;
                ToolResult::Booked {
                    reservation_id: self.next.to_string(),
                }
            }
            ToolKind::FindReservations { .. } => ToolResult::Found(Vec::new()),
            _ => ToolResult::Done,
        }
    }
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

/// Line noise: white noise at a fixed level, from a small per-call generator (xorshift; the
/// sum of four uniforms is close enough to Gaussian for a phone line).
struct Noise {
    state: u64,
    rms: f32,
}

impl Noise {
    fn new(seed: u64, dbfs: f32) -> Self {
        Self {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            rms: 32768.0 * 10f32.powf(dbfs / 20.0),
        }
    }

    fn next_uniform(&mut self) -> f32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// Adds noise to `pcm` (sum of 4 uniforms on [-0.5, 0.5] has variance 1/3).
    fn add(&mut self, pcm: &mut [i16]) {
        let scale = self.rms * 3f32.sqrt();
        for s in pcm {
            let n: f32 = (0..4).map(|_| self.next_uniform()).sum();
            *s = (f32::from(*s) + n * scale).clamp(-32768.0, 32767.0) as i16;
        }
    }
}

/// One simulated caller; returns (caller stopped → first bot audio) per turn.
async fn caller(
    events: mpsc::Sender<StreamEvent>,
    mut commands: mpsc::Receiver<Command>,
    call_uuid: String,
    speech: Arc<Vec<i16>>,
    speech_mulaw: Arc<Vec<u8>>,
    turns: usize,
    mut noise: Option<Noise>,
) -> Vec<Duration> {
    let frame = |payload: Vec<u8>, chunk: u64| {
        StreamEvent::Media(MediaFrame {
            track: "inbound".into(),
            timestamp: String::new(),
            chunk,
            payload,
        })
    };
    let _ = events
        .send(StreamEvent::Start(StartInfo {
            stream_id: format!("stream-{call_uuid}"),
            call_id: call_uuid,
            account_id: None,
            tracks: vec!["inbound".into()],
            media_format: MediaFormat {
                encoding: Encoding::MuLaw,
                sample_rate: 8000,
            },
            extra_headers: Vec::new(),
        }))
        .await;
    let mut playout = Playout::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut chunk = 0u64;
    let mut latencies = Vec::new();
    let mut said = 0;
    // None: waiting for the bot; Some(pos): speaking.
    let mut speaking: Option<usize> = None;
    let mut heard_bot = false;
    let mut quiet = 0u32;
    let mut stopped_at: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        tick.tick().await;
        while let Ok(cmd) = commands.try_recv() {
            match cmd {
                Command::PlayAudio { mulaw, .. } => {
                    if let Some(t) = stopped_at.take() {
                        latencies.push(t.elapsed());
                    }
                    playout.push_audio(mulaw);
                }
                Command::Checkpoint { name, .. } => playout.push_checkpoint(name),
                Command::ClearAudio { .. } => {
                    playout.clear();
                    let _ = events.send(StreamEvent::ClearedAudio).await;
                }
                Command::SendDtmf { .. } => {}
            }
        }
        let t = playout.tick();
        for name in t.played {
            let _ = events.send(StreamEvent::PlayedStream { name }).await;
        }
        if t.bot_audible {
            heard_bot = true;
            quiet = 0;
        } else {
            quiet += 1;
        }
        // (start, end) of this frame in the caller's sentence; None: silence.
        let span = match speaking {
            Some(pos) => {
                let end = (pos + 160).min(speech.len());
                speaking = if end >= speech.len() {
                    stopped_at = Some(Instant::now());
                    said += 1;
                    heard_bot = false;
                    None
                } else {
                    Some(end)
                };
                Some((pos, end))
            }
            None => {
                if heard_bot && quiet >= 75 && playout.is_idle() {
                    if said == turns {
                        break;
                    }
                    speaking = Some(0);
                }
                None
            }
        };
        let payload = match &mut noise {
            Some(noise) => {
                let mut pcm = vec![0i16; 160];
                if let Some((a, b)) = span {
                    pcm[..b - a].copy_from_slice(&speech[a..b]);
                }
                noise.add(&mut pcm);
                mulaw::encode(&pcm)
            }
            // Without noise the caller's audio is encoded once for all calls.
            None => {
                let mut f = span.map_or_else(Vec::new, |(a, b)| speech_mulaw[a..b].to_vec());
                f.resize(160, mulaw::SILENCE);
                f
            }
        };
        chunk += 1;
        if events.send(frame(payload, chunk)).await.is_err() || Instant::now() > deadline {
            break;
        }
    }
    latencies
}

/// What to run.
#[derive(Debug, Clone)]
struct Options {
    calls: usize,
    turns: usize,
    /// Line noise on the caller's side (dBFS); `None`: digital silence between words.
    noise_dbfs: Option<f32>,
    /// Phrase cache size (1 makes nearly every sentence a fresh synthesis).
    cache_entries: usize,
    /// Synthesize greetings and fixed lines before the first call (the server does).
    prewarm: bool,
    /// Calls arrive evenly over this many seconds.
    ramp_secs: f64,
    /// When the mock sends its whole-sentence interim into the caller's pause.
    pause_interim_ms: Option<u32>,
    /// Speculative first sentences on.
    speculate: bool,
}

fn main() {
    let mut o = Options {
        calls: 20,
        turns: 2,
        noise_dbfs: None,
        cache_entries: 512,
        prewarm: true,
        ramp_secs: 1.0,
        pause_interim_ms: Some(100),
        speculate: true,
    };
    let args: Vec<String> = std::env::args().collect();
    for (i, arg) in args.iter().enumerate() {
        let value = args.get(i + 1);
        match arg.as_str() {
            "--calls" => o.calls = value.and_then(|v| v.parse().ok()).unwrap_or(o.calls),
            "--turns" => o.turns = value.and_then(|v| v.parse().ok()).unwrap_or(o.turns),
            "--noise-dbfs" => o.noise_dbfs = value.and_then(|v| v.parse().ok()),
            "--cache-entries" => {
                o.cache_entries = value
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(o.cache_entries)
            }
            "--no-prewarm" => o.prewarm = false,
            "--no-speculate" => o.speculate = false,
            "--pause-interim-ms" => o.pause_interim_ms = value.and_then(|v| v.parse().ok()),
            "--ramp-secs" => o.ramp_secs = value.and_then(|v| v.parse().ok()).unwrap_or(1.0),
            _ => {}
        }
    }
    // Idle blocking threads would exit (and take their CPU time out of /proc) after 10 s.
    let runtime = |name: &'static str| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name(name)
            .thread_keep_alive(Duration::from_secs(3600))
            .build()
            .expect("tokio runtime")
    };
    let server = runtime("srv");
    let generator = runtime("gen");
    server.block_on(run(o, generator.handle().clone()));
}

/// CPU seconds (user + system) of each thread of this process, by thread id, with its name.
fn thread_cpu() -> HashMap<u32, (String, f64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        out.insert(tid, (name, ticks / 100.0));
    }
    out
}

/// CPU seconds since `before`, summed by thread group: `srv` (call sessions, blocking pool,
/// ONNX Runtime threads they start), `gen` (simulated callers, mock Deepgram), other (main).
fn cpu_by_group(before: &HashMap<u32, (String, f64)>) -> Vec<(&'static str, f64)> {
    let mut groups = vec![
        ("server (srv-*)", 0.0),
        ("load generator (gen-*)", 0.0),
        ("other threads", 0.0),
    ];
    for (tid, (name, now)) in thread_cpu() {
        let was = before.get(&tid).map_or(0.0, |(_, s)| *s);
        let i = if name.starts_with("srv") {
            0
        } else if name.starts_with("gen") {
            1
        } else {
            2
        };
        groups[i].1 += now - was;
    }
    groups
}

/// CPU seconds of waited-for child processes (espeak-ng phonemizing for Piper, server side).
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(13).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(14).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

async fn run(o: Options, generator: tokio::runtime::Handle) {
    let (calls, turns) = (o.calls, o.turns);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = Arc::new(
        vartalaap_config::ConfigStore::load(&root).unwrap_or_else(|d| panic!("config: {d:?}")),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        vartalaap_store::Store::open(
            dir.path().join("load.redb"),
            vartalaap_store::fixtures::fixture_crypto(),
        )
        .expect("store"),
    );
    let speech = EspeakTts::default()
        .synthesize(SENTENCE, VoiceLang::English)
        .expect("espeak-ng is needed for the caller's voice");
    let speech = Arc::new(
        vartalaap_audio::resample(&speech.samples, speech.sample_rate, 8000).expect("resample"),
    );
    // The mock's words follow the audio: interims carry the words said so far, so only the
    // pause's interim (or speech_final) has the whole sentence.
    // The mock counts speech in loud 20 ms frames (most bytes loud in µ-law); tell it how much
    // of that the sentence has, so the words it gives match what was heard.
    let speech_ms = mulaw::encode(&speech)
        .chunks(160)
        .filter(|f| f.iter().filter(|b| ((!**b) & 0x7F) >= 0x20).count() * 2 > f.len())
        .count() as u32
        * 20;
    println!(
        "caller sentence: {} ms of audio, {speech_ms} ms of it loud",
        speech.len() / 8
    );
    let speech_mulaw = Arc::new(mulaw::encode(&speech));
    let mock_cfg = MockDeepgramConfig {
        script: vec![ScriptedUtterance::new(SENTENCE, speech_ms); turns * 2],
        pause_interim_ms: o.pause_interim_ms,
        ..MockDeepgramConfig::default()
    };
    // The mock serves its connections on the load generator's runtime.
    let deepgram = generator
        .spawn(MockDeepgram::start(mock_cfg))
        .await
        .expect("join")
        .expect("mock deepgram");
    let stages: Arc<Mutex<HashMap<String, Vec<f64>>>> = Arc::default();
    let sink = stages.clone();
    let mut cfg = VoiceConfig::offline(ModelPaths::from_env(), vec![7u8; 32]);
    cfg.tts_workers = 2;
    cfg.phrase_cache_entries = o.cache_entries;
    cfg.speculate = o.speculate;
    cfg.deepgram = Some(DeepgramConfig {
        api_key: "dg-test-key".into(),
        base_url: deepgram.base_url.clone(),
        ..DeepgramConfig::default()
    });
    let deps = VoiceDeps {
        config: config.clone(),
        store,
        runtime: Arc::new(vartalaap_script::ScriptRuntime::new(
            vartalaap_script::ScriptLimits::default(),
        )),
        clock: Arc::new(vartalaap_store::SystemClock),
        tools: Arc::new(|_| Box::new(MemoryTools { next: 0 })),
        metrics: Arc::new(move |stage: &str, s: f64| {
            // A turn's stages arrive together, in order, on one thread: remember its first
            // audio so its `reply` can be filed as "first sentence cached" or "synthesized".
            thread_local!(static TTS: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) });
            if let Ok(mut m) = sink.lock() {
                m.entry(stage.to_string()).or_default().push(s);
                match stage {
                    "tts_first_audio" => TTS.with(|t| t.set(s)),
                    "reply" => {
                        let kind = if TTS.with(|t| t.get()) < 0.005 {
                            "reply (first sentence cached)"
                        } else {
                            "reply (synthesized)"
                        };
                        m.entry(kind.to_string()).or_default().push(s);
                    }
                    _ => {}
                }
            }
        }),
    };
    let svc = Arc::new(
        tokio::task::spawn_blocking(move || VoiceService::new(cfg, deps))
            .await
            .expect("join")
            .expect("voice service"),
    );
    let business = config
        .list()
        .iter()
        .find(|s| s.business.id == "himalayan_kitchen")
        .unwrap_or(&config.list()[0])
        .business
        .id
        .clone();
    if o.prewarm {
        let t = Instant::now();
        let n = svc.prewarm().await.unwrap_or(0);
        println!(
            "prewarm: {n} sentences in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }

    let rss_before = rss_mb();
    let cpu_before = cpu_seconds();
    let children_before = children_cpu_seconds();
    let threads_before = thread_cpu();
    let wall = Instant::now();
    let peak = Arc::new(Mutex::new(rss_before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if let Ok(mut p) = peak.lock() {
                    *p = p.max(rss_mb());
                }
            }
        })
    };
    let mut handles = Vec::new();
    for i in 0..calls {
        let uuid = format!("load-{i:05}");
        let token = svc
            .answer(&uuid, &business, Some("+919876500000"), chrono::Utc::now())
            .expect("answer");
        let call = svc.admit_stream(&token, chrono::Utc::now()).expect("admit");
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let (out_tx, out_rx) = mpsc::channel(256);
        let session = svc.run_call(call, ev_rx, out_tx);
        let (speech, speech_mulaw) = (speech.clone(), speech_mulaw.clone());
        let noise = o.noise_dbfs.map(|db| Noise::new(i as u64 + 1, db));
        let lat = generator.spawn(caller(
            ev_tx,
            out_rx,
            uuid,
            speech,
            speech_mulaw,
            turns,
            noise,
        ));
        handles.push(tokio::spawn(async move {
            let lat = lat.await.unwrap_or_default();
            let summary = session.await.ok();
            (lat, summary)
        }));
        // Stagger arrivals over the ramp.
        tokio::time::sleep(Duration::from_secs_f64(o.ramp_secs / calls.max(1) as f64)).await;
    }
    let mut latencies = Vec::new();
    let mut answered = 0;
    for h in handles {
        if let Ok((lat, summary)) = h.await {
            latencies.extend(lat.iter().map(|d| d.as_secs_f64() * 1000.0));
            if summary.is_some() {
                answered += 1;
            }
        }
    }
    sampler.abort();
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds() - cpu_before;
    let children_s = children_cpu_seconds() - children_before;
    let groups = cpu_by_group(&threads_before);
    let peak_mb = peak.lock().map(|p| *p).unwrap_or(0.0);
    let stages = stages.lock().map(|m| m.clone()).unwrap_or_default();
    let ms = |name: &str, p: f64| {
        let mut v: Vec<f64> = stages
            .get(name)
            .map(|v| v.iter().map(|s| s * 1000.0).collect())
            .unwrap_or_default();
        percentile(&mut v, p)
    };
    println!(
        "calls: {calls} concurrent ({answered} completed), arriving over {} s, {turns} caller turns each; line noise {}; phrase cache {} entries",
        o.ramp_secs,
        o.noise_dbfs
            .map_or("none (digital silence)".to_string(), |d| format!(
                "{d} dBFS"
            )),
        o.cache_entries
    );
    println!(
        "wall: {wall_s:.1} s, CPU: {cpu_s:.1} s ({:.1}% of one core; {:.3} core-seconds per call-minute)",
        100.0 * cpu_s / wall_s,
        cpu_s / (calls as f64 * wall_s / 60.0)
    );
    for (group, secs) in &groups {
        println!(
            "  CPU {group:<24} {secs:>7.1} s ({:>5.1}% of one core; {:.3} core-seconds per call-minute)",
            100.0 * secs / wall_s,
            secs / (calls as f64 * wall_s / 60.0)
        );
    }
    println!(
        "  CPU child processes (espeak-ng)    {children_s:>7.1} s ({:>5.1}% of one core)",
        100.0 * children_s / wall_s
    );
    println!(
        "memory: {rss_before:.0} MB before, {peak_mb:.0} MB peak, {:.2} MB per call",
        (peak_mb - rss_before) / calls.max(1) as f64
    );
    println!(
        "caller stopped -> first bot audio (ms): p50 {:.0}, p95 {:.0} over {} turns",
        percentile(&mut latencies.clone(), 0.5),
        percentile(&mut latencies, 0.95),
        stages.get("total").map_or(0, Vec::len)
    );
    for stage in [
        "call_setup",
        "greeting",
        "stt",
        "engine",
        "tts_first_audio",
        "first_frame",
        "total",
        "reply",
    ] {
        println!(
            "  stage {stage:<16} p50 {:>7.1} ms   p95 {:>7.1} ms   p99 {:>7.1} ms   (n = {})",
            ms(stage, 0.5),
            ms(stage, 0.95),
            ms(stage, 0.99),
            stages.get(stage).map_or(0, Vec::len)
        );
    }
    for kind in ["reply (first sentence cached)", "reply (synthesized)"] {
        println!(
            "  {kind:<30} p50 {:>7.1} ms   p95 {:>7.1} ms   (n = {})",
            ms(kind, 0.5),
            ms(kind, 0.95),
            stages.get(kind).map_or(0, Vec::len)
        );
    }
    println!(
        "VAD model (Silero) frames judged: {} ({:.0} per call; the model runs while the bot speaks, or without Deepgram)",
        svc.vad_model_frames(),
        svc.vad_model_frames() as f64 / calls.max(1) as f64
    );
    let spec = svc.speculation();
    println!(
        "speculation ({}; mock interim {} into the pause, speech_final at 300 ms): {spec:?}",
        if o.speculate { "on" } else { "off" },
        o.pause_interim_ms
            .map_or("never".to_string(), |ms| format!("{ms} ms")),
    );
    let mut added: Vec<f64> = stages
        .get("reply")
        .map(|v| v.iter().map(|s| s * 1000.0).collect())
        .unwrap_or_default();
    println!(
        "added latency (transcript -> first frame, ms): p50 {:.1}, p95 {:.1}",
        percentile(&mut added.clone(), 0.5),
        percentile(&mut added, 0.95)
    );
}
