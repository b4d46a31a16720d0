//! Mock Plivo REST API (protocol notes §1.10, REST side).
//!
//! `POST /v1/Account/{id}/Call/{uuid}/` → 202 transfer JSON; `DELETE …/Call/{uuid}/` → 204,
//! then 404 on repeat (the call is gone); Basic auth checked; 4xx/5xx bodies are
//! `{"api_id":…, "error":…}` as Plivo sends them. Every request is recorded.

use std::collections::HashSet;
use std::io;

use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use warp::Filter;
use warp::http::{Method, StatusCode};

use super::{Shared, Shutdown, lock, stopped};

/// Misbehaviour; stays until changed.
#[derive(Debug, Clone, PartialEq)]
pub enum PlivoMode {
    /// Behave.
    Normal,
    /// Answer every request with this status and a Plivo error body.
    Status(u16),
    /// Accept the request and never answer.
    Stall,
}

/// A request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct PlivoRequestRecord {
    /// `POST` or `DELETE`.
    pub method: String,
    /// Path, e.g. `/v1/Account/MA…/Call/abc/`.
    pub path: String,
    /// Whether Basic auth matched.
    pub authorized: bool,
    /// JSON body (null for DELETE).
    pub body: Value,
}

#[derive(Debug)]
struct State {
    auth_id: String,
    auth_token: String,
    mode: PlivoMode,
    ended: HashSet<String>,
    requests: Vec<PlivoRequestRecord>,
}

/// A running mock Plivo REST API; dropped → stops.
#[derive(Debug)]
pub struct MockPlivoRest {
    /// `http://127.0.0.1:port`, for `PlivoRestConfig::base_url`.
    pub base_url: String,
    state: Shared<State>,
    _shutdown: Shutdown,
}

impl MockPlivoRest {
    /// Starts the mock accepting exactly these credentials.
    pub async fn start(auth_id: &str, auth_token: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Shared<State> = Shared::new(std::sync::Mutex::new(State {
            auth_id: auth_id.to_owned(),
            auth_token: auth_token.to_owned(),
            mode: PlivoMode::Normal,
            ended: HashSet::new(),
            requests: Vec::new(),
        }));
        let (shutdown, rx) = Shutdown::new();
        let route_state = state.clone();
        let route_rx = rx.clone();
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::bytes())
            .then(
                move |method: Method,
                      path: warp::path::FullPath,
                      auth: Option<String>,
                      body: Bytes| {
                    let state = route_state.clone();
                    let stop = route_rx.clone();
                    async move {
                        handle(&state, &method, path.as_str(), auth.as_deref(), &body, stop).await
                    }
                },
            );
        let server = warp::serve(route).incoming(listener).graceful(stopped(rx));
        tokio::spawn(server.run());
        Ok(Self {
            base_url: format!("http://{addr}"),
            state,
            _shutdown: shutdown,
        })
    }

    /// Switches behaviour.
    pub fn set_mode(&self, mode: PlivoMode) {
        lock(&self.state).mode = mode;
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<PlivoRequestRecord> {
        lock(&self.state).requests.clone()
    }
}

fn reply(status: StatusCode, body: Option<Value>) -> warp::reply::Response {
    let mut resp = match body {
        Some(b) => {
            let mut r = warp::reply::Response::new(b.to_string().into());
            r.headers_mut().insert(
                "content-type",
                warp::http::HeaderValue::from_static("application/json"),
            );
            r
        }
        None => warp::reply::Response::new(warp::hyper::body::Bytes::new().into()),
    };
    *resp.status_mut() = status;
    resp
}

fn error(status: StatusCode, message: &str) -> warp::reply::Response {
    reply(
        status,
        Some(json!({"api_id": "mock-api-id", "error": message})),
    )
}

async fn handle(
    state: &Shared<State>,
    method: &Method,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> warp::reply::Response {
    let (mode, call) = {
        let mut s = lock(state);
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", s.auth_id, s.auth_token))
        );
        let authorized = auth == Some(expected.as_str());
        s.requests.push(PlivoRequestRecord {
            method: method.to_string(),
            path: path.to_owned(),
            authorized,
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        });
        if !authorized {
            return error(StatusCode::UNAUTHORIZED, "authentication failed");
        }
        let prefix = format!("/v1/Account/{}/Call/", s.auth_id);
        let call = path
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('/'))
            .filter(|c| !c.is_empty() && !c.contains('/'))
            .map(str::to_owned);
        (s.mode.clone(), call)
    };
    match mode {
        PlivoMode::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, "internal server error");
        }
        PlivoMode::Stall => {
            // Never answer; give up only when the mock shuts down.
            stopped(shutdown).await;
            return error(StatusCode::SERVICE_UNAVAILABLE, "mock shutting down");
        }
        PlivoMode::Normal => {}
    }
    let Some(call) = call else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let mut s = lock(state);
    match *method {
        Method::DELETE => {
            if s.ended.insert(call) {
                reply(StatusCode::NO_CONTENT, None)
            } else {
                error(StatusCode::NOT_FOUND, "not found")
            }
        }
        Method::POST => {
            if s.ended.contains(&call) {
                return error(StatusCode::NOT_FOUND, "not found");
            }
            let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let legs = parsed.get("legs").and_then(Value::as_str).unwrap_or("");
            let url_key = match legs {
                "aleg" | "both" => "aleg_url",
                "bleg" => "bleg_url",
                _ => return error(StatusCode::BAD_REQUEST, "legs must be aleg, bleg or both"),
            };
            if parsed
                .get(url_key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return error(StatusCode::BAD_REQUEST, &format!("{url_key} is required"));
            }
            reply(
                StatusCode::ACCEPTED,
                Some(json!({"message": "call transfered", "api_id": "mock-api-id"})),
            )
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    }
}
