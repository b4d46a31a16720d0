//! The shipped plugins and flow expressions run correctly on realistic inputs, loaded from the
//! repository through the config crate exactly as the server loads them.

mod common;

use std::sync::Arc;

use common::{Ctx, SITE, expr};
use serde_json::{Value, json};
use vartalaap_config::model::flow::StepKind;
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_script::{RhaiHost, ScriptHost, ScriptLimits, ScriptRuntime, Site, SlotDecision};

fn snapshot() -> Arc<BusinessSnapshot> {
    let store = ConfigStore::load(common::repo_root()).unwrap_or_else(|errs| {
        panic!(
            "repository configuration does not load:\n{}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    store
        .current("himalayan_kitchen")
        .expect("himalayan_kitchen is live")
}

fn setup() -> (Arc<BusinessSnapshot>, RhaiHost) {
    let snap = snapshot();
    let runtime = Arc::new(ScriptRuntime::new(ScriptLimits::default()));
    let host = RhaiHost::new(runtime, snap.clone());
    assert!(
        host.plugin_errors().is_empty(),
        "{:?}",
        host.plugin_errors()
    );
    (snap, host)
}

fn ctx(snap: &BusinessSnapshot) -> Ctx {
    Ctx::new(Arc::new(snap.document.clone()))
}

#[test]
fn festival_closures_finds_closed_days() {
    let (snap, host) = setup();
    let c = ctx(&snap);
    let exceptions = snap.document["exceptions"].clone();
    let closed = host
        .call(
            "festival_closures",
            "is_closed",
            vec![json!("2027-01-01"), exceptions.clone()],
            &c.scope(),
        )
        .unwrap();
    assert_eq!(closed, json!({"closed": true, "note": "New Year's Day"}));
    // An exception with changed hours is not a closure; an ordinary day is open.
    for date in ["2026-12-31", "2026-12-20"] {
        let open = host
            .call(
                "festival_closures",
                "is_closed",
                vec![json!(date), exceptions.clone()],
                &c.scope(),
            )
            .unwrap();
        assert_eq!(open, json!({"closed": false, "note": ""}), "{date}");
    }
}

#[test]
fn large_party_policy_as_call_step_and_as_hook() {
    let (snap, host) = setup();
    let mut c = ctx(&snap)
        .slot("party_size", json!(12))
        .slot("date", json!("2026-12-24"));
    c.lang = "hi".into();
    let slots = Value::Object(c.slots.clone());

    // As flows/make_reservation.yaml calls it: args [slots, business, lang].
    let out = host
        .call(
            "large_party_policy",
            "before_booking",
            vec![slots.clone(), snap.document.clone(), json!("hi")],
            &c.scope(),
        )
        .unwrap();
    assert_eq!(out["allow"], json!(false));
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .starts_with("12 लोगों की बुकिंग"),
        "{out}"
    );

    // As the named hook: the first denying plugin wins, with its message.
    let d = host.before_booking(&slots, &c.scope()).unwrap();
    assert!(!d.allow);
    assert_eq!(d.plugin.as_deref(), Some("large_party_policy"));
    let msg = d.message.unwrap();
    assert!(msg.text("hi").unwrap().contains("मैनेजर"), "{msg:?}");

    // Within the phone limit: allowed. English message for English callers.
    let small = json!({"party_size": 4, "date": "2026-12-24", "time": "20:00", "name": "Asha"});
    assert!(host.before_booking(&small, &c.scope()).unwrap().allow);
    c.lang = "en".into();
    let d = host
        .before_booking(&json!({"party_size": 11}), &c.scope())
        .unwrap();
    assert!(
        d.message
            .unwrap()
            .text("en")
            .unwrap()
            .starts_with("I can't book 11 guests")
    );
}

#[test]
fn jain_options_suggests_dishes() {
    let (snap, host) = setup();
    let c = ctx(&snap);
    let menu = snap.document["menu"].clone();
    let out = host
        .call(
            "jain_options",
            "suggest",
            vec![
                json!("Jain food milega kya?"),
                menu.clone(),
                json!("hinglish"),
            ],
            &c.scope(),
        )
        .unwrap();
    assert_eq!(out["mentioned"], json!(true));
    let items: Vec<&str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(items.contains(&"Veg steamed momos"), "{items:?}");

    let out = host
        .call(
            "jain_options",
            "suggest",
            vec![json!("क्या जैन खाना मिलेगा"), menu.clone(), json!("hi")],
            &c.scope(),
        )
        .unwrap();
    let items: Vec<&str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(items.contains(&"वेज स्टीम्ड मोमोज़"), "{items:?}");

    let out = host
        .call(
            "jain_options",
            "suggest",
            vec![json!("momos kitne ke hain"), menu, json!("en")],
            &c.scope(),
        )
        .unwrap();
    assert_eq!(out, json!({"mentioned": false, "items": []}));
}

#[test]
fn shipped_plugins_define_no_on_slot_so_values_are_accepted() {
    let (snap, host) = setup();
    let c = ctx(&snap);
    assert_eq!(
        host.on_slot("time", &json!("20:30"), &c.scope()).unwrap(),
        SlotDecision::Accept
    );
}

/// Every `if` condition and `validate` in the business's flows evaluates to a bool on a
/// realistic reservation state (the expressions the core will run, as loaded).
#[test]
fn every_flow_condition_evaluates() {
    let (snap, host) = setup();
    let mut c = ctx(&snap)
        .slot("party_size", json!(4))
        .slot("date", json!("2026-12-24"))
        .slot("time", json!("20:00"))
        .slot("name", json!("Asha"))
        .slot("confirmed", json!(true))
        .slot("whatsapp_consent", json!(false));
    c.vars
        .insert("closure".into(), json!({"closed": false, "note": ""}));
    c.vars
        .insert("policy".into(), json!({"allow": true, "message": ""}));
    c.vars
        .insert("jain".into(), json!({"mentioned": false, "items": []}));
    c.value = Some(json!(4));
    c.intent = "ask_location".into();
    let mut checked = 0;
    for (id, flow) in &snap.flows {
        let file = format!("flows/{id}.yaml");
        for step in &flow.steps {
            let site = Site {
                file: &file,
                step: &step.id,
            };
            let exprs: Vec<_> = match &step.kind {
                StepKind::If { cases } => cases.iter().map(|c| &c.when).collect(),
                StepKind::Collect(col) => col.validate.iter().collect(),
                _ => continue,
            };
            for e in exprs {
                // Slots a flow does not declare are absent in its state.
                let mut scoped = ctx(&snap);
                scoped.vars = c.vars.clone();
                scoped.value = c.value.clone();
                scoped.intent = c.intent.clone();
                for name in flow.slots.keys() {
                    if let Some(v) = c.slots.get(name) {
                        scoped.slots.insert(name.clone(), v.clone());
                    }
                }
                host.eval_bool(e, &site, &scoped.scope())
                    .unwrap_or_else(|err| panic!("{err}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} conditions found");
    // And one with a known answer.
    c.slots.insert("party_size".into(), json!(12));
    let e = expr("slots.party_size > business.reservations.max_phone_party");
    assert!(host.eval_bool(&e, &SITE, &c.scope()).unwrap());
}

/// The flow's own `call` steps, run the way the core runs them (argument expressions
/// evaluated by the host).
#[test]
fn call_steps_from_the_flows() {
    let (snap, host) = setup();
    let flow = snap.flow("make_reservation").expect("flow");
    let find = |id: &str| match &flow.step(id).expect("step").kind {
        StepKind::Call(call) => call.clone(),
        other => panic!("{id} is not a call step: {other:?}"),
    };
    let site = Site {
        file: "flows/make_reservation.yaml",
        step: "festival_check",
    };
    let c = ctx(&snap)
        .slot("date", json!("2027-01-01"))
        .slot("party_size", json!(14));
    let closure = host
        .call_step(&find("festival_check"), &site, &c.scope())
        .unwrap();
    assert_eq!(closure, json!({"closed": true, "note": "New Year's Day"}));
    let policy = host.call_step(&find("policy"), &site, &c.scope()).unwrap();
    assert_eq!(policy["allow"], json!(false));

    let menu_flow = snap.flow("menu_question").expect("flow");
    let call_in_menu = |id: &str| match &menu_flow.step(id).expect("step").kind {
        StepKind::Call(call) => call.clone(),
        other => panic!("{id} is not a call step: {other:?}"),
    };
    let mut c = ctx(&snap);
    c.utterance = "kya aapke yahan Jain khana milta hai".into();
    c.lang = "hinglish".into();
    let mentioned = host
        .call_step(&call_in_menu("jain_check"), &site, &c.scope())
        .unwrap();
    assert_eq!(mentioned, json!(true));
    let out = host
        .call_step(&call_in_menu("jain_suggest"), &site, &c.scope())
        .unwrap();
    assert_eq!(out["mentioned"], json!(true));
    assert!(
        out["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty()),
        "{out}"
    );
    c.utterance = "momos kitne ke hain".into();
    let mentioned = host
        .call_step(&call_in_menu("jain_check"), &site, &c.scope())
        .unwrap();
    assert_eq!(mentioned, json!(false));
}
