//! Plugin scripts: parse with Rhai, report syntax errors with file:line:col, list functions.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::model::plugin::Plugin;

/// Compiles one plugin file. `file` is the path relative to the config root.
pub fn compile_plugin(id: &str, file: &str, source: &str) -> Result<Plugin, Vec<Diagnostic>> {
    match parser().compile(source) {
        Ok(ast) => {
            let mut functions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for f in ast.iter_functions() {
                functions
                    .entry(f.name.to_string())
                    .or_default()
                    .push(f.params.len());
            }
            Ok(Plugin {
                id: id.to_string(),
                file: file.to_string(),
                source: source.to_string(),
                ast,
                functions,
            })
        }
        Err(err) => {
            let pos = err.position();
            let line = pos.line().and_then(|l| u32::try_from(l).ok());
            let column = pos.position().and_then(|c| u32::try_from(c).ok());
            Err(vec![Diagnostic {
                file: file.to_string(),
                line,
                column: line.and(column),
                pointer: String::new(),
                message: format!("Rhai syntax error: {}", err.err_type()),
            }])
        }
    }
}

/// Nesting limits for parsing. Rhai's debug-build defaults (32/16) reject ordinary nested
/// loops; these match release-build defaults so a script's validity does not depend on how
/// Vartalaap was compiled. Runtime limits (operations, sizes, time) belong to the script host.
pub const MAX_EXPR_DEPTH: usize = 64;
/// Nesting limit inside function bodies (see [`MAX_EXPR_DEPTH`]).
pub const MAX_FUNCTION_EXPR_DEPTH: usize = 32;

fn parser() -> &'static rhai::Engine {
    static ENGINE: std::sync::OnceLock<rhai::Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut engine = rhai::Engine::new_raw();
        engine.set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH);
        engine
    })
}

/// Compiles a Rhai expression used in a flow (`when`, `validate`, `set`, `args`).
///
/// Returns the error message with the column inside the expression on failure.
pub fn compile_expr(source: &str) -> Result<rhai::AST, String> {
    parser()
        .compile_expression(source)
        .map_err(|e| match e.position().position() {
            Some(col) => format!(
                "invalid expression `{source}`: {} (at column {col})",
                e.err_type()
            ),
            None => format!("invalid expression `{source}`: {}", e.err_type()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_functions_and_reports_syntax_errors() {
        let p = compile_plugin(
            "x",
            "plugins/x.rhai",
            "fn a(r) { r }\nfn a(r, s) { s }\nfn b() { 1 }\n",
        )
        .unwrap();
        assert!(p.has_function("a", 1) && p.has_function("a", 2) && p.has_function("b", 0));
        assert!(!p.has_function("b", 1));

        let err = compile_plugin("x", "plugins/x.rhai", "fn a(r) {\n  let x = ;\n}\n").unwrap_err();
        assert_eq!(err[0].line, Some(2), "{err:?}");
        assert!(
            err[0].to_string().starts_with("plugins/x.rhai:2:"),
            "{err:?}"
        );
    }

    #[test]
    fn expressions() {
        assert!(compile_expr("slots.party_size > 10").is_ok());
        assert!(compile_expr("slots.party_size >").is_err());
    }
}
