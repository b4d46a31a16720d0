//! `GET /api/stats`: a business's day-by-day numbers for the admin dashboard — calls,
//! bookings, covers, handoffs and turn latency p50/p95 — read from the daily counters
//! (`vartalaap_store::DailyAggregate`), which survive retention purges and follow a booking
//! when it is cancelled or changed.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::api::{blocking, known_business, non_empty, param, parse_date, query, reply_json};
use super::error::ApiError;
use super::{AppState, with_auth};

/// Longest range one request may ask for (a year and a day covers any leap year).
pub const MAX_DAYS: u64 = 366;
/// Days shown when no range is given: the last week, today included.
const DEFAULT_DAYS: u64 = 7;

/// `GET /api/stats?business_id&date_from&date_to`
pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    warp::path!("api" / "stats")
        .and(warp::get())
        .and(s())
        .and(with_auth(s()))
        .and(query())
        .and_then(stats)
}

/// One day of the reply.
#[derive(Debug, Serialize, PartialEq)]
struct DayStats {
    date: NaiveDate,
    calls: u64,
    bookings: u64,
    covers: u64,
    handoffs: u64,
    turns_timed: u64,
    turn_latency_p50_ms: Option<u32>,
    turn_latency_p95_ms: Option<u32>,
}

#[derive(Debug, Serialize)]
struct StatsReply {
    business_id: String,
    date_from: NaiveDate,
    date_to: NaiveDate,
    /// Every day of the range in order, days without activity as zeros.
    days: Vec<DayStats>,
}

async fn stats(state: AppState, q: HashMap<String, String>) -> Result<Response, Rejection> {
    let business_id = param(&q, "business_id", "a business id", non_empty)?
        .ok_or_else(|| ApiError::field("business_id", "business_id is required"))?;
    let snapshot = known_business(&state, &business_id)?;
    let today = state
        .clock
        .now()
        .with_timezone(&snapshot.business.timezone)
        .date_naive();
    let date_to = param(&q, "date_to", "a date YYYY-MM-DD", parse_date)?.unwrap_or(today);
    let date_from = param(&q, "date_from", "a date YYYY-MM-DD", parse_date)?
        .or_else(|| date_to.checked_sub_days(Days::new(DEFAULT_DAYS - 1)))
        .unwrap_or(date_to);
    let days = range_days(date_from, date_to)?;
    let id = business_id.clone();
    let found = if days.is_empty() {
        Vec::new()
    } else {
        blocking(&state, move |store| {
            Ok(store.daily_aggregates(&id, date_from, date_to)?)
        })
        .await?
    };
    let mut by_date: HashMap<NaiveDate, vartalaap_store::DailyAggregate> =
        found.into_iter().map(|a| (a.date, a)).collect();
    let days = days
        .into_iter()
        .map(|date| {
            let a = by_date.remove(&date).unwrap_or_default();
            DayStats {
                date,
                calls: a.calls,
                bookings: a.reservations,
                covers: a.covers,
                handoffs: a.handoffs,
                turns_timed: a.turns_timed,
                turn_latency_p50_ms: a.turn_latency_p50_ms,
                turn_latency_p95_ms: a.turn_latency_p95_ms,
            }
        })
        .collect();
    Ok(reply_json(
        StatusCode::OK,
        &StatsReply {
            business_id,
            date_from,
            date_to,
            days,
        },
    ))
}

/// Every date from `from` to `to` inclusive (none when `from` is after `to`, like the other
/// date filters), refusing a range longer than [`MAX_DAYS`] (409: the document cannot say it).
fn range_days(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, ApiError> {
    if from > to {
        return Ok(Vec::new());
    }
    let span = u64::try_from((to - from).num_days()).unwrap_or(u64::MAX);
    if span >= MAX_DAYS {
        return Err(ApiError::refused(
            "date_from",
            format!(
                "ask for at most {MAX_DAYS} days at a time ({from} to {to} is {} days)",
                span.saturating_add(1)
            ),
        ));
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_range_lists_every_day_and_refuses_reversed_or_huge_ones() {
        let days = range_days(d("2026-12-30"), d("2027-01-02")).unwrap();
        assert_eq!(days.len(), 4);
        assert_eq!(days[3], d("2027-01-02"));
        assert_eq!(
            range_days(d("2026-12-07"), d("2026-12-07")).unwrap().len(),
            1
        );
        assert!(
            range_days(d("2026-12-08"), d("2026-12-07"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            range_days(d("2024-01-01"), d("2024-12-31")).unwrap().len(),
            366
        );
        assert!(range_days(d("2024-01-01"), d("2025-01-01")).is_err());
    }
}
