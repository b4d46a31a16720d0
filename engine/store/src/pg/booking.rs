//! Reservations on PostgreSQL: booking with the capacity re-check, changes, look-ups, and the
//! WhatsApp confirmation bookkeeping.
//!
//! **Capacity across nodes.** Before reading the confirmed bookings a hold can overlap, a
//! booking (or a change that takes more covers) takes a transaction-scoped advisory lock per
//! business and day for the day before, the day and the day after (holds cross midnight), in
//! date order so two bookings never wait on each other in a cycle. Bookings for the same
//! evening queue on the lock; different businesses and far-apart days never wait. Each
//! statement after the lock sees every booking committed before it (READ COMMITTED), so the
//! check and the insert are atomic across connections and nodes. We chose this over a
//! SERIALIZABLE transaction with retry: under the contention this protects (many callers
//! asking for the last tables of a Saturday night) serializable transactions abort and rerun
//! repeatedly, while the lock lets each wait its turn once (docs/STORAGE.md has the numbers).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use postgres::Transaction;

use super::{Fail, PgStore, decode, doc, get_doc, next_id, to_i64, to_u64};
use crate::booking::{
    Booked, BookingRequest, FollowupQueued, FollowupSpec, ReservationChange, ReservationFilter,
    apply_change, cancellation, consent_to_followup, fits, followup_job, followup_key,
    followup_record, hold_days, hold_of, holds_more, reservation_record, validate_booking,
    validate_change, wants_followup,
};
use crate::capacity::{CapacityRule, Hold, SlotAvailability, SlotGrid, absolute_minute};
use crate::crypto::PhoneHash;
use crate::error::{BookingError, StoreError};
use crate::handlers::{Plan, plan_for, record_outcome};
use crate::model::{FollowupStatus, Job, Reservation, TimeOfDay, WhatsappFollowup};
use crate::store::{Page, PageRequest};
use crate::whatsapp::SendReceipt;

impl PgStore {
    /// Books a table in one transaction (see the module docs for how capacity stays atomic
    /// across nodes); same rules and results as [`crate::Store::book`].
    pub fn book(
        &self,
        req: &BookingRequest,
        rule: &CapacityRule,
        now: DateTime<Utc>,
    ) -> Result<Booked, BookingError> {
        validate_booking(req, rule)?;
        let crypto = self.crypto();
        let phone = req
            .phone
            .as_ref()
            .map(|p| (crypto.hash(p), crypto.encrypt(p)));
        let booked = self.write(|tx| {
            lock_days(tx, &req.business_id, &hold_days(req.date))?;
            check_capacity(
                tx,
                &req.business_id,
                req.date,
                req.time,
                req.party_size,
                rule,
                None,
            )?;
            let id = next_id(tx, "reservations")?;
            let reservation = reservation_record(id, req, phone.as_ref(), now);
            insert_reservation(tx, &reservation)?;
            super::records::reservation_changed(tx, None, &reservation)?;
            let (followup, followup_job_id) = match wants_followup(req, phone.as_ref()) {
                Some(spec) => {
                    let (f, job) = write_followup(tx, &reservation, spec, now)?;
                    (Some(f), Some(job))
                }
                None => (None, None),
            };
            Ok(Booked {
                reservation,
                followup,
                followup_job_id,
            })
        })?;
        tracing::info!(
            reservation_id = booked.reservation.id,
            business = %req.business_id,
            party_size = req.party_size,
            followup = booked.followup.is_some(),
            "Reservation booked."
        );
        Ok(booked)
    }

    /// Records the caller's WhatsApp consent after the booking and queues its confirmation in
    /// one transaction; same rules as [`crate::Store::queue_followup`].
    pub fn queue_followup(
        &self,
        reservation_id: u64,
        spec: &FollowupSpec,
        now: DateTime<Utc>,
    ) -> Result<FollowupQueued, BookingError> {
        let queued = self.write(|tx| {
            let mut r: Reservation = get_doc(tx, "reservations", reservation_id, true)?
                .ok_or(Fail::Op(BookingError::NotFound(reservation_id)))?;
            if consent_to_followup(&mut r, now)? {
                update_reservation(tx, &r)?;
            }
            let key = followup_key(&r);
            let existing = tx.query_opt(
                "SELECT doc FROM jobs WHERE idempotency_key = $1 FOR UPDATE",
                &[&key],
            )?;
            match existing {
                Some(row) => {
                    let mut job: Job = decode("jobs", &key, row.get(0))?;
                    let followup_id = job
                        .payload
                        .get("followup_id")
                        .and_then(serde_json::Value::as_u64)
                        .ok_or_else(|| {
                            StoreError::invalid(
                                "jobs",
                                format!("job {} has no followup_id", job.id),
                            )
                        })?;
                    let mut followup: WhatsappFollowup =
                        get_doc(tx, "whatsapp_followups", followup_id, true)?.ok_or_else(|| {
                            StoreError::not_found("whatsapp followup", followup_id)
                        })?;
                    if followup.status == FollowupStatus::Skipped {
                        followup.status = FollowupStatus::Pending;
                        followup.updated_at = now;
                        save_followup(tx, &followup)?;
                        if crate::jobs::rearm(&mut job, now) {
                            super::jobs::save_job(tx, &job)?;
                        }
                    }
                    Ok(FollowupQueued {
                        followup,
                        job_id: job.id,
                        created: false,
                    })
                }
                None => {
                    let (followup, job_id) = write_followup(tx, &r, spec, now)?;
                    Ok(FollowupQueued {
                        followup,
                        job_id,
                        created: true,
                    })
                }
            }
        })?;
        tracing::info!(
            reservation_id,
            followup_id = queued.followup.id,
            created = queued.created,
            "WhatsApp confirmation queued after the booking."
        );
        Ok(queued)
    }

    /// Changes a reservation with the same capacity rule as a booking; same rules as
    /// [`crate::Store::modify_reservation`].
    pub fn modify_reservation(
        &self,
        id: u64,
        change: &ReservationChange,
        rule: &CapacityRule,
        now: DateTime<Utc>,
    ) -> Result<Reservation, BookingError> {
        validate_change(change, rule)?;
        let new = self.write(|tx| {
            let old: Reservation = get_doc(tx, "reservations", id, true)?
                .ok_or(Fail::Op(BookingError::NotFound(id)))?;
            let new = apply_change(&old, change, now)?;
            if holds_more(&old, &new) {
                let mut days: BTreeSet<NaiveDate> =
                    hold_days(new.reservation_date).into_iter().collect();
                days.extend(hold_days(old.reservation_date));
                lock_days(tx, &new.business_id, &days.into_iter().collect::<Vec<_>>())?;
                check_capacity(
                    tx,
                    &new.business_id,
                    new.reservation_date,
                    new.reservation_time,
                    new.party_size,
                    rule,
                    Some(id),
                )?;
            }
            update_reservation(tx, &new)?;
            super::records::reservation_changed(tx, Some(&old), &new)?;
            Ok(new)
        })?;
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
        self.read(|tx| get_doc(tx, "reservations", id, false))
    }

    /// A caller's reservations on a date (any status).
    pub fn find_reservations_by_phone(
        &self,
        phone_hash: &PhoneHash,
        date: NaiveDate,
    ) -> Result<Vec<Reservation>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT id, doc FROM reservations WHERE phone_hash = $1 AND reservation_date = $2
                 ORDER BY id",
                &[&phone_hash.as_str(), &date],
            )?;
            rows.into_iter()
                .map(|row| Ok(decode("reservations", row.get::<_, i64>(0), row.get(1))?))
                .collect()
        })
    }

    /// Filtered, paginated reservations in id order.
    pub fn list_reservations(
        &self,
        filter: &ReservationFilter,
        page: &PageRequest,
    ) -> Result<Page<Reservation>, StoreError> {
        self.scan_page(
            "reservations",
            "business_id = $2",
            filter.business_id.as_deref(),
            page,
            |r: &Reservation| filter.keeps(r),
        )
    }

    /// Free covers for each start time of `grid` on `date`.
    pub fn availability(
        &self,
        business_id: &str,
        date: NaiveDate,
        rule: &CapacityRule,
        grid: &SlotGrid,
    ) -> Result<Vec<SlotAvailability>, StoreError> {
        rule.validate()
            .map_err(|p| StoreError::invalid("hold_minutes", p))?;
        let holds = self.read(|tx| confirmed_holds(tx, business_id, date, None))?;
        Ok(grid
            .times()
            .into_iter()
            .map(|time| SlotAvailability {
                time,
                free_covers: rule.free_at(&holds, absolute_minute(date, time)),
            })
            .collect())
    }

    /// One WhatsApp follow-up.
    pub fn get_followup(&self, id: u64) -> Result<Option<WhatsappFollowup>, StoreError> {
        self.read(|tx| get_doc(tx, "whatsapp_followups", id, false))
    }

    /// Every follow-up of a reservation.
    pub fn followups_for_reservation(
        &self,
        reservation_id: u64,
    ) -> Result<Vec<WhatsappFollowup>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT id, doc FROM whatsapp_followups WHERE reservation_id = $1 ORDER BY id",
                &[&to_i64(reservation_id)],
            )?;
            rows.into_iter()
                .map(|row| {
                    Ok(decode(
                        "whatsapp_followups",
                        row.get::<_, i64>(0),
                        row.get(1),
                    )?)
                })
                .collect()
        })
    }

    /// Decides what the follow-up job does (send, or skip when the booking changed); a skip is
    /// recorded. Same as the redb store's; the WhatsApp follow-up handler calls it.
    #[allow(private_interfaces)]
    pub fn plan_followup(&self, id: u64, now: DateTime<Utc>) -> Result<Plan, StoreError> {
        let crypto = self.crypto();
        self.write(|tx| {
            let mut f: WhatsappFollowup = get_doc(tx, "whatsapp_followups", id, true)?
                .ok_or_else(|| StoreError::not_found("whatsapp followup", id))?;
            if matches!(f.status, FollowupStatus::Sent | FollowupStatus::Skipped) {
                return Ok(Plan::Nothing);
            }
            let r: Reservation = get_doc(tx, "reservations", f.reservation_id, false)?
                .ok_or_else(|| StoreError::not_found("reservation", f.reservation_id))?;
            let plan = plan_for(&mut f, &r, &crypto, now)?;
            if matches!(plan, Plan::Nothing) {
                save_followup(tx, &f)?;
            }
            Ok(plan)
        })
    }

    /// Records a send attempt; a sent confirmation marks the reservation in the same
    /// transaction. The WhatsApp follow-up handler calls it.
    pub fn record_followup(
        &self,
        id: u64,
        outcome: Result<&SendReceipt, String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut f: WhatsappFollowup = get_doc(tx, "whatsapp_followups", id, true)?
                .ok_or_else(|| StoreError::not_found("whatsapp followup", id))?;
            if record_outcome(&mut f, outcome.clone(), now)
                && let Some(mut r) =
                    get_doc::<Reservation>(tx, "reservations", f.reservation_id, true)?
            {
                r.whatsapp_sent = true;
                r.updated_at = now;
                update_reservation(tx, &r)?;
            }
            save_followup(tx, &f)?;
            Ok(())
        })
    }
}

/// Takes the booking lock of each of `days` for `business` until the transaction ends.
fn lock_days(
    tx: &mut Transaction<'_>,
    business: &str,
    days: &[NaiveDate],
) -> Result<(), postgres::Error> {
    for day in days {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("booking:{business}:{day}")],
        )?;
    }
    Ok(())
}

/// Confirmed holds on the day before, the day and the day after.
fn confirmed_holds(
    tx: &mut Transaction<'_>,
    business: &str,
    date: NaiveDate,
    exclude: Option<u64>,
) -> Result<Vec<Hold>, Fail<StoreError>> {
    let days = hold_days(date);
    let rows = tx.query(
        "SELECT id, doc FROM reservations
         WHERE business_id = $1 AND reservation_date = ANY($2) AND status = 'confirmed'",
        &[&business, &days],
    )?;
    let mut holds = Vec::new();
    for row in rows {
        let id: i64 = row.get(0);
        if Some(to_u64(id)) == exclude {
            continue;
        }
        let r: Reservation = decode("reservations", id, row.get(1))?;
        holds.extend(hold_of(&r));
    }
    Ok(holds)
}

fn check_capacity(
    tx: &mut Transaction<'_>,
    business: &str,
    date: NaiveDate,
    time: TimeOfDay,
    party_size: u8,
    rule: &CapacityRule,
    exclude: Option<u64>,
) -> Result<(), Fail<BookingError>> {
    let holds = confirmed_holds(tx, business, date, exclude)?;
    fits(&holds, date, time, party_size, rule).map_err(Fail::Op)
}

fn insert_reservation(tx: &mut Transaction<'_>, r: &Reservation) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO reservations (id, business_id, reservation_date, status, phone_hash, call_id, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &to_i64(r.id),
            &r.business_id,
            &r.reservation_date,
            &r.status.as_str(),
            &r.phone_hash.as_ref().map(PhoneHash::as_str),
            &r.call_id.map(to_i64),
            &doc(r),
        ],
    )?;
    Ok(())
}

/// Writes a changed reservation back (its columns follow the document).
pub(crate) fn update_reservation(
    tx: &mut Transaction<'_>,
    r: &Reservation,
) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE reservations SET reservation_date = $2, status = $3, phone_hash = $4, doc = $5
         WHERE id = $1",
        &[
            &to_i64(r.id),
            &r.reservation_date,
            &r.status.as_str(),
            &r.phone_hash.as_ref().map(PhoneHash::as_str),
            &doc(r),
        ],
    )?;
    Ok(())
}

fn save_followup(tx: &mut Transaction<'_>, f: &WhatsappFollowup) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO whatsapp_followups (id, reservation_id, status, doc) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
        &[
            &to_i64(f.id),
            &to_i64(f.reservation_id),
            &f.status.as_str(),
            &doc(f),
        ],
    )?;
    Ok(())
}

fn write_followup(
    tx: &mut Transaction<'_>,
    r: &Reservation,
    spec: &FollowupSpec,
    now: DateTime<Utc>,
) -> Result<(WhatsappFollowup, u64), Fail<StoreError>> {
    let id = next_id(tx, "whatsapp_followups")?;
    let followup = followup_record(id, r, spec, now);
    save_followup(tx, &followup)?;
    let job = super::jobs::enqueue_in(tx, &followup_job(&followup, spec, now), now)?;
    Ok((followup, job.id))
}
