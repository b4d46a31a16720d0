//! "Talk to it" end to end through the real `vartalaap serve` process: the admin logs in, trades
//! the bearer token for a ticket, opens `/api/talk/socket` and speaks English (espeak-ng, sent as
//! 16 kHz PCM in real time, as a browser's microphone would); the phone call's pipeline answers —
//! real VAD, the offline Whisper recogniser, the engine, local TTS — with the transcript and the
//! bot's audio on the socket; the call log is there afterwards, marked as the admin's browser.
//! Also: no token, forged, tampered, reused and phone-call tickets are refused, and audio that
//! breaks the limits ends the call with the documented close codes.

mod common;

use std::time::{Duration, Instant};

use common::{Server, refused_upgrade};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use vartalaap_audio::tts::EspeakTts;
use vartalaap_audio::{Lang, Tts};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const BUSINESS: &str = "himalayan_kitchen";
/// 20 ms of 16 kHz 16-bit mono PCM.
const FRAME_BYTES: usize = 640;

fn server(extra: &[(&str, &str)]) -> Server {
    let model_dir = std::env::var("VARTALAAP_MODEL_DIR").unwrap_or_default();
    let mut env = extra.to_vec();
    if !model_dir.is_empty() {
        env.push(("VARTALAAP_MODEL_DIR", model_dir.as_str()));
    }
    Server::start_with(&env)
}

/// `POST /api/talk/tickets` for the test business.
fn ticket(server: &Server, token: &str) -> serde_json::Value {
    let reply = server.request(
        "POST",
        "/api/talk/tickets",
        Some(token),
        Some(&serde_json::json!({ "business_id": BUSINESS }).to_string()),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json
}

fn socket_url(server: &Server, path: &str) -> String {
    format!("ws://{}{path}", server.addr)
}

/// English speech from espeak-ng as 16 kHz s16le bytes.
fn speech_16k(text: &str) -> Vec<u8> {
    let pcm = EspeakTts::default()
        .synthesize(text, Lang::English)
        .expect("espeak-ng speaks (scripts/setup.sh installs it)");
    let samples = vartalaap_audio::resample(&pcm.samples, pcm.sample_rate, 16_000).unwrap();
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// What the page has seen so far.
#[derive(Default, Debug)]
struct Page {
    audio_bytes: usize,
    call_id: Option<u64>,
    /// `(role, text)` in arrival order.
    transcript: Vec<(String, String)>,
    ended: Option<serde_json::Value>,
    close_code: Option<u16>,
}

impl Page {
    /// Handles one server message like the admin page does: plays audio (counted here),
    /// acknowledges marks at once (this "speaker" has no queue), records transcript lines.
    async fn handle(&mut self, ws: &mut Ws, message: Message) {
        match message {
            Message::Binary(pcm) => self.audio_bytes += pcm.len(),
            Message::Text(text) => {
                let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                match event["type"].as_str().unwrap_or_default() {
                    "mark" => {
                        let ack = serde_json::json!({"type": "played", "name": event["name"]});
                        let _ = ws.send(Message::text(ack.to_string())).await;
                    }
                    "call" => self.call_id = event["call_id"].as_u64(),
                    "transcript" => self.transcript.push((
                        event["role"].as_str().unwrap().to_string(),
                        event["text"].as_str().unwrap().to_string(),
                    )),
                    "ended" => self.ended = Some(event),
                    "clear" => {}
                    other => panic!("unexpected message {other:?}: {text}"),
                }
            }
            Message::Close(frame) => self.close_code = frame.map(|f| u16::from(f.code)),
            _ => {}
        }
    }

    /// What the bot said (and the caller heard) after the caller's first line, skipping replies
    /// cut off before a word was heard (the recogniser may split a question in two, and the
    /// second half interrupts the answer to the first).
    fn reply_after_caller(&self) -> Option<&str> {
        let first_caller = self.transcript.iter().position(|(r, _)| r == "caller")?;
        self.transcript[first_caller..]
            .iter()
            .filter(|(r, t)| r == "bot" && !t.starts_with("[cut off"))
            .map(|(_, t)| t.as_str())
            .next_back()
    }

    fn lines(&self, role: &str) -> Vec<&str> {
        self.transcript
            .iter()
            .filter(|(r, _)| r == role)
            .map(|(_, t)| t.as_str())
            .collect()
    }
}

/// Streams `pcm` (then silence) at real time in 20 ms messages, handling server messages as
/// they come, until `done` holds or `limit` passes.
async fn talk_until(
    ws: &mut Ws,
    page: &mut Page,
    pcm: &[u8],
    limit: Duration,
    done: impl Fn(&Page) -> bool,
) {
    let started = Instant::now();
    let silence = [0u8; FRAME_BYTES];
    let mut frames = pcm.chunks(FRAME_BYTES);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while !done(page) {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?}; the page saw {page:#?}"
        );
        tokio::select! {
            _ = tick.tick() => {
                let frame = frames.next().unwrap_or(&silence);
                ws.send(Message::binary(frame.to_vec())).await.unwrap();
            }
            message = ws.next() => match message {
                Some(Ok(message)) => page.handle(ws, message).await,
                Some(Err(e)) => panic!("socket error: {e}; the page saw {page:#?}"),
                None => panic!("the socket closed; the page saw {page:#?}"),
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_talks_to_the_bot_from_the_browser_and_the_call_is_logged() {
    let server = tokio::task::block_in_place(|| server(&[]));
    let token = tokio::task::block_in_place(|| server.login());
    let ticket = tokio::task::block_in_place(|| ticket(&server, &token));
    assert_eq!(
        ticket["recogniser"], "whisper",
        "this test needs the offline recogniser: build with --features vartalaap/stt-whisper \
         and WITH_STT=1 scripts/setup.sh ({ticket})"
    );
    assert_eq!(ticket["output_sample_rate"], 8000);
    let url = socket_url(&server, ticket["socket_path"].as_str().unwrap()) + "&rate=16000";
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let mut page = Page::default();

    // The greeting: heard in full (its marks acknowledged), while the microphone sends silence.
    talk_until(&mut ws, &mut page, &[], Duration::from_secs(90), |p| {
        !p.lines("bot").is_empty()
    })
    .await;
    assert!(page.call_id.is_some(), "the call log id comes first");
    let greeting_audio = page.audio_bytes;
    // Seconds of 8 kHz 16-bit audio: a spoken greeting, not a click.
    assert!(
        greeting_audio > 16_000,
        "{greeting_audio} bytes of greeting"
    );

    // The owner asks a question; Whisper hears it, the bot answers it out loud.
    let question = speech_16k("What time do you open today?");
    talk_until(
        &mut ws,
        &mut page,
        &question,
        Duration::from_secs(120),
        |p| p.reply_after_caller().is_some() && p.audio_bytes > greeting_audio + 8_000,
    )
    .await;
    let heard = page.lines("caller")[0].to_lowercase();
    assert!(
        heard.contains("open") || heard.contains("time"),
        "the recogniser heard {heard:?}"
    );
    let reply = page.reply_after_caller().unwrap().to_string();
    println!("transcript: {:#?}", page.transcript);

    // Hang up from the page: the server says the call ended, then closes normally.
    ws.send(Message::text(r#"{"type":"hangup"}"#))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        while page.close_code.is_none() {
            match ws.next().await {
                Some(Ok(message)) => page.handle(&mut ws, message).await,
                _ => break,
            }
        }
    })
    .await
    .expect("the socket closes after a hang-up");
    let ended = page.ended.clone().expect("an `ended` message");
    assert_eq!(ended["call_id"].as_u64(), page.call_id);
    assert_eq!(page.close_code, Some(1000));

    // The call log: the admin's browser, no number, the turns the page showed.
    let call_id = page.call_id.unwrap();
    let call = tokio::task::block_in_place(|| {
        server.request("GET", &format!("/api/calls/{call_id}"), Some(&token), None)
    });
    assert_eq!(call.status, 200, "{}", call.text);
    let log = &call.json;
    let record = if log["call"].is_object() {
        &log["call"]
    } else {
        log
    };
    assert!(
        record["external_call_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("browser-")),
        "{log:#}"
    );
    assert!(record["caller_phone_hash"].is_null(), "{log:#}");
    assert!(record["ended_at"].is_string(), "{log:#}");
    let turns = log["turns"].as_array().expect("turns");
    let texts: Vec<(&str, &str)> = turns
        .iter()
        .map(|t| {
            (
                t["role"].as_str().unwrap_or_default(),
                t["text"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        texts
            .iter()
            .any(|(role, text)| *role == "system" && text.contains("admin's browser")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|(role, text)| *role == "caller" && *text == page.lines("caller")[0]),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|(role, text)| *role == "bot" && *text == reply),
        "{texts:?}"
    );
    // The same pipeline measured the turn like a phone call's.
    assert!(
        turns
            .iter()
            .any(|t| t["role"] == "caller" && t["stt_confidence"].is_number()),
        "{texts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_are_required_single_use_and_only_for_the_browser_socket() {
    // Telephony on, so `/plivo/stream` checks tokens rather than answering 503.
    let server = tokio::task::block_in_place(|| {
        server(&[
            ("PLIVO_AUTH_ID", "MATALKTEST0000000001"),
            ("PLIVO_AUTH_TOKEN", "talk-test-auth-token-0123456789"),
            ("PUBLIC_BASE_URL", "http://127.0.0.1:9"),
        ])
    });
    let token = tokio::task::block_in_place(|| server.login());

    // A ticket needs the admin's login, and a business that exists.
    let body = serde_json::json!({ "business_id": BUSINESS }).to_string();
    let anonymous = tokio::task::block_in_place(|| {
        server.request("POST", "/api/talk/tickets", None, Some(&body))
    });
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    let forged_login = tokio::task::block_in_place(|| {
        server.request(
            "POST",
            "/api/talk/tickets",
            Some("v1.e30.AAAA"),
            Some(&body),
        )
    });
    assert_eq!(forged_login.status, 401, "{}", forged_login.text);
    let unknown = tokio::task::block_in_place(|| {
        server.request(
            "POST",
            "/api/talk/tickets",
            Some(&token),
            Some(r#"{"business_id":"no_such_place"}"#),
        )
    });
    assert_eq!(unknown.status, 404, "{}", unknown.text);

    // The socket without a ticket, with a forged one, with a tampered one.
    let (status, _) = refused_upgrade(&socket_url(&server, "/api/talk/socket")).await;
    assert_eq!(status, 401);
    let (status, _) = refused_upgrade(&socket_url(
        &server,
        "/api/talk/socket?ticket=v1.eyJjIjoiYnJvd3Nlci14IiwiYiI6ImhpbWFsYXlhbl9raXRjaGVuIiwiZSI6OTk5OTk5OTk5OX0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ))
    .await;
    assert_eq!(status, 403);
    let genuine = tokio::task::block_in_place(|| ticket(&server, &token));
    let path = genuine["socket_path"].as_str().unwrap().to_string();
    let tampered = format!(
        "{}{}",
        &path[..path.len() - 2],
        flip(&path[path.len() - 2..])
    );
    let (status, _) = refused_upgrade(&socket_url(&server, &tampered)).await;
    assert_eq!(status, 403);
    // A rate the protocol does not have.
    let (status, text) = refused_upgrade(&socket_url(&server, &format!("{path}&rate=44100"))).await;
    assert_eq!(status, 400, "{text}");

    // A browser ticket does not open a Plivo stream.
    let plivo = path.replace("/api/talk/socket?ticket=", "/plivo/stream?token=");
    let (status, text) = refused_upgrade(&socket_url(&server, &plivo)).await;
    assert_eq!(status, 403, "{text}");

    // The genuine ticket works once.
    let (mut ws, _) = tokio_tungstenite::connect_async(socket_url(&server, &path))
        .await
        .unwrap();
    let (status, text) = refused_upgrade(&socket_url(&server, &path)).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("already used"), "{text}");

    // Half a sample is not audio: the call ends with 1003.
    ws.send(Message::binary(vec![0u8; 3])).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1003));

    // More than half a second in one message: 1009.
    let mut ws = open(&server, &token).await;
    ws.send(Message::binary(vec![0u8; 16 * 1024 + 2]))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1009));

    // Audio far faster than a microphone records it: 1008.
    let mut ws = open(&server, &token).await;
    for _ in 0..10 {
        if ws.send(Message::binary(vec![0u8; 16_000])).await.is_err() {
            break;
        }
    }
    assert_eq!(close_code(&mut ws).await, Some(1008));

    // Each refused call still left a call log, marked as the browser's.
    let calls =
        tokio::task::block_in_place(|| server.request("GET", "/api/calls", Some(&token), None));
    assert_eq!(calls.status, 200, "{}", calls.text);
    let items = calls.json["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{}", calls.text);
    assert!(items.iter().all(|c| {
        c["external_call_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("browser-"))
    }));
}

/// Changes the last base64url characters of a ticket (a tampered signature).
fn flip(tail: &str) -> String {
    tail.chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect()
}

async fn open(server: &Server, token: &str) -> Ws {
    let ticket = tokio::task::block_in_place(|| ticket(server, token));
    let url = socket_url(server, ticket["socket_path"].as_str().unwrap());
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Reads until the server closes; the close code.
async fn close_code(ws: &mut Ws) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("no close frame within 60 s")
}
