//! The sandbox holds: runaway scripts are stopped, nothing outside is reachable, and errors
//! point at file:line.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Ctx, SITE, business, expr, host, host_with};
use serde_json::{Value, json};
use vartalaap_script::{Limit, ScriptError, ScriptHost, ScriptLimits, ScriptRuntime};

fn call(src: &str, function: &str, args: Vec<Value>) -> Result<Value, ScriptError> {
    let host = host(&[("p", src)]);
    let ctx = Ctx::new(business());
    host.call("p", function, args, &ctx.scope())
}

#[test]
fn runaway_loop_is_stopped_by_the_operation_limit() {
    let err = call("fn spin() {\n    loop {}\n}\n", "spin", vec![]).unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Operations), "{err}");
    assert!(
        err.to_string()
            == "plugins/p.rhai:1: script stopped: exceeded 100000 operations (in fn spin)",
        "{err}"
    );
}

#[test]
fn runaway_expression_is_stopped_too() {
    // Expressions cannot loop, but a long one still counts operations.
    let limits = ScriptLimits {
        max_operations: 10,
        ..ScriptLimits::default()
    };
    let host = host_with(common::frozen(limits), &[]);
    let ctx = Ctx::new(business()).slot("n", json!(1));
    let long = vec!["slots.n"; 40].join(" + ");
    let err = host.eval(&expr(&long), &SITE, &ctx.scope()).unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Operations), "{err}");
    assert!(err.to_string().contains("at step `check`"), "{err}");
}

/// A clock that moves 1 ms forward every time it is read: a script doing ~50 time checks
/// (~3 200 operations) has used its 50 ms, deterministically, without sleeping.
fn jumping_clock() -> (Arc<AtomicU64>, Arc<dyn vartalaap_script::Clock>) {
    let reads = Arc::new(AtomicU64::new(0));
    let r = reads.clone();
    let clock = move || Duration::from_millis(r.fetch_add(1, Ordering::Relaxed));
    (reads, Arc::new(clock))
}

#[test]
fn slow_script_is_stopped_by_the_time_limit() {
    let (reads, clock) = jumping_clock();
    let runtime = ScriptRuntime::with_clock(ScriptLimits::default(), clock);
    // 20 000 iterations stay under the operation limit; only time can stop it.
    let src = "fn slow() {\n  let n = 0;\n  for i in 0..20000 { n += i; }\n  n\n}\n";
    let host = host_with(runtime, &[("p", src)]);
    let ctx = Ctx::new(business());
    let err = host.call("p", "slow", vec![], &ctx.scope()).unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Time), "{err}");
    assert!(
        err.to_string()
            == "plugins/p.rhai:1: script stopped: exceeded 50 ms of CPU time (in fn slow)",
        "{err}"
    );
    let used = reads.load(Ordering::Relaxed);
    assert!((50..60).contains(&used), "stopped after {used} clock reads");
}

#[test]
fn time_limit_does_not_touch_quick_scripts() {
    let (_, clock) = jumping_clock();
    let runtime = ScriptRuntime::with_clock(ScriptLimits::default(), clock);
    let host = host_with(runtime, &[("p", "fn quick(x) { x * 2 }")]);
    let ctx = Ctx::new(business());
    for _ in 0..100 {
        assert_eq!(
            host.call("p", "quick", vec![json!(21)], &ctx.scope())
                .unwrap(),
            json!(42)
        );
    }
}

#[test]
fn deep_recursion_is_stopped() {
    let err = call("fn down(n) { down(n + 1) }", "down", vec![json!(0)]).unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Depth), "{err}");
    assert!(err.to_string().contains("exceeded call depth 24"), "{err}");
}

#[test]
fn huge_string_is_stopped() {
    let src = "fn grow() {\n  let s = \"x\";\n  loop { s += s; }\n}\n";
    let err = call(src, "grow", vec![]).unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Size), "{err}");
    assert!(
        err.to_string()
            .starts_with("plugins/p.rhai:1: script stopped: Length of string exceeds"),
        "{err}"
    );
}

#[test]
fn huge_array_and_map_are_stopped() {
    let err = call(
        "fn grow() { let a = []; loop { a.push(1); } }",
        "grow",
        vec![],
    )
    .unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Size), "{err}");
    // Merging maps is checked by Rhai while the script runs ...
    let err = call(
        "fn grow() { let m = #{}; let i = 0; loop { m += #{}; m[`k${i}`] = i; i += 1; } }",
        "grow",
        vec![],
    )
    .unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Size), "{err}");
    // ... and a result that grew through index assignment (which Rhai does not check) is
    // refused before it leaves the sandbox.
    let err = call(
        "fn grow() {\n  let m = #{};\n  for i in 0..3000 { m[`k${i}`] = i; }\n  m\n}",
        "grow",
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugins/p.rhai:1: script stopped: returned a map of 3000 keys, over the 2000 key limit (in fn grow)"
    );
}

#[test]
fn no_file_or_module_access() {
    let host = host(&[("p", "import \"secrets\" as s;\nfn f() { s::x }\n")]);
    let ctx = Ctx::new(business());
    let err = host.call("p", "f", vec![], &ctx.scope()).unwrap_err();
    // Refused when the plugin compiles (the same parse rule `vartalaap validate` applies).
    assert!(
        matches!(err, ScriptError::Syntax { .. })
            && err.to_string().contains("'import' is a reserved keyword"),
        "{err}"
    );
    // Nothing to read the clock or the file system with.
    for src in [
        "fn f() { timestamp() }",
        "fn f() { open_file(\"/etc/passwd\") }",
    ] {
        let err = call(src, "f", vec![]).unwrap_err();
        assert!(
            err.to_string().contains("Function not found"),
            "{src}: {err}"
        );
    }
}

#[test]
fn eval_is_disabled() {
    let host = host(&[("p", "fn f() { eval(\"40 + 2\") }")]);
    let ctx = Ctx::new(business());
    let err = host.call("p", "f", vec![], &ctx.scope()).unwrap_err();
    assert!(matches!(err, ScriptError::Syntax { .. }), "{err}");
    assert_eq!(host.plugin_errors().len(), 1);

    let err = host
        .eval(&expr("eval(\"1\")"), &SITE, &ctx.scope())
        .unwrap_err();
    assert!(matches!(err, ScriptError::Syntax { .. }), "{err}");

    // Not through a function pointer either.
    let err = call("fn f() { call(Fn(\"eval\"), \"1\") }", "f", vec![]).unwrap_err();
    assert!(
        err.to_string().contains("'eval' is a reserved keyword"),
        "{err}"
    );
}

#[test]
fn runtime_error_reports_file_line_col() {
    let src = "// comment\nfn f(x) {\n    let y = x.missing.deeper;\n    y\n}\n";
    let err = call(src, "f", vec![json!({})]).unwrap_err();
    assert!(matches!(err, ScriptError::Runtime { .. }), "{err}");
    assert!(err.to_string().starts_with("plugins/p.rhai:3:"), "{err}");

    let err = call("fn f() {\n  throw \"no tables\";\n}", "f", vec![]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugins/p.rhai:2:3: script error: Runtime error: no tables"
    );

    // The error is inside a helper the called function used.
    let src = "fn f() { g() }\nfn g() {\n  1 + \"a\" * 2\n}\n";
    let err = call(src, "f", vec![]).unwrap_err();
    assert!(err.to_string().starts_with("plugins/p.rhai:3:"), "{err}");
}

#[test]
fn missing_function_and_unknown_plugin() {
    let err = call("fn f(a) { a }", "f", vec![]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugins/p.rhai: no function `f` with 0 parameter(s) in plugin `p`"
    );
    let host = host(&[]);
    let ctx = Ctx::new(business());
    let err = host.call("nope", "f", vec![], &ctx.scope()).unwrap_err();
    assert!(matches!(err, ScriptError::UnknownPlugin { .. }), "{err}");
}

#[test]
fn no_state_leaks_between_calls() {
    // Arguments and scope are fresh each time: mutating them changes nothing for the next call.
    let src =
        "fn f(m) { m.count = (m.count ?? 0) + 1; m.count }\nfn g(b) { b.id = \"hacked\"; b.id }";
    let host = host(&[("p", src)]);
    let ctx = Ctx::new(business());
    for _ in 0..3 {
        assert_eq!(
            host.call("p", "f", vec![json!({})], &ctx.scope()).unwrap(),
            json!(1)
        );
    }
    let arg = vec![json!(*ctx.business)];
    assert_eq!(
        host.call("p", "g", arg, &ctx.scope()).unwrap(),
        json!("hacked")
    );
    let id = host
        .eval(&expr("business.id"), &SITE, &ctx.scope())
        .unwrap();
    assert_eq!(id, json!("test_cafe"));
}

#[test]
fn failing_compile_is_an_error_not_a_panic() {
    let limits = ScriptLimits {
        max_function_expr_depth: 4,
        ..ScriptLimits::default()
    };
    let host = host_with(
        common::frozen(limits),
        &[("p", "fn f() { ((((((((1)))))))) }")],
    );
    let ctx = Ctx::new(business());
    let err = host.call("p", "f", vec![], &ctx.scope()).unwrap_err();
    assert!(err.to_string().starts_with("plugins/p.rhai:1:"), "{err}");
}

#[test]
fn harden_also_locks_down_a_full_engine() {
    // Engine::new() would resolve `import` from files; harden replaces that resolver.
    let mut engine = rhai::Engine::new();
    vartalaap_script::harden(
        &mut engine,
        &ScriptLimits::default(),
        Arc::new(|| Duration::ZERO),
    );
    let root = common::repo_root();
    let script = format!("import \"{}/plugins/jain_options\" as j; 1", root.display());
    assert!(engine.eval::<i64>(&script).is_err());
    assert!(engine.compile("eval(\"1\")").is_err());
    let err = engine.eval::<()>("loop {}").unwrap_err();
    assert!(
        matches!(*err, rhai::EvalAltResult::ErrorTooManyOperations(..)),
        "{err}"
    );
}
