//! `/api/config/*`: the business-config editor over HTTP (see [`crate::config_editor`] for the
//! rules): list, read, check without saving, save (atomic, then reloaded so it is live at
//! once), history with diffs, revert. Admin token required on every route.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use vartalaap_config::{Diagnostic, ReloadOutcome};

use super::api::{param, parse_json, query, reply_json};
use super::error::ApiError;
use super::{AppState, with_auth};
use crate::config_editor::{
    Check, ConfigEditor, ConfigFile, EditError, HistoryEntry, MAX_FILE_BYTES,
};

/// Largest request body on these routes: a file of [`MAX_FILE_BYTES`] as a JSON string, with
/// room for escapes.
const EDITOR_BODY_LIMIT: u64 = 4 * MAX_FILE_BYTES as u64;

/// Every `/api/config` route.
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let history_dir = state
        .store
        .path()
        .parent()
        .map(|p| p.join("config-history"))
        .unwrap_or_else(|| "config-history".into());
    let editor = Arc::new(ConfigEditor::new(state.config.root(), history_dir));
    let s = move || {
        let state = state.clone();
        let editor = editor.clone();
        warp::any().map(move || (state.clone(), editor.clone()))
    };
    let auth = {
        let s = s.clone();
        move || with_auth(s().map(|(state, _): (AppState, Arc<ConfigEditor>)| state))
    };
    let body = || warp::body::content_length_limit(EDITOR_BODY_LIMIT).and(warp::body::bytes());
    let list = warp::path!("api" / "config" / "files")
        .and(warp::get())
        .and(s())
        .and(auth())
        .and_then(list);
    let read = warp::path!("api" / "config" / "files" / String / String)
        .and(warp::get())
        .and(s())
        .and(auth())
        .and_then(read);
    let save = warp::path!("api" / "config" / "files" / String / String)
        .and(warp::put())
        .and(s())
        .and(auth())
        .and(body())
        .and_then(save);
    let check = warp::path!("api" / "config" / "files" / String / String / "check")
        .and(warp::post())
        .and(s())
        .and(auth())
        .and(body())
        .and_then(check);
    let history = warp::path!("api" / "config" / "history")
        .and(warp::get())
        .and(s())
        .and(auth())
        .and(query())
        .and_then(history);
    let history_detail = warp::path!("api" / "config" / "history" / u64)
        .and(warp::get())
        .and(s())
        .and(auth())
        .and_then(history_detail);
    let revert = warp::path!("api" / "config" / "history" / u64 / "revert")
        .and(warp::post())
        .and(s())
        .and(auth())
        .and_then(revert);
    list.or(read)
        .unify()
        .or(save)
        .unify()
        .or(check)
        .unify()
        .or(history)
        .unify()
        .or(history_detail)
        .unify()
        .or(revert)
        .unify()
}

type Ctx = (AppState, Arc<ConfigEditor>);

/// Runs editor work (file I/O, validation) on the blocking pool.
async fn blocking<T, F>(editor: Arc<ConfigEditor>, f: F) -> Result<T, Rejection>
where
    T: Send + 'static,
    F: FnOnce(&ConfigEditor) -> Result<T, EditError> + Send + 'static,
{
    match tokio::task::spawn_blocking(move || f(&editor)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(warp::reject::custom(edit_error(e))),
        Err(e) => Err(warp::reject::custom(ApiError::internal(
            "configuration editor task failed",
            &e,
        ))),
    }
}

/// How each editor error reaches the client.
fn edit_error(e: EditError) -> ApiError {
    match e {
        // A name no file can have is "no such file" (404): the document's patterns describe
        // names, and which directory takes which extension is the server's business.
        EditError::BadName(m) => ApiError {
            field: Some("name".into()),
            ..ApiError::not_found(m)
        },
        e @ (EditError::NotFound(_) | EditError::NoHistory(_)) => {
            ApiError::not_found(e.to_string())
        }
        e @ EditError::TooLarge { .. } => ApiError {
            field: Some("content".into()),
            ..ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        },
        e @ EditError::Changed { .. } => ApiError::refused("base_sha256", e.to_string()),
        e @ EditError::Invalid { .. } => ApiError::refused("content", e.to_string()),
        EditError::Io { context, source } => ApiError::internal(&context, &source),
    }
}

#[derive(Serialize)]
struct FileList {
    files: Vec<crate::config_editor::FileInfo>,
}

async fn list((_, editor): Ctx) -> Result<Response, Rejection> {
    let files = blocking(editor, |e| e.list()).await?;
    Ok(reply_json(StatusCode::OK, &FileList { files }))
}

async fn read(dir: String, name: String, (_, editor): Ctx) -> Result<Response, Rejection> {
    let file = ConfigFile::parse(&dir, &name).map_err(edit_error)?;
    let text = blocking(editor, move |e| e.read(&file)).await?;
    Ok(reply_json(StatusCode::OK, &text))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    content: String,
}

async fn check(
    dir: String,
    name: String,
    (_, editor): Ctx,
    bytes: Bytes,
) -> Result<Response, Rejection> {
    let file = ConfigFile::parse(&dir, &name).map_err(edit_error)?;
    let body: CheckBody = parse_json(&bytes)?;
    let check: Check = blocking(editor, move |e| e.check(&file, &body.content)).await?;
    Ok(reply_json(StatusCode::OK, &check))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    content: String,
    /// The `sha256` the client read; a save over someone else's change is refused.
    #[serde(default)]
    base_sha256: Option<String>,
}

/// What a reload did with the saved files (`vartalaap_config::ReloadOutcome`).
#[derive(Serialize)]
struct Reload {
    added: Vec<String>,
    updated: Vec<String>,
    rejected: Vec<String>,
    removed: Vec<String>,
}

impl From<ReloadOutcome> for Reload {
    fn from(o: ReloadOutcome) -> Reload {
        Reload {
            added: o.added,
            updated: o.updated,
            rejected: o.rejected,
            removed: o.removed,
        }
    }
}

#[derive(Serialize)]
struct SaveReply {
    /// The file as it is now.
    path: String,
    sha256: String,
    /// False when the text was already what is stored (nothing written, no history entry).
    saved: bool,
    history: Option<HistoryEntry>,
    reload: Reload,
}

/// A refused save: 409 with every problem at its line.
#[derive(Serialize)]
struct Rejected {
    error: String,
    field: &'static str,
    errors: Vec<Diagnostic>,
}

async fn save(
    dir: String,
    name: String,
    (state, editor): Ctx,
    bytes: Bytes,
) -> Result<Response, Rejection> {
    let file = ConfigFile::parse(&dir, &name).map_err(edit_error)?;
    let body: SaveBody = parse_json(&bytes)?;
    let now = state.clock.now();
    let target = file.clone();
    let outcome = tokio::task::spawn_blocking({
        let editor = editor.clone();
        move || editor.save(&target, &body.content, body.base_sha256.as_deref(), now)
    })
    .await
    .map_err(|e| ApiError::internal("configuration editor task failed", &e))?;
    saved_reply(state, editor, file, outcome).await
}

async fn revert(id: u64, (state, editor): Ctx) -> Result<Response, Rejection> {
    let now = state.clock.now();
    let path = blocking(editor.clone(), move |e| {
        Ok(e.history_detail(id)?.entry.path)
    })
    .await?;
    let (dir, name) = path.split_once('/').unwrap_or(("", ""));
    let file = ConfigFile::parse(dir, name).map_err(edit_error)?;
    let outcome = tokio::task::spawn_blocking({
        let editor = editor.clone();
        move || editor.revert(id, now)
    })
    .await
    .map_err(|e| ApiError::internal("configuration editor task failed", &e))?;
    saved_reply(state, editor, file, outcome).await
}

/// After a save: reload so the change is live now (the watcher would also pick it up, a moment
/// later), and say what happened.
async fn saved_reply(
    state: AppState,
    editor: Arc<ConfigEditor>,
    file: ConfigFile,
    outcome: Result<Option<HistoryEntry>, EditError>,
) -> Result<Response, Rejection> {
    let history = match outcome {
        Ok(history) => history,
        Err(EditError::Invalid { file, errors }) => {
            let message = EditError::Invalid {
                file,
                errors: errors.clone(),
            }
            .to_string();
            return Ok(reply_json(
                StatusCode::CONFLICT,
                &Rejected {
                    error: message,
                    field: "content",
                    errors,
                },
            ));
        }
        Err(other) => return Err(edit_error(other).into()),
    };
    let config = state.config.clone();
    let reload = tokio::task::spawn_blocking(move || config.reload_now())
        .await
        .map_err(|e| ApiError::internal("configuration reload failed", &e))?;
    let now = blocking(editor, move |e| e.read(&file)).await?;
    Ok(reply_json(
        StatusCode::OK,
        &SaveReply {
            path: now.path,
            sha256: now.sha256,
            saved: history.is_some(),
            history,
            reload: reload.into(),
        },
    ))
}

#[derive(Serialize)]
struct HistoryList {
    items: Vec<HistoryEntry>,
}

async fn history((_, editor): Ctx, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let path = param(
        &q,
        "path",
        "a file such as businesses/himalayan_kitchen.yaml",
        |v| crate::config_editor::looks_like_config_path(v).then(|| v.to_string()),
    )?;
    let items = blocking(editor, move |e| e.history(path.as_deref())).await?;
    Ok(reply_json(StatusCode::OK, &HistoryList { items }))
}

async fn history_detail(id: u64, (_, editor): Ctx) -> Result<Response, Rejection> {
    let detail = blocking(editor, move |e| e.history_detail(id)).await?;
    Ok(reply_json(StatusCode::OK, &detail))
}
