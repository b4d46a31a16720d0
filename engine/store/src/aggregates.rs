//! Per-business daily counters (`daily_aggregates`, migrations 0003 and 0004): what the
//! dashboard's `GET /api/stats` reads. They survive retention purges, so a business still knows
//! how busy it was after transcripts and caller data are gone.
//!
//! Every counter is changed in the same write transaction as the row it counts, so a crash can
//! never leave them disagreeing:
//!
//! - `calls` — calls started that UTC day ([`Store::create_call`]).
//! - `handoffs` — of those, calls that ended handed to a person ([`Store::finish_call`]).
//! - `reservations`, `covers` — bookings *dated* that business-local day that stand (every
//!   status except `cancelled`), and their covers: a booking adds to its date, a cancellation
//!   takes it away again, a move to another day or time moves it, a new party size changes
//!   the covers, and reinstating a cancelled booking counts it again
//!   ([`Store::modify_reservation`]).
//! - `turn_ms_le_<bound>` / `turn_ms_over` / `turn_ms_max` — a histogram of the bot's turn
//!   latency (end of the caller's speech → first audio frame, [`crate::TurnTimings::total_ms`])
//!   on calls started that UTC day, from which p50 and p95 are read ([`LATENCY_BOUNDS_MS`]).
//!   Percentiles of a day cannot be summed from per-day percentiles, but histograms can, and a
//!   histogram is a handful of counters per day however many turns there were.

use chrono::NaiveDate;
use redb::{ReadableTable, WriteTransaction};

use crate::error::StoreError;
use crate::model::{Reservation, ReservationStatus};
use crate::store::Store;
use crate::tables::AGGREGATES;

/// Upper bounds (inclusive, milliseconds) of the turn-latency histogram's buckets; a turn
/// slower than the last bound counts in `turn_ms_over`. Percentiles are reported as the bound
/// of the bucket they fall in (capped at the day's slowest turn), so they are exact to within
/// 100 ms up to 1 s, 250 ms up to 3 s, and coarser beyond.
pub const LATENCY_BOUNDS_MS: [u32; 22] = [
    100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 4000,
    5000, 6000, 8000, 10_000, 15_000,
];

const OVER_METRIC: &str = "turn_ms_over";
pub(crate) const MAX_METRIC: &str = "turn_ms_max";

fn bucket_metric(bound: u32) -> String {
    format!("turn_ms_le_{bound:05}")
}

/// One business-day of counters (see the module documentation for what each one counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyAggregate {
    /// Business-local (reservations) or UTC (calls, handoffs, latency) day.
    pub date: NaiveDate,
    /// Calls started.
    pub calls: u64,
    /// Calls that ended handed to a person.
    pub handoffs: u64,
    /// Standing (not cancelled) reservations for that date.
    pub reservations: u64,
    /// Covers of those reservations.
    pub covers: u64,
    /// Bot turns with a measured latency.
    pub turns_timed: u64,
    /// Median turn latency, ms (bucket bound; `None` without timed turns).
    pub turn_latency_p50_ms: Option<u32>,
    /// 95th-percentile turn latency, ms (bucket bound; `None` without timed turns).
    pub turn_latency_p95_ms: Option<u32>,
}

/// Adds `delta` (which may be negative) to a counter; it never goes below zero, and a counter
/// that reaches zero is removed, so a day with nothing left in it disappears from the list.
pub(crate) fn adjust(
    txn: &WriteTransaction,
    business: &str,
    date: &str,
    metric: &str,
    delta: i64,
) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    let mut agg = txn.open_table(AGGREGATES)?;
    let current = agg
        .get((business, date, metric))?
        .map(|v| v.value())
        .unwrap_or(0);
    let next = current.saturating_add_signed(delta);
    if next == 0 {
        agg.remove((business, date, metric))?;
    } else {
        agg.insert((business, date, metric), next)?;
    }
    Ok(())
}

/// What a reservation adds to its date's counters: nothing once cancelled.
pub(crate) fn reservation_share(r: &Reservation) -> Option<(String, u64)> {
    (r.status != ReservationStatus::Cancelled)
        .then(|| (r.reservation_date.to_string(), u64::from(r.party_size)))
}

/// Moves a reservation's share of `reservations`/`covers` from what it was to what it is.
pub(crate) fn reservation_changed(
    txn: &WriteTransaction,
    old: Option<&Reservation>,
    new: &Reservation,
) -> Result<(), StoreError> {
    if let Some((day, covers)) = old.and_then(reservation_share) {
        adjust(txn, &new.business_id, &day, "reservations", -1)?;
        adjust(txn, &new.business_id, &day, "covers", -(covers as i64))?;
    }
    if let Some((day, covers)) = reservation_share(new) {
        adjust(txn, &new.business_id, &day, "reservations", 1)?;
        adjust(txn, &new.business_id, &day, "covers", covers as i64)?;
    }
    Ok(())
}

/// Counts one bot turn's latency in its call's day.
pub(crate) fn turn_latency(
    txn: &WriteTransaction,
    business: &str,
    date: &str,
    total_ms: u32,
) -> Result<(), StoreError> {
    adjust(txn, business, date, &latency_metric(total_ms), 1)?;
    let mut agg = txn.open_table(AGGREGATES)?;
    let max = agg
        .get((business, date, MAX_METRIC))?
        .map(|v| v.value())
        .unwrap_or(0);
    if u64::from(total_ms) > max {
        agg.insert((business, date, MAX_METRIC), u64::from(total_ms))?;
    }
    Ok(())
}

/// The latency at quantile `q` of a histogram (`counts[i]` turns within
/// `LATENCY_BOUNDS_MS[i]`, then `over` slower ones): the bound of the bucket holding the
/// `ceil(q·n)`-th fastest turn, never more than the slowest turn seen.
/// The histogram bucket counter a bot turn of `total_ms` adds one to.
pub(crate) fn latency_metric(total_ms: u32) -> String {
    LATENCY_BOUNDS_MS
        .iter()
        .find(|&&bound| total_ms <= bound)
        .map_or_else(|| OVER_METRIC.to_string(), |&bound| bucket_metric(bound))
}

fn quantile(counts: &[u64; LATENCY_BOUNDS_MS.len()], over: u64, max: u64, q: f64) -> Option<u32> {
    let total: u64 = counts.iter().sum::<u64>() + over;
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let max = u32::try_from(max).unwrap_or(u32::MAX);
    let mut seen = 0;
    for (i, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(LATENCY_BOUNDS_MS[i].min(max));
        }
    }
    Some(max)
}

impl Store {
    /// Daily counters for a business in `[from, to]`, one entry per day that has any, in date
    /// order. They survive retention purges.
    pub fn daily_aggregates(
        &self,
        business_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyAggregate>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(AGGREGATES)?;
        let (f, t) = (from.to_string(), to.to_string());
        let mut rows = Vec::new();
        for row in table.range((business_id, f.as_str(), "")..=(business_id, t.as_str(), "~"))? {
            let (key, count) = row?;
            let (_, day, metric) = key.value();
            if let Ok(date) = day.parse::<NaiveDate>() {
                rows.push((date, metric.to_owned(), count.value()));
            }
        }
        Ok(fold_days(rows))
    }
}

/// Turns `(day, metric, count)` counter rows, ordered by day, into one [`DailyAggregate`] per
/// day (every backend's `daily_aggregates`).
pub(crate) fn fold_days(
    rows: impl IntoIterator<Item = (NaiveDate, String, u64)>,
) -> Vec<DailyAggregate> {
    struct Day {
        agg: DailyAggregate,
        buckets: [u64; LATENCY_BOUNDS_MS.len()],
        over: u64,
        max: u64,
    }
    let mut days: Vec<Day> = Vec::new();
    for (date, metric, count) in rows {
        if days.last().is_none_or(|d| d.agg.date != date) {
            days.push(Day {
                agg: DailyAggregate {
                    date,
                    ..DailyAggregate::default()
                },
                buckets: [0; LATENCY_BOUNDS_MS.len()],
                over: 0,
                max: 0,
            });
        }
        let Some(d) = days.last_mut() else { continue };
        match metric.as_str() {
            "calls" => d.agg.calls = count,
            "handoffs" => d.agg.handoffs = count,
            "reservations" => d.agg.reservations = count,
            "covers" => d.agg.covers = count,
            OVER_METRIC => d.over = count,
            MAX_METRIC => d.max = count,
            other => {
                if let Some(i) = LATENCY_BOUNDS_MS
                    .iter()
                    .position(|&b| bucket_metric(b) == *other)
                {
                    d.buckets[i] = count;
                }
            }
        }
    }
    days.into_iter()
        .map(|mut d| {
            d.agg.turns_timed = d.buckets.iter().sum::<u64>() + d.over;
            d.agg.turn_latency_p50_ms = quantile(&d.buckets, d.over, d.max, 0.5);
            d.agg.turn_latency_p95_ms = quantile(&d.buckets, d.over, d.max, 0.95);
            d.agg
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(samples: &[u32]) -> ([u64; LATENCY_BOUNDS_MS.len()], u64, u64) {
        let mut counts = [0; LATENCY_BOUNDS_MS.len()];
        let mut over = 0;
        for &ms in samples {
            match LATENCY_BOUNDS_MS.iter().position(|&b| ms <= b) {
                Some(i) => counts[i] += 1,
                None => over += 1,
            }
        }
        let max = samples.iter().copied().max().unwrap_or(0);
        (counts, over, u64::from(max))
    }

    #[test]
    fn percentiles_are_the_bound_of_the_bucket_they_fall_in() {
        // 20 turns: 18 fast (≤ 400 ms), 2 slow (2.2 s and 2.4 s).
        let mut samples = vec![350; 10];
        samples.extend([380; 8]);
        samples.extend([2200, 2400]);
        let (c, o, m) = histogram(&samples);
        assert_eq!(quantile(&c, o, m, 0.5), Some(400));
        // The 19th of 20 is the first slow one: its bucket is (2000, 2500], capped at the
        // slowest turn.
        assert_eq!(quantile(&c, o, m, 0.95), Some(2400));
        samples.push(2600);
        let (c, o, m) = histogram(&samples);
        assert_eq!(quantile(&c, o, m, 0.95), Some(2500));
    }

    #[test]
    fn a_percentile_never_exceeds_the_slowest_turn() {
        let (c, o, m) = histogram(&[120, 130]);
        assert_eq!(quantile(&c, o, m, 0.95), Some(130));
        // Slower than every bucket: the slowest turn itself.
        let (c, o, m) = histogram(&[30_000, 20_000]);
        assert_eq!(quantile(&c, o, m, 0.5), Some(30_000));
    }

    #[test]
    fn no_timed_turns_means_no_percentile() {
        let (c, o, m) = histogram(&[]);
        assert_eq!(quantile(&c, o, m, 0.5), None);
    }

    #[test]
    fn bucket_names_sort_in_bound_order() {
        let names: Vec<String> = LATENCY_BOUNDS_MS
            .iter()
            .map(|&b| bucket_metric(b))
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
