//! Loopback mock servers that speak the providers' real wire protocols (feature `mock`).
//!
//! Each mock binds `127.0.0.1:0`, exposes its `base_url` for the client config, records what
//! it received for assertions, can be switched to misbehave at runtime (`set_mode`), and shuts
//! down when its handle is dropped. Tests and examples (the call simulator) use them; nothing
//! here is compiled into the production server.

pub mod deepgram;
#[cfg(feature = "edge-tts")]
pub mod edge;
pub mod groq;
pub mod plivo;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

/// Locks a mock's state, recovering from a poisoned lock (a panicking test thread must not
/// cascade into every other assertion).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tells a mock's tasks to stop when the handle is dropped.
#[derive(Debug)]
pub(crate) struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Shutdown {
    pub(crate) fn new() -> (Self, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(false);
        (Self { tx }, rx)
    }
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        let _ = self.tx.send(true);
    }
}

/// Resolves when the shutdown flag is set or its sender is gone.
pub(crate) async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Shared, lockable state of a mock.
pub(crate) type Shared<T> = Arc<Mutex<T>>;
