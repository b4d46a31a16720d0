//! Table definitions and the row codec: the physical schema in one place.
//!
//! Values are JSON bytes (`&[u8]`): the stored form equals the API form documented by
//! `schemas/*.json`, rows stay readable with `redb` tooling during an incident, and new optional
//! fields need no migration (`#[serde(default)]`). Records are small (< 1 KiB), so JSON's size
//! overhead is irrelevant next to fsync cost. Keys are typed redb tuples so ranges sort correctly.
//!
//! Secondary indexes are multimap tables (key → set of ids) maintained in the same write
//! transaction as the row, so they can never disagree with it after a crash.

use redb::{MultimapTableDefinition, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;

/// Schema version and id counters (`schema_version`, `next_id:<entity>`).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Reservation rows by id.
pub(crate) const RESERVATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("reservations");
/// (business_id, YYYY-MM-DD) → reservation ids. Capacity checks and day lists.
pub(crate) const RES_BY_DATE: MultimapTableDefinition<(&str, &str), u64> =
    MultimapTableDefinition::new("reservations_by_business_date");
/// (phone_hash, YYYY-MM-DD) → reservation ids. "Do I have a booking today?" (migration 0002).
pub(crate) const RES_BY_PHONE: MultimapTableDefinition<(&str, &str), u64> =
    MultimapTableDefinition::new("reservations_by_phone_date");

/// Call rows by id.
pub(crate) const CALLS: TableDefinition<u64, &[u8]> = TableDefinition::new("call_logs");
/// (business_id, started_at unix ms) → call ids.
pub(crate) const CALLS_BY_START: MultimapTableDefinition<(&str, i64), u64> =
    MultimapTableDefinition::new("calls_by_business_start");
/// (call_id, seq) → turn.
pub(crate) const TURNS: TableDefinition<(u64, u32), &[u8]> =
    TableDefinition::new("conversation_turns");

/// phone_hash → caller preferences.
pub(crate) const CALLER_PREFS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("caller_preferences");

/// Follow-up rows by id.
pub(crate) const FOLLOWUPS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("whatsapp_followups");
/// Transcript reviews by id.
pub(crate) const REVIEWS: TableDefinition<u64, &[u8]> = TableDefinition::new("transcript_reviews");
/// call_id → its review's id: one review per call, so the review job is idempotent
/// (migration 0004).
pub(crate) const REVIEWS_BY_CALL: TableDefinition<u64, u64> =
    TableDefinition::new("reviews_by_call");
/// Suggestions by id.
pub(crate) const SUGGESTIONS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("improvement_suggestions");
/// (business_id, status) → suggestion ids.
pub(crate) const SUGGESTIONS_BY_STATUS: MultimapTableDefinition<(&str, &str), u64> =
    MultimapTableDefinition::new("suggestions_by_business_status");
/// Callback requests by id.
pub(crate) const CALLBACKS: TableDefinition<u64, &[u8]> = TableDefinition::new("callback_requests");

/// Jobs by id.
pub(crate) const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs");
/// (due unix ms, job id) for claimable jobs: pending ones at `due_at`, running ones at lease
/// expiry. Done and dead jobs have no entry, so claiming is a short prefix scan.
pub(crate) const JOBS_BY_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("jobs_by_due");
/// idempotency key → job id: enqueueing is idempotent.
pub(crate) const JOBS_BY_KEY: TableDefinition<&str, u64> =
    TableDefinition::new("jobs_by_idempotency_key");

/// (business_id, YYYY-MM-DD, metric) → count. Survives retention purges (migration 0003).
pub(crate) const AGGREGATES: TableDefinition<(&str, &str, &str), u64> =
    TableDefinition::new("daily_aggregates");

/// One throw-away row written and deleted by [`crate::Store::probe_writes`]; left out of
/// backups ([`crate::EPHEMERAL_TABLES`]).
pub(crate) const WRITE_PROBE: TableDefinition<u8, &[u8]> = TableDefinition::new("write_probe");

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our record types contain only strings, numbers, bools and JSON values: serialising them
    // cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

pub(crate) fn decode<T: DeserializeOwned>(
    table: &'static str,
    key: impl std::fmt::Display,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        table,
        key: key.to_string(),
        source,
    })
}

/// Allocates the next id for `entity` inside the caller's transaction, so an aborted
/// transaction also returns its id.
pub(crate) fn next_id(txn: &WriteTransaction, entity: &str) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(META)?;
    let key = format!("next_id:{entity}");
    let id = meta.get(key.as_str())?.map(|v| v.value()).unwrap_or(1);
    meta.insert(key.as_str(), id + 1)?;
    Ok(id)
}

/// Reads and decodes a row from a `u64 → json` table (read or write side).
pub(crate) fn get_json<T: DeserializeOwned>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    name: &'static str,
    id: u64,
) -> Result<Option<T>, StoreError> {
    match table.get(id)? {
        Some(bytes) => decode(name, id, bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// Writes a row to a `u64 → json` table.
pub(crate) fn put_json<T: Serialize>(
    table: &mut Table<'_, u64, &'static [u8]>,
    id: u64,
    value: &T,
) -> Result<(), StoreError> {
    table.insert(id, encode(value).as_slice())?;
    Ok(())
}
