//! Numbered SQL migrations for PostgreSQL (`migrations/postgres/NNNN_name.sql`, embedded at
//! build time).
//!
//! **Invariants**, as for redb: each file runs in one transaction together with the row that
//! records its version in `schema_migrations`, so a failing step leaves the database at the
//! previous version; a database whose version is above this build's is refused
//! ([`OpenError::TooNew`]). Nodes starting at once against the same database take a
//! transaction-scoped advisory lock, so each step is applied exactly once.

use postgres::Client;

use crate::error::{OpenError, StoreError};
use crate::migrate::MigrationReport;

/// One SQL migration step.
#[derive(Debug, Clone, Copy)]
pub struct PgMigration {
    /// Version the database has after this step (1-based, contiguous).
    pub version: u32,
    /// Matches the `migrations/postgres/NNNN_<name>.sql` file name.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every PostgreSQL migration of this build, in order.
pub const PG_MIGRATIONS: &[PgMigration] = &[PgMigration {
    version: 1,
    name: "initial_schema",
    sql: include_str!("../../../../migrations/postgres/0001_initial_schema.sql"),
}];

/// The PostgreSQL schema version this build writes and understands.
pub const PG_SCHEMA_VERSION: u32 = 1;

/// Key of the advisory lock that serialises migrations across nodes ("vartalaap" in ASCII).
const MIGRATION_LOCK: i64 = 0x7661_7274_616c_6161;

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER     PRIMARY KEY,
    name       TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// The recorded schema version (0 for an empty database).
pub(crate) fn schema_version(conn: &mut Client) -> Result<u32, postgres::Error> {
    let exists: bool = conn
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: Option<i32> = conn
        .query_one("SELECT max(version) FROM schema_migrations", &[])?
        .get(0);
    Ok(version.map_or(0, |v| u32::try_from(v).unwrap_or(0)))
}

/// Connects to `url` and applies pending migrations without opening a full store
/// (`vartalaap migrate`). No keys are needed: migrations never decrypt.
pub fn migrate_url(url: &str) -> Result<MigrationReport, OpenError> {
    let mut conn = Client::connect(url, postgres::NoTls).map_err(|e| {
        OpenError::Store(StoreError::Unavailable {
            reason: format!(
                "cannot reach PostgreSQL: {e}; check DATABASE_URL and that the server is running"
            ),
        })
    })?;
    migrate_with(&mut conn, PG_MIGRATIONS)
}

/// Applies pending steps of `migrations`, each in its own transaction with its version row.
pub(crate) fn migrate_with(
    conn: &mut Client,
    migrations: &[PgMigration],
) -> Result<MigrationReport, OpenError> {
    let sql_error = |e: postgres::Error| {
        OpenError::Store(StoreError::Unavailable {
            reason: format!("PostgreSQL failed while reading the schema version: {e}"),
        })
    };
    let supported = migrations.last().map_or(0, |m| m.version);
    let mut tx = conn.transaction().map_err(sql_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(sql_error)?;
    tx.batch_execute(VERSION_TABLE).map_err(sql_error)?;
    tx.commit().map_err(sql_error)?;
    let from = schema_version(conn).map_err(sql_error)?;
    if from > supported {
        return Err(OpenError::TooNew {
            found: from,
            supported,
        });
    }
    let mut report = MigrationReport {
        from,
        to: from,
        applied: Vec::new(),
    };
    for step in migrations.iter().filter(|m| m.version > from) {
        let failed = |reason: String, left_at: u32| OpenError::Migration {
            version: step.version,
            name: step.name,
            left_at,
            reason,
        };
        let mut tx = conn
            .transaction()
            .map_err(|e| failed(e.to_string(), report.to))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|e| failed(e.to_string(), report.to))?;
        // Another node may have applied this step while we waited for the lock.
        let done: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                &[&(step.version as i32)],
            )
            .map_err(|e| failed(e.to_string(), report.to))?
            .get(0);
        if !done {
            tx.batch_execute(step.sql)
                .map_err(|e| failed(describe_sql(&e), report.to))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&(step.version as i32), &step.name],
            )
            .map_err(|e| failed(e.to_string(), report.to))?;
            tx.commit().map_err(|e| failed(e.to_string(), report.to))?;
            report
                .applied
                .push(format!("{:04}_{}", step.version, step.name));
            tracing::info!(
                version = step.version,
                name = step.name,
                "PostgreSQL migration applied."
            );
        }
        report.to = step.version;
    }
    Ok(report)
}

fn describe_sql(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
