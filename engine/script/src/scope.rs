//! What a script can see, and the JSON ⇄ Rhai conversions at the boundary.
//!
//! Conversation state is JSON (`serde_json::Value`) everywhere else in Vartalaap; scripts see
//! the same data as Rhai maps, arrays, strings, integers, floats, booleans and `()` for null,
//! converted with Rhai's serde support. Every evaluation gets a fresh Rhai `Scope` built from
//! a [`ScriptScope`], so nothing a script does survives into the next evaluation or another
//! conversation.

use rhai::{Dynamic, Scope};
use serde_json::{Map, Value};
use vartalaap_config::model::flow::Expr;

use crate::error::{ExprAt, Location};
use crate::uses::{BusinessUse, Uses};

/// The read-only view of a conversation that expressions and plugins get.
///
/// Field names are the variable names inside expressions (`slots.party_size`, `lang == "hi"`).
/// Borrowed, because the dialog core owns this state and an evaluation only reads it.
#[derive(Debug, Clone, Copy)]
pub struct ScriptScope<'a> {
    /// Slot values of the current flow in canonical JSON form (`party_size` integer, `date`
    /// `YYYY-MM-DD`, `time` `HH:MM`, `name` string, `whatsapp_consent` bool).
    pub slots: &'a Map<String, Value>,
    /// Results of earlier `call` steps, by their `into` name.
    pub vars: &'a Map<String, Value>,
    /// The candidate value inside a collect step's `validate`; absent elsewhere.
    pub value: Option<&'a Value>,
    /// The business document, keys exactly as in its YAML.
    pub business: &'a Value,
    /// Reply language code: `hi`, `en` or `hinglish`.
    pub lang: &'a str,
    /// Local time at the business, `YYYY-MM-DDTHH:MM`.
    pub now: &'a str,
    /// The caller's last utterance (empty before the first one).
    pub utterance: &'a str,
    /// The intent that started the current flow, or empty.
    pub intent: &'a str,
}

/// Which flow and step an expression belongs to, for error messages (the expression itself
/// carries its line and column): `flows/make_reservation.yaml`, step `route_large_party`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site<'a> {
    /// Flow file relative to the config root.
    pub file: &'a str,
    /// Step id within the flow.
    pub step: &'a str,
}

impl Site<'_> {
    pub(crate) fn expr_at(&self, expr: &Expr) -> ExprAt {
        ExprAt {
            at: Location {
                file: self.file.to_string(),
                line: Some(expr.line),
                col: Some(expr.column),
            },
            note: format!("`{}` at step `{}`", expr.source, self.step),
        }
    }
}

/// The business document converted to Rhai once per host, whole and per top-level key.
#[derive(Debug, Clone)]
pub(crate) struct BusinessDyn {
    whole: Dynamic,
    keys: std::collections::BTreeMap<String, Dynamic>,
}

impl BusinessDyn {
    pub(crate) fn new(document: &Value) -> Result<BusinessDyn, String> {
        let keys = match document {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_dynamic(v)?)))
                .collect::<Result<_, String>>()?,
            _ => Default::default(),
        };
        Ok(BusinessDyn {
            whole: to_dynamic(document)?,
            keys,
        })
    }

    /// Used when the document cannot be converted (scripts then see `()`).
    pub(crate) fn empty() -> BusinessDyn {
        BusinessDyn {
            whole: Dynamic::UNIT,
            keys: Default::default(),
        }
    }

    /// A copy holding what `uses` needs (copies are cheap for a few keys, not for everything).
    pub(crate) fn for_use(&self, uses: &BusinessUse) -> Option<Dynamic> {
        match uses {
            BusinessUse::None => None,
            BusinessUse::Whole => Some(self.whole.clone()),
            BusinessUse::Keys(keys) => {
                let mut map = rhai::Map::new();
                for key in keys {
                    if let Some(v) = self.keys.get(key) {
                        map.insert(key.as_str().into(), v.clone());
                    }
                }
                Some(map.into())
            }
        }
    }

    /// The whole document.
    pub(crate) fn whole(&self) -> Dynamic {
        self.whole.clone()
    }
}

/// Builds the Rhai scope for one expression evaluation, with only the variables it mentions.
pub(crate) fn rhai_scope(
    scope: &ScriptScope<'_>,
    uses: &Uses,
    business: Option<Dynamic>,
) -> Result<Scope<'static>, String> {
    let mut s = Scope::new();
    if uses.slots {
        s.push_constant_dynamic("slots", map_to_dynamic(scope.slots)?);
    }
    if uses.vars {
        s.push_constant_dynamic("vars", map_to_dynamic(scope.vars)?);
    }
    if uses.value
        && let Some(value) = scope.value
    {
        s.push_constant_dynamic("value", to_dynamic(value)?);
    }
    if let Some(business) = business {
        s.push_constant_dynamic("business", business);
    }
    for (used, name, text) in [
        (uses.lang, "lang", scope.lang),
        (uses.now, "now", scope.now),
        (uses.utterance, "utterance", scope.utterance),
        (uses.intent, "intent", scope.intent),
    ] {
        if used {
            s.push_constant(name, text.to_string());
        }
    }
    Ok(s)
}

/// JSON → Rhai.
pub(crate) fn to_dynamic(value: &Value) -> Result<Dynamic, String> {
    rhai::serde::to_dynamic(value).map_err(|e| format!("cannot pass {value} to a script: {e}"))
}

fn map_to_dynamic(map: &Map<String, Value>) -> Result<Dynamic, String> {
    let mut out = rhai::Map::new();
    for (k, v) in map {
        out.insert(k.as_str().into(), to_dynamic(v)?);
    }
    Ok(out.into())
}

/// Rhai → JSON. `()` becomes `null`; functions pointers and other host types are refused.
pub(crate) fn from_dynamic(value: &Dynamic) -> Result<Value, String> {
    rhai::serde::from_dynamic::<Value>(value)
        .map_err(|e| format!("{} cannot become JSON: {e}", value.type_name()))
}

/// Short description of a value for error messages (`string "abc"`, `map {…}`).
pub(crate) fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "() (nothing)".into(),
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "map",
    };
    let mut text = value.to_string();
    if text.chars().count() > 60 {
        text = text.chars().take(57).collect::<String>() + "...";
    }
    format!("{kind} {text}")
}

/// Checks a script's result against the size limits.
///
/// Rhai checks sizes as values grow, but not every path (assigning a new key through an index,
/// `m[k] = v`, is not checked), so results are checked again before they leave the sandbox.
pub(crate) fn oversized(value: &Value, limits: &crate::ScriptLimits) -> Option<String> {
    match value {
        Value::String(s) if s.len() > limits.max_string_size => Some(format!(
            "returned a string of {} bytes, over the {} byte limit",
            s.len(),
            limits.max_string_size
        )),
        Value::Array(a) if a.len() > limits.max_array_size => Some(format!(
            "returned an array of {} items, over the {} item limit",
            a.len(),
            limits.max_array_size
        )),
        Value::Object(m) if m.len() > limits.max_map_size => Some(format!(
            "returned a map of {} keys, over the {} key limit",
            m.len(),
            limits.max_map_size
        )),
        Value::Array(a) => a.iter().find_map(|v| oversized(v, limits)),
        Value::Object(m) => m.values().find_map(|v| oversized(v, limits)),
        _ => None,
    }
}
