//! `vartalaap validate [PATH...]`: check files without starting anything.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, normalize};
use crate::load::{
    BUSINESSES_DIR, FLOWS_DIR, PLUGINS_DIR, SourceFile, Sources, display_path, load_root,
    load_sources, scan, source_file,
};

/// Validates configuration and returns every problem found (empty = valid).
///
/// With no `paths`, checks everything under `root`: every business, and every flow and plugin
/// file even when no business uses it. With `paths`, checks just those files or directories
/// (a directory named `businesses`, `flows` or `plugins`, or a config root); references are
/// resolved against `root`'s flows and plugins, with the given files taking precedence. A
/// `.rhai` file is a plugin; a YAML file inside a `flows` directory is a flow, any other YAML
/// file is a business. Relative paths are tried as given, then under `root`.
pub fn validate_paths(root: &Path, paths: &[PathBuf]) -> Vec<Diagnostic> {
    validate(root, paths).errors
}

/// What `vartalaap validate` reports: errors (the files would be rejected) and warnings (they
/// load, but something is probably stale, such as a closure dated in the past).
#[derive(Debug, Default)]
pub struct Validation {
    /// Every problem that makes a file invalid, sorted (empty = valid).
    pub errors: Vec<Diagnostic>,
    /// Every warning of the businesses that are valid, sorted.
    pub warnings: Vec<Diagnostic>,
}

/// Like [`validate_paths`], with the warnings of the businesses that loaded.
pub fn validate(root: &Path, paths: &[PathBuf]) -> Validation {
    if paths.is_empty() {
        let report = load_root(root);
        return Validation {
            errors: report.all_diagnostics(),
            warnings: report.all_warnings(),
        };
    }
    let mut diags = Vec::new();
    let mut base = Sources {
        businesses: Vec::new(),
        flows: scan(root, FLOWS_DIR, &["yaml", "yml"], &mut diags),
        plugins: scan(root, PLUGINS_DIR, &["rhai"], &mut diags),
    };
    let mut wanted: Vec<String> = Vec::new();
    let mut add = |kind: Kind, f: SourceFile, base: &mut Sources| {
        wanted.push(f.rel.clone());
        let list = match kind {
            Kind::Business => &mut base.businesses,
            Kind::Flow => &mut base.flows,
            Kind::Plugin => &mut base.plugins,
        };
        list.retain(|x| x.id != f.id);
        list.push(f);
    };
    for p in paths {
        let path = if p.exists() || p.is_absolute() {
            p.clone()
        } else {
            root.join(p)
        };
        if path.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let (dirs, parent): (Vec<(&str, Kind)>, PathBuf) = match name {
                BUSINESSES_DIR | FLOWS_DIR | PLUGINS_DIR => (
                    vec![(name, kind_of_dir(name))],
                    path.parent().map(Path::to_path_buf).unwrap_or_default(),
                ),
                _ => (
                    vec![
                        (BUSINESSES_DIR, Kind::Business),
                        (FLOWS_DIR, Kind::Flow),
                        (PLUGINS_DIR, Kind::Plugin),
                    ],
                    path.clone(),
                ),
            };
            for (dir, kind) in dirs {
                let exts: &[&str] = if kind == Kind::Plugin {
                    &["rhai"]
                } else {
                    &["yaml", "yml"]
                };
                let display_root = if parent.starts_with(root) || parent == root {
                    root
                } else {
                    &parent
                };
                for mut f in scan(&parent, dir, exts, &mut diags) {
                    f.rel = display_path(display_root, &f.abs);
                    add(kind, f, &mut base);
                }
            }
        } else if path.is_file() {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let kind = if ext == "rhai" {
                Kind::Plugin
            } else if path
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                == Some(FLOWS_DIR)
            {
                Kind::Flow
            } else {
                Kind::Business
            };
            let exts: &[&str] = if kind == Kind::Plugin {
                &["rhai"]
            } else {
                &["yaml", "yml"]
            };
            match source_file(root, &path, exts) {
                Some(f) => add(kind, f, &mut base),
                None => diags.push(Diagnostic::file(
                    display_path(root, &path),
                    "not a configuration file (expected .yaml, .yml or .rhai)",
                )),
            }
        } else {
            diags.push(Diagnostic::file(
                p.display().to_string(),
                "no such file or directory",
            ));
        }
    }
    let report = load_sources(&base);
    let warnings = report.all_warnings();
    // Business errors include the flows/plugins they use; other files only when asked for.
    diags.extend(
        report
            .businesses
            .into_values()
            .filter_map(Result::err)
            .flatten(),
    );
    diags.extend(
        report
            .global
            .into_iter()
            .filter(|d| wanted.contains(&d.file)),
    );
    normalize(&mut diags);
    Validation {
        errors: diags,
        warnings,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Business,
    Flow,
    Plugin,
}

fn kind_of_dir(name: &str) -> Kind {
    match name {
        FLOWS_DIR => Kind::Flow,
        PLUGINS_DIR => Kind::Plugin,
        _ => Kind::Business,
    }
}
