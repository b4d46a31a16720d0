//! Conformance corpus: `tests/config/valid/*` must load; `tests/config/invalid/*` must fail with
//! exactly the diagnostics in the sibling `<case>.expected` file.
//!
//! Each case is a directory tree laid over the repository's `flows/` and `plugins/`: the case's
//! `businesses/` is the only business directory, and any `flows/` or `plugins/` files it has
//! are added to (or replace) the shipped ones. So most cases are one small business file.
//!
//! Run with `UPDATE_EXPECT=1` to (re)write the `.expected` files after an intended change.

use std::fs;
use std::path::{Path, PathBuf};

use vartalaap_config::{ConfigStore, validate_paths};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = repo().join("tests/config").join(kind);
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// A temp config root: shipped flows and plugins, then the case's tree on top.
fn materialize(case: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("flows"), &tmp.path().join("flows"));
    copy_dir(&repo().join("plugins"), &tmp.path().join("plugins"));
    copy_dir(case, tmp.path());
    tmp
}

#[test]
fn valid_cases_load() {
    let cases = cases("valid");
    assert!(!cases.is_empty());
    for case in cases {
        let root = materialize(&case);
        let diags = validate_paths(root.path(), &[]);
        assert!(
            diags.is_empty(),
            "{} should be valid:\n{}",
            case.display(),
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        let store = ConfigStore::load(root.path()).unwrap();
        assert!(!store.list().is_empty(), "{}", case.display());
    }
}

#[test]
fn invalid_cases_match_expected() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let cases = cases("invalid");
    assert!(
        cases.len() >= 15,
        "the corpus needs at least 15 distinct mistakes"
    );
    let mut failures = Vec::new();
    for case in cases {
        let root = materialize(&case);
        let diags = validate_paths(root.path(), &[]);
        let got: String = diags.iter().map(|d| format!("{d}\n")).collect();
        let expected_path = case.with_extension("expected");
        if got.is_empty() {
            failures.push(format!("{}: loaded without errors", case.display()));
            continue;
        }
        // The store must refuse to start on a config whose only business is broken.
        assert!(
            ConfigStore::load(root.path()).is_err(),
            "{}",
            case.display()
        );
        if update {
            fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let want = fs::read_to_string(&expected_path).unwrap_or_default();
        if want != got {
            failures.push(format!(
                "{}\n--- expected ({})\n{want}--- got\n{got}",
                case.display(),
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(set UPDATE_EXPECT=1 to accept the new output)",
        failures.join("\n")
    );
}
