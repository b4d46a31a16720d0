//! The PostgreSQL backend ([`PgStore`], cargo feature `postgres`): the same records, rules and
//! transactions as the redb [`crate::Store`], shared by any number of `vartalaap serve` nodes.
//!
//! Design (see `docs/STORAGE.md`, "PostgreSQL"):
//!
//! - **Synchronous, over a small pool** (`postgres` + `r2d2`): every caller already runs store
//!   calls on blocking threads (`spawn_blocking`), so the backend keeps the redb API and its
//!   blocking contract. The sync client drives its own tiny runtime and must not be called on
//!   an async worker thread.
//! - **Records as JSONB documents** in the form `schemas/*.json` documents, plus the columns
//!   queries filter, order or lock on (`migrations/postgres/`). Both backends build, change and
//!   check records with the same functions, so they cannot drift apart.
//! - **One transaction per business change**, like redb: a booking's capacity check, the
//!   reservation, its counters, its WhatsApp follow-up and its job commit together. Capacity is
//!   serialised per business and day by transaction-scoped advisory locks (see
//!   [`booking`]), jobs are claimed with `FOR UPDATE SKIP LOCKED` and leases, single-use keys
//!   are a primary key.
//! - **Errors keep the redb meanings**: an unreachable or failing server is
//!   [`StoreError::Unavailable`] (with the reason, never a panic), a statement the server
//!   refuses is [`StoreError::Postgres`], a document that does not decode is
//!   [`StoreError::Corrupt`]. Serialization failures and deadlocks are retried.

mod booking;
mod calls;
mod diagram;
mod import;
mod jobs;
mod maintenance;
mod migrate;
mod records;

use std::fmt::Display;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::PhoneCrypto;
use crate::error::{OpenError, StoreError};
use crate::store::{Page, PageRequest, WRITE_PROBE_BYTES};

pub use diagram::schema_diagram;
pub use import::ImportReport;
pub use migrate::{PG_MIGRATIONS, PG_SCHEMA_VERSION, PgMigration, migrate_url};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// Connections per node. Every store call holds one connection for one short transaction;
/// eight cover the blocking threads that call the store at once on a busy node while leaving
/// PostgreSQL's default 100 connections for a dozen nodes.
const POOL_SIZE: u32 = 8;
/// How long a call waits for a free (or new) connection before it reports the store
/// unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts of a transaction that PostgreSQL aborted as a serialization failure or deadlock.
const MAX_ATTEMPTS: u32 = 8;

/// The PostgreSQL store: a connection pool plus the phone keyring.
///
/// All methods are synchronous and block on the network: call them from `spawn_blocking` or a
/// dedicated thread in async code, exactly like [`crate::Store`]. Every method that stamps or
/// compares times takes `now`.
pub struct PgStore {
    pool: Pool,
    crypto: RwLock<Arc<PhoneCrypto>>,
    outage: Mutex<Option<String>>,
}

/// A failure inside a transaction body: a statement PostgreSQL failed (retried when it was a
/// serialization failure or deadlock) or the operation's own refusal.
pub(crate) enum Fail<E> {
    Sql(postgres::Error),
    Op(E),
}

impl<E> From<postgres::Error> for Fail<E> {
    fn from(e: postgres::Error) -> Fail<E> {
        Fail::Sql(e)
    }
}

impl<E: From<StoreError>> From<StoreError> for Fail<E> {
    fn from(e: StoreError) -> Fail<E> {
        Fail::Op(E::from(e))
    }
}

impl From<Fail<StoreError>> for Fail<crate::error::BookingError> {
    fn from(e: Fail<StoreError>) -> Self {
        match e {
            Fail::Sql(e) => Fail::Sql(e),
            Fail::Op(e) => Fail::Op(e.into()),
        }
    }
}

impl From<Fail<StoreError>> for Fail<crate::error::JobError> {
    fn from(e: Fail<StoreError>) -> Self {
        match e {
            Fail::Sql(e) => Fail::Sql(e),
            Fail::Op(e) => Fail::Op(e.into()),
        }
    }
}

impl From<crate::error::BookingError> for Fail<crate::error::BookingError> {
    fn from(e: crate::error::BookingError) -> Self {
        Fail::Op(e)
    }
}

impl From<crate::error::JobError> for Fail<crate::error::JobError> {
    fn from(e: crate::error::JobError) -> Self {
        Fail::Op(e)
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), applies pending
    /// migrations (`migrations/postgres/`) and returns the store.
    ///
    /// Refuses a database migrated by a newer build ([`OpenError::TooNew`]); an unreachable
    /// server is [`StoreError::Unavailable`].
    pub fn open(url: &str, crypto: PhoneCrypto) -> Result<PgStore, OpenError> {
        PgStore::open_with_migrations(url, crypto, PG_MIGRATIONS)
    }

    /// [`PgStore::open`] with an explicit migration list; for tests that inject steps.
    #[doc(hidden)]
    pub fn open_with_migrations(
        url: &str,
        crypto: PhoneCrypto,
        migrations: &[PgMigration],
    ) -> Result<PgStore, OpenError> {
        let config: postgres::Config = url.parse().map_err(|e| {
            OpenError::Store(StoreError::invalid(
                "DATABASE_URL",
                format!("is not a PostgreSQL connection URL ({e}); expected postgres://user:password@host:port/database"),
            ))
        })?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(PostgresConnectionManager::new(config, NoTls));
        let store = PgStore {
            pool,
            crypto: RwLock::new(Arc::new(crypto)),
            outage: Mutex::new(None),
        };
        {
            let mut conn = store.conn().map_err(OpenError::Store)?;
            migrate::migrate_with(&mut conn, migrations)?;
        }
        Ok(store)
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let mut conn = self.conn()?;
        migrate::schema_version(&mut conn).map_err(|e| self.fail(e))
    }

    /// The current keyring (the active key changes during [`PgStore::rotate_keys`]).
    pub fn crypto(&self) -> Arc<PhoneCrypto> {
        self.crypto
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_crypto(&self, crypto: PhoneCrypto) {
        *self.crypto.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(crypto);
    }

    /// Why writes fail, from the first write PostgreSQL refused as unavailable until
    /// [`PgStore::probe_writes`] succeeds; `None` while writes work.
    pub fn write_outage(&self) -> Option<String> {
        self.outage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Commits a [`WRITE_PROBE_BYTES`] row and deletes it again (two commits, like redb's
    /// probe). Success ends a [`PgStore::write_outage`]; failure starts or continues one.
    pub fn probe_writes(&self) -> Result<(), StoreError> {
        let filler = vec![0u8; WRITE_PROBE_BYTES];
        self.write(|tx| {
            tx.execute(
                "INSERT INTO write_probe (id, filler) VALUES (0, $1)
                 ON CONFLICT (id) DO UPDATE SET filler = excluded.filler",
                &[&filler],
            )?;
            Ok::<_, Fail<StoreError>>(())
        })?;
        self.write(|tx| {
            tx.execute("DELETE FROM write_probe WHERE id = 0", &[])?;
            Ok::<_, Fail<StoreError>>(())
        })?;
        *self.outage.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, StoreError> {
        self.pool.get().map_err(|e| {
            self.unavailable(format!(
                "cannot reach PostgreSQL: {e}; check DATABASE_URL and that the server is running"
            ))
        })
    }

    fn unavailable(&self, reason: String) -> StoreError {
        *self.outage.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
        StoreError::Unavailable { reason }
    }

    /// Sorts a PostgreSQL failure into the store's errors (see the module docs).
    pub(crate) fn fail(&self, e: postgres::Error) -> StoreError {
        match unavailable_reason(&e) {
            Some(reason) => self.unavailable(reason),
            None => StoreError::Postgres(describe(&e)),
        }
    }

    /// Runs `body` in one READ COMMITTED transaction on a pooled connection and commits it;
    /// a serialization failure or deadlock (from another node's concurrent change) reruns the
    /// whole body, up to [`MAX_ATTEMPTS`] times. The body's own refusals roll back.
    pub(crate) fn write<T, E: From<StoreError>>(
        &self,
        mut body: impl FnMut(&mut Transaction<'_>) -> Result<T, Fail<E>>,
    ) -> Result<T, E> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.conn()?;
            let result = match conn.transaction() {
                Ok(mut tx) => match body(&mut tx) {
                    Ok(value) => tx.commit().map(|()| value).map_err(Fail::Sql),
                    Err(e) => Err(e),
                },
                Err(e) => Err(Fail::Sql(e)),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(Fail::Op(e)) => return Err(e),
                Err(Fail::Sql(e)) if attempt < MAX_ATTEMPTS && is_conflict(&e) => {
                    std::thread::sleep(Duration::from_millis(u64::from(attempt) * 5));
                }
                Err(Fail::Sql(e)) => return Err(E::from(self.fail(e))),
            }
        }
    }

    /// Reads in one transaction (a consistent snapshot for multi-statement reads).
    pub(crate) fn read<T>(
        &self,
        body: impl FnMut(&mut Transaction<'_>) -> Result<T, Fail<StoreError>>,
    ) -> Result<T, StoreError> {
        self.write(body)
    }

    /// One page of `table`'s documents in id order that `keep` accepts; `prefilter` is an SQL
    /// condition on the table's columns with `$2` bound to `arg` (or `TRUE`), narrowing what
    /// is fetched before `keep` applies the exact same filter as redb.
    pub(crate) fn scan_page<T: DeserializeOwned>(
        &self,
        table: &'static str,
        prefilter: &str,
        arg: Option<&str>,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let limit = page.clamped_limit();
        let sql = format!(
            "SELECT id, doc FROM {table} WHERE id > $1 AND ($2::text IS NULL OR {prefilter})
             ORDER BY id LIMIT 500"
        );
        let mut cursor = page.after.map_or(0, to_i64);
        let mut found = Vec::new();
        loop {
            let rows = self.read(|tx| Ok(tx.query(&sql, &[&cursor, &arg])?))?;
            let Some(last) = rows.last() else { break };
            cursor = last.get(0);
            let fetched = rows.len();
            for row in rows {
                let id: i64 = row.get(0);
                let item: T = decode(table, id, row.get(1))?;
                if keep(&item) {
                    found.push((to_u64(id), item));
                }
            }
            if found.len() > limit || fetched < 500 {
                break;
            }
        }
        Ok(page.paginate(found))
    }
}

/// Why `e` means PostgreSQL cannot take the operation now (connection lost, server shutting
/// down, disk full, too many connections); `None` for a statement it refused.
fn unavailable_reason(e: &postgres::Error) -> Option<String> {
    let Some(code) = e.code() else {
        // Without an SQLSTATE the failure is the connection's, unless a value did not
        // convert (a bug here, not an outage).
        let text = e.to_string();
        if text.contains("serializing") || text.contains("deserializing") {
            return None;
        }
        return Some(format!(
            "lost the connection to PostgreSQL ({text}); check that the server is running"
        ));
    };
    let class = &code.code()[..2];
    let unavailable =
        matches!(class, "08" | "53" | "57" | "58") || *code == SqlState::READ_ONLY_SQL_TRANSACTION;
    unavailable.then(|| format!("PostgreSQL cannot take writes: {}", describe(e)))
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn is_conflict(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Decodes a stored document; a row that does not decode is [`StoreError::Corrupt`].
pub(crate) fn decode<T: DeserializeOwned>(
    table: &'static str,
    key: impl Display,
    doc: serde_json::Value,
) -> Result<T, StoreError> {
    serde_json::from_value(doc).map_err(|source| StoreError::Corrupt {
        table,
        key: key.to_string(),
        source,
    })
}

/// The stored document of a record.
pub(crate) fn doc<T: Serialize>(value: &T) -> serde_json::Value {
    // Our record types contain only strings, numbers, bools and JSON values: serialising them
    // cannot fail.
    serde_json::to_value(value).unwrap_or_default()
}

/// Ids are u64 in the model and BIGINT in PostgreSQL; sequences never come near 2^63.
pub(crate) fn to_i64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

/// The next id of `table` (its `<table>_id_seq`), taken inside the caller's transaction.
pub(crate) fn next_id(tx: &mut Transaction<'_>, table: &str) -> Result<u64, postgres::Error> {
    let row = tx.query_one(&format!("SELECT nextval('{table}_id_seq')"), &[])?;
    Ok(to_u64(row.get(0)))
}

/// Fetches and decodes one document by id (`FOR UPDATE` when `lock`).
pub(crate) fn get_doc<T: DeserializeOwned>(
    tx: &mut Transaction<'_>,
    table: &'static str,
    id: u64,
    lock: bool,
) -> Result<Option<T>, Fail<StoreError>> {
    let sql = format!(
        "SELECT doc FROM {table} WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    match tx.query_opt(&sql, &[&to_i64(id)])? {
        Some(row) => Ok(Some(decode(table, id, row.get(0))?)),
        None => Ok(None),
    }
}
