//! Shared helpers for the script host tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use vartalaap_config::model::flow::Expr;
use vartalaap_config::model::plugin::Plugin;
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime, ScriptScope, Site};

/// The repository root (config root with businesses/, flows/, plugins/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A plugin built the way the config crate builds it (plain parse, function table).
pub fn plugin(id: &str, source: &str) -> Arc<Plugin> {
    let ast = rhai::Engine::new_raw()
        .compile(source)
        .unwrap_or_else(|_| rhai::AST::empty());
    let mut functions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for f in ast.iter_functions() {
        functions
            .entry(f.name.to_string())
            .or_default()
            .push(f.params.len());
    }
    Arc::new(Plugin {
        id: id.into(),
        file: format!("plugins/{id}.rhai"),
        source: source.into(),
        ast,
        functions,
    })
}

/// A flow expression as the config crate compiles it.
pub fn expr(source: &str) -> Expr {
    Expr {
        source: source.into(),
        ast: rhai::Engine::new_raw()
            .compile_expression(source)
            .unwrap_or_else(|_| rhai::AST::empty()),
        line: 7,
        column: 11,
    }
}

pub const SITE: Site<'static> = Site {
    file: "flows/test.yaml",
    step: "check",
};

/// Owned conversation state to borrow a [`ScriptScope`] from.
pub struct Ctx {
    pub slots: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub value: Option<Value>,
    pub business: Arc<Value>,
    pub lang: String,
    pub now: String,
    pub utterance: String,
    pub intent: String,
}

impl Ctx {
    pub fn new(business: Arc<Value>) -> Ctx {
        Ctx {
            slots: Map::new(),
            vars: Map::new(),
            value: None,
            business,
            lang: "en".into(),
            now: "2026-12-20T19:30".into(),
            utterance: String::new(),
            intent: String::new(),
        }
    }

    pub fn slot(mut self, name: &str, value: Value) -> Ctx {
        self.slots.insert(name.into(), value);
        self
    }

    pub fn scope(&self) -> ScriptScope<'_> {
        ScriptScope {
            slots: &self.slots,
            vars: &self.vars,
            value: self.value.as_ref(),
            business: &self.business,
            lang: &self.lang,
            now: &self.now,
            utterance: &self.utterance,
            intent: &self.intent,
        }
    }
}

/// A small business document for synthetic tests.
pub fn business() -> Arc<Value> {
    Arc::new(json!({
        "id": "test_cafe",
        "reservations": { "party_min": 1, "party_max": 20, "max_phone_party": 10 },
        "exceptions": [ { "date": "2027-01-01", "closed": true, "note": "New Year" } ]
    }))
}

/// A host over synthetic plugins with default limits.
/// The clock is frozen so that only the deterministic limits can stop a script (debug builds
/// are slow enough to hit a real 50 ms budget).
pub fn host(plugins: &[(&str, &str)]) -> RhaiHost {
    host_with(frozen(ScriptLimits::default()), plugins)
}

/// A runtime whose clock never moves.
pub fn frozen(limits: ScriptLimits) -> ScriptRuntime {
    ScriptRuntime::with_clock(limits, Arc::new(|| std::time::Duration::ZERO))
}

pub fn host_with(runtime: ScriptRuntime, plugins: &[(&str, &str)]) -> RhaiHost {
    RhaiHost::from_parts(
        Arc::new(runtime),
        plugins.iter().map(|(id, src)| plugin(id, src)).collect(),
        business(),
    )
}
