//! Retention: transcripts and caller data older than the business's retention period are
//! deleted (or, for reservations, stripped of personal fields), while per-business daily
//! counters in the aggregates table survive.
//!
//! Work happens in batches of small write transactions so a large purge never blocks bookings
//! for long; a crash mid-purge simply leaves the rest for the next run.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use redb::{ReadableMultimapTable, ReadableTable};

use crate::error::StoreError;
use crate::model::{
    CallbackRequest, CallerPreferences, Job, JobStatus, Reservation, TranscriptReview,
};
use crate::store::Store;
use crate::tables::*;

pub(crate) const BATCH: usize = 200;

/// How long one business keeps personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Business whose calls, reservations and callbacks are purged.
    pub business_id: String,
    /// Days to keep (default in business config: 90).
    pub retention_days: u32,
}

/// Counts of what a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Call logs deleted.
    pub calls_deleted: u64,
    /// Transcript turns deleted.
    pub turns_deleted: u64,
    /// Transcript reviews deleted with their calls.
    pub reviews_deleted: u64,
    /// Old reservations stripped of phone, name and notes (counts kept).
    pub reservations_scrubbed: u64,
    /// Callback requests deleted.
    pub callbacks_deleted: u64,
    /// Caller preference rows deleted (not refreshed within the period).
    pub caller_preferences_deleted: u64,
    /// Finished jobs deleted.
    pub jobs_deleted: u64,
}

/// Strips a reservation past retention of its personal fields; false when it had none left.
pub(crate) fn scrub(r: &mut Reservation) -> bool {
    if r.phone_hash.is_none()
        && r.phone_encrypted.is_none()
        && r.customer_name.is_none()
        && r.notes.is_none()
    {
        return false;
    }
    r.phone_hash = None;
    r.phone_encrypted = None;
    r.customer_name = None;
    r.notes = None;
    true
}

impl Store {
    /// Purges one business's personal data older than `now - retention_days`, plus caller
    /// preferences and finished jobs past the same age.
    pub fn purge(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError> {
        let cutoff = now - TimeDelta::days(i64::from(policy.retention_days));
        let business = policy.business_id.as_str();
        let mut report = PurgeReport::default();
        self.purge_calls(business, cutoff, &mut report)?;
        self.scrub_reservations(business, cutoff.date_naive(), &mut report)?;
        self.purge_callbacks(business, cutoff, &mut report)?;
        self.purge_caller_prefs(cutoff, &mut report)?;
        self.purge_jobs(cutoff, &mut report)?;
        tracing::info!(business = %business, ?report, "Retention purge finished.");
        Ok(report)
    }

    fn purge_calls(
        &self,
        business: &str,
        cutoff: DateTime<Utc>,
        report: &mut PurgeReport,
    ) -> Result<(), StoreError> {
        loop {
            let txn = self.db.begin_write()?;
            let batch: Vec<(i64, u64)> = {
                let index = txn.open_multimap_table(CALLS_BY_START)?;
                let mut out = Vec::new();
                'outer: for entry in
                    index.range((business, i64::MIN)..(business, cutoff.timestamp_millis()))?
                {
                    let (key, ids) = entry?;
                    let start = key.value().1;
                    for id in ids {
                        out.push((start, id?.value()));
                        if out.len() >= BATCH {
                            break 'outer;
                        }
                    }
                }
                out
            };
            if batch.is_empty() {
                return Ok(());
            }
            {
                let mut calls = txn.open_table(CALLS)?;
                let mut index = txn.open_multimap_table(CALLS_BY_START)?;
                let mut turns = txn.open_table(TURNS)?;
                for &(start, id) in &batch {
                    index.remove((business, start), id)?;
                    if calls.remove(id)?.is_some() {
                        report.calls_deleted += 1;
                    }
                    let keys: Vec<(u64, u32)> = turns
                        .range((id, 0)..=(id, u32::MAX))?
                        .map(|r| r.map(|(k, _)| k.value()))
                        .collect::<Result<_, _>>()?;
                    for k in keys {
                        turns.remove(k)?;
                        report.turns_deleted += 1;
                    }
                }
                let ids: std::collections::HashSet<u64> = batch.iter().map(|(_, id)| *id).collect();
                let mut reviews = txn.open_table(REVIEWS)?;
                let mut doomed = Vec::new();
                for row in reviews.iter()? {
                    let (id, bytes) = row?;
                    let r: TranscriptReview =
                        decode("transcript_reviews", id.value(), bytes.value())?;
                    if ids.contains(&r.call_id) {
                        doomed.push(id.value());
                    }
                }
                let mut by_call = txn.open_table(REVIEWS_BY_CALL)?;
                for id in doomed {
                    reviews.remove(id)?;
                    report.reviews_deleted += 1;
                }
                for call in &ids {
                    by_call.remove(*call)?;
                }
            }
            txn.commit()?;
        }
    }

    fn scrub_reservations(
        &self,
        business: &str,
        cutoff: NaiveDate,
        report: &mut PurgeReport,
    ) -> Result<(), StoreError> {
        let cutoff = cutoff.to_string();
        let mut after: Option<(String, u64)> = None;
        loop {
            let txn = self.db.begin_write()?;
            let mut batch: Vec<(String, u64)> = Vec::new();
            {
                let index = txn.open_multimap_table(RES_BY_DATE)?;
                'outer: for entry in index.range((business, "")..(business, cutoff.as_str()))? {
                    let (key, ids) = entry?;
                    let day = key.value().1.to_owned();
                    for id in ids {
                        let item = (day.clone(), id?.value());
                        if after.as_ref().is_some_and(|a| item <= *a) {
                            continue;
                        }
                        batch.push(item);
                        if batch.len() >= BATCH {
                            break 'outer;
                        }
                    }
                }
            }
            let Some(last) = batch.last().cloned() else {
                return Ok(());
            };
            {
                let mut rows = txn.open_table(RESERVATIONS)?;
                let mut by_phone = txn.open_multimap_table(RES_BY_PHONE)?;
                for (day, id) in &batch {
                    let Some(mut r) = get_json::<Reservation>(&rows, "reservations", *id)? else {
                        continue;
                    };
                    if let Some(h) = &r.phone_hash {
                        by_phone.remove((h.as_str(), day.as_str()), *id)?;
                    }
                    if !scrub(&mut r) {
                        continue;
                    }
                    put_json(&mut rows, *id, &r)?;
                    report.reservations_scrubbed += 1;
                }
            }
            txn.commit()?;
            after = Some(last);
        }
    }

    fn purge_callbacks(
        &self,
        business: &str,
        cutoff: DateTime<Utc>,
        report: &mut PurgeReport,
    ) -> Result<(), StoreError> {
        let n = self.delete_where(
            CALLBACKS,
            "callback_requests",
            |c: &CallbackRequest| c.business_id == business && c.created_at < cutoff,
            |_, _| Ok(()),
        )?;
        report.callbacks_deleted += n;
        Ok(())
    }

    fn purge_jobs(
        &self,
        cutoff: DateTime<Utc>,
        report: &mut PurgeReport,
    ) -> Result<(), StoreError> {
        let n = self.delete_where(
            JOBS,
            "jobs",
            |j: &Job| j.status == JobStatus::Done && j.finished_at.is_some_and(|f| f < cutoff),
            |txn, j| {
                txn.open_table(JOBS_BY_KEY)?
                    .remove(j.idempotency_key.as_str())?;
                Ok(())
            },
        )?;
        report.jobs_deleted += n;
        Ok(())
    }

    fn purge_caller_prefs(
        &self,
        cutoff: DateTime<Utc>,
        report: &mut PurgeReport,
    ) -> Result<(), StoreError> {
        loop {
            let txn = self.db.begin_write()?;
            let doomed: Vec<String> = {
                let table = txn.open_table(CALLER_PREFS)?;
                let mut out = Vec::new();
                for row in table.iter()? {
                    let (key, bytes) = row?;
                    let p: CallerPreferences =
                        decode("caller_preferences", key.value(), bytes.value())?;
                    if p.updated_at < cutoff {
                        out.push(key.value().to_owned());
                        if out.len() >= BATCH {
                            break;
                        }
                    }
                }
                out
            };
            if doomed.is_empty() {
                return Ok(());
            }
            {
                let mut table = txn.open_table(CALLER_PREFS)?;
                for key in &doomed {
                    table.remove(key.as_str())?;
                }
            }
            report.caller_preferences_deleted += doomed.len() as u64;
            txn.commit()?;
        }
    }

    /// Deletes rows of a `u64 → json` table matching `doomed`, in batches; `also` cleans
    /// related rows inside the same transaction.
    fn delete_where<T: serde::de::DeserializeOwned>(
        &self,
        def: redb::TableDefinition<u64, &'static [u8]>,
        name: &'static str,
        doomed: impl Fn(&T) -> bool,
        also: impl Fn(&redb::WriteTransaction, &T) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        let mut cursor = 0u64;
        loop {
            let txn = self.db.begin_write()?;
            let mut hits: Vec<(u64, T)> = Vec::new();
            let mut scanned_to = None;
            {
                let table = txn.open_table(def)?;
                for (n, row) in table.range(cursor..)?.enumerate() {
                    let (id, bytes) = row?;
                    scanned_to = Some(id.value());
                    let item: T = decode(name, id.value(), bytes.value())?;
                    if doomed(&item) {
                        hits.push((id.value(), item));
                    }
                    if hits.len() >= BATCH || n >= BATCH * 10 {
                        break;
                    }
                }
            }
            let Some(last) = scanned_to else {
                return Ok(total);
            };
            for (id, item) in &hits {
                txn.open_table(def)?.remove(*id)?;
                also(&txn, item)?;
            }
            total += hits.len() as u64;
            txn.commit()?;
            cursor = last.saturating_add(1);
            if last == u64::MAX {
                return Ok(total);
            }
        }
    }
}
