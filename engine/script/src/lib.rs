//! Sandboxed Rhai runtime for business plugins and flow expressions.
//!
//! The config crate parses `plugins/*.rhai` and flow expressions at load time with the
//! sandbox's parse rules ([`vartalaap_config::apply_parse_rules`]: a syntax error or a refused
//! `eval`/`import` is rejected with file:line there). This crate *runs* them: the dialog core asks a
//! [`ScriptHost`] to evaluate a condition or call a plugin function, and [`RhaiHost`] does so on
//! one hardened engine ([`harden`]) with limits on operations, call depth, sizes and CPU time,
//! no file, network or process access, and a fresh scope per evaluation.
//!
//! ```no_run
//! use std::sync::Arc;
//! use vartalaap_config::ConfigStore;
//! use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};
//!
//! let store = ConfigStore::load(".").map_err(|_| "invalid configuration")?;
//! let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default())); // one per process
//! let snapshot = store.current("himalayan_kitchen").ok_or("no such business")?;
//! let host = RhaiHost::new(runtime, snapshot); // one per snapshot
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Authors' documentation (what a script can read and return): `docs/PLUGINS.md`.

#![deny(missing_docs)]

mod error;
mod hooks;
mod host;
mod runtime;
mod sandbox;
mod scope;
mod uses;

pub use error::{Limit, Location, ScriptError};
pub use hooks::{HookDecision, Message, SlotDecision};
pub use host::{RhaiHost, ScriptHost};
pub use runtime::{CompileStats, CompiledPlugin, ScriptRuntime};
pub use sandbox::{
    Clock, MonotonicClock, ScriptLimits, TIME_CHECK_EVERY, ThreadCpuClock, harden, sandboxed_engine,
};
pub use scope::{ScriptScope, Site};
