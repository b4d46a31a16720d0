//! Named hooks: what `before_booking` and `on_slot` may return and what it means.
//!
//! Hooks are optional. A business lists its plugins; each plugin that defines a hook gets a say,
//! in the order the business lists them. A plugin without the hook has no opinion (allow /
//! accept). The accepted return shapes are documented for authors in `docs/PLUGINS.md`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Location, ScriptError};
use crate::scope::describe;

/// Text a hook wants spoken: one string, or one per language code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The same text whatever the language (the plugin already chose it).
    Plain(String),
    /// Text per language code (`hi`, `en`, `hinglish`).
    PerLang(BTreeMap<String, String>),
}

impl Message {
    /// The text for `lang`: the exact language, else English, else any. `None` when the
    /// plugin gave no usable text (the engine then uses its own template).
    pub fn text(&self, lang: &str) -> Option<&str> {
        match self {
            Message::Plain(text) => Some(text.as_str()),
            Message::PerLang(map) => map
                .get(lang)
                .or_else(|| map.get("en"))
                .or_else(|| map.values().next())
                .map(String::as_str),
        }
    }

    /// Reads `"text"`, `#{ hi: "...", en: "..." }`, or nothing (`()`, `""`, `true`).
    fn parse(value: &Value) -> Result<Option<Message>, String> {
        match value {
            Value::Null | Value::Bool(true) => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(Message::Plain(s.clone()))),
            Value::Object(map) => {
                let mut out = BTreeMap::new();
                for (lang, text) in map {
                    match text {
                        Value::String(s) if !s.trim().is_empty() => {
                            out.insert(lang.clone(), s.clone());
                        }
                        Value::String(_) | Value::Null => {}
                        other => {
                            return Err(format!(
                                "message for `{lang}` is {}, not a string",
                                describe(other)
                            ));
                        }
                    }
                }
                Ok((!out.is_empty()).then_some(Message::PerLang(out)))
            }
            other => Err(format!(
                "message is {}, not a string or a map of strings",
                describe(other)
            )),
        }
    }
}

/// The outcome of `before_booking`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookDecision {
    /// Whether the booking may go ahead.
    pub allow: bool,
    /// What to tell the caller when it may not.
    pub message: Option<Message>,
    /// The plugin that denied it (for logs and conversation state); `None` when allowed.
    pub plugin: Option<String>,
}

impl HookDecision {
    /// No plugin objected.
    pub fn allowed() -> Self {
        HookDecision {
            allow: true,
            message: None,
            plugin: None,
        }
    }

    /// Reads a `before_booking` return value: `()`/`true` allow, `false` deny,
    /// `#{ allow: bool, message: … }`.
    pub(crate) fn parse(value: &Value, at: &Location, what: &str) -> Result<Self, ScriptError> {
        let bad = |found: String| ScriptError::BadReturn {
            at: at.clone(),
            what: what.to_string(),
            expected: "true, false or #{ allow: bool, message: string }".into(),
            found,
        };
        match value {
            Value::Null | Value::Bool(true) => Ok(HookDecision::allowed()),
            Value::Bool(false) => Ok(HookDecision {
                allow: false,
                message: None,
                plugin: None,
            }),
            Value::Object(map) => {
                let allow = match map.get("allow") {
                    Some(Value::Bool(b)) => *b,
                    Some(other) => return Err(bad(format!("`allow` = {}", describe(other)))),
                    None => return Err(bad(format!("a map without `allow`: {}", describe(value)))),
                };
                let message =
                    Message::parse(map.get("message").unwrap_or(&Value::Null)).map_err(bad)?;
                Ok(HookDecision {
                    allow,
                    message: if allow { None } else { message },
                    plugin: None,
                })
            }
            other => Err(bad(describe(other))),
        }
    }
}

/// The outcome of `on_slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotDecision {
    /// Keep the value.
    Accept,
    /// Use this value instead (same JSON form as the slot's type).
    Change(Value),
    /// Refuse the value; the engine asks again, saying the message if there is one.
    Reject(Option<Message>),
}

impl SlotDecision {
    /// Reads an `on_slot` return value: `()`/`true` accept, `false` reject,
    /// `#{ change: v }`, `#{ reject: message }`, `#{ accept: true }`.
    pub(crate) fn parse(value: &Value, at: &Location, what: &str) -> Result<Self, ScriptError> {
        let bad = |found: String| ScriptError::BadReturn {
            at: at.clone(),
            what: what.to_string(),
            expected: "true, false, #{ change: value } or #{ reject: message }".into(),
            found,
        };
        match value {
            Value::Null | Value::Bool(true) => Ok(SlotDecision::Accept),
            Value::Bool(false) => Ok(SlotDecision::Reject(None)),
            Value::Object(map) => {
                if let Some(reason) = map.get("reject") {
                    if reason == &Value::Bool(false) {
                        return Ok(SlotDecision::Accept);
                    }
                    return Ok(SlotDecision::Reject(Message::parse(reason).map_err(bad)?));
                }
                if let Some(new) = map.get("change") {
                    return Ok(SlotDecision::Change(new.clone()));
                }
                match map.get("accept") {
                    Some(Value::Bool(true)) => Ok(SlotDecision::Accept),
                    Some(Value::Bool(false)) => Ok(SlotDecision::Reject(
                        Message::parse(map.get("message").unwrap_or(&Value::Null)).map_err(bad)?,
                    )),
                    _ => Err(bad(describe(value))),
                }
            }
            other => Err(bad(describe(other))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at() -> Location {
        Location {
            file: "plugins/p.rhai".into(),
            line: None,
            col: None,
        }
    }

    #[test]
    fn booking_decisions() {
        let p = |v: Value| HookDecision::parse(&v, &at(), "before_booking");
        assert!(p(json!(null)).unwrap().allow);
        assert!(p(json!(true)).unwrap().allow);
        assert!(!p(json!(false)).unwrap().allow);
        let d = p(json!({"allow": false, "message": {"hi": "नहीं", "en": "No"}})).unwrap();
        assert!(!d.allow);
        let m = d.message.unwrap();
        assert_eq!(m.text("hi"), Some("नहीं"));
        assert_eq!(m.text("hinglish"), Some("No"), "falls back to English");
        let d = p(json!({"allow": true, "message": ""})).unwrap();
        assert_eq!(d, HookDecision::allowed());
        let err = p(json!({"message": "x"})).unwrap_err();
        assert!(err.to_string().contains("without `allow`"), "{err}");
        assert!(p(json!(3)).is_err());
        assert!(p(json!({"allow": "yes"})).is_err());
    }

    #[test]
    fn slot_decisions() {
        let p = |v: Value| SlotDecision::parse(&v, &at(), "on_slot");
        assert_eq!(p(json!(null)).unwrap(), SlotDecision::Accept);
        assert_eq!(p(json!(true)).unwrap(), SlotDecision::Accept);
        assert_eq!(p(json!(false)).unwrap(), SlotDecision::Reject(None));
        assert_eq!(
            p(json!({"change": "20:30"})).unwrap(),
            SlotDecision::Change(json!("20:30"))
        );
        assert_eq!(
            p(json!({"reject": "closed"})).unwrap(),
            SlotDecision::Reject(Some(Message::Plain("closed".into())))
        );
        assert_eq!(
            p(json!({"reject": true})).unwrap(),
            SlotDecision::Reject(None)
        );
        assert_eq!(p(json!({"accept": true})).unwrap(), SlotDecision::Accept);
        let err = p(json!("ok")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("plugins/p.rhai: on_slot returned string"),
            "{err}"
        );
    }
}
