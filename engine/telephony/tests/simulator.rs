//! The call simulator against a small fake bot server on 127.0.0.1: a raw HTTP answer URL that
//! checks Plivo's V3 signature and issues a stream token, and a WebSocket stream endpoint that
//! checks the upgrade signature and the token, then plays tones back like a bot would.

// tungstenite's handshake callback type is fixed; its error is an HTTP response.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use vartalaap_audio::{Pcm, mulaw};
use vartalaap_telephony::form::parse_form;
use vartalaap_telephony::signature::{NONCE_V3_HEADER, SIGNATURE_V3_HEADER};
use vartalaap_telephony::simulator::{
    CallEnd, SimConfig, SimError, StatusScheme, Step, UpgradeSigning, run_call,
};
use vartalaap_telephony::stream::{Command, StreamEvent};
use vartalaap_telephony::token::{DEFAULT_TOKEN_TTL, StreamTokenKey, stream_url};
use vartalaap_telephony::xml::{AfterStream, StreamOptions, answer_xml};
use vartalaap_telephony::{verify_v3, verify_v3_upgrade};

const TOKEN: &str = "TESTAUTHTOKEN0123456789";
const SECRET: &[u8] = b"stream-token-secret-for-tests-only";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Greets, replies to each utterance and to DTMF.
    Echo,
    /// Greets with 3 s of audio and clears it when the caller starts talking.
    BargeIn,
    /// Greets, then closes the socket; the document redirects to a transfer (`<Dial>`).
    Transfer,
}

#[derive(Default)]
struct Seen {
    /// Events the fake bot received, summarized.
    events: Vec<String>,
    upgrades_verified: u32,
    /// Signed webhooks received besides the answer: `path Event [HangupCauseCode]`.
    webhooks: Vec<String>,
}

fn tone(frames: usize) -> Vec<u8> {
    let samples: Vec<i16> = (0..frames * 160)
        .map(|i| ((i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 8000.0).sin() * 6000.0) as i16)
        .collect();
    mulaw::encode(&samples)
}

fn caller_speech(ms: usize) -> Pcm {
    // 16 kHz so the simulator's resampling path runs.
    let n = ms * 16;
    Pcm {
        sample_rate: 16_000,
        samples: (0..n)
            .map(|i| {
                ((i as f32 * 2.0 * std::f32::consts::PI * 300.0 / 16_000.0).sin() * 9000.0) as i16
            })
            .collect(),
    }
}

fn is_speech(payload: &[u8]) -> bool {
    let pcm = mulaw::decode(payload);
    let energy: i64 = pcm.iter().map(|s| (*s as i64).abs()).sum();
    energy / pcm.len().max(1) as i64 > 500
}

async fn play(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    sid: &str,
    frames: usize,
    name: &str,
) {
    for chunk in tone(frames).chunks(160) {
        let cmd = Command::PlayAudio {
            mulaw: chunk.to_vec(),
            stream_id: Some(sid.into()),
        };
        ws.send(Message::text(cmd.to_json())).await.unwrap();
    }
    let cp = Command::Checkpoint {
        stream_id: sid.into(),
        name: name.into(),
    };
    ws.send(Message::text(cp.to_json())).await.unwrap();
}

async fn answer_server(listener: TcpListener, ws_port: u16, mode: Mode, seen: Arc<Mutex<Seen>>) {
    let key = StreamTokenKey::new(SECRET).unwrap();
    loop {
        let (mut sock, _) = listener.accept().await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let key = key.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut tmp = [0u8; 4096];
            let head_end = loop {
                let n = sock.read(&mut tmp).await.unwrap();
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&tmp[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap().to_string();
            let path = request_line.split(' ').nth(1).unwrap().to_string();
            let header = |name: &str| {
                head.split("\r\n")
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    })
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_default()
            };
            let len: usize = header("content-length").parse().unwrap_or(0);
            while buf.len() < head_end + len {
                let n = sock.read(&mut tmp).await.unwrap();
                buf.extend_from_slice(&tmp[..n]);
            }
            let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
            let params = parse_form(&body);
            let url = format!("http://127.0.0.1:{port}{path}");
            let verified = verify_v3(
                TOKEN,
                "POST",
                &url,
                &params,
                &header(NONCE_V3_HEADER),
                &header(SIGNATURE_V3_HEADER),
            );
            let field = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let xml_response = |xml: String| {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{xml}",
                    xml.len()
                )
            };
            let ok_empty =
                "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string();
            let response = match (verified, path.as_str()) {
                (Err(_), _) => {
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_string()
                }
                (Ok(()), "/plivo/answer") => {
                    let call = field("CallUUID");
                    let token =
                        key.issue(&call, "himalayan-kitchen", Utc::now(), DEFAULT_TOKEN_TTL);
                    let ws = stream_url(
                        &format!("http://127.0.0.1:{ws_port}"),
                        "/plivo/stream",
                        &token,
                    );
                    let opts = StreamOptions {
                        extra_headers: vec![("tenant".into(), "hk".into())],
                        status_callback_url: Some(format!(
                            "http://127.0.0.1:{port}/plivo/stream-status"
                        )),
                        after: if mode == Mode::Transfer {
                            AfterStream::Redirect(format!("http://127.0.0.1:{port}/plivo/after"))
                        } else {
                            AfterStream::Hangup
                        },
                        ..StreamOptions::default()
                    };
                    xml_response(answer_xml(&ws, &opts).unwrap())
                }
                (Ok(()), "/plivo/after") => {
                    seen.lock()
                        .unwrap()
                        .webhooks
                        .push(format!("{path} {}", field("Event")));
                    xml_response(
                        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="918071234567"><Number>919876543210</Number></Dial></Response>"#.to_string(),
                    )
                }
                (Ok(()), _) => {
                    let code = field("HangupCauseCode");
                    let line = format!("{path} {} {code}", field("Event"));
                    seen.lock()
                        .unwrap()
                        .webhooks
                        .push(line.trim_end().to_string());
                    ok_empty
                }
            };
            sock.write_all(response.as_bytes()).await.unwrap();
            sock.shutdown().await.ok();
        });
    }
}

async fn stream_server(listener: TcpListener, mode: Mode, seen: Arc<Mutex<Seen>>) {
    let port = listener.local_addr().unwrap().port();
    let key = StreamTokenKey::new(SECRET).unwrap();
    loop {
        let (sock, _) = listener.accept().await.unwrap();
        let seen = seen.clone();
        let key = key.clone();
        tokio::spawn(async move {
            let claims = Arc::new(Mutex::new(None));
            let claims_cb = claims.clone();
            let seen_cb = seen.clone();
            let callback = move |req: &Request,
                                 resp: Response|
                  -> Result<Response, ErrorResponse> {
                let h = |n: &str| {
                    req.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let url = format!("ws://127.0.0.1:{port}{}", req.uri());
                let token = req
                    .uri()
                    .query()
                    .and_then(|q| q.strip_prefix("token="))
                    .unwrap_or_default();
                let ok =
                    verify_v3_upgrade(TOKEN, &url, &h(NONCE_V3_HEADER), &h(SIGNATURE_V3_HEADER))
                        .is_ok();
                match (ok, key.verify(token, Utc::now())) {
                    (true, Ok(c)) => {
                        *claims_cb.lock().unwrap() = Some(c);
                        seen_cb.lock().unwrap().upgrades_verified += 1;
                        Ok(resp)
                    }
                    _ => {
                        let mut r = ErrorResponse::new(None);
                        *r.status_mut() = StatusCode::FORBIDDEN;
                        Err(r)
                    }
                }
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(sock, callback).await else {
                return;
            };
            let claims = claims.lock().unwrap().clone().unwrap();
            let mut sid = String::new();
            let mut speech_frames = 0;
            let mut silent_after = 0;
            let mut replies = 0;
            let mode = mode;
            let mut cleared = false;
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let event = StreamEvent::parse(text.as_str()).unwrap();
                match event {
                    StreamEvent::Start(s) => {
                        assert_eq!(
                            s.call_id, claims.call_uuid,
                            "start.callId must match the token"
                        );
                        assert_eq!(
                            s.extra_headers,
                            vec![("tenant".to_string(), "hk".to_string())]
                        );
                        sid = s.stream_id.clone();
                        seen.lock().unwrap().events.push("start".into());
                        let frames = if mode == Mode::BargeIn { 150 } else { 25 };
                        play(&mut ws, &sid, frames, "greet").await;
                    }
                    StreamEvent::Media(m) => {
                        if is_speech(&m.payload) {
                            speech_frames += 1;
                            silent_after = 0;
                            if mode == Mode::BargeIn && !cleared && speech_frames >= 3 {
                                cleared = true;
                                let c = Command::ClearAudio {
                                    stream_id: sid.clone(),
                                };
                                ws.send(Message::text(c.to_json())).await.unwrap();
                            }
                        } else if speech_frames > 0 {
                            silent_after += 1;
                            if silent_after == 10 && mode == Mode::Echo {
                                replies += 1;
                                speech_frames = 0;
                                play(&mut ws, &sid, 25, &format!("reply-{replies}")).await;
                            }
                        }
                    }
                    StreamEvent::Dtmf { digit } => {
                        seen.lock().unwrap().events.push(format!("dtmf {digit}"));
                        play(&mut ws, &sid, 10, &format!("dtmf-{digit}")).await;
                    }
                    StreamEvent::PlayedStream { name } => {
                        seen.lock().unwrap().events.push(format!("played {name}"));
                        if mode == Mode::Transfer {
                            ws.close(None).await.ok();
                        }
                    }
                    StreamEvent::ClearedAudio => seen.lock().unwrap().events.push("cleared".into()),
                    other => seen.lock().unwrap().events.push(format!("{other:?}")),
                }
            }
        });
    }
}

async fn start(mode: Mode) -> (String, Arc<Mutex<Seen>>) {
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_port = http.local_addr().unwrap().port();
    let ws_port = ws.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    tokio::spawn(answer_server(http, ws_port, mode, seen.clone()));
    tokio::spawn(stream_server(ws, mode, seen.clone()));
    (format!("http://127.0.0.1:{http_port}/plivo/answer"), seen)
}

fn audible_frames(pcm: &Pcm) -> usize {
    pcm.samples
        .chunks(160)
        .filter(|c| c.iter().any(|s| s.unsigned_abs() > 1000))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_call_with_speech_and_dtmf_gets_every_reply() {
    let (answer_url, seen) = start(Mode::Echo).await;
    let mut cfg = SimConfig::new(&answer_url, TOKEN, "+919812345678", "918071234567");
    cfg.hangup_url = Some(answer_url.replace("/plivo/answer", "/plivo/hangup"));
    let script = vec![
        Step::WaitForBot {
            max: Duration::from_secs(5),
        },
        Step::Say {
            label: "hello".into(),
            pcm: caller_speech(600),
        },
        Step::WaitForBot {
            max: Duration::from_secs(5),
        },
        Step::Dtmf('1'),
        Step::WaitForBot {
            max: Duration::from_secs(5),
        },
    ];
    let report = run_call(&cfg, script).await.unwrap();

    assert_eq!(report.ended, CallEnd::ScriptDone);
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    let labels: Vec<_> = report.turns.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["greeting", "hello", "dtmf 1"]);
    for t in &report.turns {
        assert!(t.first_bot_audio.is_some(), "no reply in turn {}", t.label);
        assert!(!t.cleared);
    }
    assert_eq!(report.turns[0].bot_audio, Duration::from_millis(500));
    assert_eq!(report.turns[1].bot_audio, Duration::from_millis(500));
    assert_eq!(report.turns[2].bot_audio, Duration::from_millis(200));
    assert_eq!(report.played, ["greet", "reply-1", "dtmf-1"]);
    assert_eq!(report.play_audio_received, 25 + 25 + 10);
    // Everything the bot sent was heard, in real time, on the recording's timeline.
    assert_eq!(audible_frames(&report.bot_audio), 60);
    assert_eq!(report.bot_audio.samples.len() % 160, 0);
    assert!(report.media_frames_sent as usize * 160 >= report.bot_audio.samples.len() - 160);

    let hangup = report.hangup.clone().unwrap();
    assert_eq!((hangup.source, hangup.code), ("Caller", 4000));
    let callbacks: Vec<_> = report
        .callbacks
        .iter()
        .map(|c| (c.event.as_str(), c.outcome.clone()))
        .collect();
    assert_eq!(
        callbacks,
        [
            ("StartStream", Ok(200)),
            ("StopStream", Ok(200)),
            ("Hangup", Ok(200))
        ]
    );
    assert!(report.duration >= Duration::from_secs(1));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.upgrades_verified, 1);
    assert_eq!(
        seen.webhooks,
        [
            "/plivo/stream-status StartStream",
            "/plivo/stream-status StopStream",
            "/plivo/hangup Hangup 4000"
        ]
    );
    let acks: Vec<_> = seen
        .events
        .iter()
        .filter(|e| e.starts_with("played") || e.starts_with("dtmf"))
        .cloned()
        .collect();
    assert_eq!(
        acks,
        ["played greet", "played reply-1", "dtmf 1", "played dtmf-1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_clears_the_queue_and_drops_its_checkpoint() {
    let (answer_url, seen) = start(Mode::BargeIn).await;
    let mut cfg = SimConfig::new(&answer_url, TOKEN, "919812345678", "918071234567");
    // The other URL form for the upgrade signature must be accepted too.
    cfg.upgrade_signing = UpgradeSigning::HttpsUrl;
    let script = vec![
        Step::WaitForBotStart {
            max: Duration::from_secs(5),
        },
        Step::Silence(Duration::from_millis(300)),
        Step::Say {
            label: "interrupt".into(),
            pcm: caller_speech(400),
        },
        Step::WaitForBot {
            max: Duration::from_secs(2),
        },
    ];
    let report = run_call(&cfg, script).await.unwrap();
    assert_eq!(report.clears, 1);
    assert!(report.turns[0].cleared);
    assert!(report.played.is_empty(), "{:?}", report.played);
    assert_eq!(report.play_audio_received, 150);
    // Only part of the 3 s greeting played before the clear.
    let heard = audible_frames(&report.bot_audio);
    assert!(heard > 0 && heard < 150, "{heard}");
    let seen = seen.lock().unwrap();
    assert!(seen.events.contains(&"cleared".to_string()));
    assert!(!seen.events.iter().any(|e| e.starts_with("played")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_closing_the_socket_runs_the_redirect_and_its_dial() {
    let (answer_url, seen) = start(Mode::Transfer).await;
    let mut cfg = SimConfig::new(&answer_url, TOKEN, "919812345678", "918071234567");
    cfg.hangup_url = Some(answer_url.replace("/plivo/answer", "/plivo/hangup"));
    cfg.status_scheme = StatusScheme::B;
    let script = vec![
        Step::WaitForBot {
            max: Duration::from_secs(10),
        },
        Step::Silence(Duration::from_secs(10)),
    ];
    let report = run_call(&cfg, script).await.unwrap();
    assert_eq!(report.ended, CallEnd::ServerClosed);
    assert_eq!(report.played, ["greet"]);
    assert_eq!(report.transferred_to.as_deref(), Some("919876543210"));
    assert!(
        report.protocol_errors.is_empty(),
        "{:?}",
        report.protocol_errors
    );
    let events: Vec<_> = report.callbacks.iter().map(|c| c.event.as_str()).collect();
    assert_eq!(events, ["started", "stopped", "Redirect", "Hangup"]);
    assert!(
        report.callbacks.iter().all(|c| c.outcome == Ok(200)),
        "{:?}",
        report.callbacks
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.webhooks,
        [
            "/plivo/stream-status started",
            "/plivo/stream-status stopped",
            "/plivo/after Redirect",
            "/plivo/hangup Hangup 4000"
        ]
    );
}

#[tokio::test]
async fn a_wrong_auth_token_is_refused_at_the_answer_url() {
    let (answer_url, seen) = start(Mode::Echo).await;
    let cfg = SimConfig::new(&answer_url, "WRONGTOKEN", "919812345678", "918071234567");
    let err = run_call(&cfg, vec![Step::Silence(Duration::from_millis(100))])
        .await
        .unwrap_err();
    assert!(
        matches!(err, SimError::AnswerStatus { status: 403 }),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().upgrades_verified, 0);
}

#[tokio::test]
async fn an_unreachable_answer_url_is_a_typed_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let cfg = SimConfig::new(&format!("http://127.0.0.1:{port}/a"), TOKEN, "1", "2");
    let err = run_call(&cfg, vec![]).await.unwrap_err();
    assert!(matches!(err, SimError::AnswerUnreachable(_)), "{err}");
}
