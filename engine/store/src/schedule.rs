//! Recurring jobs: next-run arithmetic from an injected `now`, and idempotent enqueueing.
//!
//! Each scheduled job is enqueued as an ordinary durable job due at its next run time, with
//! the idempotency key `"<name>@<run time>"`. Calling [`Store::ensure_scheduled`] on every
//! runner tick is therefore harmless: each occurrence exists exactly once, survives restarts,
//! and is retried like any other job.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::StoreError;
use crate::jobs::NewJob;
use crate::model::Job;
use crate::store::Store;

/// When a recurring job runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Every day at a local wall-clock time in a business's time zone (e.g. 03:00
    /// Asia/Kolkata). On a DST gap the run moves to the first valid instant after it.
    DailyAt {
        /// Local time.
        time: NaiveTime,
        /// Business time zone.
        tz: Tz,
    },
    /// At every multiple of `period` since the Unix epoch (hourly = on the hour, UTC).
    Every {
        /// Period (≥ 1 s).
        period: Duration,
    },
}

/// A recurring job definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledJob {
    /// Unique name, part of the idempotency key (`purge:himalayan-kitchen`).
    pub name: String,
    /// Handler kind.
    pub kind: String,
    /// Handler input.
    pub payload: serde_json::Value,
    /// When.
    pub schedule: Schedule,
    /// Attempts per occurrence.
    pub max_attempts: u32,
}

impl ScheduledJob {
    /// The daily retention purge of one business at 03:00 in its time zone.
    pub fn daily_purge(business_id: &str, tz: Tz, retention_days: u32) -> ScheduledJob {
        ScheduledJob {
            name: format!("purge:{business_id}"),
            kind: crate::RETENTION_PURGE_KIND.to_owned(),
            payload: serde_json::json!({ "business_id": business_id, "retention_days": retention_days }),
            schedule: Schedule::DailyAt {
                time: NaiveTime::from_hms_opt(3, 0, 0).unwrap_or(NaiveTime::MIN),
                tz,
            },
            max_attempts: 5,
        }
    }

    /// The hourly sweep that re-queues failed WhatsApp sends.
    pub fn hourly_whatsapp_retry() -> ScheduledJob {
        ScheduledJob {
            name: "whatsapp-retry-sweep".to_owned(),
            kind: crate::WHATSAPP_RETRY_SWEEP_KIND.to_owned(),
            payload: serde_json::json!({}),
            schedule: Schedule::Every {
                period: Duration::from_secs(3600),
            },
            max_attempts: 1,
        }
    }
}

impl Schedule {
    /// The first run time strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            Schedule::Every { period } => {
                let p = i64::try_from(period.as_millis())
                    .unwrap_or(i64::MAX)
                    .max(1000);
                let t = now.timestamp_millis();
                let next = (t.div_euclid(p) + 1).saturating_mul(p);
                DateTime::from_timestamp_millis(next).unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
            Schedule::DailyAt { time, tz } => {
                let local_today = now.with_timezone(&tz).date_naive();
                for offset in 0..=2u64 {
                    let Some(day) = local_today.checked_add_days(Days::new(offset)) else {
                        break;
                    };
                    let naive = day.and_time(time);
                    let instant = tz
                        .from_local_datetime(&naive)
                        .earliest()
                        // In a DST gap the wall time does not exist: take the hour after.
                        .or_else(|| {
                            tz.from_local_datetime(&(naive + TimeDelta::hours(1)))
                                .earliest()
                        })
                        .map(|t| t.with_timezone(&Utc));
                    if let Some(at) = instant
                        && at > now
                    {
                        return at;
                    }
                }
                now + TimeDelta::days(1)
            }
        }
    }
}

impl Store {
    /// Makes sure the next occurrence of every scheduled job is enqueued (idempotent). An
    /// occurrence already enqueued but still pending takes the definition's current payload,
    /// so a changed setting (a business's retention, edited and hot-reloaded) applies to the
    /// next run rather than the one after it.
    pub fn ensure_scheduled(
        &self,
        jobs: &[ScheduledJob],
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>, StoreError> {
        ensure_with(
            jobs,
            now,
            |new| self.enqueue_job(new, now),
            |id, payload| self.replace_pending_payload(id, payload, now),
        )
    }
}

/// [`Store::ensure_scheduled`] over any backend's idempotent enqueue and payload update.
pub(crate) fn ensure_with(
    jobs: &[ScheduledJob],
    now: DateTime<Utc>,
    mut enqueue: impl FnMut(&NewJob) -> Result<Job, StoreError>,
    mut replace_payload: impl FnMut(u64, &serde_json::Value) -> Result<Job, StoreError>,
) -> Result<Vec<Job>, StoreError> {
    let mut out = Vec::with_capacity(jobs.len());
    for s in jobs {
        let at = s.schedule.next_after(now);
        let job = enqueue(&NewJob {
            kind: s.kind.clone(),
            payload: s.payload.clone(),
            idempotency_key: format!("{}@{}", s.name, at.to_rfc3339()),
            max_attempts: s.max_attempts,
            due_at: at,
        })?;
        // A changed payload (e.g. a new retention period) reaches the pending occurrence.
        let job = if job.status == crate::model::JobStatus::Pending && job.payload != s.payload {
            replace_payload(job.id, &s.payload)?
        } else {
            job
        };
        out.push(job);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_purge_at_three_am_kolkata() {
        let s = Schedule::DailyAt {
            time: NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
            tz: chrono_tz::Asia::Kolkata,
        };
        // 03:00 IST = 21:30 UTC the previous day.
        assert_eq!(
            s.next_after(utc("2026-11-26T12:00:00Z")),
            utc("2026-11-26T21:30:00Z")
        );
        assert_eq!(
            s.next_after(utc("2026-11-26T21:29:59Z")),
            utc("2026-11-26T21:30:00Z")
        );
        assert_eq!(
            s.next_after(utc("2026-11-26T21:30:00Z")),
            utc("2026-11-27T21:30:00Z")
        );
        assert_eq!(
            s.next_after(utc("2026-11-26T22:00:00Z")),
            utc("2026-11-27T21:30:00Z")
        );
    }

    #[test]
    fn daily_across_dst_gap() {
        // Europe/London springs forward 2026-03-29 01:00 → 02:00; 01:30 does not exist.
        let s = Schedule::DailyAt {
            time: NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
            tz: chrono_tz::Europe::London,
        };
        assert_eq!(
            s.next_after(utc("2026-03-28T12:00:00Z")),
            utc("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            s.next_after(utc("2026-03-29T02:00:00Z")),
            utc("2026-03-30T00:30:00Z")
        );
    }

    #[test]
    fn hourly_on_the_hour() {
        let s = Schedule::Every {
            period: Duration::from_secs(3600),
        };
        assert_eq!(
            s.next_after(utc("2026-11-26T16:54:29Z")),
            utc("2026-11-26T17:00:00Z")
        );
        assert_eq!(
            s.next_after(utc("2026-11-26T17:00:00Z")),
            utc("2026-11-26T18:00:00Z")
        );
    }
}
