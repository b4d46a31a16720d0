//! Reservations: booking with a capacity re-check, changes, cancellation, look-ups.

use chrono::{DateTime, Days, NaiveDate, Utc};
use redb::{ReadableMultimapTable, ReadableTable, WriteTransaction};

use crate::capacity::{CapacityRule, Hold, SlotAvailability, SlotGrid, absolute_minute};
use crate::crypto::{EncryptedPhone, PhoneHash};
use crate::error::{BookingError, StoreError};
use crate::jobs::{NewJob, enqueue_in};
use crate::model::{FollowupStatus, Reservation, ReservationStatus, TimeOfDay, WhatsappFollowup};
use crate::phone::PhoneNumber;
use crate::store::{Page, PageRequest, Store};
use crate::tables::*;

/// Largest party the phone bot books; larger ones become callback requests.
pub const MAX_PARTY: u8 = 20;

/// A booking as the dialog engine or the API hands it over.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// Business (tenant) id.
    pub business_id: String,
    /// Call that made the booking.
    pub call_id: Option<u64>,
    /// Name the caller gave.
    pub customer_name: Option<String>,
    /// Caller's number (stored only encrypted + hashed).
    pub phone: Option<PhoneNumber>,
    /// Covers, 1–20.
    pub party_size: u8,
    /// Business-local date.
    pub date: NaiveDate,
    /// Business-local time.
    pub time: TimeOfDay,
    /// Conversation language.
    pub language: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Caller agreed to a WhatsApp confirmation.
    pub whatsapp_consent: bool,
    /// How to word the confirmation; `None` when WhatsApp is not configured for the business.
    pub followup: Option<FollowupSpec>,
}

/// Template details for the WhatsApp confirmation, from business config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowupSpec {
    /// Approved template name.
    pub template: String,
    /// Template language code.
    pub language: String,
    /// Restaurant display name.
    pub restaurant_name: String,
    /// Attempts before the send job is dead-lettered.
    pub max_attempts: u32,
}

/// What a successful booking wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Booked {
    /// The reservation.
    pub reservation: Reservation,
    /// The confirmation, when the caller consented and WhatsApp is configured.
    pub followup: Option<WhatsappFollowup>,
    /// Id of the job that will send it.
    pub followup_job_id: Option<u64>,
}

/// What [`Store::queue_followup`] left in place: the reservation's one WhatsApp confirmation
/// and the job that sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowupQueued {
    /// The confirmation (new, or the one queued earlier for this reservation).
    pub followup: WhatsappFollowup,
    /// Id of the job that sends it.
    pub job_id: u64,
    /// Whether this call wrote it (false: it was already queued, nothing new was written).
    pub created: bool,
}

/// A change to a reservation; `None` fields stay as they are. Same rules as a phone booking:
/// capacity is re-checked (excluding the reservation itself) whenever the result is confirmed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReservationChange {
    /// New covers.
    pub party_size: Option<u8>,
    /// New date.
    pub date: Option<NaiveDate>,
    /// New time.
    pub time: Option<TimeOfDay>,
    /// New status.
    pub status: Option<ReservationStatus>,
    /// Replace the notes.
    pub notes: Option<String>,
    /// Replace the customer name.
    pub customer_name: Option<String>,
    /// Give or withdraw WhatsApp consent; a pending confirmation is skipped once withdrawn.
    pub whatsapp_consent: Option<bool>,
}

/// Filters for [`Store::list_reservations`]; all optional and combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReservationFilter {
    /// Only this business (uses the business+date index).
    pub business_id: Option<String>,
    /// Reservation date ≥ this.
    pub date_from: Option<NaiveDate>,
    /// Reservation date ≤ this.
    pub date_to: Option<NaiveDate>,
    /// Only this status.
    pub status: Option<ReservationStatus>,
    /// Only this caller.
    pub phone_hash: Option<PhoneHash>,
}

impl Store {
    /// Books a table in one write transaction: re-checks capacity against every confirmed
    /// reservation whose hold overlaps, then writes the reservation, its indexes, the daily
    /// aggregates and — only if the caller consented — the WhatsApp follow-up and its job.
    ///
    /// Returns [`BookingError::Full`] when the covers are not free.
    pub fn book(
        &self,
        req: &BookingRequest,
        rule: &CapacityRule,
        now: DateTime<Utc>,
    ) -> Result<Booked, BookingError> {
        validate_booking(req, rule)?;
        // Crypto outside the transaction keeps the serialised section short.
        let crypto = self.crypto();
        let phone = req
            .phone
            .as_ref()
            .map(|p| (crypto.hash(p), crypto.encrypt(p)));

        let txn = self.db.begin_write()?;
        check_capacity(
            &txn,
            &req.business_id,
            req.date,
            req.time,
            req.party_size,
            rule,
            None,
        )?;
        let id = next_id(&txn, "reservation")?;
        let reservation = reservation_record(id, req, phone.as_ref(), now);
        put_json(&mut txn.open_table(RESERVATIONS)?, id, &reservation)?;
        index_insert(&txn, &reservation)?;
        crate::aggregates::reservation_changed(&txn, None, &reservation)?;

        let (followup, followup_job_id) = match wants_followup(req, phone.as_ref()) {
            Some(spec) => {
                let (f, job) = write_followup(&txn, &reservation, spec, now)?;
                (Some(f), Some(job))
            }
            None => (None, None),
        };
        txn.commit()?;
        tracing::info!(
            reservation_id = id,
            business = %req.business_id,
            party_size = req.party_size,
            followup = followup.is_some(),
            "Reservation booked."
        );
        Ok(Booked {
            reservation,
            followup,
            followup_job_id,
        })
    }

    /// Records the caller's WhatsApp consent for a booking made earlier and queues its
    /// confirmation, in one write transaction: the consent, the follow-up row and the job that
    /// sends it commit together or not at all.
    ///
    /// The shipped flows ask "shall I send the details on WhatsApp?" *after* `book`, so the
    /// consent usually arrives here rather than in [`BookingRequest::whatsapp_consent`].
    /// Idempotent: a reservation has at most one confirmation however often this is called
    /// (the job's idempotency key is the same as [`Store::book`]'s); a confirmation skipped
    /// because consent had been withdrawn is re-armed, since the caller has now said yes.
    ///
    /// Refused when the reservation does not exist, is not confirmed, or has no caller number.
    pub fn queue_followup(
        &self,
        reservation_id: u64,
        spec: &FollowupSpec,
        now: DateTime<Utc>,
    ) -> Result<FollowupQueued, BookingError> {
        let txn = self.db.begin_write()?;
        let mut r: Reservation = load_reservation(&txn, reservation_id)?
            .ok_or(BookingError::NotFound(reservation_id))?;
        if consent_to_followup(&mut r, now)? {
            put_json(&mut txn.open_table(RESERVATIONS)?, r.id, &r)?;
        }
        let key = followup_key(&r);
        let existing = txn
            .open_table(JOBS_BY_KEY)?
            .get(key.as_str())?
            .map(|v| v.value());
        let queued = match existing {
            Some(job_id) => {
                let job: crate::model::Job = get_json(&txn.open_table(JOBS)?, "jobs", job_id)?
                    .ok_or_else(|| StoreError::not_found("job", job_id))?;
                let followup_id = job
                    .payload
                    .get("followup_id")
                    .and_then(serde_json::Value::as_u64)
                    .ok_or_else(|| {
                        StoreError::invalid("job", format!("job {job_id} has no followup_id"))
                    })?;
                let mut followup: WhatsappFollowup = get_json(
                    &txn.open_table(FOLLOWUPS)?,
                    "whatsapp_followups",
                    followup_id,
                )?
                .ok_or_else(|| StoreError::not_found("whatsapp followup", followup_id))?;
                if followup.status == FollowupStatus::Skipped {
                    followup.status = FollowupStatus::Pending;
                    followup.updated_at = now;
                    put_json(&mut txn.open_table(FOLLOWUPS)?, followup.id, &followup)?;
                    crate::jobs::rearm_in(&txn, job_id, now)?;
                }
                FollowupQueued {
                    followup,
                    job_id,
                    created: false,
                }
            }
            None => {
                let (followup, job_id) = write_followup(&txn, &r, spec, now)?;
                FollowupQueued {
                    followup,
                    job_id,
                    created: true,
                }
            }
        };
        txn.commit()?;
        tracing::info!(
            reservation_id,
            followup_id = queued.followup.id,
            created = queued.created,
            "WhatsApp confirmation queued after the booking."
        );
        Ok(queued)
    }

    /// Changes party size, date/time, status, notes or name with the same capacity rule as a
    /// phone booking (excluding the reservation's own covers). The daily `reservations` and
    /// `covers` counters move with it in the same transaction (a cancellation takes the booking
    /// off its date's counters, a new date moves it, see [`crate::aggregates`]).
    pub fn modify_reservation(
        &self,
        id: u64,
        change: &ReservationChange,
        rule: &CapacityRule,
        now: DateTime<Utc>,
    ) -> Result<Reservation, BookingError> {
        validate_change(change, rule)?;
        let txn = self.db.begin_write()?;
        let old: Reservation = get_json(&txn.open_table(RESERVATIONS)?, "reservations", id)?
            .ok_or(BookingError::NotFound(id))?;
        let new = apply_change(&old, change, now)?;
        if holds_more(&old, &new) {
            check_capacity(
                &txn,
                &new.business_id,
                new.reservation_date,
                new.reservation_time,
                new.party_size,
                rule,
                Some(id),
            )?;
        }
        index_remove(&txn, &old)?;
        index_insert(&txn, &new)?;
        put_json(&mut txn.open_table(RESERVATIONS)?, id, &new)?;
        crate::aggregates::reservation_changed(&txn, Some(&old), &new)?;
        txn.commit()?;
        tracing::info!(reservation_id = id, status = %new.status, "Reservation changed.");
        Ok(new)
    }

    /// Cancels a reservation, releasing its covers. Cancelling twice is not an error.
    pub fn cancel_reservation(
        &self,
        id: u64,
        now: DateTime<Utc>,
    ) -> Result<Reservation, BookingError> {
        let (change, rule) = cancellation();
        self.modify_reservation(id, &change, &rule, now)
    }

    /// One reservation.
    pub fn get_reservation(&self, id: u64) -> Result<Option<Reservation>, StoreError> {
        let txn = self.db.begin_read()?;
        get_json(&txn.open_table(RESERVATIONS)?, "reservations", id)
    }

    /// A caller's reservations on a date (any status), via the phone-hash index.
    pub fn find_reservations_by_phone(
        &self,
        phone_hash: &PhoneHash,
        date: NaiveDate,
    ) -> Result<Vec<Reservation>, StoreError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_multimap_table(RES_BY_PHONE)?;
        let rows = txn.open_table(RESERVATIONS)?;
        let day = date.to_string();
        let mut out = Vec::new();
        for id in index.get((phone_hash.as_str(), day.as_str()))? {
            let id = id?.value();
            if let Some(r) = get_json::<Reservation>(&rows, "reservations", id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Filtered, paginated reservations in id order. With a business id the business+date
    /// index narrows the scan; without one the whole table is scanned.
    pub fn list_reservations(
        &self,
        filter: &ReservationFilter,
        page: &PageRequest,
    ) -> Result<Page<Reservation>, StoreError> {
        let txn = self.db.begin_read()?;
        let rows = txn.open_table(RESERVATIONS)?;
        let keep = |r: &Reservation| filter.keeps(r);
        let mut found = Vec::new();
        if let Some(business) = &filter.business_id {
            let index = txn.open_multimap_table(RES_BY_DATE)?;
            let from = filter.date_from.map(|d| d.to_string()).unwrap_or_default();
            let to = filter
                .date_to
                .map(|d| d.to_string())
                .unwrap_or_else(|| "9999-99-99".into());
            if from <= to {
                for entry in index
                    .range((business.as_str(), from.as_str())..=(business.as_str(), to.as_str()))?
                {
                    let (_, ids) = entry?;
                    for id in ids {
                        let id = id?.value();
                        if page.after.is_some_and(|a| id <= a) {
                            continue;
                        }
                        if let Some(r) = get_json::<Reservation>(&rows, "reservations", id)?
                            && keep(&r)
                        {
                            found.push((id, r));
                        }
                    }
                }
            }
        } else {
            let start = page.after.map_or(0, |a| a.saturating_add(1));
            for row in rows.range(start..)? {
                let (id, bytes) = row?;
                let r: Reservation = decode("reservations", id.value(), bytes.value())?;
                if keep(&r) {
                    found.push((id.value(), r));
                    if found.len() > page.clamped_limit() {
                        break;
                    }
                }
            }
        }
        Ok(page.paginate(found))
    }

    /// Free covers for each start time of `grid` on `date`: what the dialog engine offers when
    /// the wished time is full (see [`crate::nearest_free`]).
    pub fn availability(
        &self,
        business_id: &str,
        date: NaiveDate,
        rule: &CapacityRule,
        grid: &SlotGrid,
    ) -> Result<Vec<SlotAvailability>, StoreError> {
        rule.validate()
            .map_err(|p| StoreError::invalid("hold_minutes", p))?;
        let txn = self.db.begin_read()?;
        let index = txn.open_multimap_table(RES_BY_DATE)?;
        let rows = txn.open_table(RESERVATIONS)?;
        let holds = confirmed_holds(&index, &rows, business_id, date, None)?;
        Ok(grid
            .times()
            .into_iter()
            .map(|time| SlotAvailability {
                time,
                free_covers: rule.free_at(&holds, absolute_minute(date, time)),
            })
            .collect())
    }
}

fn transition_allowed(from: ReservationStatus, to: ReservationStatus) -> bool {
    use ReservationStatus::*;
    from == to
        || matches!(
            (from, to),
            (Confirmed, _) | (Cancelled, Confirmed) | (Completed, NoShow) | (NoShow, Completed)
        )
}

/// Confirmed holds on the day before, the day and the day after (holds may cross midnight).
fn confirmed_holds(
    index: &impl ReadableMultimapTable<(&'static str, &'static str), u64>,
    rows: &impl ReadableTable<u64, &'static [u8]>,
    business: &str,
    date: NaiveDate,
    exclude: Option<u64>,
) -> Result<Vec<Hold>, StoreError> {
    let mut holds = Vec::new();
    for day in hold_days(date) {
        let key = day.to_string();
        for id in index.get((business, key.as_str()))? {
            let id = id?.value();
            if Some(id) == exclude {
                continue;
            }
            if let Some(hold) = get_json::<Reservation>(rows, "reservations", id)?
                .as_ref()
                .and_then(hold_of)
            {
                holds.push(hold);
            }
        }
    }
    Ok(holds)
}

fn check_capacity(
    txn: &WriteTransaction,
    business: &str,
    date: NaiveDate,
    time: TimeOfDay,
    party_size: u8,
    rule: &CapacityRule,
    exclude: Option<u64>,
) -> Result<(), BookingError> {
    let index = txn.open_multimap_table(RES_BY_DATE)?;
    let rows = txn.open_table(RESERVATIONS)?;
    let holds = confirmed_holds(&index, &rows, business, date, exclude)?;
    fits(&holds, date, time, party_size, rule)
}

/// The capacity rule itself, shared by every backend: `party_size` more covers fit at
/// `date`/`time` given the confirmed `holds` around it, or [`BookingError::Full`].
pub(crate) fn fits(
    holds: &[Hold],
    date: NaiveDate,
    time: TimeOfDay,
    party_size: u8,
    rule: &CapacityRule,
) -> Result<(), BookingError> {
    let free = rule.free_at(holds, absolute_minute(date, time));
    if u32::from(party_size) > free {
        return Err(BookingError::Full {
            party_size,
            date,
            time,
            free_covers: free,
            capacity: rule.capacity_covers,
            hold_minutes: rule.hold_minutes,
        });
    }
    Ok(())
}

/// The days whose confirmed bookings can overlap a hold starting on `date` (holds may cross
/// midnight): the day before, the day and the day after.
pub(crate) fn hold_days(date: NaiveDate) -> Vec<NaiveDate> {
    [
        date.checked_sub_days(Days::new(1)),
        Some(date),
        date.checked_add_days(Days::new(1)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The hold a confirmed reservation takes.
pub(crate) fn hold_of(r: &Reservation) -> Option<Hold> {
    (r.status == ReservationStatus::Confirmed).then(|| Hold {
        start: absolute_minute(r.reservation_date, r.reservation_time),
        covers: u32::from(r.party_size),
    })
}

pub(crate) fn index_insert(txn: &WriteTransaction, r: &Reservation) -> Result<(), StoreError> {
    let day = r.reservation_date.to_string();
    txn.open_multimap_table(RES_BY_DATE)?
        .insert((r.business_id.as_str(), day.as_str()), r.id)?;
    if let Some(h) = &r.phone_hash {
        txn.open_multimap_table(RES_BY_PHONE)?
            .insert((h.as_str(), day.as_str()), r.id)?;
    }
    Ok(())
}

pub(crate) fn index_remove(txn: &WriteTransaction, r: &Reservation) -> Result<(), StoreError> {
    let day = r.reservation_date.to_string();
    txn.open_multimap_table(RES_BY_DATE)?
        .remove((r.business_id.as_str(), day.as_str()), r.id)?;
    if let Some(h) = &r.phone_hash {
        txn.open_multimap_table(RES_BY_PHONE)?
            .remove((h.as_str(), day.as_str()), r.id)?;
    }
    Ok(())
}

/// The idempotency key of a reservation's WhatsApp confirmation (its job and the webhook's
/// `Idempotency-Key`): one per reservation.
pub(crate) fn followup_key(r: &Reservation) -> String {
    format!("wa-confirm:{}:{}", r.business_id, r.id)
}

fn write_followup(
    txn: &WriteTransaction,
    r: &Reservation,
    spec: &FollowupSpec,
    now: DateTime<Utc>,
) -> Result<(WhatsappFollowup, u64), StoreError> {
    let id = next_id(txn, "whatsapp_followup")?;
    let followup = followup_record(id, r, spec, now);
    put_json(&mut txn.open_table(FOLLOWUPS)?, id, &followup)?;
    let job = enqueue_in(txn, &followup_job(&followup, spec, now), now)?;
    Ok((followup, job.id))
}

/// A new, pending WhatsApp confirmation of `r`.
pub(crate) fn followup_record(
    id: u64,
    r: &Reservation,
    spec: &FollowupSpec,
    now: DateTime<Utc>,
) -> WhatsappFollowup {
    WhatsappFollowup {
        id,
        reservation_id: r.id,
        business_id: r.business_id.clone(),
        template: spec.template.clone(),
        language: spec.language.clone(),
        restaurant_name: spec.restaurant_name.clone(),
        idempotency_key: followup_key(r),
        status: FollowupStatus::Pending,
        attempts: 0,
        last_error: None,
        provider_message_id: None,
        sent_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// The job that sends `followup`; its idempotency key is the confirmation's.
pub(crate) fn followup_job(
    followup: &WhatsappFollowup,
    spec: &FollowupSpec,
    now: DateTime<Utc>,
) -> NewJob {
    NewJob {
        kind: crate::WHATSAPP_FOLLOWUP_KIND.to_owned(),
        payload: serde_json::json!({ "followup_id": followup.id }),
        idempotency_key: followup.idempotency_key.clone(),
        max_attempts: spec.max_attempts.max(1),
        due_at: now,
    }
}

/// The follow-up spec when this booking gets a confirmation: WhatsApp is configured, the
/// caller consented and left a number.
pub(crate) fn wants_followup<'a, P>(
    req: &'a BookingRequest,
    phone: Option<&P>,
) -> Option<&'a FollowupSpec> {
    match (&req.followup, req.whatsapp_consent, phone) {
        (Some(spec), true, Some(_)) => Some(spec),
        _ => None,
    }
}

/// Every check of a booking request that needs no database.
pub(crate) fn validate_booking(
    req: &BookingRequest,
    rule: &CapacityRule,
) -> Result<(), BookingError> {
    validate_business(&req.business_id)?;
    validate_party(req.party_size)?;
    validate_rule(rule)?;
    validate_text("notes", req.notes.as_deref(), 1000)?;
    validate_text("customer_name", req.customer_name.as_deref(), 120)
}

/// Every check of a reservation change that needs no database.
pub(crate) fn validate_change(
    change: &ReservationChange,
    rule: &CapacityRule,
) -> Result<(), BookingError> {
    if let Some(p) = change.party_size {
        validate_party(p)?;
    }
    validate_text("notes", change.notes.as_deref(), 1000)?;
    validate_text("customer_name", change.customer_name.as_deref(), 120)?;
    validate_rule(rule)
}

fn validate_rule(rule: &CapacityRule) -> Result<(), BookingError> {
    rule.validate().map_err(|problem| BookingError::Invalid {
        field: "hold_minutes",
        problem,
    })
}

/// The reservation a booking writes: confirmed, phone stored only as hash + ciphertext.
pub(crate) fn reservation_record(
    id: u64,
    req: &BookingRequest,
    phone: Option<&(PhoneHash, EncryptedPhone)>,
    now: DateTime<Utc>,
) -> Reservation {
    Reservation {
        id,
        business_id: req.business_id.clone(),
        call_id: req.call_id,
        customer_name: req.customer_name.clone(),
        phone_hash: phone.map(|(h, _)| h.clone()),
        phone_encrypted: phone.map(|(_, e)| e.clone()),
        party_size: req.party_size,
        reservation_date: req.date,
        reservation_time: req.time,
        status: ReservationStatus::Confirmed,
        whatsapp_sent: false,
        whatsapp_consent: req.whatsapp_consent,
        language: req.language.clone(),
        notes: req.notes.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// Checks that `r` can get a WhatsApp confirmation after the booking and records the
/// consent; true when `r` changed and must be written back.
pub(crate) fn consent_to_followup(
    r: &mut Reservation,
    now: DateTime<Utc>,
) -> Result<bool, BookingError> {
    let reservation_id = r.id;
    if r.status != ReservationStatus::Confirmed {
        return Err(BookingError::Invalid {
            field: "status",
            problem: format!(
                "reservation {reservation_id} is {}; only a confirmed reservation gets a WhatsApp confirmation",
                r.status
            ),
        });
    }
    if r.phone_encrypted.is_none() {
        return Err(BookingError::Invalid {
            field: "phone",
            problem: format!(
                "reservation {reservation_id} has no caller number to send a WhatsApp confirmation to"
            ),
        });
    }
    if r.whatsapp_consent {
        return Ok(false);
    }
    r.whatsapp_consent = true;
    r.updated_at = now;
    Ok(true)
}

/// `old` with `change` applied (status transition checked), stamped `now`.
pub(crate) fn apply_change(
    old: &Reservation,
    change: &ReservationChange,
    now: DateTime<Utc>,
) -> Result<Reservation, BookingError> {
    let mut new = old.clone();
    if let Some(to) = change.status {
        if !transition_allowed(old.status, to) {
            return Err(BookingError::BadTransition {
                id: old.id,
                from: old.status,
                to,
            });
        }
        new.status = to;
    }
    new.party_size = change.party_size.unwrap_or(old.party_size);
    new.reservation_date = change.date.unwrap_or(old.reservation_date);
    new.reservation_time = change.time.unwrap_or(old.reservation_time);
    if change.notes.is_some() {
        new.notes.clone_from(&change.notes);
    }
    if change.customer_name.is_some() {
        new.customer_name.clone_from(&change.customer_name);
    }
    if let Some(consent) = change.whatsapp_consent {
        new.whatsapp_consent = consent;
    }
    new.updated_at = now;
    Ok(new)
}

/// Whether going from `old` to `new` takes covers the old reservation did not hold, so
/// capacity must be checked again.
pub(crate) fn holds_more(old: &Reservation, new: &Reservation) -> bool {
    new.status == ReservationStatus::Confirmed
        && (old.status != ReservationStatus::Confirmed
            || new.party_size > old.party_size
            || new.reservation_date != old.reservation_date
            || new.reservation_time != old.reservation_time)
}

/// The change and rule a cancellation is: cancelling never needs capacity, so any valid rule
/// does.
pub(crate) fn cancellation() -> (ReservationChange, CapacityRule) {
    (
        ReservationChange {
            status: Some(ReservationStatus::Cancelled),
            ..ReservationChange::default()
        },
        CapacityRule {
            capacity_covers: 0,
            hold_minutes: 1,
        },
    )
}

impl ReservationFilter {
    /// Whether `r` passes every filter.
    pub(crate) fn keeps(&self, r: &Reservation) -> bool {
        self.business_id
            .as_ref()
            .is_none_or(|b| *b == r.business_id)
            && self.date_from.is_none_or(|d| r.reservation_date >= d)
            && self.date_to.is_none_or(|d| r.reservation_date <= d)
            && self.status.is_none_or(|s| r.status == s)
            && self
                .phone_hash
                .as_ref()
                .is_none_or(|h| r.phone_hash.as_ref() == Some(h))
    }
}

fn validate_business(id: &str) -> Result<(), BookingError> {
    if id.is_empty() || id.len() > 64 {
        return Err(BookingError::Invalid {
            field: "business_id",
            problem: format!("must be 1-64 characters (got {})", id.len()),
        });
    }
    Ok(())
}

fn validate_party(size: u8) -> Result<(), BookingError> {
    if !(1..=MAX_PARTY).contains(&size) {
        return Err(BookingError::Invalid {
            field: "party_size",
            problem: format!(
                "{size} is outside 1-{MAX_PARTY}; larger parties need a manager callback"
            ),
        });
    }
    Ok(())
}

fn validate_text(field: &'static str, text: Option<&str>, max: usize) -> Result<(), BookingError> {
    match text {
        Some(t) if t.chars().count() > max => Err(BookingError::Invalid {
            field,
            problem: format!("longer than {max} characters"),
        }),
        _ => Ok(()),
    }
}

/// Reads a stored reservation inside a write transaction (follow-up handler, rotation).
pub(crate) fn load_reservation(
    txn: &WriteTransaction,
    id: u64,
) -> Result<Option<Reservation>, StoreError> {
    get_json(&txn.open_table(RESERVATIONS)?, "reservations", id)
}
