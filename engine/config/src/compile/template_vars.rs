//! What a template may name: every variable path a prompt reads is checked, for every
//! template in every language, against the context the engine passes
//! ([`crate::model::prompts::CONTEXT`]) and against this business's own document.
//!
//! Templates render with strict undefined behaviour, so a misspelt name (`business.nme.en`)
//! would fail on a live call and the bot would say nothing for that prompt. Finding it here
//! turns the silence into a load-time error at the line of the name, with a "did you mean".

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::Ctx;
use crate::model::Lang;
use crate::model::flow::{Flow, StepKind};
use crate::model::prompts::{CONTEXT, ENGINE_VARS, Prompts};
use crate::suggest::closest;

/// Names the used flows give templates: slots and `call` results.
struct FlowNames {
    slots: BTreeSet<String>,
    vars: BTreeSet<String>,
}

impl FlowNames {
    fn of(flows: &BTreeMap<String, Arc<Flow>>) -> Self {
        let mut slots = BTreeSet::new();
        let mut vars: BTreeSet<String> = ENGINE_VARS.iter().map(|v| (*v).to_string()).collect();
        for flow in flows.values() {
            slots.extend(flow.slots.keys().cloned());
            for step in &flow.steps {
                if let StepKind::Call(c) = &step.kind
                    && let Some(into) = &c.into
                {
                    vars.insert(into.clone());
                }
            }
        }
        FlowNames { slots, vars }
    }
}

/// Checks every variable path of every template of `prompts` (see the module docs).
pub(super) fn check_template_variables(
    cx: &mut Ctx<'_>,
    prompts: &Prompts,
    document: &Value,
    flows: &BTreeMap<String, Arc<Flow>>,
) {
    let names = FlowNames::of(flows);
    for lang in Lang::ALL {
        let templates: Vec<String> = prompts.names(lang).map(str::to_string).collect();
        for name in templates {
            let Some(source) = prompts.source(lang, &name) else {
                continue;
            };
            for path in prompts.variables(lang, &name) {
                if let Some((bad_prefix, message)) = problem(&path, document, &names) {
                    let at = source.find(&bad_prefix).unwrap_or(0);
                    cx.err_in_template(
                        format!("/prompts/{lang}/{name}"),
                        source,
                        at,
                        format!("template `{name}`: {message}"),
                    );
                }
            }
        }
    }
}

/// What is wrong with `path` (`business.nme.en`), as (the shortest prefix that does not
/// exist, a sentence), or `None` when the engine will provide it.
fn problem(path: &str, document: &Value, names: &FlowNames) -> Option<(String, String)> {
    let parts: Vec<&str> = path.split('.').collect();
    let head = parts[0];
    let Some((_, fields)) = CONTEXT.iter().find(|(n, _)| *n == head) else {
        let known: Vec<&str> = CONTEXT.iter().map(|(n, _)| *n).collect();
        return Some((
            head.to_string(),
            format!(
                "unknown variable `{head}` (templates can use {}){}",
                list(&known),
                hint(head, known.iter().copied())
            ),
        ));
    };
    let field = parts.get(1).copied()?;
    let prefix = format!("{head}.{field}");
    match (head, fields) {
        ("business", _) => business_path(&parts, document),
        ("slots", _) if !names.slots.contains(field) => Some((
            prefix,
            format!(
                "`{head}.{field}` is not a slot of any flow this business uses{}",
                hint(field, names.slots.iter().map(String::as_str))
            ),
        )),
        ("vars", _) if !names.vars.contains(field) => Some((
            prefix,
            format!(
                "`{head}.{field}` is not set by any `call` step (`into`) of the flows this \
                 business uses{}",
                hint(field, names.vars.iter().map(String::as_str))
            ),
        )),
        (_, Some([])) => Some((
            prefix,
            format!("`{head}` is a plain value; it has no field `{field}`"),
        )),
        (_, Some(fields)) if !fields.contains(&field) => Some((
            prefix,
            format!(
                "`{head}` has no field `{field}` (it has {}){}",
                list(fields),
                hint(field, fields.iter().copied())
            ),
        )),
        _ => None,
    }
}

/// `business.…` against the business document: every key named must be in the file (an
/// optional key that this file leaves out would fail at run time just like a typo).
fn business_path(parts: &[&str], document: &Value) -> Option<(String, String)> {
    let mut node = document;
    for (i, key) in parts.iter().enumerate().skip(1) {
        let prefix = parts[..=i].join(".");
        let parent = parts[..i].join(".");
        match node {
            Value::Object(map) => match map.get(*key) {
                Some(child) => node = child,
                None => {
                    let suggestion = closest(key, map.keys().map(String::as_str));
                    let message = match suggestion {
                        Some(s) => {
                            format!("`{prefix}` does not exist; did you mean `{parent}.{s}`?")
                        }
                        None => format!(
                            "`{prefix}` is not set in this business file; `{parent}` has {}",
                            list(&map.keys().map(String::as_str).collect::<Vec<_>>())
                        ),
                    };
                    return Some((prefix, message));
                }
            },
            Value::Array(_) => return None, // indexed further by the template
            _ => {
                return Some((
                    prefix,
                    format!("`{parent}` is a plain value; it has no field `{key}`"),
                ));
            }
        }
    }
    None
}

fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> FlowNames {
        FlowNames {
            slots: ["date", "party_size"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            vars: ["closure", "policy"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    fn check(path: &str) -> Option<String> {
        let doc =
            json!({"name": {"en": "Cafe", "hi": "कैफ़े"}, "hours": {"monday": []}, "phone": "+91"});
        problem(path, &doc, &names()).map(|(prefix, m)| format!("{prefix}: {m}"))
    }

    #[test]
    fn known_names_pass() {
        for ok in [
            "business.name.en",
            "business.hours.monday",
            "slots.date",
            "vars.policy.message",
            "spoken.time",
            "result.found.time",
            "policy.alternatives",
            "lang",
        ] {
            assert_eq!(check(ok), None, "{ok}");
        }
    }

    #[test]
    fn unknown_names_say_what_was_meant() {
        assert_eq!(
            check("business.nme.en").unwrap(),
            "business.nme: `business.nme` does not exist; did you mean `business.name`?"
        );
        assert_eq!(
            check("slots.dat").unwrap(),
            "slots.dat: `slots.dat` is not a slot of any flow this business uses; did you mean `date`?"
        );
        assert!(
            check("spoken.tme")
                .unwrap()
                .starts_with("spoken.tme: `spoken` has no field `tme` (it has")
                && check("spoken.tme")
                    .unwrap()
                    .ends_with("did you mean `time`?"),
            "{:?}",
            check("spoken.tme")
        );
        assert!(
            check("bussiness")
                .unwrap()
                .contains("did you mean `business`?")
        );
        assert!(
            check("business.phone.code")
                .unwrap()
                .contains("plain value")
        );
        assert!(check("today.year").unwrap().contains("plain value"));
    }
}
