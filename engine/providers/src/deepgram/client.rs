//! The Deepgram connection task: audio in, events out, reconnect with replay.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};

use super::messages::{ServerMessage, parse_server_message};
use super::{DeepgramConfig, ReplayBuffer, SttError, SttEvent, UtteranceAssembler};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const KEEPALIVE: &str = r#"{"type":"KeepAlive"}"#;
const FINALIZE: &str = r#"{"type":"Finalize"}"#;
const CLOSE_STREAM: &str = r#"{"type":"CloseStream"}"#;

enum Command {
    Audio(Bytes),
    Finalize,
    Close,
}

/// The stream has ended (hung up, fatal error, or the task finished).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the Deepgram stream has ended")]
pub struct StreamClosed;

/// Why [`SttSender::try_send_audio`] did not take a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AudioRefused {
    /// The audio queue is full: Deepgram has not kept up with the caller.
    #[error("the Deepgram audio queue is full; the frame was dropped")]
    Behind,
    /// The stream has ended.
    #[error(transparent)]
    Closed(StreamClosed),
}

/// Audio input of a live Deepgram stream.
///
/// Backed by a bounded channel: if Deepgram is slower than the caller for long enough,
/// [`send_audio`](Self::send_audio) waits rather than letting memory grow. Dropping the sender
/// is the same as [`close`](Self::close).
#[derive(Debug, Clone)]
pub struct SttSender {
    tx: mpsc::Sender<Command>,
}

impl SttSender {
    /// Forward caller audio exactly as received (µ-law bytes from Plivo). Empty chunks are
    /// skipped: Deepgram treats a zero-length frame as end of stream.
    pub async fn send_audio(&self, audio: Bytes) -> Result<(), StreamClosed> {
        self.tx
            .send(Command::Audio(audio))
            .await
            .map_err(|_| StreamClosed)
    }

    /// Forwards caller audio without waiting: the call's task hands over each 20 ms frame
    /// straight from the socket, with no task of its own in between. A full queue (Deepgram
    /// slower than the caller for seconds) refuses the frame ([`AudioRefused::Behind`]) rather
    /// than stalling the call. Empty chunks are skipped, as in [`send_audio`](Self::send_audio).
    pub fn try_send_audio(&self, audio: Bytes) -> Result<(), AudioRefused> {
        if audio.is_empty() {
            return Ok(());
        }
        self.tx
            .try_send(Command::Audio(audio))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AudioRefused::Behind,
                mpsc::error::TrySendError::Closed(_) => AudioRefused::Closed(StreamClosed),
            })
    }

    /// Ask Deepgram to transcribe what it has buffered now (our own VAD decided the caller
    /// stopped). The answer is a final with `from_finalize`, which completes the utterance.
    pub async fn finalize(&self) -> Result<(), StreamClosed> {
        self.tx
            .send(Command::Finalize)
            .await
            .map_err(|_| StreamClosed)
    }

    /// Hang-up: sends `Finalize` and `CloseStream`, delivers the last results, then the event
    /// receiver ends (within `close_timeout` even if Deepgram stalls).
    pub async fn close(self) {
        let _ = self.tx.send(Command::Close).await;
    }
}

/// Entry point for Deepgram live STT.
#[derive(Debug)]
pub struct DeepgramStt;

impl DeepgramStt {
    /// Opens the socket and spawns the task that owns it.
    ///
    /// Connecting here (not lazily) means a wrong key or bad parameters surface at call start
    /// as a typed [`SttError`], when the call can still pick another STT. Must be called
    /// inside a tokio runtime.
    pub async fn connect(
        cfg: DeepgramConfig,
    ) -> Result<(SttSender, mpsc::Receiver<SttEvent>), SttError> {
        let url = cfg.listen_url()?;
        let ws = open(&cfg, &url).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(cfg.audio_channel_capacity.max(1));
        let (ev_tx, ev_rx) = mpsc::channel(cfg.event_channel_capacity.max(1));
        let session = Session {
            replay: ReplayBuffer::new(cfg.max_replay_bytes),
            assembler: UtteranceAssembler::default(),
            last_sent: Instant::now(),
            closing: false,
            close_deadline: None,
            pending_finalize: false,
            events: ev_tx,
            cfg,
            url,
        };
        tokio::spawn(session.run(ws, cmd_rx));
        Ok((SttSender { tx: cmd_tx }, ev_rx))
    }
}

/// Opens one WebSocket to `/v1/listen` with the key in the `Authorization` header.
async fn open(cfg: &DeepgramConfig, url: &url::Url) -> Result<Ws, SttError> {
    let shown_url = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    );
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| SttError::Config(format!("cannot build the Deepgram request: {e}")))?;
    let auth = HeaderValue::from_str(&format!("Token {}", cfg.api_key)).map_err(|_| {
        SttError::Config("DEEPGRAM_API_KEY contains characters not allowed in a header".into())
    })?;
    request.headers_mut().insert("authorization", auth);
    let connector = if url.scheme() == "wss" {
        let tls = crate::tls::client_config().map_err(|e| SttError::Connect {
            url: shown_url.clone(),
            reason: format!("TLS setup failed: {e}"),
        })?;
        Some(Connector::Rustls(tls))
    } else {
        None
    };
    let attempt = connect_async_tls_with_config(request, None, false, connector);
    match timeout(cfg.connect_timeout, attempt).await {
        Err(_) => Err(SttError::Connect {
            url: shown_url,
            reason: format!("no answer within {:?}", cfg.connect_timeout),
        }),
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(WsError::Http(response))) => {
            let status = response.status().as_u16();
            let reason = response
                .headers()
                .get("dg-error")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| {
                    response
                        .body()
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                })
                .unwrap_or_default();
            Err(match status {
                401 | 403 => SttError::Unauthorized { status, reason },
                400 => SttError::BadRequest(reason),
                _ => SttError::Status { status, reason },
            })
        }
        Ok(Err(e)) => Err(SttError::Connect {
            url: shown_url,
            reason: e.to_string(),
        }),
    }
}

/// How one connection ended.
enum Outcome {
    /// Closed as asked, or nobody listens to events any more.
    Finished,
    /// Unexpected loss; reconnect.
    Dropped(String),
    /// Reconnecting would not help.
    Fatal(SttError),
}

struct Session {
    cfg: DeepgramConfig,
    url: url::Url,
    events: mpsc::Sender<SttEvent>,
    replay: ReplayBuffer,
    assembler: UtteranceAssembler,
    /// Last frame (audio or KeepAlive) sent; drives KeepAlive.
    last_sent: Instant,
    /// Hang-up requested; no more audio.
    closing: bool,
    close_deadline: Option<Instant>,
    /// A `Finalize` asked for while disconnected, sent after the replay.
    pending_finalize: bool,
}

impl Session {
    async fn run(mut self, mut ws: Ws, mut commands: mpsc::Receiver<Command>) {
        loop {
            match self.pump(&mut ws, &mut commands).await {
                Outcome::Finished => break,
                Outcome::Fatal(error) => {
                    tracing::warn!(%error, "Deepgram stream failed.");
                    let _ = self.events.send(SttEvent::Error(error)).await;
                    break;
                }
                Outcome::Dropped(reason) => {
                    if self.closing {
                        break;
                    }
                    tracing::warn!(%reason, "Deepgram socket dropped; reconnecting.");
                    match self.reconnect(&mut commands, reason).await {
                        // Hung up while disconnected: nothing left to transcribe for anyone.
                        Ok(None) => break,
                        Ok(Some((new_ws, attempt, replayed_bytes))) => {
                            ws = new_ws;
                            let event = SttEvent::Reconnected {
                                attempt,
                                replayed_bytes,
                            };
                            if self.events.send(event).await.is_err() {
                                break;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "Deepgram reconnect gave up.");
                            let _ = self.events.send(SttEvent::Error(error)).await;
                            break;
                        }
                    }
                }
            }
        }
        // Words heard before the end still belong to the call log.
        if let Some(u) = self.assembler.on_utterance_end() {
            let _ = self.events.send(SttEvent::Utterance(u)).await;
        }
        let _ = ws.close(None).await;
    }

    async fn pump(&mut self, ws: &mut Ws, commands: &mut mpsc::Receiver<Command>) -> Outcome {
        // One KeepAlive timer for the connection, re-armed only when it rings (audio sent since
        // then moves its deadline): not a timer armed and dropped for every 20 ms frame.
        let keepalive = sleep_until(self.last_sent + self.cfg.keepalive_interval);
        tokio::pin!(keepalive);
        loop {
            let close_at = self
                .close_deadline
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                command = commands.recv(), if !self.closing => {
                    let result = match command {
                        Some(Command::Audio(audio)) => {
                            if audio.is_empty() {
                                continue;
                            }
                            self.replay.push(audio.clone());
                            self.last_sent = Instant::now();
                            ws.send(Message::Binary(audio)).await
                        }
                        Some(Command::Finalize) => ws.send(Message::text(FINALIZE)).await,
                        Some(Command::Close) | None => self.start_closing(ws).await,
                    };
                    if let Err(e) = result {
                        return self.after_send_error(ws, e).await;
                    }
                }
                frame = ws.next() => {
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            if !self.on_text(text.as_str()).await {
                                // Nobody listens: stop like a hang-up.
                                if let Err(e) = self.start_closing(ws).await {
                                    return Outcome::Dropped(e.to_string());
                                }
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            if self.closing {
                                return Outcome::Finished;
                            }
                            let (code, reason) = frame
                                .map(|f| (u16::from(f.code), f.reason.to_string()))
                                .unwrap_or((1005, String::new()));
                            if code == 1008 {
                                return Outcome::Fatal(SttError::BadAudio(reason));
                            }
                            return Outcome::Dropped(format!("closed by Deepgram: {code} {reason}"));
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            if self.closing {
                                return Outcome::Finished;
                            }
                            return Outcome::Dropped(e.to_string());
                        }
                        None => {
                            if self.closing {
                                return Outcome::Finished;
                            }
                            return Outcome::Dropped("socket ended".into());
                        }
                    }
                }
                _ = &mut keepalive, if !self.closing => {
                    let due = self.last_sent + self.cfg.keepalive_interval;
                    if Instant::now() >= due {
                        self.last_sent = Instant::now();
                        if let Err(e) = ws.send(Message::text(KEEPALIVE)).await {
                            return self.after_send_error(ws, e).await;
                        }
                    }
                    keepalive.as_mut().reset(self.last_sent + self.cfg.keepalive_interval);
                }
                _ = sleep_until(close_at), if self.close_deadline.is_some() => {
                    tracing::debug!("Deepgram did not close in time after CloseStream.");
                    return Outcome::Finished;
                }
            }
        }
    }

    /// A send failed: the server may have closed with a reason we have not read yet (e.g.
    /// 1008 `DATA-0000`, which must not be retried), and results may still be queued.
    async fn after_send_error(&mut self, ws: &mut Ws, error: WsError) -> Outcome {
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            match timeout_at(deadline, ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.on_text(text.as_str()).await;
                }
                Ok(Some(Ok(Message::Close(Some(frame))))) => {
                    let reason = frame.reason.to_string();
                    return match u16::from(frame.code) {
                        1008 => Outcome::Fatal(SttError::BadAudio(reason)),
                        code => Outcome::Dropped(format!("closed by Deepgram: {code} {reason}")),
                    };
                }
                Ok(Some(Ok(_))) => {}
                _ => return Outcome::Dropped(error.to_string()),
            }
        }
    }

    async fn start_closing(&mut self, ws: &mut Ws) -> Result<(), WsError> {
        self.closing = true;
        self.close_deadline = Some(Instant::now() + self.cfg.close_timeout);
        ws.send(Message::text(FINALIZE)).await?;
        ws.send(Message::text(CLOSE_STREAM)).await
    }

    /// Handles one text frame; returns false when the event receiver is gone.
    async fn on_text(&mut self, text: &str) -> bool {
        let message = match parse_server_message(text) {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, len = text.len(), "Skipping a Deepgram frame that does not parse.");
                return true;
            }
        };
        let mut out = Vec::with_capacity(2);
        match message {
            ServerMessage::Results {
                transcript,
                confidence,
                start,
                duration,
                is_final,
                speech_final,
                from_finalize,
            } => {
                if is_final {
                    let end_byte = ((start + duration).max(0.0)
                        * self.cfg.bytes_per_second() as f64)
                        .floor() as usize;
                    self.replay.acknowledge(end_byte);
                    let done = self.assembler.on_final(
                        &transcript,
                        confidence,
                        speech_final,
                        from_finalize,
                    );
                    out.push(SttEvent::Final {
                        text: transcript,
                        confidence,
                        speech_final,
                        from_finalize,
                    });
                    out.extend(done.map(SttEvent::Utterance));
                } else if !transcript.trim().is_empty() {
                    out.push(SttEvent::Interim {
                        text: transcript,
                        confidence,
                    });
                }
            }
            ServerMessage::UtteranceEnd { .. } => {
                out.push(SttEvent::UtteranceEnd);
                out.extend(self.assembler.on_utterance_end().map(SttEvent::Utterance));
            }
            ServerMessage::SpeechStarted { .. } => out.push(SttEvent::SpeechStarted),
            ServerMessage::Metadata { request_id } => {
                tracing::debug!(%request_id, "Deepgram stream metadata.");
            }
            ServerMessage::Unknown(kind) => {
                tracing::debug!(%kind, "Ignoring an unknown Deepgram message type.");
            }
        }
        for event in out {
            if self.events.send(event).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Takes commands while disconnected: audio joins the replay buffer.
    fn buffer(&mut self, command: Option<Command>) {
        match command {
            Some(Command::Audio(audio)) if !audio.is_empty() => self.replay.push(audio),
            Some(Command::Audio(_)) => {}
            Some(Command::Finalize) => self.pending_finalize = true,
            Some(Command::Close) | None => self.closing = true,
        }
    }

    /// Re-opens the socket with backoff while buffering incoming audio. `Ok(None)`: the call
    /// hung up meanwhile, so there is nobody left to transcribe for.
    async fn reconnect(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        first_reason: String,
    ) -> Result<Option<(Ws, u32, usize)>, SttError> {
        let mut last = first_reason;
        let policy = self.cfg.reconnect.clone();
        let (cfg, url) = (self.cfg.clone(), self.url.clone());
        for attempt in 1..=policy.max_attempts {
            let wait = sleep(policy.delay(attempt));
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = &mut wait => break,
                    command = commands.recv(), if !self.closing => self.buffer(command),
                }
            }
            if self.closing {
                return Ok(None);
            }
            let opening = open(&cfg, &url);
            tokio::pin!(opening);
            let result = loop {
                tokio::select! {
                    result = &mut opening => break result,
                    command = commands.recv(), if !self.closing => self.buffer(command),
                }
            };
            let mut ws = match result {
                Ok(ws) => ws,
                Err(
                    e @ (SttError::Unauthorized { .. }
                    | SttError::BadRequest(_)
                    | SttError::Config(_)),
                ) => {
                    return Err(e);
                }
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let chunks = self.replay.rebase();
            let replayed: usize = chunks.iter().map(Bytes::len).sum();
            match self.resume(&mut ws, chunks).await {
                Ok(()) => {
                    tracing::info!(attempt, replayed, "Deepgram reconnected.");
                    return Ok(Some((ws, attempt, replayed)));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(SttError::ReconnectFailed {
            attempts: policy.max_attempts,
            last,
        })
    }

    /// Replays buffered audio on a fresh socket and re-sends what was asked meanwhile.
    async fn resume(&mut self, ws: &mut Ws, chunks: Vec<Bytes>) -> Result<(), WsError> {
        for chunk in chunks {
            ws.send(Message::Binary(chunk)).await?;
        }
        self.last_sent = Instant::now();
        if self.pending_finalize {
            self.pending_finalize = false;
            ws.send(Message::text(FINALIZE)).await?;
        }
        if self.closing {
            self.start_closing(ws).await?;
        }
        Ok(())
    }
}
