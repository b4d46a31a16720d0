//! Durable jobs on PostgreSQL: the redb queue's semantics across many nodes.
//!
//! A job is claimable while `claim_at <= now` (`due_at` when pending, the lease expiry when
//! running). Workers on any node claim with `SELECT … FOR UPDATE SKIP LOCKED`: a row another
//! worker is claiming is skipped, not waited for, and once its claim commits the lease in
//! `claim_at` hides it until the lease expires. So a job runs once per claim, and a job whose
//! node died is claimed again by another node after its lease. Every transition (complete,
//! fail, release, retry) locks the row and checks the lease with the same functions as redb.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use postgres::Transaction;

use super::{Fail, PgStore, decode, doc, get_doc, next_id, to_i64};
use crate::error::{JobError, StoreError};
use crate::handlers::requeue_failed_with;
use crate::jobs::{
    Backoff, Jitter, JobFailure, JobFate, JobFilter, NewJob, due_index_time, job_record,
    validate_job,
};
use crate::model::{Job, JobStatus};
use crate::once::MAX_ONCE_KEY_LEN;
use crate::schedule::{ScheduledJob, ensure_with};
use crate::store::{Page, PageRequest};

/// Expired single-use markers removed per new one, as in redb.
const PURGE_PER_WRITE: i64 = 64;
/// Rows a claim looks at per round trip while skipping kinds this worker does not run.
const CLAIM_SCAN: i64 = 100;

/// Writes a job (insert or update), keeping `status` and `claim_at` in step with the document.
pub(crate) fn save_job(tx: &mut Transaction<'_>, job: &Job) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO jobs (id, kind, status, idempotency_key, claim_at, doc)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE
         SET status = excluded.status, claim_at = excluded.claim_at, doc = excluded.doc",
        &[
            &to_i64(job.id),
            &job.kind,
            &job.status.as_str(),
            &job.idempotency_key,
            &due_index_time(job),
            &doc(job),
        ],
    )?;
    Ok(())
}

fn job_by_key(tx: &mut Transaction<'_>, key: &str) -> Result<Option<Job>, Fail<StoreError>> {
    match tx.query_opt("SELECT doc FROM jobs WHERE idempotency_key = $1", &[&key])? {
        Some(row) => Ok(Some(decode("jobs", key, row.get(0))?)),
        None => Ok(None),
    }
}

/// Enqueues inside the caller's transaction; idempotent by key across nodes (the unique key
/// decides, a concurrent enqueue of the same key returns the first job).
pub(crate) fn enqueue_in(
    tx: &mut Transaction<'_>,
    new: &NewJob,
    now: DateTime<Utc>,
) -> Result<Job, Fail<StoreError>> {
    validate_job(new)?;
    if let Some(job) = job_by_key(tx, &new.idempotency_key)? {
        return Ok(job);
    }
    let job = job_record(next_id(tx, "jobs")?, new, now);
    let inserted = tx.execute(
        "INSERT INTO jobs (id, kind, status, idempotency_key, claim_at, doc)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        &[
            &to_i64(job.id),
            &job.kind,
            &job.status.as_str(),
            &job.idempotency_key,
            &due_index_time(&job),
            &doc(&job),
        ],
    )?;
    if inserted == 1 {
        return Ok(job);
    }
    job_by_key(tx, &new.idempotency_key)?
        .ok_or_else(|| Fail::Op(StoreError::not_found("job", &new.idempotency_key)))
}

/// Runs `change` on job `id` under its row lock and writes it back.
fn transition<T>(
    store: &PgStore,
    id: u64,
    mut change: impl FnMut(&mut Job) -> Result<T, JobError>,
) -> Result<(Job, T), JobError> {
    store.write(|tx| {
        let mut job: Job =
            get_doc(tx, "jobs", id, true)?.ok_or(Fail::Op(JobError::NotFound(id)))?;
        let out = change(&mut job).map_err(Fail::Op)?;
        save_job(tx, &job)?;
        Ok((job, out))
    })
}

impl PgStore {
    /// Adds a job unless one with the same idempotency key exists (then returns that one).
    pub fn enqueue_job(&self, new: &NewJob, now: DateTime<Utc>) -> Result<Job, StoreError> {
        self.write(|tx| enqueue_in(tx, new, now))
    }

    /// Replaces a pending job's payload (a changed schedule setting); other states unchanged.
    pub fn replace_pending_payload(
        &self,
        id: u64,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Job, StoreError> {
        self.write(|tx| {
            let mut job: Job =
                get_doc(tx, "jobs", id, true)?.ok_or_else(|| StoreError::not_found("job", id))?;
            if job.status == JobStatus::Pending {
                job.payload = payload.clone();
                job.updated_at = now;
                save_job(tx, &job)?;
            }
            Ok(job)
        })
    }

    /// Claims up to `limit` due jobs of any kind for `owner`.
    pub fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_jobs_of(owner, now, lease, limit, |_| true)
    }

    /// Claims up to `limit` due jobs whose kind `handles` accepts, oldest due first, leasing
    /// each to `owner` until `now + lease`; rows other workers are claiming are skipped.
    pub fn claim_jobs_of(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
        handles: impl Fn(&str) -> bool,
    ) -> Result<Vec<Job>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let mut claimed = Vec::new();
            let mut cursor = (Utc.timestamp_opt(0, 0).single().unwrap_or(now), 0i64);
            loop {
                let rows = tx.query(
                    "SELECT id, claim_at, kind, doc FROM jobs
                     WHERE claim_at <= $1 AND (claim_at, id) > ($2, $3)
                     ORDER BY claim_at, id LIMIT $4 FOR UPDATE SKIP LOCKED",
                    &[&now, &cursor.0, &cursor.1, &CLAIM_SCAN],
                )?;
                let fetched = rows.len();
                for row in rows {
                    cursor = (row.get(1), row.get(0));
                    let kind: &str = row.get(2);
                    if claimed.len() >= limit || !handles(kind) {
                        continue;
                    }
                    let mut job: Job = decode("jobs", cursor.1, row.get(3))?;
                    crate::jobs::lease_to(&mut job, owner, now, lease);
                    save_job(tx, &job)?;
                    claimed.push(job);
                }
                if claimed.len() >= limit || fetched < CLAIM_SCAN as usize {
                    return Ok(claimed);
                }
            }
        })
    }

    /// Marks `owner`'s running job done.
    pub fn complete_job(&self, id: u64, owner: &str, now: DateTime<Utc>) -> Result<Job, JobError> {
        transition(self, id, |job| crate::jobs::complete(job, owner, now)).map(|(job, ())| job)
    }

    /// Records a failed attempt: retried after a backoff, or dead-lettered.
    pub fn fail_job(
        &self,
        id: u64,
        owner: &str,
        failure: &JobFailure,
        backoff: &Backoff,
        jitter: &mut dyn Jitter,
        now: DateTime<Utc>,
    ) -> Result<JobFate, JobError> {
        transition(self, id, |job| {
            crate::jobs::fail(job, owner, failure, backoff, &mut *jitter, now)
        })
        .map(|(_, fate)| fate)
    }

    /// Gives a claimed job back unattempted (shutdown), due now.
    pub fn release_job(&self, id: u64, owner: &str, now: DateTime<Utc>) -> Result<Job, JobError> {
        transition(self, id, |job| crate::jobs::release(job, owner, now)).map(|(job, ())| job)
    }

    /// Re-queues a dead job with fresh attempts.
    pub fn retry_dead(&self, id: u64, now: DateTime<Utc>) -> Result<Job, JobError> {
        transition(self, id, |job| crate::jobs::retry(job, now)).map(|(job, ())| job)
    }

    /// One job.
    pub fn get_job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        self.read(|tx| get_doc(tx, "jobs", id, false))
    }

    /// Jobs by filter in id order.
    pub fn list_jobs(
        &self,
        filter: &JobFilter,
        page: &PageRequest,
    ) -> Result<Page<Job>, StoreError> {
        let status = filter.status.map(JobStatus::as_str);
        self.scan_page("jobs", "status = $2", status, page, |j: &Job| {
            filter.keeps(j)
        })
    }

    /// Dead-lettered jobs.
    pub fn dead_letters(&self, page: &PageRequest) -> Result<Page<Job>, StoreError> {
        self.list_jobs(
            &JobFilter {
                status: Some(JobStatus::Dead),
                kind: None,
            },
            page,
        )
    }

    /// Enqueues each scheduled job's next occurrence once cluster-wide (the occurrence's
    /// idempotency key is unique in the database).
    pub fn ensure_scheduled(
        &self,
        jobs: &[ScheduledJob],
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>, StoreError> {
        ensure_with(
            jobs,
            now,
            |new| self.enqueue_job(new, now),
            |id, payload| self.replace_pending_payload(id, payload, now),
        )
    }

    /// Re-queues dead WhatsApp confirmations that were never sent (the hourly sweep).
    pub fn requeue_failed_whatsapp(
        &self,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        requeue_failed_with(
            not_before,
            |filter, page| self.list_jobs(filter, page),
            |id| self.get_followup(id),
            |id| self.retry_dead(id, now),
        )
    }

    /// Records `key` as used until `expires_at`; true the first time (or once the earlier use
    /// expired). The primary key makes the first use win across every node.
    pub fn use_once(
        &self,
        key: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if key.is_empty() || key.len() > MAX_ONCE_KEY_LEN {
            return Err(StoreError::invalid(
                "key",
                format!("must be 1 to {MAX_ONCE_KEY_LEN} bytes"),
            ));
        }
        let (now_s, until) = (now.timestamp(), expires_at.timestamp());
        self.write(|tx| {
            tx.execute(
                "DELETE FROM used_once WHERE key IN (
                     SELECT key FROM used_once WHERE expires_at < $1 AND key <> $2
                     LIMIT $3 FOR UPDATE SKIP LOCKED)",
                &[&now_s, &key, &PURGE_PER_WRITE],
            )?;
            let first = tx.execute(
                "INSERT INTO used_once (key, expires_at) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE used_once.expires_at <= $3",
                &[&key, &until, &now_s],
            )?;
            Ok::<_, Fail<StoreError>>(first == 1)
        })
    }
}
