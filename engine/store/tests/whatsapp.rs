//! WhatsApp follow-ups through the real job runner against a local webhook that fails (500),
//! stalls past the timeout, rate-limits with Retry-After, then succeeds.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use common::webhook::{Behaviour, Webhook};
use common::*;
use tokio_util::sync::CancellationToken;
use vartalaap_store::*;

const TIMEOUT: Duration = Duration::from_millis(300);

fn sender(url: &str) -> WhatsAppSender {
    WhatsAppSender::new(WhatsAppConfig {
        webhook_url: url.into(),
        token: WebhookToken::new("test-token"),
        timeout: TIMEOUT,
    })
    .unwrap()
}

fn message() -> FollowupMessage {
    FollowupMessage {
        template: "reservation_confirmed".into(),
        language: "en".into(),
        idempotency_key: "key-1".into(),
        to: phone("098765 43210"),
        restaurant: "Himalayan Kitchen".into(),
        date: "2026-12-01".into(),
        time: "19:30".into(),
        party_size: 4,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_classifies_each_answer() {
    let hook = Webhook::start(vec![
        Behaviour::Fail500,
        Behaviour::Stall(Duration::from_secs(3)),
        Behaviour::RateLimited {
            retry_after_secs: 7,
        },
        Behaviour::Reject400,
    ])
    .await;
    let s = sender(&hook.url);
    assert_eq!(
        s.send(&message()).await.unwrap_err(),
        SendError::Server(500)
    );
    assert_eq!(
        s.send(&message()).await.unwrap_err(),
        SendError::Timeout(TIMEOUT)
    );
    let limited = s.send(&message()).await.unwrap_err();
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
    let rejected = s.send(&message()).await.unwrap_err();
    assert!(rejected.is_permanent(), "{rejected}");
    let ok = s.send(&message()).await.unwrap();
    assert_eq!(
        (ok.status, ok.message_id.as_deref()),
        (200, Some("wamid.key-1"))
    );
    // Wire shape: bearer token, idempotency key, decrypted number only in the body.
    for seen in hook.attempts() {
        assert_eq!(seen.authorization.as_deref(), Some("Bearer test-token"));
        assert_eq!(seen.idempotency_header.as_deref(), Some("key-1"));
        assert_eq!(seen.body["to"], "+919876543210");
        assert_eq!(seen.body["template"], "reservation_confirmed");
        assert_eq!(
            seen.body["parameters"],
            serde_json::json!({"restaurant": "Himalayan Kitchen", "date": "2026-12-01", "time": "19:30", "party_size": 4})
        );
    }
    // Errors never carry the number or the token.
    for e in [SendError::Timeout(TIMEOUT), limited, rejected] {
        let text = format!("{e} {e:?}");
        assert!(
            !text.contains("98765") && !text.contains("test-token"),
            "{text}"
        );
    }
}

async fn wait_for(store: &Arc<Store>, job_id: u64, what: &str, pred: impl Fn(&Job) -> bool) -> Job {
    for _ in 0..2000 {
        let job = store.get_job(job_id).unwrap().unwrap();
        if pred(&job) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followup_is_delivered_once_through_failures_timeouts_and_429() {
    let hook = Webhook::start(vec![
        Behaviour::Fail500,
        Behaviour::Stall(Duration::from_secs(2)),
        Behaviour::RateLimited {
            retry_after_secs: 1,
        },
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let booked = store
        .book(
            &request(4, "19:30", Some("+91 98765 43210"), true),
            &RULE,
            now(),
        )
        .unwrap();
    // A booking without consent must never produce a send.
    store
        .book(
            &request(2, "19:30", Some("9876500000"), false),
            &RULE,
            now(),
        )
        .unwrap();
    let job_id = booked.followup_job_id.unwrap();

    let clock = ManualClock::new(now());
    let config = RunnerConfig {
        owner: "test-worker".into(),
        poll_interval: Duration::from_millis(5),
        lease: Duration::from_secs(60),
        batch: 4,
        backoff: Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
        },
        schedules: Vec::new(),
    };
    let handler = WhatsAppFollowupHandler::new(store.clone(), sender(&hook.url), clock.clone());
    let runner = JobRunner::new(store.clone(), config)
        .register(WHATSAPP_FOLLOWUP_KIND, handler)
        .with_clock(clock.clone())
        .with_jitter(Box::new(FixedJitter(0.0)));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));

    // Attempt 1: 500 → exponential backoff (10 s base, jitter 0 → 5 s).
    let j = wait_for(&store, job_id, "first failure", |j| {
        j.status == JobStatus::Pending && j.attempts == 1
    })
    .await;
    assert_eq!(j.due_at - clock.now(), TimeDelta::seconds(5));
    assert!(j.last_error.as_deref().unwrap().contains("500"));
    clock.set(j.due_at);
    // Attempt 2: stall past the 300 ms timeout → 10 s.
    let j = wait_for(&store, job_id, "timeout", |j| {
        j.status == JobStatus::Pending && j.attempts == 2
    })
    .await;
    assert_eq!(j.due_at - clock.now(), TimeDelta::seconds(10));
    assert!(
        j.last_error.as_deref().unwrap().contains("did not answer"),
        "{:?}",
        j.last_error
    );
    clock.set(j.due_at);
    // Attempt 3: 429 Retry-After: 1 → due in exactly 1 s, not the 20 s backoff.
    let j = wait_for(&store, job_id, "rate limit", |j| {
        j.status == JobStatus::Pending && j.attempts == 3
    })
    .await;
    assert_eq!(j.due_at - clock.now(), TimeDelta::seconds(1));
    // Not claimable before Retry-After has passed.
    clock.set(j.due_at - TimeDelta::milliseconds(1));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(store.get_job(job_id).unwrap().unwrap().attempts, 3);
    clock.set(j.due_at);
    // Attempt 4 succeeds.
    let j = wait_for(&store, job_id, "success", |j| j.status == JobStatus::Done).await;
    assert_eq!(j.attempts, 4);
    shutdown.cancel();
    task.await.unwrap();

    let attempts = hook.attempts();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    let key = &booked.followup.as_ref().unwrap().idempotency_key;
    assert!(
        attempts
            .iter()
            .all(|a| a.body["idempotency_key"] == key.as_str())
    );
    assert_eq!(hook.delivered().get(key), Some(&1), "exactly one delivery");
    assert_eq!(
        hook.delivered().len(),
        1,
        "no message for the caller without consent"
    );
    let f = store
        .get_followup(booked.followup.as_ref().unwrap().id)
        .unwrap()
        .unwrap();
    assert_eq!((f.status, f.attempts), (FollowupStatus::Sent, 4));
    assert_eq!(f.provider_message_id, Some(format!("wamid.{key}")));
    assert!(
        store
            .get_reservation(booked.reservation.id)
            .unwrap()
            .unwrap()
            .whatsapp_sent
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_reservation_is_skipped_and_dead_sends_are_swept_back() {
    let hook = Webhook::start(vec![Behaviour::Reject400]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let a = store
        .book(&request(2, "19:30", Some("9876543210"), true), &RULE, now())
        .unwrap();
    let b = store
        .book(&request(2, "20:30", Some("9876543211"), true), &RULE, now())
        .unwrap();
    store.cancel_reservation(b.reservation.id, now()).unwrap();
    let c = store
        .book(&request(2, "21:00", Some("9876543212"), true), &RULE, now())
        .unwrap();
    let withdraw = ReservationChange {
        whatsapp_consent: Some(false),
        ..Default::default()
    };
    store
        .modify_reservation(c.reservation.id, &withdraw, &RULE, now())
        .unwrap();
    let clock = ManualClock::new(now());
    let config = RunnerConfig {
        owner: "w".into(),
        poll_interval: Duration::from_millis(5),
        ..RunnerConfig::default()
    };
    let runner = JobRunner::new(store.clone(), config)
        .register(
            WHATSAPP_FOLLOWUP_KIND,
            WhatsAppFollowupHandler::new(store.clone(), sender(&hook.url), clock.clone()),
        )
        .register(
            WHATSAPP_RETRY_SWEEP_KIND,
            WhatsAppRetrySweepHandler::new(store.clone(), clock.clone(), TimeDelta::hours(24)),
        )
        .with_clock(clock.clone());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    // 400 is permanent: dead at once. The cancelled one is skipped without a request.
    let dead = wait_for(&store, a.followup_job_id.unwrap(), "dead letter", |j| {
        j.status == JobStatus::Dead
    })
    .await;
    assert_eq!(dead.attempts, 1);
    wait_for(&store, b.followup_job_id.unwrap(), "skip", |j| {
        j.status == JobStatus::Done
    })
    .await;
    assert_eq!(
        store
            .get_followup(b.followup.unwrap().id)
            .unwrap()
            .unwrap()
            .status,
        FollowupStatus::Skipped
    );
    assert_eq!(hook.attempts().len(), 1);
    // The hourly sweep re-queues the dead send; the webhook now accepts it.
    let sweep = store
        .enqueue_job(
            &NewJob {
                kind: WHATSAPP_RETRY_SWEEP_KIND.into(),
                payload: serde_json::json!({}),
                idempotency_key: "sweep-1".into(),
                max_attempts: 1,
                due_at: now(),
            },
            now(),
        )
        .unwrap();
    wait_for(&store, sweep.id, "sweep", |j| j.status == JobStatus::Done).await;
    wait_for(&store, a.followup_job_id.unwrap(), "resend", |j| {
        j.status == JobStatus::Done
    })
    .await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(hook.delivered().values().sum::<u32>(), 1);
}

/// The shipped flows ask for WhatsApp consent *after* booking: the consent, the follow-up and
/// its job are written then, once per reservation however often it is asked, and the runner
/// delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_after_booking_queues_one_followup_that_is_delivered() {
    let hook = Webhook::start(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let booked = store
        .book(
            &request(4, "19:30", Some("+91 98765 43210"), false),
            &RULE,
            now(),
        )
        .unwrap();
    assert!(booked.followup.is_none(), "no consent yet: nothing queued");
    let id = booked.reservation.id;

    let first = store.queue_followup(id, &spec(), now()).unwrap();
    assert!(first.created);
    let again = store.queue_followup(id, &spec(), now()).unwrap();
    assert!(!again.created, "asking twice queues nothing new");
    assert_eq!(
        (again.followup.id, again.job_id),
        (first.followup.id, first.job_id)
    );
    assert_eq!(store.followups_for_reservation(id).unwrap().len(), 1);
    let jobs = store
        .list_jobs(
            &JobFilter {
                kind: Some(WHATSAPP_FOLLOWUP_KIND.into()),
                ..JobFilter::default()
            },
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(jobs.items.len(), 1, "{:?}", jobs.items);
    assert!(
        store.get_reservation(id).unwrap().unwrap().whatsapp_consent,
        "the consent is recorded with the follow-up"
    );

    let clock = ManualClock::new(now());
    let config = RunnerConfig {
        owner: "w".into(),
        poll_interval: Duration::from_millis(5),
        ..RunnerConfig::default()
    };
    let runner = JobRunner::new(store.clone(), config)
        .register(
            WHATSAPP_FOLLOWUP_KIND,
            WhatsAppFollowupHandler::new(store.clone(), sender(&hook.url), clock.clone()),
        )
        .with_clock(clock.clone());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    wait_for(&store, first.job_id, "delivery", |j| {
        j.status == JobStatus::Done
    })
    .await;
    // Asked once more after it was sent: still one message.
    let late = store.queue_followup(id, &spec(), now()).unwrap();
    assert!(!late.created);
    assert_eq!(late.followup.status, FollowupStatus::Sent);
    tokio::time::sleep(Duration::from_millis(50)).await;
    shutdown.cancel();
    task.await.unwrap();
    let attempts = hook.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].body["to"], "+919876543210");
    assert_eq!(attempts[0].body["parameters"]["party_size"], 4);
}

/// Consent given after it was withdrawn (and the confirmation skipped) re-arms the same job;
/// a booking without a number, or one no longer confirmed, is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_consent_rearms_a_skipped_followup_and_refuses_what_cannot_be_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let booked = store
        .book(&request(2, "19:30", Some("9876543210"), true), &RULE, now())
        .unwrap();
    let id = booked.reservation.id;
    let job_id = booked.followup_job_id.unwrap();
    store
        .modify_reservation(
            id,
            &ReservationChange {
                whatsapp_consent: Some(false),
                ..Default::default()
            },
            &RULE,
            now(),
        )
        .unwrap();
    // The runner skips it (consent withdrawn) and finishes the job.
    let clock = ManualClock::new(now());
    let hook = Webhook::start(Vec::new()).await;
    let config = RunnerConfig {
        owner: "w".into(),
        poll_interval: Duration::from_millis(5),
        ..RunnerConfig::default()
    };
    let runner = JobRunner::new(store.clone(), config)
        .register(
            WHATSAPP_FOLLOWUP_KIND,
            WhatsAppFollowupHandler::new(store.clone(), sender(&hook.url), clock.clone()),
        )
        .with_clock(clock.clone());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    wait_for(&store, job_id, "skip", |j| j.status == JobStatus::Done).await;
    assert_eq!(
        store
            .get_followup(booked.followup.as_ref().unwrap().id)
            .unwrap()
            .unwrap()
            .status,
        FollowupStatus::Skipped
    );
    // Yes again: the same job runs again and sends.
    let again = store.queue_followup(id, &spec(), now()).unwrap();
    assert_eq!((again.job_id, again.created), (job_id, false));
    for _ in 0..2000 {
        if !hook.attempts().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_for(&store, job_id, "sent", |j| j.status == JobStatus::Done).await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(hook.attempts().len(), 1);
    assert_eq!(
        store
            .get_followup(again.followup.id)
            .unwrap()
            .unwrap()
            .status,
        FollowupStatus::Sent
    );

    let anonymous = store
        .book(&request(2, "20:30", None, false), &RULE, now())
        .unwrap();
    let e = store
        .queue_followup(anonymous.reservation.id, &spec(), now())
        .unwrap_err();
    assert!(e.to_string().contains("no caller number"), "{e}");
    store.cancel_reservation(id, now()).unwrap();
    let e = store.queue_followup(id, &spec(), now()).unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert!(matches!(
        store.queue_followup(999, &spec(), now()),
        Err(BookingError::NotFound(999))
    ));
}
