//! Call reviews and improvement suggestions: storing what the reviewer found after a call
//! (one review per call, written with its suggestions in one transaction), listing and
//! counting them for the admin, and the owner's decision on each suggestion.
//!
//! The review itself is made elsewhere (the `vartalaap-review` crate, run by the
//! [`ANALYZE_TRANSCRIPT_KIND`](crate::ANALYZE_TRANSCRIPT_KIND) job that
//! [`Store::finish_call`] queues in the same commit as the call's end).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;

use crate::error::StoreError;
use crate::jobs::NewJob;
use crate::model::{
    CallLog, ImprovementSuggestion, Job, ReviewCategory, ReviewIssue, SuggestionStatus,
    SuggestionTarget, TranscriptReview,
};
use crate::records::scan;
use crate::store::{Page, PageRequest, Store};
use crate::tables::*;

/// Longest suggestion title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest suggestion description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// A review to record. The `has_<category>` flags are derived from the issues.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReview {
    /// Reviewed call.
    pub call_id: u64,
    /// 1–5.
    pub quality_score: u8,
    /// What went wrong.
    pub issues: Vec<ReviewIssue>,
    /// The caller asked something the bot could not answer.
    pub has_unanswered_query: bool,
    /// `offline` or the LLM model name.
    pub agent_model: String,
    /// How long reviewing took.
    pub review_latency_ms: u32,
    /// `agent` or the admin.
    pub reviewed_by: String,
}

/// A suggestion to record with its review (status `pending`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSuggestion {
    /// Root cause it fixes.
    pub category: ReviewCategory,
    /// ≤ 200 characters.
    pub title: String,
    /// ≤ 2,000 characters.
    pub description: String,
    /// What to change.
    pub target: SuggestionTarget,
    /// 1 (do first) – 5.
    pub priority: u8,
    /// Text to put there.
    pub proposed_text: Option<String>,
}

/// Filters for [`Store::list_reviews`] and [`Store::review_stats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewFilter {
    /// Only this business.
    pub business_id: Option<String>,
    /// Reviewed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Reviewed before.
    pub to: Option<DateTime<Utc>>,
    /// Only reviews with an issue of this category.
    pub category: Option<ReviewCategory>,
    /// Score at least.
    pub min_score: Option<u8>,
    /// Score at most.
    pub max_score: Option<u8>,
}

impl ReviewFilter {
    pub(crate) fn keeps(&self, r: &TranscriptReview) -> bool {
        self.business_id
            .as_ref()
            .is_none_or(|b| *b == r.business_id)
            && self.from.is_none_or(|f| r.reviewed_at >= f)
            && self.to.is_none_or(|t| r.reviewed_at < t)
            && self
                .category
                .is_none_or(|c| r.issues.iter().any(|i| i.category == c))
            && self.min_score.is_none_or(|m| r.quality_score >= m)
            && self.max_score.is_none_or(|m| r.quality_score <= m)
    }
}

/// Filters for [`Store::list_suggestions`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuggestionFilter {
    /// Only this business.
    pub business_id: Option<String>,
    /// Only this status.
    pub status: Option<SuggestionStatus>,
    /// Only this category.
    pub category: Option<ReviewCategory>,
}

/// Reviews of one UTC day (by `reviewed_at`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayReviewStats {
    /// The day.
    pub date: NaiveDate,
    /// Reviews made that day.
    pub reviews: u64,
    /// Their average score.
    pub average_score: f64,
    /// Issues found that day, per category.
    pub issues_by_category: BTreeMap<String, u64>,
}

/// Reviews with at least one issue of a category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryReviewStats {
    /// The category.
    pub category: ReviewCategory,
    /// Reviews with such an issue.
    pub reviews: u64,
    /// Issues of the category in all reviews.
    pub issues: u64,
    /// Average score of those reviews.
    pub average_score: f64,
}

/// Counts and average scores, per day and per category ([`Store::review_stats`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewStats {
    /// Reviews matching the filter.
    pub reviews: u64,
    /// Their average score (`null` when there are none).
    pub average_score: Option<f64>,
    /// Per day, oldest first.
    pub days: Vec<DayReviewStats>,
    /// Per category, in category order; categories never found are listed with zeros.
    pub categories: Vec<CategoryReviewStats>,
}

/// What [`Store::request_review`] did: the (possibly existing) job, and the review when one
/// is already stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewRequest {
    /// The call.
    pub call_id: u64,
    /// The `analyze_transcript_quality` job for it.
    pub job: Job,
    /// The stored review, if the job has produced it already.
    pub review_id: Option<u64>,
}

/// The idempotency key of a call's review job: one review job per call, ever.
pub fn analyze_job_key(call_id: u64) -> String {
    format!("{}:call:{call_id}", crate::ANALYZE_TRANSCRIPT_KIND)
}

/// The review job of a call, due now.
pub(crate) fn analyze_job(call_id: u64, now: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: crate::ANALYZE_TRANSCRIPT_KIND.to_string(),
        payload: serde_json::json!({ "call_id": call_id }),
        idempotency_key: analyze_job_key(call_id),
        max_attempts: 5,
        due_at: now,
    }
}

fn check_suggestion(s: &NewSuggestion) -> Result<(), StoreError> {
    if s.title.trim().is_empty() || s.title.chars().count() > MAX_TITLE_CHARS {
        return Err(StoreError::invalid(
            "title",
            format!("must be 1 to {MAX_TITLE_CHARS} characters"),
        ));
    }
    if s.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(StoreError::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if !(1..=5).contains(&s.priority) {
        return Err(StoreError::invalid("priority", "must be 1 to 5"));
    }
    if s.target.file.is_empty() {
        return Err(StoreError::invalid("target.file", "must not be empty"));
    }
    Ok(())
}

fn suggestions_of(
    txn: &redb::ReadTransaction,
    review_id: u64,
) -> Result<Vec<ImprovementSuggestion>, StoreError> {
    let mut out = Vec::new();
    for row in txn.open_table(SUGGESTIONS)?.iter()? {
        let (id, bytes) = row?;
        let s: ImprovementSuggestion =
            decode("improvement_suggestions", id.value(), bytes.value())?;
        if s.review_id == review_id {
            out.push(s);
        }
    }
    Ok(out)
}

/// Whether `issues` have one of `category`.
fn has(issues: &[ReviewIssue], category: ReviewCategory) -> bool {
    issues.iter().any(|i| i.category == category)
}

/// Builds the stored review from what the reviewer found (flags derived from the issues).
pub(crate) fn review_record(
    id: u64,
    business_id: &str,
    new: &NewReview,
    now: DateTime<Utc>,
) -> TranscriptReview {
    let i = &new.issues;
    TranscriptReview {
        id,
        call_id: new.call_id,
        business_id: business_id.to_string(),
        quality_score: new.quality_score,
        issues: new.issues.clone(),
        has_unanswered_query: new.has_unanswered_query,
        has_knowledge_gap: has(i, ReviewCategory::KnowledgeGap),
        has_prompt_weakness: has(i, ReviewCategory::PromptWeakness),
        has_ux_issue: has(i, ReviewCategory::UxIssue),
        has_stt_error: has(i, ReviewCategory::SttError),
        has_tts_issue: has(i, ReviewCategory::TtsIssue),
        has_config_error: has(i, ReviewCategory::ConfigError),
        agent_model: new.agent_model.clone(),
        review_latency_ms: new.review_latency_ms,
        reviewed_at: now,
        reviewed_by: new.reviewed_by.clone(),
    }
}

/// Counts and average scores of `reviews`, per day and per category (every backend's
/// `review_stats` after its filter).
pub(crate) fn review_stats_of(reviews: &[TranscriptReview]) -> ReviewStats {
    let mut days: BTreeMap<NaiveDate, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut categories: BTreeMap<ReviewCategory, (u64, u64, u64)> = ReviewCategory::ALL
        .iter()
        .map(|c| (*c, (0, 0, 0)))
        .collect();
    let (mut count, mut total) = (0u64, 0u64);
    for r in reviews {
        let score = u64::from(r.quality_score);
        count += 1;
        total += score;
        let day = days.entry(r.reviewed_at.date_naive()).or_default();
        day.0 += 1;
        day.1 += score;
        for issue in &r.issues {
            *day.2.entry(issue.category.to_string()).or_default() += 1;
        }
        for (category, (reviews, issues, sum)) in categories.iter_mut() {
            let n = r.issues.iter().filter(|i| i.category == *category).count() as u64;
            if n > 0 {
                *reviews += 1;
                *issues += n;
                *sum += score;
            }
        }
    }
    let average = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
    ReviewStats {
        reviews: count,
        average_score: (count > 0).then(|| average(total, count)),
        days: days
            .into_iter()
            .map(|(date, (reviews, sum, by))| DayReviewStats {
                date,
                reviews,
                average_score: average(sum, reviews),
                issues_by_category: by,
            })
            .collect(),
        categories: categories
            .into_iter()
            .map(|(category, (reviews, issues, sum))| CategoryReviewStats {
                category,
                reviews,
                issues,
                average_score: average(sum, reviews),
            })
            .collect(),
    }
}

/// Every check of a review and its suggestions that needs no database.
pub(crate) fn validate_review(
    new: &NewReview,
    suggestions: &[NewSuggestion],
) -> Result<(), StoreError> {
    if !(1..=5).contains(&new.quality_score) {
        return Err(StoreError::invalid("quality_score", "must be 1 to 5"));
    }
    if new.agent_model.is_empty() || new.reviewed_by.is_empty() {
        return Err(StoreError::invalid(
            "review",
            "agent_model and reviewed_by must not be empty",
        ));
    }
    for s in suggestions {
        check_suggestion(s)?;
    }
    Ok(())
}

/// A new pending suggestion of `review`.
pub(crate) fn suggestion_record(
    id: u64,
    review: &TranscriptReview,
    s: &NewSuggestion,
    now: DateTime<Utc>,
) -> ImprovementSuggestion {
    ImprovementSuggestion {
        id,
        review_id: review.id,
        call_id: review.call_id,
        business_id: review.business_id.clone(),
        category: s.category,
        title: s.title.clone(),
        description: s.description.clone(),
        target: s.target.clone(),
        priority: s.priority,
        proposed_text: s.proposed_text.clone(),
        status: SuggestionStatus::Pending,
        created_at: now,
        updated_at: now,
    }
}

impl SuggestionFilter {
    /// Whether `s` passes every filter.
    pub(crate) fn keeps(&self, s: &ImprovementSuggestion) -> bool {
        self.business_id
            .as_ref()
            .is_none_or(|b| *b == s.business_id)
            && self.status.is_none_or(|st| st == s.status)
            && self.category.is_none_or(|c| c == s.category)
    }
}

/// Indexes a suggestion by (business, status).
pub(crate) fn index_suggestion(
    txn: &WriteTransaction,
    s: &ImprovementSuggestion,
) -> Result<(), StoreError> {
    txn.open_multimap_table(SUGGESTIONS_BY_STATUS)?
        .insert((s.business_id.as_str(), s.status.as_str()), s.id)?;
    Ok(())
}

impl Store {
    /// Stores the review of a call with its suggestions, in one write transaction. Once a call
    /// has a review, saving again returns the stored one unchanged (`false`): the review job
    /// may run twice after a crash, and the owner's decisions on suggestions must survive.
    pub fn save_review(
        &self,
        new: &NewReview,
        suggestions: &[NewSuggestion],
        now: DateTime<Utc>,
    ) -> Result<(TranscriptReview, Vec<ImprovementSuggestion>, bool), StoreError> {
        validate_review(new, suggestions)?;
        let txn = self.db.begin_write()?;
        let call: CallLog = get_json(&txn.open_table(CALLS)?, "call_logs", new.call_id)?
            .ok_or_else(|| StoreError::not_found("call", new.call_id))?;
        let existing = txn
            .open_table(REVIEWS_BY_CALL)?
            .get(new.call_id)?
            .map(|v| v.value());
        if let Some(id) = existing {
            drop(txn);
            let review = self
                .get_review(id)?
                .ok_or_else(|| StoreError::not_found("review", id))?;
            let suggestions = self.suggestions_for_review(id)?;
            return Ok((review, suggestions, false));
        }
        let id = next_id(&txn, "transcript_review")?;
        let review = review_record(id, &call.business_id, new, now);
        put_json(&mut txn.open_table(REVIEWS)?, id, &review)?;
        txn.open_table(REVIEWS_BY_CALL)?.insert(new.call_id, id)?;
        let mut stored = Vec::with_capacity(suggestions.len());
        for s in suggestions {
            let sid = next_id(&txn, "improvement_suggestion")?;
            let record = suggestion_record(sid, &review, s, now);
            put_json(&mut txn.open_table(SUGGESTIONS)?, sid, &record)?;
            index_suggestion(&txn, &record)?;
            stored.push(record);
        }
        txn.commit()?;
        tracing::info!(
            review_id = id,
            call_log = new.call_id,
            score = review.quality_score,
            issues = review.issues.len(),
            suggestions = stored.len(),
            "Call reviewed."
        );
        Ok((review, stored, true))
    }

    /// One review.
    pub fn get_review(&self, id: u64) -> Result<Option<TranscriptReview>, StoreError> {
        let txn = self.db.begin_read()?;
        get_json(&txn.open_table(REVIEWS)?, "transcript_reviews", id)
    }

    /// The review of a call, if it has one.
    pub fn review_for_call(&self, call_id: u64) -> Result<Option<TranscriptReview>, StoreError> {
        let txn = self.db.begin_read()?;
        let Some(id) = txn
            .open_table(REVIEWS_BY_CALL)?
            .get(call_id)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        get_json(&txn.open_table(REVIEWS)?, "transcript_reviews", id)
    }

    /// The suggestions a review produced, in id order.
    pub fn suggestions_for_review(
        &self,
        review_id: u64,
    ) -> Result<Vec<ImprovementSuggestion>, StoreError> {
        let txn = self.db.begin_read()?;
        suggestions_of(&txn, review_id)
    }

    /// Reviews by filter in id order.
    pub fn list_reviews(
        &self,
        filter: &ReviewFilter,
        page: &PageRequest,
    ) -> Result<Page<TranscriptReview>, StoreError> {
        scan(self, REVIEWS, "transcript_reviews", page, |r| {
            filter.keeps(r)
        })
    }

    /// Counts and average scores of the reviews matching `filter`, per day and per category.
    pub fn review_stats(&self, filter: &ReviewFilter) -> Result<ReviewStats, StoreError> {
        let txn = self.db.begin_read()?;
        let mut reviews = Vec::new();
        for row in txn.open_table(REVIEWS)?.iter()? {
            let (id, bytes) = row?;
            let r: TranscriptReview = decode("transcript_reviews", id.value(), bytes.value())?;
            if filter.keeps(&r) {
                reviews.push(r);
            }
        }
        Ok(review_stats_of(&reviews))
    }

    /// One suggestion.
    pub fn get_suggestion(&self, id: u64) -> Result<Option<ImprovementSuggestion>, StoreError> {
        let txn = self.db.begin_read()?;
        get_json(&txn.open_table(SUGGESTIONS)?, "improvement_suggestions", id)
    }

    /// Suggestions by filter in id order; with a business and a status the
    /// business+status index answers without a scan.
    pub fn list_suggestions(
        &self,
        filter: &SuggestionFilter,
        page: &PageRequest,
    ) -> Result<Page<ImprovementSuggestion>, StoreError> {
        let keep = |s: &ImprovementSuggestion| filter.keeps(s);
        let (Some(business), Some(status)) = (&filter.business_id, filter.status) else {
            return scan(self, SUGGESTIONS, "improvement_suggestions", page, keep);
        };
        let txn = self.db.begin_read()?;
        let index = txn.open_multimap_table(SUGGESTIONS_BY_STATUS)?;
        let rows = txn.open_table(SUGGESTIONS)?;
        let mut found = Vec::new();
        for id in index.get((business.as_str(), status.as_str()))? {
            let id = id?.value();
            if let Some(s) =
                get_json::<ImprovementSuggestion>(&rows, "improvement_suggestions", id)?
                && keep(&s)
            {
                found.push((id, s));
            }
        }
        Ok(page.paginate(found))
    }

    /// Records the owner's decision on a suggestion, keeping the index in step.
    pub fn set_suggestion_status(
        &self,
        id: u64,
        status: SuggestionStatus,
        now: DateTime<Utc>,
    ) -> Result<ImprovementSuggestion, StoreError> {
        let txn = self.db.begin_write()?;
        let mut s: ImprovementSuggestion =
            get_json(&txn.open_table(SUGGESTIONS)?, "improvement_suggestions", id)?
                .ok_or_else(|| StoreError::not_found("suggestion", id))?;
        if s.status != status {
            txn.open_multimap_table(SUGGESTIONS_BY_STATUS)?
                .remove((s.business_id.as_str(), s.status.as_str()), id)?;
            s.status = status;
            s.updated_at = now;
            put_json(&mut txn.open_table(SUGGESTIONS)?, id, &s)?;
            index_suggestion(&txn, &s)?;
        }
        txn.commit()?;
        Ok(s)
    }

    /// Queues the review of a call (the same job [`Store::finish_call`] queues, so asking
    /// twice, or after the call's own job, changes nothing). A call still in progress is
    /// refused: its review would miss the end.
    pub fn request_review(
        &self,
        call_id: u64,
        now: DateTime<Utc>,
    ) -> Result<ReviewRequest, StoreError> {
        let call: CallLog = {
            let txn = self.db.begin_read()?;
            get_json(&txn.open_table(CALLS)?, "call_logs", call_id)?
                .ok_or_else(|| StoreError::not_found("call", call_id))?
        };
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
