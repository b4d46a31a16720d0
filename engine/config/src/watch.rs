//! File watching for hot reload: the watcher only signals, one controller reloads.
//!
//! Three pieces, each with one job:
//! - the `notify` callback filters events to config files and does a non-blocking `try_send`
//!   on a 1-slot channel (a pending signal already means "reload soon", so extra events are
//!   dropped, never queued);
//! - the *debouncer* thread waits until events have been quiet for [`DEBOUNCE`] (or
//!   [`MAX_DELAY`] has passed since the first one), re-adds directory watches (a directory
//!   that was deleted and recreated loses its inotify watch), then signals the controller;
//! - the *controller* thread runs [`ConfigStore::reload_now`], the only code that swaps
//!   snapshots.
//!
//! Editors save in several ways — write in place, truncate then write, write a temp file and
//! rename it over the original, several saves in a burst — all of which reduce to "some events
//! in the directory, then quiet". A reload that catches a half-written file rejects it and the
//! final write's events trigger another reload, so the end state is always the file on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::load::{BUSINESSES_DIR, FLOWS_DIR, PLUGINS_DIR};
use crate::store::ConfigStore;

/// Quiet time after the last file event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// Longest a continuous stream of events can postpone a reload.
pub const MAX_DELAY: Duration = Duration::from_millis(1000);

const DIRS: [&str; 3] = [BUSINESSES_DIR, FLOWS_DIR, PLUGINS_DIR];

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The OS file-watching API failed (e.g. inotify watch limit reached).
    #[error("cannot watch {path}: {source}")]
    Notify {
        /// What we tried to watch.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: notify::Error,
    },
    /// A thread could not be spawned.
    #[error("cannot start the config watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

enum Msg {
    Changed,
    Stop,
}

/// Keeps the watcher running; dropping it stops both threads and waits for them.
#[derive(Debug)]
pub struct WatchGuard {
    tx: SyncSender<Msg>,
    debouncer: Option<JoinHandle<()>>,
    controller: Option<JoinHandle<()>>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        // Blocking send: the debouncer always drains its channel, so this cannot hang.
        let _ = self.tx.send(Msg::Stop);
        if let Some(h) = self.debouncer.take() {
            let _ = h.join();
        }
        if let Some(h) = self.controller.take() {
            let _ = h.join();
        }
    }
}

impl ConfigStore {
    /// Starts watching `businesses/`, `flows/` and `plugins/` under the store's root; every
    /// debounced change runs [`ConfigStore::reload_now`] on a dedicated controller thread.
    ///
    /// Uses plain threads (no tokio), so it works the same under any runtime; the reload itself
    /// is CPU-bound and must not run on async worker threads anyway.
    pub fn spawn_watcher(self: &Arc<Self>) -> Result<WatchGuard, WatchError> {
        // Event paths are reported under the watched path; canonicalizing makes `root` (and so
        // the relevance filter) agree with them whether the store was given `.` or a symlink.
        let root = self
            .root()
            .canonicalize()
            .unwrap_or_else(|_| self.root().to_path_buf());
        let (tx, rx) = sync_channel::<Msg>(1);
        let (reload_tx, reload_rx) = sync_channel::<()>(1);

        let cb_tx = tx.clone();
        let cb_root = root.clone();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            let relevant = match &res {
                Ok(ev) => is_relevant(&cb_root, ev),
                // An error (e.g. event queue overflow) may hide changes: reload to be safe.
                Err(_) => true,
            };
            if relevant {
                let _ = cb_tx.try_send(Msg::Changed);
            }
        })
        .map_err(|source| WatchError::Notify {
            path: root.clone(),
            source,
        })?;
        watcher
            .watch(&root, RecursiveMode::NonRecursive)
            .map_err(|source| WatchError::Notify {
                path: root.clone(),
                source,
            })?;
        for dir in DIRS {
            let path = root.join(dir);
            if path.is_dir() {
                watcher
                    .watch(&path, RecursiveMode::NonRecursive)
                    .map_err(|source| WatchError::Notify { path, source })?;
            }
        }

        let debouncer = std::thread::Builder::new()
            .name("config-watch".into())
            .spawn(move || debounce_loop(watcher, &root, &rx, &reload_tx))
            .map_err(WatchError::Thread)?;
        let store = Arc::clone(self);
        let controller = std::thread::Builder::new()
            .name("config-reload".into())
            .spawn(move || {
                while reload_rx.recv().is_ok() {
                    let outcome = store.reload_now();
                    tracing::debug!(?outcome, "Configuration reload finished.");
                }
            })
            .map_err(WatchError::Thread)?;
        tracing::info!(root = %store_root(self), "Watching configuration for changes.");
        Ok(WatchGuard {
            tx,
            debouncer: Some(debouncer),
            controller: Some(controller),
        })
    }
}

fn store_root(store: &ConfigStore) -> String {
    store.root().display().to_string()
}

fn debounce_loop(
    mut watcher: RecommendedWatcher,
    root: &Path,
    rx: &Receiver<Msg>,
    reload_tx: &SyncSender<()>,
) {
    loop {
        match rx.recv() {
            Ok(Msg::Changed) => {}
            Ok(Msg::Stop) | Err(_) => return,
        }
        let first = Instant::now();
        loop {
            let wait = DEBOUNCE.min(MAX_DELAY.saturating_sub(first.elapsed()));
            if wait.is_zero() {
                break;
            }
            match rx.recv_timeout(wait) {
                Ok(Msg::Changed) => continue,
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        // Re-add watches: a directory that was removed and recreated has lost its watch.
        for dir in DIRS {
            let path = root.join(dir);
            if path.is_dir() {
                let _ = watcher.unwatch(&path);
                if let Err(e) = watcher.watch(&path, RecursiveMode::NonRecursive) {
                    tracing::warn!(path = %path.display(), error = %e, "Cannot watch config directory.");
                }
            }
        }
        match reload_tx.try_send(()) {
            // Full: a reload is already pending and will read the latest files.
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => return,
        }
    }
}

/// Whether an event concerns a config file or one of the config directories.
fn is_relevant(root: &Path, ev: &Event) -> bool {
    // Our own reads produce open/read/close-nowrite events; ignoring them avoids a reload loop.
    if let EventKind::Access(kind) = ev.kind
        && !matches!(kind, AccessKind::Close(AccessMode::Write))
    {
        return false;
    }
    ev.paths.iter().any(|p| {
        let in_dir = DIRS.iter().any(|d| p.parent() == Some(&root.join(d)));
        let is_dir = DIRS.iter().any(|d| p == &root.join(d));
        let is_config = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "rhai"));
        is_dir || (in_dir && is_config)
    })
}
