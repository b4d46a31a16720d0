//! Calls, transcript turns and caller preferences on PostgreSQL; the same rules as the redb
//! store's (`crate::calls`), written with the same record functions.

use chrono::{DateTime, Utc};
use postgres::Transaction;

use super::records::adjust;
use super::{Fail, PgStore, decode, doc, get_doc, next_id, to_i64};
use crate::calls::{
    CallEnd, CallFilter, CallerPreferencesEdit, CallerUpdate, NewCall, NewTurn, apply_edit,
    call_record, end_call, turn_record, updated_preferences, validate_call, validate_edit,
};
use crate::crypto::PhoneHash;
use crate::error::StoreError;
use crate::model::{CallLog, CallWithTurns, CallerPreferences, ConversationTurn, TurnRole};
use crate::store::{Page, PageRequest};

impl PgStore {
    /// Starts a call log (and counts it in the day's `calls`).
    pub fn create_call(&self, new: &NewCall, now: DateTime<Utc>) -> Result<CallLog, StoreError> {
        validate_call(new)?;
        let crypto = self.crypto();
        self.write(|tx| {
            let id = next_id(tx, "call_logs")?;
            let call = call_record(id, new, &crypto, now);
            tx.execute(
                "INSERT INTO call_logs (id, business_id, started_at, outcome, phone_hash, doc)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &to_i64(id),
                    &call.business_id,
                    &call.started_at,
                    &call.outcome.as_str(),
                    &call.caller_phone_hash.as_ref().map(PhoneHash::as_str),
                    &doc(&call),
                ],
            )?;
            adjust(
                tx,
                &call.business_id,
                call.started_at.date_naive(),
                "calls",
                1,
            )?;
            Ok(call)
        })
    }

    /// Ends a call and queues its review, in one transaction.
    pub fn finish_call(
        &self,
        id: u64,
        end: &CallEnd,
        now: DateTime<Utc>,
    ) -> Result<CallLog, StoreError> {
        self.write(|tx| {
            let mut call: CallLog = get_doc(tx, "call_logs", id, true)?
                .ok_or_else(|| StoreError::not_found("call", id))?;
            let handoffs = end_call(&mut call, end, now);
            save_call(tx, &call)?;
            adjust(
                tx,
                &call.business_id,
                call.started_at.date_naive(),
                "handoffs",
                handoffs,
            )?;
            super::jobs::enqueue_in(tx, &crate::reviews::analyze_job(id, now), now)?;
            Ok(call)
        })
    }

    /// Appends a turn to a call's transcript (numbered from 0).
    pub fn append_turn(
        &self,
        call_id: u64,
        turn: &NewTurn,
        now: DateTime<Utc>,
    ) -> Result<ConversationTurn, StoreError> {
        self.write(|tx| {
            // The call row's lock orders concurrent appends to one call.
            let call: CallLog = get_doc(tx, "call_logs", call_id, true)?
                .ok_or_else(|| StoreError::not_found("call", call_id))?;
            if let (TurnRole::Bot, Some(ms)) = (turn.role, turn.timings.total_ms) {
                super::records::turn_latency(
                    tx,
                    &call.business_id,
                    call.started_at.date_naive(),
                    ms,
                )?;
            }
            let next: Option<i32> = tx
                .query_one(
                    "SELECT max(seq) + 1 FROM conversation_turns WHERE call_id = $1",
                    &[&to_i64(call_id)],
                )?
                .get(0);
            let seq = next.map_or(0, |s| u32::try_from(s).unwrap_or(0));
            let stored = turn_record(call_id, seq, turn, now);
            tx.execute(
                "INSERT INTO conversation_turns (call_id, seq, doc) VALUES ($1, $2, $3)",
                &[&to_i64(call_id), &(seq as i32), &doc(&stored)],
            )?;
            Ok(stored)
        })
    }

    /// A call with its turns in order.
    pub fn get_call(&self, id: u64) -> Result<Option<CallWithTurns>, StoreError> {
        self.read(|tx| {
            let Some(call) = get_doc::<CallLog>(tx, "call_logs", id, false)? else {
                return Ok(None);
            };
            let rows = tx.query(
                "SELECT seq, doc FROM conversation_turns WHERE call_id = $1 ORDER BY seq",
                &[&to_i64(id)],
            )?;
            let mut turns = Vec::with_capacity(rows.len());
            for row in rows {
                let seq: i32 = row.get(0);
                turns.push(decode(
                    "conversation_turns",
                    format!("{id}/{seq}"),
                    row.get(1),
                )?);
            }
            Ok(Some(CallWithTurns { call, turns }))
        })
    }

    /// Filtered, paginated calls in id order.
    pub fn list_calls(
        &self,
        filter: &CallFilter,
        page: &PageRequest,
    ) -> Result<Page<CallLog>, StoreError> {
        self.scan_page(
            "call_logs",
            "business_id = $2",
            filter.business_id.as_deref(),
            page,
            |c: &CallLog| filter.keeps(c),
        )
    }

    /// A caller's preferences, by phone hash.
    pub fn get_caller_preferences(
        &self,
        hash: &PhoneHash,
    ) -> Result<Option<CallerPreferences>, StoreError> {
        self.read(|tx| get_prefs(tx, hash, false))
    }

    /// The owner's edit of a caller's preferences (the record must exist).
    pub fn edit_caller_preferences(
        &self,
        hash: &PhoneHash,
        edit: &CallerPreferencesEdit,
        now: DateTime<Utc>,
    ) -> Result<CallerPreferences, StoreError> {
        validate_edit(edit)?;
        self.write(|tx| {
            let mut prefs = get_prefs(tx, hash, true)?
                .ok_or_else(|| StoreError::not_found("caller preferences", hash))?;
            apply_edit(&mut prefs, edit, now);
            save_prefs(tx, &prefs)?;
            Ok(prefs)
        })
    }

    /// Merges what a call learned into the caller's preferences (creating them).
    pub fn update_caller_preferences(
        &self,
        hash: &PhoneHash,
        update: &CallerUpdate,
        now: DateTime<Utc>,
    ) -> Result<CallerPreferences, StoreError> {
        self.write(|tx| {
            // Serialises two first calls of the same new caller (no row to lock yet).
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&format!("caller:{}", hash.as_str())],
            )?;
            let existing = get_prefs(tx, hash, true)?;
            let prefs = updated_preferences(existing, hash, update, now);
            save_prefs(tx, &prefs)?;
            Ok(prefs)
        })
    }
}

/// Writes a changed call back.
pub(crate) fn save_call(tx: &mut Transaction<'_>, call: &CallLog) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE call_logs SET outcome = $2, phone_hash = $3, doc = $4 WHERE id = $1",
        &[
            &to_i64(call.id),
            &call.outcome.as_str(),
            &call.caller_phone_hash.as_ref().map(PhoneHash::as_str),
            &doc(call),
        ],
    )?;
    Ok(())
}

fn get_prefs(
    tx: &mut Transaction<'_>,
    hash: &PhoneHash,
    lock: bool,
) -> Result<Option<CallerPreferences>, Fail<StoreError>> {
    let sql = if lock {
        "SELECT doc FROM caller_preferences WHERE phone_hash = $1 FOR UPDATE"
    } else {
        "SELECT doc FROM caller_preferences WHERE phone_hash = $1"
    };
    match tx.query_opt(sql, &[&hash.as_str()])? {
        Some(row) => Ok(Some(decode("caller_preferences", hash, row.get(0))?)),
        None => Ok(None),
    }
}

fn save_prefs(tx: &mut Transaction<'_>, prefs: &CallerPreferences) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO caller_preferences (phone_hash, updated_at, doc) VALUES ($1, $2, $3)
         ON CONFLICT (phone_hash) DO UPDATE SET updated_at = excluded.updated_at, doc = excluded.doc",
        &[&prefs.phone_hash.as_str(), &prefs.updated_at, &doc(prefs)],
    )?;
    Ok(())
}
