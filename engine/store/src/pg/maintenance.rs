//! Retention purges and phone-key rotation on PostgreSQL: batches of small transactions (so a
//! large purge or rotation never holds bookings up for long), the same rules as redb's.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Fail, PgStore, decode, doc, to_i64, to_u64};
use crate::crypto::{EncryptedPhone, PhoneKey};
use crate::error::StoreError;
use crate::model::{CallLog, CallbackRequest, Reservation};
use crate::retention::{BATCH, PurgeReport, RetentionPolicy, scrub};
use crate::rotation::{Field, RotationReport, reencrypt};

const BATCH_I64: i64 = BATCH as i64;

impl PgStore {
    /// Deletes calls, turns, reviews, callbacks and caller preferences older than the
    /// business's retention period, strips old reservations of personal fields and deletes
    /// finished jobs; the daily counters stay.
    pub fn purge(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError> {
        let cutoff = now - TimeDelta::days(i64::from(policy.retention_days));
        let business = policy.business_id.as_str();
        let mut report = PurgeReport::default();
        loop {
            let (calls, turns, reviews) = self.write(|tx| {
                let ids: Vec<i64> = tx
                    .query(
                        "SELECT id FROM call_logs WHERE business_id = $1 AND started_at < $2
                         ORDER BY id LIMIT $3 FOR UPDATE",
                        &[&business, &cutoff, &BATCH_I64],
                    )?
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
                let turns = tx.execute(
                    "DELETE FROM conversation_turns WHERE call_id = ANY($1)",
                    &[&ids],
                )?;
                let reviews = tx.execute(
                    "DELETE FROM transcript_reviews WHERE call_id = ANY($1)",
                    &[&ids],
                )?;
                let calls = tx.execute("DELETE FROM call_logs WHERE id = ANY($1)", &[&ids])?;
                Ok::<_, Fail<StoreError>>((calls, turns, reviews))
            })?;
            report.calls_deleted += calls;
            report.turns_deleted += turns;
            report.reviews_deleted += reviews;
            if calls == 0 {
                break;
            }
        }
        let cutoff_day = cutoff.date_naive();
        let mut cursor = 0i64;
        loop {
            let (scanned, scrubbed, last) = self.write(|tx| {
                let rows = tx.query(
                    "SELECT id, doc FROM reservations
                     WHERE business_id = $1 AND reservation_date < $2 AND id > $3
                     ORDER BY id LIMIT $4 FOR UPDATE",
                    &[&business, &cutoff_day, &cursor, &BATCH_I64],
                )?;
                let (mut scrubbed, mut last) = (0, cursor);
                for row in &rows {
                    last = row.get(0);
                    let mut r: Reservation = decode("reservations", last, row.get(1))?;
                    if scrub(&mut r) {
                        super::booking::update_reservation(tx, &r)?;
                        scrubbed += 1;
                    }
                }
                Ok::<_, Fail<StoreError>>((rows.len(), scrubbed, last))
            })?;
            report.reservations_scrubbed += scrubbed;
            cursor = last;
            if scanned < BATCH {
                break;
            }
        }
        report.callbacks_deleted += self.delete_batches(
            "DELETE FROM callback_requests WHERE id IN (
                 SELECT id FROM callback_requests WHERE business_id = $1 AND created_at < $2
                 LIMIT $3)",
            Some(business),
            cutoff,
        )?;
        report.caller_preferences_deleted += self.delete_batches(
            "DELETE FROM caller_preferences WHERE phone_hash IN (
                 SELECT phone_hash FROM caller_preferences
                 WHERE $1::text IS NULL AND updated_at < $2 LIMIT $3)",
            None,
            cutoff,
        )?;
        report.jobs_deleted += self.delete_batches(
            "DELETE FROM jobs WHERE id IN (
                 SELECT id FROM jobs WHERE $1::text IS NULL AND status = 'done'
                 AND (doc->>'finished_at')::timestamptz < $2 LIMIT $3)",
            None,
            cutoff,
        )?;
        tracing::info!(business = %business, ?report, "Retention purge finished.");
        Ok(report)
    }

    /// Runs a `DELETE … LIMIT $3` (with `$1` = `business`, `$2` = `cutoff`) until it deletes
    /// nothing; returns how many rows went.
    fn delete_batches(
        &self,
        sql: &str,
        business: Option<&str>,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.write(|tx| {
                Ok::<_, Fail<StoreError>>(tx.execute(sql, &[&business, &cutoff, &BATCH_I64])?)
            })?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Makes `new_key` the active phone key and re-encrypts every stored number under it.
    pub fn rotate_keys(
        &self,
        new_key: PhoneKey,
        batch_size: usize,
    ) -> Result<RotationReport, StoreError> {
        self.set_crypto(self.crypto().rotated_to(new_key));
        self.reencrypt_to_active(batch_size)
    }

    /// Re-encrypts every number not under the active key, in batches.
    pub fn reencrypt_to_active(&self, batch_size: usize) -> Result<RotationReport, StoreError> {
        let crypto = self.crypto();
        tracing::info!(
            active_key_id = crypto.active_key_id(),
            "Phone key rotation started."
        );
        let mut report = RotationReport {
            active_key_id: crypto.active_key_id().to_owned(),
            reencrypted: 0,
            batches: 0,
            remaining_old: 0,
        };
        let batch = batch_size.max(1);
        self.rotate_table::<Reservation>(
            "reservations",
            |r| &mut r.phone_encrypted,
            batch,
            &mut report,
        )?;
        self.rotate_table::<CallLog>(
            "call_logs",
            |c| &mut c.caller_phone_encrypted,
            batch,
            &mut report,
        )?;
        self.rotate_table::<CallbackRequest>(
            "callback_requests",
            |c| &mut c.phone_encrypted,
            batch,
            &mut report,
        )?;
        report.remaining_old = self.count_not_under(crypto.active_key_id())?;
        tracing::info!(
            reencrypted = report.reencrypted,
            remaining_old = report.remaining_old,
            "Phone key rotation finished."
        );
        Ok(report)
    }

    fn rotate_table<T: Serialize + DeserializeOwned>(
        &self,
        table: &'static str,
        field: Field<T>,
        batch: usize,
        report: &mut RotationReport,
    ) -> Result<(), StoreError> {
        let crypto = self.crypto();
        let select =
            format!("SELECT id, doc FROM {table} WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE");
        let update = format!("UPDATE {table} SET doc = $2 WHERE id = $1");
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let mut cursor = 0i64;
        loop {
            let (scanned, changed, last) = self.write(|tx| {
                let rows = tx.query(&select, &[&cursor, &limit])?;
                let (mut changed, mut last) = (0, cursor);
                for row in &rows {
                    last = row.get(0);
                    let mut item: T = decode(table, last, row.get(1))?;
                    if reencrypt(field(&mut item), &crypto)? {
                        tx.execute(&update, &[&last, &doc(&item)])?;
                        changed += 1;
                    }
                }
                Ok::<_, Fail<StoreError>>((rows.len(), changed, last))
            })?;
            if scanned == 0 {
                return Ok(());
            }
            report.batches += 1;
            report.reencrypted += changed;
            cursor = last;
        }
    }

    /// How many stored numbers are not encrypted under `key_id`.
    pub fn count_not_under(&self, key_id: &str) -> Result<u64, StoreError> {
        let mut n = 0;
        let mut count = |enc: Option<EncryptedPhone>| {
            if enc.is_some_and(|e| e.key_id() != Some(key_id)) {
                n += 1;
            }
        };
        for (table, field) in [
            ("reservations", "phone_encrypted"),
            ("call_logs", "caller_phone_encrypted"),
            ("callback_requests", "phone_encrypted"),
        ] {
            let rows = self.read(|tx| {
                Ok(tx.query(
                    &format!("SELECT id, doc->'{field}' FROM {table} ORDER BY id"),
                    &[],
                )?)
            })?;
            for row in rows {
                let id: i64 = row.get(0);
                let value: Option<serde_json::Value> = row.get(1);
                count(decode(table, to_u64(id), value.unwrap_or_default())?);
            }
        }
        let _ = to_i64;
        Ok(n)
    }
}
