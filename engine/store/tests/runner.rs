//! The job runner: schedules, the purge handler, unknown kinds and graceful shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use common::*;
use tokio_util::sync::CancellationToken;
use vartalaap_store::*;

fn config(schedules: Vec<ScheduledJob>) -> RunnerConfig {
    RunnerConfig {
        owner: "t".into(),
        poll_interval: Duration::from_millis(5),
        schedules,
        ..RunnerConfig::default()
    }
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_purge_runs_at_its_time_unknown_kinds_dead_letter_and_deferred_kinds_wait() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let old = now() - TimeDelta::days(120);
    let call = store
        .create_call(
            &NewCall {
                business_id: "himalayan-kitchen".into(),
                external_call_id: None,
                caller: None,
                started_at: old,
                language: None,
            },
            old,
        )
        .unwrap();
    let stray = store
        .enqueue_job(
            &NewJob {
                kind: "no_such_kind".into(),
                payload: serde_json::json!({}),
                idempotency_key: "stray".into(),
                max_attempts: 5,
                due_at: now(),
            },
            now(),
        )
        .unwrap();
    // A known kind this runner cannot run yet (WhatsApp before its webhook is configured).
    let waiting = store
        .enqueue_job(
            &NewJob {
                kind: "not_configured_yet".into(),
                payload: serde_json::json!({}),
                idempotency_key: "waiting".into(),
                max_attempts: 5,
                due_at: now(),
            },
            now(),
        )
        .unwrap();

    let clock = ManualClock::new(now());
    let runner = JobRunner::new(
        store.clone(),
        config(vec![ScheduledJob::daily_purge(
            "himalayan-kitchen",
            chrono_tz::Asia::Kolkata,
            90,
        )]),
    )
    .register(
        RETENTION_PURGE_KIND,
        PurgeHandler::new(store.clone(), clock.clone()),
    )
    .defer("not_configured_yet")
    .with_clock(clock.clone());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));

    until("stray job dead", || {
        store.get_job(stray.id).unwrap().unwrap().status == JobStatus::Dead
    })
    .await;
    let dead = store.get_job(stray.id).unwrap().unwrap();
    assert!(
        dead.last_error
            .unwrap()
            .contains("no handler registered for job kind \"no_such_kind\"")
    );
    // The purge is enqueued for 03:00 IST (21:30 UTC) and has not run yet.
    let purge = || {
        store
            .list_jobs(
                &JobFilter {
                    status: None,
                    kind: Some(RETENTION_PURGE_KIND.into()),
                },
                &PageRequest::default(),
            )
            .unwrap()
            .items
    };
    until("purge scheduled", || !purge().is_empty()).await;
    assert_eq!(purge()[0].due_at, now() + TimeDelta::minutes(11 * 60 + 30));
    assert!(store.get_call(call.id).unwrap().is_some());
    // At 03:00 IST it runs, and the next day's occurrence is queued.
    clock.set(now() + TimeDelta::minutes(11 * 60 + 30));
    until("purge done", || {
        purge().first().is_some_and(|j| j.status == JobStatus::Done)
    })
    .await;
    assert!(store.get_call(call.id).unwrap().is_none());
    until("next purge", || purge().len() == 2).await;
    assert_eq!(purge()[1].due_at, now() + TimeDelta::minutes(35 * 60 + 30));
    // Many polls later the deferred job is exactly as it was queued: pending, no attempt.
    let waited = store.get_job(waiting.id).unwrap().unwrap();
    assert_eq!(waited.status, JobStatus::Pending);
    assert_eq!(waited.attempts, 0);
    assert_eq!(waited.last_error, None);
    shutdown.cancel();
    task.await.unwrap();
}

struct Slow(Arc<AtomicU32>);

impl JobHandler for Slow {
    fn handle<'a>(&'a self, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_running_job_and_releases_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let ids: Vec<u64> = (0..4)
        .map(|i| {
            store
                .enqueue_job(
                    &NewJob {
                        kind: "slow".into(),
                        payload: serde_json::json!({}),
                        idempotency_key: format!("s{i}"),
                        max_attempts: 3,
                        due_at: now(),
                    },
                    now(),
                )
                .unwrap()
                .id
        })
        .collect();
    let started = Arc::new(AtomicU32::new(0));
    let clock = ManualClock::new(now());
    let runner = JobRunner::new(store.clone(), config(Vec::new()))
        .register("slow", Slow(started.clone()))
        .with_clock(clock);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    until("first job started", || started.load(Ordering::SeqCst) == 1).await;
    shutdown.cancel();
    task.await.unwrap();
    let jobs: Vec<Job> = ids
        .iter()
        .map(|id| store.get_job(*id).unwrap().unwrap())
        .collect();
    assert_eq!(
        jobs[0].status,
        JobStatus::Done,
        "the in-flight job completes"
    );
    for j in &jobs[1..] {
        assert_eq!(
            (j.status, j.attempts, j.lease_owner.as_deref()),
            (JobStatus::Pending, 0, None),
            "unstarted claims are released"
        );
    }
    assert_eq!(started.load(Ordering::SeqCst), 1);
}
