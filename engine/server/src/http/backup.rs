//! `GET /api/admin/backup`: a consistent snapshot of the live database, for `vartalaap backup`.
//!
//! Why an endpoint: `serve` holds the redb file open (one process may write it), so another
//! process cannot read it while the server runs. The server takes the snapshot itself inside
//! one read transaction ([`vartalaap_store::Store::backup_to`]), which does not block calls
//! or bookings, and sends the file. The snapshot is written next to the database (the data
//! directory is writable under the systemd unit; `/tmp` may be private or small) and removed
//! once read.

use warp::http::StatusCode;
use warp::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::error::ApiError;
use super::{AppState, with_auth};

/// The admin backup route (bearer token required).
pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_state = {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    warp::path!("api" / "admin" / "backup")
        .and(warp::get())
        .and(with_auth(with_state))
        .and_then(move || {
            let state = state.clone();
            async move { backup(state).await }
        })
}

async fn backup(state: AppState) -> Result<Response, Rejection> {
    let store = state.store.clone();
    let snapshot = tokio::task::spawn_blocking(move || {
        let dir = store
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(".backup-")
            .suffix(".redb")
            .tempfile_in(&dir)
            .map_err(|e| ApiError::internal("could not create the backup file", &e))?;
        let report = store
            .backup_to(file.path())
            .map_err(|e| ApiError::internal("backup failed", &e))?;
        // The file is removed when `file` drops, after it has been read.
        let bytes = std::fs::read(file.path())
            .map_err(|e| ApiError::internal("could not read the backup file", &e))?;
        Ok::<_, ApiError>((report, bytes))
    })
    .await
    .map_err(|e| warp::reject::custom(ApiError::internal("backup task failed", &e)))?
    .map_err(warp::reject::custom)?;
    let (report, bytes) = snapshot;
    tracing::info!(
        schema_version = report.schema_version,
        bytes = report.bytes,
        reservations = report.rows("reservations"),
        calls = report.rows("call_logs"),
        jobs = report.rows("jobs"),
        "Backup taken."
    );
    let mut response = warp::reply::with_status(bytes, StatusCode::OK).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"vartalaap-backup.redb\""),
    );
    Ok(response)
}
