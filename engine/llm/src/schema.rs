//! The understanding tool: its JSON schema, built per turn from the flow's slots and the
//! business's intents, and the reading of the model's arguments back into an
//! [`Interpretation`].
//!
//! **Design decision:** one flat tool (`understand_turn`) instead of one tool per intent. The
//! engine, not the model, decides what happens next; the model only reports what the caller
//! said, so a single small schema is enough, and small schemas are what Llama on Groq calls
//! reliably (protocol notes §3.6). The schema carries no `minimum`/`maximum`: a caller who
//! says "25 log" must be heard as 25 so the engine can explain the limit, not clamped to 20.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use vartalaap_config::BusinessSnapshot;
use vartalaap_config::model::flow::{Slot, SlotType};
use vartalaap_core::Interpretation;
use vartalaap_providers::groq::ToolSpec;

use crate::context::TurnContext;
use crate::failure::Failure;

/// The function the model calls.
pub const TOOL_NAME: &str = "understand_turn";

/// Intent meaning "none of the listed intents".
pub const NO_INTENT: &str = "none";

/// The engine's built-in repair intents, with what the model is told they mean.
pub const REPAIR_INTENTS: [(&str, &str); 5] = [
    (
        "cancel",
        "the caller drops what they were doing (\"rehne do\", \"never mind\")",
    ),
    (
        "repeat",
        "the caller asks the bot to say it again (\"phir se boliye\", \"sorry?\")",
    ),
    (
        "human",
        "the caller wants a person or the manager on the phone",
    ),
    (
        "correction",
        "the caller corrects something they said earlier (also set is_correction)",
    ),
    (
        "goodbye",
        "the caller is done (\"bas, thank you\", \"that's all\")",
    ),
];

/// Argument names the tool uses itself; a flow slot with one of these names is not offered.
const RESERVED: [&str; 2] = ["intent", "is_correction"];

/// An intent the model may report, with a description for the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentInfo {
    /// The name the engine knows (a flow trigger or a repair intent).
    pub name: String,
    /// What it means, with example phrases from the flow file.
    pub description: String,
}

/// Every intent of the business: each flow trigger (described by its flow and two example
/// phrases), then the repair intents the engine adds to every flow.
pub fn intents(snap: &BusinessSnapshot) -> Vec<IntentInfo> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for id in &snap.business.flows {
        let Some(flow) = snap.flows.get(id) else {
            continue;
        };
        for t in &flow.triggers {
            if !seen.insert(t.intent.clone()) {
                continue;
            }
            let about = flow
                .description
                .as_deref()
                .map(|d| {
                    d.split(". ")
                        .next()
                        .unwrap_or(d)
                        .trim()
                        .trim_end_matches('.')
                })
                .unwrap_or(flow.id.as_str())
                .to_string();
            let examples: Vec<String> = t
                .examples
                .values()
                .flat_map(|v| v.iter().take(1))
                .take(3)
                .map(|e| format!("\"{e}\""))
                .collect();
            out.push(IntentInfo {
                name: t.intent.clone(),
                description: if examples.is_empty() {
                    about
                } else {
                    format!("{about}; e.g. {}", examples.join(", "))
                },
            });
        }
    }
    for (name, about) in REPAIR_INTENTS {
        if seen.insert(name.to_string()) {
            out.push(IntentInfo {
                name: name.to_string(),
                description: about.to_string(),
            });
        }
    }
    out
}

fn slot_schema(slot: &Slot, snap: &BusinessSnapshot) -> Value {
    let note = slot.description.as_deref().unwrap_or("");
    let described = |what: &str| {
        if note.is_empty() {
            what.to_string()
        } else {
            format!("{note} {what}")
        }
    };
    match slot.kind {
        SlotType::Integer => {
            json!({"type": "integer", "description": described("A whole number.")})
        }
        SlotType::Date => json!({
            "type": "string",
            "description": described("Date as YYYY-MM-DD, resolved against today's date."),
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        }),
        SlotType::Time => json!({
            "type": "string",
            "description": described("Time as HH:MM on a 24-hour clock."),
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        }),
        SlotType::String => json!({"type": "string", "description": described("Text as said.")}),
        SlotType::Bool => json!({
            "type": "boolean",
            "description": described("true for yes, false for no."),
        }),
        SlotType::MenuItem => {
            let ids: Vec<&str> = snap.business.menu.items().map(|i| i.id.as_str()).collect();
            json!({"type": "string", "description": described("A menu item id."), "enum": ids})
        }
    }
}

/// The slots offered this turn (the flow's, minus reserved names).
pub(crate) fn offered_slots(ctx: &TurnContext) -> Vec<Slot> {
    ctx.slots_wanted()
        .into_iter()
        .filter(|s| !RESERVED.contains(&s.name.as_str()))
        .collect()
}

/// The understanding tool for this turn: `intent` (enum of the business's intents plus
/// `none`), one property per slot the engine listens for, typed in the engine's canonical
/// forms, and `is_correction`.
pub fn interpret_tool(ctx: &TurnContext) -> ToolSpec {
    let mut names: Vec<String> = intents(&ctx.snapshot).into_iter().map(|i| i.name).collect();
    names.push(NO_INTENT.to_string());
    let mut properties = Map::new();
    properties.insert(
        "intent".into(),
        json!({
            "type": "string",
            "enum": names,
            "description": "What the caller wants, from the listed intents; \"none\" when nothing fits or they only answered the question.",
        }),
    );
    for slot in offered_slots(ctx) {
        properties.insert(slot.name.clone(), slot_schema(&slot, &ctx.snapshot));
    }
    properties.insert(
        "is_correction".into(),
        json!({
            "type": "boolean",
            "description": "true only when the caller changes a value they gave earlier.",
        }),
    );
    ToolSpec {
        name: TOOL_NAME.to_string(),
        description: "Report what the caller said in this turn: their intent and any values they gave. Leave out every value they did not say.".to_string(),
        parameters: json!({
            "type": "object",
            "properties": Value::Object(properties),
            "required": ["intent"],
            "additionalProperties": false,
        }),
    }
}

/// A value in the slot's canonical JSON form, or `None` when the model's value does not fit
/// the type (the engine parses and validates it again; this only drops obvious junk).
fn normalize(kind: SlotType, v: &Value) -> Option<Value> {
    match (kind, v) {
        (_, Value::Null) => None,
        (SlotType::Integer, Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Value::from),
        (SlotType::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (SlotType::Bool, Value::Bool(b)) => Some(Value::Bool(*b)),
        (SlotType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(Value::Bool(true)),
            "false" | "no" => Some(Value::Bool(false)),
            _ => None,
        },
        (
            SlotType::Date | SlotType::Time | SlotType::String | SlotType::MenuItem,
            Value::String(s),
        ) => {
            let s = s.trim();
            (!s.is_empty()).then(|| Value::from(s))
        }
        _ => None,
    }
}

/// Reads the model's tool arguments. Unknown intents and keys are ignored (the schema said
/// what is allowed; a model that strays gets no say), and the result only ever contains
/// slots the engine listens for this turn.
pub fn interpretation_from(args: &Value, ctx: &TurnContext) -> Result<Interpretation, Failure> {
    let obj = args.as_object().ok_or(Failure::BadArguments)?;
    let allowed: BTreeSet<String> = intents(&ctx.snapshot).into_iter().map(|i| i.name).collect();
    let mut interp = Interpretation::default();
    match obj.get("intent").and_then(Value::as_str).map(str::trim) {
        Some(NO_INTENT) | None => {}
        Some(name) if allowed.contains(name) => interp.intent = Some(name.to_string()),
        Some(_) => tracing::debug!("The model named an intent the business does not have."),
    }
    interp.is_correction = match obj.get("is_correction") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    } || interp.intent.as_deref() == Some("correction");
    for slot in offered_slots(ctx) {
        if let Some(v) = obj.get(&slot.name).and_then(|v| normalize(slot.kind, v)) {
            interp.slots.insert(slot.name.clone(), v);
        }
    }
    Ok(interp)
}

/// Whether an interpretation says anything at all.
pub(crate) fn is_empty(i: &Interpretation) -> bool {
    i.intent.is_none() && i.slots.is_empty() && !i.is_correction
}
