//! The world a dialogue's tool calls act on, seen from the runner.
//!
//! The core stays pure: it defines what a dialogue needs from a world — an executor for its
//! tool calls, seeded with the dialogue's `existing` reservations, and a way to read back the
//! reservations, callbacks and jobs at the end — and the edge supplies one. `vartalaap test`,
//! `cargo test` and the end-to-end tests all pass `vartalaap_tools::StoreWorld`: the server's
//! own executor (`StoreTools`) over a temporary redb store, so a dialogue proves what a call
//! would really leave behind.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use vartalaap_config::BusinessSnapshot;

use crate::tools::ToolExecutor;

/// The phone number a dialogue's caller has unless it says otherwise (`caller_number`).
pub const DEFAULT_CALLER_NUMBER: &str = "+91 98765 43210";

/// The number that owns `existing` reservations marked `other_caller`.
pub const OTHER_CALLER_NUMBER: &str = "+91 91234 56789";

/// A reservation: one that exists before the call (`existing`), or one expected at the end
/// (`expect.reservations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogueReservation {
    /// Id (ignored in dialogue files; the store assigns ids).
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
    /// Whether it belongs to another caller (booked under another number, so this caller's
    /// look-ups do not find it).
    #[serde(default)]
    pub other_caller: bool,
    /// Notes for staff (a `book` step's `notes` template). In `expect.reservations` a
    /// reservation without `notes` matches any notes; with `notes` they must be equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A callback request expected at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogueCallback {
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

/// A durable job expected at the end (`expect.jobs`), e.g. the WhatsApp confirmation of a
/// booking. Fields left out match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogueJob {
    /// Job kind (`whatsapp_followup`).
    pub kind: String,
    /// For a WhatsApp confirmation: the name on the reservation it confirms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_name: Option<String>,
    /// For a WhatsApp confirmation: the language it will be sent in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl DialogueJob {
    /// Whether `got` (a job that exists) is what this expectation describes.
    pub fn matches(&self, got: &DialogueJob) -> bool {
        self.kind == got.kind
            && self
                .reservation_name
                .as_ref()
                .is_none_or(|n| got.reservation_name.as_ref() == Some(n))
            && self
                .language
                .as_ref()
                .is_none_or(|l| got.language.as_ref() == Some(l))
    }
}

/// What a world is built from: the business, the call's start, who calls and what exists.
#[derive(Debug, Clone, Copy)]
pub struct WorldSetup<'a> {
    /// The business's snapshot.
    pub snapshot: &'a Arc<BusinessSnapshot>,
    /// Business-local time the call starts.
    pub at: NaiveDateTime,
    /// The caller's number; `None` when withheld.
    pub caller_number: Option<&'a str>,
    /// Reservations that exist before the call.
    pub existing: &'a [DialogueReservation],
}

/// An executor for a dialogue's tool calls that can also say what it holds at the end.
pub trait DialogueWorld: ToolExecutor {
    /// Confirmed reservations (existing ones included).
    fn reservations(&self) -> Result<Vec<DialogueReservation>, String>;
    /// Callback requests made.
    fn callbacks(&self) -> Result<Vec<DialogueCallback>, String>;
    /// Durable jobs queued (WhatsApp confirmations, …).
    fn jobs(&self) -> Result<Vec<DialogueJob>, String>;
}

/// Builds the world for one dialogue; an `Err` says why it could not (and fails the
/// dialogue with that message).
pub type WorldFactory<'a> = dyn Fn(&WorldSetup<'_>) -> Result<Box<dyn DialogueWorld>, String> + 'a;

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
