//! The immutable, shareable result of loading one business.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::diagnostic::Diagnostic;
use crate::model::business::Business;
use crate::model::flow::Flow;
use crate::model::plugin::Plugin;

/// Everything one conversation needs from configuration, frozen at load time.
///
/// Snapshots are shared as `Arc<BusinessSnapshot>`: a conversation clones the `Arc` when it
/// starts and keeps it to the end, so a hot reload never changes a call in progress. The
/// `version` is recorded on every conversation to say exactly which configuration it ran with.
#[derive(Debug)]
pub struct BusinessSnapshot {
    /// The compiled business.
    pub business: Business,
    /// The flows it uses, by id (exactly `business.flows`).
    pub flows: BTreeMap<String, Arc<Flow>>,
    /// The plugins it uses, by id (exactly `business.plugins`).
    pub plugins: BTreeMap<String, Arc<Plugin>>,
    /// The business file as validated JSON, for plugins and LLM grounding that want the raw
    /// facts (keys exactly as in the YAML).
    pub document: serde_json::Value,
    /// Hex SHA-256 over the paths and contents of `files`: equal versions mean identical input.
    pub version: String,
    /// When this snapshot was compiled.
    pub loaded_at: DateTime<Utc>,
    /// Files it was built from, relative to the config root, sorted.
    pub files: Vec<String>,
    /// Things that load but are probably stale (a dated exception already in the past),
    /// shown by `vartalaap validate` and `GET /health/config`; never a reason to reject.
    pub warnings: Vec<Diagnostic>,
}

impl BusinessSnapshot {
    /// The business id.
    pub fn id(&self) -> &str {
        &self.business.id
    }

    /// A flow used by this business.
    pub fn flow(&self, id: &str) -> Option<&Arc<Flow>> {
        self.flows.get(id)
    }

    /// A plugin used by this business.
    pub fn plugin(&self, id: &str) -> Option<&Arc<Plugin>> {
        self.plugins.get(id)
    }
}
