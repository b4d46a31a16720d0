//! Durable jobs: leases, retries with backoff, dead letters, schedules.

mod common;

use std::time::Duration;

use chrono::TimeDelta;
use common::*;
use serde_json::json;
use vartalaap_store::*;

fn job(key: &str, max_attempts: u32) -> NewJob {
    NewJob {
        kind: "test".into(),
        payload: json!({"n": 1}),
        idempotency_key: key.into(),
        max_attempts,
        due_at: now(),
    }
}

const LEASE: Duration = Duration::from_secs(30);
const BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(10),
    max: Duration::from_secs(600),
};

fn failure(msg: &str) -> JobFailure {
    JobFailure {
        message: msg.into(),
        retry_after: None,
        permanent: false,
    }
}

#[test]
fn enqueue_is_idempotent_and_claims_respect_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = store.enqueue_job(&job("a", 3), now()).unwrap();
    assert_eq!(store.enqueue_job(&job("a", 3), now()).unwrap().id, a.id);
    let mut later = job("b", 3);
    later.due_at = now() + TimeDelta::minutes(5);
    store.enqueue_job(&later, now()).unwrap();

    let claimed = store.claim_jobs("w1", now(), LEASE, 10).unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [a.id]);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].lease_owner.as_deref(), Some("w1"));
    // Leased: nobody else gets it before the lease expires.
    assert!(
        store
            .claim_jobs("w2", now() + TimeDelta::seconds(29), LEASE, 10)
            .unwrap()
            .is_empty()
    );
    // After 5 minutes both the expired lease and the later job are claimable.
    let again = store
        .claim_jobs("w2", now() + TimeDelta::minutes(5), LEASE, 10)
        .unwrap();
    assert_eq!(again.len(), 2);
    // w1's lease was taken over: its completion is refused.
    assert!(matches!(
        store.complete_job(a.id, "w1", now()),
        Err(JobError::LeaseLost { .. })
    ));
    let done = store
        .complete_job(a.id, "w2", now() + TimeDelta::minutes(5))
        .unwrap();
    assert_eq!((done.status, done.attempts), (JobStatus::Done, 2));
    assert!(
        store
            .claim_jobs("w3", now() + TimeDelta::days(1), LEASE, 10)
            .unwrap()
            .len()
            == 1,
        "only job b's lease remains"
    );
}

#[test]
fn failures_back_off_then_dead_letter_then_retry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = store.enqueue_job(&job("x", 3), now()).unwrap().id;
    let mut jitter = FixedJitter(0.0);
    let mut t = now();
    let mut delays = Vec::new();
    for attempt in 1..=3 {
        let claimed = store.claim_jobs("w", t, LEASE, 1).unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        match store
            .fail_job(id, "w", &failure("boom"), &BACKOFF, &mut jitter, t)
            .unwrap()
        {
            JobFate::Retry(at) => {
                delays.push((at - t).num_seconds());
                assert!(
                    store
                        .claim_jobs("w", at - TimeDelta::seconds(1), LEASE, 1)
                        .unwrap()
                        .is_empty()
                );
                t = at;
            }
            JobFate::Dead => assert_eq!(attempt, 3),
        }
    }
    assert_eq!(
        delays,
        [5, 10],
        "exponential with jitter 0 = half of 10 s, 20 s"
    );
    let dead = store.dead_letters(&PageRequest::default()).unwrap();
    assert_eq!(dead.items.len(), 1);
    assert_eq!(dead.items[0].last_error.as_deref(), Some("boom"));
    assert!(
        store
            .claim_jobs("w", t + TimeDelta::days(1), LEASE, 1)
            .unwrap()
            .is_empty(),
        "dead jobs are not claimed"
    );

    let retried = store.retry_dead(id, t).unwrap();
    assert_eq!((retried.status, retried.attempts), (JobStatus::Pending, 0));
    assert!(matches!(
        store.retry_dead(id, t),
        Err(JobError::NotDead { .. })
    ));
    assert!(matches!(
        store.retry_dead(999, t),
        Err(JobError::NotFound(999))
    ));
    let c = store.claim_jobs("w", t, LEASE, 1).unwrap();
    assert_eq!(c.len(), 1);
    // Permanent failures and Retry-After.
    let ra = JobFailure {
        message: "429".into(),
        retry_after: Some(Duration::from_secs(7)),
        permanent: false,
    };
    assert_eq!(
        store
            .fail_job(id, "w", &ra, &BACKOFF, &mut jitter, t)
            .unwrap(),
        JobFate::Retry(t + TimeDelta::seconds(7))
    );
    store
        .claim_jobs("w", t + TimeDelta::seconds(7), LEASE, 1)
        .unwrap();
    let perm = JobFailure {
        message: "400".into(),
        retry_after: None,
        permanent: true,
    };
    assert_eq!(
        store
            .fail_job(id, "w", &perm, &BACKOFF, &mut jitter, t)
            .unwrap(),
        JobFate::Dead
    );
}

#[test]
fn release_returns_an_unstarted_claim() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = store.enqueue_job(&job("r", 3), now()).unwrap().id;
    store.claim_jobs("w", now(), LEASE, 1).unwrap();
    let j = store.release_job(id, "w", now()).unwrap();
    assert_eq!((j.status, j.attempts), (JobStatus::Pending, 0));
    assert_eq!(store.claim_jobs("w2", now(), LEASE, 1).unwrap().len(), 1);
}

#[test]
fn a_changed_schedule_payload_reaches_the_pending_occurrence() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let tz = chrono_tz::Asia::Kolkata;
    let first = store
        .ensure_scheduled(&[ScheduledJob::daily_purge("hk", tz, 90)], now())
        .unwrap();
    // The owner shortens retention; the next poll carries the new value into the same job.
    let edited = store
        .ensure_scheduled(
            &[ScheduledJob::daily_purge("hk", tz, 30)],
            now() + TimeDelta::minutes(1),
        )
        .unwrap();
    assert_eq!(edited[0].id, first[0].id);
    assert_eq!(edited[0].payload["retention_days"], 30);
    assert_eq!(
        store.get_job(first[0].id).unwrap().unwrap().payload["retention_days"],
        30
    );
    // A job already running keeps the payload it started with.
    store.claim_jobs("w", first[0].due_at, LEASE, 1).unwrap();
    let running = store
        .ensure_scheduled(
            &[ScheduledJob::daily_purge("hk", tz, 7)],
            first[0].due_at - TimeDelta::seconds(1),
        )
        .unwrap();
    assert_eq!(running[0].status, JobStatus::Running);
    assert_eq!(running[0].payload["retention_days"], 30);
}

#[test]
fn schedules_enqueue_each_occurrence_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let schedules = [
        ScheduledJob::daily_purge("himalayan-kitchen", chrono_tz::Asia::Kolkata, 90),
        ScheduledJob::hourly_whatsapp_retry(),
    ];
    assert_eq!(schedules[0].payload["retention_days"], 90);
    // now() = 10:00 UTC = 15:30 IST → next purge 21:30 UTC; next sweep 11:00 UTC.
    let first = store.ensure_scheduled(&schedules, now()).unwrap();
    let again = store
        .ensure_scheduled(&schedules, now() + TimeDelta::minutes(10))
        .unwrap();
    assert_eq!(
        first.iter().map(|j| j.id).collect::<Vec<_>>(),
        again.iter().map(|j| j.id).collect::<Vec<_>>()
    );
    assert_eq!(first[0].due_at, now() + TimeDelta::minutes(11 * 60 + 30));
    assert_eq!(first[1].due_at, now() + TimeDelta::hours(1));
    // Past 11:00 the next hourly occurrence is a new job.
    let later = store
        .ensure_scheduled(&schedules, now() + TimeDelta::minutes(61))
        .unwrap();
    assert_eq!(later[0].id, first[0].id);
    assert_ne!(later[1].id, first[1].id);
    assert_eq!(
        store
            .list_jobs(&JobFilter::default(), &PageRequest::default())
            .unwrap()
            .items
            .len(),
        3
    );
}
