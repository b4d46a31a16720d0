//! Replay protection for Plivo requests: every V3 nonce and every stream token is accepted
//! once. Plivo's signature covers the URL, the parameters and a nonce but no timestamp, so a
//! captured request stays valid forever; remembering what was accepted is the only defence.
//!
//! Markers are written to the store (they survive a restart) and kept in memory too, so a
//! replay is still refused when the disk cannot be written (the failure is logged).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use vartalaap_store::Store;

/// How long an accepted nonce or stream token is remembered. Far longer than any retry or
/// stream-token lifetime; a request replayed later than this is accepted again (Plivo's
/// signature has no timestamp to refuse it by).
pub const REMEMBER_FOR: Duration = Duration::hours(24);
/// Most markers kept in memory (the store keeps them all; memory is the fallback).
const MEMORY_LIMIT: usize = 100_000;

/// What kind of one-time value a marker is for (keeps the namespaces apart).
#[derive(Debug, Clone, Copy)]
pub enum OnceKind {
    /// An `X-Plivo-Signature-V3-Nonce` whose signature verified.
    Nonce,
    /// A stream token's call (`CallUUID`): its stream was opened.
    StreamToken,
}

/// Remembers accepted one-time values.
pub struct ReplayGuard {
    store: Arc<Store>,
    memory: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl ReplayGuard {
    /// A guard writing its markers to `store`.
    pub fn new(store: Arc<Store>) -> ReplayGuard {
        ReplayGuard {
            store,
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// `true` the first time `value` of `kind` is seen (and remembers it); `false` for a replay.
    pub async fn first_use(&self, kind: OnceKind, value: &str, now: DateTime<Utc>) -> bool {
        let key = marker_key(kind, value);
        let until = now + REMEMBER_FOR;
        {
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            if memory.get(&key).is_some_and(|t| *t > now) {
                return false;
            }
            if memory.len() >= MEMORY_LIMIT {
                memory.retain(|_, t| *t > now);
            }
            if memory.len() < MEMORY_LIMIT {
                memory.insert(key.clone(), until);
            }
        }
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.use_once(&key, until, now)).await {
            Ok(Ok(first)) => first,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "Could not record a Plivo nonce or stream token; replays are refused only until a restart.");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "Recording a Plivo nonce or stream token was interrupted.");
                true
            }
        }
    }
}

/// `kind:` + SHA-256 of the value: fixed length whatever the client sent, nothing raw stored.
fn marker_key(kind: OnceKind, value: &str) -> String {
    let prefix = match kind {
        OnceKind::Nonce => "plivo-nonce",
        OnceKind::StreamToken => "plivo-stream",
    };
    format!("{prefix}:{}", hex::encode(Sha256::digest(value.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_keys_are_bounded_and_kept_apart_by_kind() {
        let long = "9".repeat(10_000);
        let key = marker_key(OnceKind::Nonce, &long);
        assert!(key.len() <= vartalaap_store::MAX_ONCE_KEY_LEN, "{key}");
        assert_ne!(
            marker_key(OnceKind::Nonce, "abc"),
            marker_key(OnceKind::StreamToken, "abc")
        );
    }
}
