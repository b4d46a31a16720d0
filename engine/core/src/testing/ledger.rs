//! An in-memory reservation book that applies the business's capacity rule, so dialogues
//! can prove "full at that time → nearest free times" without a database.
//!
//! Rule (the same as the store's): a booking at `t` holds its covers during
//! `[t, t + hold_minutes)`; at no moment may the covers of overlapping holds exceed
//! `capacity`.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use vartalaap_config::BusinessSnapshot;

use crate::io::{ReservationSummary, ToolCall, ToolKind, ToolResult};
use crate::policy;
use crate::tools::ToolExecutor;

/// A reservation in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerReservation {
    /// Id (assigned when booked in the call).
    #[serde(default)]
    pub id: Option<String>,
    /// Local date.
    pub date: NaiveDate,
    /// Local time "HH:MM".
    #[serde(with = "hhmm")]
    pub time: NaiveTime,
    /// Guests.
    pub party_size: u32,
    /// Name.
    pub name: String,
    /// Whether it belongs to another caller (not found by this caller's phone).
    #[serde(default)]
    pub other_caller: bool,
    /// Notes for staff (a `book` step's `notes` template). In `expect.reservations` a
    /// reservation without `notes` matches any notes; with `notes` they must be equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A callback request in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerCallback {
    /// Name.
    pub name: Option<String>,
    /// Date.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// Time "HH:MM".
    #[serde(default, with = "opt_hhmm")]
    pub time: Option<NaiveTime>,
    /// Guests.
    #[serde(default)]
    pub party_size: Option<u32>,
}

/// The in-memory tool executor.
#[derive(Debug, Clone)]
pub struct Ledger {
    snap: Arc<BusinessSnapshot>,
    /// Active reservations.
    pub reservations: Vec<LedgerReservation>,
    /// Callback requests.
    pub callbacks: Vec<LedgerCallback>,
    /// Follow-ups sent (reservation ids).
    pub followups: Vec<String>,
    /// Tool names that fail (for failure-path dialogues).
    pub failing: Vec<String>,
    next_id: u32,
}

impl Ledger {
    /// A ledger with `existing` reservations.
    pub fn new(snap: Arc<BusinessSnapshot>, existing: Vec<LedgerReservation>) -> Ledger {
        let mut l = Ledger {
            snap,
            reservations: Vec::new(),
            callbacks: Vec::new(),
            followups: Vec::new(),
            failing: Vec::new(),
            next_id: 1,
        };
        for mut r in existing {
            if r.id.is_none() {
                r.id = Some(l.new_id());
            }
            l.reservations.push(r);
        }
        l
    }

    fn new_id(&mut self) -> String {
        let id = format!("R{}", self.next_id);
        self.next_id += 1;
        id
    }

    /// Whether `party` more covers fit at `date time`, ignoring reservation `except`.
    pub fn fits(&self, date: NaiveDate, time: NaiveTime, party: u32, except: Option<&str>) -> bool {
        let r = &self.snap.business.reservations;
        let hold = Duration::minutes(i64::from(r.hold_minutes));
        let start = date.and_time(time);
        let others: Vec<(NaiveDateTime, u32)> = self
            .reservations
            .iter()
            .filter(|x| except.is_none() || x.id.as_deref() != except)
            .map(|x| (x.date.and_time(x.time), x.party_size))
            .collect();
        // The load can only peak at the start of a hold; check every start inside ours.
        let points = std::iter::once(start).chain(
            others
                .iter()
                .map(|(s, _)| *s)
                .filter(|s| *s > start && *s < start + hold),
        );
        points.into_iter().all(|p| {
            let load: u32 = others
                .iter()
                .filter(|(s, _)| *s <= p && p < *s + hold)
                .map(|(_, n)| n)
                .sum();
            load + party <= r.capacity
        })
    }

    fn alternatives(
        &self,
        now: NaiveDateTime,
        date: NaiveDate,
        time: NaiveTime,
        party: u32,
        except: Option<&str>,
    ) -> Vec<NaiveTime> {
        let all = policy::nearest_times(&self.snap.business, now, date, time, usize::MAX);
        let mut free: Vec<NaiveTime> = all
            .into_iter()
            .filter(|t| *t != time && self.fits(date, *t, party, except))
            .collect();
        let key = |t: &NaiveTime| ((*t - time).num_minutes().abs(), *t);
        free.sort_by_key(key);
        free.truncate(3);
        free.sort();
        free
    }

    fn summary(r: &LedgerReservation) -> ReservationSummary {
        ReservationSummary {
            id: r.id.clone().unwrap_or_default(),
            date: r.date,
            time: r.time,
            party_size: r.party_size,
            name: r.name.clone(),
        }
    }
}

/// The tool's name as used in dialogue files.
pub fn tool_name(kind: &ToolKind) -> &'static str {
    match kind {
        ToolKind::CheckAvailability { .. } => "check_availability",
        ToolKind::Book { .. } => "book",
        ToolKind::FindReservations { .. } => "find_reservations",
        ToolKind::Modify { .. } => "modify",
        ToolKind::Cancel { .. } => "cancel",
        ToolKind::CreateCallback { .. } => "create_callback",
        ToolKind::SendFollowup { .. } => "send_followup",
    }
}

impl ToolExecutor for Ledger {
    fn execute(&mut self, now: NaiveDateTime, call: &ToolCall) -> ToolResult {
        if self.failing.iter().any(|f| f == tool_name(&call.kind)) {
            return ToolResult::Failed {
                message: "failure injected by the dialogue".into(),
            };
        }
        match &call.kind {
            ToolKind::CheckAvailability {
                date,
                time,
                party_size,
            } => {
                if self.fits(*date, *time, *party_size, None) {
                    ToolResult::Available
                } else {
                    ToolResult::Full {
                        alternatives: self.alternatives(now, *date, *time, *party_size, None),
                    }
                }
            }
            ToolKind::Book {
                date,
                time,
                party_size,
                name,
                notes,
                ..
            } => {
                if !self.fits(*date, *time, *party_size, None) {
                    return ToolResult::Full {
                        alternatives: self.alternatives(now, *date, *time, *party_size, None),
                    };
                }
                let id = self.new_id();
                self.reservations.push(LedgerReservation {
                    id: Some(id.clone()),
                    date: *date,
                    time: *time,
                    party_size: *party_size,
                    name: name.clone(),
                    other_caller: false,
                    notes: notes.clone(),
                });
                ToolResult::Booked { reservation_id: id }
            }
            ToolKind::FindReservations { date } => ToolResult::Found(
                self.reservations
                    .iter()
                    .filter(|r| !r.other_caller && date.is_none_or(|d| r.date == d))
                    .map(Ledger::summary)
                    .collect(),
            ),
            ToolKind::Modify {
                reservation_id,
                party_size,
                date,
                time,
            } => {
                let Some(cur) = self
                    .reservations
                    .iter()
                    .find(|r| r.id.as_deref() == Some(reservation_id.as_str()))
                    .cloned()
                else {
                    return ToolResult::Failed {
                        message: format!("no reservation {reservation_id}"),
                    };
                };
                let (d, t, p) = (
                    date.unwrap_or(cur.date),
                    time.unwrap_or(cur.time),
                    party_size.unwrap_or(cur.party_size),
                );
                if !self.fits(d, t, p, Some(reservation_id)) {
                    return ToolResult::Full {
                        alternatives: self.alternatives(now, d, t, p, Some(reservation_id)),
                    };
                }
                if let Some(r) = self
                    .reservations
                    .iter_mut()
                    .find(|r| r.id.as_deref() == Some(reservation_id.as_str()))
                {
                    (r.date, r.time, r.party_size) = (d, t, p);
                }
                ToolResult::Done
            }
            ToolKind::Cancel { reservation_id } => {
                let before = self.reservations.len();
                self.reservations
                    .retain(|r| r.id.as_deref() != Some(reservation_id.as_str()));
                if self.reservations.len() < before {
                    ToolResult::Done
                } else {
                    ToolResult::Failed {
                        message: format!("no reservation {reservation_id}"),
                    }
                }
            }
            ToolKind::CreateCallback {
                name,
                date,
                time,
                party_size,
            } => {
                self.callbacks.push(LedgerCallback {
                    name: name.clone(),
                    date: *date,
                    time: *time,
                    party_size: *party_size,
                });
                ToolResult::Done
            }
            ToolKind::SendFollowup { reservation_id } => {
                self.followups.push(reservation_id.clone());
                ToolResult::Done
            }
        }
    }
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M").map_err(serde::de::Error::custom)
    }
}

mod opt_hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.format("%H:%M").to_string()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<NaiveTime>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| NaiveTime::parse_from_str(&s, "%H:%M").map_err(serde::de::Error::custom))
            .transpose()
    }
}
