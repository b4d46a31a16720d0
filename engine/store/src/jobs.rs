//! Durable job queue inside redb: enqueue (inside the caller's transaction), claim with a lease,
//! complete, fail with backoff, dead letters and manual retry.
//!
//! Claiming happens in a write transaction, and redb admits one writer at a time, so two
//! workers can never claim the same job. A lease that expires (worker crashed) makes the job
//! claimable again; that is why delivery downstream is at-least-once and handlers pass the
//! job's idempotency key on.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use redb::{ReadableTable, WriteTransaction};

use crate::error::{JobError, StoreError};
use crate::model::{Job, JobStatus};
use crate::store::{Page, PageRequest, Store};
use crate::tables::*;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Handler name.
    pub kind: String,
    /// Handler input.
    pub payload: serde_json::Value,
    /// Enqueueing the same key again returns the existing job instead of a duplicate.
    pub idempotency_key: String,
    /// Claims before dead-lettering (≥ 1).
    pub max_attempts: u32,
    /// Earliest start.
    pub due_at: DateTime<Utc>,
}

/// Why an attempt failed, as a handler reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// Human-readable reason (no phone numbers or tokens).
    pub message: String,
    /// The downstream asked us to wait this long (HTTP 429 `Retry-After`); overrides backoff.
    pub retry_after: Option<Duration>,
    /// Retrying cannot help (e.g. HTTP 400): dead-letter now.
    pub permanent: bool,
}

/// What happened to a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFate {
    /// It will be attempted again at this time.
    Retry(DateTime<Utc>),
    /// It is now a dead letter.
    Dead,
}

/// Exponential backoff: `base * 2^(attempt-1)` capped at `max`, then jittered to between half
/// and all of that (so retries of many jobs spread out but never come sooner than half).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failed attempt.
    pub base: Duration,
    /// Upper bound.
    pub max: Duration,
}

/// Source of jitter in `[0, 1)`; injectable so tests are deterministic.
pub trait Jitter: Send {
    /// Next sample in `[0, 1)`.
    fn sample(&mut self) -> f64;
}

/// Jitter from the thread RNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomJitter;

/// Always the same sample (tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

/// Filters for [`Store::list_jobs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this status (`Some(Dead)` lists dead letters).
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub kind: Option<String>,
}

impl Jitter for RandomJitter {
    fn sample(&mut self) -> f64 {
        rand::random::<f64>()
    }
}

impl Jitter for FixedJitter {
    fn sample(&mut self) -> f64 {
        self.0.clamp(0.0, 1.0)
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// Delay before the attempt after `attempts` failed ones.
    pub fn delay(&self, attempts: u32, jitter: &mut dyn Jitter) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max);
        let unit = jitter.sample().clamp(0.0, 1.0);
        raw.mul_f64(0.5 + 0.5 * unit)
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Enqueues inside the caller's transaction (so the job commits with the change that causes
/// it). Idempotent on `idempotency_key`.
pub(crate) fn enqueue_in(
    txn: &WriteTransaction,
    new: &NewJob,
    now: DateTime<Utc>,
) -> Result<Job, StoreError> {
    validate_job(new)?;
    let existing = txn
        .open_table(JOBS_BY_KEY)?
        .get(new.idempotency_key.as_str())?
        .map(|v| v.value());
    if let Some(id) = existing {
        return get_json(&txn.open_table(JOBS)?, "jobs", id)?
            .ok_or_else(|| StoreError::not_found("job", id));
    }
    let id = next_id(txn, "job")?;
    let job = job_record(id, new, now);
    put_json(&mut txn.open_table(JOBS)?, id, &job)?;
    txn.open_table(JOBS_BY_DUE)?
        .insert((ms(job.due_at), id), ())?;
    txn.open_table(JOBS_BY_KEY)?
        .insert(job.idempotency_key.as_str(), id)?;
    Ok(job)
}

/// Puts a finished job back in the queue, due `now`, inside the caller's transaction (a
/// WhatsApp confirmation skipped after consent was withdrawn, then consented to again). A job
/// still pending or running is left as it is: it will run anyway.
pub(crate) fn rearm_in(
    txn: &WriteTransaction,
    id: u64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let job: Job = get_json(&txn.open_table(JOBS)?, "jobs", id)?
        .ok_or_else(|| StoreError::not_found("job", id))?;
    let mut job = job;
    if rearm(&mut job, now) {
        save(txn, &job)?;
    }
    Ok(())
}

/// Refuses a job without kind or idempotency key.
pub(crate) fn validate_job(new: &NewJob) -> Result<(), StoreError> {
    if new.kind.is_empty() || new.idempotency_key.is_empty() {
        return Err(StoreError::invalid(
            "job",
            "kind and idempotency_key must not be empty",
        ));
    }
    Ok(())
}

/// A new pending job.
pub(crate) fn job_record(id: u64, new: &NewJob, now: DateTime<Utc>) -> Job {
    Job {
        id,
        kind: new.kind.clone(),
        payload: new.payload.clone(),
        idempotency_key: new.idempotency_key.clone(),
        status: JobStatus::Pending,
        attempts: 0,
        max_attempts: new.max_attempts.max(1),
        due_at: new.due_at,
        lease_owner: None,
        lease_expires_at: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
    }
}

/// Makes a finished (done or dead) job pending again with fresh attempts, due `now`; false
/// (unchanged) when it is still pending or running.
pub(crate) fn rearm(job: &mut Job, now: DateTime<Utc>) -> bool {
    if matches!(job.status, JobStatus::Pending | JobStatus::Running) {
        return false;
    }
    revive(job, now);
    true
}

fn revive(job: &mut Job, now: DateTime<Utc>) {
    job.status = JobStatus::Pending;
    job.attempts = 0;
    job.due_at = now;
    job.finished_at = None;
    job.updated_at = now;
}

/// Leases `job` to `owner` until `now + lease`, counting an attempt.
pub(crate) fn lease_to(job: &mut Job, owner: &str, now: DateTime<Utc>, lease: Duration) {
    job.status = JobStatus::Running;
    job.attempts += 1;
    job.lease_owner = Some(owner.to_owned());
    job.lease_expires_at = Some(now + delta(lease));
    job.updated_at = now;
}

/// Marks `owner`'s running job done.
pub(crate) fn complete(job: &mut Job, owner: &str, now: DateTime<Utc>) -> Result<(), JobError> {
    check_lease(job, owner)?;
    job.status = JobStatus::Done;
    job.lease_owner = None;
    job.lease_expires_at = None;
    job.updated_at = now;
    job.finished_at = Some(now);
    Ok(())
}

/// Records `owner`'s failed attempt: pending again after the backoff (or the provider's
/// `retry_after`), or dead when permanent or out of attempts.
pub(crate) fn fail(
    job: &mut Job,
    owner: &str,
    failure: &JobFailure,
    backoff: &Backoff,
    jitter: &mut dyn Jitter,
    now: DateTime<Utc>,
) -> Result<JobFate, JobError> {
    check_lease(job, owner)?;
    job.lease_owner = None;
    job.lease_expires_at = None;
    job.last_error = Some(failure.message.clone());
    job.updated_at = now;
    let fate = if failure.permanent || job.attempts >= job.max_attempts {
        job.status = JobStatus::Dead;
        job.finished_at = Some(now);
        JobFate::Dead
    } else {
        let wait = failure
            .retry_after
            .unwrap_or_else(|| backoff.delay(job.attempts, jitter));
        job.status = JobStatus::Pending;
        job.due_at = now + delta(wait);
        JobFate::Retry(job.due_at)
    };
    if fate == JobFate::Dead {
        tracing::warn!(job_id = job.id, kind = %job.kind, attempts = job.attempts, error = %failure.message, "Job dead-lettered.");
    }
    Ok(fate)
}

/// Gives `owner`'s running job back unattempted (shutdown), due now.
pub(crate) fn release(job: &mut Job, owner: &str, now: DateTime<Utc>) -> Result<(), JobError> {
    check_lease(job, owner)?;
    job.status = JobStatus::Pending;
    job.attempts = job.attempts.saturating_sub(1);
    job.lease_owner = None;
    job.lease_expires_at = None;
    job.due_at = now;
    job.updated_at = now;
    Ok(())
}

/// Re-queues a dead job with fresh attempts.
pub(crate) fn retry(job: &mut Job, now: DateTime<Utc>) -> Result<(), JobError> {
    if job.status != JobStatus::Dead {
        return Err(JobError::NotDead {
            id: job.id,
            status: job.status,
        });
    }
    revive(job, now);
    tracing::info!(job_id = job.id, kind = %job.kind, "Dead job re-queued.");
    Ok(())
}

/// Loads a job for an update and drops its due-index entry (re-added by the caller if needed).
fn take_for_update(txn: &WriteTransaction, id: u64) -> Result<Job, JobError> {
    let job: Job = get_json(&txn.open_table(JOBS)?, "jobs", id)?.ok_or(JobError::NotFound(id))?;
    if let Some(at) = due_index_time(&job) {
        txn.open_table(JOBS_BY_DUE)?.remove((ms(at), id))?;
    }
    Ok(job)
}

/// Up to `limit` jobs due at `now` (oldest due first) whose kind `handles` accepts.
fn due_ids(
    index: &impl ReadableTable<(i64, u64), ()>,
    jobs: &impl ReadableTable<u64, &'static [u8]>,
    now: DateTime<Utc>,
    limit: usize,
    handles: &impl Fn(&str) -> bool,
) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::new();
    for entry in index.range(..=(ms(now), u64::MAX))? {
        let id = entry?.0.value().1;
        let job: Option<Job> = get_json(jobs, "jobs", id)?;
        if job.is_some_and(|j| handles(&j.kind)) {
            ids.push(id);
            if ids.len() >= limit {
                break;
            }
        }
    }
    Ok(ids)
}

pub(crate) fn due_index_time(job: &Job) -> Option<DateTime<Utc>> {
    match job.status {
        JobStatus::Pending => Some(job.due_at),
        JobStatus::Running => job.lease_expires_at,
        JobStatus::Done | JobStatus::Dead => None,
    }
}

fn save(txn: &WriteTransaction, job: &Job) -> Result<(), StoreError> {
    put_json(&mut txn.open_table(JOBS)?, job.id, job)?;
    if let Some(at) = due_index_time(job) {
        txn.open_table(JOBS_BY_DUE)?.insert((ms(at), job.id), ())?;
    }
    Ok(())
}

fn check_lease(job: &Job, owner: &str) -> Result<(), JobError> {
    if job.status != JobStatus::Running || job.lease_owner.as_deref() != Some(owner) {
        return Err(JobError::LeaseLost {
            id: job.id,
            owner: owner.to_owned(),
        });
    }
    Ok(())
}

impl JobFilter {
    /// Whether `job` passes the filter.
    pub(crate) fn keeps(&self, job: &Job) -> bool {
        self.status.is_none_or(|s| s == job.status)
            && self.kind.as_ref().is_none_or(|k| *k == job.kind)
    }
}

impl Store {
    /// Enqueues a job on its own (scheduled work, API). Idempotent on the key.
    pub fn enqueue_job(&self, new: &NewJob, now: DateTime<Utc>) -> Result<Job, StoreError> {
        // Fast path without a write transaction (and its fsync): schedules call this every poll.
        {
            let read = self.db.begin_read()?;
            let existing = read
                .open_table(JOBS_BY_KEY)?
                .get(new.idempotency_key.as_str())?
                .map(|v| v.value());
            if let Some(id) = existing
                && let Some(job) = get_json(&read.open_table(JOBS)?, "jobs", id)?
            {
                return Ok(job);
            }
        }
        let txn = self.db.begin_write()?;
        let job = enqueue_in(&txn, new, now)?;
        txn.commit()?;
        Ok(job)
    }

    /// Gives a job that has not started yet a new payload (see [`Store::ensure_scheduled`]).
    /// A job that started or finished in the meantime is returned unchanged.
    pub fn replace_pending_payload(
        &self,
        id: u64,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Job, StoreError> {
        let txn = self.db.begin_write()?;
        let mut job: Job = get_json(&txn.open_table(JOBS)?, "jobs", id)?
            .ok_or(StoreError::not_found("job", id))?;
        if job.status == JobStatus::Pending {
            job.payload = payload.clone();
            job.updated_at = now;
            put_json(&mut txn.open_table(JOBS)?, id, &job)?;
        }
        txn.commit()?;
        Ok(job)
    }

    /// Claims up to `limit` due jobs (pending with `due_at <= now`, or running with an expired
    /// lease) for `owner`, counting an attempt and leasing each until `now + lease`.
    pub fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_jobs_of(owner, now, lease, limit, |_| true)
    }

    /// [`Store::claim_jobs`] for the kinds `handles` accepts only. A worker that cannot run a
    /// kind (WhatsApp follow-ups before the webhook is configured) leaves those jobs pending and
    /// untouched — no attempt counted, never dead-lettered — for a worker that can.
    pub fn claim_jobs_of(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
        handles: impl Fn(&str) -> bool,
    ) -> Result<Vec<Job>, StoreError> {
        // An idle poll (nothing due that this worker runs) must not cost a write transaction
        // and an fsync.
        {
            let read = self.db.begin_read()?;
            let index = read.open_table(JOBS_BY_DUE)?;
            if due_ids(&index, &read.open_table(JOBS)?, now, 1, &handles)?.is_empty() {
                return Ok(Vec::new());
            }
        }
        let txn = self.db.begin_write()?;
        let due = {
            let index = txn.open_table(JOBS_BY_DUE)?;
            due_ids(&index, &txn.open_table(JOBS)?, now, limit, &handles)?
        };
        let mut claimed = Vec::with_capacity(due.len());
        for id in due {
            let mut job = take_for_update(&txn, id).map_err(|e| match e {
                JobError::Store(s) => s,
                other => StoreError::invalid("jobs_by_due", other.to_string()),
            })?;
            lease_to(&mut job, owner, now, lease);
            save(&txn, &job)?;
            claimed.push(job);
        }
        txn.commit()?;
        Ok(claimed)
    }

    /// Marks a leased job done. Fails with [`JobError::LeaseLost`] if another worker took it.
    pub fn complete_job(&self, id: u64, owner: &str, now: DateTime<Utc>) -> Result<Job, JobError> {
        let txn = self.db.begin_write()?;
        let mut job = take_for_update(&txn, id)?;
        complete(&mut job, owner, now)?;
        save(&txn, &job)?;
        txn.commit()?;
        Ok(job)
    }

    /// Records a failed attempt: schedules a retry (backoff with jitter, or the downstream's
    /// `retry_after`) or dead-letters the job after `max_attempts` or a permanent failure.
    pub fn fail_job(
        &self,
        id: u64,
        owner: &str,
        failure: &JobFailure,
        backoff: &Backoff,
        jitter: &mut dyn Jitter,
        now: DateTime<Utc>,
    ) -> Result<JobFate, JobError> {
        let txn = self.db.begin_write()?;
        let mut job = take_for_update(&txn, id)?;
        let fate = fail(&mut job, owner, failure, backoff, jitter, now)?;
        save(&txn, &job)?;
        txn.commit()?;
        Ok(fate)
    }

    /// Gives a claimed job back without counting the attempt (graceful shutdown before it ran).
    pub fn release_job(&self, id: u64, owner: &str, now: DateTime<Utc>) -> Result<Job, JobError> {
        let txn = self.db.begin_write()?;
        let mut job = take_for_update(&txn, id)?;
        release(&mut job, owner, now)?;
        save(&txn, &job)?;
        txn.commit()?;
        Ok(job)
    }

    /// Puts a dead letter back in the queue with a fresh attempt budget, due now.
    pub fn retry_dead(&self, id: u64, now: DateTime<Utc>) -> Result<Job, JobError> {
        let txn = self.db.begin_write()?;
        let mut job = take_for_update(&txn, id)?;
        retry(&mut job, now)?;
        save(&txn, &job)?;
        txn.commit()?;
        Ok(job)
    }

    /// One job.
    pub fn get_job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        let txn = self.db.begin_read()?;
        get_json(&txn.open_table(JOBS)?, "jobs", id)
    }

    /// Jobs by filter in id order (dead letters: `status: Some(JobStatus::Dead)`).
    pub fn list_jobs(
        &self,
        filter: &JobFilter,
        page: &PageRequest,
    ) -> Result<Page<Job>, StoreError> {
        let txn = self.db.begin_read()?;
        let rows = txn.open_table(JOBS)?;
        let start = page.after.map_or(0, |a| a.saturating_add(1));
        let mut found = Vec::new();
        for row in rows.range(start..)? {
            let (id, bytes) = row?;
            let job: Job = decode("jobs", id.value(), bytes.value())?;
            if filter.keeps(&job) {
                found.push((job.id, job));
                if found.len() > page.clamped_limit() {
                    break;
                }
            }
        }
        Ok(page.paginate(found))
    }

    /// Dead letters, for the API's `/api/jobs/dead`.
    pub fn dead_letters(&self, page: &PageRequest) -> Result<Page<Job>, StoreError> {
        self.list_jobs(
            &JobFilter {
                status: Some(JobStatus::Dead),
                kind: None,
            },
            page,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_between_half_and_full() {
        let b = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        let full = &mut FixedJitter(0.999_999);
        let none = &mut FixedJitter(0.0);
        assert_eq!(b.delay(1, none), Duration::from_secs(5));
        assert_eq!(b.delay(2, none), Duration::from_secs(10));
        assert_eq!(b.delay(3, none), Duration::from_secs(20));
        assert_eq!(
            b.delay(10, none),
            Duration::from_secs(30),
            "capped at max, then halved"
        );
        assert!(b.delay(3, full) > Duration::from_millis(39_990));
        assert!(b.delay(3, full) <= Duration::from_secs(40));
        assert_eq!(b.delay(u32::MAX, none), Duration::from_secs(30));
    }
}
