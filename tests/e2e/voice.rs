//! End-to-end phone calls through the real `vartalaap serve` process: a simulated Plivo dials
//! the signed answer URL and streams real-time µ-law speech (synthesized with espeak-ng) into
//! `/plivo/stream`; a mock Deepgram "recognises" it from the audio; the bot answers with real
//! local TTS, real VAD, the real engine and real storage. Checked through the admin API: the
//! reservation, the call log with every turn and its timings. Also: barge-in, backchannels,
//! DTMF, a Deepgram socket dropped mid-call, bad signatures and token-less streams.

mod common;
#[path = "common/phone_call.rs"]
mod phone_call;

#[path = "../../engine/store/tests/common/webhook.rs"]
#[allow(dead_code)]
mod webhook;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use chrono::{Datelike, Utc, Weekday};
use common::Server;
use vartalaap_audio::tts::EspeakTts;
use vartalaap_audio::{Lang, Pcm, Tts};
use vartalaap_providers::mock::deepgram::{
    DeepgramMode, MockDeepgram, MockDeepgramConfig, ScriptedUtterance,
};
use vartalaap_providers::mock::plivo::MockPlivoRest;
use vartalaap_telephony::simulator::{CallEnd, CallReport, ServerClose, SimConfig, Step, run_call};

use phone_call::{AUTH_TOKEN, BUSINESS_NUMBER, CALLER, espeak_available};

/// The caller's voice: espeak-ng, Hindi voice for romanized Hindi reads well enough for VAD
/// and the mock (which only needs speech energy).
fn speech(text: &str) -> Pcm {
    EspeakTts::default()
        .synthesize(text, Lang::English)
        .unwrap()
}

fn say(text: &str) -> Step {
    Step::Say {
        label: text.to_string(),
        pcm: speech(text),
    }
}

fn wait() -> Step {
    Step::WaitForBot {
        max: Duration::from_secs(40),
    }
}

/// "kal" when tomorrow (IST) is an open day, else "parson".
fn booking_day_word() -> (&'static str, chrono::NaiveDate) {
    let today = (Utc::now() + chrono::Duration::minutes(330)).date_naive();
    let tomorrow = today + chrono::Duration::days(1);
    let exceptions = ["2026-12-31", "2027-01-01", "2027-01-26"];
    if tomorrow.weekday() == Weekday::Mon || exceptions.contains(&tomorrow.to_string().as_str()) {
        ("parson", today + chrono::Duration::days(2))
    } else {
        ("kal", tomorrow)
    }
}

struct Rig {
    server: Server,
    deepgram: MockDeepgram,
    _plivo: MockPlivoRest,
    public: String,
    /// The server's environment, to restart it on the same files.
    env: Vec<(String, String)>,
}

fn scripted(lines: &[&str]) -> Vec<ScriptedUtterance> {
    lines
        .iter()
        .map(|t| ScriptedUtterance::new(*t, 300))
        .collect()
}

/// Every call to the server says `script` (the mock follows it per connection).
async fn rig(script: &[&str]) -> Rig {
    rig_with(script, &[]).await
}

/// [`rig`] with more environment variables for the server (they win over the defaults).
async fn rig_with(script: &[&str], extra: &[(&str, &str)]) -> Rig {
    rig_from(
        MockDeepgramConfig {
            script: scripted(script),
            ..MockDeepgramConfig::default()
        },
        extra,
    )
    .await
}

/// Calls in order say their own lines: the first call `callers[0]`, the second `callers[1]`…
async fn rig_for_callers(callers: &[&[&str]]) -> Rig {
    rig_from(
        MockDeepgramConfig {
            connection_scripts: callers.iter().map(|lines| scripted(lines)).collect(),
            ..MockDeepgramConfig::default()
        },
        &[],
    )
    .await
}

async fn rig_from(deepgram: MockDeepgramConfig, extra: &[(&str, &str)]) -> Rig {
    let phone = phone_call::start(deepgram, extra).await;
    Rig {
        server: phone.server,
        deepgram: phone.deepgram,
        _plivo: phone.plivo,
        public: phone.public,
        env: phone.env,
    }
}

impl Rig {
    async fn call(&self, script: Vec<Step>) -> CallReport {
        let mut cfg = SimConfig::new(
            &format!("{}/plivo/answer", self.public),
            AUTH_TOKEN,
            CALLER,
            BUSINESS_NUMBER,
        );
        cfg.max_call = Duration::from_secs(180);
        // A reply's sentences are synthesized one ahead of playback; on a loaded machine a
        // fresh sentence can take longer than the one playing, and a gap of more than the
        // default 800 ms would end `wait()` mid-reply (the caller then talks over the rest).
        cfg.bot_quiet = Duration::from_millis(1500);
        run_call(&cfg, script).await.unwrap()
    }

    fn api(&self, path: &str) -> serde_json::Value {
        tokio::task::block_in_place(|| {
            let token = self.server.login();
            let r = self.server.request("GET", path, Some(&token), None);
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            r.json
        })
    }

    /// The one call log, once the session has recorded its end.
    async fn finished_call(&self) -> serde_json::Value {
        for _ in 0..100 {
            let calls = self.api("/api/calls");
            if let Some(call) = calls["items"].as_array().and_then(|a| a.first())
                && call["ended_at"].is_string()
            {
                let id = call["id"].as_u64().unwrap();
                return self.api(&format!("/api/calls/{id}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no finished call log; server log:\n{}", self.server.logs());
    }

    /// The one review of the Himalayan Kitchen, once the review job has stored it.
    async fn the_review(&self) -> serde_json::Value {
        let mut reviews = serde_json::Value::Null;
        for _ in 0..300 {
            reviews = self.api("/api/reviews?business_id=himalayan_kitchen");
            if !reviews["items"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let items = reviews["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{reviews:#}\n{}", self.server.logs());
        items[0].clone()
    }
}

fn turns(call: &serde_json::Value) -> Vec<serde_json::Value> {
    call["turns"].as_array().cloned().unwrap_or_default()
}

/// A booking by phone, confirmed on the keypad; the caller then says yes to the WhatsApp
/// question (asked after the booking), and the confirmation reaches the relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hinglish_booking_call_with_a_keypad_confirmation_lands_in_storage() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (day, date) = booking_day_word();
    let request = format!("{day} raat 8 baje 4 log ke liye table chahiye");
    let hook = webhook::Webhook::start(Vec::new()).await;
    let rig = rig_with(
        &[&request, "Amit ke naam se", "haan bhej do"],
        &[
            ("WHATSAPP_WEBHOOK_URL", hook.url.as_str()),
            ("WHATSAPP_WEBHOOK_TOKEN", "relay-token-for-the-voice-test"),
        ],
    )
    .await;
    let report = rig
        .call(vec![
            wait(),
            say(&request),
            wait(),
            say("Amit ke naam se"),
            wait(),
            Step::Dtmf('1'),
            wait(),
            say("haan bhej do"),
            wait(),
            Step::Hangup,
        ])
        .await;
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    assert!(report.play_audio_received > 100, "the bot spoke");
    assert!(!report.played.is_empty(), "checkpoints were acked");
    for turn in &report.turns {
        assert!(turn.first_bot_audio.is_some(), "no answer to {turn:?}");
        assert!(
            turn.first_audible_bot_audio.is_some(),
            "never audible: {turn:?}"
        );
    }
    // No dead air: the first frame the server sends in the call is already audible (the
    // synthesizer's leading near-silence was trimmed).
    let greeting = &report.turns[0];
    assert_eq!(
        greeting.first_audible_bot_audio, greeting.first_bot_audio,
        "the greeting's first frame was near-silence: {greeting:?}"
    );

    let reservations = rig.api("/api/reservations");
    let items = reservations["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{reservations:#}\n{}", rig.server.logs());
    let r = &items[0];
    assert_eq!(r["party_size"], 4);
    assert_eq!(r["reservation_date"], date.to_string());
    assert_eq!(r["reservation_time"], "20:00");
    // Greeted in Hindi, the caller spoke Hinglish: the booking (and its WhatsApp follow-up)
    // keeps the caller's language, not the greeting's.
    assert_eq!(r["language"], "hinglish", "{r:#}");
    assert_eq!(r["customer_name"], "Amit");

    let call = rig.finished_call().await;
    assert_eq!(call["call"]["outcome"], "reservation_made", "{call:#}");
    assert_eq!(call["call"]["reservation_id"], r["id"]);
    assert!(call["call"]["duration_seconds"].as_u64().is_some());
    let turns = turns(&call);
    let text = |role: &str| -> Vec<String> {
        turns
            .iter()
            .filter(|t| t["role"] == role)
            .map(|t| t["text"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(text("system")[0].contains("configuration version"));
    assert_eq!(
        text("caller"),
        [
            request.as_str(),
            "Amit ke naam se",
            "[keypad 1]",
            "haan bhej do"
        ]
    );
    // Greeting + one reply per caller turn, each with its timings.
    let bots: Vec<&serde_json::Value> = turns.iter().filter(|t| t["role"] == "bot").collect();
    assert_eq!(bots.len(), 5, "{call:#}");
    for bot in &bots {
        let t = &bot["timings"];
        assert!(t["total_ms"].is_u64(), "{bot:#}");
        assert!(t["tts_first_audio_ms"].is_u64(), "{bot:#}");
        assert!(t["engine_ms"].is_u64(), "{bot:#}");
        assert!(t["first_frame_ms"].is_u64(), "{bot:#}");
        assert!(bot["handled_by"]["flow"].is_string(), "{bot:#}");
    }
    // Each reply says what handled it: the greeting, the booking's questions, and the
    // WhatsApp answer that ends the flow (its `anything_else`).
    assert_eq!(bots[0]["handled_by"]["flow"], "greeting", "{call:#}");
    assert_eq!(
        bots[1]["handled_by"],
        serde_json::json!({ "intent": "book_table", "flow": "make_reservation", "step": "ask_name" }),
        "{call:#}"
    );
    assert_eq!(bots[3]["handled_by"]["step"], "ask_whatsapp", "{call:#}");
    assert_eq!(bots[4]["handled_by"]["step"], "done", "{call:#}");
    for turn in turns.iter().filter(|t| t["role"] != "bot") {
        assert!(turn["handled_by"].is_null(), "{turn:#}");
    }
    // The caller was told the details would come on WhatsApp: one job, delivered once.
    let jobs = rig.api("/api/jobs?kind=whatsapp_followup");
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1, "{jobs:#}");
    for _ in 0..300 {
        if !hook.delivered().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = hook.attempts();
    assert_eq!(sent.len(), 1, "{sent:?}\n{}", rig.server.logs());
    assert_eq!(sent[0].body["to"], "+919876543210");
    assert_eq!(sent[0].body["language"], "hinglish");
    assert_eq!(sent[0].body["parameters"]["party_size"], 4);
    for caller in turns.iter().filter(|t| t["role"] == "caller") {
        assert!(caller["timings"]["stt_ms"].is_u64(), "{caller:#}");
        assert!(caller["language"].is_string(), "{caller:#}");
        let spoken = caller["text"] != "[keypad 1]";
        assert_eq!(
            caller["stt_confidence"].is_f64(),
            spoken,
            "spoken turns carry the recogniser's confidence, key presses none: {caller:#}"
        );
    }
    // Neither the caller's number nor the Plivo auth token reached the log.
    let logs = rig.server.logs();
    assert!(!logs.contains("9876543210") && !logs.contains("98765 43210"));
    assert!(!logs.contains(AUTH_TOKEN));
    // The per-stage histograms were fed.
    let metrics = tokio::task::block_in_place(|| rig.server.request("GET", "/metrics", None, None));
    assert!(metrics.text.contains("stage=\"total\""), "{}", metrics.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaking_over_the_bot_cuts_it_off_but_a_backchannel_does_not() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (day, _) = booking_day_word();
    let request = format!("{day} raat 8 baje 4 log ke liye table chahiye");
    // The first call only says "haan"; the second says the request.
    let rig = rig_for_callers(&[&["haan"], &[&request]]).await;
    let start = Step::WaitForBotStart {
        max: Duration::from_secs(20),
    };
    let report = rig
        .call(vec![
            start,
            Step::Silence(Duration::from_millis(200)),
            say("haan"),
            wait(),
            Step::Hangup,
        ])
        .await;
    assert_eq!(report.clears, 0, "a backchannel must not cut the bot off");
    let first = rig.finished_call().await;
    let first_id = first["call"]["id"].as_u64().unwrap();
    let first_turns = turns(&first);
    assert!(
        first_turns.iter().all(|t| t["role"] != "caller"),
        "the backchannel never reached the engine: {first:#}"
    );
    let full_greeting = first_turns.iter().find(|t| t["role"] == "bot").unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(full_greeting.starts_with("नमस्ते"), "{full_greeting}");

    // Second call on the same server: real words over the greeting.
    let report = rig
        .call(vec![
            Step::WaitForBotStart {
                max: Duration::from_secs(20),
            },
            Step::Silence(Duration::from_millis(200)),
            say(&request),
            wait(),
            Step::Hangup,
        ])
        .await;
    assert!(report.clears >= 1, "barge-in sends clearAudio");
    assert!(report.turns.iter().any(|t| t.cleared));
    // The bot then answered the request (asked for the name).
    let answered = report.turns.iter().find(|t| t.label == request).unwrap();
    assert!(answered.first_bot_audio.is_some());
    for _ in 0..100 {
        let calls = rig.api("/api/calls");
        let second = calls["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].as_u64() != Some(first_id) && c["ended_at"].is_string())
            .cloned();
        if let Some(second) = second {
            let call = rig.api(&format!("/api/calls/{}", second["id"]));
            let turns = turns(&call);
            let heard = turns.iter().find(|t| t["role"] == "bot").unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                heard.len() < full_greeting.len(),
                "only the heard part is remembered: {heard:?}"
            );
            let callers: Vec<&serde_json::Value> =
                turns.iter().filter(|t| t["role"] == "caller").collect();
            assert_eq!(callers.len(), 1, "{call:#}");
            assert_eq!(callers[0]["text"], request.as_str());
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the second call never finished:\n{}", rig.server.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deepgram_socket_dropped_mid_call_loses_no_words() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (day, _) = booking_day_word();
    let request = format!("{day} raat 8 baje 4 log ke liye table chahiye");
    let rig = rig(&[&request, "Amit ke naam se"]).await;
    // 8000 µ-law bytes a second: drop about 1 s into the first caller sentence's wait.
    rig.deepgram
        .set_mode(DeepgramMode::DropAfterBytes(8000 * 2));
    let report = rig
        .call(vec![
            wait(),
            say(&request),
            wait(),
            say("Amit ke naam se"),
            wait(),
            Step::Hangup,
        ])
        .await;
    assert!(
        rig.deepgram.connections().len() >= 2,
        "the client reconnected"
    );
    let call = rig.finished_call().await;
    let callers: Vec<String> = turns(&call)
        .iter()
        .filter(|t| t["role"] == "caller")
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(callers, [request.as_str(), "Amit ke naam se"], "{call:#}");
    assert!(report.turns.iter().all(|t| t.first_bot_audio.is_some()));
}

/// When the call ends, the stream socket is closed with 1000 and a reason naming the outcome
/// (callers used to see 1005, no status): after the bot's own goodbye (the goodbye flow's
/// `end_call`), and after Plivo's `stop` event (the caller hung up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_closes_with_1000_and_the_reason_when_the_call_ends() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let rig = rig_for_callers(&[&["theek hai bye"]]).await;
    let report = rig
        .call(vec![
            wait(),
            say("theek hai bye"),
            wait(),
            // The bot hangs up during this; the script never gets to its own hang-up.
            Step::Silence(Duration::from_secs(60)),
            Step::Hangup,
        ])
        .await;
    assert_eq!(report.ended, CallEnd::ServerClosed, "{}", rig.server.logs());
    assert_eq!(
        report.server_close,
        Some(ServerClose {
            code: 1000,
            reason: "call ended: completed".into()
        }),
        "{}",
        rig.server.logs()
    );
    let call = rig.finished_call().await;
    assert_eq!(call["call"]["outcome"], "completed", "{call:#}");

    let report = rig.call(vec![wait(), Step::Stop]).await;
    assert_eq!(report.ended, CallEnd::ServerClosed, "{}", rig.server.logs());
    assert_eq!(
        report.server_close,
        Some(ServerClose {
            code: 1000,
            reason: "call ended: abandoned".into()
        }),
        "{}",
        rig.server.logs()
    );
}

/// Sends a raw WebSocket upgrade and returns the HTTP status.
fn upgrade_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_webhooks_and_token_less_streams_are_refused() {
    let rig = rig(&[]).await;
    let addr = rig.server.addr;
    let form = "CallUUID=abc&From=919876543210&To=911352710000";
    tokio::task::block_in_place(|| {
        let r = rig.server.raw_request(
            "POST",
            "/plivo/answer",
            None,
            Some(form.as_bytes()),
            "application/x-www-form-urlencoded",
        );
        assert_eq!(r.status, 403, "missing signature: {}", r.text);
        for path in [
            "/plivo/hangup",
            "/plivo/stream-status",
            "/plivo/transfer/himalayan_kitchen",
        ] {
            let r = rig.server.raw_request(
                "POST",
                path,
                None,
                Some(form.as_bytes()),
                "application/x-www-form-urlencoded",
            );
            assert_eq!(r.status, 403, "{path}: {}", r.text);
        }
        assert_eq!(upgrade_status(addr, "/plivo/stream"), 401);
        assert_eq!(
            upgrade_status(addr, "/plivo/stream?token=forged.token"),
            403
        );
    });
    // A wrong auth token signs a request Plivo never sent.
    let mut cfg = SimConfig::new(
        &format!("{}/plivo/answer", rig.public),
        "not-the-auth-token",
        CALLER,
        BUSINESS_NUMBER,
    );
    cfg.max_call = Duration::from_secs(5);
    let err = run_call(&cfg, vec![Step::Hangup]).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telephony_routes_answer_503_when_plivo_is_not_configured() {
    let server = tokio::task::block_in_place(|| Server::start_with(&[]));
    tokio::task::block_in_place(|| {
        let r = server.raw_request(
            "POST",
            "/plivo/answer",
            None,
            Some(b"CallUUID=x"),
            "application/x-www-form-urlencoded",
        );
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(r.text.contains("PLIVO_AUTH_ID"), "{}", r.text);
        assert_eq!(upgrade_status(server.addr, "/plivo/stream?token=x"), 503);
    });
}

/// POSTs a form to a Plivo webhook signed as Plivo signs it (V3); returns the HTTP status.
fn signed_post(rig: &Rig, path: &str, form: &[(&str, &str)]) -> u16 {
    use vartalaap_telephony::signature::{NONCE_V3_HEADER, SIGNATURE_V3_HEADER, sign_v3};
    let params: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Plivo signs every request with a fresh nonce; a repeated nonce is refused as a replay.
    static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nonce = format!(
        "{:020}",
        12_345_678_901_234_567_u64 + SENT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let nonce = nonce.as_str();
    let url = format!("{}{path}", rig.public);
    let signature = sign_v3(AUTH_TOKEN, "POST", &url, &params, nonce).unwrap();
    // Values here are plain words and digits: no form escaping needed.
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let addr = rig.server.addr;
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{SIGNATURE_V3_HEADER}: {signature}\r\n{NONCE_V3_HEADER}: {nonce}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_call_whose_stream_never_connects_is_logged_from_the_hangup_callback() {
    let rig = rig(&[]).await;
    let uuid = "e2e-never-streamed";
    let answer = [
        ("CallUUID", uuid),
        ("From", "919876543210"),
        ("To", BUSINESS_NUMBER),
        ("Direction", "inbound"),
        ("CallStatus", "in-progress"),
    ];
    tokio::task::block_in_place(|| {
        assert_eq!(signed_post(&rig, "/plivo/answer", &answer), 200);
        let hangup = [
            ("CallUUID", uuid),
            ("Duration", "7"),
            ("BillDuration", "60"),
            ("HangupCause", "NORMAL_CLEARING"),
            ("HangupSource", "Caller"),
        ];
        assert_eq!(signed_post(&rig, "/plivo/hangup", &hangup), 200);
        // Plivo retries callbacks; a repeat must not log the call twice.
        assert_eq!(signed_post(&rig, "/plivo/hangup", &hangup), 200);
    });
    let call = rig.finished_call().await;
    assert_eq!(call["call"]["external_call_id"], uuid, "{call:#}");
    assert_eq!(call["call"]["duration_seconds"], 7, "{call:#}");
    assert_eq!(call["call"]["outcome"], "abandoned", "{call:#}");
    assert!(call["call"]["caller_phone_hash"].is_string(), "{call:#}");
    let calls = rig.api("/api/calls");
    assert_eq!(calls["items"].as_array().unwrap().len(), 1, "{calls:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_local_voice_edge_tts_speaks_for_the_bot() {
    use vartalaap_providers::mock::edge::{MockEdgeConfig, MockEdgeTts};
    let mp3 = std::fs::read(
        common::repo_root().join("engine/providers/tests/fixtures/edge/namaste_24k_48kbps.mp3"),
    )
    .unwrap();
    let edge = MockEdgeTts::start(MockEdgeConfig::new(mp3)).await.unwrap();
    // No espeak-ng on the server's PATH: neither espeak-ng nor Piper (which phonemizes with
    // it) can speak, so every sentence goes to Edge.
    let rig = rig_with(
        &[],
        &[
            ("PATH", "/nonexistent-bin"),
            ("EDGE_TTS_ENABLED", "true"),
            ("EDGE_TTS_BASE_URL", edge.base_url.as_str()),
        ],
    )
    .await;
    let report = rig.call(vec![wait(), Step::Hangup]).await;
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    // Two greeting sentences of the 2.3 s fixture: well over 100 frames of Edge audio.
    assert!(
        report.play_audio_received > 150,
        "{} frames\n{}",
        report.play_audio_received,
        rig.server.logs()
    );
    let asked = edge.requests().iter().any(|r| {
        r.messages
            .iter()
            .any(|m| m.contains("नमस्ते") && m.contains("hi-IN, SwaraNeural"))
    });
    assert!(asked, "{:?}", edge.requests());
    let call = rig.finished_call().await;
    let greeting = turns(&call)
        .into_iter()
        .find(|t| t["role"] == "bot")
        .unwrap();
    assert!(
        greeting["text"].as_str().unwrap().starts_with("नमस्ते"),
        "{call:#}"
    );
}

/// The server process's id (its working directory is the rig's folder).
fn server_pid(rig: &Rig) -> u32 {
    let dir = rig.server.dir.path().canonicalize().unwrap();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cwd = std::fs::read_link(entry.path().join("cwd")).ok();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cwd.as_deref() == Some(dir.as_path())
            && String::from_utf8_lossy(&cmdline).contains("vartalaap")
        {
            return pid;
        }
    }
    panic!("the server process was not found");
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_call_says_goodbye_writes_the_call_log_and_then_stops() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let rig = rig(&[]).await;
    let mut cfg = SimConfig::new(
        &format!("{}/plivo/answer", rig.public),
        AUTH_TOKEN,
        CALLER,
        BUSINESS_NUMBER,
    );
    cfg.max_call = Duration::from_secs(120);
    let call = tokio::spawn(async move {
        run_call(
            &cfg,
            vec![wait(), Step::Silence(Duration::from_secs(60)), Step::Hangup],
        )
        .await
    });
    // Once the greeting has been heard (its bot turn is logged), the server is told to stop.
    let mut greeted = false;
    for _ in 0..300 {
        let calls = rig.api("/api/calls");
        if let Some(id) = calls["items"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|c| c["id"].as_u64())
        {
            let detail = rig.api(&format!("/api/calls/{id}"));
            if turns(&detail).iter().any(|t| t["role"] == "bot") {
                greeted = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(greeted, "{}", rig.server.logs());
    let pid = server_pid(&rig);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let report = call.await.unwrap().unwrap();
    assert!(
        report.duration < Duration::from_secs(50),
        "the server ended the call, not the script"
    );
    // The server stops by itself once the call has said goodbye.
    for _ in 0..300 {
        if !alive(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!alive(pid), "the server did not stop");
    for _ in 0..50 {
        if rig.server.logs().contains("Vartalaap stopped.") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = rig.server.logs();
    assert!(logs.contains("Vartalaap stopped."), "{logs}");
    assert!(!logs.contains("were cut off"), "{logs}");
    // On the next start, the call log shows the goodbye and the end.
    let Rig {
        server,
        deepgram,
        _plivo,
        public,
        env,
    } = rig;
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = tokio::task::block_in_place(|| server.restart(&env_ref));
    let rig = Rig {
        server,
        deepgram,
        _plivo,
        public,
        env,
    };
    let call = rig.finished_call().await;
    let bots: Vec<String> = turns(&call)
        .iter()
        .filter(|t| t["role"] == "bot")
        .map(|t| t["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        bots.last().is_some_and(|l| l.contains("समाप्त")),
        "the goodbye was the last thing said: {bots:?}"
    );
    assert!(call["call"]["ended_at"].is_string(), "{call:#}");
}

/// The review loop through the real binary: a call that goes badly (a dish not on the menu,
/// the party size corrected twice at the read-back, the caller hanging up before confirming)
/// is reviewed by the `analyze_transcript_quality` job queued with the call's end; the review
/// names the menu in the business file, and the API's filters, stats, idempotent re-analysis
/// and suggestion decisions work on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_goes_badly_is_reviewed_with_a_suggestion_naming_the_menu() {
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    let (day, _) = booking_day_word();
    let request = format!("{day} raat 8 baje 4 log ke liye table chahiye");
    let lines = [
        "pizza milta hai kya",
        request.as_str(),
        "Amit ke naam se",
        "nahi, 5 log",
        "nahi, 6 log",
    ];
    let rig = rig(&lines).await;
    let mut steps = vec![wait()];
    for line in lines {
        steps.push(say(line));
        steps.push(wait());
    }
    steps.push(Step::Hangup);
    let report = rig.call(steps).await;
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    let call = rig.finished_call().await;
    let call_id = call["call"]["id"].as_u64().unwrap();
    let bots: Vec<serde_json::Value> = turns(&call)
        .into_iter()
        .filter(|t| t["role"] == "bot")
        .collect();
    assert_eq!(
        bots[1]["handled_by"]["step"], "not_found",
        "the dish is not on the menu: {call:#}"
    );
    // The summary says how the call ended and what it was about.
    let summary = call["call"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("hung up") && summary.contains("make_reservation"),
        "{summary:?}"
    );

    // The review job ran after the call log was written.
    let review = &rig.the_review().await;
    assert_eq!(review["call_id"], call_id);
    assert_eq!(review["agent_model"], "offline");
    assert_eq!(review["reviewed_by"], "agent");
    assert_eq!(review["has_knowledge_gap"], true);
    assert_eq!(review["has_unanswered_query"], true);
    assert_eq!(review["has_ux_issue"], true);
    let issues = review["issues"].as_array().unwrap();
    let kinds: Vec<&str> = issues.iter().filter_map(|i| i["kind"].as_str()).collect();
    for expected in [
        "menu_item_missing",
        "repeated_correction",
        "hangup_mid_flow",
    ] {
        assert!(kinds.contains(&expected), "{expected} missing: {review:#}");
    }
    let gap = issues
        .iter()
        .find(|i| i["kind"] == "menu_item_missing")
        .unwrap();
    assert_eq!(gap["category"], "knowledge_gap");
    assert_eq!(gap["file"], "businesses/himalayan_kitchen.yaml");
    assert_eq!(gap["yaml_path"], "/menu");
    assert_eq!(gap["turn"], bots[1]["seq"]);
    let score = review["quality_score"].as_u64().unwrap();
    assert!(score <= 2, "{review:#}");

    // The review with its suggestions: the knowledge gap names the menu path.
    let review_id = review["id"].as_u64().unwrap();
    let full = rig.api(&format!("/api/reviews/{review_id}"));
    let suggestions = full["suggestions"].as_array().unwrap();
    let menu = suggestions
        .iter()
        .find(|s| s["category"] == "knowledge_gap")
        .unwrap_or_else(|| panic!("no knowledge_gap suggestion: {full:#}"));
    assert_eq!(menu["target"]["file"], "businesses/himalayan_kitchen.yaml");
    assert_eq!(menu["target"]["yaml_path"], "/menu");
    assert_eq!(menu["status"], "pending");
    assert!(
        menu["title"].as_str().unwrap().contains("Pizza"),
        "{menu:#}"
    );
    assert!(
        menu["proposed_text"]
            .as_str()
            .unwrap()
            .starts_with("- id: pizza"),
        "{menu:#}"
    );

    // Filters: category, score range, business, date range.
    let count = |path: &str| rig.api(path)["items"].as_array().unwrap().len();
    assert_eq!(count("/api/reviews?category=knowledge_gap"), 1);
    assert_eq!(count("/api/reviews?category=config_error"), 0);
    assert_eq!(count(&format!("/api/reviews?max_score={score}")), 1);
    assert_eq!(count(&format!("/api/reviews?min_score={}", score + 1)), 0);
    assert_eq!(count("/api/reviews?business_id=muskaan_dental"), 0);
    assert_eq!(count("/api/reviews?to=2020-01-01T00:00:00Z"), 0);
    assert_eq!(count("/api/reviews?limit=1&from=2020-01-01T00:00:00Z"), 1);
    let stats = rig.api("/api/reviews/stats?business_id=himalayan_kitchen");
    assert_eq!(stats["reviews"], 1, "{stats:#}");
    assert_eq!(stats["days"][0]["reviews"], 1, "{stats:#}");
    let gaps = stats["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "knowledge_gap")
        .unwrap();
    assert_eq!(gaps["reviews"], 1, "{stats:#}");

    // Asking again (either field name) is idempotent: the same job, and the review exists.
    let (token, analyzed, again) = tokio::task::block_in_place(|| {
        let token = rig.server.login();
        let body = format!(r#"{{"call_id": {call_id}}}"#);
        let a = rig.server.request(
            "POST",
            "/api/reviews/analyze",
            Some(&token),
            Some(body.as_str()),
        );
        let body = format!(r#"{{"call_log_id": {call_id}}}"#);
        let b = rig.server.request(
            "POST",
            "/api/reviews/analyze",
            Some(&token),
            Some(body.as_str()),
        );
        (token, a, b)
    });
    assert_eq!(analyzed.status, 202, "{}", analyzed.text);
    assert_eq!(analyzed.json["review_id"], review_id);
    assert_eq!(analyzed.json["job"]["id"], again.json["job"]["id"]);
    assert_eq!(
        analyzed.json["job"]["kind"], "analyze_transcript_quality",
        "{}",
        analyzed.text
    );
    assert_eq!(count("/api/jobs?kind=analyze_transcript_quality"), 1);
    assert_eq!(count("/api/reviews"), 1, "still one review");

    // The owner marks the suggestion implemented.
    let id = menu["id"].as_u64().unwrap();
    let patched = tokio::task::block_in_place(|| {
        rig.server.request(
            "PATCH",
            &format!("/api/reviews/suggestions/{id}"),
            Some(&token),
            Some(r#"{"status": "implemented"}"#),
        )
    });
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["status"], "implemented");
    assert_eq!(
        count(
            "/api/reviews/suggestions?business_id=himalayan_kitchen&status=implemented&category=knowledge_gap"
        ),
        1
    );
    assert_eq!(
        count(
            "/api/reviews/suggestions?business_id=himalayan_kitchen&status=pending&category=knowledge_gap"
        ),
        0
    );
}

/// The review loop with Groq configured: a call that asks for a dish not on the menu is
/// reviewed by the job through the (mock) model — its three stages answered from the replay
/// fixture `tests/fixtures/llm/review/e2e_menu_call.json` — and the stored review names the
/// model and holds the model's issue and suggestion; the call's summary becomes the model's
/// guarded sentence. Nothing sent to Groq carries the caller's number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_groq_a_call_is_reviewed_by_the_model_and_summarised_in_one_sentence() {
    use vartalaap_llm::review::ReviewFixture;
    use vartalaap_providers::mock::groq::{GroqReply, MockGroq, MockGroqConfig};

    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed");
        return;
    }
    const GROQ_KEY: &str = "gsk_review_e2e";
    const MODEL: &str = "review-model-from-settings";
    let fx = ReviewFixture::load(
        common::repo_root().join("tests/fixtures/llm/review/e2e_menu_call.json"),
    )
    .unwrap();
    let groq = MockGroq::start(MockGroqConfig {
        api_key: GROQ_KEY.into(),
        replies: fx
            .exchanges
            .iter()
            .map(|e| GroqReply::Sse(e.sse()))
            .collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    let rig = rig_with(
        &["pizza milta hai kya"],
        &[
            ("LLM_PROVIDER", "groq"),
            ("GROQ_API_KEY", GROQ_KEY),
            ("GROQ_MODEL", MODEL),
            ("GROQ_BASE_URL", groq.base_url.as_str()),
            // Phrasing off: the call itself sends nothing (its words are understood offline),
            // so every request the mock sees is the review's.
            ("LLM_PHRASE_TEMPLATES", "none"),
        ],
    )
    .await;
    let report = rig
        .call(vec![
            wait(),
            say("pizza milta hai kya"),
            wait(),
            Step::Hangup,
        ])
        .await;
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    let call = rig.finished_call().await;
    let call_id = call["call"]["id"].as_u64().unwrap();

    let review = &rig.the_review().await;
    assert_eq!(review["call_id"], call_id);
    assert_eq!(review["agent_model"], MODEL, "{review:#}");
    assert_eq!(review["quality_score"], 3, "the model's score");
    let issues = review["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{review:#}");
    assert_eq!(issues[0]["category"], "knowledge_gap");
    assert!(
        issues[0]["description"]
            .as_str()
            .unwrap()
            .contains("offered nothing else"),
        "the model's words: {review:#}"
    );
    let full = rig.api(&format!("/api/reviews/{}", review["id"]));
    let suggestions = full["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 1, "{full:#}");
    assert_eq!(
        suggestions[0]["title"],
        "Tell pizza callers what you serve instead"
    );
    assert_eq!(suggestions[0]["target"]["yaml_path"], "/faqs");
    assert_eq!(suggestions[0]["status"], "pending");

    // The summary sentence replaced the templated one.
    let mut summary = String::new();
    for _ in 0..100 {
        let call = rig.api(&format!("/api/calls/{call_id}"));
        summary = call["call"]["summary"].as_str().unwrap_or_default().into();
        if summary.starts_with("The caller asked whether pizza") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        summary,
        "The caller asked whether pizza is on the menu and hung up when told it is not."
    );

    // Three stages and the summary: four requests, each from the settings' model, with the
    // call's transcript and never the caller's number.
    let requests = groq.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    for r in &requests {
        assert!(r.authorized);
        assert_eq!(r.body["model"], MODEL);
        let body = r.body.to_string();
        assert!(!body.contains("98765"), "{body}");
        assert!(body.contains("pizza milta hai kya"), "{body}");
    }
    let logs = rig.server.logs();
    assert!(logs.contains("Call reviewed with the LLM."), "{logs}");
    assert!(!logs.contains(GROQ_KEY));
}

/// What the caller heard and a TTS fallback reach the call log and the review: no local voice
/// works on the server (no espeak-ng on its PATH), so Edge TTS (a mock) says every sentence;
/// the caller talks over the long greeting, cutting it short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barge_in_and_a_tts_fallback_are_logged_and_reviewed() {
    use vartalaap_providers::mock::edge::{MockEdgeConfig, MockEdgeTts};
    if !espeak_available() {
        eprintln!("skipped: espeak-ng is not installed (the caller's voice)");
        return;
    }
    let mp3 = std::fs::read(
        common::repo_root().join("engine/providers/tests/fixtures/edge/namaste_24k_48kbps.mp3"),
    )
    .unwrap();
    let edge = MockEdgeTts::start(MockEdgeConfig::new(mp3)).await.unwrap();
    let (day, _) = booking_day_word();
    let request = format!("{day} raat 8 baje 4 log ke liye table chahiye");
    let rig = rig_from(
        MockDeepgramConfig {
            script: scripted(&[request.as_str()]),
            ..MockDeepgramConfig::default()
        },
        &[
            ("PATH", "/nonexistent-bin"),
            ("EDGE_TTS_ENABLED", "true"),
            ("EDGE_TTS_BASE_URL", edge.base_url.as_str()),
        ],
    )
    .await;
    let report = rig
        .call(vec![
            Step::WaitForBotStart {
                max: Duration::from_secs(20),
            },
            Step::Silence(Duration::from_millis(200)),
            say(&request),
            wait(),
            Step::Hangup,
        ])
        .await;
    assert!(report.clears >= 1, "barge-in sends clearAudio");
    let call = rig.finished_call().await;
    let call_id = call["call"]["id"].as_u64().unwrap();
    let bots: Vec<serde_json::Value> = turns(&call)
        .into_iter()
        .filter(|t| t["role"] == "bot")
        .collect();
    let greeting = &bots[0];
    assert_eq!(greeting["interrupted"], true, "{call:#}");
    // The reply as far as it had been synthesized when the caller cut in.
    let intended = greeting["intended_text"].as_str().unwrap();
    assert!(intended.starts_with("नमस्ते"), "{greeting:#}");
    let heard = greeting["text"].as_str().unwrap();
    assert!(heard.len() < intended.len(), "{greeting:#}");
    assert!(greeting["played_ms"].is_u64(), "{greeting:#}");
    let fallbacks = greeting["tts_fallbacks"].as_array().unwrap();
    assert!(!fallbacks.is_empty(), "{greeting:#}");
    assert!(
        fallbacks[0]["used"]
            .as_str()
            .unwrap()
            .starts_with("edge:hi-IN-SwaraNeural"),
        "{greeting:#}"
    );
    assert!(fallbacks[0]["failed_voice"].is_string(), "{greeting:#}");
    // Replies the caller heard to the end are not marked.
    for bot in bots.iter().skip(1).filter(|b| b["intended_text"].is_null()) {
        assert_eq!(bot["interrupted"], false, "{bot:#}");
    }

    // The review names the fallback at the greeting and the business's voices.
    let mut reviews = serde_json::Value::Null;
    for _ in 0..300 {
        reviews = rig.api("/api/reviews?business_id=himalayan_kitchen");
        if !reviews["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let items = reviews["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{reviews:#}\n{}", rig.server.logs());
    let review = &items[0];
    assert_eq!(review["call_id"], call_id);
    assert_eq!(review["has_tts_issue"], true, "{review:#}");
    let issues = review["issues"].as_array().unwrap();
    let tts = issues
        .iter()
        .find(|i| i["kind"] == "tts_fallback" && i["turn"] == greeting["seq"])
        .unwrap_or_else(|| panic!("no tts_fallback at the greeting: {review:#}"));
    assert_eq!(tts["category"], "tts_issue");
    assert_eq!(tts["file"], "businesses/himalayan_kitchen.yaml");
    assert_eq!(tts["yaml_path"], "/voices/hi");
}
