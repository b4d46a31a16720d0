//! Runs every scripted dialogue in `tests/conversations/*.yaml` against the real repository
//! configuration, with tool calls through the server's executor over a scratch store per
//! dialogue, and prints every failure as `file:turn N: …` with the transcript.
//!
//! `SHOW_TRANSCRIPTS=1 cargo test -p vartalaap-core --test conversations -- --nocapture`
//! prints every conversation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vartalaap_config::ConfigStore;
use vartalaap_core::ScriptHost;
use vartalaap_core::testing::{load_dialogues, run_dialogue, run_dialogues};
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};
use vartalaap_tools::dialogue_world;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_dialogue_passes() {
    let root = repo_root();
    let store = ConfigStore::load(&root).unwrap_or_else(|errs| {
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        panic!("repository configuration is invalid:\n{}", text.join("\n"))
    });
    let dialogues = load_dialogues(&root.join("tests/conversations")).unwrap_or_else(|errs| {
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        panic!("unreadable dialogues:\n{}", text.join("\n"))
    });
    assert!(
        dialogues.len() >= 60,
        "expected at least 60 dialogues, found {}",
        dialogues.len()
    );
    let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
    if std::env::var_os("SHOW_TRANSCRIPTS").is_some() {
        for d in &dialogues {
            if let Some(snap) = store.current(&d.business) {
                let host = RhaiHost::new(runtime.clone(), snap.clone());
                let o = run_dialogue(snap, d, &host, &dialogue_world);
                println!(
                    "== {}\n    {}",
                    d.file.display(),
                    o.transcript.join("\n    ")
                );
            }
        }
    }
    let report = run_dialogues(
        &dialogues,
        &|id| store.current(id),
        &|snap| Box::new(RhaiHost::new(runtime.clone(), snap.clone())) as Box<dyn ScriptHost>,
        &dialogue_world,
    );
    for b in &report.businesses {
        println!(
            "coverage for {} ({} dialogues):\n{}",
            b.business, b.dialogues, b.coverage
        );
    }
    let mut text = Vec::new();
    for (f, transcript) in &report.failures {
        text.push(f.to_string());
        if !transcript.is_empty() {
            text.push(format!(
                "  transcript:\n    {}\n",
                transcript.join("\n    ")
            ));
        }
    }
    assert!(
        report.ok(),
        "{} of {} dialogues failed:\n\n{}",
        report.dialogues - report.passed,
        report.dialogues,
        text.join("\n")
    );
}
