//! A real phone call for end-to-end tests that need a logged call: a `vartalaap serve` with
//! Plivo and Deepgram pointed at their mocks, and the call simulator dialling in as Plivo does,
//! speaking espeak-ng audio that the mock Deepgram "recognises" as the scripted lines. Include
//! it with `#[path = "common/phone_call.rs"] mod phone_call;` next to `mod common;`.
#![allow(dead_code)]

use std::time::Duration;

use vartalaap_audio::tts::EspeakTts;
use vartalaap_audio::{Lang, Tts};
use vartalaap_providers::mock::deepgram::{MockDeepgram, MockDeepgramConfig, ScriptedUtterance};
use vartalaap_providers::mock::plivo::MockPlivoRest;
use vartalaap_telephony::simulator::{CallReport, SimConfig, Step, run_call};

use crate::common::{Server, free_port};

/// The Plivo account the server is configured with (its auth token signs every webhook).
pub const AUTH_ID: &str = "MAE2ETESTACCOUNT0002";
pub const AUTH_TOKEN: &str = "plivo-e2e-auth-token-phone-call-0123";
pub const DG_KEY: &str = "dg-test-key";
/// The restaurant's number as Plivo sends it (Himalayan Kitchen's).
pub const BUSINESS_NUMBER: &str = "911352710000";
/// The caller's number (never expected in a saved test file).
pub const CALLER: &str = "+91 98765 43210";

/// Whether espeak-ng (the caller's voice) is installed.
pub fn espeak_available() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok()
}

/// A server that answers phone calls, with its mocks (kept alive as long as it).
pub struct PhoneRig {
    pub server: Server,
    pub deepgram: MockDeepgram,
    pub plivo: MockPlivoRest,
    /// The server's public origin (`http://127.0.0.1:<port>`).
    pub public: String,
    /// The environment the server runs with beyond the test defaults (to run the CLI with it).
    pub env: Vec<(String, String)>,
}

/// Starts a server whose first call's caller says `lines` (in that order), with `extra`
/// environment variables.
pub async fn rig(lines: &[&str], extra: &[(&str, &str)]) -> PhoneRig {
    start(
        MockDeepgramConfig {
            script: lines
                .iter()
                .map(|t| ScriptedUtterance::new(*t, 300))
                .collect(),
            ..MockDeepgramConfig::default()
        },
        extra,
    )
    .await
}

/// Starts the mocks (Deepgram answering with `deepgram`'s scripts, Plivo's REST API) and a
/// server pointed at them, with `extra` environment variables (they win over the defaults).
pub async fn start(deepgram: MockDeepgramConfig, extra: &[(&str, &str)]) -> PhoneRig {
    let deepgram = MockDeepgram::start(MockDeepgramConfig {
        api_key: DG_KEY.into(),
        ..deepgram
    })
    .await
    .unwrap();
    let plivo = MockPlivoRest::start(AUTH_ID, AUTH_TOKEN).await.unwrap();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let model_dir = std::env::var("VARTALAAP_MODEL_DIR").unwrap_or_default();
    let mut env = vec![
        ("BIND_ADDR", bind.as_str()),
        ("PUBLIC_BASE_URL", public.as_str()),
        ("STT_PROVIDER", "deepgram"),
        ("DEEPGRAM_API_KEY", DG_KEY),
        ("DEEPGRAM_BASE_URL", deepgram.base_url.as_str()),
        ("PLIVO_AUTH_ID", AUTH_ID),
        ("PLIVO_AUTH_TOKEN", AUTH_TOKEN),
        ("PLIVO_API_BASE_URL", plivo.base_url.as_str()),
    ];
    if !model_dir.is_empty() {
        env.push(("VARTALAAP_MODEL_DIR", model_dir.as_str()));
    }
    env.extend_from_slice(extra);
    let server = tokio::task::block_in_place(|| Server::start_with(&env));
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PhoneRig {
        server,
        deepgram,
        plivo,
        public,
        env,
    }
}

impl PhoneRig {
    /// Places a call that waits for the greeting, says each line (waiting for the bot's reply
    /// after each) and hangs up; returns the call log's id once its end is recorded.
    pub async fn call(&self, lines: &[&str]) -> u64 {
        let wait = || Step::WaitForBot {
            max: Duration::from_secs(40),
        };
        let mut steps = vec![wait()];
        for line in lines {
            steps.push(Step::Say {
                label: line.to_string(),
                pcm: EspeakTts::default()
                    .synthesize(line, Lang::English)
                    .unwrap(),
            });
            steps.push(wait());
        }
        steps.push(Step::Hangup);
        let mut cfg = SimConfig::new(
            &format!("{}/plivo/answer", self.public),
            AUTH_TOKEN,
            CALLER,
            BUSINESS_NUMBER,
        );
        cfg.max_call = Duration::from_secs(180);
        // Sentences are synthesized one ahead of playback; on a loaded machine a gap over the
        // default 800 ms would end a wait mid-reply.
        cfg.bot_quiet = Duration::from_millis(1500);
        let report: CallReport = run_call(&cfg, steps).await.unwrap();
        assert!(
            report.protocol_errors.is_empty(),
            "{:?}",
            report.protocol_errors
        );
        self.finished_call_id().await
    }

    /// The newest call log's id, once the session has recorded its end.
    async fn finished_call_id(&self) -> u64 {
        for _ in 0..200 {
            let calls = tokio::task::block_in_place(|| {
                let token = self.server.login();
                self.server.request("GET", "/api/calls", Some(&token), None)
            });
            if let Some(call) = calls.json["items"].as_array().and_then(|a| a.first())
                && call["ended_at"].is_string()
            {
                return call["id"].as_u64().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no finished call log; server log:\n{}", self.server.logs());
    }
}

/// "kal" when tomorrow (IST) is a day Himalayan Kitchen opens, else "parson".
pub fn booking_day_word() -> &'static str {
    use chrono::Datelike;
    let today = (chrono::Utc::now() + chrono::Duration::minutes(330)).date_naive();
    let tomorrow = today + chrono::Duration::days(1);
    let exceptions = ["2026-12-31", "2027-01-01", "2027-01-26"];
    if tomorrow.weekday() == chrono::Weekday::Mon
        || exceptions.contains(&tomorrow.to_string().as_str())
    {
        "parson"
    } else {
        "kal"
    }
}
