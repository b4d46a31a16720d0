//! Backups: a consistent copy of the database, taken while the server keeps writing.
//!
//! Design decision: a backup is a *logical* copy made inside one redb read transaction. A read
//! transaction sees exactly one commit, so the copy holds every booking together with the jobs
//! committed with it (never half a commit), and it does not block writers: calls keep booking
//! while the copy runs. Copying the file's bytes instead would need every writer stopped (redb
//! reuses pages freed by earlier commits), and would carry over free space and, for a file still
//! open, a "needs repair" state. The copy is written to a fresh redb file, closed cleanly, and
//! then renamed into place, so a backup file is either complete or absent.
//!
//! Every table is copied with its types. A table this build does not know fails the backup
//! ([`BackupError::UnknownTable`]) instead of silently leaving data out; [`EPHEMERAL_TABLES`]
//! lists tables that are deliberately not copied.
//!
//! Restoring is the same copy in the other direction: every row of the backup is read (so a
//! damaged backup is refused before anything is replaced) into a new file next to the target,
//! which is renamed over it. Migrations run on the next open, as for any older database.

use std::path::{Path, PathBuf};

use redb::{
    Database, Key, MultimapTableDefinition, MultimapTableHandle, ReadTransaction, ReadableDatabase,
    ReadableMultimapTable, ReadableTable, TableDefinition, TableError, TableHandle, Value,
    WriteTransaction,
};

use crate::error::StoreError;
use crate::migrate::SCHEMA_VERSION;
use crate::once::{USED_ONCE, USED_ONCE_BY_EXPIRY};
use crate::store::Store;
use crate::tables::*;

/// Tables that hold nothing worth restoring and are left out of backups on purpose: the write
/// probe's scratch row ([`Store::probe_writes`]).
pub const EPHEMERAL_TABLES: &[&str] = &["write_probe"];

/// Rows per table, in the order the tables were copied.
pub type TableCounts = Vec<(&'static str, u64)>;

/// What a backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Schema version recorded in the copy.
    pub schema_version: u32,
    /// Rows (or multimap key/value pairs) per copied table, by name.
    pub tables: TableCounts,
    /// Size of the written file.
    pub bytes: u64,
}

impl BackupReport {
    /// How many rows of `table` the backup holds (0 when the table was absent).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(name, _)| *name == table)
            .map(|(_, rows)| *rows)
            .unwrap_or(0)
    }
}

/// Why a backup or restore did not happen. Nothing is replaced when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database is open in another process (a running `vartalaap serve`).
    #[error(
        "{path} is in use by another process (a running server); back up through the server instead"
    )]
    InUse {
        /// The database file.
        path: String,
    },
    /// A table exists that this build does not know how to copy.
    #[error(
        "table {0:?} is unknown to this build's backup, so a backup would be incomplete; use the vartalaap build that wrote the database"
    )]
    UnknownTable(String),
    /// The file is a database from a newer build.
    #[error(
        "{path} has schema version {found}, newer than this build's {supported}; use a newer vartalaap"
    )]
    TooNew {
        /// The file.
        path: String,
        /// Version in the file.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// The file is not a Vartalaap database (no schema version recorded).
    #[error("{path} is not a Vartalaap database or backup (it records no schema version)")]
    NotOurs {
        /// The file.
        path: String,
    },
    /// A file could not be written, synced or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Store {
    /// Writes a consistent copy of the live database to `dest` (replaced if it exists) while
    /// other threads keep reading and writing. Blocking: run it off the async workers.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport, BackupError> {
        copy_into(
            &*self.db.database().map_err(StoreError::from)?,
            &self.path().display().to_string(),
            dest,
            false,
        )
    }
}

/// Backs up the database file at `source` when no process has it open (the server is
/// stopped); [`BackupError::InUse`] when one has.
pub fn backup_file(source: &Path, dest: &Path) -> Result<BackupReport, BackupError> {
    let db = open_existing(source)?;
    copy_into(&db, &source.display().to_string(), dest, false)
}

/// Replaces the database at `target` with the contents of `backup` (the server must be
/// stopped: [`BackupError::InUse`] otherwise). The backup is checked row by row before
/// `target` is touched; a replaced database is kept as `<target>.before-restore`.
pub fn restore_file(backup: &Path, target: &Path) -> Result<BackupReport, BackupError> {
    if target.exists()
        && let Err(redb::DatabaseError::DatabaseAlreadyOpen) = Database::open(target)
    {
        return Err(BackupError::InUse {
            path: target.display().to_string(),
        });
    }
    let db = open_existing(backup)?;
    copy_into(&db, &backup.display().to_string(), target, true)
}

fn open_existing(path: &Path) -> Result<Database, BackupError> {
    if !path.is_file() {
        return Err(BackupError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    match Database::open(path) {
        Ok(db) => Ok(db),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(BackupError::InUse {
            path: path.display().to_string(),
        }),
        Err(e) => Err(StoreError::from(e).into()),
    }
}

/// Copies every table of `source` (one read transaction) into a new file renamed to `dest`
/// (replacing it).
fn copy_into(
    source: &impl ReadableDatabase,
    source_name: &str,
    dest: &Path,
    keep_previous: bool,
) -> Result<BackupReport, BackupError> {
    let read = source.begin_read().map_err(StoreError::from)?;
    let schema_version = recorded_version(&read)?.ok_or_else(|| BackupError::NotOurs {
        path: source_name.to_string(),
    })?;
    if schema_version > SCHEMA_VERSION {
        return Err(BackupError::TooNew {
            path: source_name.to_string(),
            found: schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    check_every_table_is_known(&read)?;

    let partial = partial_path(dest);
    // A leftover from an interrupted run is garbage by construction.
    let _ = std::fs::remove_file(&partial);
    let result =
        write_copy(&read, &partial, dest, keep_previous).map(|(tables, bytes)| BackupReport {
            schema_version,
            tables,
            bytes,
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Writes the tables seen by `read` into `partial`, makes it durable and owner-only, and
/// renames it to `dest` (keeping a replaced `dest` as `<dest>.before-restore` when asked).
fn write_copy(
    read: &ReadTransaction,
    partial: &Path,
    dest: &Path,
    keep_previous: bool,
) -> Result<(TableCounts, u64), BackupError> {
    let db = Database::create(partial).map_err(StoreError::from)?;
    let write = db.begin_write().map_err(StoreError::from)?;
    let tables = copy_tables(read, &write)?;
    write.commit().map_err(StoreError::from)?;
    drop(db);
    // A backup holds personal data (encrypted numbers, names, transcripts): owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(partial, std::fs::Permissions::from_mode(0o600))
            .map_err(io(partial))?;
    }
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io(partial))?;
    if keep_previous && dest.exists() {
        let previous = sibling(dest, ".before-restore");
        std::fs::rename(dest, &previous).map_err(io(&previous))?;
    }
    std::fs::rename(partial, dest).map_err(io(dest))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable only once the directory entry is.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
    Ok((tables, bytes))
}

/// `<dest>.partial`, in the same directory so the final rename is atomic.
fn partial_path(dest: &Path) -> PathBuf {
    sibling(dest, ".partial")
}

fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    file.with_file_name(name)
}

fn recorded_version(read: &ReadTransaction) -> Result<Option<u32>, BackupError> {
    let meta = match read.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(StoreError::from(e).into()),
    };
    let version = meta
        .get("schema_version")
        .map_err(StoreError::from)?
        .map(|v| v.value());
    Ok(version.map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

/// The tables a backup copies, by name (kept next to [`copy_tables`], which copies them).
const BACKED_UP: &[&str] = &[
    "meta",
    "reservations",
    "reservations_by_business_date",
    "reservations_by_phone_date",
    "call_logs",
    "calls_by_business_start",
    "conversation_turns",
    "caller_preferences",
    "whatsapp_followups",
    "transcript_reviews",
    "reviews_by_call",
    "improvement_suggestions",
    "suggestions_by_business_status",
    "callback_requests",
    "jobs",
    "jobs_by_due",
    "jobs_by_idempotency_key",
    "daily_aggregates",
    "used_once",
    "used_once_by_expiry",
];

fn check_every_table_is_known(read: &ReadTransaction) -> Result<(), BackupError> {
    let mut names: Vec<String> = read
        .list_tables()
        .map_err(StoreError::from)?
        .map(|t| t.name().to_string())
        .collect();
    names.extend(
        read.list_multimap_tables()
            .map_err(StoreError::from)?
            .map(|t| t.name().to_string()),
    );
    match names
        .into_iter()
        .find(|n| !BACKED_UP.contains(&n.as_str()) && !EPHEMERAL_TABLES.contains(&n.as_str()))
    {
        Some(unknown) => Err(BackupError::UnknownTable(unknown)),
        None => Ok(()),
    }
}

fn copy_tables(from: &ReadTransaction, to: &WriteTransaction) -> Result<TableCounts, StoreError> {
    Ok(vec![
        ("meta", copy_table(from, to, META)?),
        ("reservations", copy_table(from, to, RESERVATIONS)?),
        (
            "reservations_by_business_date",
            copy_multimap(from, to, RES_BY_DATE)?,
        ),
        (
            "reservations_by_phone_date",
            copy_multimap(from, to, RES_BY_PHONE)?,
        ),
        ("call_logs", copy_table(from, to, CALLS)?),
        (
            "calls_by_business_start",
            copy_multimap(from, to, CALLS_BY_START)?,
        ),
        ("conversation_turns", copy_table(from, to, TURNS)?),
        ("caller_preferences", copy_table(from, to, CALLER_PREFS)?),
        ("whatsapp_followups", copy_table(from, to, FOLLOWUPS)?),
        ("transcript_reviews", copy_table(from, to, REVIEWS)?),
        ("reviews_by_call", copy_table(from, to, REVIEWS_BY_CALL)?),
        (
            "improvement_suggestions",
            copy_table(from, to, SUGGESTIONS)?,
        ),
        (
            "suggestions_by_business_status",
            copy_multimap(from, to, SUGGESTIONS_BY_STATUS)?,
        ),
        ("callback_requests", copy_table(from, to, CALLBACKS)?),
        ("jobs", copy_table(from, to, JOBS)?),
        ("jobs_by_due", copy_table(from, to, JOBS_BY_DUE)?),
        (
            "jobs_by_idempotency_key",
            copy_table(from, to, JOBS_BY_KEY)?,
        ),
        ("daily_aggregates", copy_table(from, to, AGGREGATES)?),
        // Replay markers (Plivo nonces, stream tokens): a restored server refuses replays too.
        ("used_once", copy_table(from, to, USED_ONCE)?),
        (
            "used_once_by_expiry",
            copy_table(from, to, USED_ONCE_BY_EXPIRY)?,
        ),
    ])
}

fn copy_table<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let source = match from.open_table(def) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut target = to.open_table(def)?;
    let mut rows = 0;
    for row in source.iter()? {
        let (key, value) = row?;
        target.insert(key.value(), value.value())?;
        rows += 1;
    }
    Ok(rows)
}

fn copy_multimap<K: Key + 'static, V: Key + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: MultimapTableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let source = match from.open_multimap_table(def) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut target = to.open_multimap_table(def)?;
    let mut rows = 0;
    for entry in source.iter()? {
        let (key, values) = entry?;
        for value in values {
            target.insert(key.value(), value?.value())?;
            rows += 1;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{fixture_crypto, write_fixture};

    #[test]
    fn every_table_a_migrated_database_has_is_backed_up_or_listed_as_ephemeral() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("live.redb"), fixture_crypto()).unwrap();
        let read = store.db.begin_read().unwrap();
        check_every_table_is_known(&read).unwrap();
        // The name list and the copy list are the same tables, in the same order.
        let db = Database::create(dir.path().join("x.redb")).unwrap();
        let write = db.begin_write().unwrap();
        let copied: Vec<&str> = copy_tables(&read, &write)
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(copied, BACKED_UP);
    }

    #[test]
    fn a_backup_of_a_live_store_restores_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("original.redb");
        write_fixture(&original, SCHEMA_VERSION).unwrap();
        let live = Store::open(&original, fixture_crypto()).unwrap();
        let backup = dir.path().join("backup.redb");
        // Taken while `live` holds the file open, as the server does.
        let report = live.backup_to(&backup).unwrap();
        assert_eq!(report.schema_version, SCHEMA_VERSION);
        assert_eq!(report.rows("reservations"), 2);
        assert_eq!(report.rows("conversation_turns"), 2);
        assert!(!partial_path(&backup).exists());
        // A second backup replaces the first without leaving anything beside it.
        live.backup_to(&backup).unwrap();
        assert!(!sibling(&backup, ".before-restore").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The file is in use, so only the server can back it up.
        assert!(matches!(
            backup_file(&original, &dir.path().join("x.redb")),
            Err(BackupError::InUse { .. })
        ));

        let restored = dir.path().join("restored.redb");
        std::fs::write(&restored, b"an older, broken database").unwrap();
        restore_file(&backup, &restored).unwrap();
        assert_eq!(
            std::fs::read(sibling(&restored, ".before-restore")).unwrap(),
            b"an older, broken database"
        );
        // Restoring over the live database is refused while it is open.
        assert!(matches!(
            restore_file(&backup, &original),
            Err(BackupError::InUse { .. })
        ));
        let copy = Store::open(&restored, fixture_crypto()).unwrap();
        assert_eq!(
            copy.get_reservation(1).unwrap(),
            live.get_reservation(1).unwrap()
        );
        assert_eq!(copy.get_call(1).unwrap(), live.get_call(1).unwrap());
        assert!(copy.get_reservation(1).unwrap().is_some());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.redb");
        drop(Database::create(&empty).unwrap());
        let target = dir.path().join("target.redb");
        assert!(matches!(
            restore_file(&empty, &target),
            Err(BackupError::NotOurs { .. })
        ));
        let junk = dir.path().join("junk.redb");
        std::fs::write(&junk, b"not a database at all").unwrap();
        assert!(restore_file(&junk, &target).is_err());
        assert!(!target.exists() && !partial_path(&target).exists());
    }
}
