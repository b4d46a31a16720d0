//! "Talk to it": the owner calls their own bot from the admin page, with the browser's
//! microphone and speaker, before any phone number is connected (`docs/TELEPHONY.md`,
//! "Talk to it", has the protocol).
//!
//! - `POST /api/talk/tickets {"business_id"}` — admin bearer token; returns a ticket for one
//!   call: single-use, valid for a minute, counted against `MAX_CONCURRENT_CALLS` like an
//!   answered phone call.
//! - `GET /api/talk/socket?ticket=…&rate=16000` — the WebSocket upgrade, refused (401/403)
//!   before upgrading without a valid, unused ticket; then the call runs.
//!
//! **Why a ticket in the URL:** a browser's `WebSocket` cannot send an `Authorization` header,
//! and the admin's session is a bearer token, not a cookie. So the page trades its token for a
//! ticket over an authenticated POST and puts the ticket in the socket URL. The ticket is the
//! same signed, expiring stream token a Plivo answer issues (HMAC with the server's derived
//! stream key), for a call id starting with `browser-`; it works once (the replay guard records
//! it, so even a restart does not revive it), and this route accepts only browser tickets while
//! `/plivo/stream` refuses them. A leaked ticket (proxy logs keep query strings) is useless a
//! minute later or after its one use, and never grants API access.
//!
//! **Same pipeline:** the socket is translated into Plivo's stream events and commands
//! ([`vartalaap_voice::browser`]) and run by [`VoiceService::run_call`], so VAD, recognition,
//! the engine, TTS, barge-in and the call log are the phone call's own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use vartalaap_telephony::StreamEvent;
use vartalaap_telephony::form::parse_form;
use vartalaap_voice::browser::{
    self, BROWSER_CALL_PREFIX, BROWSER_INPUT_RATES, BROWSER_OUTPUT_RATE, BrowserAudio,
    BrowserError, MAX_AUDIO_MESSAGE_BYTES, ServerMessage, ToBrowser,
};
use vartalaap_voice::{AdmittedCall, CallNote, VoiceError, VoiceService};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::ws::{Message, WebSocket, Ws};
use warp::{Filter, Rejection, Reply};

use super::api::parse_json;
use super::error::ApiError;
use super::log_budget::{LogBudget, Verdict};
use super::plivo::{
    CLOSE_NORMAL, CLOSE_PROTOCOL, CLOSE_TOO_BIG, ReadEnd, UpgradeWords, claim_once,
};
use super::{AppState, BODY_LIMIT, with_auth};

/// Both "Talk to it" routes.
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let tickets = warp::path!("api" / "talk" / "tickets")
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and(warp::body::content_length_limit(BODY_LIMIT))
        .and(warp::body::bytes())
        .and_then(ticket);
    let socket = warp::path!("api" / "talk" / "socket")
        .and(warp::get())
        .and(s())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::ws())
        .and_then(|state: AppState, query: String, ws: Ws| async move {
            Ok::<_, Rejection>(upgrade(state, &query, ws).await)
        });
    tickets.or(socket).unify()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketRequest {
    business_id: String,
}

#[derive(Debug, Serialize)]
struct TicketReply {
    ticket: String,
    /// Path and query of the WebSocket (the page adds `ws(s)://` and its host).
    socket_path: String,
    expires_at: String,
    input_sample_rates: [u32; 2],
    output_sample_rate: u32,
    /// `deepgram`, `whisper` or `none` (then the bot can only say it cannot understand).
    recogniser: &'static str,
}

/// `POST /api/talk/tickets`
async fn ticket(state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let input: TicketRequest = parse_json(&bytes)?;
    if state.config.current(&input.business_id).is_none() {
        return Err(ApiError::not_found(format!(
            "business {:?} is not loaded; GET /api/businesses lists them",
            input.business_id
        ))
        .into());
    }
    let call_id = format!(
        "{BROWSER_CALL_PREFIX}{}",
        hex::encode(rand::random::<[u8; 16]>())
    );
    let now = state.clock.now();
    let ticket = match state.voice.answer(&call_id, &input.business_id, None, now) {
        Ok(ticket) => ticket,
        Err(e @ VoiceError::Busy { .. }) => {
            return Err(ApiError {
                retry_after: Some(30),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            .into());
        }
        Err(e) => return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into()),
    };
    let expires_at = state
        .voice
        .stream_claims(&ticket, now)
        .map(|claims| claims.expires_at.to_rfc3339())
        .unwrap_or_default();
    tracing::info!(business = %input.business_id, call = %call_id, "Issued a Talk-to-it ticket.");
    let reply = TicketReply {
        socket_path: format!("/api/talk/socket?ticket={ticket}"),
        ticket,
        expires_at,
        input_sample_rates: BROWSER_INPUT_RATES,
        output_sample_rate: BROWSER_OUTPUT_RATE,
        recogniser: state.voice.recogniser_name(),
    };
    Ok(warp::reply::with_status(warp::reply::json(&reply), StatusCode::CREATED).into_response())
}

fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

const TALK_SOCKET: UpgradeWords = UpgradeWords {
    route: "Talk-to-it",
    reused: "this ticket was already used (a ticket is good for one call)",
};

/// The upgrade policy: a valid, unexpired browser ticket, used once; a supported rate.
async fn upgrade(state: AppState, query: &str, ws: Ws) -> Response {
    let params = parse_form(query);
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(ticket) = param("ticket") else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "ticket missing: get one from POST /api/talk/tickets (admin login required)",
        );
    };
    let rate = match param("rate") {
        None => BROWSER_INPUT_RATES[0],
        Some(text) => match text.parse::<u32>() {
            Ok(rate) if BROWSER_INPUT_RATES.contains(&rate) => rate,
            _ => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    format!("rate must be 16000 or 8000 (Hz of 16-bit mono PCM), found {text:?}"),
                );
            }
        },
    };
    let now = state.clock.now();
    let claims = match state.voice.stream_claims(ticket, now) {
        Ok(claims) if browser::is_browser_call(&claims.call_uuid) => claims,
        Ok(_) => {
            tracing::warn!("Refused a Talk-to-it upgrade with a phone call's stream token.");
            return fail(
                StatusCode::FORBIDDEN,
                "not a Talk-to-it ticket: get one from POST /api/talk/tickets",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "Refused a Talk-to-it upgrade.");
            return fail(StatusCode::FORBIDDEN, format!("ticket refused: {e}"));
        }
    };
    let call = match claim_once(&state, ticket, &claims.call_uuid, now, &TALK_SOCKET).await {
        Ok(call) => call,
        Err((status, message)) => return fail(status, message),
    };
    let audio = match BrowserAudio::new(rate) {
        Ok(audio) => audio,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let voice = state.voice.clone();
    ws.max_message_size(MAX_AUDIO_MESSAGE_BYTES)
        .max_frame_size(MAX_AUDIO_MESSAGE_BYTES)
        .on_upgrade(move |socket| run_socket(voice, call, audio, socket))
        .into_response()
}

/// WebSocket close codes (RFC 6455 §7.4.1) only this socket uses; the rest are the Plivo
/// stream's.
const CLOSE_UNSUPPORTED: u16 = 1003;
const CLOSE_POLICY: u16 = 1008;

/// Warnings about malformed control messages, across all browser calls.
static MALFORMED_WARNINGS: LogBudget = LogBudget::new(5, Duration::from_secs(10));

fn refusal(e: &BrowserError) -> ReadEnd {
    let (code, reason) = match e {
        BrowserError::TooBig(_) => (CLOSE_TOO_BIG, "audio message too big"),
        BrowserError::OddLength(_) | BrowserError::Rate(_) => {
            (CLOSE_UNSUPPORTED, "audio must be whole 16-bit samples")
        }
        BrowserError::FasterThanRealTime => (CLOSE_POLICY, "audio faster than real time"),
        BrowserError::Resample(_) => (CLOSE_PROTOCOL, "audio could not be processed"),
    };
    ReadEnd::Failed { code, reason }
}

/// Reads the browser: audio → µ-law media events, control messages → their stream events.
async fn read_browser(
    mut source: futures_util::stream::SplitStream<WebSocket>,
    mut audio: BrowserAudio,
    events: mpsc::Sender<StreamEvent>,
    call: String,
) -> ReadEnd {
    let opened = Instant::now();
    let mut chunk = 0u64;
    let mut malformed = 0u64;
    let end = loop {
        let Some(message) = source.next().await else {
            break ReadEnd::Closed;
        };
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                let text = e.to_string();
                tracing::warn!(call = %call, error = %text, "The Talk-to-it socket broke the protocol or a size limit; ending the call.");
                break ReadEnd::read_failed(&text);
            }
        };
        if message.is_close() {
            break ReadEnd::Closed;
        }
        if message.is_binary() {
            let elapsed = u64::try_from(opened.elapsed().as_millis()).unwrap_or(u64::MAX);
            let frames = match audio.push(message.as_bytes(), elapsed) {
                Ok(frames) => frames,
                Err(e) => {
                    tracing::warn!(call = %call, error = %e, "Refused the browser's audio; ending the call.");
                    break refusal(&e);
                }
            };
            for frame in frames {
                chunk += 1;
                if events
                    .send(browser::media_event(frame, chunk))
                    .await
                    .is_err()
                {
                    return ReadEnd::Closed;
                }
            }
        } else if let Ok(text) = message.to_str() {
            match browser::client_event(text) {
                Ok(event) => {
                    if events.send(event).await.is_err() {
                        break ReadEnd::Closed;
                    }
                }
                Err(e) => {
                    malformed += 1;
                    if let Verdict::Write { suppressed } = MALFORMED_WARNINGS.admit(Instant::now())
                    {
                        tracing::warn!(call = %call, error = %e, suppressed, "Ignored a malformed Talk-to-it control message.");
                    }
                }
            }
        }
    };
    if malformed > 0 {
        tracing::warn!(call = %call, malformed, "Malformed control messages were ignored on this browser call.");
    }
    end
}

fn note_message(note: CallNote) -> ServerMessage {
    match note {
        CallNote::Opened { call_log_id } => ServerMessage::Call {
            call_id: call_log_id,
        },
        CallNote::Caller { text, language } => ServerMessage::Transcript {
            role: "caller",
            text,
            language,
        },
        CallNote::Bot { text, language } => ServerMessage::Transcript {
            role: "bot",
            text,
            language,
        },
    }
}

/// Runs one browser call: the reader feeds the session, the session's commands and the call
/// log's notes go back to the page; when the call ends the page gets `ended` and a close 1000.
async fn run_socket(
    voice: Arc<VoiceService>,
    call: AdmittedCall,
    audio: BrowserAudio,
    socket: WebSocket,
) {
    let call_id = call.call_uuid().to_string();
    let (mut sink, source) = socket.split();
    let (ev_tx, ev_rx) = mpsc::channel::<StreamEvent>(256);
    let (out_tx, mut out_rx) = mpsc::channel(256);
    let (notes_tx, mut notes_rx) = mpsc::unbounded_channel();
    // The session waits for Plivo's `start`; a browser call has it at once.
    let _ = ev_tx.send(browser::start_event(&call_id)).await;
    let mut session = voice.run_call(call.with_notes(notes_tx), ev_rx, out_tx);
    // The writer tells the session `clearedAudio`; dropped when the reader ends, so the
    // session sees the socket close.
    let mut cleared_tx = Some(ev_tx.clone());
    let mut reader = tokio::spawn(read_browser(source, audio, ev_tx, call_id.clone()));
    let mut reading = true;
    let mut close = (CLOSE_NORMAL, "call ended");
    let mut ended = ServerMessage::Ended {
        call_id: None,
        outcome: "failed".into(),
    };
    // The session's command channel may close a moment before its task yields the summary
    // the `ended` message needs; the loop waits for the summary either way.
    let mut commands_open = true;
    loop {
        tokio::select! {
            command = out_rx.recv(), if commands_open => match command {
                Some(command) => {
                    if send_command(&mut sink, command, cleared_tx.as_ref()).await.is_err() {
                        break;
                    }
                }
                None => commands_open = false,
            },
            Some(note) = notes_rx.recv() => {
                if sink.send(Message::text(note_message(note).to_json())).await.is_err() {
                    break;
                }
            }
            end = &mut reader, if reading => {
                reading = false;
                cleared_tx = None;
                if let Ok(ReadEnd::Failed { code, reason }) = end {
                    close = (code, reason);
                }
            }
            summary = &mut session => {
                while let Ok(command) = out_rx.try_recv() {
                    if send_command(&mut sink, command, None).await.is_err() {
                        break;
                    }
                }
                while let Ok(note) = notes_rx.try_recv() {
                    let _ = sink.send(Message::text(note_message(note).to_json())).await;
                }
                if let Ok(summary) = summary {
                    ended = ServerMessage::Ended {
                        call_id: summary.call_log_id,
                        outcome: serde_json::to_value(summary.outcome)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    };
                }
                break;
            }
        }
    }
    if reading {
        reader.abort();
        if let Ok(ReadEnd::Failed { code, reason }) = reader.await {
            close = (code, reason);
        }
    }
    let _ = sink.send(Message::text(ended.to_json())).await;
    let _ = sink.send(Message::close_with(close.0, close.1)).await;
    let _ = sink.close().await;
    tracing::info!(call = %call_id, "Talk-to-it call closed.");
}

/// Sends one session command to the page; a `clearAudio` is acknowledged to the session at once.
async fn send_command(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    command: vartalaap_telephony::Command,
    cleared: Option<&mpsc::Sender<StreamEvent>>,
) -> Result<(), warp::Error> {
    match browser::to_browser(command) {
        ToBrowser::Audio(pcm) => sink.send(Message::binary(pcm)).await,
        ToBrowser::Text {
            message,
            then_cleared,
        } => {
            sink.send(Message::text(message.to_json())).await?;
            if then_cleared && let Some(tx) = cleared {
                let _ = tx.try_send(StreamEvent::ClearedAudio);
            }
            Ok(())
        }
        ToBrowser::Nothing => Ok(()),
    }
}
