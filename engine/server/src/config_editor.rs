//! The business-config editor behind `/api/config/*`: list, read, check and save the files of
//! the config root (`businesses/*.yaml`, `flows/*.yaml`, `plugins/*.rhai`), with a history of
//! saves (each with its diff) that can be reverted.
//!
//! Why this shape:
//! - **No path from the client reaches the file system.** A file is named by one of three
//!   directories and a plain file name (`[A-Za-z0-9_-]+` plus the directory's extension), so
//!   `..`, separators, absolute paths and hidden files cannot be expressed; symlinks are
//!   refused. Only files that already exist can be saved (a new business is a deployment step).
//! - **Checked by the same validator the CLI and hot reload use** (`vartalaap_config::validate`),
//!   run on a scratch copy of the config root with the proposed text in place, so flows and
//!   plugins are checked against the businesses that use them. A save is refused when the file
//!   itself has any error, or when it makes another file fail that did not fail before (a
//!   broken file elsewhere does not block fixing this one). A refused save writes nothing.
//! - **Atomic writes**: the new text goes to a temporary file beside the old one, is synced and
//!   renamed over it, so the watcher, a reload or a crash never sees half a file.
//! - **History in the data directory** (`config-history/NNNNNNNN.json`, newest
//!   [`HISTORY_KEEP`] kept): the text before and after each save, so any save can be shown as a
//!   unified diff and reverted (a revert is itself a checked save).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vartalaap_config::Diagnostic;

/// Largest file the editor reads or writes, in bytes (the shipped business files are ~40 KiB).
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Saves kept in the history.
pub const HISTORY_KEEP: usize = 200;

/// The three directories of a config root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigDir {
    /// `businesses/*.yaml`
    Businesses,
    /// `flows/*.yaml`
    Flows,
    /// `plugins/*.rhai`
    Plugins,
}

impl ConfigDir {
    /// Every directory, in listing order.
    pub const ALL: [ConfigDir; 3] = [ConfigDir::Businesses, ConfigDir::Flows, ConfigDir::Plugins];

    /// The directory's name under the root.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigDir::Businesses => "businesses",
            ConfigDir::Flows => "flows",
            ConfigDir::Plugins => "plugins",
        }
    }

    fn parse(name: &str) -> Option<ConfigDir> {
        ConfigDir::ALL.into_iter().find(|d| d.as_str() == name)
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            ConfigDir::Plugins => &["rhai"],
            _ => &["yaml", "yml"],
        }
    }
}

/// A file of the config root, by directory and plain name: the only way to name one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    dir: ConfigDir,
    name: String,
}

impl ConfigFile {
    /// Checks a client's directory and file name.
    pub fn parse(dir: &str, name: &str) -> Result<ConfigFile, EditError> {
        let dir = ConfigDir::parse(dir).ok_or_else(|| {
            EditError::BadName(format!(
                "unknown directory {dir:?}; use businesses, flows or plugins"
            ))
        })?;
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let stem_ok = !stem.is_empty()
            && stem.len() <= 64
            && stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !stem_ok || !dir.extensions().contains(&ext) {
            return Err(EditError::BadName(format!(
                "{name:?} is not a file name in {}/: letters, digits, _ and - then .{}",
                dir.as_str(),
                dir.extensions().join(" or .")
            )));
        }
        Ok(ConfigFile {
            dir,
            name: name.to_string(),
        })
    }

    /// `businesses/himalayan_kitchen.yaml`, as diagnostics name it.
    pub fn rel(&self) -> String {
        format!("{}/{}", self.dir.as_str(), self.name)
    }

    fn parse_rel(rel: &str) -> Result<ConfigFile, EditError> {
        let (dir, name) = rel
            .split_once('/')
            .ok_or_else(|| EditError::BadName(format!("{rel:?} is not dir/name")))?;
        ConfigFile::parse(dir, name)
    }
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rel())
    }
}

/// Why an editor operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The directory or file name is not one the editor accepts.
    #[error("{0}")]
    BadName(String),
    /// No such file in the config root.
    #[error("{0} does not exist in the configuration")]
    NotFound(String),
    /// No such history entry.
    #[error("no saved change {0} in the history")]
    NoHistory(u64),
    /// Over [`MAX_FILE_BYTES`].
    #[error("{file} would be {bytes} bytes; the editor takes files up to {MAX_FILE_BYTES} bytes")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        bytes: usize,
    },
    /// The file changed since the client read it (its `base_sha256` is stale).
    #[error(
        "{file} was changed by someone else since you opened it (now {current_sha256}); reload it and apply your edit again"
    )]
    Changed {
        /// The file.
        file: String,
        /// What it is now.
        current_sha256: String,
    },
    /// The proposed text does not validate; nothing was written.
    #[error("{file} was not saved: {} problem(s), the first: {}", errors.len(), errors.first().map(ToString::to_string).unwrap_or_default())]
    Invalid {
        /// The file.
        file: String,
        /// Every blocking problem, with line and column.
        errors: Vec<Diagnostic>,
    },
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EditError {
    let context = context.into();
    move |source| EditError::Io { context, source }
}

/// One file in the listing.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// `businesses/himalayan_kitchen.yaml`
    pub path: String,
    /// Its directory.
    pub dir: ConfigDir,
    /// Its name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content (send it back as `base_sha256` when saving).
    pub sha256: String,
}

/// A file's text.
#[derive(Debug, Clone, Serialize)]
pub struct FileText {
    /// `businesses/himalayan_kitchen.yaml`
    pub path: String,
    /// The content.
    pub content: String,
    /// Hex SHA-256 of `content`.
    pub sha256: String,
}

/// What the validator says about proposed text.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `businesses/himalayan_kitchen.yaml`
    pub path: String,
    /// True when a save would be accepted.
    pub valid: bool,
    /// Problems that block a save (this file's, or other files' that it would break).
    pub errors: Vec<Diagnostic>,
    /// Things that load but are probably stale (a closure dated in the past).
    pub warnings: Vec<Diagnostic>,
}

/// What kind of save a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveKind {
    /// Text sent by the editor.
    Save,
    /// The text from before an earlier save, put back.
    Revert,
}

/// One save, as stored in the history directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    id: u64,
    path: String,
    saved_at: DateTime<Utc>,
    kind: SaveKind,
    reverts: Option<u64>,
    before: String,
    after: String,
}

/// A save in the history listing.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Increasing id.
    pub id: u64,
    /// The file.
    pub path: String,
    /// When.
    pub saved_at: DateTime<Utc>,
    /// Save or revert.
    pub kind: SaveKind,
    /// For a revert, the save it undid.
    pub reverts: Option<u64>,
    /// SHA-256 of the text before.
    pub before_sha256: String,
    /// SHA-256 of the text after.
    pub after_sha256: String,
    /// Lines added.
    pub lines_added: usize,
    /// Lines removed.
    pub lines_removed: usize,
}

/// A save with its unified diff.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryDetail {
    /// The save.
    #[serde(flatten)]
    pub entry: HistoryEntry,
    /// `--- a/… +++ b/…` unified diff, 3 lines of context.
    pub diff: String,
}

/// The editor over one config root, keeping its history in `history_dir`.
pub struct ConfigEditor {
    root: PathBuf,
    history_dir: PathBuf,
    /// One save (check + history + write) at a time, so two admins cannot interleave.
    saving: Mutex<()>,
}

/// Whether `path` has the shape of a config file path, `dir/name` (the OpenAPI pattern
/// `^(businesses|flows|plugins)/[A-Za-z0-9_-]{1,64}\.(yaml|yml|rhai)$`), whether or not that
/// directory takes that extension.
pub fn looks_like_config_path(path: &str) -> bool {
    let Some((dir, name)) = path.split_once('/') else {
        return false;
    };
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    ConfigDir::parse(dir).is_some()
        && (1..=64).contains(&stem.len())
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && ["yaml", "yml", "rhai"].contains(&ext)
}

/// Hex SHA-256.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl ConfigEditor {
    /// An editor for `root`, recording saves under `history_dir` (created on first save).
    pub fn new(root: impl Into<PathBuf>, history_dir: impl Into<PathBuf>) -> ConfigEditor {
        ConfigEditor {
            root: root.into(),
            history_dir: history_dir.into(),
            saving: Mutex::new(()),
        }
    }

    fn path_of(&self, file: &ConfigFile) -> PathBuf {
        self.root.join(file.dir.as_str()).join(&file.name)
    }

    /// Every editable file, by directory then name.
    pub fn list(&self) -> Result<Vec<FileInfo>, EditError> {
        let mut out = Vec::new();
        for dir in ConfigDir::ALL {
            let path = self.root.join(dir.as_str());
            let entries = match std::fs::read_dir(&path) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(format!("could not list {}", path.display()))(e)),
            };
            let mut names: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| ConfigFile::parse(dir.as_str(), n).is_ok())
                .collect();
            names.sort();
            for name in names {
                let file = ConfigFile {
                    dir,
                    name: name.clone(),
                };
                let text = self.read(&file)?;
                out.push(FileInfo {
                    path: file.rel(),
                    dir,
                    name,
                    size: text.content.len() as u64,
                    sha256: text.sha256,
                });
            }
        }
        Ok(out)
    }

    /// A file's text. Symlinks and files over [`MAX_FILE_BYTES`] are refused.
    pub fn read(&self, file: &ConfigFile) -> Result<FileText, EditError> {
        let path = self.path_of(file);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {
                if m.len() > MAX_FILE_BYTES as u64 {
                    return Err(EditError::TooLarge {
                        file: file.rel(),
                        bytes: usize::try_from(m.len()).unwrap_or(usize::MAX),
                    });
                }
            }
            Ok(_) => return Err(EditError::NotFound(file.rel())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EditError::NotFound(file.rel()));
            }
            Err(e) => return Err(io(format!("could not read {}", file.rel()))(e)),
        }
        let content = std::fs::read_to_string(&path)
            .map_err(io(format!("could not read {} as UTF-8 text", file.rel())))?;
        Ok(FileText {
            path: file.rel(),
            sha256: sha256_hex(&content),
            content,
        })
    }

    /// Validates `content` as the new text of `file` without saving anything.
    pub fn check(&self, file: &ConfigFile, content: &str) -> Result<Check, EditError> {
        self.read(file)?;
        if content.len() > MAX_FILE_BYTES {
            return Err(EditError::TooLarge {
                file: file.rel(),
                bytes: content.len(),
            });
        }
        let scratch = tempfile::tempdir().map_err(io("could not make a scratch directory"))?;
        for dir in ConfigDir::ALL {
            let from = self.root.join(dir.as_str());
            let to = scratch.path().join(dir.as_str());
            std::fs::create_dir_all(&to)
                .map_err(io(format!("could not create {}", to.display())))?;
            let Ok(entries) = std::fs::read_dir(&from) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    std::fs::copy(entry.path(), to.join(entry.file_name()))
                        .map_err(io(format!("could not copy {}", entry.path().display())))?;
                }
            }
        }
        let proposed = scratch.path().join(file.dir.as_str()).join(&file.name);
        std::fs::write(&proposed, content).map_err(io("could not write the scratch copy"))?;
        let after = vartalaap_config::validate(scratch.path(), &[]);
        let before = vartalaap_config::validate(&self.root, &[]);
        let rel = file.rel();
        let known = |d: &Diagnostic| {
            before
                .errors
                .iter()
                .any(|b| b.file == d.file && b.pointer == d.pointer && b.message == d.message)
        };
        let errors: Vec<Diagnostic> = after
            .errors
            .into_iter()
            .filter(|d| d.file == rel || !known(d))
            .collect();
        let warnings: Vec<Diagnostic> = after
            .warnings
            .into_iter()
            .filter(|d| d.file == rel)
            .collect();
        Ok(Check {
            path: rel,
            valid: errors.is_empty(),
            errors,
            warnings,
        })
    }

    /// Checks and saves `content` as `file`, recording the change in the history. With
    /// `base_sha256`, refuses when the file changed since the client read it. Returns the
    /// history entry, or `None` when the text was already what is stored (nothing written).
    pub fn save(
        &self,
        file: &ConfigFile,
        content: &str,
        base_sha256: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<HistoryEntry>, EditError> {
        self.save_as(file, content, base_sha256, now, SaveKind::Save, None)
    }

    fn save_as(
        &self,
        file: &ConfigFile,
        content: &str,
        base_sha256: Option<&str>,
        now: DateTime<Utc>,
        kind: SaveKind,
        reverts: Option<u64>,
    ) -> Result<Option<HistoryEntry>, EditError> {
        let _one_at_a_time = self
            .saving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.read(file)?;
        if let Some(base) = base_sha256
            && !base.eq_ignore_ascii_case(&current.sha256)
        {
            return Err(EditError::Changed {
                file: file.rel(),
                current_sha256: current.sha256,
            });
        }
        if current.content == content {
            return Ok(None);
        }
        let check = self.check(file, content)?;
        if !check.valid {
            return Err(EditError::Invalid {
                file: file.rel(),
                errors: check.errors,
            });
        }
        let stored = Stored {
            id: self.next_id()?,
            path: file.rel(),
            saved_at: now,
            kind,
            reverts,
            before: current.content,
            after: content.to_string(),
        };
        let json = serde_json::to_vec_pretty(&stored).unwrap_or_default();
        std::fs::create_dir_all(&self.history_dir).map_err(io(format!(
            "could not create the history directory {}",
            self.history_dir.display()
        )))?;
        write_atomically(&self.history_path(stored.id), &json)?;
        write_atomically(&self.path_of(file), content.as_bytes())?;
        self.prune();
        tracing::info!(file = %file, history_id = stored.id, kind = ?kind, "Configuration file saved from the editor.");
        Ok(Some(summary(&stored)))
    }

    /// Puts back the text from before save `id` (checked like any save).
    pub fn revert(&self, id: u64, now: DateTime<Utc>) -> Result<Option<HistoryEntry>, EditError> {
        let stored = self.load(id)?;
        let file = ConfigFile::parse_rel(&stored.path)?;
        self.save_as(&file, &stored.before, None, now, SaveKind::Revert, Some(id))
    }

    /// Recent saves, newest first, optionally of one file (`businesses/x.yaml`).
    pub fn history(&self, path: Option<&str>) -> Result<Vec<HistoryEntry>, EditError> {
        let mut out = Vec::new();
        for id in self.ids()?.into_iter().rev() {
            let stored = self.load(id)?;
            if path.is_none_or(|p| p == stored.path) {
                out.push(summary(&stored));
            }
        }
        Ok(out)
    }

    /// One save with its diff.
    pub fn history_detail(&self, id: u64) -> Result<HistoryDetail, EditError> {
        let stored = self.load(id)?;
        let diff = similar::TextDiff::configure()
            .timeout(std::time::Duration::from_secs(1))
            .diff_lines(stored.before.as_str(), stored.after.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", stored.path), &format!("b/{}", stored.path))
            .to_string();
        Ok(HistoryDetail {
            entry: summary(&stored),
            diff,
        })
    }

    fn history_path(&self, id: u64) -> PathBuf {
        self.history_dir.join(format!("{id:08}.json"))
    }

    fn ids(&self) -> Result<Vec<u64>, EditError> {
        let entries = match std::fs::read_dir(&self.history_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("could not list the configuration history")(e)),
        };
        let mut ids: Vec<u64> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".json")?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn next_id(&self) -> Result<u64, EditError> {
        Ok(self.ids()?.last().map_or(1, |last| last + 1))
    }

    fn load(&self, id: u64) -> Result<Stored, EditError> {
        let path = self.history_path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EditError::NoHistory(id));
            }
            Err(e) => return Err(io(format!("could not read {}", path.display()))(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| EditError::Io {
            context: format!("history entry {} is damaged", path.display()),
            source: std::io::Error::other(e),
        })
    }

    /// Drops the oldest entries beyond [`HISTORY_KEEP`]; a failure only leaves more history.
    fn prune(&self) {
        let Ok(ids) = self.ids() else { return };
        for id in ids.iter().take(ids.len().saturating_sub(HISTORY_KEEP)) {
            let _ = std::fs::remove_file(self.history_path(*id));
        }
    }
}

fn summary(stored: &Stored) -> HistoryEntry {
    let diff = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_secs(1))
        .diff_lines(stored.before.as_str(), stored.after.as_str());
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    HistoryEntry {
        id: stored.id,
        path: stored.path.clone(),
        saved_at: stored.saved_at,
        kind: stored.kind,
        reverts: stored.reverts,
        before_sha256: sha256_hex(&stored.before),
        after_sha256: sha256_hex(&stored.after),
        lines_added: added,
        lines_removed: removed,
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`
/// (keeping the old file's permissions), then syncs the directory: readers see the old file
/// or the new one, never a mix.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EditError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.saving"));
    let shown = path.display().to_string();
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&temp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        EditError::Io {
            context: format!(
                "could not write {shown} (is the configuration directory writable by the server?)"
            ),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_in_the_three_directories_are_files() {
        assert_eq!(
            ConfigFile::parse("businesses", "himalayan_kitchen.yaml")
                .unwrap()
                .rel(),
            "businesses/himalayan_kitchen.yaml"
        );
        assert!(ConfigFile::parse("plugins", "festival-rules.rhai").is_ok());
        for (dir, name) in [
            ("businesses", "../secrets.yaml"),
            ("businesses", ".hidden.yaml"),
            ("businesses", "a/b.yaml"),
            ("businesses", "a\\b.yaml"),
            ("businesses", "x.rhai"),
            ("plugins", "x.yaml"),
            ("businesses", ".yaml"),
            ("businesses", "x.yaml.bak"),
            ("businesses", "%2e%2e.yaml"),
            ("data", "vartalaap.yaml"),
            ("..", "x.yaml"),
            ("businesses", ""),
        ] {
            assert!(ConfigFile::parse(dir, name).is_err(), "{dir}/{name}");
        }
    }

    fn scratch_root() -> (tempfile::TempDir, ConfigEditor) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for sub in ["businesses", "flows", "plugins"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(repo.join(sub)).unwrap().flatten() {
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
        let editor = ConfigEditor::new(dir.path(), dir.path().join("history"));
        (dir, editor)
    }

    #[test]
    fn a_save_is_checked_recorded_with_its_diff_and_reverted() {
        let (dir, editor) = scratch_root();
        let file = ConfigFile::parse("businesses", "himalayan_kitchen.yaml").unwrap();
        let original = editor.read(&file).unwrap();
        let now = Utc::now();
        // Broken: refused with the line of the mistake; nothing written, nothing recorded.
        let broken = original.content.replacen("timezone:", "timezone: [", 1);
        match editor.save(&file, &broken, None, now) {
            Err(EditError::Invalid { errors, .. }) => {
                assert!(errors.iter().all(|e| e.file == file.rel()), "{errors:?}");
                assert!(errors[0].line.is_some(), "{errors:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(editor.read(&file).unwrap().content, original.content);
        assert!(editor.history(None).unwrap().is_empty());
        // A stale base is refused.
        assert!(matches!(
            editor.save(&file, &original.content, Some(&"0".repeat(64)), now),
            Err(EditError::Changed { .. })
        ));
        // A good edit.
        let edited = format!("{}\n# edited in the admin\n", original.content.trim_end());
        let saved = editor
            .save(&file, &edited, Some(&original.sha256), now)
            .unwrap()
            .unwrap();
        assert_eq!((saved.id, saved.lines_added), (1, 1));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("businesses/himalayan_kitchen.yaml")).unwrap(),
            edited
        );
        assert!(
            !dir.path()
                .join("businesses/.himalayan_kitchen.yaml.saving")
                .exists()
        );
        let detail = editor.history_detail(saved.id).unwrap();
        assert!(
            detail.diff.contains("+# edited in the admin"),
            "{}",
            detail.diff
        );
        assert!(
            detail
                .diff
                .starts_with("--- a/businesses/himalayan_kitchen.yaml")
        );
        // Saving the same text again writes nothing.
        assert!(editor.save(&file, &edited, None, now).unwrap().is_none());
        // Revert puts the old text back, as a new entry.
        let reverted = editor.revert(saved.id, now).unwrap().unwrap();
        assert_eq!(
            (reverted.kind, reverted.reverts),
            (SaveKind::Revert, Some(1))
        );
        assert_eq!(editor.read(&file).unwrap().content, original.content);
        let history = editor
            .history(Some("businesses/himalayan_kitchen.yaml"))
            .unwrap();
        assert_eq!(history.iter().map(|h| h.id).collect::<Vec<_>>(), [2, 1]);
        assert!(matches!(
            editor.history_detail(99),
            Err(EditError::NoHistory(99))
        ));
    }

    #[test]
    fn a_flow_edit_that_breaks_a_business_is_refused() {
        let (_dir, editor) = scratch_root();
        let listing = editor.list().unwrap();
        let flow = listing
            .iter()
            .find(|f| f.dir == ConfigDir::Flows)
            .expect("a shipped flow");
        let file = ConfigFile::parse("flows", &flow.name).unwrap();
        let check = editor.check(&file, "id: [unclosed\n").unwrap();
        assert!(!check.valid);
        assert!(check.errors.iter().any(|e| e.file == file.rel()));
        // Symlinks are not files here.
        #[cfg(unix)]
        {
            let link = _dir.path().join("businesses/link.yaml");
            std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
            let f = ConfigFile::parse("businesses", "link.yaml").unwrap();
            assert!(matches!(editor.read(&f), Err(EditError::NotFound(_))));
        }
    }
}
