//! `validate_paths` with explicit files and directories.

use std::fs;
use std::path::{Path, PathBuf};

use vartalaap_config::validate_paths;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lines(root: &Path, paths: &[PathBuf]) -> Vec<String> {
    validate_paths(root, paths)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn shipped_files_validate_one_by_one_and_by_directory() {
    let root = repo();
    for p in [
        "businesses/himalayan_kitchen.yaml",
        "flows/make_reservation.yaml",
        "plugins/jain_options.rhai",
        "businesses",
        "flows",
        "plugins",
    ] {
        assert_eq!(
            lines(&root, &[PathBuf::from(p)]),
            Vec::<String>::new(),
            "{p}"
        );
    }
    assert!(lines(&root, std::slice::from_ref(&root)).is_empty());
}

#[test]
fn explicit_files_are_checked_against_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let flows = tmp.path().join("flows");
    fs::create_dir_all(&flows).unwrap();
    // A flow outside the root that calls a shipped plugin and jumps to a shipped flow.
    fs::write(
        flows.join("order_status.yaml"),
        "id: order_status\nsteps:\n  - id: a\n    call: jain_options.suggst\n    args: [utterance, business.menu, lang]\n  - id: b\n    goto: {flow: human_handoff}\n",
    )
    .unwrap();
    fs::write(tmp.path().join("broken.rhai"), "fn x( {").unwrap();
    let got = lines(
        &repo(),
        &[
            flows.join("order_status.yaml"),
            tmp.path().join("broken.rhai"),
            PathBuf::from("no/such/file.yaml"),
        ],
    );
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].contains("broken.rhai:1:"), "{got:#?}");
    assert!(got[1].contains("order_status.yaml:4:11 /steps/0/call: plugin `jain_options` has no function `suggst`; did you mean `suggest`?"), "{got:#?}");
    assert_eq!(got[2], "no/such/file.yaml: no such file or directory");
}

#[test]
fn diagnostics_serialize_for_tools() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("x.yaml"), "id: x\ncolour: blue\n").unwrap();
    let diags = validate_paths(&repo(), &[tmp.path().join("x.yaml")]);
    let json = serde_json::to_value(&diags).unwrap();
    let unknown = json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["pointer"] == "/colour")
        .expect("unknown key reported");
    assert_eq!(unknown["line"], 2);
    assert_eq!(unknown["column"], 1);
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown key `colour`")
    );
}

#[test]
fn oversized_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("huge.yaml");
    fs::write(&big, "# padding\n".repeat(500_000)).unwrap();
    let got = lines(&repo(), &[big]);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].ends_with("file is larger than 4 MiB; is it really a configuration file?"));
}
