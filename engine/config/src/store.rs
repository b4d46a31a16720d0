//! The live configuration: one atomically swapped map of business snapshots, plus health.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::load::{LoadReport, load_root};
use crate::snapshot::BusinessSnapshot;

type Live = BTreeMap<String, Arc<BusinessSnapshot>>;

/// Holds the live snapshot of every business and swaps them on reload.
///
/// Readers (`current`, `list`) are wait-free (`arc-swap`); reloads are serialized by an internal
/// lock so exactly one controller compiles at a time. A reload is all-or-nothing *per business*:
/// a business whose files are invalid keeps its last good snapshot and records the rejected
/// edit; other businesses still pick up their changes.
#[derive(Debug)]
pub struct ConfigStore {
    root: PathBuf,
    live: ArcSwap<Live>,
    state: Mutex<State>,
    reload_lock: Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    rejected: BTreeMap<String, RejectedEdit>,
    global: Vec<Diagnostic>,
    last_reload_at: Option<DateTime<Utc>>,
}

/// An edit that did not take effect, with every reason.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedEdit {
    /// When the reload that rejected it ran.
    pub at: DateTime<Utc>,
    /// Every error, sorted by file and line.
    pub errors: Vec<Diagnostic>,
}

/// The live version of one business.
#[derive(Debug, Clone, Serialize)]
pub struct LiveVersion {
    /// Content hash of the files it was built from.
    pub version: String,
    /// When it was compiled.
    pub loaded_at: DateTime<Utc>,
}

/// Health of one business's configuration.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessHealth {
    /// Business id (file stem).
    pub id: String,
    /// The version serving new conversations, if any.
    pub live: Option<LiveVersion>,
    /// The most recent edit that was rejected since the last successful load, if any.
    pub last_rejected: Option<RejectedEdit>,
    /// Warnings about the live version (e.g. a closure dated in the past); never a rejection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Diagnostic>,
}

/// Body of `GET /health/config`.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigHealth {
    /// True when every business is live with its latest files and there are no global errors.
    pub ok: bool,
    /// Per business, sorted by id.
    pub businesses: Vec<BusinessHealth>,
    /// Errors in files no business uses (or that could not be attributed).
    pub global_errors: Vec<Diagnostic>,
    /// When the last load or reload ran.
    pub last_reload_at: Option<DateTime<Utc>>,
}

/// What one reload did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Businesses that went live for the first time.
    pub added: Vec<String>,
    /// Businesses whose live version changed.
    pub updated: Vec<String>,
    /// Businesses whose edit was rejected (the old version, if any, keeps serving).
    pub rejected: Vec<String>,
    /// Businesses whose file disappeared (no new conversations).
    pub removed: Vec<String>,
}

impl ConfigStore {
    /// Loads every business under `root` for startup.
    ///
    /// Startup policy: if at least one business compiles, the store starts with the valid ones
    /// and the broken ones are reported through [`ConfigStore::health`] and the log (a typo in
    /// one business must not take the others off the phone). If none compiles (or there are no
    /// business files), it fails with every diagnostic.
    pub fn load(root: impl Into<PathBuf>) -> Result<Self, Vec<Diagnostic>> {
        let root = root.into();
        let report = load_root(&root);
        if !report.businesses.values().any(Result::is_ok) {
            let mut all = report.all_diagnostics();
            if report.businesses.is_empty() {
                all.push(Diagnostic::file(
                    crate::load::BUSINESSES_DIR,
                    format!(
                        "no business files found in {}; add businesses/<id>.yaml",
                        root.join(crate::load::BUSINESSES_DIR).display()
                    ),
                ));
            }
            return Err(all);
        }
        let store = ConfigStore {
            root,
            live: ArcSwap::from_pointee(Live::new()),
            state: Mutex::new(State::default()),
            reload_lock: Mutex::new(()),
        };
        store.apply(report);
        Ok(store)
    }

    /// The config root (holding `businesses/`, `flows/`, `plugins/`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live snapshot of a business. Keep the returned `Arc` for a whole conversation.
    pub fn current(&self, business_id: &str) -> Option<Arc<BusinessSnapshot>> {
        self.live.load().get(business_id).cloned()
    }

    /// Every live snapshot, sorted by business id.
    pub fn list(&self) -> Vec<Arc<BusinessSnapshot>> {
        self.live.load().values().cloned().collect()
    }

    /// Re-reads all files and swaps in every business that compiles.
    ///
    /// Called by the watcher's controller thread; safe to call from anywhere (calls are
    /// serialized).
    pub fn reload_now(&self) -> ReloadOutcome {
        let _guard = self
            .reload_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let report = load_root(&self.root);
        self.apply(report)
    }

    /// Per-business live version and last rejected edit, plus global errors.
    pub fn health(&self) -> ConfigHealth {
        let live = self.live.load();
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<&String> = live.keys().chain(state.rejected.keys()).collect();
        ids.sort();
        ids.dedup();
        let businesses: Vec<BusinessHealth> = ids
            .into_iter()
            .map(|id| BusinessHealth {
                id: id.clone(),
                live: live.get(id).map(|s| LiveVersion {
                    version: s.version.clone(),
                    loaded_at: s.loaded_at,
                }),
                last_rejected: state.rejected.get(id).cloned(),
                warnings: live.get(id).map(|s| s.warnings.clone()).unwrap_or_default(),
            })
            .collect();
        ConfigHealth {
            ok: state.global.is_empty() && businesses.iter().all(|b| b.last_rejected.is_none()),
            businesses,
            global_errors: state.global.clone(),
            last_reload_at: state.last_reload_at,
        }
    }

    fn apply(&self, report: LoadReport) -> ReloadOutcome {
        let now = Utc::now();
        let old = self.live.load_full();
        let mut next = Live::new();
        let mut outcome = ReloadOutcome::default();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let seen: std::collections::BTreeSet<String> = report.businesses.keys().cloned().collect();
        for (id, result) in report.businesses {
            match result {
                Ok(snap) => {
                    state.rejected.remove(&id);
                    match old.get(&id) {
                        Some(prev) if prev.version == snap.version => {
                            next.insert(id, prev.clone());
                        }
                        Some(prev) => {
                            tracing::info!(
                                business = %id,
                                from = %short(&prev.version),
                                to = %short(&snap.version),
                                "Business configuration reloaded."
                            );
                            outcome.updated.push(id.clone());
                            next.insert(id, snap);
                        }
                        None => {
                            tracing::info!(business = %id, version = %short(&snap.version), "Business configuration loaded.");
                            outcome.added.push(id.clone());
                            next.insert(id, snap);
                        }
                    }
                }
                Err(errors) => {
                    let keeps = old.get(&id).map(|prev| short(&prev.version));
                    for e in &errors {
                        tracing::error!(business = %id, error = %e, "Configuration error.");
                    }
                    match &keeps {
                        Some(v) => {
                            tracing::warn!(business = %id, live_version = %v, errors = errors.len(), "Rejected configuration edit; the previous version keeps serving.")
                        }
                        None => {
                            tracing::warn!(business = %id, errors = errors.len(), "Business not loaded: its configuration has errors.")
                        }
                    }
                    if let Some(prev) = old.get(&id) {
                        next.insert(id.clone(), prev.clone());
                    }
                    outcome.rejected.push(id.clone());
                    state.rejected.insert(id, RejectedEdit { at: now, errors });
                }
            }
        }
        for id in old.keys() {
            if !seen.contains(id) {
                tracing::info!(business = %id, "Business file removed; it takes no new conversations.");
                outcome.removed.push(id.clone());
            }
        }
        // Rejected entries for files that are gone are stale.
        state.rejected.retain(|id, _| seen.contains(id));
        for e in &report.global {
            tracing::error!(error = %e, "Configuration error.");
        }
        state.global = report.global;
        state.last_reload_at = Some(now);
        self.live.store(Arc::new(next));
        outcome
    }
}

fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}
