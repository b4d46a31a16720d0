//! Mock Groq chat completions (`POST /openai/v1/chat/completions`), protocol notes §3.7.
//!
//! Replies come from a queue of [`GroqReply`]s — generated text, tool calls, or a recorded
//! SSE transcript replayed byte for byte from a fixture file (`tests/fixtures/groq/*.sse`),
//! which keeps tests deterministic. Every response carries the `x-request-id` and
//! `x-ratelimit-*` headers; misbehaviour ([`GroqMode`]) covers 429 with `retry-after`, 5xx,
//! a stalled or slow stream, a malformed chunk, a mid-stream `event: error`, and a stream cut
//! before `[DONE]`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Reply;

use super::{Shared, Shutdown, lock, stopped};
use crate::groq::SseParser;

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum GroqReply {
    /// Stream this text as small content deltas (one per word).
    Text(String),
    /// Answer with one tool call.
    ToolCall {
        /// Tool-call id.
        id: String,
        /// Function name.
        name: String,
        /// Arguments JSON text.
        arguments: String,
        /// Send the arguments in pieces, OpenAI-style, instead of Groq's single delta.
        fragmented: bool,
    },
    /// A recorded SSE transcript, replayed event by event.
    Sse(String),
}

impl GroqReply {
    /// Loads a recorded transcript (`*.sse`) from disk.
    pub fn from_sse_file(path: impl AsRef<Path>) -> io::Result<Self> {
        std::fs::read_to_string(path).map(Self::Sse)
    }
}

/// Misbehaviour; stays until changed.
#[derive(Debug, Clone, PartialEq)]
pub enum GroqMode {
    /// Behave.
    Normal,
    /// 429 with `retry-after: secs` and Groq's rate-limit body.
    RateLimited {
        /// Seconds in `retry-after`.
        retry_after_secs: u32,
    },
    /// This status with a Groq-shaped error body (500, 503, …).
    Status(u16),
    /// 200 headers, then nothing, forever.
    Stall,
    /// Wait this long before the first event.
    SlowFirstToken(Duration),
    /// A role chunk, then a chunk that is not JSON.
    MalformedChunk,
    /// A role chunk, then `event: error` with `tool_use_failed`.
    MidStreamError,
    /// Some content, then the connection ends without `[DONE]`.
    Truncate,
}

/// Mock settings.
#[derive(Debug, Clone)]
pub struct MockGroqConfig {
    /// The only key accepted as `Authorization: Bearer <key>`.
    pub api_key: String,
    /// Answers, used in order; when empty, "Ji." is streamed.
    pub replies: Vec<GroqReply>,
    /// Pause between SSE events (Groq streams with small gaps).
    pub event_delay: Duration,
    /// Models that answer 400 `model_decommissioned`.
    pub decommissioned: Vec<String>,
}

impl Default for MockGroqConfig {
    fn default() -> Self {
        Self {
            api_key: "gsk_test".into(),
            replies: Vec::new(),
            event_delay: Duration::from_millis(1),
            decommissioned: Vec::new(),
        }
    }
}

/// A request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct GroqRequestRecord {
    /// Whether the bearer key matched.
    pub authorized: bool,
    /// The JSON body (model, messages, tools, stream, …) for assertions.
    pub body: Value,
}

#[derive(Debug)]
struct State {
    cfg: MockGroqConfig,
    mode: GroqMode,
    queue: VecDeque<GroqReply>,
    requests: Vec<GroqRequestRecord>,
    counter: u64,
}

/// A running mock Groq; dropped → stops.
#[derive(Debug)]
pub struct MockGroq {
    /// `http://127.0.0.1:port/openai/v1`, for `GroqConfig::base_url`.
    pub base_url: String,
    state: Shared<State>,
    _shutdown: Shutdown,
}

impl MockGroq {
    /// Starts the mock on 127.0.0.1:0.
    pub async fn start(cfg: MockGroqConfig) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Shared<State> = Shared::new(std::sync::Mutex::new(State {
            queue: cfg.replies.iter().cloned().collect(),
            cfg,
            mode: GroqMode::Normal,
            requests: Vec::new(),
            counter: 0,
        }));
        let (shutdown, rx) = Shutdown::new();
        let route_state = state.clone();
        let route_rx = rx.clone();
        let route = warp::post()
            .and(warp::path!("openai" / "v1" / "chat" / "completions"))
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::bytes())
            .map(move |auth: Option<String>, body: Bytes| {
                handle(&route_state, auth.as_deref(), &body, route_rx.clone())
            });
        let server = warp::serve(route).incoming(listener).graceful(stopped(rx));
        tokio::spawn(server.run());
        Ok(Self {
            base_url: format!("http://{addr}/openai/v1"),
            state,
            _shutdown: shutdown,
        })
    }

    /// Switches behaviour.
    pub fn set_mode(&self, mode: GroqMode) {
        lock(&self.state).mode = mode;
    }

    /// Queues another answer.
    pub fn push_reply(&self, reply: GroqReply) {
        lock(&self.state).queue.push_back(reply);
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<GroqRequestRecord> {
        lock(&self.state).requests.clone()
    }
}

fn error_body(message: &str, kind: &str, code: &str) -> String {
    json!({"error": {"message": message, "type": kind, "code": code}}).to_string()
}

fn with_headers(
    mut resp: warp::reply::Response,
    request_id: &str,
    status: StatusCode,
) -> warp::reply::Response {
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    let pairs = [
        ("x-request-id", request_id.to_owned()),
        ("x-ratelimit-limit-requests", "14400".to_owned()),
        ("x-ratelimit-limit-tokens", "6000".to_owned()),
        ("x-ratelimit-remaining-requests", "14399".to_owned()),
        ("x-ratelimit-remaining-tokens", "5843".to_owned()),
        ("x-ratelimit-reset-requests", "6s".to_owned()),
        ("x-ratelimit-reset-tokens", "1.57s".to_owned()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = warp::http::HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

fn json_response(body: String, request_id: &str, status: StatusCode) -> warp::reply::Response {
    let mut resp = warp::reply::Response::new(body.into());
    resp.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("application/json"),
    );
    with_headers(resp, request_id, status)
}

fn handle(
    state: &Shared<State>,
    auth: Option<&str>,
    body: &[u8],
    shutdown: watch::Receiver<bool>,
) -> warp::reply::Response {
    let mut s = lock(state);
    s.counter += 1;
    let request_id = format!("req_mock{:08}", s.counter);
    let authorized = auth == Some(format!("Bearer {}", s.cfg.api_key).as_str());
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    s.requests.push(GroqRequestRecord {
        authorized,
        body: parsed.clone().unwrap_or(Value::Null),
    });
    if !authorized {
        let b = error_body(
            "Invalid API Key",
            "invalid_request_error",
            "invalid_api_key",
        );
        return json_response(b, &request_id, StatusCode::UNAUTHORIZED);
    }
    let Some(request) = parsed else {
        let b = error_body(
            "request body is not valid JSON",
            "invalid_request_error",
            "invalid_json",
        );
        return json_response(b, &request_id, StatusCode::BAD_REQUEST);
    };
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if model.is_empty() {
        let b = error_body(
            "`model` is required",
            "invalid_request_error",
            "invalid_request",
        );
        return json_response(b, &request_id, StatusCode::BAD_REQUEST);
    }
    if s.cfg.decommissioned.contains(&model) {
        let msg =
            format!("The model `{model}` has been decommissioned and is no longer supported.");
        let b = error_body(&msg, "invalid_request_error", "model_decommissioned");
        return json_response(b, &request_id, StatusCode::BAD_REQUEST);
    }
    match s.mode.clone() {
        GroqMode::RateLimited { retry_after_secs } => {
            let msg = format!(
                "Rate limit reached for model `{model}` in organization `org_mock` service tier on_demand on tokens per minute (TPM): Limit 6000, Used 5900, Requested 400. Please try again in {retry_after_secs}s."
            );
            let b =
                json!({"error": {"message": msg, "type": "tokens", "code": "rate_limit_exceeded"}})
                    .to_string();
            let mut resp = json_response(b, &request_id, StatusCode::TOO_MANY_REQUESTS);
            if let Ok(v) = warp::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
            return resp;
        }
        GroqMode::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let b = error_body(
                "Internal Server Error",
                "internal_server_error",
                "internal_error",
            );
            return json_response(b, &request_id, status);
        }
        _ => {}
    }
    let reply = s
        .queue
        .pop_front()
        .unwrap_or_else(|| GroqReply::Text("Ji.".into()));
    let stream = request
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mode = s.mode.clone();
    let delay = s.cfg.event_delay;
    drop(s);
    if !stream {
        return json_response(
            completion_body(&reply, &model, &request_id),
            &request_id,
            StatusCode::OK,
        );
    }
    let events = sse_events(&reply, &model, &request_id);
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
    tokio::spawn(feed(tx, events, mode, delay, shutdown));
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut resp = warp::reply::stream(body).into_response();
    resp.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("text/event-stream"),
    );
    resp.headers_mut().insert(
        "cache-control",
        warp::http::HeaderValue::from_static("no-cache"),
    );
    with_headers(resp, &request_id, StatusCode::OK)
}

async fn feed(
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    events: Vec<String>,
    mode: GroqMode,
    delay: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let send = |s: String| {
        let tx = tx.clone();
        async move { tx.send(Ok(Bytes::from(s))).await.is_ok() }
    };
    match mode {
        GroqMode::Stall => {
            // Headers are out; hold the stream open without a byte until shutdown.
            stopped(shutdown).await;
            return;
        }
        GroqMode::SlowFirstToken(wait) => tokio::time::sleep(wait).await,
        GroqMode::MalformedChunk => {
            if let Some(first) = events.first() {
                send(first.clone()).await;
            }
            send(
                "data: {\"id\":\"chatcmpl-mock\",\"choices\":[{\"delta\":{\"content\":\n\n".into(),
            )
            .await;
            return;
        }
        GroqMode::MidStreamError => {
            if let Some(first) = events.first() {
                send(first.clone()).await;
            }
            let err = json!({"error": {
                "message": "Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.",
                "type": "invalid_request_error", "code": "tool_use_failed",
                "failed_generation": "<function=check_availability{}>", "status_code": 400}});
            send(format!("event: error\ndata: {err}\n\n")).await;
            return;
        }
        GroqMode::Truncate => {
            for e in events.iter().take(2) {
                send(e.clone()).await;
            }
            return;
        }
        _ => {}
    }
    for event in events {
        if !send(event).await {
            return;
        }
        tokio::time::sleep(delay).await;
    }
}

fn chunk(
    request_id: &str,
    model: &str,
    delta: Value,
    finish: Value,
    first: bool,
    usage: Option<&Value>,
) -> String {
    let mut c = json!({
        "id": format!("chatcmpl-{request_id}"),
        "object": "chat.completion.chunk",
        "created": 1_770_770_839u64,
        "model": model,
        "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    });
    if first {
        c["x_groq"] = json!({"id": request_id, "seed": 1_535_227_698u64});
    }
    if let Some(u) = usage {
        c["x_groq"] = json!({"id": request_id, "usage": u});
        c["usage"] = u.clone();
    }
    format!("data: {c}\n\n")
}

fn usage(completion_tokens: usize) -> Value {
    json!({"queue_time": 0.01, "prompt_tokens": 42, "prompt_time": 0.001,
           "completion_tokens": completion_tokens, "completion_time": 0.02,
           "total_tokens": 42 + completion_tokens, "total_time": 0.021})
}

/// The SSE events (each ending in a blank line) for a reply.
fn sse_events(reply: &GroqReply, model: &str, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    match reply {
        GroqReply::Sse(transcript) => {
            // Replay event by event, exactly as recorded.
            let normalized = transcript.replace("\r\n", "\n");
            for block in normalized.split("\n\n").filter(|b| !b.trim().is_empty()) {
                out.push(format!("{block}\n\n"));
            }
            return out;
        }
        GroqReply::Text(text) => {
            out.push(chunk(
                id,
                model,
                json!({"role": "assistant", "content": ""}),
                Value::Null,
                true,
                None,
            ));
            let words: Vec<&str> = text.split_inclusive(' ').collect();
            for w in &words {
                out.push(chunk(
                    id,
                    model,
                    json!({"content": w}),
                    Value::Null,
                    false,
                    None,
                ));
            }
            let u = usage(words.len());
            out.push(chunk(id, model, json!({}), json!("stop"), false, Some(&u)));
        }
        GroqReply::ToolCall {
            id: call_id,
            name,
            arguments,
            fragmented,
        } => {
            out.push(chunk(
                id,
                model,
                json!({"role": "assistant", "content": null}),
                Value::Null,
                true,
                None,
            ));
            if *fragmented {
                out.push(chunk(
                    id,
                    model,
                    json!({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                    Value::Null,
                    false,
                    None,
                ));
                let chars: Vec<char> = arguments.chars().collect();
                for piece in chars.chunks(8) {
                    let piece: String = piece.iter().collect();
                    out.push(chunk(
                        id,
                        model,
                        json!({"tool_calls": [{"index": 0,
                        "function": {"arguments": piece}}]}),
                        Value::Null,
                        false,
                        None,
                    ));
                }
            } else {
                out.push(chunk(
                    id,
                    model,
                    json!({"tool_calls": [{"id": call_id, "type": "function",
                    "function": {"name": name, "arguments": arguments}, "index": 0}]}),
                    Value::Null,
                    false,
                    None,
                ));
            }
            let u = usage(12);
            out.push(chunk(
                id,
                model,
                json!({}),
                json!("tool_calls"),
                false,
                Some(&u),
            ));
        }
    }
    out.push("data: [DONE]\n\n".to_owned());
    out
}

/// The non-streaming body for a reply (§3.3 shape).
fn completion_body(reply: &GroqReply, model: &str, id: &str) -> String {
    let (message, finish) = match reply {
        GroqReply::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        GroqReply::ToolCall {
            id: call_id,
            name,
            arguments,
            ..
        } => (
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": call_id, "type": "function",
                "function": {"name": name, "arguments": arguments}}]}),
            "tool_calls",
        ),
        GroqReply::Sse(transcript) => {
            // Collapse the recorded stream into its text.
            let mut text = String::new();
            let mut parser = SseParser::default();
            for ev in parser.push(transcript.as_bytes()) {
                if let Ok(v) = serde_json::from_str::<Value>(&ev.data)
                    && let Some(c) = v
                        .pointer("/choices/0/delta/content")
                        .and_then(Value::as_str)
                {
                    text.push_str(c);
                }
            }
            (json!({"role": "assistant", "content": text}), "stop")
        }
    };
    json!({
        "id": format!("chatcmpl-{id}"), "object": "chat.completion", "created": 1_770_770_843u64,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage(5), "system_fingerprint": "fp_mock", "x_groq": {"id": id},
        "service_tier": "on_demand"
    })
    .to_string()
}
