//! Single-use markers that survive a restart: "this key was used, remember it until then".
//!
//! The telephony edge records every Plivo request nonce and every stream token it accepted
//! here, so a captured request replayed later — even after the server restarted — is refused.
//! Entries live minutes to hours and carry their own expiry; expired ones are purged a few at
//! a time by later writes. The table holds nothing another build needs to read, so it is
//! created on first use rather than by a migration (an older build simply never opens it).

use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition};

use crate::error::StoreError;
use crate::store::Store;

/// key → expiry (unix seconds).
pub(crate) const USED_ONCE: TableDefinition<&str, i64> = TableDefinition::new("used_once");
/// (expiry unix seconds, key) → (): finds expired markers without a full scan.
pub(crate) const USED_ONCE_BY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("used_once_by_expiry");

/// Longest key accepted (callers hash what they get from the network).
pub const MAX_ONCE_KEY_LEN: usize = 128;
/// Expired markers removed per write, so purging never makes one request slow.
const PURGE_PER_WRITE: usize = 64;

impl Store {
    /// Marks `key` used until `expires_at`. `Ok(true)` the first time; `Ok(false)` when the
    /// key was already used and its marker has not expired (a replay). One write transaction.
    pub fn use_once(
        &self,
        key: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if key.is_empty() || key.len() > MAX_ONCE_KEY_LEN {
            return Err(StoreError::invalid(
                "key",
                format!("must be 1 to {MAX_ONCE_KEY_LEN} bytes"),
            ));
        }
        let now_s = now.timestamp();
        let txn = self.db.begin_write()?;
        let first = {
            let mut markers = txn.open_table(USED_ONCE)?;
            let mut by_expiry = txn.open_table(USED_ONCE_BY_EXPIRY)?;
            let expired: Vec<(i64, String)> = by_expiry
                .range(..(now_s, ""))?
                .take(PURGE_PER_WRITE)
                .map(|entry| entry.map(|(k, _)| (k.value().0, k.value().1.to_string())))
                .collect::<Result<_, _>>()?;
            for (at, old) in &expired {
                by_expiry.remove((*at, old.as_str()))?;
                markers.remove(old.as_str())?;
            }
            let seen = markers.get(key)?.map(|v| v.value());
            match seen {
                Some(until) if until > now_s => false,
                _ => {
                    if let Some(until) = seen {
                        by_expiry.remove((until, key))?;
                    }
                    let until = expires_at.timestamp();
                    markers.insert(key, until)?;
                    by_expiry.insert((until, key), ())?;
                    true
                }
            }
        };
        if first {
            txn.commit()?;
        } else {
            // Purges alone are not worth a commit on the replay path.
            txn.abort()?;
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::fixture_crypto as test_crypto;
    use crate::store::Store;

    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_key_is_used_once_until_it_expires_and_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let store = Store::open(&path, test_crypto()).unwrap();
        assert!(store.use_once("nonce:a", at(60), at(0)).unwrap());
        assert!(!store.use_once("nonce:a", at(120), at(30)).unwrap());
        assert!(store.use_once("nonce:b", at(60), at(30)).unwrap());
        drop(store);
        let store = Store::open(&path, test_crypto()).unwrap();
        assert!(!store.use_once("nonce:a", at(120), at(59)).unwrap());
        // Expired: usable again (and the old marker is purged).
        assert!(store.use_once("nonce:a", at(200), at(60)).unwrap());
        assert!(!store.use_once("nonce:a", at(300), at(199)).unwrap());
        assert!(store.use_once("", at(1), at(0)).is_err());
        assert!(store.use_once(&"x".repeat(200), at(1), at(0)).is_err());
    }
}
