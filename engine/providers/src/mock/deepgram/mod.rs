//! Mock Deepgram live STT (`/v1/listen`), protocol notes §2.9.
//!
//! Transcription is scripted but audio-driven: the mock finds speech in the µ-law stream by
//! energy (a 20 ms frame is speech when most of its bytes are loud) and, when
//! `endpointing` ms of silence follow speech, emits the next scripted utterance as
//! `is_final:true, speech_final:true`. Interims come every second of speech, and an
//! intermediate `is_final` every [`MockDeepgramConfig::final_every_ms`] of speech, so
//! the client's concatenation rule is exercised.
//!
//! Words are tied to audio: a scripted utterance expects `speech_ms` of speech, and if the
//! mock receives only part of it (because audio was lost in a dropped socket) it transcribes
//! only the matching tail of the words. A client that does not replay its buffered audio after
//! a reconnect therefore loses words here, just as it would with the real service.
//!
//! **Every connection follows the script from its start**, so concurrent calls (the load
//! example, several callers in one test) each hear their own caller's words. A connection the
//! mock itself broke (`DropAfterBytes`, `CloseAfterBytes`, the idle timeout) leaves its place in
//! the script to the next connection that opens, which is how the client's reconnect continues
//! the same call.

use std::io;
use std::time::Duration;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use super::{Shared, Shutdown, lock, stopped};

mod session;

use session::{Conn, Params};

/// One utterance the mock will "recognise", in script order.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedUtterance {
    /// The transcript.
    pub text: String,
    /// How much speech (ms) the caller needs to say it; less received → fewer words.
    pub speech_ms: u32,
}

impl ScriptedUtterance {
    /// Utterance `text` spoken over `speech_ms`.
    pub fn new(text: impl Into<String>, speech_ms: u32) -> Self {
        Self {
            text: text.into(),
            speech_ms,
        }
    }
}

/// Mock settings.
#[derive(Debug, Clone)]
pub struct MockDeepgramConfig {
    /// The only key accepted (`Authorization: Token <key>` or `Bearer <key>`).
    pub api_key: String,
    /// Utterances recognised in order; speech beyond the script yields empty transcripts.
    pub script: Vec<ScriptedUtterance>,
    /// Speech between intermediate `is_final` (not `speech_final`) results.
    pub final_every_ms: u32,
    /// Close with 1011 `NET-0001` after this long without any frame (Deepgram: 10 s).
    pub idle_timeout: Duration,
    /// With interim results on: once the caller has paused this long (ms of silence after
    /// speech, before endpointing fires), send one more interim carrying every word of the
    /// segment — the real service's interims catch up with the speaker at a pause. `None`
    /// (the default): interims only every second of speech.
    pub pause_interim_ms: Option<u32>,
    /// Scripts for the first connections, in the order they open: connection *n* (counting
    /// only new calls, not reconnects that take over a broken connection's place) follows
    /// `connection_scripts[n]`, later ones follow `script`. For tests where several callers
    /// say different things to one server.
    pub connection_scripts: Vec<Vec<ScriptedUtterance>>,
    /// Silence (ms) after speech before the mock ends the segment with `speech_final`, whatever
    /// the client's `endpointing` parameter asked. `None` (the default): the client's
    /// parameter, as the real service does. Load runs set it to model a provider's endpointing.
    pub endpointing_ms: Option<u32>,
}

impl Default for MockDeepgramConfig {
    fn default() -> Self {
        Self {
            api_key: "dg-test-key".into(),
            script: Vec::new(),
            final_every_ms: 2000,
            idle_timeout: Duration::from_secs(10),
            pause_interim_ms: None,
            connection_scripts: Vec::new(),
            endpointing_ms: None,
        }
    }
}

/// Misbehaviour, switchable at runtime. One-shot modes return to `Normal` once triggered.
#[derive(Debug, Clone, PartialEq)]
pub enum DeepgramMode {
    /// Behave.
    Normal,
    /// After this many audio bytes on the current socket, drop TCP without a close frame.
    DropAfterBytes(usize),
    /// After this many audio bytes, send a close frame (e.g. 1011 `NET-0000`, 1008 `DATA-0000`).
    CloseAfterBytes {
        /// Audio bytes to accept first.
        bytes: usize,
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Read everything, answer nothing, never close.
    Stall,
    /// Send one garbage text frame before the next real message.
    MalformedNext,
    /// Refuse every upgrade with this HTTP status (e.g. 401, 429, 500).
    RejectUpgrade(u16),
}

/// What one connection looked like, for assertions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionRecord {
    /// Query parameters of the upgrade request.
    pub query: Vec<(String, String)>,
    /// Whether the key matched.
    pub authorized: bool,
    /// Audio bytes received.
    pub audio_bytes: usize,
    /// Text frames received (`KeepAlive`, `Finalize`, `CloseStream` JSON).
    pub text_messages: Vec<String>,
}

impl ConnectionRecord {
    /// First value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// How many text frames of the given `type` arrived.
    pub fn count_type(&self, kind: &str) -> usize {
        let needle = format!("\"type\":\"{kind}\"");
        self.text_messages
            .iter()
            .filter(|m| m.replace(' ', "").contains(&needle))
            .count()
    }
}

/// Where one connection is in the script.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    /// Which of `connection_scripts` this connection follows; `None`: `script`.
    script: Option<usize>,
    /// Utterance being spoken.
    index: usize,
    /// Its words already sent in finals.
    words_done: usize,
    /// Its speech already covered by those finals.
    speech_ms_done: u32,
}

#[derive(Debug)]
struct State {
    cfg: MockDeepgramConfig,
    mode: DeepgramMode,
    connections: Vec<ConnectionRecord>,
    /// Script places left by connections the mock broke, taken over (oldest first) by the next
    /// connections: a reconnect continues its call.
    orphans: std::collections::VecDeque<Cursor>,
    /// Furthest script position any connection reached.
    furthest: usize,
    /// Connections that started a script of their own (not taking over an orphan).
    fresh: usize,
}

impl State {
    /// The script a connection at `cursor` follows.
    fn script(&self, cursor: &Cursor) -> &[ScriptedUtterance] {
        match cursor.script {
            Some(n) => &self.cfg.connection_scripts[n],
            None => &self.cfg.script,
        }
    }

    /// Where a new connection starts: a broken connection's place, else the start of its own
    /// script.
    fn start_cursor(&mut self) -> Cursor {
        if let Some(cursor) = self.orphans.pop_front() {
            return cursor;
        }
        let n = self.fresh;
        self.fresh += 1;
        Cursor {
            script: (n < self.cfg.connection_scripts.len()).then_some(n),
            ..Cursor::default()
        }
    }
}

/// A running mock Deepgram; dropped → stops.
#[derive(Debug)]
pub struct MockDeepgram {
    /// `ws://127.0.0.1:port`, for `DeepgramConfig::base_url`.
    pub base_url: String,
    state: Shared<State>,
    _shutdown: Shutdown,
}

impl MockDeepgram {
    /// Starts the mock on 127.0.0.1:0.
    pub async fn start(cfg: MockDeepgramConfig) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Shared<State> = Shared::new(std::sync::Mutex::new(State {
            cfg,
            mode: DeepgramMode::Normal,
            connections: Vec::new(),
            orphans: std::collections::VecDeque::new(),
            furthest: 0,
            fresh: 0,
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

    /// Switches behaviour for what happens next.
    pub fn set_mode(&self, mode: DeepgramMode) {
        lock(&self.state).mode = mode;
    }

    /// Every connection so far (including refused upgrades).
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        lock(&self.state).connections.clone()
    }

    /// Scripted utterances finished by the connection that got furthest (each connection
    /// follows the script on its own).
    pub fn script_position(&self) -> usize {
        lock(&self.state).furthest
    }
}

/// 20 ms µ-law frames of "speech" (loud, varying bytes) totalling `ms`.
pub fn speech(ms: u32) -> Vec<bytes::Bytes> {
    frames(ms, |i| [0x05u8, 0x0A, 0x85, 0x8A][i % 4])
}

/// 20 ms µ-law frames of digital silence (0xFF) totalling `ms`.
pub fn silence(ms: u32) -> Vec<bytes::Bytes> {
    frames(ms, |_| 0xFF)
}

fn frames(ms: u32, byte: impl Fn(usize) -> u8) -> Vec<bytes::Bytes> {
    (0..ms / 20)
        .map(|_| bytes::Bytes::from((0..160).map(&byte).collect::<Vec<u8>>()))
        .collect()
}

async fn serve(tcp: TcpStream, state: Shared<State>, shutdown: watch::Receiver<bool>) {
    let handshake: Shared<ConnectionRecord> = Shared::default();
    let hs = handshake.clone();
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
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let key = &s.cfg.api_key;
        let authorized = auth == format!("Token {key}") || auth == format!("Bearer {key}");
        {
            let mut rec = lock(&hs);
            rec.query = query.clone();
            rec.authorized = authorized;
        }
        let reject = |status: u16, code: &str, msg: &str| {
            let body =
                json!({"err_code": code, "err_msg": msg, "request_id": "mock-request"}).to_string();
            let mut r = ErrorResponse::new(Some(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            r.headers_mut().insert(
                "dg-error",
                HeaderValue::from_str(msg).unwrap_or(HeaderValue::from_static("error")),
            );
            r.headers_mut()
                .insert("dg-request-id", HeaderValue::from_static("mock-request"));
            r
        };
        if let DeepgramMode::RejectUpgrade(status) = s.mode {
            return Err(reject(
                status,
                "MOCK_REJECT",
                "Rejected by the mock on request.",
            ));
        }
        if req.uri().path() != "/v1/listen" {
            return Err(reject(404, "NOT_FOUND", "Unknown path."));
        }
        if !authorized {
            return Err(reject(401, "INVALID_AUTH", "Invalid credentials."));
        }
        let model = query
            .iter()
            .find(|(k, _)| k == "model")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if model.starts_with("nova-3") && query.iter().any(|(k, _)| k == "keywords") {
            return Err(reject(
                400,
                "INVALID_QUERY_PARAMETER",
                "Keywords are not supported for Nova-3. Please use `keyterm` instead.",
            ));
        }
        let mut resp = resp;
        resp.headers_mut()
            .insert("dg-request-id", HeaderValue::from_static("mock-request"));
        Ok(resp)
    };
    let accepted = tokio_tungstenite::accept_hdr_async(tcp, callback).await;
    let index = {
        let mut s = lock(&state);
        s.connections.push(lock(&handshake).clone());
        s.connections.len() - 1
    };
    let Ok(ws) = accepted else { return };
    let endpointing = lock(&state).cfg.endpointing_ms;
    let params = Params::from_query(&lock(&handshake).query).with_endpointing(endpointing);
    let cursor = lock(&state).start_cursor();
    let mut conn = Conn::new(ws, state, index, params, cursor);
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    tokio::select! {
        _ = &mut stop => {}
        _ = conn.run() => {}
    }
}
