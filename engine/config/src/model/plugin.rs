//! A compiled Rhai plugin script.

use std::collections::BTreeMap;

/// A plugin (`plugins/<id>.rhai`) whose source compiled and whose function table is known.
///
/// Compilation here only proves the script parses and lists its functions, so a flow's `call`
/// can be checked at load time. The sandboxed runtime (limits on operations, depth, sizes and
/// CPU time) is applied by the script host when it runs `ast`; it may recompile `source` with
/// its own hardened engine.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// Plugin id, equal to the file name without `.rhai`.
    pub id: String,
    /// File path relative to the config root (for error messages with file:line).
    pub file: String,
    /// The script text.
    pub source: String,
    /// Compiled script.
    pub ast: rhai::AST,
    /// Script functions: name → parameter counts (Rhai allows overloading by arity).
    pub functions: BTreeMap<String, Vec<usize>>,
}

impl Plugin {
    /// Whether the script defines `name` with `arity` parameters.
    pub fn has_function(&self, name: &str, arity: usize) -> bool {
        self.functions
            .get(name)
            .is_some_and(|arities| arities.contains(&arity))
    }
}
