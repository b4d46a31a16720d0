//! Mock Edge "Read Aloud" TTS (protocol notes §4.8 with the §4.9 corrections).
//!
//! Checks the upgrade like the service (token for the mock's clock ± one 5-minute window, with a
//! `1-…` `Sec-MS-GEC-Version`; `Origin`; `ConnectionId`), answers a bad token
//! with HTTP 403 and a `Date` header (so the client's skew retry runs; start the mock with a
//! clock offset to exercise it), then expects `speech.config` and `ssml`. It replies
//! `turn.start` → `response` → binary `Path:audio` frames carrying a real MP3 in ~2 KB slices →
//! one `audio.metadata` message per word → an empty binary end frame → `turn.end`. Unsupported
//! output formats get `turn.start`/`turn.end` and no audio, as the real endpoint does.

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Shared, Shutdown, lock, stopped};
use crate::edge::framing::{build_binary_frame, escape_xml, http_date, parse_text_frame};
use crate::edge::token::{TRUSTED_CLIENT_TOKEN, is_supported_version, sec_ms_gec};

const ACCEPTED_FORMATS: [&str; 3] = [
    "audio-24khz-48kbitrate-mono-mp3",
    "audio-24khz-96kbitrate-mono-mp3",
    "webm-24khz-16bit-mono-opus",
];
const ORIGIN: &str = "chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold";

/// Misbehaviour; stays until changed.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeMode {
    /// Behave.
    Normal,
    /// Refuse every upgrade with 403 (stale token/version), whatever the clock.
    Forbidden,
    /// `turn.start`, `turn.end`, no audio.
    NoAudio,
    /// Send a text frame with an unknown `Path` before the audio (tolerant clients ignore it).
    UnknownPath,
    /// `turn.start`, then nothing.
    StallAfterTurnStart,
    /// Close (1000) after the first audio frame, before `turn.end`.
    CloseMidAudio,
    /// Close with 1007 "SSML is invalid" after the SSML arrives.
    BadSsml,
}

/// Mock settings.
#[derive(Debug, Clone)]
pub struct MockEdgeConfig {
    /// The MP3 served for every request (a small real file, e.g. the test fixture).
    pub mp3: Vec<u8>,
    /// The mock's clock minus the real one, in seconds (non-zero forces the client's 403 →
    /// skew-correction → retry path).
    pub clock_offset_secs: i64,
    /// Audio bytes per binary frame.
    pub slice_bytes: usize,
}

impl MockEdgeConfig {
    /// Serves `mp3` with the real clock.
    pub fn new(mp3: Vec<u8>) -> Self {
        Self {
            mp3,
            clock_offset_secs: 0,
            slice_bytes: 2048,
        }
    }
}

/// What one connection looked like.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeRequestRecord {
    /// Query parameters of the upgrade.
    pub query: Vec<(String, String)>,
    /// Whether the token matched the mock's clock.
    pub token_ok: bool,
    /// Whether the upgrade was accepted.
    pub accepted: bool,
    /// Text frames received.
    pub messages: Vec<String>,
}

impl EdgeRequestRecord {
    /// First value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct State {
    cfg: MockEdgeConfig,
    mode: EdgeMode,
    requests: Vec<EdgeRequestRecord>,
}

/// A running mock Edge TTS; dropped → stops.
#[derive(Debug)]
pub struct MockEdgeTts {
    /// `ws://127.0.0.1:port`, for `EdgeTtsConfig::base_url`.
    pub base_url: String,
    state: Shared<State>,
    _shutdown: Shutdown,
}

impl MockEdgeTts {
    /// Starts the mock on 127.0.0.1:0.
    pub async fn start(cfg: MockEdgeConfig) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Shared<State> = Shared::new(std::sync::Mutex::new(State {
            cfg,
            mode: EdgeMode::Normal,
            requests: Vec::new(),
        }));
        let (shutdown, rx) = Shutdown::new();
        let accept_state = state.clone();
        tokio::spawn(async move {
            let stop = stopped(rx.clone());
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    accepted = listener.accept() => {
                        if let Ok((tcp, _)) = accepted {
                            tokio::spawn(serve(tcp, accept_state.clone(), rx.clone()));
                        }
                    }
                }
            }
        });
        Ok(Self {
            base_url: format!("ws://{addr}"),
            state,
            _shutdown: shutdown,
        })
    }

    /// Switches behaviour.
    pub fn set_mode(&self, mode: EdgeMode) {
        lock(&self.state).mode = mode;
    }

    /// Connections so far (refused ones included).
    pub fn requests(&self) -> Vec<EdgeRequestRecord> {
        lock(&self.state).requests.clone()
    }
}

fn mock_now(offset: i64) -> i64 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    real + offset
}

fn token_valid(query: &[(String, String)], now: i64) -> bool {
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if !get("Sec-MS-GEC-Version").is_some_and(is_supported_version) {
        return false;
    }
    let Some(token) = get("Sec-MS-GEC") else {
        return false;
    };
    [-300, 0, 300].iter().any(|d| sec_ms_gec(now + d) == token)
}

async fn serve(tcp: TcpStream, state: Shared<State>, shutdown: watch::Receiver<bool>) {
    let record: Shared<EdgeRequestRecord> = Shared::default();
    let rec = record.clone();
    let check_state = state.clone();
    // The handshake callback's error type is fixed by tungstenite.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let s = lock(&check_state);
        let now = mock_now(s.cfg.clock_offset_secs);
        let token_ok = token_valid(&query, now);
        {
            let mut r = lock(&rec);
            r.query = query.clone();
            r.token_ok = token_ok;
        }
        let get = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let refuse = |status: StatusCode| {
            let mut r = ErrorResponse::new(None);
            *r.status_mut() = status;
            if let Ok(v) = HeaderValue::from_str(&http_date(now)) {
                r.headers_mut().insert("date", v);
            }
            r
        };
        if req.uri().path() != "/consumer/speech/synthesize/readaloud/edge/v1" {
            return Err(refuse(StatusCode::NOT_FOUND));
        }
        let origin_ok = req.headers().get("origin").and_then(|v| v.to_str().ok()) == Some(ORIGIN);
        let connection_ok = get("ConnectionId")
            .is_some_and(|c| c.len() == 32 && c.chars().all(|ch| ch.is_ascii_hexdigit()));
        if s.mode == EdgeMode::Forbidden
            || !token_ok
            || !origin_ok
            || !connection_ok
            || get("TrustedClientToken") != Some(TRUSTED_CLIENT_TOKEN)
        {
            return Err(refuse(StatusCode::FORBIDDEN));
        }
        lock(&rec).accepted = true;
        Ok(resp)
    };
    let accepted = tokio_tungstenite::accept_hdr_async(tcp, callback).await;
    let index = {
        let mut s = lock(&state);
        s.requests.push(lock(&record).clone());
        s.requests.len() - 1
    };
    let Ok(ws) = accepted else { return };
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    tokio::select! {
        _ = &mut stop => {}
        _ = session(ws, state, index) => {}
    }
}

fn text_frame(request_id: &str, path: &str, body: &str) -> Message {
    Message::text(format!(
        "X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}\r\n\r\n{body}"
    ))
}

fn words_of(ssml: &str) -> Vec<String> {
    let inner = ssml
        .split_once("<prosody")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</prosody>"))
        .map(|(text, _)| text)
        .unwrap_or("");
    inner.split_whitespace().map(str::to_owned).collect()
}

async fn session(mut ws: WebSocketStream<TcpStream>, state: Shared<State>, index: usize) {
    // Expect speech.config, then ssml.
    let mut output_format = String::new();
    let mut ssml_doc = None;
    let mut request_id = String::new();
    while ssml_doc.is_none() {
        let Some(Ok(msg)) = ws.next().await else {
            return;
        };
        let Message::Text(text) = msg else { continue };
        let text = text.as_str().to_owned();
        lock(&state).requests[index].messages.push(text.clone());
        let (headers, body) = parse_text_frame(&text);
        let timestamp_ok = headers
            .get("X-Timestamp")
            .is_some_and(|t| t.contains("GMT+0000"));
        match headers.get("Path").map(String::as_str) {
            Some("speech.config") if timestamp_ok => {
                output_format = serde_json::from_str::<serde_json::Value>(body.trim())
                    .ok()
                    .and_then(|v| {
                        v.pointer("/context/synthesis/audio/outputFormat")
                            .and_then(|f| f.as_str())
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
            }
            Some("ssml") if timestamp_ok => {
                request_id = headers.get("X-RequestId").cloned().unwrap_or_default();
                ssml_doc = Some(body.to_owned());
            }
            _ => {
                let _ = close(&mut ws, 1007, "Unexpected message").await;
                return;
            }
        }
    }
    let doc = ssml_doc.unwrap_or_default();
    let id_ok = request_id.len() == 32 && request_id.chars().all(|c| c.is_ascii_hexdigit());
    let well_formed =
        doc.starts_with("<speak") && doc.ends_with("</speak>") && doc.contains("<voice name='");
    let (mode, cfg) = {
        let s = lock(&state);
        (s.mode.clone(), s.cfg.clone())
    };
    if !id_ok || !well_formed || mode == EdgeMode::BadSsml {
        let _ = close(&mut ws, 1007, "SSML is invalid").await;
        return;
    }
    let _ = serve_turn(&mut ws, &request_id, &doc, &output_format, &mode, &cfg).await;
    // Wait for the client to close, as the service does.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await;
}

async fn close(ws: &mut WebSocketStream<TcpStream>, code: u16, reason: &str) -> Result<(), ()> {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    };
    ws.send(Message::Close(Some(frame))).await.map_err(|_| ())
}

async fn serve_turn(
    ws: &mut WebSocketStream<TcpStream>,
    id: &str,
    doc: &str,
    output_format: &str,
    mode: &EdgeMode,
    cfg: &MockEdgeConfig,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let start = json!({"context": {"serviceTag": "mock-service-tag"}}).to_string();
    ws.send(text_frame(id, "turn.start", &start)).await?;
    if *mode == EdgeMode::StallAfterTurnStart {
        std::future::pending::<()>().await;
    }
    let end = json!({"context": {"serviceTag": "mock-service-tag"}}).to_string();
    if !ACCEPTED_FORMATS.contains(&output_format) || *mode == EdgeMode::NoAudio {
        return ws.send(text_frame(id, "turn.end", &end)).await;
    }
    ws.send(text_frame(
        id,
        "response",
        &json!({"context": {"serviceTag": "mock-service-tag"}}).to_string(),
    ))
    .await?;
    if *mode == EdgeMode::UnknownPath {
        ws.send(text_frame(id, "audio.future-thing", "{}")).await?;
    }
    let header = format!(
        "X-RequestId:{id}\r\nContent-Type:audio/mpeg\r\nX-StreamId:mock-stream\r\nPath:audio\r\n"
    );
    for slice in cfg.mp3.chunks(cfg.slice_bytes.max(1)) {
        ws.send(Message::Binary(build_binary_frame(&header, slice).into()))
            .await?;
        if *mode == EdgeMode::CloseMidAudio {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            return ws.send(Message::Close(Some(frame))).await;
        }
    }
    // Word boundaries, one item per message; offsets in 100-ns ticks at 48 kbit/s CBR.
    let ticks_total = cfg.mp3.len() as u64 * 8 * 10_000_000 / 48_000;
    let words = words_of(doc);
    let per_word = ticks_total / (words.len().max(1) as u64);
    for (i, word) in words.iter().enumerate() {
        let meta = json!({"Metadata": [{"Type": "WordBoundary", "Data": {
            "Offset": per_word * i as u64 + 1_000_000, "Duration": per_word,
            "text": {"Text": escape_xml(word), "Length": word.chars().count(), "BoundaryType": "WordBoundary"}}}]});
        ws.send(text_frame(id, "audio.metadata", &meta.to_string()))
            .await?;
    }
    let end_header = format!("X-RequestId:{id}\r\nX-StreamId:mock-stream\r\nPath:audio\r\n");
    ws.send(Message::Binary(build_binary_frame(&end_header, &[]).into()))
        .await?;
    ws.send(text_frame(id, "turn.end", &end)).await
}
