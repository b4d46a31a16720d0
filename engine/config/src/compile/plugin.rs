//! Plugin scripts: parse with Rhai, report syntax errors with file:line:col, list functions.
//!
//! **Design decision:** the sandbox's parse-time rules (refused symbols such as `eval`,
//! nesting, function-count and literal-size limits) are defined here, in [`apply_parse_rules`],
//! and nowhere else: this crate parses with them, so `vartalaap validate`, startup and hot
//! reload reject a plugin the sandbox would refuse exactly like a syntax error (file:line:col,
//! the last good version stays live), and the script runtime (`vartalaap-script`, which
//! depends on this crate) hardens its engine with the same function.

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
                message: parse_message(err.err_type(), &ParseLimits::DEFAULT),
            }])
        }
    }
}

/// Explains a parse error; a sandbox rule says which rule and what to do instead.
fn parse_message(err: &rhai::ParseErrorType, limits: &ParseLimits) -> String {
    use rhai::{LexError, ParseErrorType as P};
    let sandbox = match err {
        P::BadInput(LexError::ImproperSymbol(sym, _)) | P::Reserved(sym)
            if DISABLED_SYMBOLS.iter().any(|(s, _)| s == sym) =>
        {
            let why = DISABLED_SYMBOLS
                .iter()
                .find(|(s, _)| s == sym)
                .map_or("", |(_, why)| *why);
            format!("`{sym}` is not allowed in plugins: {why}")
        }
        P::ExprTooDeep => format!(
            "expression nested too deeply (the sandbox allows {} levels, {} inside functions): \
             split it into smaller functions or intermediate `let` variables",
            limits.max_expr_depth, limits.max_function_expr_depth
        ),
        P::TooManyFunctions => format!(
            "more than {} functions: the sandbox allows {} per plugin; split the plugin into \
             several files and list each under the business's `plugins`",
            limits.max_functions, limits.max_functions
        ),
        P::BadInput(LexError::StringTooLong(max)) => string_too_long(*max),
        P::LiteralTooLarge(kind, max) if kind.contains("string") => string_too_long(*max),
        P::LiteralTooLarge(kind, max) => {
            let what = if kind.contains("map") {
                "object map"
            } else {
                "array"
            };
            format!(
                "{what} literal too long (the sandbox's size limit is {max} entries): keep long \
                 lists in the business YAML and read them from `business`"
            )
        }
        _ => return format!("Rhai syntax error: {err}"),
    };
    format!("Rhai sandbox: {sandbox}")
}

fn string_too_long(max: usize) -> String {
    format!(
        "string literal of {max} bytes or more (the sandbox's string size limit): shorten it; \
         long texts belong in the business's prompts"
    )
}

/// Parse-time limits of the plugin sandbox (see [`apply_parse_rules`]).
///
/// The depth limits match Rhai's release-build defaults: its debug-build defaults (32/16)
/// reject ordinary nested loops, and a script's validity must not depend on how Vartalaap was
/// compiled. The size limits also hold at run time (strings, arrays and maps a script builds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Expression nesting at the top level of a script.
    pub max_expr_depth: usize,
    /// Expression nesting inside function bodies.
    pub max_function_expr_depth: usize,
    /// Functions one plugin may define.
    pub max_functions: usize,
    /// Bytes in a string (literal at parse time, any string at run time).
    pub max_string_size: usize,
    /// Elements of an array (literal at parse time, any array at run time).
    pub max_array_size: usize,
    /// Properties of an object map (literal at parse time, any map at run time).
    pub max_map_size: usize,
}

impl ParseLimits {
    /// The limits `validate`, load and the production sandbox use.
    pub const DEFAULT: ParseLimits = ParseLimits {
        max_expr_depth: 64,
        max_function_expr_depth: 32,
        max_functions: 256,
        max_string_size: 16 * 1024,
        max_array_size: 2_000,
        max_map_size: 2_000,
    };
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Keywords scripts may not use, refused when the script is parsed, with the reason given to
/// the author: `eval` would compile and run strings, `import` would load modules or files.
pub const DISABLED_SYMBOLS: &[(&str, &str)] = &[
    (
        "eval",
        "the sandbox does not compile and run strings; call the function you need directly",
    ),
    (
        "import",
        "the sandbox has no module or file access; define the function in this plugin (every \
         plugin is its own library) or pass the data in from the business YAML",
    ),
];

/// Applies every parse-time rule of the plugin sandbox to `engine`: the only place that lists
/// them. The config loader parses with these rules and the script runtime hardens its engine
/// with them, so a plugin that loads is a plugin the sandbox compiles.
pub fn apply_parse_rules(engine: &mut rhai::Engine, limits: &ParseLimits) {
    engine
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_functions(limits.max_functions)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size);
    for (symbol, _) in DISABLED_SYMBOLS {
        engine.disable_symbol(*symbol);
    }
}

fn parser() -> &'static rhai::Engine {
    static ENGINE: std::sync::OnceLock<rhai::Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut engine = rhai::Engine::new_raw();
        apply_parse_rules(&mut engine, &ParseLimits::DEFAULT);
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
    fn sandbox_rules_are_reported_like_syntax_errors() {
        let err = |src: &str| {
            compile_plugin("x", "plugins/x.rhai", src)
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let eval = err("fn a(r) {\n  eval(\"r + 1\")\n}\n");
        assert!(
            eval.starts_with("plugins/x.rhai:2:3: Rhai sandbox: `eval` is not allowed in plugins:"),
            "{eval}"
        );
        assert!(
            eval.contains("call the function you need directly"),
            "{eval}"
        );
        let import = err("import \"helpers\" as h;\nfn a() { 1 }\n");
        assert!(
            import.starts_with("plugins/x.rhai:1:1: Rhai sandbox: `import` is not allowed"),
            "{import}"
        );
        let many: String = (0..=ParseLimits::DEFAULT.max_functions)
            .map(|i| format!("fn f{i}() {{ {i} }}\n"))
            .collect();
        let many = err(&many);
        assert!(
            many.contains(": Rhai sandbox: more than 256 functions"),
            "{many}"
        );
        let long = err(&format!("fn a() {{ \"{}\" }}\n", "x".repeat(20_000)));
        assert!(
            long.contains("Rhai sandbox: string literal of 16384 bytes or more"),
            "{long}"
        );
        let deep = err(&format!(
            "fn a() {{ {}1{} }}\n",
            "(".repeat(40),
            ")".repeat(40)
        ));
        assert!(
            deep.contains("Rhai sandbox: expression nested too deeply"),
            "{deep}"
        );
        let items = vec!["1"; 2_001].join(", ");
        let array = err(&format!("fn a() {{ [{items}] }}\n"));
        assert!(
            array
                .contains("Rhai sandbox: array literal too long (the sandbox's size limit is 2000"),
            "{array}"
        );
        // The word itself is fine in strings, comments and property names.
        assert!(
            compile_plugin(
                "x",
                "plugins/x.rhai",
                "// eval\nfn a(r) { r.evaluation + \"eval\" }\n"
            )
            .is_ok()
        );
    }

    #[test]
    fn expressions() {
        assert!(compile_expr("slots.party_size > 10").is_ok());
        assert!(compile_expr("slots.party_size >").is_err());
    }
}
