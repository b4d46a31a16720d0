//! What only the PostgreSQL backend has: its SQL migrations (upgrade, rollback, refusing a
//! newer database), several nodes sharing one database (bookings, jobs, single-use keys), and
//! a database that goes away. Each test gets a fresh database on a private server
//! (`pg_test_server`); the shared store suite runs on this backend too.
#![cfg(feature = "postgres")]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use vartalaap_store::pg_test_server::fresh_database;
use vartalaap_store::*;

fn open_pg(url: &str) -> PgStore {
    PgStore::open(url, crypto()).unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_new_database_gets_every_migration_once() {
    let url = fresh_database();
    let report = migrate_url(&url).unwrap();
    assert_eq!((report.from, report.to), (0, PG_SCHEMA_VERSION));
    assert_eq!(report.applied.len(), PG_MIGRATIONS.len());
    let again = migrate_url(&url).unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(open_pg(&url).schema_version().unwrap(), PG_SCHEMA_VERSION);
}

#[test]
fn migration_files_and_the_registry_stay_in_step() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("migrations/postgres"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    let registry: Vec<String> = PG_MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}.sql", m.version, m.name))
        .collect();
    assert_eq!(files, registry);
    for (i, m) in PG_MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version as usize, i + 1, "versions are contiguous from 1");
    }
    assert_eq!(PG_MIGRATIONS.last().unwrap().version, PG_SCHEMA_VERSION);
}

#[test]
fn an_upgrade_keeps_the_data_and_a_failing_step_rolls_back() {
    let url = fresh_database();
    let store = open_pg(&url);
    let booked = store
        .book(&request(4, "19:00", Some("9876543210"), true), &RULE, now())
        .unwrap();
    drop(store);

    // A failing next step: the database stays at the current version, nothing half-applied.
    let mut failing = PG_MIGRATIONS.to_vec();
    failing.push(PgMigration {
        version: PG_SCHEMA_VERSION + 1,
        name: "broken",
        sql: "ALTER TABLE reservations ADD COLUMN tag TEXT; SELECT no_such_function();",
    });
    let err = PgStore::open_with_migrations(&url, crypto(), &failing).unwrap_err();
    match err {
        OpenError::Migration {
            version, left_at, ..
        } => {
            assert_eq!(
                (version, left_at),
                (PG_SCHEMA_VERSION + 1, PG_SCHEMA_VERSION)
            );
        }
        other => panic!("expected a migration error, got {other}"),
    }
    let store = open_pg(&url);
    assert_eq!(store.schema_version().unwrap(), PG_SCHEMA_VERSION);

    // A working next step upgrades, and the old rows still read.
    let mut next = PG_MIGRATIONS.to_vec();
    next.push(PgMigration {
        version: PG_SCHEMA_VERSION + 1,
        name: "tagged",
        sql: "ALTER TABLE reservations ADD COLUMN tag TEXT;",
    });
    let upgraded = PgStore::open_with_migrations(&url, crypto(), &next).unwrap();
    assert_eq!(upgraded.schema_version().unwrap(), PG_SCHEMA_VERSION + 1);
    let r = upgraded
        .get_reservation(booked.reservation.id)
        .unwrap()
        .unwrap();
    assert_eq!(r, booked.reservation);

    // This build now refuses the newer database instead of guessing.
    match PgStore::open(&url, crypto()).unwrap_err() {
        OpenError::TooNew { found, supported } => {
            assert_eq!(
                (found, supported),
                (PG_SCHEMA_VERSION + 1, PG_SCHEMA_VERSION)
            );
        }
        other => panic!("expected TooNew, got {other}"),
    }
    assert!(matches!(
        migrate_url(&url).unwrap_err(),
        OpenError::TooNew { .. }
    ));
}

#[test]
fn phones_are_stored_only_as_the_same_ciphertext_and_hash_as_redb() {
    let url = fresh_database();
    let store = open_pg(&url);
    store
        .book(
            &request(2, "19:00", Some("+91 98765 43210"), true),
            &RULE,
            now(),
        )
        .unwrap();
    let mut raw = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for table in [
        "reservations",
        "call_logs",
        "callback_requests",
        "jobs",
        "whatsapp_followups",
    ] {
        for row in raw
            .query(&format!("SELECT t::text FROM {table} t"), &[])
            .unwrap()
        {
            let text: String = row.get(0);
            assert!(
                !text.contains("9876543210"),
                "{table} holds a plaintext number: {text}"
            );
        }
    }
    let row = raw
        .query_one(
            "SELECT phone_hash, doc->>'phone_encrypted' FROM reservations",
            &[],
        )
        .unwrap();
    let (hash, encrypted): (String, String) = (row.get(0), row.get(1));
    let c = crypto();
    assert_eq!(hash, c.hash(&phone("9876543210")).as_str());
    assert_eq!(
        c.decrypt(&EncryptedPhone::from_stored(encrypted))
            .unwrap()
            .expose_e164(),
        "+919876543210"
    );
}

#[test]
fn fifty_concurrent_bookings_on_two_nodes_fill_exactly_the_last_covers() {
    let url = fresh_database();
    let nodes = [Arc::new(open_pg(&url)), Arc::new(open_pg(&url))];
    // 20 covers, 14 already taken: exactly three parties of two still fit.
    nodes[0]
        .book(&request(14, "19:00", None, false), &RULE, now())
        .unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let node = nodes[i % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                node.book(&request(2, "19:30", None, false), &RULE, now())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let full = results
        .iter()
        .filter(|r| matches!(r, Err(BookingError::Full { .. })))
        .count();
    assert_eq!((ok, full), (3, 47), "{results:?}");
    let day = nodes[1]
        .daily_aggregates("himalayan-kitchen", day(), day())
        .unwrap();
    assert_eq!((day[0].reservations, day[0].covers), (4, 20));
}

#[test]
fn workers_on_two_nodes_never_claim_the_same_job() {
    let url = fresh_database();
    let nodes = [Arc::new(open_pg(&url)), Arc::new(open_pg(&url))];
    for i in 0..40 {
        nodes[0]
            .enqueue_job(
                &NewJob {
                    kind: "k".into(),
                    payload: serde_json::json!({ "i": i }),
                    idempotency_key: format!("job-{i}"),
                    max_attempts: 3,
                    due_at: now(),
                },
                now(),
            )
            .unwrap();
    }
    let handles: Vec<_> = (0..8)
        .map(|w| {
            let node = nodes[w % 2].clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                loop {
                    let got = node
                        .claim_jobs(&format!("w{w}"), now(), Duration::from_secs(60), 3)
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    for job in got {
                        node.complete_job(job.id, &format!("w{w}"), now()).unwrap();
                        mine.push(job.id);
                    }
                }
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let claimed = all.len();
    all.dedup();
    assert_eq!((claimed, all.len()), (40, 40), "every job exactly once");

    // A lease that runs out (its node died) lets another node claim the job again.
    let job = nodes[0]
        .enqueue_job(
            &NewJob {
                kind: "k".into(),
                payload: serde_json::json!({}),
                idempotency_key: "lease".into(),
                max_attempts: 3,
                due_at: now(),
            },
            now(),
        )
        .unwrap();
    let lease = Duration::from_secs(30);
    assert_eq!(
        nodes[0].claim_jobs("dead", now(), lease, 1).unwrap().len(),
        1
    );
    assert!(
        nodes[1]
            .claim_jobs("alive", now(), lease, 1)
            .unwrap()
            .is_empty()
    );
    let later = now() + chrono::TimeDelta::seconds(31);
    let again = nodes[1].claim_jobs("alive", later, lease, 1).unwrap();
    assert_eq!((again[0].id, again[0].attempts), (job.id, 2));
    assert!(matches!(
        nodes[0].complete_job(job.id, "dead", later),
        Err(JobError::LeaseLost { .. })
    ));
    nodes[1].complete_job(job.id, "alive", later).unwrap();
}

#[test]
fn a_single_use_key_is_used_once_across_nodes() {
    let url = fresh_database();
    let nodes = [Arc::new(open_pg(&url)), Arc::new(open_pg(&url))];
    let barrier = Arc::new(Barrier::new(20));
    let expires = now() + chrono::TimeDelta::minutes(5);
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let node = nodes[i % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                node.use_once("stream-token:abc", expires, now()).unwrap()
            })
        })
        .collect();
    let firsts = handles
        .into_iter()
        .filter(|_| true)
        .map(|h| h.join().unwrap())
        .filter(|first| *first)
        .count();
    assert_eq!(firsts, 1);
    // Expired: usable again.
    assert!(
        nodes[1]
            .use_once(
                "stream-token:abc",
                expires + chrono::TimeDelta::minutes(5),
                expires
            )
            .unwrap()
    );
}

#[test]
fn an_unreachable_database_is_unavailable_with_a_reason_and_recovers() {
    let url = fresh_database();
    let store = open_pg(&url);
    let dbname = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let admin_url = vartalaap_store::pg_test_server::server_url("postgres");
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {dbname} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}';"
        ))
        .unwrap();
    let err = store
        .book(&request(2, "19:00", None, false), &RULE, now())
        .unwrap_err();
    match err {
        BookingError::Store(StoreError::Unavailable { reason }) => {
            assert!(reason.contains("PostgreSQL"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other}"),
    }
    assert!(store.write_outage().is_some());
    assert!(store.probe_writes().is_err());

    admin
        .batch_execute(&format!("ALTER DATABASE {dbname} ALLOW_CONNECTIONS true"))
        .unwrap();
    store.probe_writes().unwrap();
    assert_eq!(store.write_outage(), None);
    store
        .book(&request(2, "19:00", None, false), &RULE, now())
        .unwrap();

    // A server that is not there at all: refused at open, never a panic.
    let nowhere = "postgresql://postgres@%2Fnonexistent-vartalaap:5432/x?connect_timeout=2";
    assert!(matches!(
        PgStore::open(nowhere, crypto()).unwrap_err(),
        OpenError::Store(StoreError::Unavailable { .. })
    ));
}

#[test]
fn the_er_diagram_in_the_docs_matches_the_migrated_schema() {
    let url = fresh_database();
    migrate_url(&url).unwrap();
    let diagram = schema_diagram(&url).unwrap();
    let docs = std::fs::read_to_string(repo().join("docs/STORAGE.md")).unwrap();
    let start = "<!-- schema-diagram:start (vartalaap schema-diagram) -->\n```mermaid\n";
    let end = "```\n<!-- schema-diagram:end -->";
    let documented = docs
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(block, _)| block)
        .expect("docs/STORAGE.md has the schema-diagram block");
    assert!(
        documented == diagram,
        "docs/STORAGE.md's ER diagram is out of date: replace the mermaid block between the \
         schema-diagram markers with the output of `DATABASE_URL=postgres://… vartalaap \
         schema-diagram` (after `vartalaap migrate`), which is:\n{diagram}"
    );
    assert!(diagram.contains("call_logs ||--o{ conversation_turns : \"call_id\""));
    assert!(diagram.contains("bigint id PK"));
}

/// Fills a redb store with one record of every kind through its public API.
fn fill_redb(store: &Store) -> (u64, u64) {
    let booked = store
        .book(&request(4, "19:00", Some("9876543210"), true), &RULE, now())
        .unwrap();
    store
        .book(&request(2, "20:00", None, false), &RULE, now())
        .unwrap();
    let call = store
        .create_call(
            &NewCall {
                business_id: "himalayan-kitchen".into(),
                external_call_id: Some("plivo-1".into()),
                caller: Some(phone("9876543210")),
                started_at: now(),
                language: Some("hi".into()),
            },
            now(),
        )
        .unwrap();
    for (role, text) in [
        (TurnRole::Caller, "table chahiye"),
        (TurnRole::Bot, "kitne log?"),
    ] {
        store
            .append_turn(
                call.id,
                &NewTurn {
                    role,
                    text: text.into(),
                    language: Some("hi".into()),
                    stt_confidence: Some(0.87),
                    started_at: now(),
                    timings: TurnTimings {
                        total_ms: Some(640),
                        ..TurnTimings::default()
                    },
                    handled_by: None,
                    interrupted: false,
                    played_ms: Some(900),
                    intended_text: None,
                    tts_fallbacks: Vec::new(),
                    config_errors: Vec::new(),
                    corrected_slots: Vec::new(),
                },
                now(),
            )
            .unwrap();
    }
    store
        .finish_call(
            call.id,
            &CallEnd {
                ended_at: now() + chrono::TimeDelta::minutes(2),
                outcome: CallOutcome::ReservationMade,
                reservation_id: Some(booked.reservation.id),
                language: None,
                summary: Some("booked 4".into()),
            },
            now(),
        )
        .unwrap();
    store
        .update_caller_preferences(
            &store.crypto().hash(&phone("9876543210")),
            &CallerUpdate {
                language: Some("hi".into()),
                name: Some("Asha".into()),
                whatsapp_consent: Some(true),
                call_at: Some(now()),
            },
            now(),
        )
        .unwrap();
    store
        .create_callback(
            &NewCallback {
                business_id: "himalayan-kitchen".into(),
                call_id: Some(call.id),
                customer_name: Some("Ravi".into()),
                phone: Some(phone("9123456789")),
                party_size: Some(30),
                requested_date: Some(day()),
                requested_time: Some(t("20:00")),
                reason: CallbackReason::LargeParty,
                notes: None,
            },
            now(),
        )
        .unwrap();
    store
        .save_review(
            &NewReview {
                call_id: call.id,
                quality_score: 4,
                issues: Vec::new(),
                has_unanswered_query: false,
                agent_model: "offline".into(),
                review_latency_ms: 3,
                reviewed_by: "test".into(),
            },
            &[NewSuggestion {
                category: ReviewCategory::KnowledgeGap,
                title: "Add parking".into(),
                description: "Callers ask about parking".into(),
                target: SuggestionTarget {
                    file: "businesses/himalayan_kitchen.yaml".into(),
                    yaml_path: None,
                    flow_step: None,
                },
                priority: 2,
                proposed_text: None,
            }],
            now(),
        )
        .unwrap();
    assert!(
        store
            .use_once("nonce:1", now() + chrono::TimeDelta::hours(1), now())
            .unwrap()
    );
    (booked.reservation.id, call.id)
}

#[test]
fn a_redb_database_moves_into_postgresql_unchanged_with_phones_still_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let redb = open(&dir);
    let (reservation_id, call_id) = fill_redb(&redb);
    let url = fresh_database();
    let pg = open_pg(&url);
    let report = pg.import_redb(&redb).unwrap();
    assert_eq!(report["reservations"], 2, "{report:?}");
    assert_eq!(report["conversation_turns"], 2, "{report:?}");

    let all = PageRequest {
        after: None,
        limit: 500,
    };
    assert_eq!(
        pg.list_reservations(&ReservationFilter::default(), &all)
            .unwrap(),
        redb.list_reservations(&ReservationFilter::default(), &all)
            .unwrap()
    );
    assert_eq!(
        pg.get_call(call_id).unwrap(),
        redb.get_call(call_id).unwrap()
    );
    assert_eq!(
        pg.list_jobs(&JobFilter::default(), &all).unwrap(),
        redb.list_jobs(&JobFilter::default(), &all).unwrap()
    );
    assert_eq!(
        pg.list_callbacks(&CallbackFilter::default(), &all).unwrap(),
        redb.list_callbacks(&CallbackFilter::default(), &all)
            .unwrap()
    );
    assert_eq!(
        pg.review_for_call(call_id).unwrap(),
        redb.review_for_call(call_id).unwrap()
    );
    let review = pg.review_for_call(call_id).unwrap().unwrap();
    assert_eq!(
        pg.suggestions_for_review(review.id).unwrap(),
        redb.suggestions_for_review(review.id).unwrap()
    );
    assert_eq!(
        pg.followups_for_reservation(reservation_id).unwrap(),
        redb.followups_for_reservation(reservation_id).unwrap()
    );
    let hash = redb.crypto().hash(&phone("9876543210"));
    assert_eq!(
        pg.get_caller_preferences(&hash).unwrap(),
        redb.get_caller_preferences(&hash).unwrap()
    );
    assert_eq!(
        pg.daily_aggregates("himalayan-kitchen", day(), day())
            .unwrap(),
        redb.daily_aggregates("himalayan-kitchen", day(), day())
            .unwrap()
    );
    let mid = now().date_naive();
    assert_eq!(
        pg.daily_aggregates("himalayan-kitchen", mid, mid).unwrap(),
        redb.daily_aggregates("himalayan-kitchen", mid, mid)
            .unwrap()
    );
    // Same ciphertext, still decryptable with the same keys; the marker still blocks a replay.
    let moved = pg.get_reservation(reservation_id).unwrap().unwrap();
    assert_eq!(
        pg.crypto()
            .decrypt(moved.phone_encrypted.as_ref().unwrap())
            .unwrap(),
        phone("9876543210")
    );
    assert!(
        !pg.use_once("nonce:1", now() + chrono::TimeDelta::hours(2), now())
            .unwrap()
    );
    // New records continue after the copied ids; a second import is refused.
    let next = pg
        .book(&request(2, "21:00", None, false), &RULE, now())
        .unwrap();
    assert_eq!(next.reservation.id, 3);
    assert!(matches!(
        pg.import_redb(&redb).unwrap_err(),
        StoreError::Invalid {
            field: "DATABASE_URL",
            ..
        }
    ));
}
