//! The durable job record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::string_enum;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for `due_at`.
    Pending,
    /// Leased by a worker until `lease_expires_at`; an expired lease makes it claimable again.
    Running,
    /// Finished successfully.
    Done,
    /// Dead letter: gave up after `max_attempts` or a permanent failure; retry by hand.
    Dead,
}
string_enum!(JobStatus { Pending => "pending", Running => "running", Done => "done", Dead => "dead" });

/// A unit of background work stored in redb (schemas/job.json). Written in the same transaction
/// as the change that causes it, so a crash never loses or invents one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Store-assigned id.
    pub id: u64,
    /// Handler name (`whatsapp_followup`, `retention_purge`, …).
    pub kind: String,
    /// Handler input.
    pub payload: serde_json::Value,
    /// Unique per logical piece of work: enqueueing the same key twice returns the first job,
    /// and handlers pass it downstream so a retried side effect is harmless.
    pub idempotency_key: String,
    /// Lifecycle.
    pub status: JobStatus,
    /// Claims so far (a claim counts even if the worker then crashes).
    pub attempts: u32,
    /// Claims allowed before dead-lettering.
    pub max_attempts: u32,
    /// Earliest time the next attempt may start.
    pub due_at: DateTime<Utc>,
    /// Worker holding the lease.
    pub lease_owner: Option<String>,
    /// When the lease lapses and another worker may claim the job.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Last failure message.
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it became `done` or `dead`.
    pub finished_at: Option<DateTime<Utc>>,
}
