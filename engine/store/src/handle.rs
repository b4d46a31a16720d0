//! The database handle that survives I/O errors: [`DbHandle`] reopens the redb file after a
//! failed write and remembers that the disk refused writes until a probe write succeeds.
//!
//! Why: after an I/O error during a commit (disk full, read-only file system, a failing disk)
//! redb latches the failure, and every later transaction on that `Database` fails with
//! `PreviousIo` until it is closed and opened again — even once space is back. Measured on a
//! full tmpfs with redb 4.6: the failed handle kept refusing writes after space was freed,
//! while a reopened handle read every committed row and wrote again. So the store keeps its
//! `Database` behind a swappable `Arc` and reopens it (redb recovers the file to its last
//! commit) instead of staying broken until a restart.
//!
//! Call sites keep redb's shapes: [`DbHandle::begin_write`] returns a [`WriteTxn`] that derefs to
//! redb's `WriteTransaction` and whose `commit` reports I/O failures back to the handle, and
//! [`DbHandle::begin_read`] returns redb's `ReadTransaction`. No transaction ever holds the
//! handle's lock, so a reopen cannot deadlock against a caller.

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use redb::{
    CommitError, Database, DatabaseError, ReadTransaction, ReadableDatabase, StorageError,
    TransactionError, WriteTransaction,
};

/// Opens the database file again (the store's path, or a test's failing backend).
pub(crate) type Opener = Box<dyn Fn() -> Result<Database, DatabaseError> + Send + Sync>;

/// The live `Database` (or none, between a close and a successful reopen) plus what the
/// operator needs to know about writes.
pub(crate) struct DbHandle {
    current: RwLock<Option<Arc<Database>>>,
    open: Opener,
    /// Why writes fail, from the first I/O-class write failure until a probe write succeeds.
    outage: Mutex<Option<String>>,
}

/// Whether a redb storage error means the disk (or the file under it) failed, rather than a
/// bug or a corrupt row: the errors after which the database must be reopened.
pub(crate) fn is_io_failure(error: &StorageError) -> bool {
    matches!(
        error,
        StorageError::Io(_) | StorageError::PreviousIo | StorageError::DatabaseClosed
    )
}

impl DbHandle {
    /// Wraps an open database; `open` reopens the same file later.
    pub(crate) fn new(db: Database, open: Opener) -> DbHandle {
        DbHandle {
            current: RwLock::new(Some(Arc::new(db))),
            open,
            outage: Mutex::new(None),
        }
    }

    /// The live database, reopening it first if a failure closed it.
    pub(crate) fn database(&self) -> Result<Arc<Database>, TransactionError> {
        if let Some(db) = self.read_slot() {
            return Ok(db);
        }
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        match (self.open)() {
            Ok(db) => {
                let db = Arc::new(db);
                *slot = Some(db.clone());
                tracing::info!("Reopened the database after an I/O error.");
                Ok(db)
            }
            Err(e) => Err(TransactionError::Storage(StorageError::Io(
                std::io::Error::other(format!("the database could not be reopened: {e}")),
            ))),
        }
    }

    /// Starts a write transaction. A database latched by an earlier I/O failure is reopened
    /// and the start tried once more.
    pub(crate) fn begin_write(&self) -> Result<WriteTxn<'_>, TransactionError> {
        let db = self.database()?;
        match db.begin_write() {
            Err(TransactionError::Storage(e)) if is_io_failure(&e) => {
                self.write_failed(&e.to_string());
                self.reopen(db);
                let db = self.database()?;
                let txn = db.begin_write()?;
                Ok(WriteTxn {
                    txn,
                    db,
                    handle: self,
                })
            }
            Err(e) => Err(e),
            Ok(txn) => Ok(WriteTxn {
                txn,
                db,
                handle: self,
            }),
        }
    }

    /// Starts a read transaction, reopening a latched database as [`DbHandle::begin_write`]
    /// does.
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, TransactionError> {
        let db = self.database()?;
        match db.begin_read() {
            Err(TransactionError::Storage(e)) if is_io_failure(&e) => {
                self.reopen(db);
                self.database()?.begin_read()
            }
            other => other,
        }
    }

    /// Why writes fail, while they do.
    pub(crate) fn outage(&self) -> Option<String> {
        self.outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A probe write committed: the disk takes writes again.
    pub(crate) fn writes_recovered(&self) {
        if self
            .outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .is_some()
        {
            tracing::info!("The database accepts writes again.");
        }
    }

    /// Records a write that the disk refused (logged once per outage).
    fn write_failed(&self, reason: &str) {
        let mut outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
        if outage.is_none() {
            tracing::error!(
                reason,
                "A database write failed with an I/O error (disk full or failing?). Nothing \
                 of that write was saved; the database is reopened, and /health reports the \
                 outage until a probe write succeeds."
            );
        }
        *outage = Some(reason.to_string());
    }

    /// Closes `failed` and opens the file again, unless another thread already did. If the
    /// old database cannot close yet (another thread still holds it) or the reopen fails, the
    /// slot stays empty and the next transaction tries again.
    fn reopen(&self, failed: Arc<Database>) {
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|db| !Arc::ptr_eq(db, &failed)) {
            return;
        }
        *slot = None;
        // The last reference closes the file (and releases its lock) before the reopen.
        drop(failed);
        match (self.open)() {
            Ok(db) => {
                *slot = Some(Arc::new(db));
                tracing::info!("Reopened the database after an I/O error.");
            }
            Err(e) => {
                tracing::warn!(error = %e, "The database could not be reopened yet; the next transaction tries again.");
            }
        }
    }

    fn read_slot(&self) -> Option<Arc<Database>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Handles a commit or abort of `db` that failed: an I/O failure marks the outage and
    /// reopens.
    fn after_failure(&self, db: Arc<Database>, error: &StorageError) {
        if is_io_failure(error) {
            self.write_failed(&error.to_string());
            self.reopen(db);
        }
    }
}

/// A redb write transaction that tells its [`DbHandle`] when the disk refused its commit.
/// Derefs to `WriteTransaction`, so tables are opened as usual.
pub(crate) struct WriteTxn<'h> {
    txn: WriteTransaction,
    /// The database the transaction runs on (the one to reopen if its commit fails).
    db: Arc<Database>,
    handle: &'h DbHandle,
}

impl Deref for WriteTxn<'_> {
    type Target = WriteTransaction;

    fn deref(&self) -> &WriteTransaction {
        &self.txn
    }
}

impl WriteTxn<'_> {
    /// Commits; an I/O failure marks the outage and reopens the database before returning.
    pub(crate) fn commit(self) -> Result<(), CommitError> {
        let WriteTxn { txn, db, handle } = self;
        let result = txn.commit();
        if let Err(CommitError::Storage(e)) = &result {
            handle.after_failure(db, e);
        }
        result
    }

    /// Rolls back.
    pub(crate) fn abort(self) -> Result<(), StorageError> {
        let WriteTxn { txn, db, handle } = self;
        let result = txn.abort();
        if let Err(e) = &result {
            handle.after_failure(db, e);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{File, OpenOptions};
    use std::ops::Bound;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use chrono::{Duration, NaiveDate, TimeZone, Utc};
    use redb::backends::FileBackend;
    use redb::{BackendError, StorageBackend};

    use super::*;
    use crate::error::{BookingError, StoreError};
    use crate::{BookingRequest, CapacityRule, Store, fixtures, migrate};

    /// A file that behaves like a full tmpfs when `full` is set: bytes already written can be
    /// rewritten, anything past them fails with ENOSPC.
    #[derive(Debug)]
    struct FillableFile {
        file: FileBackend,
        full: Arc<AtomicBool>,
        written: Arc<AtomicU64>,
    }

    fn no_space() -> std::io::Error {
        std::io::Error::from_raw_os_error(28)
    }

    impl StorageBackend for FillableFile {
        fn len(&self) -> Result<u64, std::io::Error> {
            self.file.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
            self.file.read(offset, out)
        }
        fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
            self.file.set_len(len)
        }
        fn sync_data(&self) -> Result<(), std::io::Error> {
            self.file.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
            let end = offset + data.len() as u64;
            if self.full.load(Ordering::SeqCst) && end > self.written.load(Ordering::SeqCst) {
                return Err(no_space());
            }
            self.file.write(offset, data)?;
            self.written.fetch_max(end, Ordering::SeqCst);
            Ok(())
        }
        fn close(&self) -> Result<(), std::io::Error> {
            self.file.close()
        }
        fn try_lock_range(&self, a: Bound<u64>, b: Bound<u64>) -> Result<bool, BackendError> {
            self.file.try_lock_range(a, b)
        }
        fn try_lock_shared_range(
            &self,
            a: Bound<u64>,
            b: Bound<u64>,
        ) -> Result<bool, BackendError> {
            self.file.try_lock_shared_range(a, b)
        }
        fn lock_range(&self, a: Bound<u64>, b: Bound<u64>) -> Result<(), BackendError> {
            self.file.lock_range(a, b)
        }
        fn lock_shared_range(&self, a: Bound<u64>, b: Bound<u64>) -> Result<(), BackendError> {
            self.file.lock_shared_range(a, b)
        }
        fn unlock_range(&self, a: Bound<u64>, b: Bound<u64>) -> Result<(), BackendError> {
            self.file.unlock_range(a, b)
        }
        fn query_lock_range(&self, a: Bound<u64>, b: Bound<u64>) -> Result<bool, BackendError> {
            self.file.query_lock_range(a, b)
        }
    }

    /// A store on `path` whose disk fills up while `full` is set.
    fn fillable_store(path: &Path, full: Arc<AtomicBool>) -> Store {
        let written = Arc::new(AtomicU64::new(0));
        let open: Opener = {
            let path = path.to_path_buf();
            Box::new(move || {
                let file: File = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)?;
                written.fetch_max(file.metadata()?.len(), Ordering::SeqCst);
                Database::builder().create_with_backend(FillableFile {
                    file: FileBackend::new(file)?,
                    full: full.clone(),
                    written: written.clone(),
                })
            })
        };
        let db = open().unwrap();
        migrate::migrate(&db).unwrap();
        Store::from_handle(
            DbHandle::new(db, open),
            fixtures::fixture_crypto(),
            path.to_path_buf(),
        )
    }

    fn request(day: i64) -> BookingRequest {
        BookingRequest {
            business_id: "himalayan-kitchen".into(),
            call_id: None,
            customer_name: Some("Asha".into()),
            phone: None,
            party_size: 2,
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() + Duration::days(day),
            time: "19:00".parse().unwrap(),
            language: None,
            notes: Some("x".repeat(900)),
            whatsapp_consent: false,
            followup: None,
        }
    }

    const RULE: CapacityRule = CapacityRule {
        capacity_covers: 20,
        hold_minutes: 90,
    };

    #[test]
    fn a_full_disk_fails_writes_cleanly_and_the_store_recovers_without_reopening_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let full = Arc::new(AtomicBool::new(false));
        let store = fillable_store(&dir.path().join("store.redb"), full.clone());
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        let mut committed = Vec::new();
        for day in 0..3 {
            committed.push(store.book(&request(day), &RULE, now).unwrap().reservation);
        }
        assert_eq!(store.write_outage(), None);

        // The disk fills: bookings go on until the database file has no room left, then fail
        // with a clean error that names the cause.
        full.store(true, Ordering::SeqCst);
        let mut refused = None;
        for day in 3..400 {
            match store.book(&request(day), &RULE, now) {
                Ok(booked) => committed.push(booked.reservation),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let refused = refused.expect("a booking fails once the disk is full");
        let BookingError::Store(StoreError::Unavailable { reason }) = &refused else {
            panic!("expected an unavailable store, got {refused:?}");
        };
        assert!(reason.contains("No space left"), "{reason}");
        assert!(
            refused.to_string().contains("nothing was saved"),
            "{refused}"
        );
        let outage = store.write_outage().expect("the outage is reported");
        assert!(outage.contains("No space left"), "{outage}");
        // Reads go on; the probe fails while the disk is still full. A small write may still
        // fit into room the file already has, but it does not end the outage (no flapping).
        for r in &committed {
            assert_eq!(store.get_reservation(r.id).unwrap().as_ref(), Some(r));
        }
        assert!(matches!(
            store.probe_writes(),
            Err(StoreError::Unavailable { .. })
        ));
        if let Ok(booked) = store.book(&request(500), &RULE, now) {
            committed.push(booked.reservation);
        }
        assert!(store.write_outage().is_some());

        // Space is back: the probe ends the outage, bookings work on the same Store, and
        // everything committed before is there.
        full.store(false, Ordering::SeqCst);
        store.probe_writes().unwrap();
        assert_eq!(store.write_outage(), None);
        let after = store.book(&request(501), &RULE, now).unwrap().reservation;
        for r in committed.iter().chain([&after]) {
            assert_eq!(store.get_reservation(r.id).unwrap().as_ref(), Some(r));
        }
        // The probe's row never stays behind.
        let read = store.db.begin_read().unwrap();
        let probe = read.open_table(crate::tables::WRITE_PROBE).unwrap();
        assert!(redb::ReadableTableMetadata::is_empty(&probe).unwrap());
    }
}
