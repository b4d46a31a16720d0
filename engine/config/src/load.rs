//! The one loading path shared by startup, hot reload and `vartalaap validate`: find files, read
//! them, compile plugins → flows → businesses, and assemble snapshots.
//!
//! This is the only module that touches the file system for configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::compile::business::{Library, compile_business};
use crate::compile::flow::{FlowEnv, compile_flow};
use crate::compile::parse_document;
use crate::compile::plugin::compile_plugin;
use crate::diagnostic::{Diagnostic, normalize};
use crate::model::flow::Flow;
use crate::model::plugin::Plugin;
use crate::schema::SchemaKind;
use crate::snapshot::BusinessSnapshot;

/// Directory names under the config root.
pub const BUSINESSES_DIR: &str = "businesses";
/// Directory of flow files.
pub const FLOWS_DIR: &str = "flows";
/// Directory of plugin scripts.
pub const PLUGINS_DIR: &str = "plugins";

/// Result of loading a config root.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Per business file (keyed by file stem): the compiled snapshot or every error that
    /// prevented it (including errors in the flows and plugins it uses).
    pub businesses: BTreeMap<String, Result<Arc<BusinessSnapshot>, Vec<Diagnostic>>>,
    /// Errors not tied to one business: broken flow or plugin files no business uses,
    /// unreadable directories, duplicate ids.
    pub global: Vec<Diagnostic>,
}

impl LoadReport {
    /// Every warning of the businesses that loaded, sorted.
    pub fn all_warnings(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self
            .businesses
            .values()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|s| s.warnings.iter().cloned())
            .collect();
        normalize(&mut all);
        all
    }

    /// Every diagnostic, sorted and de-duplicated.
    pub fn all_diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self
            .businesses
            .values()
            .filter_map(|r| r.as_ref().err())
            .flatten()
            .cloned()
            .chain(self.global.iter().cloned())
            .collect();
        normalize(&mut all);
        all
    }
}

/// One file to load.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// Id (file stem).
    pub id: String,
    /// Path shown in diagnostics (relative to the root when inside it, `/`-separated).
    pub rel: String,
    /// Where to read it.
    pub abs: PathBuf,
}

/// The files a load considers.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    pub businesses: Vec<SourceFile>,
    pub flows: Vec<SourceFile>,
    pub plugins: Vec<SourceFile>,
}

/// A file's text and content hash.
struct Read {
    text: String,
    sha: [u8; 32],
}

/// Loads everything under `root` (`businesses/`, `flows/`, `plugins/`).
pub fn load_root(root: &Path) -> LoadReport {
    let mut global = Vec::new();
    let sources = Sources {
        businesses: scan(root, BUSINESSES_DIR, &["yaml", "yml"], &mut global),
        flows: scan(root, FLOWS_DIR, &["yaml", "yml"], &mut global),
        plugins: scan(root, PLUGINS_DIR, &["rhai"], &mut global),
    };
    let mut report = load_sources(&sources);
    report.global.extend(global);
    normalize(&mut report.global);
    report
}

/// Loads an explicit set of files (used by [`load_root`] and `validate_paths`).
pub(crate) fn load_sources(sources: &Sources) -> LoadReport {
    let mut global = Vec::new();
    let mut texts: BTreeMap<String, Read> = BTreeMap::new();
    for f in sources
        .businesses
        .iter()
        .chain(&sources.flows)
        .chain(&sources.plugins)
    {
        match read(&f.abs, &f.rel) {
            Ok(r) => {
                texts.insert(f.rel.clone(), r);
            }
            Err(d) => global.push(d),
        }
    }
    let text_of = |f: &SourceFile| texts.get(&f.rel);

    // Plugins.
    let mut plugins: BTreeMap<String, Result<Arc<Plugin>, Vec<Diagnostic>>> = BTreeMap::new();
    let mut plugin_files: BTreeMap<String, &SourceFile> = BTreeMap::new();
    for f in &sources.plugins {
        let Some(r) = text_of(f) else { continue };
        if duplicate(&mut plugin_files, f, &mut global) {
            continue;
        }
        plugins.insert(
            f.id.clone(),
            compile_plugin(&f.id, &f.rel, &r.text).map(Arc::new),
        );
    }

    // Flows.
    let flow_ids: BTreeSet<String> = sources.flows.iter().map(|f| f.id.clone()).collect();
    let env = FlowEnv {
        flow_ids: &flow_ids,
        plugins: &plugins,
    };
    let mut flows: BTreeMap<String, Result<Arc<Flow>, Vec<Diagnostic>>> = BTreeMap::new();
    let mut flow_files: BTreeMap<String, &SourceFile> = BTreeMap::new();
    for f in &sources.flows {
        let Some(r) = text_of(f) else { continue };
        if duplicate(&mut flow_files, f, &mut global) {
            continue;
        }
        let result = parse_document(SchemaKind::Flow, &f.rel, &r.text)
            .and_then(|doc| compile_flow(&doc, &f.id, &env))
            .map(Arc::new);
        flows.insert(f.id.clone(), result);
    }

    // Businesses.
    let lib = Library {
        flows: &flows,
        plugins: &plugins,
    };
    let mut businesses = BTreeMap::new();
    let mut business_files: BTreeMap<String, &SourceFile> = BTreeMap::new();
    for f in &sources.businesses {
        let Some(r) = text_of(f) else {
            businesses.insert(
                f.id.clone(),
                Err(global.iter().filter(|d| d.file == f.rel).cloned().collect()),
            );
            continue;
        };
        if duplicate(&mut business_files, f, &mut global) {
            continue;
        }
        let result = parse_document(SchemaKind::Business, &f.rel, &r.text).and_then(|doc| {
            let compiled = compile_business(&doc, &f.id, &lib)?;
            // Version = hash of exactly the files this snapshot was built from.
            let mut files = vec![f.rel.clone()];
            files.extend(
                compiled
                    .flows
                    .keys()
                    .filter_map(|id| flow_files.get(id))
                    .map(|s| s.rel.clone()),
            );
            files.extend(
                compiled
                    .plugins
                    .keys()
                    .filter_map(|id| plugin_files.get(id))
                    .map(|s| s.rel.clone()),
            );
            files.sort();
            let version = version_of(
                files
                    .iter()
                    .filter_map(|rel| texts.get(rel).map(|t| (rel, t))),
            );
            let loaded_at = Utc::now();
            let today = loaded_at
                .with_timezone(&compiled.business.timezone)
                .date_naive();
            let warnings = crate::compile::warnings::past_exceptions(&doc, today);
            Ok(Arc::new(BusinessSnapshot {
                business: compiled.business,
                flows: compiled.flows,
                plugins: compiled.plugins,
                document: doc.value,
                version,
                loaded_at,
                files,
                warnings,
            }))
        });
        businesses.insert(
            f.id.clone(),
            result.map_err(|mut d| {
                normalize(&mut d);
                d
            }),
        );
    }

    // Errors in flows/plugins that no business reported are global.
    let attributed: BTreeSet<&Diagnostic> = businesses
        .values()
        .filter_map(|r| r.as_ref().err())
        .flatten()
        .collect();
    for d in flows
        .values()
        .chain(plugins_as_flows(&plugins).iter())
        .filter_map(|r| r.as_ref().err())
        .flatten()
    {
        if !attributed.contains(d) {
            global.push(d.clone());
        }
    }
    normalize(&mut global);
    LoadReport { businesses, global }
}

/// Plugin results re-shaped so their errors can be walked with the flows'.
fn plugins_as_flows(
    plugins: &BTreeMap<String, Result<Arc<Plugin>, Vec<Diagnostic>>>,
) -> Vec<Result<Arc<Flow>, Vec<Diagnostic>>> {
    plugins
        .values()
        .filter_map(|r| r.as_ref().err().map(|d| Err(d.clone())))
        .collect()
}

fn duplicate<'a>(
    seen: &mut BTreeMap<String, &'a SourceFile>,
    f: &'a SourceFile,
    global: &mut Vec<Diagnostic>,
) -> bool {
    if let Some(first) = seen.get(&f.id) {
        global.push(Diagnostic::file(
            f.rel.clone(),
            format!(
                "`{}` is defined twice (also {}); remove one of the files",
                f.id, first.rel
            ),
        ));
        return true;
    }
    seen.insert(f.id.clone(), f);
    false
}

/// Largest config file accepted; real ones are a few dozen KB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn read(abs: &Path, rel: &str) -> Result<Read, Diagnostic> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| Diagnostic::file(rel, format!("cannot read file: {e}"));
    let mut bytes = Vec::new();
    std::fs::File::open(abs)
        .map_err(cannot)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Diagnostic::file(
            rel,
            format!(
                "file is larger than {} MiB; is it really a configuration file?",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    let sha = Sha256::digest(&bytes).into();
    let text = String::from_utf8(bytes)
        .map_err(|_| Diagnostic::file(rel, "file is not valid UTF-8 text; save it as UTF-8"))?;
    Ok(Read { text, sha })
}

/// Hex SHA-256 over (path, content hash) of each file, in the given (sorted) order.
fn version_of<'a>(files: impl Iterator<Item = (&'a String, &'a Read)>) -> String {
    let mut h = Sha256::new();
    for (rel, r) in files {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(r.sha);
    }
    hex::encode(h.finalize())
}

/// Lists `<root>/<dir>/*.<ext>` (not recursive; hidden and editor-temp files skipped).
pub(crate) fn scan(
    root: &Path,
    dir: &str,
    exts: &[&str],
    global: &mut Vec<Diagnostic>,
) -> Vec<SourceFile> {
    let path = root.join(dir);
    let entries = match std::fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            global.push(Diagnostic::file(dir, format!("cannot list directory: {e}")));
            return Vec::new();
        }
    };
    let mut out: Vec<SourceFile> = entries
        .filter_map(Result::ok)
        .filter_map(|e| source_file(root, &e.path(), exts))
        .collect();
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

/// A `SourceFile` for `path` if it is a config file with one of `exts`.
pub(crate) fn source_file(root: &Path, path: &Path, exts: &[&str]) -> Option<SourceFile> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') || !path.is_file() {
        return None;
    }
    let ext = path.extension()?.to_str()?;
    if !exts.contains(&ext) {
        return None;
    }
    let id = path.file_stem()?.to_str()?.to_string();
    Some(SourceFile {
        id,
        rel: display_path(root, path),
        abs: path.to_path_buf(),
    })
}

/// `path` relative to `root` with `/` separators, or as given when outside the root.
pub(crate) fn display_path(root: &Path, path: &Path) -> String {
    let canonical = || -> Option<PathBuf> {
        let r = root.canonicalize().ok()?;
        let p = path.canonicalize().ok()?;
        p.strip_prefix(&r).ok().map(Path::to_path_buf)
    };
    let rel = match path.strip_prefix(root) {
        Ok(r) => r.to_path_buf(),
        Err(_) => canonical().unwrap_or_else(|| path.to_path_buf()),
    };
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
