//! Runs every scripted dialogue in `tests/conversations/*.yaml` against the real repository
//! configuration and prints every failure as `file:turn N: …` with the transcript.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vartalaap_config::ConfigStore;
use vartalaap_core::Trace;
use vartalaap_core::testing::{Coverage, load_dialogues, run_dialogue};
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};

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
    assert!(!dialogues.is_empty(), "no dialogues in tests/conversations");
    let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
    let mut failures = Vec::new();
    let mut traces: std::collections::BTreeMap<String, Trace> = Default::default();
    for d in &dialogues {
        let Some(snap) = store.current(&d.business) else {
            failures.push(format!(
                "{}: unknown business {}",
                d.file.display(),
                d.business
            ));
            continue;
        };
        let host = RhaiHost::new(runtime.clone(), snap.clone());
        let outcome = run_dialogue(snap, d, &host);
        if std::env::var_os("SHOW_TRANSCRIPTS").is_some() {
            println!(
                "== {}\n    {}",
                d.file.display(),
                outcome.transcript.join("\n    ")
            );
        }
        traces
            .entry(d.business.clone())
            .or_default()
            .merge(&outcome.trace);
        if !outcome.failures.is_empty() {
            let mut msg: Vec<String> = outcome.failures.iter().map(ToString::to_string).collect();
            msg.push(format!(
                "  transcript:\n    {}",
                outcome.transcript.join("\n    ")
            ));
            failures.push(msg.join("\n"));
        }
    }
    for (business, trace) in &traces {
        if let Some(snap) = store.current(business) {
            println!(
                "coverage for {business} ({} dialogues):\n{}",
                dialogues.len(),
                Coverage::new(&snap, trace)
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} dialogues failed:\n\n{}",
        failures.len(),
        dialogues.len(),
        failures.join("\n\n")
    );
}
