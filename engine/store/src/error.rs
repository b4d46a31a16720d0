//! Error types, one per operation family where callers branch (redb style), all convertible
//! into the catch-all [`StoreError`].

use crate::crypto::CryptoError;

/// A string that is not one of an enum's spellings (status filters from the API, stored rows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of {expected:?}")]
pub struct UnknownVariant {
    /// Rust type name, e.g. `ReservationStatus`.
    pub kind: &'static str,
    /// What was given.
    pub value: String,
    /// Accepted spellings.
    pub expected: &'static [&'static str],
}

/// Catch-all storage failure. Operations with outcomes callers branch on have their own enums
/// ([`BookingError`], [`JobError`], [`OpenError`]) wrapping this one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb reported a corruption or transaction failure (I/O failures are [`StoreError::Unavailable`]).
    #[error("database error: {0}")]
    Db(redb::Error),
    /// The disk refused a read or write (full, read-only, failing): the operation changed
    /// nothing. The store reopens the database by itself and takes writes again once the disk
    /// does (see [`crate::Store::write_outage`]).
    #[error(
        "storage is unavailable ({reason}); nothing was saved. Free space on the disk that holds          DATA_DIR (or fix the disk); the server recovers without a restart"
    )]
    Unavailable {
        /// redb's description of the I/O failure (no paths).
        reason: String,
    },
    /// PostgreSQL refused a statement for a reason other than being unavailable (a
    /// constraint, a schema this build does not expect); the operation changed nothing.
    #[error(
        "PostgreSQL refused the operation: {0}; check that `vartalaap migrate` ran against this database"
    )]
    Postgres(String),
    /// A stored row failed to decode: the file was written by an incompatible build or damaged.
    #[error(
        "stored {table} row {key} does not decode: {source}; run `vartalaap migrate` or restore a backup"
    )]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Row key, rendered.
        key: String,
        /// The serde error.
        source: serde_json::Error,
    },
    /// The record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity name (`reservation`, `call`, …).
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// An argument was rejected before touching the database.
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// Field name as the API spells it.
        field: &'static str,
        /// What is wrong and what is accepted.
        problem: String,
    },
    /// A stored phone ciphertext could not be decrypted.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A blocking store task panicked or was cancelled (runner only).
    #[error("background store task failed: {0}")]
    Task(String),
}

impl From<redb::Error> for StoreError {
    /// Sorts redb's failures: the disk's ([`StoreError::Unavailable`]) from the rest.
    fn from(e: redb::Error) -> StoreError {
        match e {
            redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed => {
                StoreError::Unavailable {
                    reason: e.to_string(),
                }
            }
            other => StoreError::Db(other),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),+) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError {
                StoreError::from(redb::Error::from(e))
            }
        }
    )+};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl StoreError {
    pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> StoreError {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub(crate) fn invalid(field: &'static str, problem: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            field,
            problem: problem.into(),
        }
    }
}

/// Why a booking, change or cancellation was refused.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// Not enough free covers in the hold window. The dialog should offer other times
    /// (see [`crate::Store::availability`]).
    #[error(
        "fully booked: a party of {party_size} on {date} at {time} needs {party_size} covers but only {free_covers} of {capacity} are free during the {hold_minutes}-minute table hold"
    )]
    Full {
        /// Requested covers.
        party_size: u8,
        /// Business-local date.
        date: chrono::NaiveDate,
        /// Business-local `HH:MM`.
        time: crate::TimeOfDay,
        /// Covers still free at the busiest moment of the hold window.
        free_covers: u32,
        /// Total covers.
        capacity: u32,
        /// Hold length used for the check.
        hold_minutes: u32,
    },
    /// A field is out of range (party size, hold minutes, empty business id…).
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// Field name as the API spells it.
        field: &'static str,
        /// What is wrong and what is accepted.
        problem: String,
    },
    /// No such reservation.
    #[error("reservation {0} not found")]
    NotFound(u64),
    /// The status change is not allowed (e.g. cancelling a completed reservation).
    #[error("reservation {id} is {from} and cannot become {to}")]
    BadTransition {
        /// Reservation id.
        id: u64,
        /// Current status.
        from: crate::ReservationStatus,
        /// Requested status.
        to: crate::ReservationStatus,
    },
    /// Storage failed; the booking was not written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<T> From<T> for BookingError
where
    StoreError: From<T>,
    T: RedbError,
{
    fn from(e: T) -> BookingError {
        BookingError::Store(StoreError::from(e))
    }
}

/// Marker for redb error types so `?` works in every operation error enum.
pub trait RedbError {}
impl RedbError for redb::DatabaseError {}
impl RedbError for redb::TransactionError {}
impl RedbError for redb::TableError {}
impl RedbError for redb::StorageError {}
impl RedbError for redb::CommitError {}

/// Why a job operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job.
    #[error("job {0} not found")]
    NotFound(u64),
    /// The worker's lease was lost (expired and re-claimed by another worker); its result is
    /// dropped so the job is not completed twice.
    #[error("job {id} is no longer leased by {owner:?}; another worker owns it")]
    LeaseLost {
        /// Job id.
        id: u64,
        /// The worker that tried.
        owner: String,
    },
    /// `retry_dead` on a job that is not dead.
    #[error("job {id} is {status}, not dead; only dead jobs can be retried")]
    NotDead {
        /// Job id.
        id: u64,
        /// Its status.
        status: crate::JobStatus,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<T> From<T> for JobError
where
    StoreError: From<T>,
    T: RedbError,
{
    fn from(e: T) -> JobError {
        JobError::Store(StoreError::from(e))
    }
}

/// Why opening or migrating a database failed. In every case the file is left as it was
/// before the failing step.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// redb could not open the file (missing directory, locked by another process, corrupt).
    #[error("cannot open database {path}: {source}")]
    Open {
        /// File path.
        path: String,
        /// redb's reason.
        source: redb::DatabaseError,
    },
    /// The file was written by a newer vartalaap.
    #[error(
        "database schema version {found} is newer than this vartalaap (supports up to {supported}); upgrade vartalaap"
    )]
    TooNew {
        /// Version recorded in the file.
        found: u32,
        /// Highest version this build knows.
        supported: u32,
    },
    /// A migration failed and was rolled back; the database stays at `version - 1`.
    #[error(
        "migration {version:04}_{name} failed and was rolled back (database left at version {left_at}): {reason}"
    )]
    Migration {
        /// Failing migration number.
        version: u32,
        /// Its name.
        name: &'static str,
        /// Version the database is still at.
        left_at: u32,
        /// What went wrong.
        reason: String,
    },
    /// Other storage failure while reading or writing the schema version.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OpenError {
    /// Whether another process (a running server) holds the database: redb lets one process
    /// open a file, so a command should then go through that process instead.
    pub fn is_in_use(&self) -> bool {
        matches!(
            self,
            OpenError::Open {
                source: redb::DatabaseError::DatabaseAlreadyOpen,
                ..
            }
        )
    }
}

impl<T> From<T> for OpenError
where
    StoreError: From<T>,
    T: RedbError,
{
    fn from(e: T) -> OpenError {
        OpenError::Store(StoreError::from(e))
    }
}
