//! Numbered schema migrations. Each one is described in `migrations/NNNN_name.md` at the repo
//! root (a test keeps that directory and [`MIGRATIONS`] in step) and runs as Rust code here.
//!
//! **Invariant:** a migration and the `schema_version` bump commit in one redb write
//! transaction, so a failure (or a crash) leaves the database exactly at the previous version.
//! A database whose version is above [`SCHEMA_VERSION`] is refused, never "best-effort" read.

use std::collections::BTreeMap;

use redb::{Database, ReadableDatabase, ReadableTable, TableError, WriteTransaction};

use crate::error::{OpenError, StoreError};
use crate::model::{
    CallLog, CallOutcome, ConversationTurn, ImprovementSuggestion, Reservation, ReviewCategory,
    ReviewIssue, SuggestionStatus, SuggestionTarget, TurnRole,
};
use crate::tables::*;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 5;

/// One migration step.
#[derive(Clone, Copy)]
pub struct Migration {
    /// Version the database has after this step (1-based, contiguous).
    pub version: u32,
    /// Matches the `migrations/NNNN_<name>.md` file name.
    pub name: &'static str,
    /// The change; runs inside the transaction that also records `version`.
    pub apply: fn(&WriteTransaction) -> Result<(), StoreError>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Migration({:04}_{})", self.version, self.name)
    }
}

/// Every migration of this build, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial_tables",
        apply: m0001_initial_tables,
    },
    Migration {
        version: 2,
        name: "reservations_by_phone_index",
        apply: m0002_reservations_by_phone,
    },
    Migration {
        version: 3,
        name: "daily_aggregates",
        apply: m0003_daily_aggregates,
    },
    Migration {
        version: 4,
        name: "standing_bookings_handoffs_latency",
        apply: m0004_standing_bookings_handoffs_latency,
    },
    Migration {
        version: 5,
        name: "call_review_records",
        apply: m0005_call_review_records,
    },
];

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Version before.
    pub from: u32,
    /// Version after.
    pub to: u32,
    /// `NNNN_name` of each applied step.
    pub applied: Vec<String>,
}

/// Reads the recorded schema version (0 for a new, empty file).
pub fn schema_version(db: &Database) -> Result<u32, StoreError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let version = meta.get("schema_version")?.map(|v| v.value()).unwrap_or(0);
    u32::try_from(version).map_err(|_| StoreError::invalid("schema_version", "out of range"))
}

/// Applies every pending migration of this build ([`MIGRATIONS`]).
pub fn migrate(db: &Database) -> Result<MigrationReport, OpenError> {
    migrate_with(db, MIGRATIONS)
}

/// Applies pending steps from `migrations` (normally [`MIGRATIONS`]; tests inject failing
/// ones), each in its own write transaction.
pub fn migrate_with(db: &Database, migrations: &[Migration]) -> Result<MigrationReport, OpenError> {
    let supported = migrations.last().map_or(0, |m| m.version);
    let from = schema_version(db)?;
    if from > supported {
        return Err(OpenError::TooNew {
            found: from,
            supported,
        });
    }
    let mut current = from;
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > from) {
        debug_assert_eq!(m.version, current + 1, "migrations must be contiguous");
        let fail = |reason: String| OpenError::Migration {
            version: m.version,
            name: m.name,
            left_at: current,
            reason,
        };
        let txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
        // Dropping `txn` on any error aborts it: nothing of the step is kept.
        (m.apply)(&txn).map_err(|e| fail(e.to_string()))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| fail(e.to_string()))?;
            meta.insert("schema_version", u64::from(m.version))
                .map_err(|e| fail(e.to_string()))?;
        }
        txn.commit().map_err(|e| fail(e.to_string()))?;
        tracing::info!(version = m.version, name = m.name, "Applied migration.");
        applied.push(format!("{:04}_{}", m.version, m.name));
        current = m.version;
    }
    Ok(MigrationReport {
        from,
        to: current,
        applied,
    })
}

/// 0001: every table of the first release. Opening a table in a write transaction creates it.
fn m0001_initial_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)?;
    txn.open_table(RESERVATIONS)?;
    txn.open_multimap_table(RES_BY_DATE)?;
    txn.open_table(CALLS)?;
    txn.open_multimap_table(CALLS_BY_START)?;
    txn.open_table(TURNS)?;
    txn.open_table(CALLER_PREFS)?;
    txn.open_table(FOLLOWUPS)?;
    txn.open_table(REVIEWS)?;
    txn.open_table(SUGGESTIONS)?;
    txn.open_multimap_table(SUGGESTIONS_BY_STATUS)?;
    txn.open_table(CALLBACKS)?;
    txn.open_table(JOBS)?;
    txn.open_table(JOBS_BY_DUE)?;
    txn.open_table(JOBS_BY_KEY)?;
    Ok(())
}

/// 0002: index reservations by (phone hash, date) and backfill it from existing rows.
fn m0002_reservations_by_phone(txn: &WriteTransaction) -> Result<(), StoreError> {
    let rows = txn.open_table(RESERVATIONS)?;
    let mut index = txn.open_multimap_table(RES_BY_PHONE)?;
    for row in rows.iter()? {
        let (id, bytes) = row?;
        let r: Reservation = decode("reservations", id.value(), bytes.value())?;
        if let Some(hash) = &r.phone_hash {
            let date = r.reservation_date.to_string();
            index.insert((hash.as_str(), date.as_str()), r.id)?;
        }
    }
    Ok(())
}

/// 0003: per-business daily counters that outlive retention purges, backfilled from the calls
/// and reservations still stored.
fn m0003_daily_aggregates(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut counts: BTreeMap<(String, String, &'static str), u64> = BTreeMap::new();
    {
        let calls = txn.open_table(CALLS)?;
        for row in calls.iter()? {
            let (id, bytes) = row?;
            let c: CallLog = decode("call_logs", id.value(), bytes.value())?;
            let day = c.started_at.date_naive().to_string();
            *counts.entry((c.business_id, day, "calls")).or_default() += 1;
        }
        let reservations = txn.open_table(RESERVATIONS)?;
        for row in reservations.iter()? {
            let (id, bytes) = row?;
            let r: Reservation = decode("reservations", id.value(), bytes.value())?;
            let day = r.reservation_date.to_string();
            // Same meaning as the live counters: bookings made and covers booked, whatever
            // happened to them later.
            *counts
                .entry((r.business_id.clone(), day.clone(), "reservations"))
                .or_default() += 1;
            *counts.entry((r.business_id, day, "covers")).or_default() += u64::from(r.party_size);
        }
    }
    let mut agg = txn.open_table(AGGREGATES)?;
    for ((business, day, metric), n) in counts {
        agg.insert((business.as_str(), day.as_str(), metric), n)?;
    }
    Ok(())
}

/// 0004: the reservation counters count standing bookings (cancelled ones no longer), and two
/// new kinds of counter — `handoffs` and the turn-latency histogram — are backfilled from the
/// calls and turns still stored (see `crate::aggregates`).
fn m0004_standing_bookings_handoffs_latency(txn: &WriteTransaction) -> Result<(), StoreError> {
    let stale: Vec<(String, String, String)> = {
        let agg = txn.open_table(AGGREGATES)?;
        let mut out = Vec::new();
        for row in agg.iter()? {
            let (key, _) = row?;
            let (business, day, metric) = key.value();
            if matches!(metric, "reservations" | "covers") {
                out.push((business.to_string(), day.to_string(), metric.to_string()));
            }
        }
        out
    };
    {
        let mut agg = txn.open_table(AGGREGATES)?;
        for (business, day, metric) in &stale {
            agg.remove((business.as_str(), day.as_str(), metric.as_str()))?;
        }
    }
    let reservations: Vec<Reservation> = {
        let rows = txn.open_table(RESERVATIONS)?;
        let mut out = Vec::new();
        for row in rows.iter()? {
            let (id, bytes) = row?;
            out.push(decode("reservations", id.value(), bytes.value())?);
        }
        out
    };
    for r in &reservations {
        crate::aggregates::reservation_changed(txn, None, r)?;
    }
    let calls: Vec<CallLog> = {
        let rows = txn.open_table(CALLS)?;
        let mut out = Vec::new();
        for row in rows.iter()? {
            let (id, bytes) = row?;
            out.push(decode("call_logs", id.value(), bytes.value())?);
        }
        out
    };
    for call in &calls {
        let day = call.started_at.date_naive().to_string();
        if call.outcome == CallOutcome::Transferred {
            crate::aggregates::adjust(txn, &call.business_id, &day, "handoffs", 1)?;
        }
        let latencies: Vec<u32> = {
            let turns = txn.open_table(TURNS)?;
            let mut out = Vec::new();
            for row in turns.range((call.id, 0)..=(call.id, u32::MAX))? {
                let (key, bytes) = row?;
                let (c, s) = key.value();
                let turn: ConversationTurn =
                    decode("conversation_turns", format!("{c}/{s}"), bytes.value())?;
                if let (TurnRole::Bot, Some(ms)) = (turn.role, turn.timings.total_ms) {
                    out.push(ms);
                }
            }
            out
        };
        for ms in latencies {
            crate::aggregates::turn_latency(txn, &call.business_id, &day, ms)?;
        }
    }
    Ok(())
}

/// A review row as written before 0005 (the first release's shape; no code path of that
/// release wrote one, but a database may hold rows written through the library).
#[derive(serde::Deserialize)]
struct ReviewV1 {
    id: u64,
    call_id: u64,
    business_id: String,
    reviewer: Option<String>,
    rating: Option<u8>,
    issues: Vec<String>,
    notes: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// A suggestion row as written before 0005.
#[derive(serde::Deserialize)]
struct SuggestionV1 {
    id: u64,
    business_id: String,
    call_id: Option<u64>,
    review_id: Option<u64>,
    category: String,
    title: String,
    description: String,
    status: String,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// 0005: reviews and suggestions take the review loop's shape (`migrations/0005_*.md` gives
/// the field mapping); the one-review-per-call index is built, and the suggestion status index
/// is rebuilt with the new status names.
fn m0005_call_review_records(txn: &WriteTransaction) -> Result<(), StoreError> {
    let old_reviews: Vec<ReviewV1> = {
        let rows = txn.open_table(REVIEWS)?;
        let mut out = Vec::new();
        for row in rows.iter()? {
            let (id, bytes) = row?;
            out.push(decode("transcript_reviews", id.value(), bytes.value())?);
        }
        out
    };
    let mut call_of_review = BTreeMap::new();
    {
        let mut reviews = txn.open_table(REVIEWS)?;
        let mut by_call = txn.open_table(REVIEWS_BY_CALL)?;
        for old in old_reviews {
            let mut issues: Vec<ReviewIssue> = old
                .issues
                .iter()
                .map(|tag| ReviewIssue {
                    turn: None,
                    kind: tag.clone(),
                    category: ReviewCategory::UxIssue,
                    description: format!("Tagged {tag:?} by a reviewer before categories existed."),
                    flow: None,
                    step: None,
                    file: None,
                    yaml_path: None,
                })
                .collect();
            if let Some(notes) = old.notes.filter(|n| !n.trim().is_empty()) {
                issues.push(ReviewIssue {
                    turn: None,
                    kind: "reviewer_note".into(),
                    category: ReviewCategory::UxIssue,
                    description: notes,
                    flow: None,
                    step: None,
                    file: None,
                    yaml_path: None,
                });
            }
            let new = crate::reviews::NewReview {
                call_id: old.call_id,
                // An unrated old review had no verdict; 3 is the middle of the scale.
                quality_score: old.rating.filter(|r| (1..=5).contains(r)).unwrap_or(3),
                issues,
                has_unanswered_query: false,
                agent_model: "offline".into(),
                review_latency_ms: 0,
                reviewed_by: old.reviewer.unwrap_or_else(|| "admin".into()),
            };
            let review =
                crate::reviews::review_record(old.id, &old.business_id, &new, old.updated_at);
            put_json(&mut reviews, old.id, &review)?;
            call_of_review.insert(old.id, old.call_id);
            // The first review of a call is the one the index points at.
            if by_call.get(old.call_id)?.is_none() {
                by_call.insert(old.call_id, old.id)?;
            }
        }
    }
    let old_suggestions: Vec<SuggestionV1> = {
        let rows = txn.open_table(SUGGESTIONS)?;
        let mut out = Vec::new();
        for row in rows.iter()? {
            let (id, bytes) = row?;
            out.push(decode(
                "improvement_suggestions",
                id.value(),
                bytes.value(),
            )?);
        }
        out
    };
    {
        let mut index = txn.open_multimap_table(SUGGESTIONS_BY_STATUS)?;
        for old in &old_suggestions {
            index.remove_all((old.business_id.as_str(), old.status.as_str()))?;
        }
    }
    let mut rows = txn.open_table(SUGGESTIONS)?;
    for old in old_suggestions {
        let category = match old.category.as_str() {
            "menu" | "faq" | "knowledge_gap" => ReviewCategory::KnowledgeGap,
            "voice" | "tts" | "tts_issue" => ReviewCategory::TtsIssue,
            "stt" | "stt_error" => ReviewCategory::SttError,
            "config" | "plugin" | "config_error" => ReviewCategory::ConfigError,
            "flow" | "ux" | "ux_issue" => ReviewCategory::UxIssue,
            _ => ReviewCategory::PromptWeakness,
        };
        let status = match old.status.as_str() {
            "implemented" => SuggestionStatus::Implemented,
            "rejected" => SuggestionStatus::Rejected,
            _ => SuggestionStatus::Pending,
        };
        let review_id = old.review_id.unwrap_or(0);
        let call_id = old
            .call_id
            .or_else(|| call_of_review.get(&review_id).copied())
            .unwrap_or(0);
        let new = ImprovementSuggestion {
            id: old.id,
            review_id,
            call_id,
            business_id: old.business_id.clone(),
            category,
            title: old.title.chars().take(crate::MAX_TITLE_CHARS).collect(),
            description: old
                .description
                .chars()
                .take(crate::MAX_DESCRIPTION_CHARS)
                .collect(),
            target: SuggestionTarget {
                // Old suggestions named no file; the business's own file (named after its id)
                // is where most changes land.
                file: format!("businesses/{}.yaml", old.business_id),
                yaml_path: None,
                flow_step: None,
            },
            priority: 3,
            proposed_text: None,
            status,
            created_at: old.created_at,
            updated_at: old.updated_at,
        };
        put_json(&mut rows, new.id, &new)?;
        crate::reviews::index_suggestion(txn, &new)?;
    }
    Ok(())
}
