//! Files at rest: everything the process writes (database, logs, generated secrets) is
//! readable by its own user only, and secrets files that other users can read are refused.
//!
//! Why a process-wide umask rather than a mode per `open`: the database file is created by
//! redb and the daily log files by the log appender, neither of which takes a mode. A umask of
//! `077` set before anything is written makes every new file `0600` and every new folder
//! `0700`, whoever creates it.

use std::path::{Path, PathBuf};

/// Permission bits that let the group or other users in.
const SHARED_BITS: u32 = 0o077;

/// Makes every file and folder this process creates private to its user (`umask 077`).
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: `umask` only swaps the process's file-creation mask; it has no preconditions
    // and cannot fail. Called at the start of `main`, before any thread creates files.
    unsafe {
        libc::umask(SHARED_BITS as libc::mode_t);
    }
}

/// The mode bits of `path` when the group or other users may access it, `None` when it is
/// private or does not exist.
pub fn shared_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & SHARED_BITS != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Refuses to read secrets from a file other users can read: they may already have read it.
pub fn refuse_shared_secrets_file(path: &Path) -> anyhow::Result<()> {
    match shared_mode(path) {
        Some(mode) => anyhow::bail!(
            "{} holds secrets but is readable by other users (mode {mode:03o}); run \
             `chmod 600 {}` and, since others could read it, consider replacing its secrets \
             (`vartalaap keys`, then `vartalaap rotate-keys` for PHONE_ENCRYPTION_KEY)",
            path.display(),
            path.display()
        ),
        None => Ok(()),
    }
}

/// Paths under the data and log folders that other users can read, with their modes, for a
/// start-up warning (they were created before this version, or by hand).
pub fn shared_data_paths(paths: &[PathBuf]) -> Vec<(PathBuf, u32)> {
    paths
        .iter()
        .filter_map(|p| shared_mode(p).map(|mode| (p.clone(), mode)))
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_secrets_file_others_can_read_is_refused_and_a_private_one_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev-secrets.env");
        std::fs::write(&path, "SESSION_SECRET=x\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = refuse_shared_secrets_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 644") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(refuse_shared_secrets_file(&path).is_ok());
        // A missing file is not an error: it is created private.
        assert!(refuse_shared_secrets_file(&dir.path().join("none")).is_ok());
    }
}
