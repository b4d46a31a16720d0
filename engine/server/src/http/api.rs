//! `/api/*`: the authenticated REST API over storage (reservations, callbacks, calls, caller
//! preferences, jobs). Shapes follow `schemas/*.json`; the OpenAPI document is `openapi.json`.
//!
//! Handlers parse and validate input themselves (naming the field at fault), then run the
//! synchronous store call on the blocking pool so fsyncs never stall the async workers.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use vartalaap_config::BusinessSnapshot;
use vartalaap_store::{
    BookingRequest, CallFilter, CallbackFilter, CallbackStatus, JobFilter, JobStatus, MAX_PARTY,
    Page, PageRequest, PhoneHash, PhoneNumber, ReservationChange, ReservationFilter,
    ReservationStatus, Store, TimeOfDay,
};

use vartalaap_tools::{capacity_rule, followup_spec};

use super::error::ApiError;
use super::{AppState, BODY_LIMIT, with_auth};

/// Every `/api` route except login (which must work without a token).
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let api = warp::path("api");
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let list_reservations = api
        .and(warp::path!("reservations"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(list_reservations);
    let create_reservation = api
        .and(warp::path!("reservations"))
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(create_reservation);
    let get_reservation = api
        .and(warp::path!("reservations" / u64))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and_then(get_reservation);
    let update_reservation = api
        .and(warp::path!("reservations" / u64))
        .and(warp::patch())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(update_reservation);
    let cancel_reservation = api
        .and(warp::path!("reservations" / u64 / "cancel"))
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and_then(cancel_reservation);
    let list_callbacks = api
        .and(warp::path!("callbacks"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(list_callbacks);
    let list_calls = api
        .and(warp::path!("calls"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(list_calls);
    let get_call = api
        .and(warp::path!("calls" / u64))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and_then(get_call);
    let caller_preferences = api
        .and(warp::path!("callers" / String / "preferences"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and_then(caller_preferences);
    let list_jobs = api
        .and(warp::path!("jobs"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(list_jobs);
    let dead_jobs = api
        .and(warp::path!("jobs" / "dead"))
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(dead_jobs);
    let retry_job = api
        .and(warp::path!("jobs" / u64 / "retry"))
        .and(warp::post())
        .and(s())
        .and(with_auth(s()))
        .and_then(retry_job);
    list_reservations
        .or(create_reservation)
        .unify()
        .or(get_reservation)
        .unify()
        .or(update_reservation)
        .unify()
        .or(cancel_reservation)
        .unify()
        .or(list_callbacks)
        .unify()
        .or(list_calls)
        .unify()
        .or(get_call)
        .unify()
        .or(caller_preferences)
        .unify()
        .or(dead_jobs)
        .unify()
        .or(list_jobs)
        .unify()
        .or(retry_job)
        .unify()
}

/// The raw query string as a map (validated field by field by each handler).
pub(super) fn query() -> impl Filter<Extract = (HashMap<String, String>,), Error = Rejection> + Clone
{
    warp::query::<HashMap<String, String>>()
}

/// A size-limited body, parsed by the handler so errors can name the field.
pub(super) fn body() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::body::content_length_limit(BODY_LIMIT).and(warp::body::bytes())
}

/// Parses JSON, naming the path of the field at fault (`party_size: invalid type …`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is a JSON object; serde would also fill a struct from an array
    // (`[null, null]`), which the API document does not allow.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid JSON body: expected a JSON object ({...})",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("invalid JSON body: {inner}"),
            )
        } else {
            ApiError::field(path.clone(), format!("{path}: {inner}"))
        }
    })
}

/// Runs a store call on the blocking pool.
pub(super) async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, Rejection>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
{
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| warp::reject::custom(ApiError::internal("storage task failed", &e)))?
        .map_err(warp::reject::custom)
}

pub(super) fn reply_json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

#[derive(Serialize)]
pub(super) struct PageBody<T> {
    items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<u64>,
}

impl<T> From<Page<T>> for PageBody<T> {
    fn from(page: Page<T>) -> Self {
        PageBody {
            items: page.items,
            next_after: page.next_after,
        }
    }
}

/// Reads one optional query parameter with a parser, naming it on failure.
///
/// A parameter that is present must be valid as written: an empty value or one with stray
/// spaces is a 400, not "no filter", so what the OpenAPI document allows and what the server
/// accepts are the same set (tests/e2e/openapi.rs checks this with schemathesis).
pub(super) fn param<T>(
    q: &HashMap<String, String>,
    name: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some(raw) => parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::field(name, format!("{name} must be {what}, found {raw:?}"))),
    }
}

/// A non-empty identifier filter such as `business_id` or `kind`.
pub(super) fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// A whole number in a query string: `20`, or `20.0` as a client that writes every number as
/// a float sends it (the document's `integer` allows both).
pub(super) fn whole_number(v: &str) -> Option<u64> {
    let digits = match v.split_once('.') {
        Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => v,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(super) fn page_request(q: &HashMap<String, String>) -> Result<PageRequest, ApiError> {
    let after = param(q, "after", "a record id (0 or more)", whole_number)?;
    let limit = param(q, "limit", "a number from 1 to 500", |v| {
        whole_number(v)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=500).contains(n))
    })?;
    Ok(PageRequest {
        after,
        limit: limit.unwrap_or(50),
    })
}

/// A calendar date written exactly `YYYY-MM-DD` (RFC 3339 `full-date`, the OpenAPI `date`
/// format); chrono alone would also take `2026-1-5` or a signed year.
pub(super) fn parse_date(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped
        .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .flatten()
}

pub(super) fn parse_instant(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Languages a booking can record (the engine's language codes).
pub(super) const LANGUAGES: [&str; 3] = ["hi", "en", "hinglish"];

/// A phone number from a request field, in any format [`PhoneNumber::parse`] takes but
/// written without surrounding spaces (the OpenAPI pattern describes exactly this set).
pub(crate) fn parse_phone(field: &str, raw: &str) -> Result<PhoneNumber, ApiError> {
    if raw.trim() != raw {
        return Err(ApiError::field(
            field,
            format!("{field} must not start or end with spaces"),
        ));
    }
    PhoneNumber::parse(raw).map_err(|e| ApiError::field(field, format!("{field}: {e}")))
}

pub(super) fn known_business(
    state: &AppState,
    id: &str,
) -> Result<Arc<BusinessSnapshot>, ApiError> {
    state.config.current(id).ok_or_else(|| {
        let known: Vec<String> = state
            .config
            .list()
            .iter()
            .map(|b| b.id().to_string())
            .collect();
        ApiError {
            field: Some("business_id".into()),
            ..ApiError::not_found(format!(
                "unknown business {id:?}; known: {}",
                known.join(", ")
            ))
        }
    })
}

/// `GET /api/reservations?business_id&date_from&date_to&status&after&limit`
async fn list_reservations(
    state: AppState,
    q: HashMap<String, String>,
) -> Result<Response, Rejection> {
    let status = param(
        &q,
        "status",
        "one of confirmed, cancelled, completed, no_show",
        |v| ReservationStatus::from_str(v).ok(),
    )?;
    let filter = ReservationFilter {
        business_id: param(&q, "business_id", "a business id", non_empty)?,
        date_from: param(&q, "date_from", "a date YYYY-MM-DD", parse_date)?,
        date_to: param(&q, "date_to", "a date YYYY-MM-DD", parse_date)?,
        status,
        phone_hash: param(&q, "phone_hash", "a 64-hex phone hash", PhoneHash::parse)?,
    };
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| {
        Ok(store.list_reservations(&filter, &page)?)
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// Body of `POST /api/reservations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReservation {
    business_id: String,
    customer_name: Option<String>,
    phone: Option<String>,
    #[serde(deserialize_with = "whole_party_size")]
    party_size: u8,
    date: String,
    time: String,
    notes: Option<String>,
    #[serde(default)]
    whatsapp_consent: bool,
    language: Option<String>,
}

/// A whole number from 0 to 255 however JSON writes it: `4` or `4.0`. JSON Schema's `integer`
/// is any number without a fractional part, so the OpenAPI document cannot tell `4.0` apart,
/// and neither does the server.
fn whole_u8(n: &serde_json::Number) -> Option<u8> {
    match n.as_u64() {
        Some(whole) => u8::try_from(whole).ok(),
        None => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=255.0).contains(f))
            .map(|f| f as u8),
    }
}

fn whole_party_size<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole_u8(&n).ok_or_else(|| D::Error::custom(format!("must be a whole number, found {n}")))
}

fn optional_whole_party_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => whole_u8(&n)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("must be a whole number, found {n}"))),
    }
}

/// `POST /api/reservations`: the same rules as a phone booking.
async fn create_reservation(state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let input: NewReservation = parse_json(&bytes)?;
    let snapshot = known_business(&state, &input.business_id)?;
    let date = parse_date(&input.date).ok_or_else(|| {
        ApiError::field(
            "date",
            format!("date must be YYYY-MM-DD, found {:?}", input.date),
        )
    })?;
    let time = TimeOfDay::from_str(&input.time).map_err(|_| {
        ApiError::field(
            "time",
            format!("time must be HH:MM (24 h), found {:?}", input.time),
        )
    })?;
    if !(1..=MAX_PARTY).contains(&input.party_size) {
        return Err(ApiError::field(
            "party_size",
            format!("party_size must be from 1 to {MAX_PARTY}"),
        )
        .into());
    }
    if let Some(language) = input.language.as_deref()
        && !LANGUAGES.contains(&language)
    {
        return Err(ApiError::field(
            "language",
            format!("language must be one of hi, en, hinglish, found {language:?}"),
        )
        .into());
    }
    let policy = &snapshot.business.reservations;
    let party = u32::from(input.party_size);
    if party < policy.party_min || party > policy.party_max {
        return Err(ApiError::refused(
            "party_size",
            format!(
                "party_size must be between {} and {} for {}",
                policy.party_min, policy.party_max, snapshot.business.name.en
            ),
        )
        .into());
    }
    let phone = match input.phone.as_deref() {
        None => None,
        Some(raw) => Some(parse_phone("phone", raw)?),
    };
    if input.whatsapp_consent && phone.is_none() {
        return Err(ApiError::field(
            "phone",
            "a phone number is needed for a WhatsApp confirmation",
        )
        .into());
    }
    let now = state.clock.now();
    super::booking_rules::check_bookable(&snapshot, date, time, now)?;
    let language = input
        .language
        .clone()
        .unwrap_or_else(|| snapshot.business.languages.default.code().to_string());
    let request = BookingRequest {
        business_id: input.business_id.clone(),
        call_id: None,
        customer_name: input.customer_name,
        phone,
        party_size: input.party_size,
        date,
        time,
        followup: followup_spec(&snapshot, &language),
        language: Some(language),
        notes: input.notes,
        whatsapp_consent: input.whatsapp_consent,
    };
    let rule = capacity_rule(&snapshot);
    let booked = blocking(&state, move |store| Ok(store.book(&request, &rule, now)?)).await?;
    state.metrics.booking("api", "booked");
    Ok(reply_json(StatusCode::CREATED, &booked.reservation))
}

/// `GET /api/reservations/{id}`
async fn get_reservation(id: u64, state: AppState) -> Result<Response, Rejection> {
    let found = blocking(&state, move |store| Ok(store.get_reservation(id)?)).await?;
    match found {
        Some(r) => Ok(reply_json(StatusCode::OK, &r)),
        None => Err(ApiError::not_found(format!("reservation {id} not found")).into()),
    }
}

/// Body of `PATCH /api/reservations/{id}`; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReservationPatch {
    #[serde(default, deserialize_with = "optional_whole_party_size")]
    party_size: Option<u8>,
    date: Option<String>,
    time: Option<String>,
    status: Option<String>,
    notes: Option<String>,
    customer_name: Option<String>,
    /// Withdrawing consent stops a confirmation that has not been sent yet.
    whatsapp_consent: Option<bool>,
}

/// `PATCH /api/reservations/{id}`: capacity and hours re-checked like a phone change.
async fn update_reservation(id: u64, state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let patch: ReservationPatch = parse_json(&bytes)?;
    if let Some(size) = patch.party_size
        && !(1..=MAX_PARTY).contains(&size)
    {
        return Err(ApiError::field(
            "party_size",
            format!("party_size must be from 1 to {MAX_PARTY}"),
        )
        .into());
    }
    let change = ReservationChange {
        party_size: patch.party_size,
        date: match &patch.date {
            None => None,
            Some(d) => Some(parse_date(d).ok_or_else(|| {
                ApiError::field("date", format!("date must be YYYY-MM-DD, found {d:?}"))
            })?),
        },
        time: match &patch.time {
            None => None,
            Some(t) => Some(TimeOfDay::from_str(t).map_err(|_| {
                ApiError::field("time", format!("time must be HH:MM (24 h), found {t:?}"))
            })?),
        },
        status: match &patch.status {
            None => None,
            Some(s) => Some(ReservationStatus::from_str(s).map_err(|_| {
                ApiError::field(
                    "status",
                    format!("status must be one of confirmed, cancelled, completed, no_show, found {s:?}"),
                )
            })?),
        },
        notes: patch.notes,
        customer_name: patch.customer_name,
        whatsapp_consent: patch.whatsapp_consent,
    };
    let existing = blocking(&state, move |store| Ok(store.get_reservation(id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("reservation {id} not found")))?;
    let snapshot = known_business(&state, &existing.business_id)?;
    let policy = &snapshot.business.reservations;
    if let Some(party) = change.party_size.map(u32::from)
        && (party < policy.party_min || party > policy.party_max)
    {
        return Err(ApiError::refused(
            "party_size",
            format!(
                "party_size must be between {} and {}",
                policy.party_min, policy.party_max
            ),
        )
        .into());
    }
    let now = state.clock.now();
    if change.date.is_some() || change.time.is_some() {
        super::booking_rules::check_bookable(
            &snapshot,
            change.date.unwrap_or(existing.reservation_date),
            change.time.unwrap_or(existing.reservation_time),
            now,
        )?;
    }
    let rule = capacity_rule(&snapshot);
    let updated = blocking(&state, move |store| {
        Ok(store.modify_reservation(id, &change, &rule, now)?)
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &updated))
}

/// `POST /api/reservations/{id}/cancel`
async fn cancel_reservation(id: u64, state: AppState) -> Result<Response, Rejection> {
    let now = state.clock.now();
    let cancelled = blocking(&state, move |store| Ok(store.cancel_reservation(id, now)?)).await?;
    state.metrics.booking("api", "cancelled");
    Ok(reply_json(StatusCode::OK, &cancelled))
}

/// `GET /api/callbacks?business_id&status&after&limit`
async fn list_callbacks(
    state: AppState,
    q: HashMap<String, String>,
) -> Result<Response, Rejection> {
    let filter = CallbackFilter {
        business_id: param(&q, "business_id", "a business id", non_empty)?,
        status: param(&q, "status", "a callback status such as pending", |v| {
            CallbackStatus::from_str(v).ok()
        })?,
    };
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| {
        Ok(store.list_callbacks(&filter, &page)?)
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// `GET /api/calls?business_id&from&to&after&limit`
async fn list_calls(state: AppState, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let filter = CallFilter {
        business_id: param(&q, "business_id", "a business id", non_empty)?,
        from: param(&q, "from", "an RFC 3339 time", parse_instant)?,
        to: param(&q, "to", "an RFC 3339 time", parse_instant)?,
        outcome: None,
    };
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| Ok(store.list_calls(&filter, &page)?)).await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// `GET /api/calls/{id}`: the call with every turn and its timings.
async fn get_call(id: u64, state: AppState) -> Result<Response, Rejection> {
    let found = blocking(&state, move |store| Ok(store.get_call(id)?)).await?;
    match found {
        Some(call) => Ok(reply_json(StatusCode::OK, &call)),
        None => Err(ApiError::not_found(format!("call {id} not found")).into()),
    }
}

/// `GET /api/callers/{phone_hash}/preferences`
async fn caller_preferences(hash: String, state: AppState) -> Result<Response, Rejection> {
    let hash = PhoneHash::parse(&hash).ok_or_else(|| {
        ApiError::field(
            "phone_hash",
            "phone_hash must be the 64-hex HMAC of the number, as listed on reservations",
        )
    })?;
    let found = blocking(
        &state,
        move |store| Ok(store.get_caller_preferences(&hash)?),
    )
    .await?;
    match found {
        Some(p) => Ok(reply_json(StatusCode::OK, &p)),
        None => Err(ApiError::not_found("no preferences stored for this caller").into()),
    }
}

/// `GET /api/jobs?status&kind&after&limit`
async fn list_jobs(state: AppState, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let filter = JobFilter {
        status: param(&q, "status", "one of pending, running, done, dead", |v| {
            JobStatus::from_str(v).ok()
        })?,
        kind: param(&q, "kind", "a job kind", non_empty)?,
    };
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| Ok(store.list_jobs(&filter, &page)?)).await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// `GET /api/jobs/dead`: dead-lettered jobs, to inspect and retry.
async fn dead_jobs(state: AppState, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let page = page_request(&q)?;
    let found = blocking(&state, move |store| Ok(store.dead_letters(&page)?)).await?;
    Ok(reply_json(StatusCode::OK, &PageBody::from(found)))
}

/// `POST /api/jobs/{id}/retry`: puts a dead job back in the queue.
async fn retry_job(id: u64, state: AppState) -> Result<Response, Rejection> {
    let now = state.clock.now();
    let job = blocking(&state, move |store| Ok(store.retry_dead(id, now)?)).await?;
    Ok(reply_json(StatusCode::OK, &job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_must_be_a_json_object_not_an_array_serde_would_accept() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Two {
            a: Option<String>,
            b: Option<String>,
        }
        assert!(parse_json::<Two>(b"[null, null]").is_err());
        assert!(parse_json::<Two>(b" \n[]").is_err());
        assert!(parse_json::<Two>(b" {\"a\": \"x\"}").is_ok());
    }

    #[test]
    fn query_numbers_are_whole_and_unsigned() {
        assert_eq!(whole_number("20"), Some(20));
        assert_eq!(whole_number("20.0"), Some(20));
        assert_eq!(whole_number("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "20.5",
            "20.",
            ".0",
            "1e3",
            "18446744073709551616",
        ] {
            assert_eq!(whole_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn party_sizes_may_be_written_as_whole_floats() {
        let n = |v: serde_json::Value| serde_json::from_value::<serde_json::Number>(v).unwrap();
        assert_eq!(whole_u8(&n(serde_json::json!(4))), Some(4));
        assert_eq!(whole_u8(&n(serde_json::json!(20.0))), Some(20));
        assert_eq!(whole_u8(&n(serde_json::json!(4.5))), None);
        assert_eq!(whole_u8(&n(serde_json::json!(-1))), None);
        assert_eq!(whole_u8(&n(serde_json::json!(256))), None);
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            parse_date("2026-12-07"),
            NaiveDate::from_ymd_opt(2026, 12, 7)
        );
        for bad in [
            "2026-1-5",
            "+2026-12-07",
            "2026-02-30",
            "2026-12-07 ",
            "",
            "20261207",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
