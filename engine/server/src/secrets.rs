//! Secret values: a redacting wrapper, fresh key generation, and development auto-setup.
//!
//! Why a wrapper: a secret that is a plain `String` ends up in a `{:?}` of some struct sooner
//! or later. [`Secret`] prints as `Secret(***)`, so logging a settings struct is harmless.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use rand::RngCore;

use crate::settings::{AppEnv, Settings};

/// A secret string whose `Debug` and `Display` never reveal it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value; call only where it is used (crypto, an outgoing request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Fresh values for every generated secret, as `NAME=value` lines. Its `Debug` names the
/// fields only, like [`Secret`]'s.
pub struct FreshSecrets {
    pub phone_encryption_key: String,
    pub phone_hash_pepper: String,
    pub session_secret: String,
}

impl fmt::Debug for FreshSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshSecrets")
            .field("phone_encryption_key", &"***")
            .field("phone_hash_pepper", &"***")
            .field("session_secret", &"***")
            .finish()
    }
}

impl FreshSecrets {
    /// Draws new values from the operating system's secure random source.
    pub fn generate() -> Self {
        FreshSecrets {
            phone_encryption_key: random_hex(32),
            phone_hash_pepper: random_hex(32),
            session_secret: random_hex(32),
        }
    }

    /// The `.env` lines for these values.
    pub fn env_lines(&self) -> String {
        format!(
            "PHONE_ENCRYPTION_KEY={}\nPHONE_HASH_PEPPER={}\nSESSION_SECRET={}\n",
            self.phone_encryption_key, self.phone_hash_pepper, self.session_secret
        )
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A readable random password (for the generated development admin login).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Hashes an admin password with argon2id into a PHC string for `ADMIN_PASSWORD_HASH`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash the admin password: {e}"))
}

/// File in the data directory that holds secrets generated in development.
pub fn dev_secrets_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dev-secrets.env")
}

/// What [`ensure_dev_secrets`] did, for a clear log line. Its `Debug` says whether a password
/// was generated, never the password.
#[derive(Default)]
pub struct DevSecretsOutcome {
    /// Names of the variables that were freshly generated this run.
    pub generated: Vec<&'static str>,
    /// Names taken from an earlier run's file.
    pub reused: Vec<&'static str>,
    pub path: Option<PathBuf>,
    /// Set when an admin password was generated: shown once on the console, never logged.
    pub new_admin_password: Option<String>,
}

impl fmt::Debug for DevSecretsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevSecretsOutcome")
            .field("generated", &self.generated)
            .field("reused", &self.reused)
            .field("path", &self.path)
            .field(
                "new_admin_password",
                &self.new_admin_password.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// In development, fills in missing secrets from (or into) `data/dev-secrets.env`.
///
/// Generated values persist so encrypted data stays readable across restarts. Production
/// never reaches here with a missing secret: [`Settings::from_vars`] refuses it.
pub fn ensure_dev_secrets(settings: &mut Settings) -> anyhow::Result<DevSecretsOutcome> {
    let mut outcome = DevSecretsOutcome::default();
    if settings.app_env != AppEnv::Development {
        return Ok(outcome);
    }
    let s = &settings.secrets;
    if s.phone_encryption_key.is_some()
        && s.phone_hash_pepper.is_some()
        && s.session_secret.is_some()
        && s.admin_password_hash.is_some()
    {
        return Ok(outcome);
    }
    let path = dev_secrets_path(&settings.data_dir);
    crate::private_files::refuse_shared_secrets_file(&path)?;
    let mut stored = read_env_file(&path)?;
    let mut additions = String::new();
    let mut fill = |name: &'static str,
                    slot: &mut Option<Secret>,
                    make: &mut dyn FnMut() -> anyhow::Result<String>|
     -> anyhow::Result<()> {
        if slot.is_some() {
            return Ok(());
        }
        if let Some(value) = stored
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
        {
            *slot = Some(Secret::new(value));
            outcome.reused.push(name);
        } else {
            let value = make()?;
            additions.push_str(&format!("{name}={value}\n"));
            stored.push((name.to_string(), value.clone()));
            *slot = Some(Secret::new(value));
            outcome.generated.push(name);
        }
        Ok(())
    };
    let secrets = &mut settings.secrets;
    fill(
        "PHONE_ENCRYPTION_KEY",
        &mut secrets.phone_encryption_key,
        &mut || Ok(random_hex(32)),
    )?;
    fill(
        "PHONE_HASH_PEPPER",
        &mut secrets.phone_hash_pepper,
        &mut || Ok(random_hex(32)),
    )?;
    fill("SESSION_SECRET", &mut secrets.session_secret, &mut || {
        Ok(random_hex(32))
    })?;
    let mut new_password = None;
    fill(
        "ADMIN_PASSWORD_HASH",
        &mut secrets.admin_password_hash,
        &mut || {
            let password = random_password();
            let hash = hash_password(&password)?;
            new_password = Some(password);
            Ok(hash)
        },
    )?;
    outcome.new_admin_password = new_password;
    if !additions.is_empty() {
        fs::create_dir_all(&settings.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "could not create the data directory {}: {e}",
                settings.data_dir.display()
            )
        })?;
        let mut file = open_private_append(&path)?;
        if outcome.reused.is_empty() {
            file.write_all(
                b"# Generated by `vartalaap serve` in development mode. Keep this file:\n\
                  # encrypted caller data needs the same PHONE_ENCRYPTION_KEY to be read.\n",
            )?;
        }
        file.write_all(additions.as_bytes())?;
    }
    outcome.path = Some(path);
    Ok(outcome)
}

fn read_env_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(anyhow::anyhow!("could not read {}: {e}", path.display())),
    }
}

fn open_private_append(path: &Path) -> anyhow::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| anyhow::anyhow!("could not write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn fresh_secrets_are_valid_settings() {
        let fresh = FreshSecrets::generate();
        let vars: HashMap<String, String> = fresh
            .env_lines()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = Settings::from_vars(&vars).expect("generated values validate");
        assert!(settings.secrets.phone_encryption_key.is_some());
        assert_ne!(fresh.phone_encryption_key, fresh.phone_hash_pepper);
        let shown = format!("{fresh:?} {fresh:#?}");
        for value in [
            &fresh.phone_encryption_key,
            &fresh.phone_hash_pepper,
            &fresh.session_secret,
        ] {
            assert!(!shown.contains(value.as_str()), "{shown}");
        }
    }

    #[test]
    fn dev_secrets_are_generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let vars: HashMap<String, String> =
            [("DATA_DIR".to_string(), dir.path().display().to_string())].into();
        let mut first = Settings::from_vars(&vars).unwrap();
        let outcome = ensure_dev_secrets(&mut first).unwrap();
        assert_eq!(outcome.generated.len(), 4);
        assert!(outcome.new_admin_password.is_some());
        let mut second = Settings::from_vars(&vars).unwrap();
        let outcome = ensure_dev_secrets(&mut second).unwrap();
        assert!(outcome.generated.is_empty());
        assert_eq!(outcome.reused.len(), 4);
        assert_eq!(
            first.secrets.phone_encryption_key,
            second.secrets.phone_encryption_key
        );
    }

    #[test]
    fn debug_of_the_dev_secrets_outcome_hides_the_generated_password() {
        let outcome = DevSecretsOutcome {
            generated: vec!["ADMIN_PASSWORD_HASH"],
            new_admin_password: Some("generated-admin-password-42".into()),
            ..DevSecretsOutcome::default()
        };
        let shown = format!("{outcome:?} {outcome:#?}");
        assert!(!shown.contains("generated-admin-password-42"), "{shown}");
        assert!(shown.contains("ADMIN_PASSWORD_HASH"), "{shown}");
    }

    #[test]
    fn password_hash_is_argon2_phc() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
    }
}
