//! `vartalaap chat` and `vartalaap test`: the dialog engine for owners and integrators,
//! without a phone.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use vartalaap_config::ConfigStore;
use vartalaap_core::Trace;
use vartalaap_core::testing::{Coverage, load_dialogues, run_dialogue};
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};
use vartalaap_store::{Clock, SystemClock};
use vartalaap_tools::dialogue_world;

use crate::chat::{ChatReply, ChatService};
use crate::settings::Settings;

fn load_config(root: &Path) -> anyhow::Result<Arc<ConfigStore>> {
    let root = std::fs::canonicalize(root)
        .with_context(|| format!("the configuration folder {} does not exist", root.display()))?;
    ConfigStore::load(&root)
        .map(Arc::new)
        .map_err(|diagnostics| {
            let lines: Vec<String> = diagnostics.iter().map(|d| format!("  {d}")).collect();
            anyhow::anyhow!(
                "the configuration in {} does not load:\n{}",
                root.display(),
                lines.join("\n")
            )
        })
}

/// Options of `vartalaap chat`.
pub struct ChatOptions {
    pub business: String,
    pub at: Option<String>,
    pub show_state: bool,
    pub caller: Option<String>,
    pub persist: bool,
    pub root: std::path::PathBuf,
}

/// An interactive text conversation in the terminal.
pub fn chat(options: ChatOptions) -> anyhow::Result<ExitCode> {
    let config = load_config(&options.root)?;
    let at = options
        .at
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| {
                    format!(
                        "--at must be an RFC 3339 time such as 2026-12-01T18:00:00+05:30, not {t:?}"
                    )
                })
        })
        .transpose()?;
    let mut settings = Settings::from_process_env()?;
    // Trying the bot must not create real bookings unless asked to.
    let scratch = tempfile::tempdir().context("could not create a scratch folder")?;
    if !options.persist {
        settings.data_dir = scratch.path().to_path_buf();
    }
    crate::secrets::ensure_dev_secrets(&mut settings)?;
    let store = Arc::new(crate::storage::open_store(&settings)?);
    let mut service = ChatService::new(
        config,
        store,
        Arc::new(ScriptRuntime::new(ScriptLimits::default())),
        Arc::new(SystemClock) as Arc<dyn Clock>,
    );
    // With LLM_PROVIDER=groq the terminal chat uses the model as a call would; its requests
    // need a runtime, kept alive for the whole chat.
    let llm = crate::llm::from_settings(&settings, None)?;
    let _runtime = if llm.is_offline() {
        None
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("could not start the runtime for LLM requests")?;
        service = service.with_llm(llm, runtime.handle().clone());
        Some(runtime)
    };
    let first = service
        .start(&options.business, at, options.caller.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let id = first.conversation_id.clone();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Talking to {} (config {}). Empty line = silence, a digit = keypad, Ctrl-D = hang up.",
        options.business,
        &first.config_version[..12.min(first.config_version.len())]
    )?;
    print_reply(&mut out, &first, options.show_state)?;
    let stdin = std::io::stdin();
    let mut ended = first.ended;
    while !ended {
        write!(out, "you> ")?;
        out.flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            writeln!(out)?;
            break;
        }
        let reply = service
            .message(&id, line.trim_end_matches(['\r', '\n']))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        print_reply(&mut out, &reply, options.show_state)?;
        ended = reply.ended;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_reply(out: &mut impl Write, reply: &ChatReply, show_state: bool) -> std::io::Result<()> {
    if !reply.reply.is_empty() {
        writeln!(out, "bot [{}]> {}", reply.language, reply.reply)?;
    }
    for action in &reply.actions {
        writeln!(out, "  action: {action}")?;
    }
    if show_state {
        writeln!(
            out,
            "  state: flow={} step={} slots={}",
            reply.state.flow.as_deref().unwrap_or("-"),
            reply.state.step.as_deref().unwrap_or("-"),
            serde_json::Value::Object(reply.state.slots.clone())
        )?;
        let h = &reply.handled_by;
        writeln!(
            out,
            "  handled_by: intent={} flow={} step={}",
            h.intent.as_deref().unwrap_or("-"),
            h.flow.as_deref().unwrap_or("-"),
            h.step.as_deref().unwrap_or("-"),
        )?;
    }
    if reply.ended {
        writeln!(out, "(call ended)")?;
    }
    Ok(())
}

/// Runs every dialogue in `dir` (tool calls against a scratch store per dialogue); prints
/// failures and coverage; exit code 1 on any failure.
pub fn test(dir: &Path, root: &Path) -> anyhow::Result<ExitCode> {
    let config = load_config(root)?;
    let dialogues = load_dialogues(dir).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!("could not read the dialogues:\n{}", lines.join("\n"))
    })?;
    anyhow::ensure!(
        !dialogues.is_empty(),
        "no dialogues (*.yaml) in {}",
        dir.display()
    );
    let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
    let mut traces: BTreeMap<String, Trace> = BTreeMap::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for dialogue in &dialogues {
        let Some(snapshot) = config.current(&dialogue.business) else {
            println!(
                "FAIL {}: unknown business {:?}",
                dialogue.file.display(),
                dialogue.business
            );
            failed += 1;
            continue;
        };
        let host = RhaiHost::new(runtime.clone(), snapshot.clone());
        let outcome = run_dialogue(snapshot, dialogue, &host, &dialogue_world);
        traces
            .entry(dialogue.business.clone())
            .or_default()
            .merge(&outcome.trace);
        if outcome.failures.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            println!("FAIL {}", dialogue.file.display());
            for failure in &outcome.failures {
                println!("  {failure}");
            }
            for line in &outcome.transcript {
                println!("    | {line}");
            }
        }
    }
    for (business, trace) in &traces {
        if let Some(snapshot) = config.current(business) {
            println!(
                "\nCoverage for {business}:\n{}",
                Coverage::new(&snapshot, trace)
            );
        }
    }
    println!("\ndialogues: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `vartalaap test record <call_id>`: saves a logged call as a dialogue file (see
/// [`crate::record_test`]). Opens the database itself, so the server must be stopped; when it
/// runs, says so and points to the API that does the same inside the server.
pub fn record_test(
    settings: &Settings,
    call_id: u64,
    name: Option<String>,
    force: bool,
    dir: Option<std::path::PathBuf>,
    root: &Path,
) -> anyhow::Result<ExitCode> {
    use crate::record_test::{RecordError, check_name, default_name, record, write_test};
    let name = name.unwrap_or_else(|| default_name(call_id));
    check_name(&name)?;
    let dir = dir.unwrap_or_else(|| root.join("tests/conversations"));
    let target = dir.join(format!("{name}.yaml"));
    if target.exists() && !force {
        return Err(RecordError::Exists(target).into());
    }
    let config = load_config(root)?;
    let database = crate::storage::database_path(settings);
    anyhow::ensure!(
        database.exists(),
        "there is no database at {} (check DATA_DIR): no call has been logged there",
        database.display()
    );
    let store = match crate::storage::open_store(settings) {
        Ok(store) => store,
        Err(error) if crate::storage::in_use_by_server(&error) => anyhow::bail!(
            "{} is in use by a running server; save the call from the server instead: the \
             admin's Calls page (\"Save as test\") or POST /api/calls/{call_id}/test \
             {{\"name\": \"{name}\"}} (docs/API.md), or stop the server and run this again",
            database.display()
        ),
        Err(error) => return Err(error),
    };
    let call = store
        .get_call(call_id)
        .with_context(|| format!("could not read call {call_id}"))?
        .ok_or(RecordError::UnknownCall(call_id))?;
    let snapshot =
        config
            .current(&call.call.business_id)
            .ok_or_else(|| RecordError::UnknownBusiness {
                call: call_id,
                business: call.call.business_id.clone(),
            })?;
    let recording = record(
        &call,
        snapshot,
        Arc::new(ScriptRuntime::new(ScriptLimits::default())),
    )?;
    let path = write_test(&dir, &name, &recording.yaml, force)?;
    println!(
        "saved call {call_id} as {} ({} turns); run it with: vartalaap test {}",
        path.display(),
        recording.turns,
        path.display()
    );
    for note in &recording.notes {
        println!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
