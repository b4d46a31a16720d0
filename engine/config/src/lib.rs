//! Business and flow configuration for Vartalaap: YAML files validated by JSON Schema, compiled
//! into immutable snapshots, and hot-reloaded.
//!
//! # Pipeline (one path for startup, reload and `vartalaap validate`)
//!
//! ```text
//! read text ─▶ yaml::parse (value + positions) ─▶ schema::validate (all errors)
//!           ─▶ serde raw structs ─▶ compile (semantic checks, all errors) ─▶ BusinessSnapshot
//! ```
//!
//! Plugins (`plugins/*.rhai`) compile first, then flows (`flows/*.yaml`, which may call plugin
//! functions), then businesses (`businesses/*.yaml`, which use flows and plugins). Every
//! problem becomes a [`Diagnostic`] with file, line, column, JSON pointer and message; a file
//! either compiles completely or reports all its errors.
//!
//! # Using it
//!
//! ```no_run
//! use std::sync::Arc;
//! use vartalaap_config::ConfigStore;
//!
//! let store = Arc::new(ConfigStore::load(".").map_err(|errs| {
//!     for e in &errs { eprintln!("{e}"); }
//!     "invalid configuration"
//! })?);
//! let _watch = store.spawn_watcher()?;           // hot reload until dropped
//! let snap = store.current("himalayan_kitchen"); // keep this Arc for the whole call
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Design decision:** a reload is all-or-nothing per business. A business whose files (or the
//! flows and plugins it uses) have any error keeps serving its last good snapshot, and the
//! rejected edit with every error is visible in [`ConfigStore::health`]. Conversations hold an
//! `Arc<BusinessSnapshot>`, so a reload never changes a call in progress.

#![deny(missing_docs)]

mod compile;
pub mod diagnostic;
mod load;
pub mod model;
mod pointer;
mod raw;
pub mod schema;
pub mod snapshot;
pub mod store;
mod suggest;
mod validate;
pub mod watch;
mod yaml;

pub use compile::plugin::{DISABLED_SYMBOLS, ParseLimits, apply_parse_rules};
pub use diagnostic::Diagnostic;
pub use load::{LoadReport, load_root};
pub use model::Lang;
pub use model::prompts::{ENGINE_FILTERS, TEMPLATE_FUEL};
pub use snapshot::BusinessSnapshot;
pub use store::{
    BusinessHealth, ConfigHealth, ConfigStore, LiveVersion, RejectedEdit, ReloadOutcome,
};
pub use validate::{Validation, validate, validate_paths};
pub use watch::{WatchError, WatchGuard};
