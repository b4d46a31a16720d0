//! The edge between the pure dialog engine and storage: [`StoreTools`] executes the engine's
//! tool calls (availability, booking, look-ups, changes, callbacks, WhatsApp confirmations)
//! against the real redb store, with the business's live capacity rule.
//!
//! Phone calls, the text chat and every dialogue test use this one executor: tests through
//! [`StoreWorld`], which runs it over a temporary store, so a dialogue that passes proves what
//! a call would really leave in storage.
//!
//! Everything here is synchronous (the store blocks on fsync); async callers run a whole turn
//! inside `spawn_blocking`.

#![deny(missing_docs)]

mod world;

pub use world::{StoreWorld, WorldError, dialogue_world};

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, NaiveTime, Timelike, Utc};
use vartalaap_config::BusinessSnapshot;
use vartalaap_core::{ReservationSummary, ToolCall, ToolExecutor, ToolKind, ToolResult};
use vartalaap_store::{
    BookingError, BookingRequest, CallbackReason, CapacityRule, FollowupSpec, NewCallback,
    PhoneNumber, ReservationChange, ReservationStatus, SlotGrid, Store, TimeOfDay, nearest_free,
};

/// How many alternative times to offer when the wished time is full.
const ALTERNATIVES: usize = 3;

/// The capacity rule of a business, as the store applies it.
pub fn capacity_rule(snapshot: &BusinessSnapshot) -> CapacityRule {
    let policy = &snapshot.business.reservations;
    CapacityRule {
        capacity_covers: policy.capacity,
        hold_minutes: policy.hold_minutes,
    }
}

/// The WhatsApp confirmation settings of a business, when it sends them.
pub fn followup_spec(snapshot: &BusinessSnapshot, language: &str) -> Option<FollowupSpec> {
    let business = &snapshot.business;
    let template = business.whatsapp.template.clone()?;
    business.whatsapp.enabled.then(|| FollowupSpec {
        template,
        language: language.to_string(),
        restaurant_name: business.name.en.clone(),
        max_attempts: 8,
    })
}

/// Executes tool calls for one conversation.
pub struct StoreTools {
    /// The store bookings go to.
    pub store: Arc<Store>,
    /// The business the conversation runs with.
    pub snapshot: Arc<BusinessSnapshot>,
    /// The caller's number, when known (phone calls, or the chat API's `caller`).
    pub caller: Option<PhoneNumber>,
    /// The call log id, for linking reservations to their call.
    pub call_id: Option<u64>,
    /// Turns a business-local time into the instant stored as `created_at`.
    pub now_utc: fn(&BusinessSnapshot, NaiveDateTime) -> DateTime<Utc>,
    /// Ids of reservations booked in this conversation (for follow-ups and the API reply).
    pub booked: Vec<u64>,
}

/// Business-local wall time → UTC instant (the earlier instant on a DST overlap).
pub fn local_to_utc(snapshot: &BusinessSnapshot, local: NaiveDateTime) -> DateTime<Utc> {
    use chrono::TimeZone;
    snapshot
        .business
        .timezone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| local.and_utc())
}

fn time_of_day(t: NaiveTime) -> TimeOfDay {
    // Hours and minutes of a NaiveTime are always in range.
    TimeOfDay::from_hm(t.hour() as u16, t.minute() as u16)
        .unwrap_or_else(|| unreachable!("NaiveTime hours and minutes are in range"))
}

fn naive_time(t: TimeOfDay) -> NaiveTime {
    let m = u32::from(t.minutes());
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or_default()
}

fn parse_id(id: &str) -> Result<u64, ToolResult> {
    u64::from_str(id).map_err(|_| ToolResult::Failed {
        message: format!("reservation id {id:?} is not a number"),
    })
}

fn failed(e: impl std::fmt::Display) -> ToolResult {
    ToolResult::Failed {
        message: e.to_string(),
    }
}

impl StoreTools {
    /// Free alternatives on `date` near `time` for `party`, nearest first, within opening hours.
    fn alternatives(&self, date: chrono::NaiveDate, time: NaiveTime, party: u32) -> Vec<NaiveTime> {
        let business = &self.snapshot.business;
        let rule = capacity_rule(&self.snapshot);
        let step = u16::try_from(business.reservations.slot_minutes).unwrap_or(30);
        let mut found = Vec::new();
        for window in business.windows_on(date) {
            let grid = SlotGrid {
                first: time_of_day(window.open),
                last: time_of_day(window.last_seating),
                step_minutes: step.max(5),
            };
            match self.store.availability(&business.id, date, &rule, &grid) {
                Ok(slots) => found.extend(slots),
                Err(e) => tracing::warn!(error = %e, "Availability look-up failed."),
            }
        }
        nearest_free(&found, time_of_day(time), party, ALTERNATIVES)
            .into_iter()
            .map(naive_time)
            .collect()
    }

    fn summary(&self, r: &vartalaap_store::Reservation) -> ReservationSummary {
        ReservationSummary {
            id: r.id.to_string(),
            date: r.reservation_date,
            time: naive_time(r.reservation_time),
            party_size: u32::from(r.party_size),
            name: r.customer_name.clone().unwrap_or_default(),
        }
    }

    fn run(&mut self, now: NaiveDateTime, call: &ToolCall) -> Result<ToolResult, ToolResult> {
        let business_id = self.snapshot.business.id.clone();
        let rule = capacity_rule(&self.snapshot);
        let now_utc = (self.now_utc)(&self.snapshot, now);
        Ok(match &call.kind {
            ToolKind::CheckAvailability {
                date,
                time,
                party_size,
            } => {
                let grid = SlotGrid {
                    first: time_of_day(*time),
                    last: time_of_day(*time),
                    step_minutes: 30,
                };
                let slots = self
                    .store
                    .availability(&business_id, *date, &rule, &grid)
                    .map_err(failed)?;
                let free = slots.first().map_or(0, |s| s.free_covers);
                if free >= *party_size {
                    ToolResult::Available
                } else {
                    ToolResult::Full {
                        alternatives: self.alternatives(*date, *time, *party_size),
                    }
                }
            }
            ToolKind::Book {
                date,
                time,
                party_size,
                name,
                whatsapp_consent,
                notes,
            } => {
                let party = u8::try_from(*party_size).map_err(failed)?;
                let request = BookingRequest {
                    business_id,
                    call_id: self.call_id,
                    customer_name: Some(name.clone()).filter(|n| !n.is_empty()),
                    phone: self.caller.clone(),
                    party_size: party,
                    date: *date,
                    time: time_of_day(*time),
                    language: Some(call.language.code().to_string()),
                    notes: notes.clone(),
                    whatsapp_consent: *whatsapp_consent && self.caller.is_some(),
                    followup: followup_spec(&self.snapshot, call.language.code()),
                };
                match self.store.book(&request, &rule, now_utc) {
                    Ok(booked) => {
                        self.booked.push(booked.reservation.id);
                        ToolResult::Booked {
                            reservation_id: booked.reservation.id.to_string(),
                        }
                    }
                    Err(BookingError::Full { .. }) => ToolResult::Full {
                        alternatives: self.alternatives(*date, *time, *party_size),
                    },
                    Err(e) => return Err(failed(e)),
                }
            }
            ToolKind::FindReservations { date } => {
                let Some(phone) = &self.caller else {
                    return Ok(ToolResult::Found(Vec::new()));
                };
                let hash = self.store.crypto().hash(phone);
                let local_today = now.date();
                let dates: Vec<chrono::NaiveDate> = match date {
                    Some(d) => vec![*d],
                    None => (0..=self.snapshot.business.reservations.max_days_ahead)
                        .filter_map(|i| local_today.checked_add_days(chrono::Days::new(i.into())))
                        .collect(),
                };
                let mut found = Vec::new();
                for d in dates {
                    for r in self
                        .store
                        .find_reservations_by_phone(&hash, d)
                        .map_err(failed)?
                    {
                        if r.business_id == self.snapshot.business.id
                            && r.status == ReservationStatus::Confirmed
                        {
                            found.push(self.summary(&r));
                        }
                    }
                }
                ToolResult::Found(found)
            }
            ToolKind::Modify {
                reservation_id,
                party_size,
                date,
                time,
            } => {
                let id = parse_id(reservation_id)?;
                self.owned(id)?;
                let change = ReservationChange {
                    party_size: party_size.map(u8::try_from).transpose().map_err(failed)?,
                    date: *date,
                    time: time.map(time_of_day),
                    ..ReservationChange::default()
                };
                match self.store.modify_reservation(id, &change, &rule, now_utc) {
                    Ok(_) => ToolResult::Done,
                    Err(BookingError::Full {
                        date,
                        time,
                        party_size,
                        ..
                    }) => ToolResult::Full {
                        alternatives: self.alternatives(
                            date,
                            naive_time(time),
                            u32::from(party_size),
                        ),
                    },
                    Err(e) => return Err(failed(e)),
                }
            }
            ToolKind::Cancel { reservation_id } => {
                let id = parse_id(reservation_id)?;
                self.owned(id)?;
                self.store.cancel_reservation(id, now_utc).map_err(failed)?;
                ToolResult::Done
            }
            ToolKind::CreateCallback {
                name,
                date,
                time,
                party_size,
            } => {
                let callback = NewCallback {
                    business_id,
                    call_id: self.call_id,
                    customer_name: name.clone(),
                    phone: self.caller.clone(),
                    party_size: *party_size,
                    requested_date: *date,
                    requested_time: time.map(time_of_day),
                    reason: CallbackReason::LargeParty,
                    notes: None,
                };
                self.store
                    .create_callback(&callback, now_utc)
                    .map_err(failed)?;
                ToolResult::Done
            }
            ToolKind::SendFollowup { reservation_id } => {
                // The flows ask for consent after `book`: record it and queue the confirmation
                // now, in one transaction (a booking made with consent already queued it, and
                // asking again queues nothing new).
                let id = parse_id(reservation_id)?;
                self.owned(id)?;
                let spec = followup_spec(&self.snapshot, call.language.code())
                    .ok_or_else(|| failed("WhatsApp confirmations are off for this business"))?;
                self.store
                    .queue_followup(id, &spec, now_utc)
                    .map_err(failed)?;
                ToolResult::Done
            }
        })
    }

    /// Refuses to touch a reservation that is not this caller's (or this business's).
    fn owned(&self, id: u64) -> Result<(), ToolResult> {
        let r = self
            .store
            .get_reservation(id)
            .map_err(failed)?
            .ok_or_else(|| failed(format!("reservation {id} not found")))?;
        let same_caller = match (&self.caller, &r.phone_hash) {
            (Some(phone), Some(hash)) => self.store.crypto().hash(phone) == *hash,
            _ => self.booked.contains(&id),
        };
        if r.business_id != self.snapshot.business.id || !same_caller {
            return Err(failed(format!(
                "reservation {id} does not belong to this caller"
            )));
        }
        Ok(())
    }
}

impl ToolExecutor for StoreTools {
    fn execute(&mut self, now: NaiveDateTime, call: &ToolCall) -> ToolResult {
        match self.run(now, call) {
            Ok(result) | Err(result) => {
                if let ToolResult::Failed { message } = &result {
                    tracing::warn!(tool = call.kind.name(), %message, "Tool call failed.");
                }
                result
            }
        }
    }
}
