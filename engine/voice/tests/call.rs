//! Calls driven through the voice service's channels, the way the server's WebSocket route does
//! (Plivo's side played by the simulator's playout model): no recogniser, transfers that work
//! and transfers that fail, and a caller hanging up mid-reply.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use common::{Caller, espeak, speech_like};
use vartalaap_core::{ToolCall, ToolExecutor, ToolKind, ToolResult};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_providers::mock::plivo::{MockPlivoRest, PlivoMode};
use vartalaap_store::{CallOutcome, Store, TurnRole};
use vartalaap_voice::{
    CallSummary, DeepgramConfig, PlivoVoiceConfig, VoiceConfig, VoiceDeps, VoiceService,
};

const AUTH_ID: &str = "MATESTACCOUNT0000001";
const AUTH_TOKEN: &str = "plivo-test-auth-token-0123456789";

/// Tools that answer from memory; counts callbacks.
struct MemoryTools {
    callbacks: Arc<std::sync::atomic::AtomicUsize>,
    checks: Arc<std::sync::atomic::AtomicUsize>,
}

impl ToolExecutor for MemoryTools {
    fn execute(&mut self, _: NaiveDateTime, call: &ToolCall) -> ToolResult {
        match &call.kind {
            ToolKind::CheckAvailability { .. } => {
                self.checks
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ToolResult::Available
            }
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
    checks: Arc<std::sync::atomic::AtomicUsize>,
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
    harness_with(deepgram, plivo, transfer_phone, |_| {}).await
}

/// [`harness`] with the voice settings adjusted by `tweak` (limits, voices, Edge).
async fn harness_with(
    deepgram: Option<&MockDeepgram>,
    plivo: Option<&MockPlivoRest>,
    transfer_phone: bool,
    tweak: impl FnOnce(&mut VoiceConfig),
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
    tweak(&mut cfg);
    let callbacks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = callbacks.clone();
    let checks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let check_counter = checks.clone();
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
                checks: check_counter.clone(),
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
        checks,
        _dir: dir,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_recogniser_the_caller_hears_why_and_the_call_still_ends_cleanly() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let h = harness(None, None, false).await;
    assert!(!h.svc.has_recogniser());
    let (mut caller, session) = Caller::dial(&h.svc, "offline-1").await;
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
    let (mut caller, session) = Caller::dial(&h.svc, "transfer-1").await;
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

/// The caller's number as the store hashes it.
fn caller_hash(store: &Store) -> vartalaap_store::PhoneHash {
    store
        .crypto()
        .hash(&vartalaap_store::PhoneNumber::parse("+919876543210").unwrap())
}

fn last_bot_line(store: &Store, call_id: u64) -> String {
    bot_lines(store, call_id).pop().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maximum_call_length_ends_the_call_with_an_apology() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    // Shorter than the greeting: the limit cuts in while the bot is still talking.
    let h = harness_with(None, None, false, |c| c.max_call = Duration::from_secs(2)).await;
    let (mut caller, session) = Caller::dial(&h.svc, "maxlen-1").await;
    caller.until_closed().await;
    let summary = session.await.unwrap();
    assert_eq!(summary.outcome, CallOutcome::Abandoned);
    let id = summary.call_log_id.unwrap();
    let call = h.store.get_call(id).unwrap().unwrap();
    assert!(call.call.ended_at.is_some() && call.call.duration_seconds.is_some());
    let last = last_bot_line(&h.store, id);
    assert!(last.contains("समाप्त"), "the caller heard why: {last:?}");
    assert!(
        caller.clears >= 1,
        "the greeting was cut for the closing line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_goodbye_records_the_call_and_refuses_new_calls() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let h = harness_with(None, None, false, |c| {
        c.drain_deadline = Duration::from_secs(8);
    })
    .await;
    let (mut caller, session) = Caller::dial(&h.svc, "drain-1").await;
    assert!(caller.wait_bot().await, "greeting");
    // A second call answered but not yet streaming when the signal comes.
    let token = h
        .svc
        .answer("drain-2", "himalayan_kitchen", None, chrono::Utc::now())
        .unwrap();
    let svc = h.svc.clone();
    let shutdown = tokio::spawn(async move { svc.shutdown().await });
    caller.until_closed().await;
    assert_eq!(shutdown.await.unwrap(), 0, "every call finished in time");
    let summary = session.await.unwrap();
    let id = summary.call_log_id.unwrap();
    let call = h.store.get_call(id).unwrap().unwrap();
    assert!(call.call.ended_at.is_some(), "the call log was written");
    let last = last_bot_line(&h.store, id);
    assert!(
        last.contains("समाप्त"),
        "goodbye before the socket closed: {last:?}"
    );
    assert!(matches!(
        h.svc
            .answer("drain-3", "himalayan_kitchen", None, chrono::Utc::now()),
        Err(vartalaap_voice::VoiceError::ShuttingDown)
    ));
    assert!(matches!(
        h.svc.admit_stream(&token, chrono::Utc::now()),
        Err(vartalaap_voice::VoiceError::ShuttingDown)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cuts_off_a_call_that_outlives_the_drain_deadline_but_still_logs_it() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let h = harness_with(None, None, false, |c| {
        c.drain_deadline = Duration::from_millis(200);
    })
    .await;
    // This caller's socket is stuck: it never reads what the bot sends, so after a second of
    // greeting every queue towards it is full and the goodbye cannot even be sent.
    let (caller, session) = Caller::dial_with(&h.svc, "drain-slow", 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let svc = h.svc.clone();
    let left = svc.shutdown().await;
    assert_eq!(left, 0, "the stuck call was cut off and wrote its log");
    let summary = session.await.unwrap();
    let call = h
        .store
        .get_call(summary.call_log_id.unwrap())
        .unwrap()
        .unwrap();
    assert!(call.call.ended_at.is_some());
    drop(caller);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_call_that_never_streamed_is_logged_from_the_hang_up_callback() {
    let h = harness(None, None, false).await;
    let token = h
        .svc
        .answer(
            "nostream-1",
            "himalayan_kitchen",
            Some("919876543210"),
            chrono::Utc::now(),
        )
        .unwrap();
    let info = vartalaap_voice::HangupInfo {
        duration_secs: Some(7),
        by_caller: true,
    };
    let vartalaap_voice::Hungup::NeverStreamed(task) = h.svc.hung_up("nostream-1", info) else {
        panic!("the answered call was forgotten");
    };
    let id = task.await.unwrap().expect("a call log");
    let call = h.store.get_call(id).unwrap().unwrap();
    assert_eq!(call.call.external_call_id.as_deref(), Some("nostream-1"));
    assert_eq!(call.call.duration_seconds, Some(7));
    assert_eq!(call.call.outcome, CallOutcome::Abandoned);
    assert_eq!(call.call.caller_phone_hash, Some(caller_hash(&h.store)));
    assert!(call.turns[0].text.contains("never connected"));
    // Plivo retries callbacks: the second one finds nothing to record, and the stream token
    // of a finished call opens nothing.
    assert!(matches!(
        h.svc.hung_up("nostream-1", info),
        vartalaap_voice::Hungup::Unknown
    ));
    assert!(h.svc.admit_stream(&token, chrono::Utc::now()).is_err());
    assert_eq!(
        h.store
            .list_calls(
                &Default::default(),
                &vartalaap_store::PageRequest {
                    after: None,
                    limit: 100,
                },
            )
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_caller_is_greeted_in_the_language_of_their_last_call() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        script: vec![ScriptedUtterance::new(
            "I would like to book a table for two people tomorrow evening",
            300,
        )],
        ..MockDeepgramConfig::default()
    })
    .await
    .unwrap();
    let h = harness(Some(&deepgram), None, false).await;
    // First call: greeted in the business's default (Hindi); the caller speaks English.
    let (mut caller, session) = Caller::dial(&h.svc, "lang-1").await;
    assert!(caller.wait_bot().await, "greeting");
    caller.say(&speech_like(2500)).await;
    assert!(caller.wait_bot().await, "the answer");
    drop(caller);
    let first = session.await.unwrap();
    let lines = bot_lines(&h.store, first.call_log_id.unwrap());
    assert!(lines[0].starts_with("नमस्ते"), "{lines:?}");
    let prefs = h
        .store
        .get_caller_preferences(&caller_hash(&h.store))
        .unwrap()
        .expect("preferences written at the end of the call");
    assert_eq!(prefs.last_language.as_deref(), Some("en"), "{lines:?}");
    assert_eq!(prefs.total_calls, 1);
    let turns = h
        .store
        .get_call(first.call_log_id.unwrap())
        .unwrap()
        .unwrap()
        .turns;
    let said = turns
        .iter()
        .find(|t| t.role == TurnRole::Caller)
        .expect("the caller's turn");
    assert_eq!(said.language.as_deref(), Some("en"));
    let confidence = said.stt_confidence.expect("the recogniser's confidence");
    assert!((0.0..=1.0).contains(&confidence));
    let reply = turns
        .iter()
        .filter(|t| t.role == TurnRole::Bot)
        .nth(1)
        .expect("the reply");
    assert!(reply.timings.engine_ms.is_some() && reply.timings.first_frame_ms.is_some());

    // Second call from the same number: greeted in English straight away.
    let (mut caller, session) = Caller::dial(&h.svc, "lang-2").await;
    assert!(caller.wait_bot().await, "greeting");
    drop(caller);
    let second = session.await.unwrap();
    let greeting = bot_lines(&h.store, second.call_log_id.unwrap())
        .into_iter()
        .next()
        .unwrap();
    assert!(greeting.starts_with("Hello"), "{greeting:?}");
    let prefs = h
        .store
        .get_caller_preferences(&caller_hash(&h.store))
        .unwrap()
        .unwrap();
    assert_eq!(prefs.total_calls, 2);
}

fn edge_fixture() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../providers/tests/fixtures/edge/namaste_24k_48kbps.mp3"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_local_voices_fail_edge_speaks_and_then_the_recorded_apology() {
    use vartalaap_providers::mock::edge::{EdgeMode, MockEdgeConfig, MockEdgeTts};
    let edge = MockEdgeTts::start(MockEdgeConfig::new(edge_fixture()))
        .await
        .unwrap();
    // No local voice works: espeak-ng is missing (and with it Piper's phonemizer).
    let base_url = edge.base_url.clone();
    let h = harness_with(None, None, false, move |c| {
        c.espeak_program = "/nonexistent/espeak-ng".into();
        c.edge = Some(vartalaap_providers::edge::EdgeTtsConfig {
            base_url,
            ..Default::default()
        });
    })
    .await;
    let (mut caller, session) = Caller::dial(&h.svc, "edge-1").await;
    assert!(caller.wait_bot().await, "greeting");
    drop(caller);
    let summary = session.await.unwrap();
    let greeting = bot_lines(&h.store, summary.call_log_id.unwrap()).remove(0);
    assert!(
        greeting.starts_with("नमस्ते"),
        "the greeting itself: {greeting:?}"
    );
    // The business's Hindi voice was asked for the greeting's first sentence.
    let asked = edge.requests().iter().any(|r| {
        r.messages
            .iter()
            .any(|m| m.contains("नमस्ते") && m.contains("hi-IN, SwaraNeural"))
    });
    assert!(asked, "{:?}", edge.requests());

    // Edge fails too. The greeting Edge said before is cached, but the next line (no
    // recogniser here: "I cannot understand speech") is new: the caller hears the apology
    // recorded at start-up, and the transcript says so instead of that line.
    edge.set_mode(EdgeMode::Forbidden);
    let (mut caller, session) = Caller::dial(&h.svc, "edge-2").await;
    assert!(caller.wait_bot().await, "the cached greeting");
    caller.say(&speech_like(1200)).await;
    assert!(caller.wait_bot().await, "something is heard");
    drop(caller);
    let summary = session.await.unwrap();
    let lines = bot_lines(&h.store, summary.call_log_id.unwrap());
    assert!(lines[0].starts_with("नमस्ते"), "{lines:?}");
    assert!(lines[1].contains("दिक्कत"), "the apology: {lines:?}");
    assert!(!lines[1].contains("समझ"), "{lines:?}");
}

/// An offline recogniser with a scripted answer; remembers how much audio it was given.
struct ScriptedRecogniser {
    text: &'static str,
    heard_ms: Arc<std::sync::Mutex<Vec<u64>>>,
}

impl vartalaap_voice::Recognise for ScriptedRecogniser {
    fn transcribe_8k(
        &self,
        pcm: &[i16],
    ) -> Result<vartalaap_voice::Transcript, vartalaap_voice::SttError> {
        self.heard_ms.lock().unwrap().push(pcm.len() as u64 / 8);
        Ok(vartalaap_voice::Transcript {
            text: self.text.into(),
            confidence: 0.8,
            no_speech_prob: 0.0,
            audio_ms: pcm.len() as u64 / 8,
        })
    }
    fn languages(&self) -> Vec<String> {
        vec!["en".into()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_recogniser_turns_each_vad_utterance_into_an_engine_turn() {
    let heard_ms = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recogniser = ScriptedRecogniser {
        text: "I want to book a table for four people tomorrow",
        heard_ms: heard_ms.clone(),
    };
    let worker =
        Arc::new(vartalaap_voice::RecogniserWorker::spawn("scripted", recogniser, 4).unwrap());
    let h = harness_with(None, None, false, move |cfg| {
        cfg.offline_stt = vartalaap_voice::OfflineStt::Worker(worker);
    })
    .await;
    assert!(h.svc.has_recogniser());
    assert_eq!(h.svc.recogniser_name(), "scripted");
    let (mut caller, session) = Caller::dial(&h.svc, "whisper-1").await;
    assert!(caller.wait_bot().await, "greeting");
    caller.say(&speech_like(1200)).await;
    assert!(
        caller.wait_bot().await,
        "the answer to the recognised words"
    );
    drop(caller);
    let summary = session.await.unwrap();
    let call = h
        .store
        .get_call(summary.call_log_id.unwrap())
        .unwrap()
        .unwrap();
    let said: Vec<_> = call
        .turns
        .iter()
        .filter(|t| t.role == TurnRole::Caller)
        .collect();
    assert_eq!(said.len(), 1, "{:?}", call.turns);
    assert_eq!(
        said[0].text,
        "I want to book a table for four people tomorrow"
    );
    assert_eq!(said[0].stt_confidence, Some(0.8));
    // The VAD handed over the utterance with its edges: 1.2 s of speech plus up to 0.2 s of
    // silence either side.
    let heard = heard_ms.lock().unwrap().clone();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!((1_200..=1_700).contains(&heard[0]), "{heard:?}");
    // The bot answered the words, not with the no-recogniser apology.
    let lines = bot_lines(&h.store, summary.call_log_id.unwrap());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(!lines[1].contains("समझ नहीं"), "{lines:?}");
}

/// The real Whisper model on a real call (feature `whisper`): a caller's English (the Piper
/// voice, sent as 8 kHz µ-law like a phone line) goes through the VAD's utterance capture and
/// Whisper, and its words become the caller turn.
#[cfg(feature = "whisper")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_understands_an_english_caller_on_a_call() {
    let models = vartalaap_voice::ModelPaths::from_env()
        .filter(|m| m.complete() && m.root.join("whisper-tiny.en-ct2/model.bin").is_file());
    let required = std::env::var("VARTALAAP_REQUIRE_MODELS").is_ok_and(|v| v == "1");
    let Some(models) = models.filter(|_| espeak()) else {
        assert!(
            !required,
            "the Whisper model, the Piper voice or espeak-ng is missing and VARTALAAP_REQUIRE_MODELS=1; run WITH_STT=1 scripts/setup.sh"
        );
        eprintln!(
            "skipped: no Whisper model or Piper voice (WITH_STT=1 scripts/setup.sh) or no espeak-ng"
        );
        return;
    };
    let for_service = models.clone();
    let h = harness_with(None, None, false, move |cfg| {
        cfg.models = Some(for_service);
    })
    .await;
    assert_eq!(h.svc.recogniser_name(), "whisper");
    let speech = {
        use vartalaap_audio::Tts;
        let voice = models.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE);
        let pcm = vartalaap_audio::tts::PiperTts::load(&models.ort_dylib, &voice)
            .unwrap()
            .synthesize(
                "I would like a table for four people tomorrow.",
                vartalaap_audio::Lang::English,
            )
            .unwrap();
        let pcm = vartalaap_audio::resample(&pcm.samples, pcm.sample_rate, 8_000).unwrap();
        vartalaap_audio::mulaw::encode(&pcm)
    };
    let (mut caller, session) = Caller::dial(&h.svc, "whisper-real-1").await;
    assert!(caller.wait_bot().await, "greeting");
    caller.say(&speech).await;
    assert!(caller.wait_bot().await, "the answer");
    drop(caller);
    let summary = session.await.unwrap();
    let call = h
        .store
        .get_call(summary.call_log_id.unwrap())
        .unwrap()
        .unwrap();
    let said: Vec<String> = call
        .turns
        .iter()
        .filter(|t| t.role == TurnRole::Caller)
        .map(|t| t.text.to_lowercase())
        .collect();
    assert_eq!(said.len(), 1, "{:?}", call.turns);
    assert!(
        said[0].contains("table") && said[0].contains("tomorrow"),
        "{said:?}"
    );
}

/// One caller turn of `spoken_ms` against a mock whose script expects `scripted_ms` of speech
/// for `text` and that sends an interim 60 ms into the caller's pause (endpointing: 300 ms,
/// what our client asks for). Returns the bot's lines and what speculation did.
async fn speculated_turn(
    text: &str,
    scripted_ms: u32,
    spoken_ms: usize,
    speculate: bool,
) -> (Vec<String>, vartalaap_voice::SpeculationCounts, usize) {
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        script: vec![ScriptedUtterance::new(text, scripted_ms)],
        pause_interim_ms: Some(60),
        ..MockDeepgramConfig::default()
    })
    .await
    .unwrap();
    let h = harness_with(Some(&deepgram), None, false, |c| c.speculate = speculate).await;
    let (mut caller, session) = Caller::dial(&h.svc, "spec-1").await;
    assert!(caller.wait_bot().await, "greeting");
    let before = h.svc.speculation();
    assert_eq!(
        before,
        Default::default(),
        "nothing is guessed during the greeting"
    );
    caller.say(&speech_like(spoken_ms)).await;
    assert!(caller.wait_bot().await, "the answer");
    drop(caller);
    let summary = session.await.unwrap();
    (
        bot_lines(&h.store, summary.call_log_id.unwrap()),
        h.svc.speculation(),
        h.checks.load(std::sync::atomic::Ordering::SeqCst),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_s_first_sentence_is_spoken_from_the_interim_s_speculation() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (lines, spec, _) = speculated_turn("mujhe table chahiye", 1200, 1200, true).await;
    // The whole sentence arrived as an interim before `speech_final`: the engine's reply to
    // it was guessed on a copy of the conversation and its first sentence synthesized; the
    // real reply (same words, so the same sentence) was served from the call's slot.
    assert_eq!(spec.started, 1, "{spec:?}");
    assert_eq!(spec.synthesized, 1, "{spec:?}");
    assert_eq!(spec.served_ready + spec.served_after_wait, 1, "{spec:?}");
    assert_eq!(spec.unused, 0, "{spec:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    // Control: the same call without speculation says the same reply.
    let (plain, none, _) = speculated_turn("mujhe table chahiye", 1200, 1200, false).await;
    assert_eq!(none, Default::default());
    assert_eq!(plain, lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_final_never_plays_the_speculated_sentence() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    // The mock expects twice the speech the caller gives: its pause interim carries the first
    // half of the words, the final the last half (as when a recogniser revises its guess).
    let text = "mujhe table chahiye manager se baat karni hai";
    let (lines, spec, _) = speculated_turn(text, 2400, 1200, true).await;
    assert!(spec.started >= 1, "{spec:?}");
    assert_eq!(spec.served_ready + spec.served_after_wait, 0, "{spec:?}");
    assert!(spec.unused + spec.cancelled >= 1, "{spec:?}");
    let (plain, _, _) = speculated_turn(text, 2400, 1200, false).await;
    assert_eq!(
        plain, lines,
        "the caller heard the reply to the final words"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_after_an_availability_check_is_speculated_without_running_the_tool() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let text = "kal raat 8 baje 4 log ke liye table chahiye";
    let (lines, spec, checks) = speculated_turn(text, 2000, 2000, true).await;
    // The guess assumed room; the real turn checked (once: the guess never runs a tool) and
    // found room, so its first sentence was the guessed one.
    assert_eq!(checks, 1, "{spec:?}");
    assert_eq!(spec.served_ready + spec.served_after_wait, 1, "{spec:?}");
    let (plain, _, plain_checks) = speculated_turn(text, 2000, 2000, false).await;
    assert_eq!(plain_checks, 1);
    assert_eq!(plain, lines);
}

/// Silero runs only where its judgement decides something. With Deepgram as the recogniser it
/// judges the caller while the bot speaks (a barge-in must not be fooled by noise), but not
/// while the bot is silent: then Deepgram ends the turn, and the energy VAD is enough for the
/// rest. The turn still gets its reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_deepgram_silero_judges_the_caller_only_while_the_bot_speaks() {
    let models = vartalaap_voice::ModelPaths::from_env()
        .filter(|m| m.ort_dylib.is_file() && m.silero_vad().is_file());
    let required = std::env::var("VARTALAAP_REQUIRE_MODELS").is_ok_and(|v| v == "1");
    let Some(models) = models.filter(|_| espeak()) else {
        assert!(
            !required,
            "Silero or espeak-ng is missing and VARTALAAP_REQUIRE_MODELS=1; run scripts/setup.sh"
        );
        eprintln!("skipped: no Silero model (scripts/setup.sh) or no espeak-ng");
        return;
    };
    // A backchannel over the greeting (judged by Silero, ignored by the call), then a turn.
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        script: vec![
            ScriptedUtterance::new("haan", 600),
            ScriptedUtterance::new("mujhe table chahiye", 1200),
        ],
        ..MockDeepgramConfig::default()
    })
    .await
    .unwrap();
    let h = harness_with(Some(&deepgram), None, false, move |cfg| {
        cfg.models = Some(models);
    })
    .await;
    let (mut caller, session) = Caller::dial(&h.svc, "silero-1").await;
    let mut audible = false;
    for _ in 0..500 {
        if caller.tick(None).await == Some(true) {
            audible = true;
            break;
        }
    }
    assert!(audible, "the greeting started");
    let before = h.svc.vad_model_frames();
    caller.say(&speech_like(600)).await;
    let over_greeting = h.svc.vad_model_frames() - before;
    assert!(
        over_greeting >= 25,
        "speech over the bot is judged by the model: {over_greeting} of 30 frames"
    );
    assert!(caller.wait_bot().await, "the greeting went on to its end");
    let before = h.svc.vad_model_frames();
    caller.say(&speech_like(1200)).await;
    assert!(caller.wait_bot().await, "the answer");
    let while_silent = h.svc.vad_model_frames() - before;
    // 60 frames of speech while the bot was silent; the model may only have heard the quiet
    // start of the reply (the quiet gate lets 200 ms through).
    assert!(
        while_silent <= 12,
        "the model judged {while_silent} frames while the bot was silent"
    );
    assert_eq!(caller.clears, 0, "a backchannel never cuts the bot off");
    drop(caller);
    let summary = session.await.unwrap();
    let lines = bot_lines(&h.store, summary.call_log_id.unwrap());
    assert_eq!(lines.len(), 2, "greeting and the answer: {lines:?}");
}
