//! Table capacity arithmetic, kept pure so it can be tested exhaustively without a database.
//!
//! A confirmed reservation holds its covers for `[start, start + hold)`. A new booking fits
//! when, at the busiest moment of its own hold window, the covers already held plus its party
//! stay within capacity. The load only rises at reservation starts, so the busiest moment is
//! either the new start or one of the existing starts inside the window: checking those points
//! gives the exact peak (a naive sum over every overlapping booking would over-count bookings
//! that overlap the window but not each other).

use chrono::{Datelike, NaiveDate};

use crate::model::TimeOfDay;

/// The business's capacity policy, passed by the caller (it lives in business config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityRule {
    /// Covers (seats) the restaurant can hold at once.
    pub capacity_covers: u32,
    /// How long a reservation holds its covers, in minutes (1..=1440).
    pub hold_minutes: u32,
}

/// Which start times to report in [`crate::Store::availability`]: `first`, `first + step`, …
/// up to and including `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotGrid {
    /// First bookable start time.
    pub first: TimeOfDay,
    /// Last bookable start time.
    pub last: TimeOfDay,
    /// Spacing between start times in minutes (≥ 5).
    pub step_minutes: u16,
}

/// Free covers for one start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotAvailability {
    /// Start time.
    pub time: TimeOfDay,
    /// Largest party that could still be booked at this time.
    pub free_covers: u32,
}

/// One confirmed reservation as the capacity check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hold {
    /// Absolute minute ([`absolute_minute`]).
    pub start: i64,
    /// Covers held.
    pub covers: u32,
}

/// Minutes since 0001-01-01 00:00 business-local time, so holds crossing midnight compare
/// correctly with the next day's bookings.
pub(crate) fn absolute_minute(date: NaiveDate, time: TimeOfDay) -> i64 {
    i64::from(date.num_days_from_ce()) * 1440 + i64::from(time.minutes())
}

/// Highest total of covers held at any instant of `[start, start + hold)`.
pub(crate) fn peak_load(holds: &[Hold], start: i64, hold: i64) -> u32 {
    let end = start + hold;
    let load_at = |t: i64| -> u32 {
        holds
            .iter()
            .filter(|h| h.start <= t && t < h.start + hold)
            .map(|h| h.covers)
            .sum()
    };
    holds
        .iter()
        .map(|h| h.start)
        .filter(|&s| s > start && s < end)
        .chain(std::iter::once(start))
        .map(load_at)
        .max()
        .unwrap_or(0)
}

impl CapacityRule {
    /// Checks the rule itself (a zero or >1 day hold makes the arithmetic meaningless).
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1440).contains(&self.hold_minutes) {
            return Err(format!(
                "hold_minutes is {}; use 1 to 1440",
                self.hold_minutes
            ));
        }
        Ok(())
    }

    /// Covers still free for a booking starting at `start` given existing `holds`.
    pub(crate) fn free_at(&self, holds: &[Hold], start: i64) -> u32 {
        self.capacity_covers
            .saturating_sub(peak_load(holds, start, i64::from(self.hold_minutes)))
    }
}

impl SlotGrid {
    /// The start times of the grid.
    pub fn times(&self) -> Vec<TimeOfDay> {
        let step = self.step_minutes.max(5);
        (self.first.minutes()..=self.last.minutes())
            .step_by(usize::from(step))
            .filter_map(TimeOfDay::from_minutes)
            .collect()
    }
}

/// Up to `count` start times that fit `party_size`, nearest to `wanted` first (earlier wins a
/// tie). The dialog uses this to offer alternatives when a time is full.
pub fn nearest_free(
    slots: &[SlotAvailability],
    wanted: TimeOfDay,
    party_size: u32,
    count: usize,
) -> Vec<TimeOfDay> {
    let mut fitting: Vec<&SlotAvailability> = slots
        .iter()
        .filter(|s| s.free_covers >= party_size)
        .collect();
    fitting.sort_by_key(|s| {
        let d = i32::from(s.time.minutes()) - i32::from(wanted.minutes());
        (d.abs(), d > 0)
    });
    fitting.into_iter().take(count).map(|s| s.time).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(start: i64, covers: u32) -> Hold {
        Hold { start, covers }
    }

    #[test]
    fn peak_counts_only_simultaneous_holds() {
        // Two 4-top bookings at 0 and 90 with a 90-minute hold never overlap each other, so a
        // new booking at 45 sees a peak of 4, not 8.
        let holds = [h(0, 4), h(90, 4)];
        assert_eq!(peak_load(&holds, 45, 90), 4);
        // Overlapping holds add up.
        let holds = [h(0, 4), h(30, 5), h(200, 10)];
        assert_eq!(peak_load(&holds, 45, 90), 9);
        assert_eq!(peak_load(&holds, 100, 90), 5);
        assert_eq!(peak_load(&holds, 150, 90), 10);
        // Half-open interval: a hold ending exactly at the new start does not count.
        assert_eq!(peak_load(&[h(0, 7)], 90, 90), 0);
        assert_eq!(peak_load(&[h(0, 7)], 89, 90), 7);
        // A hold starting exactly at the new end does not count either.
        assert_eq!(peak_load(&[h(90, 7)], 0, 90), 0);
        assert_eq!(peak_load(&[], 0, 90), 0);
    }

    #[test]
    fn free_covers_saturate_and_rule_validates() {
        let rule = CapacityRule {
            capacity_covers: 10,
            hold_minutes: 60,
        };
        assert_eq!(rule.free_at(&[h(0, 6)], 30), 4);
        assert_eq!(rule.free_at(&[h(0, 6), h(10, 6)], 30), 0);
        assert!(rule.validate().is_ok());
        assert!(
            CapacityRule {
                capacity_covers: 1,
                hold_minutes: 0
            }
            .validate()
            .is_err()
        );
        assert!(
            CapacityRule {
                capacity_covers: 1,
                hold_minutes: 1441
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn midnight_crossing_uses_absolute_minutes() {
        let d1 = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let late = absolute_minute(d1, TimeOfDay::from_hm(23, 30).unwrap());
        let early = absolute_minute(d2, TimeOfDay::from_hm(0, 30).unwrap());
        assert_eq!(early - late, 60);
        assert_eq!(peak_load(&[h(late, 5)], early, 90), 5);
    }

    #[test]
    fn grid_and_nearest() {
        let grid = SlotGrid {
            first: TimeOfDay::from_hm(19, 0).unwrap(),
            last: TimeOfDay::from_hm(20, 0).unwrap(),
            step_minutes: 30,
        };
        let times: Vec<String> = grid.times().iter().map(|t| t.to_string()).collect();
        assert_eq!(times, ["19:00", "19:30", "20:00"]);
        let slots: Vec<SlotAvailability> = grid
            .times()
            .into_iter()
            .zip([6, 0, 6])
            .map(|(time, free_covers)| SlotAvailability { time, free_covers })
            .collect();
        let offers = nearest_free(&slots, TimeOfDay::from_hm(19, 30).unwrap(), 4, 2);
        assert_eq!(offers, [grid.first, grid.last], "earlier wins the tie");
        assert!(nearest_free(&slots, grid.first, 7, 3).is_empty());
    }
}
