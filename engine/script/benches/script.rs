//! One flow condition and one plugin call on the real Himalayan Kitchen configuration, warm.
//!
//! `cargo bench -p vartalaap-script --bench script`

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use vartalaap_config::ConfigStore;
use vartalaap_config::model::flow::StepKind;
use vartalaap_script::{RhaiHost, ScriptHost, ScriptLimits, ScriptRuntime, ScriptScope, Site};

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let store = ConfigStore::load(root).unwrap_or_else(|errs| {
        panic!(
            "{}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let snap = store
        .current("himalayan_kitchen")
        .expect("business is live");
    let host = RhaiHost::new(
        Arc::new(ScriptRuntime::new(ScriptLimits::default())),
        snap.clone(),
    );

    let flow = snap.flow("make_reservation").expect("flow exists");
    let step = flow.step("route_large_party").expect("step exists");
    let StepKind::If { cases } = &step.kind else {
        panic!("route_large_party is an if step")
    };
    let when = &cases[0].when;
    let site = Site {
        file: "flows/make_reservation.yaml",
        step: &step.id,
    };

    let mut slots = Map::new();
    slots.insert("party_size".into(), json!(4));
    slots.insert("date".into(), json!("2027-01-01"));
    let vars = Map::new();
    let scope = ScriptScope {
        slots: &slots,
        vars: &vars,
        value: None,
        business: &snap.document,
        lang: "hinglish",
        now: "2026-12-20T19:30",
        utterance: "kal 4 log",
        intent: "make_reservation",
    };

    c.bench_function("eval_bool slots.party_size > max_phone_party", |b| {
        b.iter(|| black_box(host.eval_bool(when, &site, &scope).unwrap()))
    });

    let StepKind::Call(festival) = &flow.step("festival_check").expect("step exists").kind else {
        panic!("festival_check is a call step")
    };
    c.bench_function(
        "call_step festival_closures.is_closed(slots.date, business.exceptions)",
        |b| b.iter(|| black_box(host.call_step(festival, &site, &scope).unwrap())),
    );

    let exceptions: Value = snap.document["exceptions"].clone();
    c.bench_function("call festival_closures.is_closed with JSON args", |b| {
        b.iter(|| {
            let args = vec![json!("2027-01-01"), exceptions.clone()];
            black_box(
                host.call("festival_closures", "is_closed", args, &scope)
                    .unwrap(),
            )
        })
    });

    let reservation = Value::Object(slots.clone());
    c.bench_function("before_booking hook (all plugins)", |b| {
        b.iter(|| black_box(host.before_booking(&reservation, &scope).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
