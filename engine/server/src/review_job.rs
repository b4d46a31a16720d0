//! The `analyze_transcript_quality` job: reviews a finished call with the offline reviewer
//! (`vartalaap-review`: QA reviewer → classifier → improver) against the business's live
//! configuration and stores the review with its suggestions. Queued by the store in the same
//! commit as the call's end, or by `POST /api/reviews/analyze`; running it twice stores one
//! review (the store keeps the first).

use std::sync::Arc;
use std::time::Instant;

use vartalaap_config::ConfigStore;
use vartalaap_review::{BusinessLayout, OFFLINE_MODEL, Thresholds, review_call};
use vartalaap_store::{Clock, HandlerFuture, Job, JobFailure, JobHandler, NewReview, Store};

/// `reviewed_by` of reviews made by this job.
pub const REVIEWED_BY_AGENT: &str = "agent";

/// Runs the offline review of one call per job.
pub struct AnalyzeTranscriptHandler {
    store: Arc<Store>,
    config: Arc<ConfigStore>,
    clock: Arc<dyn Clock>,
    thresholds: Thresholds,
}

impl AnalyzeTranscriptHandler {
    /// A handler reviewing against the live configuration.
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
        }
    }
}

fn failure(message: String, permanent: bool) -> JobFailure {
    JobFailure {
        message,
        retry_after: None,
        permanent,
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
            let store = self.store.clone();
            let config = self.config.clone();
            let clock = self.clock.clone();
            let thresholds = self.thresholds.clone();
            let done = tokio::task::spawn_blocking(move || {
                let transient = |e: vartalaap_store::StoreError| failure(e.to_string(), false);
                let Some(call) = store.get_call(call_id).map_err(transient)? else {
                    // Purged by retention before its review ran: nothing left to review.
                    tracing::info!(call_log = call_id, "Call to review no longer exists; skipped.");
                    return Ok(());
                };
                if store.review_for_call(call_id).map_err(transient)?.is_some() {
                    return Ok(());
                }
                let snapshot = config.current(&call.call.business_id).ok_or_else(|| {
                    failure(
                        format!(
                            "business {:?} of call {call_id} is no longer configured; its calls cannot be reviewed",
                            call.call.business_id
                        ),
                        true,
                    )
                })?;
                let started = Instant::now();
                let layout = BusinessLayout::from_snapshot(&snapshot);
                let review = review_call(&call, &layout, &thresholds);
                let latency = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
                store
                    .save_review(
                        &NewReview {
                            call_id,
                            quality_score: review.quality_score,
                            issues: review.issues,
                            has_unanswered_query: review.has_unanswered_query,
                            agent_model: OFFLINE_MODEL.to_string(),
                            review_latency_ms: latency,
                            reviewed_by: REVIEWED_BY_AGENT.to_string(),
                        },
                        &review.suggestions,
                        clock.now(),
                    )
                    .map_err(transient)?;
                Ok(())
            })
            .await;
            match done {
                Ok(result) => result,
                Err(e) => Err(failure(format!("review task failed: {e}"), false)),
            }
        })
    }
}
