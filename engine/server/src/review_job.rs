//! The `analyze_transcript_quality` job: reviews a finished call against the business's live
//! configuration and stores the review with its suggestions. Queued by the store in the same
//! commit as the call's end, or by `POST /api/reviews/analyze`; running it twice stores one
//! review (the store keeps the first).
//!
//! Without an LLM the review is the offline one (`vartalaap-review`: QA reviewer → classifier
//! → improver). With `LLM_PROVIDER=groq` each stage asks the model
//! (`vartalaap_review::review_call_with_model`: schema-validated answers, one retry, that
//! stage's offline result otherwise) with phone numbers and the caller's name masked, and the
//! call's templated summary is replaced by the model's one sentence when it passes the guard
//! (`vartalaap_llm::review::guarded_summary`). See `docs/REVIEWS.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_llm::review::{guarded_summary, summary_facts};
use vartalaap_review::llm_summary::summary_messages;
use vartalaap_review::{
    BusinessLayout, Masker, Message, ModelAnswer, ModelFailure, OFFLINE_MODEL, OfflineReview,
    ReviewModel, Thresholds, review_call, review_call_with_model,
};
use vartalaap_store::{
    CallEnd, CallOutcome, CallWithTurns, Clock, HandlerFuture, Job, JobFailure, JobHandler,
    NewReview, Store, StoreError,
};

/// `reviewed_by` of reviews made by this job.
pub const REVIEWED_BY_AGENT: &str = "agent";

/// The most time all model requests of one review (stages, retries, summary) may take: under
/// the job runner's 60 s lease, so a slow model never lets the job be claimed a second time
/// while it runs. Requests past it are not sent; their stages take the offline result.
const MODEL_BUDGET: Duration = Duration::from_secs(45);

/// The review's model with one deadline for all its requests.
struct Budgeted<'m> {
    model: &'m dyn ReviewModel,
    deadline: tokio::time::Instant,
}

impl ReviewModel for Budgeted<'_> {
    fn model_name(&self) -> &str {
        self.model.model_name()
    }

    fn ask<'a>(&'a self, messages: &'a [Message]) -> ModelAnswer<'a> {
        Box::pin(async move {
            let past = || ModelFailure {
                reason: "review_budget".into(),
            };
            if tokio::time::Instant::now() >= self.deadline {
                return Err(past());
            }
            tokio::time::timeout_at(self.deadline, self.model.ask(messages))
                .await
                .unwrap_or_else(|_| Err(past()))
        })
    }
}

/// Reviews one call per job, offline or with the configured model.
pub struct AnalyzeTranscriptHandler {
    store: Arc<Store>,
    config: Arc<ConfigStore>,
    clock: Arc<dyn Clock>,
    thresholds: Thresholds,
    model: Option<Arc<dyn ReviewModel>>,
}

impl AnalyzeTranscriptHandler {
    /// A handler reviewing offline against the live configuration.
    pub fn new(
        store: Arc<Store>,
        config: Arc<ConfigStore>,
        clock: Arc<dyn Clock>,
    ) -> AnalyzeTranscriptHandler {
        AnalyzeTranscriptHandler {
            store,
            config,
            clock,
            thresholds: Thresholds::default(),
            model: None,
        }
    }

    /// Reviews (and summarises) with `model`; `None` keeps the offline reviewer.
    pub fn with_model(mut self, model: Option<Arc<dyn ReviewModel>>) -> AnalyzeTranscriptHandler {
        self.model = model;
        self
    }
}

fn failure(message: String, permanent: bool) -> JobFailure {
    JobFailure {
        message,
        retry_after: None,
        permanent,
    }
}

fn transient(e: StoreError) -> JobFailure {
    failure(e.to_string(), false)
}

/// What the review needs from storage and configuration, read on a blocking thread.
struct Prepared {
    call: CallWithTurns,
    snapshot: Arc<BusinessSnapshot>,
    /// Names to mask: the reservation's and the caller's preferred name.
    names: Vec<String>,
    /// The booking the call made (party, date, time), for the summary guard.
    booking: Option<(u8, NaiveDate, NaiveTime)>,
}

impl AnalyzeTranscriptHandler {
    /// `None` when there is nothing to do (call purged, or already reviewed).
    fn prepare(&self, call_id: u64) -> Result<Option<Prepared>, JobFailure> {
        let store = &self.store;
        let Some(call) = store.get_call(call_id).map_err(transient)? else {
            // Purged by retention before its review ran: nothing left to review.
            tracing::info!(
                call_log = call_id,
                "Call to review no longer exists; skipped."
            );
            return Ok(None);
        };
        if store.review_for_call(call_id).map_err(transient)?.is_some() {
            return Ok(None);
        }
        let snapshot = self.config.current(&call.call.business_id).ok_or_else(|| {
            failure(
                format!(
                    "business {:?} of call {call_id} is no longer configured; its calls cannot be reviewed",
                    call.call.business_id
                ),
                true,
            )
        })?;
        let mut names = Vec::new();
        let mut booking = None;
        if self.model.is_some() {
            if let Some(id) = call.call.reservation_id
                && let Some(r) = store.get_reservation(id).map_err(transient)?
            {
                names.extend(r.customer_name.clone());
                let time = NaiveTime::parse_from_str(&r.reservation_time.to_string(), "%H:%M").ok();
                booking = time.map(|t| (r.party_size, r.reservation_date, t));
            }
            if let Some(hash) = &call.call.caller_phone_hash
                && let Some(p) = store.get_caller_preferences(hash).map_err(transient)?
            {
                names.extend(p.preferred_name);
            }
        }
        Ok(Some(Prepared {
            call,
            snapshot,
            names,
            booking,
        }))
    }

    /// The model's summary sentence for the call, if it passes the guard.
    async fn summary(
        &self,
        model: &dyn ReviewModel,
        prepared: &Prepared,
        masker: &Masker,
    ) -> Option<String> {
        let answer = match model.ask(&summary_messages(&prepared.call, masker)).await {
            Ok(answer) => answer,
            Err(f) => {
                tracing::warn!(
                    call_log = prepared.call.call.id,
                    outcome = %f.reason,
                    "The LLM gave no call summary; the templated one stays."
                );
                return None;
            }
        };
        let facts = summary_facts(&prepared.snapshot, prepared.booking);
        let booked = prepared.call.call.outcome == CallOutcome::ReservationMade;
        let sentence = guarded_summary(&answer, &facts, booked);
        if sentence.is_none() {
            tracing::warn!(
                call_log = prepared.call.call.id,
                "The LLM's call summary was refused by the guard; the templated one stays."
            );
        }
        sentence
    }

    async fn run(&self, call_id: u64) -> Result<(), JobFailure> {
        let Some(prepared) = self.blocking(move |h| h.prepare(call_id)).await? else {
            return Ok(());
        };
        let started = Instant::now();
        let layout = BusinessLayout::from_snapshot(&prepared.snapshot);
        let mut summary = None;
        let (review, agent_model): (OfflineReview, String) = match &self.model {
            None => (
                review_call(&prepared.call, &layout, &self.thresholds),
                OFFLINE_MODEL.to_string(),
            ),
            Some(model) => {
                let model = Budgeted {
                    model: model.as_ref(),
                    deadline: tokio::time::Instant::now() + MODEL_BUDGET,
                };
                let masker = Masker::for_call(
                    &prepared.call,
                    &layout,
                    prepared.names.iter().map(String::as_str),
                );
                let reviewed = review_call_with_model(
                    &prepared.call,
                    &layout,
                    &self.thresholds,
                    &masker,
                    &model,
                )
                .await;
                let stages: Vec<String> = reviewed
                    .stages
                    .iter()
                    .map(|(stage, outcome)| format!("{}={}", stage.name(), outcome.label()))
                    .collect();
                tracing::info!(
                    call_log = call_id,
                    agent_model = %reviewed.agent_model,
                    stages = %stages.join(","),
                    "Call reviewed with the LLM."
                );
                summary = self.summary(&model, &prepared, &masker).await;
                (reviewed.review, reviewed.agent_model)
            }
        };
        let latency = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let call = prepared.call.call;
        self.blocking(move |h| {
            let now = h.clock.now();
            let (_, _, created) = h
                .store
                .save_review(
                    &NewReview {
                        call_id,
                        quality_score: review.quality_score,
                        issues: review.issues,
                        has_unanswered_query: review.has_unanswered_query,
                        agent_model,
                        review_latency_ms: latency,
                        reviewed_by: REVIEWED_BY_AGENT.to_string(),
                    },
                    &review.suggestions,
                    now,
                )
                .map_err(transient)?;
            if let (true, Some(sentence), Some(ended_at)) = (created, summary, call.ended_at) {
                // The end is recorded again unchanged but for the summary: no counter moves
                // (the handoff count follows a change of outcome only) and the review job is
                // not queued again (one per call).
                h.store
                    .finish_call(
                        call_id,
                        &CallEnd {
                            ended_at,
                            outcome: call.outcome,
                            reservation_id: call.reservation_id,
                            language: call.language,
                            summary: Some(sentence),
                        },
                        now,
                    )
                    .map_err(transient)?;
            }
            Ok(())
        })
        .await
    }

    /// Runs `work` with this handler on a blocking thread (the store blocks).
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AnalyzeTranscriptHandler) -> Result<T, JobFailure> + Send + 'static,
    ) -> Result<T, JobFailure> {
        let handler = AnalyzeTranscriptHandler {
            store: self.store.clone(),
            config: self.config.clone(),
            clock: self.clock.clone(),
            thresholds: self.thresholds.clone(),
            model: self.model.clone(),
        };
        match tokio::task::spawn_blocking(move || work(&handler)).await {
            Ok(result) => result,
            Err(e) => Err(failure(format!("review task failed: {e}"), false)),
        }
    }
}

impl JobHandler for AnalyzeTranscriptHandler {
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let call_id = job
                .payload
                .get("call_id")
                .and_then(|v| v.as_u64())
                .ok_or_else(|| failure(format!("job {} payload has no call_id", job.id), true))?;
            self.run(call_id).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that must not be asked.
    struct Unasked;

    impl ReviewModel for Unasked {
        fn model_name(&self) -> &str {
            "unasked"
        }

        fn ask<'a>(&'a self, _: &'a [Message]) -> ModelAnswer<'a> {
            panic!("a request was sent past the review's budget")
        }
    }

    /// Never answers.
    struct Silent;

    impl ReviewModel for Silent {
        fn model_name(&self) -> &str {
            "silent"
        }

        fn ask<'a>(&'a self, _: &'a [Message]) -> ModelAnswer<'a> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn past_the_budget_no_request_is_sent_and_a_slow_one_is_cut() {
        let spent = Budgeted {
            model: &Unasked,
            deadline: tokio::time::Instant::now(),
        };
        let failed = spent.ask(&[]).await.unwrap_err();
        assert_eq!(failed.reason, "review_budget");
        let slow = Budgeted {
            model: &Silent,
            deadline: tokio::time::Instant::now() + Duration::from_millis(20),
        };
        assert_eq!(slow.ask(&[]).await.unwrap_err().reason, "review_budget");
        assert_eq!(slow.model_name(), "silent");
    }
}
