//! Built-in job handlers: WhatsApp confirmation, hourly retry sweep of failed sends, and the
//! daily retention purge; plus the follow-up bookkeeping they need.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use redb::ReadableTable;

use crate::booking::load_reservation;
use crate::crypto::PhoneCrypto;
use crate::error::StoreError;
use crate::jobs::{JobFailure, JobFilter};
use crate::model::{
    FollowupStatus, Job, JobStatus, Reservation, ReservationStatus, WhatsappFollowup,
};
use crate::retention::RetentionPolicy;
use crate::runner::{Clock, HandlerFuture, JobHandler};
use crate::store::{PageRequest, Store};
use crate::tables::*;
use crate::whatsapp::{FollowupMessage, SendReceipt, WhatsAppSender};

/// What the follow-up handler should do for a job.
pub(crate) enum Plan {
    /// Already sent or deliberately skipped: finish the job.
    Nothing,
    /// Send this.
    Send(Box<FollowupMessage>),
}

impl Store {
    /// One follow-up.
    pub fn get_followup(&self, id: u64) -> Result<Option<WhatsappFollowup>, StoreError> {
        let txn = self.db.begin_read()?;
        get_json(&txn.open_table(FOLLOWUPS)?, "whatsapp_followups", id)
    }

    /// Follow-ups of one reservation.
    pub fn followups_for_reservation(
        &self,
        reservation_id: u64,
    ) -> Result<Vec<WhatsappFollowup>, StoreError> {
        let txn = self.db.begin_read()?;
        let mut out = Vec::new();
        for row in txn.open_table(FOLLOWUPS)?.iter()? {
            let (id, bytes) = row?;
            let f: WhatsappFollowup = decode("whatsapp_followups", id.value(), bytes.value())?;
            if f.reservation_id == reservation_id {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Decides what to send, decrypting the number only here. Marks the follow-up skipped when
    /// the reservation is no longer confirmed or consent was withdrawn.
    fn plan_followup(&self, id: u64, now: DateTime<Utc>) -> Result<Plan, StoreError> {
        let txn = self.db.begin_write()?;
        let mut f: WhatsappFollowup =
            get_json(&txn.open_table(FOLLOWUPS)?, "whatsapp_followups", id)?
                .ok_or_else(|| StoreError::not_found("whatsapp followup", id))?;
        if matches!(f.status, FollowupStatus::Sent | FollowupStatus::Skipped) {
            return Ok(Plan::Nothing);
        }
        let r = load_reservation(&txn, f.reservation_id)?
            .ok_or_else(|| StoreError::not_found("reservation", f.reservation_id))?;
        let plan = plan_for(&mut f, &r, &self.crypto(), now)?;
        if matches!(plan, Plan::Nothing) {
            put_json(&mut txn.open_table(FOLLOWUPS)?, id, &f)?;
            txn.commit()?;
        }
        Ok(plan)
    }

    fn record_followup(
        &self,
        id: u64,
        outcome: Result<&SendReceipt, String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        let mut f: WhatsappFollowup =
            get_json(&txn.open_table(FOLLOWUPS)?, "whatsapp_followups", id)?
                .ok_or_else(|| StoreError::not_found("whatsapp followup", id))?;
        if record_outcome(&mut f, outcome, now)
            && let Some(mut r) = load_reservation(&txn, f.reservation_id)?
        {
            r.whatsapp_sent = true;
            r.updated_at = now;
            put_json(&mut txn.open_table(RESERVATIONS)?, r.id, &r)?;
        }
        put_json(&mut txn.open_table(FOLLOWUPS)?, id, &f)?;
        txn.commit()?;
        Ok(())
    }
}

/// What to do with a pending confirmation `f` of reservation `r`: send it (decrypting the
/// number only now), or — when the reservation is no longer confirmed, consented or has no
/// number — mark `f` skipped (the caller writes `f` back then).
pub(crate) fn plan_for(
    f: &mut WhatsappFollowup,
    r: &Reservation,
    crypto: &PhoneCrypto,
    now: DateTime<Utc>,
) -> Result<Plan, StoreError> {
    let phone = match (&r.phone_encrypted, r.whatsapp_consent, r.status) {
        (Some(enc), true, ReservationStatus::Confirmed) => Some(crypto.decrypt(enc)?),
        _ => None,
    };
    let Some(to) = phone else {
        f.status = FollowupStatus::Skipped;
        f.updated_at = now;
        tracing::info!(
            followup_id = f.id,
            "WhatsApp follow-up skipped: reservation no longer confirmed."
        );
        return Ok(Plan::Nothing);
    };
    Ok(Plan::Send(Box::new(FollowupMessage {
        template: f.template.clone(),
        language: f.language.clone(),
        idempotency_key: f.idempotency_key.clone(),
        to,
        restaurant: f.restaurant_name.clone(),
        date: r.reservation_date.to_string(),
        time: r.reservation_time.to_string(),
        party_size: r.party_size,
    })))
}

/// Records a send attempt on `f`; true when it was sent (the reservation is then marked
/// `whatsapp_sent` in the same transaction).
pub(crate) fn record_outcome(
    f: &mut WhatsappFollowup,
    outcome: Result<&SendReceipt, String>,
    now: DateTime<Utc>,
) -> bool {
    f.attempts += 1;
    f.updated_at = now;
    match outcome {
        Ok(receipt) => {
            f.status = FollowupStatus::Sent;
            f.sent_at = Some(now);
            f.provider_message_id.clone_from(&receipt.message_id);
            f.last_error = None;
            true
        }
        Err(message) => {
            f.status = FollowupStatus::Failed;
            f.last_error = Some(message);
            false
        }
    }
}

fn followup_id(job: &Job) -> Result<u64, JobFailure> {
    job.payload
        .get("followup_id")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| permanent(format!("job {} payload has no numeric followup_id", job.id)))
}

fn permanent(message: String) -> JobFailure {
    JobFailure {
        message,
        retry_after: None,
        permanent: true,
    }
}

fn transient(message: String) -> JobFailure {
    JobFailure {
        message,
        retry_after: None,
        permanent: false,
    }
}

async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, JobFailure> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(transient(e.to_string())),
        Err(e) => Err(transient(format!("store task failed: {e}"))),
    }
}

/// Sends the WhatsApp confirmation for `whatsapp_followup` jobs.
pub struct WhatsAppFollowupHandler {
    store: Arc<Store>,
    sender: WhatsAppSender,
    clock: Arc<dyn Clock>,
}

impl WhatsAppFollowupHandler {
    /// A handler using `sender`; `clock` stamps `sent_at`.
    pub fn new(store: Arc<Store>, sender: WhatsAppSender, clock: Arc<dyn Clock>) -> Self {
        WhatsAppFollowupHandler {
            store,
            sender,
            clock,
        }
    }
}

impl JobHandler for WhatsAppFollowupHandler {
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let id = followup_id(job)?;
            let now = self.clock.now();
            let plan = blocking(&self.store, move |s| s.plan_followup(id, now)).await?;
            let Plan::Send(msg) = plan else { return Ok(()) };
            let result = self.sender.send(&msg).await;
            let now = self.clock.now();
            let record = match &result {
                Ok(receipt) => Ok(receipt.clone()),
                Err(e) => Err(e.to_string()),
            };
            blocking(&self.store, move |s| {
                s.record_followup(id, record.as_ref().map_err(Clone::clone), now)
            })
            .await?;
            result.map(|_| ()).map_err(|e| JobFailure {
                message: e.to_string(),
                retry_after: e.retry_after(),
                permanent: e.is_permanent(),
            })
        })
    }
}

/// Hourly sweep: re-queues dead `whatsapp_followup` jobs whose follow-up is still unsent and
/// younger than `max_age` (a confirmation days later is pointless).
pub struct WhatsAppRetrySweepHandler {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    max_age: TimeDelta,
}

impl WhatsAppRetrySweepHandler {
    /// A sweep that gives up on follow-ups older than `max_age`.
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, max_age: TimeDelta) -> Self {
        WhatsAppRetrySweepHandler {
            store,
            clock,
            max_age,
        }
    }
}

impl Store {
    /// Re-queues dead WhatsApp jobs created after `not_before` whose follow-up is unsent.
    /// Returns how many were re-queued.
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
}

/// [`Store::requeue_failed_whatsapp`] over any backend's job list, follow-up look-up and
/// dead-job retry.
pub(crate) fn requeue_failed_with(
    not_before: DateTime<Utc>,
    list_jobs: impl Fn(&JobFilter, &PageRequest) -> Result<crate::Page<Job>, StoreError>,
    get_followup: impl Fn(u64) -> Result<Option<WhatsappFollowup>, StoreError>,
    retry_dead: impl Fn(u64) -> Result<Job, crate::JobError>,
) -> Result<u64, StoreError> {
    let filter = JobFilter {
        status: Some(JobStatus::Dead),
        kind: Some(crate::WHATSAPP_FOLLOWUP_KIND.to_owned()),
    };
    let mut page = PageRequest {
        after: None,
        limit: crate::MAX_PAGE,
    };
    let mut n = 0;
    loop {
        let jobs = list_jobs(&filter, &page)?;
        for job in &jobs.items {
            let unsent = match job.payload.get("followup_id").and_then(|v| v.as_u64()) {
                Some(fid) => get_followup(fid)?.is_some_and(|f| {
                    matches!(f.status, FollowupStatus::Pending | FollowupStatus::Failed)
                }),
                None => false,
            };
            if unsent && job.created_at >= not_before {
                match retry_dead(job.id) {
                    Ok(_) => n += 1,
                    Err(crate::JobError::Store(e)) => return Err(e),
                    Err(_) => {} // raced with another sweep: already re-queued
                }
            }
        }
        match jobs.next_after {
            Some(after) => page.after = Some(after),
            None => return Ok(n),
        }
    }
}

impl JobHandler for WhatsAppRetrySweepHandler {
    fn handle<'a>(&'a self, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            let not_before = now - self.max_age;
            let n = blocking(&self.store, move |s| {
                s.requeue_failed_whatsapp(not_before, now)
            })
            .await?;
            if n > 0 {
                tracing::info!(requeued = n, "Failed WhatsApp sends re-queued.");
            }
            Ok(())
        })
    }
}

/// Runs [`Store::purge`] for `retention_purge` jobs with payload
/// `{"business_id": "...", "retention_days": 90}`.
pub struct PurgeHandler {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
}

impl PurgeHandler {
    /// A purge handler.
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>) -> Self {
        PurgeHandler { store, clock }
    }
}

impl JobHandler for PurgeHandler {
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let business_id = job
                .payload
                .get("business_id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| permanent(format!("job {} payload has no business_id", job.id)))?
                .to_owned();
            let retention_days = job
                .payload
                .get("retention_days")
                .and_then(|v| v.as_u64())
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(90);
            let now = self.clock.now();
            let policy = RetentionPolicy {
                business_id,
                retention_days,
            };
            blocking(&self.store, move |s| s.purge(&policy, now)).await?;
            Ok(())
        })
    }
}
