//! Plivo's HTTP webhooks and the audio-stream WebSocket (protocols §1).
//!
//! - `POST /plivo/answer` — V3-signed; routes the dialled number (`To`) to the business whose
//!   `phone` matches (both normalized to E.164) and returns the `<Stream>` XML with a signed,
//!   short-lived, single-use stream token. An unknown number gets a polite `<Speak>` + hang-up.
//! - `POST /plivo/hangup`, `POST /plivo/stream-status` — V3-signed; end the live call session
//!   (the session writes the call's end, outcome and duration).
//! - `POST /plivo/transfer/{business_id}` — V3-signed; the `<Dial>` document a REST transfer
//!   fetches (the number comes from the business file, never from the URL).
//! - `GET /plivo/stream?token=…` — WebSocket upgrade, refused with 401/403 *before* upgrading
//!   without a valid token (or with a wrong upgrade signature); then runs a call session.
//!
//! Every route answers 503 with a clear message while Plivo is not configured.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;
use vartalaap_config::Lang;
use vartalaap_config::model::business::WhenBusy;
use vartalaap_telephony::form::parse_form;
use vartalaap_telephony::signature::{NONCE_V3_HEADER, SIGNATURE_V3_HEADER};
use vartalaap_telephony::webhook::HangupEvent;
use vartalaap_telephony::xml::{self, AfterStream, StreamOptions};
use vartalaap_telephony::{StreamEvent, verify_v3, verify_v3_upgrade};
use vartalaap_voice::{
    AdmittedCall, HangupInfo, Hungup, PlivoVoiceConfig, VoiceError, VoiceService, routing_number,
};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::ws::{Message, WebSocket, Ws};
use warp::{Filter, Rejection, Reply};

use super::log_budget::{LogBudget, Verdict};
use super::replay::OnceKind;
use super::{AppState, BODY_LIMIT};

/// Every Plivo route.
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    webhook(state.clone(), "answer", answer)
        .or(webhook(state.clone(), "hangup", ended))
        .unify()
        .or(webhook(state.clone(), "stream-status", stream_status))
        .unify()
        .or(transfer(state.clone()))
        .unify()
        .or(stream(state))
        .unify()
}

fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Body {
        error: String,
    }
    warp::reply::with_status(
        warp::reply::json(&Body {
            error: message.into(),
        }),
        status,
    )
    .into_response()
}

fn not_configured() -> Response {
    fail(
        StatusCode::SERVICE_UNAVAILABLE,
        "telephony is not configured: set PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and PUBLIC_BASE_URL",
    )
}

fn xml_reply(body: String) -> Response {
    warp::reply::with_header(body, "content-type", "application/xml; charset=utf-8").into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Checks the V3 signature of a POST against the public URL Plivo called; returns the form.
fn verify_post(
    plivo: &PlivoVoiceConfig,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, (StatusCode, String)> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err((StatusCode::BAD_REQUEST, "form body is not UTF-8".into()));
    };
    let params = parse_form(text);
    let mut url = format!("{}{path}", plivo.public_base_url.trim_end_matches('/'));
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    match verify_v3(
        &plivo.auth_token,
        "POST",
        &url,
        &params,
        header(headers, NONCE_V3_HEADER),
        header(headers, SIGNATURE_V3_HEADER),
    ) {
        Ok(()) => Ok(params),
        Err(e) => {
            tracing::warn!(path, error = %e, "Refused a Plivo webhook with a bad signature.");
            Err((StatusCode::FORBIDDEN, e.to_string()))
        }
    }
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A webhook's form body, at most [`BODY_LIMIT`] bytes. A request without `Content-Length`
/// (Plivo always sends one) counts as an empty body, so it meets the signature check and gets
/// the same 403 as any unsigned request, instead of a 400 that would tell a stranger more.
fn form_body() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    let sized = warp::body::content_length_limit(BODY_LIMIT).and(warp::body::bytes());
    let without_length = warp::header::optional::<String>("content-length").and_then(
        |length: Option<String>| async move {
            match length {
                None => Ok(Bytes::new()),
                Some(_) => Err(warp::reject::not_found()),
            }
        },
    );
    sized.or(without_length).unify()
}

type Handler = fn(&AppState, &PlivoVoiceConfig, &[(String, String)]) -> Response;

/// `POST /plivo/{name}` with a verified signature, handled by `handler`.
fn webhook(
    state: AppState,
    name: &'static str,
    handler: Handler,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path("plivo")
        .and(warp::path(name))
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(form_body())
        .and_then(move |query: String, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let Some(plivo) = state.voice.plivo() else {
                    return Ok::<_, Rejection>(not_configured());
                };
                let path = format!("/plivo/{name}");
                let params = match verify_post(plivo, &path, &query, &headers, &body) {
                    Ok(params) => params,
                    Err((status, message)) => return Ok(fail(status, message)),
                };
                if let Err(refused) = fresh_nonce(&state, &path, &headers).await {
                    return Ok(refused);
                }
                Ok(handler(&state, plivo, &params))
            }
        })
}

/// Refuses (403) a signed request whose nonce was already accepted: a captured request
/// replayed. Call only after the signature verified, so forged requests write nothing.
async fn fresh_nonce(state: &AppState, path: &str, headers: &HeaderMap) -> Result<(), Response> {
    let nonce = header(headers, NONCE_V3_HEADER);
    if state
        .replay
        .first_use(OnceKind::Nonce, nonce, state.clock.now())
        .await
    {
        return Ok(());
    }
    tracing::warn!(
        path,
        "Refused a replayed Plivo request (its nonce was already used)."
    );
    Err(fail(
        StatusCode::FORBIDDEN,
        "this signed request was already received (nonce replayed)",
    ))
}

/// The answer URL: route by `To`, hand out a stream token.
fn answer(state: &AppState, plivo: &PlivoVoiceConfig, params: &[(String, String)]) -> Response {
    let (Some(call_uuid), Some(to)) = (param(params, "CallUUID"), param(params, "To")) else {
        tracing::warn!("Answer request without CallUUID or To.");
        return xml_reply(xml::error_xml());
    };
    let Some(snapshot) = state.voice.business_for_number(to) else {
        tracing::warn!(call = %call_uuid, "A call came in for a number no business owns.");
        return xml_reply(xml::not_configured_xml());
    };
    if let Some(reason) = state.store.write_outage() {
        return xml_reply(storage_down_answer(&snapshot, call_uuid, &reason));
    }
    let business_id = snapshot.business.id.clone();
    let token = match state.voice.answer(
        call_uuid,
        &business_id,
        param(params, "From"),
        state.clock.now(),
    ) {
        Ok(token) => token,
        Err(VoiceError::Busy { limit }) => {
            return xml_reply(busy_answer(&snapshot, call_uuid, limit));
        }
        Err(e) => {
            tracing::warn!(call = %call_uuid, error = %e, "Cannot take the call.");
            return xml_reply(xml::error_xml());
        }
    };
    let base = plivo.public_base_url.trim_end_matches('/');
    let stream_url = vartalaap_telephony::token::stream_url(base, "plivo/stream", &token);
    let options = StreamOptions {
        // Plivo's own cap, a minute past ours: a stuck stream cannot bill for a day.
        stream_timeout_secs: Some(
            u32::try_from(state.voice.max_call().as_secs() + 60).unwrap_or(u32::MAX),
        ),
        status_callback_url: Some(format!("{base}/plivo/stream-status")),
        extra_headers: Vec::new(),
        after: AfterStream::Hangup,
    };
    match xml::answer_xml(&stream_url, &options) {
        Ok(doc) => {
            tracing::info!(call = %call_uuid, business = %business_id, "Answered a call.");
            xml_reply(doc)
        }
        Err(e) => {
            tracing::error!(call = %call_uuid, error = %e, "Cannot render the answer XML (check PUBLIC_BASE_URL).");
            xml_reply(xml::error_xml())
        }
    }
}

/// The answer for a call over `MAX_CONCURRENT_CALLS`: the business's `when_busy` choice — a
/// spoken apology in its default language, or a transfer to its `transfer_phone`.
fn busy_answer(
    snapshot: &vartalaap_config::BusinessSnapshot,
    call_uuid: &str,
    limit: usize,
) -> String {
    let business = &snapshot.business;
    let transfer_to = match business.when_busy {
        WhenBusy::Transfer => business.transfer_phone.as_deref().and_then(routing_number),
        WhenBusy::Apologise => None,
    };
    tracing::warn!(
        call = %call_uuid,
        business = %business.id,
        limit,
        transferred = transfer_to.is_some(),
        "Turned a call away: every line is busy (MAX_CONCURRENT_CALLS)."
    );
    match transfer_to {
        Some(e164) => xml::dial_xml(&e164),
        None => xml::busy_xml(business.languages.default != Lang::En),
    }
}

/// The answer while the database cannot write (disk full or failing): the bot could not keep
/// a booking or even the call's log, so the caller hears an apology and is put through to the
/// business's `transfer_phone` — or, without one, hears the apology and the call ends. Either
/// way never the silence of a session that cannot start.
fn storage_down_answer(
    snapshot: &vartalaap_config::BusinessSnapshot,
    call_uuid: &str,
    reason: &str,
) -> String {
    let business = &snapshot.business;
    let transfer_to = business.transfer_phone.as_deref().and_then(routing_number);
    tracing::warn!(
        call = %call_uuid,
        business = %business.id,
        reason,
        transferred = transfer_to.is_some(),
        "Turned a call away: the database cannot write (see /health)."
    );
    xml::trouble_xml(
        business.languages.default != Lang::En,
        transfer_to.as_deref(),
    )
}

/// Hang-up callback: the call is over. A live session records its own end; a call answered
/// here whose stream never connected is recorded now with Plivo's duration.
fn ended(state: &AppState, _: &PlivoVoiceConfig, params: &[(String, String)]) -> Response {
    let event = match HangupEvent::from_params(params) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "Hang-up callback without the fields it needs.");
            return warp::reply().into_response();
        }
    };
    let info = HangupInfo {
        duration_secs: event.duration_secs,
        by_caller: event
            .hangup_source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("caller")),
    };
    let what = match state.voice.hung_up(&event.call_uuid, info) {
        Hungup::Live => "live",
        Hungup::NeverStreamed(_) => "never_streamed",
        Hungup::Unknown => "unknown",
    };
    tracing::info!(
        call = %event.call_uuid,
        session = what,
        cause = event.hangup_cause.as_deref().unwrap_or(""),
        duration = ?event.duration_secs,
        "Plivo reports a hang-up."
    );
    warp::reply().into_response()
}

/// Stream status callback: both naming schemes (protocols §1.4); a stopped or dropped stream
/// ends the session.
fn stream_status(state: &AppState, _: &PlivoVoiceConfig, params: &[(String, String)]) -> Response {
    let event = param(params, "Event").unwrap_or("");
    let call_uuid = param(params, "CallUUID").unwrap_or("");
    tracing::info!(call = %call_uuid, event, "Plivo stream status.");
    if matches!(event, "StopStream" | "DroppedStream" | "stopped" | "failed")
        && !call_uuid.is_empty()
    {
        state.voice.call_ended(call_uuid);
    }
    warp::reply().into_response()
}

/// `POST /plivo/transfer/{business_id}`: the `<Dial>` a REST transfer fetches.
fn transfer(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("plivo" / "transfer" / String)
        .and(warp::post())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(form_body())
        .and_then(
            move |business_id: String, query: String, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    Ok::<_, Rejection>(
                        transfer_reply(&state, &business_id, &query, &headers, &body).await,
                    )
                }
            },
        )
}

async fn transfer_reply(
    state: &AppState,
    business_id: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(plivo) = state.voice.plivo() else {
        return not_configured();
    };
    let path = format!("/plivo/transfer/{business_id}");
    if let Err((status, message)) = verify_post(plivo, &path, query, headers, body) {
        return fail(status, message);
    }
    if let Err(refused) = fresh_nonce(state, &path, headers).await {
        return refused;
    }
    let number = state
        .config
        .current(business_id)
        .and_then(|s| s.business.transfer_phone.clone())
        .and_then(|p| routing_number(&p));
    match number {
        Some(e164) => xml_reply(xml::dial_xml(&e164)),
        None => xml_reply(xml::error_xml()),
    }
}

/// `GET /plivo/stream?token=…`: the audio WebSocket.
fn stream(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("plivo" / "stream")
        .and(warp::get())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::ws())
        .and_then(move |query: String, headers: HeaderMap, ws: Ws| {
            let state = state.clone();
            async move { Ok::<_, Rejection>(upgrade(state, &query, &headers, ws).await) }
        })
}

/// The upgrade policy (`docs/TELEPHONY.md`, "Replays"): a valid, unexpired stream token is
/// required and works once, even across restarts; a signed upgrade must also verify and carry
/// a nonce not seen before. An unsigned upgrade is accepted on the token alone, because
/// Plivo's signing of the upgrade is unconfirmed and the token already proves the answer URL
/// (itself signed and replay-checked) issued this stream a moment ago.
async fn upgrade(state: AppState, query: &str, headers: &HeaderMap, ws: Ws) -> Response {
    let Some(plivo) = state.voice.plivo() else {
        return not_configured();
    };
    let params = parse_form(query);
    let Some(token) = param(&params, "token") else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "stream token missing: streams are opened only by the answer URL",
        );
    };
    // Plivo signs the upgrade; when it does, the signature must match.
    let signature = header(headers, SIGNATURE_V3_HEADER);
    if !signature.is_empty() {
        let ws_url = vartalaap_telephony::token::stream_url(
            plivo.public_base_url.trim_end_matches('/'),
            "plivo/stream",
            token,
        );
        if let Err(e) = verify_v3_upgrade(
            &plivo.auth_token,
            &ws_url,
            header(headers, NONCE_V3_HEADER),
            signature,
        ) {
            tracing::warn!(error = %e, "Refused a stream upgrade with a bad signature.");
            return fail(StatusCode::FORBIDDEN, e.to_string());
        }
        if let Err(refused) = fresh_nonce(&state, "/plivo/stream", headers).await {
            return refused;
        }
    }
    let now = state.clock.now();
    let claims = match state.voice.stream_claims(token, now) {
        // A Talk-to-it ticket opens only the browser's socket (`/api/talk/socket`).
        Ok(claims) if vartalaap_voice::browser::is_browser_call(&claims.call_uuid) => {
            tracing::warn!("Refused a stream upgrade with a Talk-to-it ticket.");
            return fail(
                StatusCode::FORBIDDEN,
                "a Talk-to-it ticket cannot open a Plivo stream",
            );
        }
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(error = %e, "Refused a stream upgrade.");
            return fail(StatusCode::FORBIDDEN, e.to_string());
        }
    };
    let call = match claim_once(&state, token, &claims.call_uuid, now, &PLIVO_STREAM).await {
        Ok(call) => call,
        Err((status, message)) => return fail(status, message),
    };
    let voice = state.voice.clone();
    ws.max_message_size(STREAM_MESSAGE_LIMIT)
        .max_frame_size(STREAM_MESSAGE_LIMIT)
        .on_upgrade(move |socket| run_socket(voice, call, socket))
        .into_response()
}

/// How one audio-socket route names itself and its single-use credential in refusals.
pub(super) struct UpgradeWords {
    /// The route in log lines ("stream", "Talk-to-it").
    pub route: &'static str,
    /// The reply when the credential was used before.
    pub reused: &'static str,
}

const PLIVO_STREAM: UpgradeWords = UpgradeWords {
    route: "stream",
    reused: "this stream token was already used (a call streams once)",
};

/// The end of every audio-socket upgrade, shared by the Plivo stream and Talk-to-it: record
/// the credential's call as used (a replay is refused, across restarts too), then claim the
/// answered call. A refusal is the status and message the route replies with.
pub(super) async fn claim_once(
    state: &AppState,
    token: &str,
    call_uuid: &str,
    now: chrono::DateTime<chrono::Utc>,
    words: &UpgradeWords,
) -> Result<AdmittedCall, (StatusCode, String)> {
    let route = words.route;
    if !state
        .replay
        .first_use(OnceKind::StreamToken, call_uuid, now)
        .await
    {
        tracing::warn!(call = %call_uuid, "Refused a {route} upgrade: its credential was already used.");
        return Err((StatusCode::FORBIDDEN, words.reused.to_string()));
    }
    match state.voice.admit_stream(token, now) {
        Ok(call) => Ok(call),
        Err(VoiceError::ShuttingDown) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down".to_string(),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "Refused a {route} upgrade.");
            Err((StatusCode::FORBIDDEN, e.to_string()))
        }
    }
}

/// Largest stream message (and WebSocket frame) accepted. Plivo's messages are small JSON
/// (a 20 ms media frame is ~300 bytes); anything near this is not Plivo.
pub const STREAM_MESSAGE_LIMIT: usize = 64 * 1024;

/// WebSocket close code 1009: a message was larger than the socket's limit.
pub(super) const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code 1002: the peer broke the WebSocket protocol.
pub(super) const CLOSE_PROTOCOL: u16 = 1002;
/// WebSocket close code 1000: the call ended (the bot hung up or transferred, the caller's
/// `stop`, a closed socket); the reason says how (`call ended: completed`).
pub(super) const CLOSE_NORMAL: u16 = 1000;
/// WebSocket close code 1011: the call's session failed unexpectedly.
const CLOSE_INTERNAL: u16 = 1011;

/// The close reason for a call that ended: how it ended, in the call log's words (well under
/// the 123 bytes a close frame allows).
fn close_reason(outcome: vartalaap_store::CallOutcome) -> String {
    format!("call ended: {outcome}")
}

/// Warnings about malformed stream messages, across all calls: a few per window, the rest
/// counted (each call also reports its own total once, when it ends).
static MALFORMED_WARNINGS: LogBudget = LogBudget::new(5, std::time::Duration::from_secs(10));

/// Why the reader stopped reading an audio socket (the Plivo stream or Talk-to-it).
pub(super) enum ReadEnd {
    /// The peer closed the socket (or the session stopped listening).
    Closed,
    /// The socket broke the protocol or the size limit: close it with this code and reason.
    Failed { code: u16, reason: &'static str },
}

impl ReadEnd {
    /// The end for a socket read that failed: a message over the size limit (1009) or any
    /// other protocol breach (1002). warp reports both only as error text.
    pub(super) fn read_failed(error_text: &str) -> ReadEnd {
        if error_text.contains("too long") || error_text.contains("too big") {
            ReadEnd::Failed {
                code: CLOSE_TOO_BIG,
                reason: "message too big",
            }
        } else {
            ReadEnd::Failed {
                code: CLOSE_PROTOCOL,
                reason: "protocol error",
            }
        }
    }
}

/// Pumps the socket: text frames → stream events → the call session; its commands → frames.
/// Closes the socket when the session ends (Plivo then runs `<Hangup/>`), with close code
/// 1000 and a reason naming the call's outcome, so the far end sees a normal closure rather
/// than 1005 (no status).
///
/// A message that is not a stream event is ignored (and counted; warnings are rate-limited).
/// A message or frame over [`STREAM_MESSAGE_LIMIT`] cannot be skipped (the rest of it is still
/// on the wire), so it ends the call: the socket is closed with 1009 and a warning is logged.
async fn run_socket(voice: Arc<VoiceService>, call: AdmittedCall, socket: WebSocket) {
    let call_uuid = call.call_uuid().to_string();
    let (mut sink, mut source) = socket.split();
    let (ev_tx, ev_rx) = mpsc::channel::<StreamEvent>(256);
    let (out_tx, mut out_rx) = mpsc::channel(256);
    let mut session = voice.run_call(call, ev_rx, out_tx);
    let reader_call = call_uuid.clone();
    let mut reader = tokio::spawn(async move {
        let mut malformed = 0u64;
        let end = loop {
            let Some(message) = source.next().await else {
                break ReadEnd::Closed;
            };
            let message = match message {
                Ok(message) => message,
                Err(e) => {
                    let text = e.to_string();
                    tracing::warn!(
                        call = %reader_call,
                        error = %text,
                        "The stream socket sent what no Plivo stream sends; ending the call."
                    );
                    break ReadEnd::read_failed(&text);
                }
            };
            if message.is_close() {
                break ReadEnd::Closed;
            }
            let Ok(text) = message.to_str() else { continue };
            match StreamEvent::parse(text) {
                Ok(event) => {
                    if ev_tx.send(event).await.is_err() {
                        break ReadEnd::Closed;
                    }
                }
                Err(e) => {
                    malformed += 1;
                    if let Verdict::Write { suppressed } =
                        MALFORMED_WARNINGS.admit(std::time::Instant::now())
                    {
                        tracing::warn!(
                            call = %reader_call,
                            error = %e,
                            suppressed,
                            "Ignored a malformed stream message (further ones are counted, not all logged)."
                        );
                    }
                }
            }
        };
        if malformed > 0 {
            tracing::warn!(
                call = %reader_call,
                malformed,
                "Malformed stream messages were ignored on this call."
            );
        }
        end
    });
    // A broken protocol names its own close code; otherwise the session's end decides it.
    let mut failed: Option<Message> = None;
    let mut ended: Option<Message> = None;
    let mut reading = true;
    let mut sending = true;
    loop {
        tokio::select! {
            command = out_rx.recv(), if sending => match command {
                Some(command) => {
                    if sink.send(Message::text(command.to_json())).await.is_err() {
                        break;
                    }
                }
                // The session is ending (its outputs are dropped): its summary follows.
                None => sending = false,
            },
            end = &mut reader, if reading => {
                reading = false;
                if let Ok(ReadEnd::Failed { code, reason }) = end {
                    failed = Some(Message::close_with(code, reason));
                }
            }
            summary = &mut session => {
                while let Ok(command) = out_rx.try_recv() {
                    if sink.send(Message::text(command.to_json())).await.is_err() {
                        break;
                    }
                }
                ended = Some(match summary {
                    Ok(summary) => {
                        tracing::debug!(outcome = ?summary.outcome, turns = summary.turns, "Stream closed after the call.");
                        Message::close_with(CLOSE_NORMAL, close_reason(summary.outcome))
                    }
                    Err(e) => {
                        tracing::error!(call = %call_uuid, error = %e, "The call's session stopped unexpectedly.");
                        Message::close_with(CLOSE_INTERNAL, "the call's session failed")
                    }
                });
                break;
            }
        }
    }
    if reading {
        reader.abort();
        if let Ok(ReadEnd::Failed { code, reason }) = reader.await {
            failed = Some(Message::close_with(code, reason));
        }
    }
    let close = failed.or(ended).unwrap_or_else(Message::close);
    let _ = sink.send(close).await;
    let _ = sink.close().await;
}

/// Builds the voice service from settings (models load and apologies are synthesized on the
/// blocking pool). Only the server reads settings; the voice crate gets plain values.
pub(crate) async fn voice_service(
    settings: &crate::settings::Settings,
    config: Arc<vartalaap_config::ConfigStore>,
    store: Arc<vartalaap_store::Store>,
    clock: Arc<dyn vartalaap_store::Clock>,
    metrics: Arc<super::metrics::Metrics>,
    session_secret: &crate::secrets::Secret,
    llm: Arc<vartalaap_llm::Llm>,
) -> anyhow::Result<Arc<VoiceService>> {
    use vartalaap_voice::{
        DeepgramConfig, EdgeTtsConfig, ModelPaths, ToolContext, VoiceConfig, VoiceDeps,
    };

    // A key of its own for stream tokens (and Talk-to-it tickets), derived so it cannot be
    // confused with admin login tokens.
    let derived = vartalaap_token::purpose_secret(
        session_secret.expose().as_bytes(),
        "plivo-stream-token/v1",
    );
    let models = match &settings.model_dir {
        Some(dir) => Some(ModelPaths::under(dir)),
        None => ModelPaths::from_env(),
    };
    let mut cfg = VoiceConfig::offline(models, derived.to_vec());
    cfg.max_call = std::time::Duration::from_secs(settings.max_call_seconds);
    cfg.drain_deadline = std::time::Duration::from_secs(settings.call_drain_seconds);
    cfg.max_concurrent_calls = usize::try_from(settings.max_concurrent_calls).unwrap_or(usize::MAX);
    cfg.edge = settings.edge_tts_enabled.then(|| {
        let mut edge = EdgeTtsConfig::default();
        if let Some(url) = &settings.edge_tts_base_url {
            edge.base_url = url.clone();
        }
        edge
    });
    cfg.deepgram = settings.deepgram.as_ref().map(|d| DeepgramConfig {
        api_key: d.api_key.expose().to_string(),
        base_url: d.base_url.clone(),
        ..DeepgramConfig::default()
    });
    cfg.plivo = match (&settings.plivo, &settings.public_base_url) {
        (Some(p), Some(public)) => Some(PlivoVoiceConfig {
            auth_id: p.auth_id.clone(),
            auth_token: p.auth_token.expose().to_string(),
            api_base_url: p.api_base_url.clone(),
            public_base_url: public.clone(),
        }),
        (Some(_), None) => {
            tracing::warn!(
                "PLIVO_AUTH_ID/PLIVO_AUTH_TOKEN are set but PUBLIC_BASE_URL is not: Plivo signs the public URL, so telephony stays off."
            );
            None
        }
        _ => None,
    };
    let tools_store = store.clone();
    let deps = VoiceDeps {
        config,
        store,
        runtime: Arc::new(vartalaap_script::ScriptRuntime::new(
            vartalaap_script::ScriptLimits::default(),
        )),
        clock,
        tools: Arc::new(move |ctx: ToolContext| {
            Box::new(crate::dialog::StoreTools {
                store: tools_store.clone(),
                snapshot: ctx.snapshot,
                caller: ctx.caller,
                call_id: Some(ctx.call_id),
                now_utc: crate::dialog::local_to_utc,
                booked: Vec::new(),
            })
        }),
        metrics: Arc::new(move |stage: &str, seconds: f64| metrics.turn_stage(stage, seconds)),
    };
    // What calls will run with, for whoever debugs a deployment; every secret in it prints
    // redacted (`VoiceConfig`'s `Debug`), and tests/e2e/faults.rs checks the log for them.
    tracing::debug!(config = ?cfg, "Voice service configuration.");
    let service = tokio::task::spawn_blocking(move || VoiceService::new(cfg, deps))
        .await
        .map_err(|e| anyhow::anyhow!("building the voice service was interrupted: {e}"))??;
    let service = Arc::new(service.with_llm(llm));
    // Greetings and fixed lines are synthesized in the background; serving starts now.
    drop(service.prewarm());
    Ok(service)
}
