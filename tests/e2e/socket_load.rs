//! Smoke run of the socket load generator (`examples/socket_load`) at a small N against the
//! real `vartalaap serve` process: three callers dial through the signed answer URL and the
//! signed stream upgrade, speak real-time µ-law with a mock Deepgram recognising them, and the
//! report must account for every call, turn, close frame and the server's CPU. No timing is
//! asserted: this proves the generator works, `docs/PERFORMANCE.md` records what it measured.

mod common;

#[path = "../../examples/socket_load/load.rs"]
mod load;

use std::sync::Arc;
use std::time::Duration;

use common::Server;
use vartalaap_audio::tts::{EspeakTts, Lang, Tts};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_telephony::simulator::caller_mulaw;

const AUTH_TOKEN: &str = "plivo-load-smoke-auth-token-0123456789";
const DG_KEY: &str = "dg-test-key";
const SENTENCE: &str = "kal raat 8 baje 4 log ke liye table chahiye";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_callers_through_the_front_door_are_measured() {
    if std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let pcm = EspeakTts::default()
        .synthesize(SENTENCE, Lang::English)
        .unwrap();
    let speech = caller_mulaw(&pcm).unwrap();
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        api_key: DG_KEY.into(),
        script: vec![ScriptedUtterance::new(
            SENTENCE,
            load::loud_speech_ms(&speech),
        )],
        pause_interim_ms: Some(100),
        endpointing_ms: Some(300),
        ..MockDeepgramConfig::default()
    })
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let model_dir = std::env::var("VARTALAAP_MODEL_DIR").unwrap_or_default();
    let mut env = vec![
        ("BIND_ADDR", bind.as_str()),
        ("PUBLIC_BASE_URL", public.as_str()),
        ("STT_PROVIDER", "deepgram"),
        ("DEEPGRAM_API_KEY", DG_KEY),
        ("DEEPGRAM_BASE_URL", deepgram.base_url.as_str()),
        ("PLIVO_AUTH_ID", "MALOADSMOKETEST00001"),
        ("PLIVO_AUTH_TOKEN", AUTH_TOKEN),
    ];
    if !model_dir.is_empty() {
        env.push(("VARTALAAP_MODEL_DIR", model_dir.as_str()));
    }
    let server = tokio::task::block_in_place(|| Server::start_with(&env));
    let report = load::run(load::LoadConfig {
        answer_url: format!("{public}/plivo/answer"),
        auth_token: AUTH_TOKEN.into(),
        business_number: "911352710000".into(),
        calls: 3,
        turns: 1,
        ramp: Duration::from_millis(500),
        speech: Arc::new(speech),
        bot_quiet: Duration::from_millis(1500),
        endpointing: Duration::from_millis(300),
        max_call: Duration::from_secs(180),
        server_pid: Some(server.pid()),
    })
    .await;
    println!("{report}");
    assert_eq!(
        report.completed,
        3,
        "{report}\nserver log:\n{}",
        server.logs()
    );
    assert_eq!(report.turns.len(), 3, "{report}");
    for turn in &report.turns {
        assert!(turn.first_frame.is_some(), "{report}");
        assert!(turn.first_audible.is_some(), "{report}");
    }
    assert_eq!(report.greeting_audible.len(), 3, "{report}");
    // Every caller hung up with `stop`; the server closed each socket normally.
    assert_eq!(
        report.closes.get("1000 call ended: abandoned"),
        Some(&3),
        "{report}"
    );
    let (server_cpu, _) = report
        .server_cpu
        .expect("the server's CPU is read from /proc");
    assert!(server_cpu > 0.0, "{report}");
    assert!(report.server_cpu_per_call_minute().is_some(), "{report}");
    assert!(report.own_cpu > 0.0, "{report}");
    assert!(
        report.server_peak_rss_mb.is_some_and(|mb| mb > 0.0),
        "{report}"
    );
    // The server agrees: three calls were logged.
    let token = tokio::task::block_in_place(|| server.login());
    let calls =
        tokio::task::block_in_place(|| server.request("GET", "/api/calls", Some(&token), None));
    assert_eq!(
        calls.json["items"].as_array().map(Vec::len),
        Some(3),
        "{}",
        calls.text
    );
}
