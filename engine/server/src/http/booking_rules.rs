//! The business's booking rules applied to API bookings: exactly the checks a phone booking
//! gets, from the dialog engine's [`vartalaap_core::policy`] (opening windows, last seating,
//! dated exceptions, slot grid, lead time, horizon). Capacity is re-checked by the store inside
//! the booking transaction.

use chrono::{DateTime, NaiveTime, Utc};
use vartalaap_config::BusinessSnapshot;
use vartalaap_core::policy::{self, PolicyIssue};
use vartalaap_store::TimeOfDay;

use super::error::ApiError;

/// `Ok` when a table may be booked at `date time` (business-local) at instant `now`; a refusal
/// is a 409 naming `date` or `time` (the request was valid, the business says no).
pub fn check_bookable(
    snapshot: &BusinessSnapshot,
    date: chrono::NaiveDate,
    time: TimeOfDay,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let business = &snapshot.business;
    let minutes = u32::from(time.minutes());
    let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)
        .ok_or_else(|| ApiError::field("time", "time must be HH:MM"))?;
    let local_now = now.with_timezone(&business.timezone).naive_local();
    policy::check_time(business, local_now, date, time).map_err(|issue| {
        let field = if issue.is_about_date() {
            "date"
        } else {
            "time"
        };
        ApiError::refused(field, explain(snapshot, &issue, date))
    })
}

fn explain(snapshot: &BusinessSnapshot, issue: &PolicyIssue, date: chrono::NaiveDate) -> String {
    let business = &snapshot.business;
    let name = &business.name.en;
    match issue {
        PolicyIssue::PastDate => format!("{date} is in the past"),
        PolicyIssue::ClosedDay { note } => match note {
            Some(note) => format!("{name} is closed on {date} ({note})"),
            None => format!("{name} is closed on {date}"),
        },
        PolicyIssue::TooFarAhead { max_days } => {
            format!("bookings can be made at most {max_days} days ahead")
        }
        PolicyIssue::TooSoon { min_lead_minutes } => {
            format!("bookings must be made at least {min_lead_minutes} minutes ahead")
        }
        PolicyIssue::OutsideHours | PolicyIssue::NotOnSlot { .. } => {
            let hours: Vec<String> = business
                .windows_on(date)
                .iter()
                .map(|w| {
                    format!(
                        "{}–{} (last seating {})",
                        w.open.format("%H:%M"),
                        w.close.format("%H:%M"),
                        w.last_seating.format("%H:%M")
                    )
                })
                .collect();
            format!(
                "{name} takes bookings on {date} every {} minutes from opening during {}",
                business.reservations.slot_minutes,
                hours.join(", ")
            )
        }
        PolicyIssue::PartyTooSmall { min } => format!("party_size must be at least {min}"),
        PolicyIssue::PartyTooLarge { max } => format!("party_size must be at most {max}"),
        PolicyIssue::LargeParty {
            max_phone_party, ..
        } => format!("parties over {max_phone_party} are arranged with the manager"),
    }
}
