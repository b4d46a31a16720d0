//! Cross-references from a business to the flows and plugins it uses, and what those flows
//! need from the business (templates per language, listed flows and plugins, unique intents).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::Ctx;
use super::business::{Broken, Library};
use crate::diagnostic::Diagnostic;
use crate::model::Lang;
use crate::model::flow::{Flow, StepKind, Target};
use crate::model::plugin::Plugin;
use crate::model::prompts::Prompts;
use crate::raw::business as raw;
use crate::suggest::did_you_mean;

pub(super) type Refs = (
    BTreeMap<String, Arc<Flow>>,
    BTreeMap<String, Arc<Plugin>>,
    Vec<Diagnostic>,
);

/// Resolves `flows`, `plugins`, `start_flow`, `fallback_flow`, and checks what the used flows
/// need from this business: templates per language, target flows and steps, plugins, intents.
pub(super) fn references(
    cx: &mut Ctx<'_>,
    raw: &raw::Business,
    lib: &Library<'_>,
    prompts: &Prompts,
    broken: &Broken,
    supported: &[Lang],
) -> Refs {
    let mut foreign = Vec::new();
    let mut plugins = BTreeMap::new();
    for (i, id) in raw.plugins.iter().enumerate() {
        match lib.plugins.get(id) {
            Some(Ok(p)) => {
                plugins.insert(id.clone(), p.clone());
            }
            Some(Err(d)) => foreign.extend(d.iter().cloned()),
            None => cx.err(
                format!("/plugins/{i}"),
                format!(
                    "unknown plugin `{id}` (no plugins/{id}.rhai){}",
                    did_you_mean(id, lib.plugins.keys().map(String::as_str))
                ),
            ),
        }
    }
    let mut flows = BTreeMap::new();
    let mut flow_ptr = BTreeMap::new();
    for (i, id) in raw.flows.iter().enumerate() {
        flow_ptr.insert(id.as_str(), format!("/flows/{i}"));
        match lib.flows.get(id) {
            Some(Ok(f)) => {
                flows.insert(id.clone(), f.clone());
            }
            Some(Err(d)) => foreign.extend(d.iter().cloned()),
            None => cx.err(
                format!("/flows/{i}"),
                format!(
                    "unknown flow `{id}` (no flows/{id}.yaml){}",
                    did_you_mean(id, lib.flows.keys().map(String::as_str))
                ),
            ),
        }
    }
    for (key, id) in [
        ("start_flow", &raw.start_flow),
        ("fallback_flow", &raw.fallback_flow),
    ] {
        if !raw.flows.contains(id) {
            cx.err(
                format!("/{key}"),
                format!(
                    "`{key}` is `{id}`, which is not listed in `flows`{}",
                    did_you_mean(id, raw.flows.iter().map(String::as_str))
                ),
            );
        }
    }

    let mut intents: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, flow) in &flows {
        let ptr = flow_ptr.get(id.as_str()).cloned().unwrap_or_default();
        for t in &flow.triggers {
            if let Some(other) = intents.insert(&t.intent, id) {
                cx.err(
                    ptr.clone(),
                    format!(
                        "intent `{}` is triggered by both flow `{other}` and flow `{id}`",
                        t.intent
                    ),
                );
            }
        }
        let mut reported = BTreeSet::new();
        for (step, name) in flow.templates() {
            for lang in supported {
                if !prompts.has(*lang, name)
                    && !broken.contains(&(*lang, name.to_string()))
                    && reported.insert((name, *lang))
                {
                    cx.err(
                        ptr.clone(),
                        format!(
                            "flow `{id}` (step `{}`) uses template `{name}`, which is missing for language `{lang}`; add `prompts.{lang}.{name}`",
                            step.id
                        ),
                    );
                }
            }
        }
        for (step, target) in flow.targets() {
            if let Target::Flow {
                flow: to,
                step: to_step,
            } = target
            {
                match flows.get(to).or_else(|| lib.flows.get(to).and_then(|r| r.as_ref().ok())) {
                    _ if !raw.flows.contains(to) => cx.err(
                        ptr.clone(),
                        format!(
                            "flow `{id}` (step `{}`) jumps to flow `{to}`, which this business does not list in `flows`",
                            step.id
                        ),
                    ),
                    Some(target_flow) => {
                        if let Some(s) = to_step
                            && target_flow.step(s).is_none()
                        {
                            cx.err(
                                ptr.clone(),
                                format!(
                                    "flow `{id}` (step `{}`) jumps to step `{s}` of flow `{to}`, which has no such step{}",
                                    step.id,
                                    did_you_mean(s, target_flow.steps.iter().map(|x| x.id.as_str()))
                                ),
                            );
                        }
                    }
                    None => {}
                }
            }
            let _ = step;
        }
        for step in &flow.steps {
            if let StepKind::Call(c) = &step.kind
                && !raw.plugins.contains(&c.plugin)
            {
                cx.err(
                    ptr.clone(),
                    format!(
                        "flow `{id}` (step `{}`) calls plugin `{}`, which this business does not list in `plugins`",
                        step.id, c.plugin
                    ),
                );
            }
        }
    }
    (flows, plugins, foreign)
}
