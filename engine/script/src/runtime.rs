//! The shared script runtime: one hardened engine and the compiled-AST caches.
//!
//! One [`ScriptRuntime`] serves the whole process (the engine is `Send + Sync`). Plugins are
//! compiled once per distinct source text and flow expressions once per distinct expression
//! text; a hot reload that changes a plugin compiles the new text while conversations still on
//! the old snapshot keep using the old AST.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rhai::{AST, Engine};
use vartalaap_config::model::plugin::Plugin;

use crate::error::ScriptError;
use crate::sandbox::{Clock, ScriptLimits, ThreadCpuClock, sandboxed_engine};
use crate::uses::Uses;

/// Cache sizes past which a cache is emptied and refilled on demand. They only bound memory
/// after very many hot reloads; real configurations stay far below.
const MAX_CACHED_PLUGINS: usize = 512;
const MAX_CACHED_EXPRESSIONS: usize = 16_384;

/// A plugin compiled by the sandboxed engine.
#[derive(Debug)]
pub struct CompiledPlugin {
    pub(crate) id: String,
    pub(crate) file: Arc<str>,
    pub(crate) ast: AST,
    functions: BTreeMap<String, Vec<usize>>,
    /// Line of each `fn name(` definition, for errors Rhai reports without a position.
    def_lines: BTreeMap<String, u32>,
}

impl CompiledPlugin {
    /// Plugin id (`festival_closures`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// File relative to the config root (`plugins/festival_closures.rhai`).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line where function `name` is defined.
    ///
    /// Rhai reports limit errors (operations, time, depth, size) at the call site, which for
    /// a call from the host has no position; the definition line is the best location left.
    pub fn function_line(&self, name: &str) -> Option<u32> {
        self.def_lines.get(name).copied()
    }

    /// Whether the script defines `name` with `arity` parameters.
    pub fn has_function(&self, name: &str, arity: usize) -> bool {
        self.functions
            .get(name)
            .is_some_and(|arities| arities.contains(&arity))
    }
}

/// How often the caches compiled something (tests and metrics: a warm runtime compiles
/// nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompileStats {
    /// Plugin sources compiled.
    pub plugins: u64,
    /// Flow expressions compiled.
    pub expressions: u64,
}

/// The hardened engine, its limits and clock, and the AST caches.
pub struct ScriptRuntime {
    pub(crate) engine: Engine,
    pub(crate) limits: ScriptLimits,
    pub(crate) clock: Arc<dyn Clock>,
    plugins: Mutex<HashMap<(String, String), Arc<CompiledPlugin>>>,
    expressions: RwLock<HashMap<String, Arc<CompiledExpr>>>,
    plugin_compiles: AtomicU64,
    expression_compiles: AtomicU64,
}

impl std::fmt::Debug for ScriptRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptRuntime")
            .field("limits", &self.limits)
            .field("compiles", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ScriptRuntime {
    /// A runtime with these limits and the real monotonic clock.
    pub fn new(limits: ScriptLimits) -> Self {
        Self::with_clock(limits, Arc::new(ThreadCpuClock))
    }

    /// A runtime whose time limit reads `clock` (tests inject one that jumps).
    pub fn with_clock(limits: ScriptLimits, clock: Arc<dyn Clock>) -> Self {
        ScriptRuntime {
            engine: sandboxed_engine(&limits, clock.clone()),
            limits,
            clock,
            plugins: Mutex::new(HashMap::new()),
            expressions: RwLock::new(HashMap::new()),
            plugin_compiles: AtomicU64::new(0),
            expression_compiles: AtomicU64::new(0),
        }
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// Compile counters.
    pub fn stats(&self) -> CompileStats {
        CompileStats {
            plugins: self.plugin_compiles.load(Ordering::Relaxed),
            expressions: self.expression_compiles.load(Ordering::Relaxed),
        }
    }

    /// The plugin compiled by the sandboxed engine, from the cache when this exact source was
    /// compiled before.
    ///
    /// The config crate already parsed the plugin with the sandbox's parse rules
    /// ([`vartalaap_config::apply_parse_rules`]), so with the default limits this cannot fail
    /// where loading succeeded; it compiles again because this engine's limits are the ones
    /// that hold for what actually runs (a runtime given stricter limits refuses here).
    pub fn plugin(&self, plugin: &Plugin) -> Result<Arc<CompiledPlugin>, ScriptError> {
        let key = (plugin.id.clone(), plugin.source.clone());
        let mut cache = self.plugins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = cache.get(&key) {
            return Ok(hit.clone());
        }
        self.plugin_compiles.fetch_add(1, Ordering::Relaxed);
        let mut ast = self
            .engine
            .compile(&plugin.source)
            .map_err(|e| ScriptError::from_parse(&e, &plugin.file, None))?;
        ast.set_source(plugin.file.as_str());
        let mut functions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for f in ast.iter_functions() {
            functions
                .entry(f.name.to_string())
                .or_default()
                .push(f.params.len());
        }
        let compiled = Arc::new(CompiledPlugin {
            id: plugin.id.clone(),
            file: plugin.file.as_str().into(),
            ast,
            def_lines: definition_lines(&plugin.source, functions.keys()),
            functions,
        });
        if cache.len() >= MAX_CACHED_PLUGINS {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// A flow expression compiled by the sandboxed engine, cached by its text. The error is
    /// the parser's message with the column inside the expression.
    pub(crate) fn expression(&self, source: &str) -> Result<Arc<CompiledExpr>, rhai::ParseError> {
        {
            let cache = self
                .expressions
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(hit) = cache.get(source) {
                return Ok(hit.clone());
            }
        }
        self.expression_compiles.fetch_add(1, Ordering::Relaxed);
        let compiled = Arc::new(CompiledExpr {
            ast: self.engine.compile_expression(source)?,
            uses: Uses::of(source),
        });
        let mut cache = self
            .expressions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_EXPRESSIONS {
            cache.clear();
        }
        cache.insert(source.to_string(), compiled.clone());
        Ok(compiled)
    }
}

/// A compiled flow expression and the scope variables it can read.
#[derive(Debug)]
pub(crate) struct CompiledExpr {
    pub(crate) ast: AST,
    pub(crate) uses: Uses,
}

/// Finds the line of `fn name(` (optionally `private fn`) for each function name.
fn definition_lines<'a>(
    source: &str,
    names: impl Iterator<Item = &'a String>,
) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for name in names {
        let found = source.lines().position(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("private ").unwrap_or(line).trim_start();
            line.strip_prefix("fn ")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix(name.as_str()))
                .is_some_and(|rest| rest.trim_start().starts_with('('))
        });
        if let Some(index) = found.and_then(|i| u32::try_from(i + 1).ok()) {
            out.insert(name.clone(), index);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_definition_lines() {
        let src = "// x\nfn a(x) { x }\n\n  private fn b () { 1 }\nfn ab() {}\n";
        let names = [
            "a".to_string(),
            "b".to_string(),
            "ab".to_string(),
            "zz".to_string(),
        ];
        let lines = definition_lines(src, names.iter());
        assert_eq!(lines.get("a"), Some(&2));
        assert_eq!(lines.get("b"), Some(&4));
        assert_eq!(lines.get("ab"), Some(&5));
        assert_eq!(lines.get("zz"), None);
    }
}
