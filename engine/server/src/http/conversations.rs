//! `POST /api/businesses/{id}/conversations` and `POST /api/conversations/{id}/messages`:
//! text conversations with the real engine, for the admin "try it" panel and black-box tests.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::chat::ChatError;

use super::api::parse_json;
use super::error::ApiError;
use super::{AppState, BODY_LIMIT, with_auth};

/// Both conversation routes.
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let start = warp::path!("api" / "businesses" / String / "conversations")
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and(warp::body::content_length_limit(BODY_LIMIT))
        .and(warp::body::bytes())
        .and_then(start);
    let message = warp::path!("api" / "conversations" / String / "messages")
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and(warp::body::content_length_limit(BODY_LIMIT))
        .and(warp::body::bytes())
        .and_then(message);
    start.or(message).unify()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    /// Reference time (RFC 3339) the conversation happens at.
    at: Option<String>,
    /// Caller's phone number (any common Indian format).
    caller: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    text: String,
}

fn chat_error(e: ChatError) -> Rejection {
    let error = match e {
        ChatError::UnknownBusiness(_) => ApiError::not_found(e.to_string()),
        ChatError::UnknownConversation(_) => ApiError::not_found(e.to_string()),
        ChatError::BadCaller(_) => ApiError::field("caller", e.to_string()),
        ChatError::TooMany => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    warp::reject::custom(error)
}

async fn start(business: String, state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let input: Start = if bytes.iter().all(u8::is_ascii_whitespace) {
        Start::default()
    } else {
        parse_json(&bytes)?
    };
    let at = match input.at.as_deref() {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::field(
                        "at",
                        format!("at must be an RFC 3339 time such as 2026-12-01T18:00:00+05:30, found {text:?}"),
                    )
                })?,
        ),
    };
    if let Some(caller) = input.caller.as_deref() {
        super::api::parse_phone("caller", caller)?;
    }
    let chat = state.chat.clone();
    let reply =
        tokio::task::spawn_blocking(move || chat.start(&business, at, input.caller.as_deref()))
            .await
            .map_err(|e| ApiError::internal("conversation task failed", &e))?
            .map_err(chat_error)?;
    Ok(warp::reply::with_status(warp::reply::json(&reply), StatusCode::CREATED).into_response())
}

async fn message(id: String, state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let input: Message = parse_json(&bytes)?;
    if input.text.chars().count() > 2000 {
        return Err(ApiError::field("text", "text must be at most 2000 characters").into());
    }
    let chat = state.chat.clone();
    let reply = tokio::task::spawn_blocking(move || chat.message(&id, &input.text))
        .await
        .map_err(|e| ApiError::internal("conversation task failed", &e))?
        .map_err(chat_error)?;
    Ok(warp::reply::json(&reply).into_response())
}
