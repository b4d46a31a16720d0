//! Manager callback requests.

use chrono::{DateTime, NaiveDate, Utc};

use crate::crypto::PhoneCrypto;
use crate::error::StoreError;
use crate::model::{CallbackReason, CallbackRequest, CallbackStatus, TimeOfDay};
use crate::phone::PhoneNumber;
use crate::store::{Page, PageRequest, Store};
use crate::tables::*;

/// A callback request from the dialog (large party, manager wanted).
#[derive(Debug, Clone)]
pub struct NewCallback {
    /// Owning business.
    pub business_id: String,
    /// Originating call.
    pub call_id: Option<u64>,
    /// Name given.
    pub customer_name: Option<String>,
    /// Number to call back (stored encrypted + hashed).
    pub phone: Option<PhoneNumber>,
    /// Requested covers.
    pub party_size: Option<u32>,
    /// Wished date.
    pub requested_date: Option<NaiveDate>,
    /// Wished time.
    pub requested_time: Option<TimeOfDay>,
    /// Why.
    pub reason: CallbackReason,
    /// Free text.
    pub notes: Option<String>,
}

/// Filters for [`Store::list_callbacks`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackFilter {
    /// Only this business.
    pub business_id: Option<String>,
    /// Only this status.
    pub status: Option<CallbackStatus>,
}

/// Longest staff note on a callback request, in characters.
pub const MAX_STAFF_NOTE: usize = 1000;

/// A change staff make to a callback request; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackUpdate {
    /// New progress.
    pub status: Option<CallbackStatus>,
    /// Replaces the staff note (an empty string clears what it says).
    pub staff_note: Option<String>,
}

impl Store {
    /// Records a callback request for a manager.
    pub fn create_callback(
        &self,
        new: &NewCallback,
        now: DateTime<Utc>,
    ) -> Result<CallbackRequest, StoreError> {
        validate_callback(new)?;
        let crypto = self.crypto();
        let txn = self.db.begin_write()?;
        let id = next_id(&txn, "callback_request")?;
        let cb = callback_record(id, new, &crypto, now);
        put_json(&mut txn.open_table(CALLBACKS)?, id, &cb)?;
        txn.commit()?;
        tracing::info!(callback_id = id, business = %cb.business_id, reason = %cb.reason, "Callback requested.");
        Ok(cb)
    }

    /// One callback request.
    pub fn get_callback(&self, id: u64) -> Result<Option<CallbackRequest>, StoreError> {
        let txn = self.db.begin_read()?;
        get_json(&txn.open_table(CALLBACKS)?, "callback_requests", id)
    }

    /// Callback requests by filter in id order.
    pub fn list_callbacks(
        &self,
        filter: &CallbackFilter,
        page: &PageRequest,
    ) -> Result<Page<CallbackRequest>, StoreError> {
        scan(
            self,
            CALLBACKS,
            "callback_requests",
            page,
            |c: &CallbackRequest| filter.keeps(c),
        )
    }

    /// Moves a callback request along (`contacted`, `booked`, …).
    pub fn set_callback_status(
        &self,
        id: u64,
        status: CallbackStatus,
        now: DateTime<Utc>,
    ) -> Result<CallbackRequest, StoreError> {
        self.update_callback(
            id,
            &CallbackUpdate {
                status: Some(status),
                staff_note: None,
            },
            now,
        )
    }

    /// Staff working a callback request: a new status, a note, or both, in one write.
    /// Any status may follow any other (a request marked `declined` by mistake can be reopened).
    pub fn update_callback(
        &self,
        id: u64,
        update: &CallbackUpdate,
        now: DateTime<Utc>,
    ) -> Result<CallbackRequest, StoreError> {
        validate_update(update)?;
        let txn = self.db.begin_write()?;
        let mut table = txn.open_table(CALLBACKS)?;
        let mut cb: CallbackRequest = get_json(&table, "callback_requests", id)?
            .ok_or_else(|| StoreError::not_found("callback request", id))?;
        apply_update(&mut cb, update, now);
        put_json(&mut table, id, &cb)?;
        drop(table);
        txn.commit()?;
        tracing::info!(callback_id = id, status = %cb.status, "Callback request updated.");
        Ok(cb)
    }
}

/// Full-table scan in id order with a predicate (tables that are small per business).
/// Refuses a callback without a business or with an empty party.
pub(crate) fn validate_callback(new: &NewCallback) -> Result<(), StoreError> {
    if new.business_id.is_empty() {
        return Err(StoreError::invalid("business_id", "must not be empty"));
    }
    if new.party_size == Some(0) {
        return Err(StoreError::invalid("party_size", "must be at least 1"));
    }
    Ok(())
}

/// A new pending callback request; the number only as hash + ciphertext.
pub(crate) fn callback_record(
    id: u64,
    new: &NewCallback,
    crypto: &PhoneCrypto,
    now: DateTime<Utc>,
) -> CallbackRequest {
    CallbackRequest {
        id,
        business_id: new.business_id.clone(),
        call_id: new.call_id,
        customer_name: new.customer_name.clone(),
        phone_hash: new.phone.as_ref().map(|p| crypto.hash(p)),
        phone_encrypted: new.phone.as_ref().map(|p| crypto.encrypt(p)),
        party_size: new.party_size,
        requested_date: new.requested_date,
        requested_time: new.requested_time,
        reason: new.reason,
        notes: new.notes.clone(),
        status: CallbackStatus::Pending,
        staff_note: None,
        created_at: now,
        updated_at: now,
    }
}

/// Refuses an over-long staff note.
pub(crate) fn validate_update(update: &CallbackUpdate) -> Result<(), StoreError> {
    if let Some(note) = &update.staff_note
        && note.chars().count() > MAX_STAFF_NOTE
    {
        return Err(StoreError::invalid(
            "note",
            format!("note is longer than {MAX_STAFF_NOTE} characters"),
        ));
    }
    Ok(())
}

/// Applies the staff's update to `cb`.
pub(crate) fn apply_update(cb: &mut CallbackRequest, update: &CallbackUpdate, now: DateTime<Utc>) {
    if let Some(status) = update.status {
        cb.status = status;
    }
    if update.staff_note.is_some() {
        cb.staff_note.clone_from(&update.staff_note);
    }
    cb.updated_at = now;
}

impl CallbackFilter {
    /// Whether `c` passes every filter.
    pub(crate) fn keeps(&self, c: &CallbackRequest) -> bool {
        self.business_id
            .as_ref()
            .is_none_or(|b| *b == c.business_id)
            && self.status.is_none_or(|s| s == c.status)
    }
}

pub(crate) fn scan<T: serde::de::DeserializeOwned>(
    store: &Store,
    def: redb::TableDefinition<u64, &'static [u8]>,
    name: &'static str,
    page: &PageRequest,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, StoreError> {
    let txn = store.db.begin_read()?;
    let rows = txn.open_table(def)?;
    let start = page.after.map_or(0, |a| a.saturating_add(1));
    let mut found = Vec::new();
    for row in rows.range(start..)? {
        let (id, bytes) = row?;
        let item: T = decode(name, id.value(), bytes.value())?;
        if keep(&item) {
            found.push((id.value(), item));
            if found.len() > page.clamped_limit() {
                break;
            }
        }
    }
    Ok(page.paginate(found))
}
