//! The tokio worker that drains the job queue.
//!
//! The runner polls for due jobs, dispatches each to the handler registered for its kind, and
//! records the outcome (done / retry with backoff / dead letter). Store calls block on fsync,
//! so they run on `spawn_blocking`. Shutdown is cooperative: when the token is cancelled the
//! runner stops claiming, lets in-flight handlers finish, releases claimed-but-unstarted jobs
//! and returns.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::{JobError, StoreError};
use crate::jobs::{Backoff, Jitter, JobFailure, RandomJitter};
use crate::model::Job;
use crate::schedule::ScheduledJob;
use crate::store::Store;

/// Wall clock for the runner (the store itself never reads one).
pub trait Clock: Send + Sync {
    /// Current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Boxed future returned by handlers (keeps [`JobHandler`] object-safe).
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobFailure>> + Send + 'a>>;

/// Executes jobs of one kind. Must be idempotent: after a crash or lease expiry the same job
/// can run again, so pass `job.idempotency_key` to anything external.
pub trait JobHandler: Send + Sync + 'static {
    /// Runs one attempt.
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a>;
}

/// Runner settings.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Lease owner name (host + pid is a good choice).
    pub owner: String,
    /// Sleep between polls when the queue is empty.
    pub poll_interval: Duration,
    /// Lease per claim; must exceed the slowest handler (HTTP timeout + margin).
    pub lease: Duration,
    /// Jobs claimed per poll.
    pub batch: usize,
    /// Retry spacing.
    pub backoff: Backoff,
    /// Recurring jobs kept enqueued (purge, WhatsApp retry sweep).
    pub schedules: Vec<ScheduledJob>,
}

impl Default for RunnerConfig {
    fn default() -> RunnerConfig {
        RunnerConfig {
            owner: format!("worker-{}", std::process::id()),
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            batch: 16,
            backoff: Backoff::default(),
            schedules: Vec::new(),
        }
    }
}

/// Computes the recurring jobs afresh at every poll, for schedules that follow a live,
/// hot-reloaded configuration (a new business gets its purge, a changed retention applies).
pub type ScheduleSource = Arc<dyn Fn() -> Vec<ScheduledJob> + Send + Sync>;

/// Polls the store and dispatches jobs to handlers by kind.
pub struct JobRunner {
    store: Arc<Store>,
    config: RunnerConfig,
    /// When set, replaces `config.schedules` (see [`JobRunner::with_schedule_source`]).
    schedule_source: Option<ScheduleSource>,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    /// Kinds this runner knows but cannot run yet (see [`JobRunner::defer`]).
    deferred: Vec<String>,
    clock: Arc<dyn Clock>,
    jitter: Arc<Mutex<Box<dyn Jitter>>>,
}

impl JobRunner {
    /// A runner with the system clock and random jitter.
    pub fn new(store: Arc<Store>, config: RunnerConfig) -> JobRunner {
        JobRunner {
            store,
            config,
            schedule_source: None,
            handlers: HashMap::new(),
            deferred: Vec::new(),
            clock: Arc::new(SystemClock),
            jitter: Arc::new(Mutex::new(Box::new(RandomJitter))),
        }
    }

    /// Registers the handler for `kind`.
    pub fn register(mut self, kind: &str, handler: impl JobHandler) -> JobRunner {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    /// Leaves jobs of `kind` pending and untouched: no attempt counted, never dead-lettered.
    /// For a known kind whose handler needs configuration that is missing (WhatsApp
    /// follow-ups before the webhook is set): they wait durably for a runner that can send
    /// them. A kind that is neither registered nor deferred is a mistake, and its jobs are
    /// dead-lettered with "no handler registered" so the admin sees them.
    pub fn defer(mut self, kind: &str) -> JobRunner {
        self.deferred.push(kind.to_owned());
        self
    }

    /// Reads the recurring jobs from `source` at every poll instead of the fixed
    /// `RunnerConfig::schedules`.
    pub fn with_schedule_source(mut self, source: ScheduleSource) -> JobRunner {
        self.schedule_source = Some(source);
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> JobRunner {
        self.clock = clock;
        self
    }

    /// Replaces the jitter source (tests).
    pub fn with_jitter(mut self, jitter: Box<dyn Jitter>) -> JobRunner {
        self.jitter = Arc::new(Mutex::new(jitter));
        self
    }

    /// Runs until `shutdown` is cancelled. Storage errors are logged and retried after the
    /// poll interval rather than ending the loop.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(owner = %self.config.owner, kinds = ?self.handlers.keys().collect::<Vec<_>>(), "Job runner started.");
        while !shutdown.is_cancelled() {
            let worked = match self.run_once(&shutdown).await {
                Ok(n) => n,
                Err(error) => {
                    tracing::error!(%error, "Job runner poll failed.");
                    0
                }
            };
            if worked == 0 {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                }
            }
        }
        tracing::info!(owner = %self.config.owner, "Job runner stopped.");
    }

    /// One poll: keep schedules enqueued, claim a batch, run it. Returns jobs processed.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let schedules = match &self.schedule_source {
            Some(source) => source(),
            None => self.config.schedules.clone(),
        };
        let (owner, lease, batch) = (
            self.config.owner.clone(),
            self.config.lease,
            self.config.batch,
        );
        let deferred = self.deferred.clone();
        let claimed = self
            .blocking(move |s| {
                if !schedules.is_empty() {
                    s.ensure_scheduled(&schedules, now)?;
                }
                s.claim_jobs_of(&owner, now, lease, batch, |kind| {
                    !deferred.iter().any(|k| k == kind)
                })
            })
            .await?;
        let mut done = 0;
        for job in claimed {
            if shutdown.is_cancelled() {
                let (id, owner, now) = (job.id, self.config.owner.clone(), self.clock.now());
                self.blocking(move |s| ignore_lease_lost(s.release_job(id, &owner, now)))
                    .await?;
                continue;
            }
            self.execute(job).await?;
            done += 1;
        }
        Ok(done)
    }

    async fn execute(&self, job: Job) -> Result<(), StoreError> {
        let outcome = match self.handlers.get(&job.kind) {
            Some(handler) => handler.handle(&job).await,
            None => Err(JobFailure {
                message: format!("no handler registered for job kind {:?}", job.kind),
                retry_after: None,
                permanent: true,
            }),
        };
        let (id, owner, now) = (job.id, self.config.owner.clone(), self.clock.now());
        match outcome {
            Ok(()) => {
                tracing::debug!(job_id = id, kind = %job.kind, "Job done.");
                self.blocking(move |s| {
                    ignore_lease_lost(s.complete_job(id, &owner, now).map(|_| ()))
                })
                .await
            }
            Err(failure) => {
                tracing::warn!(job_id = id, kind = %job.kind, attempt = job.attempts, error = %failure.message, "Job attempt failed.");
                let backoff = self.config.backoff;
                let jitter = self.jitter.clone();
                self.blocking(move |s| {
                    let mut j = jitter.lock().unwrap_or_else(|e| e.into_inner());
                    ignore_lease_lost(
                        s.fail_job(id, &owner, &failure, &backoff, j.as_mut(), now)
                            .map(|_| ()),
                    )
                })
                .await
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// A lost lease means another worker owns the job now; its outcome wins, ours is dropped.
fn ignore_lease_lost(r: Result<impl Sized, JobError>) -> Result<(), StoreError> {
    match r {
        Ok(_) => Ok(()),
        Err(JobError::LeaseLost { id, .. }) => {
            tracing::warn!(job_id = id, "Lease lost; another worker owns the job.");
            Ok(())
        }
        Err(JobError::Store(e)) => Err(e),
        Err(other) => Err(StoreError::Task(other.to_string())),
    }
}
