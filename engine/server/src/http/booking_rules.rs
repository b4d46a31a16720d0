//! The business's booking rules applied to API bookings: the same opening windows, last
//! seating, dated exceptions, minimum lead time and booking horizon a phone booking obeys.
//! (Capacity is re-checked by the store inside the booking transaction.)

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Utc};
use vartalaap_config::BusinessSnapshot;
use vartalaap_store::TimeOfDay;

use super::error::ApiError;

/// `Ok` when a table may be booked at `date time` (business-local) at instant `now`.
pub fn check_bookable(
    snapshot: &BusinessSnapshot,
    date: chrono::NaiveDate,
    time: TimeOfDay,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let business = &snapshot.business;
    let policy = &business.reservations;
    let minutes = u32::from(time.minutes());
    let start_time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)
        .ok_or_else(|| ApiError::field("time", "time must be HH:MM"))?;
    let start = NaiveDateTime::new(date, start_time);
    let local_now = now.with_timezone(&business.timezone).naive_local();
    if start < local_now + Duration::minutes(i64::from(policy.min_lead_minutes)) {
        return Err(ApiError::field(
            "time",
            format!(
                "bookings must be made at least {} minutes ahead",
                policy.min_lead_minutes
            ),
        ));
    }
    if date > local_now.date() + Duration::days(i64::from(policy.max_days_ahead)) {
        return Err(ApiError::field(
            "date",
            format!(
                "bookings can be made at most {} days ahead",
                policy.max_days_ahead
            ),
        ));
    }
    let windows = business.windows_on(date);
    if windows.is_empty() {
        return Err(ApiError::field(
            "date",
            format!("{} is closed on {date}", business.name.en),
        ));
    }
    let slot = i64::from(policy.slot_minutes.max(1));
    let fits = windows.iter().any(|w| {
        start_time >= w.open
            && start_time <= w.last_seating
            && (start_time - w.open).num_minutes() % slot == 0
    });
    if !fits {
        let hours: Vec<String> = windows
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
        return Err(ApiError::field(
            "time",
            format!(
                "{} takes bookings on {date} every {slot} minutes from opening during {}",
                business.name.en,
                hours.join(", ")
            ),
        ));
    }
    Ok(())
}
