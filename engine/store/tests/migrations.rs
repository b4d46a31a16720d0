//! Migrations: fixtures from every earlier version upgrade; failures roll back; newer files
//! are refused; `migrations/` and the code registry stay in step.

mod common;

use std::path::PathBuf;

use chrono::NaiveDate;
use redb::WriteTransaction;
use vartalaap_store::fixtures::{FIXTURE_BUSINESS, FIXTURE_PHONE, fixture_crypto, fixture_date};
use vartalaap_store::migrate::{MIGRATIONS, Migration};
use vartalaap_store::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn fixtures_from_every_earlier_version_upgrade() {
    for version in 1..SCHEMA_VERSION {
        let src = repo().join(format!("tests/fixtures/store/v{version}.redb"));
        assert!(
            src.exists(),
            "missing fixture {} (run the gen_store_fixtures example)",
            src.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        std::fs::copy(&src, &path).unwrap();

        let report = migrate_file(&path).unwrap();
        assert_eq!(
            (report.from, report.to),
            (version, SCHEMA_VERSION),
            "v{version}"
        );
        assert_eq!(report.applied.len(), (SCHEMA_VERSION - version) as usize);

        let store = Store::open(&path, fixture_crypto()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        // 0002 backfilled the phone index.
        let hash = store
            .crypto()
            .hash(&PhoneNumber::parse(FIXTURE_PHONE).unwrap());
        let found = store
            .find_reservations_by_phone(&hash, fixture_date())
            .unwrap();
        assert_eq!(found.len(), 1, "v{version}: phone index");
        let r = &found[0];
        assert_eq!(
            store
                .crypto()
                .decrypt(r.phone_encrypted.as_ref().unwrap())
                .unwrap()
                .expose_e164(),
            "+919876543210"
        );
        // 0003 backfilled the aggregates.
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let aggs = store
            .daily_aggregates(
                FIXTURE_BUSINESS,
                day,
                NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            )
            .unwrap();
        let calls: u64 = aggs.iter().map(|a| a.calls).sum();
        let covers: u64 = aggs.iter().map(|a| a.covers).sum();
        let bookings: u64 = aggs.iter().map(|a| a.reservations).sum();
        // 0004: only the standing booking counts (v3 had counted the cancelled one too), and
        // the bot's timed turn is in the latency histogram.
        assert_eq!((calls, bookings, covers), (1, 1, 4), "v{version}: {aggs:?}");
        let call_day = aggs.iter().find(|a| a.calls == 1).unwrap();
        assert_eq!(call_day.turns_timed, 1, "v{version}: {aggs:?}");
        assert_eq!(call_day.turn_latency_p50_ms, Some(640), "v{version}");
        // Old rows still decode and new writes continue the id sequence.
        let call = store.get_call(1).unwrap().unwrap();
        assert_eq!(call.turns.len(), 2);
        let mut req = common::request(2, "20:00", None, false);
        req.business_id = FIXTURE_BUSINESS.into();
        req.date = fixture_date();
        let rule = CapacityRule {
            capacity_covers: 6,
            hold_minutes: 90,
        };
        assert_eq!(
            store
                .book(&req, &rule, common::now())
                .unwrap()
                .reservation
                .id,
            3
        );
        assert!(
            matches!(
                store.book(&req, &rule, common::now()),
                Err(BookingError::Full { .. })
            ),
            "old rows count for capacity"
        );
        // 0004 converted the old review and suggestion and indexed them.
        let review = store
            .review_for_call(1)
            .unwrap()
            .expect("review indexed by call");
        assert_eq!(
            (review.quality_score, review.reviewed_by.as_str()),
            (2, "manager"),
            "v{version}"
        );
        let kinds: Vec<&str> = review.issues.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["slow_reply", "reviewer_note"], "v{version}");
        assert!(review.has_ux_issue && !review.has_knowledge_gap);
        let pending = store
            .list_suggestions(
                &SuggestionFilter {
                    business_id: Some(FIXTURE_BUSINESS.into()),
                    status: Some(SuggestionStatus::Pending),
                    category: None,
                },
                &PageRequest::default(),
            )
            .unwrap()
            .items;
        assert_eq!(pending.len(), 1, "v{version}: accepted became pending");
        assert_eq!(pending[0].category, ReviewCategory::KnowledgeGap);
        assert_eq!(
            pending[0].target.file,
            format!("businesses/{FIXTURE_BUSINESS}.yaml")
        );
        // Opening again is a no-op.
        drop(store);
        assert!(migrate_file(&path).unwrap().applied.is_empty());
    }
}

fn create_marker(txn: &WriteTransaction) -> Result<(), StoreError> {
    const MARK: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("marker");
    txn.open_table(MARK)?.insert("written", 1)?;
    Ok(())
}

fn write_then_fail(txn: &WriteTransaction) -> Result<(), StoreError> {
    create_marker(txn)?;
    Err(StoreError::Invalid {
        field: "test",
        problem: "injected failure".into(),
    })
}

#[test]
fn failing_migration_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    drop(Store::open(&path, common::crypto()).unwrap());
    let mut steps: Vec<Migration> = MIGRATIONS.to_vec();
    steps.push(Migration {
        version: SCHEMA_VERSION + 1,
        name: "injected_failure",
        apply: write_then_fail,
    });
    let err = match Store::open_with_migrations(&path, common::crypto(), &steps) {
        Err(e) => e,
        Ok(_) => panic!("migration should fail"),
    };
    let msg = err.to_string();
    assert!(
        matches!(err, OpenError::Migration { version, left_at, .. } if version == SCHEMA_VERSION + 1 && left_at == SCHEMA_VERSION),
        "{msg}"
    );
    assert!(
        msg.contains("injected failure") && msg.contains("rolled back"),
        "{msg}"
    );
    // Still at the old version, and the table the failing step created does not exist.
    let db = redb::Database::open(&path).unwrap();
    assert_eq!(
        vartalaap_store::migrate::schema_version(&db).unwrap(),
        SCHEMA_VERSION
    );
    use redb::ReadableDatabase;
    let txn = db.begin_read().unwrap();
    let names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| redb::TableHandle::name(&t).to_owned())
        .collect();
    assert!(!names.contains(&"marker".to_owned()), "{names:?}");
}

#[test]
fn a_newer_database_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    drop(Store::open(&path, common::crypto()).unwrap());
    let mut future: Vec<Migration> = MIGRATIONS.to_vec();
    for v in SCHEMA_VERSION + 1..=7 {
        future.push(Migration {
            version: v,
            name: "future",
            apply: create_marker,
        });
    }
    drop(Store::open_with_migrations(&path, common::crypto(), &future).unwrap());
    let err = match Store::open(&path, common::crypto()) {
        Err(e) => e,
        Ok(_) => panic!("newer database must be refused"),
    };
    assert_eq!(
        err.to_string(),
        format!(
            "database schema version 7 is newer than this vartalaap (supports up to {SCHEMA_VERSION}); upgrade vartalaap"
        )
    );
}

#[test]
fn migrations_directory_matches_the_registry() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    files.sort();
    let expected: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}.md", m.version, m.name))
        .collect();
    assert_eq!(files, expected);
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version as usize, i + 1, "versions are contiguous from 1");
        let text = std::fs::read_to_string(repo().join("migrations").join(&expected[i])).unwrap();
        assert!(
            text.starts_with(&format!("# {:04} {}", m.version, m.name)),
            "{}",
            expected[i]
        );
        assert!(
            text.contains(&format!("**{}**", m.version)),
            "{} names its resulting version",
            expected[i]
        );
    }
    assert_eq!(MIGRATIONS.last().unwrap().version, SCHEMA_VERSION);
}
