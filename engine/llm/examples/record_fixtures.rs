//! Re-records `tests/fixtures/llm/*.json` against a real OpenAI-compatible endpoint (Groq).
//!
//! ```sh
//! GROQ_API_KEY=gsk_… GROQ_MODEL=<model> cargo run -p vartalaap-llm --example record_fixtures
//! GROQ_API_KEY=gsk_… GROQ_MODEL=<model> cargo run -p vartalaap-llm --example record_fixtures -- understand_correction
//! ```
//!
//! For each fixture (all, or the names given) the turn is replayed exactly as the engine runs
//! it: the conversation starts at the fixture's time, the setup lines are said (offline), and
//! the utterance goes through the same steps as a chat turn — the understanding request when
//! the offline reading misses, the engine turn, the phrasing request when the answer's
//! template is phrased. Every response is streamed with `record_sse` on and written back as
//! the fixture's exchanges, with the model and date. Fixtures whose source starts with
//! `adversarial` (streams edited to invent facts or break the protocol) are never
//! overwritten. A real model may answer differently from the committed stream; run
//! `cargo test -p vartalaap-llm` afterwards and read the diff before committing.
//!
//! This is a developer tool: it reads `GROQ_API_KEY`, `GROQ_MODEL` and optionally
//! `GROQ_BASE_URL` itself (the server never runs it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::DateTime;
use vartalaap_config::ConfigStore;
use vartalaap_core::{CallerContext, Conversation, Input, drive, drive_start};
use vartalaap_llm::fixture::{Exchange, Fixture, Provenance, Task};
use vartalaap_llm::schema::{TOOL_NAME, interpretation_from};
use vartalaap_llm::{GroqLlm, Llm, LlmSettings, TurnContext, offline_misses};
use vartalaap_providers::groq::{ChatRequest, GroqClient, GroqConfig, LlmEvent, ToolCall};
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};
use vartalaap_tools::StoreWorld;

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("record_fixtures: {msg}");
    std::process::exit(1)
}

/// Sends one request with SSE recording on; returns the exchange and any tool calls.
async fn exchange(
    client: &GroqClient,
    task: Task,
    request: &ChatRequest,
) -> (Exchange, Vec<ToolCall>) {
    let mut stream = match client.stream(request).await {
        Ok(s) => s,
        Err(e) => fail(format!("request failed: {e}")),
    };
    let mut calls = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(LlmEvent::ToolCalls(c)) => calls = c,
            Ok(_) => {}
            Err(e) => eprintln!("  (stream ended with {e}; recorded as received)"),
        }
    }
    let raw = stream.recorded_sse().unwrap_or_default();
    (Exchange::from_sse(task, raw), calls)
}

async fn record(path: &Path, config: &ConfigStore, client: &GroqClient, model: &str) {
    let mut fx = Fixture::load(path).unwrap_or_else(|e| fail(e));
    if fx.recorded.is_adversarial() {
        println!("skip {} (adversarial)", path.display());
        return;
    }
    let snap = config
        .current(&fx.business)
        .unwrap_or_else(|| fail(format!("unknown business {}", fx.business)));
    let now = DateTime::parse_from_rfc3339(&fx.at)
        .unwrap_or_else(|e| fail(format!("{}: at: {e}", path.display())))
        .naive_local();
    let host = RhaiHost::new(
        Arc::new(ScriptRuntime::new(ScriptLimits::default())),
        snap.clone(),
    );
    let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
    let (mut conv, first) = Conversation::start(snap, now, CallerContext::default(), &host);
    drive_start(&mut conv, first, now, &host, &mut tools);
    for line in &fx.setup {
        drive(&mut conv, now, Input::text(line), &host, &mut tools);
    }
    let mut exchanges = Vec::new();
    let mut interpretation = None;
    if offline_misses(&conv, now, &fx.utterance, &host) {
        let ctx = TurnContext::of(&conv, now);
        let request = GroqLlm::interpret_request(&ctx, &fx.utterance);
        let (ex, calls) = exchange(client, Task::Understand, &request).await;
        exchanges.push(ex);
        interpretation = calls
            .iter()
            .find(|c| c.name == TOOL_NAME)
            .and_then(|c| c.arguments_json().ok())
            .and_then(|args| interpretation_from(&args, &ctx).ok());
    }
    let input = Input::Utterance {
        text: fx.utterance.clone(),
        confidence: None,
        interpretation,
    };
    let outputs = drive(&mut conv, now, input, &host, &mut tools);
    let mut settings = LlmSettings::default();
    settings
        .phrase_templates
        .extend(fx.phrase_templates.iter().cloned());
    // Only used to find the answer to phrase, exactly as the edges do.
    let finder = Llm::new(
        Arc::new(vartalaap_llm::Offline),
        Arc::new(vartalaap_llm::Offline),
        settings.clone(),
    );
    if let Some(target) = finder.phrase_target(&outputs) {
        let ctx = TurnContext::of(&conv, now);
        let request = vartalaap_llm::PhraseRequest {
            ctx: &ctx,
            utterance: &fx.utterance,
            template: &target.template,
            template_text: &target.text,
            following: &target.following,
            lang: target.lang,
        };
        let body = GroqLlm::phrase_request(&request, settings.max_answer_tokens);
        let (ex, _) = exchange(client, Task::Phrase, &body).await;
        exchanges.push(ex);
    }
    fx.exchanges = exchanges;
    fx.recorded = Provenance {
        model: model.to_string(),
        source: format!(
            "recorded {} by engine/llm/examples/record_fixtures.rs",
            chrono::Utc::now().format("%Y-%m-%d")
        ),
    };
    fx.save(path).unwrap_or_else(|e| fail(e));
    println!(
        "recorded {} ({} exchange(s))",
        path.display(),
        fx.exchanges.len()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let key = std::env::var("GROQ_API_KEY").unwrap_or_else(|_| fail("set GROQ_API_KEY"));
    let model = std::env::var("GROQ_MODEL").unwrap_or_else(|_| fail("set GROQ_MODEL"));
    let base = std::env::var("GROQ_BASE_URL")
        .unwrap_or_else(|_| "https://api.groq.com/openai/v1".to_string());
    let mut cfg = GroqConfig::new(base, key, model.clone());
    cfg.record_sse = true;
    let client = GroqClient::new(cfg).unwrap_or_else(|e| fail(e));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = ConfigStore::load(&root).unwrap_or_else(|e| fail(format!("{e:?}")));
    let dir = root.join("tests/fixtures/llm");
    let names: Vec<String> = std::env::args().skip(1).collect();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| fail(e))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            names.is_empty()
                || p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| names.iter().any(|n| n == s))
        })
        .collect();
    paths.sort();
    for path in paths {
        record(&path, &config, &client, &model).await;
    }
}
