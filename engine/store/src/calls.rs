//! Calls, transcript turns and caller preferences.

use chrono::{DateTime, Utc};
use redb::ReadableTable;

use crate::crypto::{PhoneCrypto, PhoneHash};
use crate::error::StoreError;
use crate::model::{
    CallLog, CallOutcome, CallWithTurns, CallerPreferences, ConversationTurn, HandledBy,
    TtsFallback, TurnConfigError, TurnRole, TurnTimings,
};
use crate::phone::PhoneNumber;
use crate::store::{Page, PageRequest, Store};
use crate::tables::*;

/// A call that just started.
#[derive(Debug, Clone)]
pub struct NewCall {
    /// Owning business.
    pub business_id: String,
    /// Telephony provider's call id.
    pub external_call_id: Option<String>,
    /// Caller's number (stored encrypted + hashed).
    pub caller: Option<PhoneNumber>,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// Initial language.
    pub language: Option<String>,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEnd {
    /// End time.
    pub ended_at: DateTime<Utc>,
    /// Outcome.
    pub outcome: CallOutcome,
    /// Reservation made, if any.
    pub reservation_id: Option<u64>,
    /// Final language, if it changed during the call.
    pub language: Option<String>,
    /// Short account of the call (`vartalaap_review::call_summary`).
    pub summary: Option<String>,
}

/// One utterance to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTurn {
    /// Speaker.
    pub role: TurnRole,
    /// Text.
    pub text: String,
    /// Language.
    pub language: Option<String>,
    /// Recogniser confidence (0–1) for a caller's words.
    pub stt_confidence: Option<f32>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Latencies.
    pub timings: TurnTimings,
    /// What handled the turn (bot turns).
    pub handled_by: Option<HandledBy>,
    /// The caller cut this reply short (see [`ConversationTurn::interrupted`]).
    pub interrupted: bool,
    /// Audio of the reply the caller heard, in ms (bot turns on a call).
    pub played_ms: Option<u32>,
    /// The whole reply, when it was interrupted.
    pub intended_text: Option<String>,
    /// Sentences a fallback said instead of their own voice.
    pub tts_fallbacks: Vec<TtsFallback>,
    /// Plugin and template errors met in the turn.
    pub config_errors: Vec<TurnConfigError>,
    /// Slots the caller corrected in the turn.
    pub corrected_slots: Vec<String>,
}

/// Filters for [`Store::list_calls`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// Only this business (uses the business+start index).
    pub business_id: Option<String>,
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    /// Only this outcome.
    pub outcome: Option<CallOutcome>,
}

/// What a finished call teaches us about the caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallerUpdate {
    /// Language used.
    pub language: Option<String>,
    /// Name given.
    pub name: Option<String>,
    /// WhatsApp consent answer.
    pub whatsapp_consent: Option<bool>,
    /// Start of the call (counts a call when set).
    pub call_at: Option<DateTime<Utc>>,
}

/// What staff may set on a caller's preferences (`PUT /api/callers/{hash}/preferences`):
/// every editable field is replaced, `None` clears it. Call counts stay the calls' business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerPreferencesEdit {
    /// Language to greet the caller in next time.
    pub last_language: Option<String>,
    /// Name to use.
    pub preferred_name: Option<String>,
    /// Standing WhatsApp consent answer.
    pub whatsapp_consent: Option<bool>,
}

/// Longest preferred name, in characters (the same limit as a reservation's name).
pub const MAX_PREFERRED_NAME: usize = 120;

impl Store {
    /// Records a new call and bumps the business's daily call counter.
    pub fn create_call(&self, new: &NewCall, now: DateTime<Utc>) -> Result<CallLog, StoreError> {
        validate_call(new)?;
        let crypto = self.crypto();
        let txn = self.db.begin_write()?;
        let id = next_id(&txn, "call")?;
        let call = call_record(id, new, &crypto, now);
        put_json(&mut txn.open_table(CALLS)?, id, &call)?;
        txn.open_multimap_table(CALLS_BY_START)?.insert(
            (
                call.business_id.as_str(),
                call.started_at.timestamp_millis(),
            ),
            id,
        )?;
        let day = call.started_at.date_naive().to_string();
        crate::aggregates::adjust(&txn, &call.business_id, &day, "calls", 1)?;
        txn.commit()?;
        Ok(call)
    }

    /// Records the end of a call (a call handed to a person counts in its day's `handoffs`)
    /// and, in the same transaction, queues its review ([`crate::ANALYZE_TRANSCRIPT_KIND`],
    /// once per call).
    pub fn finish_call(
        &self,
        id: u64,
        end: &CallEnd,
        now: DateTime<Utc>,
    ) -> Result<CallLog, StoreError> {
        let txn = self.db.begin_write()?;
        let mut call: CallLog = get_json(&txn.open_table(CALLS)?, "call_logs", id)?
            .ok_or_else(|| StoreError::not_found("call", id))?;
        let handoffs = end_call(&mut call, end, now);
        put_json(&mut txn.open_table(CALLS)?, id, &call)?;
        let day = call.started_at.date_naive().to_string();
        crate::aggregates::adjust(&txn, &call.business_id, &day, "handoffs", handoffs)?;
        crate::jobs::enqueue_in(&txn, &crate::reviews::analyze_job(id, now), now)?;
        txn.commit()?;
        Ok(call)
    }

    /// Appends a turn; `seq` is assigned as the next number in the call. A bot turn's
    /// measured latency (`timings.total_ms`) counts in its call's daily latency histogram.
    pub fn append_turn(
        &self,
        call_id: u64,
        turn: &NewTurn,
        now: DateTime<Utc>,
    ) -> Result<ConversationTurn, StoreError> {
        let txn = self.db.begin_write()?;
        let call: CallLog = get_json(&txn.open_table(CALLS)?, "call_logs", call_id)?
            .ok_or_else(|| StoreError::not_found("call", call_id))?;
        if let (TurnRole::Bot, Some(ms)) = (turn.role, turn.timings.total_ms) {
            let day = call.started_at.date_naive().to_string();
            crate::aggregates::turn_latency(&txn, &call.business_id, &day, ms)?;
        }
        let mut turns = txn.open_table(TURNS)?;
        let seq = match turns.range((call_id, 0)..=(call_id, u32::MAX))?.next_back() {
            Some(last) => last?.0.value().1 + 1,
            None => 0,
        };
        let stored = turn_record(call_id, seq, turn, now);
        turns.insert((call_id, seq), encode(&stored).as_slice())?;
        drop(turns);
        txn.commit()?;
        Ok(stored)
    }

    /// A call with its transcript in order.
    pub fn get_call(&self, id: u64) -> Result<Option<CallWithTurns>, StoreError> {
        let txn = self.db.begin_read()?;
        let Some(call) = get_json::<CallLog>(&txn.open_table(CALLS)?, "call_logs", id)? else {
            return Ok(None);
        };
        let mut turns = Vec::new();
        for row in txn.open_table(TURNS)?.range((id, 0)..=(id, u32::MAX))? {
            let (key, bytes) = row?;
            let (c, s) = key.value();
            turns.push(decode(
                "conversation_turns",
                format!("{c}/{s}"),
                bytes.value(),
            )?);
        }
        Ok(Some(CallWithTurns { call, turns }))
    }

    /// Calls by filter in id order; with a business id the business+start index narrows it.
    pub fn list_calls(
        &self,
        filter: &CallFilter,
        page: &PageRequest,
    ) -> Result<Page<CallLog>, StoreError> {
        let txn = self.db.begin_read()?;
        let rows = txn.open_table(CALLS)?;
        let keep = |c: &CallLog| filter.keeps(c);
        let mut found = Vec::new();
        if let Some(business) = &filter.business_id {
            let index = txn.open_multimap_table(CALLS_BY_START)?;
            let from = filter.from.map_or(i64::MIN, |f| f.timestamp_millis());
            let to = filter.to.map_or(i64::MAX, |t| t.timestamp_millis());
            if from <= to {
                for entry in index.range((business.as_str(), from)..=(business.as_str(), to))? {
                    for id in entry?.1 {
                        let id = id?.value();
                        if page.after.is_some_and(|a| id <= a) {
                            continue;
                        }
                        if let Some(c) = get_json::<CallLog>(&rows, "call_logs", id)?
                            && keep(&c)
                        {
                            found.push((id, c));
                        }
                    }
                }
            }
        } else {
            let start = page.after.map_or(0, |a| a.saturating_add(1));
            for row in rows.range(start..)? {
                let (id, bytes) = row?;
                let c: CallLog = decode("call_logs", id.value(), bytes.value())?;
                if keep(&c) {
                    found.push((c.id, c));
                    if found.len() > page.clamped_limit() {
                        break;
                    }
                }
            }
        }
        Ok(page.paginate(found))
    }

    /// What we remember about a caller.
    pub fn get_caller_preferences(
        &self,
        hash: &PhoneHash,
    ) -> Result<Option<CallerPreferences>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CALLER_PREFS)?;
        match table.get(hash.as_str())? {
            Some(bytes) => decode("caller_preferences", hash, bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Replaces the editable fields of a caller's stored preferences. A caller nobody has
    /// stored yet is [`StoreError::NotFound`]: the record is made by their first call, so an
    /// edit cannot invent a "returning caller".
    pub fn edit_caller_preferences(
        &self,
        hash: &PhoneHash,
        edit: &CallerPreferencesEdit,
        now: DateTime<Utc>,
    ) -> Result<CallerPreferences, StoreError> {
        validate_edit(edit)?;
        let txn = self.db.begin_write()?;
        let mut table = txn.open_table(CALLER_PREFS)?;
        let mut prefs: CallerPreferences = match table.get(hash.as_str())? {
            Some(bytes) => decode("caller_preferences", hash, bytes.value())?,
            None => return Err(StoreError::not_found("caller preferences", hash)),
        };
        apply_edit(&mut prefs, edit, now);
        table.insert(hash.as_str(), encode(&prefs).as_slice())?;
        drop(table);
        txn.commit()?;
        Ok(prefs)
    }

    /// Creates or updates a caller's preferences (fields left `None` are kept).
    pub fn update_caller_preferences(
        &self,
        hash: &PhoneHash,
        update: &CallerUpdate,
        now: DateTime<Utc>,
    ) -> Result<CallerPreferences, StoreError> {
        let txn = self.db.begin_write()?;
        let mut table = txn.open_table(CALLER_PREFS)?;
        let existing: Option<CallerPreferences> = match table.get(hash.as_str())? {
            Some(bytes) => Some(decode("caller_preferences", hash, bytes.value())?),
            None => None,
        };
        let prefs = updated_preferences(existing, hash, update, now);
        table.insert(hash.as_str(), encode(&prefs).as_slice())?;
        drop(table);
        txn.commit()?;
        Ok(prefs)
    }
}

/// Refuses a call without a business.
pub(crate) fn validate_call(new: &NewCall) -> Result<(), StoreError> {
    if new.business_id.is_empty() {
        return Err(StoreError::invalid("business_id", "must not be empty"));
    }
    Ok(())
}

/// A new call in progress; the caller's number only as hash + ciphertext.
pub(crate) fn call_record(
    id: u64,
    new: &NewCall,
    crypto: &PhoneCrypto,
    now: DateTime<Utc>,
) -> CallLog {
    CallLog {
        id,
        business_id: new.business_id.clone(),
        external_call_id: new.external_call_id.clone(),
        caller_phone_hash: new.caller.as_ref().map(|p| crypto.hash(p)),
        caller_phone_encrypted: new.caller.as_ref().map(|p| crypto.encrypt(p)),
        started_at: new.started_at,
        ended_at: None,
        duration_seconds: None,
        language: new.language.clone(),
        outcome: CallOutcome::InProgress,
        reservation_id: None,
        summary: None,
        created_at: now,
        updated_at: now,
    }
}

/// Ends `call`; returns how the day's `handoffs` counter moves (-1, 0 or 1).
pub(crate) fn end_call(call: &mut CallLog, end: &CallEnd, now: DateTime<Utc>) -> i64 {
    let was_handoff = call.outcome == CallOutcome::Transferred;
    call.ended_at = Some(end.ended_at);
    let secs = (end.ended_at - call.started_at).num_seconds().max(0);
    call.duration_seconds = Some(u32::try_from(secs).unwrap_or(u32::MAX));
    call.outcome = end.outcome;
    call.reservation_id = end.reservation_id.or(call.reservation_id);
    if end.language.is_some() {
        call.language.clone_from(&end.language);
    }
    if end.summary.is_some() {
        call.summary.clone_from(&end.summary);
    }
    call.updated_at = now;
    let is_handoff = call.outcome == CallOutcome::Transferred;
    i64::from(is_handoff) - i64::from(was_handoff)
}

/// The stored form of turn `seq` of call `call_id`.
pub(crate) fn turn_record(
    call_id: u64,
    seq: u32,
    turn: &NewTurn,
    now: DateTime<Utc>,
) -> ConversationTurn {
    ConversationTurn {
        call_id,
        seq,
        role: turn.role,
        text: turn.text.clone(),
        language: turn.language.clone(),
        stt_confidence: turn.stt_confidence,
        started_at: turn.started_at,
        timings: turn.timings.clone(),
        handled_by: turn.handled_by.clone(),
        interrupted: turn.interrupted,
        played_ms: turn.played_ms,
        intended_text: turn.intended_text.clone(),
        tts_fallbacks: turn.tts_fallbacks.clone(),
        config_errors: turn.config_errors.clone(),
        corrected_slots: turn.corrected_slots.clone(),
        created_at: now,
    }
}

impl CallFilter {
    /// Whether `c` passes every filter.
    pub(crate) fn keeps(&self, c: &CallLog) -> bool {
        self.business_id
            .as_ref()
            .is_none_or(|b| *b == c.business_id)
            && self.from.is_none_or(|f| c.started_at >= f)
            && self.to.is_none_or(|t| c.started_at < t)
            && self.outcome.is_none_or(|o| c.outcome == o)
    }
}

/// Refuses an over-long preferred name.
pub(crate) fn validate_edit(edit: &CallerPreferencesEdit) -> Result<(), StoreError> {
    if let Some(name) = &edit.preferred_name
        && name.chars().count() > MAX_PREFERRED_NAME
    {
        return Err(StoreError::invalid(
            "preferred_name",
            format!("preferred_name is longer than {MAX_PREFERRED_NAME} characters"),
        ));
    }
    Ok(())
}

/// The owner's edit replaces the three editable fields.
pub(crate) fn apply_edit(
    prefs: &mut CallerPreferences,
    edit: &CallerPreferencesEdit,
    now: DateTime<Utc>,
) {
    prefs.last_language.clone_from(&edit.last_language);
    prefs.preferred_name.clone_from(&edit.preferred_name);
    prefs.whatsapp_consent = edit.whatsapp_consent;
    prefs.updated_at = now;
}

/// `existing` (or a new record for `hash`) with what a call learned merged in.
pub(crate) fn updated_preferences(
    existing: Option<CallerPreferences>,
    hash: &PhoneHash,
    update: &CallerUpdate,
    now: DateTime<Utc>,
) -> CallerPreferences {
    let mut prefs = existing.unwrap_or_else(|| CallerPreferences {
        phone_hash: hash.clone(),
        last_language: None,
        preferred_name: None,
        whatsapp_consent: None,
        total_calls: 0,
        last_call_at: None,
        created_at: now,
        updated_at: now,
    });
    if update.language.is_some() {
        prefs.last_language.clone_from(&update.language);
    }
    if update.name.is_some() {
        prefs.preferred_name.clone_from(&update.name);
    }
    if update.whatsapp_consent.is_some() {
        prefs.whatsapp_consent = update.whatsapp_consent;
    }
    if let Some(at) = update.call_at {
        prefs.total_calls += 1;
        prefs.last_call_at = Some(at);
    }
    prefs.updated_at = now;
    prefs
}
