//! `POST /api/calls/{id}/test`: "Save as test" — the call becomes a dialogue file in the
//! server's conversation-tests folder (`CONVERSATION_TESTS_DIR`, default
//! `tests/conversations` under the configuration folder) that `vartalaap test` replays. The
//! same as `vartalaap test record`, for when the server holds the database; see
//! [`crate::record_test`].

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use vartalaap_script::{ScriptLimits, ScriptRuntime};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::api::{blocking, body, parse_json, reply_json};
use super::error::ApiError;
use super::{AppState, with_auth};
use crate::record_test::{RecordError, check_name, default_name, record, write_test};

/// The route.
pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    warp::path!("api" / "calls" / u64 / "test")
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(save_as_test)
}

/// Body: the file name (default `call_<id>`) and whether to replace an existing file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    force: bool,
}

/// What was written.
#[derive(Debug, Serialize)]
struct SavedTest {
    name: String,
    /// Where the server wrote the file.
    path: String,
    /// The file's text.
    content: String,
    /// Dialogue turns in it (the greeting included).
    turns: usize,
    /// Turns the replay with the current configuration could not reproduce (also comments in
    /// the file); empty when every reply matched the call.
    notes: Vec<String>,
}

impl From<RecordError> for ApiError {
    fn from(error: RecordError) -> ApiError {
        match &error {
            RecordError::UnknownCall(_) => ApiError::not_found(error.to_string()),
            RecordError::BadName(_) => ApiError::field("name", error.to_string()),
            RecordError::Exists(_) => ApiError::refused("name", error.to_string()),
            RecordError::NoCallerTurns(_) | RecordError::UnknownBusiness { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
            }
            RecordError::Write { .. } => ApiError::internal(
                "could not write the test file (is CONVERSATION_TESTS_DIR writable?)",
                &error,
            ),
        }
    }
}

async fn save_as_test(id: u64, state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let request: SaveRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        SaveRequest::default()
    } else {
        parse_json(&bytes)?
    };
    let name = request.name.unwrap_or_else(|| default_name(id));
    check_name(&name).map_err(ApiError::from)?;
    let dir = state.conversation_tests_dir.clone();
    let config = state.config.clone();
    let force = request.force;
    let saved = blocking(&state, move |store| {
        let call = store
            .get_call(id)?
            .ok_or(RecordError::UnknownCall(id))
            .map_err(ApiError::from)?;
        let snapshot = config
            .current(&call.call.business_id)
            .ok_or_else(|| RecordError::UnknownBusiness {
                call: id,
                business: call.call.business_id.clone(),
            })
            .map_err(ApiError::from)?;
        let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
        let recording = record(&call, snapshot, runtime).map_err(ApiError::from)?;
        let path = write_test(&dir, &name, &recording.yaml, force).map_err(ApiError::from)?;
        tracing::info!(call_log = id, path = %path.display(), "Call saved as a conversation test.");
        Ok(SavedTest {
            name,
            path: path.display().to_string(),
            content: recording.yaml,
            turns: recording.turns,
            notes: recording.notes,
        })
    })
    .await?;
    Ok(reply_json(StatusCode::CREATED, &saved))
}
