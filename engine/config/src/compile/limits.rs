//! Limits that contradict each other across the business file and the flows it uses.
//!
//! Each number can be valid on its own and still make bookings impossible together: a
//! `party_max` the booking flow's `party_size` slot never accepts, a minimum lead time longer
//! than the booking horizon, a capacity below the largest party the bot books by phone. Every
//! such contradiction is an error located at the value that breaks it, with what it
//! contradicts and what to change.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveTime, Timelike};

use super::Ctx;
use crate::model::business::{Exception, ReservationPolicy, WeeklyHours};
use crate::model::flow::Flow;

/// The slot every booking flow collects the number of guests into.
const PARTY_SLOT: &str = "party_size";

/// `party_min`/`party_max` against the `party_size` bounds of every used flow: a party the
/// business accepts must be one the flows let the caller say.
pub(super) fn party_limits_against_flows(
    cx: &mut Ctx<'_>,
    policy: &ReservationPolicy,
    flows: &BTreeMap<String, Arc<Flow>>,
) {
    for (id, flow) in flows {
        let Some(slot) = flow.slots.get(PARTY_SLOT) else {
            continue;
        };
        if let Some(max) = slot.max
            && i64::from(policy.party_max) > max
        {
            cx.err(
                "/reservations/party_max",
                format!(
                    "party_max {} is above what flow `{id}` accepts for `{PARTY_SLOT}` (at most \
                     {max}); a party of {}–{} could never be booked. Lower party_max to {max} \
                     or raise `max` of `{PARTY_SLOT}` in {}",
                    policy.party_max,
                    max + 1,
                    policy.party_max,
                    flow.file
                ),
            );
        }
        if let Some(min) = slot.min
            && i64::from(policy.party_min) < min
        {
            cx.err(
                "/reservations/party_min",
                format!(
                    "party_min {} is below what flow `{id}` accepts for `{PARTY_SLOT}` (at least \
                     {min}); raise party_min to {min} or lower `min` of `{PARTY_SLOT}` in {}",
                    policy.party_min, flow.file
                ),
            );
        }
    }
}

/// `min_lead_minutes` against `max_days_ahead` and the hours: the earliest bookable moment
/// (now + lead) must come before the last seating of the last bookable day, or nothing can
/// ever be booked.
pub(super) fn lead_time_against_horizon(
    cx: &mut Ctx<'_>,
    policy: &ReservationPolicy,
    hours: &WeeklyHours,
    exceptions: &BTreeMap<chrono::NaiveDate, Exception>,
) {
    let latest = hours
        .days
        .iter()
        .flatten()
        .chain(exceptions.values().flat_map(|e| e.windows.iter()))
        .map(|w| w.last_seating)
        .max();
    let Some(latest) = latest else {
        return; // never open: reported elsewhere if at all
    };
    let horizon = u64::from(policy.max_days_ahead) * 24 * 60 + minutes(latest);
    if u64::from(policy.min_lead_minutes) > horizon {
        cx.err(
            "/reservations/min_lead_minutes",
            format!(
                "min_lead_minutes {} is longer than the booking horizon: with max_days_ahead {} \
                 the last bookable time is {} day(s) ahead at {} ({horizon} minutes after \
                 midnight today at most), so no time could ever be booked. Lower \
                 min_lead_minutes or raise max_days_ahead",
                policy.min_lead_minutes,
                policy.max_days_ahead,
                policy.max_days_ahead,
                latest.format("%H:%M"),
            ),
        );
    }
}

fn minutes(t: NaiveTime) -> u64 {
    u64::from(t.hour() * 60 + t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Document;
    use crate::model::business::{LargePartyHandling, Window};
    use crate::yaml::PosMap;

    fn policy(lead: u32, days: u32) -> ReservationPolicy {
        ReservationPolicy {
            slot_minutes: 30,
            hold_minutes: 90,
            capacity: 40,
            party_min: 1,
            party_max: 20,
            max_phone_party: 10,
            large_party: LargePartyHandling::Callback,
            min_lead_minutes: lead,
            max_days_ahead: days,
            grace_minutes: 15,
        }
    }

    fn hours(last: &str) -> WeeklyHours {
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        let mut h = WeeklyHours::default();
        h.days[0] = vec![Window {
            name: None,
            open: t("09:00"),
            close: t("23:00"),
            last_seating: t(last),
        }];
        h
    }

    fn doc() -> Document {
        Document {
            file: "b.yaml".into(),
            value: serde_json::json!({}),
            pos: PosMap::default(),
        }
    }

    #[test]
    fn lead_time_may_reach_the_last_seating_of_the_last_day_but_not_beyond() {
        let d = doc();
        let mut cx = Ctx::new(&d);
        // Same-day bookings only, an hour ahead: fine.
        lead_time_against_horizon(&mut cx, &policy(60, 0), &hours("22:00"), &BTreeMap::new());
        // Exactly the horizon (1 day + 22:00 = 2760 minutes): still bookable just after midnight.
        lead_time_against_horizon(&mut cx, &policy(2760, 1), &hours("22:00"), &BTreeMap::new());
        assert!(cx.diags.is_empty(), "{:?}", cx.diags);
        lead_time_against_horizon(&mut cx, &policy(2761, 1), &hours("22:00"), &BTreeMap::new());
        assert_eq!(cx.diags.len(), 1);
        assert_eq!(cx.diags[0].pointer, "/reservations/min_lead_minutes");
        assert!(
            cx.diags[0].message.contains("no time could ever be booked"),
            "{}",
            cx.diags[0].message
        );
    }
}
