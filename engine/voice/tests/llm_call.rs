//! Phone calls with the LLM on (Groq mock replaying `tests/fixtures/llm/*.json`), driven
//! through the voice service's channels with mock Deepgram: a phrased answer reaches TTS
//! sentence by sentence and the turn records "LLM first token"; an answer with an invented
//! price is never spoken past its last grounded sentence, the template answer follows; a
//! model that fails leaves the offline answer of the same turn.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use common::{Caller, espeak, speech_like};
use vartalaap_core::{ToolCall, ToolExecutor, ToolResult};
use vartalaap_llm::fixture::Fixture;
use vartalaap_llm::{GroqConfig, Llm, LlmSettings, Use};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_providers::mock::groq::{GroqMode, GroqReply, MockGroq, MockGroqConfig};
use vartalaap_store::{ConversationTurn as Turn, Store, TurnRole};
use vartalaap_voice::{DeepgramConfig, VoiceConfig, VoiceDeps, VoiceService};

const KEY: &str = "gsk_voice_test";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every tool succeeds (the menu and FAQ answers need none).
struct Tools;

impl ToolExecutor for Tools {
    fn execute(&mut self, _: NaiveDateTime, _: &ToolCall) -> ToolResult {
        ToolResult::Available
    }
}

struct Harness {
    svc: Arc<VoiceService>,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

async fn harness(deepgram: &MockDeepgram, llm: Arc<Llm>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config =
        Arc::new(vartalaap_config::ConfigStore::load(repo()).unwrap_or_else(|d| panic!("{d:?}")));
    let store = Arc::new(
        Store::open(
            dir.path().join("calls.redb"),
            vartalaap_store::fixtures::fixture_crypto(),
        )
        .unwrap(),
    );
    let mut cfg = VoiceConfig::offline(None, vec![7u8; 32]);
    cfg.tts_workers = 1;
    cfg.deepgram = Some(DeepgramConfig {
        api_key: "dg-test-key".into(),
        base_url: deepgram.base_url.clone(),
        ..DeepgramConfig::default()
    });
    let deps = VoiceDeps {
        config,
        store: store.clone(),
        runtime: Arc::new(vartalaap_script::ScriptRuntime::new(
            vartalaap_script::ScriptLimits::default(),
        )),
        clock: Arc::new(vartalaap_store::SystemClock),
        tools: Arc::new(|_| Box::new(Tools)),
        metrics: Arc::new(|_: &str, _: f64| {}),
    };
    let svc = tokio::task::spawn_blocking(move || VoiceService::new(cfg, deps))
        .await
        .unwrap()
        .unwrap()
        .with_llm(llm);
    Harness {
        svc: Arc::new(svc),
        store,
        _dir: dir,
    }
}

async fn groq(fx: &Fixture) -> MockGroq {
    MockGroq::start(MockGroqConfig {
        api_key: KEY.into(),
        replies: fx
            .exchanges
            .iter()
            .map(|e| GroqReply::Sse(e.sse()))
            .collect(),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn llm(mock: &MockGroq, fx: &Fixture) -> Llm {
    let mut settings = LlmSettings {
        timeout: Duration::from_millis(1500),
        ..LlmSettings::default()
    };
    settings
        .phrase_templates
        .extend(fx.phrase_templates.iter().cloned());
    Llm::groq(
        GroqConfig::new(mock.base_url.clone(), KEY, "voice-test-model"),
        settings,
    )
    .unwrap()
}

/// One caller turn saying the fixture's utterance; returns the stored turns and the LLM.
async fn call(fx: &Fixture, mode: GroqMode) -> (Vec<Turn>, MockGroq, Arc<Llm>) {
    let mock = groq(fx).await;
    mock.set_mode(mode);
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        script: vec![ScriptedUtterance::new(fx.utterance.clone(), 300)],
        ..MockDeepgramConfig::default()
    })
    .await
    .unwrap();
    let llm = Arc::new(llm(&mock, fx));
    let h = harness(&deepgram, llm.clone()).await;
    let (mut caller, session) = Caller::dial(&h.svc, "llm-call-1").await;
    assert!(caller.wait_bot().await, "greeting");
    caller.say(&speech_like(1500)).await;
    assert!(caller.wait_bot().await, "the answer");
    drop(caller);
    let summary = session.await.unwrap();
    let turns = h
        .store
        .get_call(summary.call_log_id.unwrap())
        .unwrap()
        .unwrap()
        .turns;
    (turns, mock, llm)
}

fn last_bot(turns: &[Turn]) -> &Turn {
    turns
        .iter()
        .rev()
        .find(|t| t.role == TurnRole::Bot)
        .expect("a bot turn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phrased_answer_is_spoken_sentence_by_sentence_with_its_first_token_time() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let fx = Fixture::load(repo().join("tests/fixtures/llm/phrase_grounded_hindi.json")).unwrap();
    let (turns, mock, _) = call(&fx, GroqMode::Normal).await;
    let bot = last_bot(&turns);
    assert_eq!(
        bot.text,
        "जी हाँ, चिली पनीर काफ़ी तीखा बनता है। इसकी कीमत 260 रुपये है।"
    );
    assert!(
        bot.timings.llm_first_token_ms.is_some(),
        "LLM first token is recorded: {:?}",
        bot.timings
    );
    assert!(bot.timings.tts_first_audio_ms.is_some());
    assert_eq!(mock.requests().len(), 1, "understood offline; one phrasing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invented_price_is_never_spoken_and_the_template_follows() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let fx = Fixture::load(repo().join("tests/fixtures/llm/phrase_invented_price.json")).unwrap();
    let (turns, mock, _) = call(&fx, GroqMode::Normal).await;
    let bot = last_bot(&turns);
    // The first sentence passed the guard and was already playing; the second invented a
    // price, so the model's answer ended there and the template answer was spoken instead.
    assert_eq!(
        bot.text,
        "Sorry, pizza hamare menu mein nahi hai. Sorry, yeh hamare menu mein nahi hai."
    );
    assert!(!bot.text.contains("199"));
    assert_eq!(mock.requests().len(), 2, "understanding, then phrasing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_model_leaves_the_offline_answer_of_the_same_turn() {
    if !espeak() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let fx = Fixture::load(repo().join("tests/fixtures/llm/phrase_invented_price.json")).unwrap();
    let (turns, _mock, llm) = call(&fx, GroqMode::Status(503)).await;
    let bot = last_bot(&turns);
    assert_eq!(
        bot.text,
        "Sorry, main samajh nahi payi. Ek baar phir se bataiye?"
    );
    assert_eq!(bot.timings.llm_first_token_ms, None);
    assert_eq!(llm.stats().get(Use::Understand, "server_error"), 1);
    assert_eq!(llm.stats().get(Use::Phrase, "server_error"), 1);
}
