//! Phone key rotation without read downtime.
//!
//! 1. The store's keyring gains the new key and makes it active, so every write from now on
//!    uses it; all older key ids stay in the ring, so every stored value stays readable.
//! 2. Tables holding ciphertexts are walked in id order in batches of small write transactions
//!    (bookings interleave between batches); values under another key id are decrypted and
//!    re-encrypted under the new one.
//! 3. The report says how many values remain under old ids (0 when done): only then may an
//!    operator drop the old key from configuration.

use redb::{ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::{EncryptedPhone, PhoneCrypto, PhoneKey};
use crate::error::StoreError;
use crate::model::{CallLog, CallbackRequest, Reservation};
use crate::store::Store;
use crate::tables::*;

/// Result of [`Store::rotate_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The now-active key id.
    pub active_key_id: String,
    /// Values re-encrypted.
    pub reencrypted: u64,
    /// Write transactions used.
    pub batches: u64,
    /// Values still under another key id (0 after a complete run).
    pub remaining_old: u64,
}

pub(crate) type Field<T> = fn(&mut T) -> &mut Option<EncryptedPhone>;

/// Re-encrypts a stored number under the active key; false when there is none or it already
/// is.
pub(crate) fn reencrypt(
    slot: &mut Option<EncryptedPhone>,
    crypto: &PhoneCrypto,
) -> Result<bool, StoreError> {
    let Some(enc) = slot.as_ref() else {
        return Ok(false);
    };
    if enc.key_id() == Some(crypto.active_key_id()) {
        return Ok(false);
    }
    let phone = crypto.decrypt(enc)?;
    *slot = Some(crypto.encrypt(&phone));
    Ok(true)
}

impl Store {
    /// Makes `new_key` the active phone key and re-encrypts every stored number under it in
    /// batches of `batch_size` rows per transaction. Reads keep working throughout.
    pub fn rotate_keys(
        &self,
        new_key: PhoneKey,
        batch_size: usize,
    ) -> Result<RotationReport, StoreError> {
        self.set_crypto(self.crypto().rotated_to(new_key));
        self.reencrypt_to_active(batch_size)
    }

    /// Re-encrypts every stored number that is not under the keyring's active key. This is the
    /// start-up path when configuration already names a new active key and lists the previous
    /// ones as old keys (`PHONE_ENCRYPTION_OLD_KEYS`); safe to run again after a crash.
    pub fn reencrypt_to_active(&self, batch_size: usize) -> Result<RotationReport, StoreError> {
        let crypto = self.crypto();
        tracing::info!(
            active_key_id = crypto.active_key_id(),
            "Phone key rotation started."
        );
        let mut report = RotationReport {
            active_key_id: crypto.active_key_id().to_owned(),
            reencrypted: 0,
            batches: 0,
            remaining_old: 0,
        };
        let batch = batch_size.max(1);
        self.rotate_table::<Reservation>(
            RESERVATIONS,
            "reservations",
            |r| &mut r.phone_encrypted,
            &crypto,
            batch,
            &mut report,
        )?;
        self.rotate_table::<CallLog>(
            CALLS,
            "call_logs",
            |c| &mut c.caller_phone_encrypted,
            &crypto,
            batch,
            &mut report,
        )?;
        self.rotate_table::<CallbackRequest>(
            CALLBACKS,
            "callback_requests",
            |c| &mut c.phone_encrypted,
            &crypto,
            batch,
            &mut report,
        )?;
        report.remaining_old = self.count_not_under(crypto.active_key_id())?;
        tracing::info!(
            reencrypted = report.reencrypted,
            remaining_old = report.remaining_old,
            "Phone key rotation finished."
        );
        Ok(report)
    }

    fn rotate_table<T: Serialize + DeserializeOwned>(
        &self,
        def: TableDefinition<u64, &'static [u8]>,
        name: &'static str,
        field: Field<T>,
        crypto: &PhoneCrypto,
        batch: usize,
        report: &mut RotationReport,
    ) -> Result<(), StoreError> {
        let mut cursor = 0u64;
        loop {
            let txn = self.db.begin_write()?;
            let mut last = None;
            let mut changed = 0;
            {
                let mut table = txn.open_table(def)?;
                let mut rows: Vec<(u64, T)> = Vec::new();
                for row in table.range(cursor..)?.take(batch) {
                    let (id, bytes) = row?;
                    rows.push((id.value(), decode(name, id.value(), bytes.value())?));
                }
                for (id, mut item) in rows {
                    last = Some(id);
                    if !reencrypt(field(&mut item), crypto)? {
                        continue;
                    }
                    put_json(&mut table, id, &item)?;
                    changed += 1;
                }
            }
            let Some(last) = last else { return Ok(()) };
            txn.commit()?;
            report.batches += 1;
            report.reencrypted += changed;
            if last == u64::MAX {
                return Ok(());
            }
            cursor = last + 1;
        }
    }

    /// Stored phone ciphertexts whose key id differs from `key_id`.
    pub fn count_not_under(&self, key_id: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let mut n = 0;
        let mut count = |enc: Option<EncryptedPhone>| {
            if enc.is_some_and(|e| e.key_id() != Some(key_id)) {
                n += 1;
            }
        };
        for row in txn.open_table(RESERVATIONS)?.iter()? {
            let (id, b) = row?;
            count(decode::<Reservation>("reservations", id.value(), b.value())?.phone_encrypted);
        }
        for row in txn.open_table(CALLS)?.iter()? {
            let (id, b) = row?;
            count(decode::<CallLog>("call_logs", id.value(), b.value())?.caller_phone_encrypted);
        }
        for row in txn.open_table(CALLBACKS)?.iter()? {
            let (id, b) = row?;
            count(
                decode::<CallbackRequest>("callback_requests", id.value(), b.value())?
                    .phone_encrypted,
            );
        }
        Ok(n)
    }
}
