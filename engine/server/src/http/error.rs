//! One error type for every HTTP handler, rendered as `{"error": …, "field": …}`.
//!
//! Why: a client (the admin UI, curl, a script) should always get JSON naming what was wrong
//! and, where it applies, which field — never an HTML page, an empty 500 or a panic.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use warp::reply::Response;
use warp::{Rejection, Reply};

use vartalaap_store::{BookingError, JobError, StoreError};

/// A request that cannot be served, with the status and message the client sees.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request field at fault, when one is.
    pub field: Option<String>,
    /// Seconds to wait before retrying (sent as `Retry-After`).
    pub retry_after: Option<i64>,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 400 naming the field and the problem.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, message)
        }
    }

    /// 409 naming the field: the request is well-formed (the OpenAPI document allows it) but
    /// the business's rules or the stored state refuse it (closed that day, outside hours,
    /// party too large for this business, fully booked).
    pub fn refused(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::CONFLICT, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A server-side failure: logged in full, reported to the client without internals.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %error, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{context}; the server log has the details"),
        )
    }

    pub(crate) fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            field: Option<String>,
        }
        let mut response = warp::reply::with_status(
            warp::reply::json(&Body {
                error: self.message,
                field: self.field,
            }),
            self.status,
        )
        .into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `Retry-After` while the disk refuses writes: the server probes for space every few seconds.
const STORAGE_RETRY_AFTER_SECS: i64 = 30;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound { entity, id } => {
                ApiError::not_found(format!("{entity} {id} not found"))
            }
            StoreError::Invalid { field, problem } => ApiError::field(field, problem),
            unavailable @ StoreError::Unavailable { .. } => {
                tracing::warn!(error = %unavailable, "A request failed: the database cannot write.");
                ApiError {
                    retry_after: Some(STORAGE_RETRY_AFTER_SECS),
                    ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, unavailable.to_string())
                }
            }
            other => ApiError::internal("storage failed", &other),
        }
    }
}

impl From<BookingError> for ApiError {
    fn from(error: BookingError) -> ApiError {
        match error {
            full @ BookingError::Full { .. } => ApiError {
                field: Some("party_size".into()),
                ..ApiError::new(StatusCode::CONFLICT, full.to_string())
            },
            BookingError::Invalid { field, problem } => ApiError::field(field, problem),
            BookingError::NotFound(id) => {
                ApiError::not_found(format!("reservation {id} not found"))
            }
            bad @ BookingError::BadTransition { .. } => ApiError {
                field: Some("status".into()),
                ..ApiError::new(StatusCode::CONFLICT, bad.to_string())
            },
            BookingError::Store(e) => e.into(),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> ApiError {
        match error {
            JobError::NotFound(id) => ApiError::not_found(format!("job {id} not found")),
            JobError::Store(e) => e.into(),
            other => ApiError::new(StatusCode::CONFLICT, other.to_string()),
        }
    }
}

/// Turns every rejection into a JSON reply with the right status.
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    let error = if let Some(api) = rejection.find::<ApiError>() {
        ApiError {
            status: api.status,
            message: api.message.clone(),
            field: api.field.clone(),
            retry_after: api.retry_after,
        }
    } else if rejection.is_not_found() {
        ApiError::not_found("no such route")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is larger than the {} KiB limit",
                super::BODY_LIMIT / 1024
            ),
        )
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as application/json",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        // A 400, not 411: to a client a body-less POST to a route that needs a body is bad
        // input like any other, and the OpenAPI document lists 400 for it.
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "this route needs a request body with a Content-Length header",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        )
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid query string: {e}"),
        )
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
    } else {
        tracing::warn!(?rejection, "Unhandled rejection.");
        ApiError::new(StatusCode::BAD_REQUEST, "bad request")
    };
    Ok(error.into_response())
}
