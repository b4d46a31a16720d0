//! Deciding whether a turn needs the model at all.
//!
//! The engine's interpretation merge only *fills gaps*: an LLM value never overrides what the
//! offline extractors found. So the model can only change a turn in which the offline reading
//! gave the engine nothing to act on. [`offline_misses`] finds exactly those turns, without
//! any knowledge of the engine's internals: it runs the turn on two throw-away copies of the
//! conversation — once with the caller's words, once with an empty utterance — and compares
//! what the engine would do. Identical outcomes mean the words carried nothing the engine
//! could use (out of scope, the question not answered, a third miss handing off), and the
//! model is consulted; otherwise the offline reading stands and the caller does not wait for
//! a network round trip.
//!
//! The copies are cheap (the snapshot, indexes and templates are shared `Arc`s) and the
//! engine is pure, so probing has no effect on the real conversation; tool calls in the
//! probe's outputs are compared, never executed.

use chrono::NaiveDateTime;
use serde_json::Value;
use vartalaap_core::{Conversation, Input, Output, ScriptHost};

/// What the engine would do with an input: templates spoken, other outputs, resulting state.
/// Spoken *text* is left out on purpose — the language may differ between the two probes.
fn outcome(conv: &Conversation, now: NaiveDateTime, text: &str, host: &dyn ScriptHost) -> Value {
    let mut probe = conv.clone();
    let outputs = probe.handle(now, Input::text(text), host);
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|o| match o {
            Output::Say { template, .. } => Value::from(template.clone().unwrap_or_default()),
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        })
        .collect();
    let view = probe.view();
    serde_json::json!({
        "outputs": outputs,
        "flow": view.flow,
        "step": view.step,
        "slots": view.slots,
        "ended": view.ended,
    })
}

/// Whether the offline reading of `text` leaves the engine exactly where saying nothing
/// would: then (and only then) an LLM interpretation can change the turn.
pub fn offline_misses(
    conv: &Conversation,
    now: NaiveDateTime,
    text: &str,
    host: &dyn ScriptHost,
) -> bool {
    if conv.ended() || text.trim().is_empty() {
        return false;
    }
    outcome(conv, now, text, host) == outcome(conv, now, "", host)
}
