//! HTTP routes. [`routes`] builds the whole app so tests can drive it without a socket.
//!
//! - `GET /health` — liveness: the process is up and serving; 503 with the reason while the
//!   database cannot write (disk full or failing), so a monitor sees the outage.
//! - `GET /health/config` — per business: live config version, when it was loaded, and the
//!   last rejected edit with its errors (so an owner sees why a save did not take effect).
//! - `GET /metrics` — Prometheus text format.
//! - `GET /openapi.json` — the OpenAPI 3.1 description of every route.
//! - `GET /` → `/admin/`, the owner's web app ([`admin_web`], built from `web/`).
//! - `POST /api/auth/login` — admin password → bearer token; every other `/api` route needs it.
//! - `GET /api/businesses` — each live business's names, languages and booking limits.
//! - `GET /api/admin/backup` — a consistent database snapshot (`vartalaap backup`).
//! - `/api/...` — see [`api`] and `docs/API.md`.
//! - `/plivo/...` — Plivo's webhooks and the call audio WebSocket, see [`plivo`].
//! - `/api/talk/...` — "Talk to it": the admin's browser calls the bot, see [`talk`].
//!
//! A documented path called with a method it does not have gets 405 with `Allow` ([`allow`]).

pub mod admin_web;
mod allow;
pub mod api;
pub mod auth;
mod backup;
mod booking_rules;
mod businesses;
mod config_files;
mod conversations;
pub mod edge;
pub mod error;
pub mod listener;
mod log_budget;
pub mod metrics;
pub(crate) mod plivo;
pub mod replay;
mod reviews;
mod save_test;
mod staff_edits;
mod stats;
mod talk;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use vartalaap_config::ConfigStore;
use vartalaap_store::{Clock, Store};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::secrets::Secret;
use error::ApiError;
use metrics::Metrics;

/// Largest request body accepted anywhere (JSON bodies here are small).
pub const BODY_LIMIT: u64 = 64 * 1024;

/// The hand-written part of the OpenAPI document (paths, request/response wrappers).
const OPENAPI_BASE: &str = include_str!("openapi.json");

/// Record shapes come from `schemas/*.json`, the single source of truth the store is tested
/// against, so the API description cannot drift from what the API returns.
const RECORD_SCHEMAS: [(&str, &str); 8] = [
    (
        "Reservation",
        include_str!("../../../../schemas/reservation.json"),
    ),
    ("CallLog", include_str!("../../../../schemas/call_log.json")),
    (
        "ConversationTurn",
        include_str!("../../../../schemas/conversation_turn.json"),
    ),
    (
        "CallerPreferences",
        include_str!("../../../../schemas/caller_preferences.json"),
    ),
    (
        "CallbackRequest",
        include_str!("../../../../schemas/callback_request.json"),
    ),
    ("Job", include_str!("../../../../schemas/job.json")),
    (
        "TranscriptReview",
        include_str!("../../../../schemas/transcript_review.json"),
    ),
    (
        "ImprovementSuggestion",
        include_str!("../../../../schemas/improvement_suggestion.json"),
    ),
];

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub fn openapi_document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc: serde_json::Value =
            serde_json::from_str(OPENAPI_BASE).unwrap_or_else(|_| serde_json::json!({}));
        for (name, text) in RECORD_SCHEMAS {
            let mut schema: serde_json::Value =
                serde_json::from_str(text).unwrap_or_else(|_| serde_json::json!({}));
            if let Some(obj) = schema.as_object_mut() {
                // Embedded schemas must not rebase references or declare a dialect.
                obj.remove("$id");
                obj.remove("$schema");
            }
            doc["components"]["schemas"][name] = schema;
        }
        doc
    })
}

/// Secrets and counters behind admin login.
pub struct AuthState {
    /// Signs and verifies admin login tokens (derived from `SESSION_SECRET`).
    pub tokens: vartalaap_token::TokenKey,
    /// argon2 hash of the admin password; `None` disables login.
    pub admin_password_hash: Option<Secret>,
    /// Attempts per client address (counted before hashing).
    pub limiter: auth::LoginLimiter,
    /// Bounds how many password hashes run at once, across all clients.
    pub password_checks: auth::PasswordChecks,
}

/// Shared state every handler can see. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ConfigStore>,
    pub store: Arc<Store>,
    /// The only clock handlers read, so tests can move time.
    pub clock: Arc<dyn Clock>,
    pub auth: Arc<AuthState>,
    pub metrics: Arc<Metrics>,
    /// Live text conversations (admin "try it" panel, black-box tests).
    pub chat: Arc<crate::chat::ChatService>,
    /// Phone calls (Plivo routes, call sessions).
    pub voice: Arc<vartalaap_voice::VoiceService>,
    /// Plivo nonces and stream tokens already accepted (replays are refused).
    pub replay: Arc<replay::ReplayGuard>,
    /// Trusted proxies (the real client address) and the headers every reply carries.
    pub edge: Arc<edge::Edge>,
    /// The built admin web app served under `/admin`.
    pub admin_web: Arc<admin_web::AdminWeb>,
    /// Where "Save as test" writes dialogue files (`CONVERSATION_TESTS_DIR`).
    pub conversation_tests_dir: std::path::PathBuf,
    pub started: Instant,
}

/// Every route the server answers, with JSON errors for anything else.
pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let metrics = state.metrics.clone();
    let edge = state.edge.clone();
    health(state.clone())
        .or(health_config(state.clone()))
        .unify()
        .or(metrics_route(state.clone()))
        .unify()
        .or(openapi())
        .unify()
        .or(admin_web::routes(state.admin_web.clone()))
        .unify()
        .or(login(state.clone()))
        .unify()
        .or(businesses::route(state.clone()))
        .unify()
        .or(conversations::routes(state.clone()))
        .unify()
        .or(plivo::routes(state.clone()))
        .unify()
        .or(talk::routes(state.clone()))
        .unify()
        .or(backup::route(state.clone()))
        .unify()
        .or(staff_edits::routes(state.clone()))
        .unify()
        .or(stats::route(state.clone()))
        .unify()
        .or(reviews::routes(state.clone()))
        .unify()
        .or(save_test::route(state.clone()))
        .unify()
        .or(config_files::routes(state.clone()))
        .unify()
        .or(api::routes(state))
        .unify()
        .or(allow::method_not_allowed())
        .unify()
        .recover(error::handle_rejection)
        .unify()
        .map(move |reply: Response| edge.headers.apply(reply))
        .with(warp::log::custom(move |info| {
            metrics.http_request(info.method().as_str(), info.status().as_u16());
        }))
}

#[derive(Serialize)]
struct Health {
    /// `ok`, or `degraded` while the database cannot write.
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    businesses: usize,
    /// Present only during a storage outage.
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageOutage>,
}

/// What an operator needs to know while the database refuses writes.
#[derive(Serialize)]
struct StorageOutage {
    writable: bool,
    /// The I/O error of the last refused write (no paths, no records).
    reason: String,
    /// What to do about it.
    action: &'static str,
}

/// `GET /health`: 200 while the server can do its work, 503 (`degraded`) while the database
/// cannot write — calls are then turned away with an apology and bookings fail, so a monitor
/// must see it even though the process answers.
fn health(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("health").and(warp::get()).map(move || {
        let storage = state.store.write_outage().map(|reason| StorageOutage {
            writable: false,
            reason,
            action: "free space on the disk that holds DATA_DIR (or fix the disk); writes \
                     resume within seconds without a restart",
        });
        let status = if storage.is_some() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        let body = Health {
            status: if storage.is_some() { "degraded" } else { "ok" },
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: state.started.elapsed().as_secs(),
            businesses: state.config.list().len(),
            storage,
        };
        warp::reply::with_status(warp::reply::json(&body), status).into_response()
    })
}

/// `GET /health/config`
fn health_config(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("health" / "config")
        .and(warp::get())
        .map(move || warp::reply::json(&state.config.health()).into_response())
}

/// `GET /metrics`
fn metrics_route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("metrics").and(warp::get()).map(move || {
        state.metrics.set_live_businesses(state.config.list().len());
        warp::reply::with_header(
            state.metrics.render(),
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
        .into_response()
    })
}

/// `GET /openapi.json`
fn openapi() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("openapi.json")
        .and(warp::get())
        .map(|| warp::reply::json(openapi_document()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    password: String,
}

#[derive(Serialize)]
struct LoginReply {
    token: String,
    token_type: &'static str,
    expires_at: String,
}

/// `POST /api/auth/login` `{"password": …}` → `{"token", "token_type", "expires_at"}`.
fn login(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "auth" / "login")
        .and(warp::post())
        .and(edge::client(state.edge.clone()))
        .and(warp::body::content_length_limit(4 * 1024))
        .and(warp::body::bytes())
        .and_then(move |client: edge::Client, bytes: Bytes| {
            let state = state.clone();
            async move { login_handler(state, client, bytes).await }
        })
}

async fn login_handler(
    state: AppState,
    client: edge::Client,
    bytes: Bytes,
) -> Result<Response, Rejection> {
    let ip = client.ip;
    let now = state.clock.now();
    let input: Login = api::parse_json(&bytes)?;
    let Some(hash) = state.auth.admin_password_hash.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "admin login is not configured: set ADMIN_PASSWORD_HASH",
        )
        .into());
    };
    // Counted before the slow hash, so parallel guesses cannot all get past the limit.
    if let Err(wait) = state.auth.limiter.begin(ip, now) {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed logins; try again in {wait} seconds"),
            )
        }
        .into());
    }
    let ok = match state
        .auth
        .password_checks
        .verify(hash, input.password)
        .await
    {
        Ok(ok) => ok,
        Err(busy) => {
            return Err(ApiError {
                retry_after: Some(5),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, busy.to_string())
            }
            .into());
        }
    };
    if !ok {
        tracing::warn!(client = %ip, scheme = %client.scheme, "Admin login failed.");
        return Err(ApiError::unauthorized("wrong password").into());
    }
    state.auth.limiter.succeeded(ip);
    let claims = auth::Claims::admin(now, auth::TOKEN_TTL);
    let token = auth::sign_token(&state.auth.tokens, &claims);
    tracing::info!(client = %ip, scheme = %client.scheme, "Admin logged in.");
    Ok(warp::reply::json(&LoginReply {
        token,
        token_type: "Bearer",
        expires_at: (now + auth::TOKEN_TTL).to_rfc3339(),
    })
    .into_response())
}

/// Requires a valid `Authorization: Bearer <token>`; rejects with 401 otherwise.
pub fn with_auth(
    state: impl Filter<Extract = (AppState,), Error = Infallible> + Clone + Send + Sync + 'static,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    state
        .and(warp::header::optional::<String>("authorization"))
        .and_then(|state: AppState, header: Option<String>| async move {
            let token = header
                .as_deref()
                .and_then(|h| {
                    h.strip_prefix("Bearer ")
                        .or_else(|| h.strip_prefix("bearer "))
                })
                .map(str::trim);
            let result = match token {
                None => Err(auth::TokenError::Missing),
                Some(token) => {
                    auth::verify_token(&state.auth.tokens, token, state.clock.now()).map(|_| ())
                }
            };
            result.map_err(|e| warp::reject::custom(ApiError::unauthorized(e.to_string())))
        })
        .untuple_one()
}
