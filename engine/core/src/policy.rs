//! The business's reservation rules, decided before capacity.
//!
//! Capacity (how many covers overlap) is the store's job, asked through
//! [`ToolKind::CheckAvailability`](crate::ToolKind::CheckAvailability). Everything else about
//! whether a `(date, time, party)` can be booked is a pure function of the business file and
//! the conversation's local time, and lives here: opening windows and last seating (dated
//! exceptions replace a weekday's windows), the slot grid, minimum lead time, how far ahead,
//! party limits and the phone limit. When a request is refused the [`PolicyIssue`] says why
//! and [`nearest_times`] proposes valid slot times — always computed from the business data,
//! never invented.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;
use vartalaap_config::model::business::{Business, LargePartyHandling};

/// Why a request cannot be booked as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PolicyIssue {
    /// The date is before today.
    PastDate,
    /// The business is closed all day (weekly closing day or a dated exception).
    ClosedDay {
        /// The exception's note, when the closure is a dated exception.
        note: Option<String>,
    },
    /// Further ahead than the business books.
    TooFarAhead {
        /// The furthest bookable day, in days from today.
        max_days: u32,
    },
    /// Less than the minimum lead time from now. From [`check_date`] it means no slot is left
    /// that day at all.
    TooSoon {
        /// Minimum minutes between now and the booked time.
        min_lead_minutes: u32,
    },
    /// Not inside any opening window up to its last seating.
    OutsideHours,
    /// Inside a window but not on the slot grid (slots start every `slot_minutes`).
    NotOnSlot {
        /// Minutes between slot starts.
        slot_minutes: u32,
    },
    /// Fewer guests than the smallest party.
    PartyTooSmall {
        /// Smallest party.
        min: u32,
    },
    /// More guests than the business accepts at all.
    PartyTooLarge {
        /// Largest party.
        max: u32,
    },
    /// More guests than the bot books by phone; the manager handles it.
    LargeParty {
        /// Largest phone-bookable party.
        max_phone_party: u32,
        /// What the business does with such parties.
        callback: bool,
    },
}

impl PolicyIssue {
    /// Short reason code (`closed_day`), used for template names `policy_<reason>`.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyIssue::PastDate => "past_date",
            PolicyIssue::ClosedDay { .. } => "closed_day",
            PolicyIssue::TooFarAhead { .. } => "too_far",
            PolicyIssue::TooSoon { .. } => "too_soon",
            PolicyIssue::OutsideHours => "outside_hours",
            PolicyIssue::NotOnSlot { .. } => "not_on_slot",
            PolicyIssue::PartyTooSmall { .. } => "party_too_small",
            PolicyIssue::PartyTooLarge { .. } => "party_too_large",
            PolicyIssue::LargeParty { .. } => "large_party",
        }
    }

    /// Whether the problem is the date (ask for another day) rather than the time.
    pub fn is_about_date(&self) -> bool {
        matches!(
            self,
            PolicyIssue::PastDate | PolicyIssue::ClosedDay { .. } | PolicyIssue::TooFarAhead { .. }
        )
    }
}

/// Whether `date` can be booked at all, seen from `now`.
pub fn check_date(b: &Business, now: NaiveDateTime, date: NaiveDate) -> Result<(), PolicyIssue> {
    let today = now.date();
    if date < today {
        return Err(PolicyIssue::PastDate);
    }
    let max_days = b.reservations.max_days_ahead;
    if (date - today).num_days() > i64::from(max_days) {
        return Err(PolicyIssue::TooFarAhead { max_days });
    }
    if b.windows_on(date).is_empty() {
        return Err(PolicyIssue::ClosedDay {
            note: b.exceptions.get(&date).and_then(|e| e.note.clone()),
        });
    }
    if bookable_times(b, now, date).is_empty() {
        // Open that day, but every slot left is inside the lead time (late today).
        return Err(PolicyIssue::TooSoon {
            min_lead_minutes: b.reservations.min_lead_minutes,
        });
    }
    Ok(())
}

/// Whether `time` on `date` can be booked, seen from `now` (the date rules included).
pub fn check_time(
    b: &Business,
    now: NaiveDateTime,
    date: NaiveDate,
    time: NaiveTime,
) -> Result<(), PolicyIssue> {
    check_date(b, now, date)?;
    if !b
        .windows_on(date)
        .iter()
        .any(|w| time >= w.open && time <= w.last_seating)
    {
        return Err(PolicyIssue::OutsideHours);
    }
    if !slot_times(b, date).contains(&time) {
        return Err(PolicyIssue::NotOnSlot {
            slot_minutes: b.reservations.slot_minutes,
        });
    }
    if date.and_time(time) < earliest(b, now) {
        return Err(PolicyIssue::TooSoon {
            min_lead_minutes: b.reservations.min_lead_minutes,
        });
    }
    Ok(())
}

/// Whether a party of `size` can be booked by the bot.
pub fn check_party(b: &Business, size: u32) -> Result<(), PolicyIssue> {
    let r = &b.reservations;
    if size < r.party_min {
        return Err(PolicyIssue::PartyTooSmall { min: r.party_min });
    }
    if size > r.party_max {
        return Err(PolicyIssue::PartyTooLarge { max: r.party_max });
    }
    if size > r.max_phone_party {
        return Err(PolicyIssue::LargeParty {
            max_phone_party: r.max_phone_party,
            callback: r.large_party == LargePartyHandling::Callback,
        });
    }
    Ok(())
}

/// Every slot start on `date`: from each window's opening, every `slot_minutes`, up to and
/// including its last seating.
pub fn slot_times(b: &Business, date: NaiveDate) -> Vec<NaiveTime> {
    let step = i64::from(b.reservations.slot_minutes.max(1));
    let mut out = Vec::new();
    for w in b.windows_on(date) {
        let mut t = w.open;
        loop {
            if t > w.last_seating {
                break;
            }
            out.push(t);
            let (next, wrapped) = t.overflowing_add_signed(Duration::minutes(step));
            if wrapped != 0 || next <= t {
                break;
            }
            t = next;
        }
    }
    out
}

/// Slot starts on `date` that also respect the minimum lead time from `now`.
pub fn bookable_times(b: &Business, now: NaiveDateTime, date: NaiveDate) -> Vec<NaiveTime> {
    let first = earliest(b, now);
    slot_times(b, date)
        .into_iter()
        .filter(|t| date.and_time(*t) >= first)
        .collect()
}

/// Up to `n` bookable slot times on `date`, nearest to `wanted` first (earlier wins ties),
/// returned in clock order so they read naturally ("7:30 or 8:30").
pub fn nearest_times(
    b: &Business,
    now: NaiveDateTime,
    date: NaiveDate,
    wanted: NaiveTime,
    n: usize,
) -> Vec<NaiveTime> {
    let mut times = bookable_times(b, now, date);
    let dist = |t: &NaiveTime| (minutes(*t) - minutes(wanted)).abs();
    times.sort_by_key(|t| (dist(t), *t));
    times.truncate(n);
    times.sort();
    times
}

/// The earliest bookable moment: now plus the minimum lead time.
fn earliest(b: &Business, now: NaiveDateTime) -> NaiveDateTime {
    now + Duration::minutes(i64::from(b.reservations.min_lead_minutes))
}

fn minutes(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}
