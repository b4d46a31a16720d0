//! Embedded storage for Vartalaap: reservations, calls and transcripts, caller privacy,
//! schema migrations and durable background jobs, all in one redb file.
//!
//! The crate is a library over a synchronous [`Store`]; the REST API (server crate) and the
//! dialog engine call it. Design decisions, each explained in its module and in
//! `docs/STORAGE.md`:
//!
//! - **One write transaction per business change.** A booking re-checks capacity and writes the
//!   reservation, its indexes, its WhatsApp follow-up and the job that sends it atomically
//!   ([`Store::book`]). redb serialises writers, so the capacity check cannot race.
//! - **No hidden clock.** Every operation takes `now`; only [`JobRunner`] reads a [`Clock`].
//! - **Phone numbers never in plaintext at rest or in logs**: [`PhoneNumber`] redacts itself,
//!   rows hold AES-256-GCM ciphertext plus an HMAC lookup hash ([`PhoneCrypto`]).
//! - **Numbered migrations** ([`migrate::MIGRATIONS`], described in `migrations/`), each atomic.

#![deny(missing_docs)]

mod aggregates;
mod backup;
mod booking;
mod calls;
mod capacity;
mod crypto;
mod error;
#[doc(hidden)]
pub mod fixtures;
mod handle;
mod handlers;
mod jobs;
pub mod migrate;
mod model;
mod once;
#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "postgres")]
#[doc(hidden)]
pub mod pg_test_server;
mod phone;
mod records;
mod retention;
mod reviews;
mod rotation;
mod runner;
mod schedule;
mod store;
mod tables;
mod whatsapp;

pub use aggregates::{DailyAggregate, LATENCY_BOUNDS_MS};
pub use backup::{BackupError, BackupReport, EPHEMERAL_TABLES, backup_file, restore_file};
pub use booking::{
    Booked, BookingRequest, FollowupQueued, FollowupSpec, MAX_PARTY, ReservationChange,
    ReservationFilter,
};
pub use calls::{
    CallEnd, CallFilter, CallerPreferencesEdit, CallerUpdate, MAX_PREFERRED_NAME, NewCall, NewTurn,
};
pub use capacity::{CapacityRule, SlotAvailability, SlotGrid, nearest_free};
pub use crypto::{CryptoError, EncryptedPhone, HashPepper, PhoneCrypto, PhoneHash, PhoneKey};
pub use error::{BookingError, JobError, OpenError, StoreError, UnknownVariant};
pub use handlers::{PurgeHandler, WhatsAppFollowupHandler, WhatsAppRetrySweepHandler};
pub use jobs::{
    Backoff, FixedJitter, Jitter, JobFailure, JobFate, JobFilter, NewJob, RandomJitter,
};
pub use migrate::{MigrationReport, SCHEMA_VERSION};
pub use model::{
    BadTime, CallLog, CallOutcome, CallWithTurns, CallbackReason, CallbackRequest, CallbackStatus,
    CallerPreferences, ConfigErrorSource, ConversationTurn, FollowupStatus, HandledBy,
    ImprovementSuggestion, Job, JobStatus, MAX_SIGNAL_MESSAGE_CHARS, Reservation,
    ReservationStatus, ReviewCategory, ReviewIssue, SuggestionStatus, SuggestionTarget, TimeOfDay,
    TranscriptReview, TtsFallback, TurnConfigError, TurnRole, TurnTimings, WhatsappFollowup,
    short_message,
};
pub use once::MAX_ONCE_KEY_LEN;
#[cfg(feature = "postgres")]
pub use pg::{
    ImportReport, PG_MIGRATIONS, PG_SCHEMA_VERSION, PgMigration, PgStore, migrate_url,
    schema_diagram,
};
pub use phone::{PhoneError, PhoneNumber};
pub use records::{CallbackFilter, CallbackUpdate, MAX_STAFF_NOTE, NewCallback};
pub use retention::{PurgeReport, RetentionPolicy};
pub use reviews::{
    CategoryReviewStats, DayReviewStats, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, NewReview,
    NewSuggestion, ReviewFilter, ReviewRequest, ReviewStats, SuggestionFilter, analyze_job_key,
};
pub use rotation::RotationReport;
pub use runner::HandlerFuture;
pub use runner::{Clock, JobHandler, JobRunner, RunnerConfig, ScheduleSource, SystemClock};
pub use schedule::{Schedule, ScheduledJob};
pub use store::{MAX_PAGE, Page, PageRequest, Store, WRITE_PROBE_BYTES, migrate_file};
pub use whatsapp::{
    FollowupMessage, SendError, SendReceipt, WebhookToken, WhatsAppConfig, WhatsAppSender,
};

/// Job kind of the WhatsApp confirmation written by [`Store::book`].
pub const WHATSAPP_FOLLOWUP_KIND: &str = "whatsapp_followup";
/// Job kind of the daily retention purge.
pub const RETENTION_PURGE_KIND: &str = "retention_purge";
/// Job kind of the review of a finished call (reviewer → classifier → improver), queued by
/// [`Store::finish_call`] in the same transaction as the call's end.
pub const ANALYZE_TRANSCRIPT_KIND: &str = "analyze_transcript_quality";
/// Job kind of the hourly sweep that re-queues failed WhatsApp sends.
pub const WHATSAPP_RETRY_SWEEP_KIND: &str = "whatsapp_retry_sweep";
