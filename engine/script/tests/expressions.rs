//! Flow expressions over slots, vars, business, lang and now; conditions; AST caching.

mod common;

use std::sync::Arc;

use common::{Ctx, SITE, business, expr, host, plugin};
use serde_json::json;
use vartalaap_script::{
    RhaiHost, ScriptError, ScriptHost, ScriptLimits, ScriptRuntime, SlotDecision,
};

#[test]
fn expressions_read_the_whole_scope() {
    let host = host(&[]);
    let mut c = Ctx::new(business())
        .slot("party_size", json!(12))
        .slot("date", json!("2027-01-01"));
    c.vars.insert(
        "closure".into(),
        json!({"closed": true, "note": "New Year"}),
    );
    c.value = Some(json!(7));
    c.lang = "hi".into();
    c.utterance = "kal 12 log".into();
    let s = c.scope();
    let eval = |src: &str| host.eval(&expr(src), &SITE, &s).unwrap();
    assert_eq!(
        eval("slots.party_size > business.reservations.max_phone_party"),
        json!(true)
    );
    assert_eq!(
        eval("vars.closure.closed && vars.closure.note == \"New Year\""),
        json!(true)
    );
    assert_eq!(
        eval("value >= business.reservations.party_min && value <= 20"),
        json!(true)
    );
    assert_eq!(eval("lang"), json!("hi"));
    assert_eq!(eval("now.sub_string(11, 5)"), json!("19:30"));
    assert_eq!(eval("now > \"2026-12-20T19:00\""), json!(true));
    assert_eq!(eval("utterance.contains(\"log\")"), json!(true));
    assert_eq!(
        eval("business.exceptions[0].date == slots.date"),
        json!(true)
    );
    assert_eq!(eval("slots.missing"), json!(null));
    assert_eq!(
        eval("#{ n: slots.party_size + 1, ok: true }"),
        json!({"n": 13, "ok": true})
    );
    assert_eq!(eval("1.5 * 2"), json!(3.0));
}

#[test]
fn conditions_must_be_booleans() {
    let host = host(&[]);
    let c = Ctx::new(business()).slot("party_size", json!(4));
    let s = c.scope();
    assert!(
        !host
            .eval_bool(&expr("slots.party_size > 10"), &SITE, &s)
            .unwrap()
    );
    let err = host
        .eval_bool(&expr("slots.party_size"), &SITE, &s)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "flows/test.yaml:7:11: condition `slots.party_size` at step `check` returned number 4, expected true or false"
    );
    let err = host
        .eval_bool(&expr("slots.confirmed"), &SITE, &s)
        .unwrap_err();
    assert!(matches!(err, ScriptError::BadReturn { .. }), "{err}");
    // A type error names the expression, the flow file and line, and the column in it.
    let err = host
        .eval_bool(&expr("!slots.confirmed"), &SITE, &s)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("flows/test.yaml:7:11: script error: "),
        "{text}"
    );
    assert!(
        text.contains("`!slots.confirmed` at step `check`"),
        "{text}"
    );
    // Assignments are not expressions.
    let err = host.eval(&expr("slots.x = 1"), &SITE, &s).unwrap_err();
    assert!(matches!(err, ScriptError::Syntax { .. }), "{err}");
}

#[test]
fn asts_are_compiled_once() {
    let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
    let p = plugin("p", "fn f(x) { x + 1 }");
    let make = || RhaiHost::from_parts(runtime.clone(), vec![p.clone()], business());
    let host = make();
    let c = Ctx::new(business()).slot("party_size", json!(4));
    let e = expr("slots.party_size + 1");
    for _ in 0..10 {
        assert_eq!(host.eval(&e, &SITE, &c.scope()).unwrap(), json!(5));
        assert_eq!(
            host.call("p", "f", vec![json!(1)], &c.scope()).unwrap(),
            json!(2)
        );
    }
    // A second host for the same snapshot content (e.g. another conversation) reuses both.
    let again = make();
    assert_eq!(
        again.call("p", "f", vec![json!(2)], &c.scope()).unwrap(),
        json!(3)
    );
    assert_eq!(again.eval(&e, &SITE, &c.scope()).unwrap(), json!(5));
    let stats = runtime.stats();
    assert_eq!((stats.plugins, stats.expressions), (1, 1));

    // Changed source (a hot reload) compiles once more; the old version stays usable.
    let p2 = plugin("p", "fn f(x) { x + 100 }");
    let reloaded = RhaiHost::from_parts(runtime.clone(), vec![p2], business());
    assert_eq!(
        reloaded.call("p", "f", vec![json!(1)], &c.scope()).unwrap(),
        json!(101)
    );
    assert_eq!(
        host.call("p", "f", vec![json!(1)], &c.scope()).unwrap(),
        json!(2)
    );
    assert_eq!(runtime.stats().plugins, 2);
}

#[test]
fn hooks_in_business_order_with_changes_and_rejections() {
    let host = host(&[
        ("tolerant", "fn other() { 1 }"),
        (
            "rounder",
            "fn on_slot(name, value) {\n  if name == \"time\" && value == \"20:10\" { #{ change: \"20:15\" } } else { () }\n}",
        ),
        (
            "guard",
            "fn on_slot(name, value, business, lang) {\n  if name == \"time\" && value > \"22:00\" { #{ reject: #{ en: \"We close at 10\", hi: \"रात 10 बजे बंद\" } } } else { true }\n}\nfn before_booking(r) { #{ allow: r.party_size <= 6, message: \"max 6\" } }",
        ),
    ]);
    let c = Ctx::new(business());
    let s = c.scope();
    assert_eq!(
        host.on_slot("time", &json!("20:10"), &s).unwrap(),
        SlotDecision::Change(json!("20:15"))
    );
    assert_eq!(
        host.on_slot("time", &json!("19:00"), &s).unwrap(),
        SlotDecision::Accept
    );
    match host.on_slot("time", &json!("22:30"), &s).unwrap() {
        SlotDecision::Reject(Some(m)) => assert_eq!(m.text("hi"), Some("रात 10 बजे बंद")),
        other => panic!("{other:?}"),
    }
    assert!(
        host.before_booking(&json!({"party_size": 6}), &s)
            .unwrap()
            .allow
    );
    let d = host.before_booking(&json!({"party_size": 7}), &s).unwrap();
    assert_eq!((d.allow, d.plugin.as_deref()), (false, Some("guard")));

    // A hook returning garbage is an error naming the plugin, not a silent allow.
    let bad = common::host(&[("bad", "fn before_booking(r) { 42 }")]);
    let err = bad.before_booking(&json!({}), &s).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("plugins/bad.rhai: bad.before_booking returned number 42"),
        "{err}"
    );
}

#[test]
fn plugin_functions_see_only_their_arguments() {
    // Top-level code is not run, and the conversation's variables are not visible.
    let src = "let ignored = 1;\nfn f() { slots }\nfn g(x) { x.date }\nfn h() { ignored }";
    let host = host(&[("p", src)]);
    let c = Ctx::new(business()).slot("date", json!("2027-01-01"));
    let s = c.scope();
    let err = host.call("p", "f", vec![], &s).unwrap_err();
    assert!(
        err.to_string().contains("Variable not found: slots"),
        "{err}"
    );
    let err = host.call("p", "h", vec![], &s).unwrap_err();
    assert!(
        err.to_string().contains("Variable not found: ignored"),
        "{err}"
    );
    let slots = serde_json::Value::Object(c.slots.clone());
    assert_eq!(
        host.call("p", "g", vec![slots], &s).unwrap(),
        json!("2027-01-01")
    );
}

#[test]
fn partial_business_is_enough_for_key_access() {
    let host = host(&[]);
    let c = Ctx::new(business());
    let s = c.scope();
    let got = host
        .eval(
            &expr("business.reservations.max_phone_party + business?.exceptions.len()"),
            &SITE,
            &s,
        )
        .unwrap();
    assert_eq!(got, json!(11));
    // A key not in the document reads as (), as it would on the whole document.
    assert_eq!(
        host.eval(&expr("business.nothing_here"), &SITE, &s)
            .unwrap(),
        json!(null)
    );
    // Whole-document uses still see everything.
    assert_eq!(
        host.eval(&expr("business.keys().len()"), &SITE, &s)
            .unwrap(),
        json!(3)
    );
    // A document that is not the host's own is converted on the fly.
    let other = json!({"reservations": {"max_phone_party": 3}});
    let mut c2 = Ctx::new(business());
    c2.business = std::sync::Arc::new(other);
    let got = host
        .eval(
            &expr("business.reservations.max_phone_party"),
            &SITE,
            &c2.scope(),
        )
        .unwrap();
    assert_eq!(got, json!(3));
}

/// The `on_slot` pattern shown in docs/PLUGINS.md works as documented.
#[test]
fn documented_on_slot_example() {
    let doc = std::fs::read_to_string(common::repo_root().join("docs/PLUGINS.md")).unwrap();
    let start = doc
        .find("// Round requested times")
        .expect("example in docs");
    let end = start + doc[start..].find("```").expect("end of example");
    let host = host(&[("rounding", &doc[start..end])]);
    let c = Ctx::new(business());
    let s = c.scope();
    let check = |v: &str| host.on_slot("time", &json!(v), &s).unwrap();
    assert_eq!(check("20:30"), SlotDecision::Accept);
    assert_eq!(check("20:10"), SlotDecision::Change(json!("20:15")));
    assert_eq!(check("08:53"), SlotDecision::Change(json!("09:00")));
    assert_eq!(check("19:05"), SlotDecision::Change(json!("19:00")));
    match check("23:00") {
        SlotDecision::Reject(Some(m)) => assert!(m.text("en").unwrap().contains("10:30")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        host.on_slot("name", &json!("Asha"), &s).unwrap(),
        SlotDecision::Accept
    );
}

#[test]
fn a_broken_plugin_defining_a_hook_is_an_error_not_an_allow() {
    // Parses for the config crate, but `eval` is refused by the sandbox.
    let policy = host(&[(
        "policy",
        "fn before_booking(r) { eval(\"true\") }\nfn on_slot(n, v) { eval(\"true\") }",
    )]);
    let c = Ctx::new(business());
    let err = policy
        .before_booking(&json!({"party_size": 50}), &c.scope())
        .unwrap_err();
    assert!(matches!(err, ScriptError::Syntax { .. }), "{err}");
    assert!(policy.on_slot("time", &json!("20:00"), &c.scope()).is_err());
    // A broken plugin without hooks does not block the hooks of others.
    let other = host(&[("broken", "fn f() { eval(\"1\") }")]);
    assert!(other.before_booking(&json!({}), &c.scope()).unwrap().allow);
}
