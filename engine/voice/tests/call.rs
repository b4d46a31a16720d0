//! Calls driven through the voice service's channels, the way the server's WebSocket route does
//! (Plivo's side played by the simulator's playout model): no recogniser, transfers that work
//! and transfers that fail, and a caller hanging up mid-reply.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vartalaap_audio::mulaw;
use vartalaap_core::{ToolCall, ToolExecutor, ToolKind, ToolResult};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_providers::mock::plivo::{MockPlivoRest, PlivoMode};
use vartalaap_store::{CallOutcome, Store, TurnRole};
use vartalaap_telephony::simulator::playout::Playout;
use vartalaap_telephony::stream::{Encoding, MediaFormat, MediaFrame, StartInfo};
use vartalaap_telephony::{Command, StreamEvent};
use vartalaap_voice::{
    CallSummary, DeepgramConfig, PlivoVoiceConfig, VoiceConfig, VoiceDeps, VoiceService,
};

const AUTH_ID: &str = "MATESTACCOUNT0000001";
const AUTH_TOKEN: &str = "plivo-test-auth-token-0123456789";

/// Tools that answer from memory; counts callbacks.
struct MemoryTools {
    callbacks: Arc<std::sync::atomic::AtomicUsize>,
}

impl ToolExecutor for MemoryTools {
    fn execute(&mut self, _: NaiveDateTime, call: &ToolCall) -> ToolResult {
        match &call.kind {
            ToolKind::CheckAvailability { .. } => ToolResult::Available,
            ToolKind::Book { .. } => ToolResult::Booked {
                reservation_id: "1".into(),
            },
            ToolKind::FindReservations { .. } => ToolResult::Found(Vec::new()),
            ToolKind::CreateCallback { .. } => {
                self.callbacks
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ToolResult::Done
            }
            _ => ToolResult::Done,
        }
    }
}

struct Harness {
    svc: Arc<VoiceService>,
    store: Arc<Store>,
    callbacks: Arc<std::sync::atomic::AtomicUsize>,
    _dir: tempfile::TempDir,
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
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

async fn harness(
    deepgram: Option<&MockDeepgram>,
    plivo: Option<&MockPlivoRest>,
    transfer_phone: bool,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for sub in ["businesses", "flows", "plugins"] {
        copy_tree(&repo.join(sub), &dir.path().join(sub));
    }
    if transfer_phone {
        let file = dir.path().join("businesses/himalayan_kitchen.yaml");
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str("\ntransfer_phone: \"+91 98765 00000\"\n");
        std::fs::write(&file, text).unwrap();
    }
    let config = Arc::new(
        vartalaap_config::ConfigStore::load(dir.path()).unwrap_or_else(|d| panic!("{d:?}")),
    );
    let store = Arc::new(
        Store::open(
            dir.path().join("calls.redb"),
            vartalaap_store::fixtures::fixture_crypto(),
        )
        .unwrap(),
    );
    let mut cfg = VoiceConfig::offline(None, vec![9u8; 32]);
    cfg.tts_workers = 1;
    cfg.deepgram = deepgram.map(|d| DeepgramConfig {
        api_key: "dg-test-key".into(),
        base_url: d.base_url.clone(),
        ..DeepgramConfig::default()
    });
    cfg.plivo = plivo.map(|p| PlivoVoiceConfig {
        auth_id: AUTH_ID.into(),
        auth_token: AUTH_TOKEN.into(),
        api_base_url: p.base_url.clone(),
        public_base_url: "https://bot.example.in".into(),
    });
    let callbacks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = callbacks.clone();
    let deps = VoiceDeps {
        config,
        store: store.clone(),
        runtime: Arc::new(vartalaap_script::ScriptRuntime::new(
            vartalaap_script::ScriptLimits::default(),
        )),
        clock: Arc::new(vartalaap_store::SystemClock),
        tools: Arc::new(move |_| {
            Box::new(MemoryTools {
                callbacks: counter.clone(),
            })
        }),
        metrics: Arc::new(|_: &str, _: f64| {}),
    };
    let svc = tokio::task::spawn_blocking(move || VoiceService::new(cfg, deps))
        .await
        .unwrap()
        .unwrap();
    Harness {
        svc: Arc::new(svc),
        store,
        callbacks,
        _dir: dir,
    }
}

/// Loud, speech-like audio (a warbling tone): both the energy VAD and mock Deepgram hear it.
fn speech_like(ms: usize) -> Vec<u8> {
    let samples: Vec<i16> = (0..ms * 8)
        .map(|i| {
            let t = i as f32 / 8000.0;
            let f = 180.0 + 60.0 * (t * 5.0 * std::f32::consts::TAU).sin();
            ((t * f * std::f32::consts::TAU).sin() * 12_000.0) as i16
        })
        .collect();
    mulaw::encode(&samples)
}

/// Plivo's side of one call, over the session's channels.
struct Caller {
    events: mpsc::Sender<StreamEvent>,
    commands: mpsc::Receiver<Command>,
    playout: Playout,
    chunk: u64,
    clears: usize,
}

impl Caller {
    async fn dial(h: &Harness, uuid: &str) -> (Caller, JoinHandle<CallSummary>) {
        let token = h
            .svc
            .answer(
                uuid,
                "himalayan_kitchen",
                Some("919876543210"),
                chrono::Utc::now(),
            )
            .unwrap();
        let call = h.svc.admit_stream(&token, chrono::Utc::now()).unwrap();
        assert!(
            h.svc.admit_stream(&token, chrono::Utc::now()).is_err(),
            "a stream token works once"
        );
        let (events, ev_rx) = mpsc::channel(256);
        let (out_tx, commands) = mpsc::channel(256);
        let session = h.svc.run_call(call, ev_rx, out_tx);
        events
            .send(StreamEvent::Start(StartInfo {
                stream_id: "stream-1".into(),
                call_id: uuid.into(),
                account_id: None,
                tracks: vec!["inbound".into()],
                media_format: MediaFormat {
                    encoding: Encoding::MuLaw,
                    sample_rate: 8000,
                },
                extra_headers: Vec::new(),
            }))
            .await
            .unwrap();
        (
            Caller {
                events,
                commands,
                playout: Playout::new(),
                chunk: 0,
                clears: 0,
            },
            session,
        )
    }

    /// 20 ms of call time: play the bot, send one caller frame. Returns whether the bot was
    /// audible, or `None` once the session closed the line.
    async fn tick(&mut self, frame: Option<&[u8]>) -> Option<bool> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        loop {
            match self.commands.try_recv() {
                Ok(Command::PlayAudio { mulaw, .. }) => self.playout.push_audio(mulaw),
                Ok(Command::Checkpoint { name, .. }) => self.playout.push_checkpoint(name),
                Ok(Command::ClearAudio { .. }) => {
                    self.clears += 1;
                    self.playout.clear();
                    let _ = self.events.send(StreamEvent::ClearedAudio).await;
                }
                Ok(Command::SendDtmf { .. }) => {}
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    if self.playout.is_idle() {
                        return None;
                    }
                    break;
                }
            }
        }
        let t = self.playout.tick();
        for name in t.played {
            let _ = self.events.send(StreamEvent::PlayedStream { name }).await;
        }
        self.chunk += 1;
        let mut payload = frame.map(<[u8]>::to_vec).unwrap_or_default();
        payload.resize(160, mulaw::SILENCE);
        let media = StreamEvent::Media(MediaFrame {
            track: "inbound".into(),
            timestamp: String::new(),
            chunk: self.chunk,
            payload,
        });
        if self.events.send(media).await.is_err() {
            return None;
        }
        Some(t.bot_audible)
    }

    /// Quiet until the bot has spoken and been silent for 800 ms; false if the line closed.
    async fn wait_bot(&mut self) -> bool {
        let (mut heard, mut quiet) = (false, 0);
        for _ in 0..2000 {
            match self.tick(None).await {
                None => return false,
                Some(true) => {
                    heard = true;
                    quiet = 0;
                }
                Some(false) => quiet += 1,
            }
            if heard && quiet >= 40 {
                return true;
            }
        }
        panic!("the bot never finished speaking");
    }

    async fn say(&mut self, audio: &[u8]) {
        for frame in audio.chunks(160) {
            self.tick(Some(frame)).await;
        }
    }

    /// Plays out whatever the bot still sends until the session closes the line.
    async fn until_closed(&mut self) {
        for _ in 0..3000 {
            if self.tick(None).await.is_none() {
                return;
            }
        }
        panic!("the call never ended");
    }
}

fn bot_lines(store: &Store, call_id: u64) -> Vec<String> {
    store
        .get_call(call_id)
        .unwrap()
        .unwrap()
        .turns
        .into_iter()
        .filter(|t| t.role == TurnRole::Bot)
        .map(|t| t.text)
        .collect()
}

fn espeak() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_recogniser_the_caller_hears_why_and_the_call_still_ends_cleanly() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let h = harness(None, None, false).await;
    assert!(!h.svc.has_recogniser());
    let (mut caller, session) = Caller::dial(&h, "offline-1").await;
    assert!(caller.wait_bot().await, "greeting");
    caller.say(&speech_like(1200)).await;
    assert!(caller.wait_bot().await, "the apology");
    drop(caller);
    let summary = session.await.unwrap();
    assert_eq!(summary.outcome, CallOutcome::Abandoned);
    let lines = bot_lines(&h.store, summary.call_log_id.unwrap());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("समझ नहीं"), "{lines:?}");
}

async fn transfer_call(mode: PlivoMode) -> (Harness, MockPlivoRest, CallSummary, Vec<String>) {
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        script: vec![ScriptedUtterance::new("manager se baat karni hai", 300)],
        ..MockDeepgramConfig::default()
    })
    .await
    .unwrap();
    let plivo = MockPlivoRest::start(AUTH_ID, AUTH_TOKEN).await.unwrap();
    plivo.set_mode(mode);
    let h = harness(Some(&deepgram), Some(&plivo), true).await;
    let (mut caller, session) = Caller::dial(&h, "transfer-1").await;
    assert!(caller.wait_bot().await, "greeting");
    caller.say(&speech_like(1500)).await;
    caller.until_closed().await;
    let summary = session.await.unwrap();
    let lines = bot_lines(&h.store, summary.call_log_id.unwrap());
    (h, plivo, summary, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_goes_through_plivo_rest_to_the_dial_document() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (_h, plivo, summary, _) = transfer_call(PlivoMode::Normal).await;
    assert_eq!(summary.outcome, CallOutcome::Transferred);
    let requests = plivo.requests();
    let transfer = requests
        .iter()
        .find(|r| r.method == "POST" && r.path.contains("/Call/transfer-1"))
        .unwrap_or_else(|| panic!("{requests:?}"));
    assert!(transfer.authorized);
    assert_eq!(
        transfer.body["aleg_url"],
        "https://bot.example.in/plivo/transfer/himalayan_kitchen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transfer_apologises_and_books_a_callback() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (h, _plivo, summary, lines) = transfer_call(PlivoMode::Status(500)).await;
    assert_eq!(summary.outcome, CallOutcome::CallbackRequested, "{lines:?}");
    assert_eq!(h.callbacks.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        {
            let last = lines.last().unwrap().to_lowercase();
            last.contains("manager") || last.contains("मैनेजर")
        },
        "the caller heard why: {lines:?}"
    );
}
