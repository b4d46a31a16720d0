//! The [`Store`] handle: opening, migrating and the shared pagination types.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use redb::Database;

use crate::crypto::PhoneCrypto;
use crate::error::{OpenError, StoreError};
use crate::handle::{DbHandle, Opener};
use crate::migrate::{self, MIGRATIONS, Migration, MigrationReport};
use crate::tables::WRITE_PROBE;

/// Bytes the write probe commits (and then deletes): a write this large must fit before the
/// store reports that it takes writes again, so one freed kilobyte does not end an outage.
pub const WRITE_PROBE_BYTES: usize = 1024 * 1024;

/// The embedded database plus the phone keyring.
///
/// All methods are synchronous and may block on fsync: call them from `spawn_blocking` or a
/// dedicated thread in async code. Every method that stamps or compares times takes `now` as an
/// argument; the store never reads the clock, so tests are deterministic.
///
/// redb serialises write transactions, so every read-check-write sequence (capacity, job
/// claims) inside one write transaction is race-free across threads.
///
/// A write the disk refuses (full, failing) fails with [`StoreError::Unavailable`] and changes
/// nothing; the database is then reopened, so reads go on and writes work again once the disk
/// takes them, without a restart ([`Store::write_outage`], [`Store::probe_writes`]).
pub struct Store {
    pub(crate) db: DbHandle,
    crypto: RwLock<Arc<PhoneCrypto>>,
    path: PathBuf,
}

/// Cursor pagination by id: results are in ascending id order, and the next page starts after
/// the last id of this one, so concurrent inserts never shift or duplicate items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Return items with `id > after`.
    pub after: Option<u64>,
    /// Page size, clamped to 1..=[`MAX_PAGE`].
    pub limit: usize,
}

/// Largest page the store returns.
pub const MAX_PAGE: usize = 500;

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items in ascending id order.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` when this was the last page.
    pub next_after: Option<u64>,
}

impl Default for PageRequest {
    fn default() -> PageRequest {
        PageRequest {
            after: None,
            limit: 50,
        }
    }
}

impl PageRequest {
    pub(crate) fn clamped_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }

    /// Builds a page from candidate `(id, item)` pairs (any order, possibly more than a page).
    pub(crate) fn paginate<T>(&self, mut items: Vec<(u64, T)>) -> Page<T> {
        let limit = self.clamped_limit();
        items.retain(|(id, _)| self.after.is_none_or(|a| *id > a));
        items.sort_by_key(|(id, _)| *id);
        let more = items.len() > limit;
        items.truncate(limit);
        let next_after = if more {
            items.last().map(|(id, _)| *id)
        } else {
            None
        };
        Page {
            items: items.into_iter().map(|(_, t)| t).collect(),
            next_after,
        }
    }
}

impl Store {
    /// Opens (creating if missing) the database at `path` and applies pending migrations.
    ///
    /// Refuses a database written by a newer build ([`OpenError::TooNew`]).
    pub fn open(path: impl AsRef<Path>, crypto: PhoneCrypto) -> Result<Store, OpenError> {
        Store::open_with_migrations(path, crypto, MIGRATIONS)
    }

    /// [`Store::open`] with an explicit migration list; for tests that inject failing steps.
    #[doc(hidden)]
    pub fn open_with_migrations(
        path: impl AsRef<Path>,
        crypto: PhoneCrypto,
        migrations: &[Migration],
    ) -> Result<Store, OpenError> {
        let path = path.as_ref().to_path_buf();
        let db = open_db(&path)?;
        migrate::migrate_with(&db, migrations)?;
        let reopen_path = path.clone();
        let reopen: Opener = Box::new(move || Database::builder().create(&reopen_path));
        Ok(Store::from_handle(DbHandle::new(db, reopen), crypto, path))
    }

    pub(crate) fn from_handle(db: DbHandle, crypto: PhoneCrypto, path: PathBuf) -> Store {
        Store {
            db,
            crypto: RwLock::new(Arc::new(crypto)),
            path,
        }
    }

    /// Why writes fail, from the first write the disk refused until [`Store::probe_writes`]
    /// succeeds; `None` while writes work. The reason is redb's description of the I/O error
    /// (e.g. "No space left on device"), never a path or a record.
    ///
    /// Ordinary writes that happen to succeed meanwhile do not end the outage: a nearly full
    /// disk can fit a small write into space the database file already holds and still refuse
    /// the next one, and the report should not flap.
    pub fn write_outage(&self) -> Option<String> {
        self.db.outage()
    }

    /// Commits a [`WRITE_PROBE_BYTES`] row to a table of its own and deletes it again (two
    /// commits, so the first really needs the space). Success ends a [`Store::write_outage`];
    /// failure starts or continues one. The server runs it every few seconds during an outage.
    pub fn probe_writes(&self) -> Result<(), StoreError> {
        let filler = vec![0u8; WRITE_PROBE_BYTES];
        let txn = self.db.begin_write()?;
        txn.open_table(WRITE_PROBE)?.insert(0, filler.as_slice())?;
        txn.commit()?;
        let txn = self.db.begin_write()?;
        txn.open_table(WRITE_PROBE)?.remove(0)?;
        txn.commit()?;
        self.db.writes_recovered();
        Ok(())
    }

    /// The file this store uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrate::schema_version(&*self.db.database()?)
    }

    /// The current keyring (the active key changes during [`Store::rotate_keys`]).
    pub fn crypto(&self) -> Arc<PhoneCrypto> {
        // A poisoned lock only means a panic happened while swapping an Arc; the Arc is intact.
        self.crypto
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_crypto(&self, crypto: PhoneCrypto) {
        *self.crypto.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(crypto);
    }
}

/// Applies pending migrations to the database file at `path` without opening a full store
/// (`vartalaap migrate`). No keys are needed: migrations never decrypt.
pub fn migrate_file(path: impl AsRef<Path>) -> Result<MigrationReport, OpenError> {
    let db = open_db(path.as_ref())?;
    migrate::migrate(&db)
}

fn open_db(path: &Path) -> Result<Database, OpenError> {
    Database::builder()
        .create(path)
        .map_err(|source| OpenError::Open {
            path: path.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_is_by_id_cursor() {
        let req = PageRequest {
            after: Some(2),
            limit: 2,
        };
        let page = req.paginate(vec![(5, 'e'), (1, 'a'), (3, 'c'), (4, 'd'), (2, 'b')]);
        assert_eq!(page.items, ['c', 'd']);
        assert_eq!(page.next_after, Some(4));
        let last = PageRequest {
            after: Some(4),
            limit: 2,
        }
        .paginate(vec![(5, 'e'), (4, 'd')]);
        assert_eq!(last.items, ['e']);
        assert_eq!(last.next_after, None);
        assert_eq!(
            PageRequest {
                after: None,
                limit: 0
            }
            .clamped_limit(),
            1
        );
        assert_eq!(
            PageRequest {
                after: None,
                limit: 10_000
            }
            .clamped_limit(),
            MAX_PAGE
        );
    }
}
