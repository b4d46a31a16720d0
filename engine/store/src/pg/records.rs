//! Callback requests, call reviews with their suggestions, and the daily counters on
//! PostgreSQL; the same rules as the redb store's, written with the same record functions.

use chrono::{DateTime, NaiveDate, Utc};
use postgres::Transaction;

use super::{Fail, PgStore, decode, doc, get_doc, next_id, to_i64};
use crate::aggregates::{DailyAggregate, MAX_METRIC, fold_days, latency_metric, reservation_share};
use crate::error::StoreError;
use crate::model::{
    CallLog, CallbackRequest, CallbackStatus, ImprovementSuggestion, Reservation, SuggestionStatus,
    TranscriptReview,
};
use crate::records::{
    CallbackFilter, CallbackUpdate, NewCallback, apply_update, callback_record, validate_callback,
    validate_update,
};
use crate::reviews::{
    NewReview, NewSuggestion, ReviewFilter, ReviewRequest, ReviewStats, SuggestionFilter,
    analyze_job, review_record, review_stats_of, suggestion_record, validate_review,
};
use crate::store::{Page, PageRequest};

/// Moves a daily counter by `delta` (never below zero; a counter at zero has no row, as in
/// redb).
pub(crate) fn adjust(
    tx: &mut Transaction<'_>,
    business: &str,
    day: NaiveDate,
    metric: &str,
    delta: i64,
) -> Result<(), postgres::Error> {
    if delta == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO daily_aggregates (business_id, day, metric, count)
         VALUES ($1, $2, $3, GREATEST($4::bigint, 0))
         ON CONFLICT (business_id, day, metric)
         DO UPDATE SET count = GREATEST(daily_aggregates.count + $4::bigint, 0)",
        &[&business, &day, &metric, &delta],
    )?;
    tx.execute(
        "DELETE FROM daily_aggregates
         WHERE business_id = $1 AND day = $2 AND metric = $3 AND count = 0",
        &[&business, &day, &metric],
    )?;
    Ok(())
}

/// Moves the `reservations` and `covers` counters when a reservation is written.
pub(crate) fn reservation_changed(
    tx: &mut Transaction<'_>,
    old: Option<&Reservation>,
    new: &Reservation,
) -> Result<(), postgres::Error> {
    for (r, sign) in [(old, -1i64), (Some(new), 1)] {
        if let Some((_, covers)) = r.and_then(reservation_share) {
            let day = r.map_or(new.reservation_date, |r| r.reservation_date);
            adjust(tx, &new.business_id, day, "reservations", sign)?;
            adjust(tx, &new.business_id, day, "covers", sign * covers as i64)?;
        }
    }
    Ok(())
}

/// Counts a timed bot turn in the day's latency histogram and maximum.
pub(crate) fn turn_latency(
    tx: &mut Transaction<'_>,
    business: &str,
    day: NaiveDate,
    total_ms: u32,
) -> Result<(), postgres::Error> {
    adjust(tx, business, day, &latency_metric(total_ms), 1)?;
    tx.execute(
        "INSERT INTO daily_aggregates (business_id, day, metric, count) VALUES ($1, $2, $3, $4)
         ON CONFLICT (business_id, day, metric)
         DO UPDATE SET count = GREATEST(daily_aggregates.count, excluded.count)",
        &[&business, &day, &MAX_METRIC, &i64::from(total_ms)],
    )?;
    Ok(())
}

fn save_callback(tx: &mut Transaction<'_>, cb: &CallbackRequest) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO callback_requests (id, business_id, status, created_at, phone_hash, call_id, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, phone_hash = excluded.phone_hash,
             doc = excluded.doc",
        &[
            &to_i64(cb.id),
            &cb.business_id,
            &cb.status.as_str(),
            &cb.created_at,
            &cb.phone_hash.as_ref().map(|h| h.as_str()),
            &cb.call_id.map(to_i64),
            &doc(cb),
        ],
    )?;
    Ok(())
}

fn save_suggestion(
    tx: &mut Transaction<'_>,
    s: &ImprovementSuggestion,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO improvement_suggestions
             (id, review_id, call_id, business_id, status, category, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
        &[
            &to_i64(s.id),
            &to_i64(s.review_id),
            &to_i64(s.call_id),
            &s.business_id,
            &s.status.as_str(),
            &s.category.as_str(),
            &doc(s),
        ],
    )?;
    Ok(())
}

fn suggestions_of(
    tx: &mut Transaction<'_>,
    review_id: u64,
) -> Result<Vec<ImprovementSuggestion>, Fail<StoreError>> {
    let rows = tx.query(
        "SELECT id, doc FROM improvement_suggestions WHERE review_id = $1 ORDER BY id",
        &[&to_i64(review_id)],
    )?;
    rows.into_iter()
        .map(|row| {
            Ok(decode(
                "improvement_suggestions",
                row.get::<_, i64>(0),
                row.get(1),
            )?)
        })
        .collect()
}

fn review_of_call(
    tx: &mut Transaction<'_>,
    call_id: u64,
) -> Result<Option<TranscriptReview>, Fail<StoreError>> {
    match tx.query_opt(
        "SELECT id, doc FROM transcript_reviews WHERE call_id = $1",
        &[&to_i64(call_id)],
    )? {
        Some(row) => Ok(Some(decode(
            "transcript_reviews",
            row.get::<_, i64>(0),
            row.get(1),
        )?)),
        None => Ok(None),
    }
}

impl PgStore {
    /// Per-day counters of a business from `from` to `to` (inclusive).
    pub fn daily_aggregates(
        &self,
        business_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyAggregate>, StoreError> {
        let rows = self.read(|tx| {
            Ok(tx.query(
                "SELECT day, metric, count FROM daily_aggregates
                 WHERE business_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day, metric",
                &[&business_id, &from, &to],
            )?)
        })?;
        Ok(fold_days(rows.into_iter().map(|row| {
            let count: i64 = row.get(2);
            (
                row.get(0),
                row.get::<_, String>(1),
                u64::try_from(count).unwrap_or(0),
            )
        })))
    }

    /// Records a manager callback request.
    pub fn create_callback(
        &self,
        new: &NewCallback,
        now: DateTime<Utc>,
    ) -> Result<CallbackRequest, StoreError> {
        validate_callback(new)?;
        let crypto = self.crypto();
        let cb = self.write(|tx| {
            let cb = callback_record(next_id(tx, "callback_requests")?, new, &crypto, now);
            save_callback(tx, &cb)?;
            Ok::<_, Fail<StoreError>>(cb)
        })?;
        tracing::info!(callback_id = cb.id, business = %cb.business_id, reason = %cb.reason, "Callback requested.");
        Ok(cb)
    }

    /// One callback request.
    pub fn get_callback(&self, id: u64) -> Result<Option<CallbackRequest>, StoreError> {
        self.read(|tx| get_doc(tx, "callback_requests", id, false))
    }

    /// Callback requests by filter in id order.
    pub fn list_callbacks(
        &self,
        filter: &CallbackFilter,
        page: &PageRequest,
    ) -> Result<Page<CallbackRequest>, StoreError> {
        self.scan_page(
            "callback_requests",
            "business_id = $2",
            filter.business_id.as_deref(),
            page,
            |c: &CallbackRequest| filter.keeps(c),
        )
    }

    /// Sets a callback request's status.
    pub fn set_callback_status(
        &self,
        id: u64,
        status: CallbackStatus,
        now: DateTime<Utc>,
    ) -> Result<CallbackRequest, StoreError> {
        self.update_callback(
            id,
            &CallbackUpdate {
                status: Some(status),
                staff_note: None,
            },
            now,
        )
    }

    /// The staff's update of a callback request (status and/or note).
    pub fn update_callback(
        &self,
        id: u64,
        update: &CallbackUpdate,
        now: DateTime<Utc>,
    ) -> Result<CallbackRequest, StoreError> {
        validate_update(update)?;
        let cb = self.write::<_, StoreError>(|tx| {
            let mut cb: CallbackRequest = get_doc(tx, "callback_requests", id, true)?
                .ok_or_else(|| StoreError::not_found("callback request", id))?;
            apply_update(&mut cb, update, now);
            save_callback(tx, &cb)?;
            Ok(cb)
        })?;
        tracing::info!(callback_id = id, status = %cb.status, "Callback request updated.");
        Ok(cb)
    }

    /// Saves a call's review and its suggestions in one transaction; a call already reviewed
    /// keeps its first review (returned with `false`).
    pub fn save_review(
        &self,
        new: &NewReview,
        suggestions: &[NewSuggestion],
        now: DateTime<Utc>,
    ) -> Result<(TranscriptReview, Vec<ImprovementSuggestion>, bool), StoreError> {
        validate_review(new, suggestions)?;
        let saved = self.write::<_, StoreError>(|tx| {
            // The call's row lock orders two reviewers of the same call.
            let call: CallLog = get_doc(tx, "call_logs", new.call_id, true)?
                .ok_or_else(|| StoreError::not_found("call", new.call_id))?;
            if let Some(review) = review_of_call(tx, new.call_id)? {
                let suggestions = suggestions_of(tx, review.id)?;
                return Ok((review, suggestions, false));
            }
            let id = next_id(tx, "transcript_reviews")?;
            let review = review_record(id, &call.business_id, new, now);
            tx.execute(
                "INSERT INTO transcript_reviews (id, call_id, business_id, reviewed_at, doc)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &to_i64(id),
                    &to_i64(review.call_id),
                    &review.business_id,
                    &review.reviewed_at,
                    &doc(&review),
                ],
            )?;
            let mut stored = Vec::with_capacity(suggestions.len());
            for s in suggestions {
                let record =
                    suggestion_record(next_id(tx, "improvement_suggestions")?, &review, s, now);
                save_suggestion(tx, &record)?;
                stored.push(record);
            }
            Ok((review, stored, true))
        })?;
        if saved.2 {
            tracing::info!(
                review_id = saved.0.id,
                call_log = new.call_id,
                score = saved.0.quality_score,
                issues = saved.0.issues.len(),
                suggestions = saved.1.len(),
                "Call reviewed."
            );
        }
        Ok(saved)
    }

    /// One review.
    pub fn get_review(&self, id: u64) -> Result<Option<TranscriptReview>, StoreError> {
        self.read(|tx| get_doc(tx, "transcript_reviews", id, false))
    }

    /// The review of a call, if it was reviewed.
    pub fn review_for_call(&self, call_id: u64) -> Result<Option<TranscriptReview>, StoreError> {
        self.read(|tx| review_of_call(tx, call_id))
    }

    /// A review's suggestions in id order.
    pub fn suggestions_for_review(
        &self,
        review_id: u64,
    ) -> Result<Vec<ImprovementSuggestion>, StoreError> {
        self.read(|tx| suggestions_of(tx, review_id))
    }

    /// Reviews by filter in id order.
    pub fn list_reviews(
        &self,
        filter: &ReviewFilter,
        page: &PageRequest,
    ) -> Result<Page<TranscriptReview>, StoreError> {
        self.scan_page(
            "transcript_reviews",
            "business_id = $2",
            filter.business_id.as_deref(),
            page,
            |r: &TranscriptReview| filter.keeps(r),
        )
    }

    /// Counts and average scores of the reviews matching `filter`.
    pub fn review_stats(&self, filter: &ReviewFilter) -> Result<ReviewStats, StoreError> {
        let business = filter.business_id.as_deref();
        let rows = self.read(|tx| {
            Ok(tx.query(
                "SELECT id, doc FROM transcript_reviews
                 WHERE $1::text IS NULL OR business_id = $1 ORDER BY id",
                &[&business],
            )?)
        })?;
        let mut reviews = Vec::with_capacity(rows.len());
        for row in rows {
            let r: TranscriptReview =
                decode("transcript_reviews", row.get::<_, i64>(0), row.get(1))?;
            if filter.keeps(&r) {
                reviews.push(r);
            }
        }
        Ok(review_stats_of(&reviews))
    }

    /// One suggestion.
    pub fn get_suggestion(&self, id: u64) -> Result<Option<ImprovementSuggestion>, StoreError> {
        self.read(|tx| get_doc(tx, "improvement_suggestions", id, false))
    }

    /// Suggestions by filter in id order.
    pub fn list_suggestions(
        &self,
        filter: &SuggestionFilter,
        page: &PageRequest,
    ) -> Result<Page<ImprovementSuggestion>, StoreError> {
        self.scan_page(
            "improvement_suggestions",
            "business_id = $2",
            filter.business_id.as_deref(),
            page,
            |s: &ImprovementSuggestion| filter.keeps(s),
        )
    }

    /// Accepts, rejects or re-opens a suggestion.
    pub fn set_suggestion_status(
        &self,
        id: u64,
        status: SuggestionStatus,
        now: DateTime<Utc>,
    ) -> Result<ImprovementSuggestion, StoreError> {
        self.write(|tx| {
            let mut s: ImprovementSuggestion = get_doc(tx, "improvement_suggestions", id, true)?
                .ok_or_else(|| StoreError::not_found("suggestion", id))?;
            if s.status != status {
                s.status = status;
                s.updated_at = now;
                save_suggestion(tx, &s)?;
            }
            Ok(s)
        })
    }

    /// Queues (again) the review of a finished call.
    pub fn request_review(
        &self,
        call_id: u64,
        now: DateTime<Utc>,
    ) -> Result<ReviewRequest, StoreError> {
        let call: CallLog = self
            .read(|tx| get_doc(tx, "call_logs", call_id, false))?
            .ok_or_else(|| StoreError::not_found("call", call_id))?;
        if call.ended_at.is_none() {
            return Err(StoreError::invalid(
                "call_id",
                format!("call {call_id} is still in progress; it is reviewed when it ends"),
            ));
        }
        let job = self.enqueue_job(&analyze_job(call_id, now), now)?;
        let review_id = self.review_for_call(call_id)?.map(|r| r.id);
        Ok(ReviewRequest {
            call_id,
            job,
            review_id,
        })
    }
}
