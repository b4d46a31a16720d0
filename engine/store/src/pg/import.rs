//! Moving an existing redb database into PostgreSQL (`vartalaap migrate --to-postgres`): every
//! record copied as it is stored — ids, timestamps and phone numbers still encrypted under the
//! same keys (nothing is decrypted) — in one PostgreSQL transaction, into a database that holds
//! no records yet. The daily counters and the single-use markers come along; the id sequences
//! continue after the highest copied id.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use postgres::Transaction;
use redb::{ReadTransaction, ReadableTable, TableDefinition, TableError};
use serde::de::DeserializeOwned;

use super::{Fail, PgStore, doc, to_i64};
use crate::crypto::PhoneHash;
use crate::error::StoreError;
use crate::model::{
    CallLog, CallbackRequest, CallerPreferences, ConversationTurn, ImprovementSuggestion, Job,
    Reservation, TranscriptReview, WhatsappFollowup,
};
use crate::store::Store;
use crate::tables::*;

/// How many rows of each table were copied, by table name.
pub type ImportReport = BTreeMap<&'static str, u64>;

/// The record tables, in the order foreign keys allow.
const TABLES: &[&str] = &[
    "reservations",
    "call_logs",
    "conversation_turns",
    "caller_preferences",
    "whatsapp_followups",
    "callback_requests",
    "transcript_reviews",
    "improvement_suggestions",
    "jobs",
    "daily_aggregates",
    "used_once",
];

fn rows<T: DeserializeOwned>(
    read: &ReadTransaction,
    def: TableDefinition<u64, &'static [u8]>,
    name: &'static str,
) -> Result<Vec<T>, StoreError> {
    let table = match read.open_table(def) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for row in table.iter()? {
        let (id, bytes) = row?;
        out.push(decode(name, id.value(), bytes.value())?);
    }
    Ok(out)
}

impl PgStore {
    /// Copies every record of the redb `source` into this (empty) PostgreSQL database, in one
    /// transaction: all or nothing. Refused when the database already holds records.
    pub fn import_redb(&self, source: &Store) -> Result<ImportReport, StoreError> {
        let read = source.db.begin_read()?;
        let reservations: Vec<Reservation> = rows(&read, RESERVATIONS, "reservations")?;
        let calls: Vec<CallLog> = rows(&read, CALLS, "call_logs")?;
        let followups: Vec<WhatsappFollowup> = rows(&read, FOLLOWUPS, "whatsapp_followups")?;
        let callbacks: Vec<CallbackRequest> = rows(&read, CALLBACKS, "callback_requests")?;
        let reviews: Vec<TranscriptReview> = rows(&read, REVIEWS, "transcript_reviews")?;
        let suggestions: Vec<ImprovementSuggestion> =
            rows(&read, SUGGESTIONS, "improvement_suggestions")?;
        let jobs: Vec<Job> = rows(&read, JOBS, "jobs")?;
        let mut turns: Vec<ConversationTurn> = Vec::new();
        for row in read.open_table(TURNS)?.iter()? {
            let (key, bytes) = row?;
            let (call, seq) = key.value();
            turns.push(decode(
                "conversation_turns",
                format!("{call}/{seq}"),
                bytes.value(),
            )?);
        }
        let mut prefs: Vec<CallerPreferences> = Vec::new();
        for row in read.open_table(CALLER_PREFS)?.iter()? {
            let (key, bytes) = row?;
            prefs.push(decode("caller_preferences", key.value(), bytes.value())?);
        }
        let mut counters: Vec<(String, NaiveDate, String, i64)> = Vec::new();
        for row in read.open_table(AGGREGATES)?.iter()? {
            let (key, count) = row?;
            let (business, day, metric) = key.value();
            let day = day
                .parse()
                .map_err(|_| StoreError::invalid("daily_aggregates", format!("bad day {day:?}")))?;
            counters.push((business.into(), day, metric.into(), to_i64(count.value())));
        }
        let mut markers: Vec<(String, i64)> = Vec::new();
        match read.open_table(crate::once::USED_ONCE) {
            Ok(table) => {
                for row in table.iter()? {
                    let (key, until) = row?;
                    markers.push((key.value().to_owned(), until.value()));
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.into()),
        }
        drop(read);

        self.write(|tx| {
            for table in TABLES {
                let n: i64 = tx
                    .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
                    .get(0);
                if n > 0 {
                    return Err(Fail::Op(StoreError::invalid(
                        "DATABASE_URL",
                        format!(
                            "the PostgreSQL database already holds {n} {table} rows; import only into an empty, migrated database"
                        ),
                    )));
                }
            }
            let mut report = ImportReport::new();
            for r in &reservations {
                tx.execute(
                    "INSERT INTO reservations (id, business_id, reservation_date, status, phone_hash, call_id, doc)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&to_i64(r.id), &r.business_id, &r.reservation_date, &r.status.as_str(),
                      &r.phone_hash.as_ref().map(PhoneHash::as_str), &r.call_id.map(to_i64), &doc(r)],
                )?;
            }
            report.insert("reservations", reservations.len() as u64);
            for c in &calls {
                tx.execute(
                    "INSERT INTO call_logs (id, business_id, started_at, outcome, phone_hash, doc)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&to_i64(c.id), &c.business_id, &c.started_at, &c.outcome.as_str(),
                      &c.caller_phone_hash.as_ref().map(PhoneHash::as_str), &doc(c)],
                )?;
            }
            report.insert("call_logs", calls.len() as u64);
            for t in &turns {
                tx.execute(
                    "INSERT INTO conversation_turns (call_id, seq, doc) VALUES ($1, $2, $3)",
                    &[&to_i64(t.call_id), &(t.seq as i32), &doc(t)],
                )?;
            }
            report.insert("conversation_turns", turns.len() as u64);
            for p in &prefs {
                tx.execute(
                    "INSERT INTO caller_preferences (phone_hash, updated_at, doc) VALUES ($1, $2, $3)",
                    &[&p.phone_hash.as_str(), &p.updated_at, &doc(p)],
                )?;
            }
            report.insert("caller_preferences", prefs.len() as u64);
            for f in &followups {
                tx.execute(
                    "INSERT INTO whatsapp_followups (id, reservation_id, status, doc) VALUES ($1, $2, $3, $4)",
                    &[&to_i64(f.id), &to_i64(f.reservation_id), &f.status.as_str(), &doc(f)],
                )?;
            }
            report.insert("whatsapp_followups", followups.len() as u64);
            for c in &callbacks {
                tx.execute(
                    "INSERT INTO callback_requests (id, business_id, status, created_at, phone_hash, call_id, doc)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&to_i64(c.id), &c.business_id, &c.status.as_str(), &c.created_at,
                      &c.phone_hash.as_ref().map(PhoneHash::as_str), &c.call_id.map(to_i64), &doc(c)],
                )?;
            }
            report.insert("callback_requests", callbacks.len() as u64);
            for r in &reviews {
                tx.execute(
                    "INSERT INTO transcript_reviews (id, call_id, business_id, reviewed_at, doc)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&to_i64(r.id), &to_i64(r.call_id), &r.business_id, &r.reviewed_at, &doc(r)],
                )?;
            }
            report.insert("transcript_reviews", reviews.len() as u64);
            for s in &suggestions {
                tx.execute(
                    "INSERT INTO improvement_suggestions (id, review_id, call_id, business_id, status, category, doc)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&to_i64(s.id), &to_i64(s.review_id), &to_i64(s.call_id), &s.business_id,
                      &s.status.as_str(), &s.category.as_str(), &doc(s)],
                )?;
            }
            report.insert("improvement_suggestions", suggestions.len() as u64);
            for j in &jobs {
                super::jobs::save_job(tx, j)?;
            }
            report.insert("jobs", jobs.len() as u64);
            for (business, day, metric, count) in &counters {
                tx.execute(
                    "INSERT INTO daily_aggregates (business_id, day, metric, count) VALUES ($1, $2, $3, $4)",
                    &[business, day, metric, count],
                )?;
            }
            report.insert("daily_aggregates", counters.len() as u64);
            for (key, until) in &markers {
                tx.execute(
                    "INSERT INTO used_once (key, expires_at) VALUES ($1, $2)",
                    &[key, until],
                )?;
            }
            report.insert("used_once", markers.len() as u64);
            continue_sequences(tx)?;
            Ok(report)
        })
    }
}

/// Sets each id sequence after the highest copied id, so new records never collide.
fn continue_sequences(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    for table in [
        "reservations",
        "call_logs",
        "whatsapp_followups",
        "callback_requests",
        "transcript_reviews",
        "improvement_suggestions",
        "jobs",
    ] {
        tx.execute(
            &format!(
                "SELECT setval('{table}_id_seq', (SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
            ),
            &[],
        )?;
    }
    Ok(())
}
