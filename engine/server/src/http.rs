//! HTTP routes. `routes(state)` builds the whole app so tests can drive it without a socket.
//!
//! - `GET /health` — liveness: the process is up and serving.
//! - `GET /health/config` — per business: live config version, when it was loaded, and the
//!   last rejected edit with its errors (so an owner sees why a save did not take effect).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use vartalaap_config::ConfigStore;
use warp::Filter;
use warp::http::StatusCode;

/// Shared, immutable-by-design state every handler can see.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ConfigStore>,
    pub started: Instant,
}

/// Every route the server answers, with JSON errors for unknown paths and bad methods.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    health(state.clone())
        .or(health_config(state))
        .recover(handle_rejection)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    businesses: usize,
}

/// `GET /health`
fn health(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("health").and(warp::get()).map(move || {
        warp::reply::json(&Health {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: state.started.elapsed().as_secs(),
            businesses: state.config.list().len(),
        })
    })
}

/// `GET /health/config`
fn health_config(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("health" / "config")
        .and(warp::get())
        .map(move || warp::reply::json(&state.config.health()))
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

/// Turns warp's rejections into JSON bodies with the right status, never a bare 500.
async fn handle_rejection(rejection: warp::Rejection) -> Result<impl warp::Reply, Infallible> {
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "no such route".to_string())
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route".to_string(),
        )
    } else {
        tracing::warn!(?rejection, "Unhandled rejection.");
        (StatusCode::BAD_REQUEST, "bad request".to_string())
    };
    Ok(warp::reply::with_status(
        warp::reply::json(&ErrorBody { error: message }),
        status,
    ))
}
