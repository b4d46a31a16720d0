//! Phone privacy: AES-256-GCM encryption at rest and HMAC-SHA256 lookup hashes.
//!
//! Design decisions:
//! - **Encrypt for reading back, hash for finding.** GCM uses a fresh random 96-bit nonce per
//!   value, so two encryptions of one number differ and cannot be joined; lookups ("has this
//!   caller booked today?") go through a keyed HMAC with a secret pepper instead, which is stable.
//! - **Key id beside the ciphertext** (`"<key_id>:<base64(nonce‖ciphertext‖tag)>"`), and the key id
//!   is also the GCM associated data, so moving a ciphertext under another key id fails
//!   authentication. A [`PhoneCrypto`] holds a keyring (id → key) and one active key: rotation adds
//!   a new active key while old ids stay decryptable until every record is re-encrypted.
//! - Keys, peppers and numbers all have redacting `Debug` impls.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::phone::PhoneNumber;

const NONCE_LEN: usize = 12;

/// One AES-256 key with the id that is stored beside every ciphertext it produces.
#[derive(Clone)]
pub struct PhoneKey {
    id: String,
    key: [u8; 32],
}

/// The HMAC pepper (`PHONE_HASH_PEPPER`). Changing it changes every hash, so it is not rotated
/// by [`crate::Store::rotate_keys`].
#[derive(Clone)]
pub struct HashPepper(Vec<u8>);

/// Everything that can go wrong with keys and ciphertexts. Messages never contain key material
/// or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Key ids are stored in front of a `:` and in logs, so they are restricted.
    #[error("key id {0:?} is invalid: use 1-32 characters from [A-Za-z0-9_.-]")]
    BadKeyId(String),
    /// Key text did not decode to exactly 32 bytes.
    #[error(
        "encryption key {key_id:?} must be 32 bytes given as 64 hex characters or base64 ({problem})"
    )]
    BadKey {
        /// Which key (never the key itself).
        key_id: String,
        /// What was wrong with the encoding.
        problem: String,
    },
    /// The pepper is too short to resist brute force over the small space of phone numbers.
    #[error("phone hash pepper must be at least 16 bytes (got {0})")]
    WeakPepper(usize),
    /// The ciphertext names a key id this process was not given.
    #[error(
        "phone ciphertext was written with key id {0:?}, which is not in the keyring; add it to the configured keys"
    )]
    UnknownKeyId(String),
    /// The stored value is not `<key_id>:<base64>` with a nonce and tag.
    #[error("phone ciphertext is malformed ({0})")]
    Malformed(&'static str),
    /// Authentication failed: the ciphertext was altered, or the key under this id is wrong.
    #[error(
        "phone ciphertext failed authentication under key id {0:?} (tampered data or wrong key)"
    )]
    Authentication(String),
}

/// An encrypted phone number as stored: `"<key_id>:<base64(nonce‖ciphertext‖tag)>"`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncryptedPhone(String);

/// Hex HMAC-SHA256 of the E.164 number: the lookup key for callers. Not reversible without the
/// pepper, and safe to use in URLs such as `/api/callers/{phone_hash}/preferences`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneHash(String);

/// Keyring + pepper. Cheap to clone (keys are small); share it behind an `Arc`.
#[derive(Clone)]
pub struct PhoneCrypto {
    active: String,
    keys: BTreeMap<String, [u8; 32]>,
    pepper: Vec<u8>,
}

impl PhoneKey {
    /// Builds a key from raw bytes.
    pub fn new(id: &str, key: [u8; 32]) -> Result<PhoneKey, CryptoError> {
        validate_key_id(id)?;
        Ok(PhoneKey {
            id: id.to_owned(),
            key,
        })
    }

    /// Parses `PHONE_ENCRYPTION_KEY`-style text: 64 hex characters or base64 of 32 bytes.
    pub fn from_text(id: &str, text: &str) -> Result<PhoneKey, CryptoError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| CryptoError::BadKey {
                key_id: id.to_owned(),
                problem: e.to_string(),
            })?
        } else {
            B64.decode(text).map_err(|_| CryptoError::BadKey {
                key_id: id.to_owned(),
                problem: "neither 64 hex characters nor valid base64".to_owned(),
            })?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| CryptoError::BadKey {
            key_id: id.to_owned(),
            problem: format!("decoded to {} bytes", b.len()),
        })?;
        PhoneKey::new(id, key)
    }

    /// Parses key text like [`PhoneKey::from_text`] and names the key by its fingerprint
    /// (`k` + 12 hex chars of SHA-256 of the key bytes), for configurations such as
    /// `PHONE_ENCRYPTION_KEY` / `PHONE_ENCRYPTION_OLD_KEYS` that carry no key ids. The
    /// fingerprint reveals nothing usable about a 256-bit key and is stable across restarts.
    pub fn from_text_fingerprinted(text: &str) -> Result<PhoneKey, CryptoError> {
        let parsed = PhoneKey::from_text("unnamed", text)?;
        let digest = <Sha256 as sha2::Digest>::digest(parsed.key);
        PhoneKey::new(&format!("k{}", &hex::encode(digest)[..12]), parsed.key)
    }

    /// The id stored beside ciphertexts.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for PhoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneKey({:?}, <redacted>)", self.id)
    }
}

impl HashPepper {
    /// Wraps the pepper bytes; at least 16 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<HashPepper, CryptoError> {
        let bytes = bytes.into();
        if bytes.len() < 16 {
            return Err(CryptoError::WeakPepper(bytes.len()));
        }
        Ok(HashPepper(bytes))
    }
}

impl fmt::Debug for HashPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashPepper(<redacted>)")
    }
}

impl EncryptedPhone {
    /// Wraps a stored value (validated lazily on decrypt).
    pub fn from_stored(value: String) -> EncryptedPhone {
        EncryptedPhone(value)
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key id this value was encrypted under (text before the first `:`).
    pub fn key_id(&self) -> Option<&str> {
        self.0.split_once(':').map(|(id, _)| id)
    }
}

impl fmt::Debug for EncryptedPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptedPhone(key_id={:?})", self.key_id())
    }
}

impl PhoneHash {
    /// Parses a hash given by an API client: 64 lowercase or uppercase hex characters.
    pub fn parse(text: &str) -> Option<PhoneHash> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| PhoneHash(text.to_ascii_lowercase()))
    }

    /// The hex text, as stored in index keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to correlate log lines without publishing a full lookup key.
        let prefix: String = self.0.chars().take(8).collect();
        write!(f, "PhoneHash({prefix}…)")
    }
}

impl fmt::Display for PhoneHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PhoneCrypto {
    /// A keyring with one active key.
    pub fn new(active: PhoneKey, pepper: HashPepper) -> PhoneCrypto {
        let mut keys = BTreeMap::new();
        keys.insert(active.id.clone(), active.key);
        PhoneCrypto {
            active: active.id,
            keys,
            pepper: pepper.0,
        }
    }

    /// Adds a decrypt-only key (an older key whose ciphertexts may still be stored).
    pub fn with_old_key(mut self, key: PhoneKey) -> PhoneCrypto {
        self.keys.entry(key.id).or_insert(key.key);
        self
    }

    /// A copy whose active key is `key`; every existing key stays decryptable. Used by rotation.
    pub fn rotated_to(&self, key: PhoneKey) -> PhoneCrypto {
        let mut next = self.clone();
        next.keys.insert(key.id.clone(), key.key);
        next.active = key.id;
        next
    }

    /// Id of the key new encryptions use.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Ids of every key in the ring.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Encrypts under the active key with a fresh random nonce.
    pub fn encrypt(&self, phone: &PhoneNumber) -> EncryptedPhone {
        let key = &self.keys[&self.active];
        let cipher = Aes256Gcm::new(key.into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: phone.expose_e164().as_bytes(),
                    aad: self.active.as_bytes(),
                },
            )
            // aes-gcm only fails for plaintexts over 64 GiB; a phone number is ~13 bytes.
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        EncryptedPhone(format!("{}:{}", self.active, B64.encode(blob)))
    }

    /// Decrypts and re-validates. Tampering or a wrong key is an error, never garbage.
    pub fn decrypt(&self, value: &EncryptedPhone) -> Result<PhoneNumber, CryptoError> {
        let (key_id, body) = value
            .0
            .split_once(':')
            .ok_or(CryptoError::Malformed("missing key id separator"))?;
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKeyId(key_id.to_owned()))?;
        let blob = B64
            .decode(body)
            .map_err(|_| CryptoError::Malformed("body is not base64"))?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed("shorter than nonce and tag"));
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let plain = Aes256Gcm::new(key.into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Authentication(key_id.to_owned()))?;
        let text = String::from_utf8(plain).map_err(|_| CryptoError::Malformed("not UTF-8"))?;
        PhoneNumber::parse(&text).map_err(|_| CryptoError::Malformed("not a phone number"))
    }

    /// HMAC-SHA256(pepper, E.164) as lowercase hex.
    pub fn hash(&self, phone: &PhoneNumber) -> PhoneHash {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pepper)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(phone.expose_e164().as_bytes());
        PhoneHash(hex::encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for PhoneCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneCrypto")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn validate_key_id(id: &str) -> Result<(), CryptoError> {
    let ok = (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CryptoError::BadKeyId(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypto(key_byte: u8, pepper: &str) -> PhoneCrypto {
        PhoneCrypto::new(
            PhoneKey::new(&format!("k{key_byte}"), [key_byte; 32]).unwrap(),
            HashPepper::new(pepper.as_bytes().to_vec()).unwrap(),
        )
    }

    fn phone(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn debug_of_the_keyring_shows_key_ids_only() {
        let c = crypto(0x5a, "pepper-for-the-debug-test");
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("k90"), "the key id is shown: {shown}");
        for secret in [
            format!("{:?}", [0x5au8; 32]),
            hex::encode([0x5au8; 32]),
            "pepper-for-the-debug-test".to_string(),
            format!("{:?}", b"pepper-for-the-debug-test".to_vec()),
        ] {
            assert!(!shown.contains(&secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let c = crypto(1, "pepper-pepper-pepper");
        let p = phone("+91 98765 43210");
        let a = c.encrypt(&p);
        let b = c.encrypt(&p);
        assert_ne!(a, b, "nonces must differ");
        assert_eq!(a.key_id(), Some("k1"));
        assert_eq!(c.decrypt(&a).unwrap(), p);
        assert_eq!(c.decrypt(&b).unwrap(), p);
        assert!(!a.as_str().contains("98765"));
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let c = crypto(1, "pepper-pepper-pepper");
        let enc = c.encrypt(&phone("9876543210"));
        let (id, body) = enc.as_str().split_once(':').unwrap();
        let mut blob = B64.decode(body).unwrap();
        for i in [0, NONCE_LEN, blob.len() - 1] {
            blob[i] ^= 0x01;
            let bad = EncryptedPhone::from_stored(format!("{id}:{}", B64.encode(&blob)));
            assert_eq!(
                c.decrypt(&bad),
                Err(CryptoError::Authentication("k1".into()))
            );
            blob[i] ^= 0x01;
        }
        // Relabelling the ciphertext with another known key id also fails (key id is AAD).
        let c2 = c.rotated_to(PhoneKey::new("k1b", [1; 32]).unwrap());
        let moved = EncryptedPhone::from_stored(format!("k1b:{body}"));
        assert_eq!(
            c2.decrypt(&moved),
            Err(CryptoError::Authentication("k1b".into()))
        );
        assert!(matches!(
            c.decrypt(&EncryptedPhone::from_stored("no-separator".into())),
            Err(CryptoError::Malformed(_))
        ));
        assert!(matches!(
            c.decrypt(&EncryptedPhone::from_stored("k1:@@@".into())),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn wrong_key_is_rejected_not_garbage() {
        let writer = crypto(1, "pepper-pepper-pepper");
        let enc = writer.encrypt(&phone("9876543210"));
        // Same key id, different key bytes.
        let reader =
            crypto(2, "pepper-pepper-pepper").with_old_key(PhoneKey::new("k1", [9; 32]).unwrap());
        assert_eq!(
            reader.decrypt(&enc),
            Err(CryptoError::Authentication("k1".into()))
        );
        // Unknown key id.
        let stranger = crypto(3, "pepper-pepper-pepper");
        assert_eq!(
            stranger.decrypt(&enc),
            Err(CryptoError::UnknownKeyId("k1".into()))
        );
    }

    #[test]
    fn hashes_are_stable_per_pepper_and_normalised() {
        let a = crypto(1, "pepper-pepper-pepper");
        let b = crypto(2, "pepper-pepper-pepper");
        let other = crypto(1, "another-pepper-value");
        let h = a.hash(&phone("098765 43210"));
        assert_eq!(h, a.hash(&phone("+91 98765 43210")));
        assert_eq!(
            h,
            b.hash(&phone("9876543210")),
            "hash does not depend on the AES key"
        );
        assert_ne!(h, other.hash(&phone("9876543210")));
        assert_ne!(h, a.hash(&phone("9876543211")));
        assert_eq!(h.as_str().len(), 64);
        assert_eq!(
            PhoneHash::parse(&h.as_str().to_uppercase()),
            Some(h.clone())
        );
        assert!(!format!("{h:?}").contains(&h.as_str()[8..]));
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let old = crypto(1, "pepper-pepper-pepper");
        let enc_old = old.encrypt(&phone("9876543210"));
        let new = old.rotated_to(PhoneKey::new("k2", [2; 32]).unwrap());
        assert_eq!(new.active_key_id(), "k2");
        assert_eq!(new.encrypt(&phone("9876543210")).key_id(), Some("k2"));
        assert_eq!(new.decrypt(&enc_old).unwrap(), phone("9876543210"));
    }

    #[test]
    fn key_parsing_and_redaction() {
        let hex_key = "11".repeat(32);
        let k = PhoneKey::from_text("main", &hex_key).unwrap();
        assert_eq!(format!("{k:?}"), "PhoneKey(\"main\", <redacted>)");
        let b64 = B64.encode([7u8; 32]);
        assert!(PhoneKey::from_text("main", &b64).is_ok());
        let fp = PhoneKey::from_text_fingerprinted(&hex_key).unwrap();
        assert_eq!(fp.id().len(), 13);
        assert_eq!(
            fp.id(),
            PhoneKey::from_text_fingerprinted(&hex_key).unwrap().id()
        );
        assert_ne!(
            fp.id(),
            PhoneKey::from_text_fingerprinted(&"22".repeat(32))
                .unwrap()
                .id()
        );
        assert!(matches!(
            PhoneKey::from_text("main", "abcd"),
            Err(CryptoError::BadKey { .. })
        ));
        assert!(matches!(
            PhoneKey::new("bad:id", [0; 32]),
            Err(CryptoError::BadKeyId(_))
        ));
        assert_eq!(
            HashPepper::new(b"short".to_vec()).unwrap_err(),
            CryptoError::WeakPepper(5)
        );
        assert_eq!(
            format!("{:?}", HashPepper::new(vec![1; 16]).unwrap()),
            "HashPepper(<redacted>)"
        );
    }
}
