//! Stored record types. Their serde shape *is* the API shape: `schemas/<name>.json` describes
//! each one, and `tests/schema_drift.rs` fails when a type and its schema drift apart.
//!
//! Records are stored as JSON (see `docs/STORAGE.md` for why); every field added later must be
//! `#[serde(default)]` so older rows keep decoding.

mod calls;
mod jobs;
mod reservations;
mod reviews;

pub use calls::{
    CallLog, CallOutcome, CallWithTurns, CallerPreferences, ConfigErrorSource, ConversationTurn,
    HandledBy, MAX_SIGNAL_MESSAGE_CHARS, TtsFallback, TurnConfigError, TurnRole, TurnTimings,
    short_message,
};
pub use jobs::{Job, JobStatus};
pub use reservations::{
    CallbackReason, CallbackRequest, CallbackStatus, FollowupStatus, Reservation,
    ReservationStatus, WhatsappFollowup,
};
pub use reviews::{
    ImprovementSuggestion, ReviewCategory, ReviewIssue, SuggestionStatus, SuggestionTarget,
    TranscriptReview,
};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A business-local wall-clock time (`HH:MM`), as callers and staff speak about reservations.
///
/// Kept separate from `chrono::NaiveTime` so the stored/API form is exactly `HH:MM` (chrono
/// would write seconds) and so minutes-since-midnight arithmetic for capacity is trivial.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

/// A `HH:MM` string that is not a valid time of day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time {0:?} is not a valid HH:MM time (00:00 to 23:59)")]
pub struct BadTime(pub String);

impl TimeOfDay {
    /// From hours and minutes; `None` when out of range.
    pub fn from_hm(hours: u16, minutes: u16) -> Option<TimeOfDay> {
        (hours < 24 && minutes < 60).then_some(TimeOfDay {
            minutes: hours * 60 + minutes,
        })
    }

    /// Minutes since local midnight (0..1440).
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// From minutes since midnight; `None` past 23:59.
    pub fn from_minutes(minutes: u16) -> Option<TimeOfDay> {
        (minutes < 24 * 60).then_some(TimeOfDay { minutes })
    }
}

impl FromStr for TimeOfDay {
    type Err = BadTime;
    fn from_str(s: &str) -> Result<TimeOfDay, BadTime> {
        let bad = || BadTime(s.to_owned());
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        // Exactly two ASCII digits each side (`u16::from_str` alone would take "+1").
        let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || !two_digits(m) {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        TimeOfDay::from_hm(h, m).ok_or_else(bad)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl fmt::Debug for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeOfDay, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Implements `as_str`/`Display`/`FromStr` for a snake_case status enum so index keys, API
/// filters and serde all agree on one spelling.
macro_rules! string_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order (for schema tests and API docs).
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stored / API spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::error::UnknownVariant;
            fn from_str(s: &str) -> Result<$ty, Self::Err> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(crate::error::UnknownVariant {
                        kind: stringify!($ty),
                        value: s.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}
pub(crate) use string_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_parses_and_prints_hh_mm() {
        let t: TimeOfDay = "19:30".parse().unwrap();
        assert_eq!(t.minutes(), 19 * 60 + 30);
        assert_eq!(t.to_string(), "19:30");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"19:30\"");
        assert_eq!("00:00".parse::<TimeOfDay>().unwrap().minutes(), 0);
        for bad in [
            "24:00",
            "7:30",
            "19:60",
            "19-30",
            "",
            "ab:cd",
            "19:30:00",
            "+1:30",
            "19:+5",
            "١٩:٣٠",
        ] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<TimeOfDay>("\"25:00\"").is_err());
    }

    #[test]
    fn status_spellings_round_trip() {
        for s in ReservationStatus::ALL {
            assert_eq!(s.as_str().parse::<ReservationStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in JobStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        let err = "open".parse::<ReservationStatus>().unwrap_err();
        assert!(err.to_string().contains("confirmed"), "{err}");
    }

    #[test]
    fn turns_stored_before_confidence_and_stage_timings_still_decode() {
        let old = serde_json::json!({
            "call_id": 1, "seq": 0, "role": "caller", "text": "haan", "language": "hi",
            "started_at": "2026-11-20T10:00:00Z",
            "timings": {"stt_ms": 120, "llm_first_token_ms": null, "tts_first_audio_ms": null, "total_ms": null},
            "created_at": "2026-11-20T10:00:00Z"
        });
        let turn: ConversationTurn = serde_json::from_value(old).unwrap();
        assert_eq!(turn.stt_confidence, None);
        assert_eq!(turn.timings.stt_ms, Some(120));
        assert_eq!(turn.timings.engine_ms, None);
        assert_eq!(turn.timings.first_frame_ms, None);
    }
}
