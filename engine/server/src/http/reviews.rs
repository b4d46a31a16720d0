//! `/api/reviews*`: the call-review loop for the admin — reviews of calls (filtered, paged,
//! counted per day and category), one call's review (`/api/calls/{id}/review`, for the
//! admin's call page), queuing a review, and the owner's decisions on the suggestions. Reviews are made by the `analyze_transcript_quality` job
//! (`crate::review_job`); see `docs/REVIEWS.md`.

use std::collections::HashMap;
use std::str::FromStr;

use bytes::Bytes;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use vartalaap_store::{
    ImprovementSuggestion, ReviewCategory, ReviewFilter, SuggestionFilter, SuggestionStatus,
    TranscriptReview,
};

use super::api::{
    PageBody, blocking, body, non_empty, page_request, param, parse_instant, parse_json, query,
    reply_json, whole_number,
};
use super::error::ApiError;
use super::{AppState, with_auth};

/// Every `/api/reviews*` route.
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let api = warp::path("api");
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let list = api
        .and(warp::path!("reviews"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(list_reviews);
    let stats = api
        .and(warp::path!("reviews" / "stats"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(review_stats);
    let one = api
        .and(warp::path!("reviews" / u64))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and_then(get_review);
    let of_call = api
        .and(warp::path!("calls" / u64 / "review"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and_then(review_of_call);
    let analyze = api
        .and(warp::path!("reviews" / "analyze"))
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(analyze);
    let suggestions = api
        .and(warp::path!("reviews" / "suggestions"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(list_suggestions);
    let decide = api
        .and(warp::path!("reviews" / "suggestions" / u64))
        .and(warp::patch())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(set_suggestion_status);
    list.or(stats)
        .unify()
        .or(one)
        .unify()
        .or(of_call)
        .unify()
        .or(analyze)
        .unify()
        .or(suggestions)
        .unify()
        .or(decide)
        .unify()
}

const CATEGORIES: &str =
    "one of knowledge_gap, prompt_weakness, ux_issue, stt_error, tts_issue, config_error";

fn score(v: &str) -> Option<u8> {
    whole_number(v)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| (1..=5).contains(n))
}

fn review_filter(q: &HashMap<String, String>) -> Result<ReviewFilter, ApiError> {
    Ok(ReviewFilter {
        business_id: param(q, "business_id", "a business id", non_empty)?,
        from: param(q, "from", "an RFC 3339 time", parse_instant)?,
        to: param(q, "to", "an RFC 3339 time", parse_instant)?,
        category: param(q, "category", CATEGORIES, |v| {
            ReviewCategory::from_str(v).ok()
        })?,
        min_score: param(q, "min_score", "a score from 1 to 5", score)?,
        max_score: param(q, "max_score", "a score from 1 to 5", score)?,
    })
}

/// `GET /api/reviews?business_id&from&to&category&min_score&max_score&after&limit`
async fn list_reviews(state: AppState, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let filter = review_filter(&q)?;
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| Ok(store.list_reviews(&filter, &page)?)).await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// `GET /api/reviews/stats?business_id&from&to&category&min_score&max_score`
async fn review_stats(state: AppState, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let filter = review_filter(&q)?;
    let stats = blocking(&state, move |store| Ok(store.review_stats(&filter)?)).await?;
    Ok(reply_json(StatusCode::OK, &stats))
}

/// A review with the suggestions it produced.
#[derive(Serialize)]
struct ReviewWithSuggestions {
    review: TranscriptReview,
    suggestions: Vec<ImprovementSuggestion>,
}

/// `GET /api/reviews/{id}`
async fn get_review(id: u64, state: AppState) -> Result<Response, Rejection> {
    let found = blocking(&state, move |store| {
        let Some(review) = store.get_review(id)? else {
            return Ok(None);
        };
        let suggestions = store.suggestions_for_review(id)?;
        Ok(Some(ReviewWithSuggestions {
            review,
            suggestions,
        }))
    })
    .await?;
    match found {
        Some(r) => Ok(reply_json(StatusCode::OK, &r)),
        None => Err(ApiError::not_found(format!("review {id} not found")).into()),
    }
}

/// Whether a call has a review yet, and if not, why not.
enum CallReview {
    Reviewed(ReviewWithSuggestions),
    NotYet,
    NoSuchCall,
}

/// `GET /api/calls/{id}/review`: the call's review with its suggestions, so the call page
/// needs no search through every review. 404 both for an unknown call and for a call not
/// reviewed yet (the messages differ: the job runs after the call ends).
async fn review_of_call(call_id: u64, state: AppState) -> Result<Response, Rejection> {
    let found = blocking(&state, move |store| {
        if let Some(review) = store.review_for_call(call_id)? {
            let suggestions = store.suggestions_for_review(review.id)?;
            return Ok(CallReview::Reviewed(ReviewWithSuggestions {
                review,
                suggestions,
            }));
        }
        Ok(if store.get_call(call_id)?.is_some() {
            CallReview::NotYet
        } else {
            CallReview::NoSuchCall
        })
    })
    .await?;
    match found {
        CallReview::Reviewed(r) => Ok(reply_json(StatusCode::OK, &r)),
        CallReview::NotYet => Err(ApiError::not_found(format!(
            "call {call_id} has no review yet: calls are reviewed after they end \
             (POST /api/reviews/analyze queues one)"
        ))
        .into()),
        CallReview::NoSuchCall => {
            Err(ApiError::not_found(format!("call {call_id} not found")).into())
        }
    }
}

/// Body of `POST /api/reviews/analyze`: the call, as `call_id` or the design's
/// `call_log_id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeRequest {
    #[serde(default, deserialize_with = "optional_whole_id")]
    call_id: Option<u64>,
    #[serde(default, deserialize_with = "optional_whole_id")]
    call_log_id: Option<u64>,
}

/// A record id however JSON writes it: `12` or `12.0` (JSON Schema's `integer` allows both,
/// so the OpenAPI document cannot tell them apart, and neither does the server).
fn optional_whole_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    });
    whole
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("must be a whole number, found {n}")))
}

/// `POST /api/reviews/analyze`: queues the call's review (the same job the call's end
/// queued, so asking again changes nothing) and says where it stands.
async fn analyze(state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let input: AnalyzeRequest = parse_json(&bytes)?;
    let call_id = match (input.call_id, input.call_log_id) {
        (Some(id), None) | (None, Some(id)) => id,
        _ => {
            return Err(ApiError::field(
                "call_id",
                "give the call as exactly one of call_id or call_log_id",
            )
            .into());
        }
    };
    if call_id == 0 {
        return Err(ApiError::field("call_id", "call_id must be 1 or more").into());
    }
    let now = state.clock.now();
    let request = blocking(&state, move |store| {
        let call = store
            .get_call(call_id)?
            .ok_or_else(|| ApiError::not_found(format!("call {call_id} not found")))?;
        if call.call.ended_at.is_none() {
            return Err(ApiError::refused(
                "call_id",
                format!("call {call_id} is still in progress; it is reviewed when it ends"),
            ));
        }
        Ok(store.request_review(call_id, now)?)
    })
    .await?;
    Ok(reply_json(StatusCode::ACCEPTED, &request))
}

/// `GET /api/reviews/suggestions?business_id&status&category&after&limit`
async fn list_suggestions(
    state: AppState,
    q: HashMap<String, String>,
) -> Result<Response, Rejection> {
    let filter = SuggestionFilter {
        business_id: param(&q, "business_id", "a business id", non_empty)?,
        status: param(&q, "status", "one of pending, implemented, rejected", |v| {
            SuggestionStatus::from_str(v).ok()
        })?,
        category: param(&q, "category", CATEGORIES, |v| {
            ReviewCategory::from_str(v).ok()
        })?,
    };
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| {
        Ok(store.list_suggestions(&filter, &page)?)
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// Body of `PATCH /api/reviews/suggestions/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestionDecision {
    status: String,
}

/// `PATCH /api/reviews/suggestions/{id}`: the owner marks a suggestion implemented or
/// rejected (or back to pending).
async fn set_suggestion_status(
    id: u64,
    state: AppState,
    bytes: Bytes,
) -> Result<Response, Rejection> {
    let input: SuggestionDecision = parse_json(&bytes)?;
    let status = SuggestionStatus::from_str(&input.status).map_err(|_| {
        ApiError::field(
            "status",
            format!(
                "status must be one of pending, implemented, rejected, found {:?}",
                input.status
            ),
        )
    })?;
    let now = state.clock.now();
    let updated = blocking(&state, move |store| {
        Ok(store.set_suggestion_status(id, status, now)?)
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_may_be_named_either_way_and_written_as_a_whole_float() {
        let parse = |body: &str| serde_json::from_str::<AnalyzeRequest>(body);
        let r = parse(r#"{"call_id": 12}"#).unwrap();
        assert_eq!((r.call_id, r.call_log_id), (Some(12), None));
        let r = parse(r#"{"call_log_id": 12.0}"#).unwrap();
        assert_eq!((r.call_id, r.call_log_id), (None, Some(12)));
        assert!(parse(r#"{"call_id": 12.5}"#).is_err());
        assert!(parse(r#"{"call_id": -1}"#).is_err());
        assert!(parse(r#"{"call": 1}"#).is_err());
    }
}
