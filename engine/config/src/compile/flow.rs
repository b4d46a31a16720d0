//! Flow compilation: resolve step ids, check slots, expressions, plugin calls and the graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::plugin::compile_expr;
use super::{Ctx, Document};
use crate::diagnostic::Diagnostic;
use crate::model::Lang;
use crate::model::flow::{
    Action, ActionParams, Call, Case, Collect, Expr, Flow, Slot, SlotType, Step, StepKind, Target,
    Trigger,
};
use crate::model::plugin::Plugin;
use crate::model::prompts::{ENGINE_FILTERS, Prompts};
use crate::raw::flow as raw;
use crate::suggest::did_you_mean;

/// Canonical reservation slots: conversation state uses these names with these types.
pub const CANONICAL_SLOTS: [(&str, SlotType); 5] = [
    ("party_size", SlotType::Integer),
    ("date", SlotType::Date),
    ("time", SlotType::Time),
    ("name", SlotType::String),
    ("whatsapp_consent", SlotType::Bool),
];

/// What a flow may refer to outside itself.
pub struct FlowEnv<'a> {
    /// Ids of all flow files present (targets of `goto: {flow: …}`).
    pub flow_ids: &'a BTreeSet<String>,
    /// Plugins by id: `Ok` when the script compiled, `Err` when it is broken (already reported).
    pub plugins: &'a BTreeMap<String, Result<Arc<Plugin>, Vec<Diagnostic>>>,
}

/// Compiles a schema-valid flow document. `expected_id` is the file stem.
pub fn compile_flow(
    doc: &Document,
    expected_id: &str,
    env: &FlowEnv<'_>,
) -> Result<Flow, Vec<Diagnostic>> {
    let mut cx = Ctx::new(doc);
    let Some(raw) = cx.raw::<raw::Flow>(&doc.value) else {
        return Err(cx.diags);
    };
    if raw.id != expected_id {
        cx.err(
            "/id",
            format!(
                "flow id `{}` must match the file name `{expected_id}.yaml`",
                raw.id
            ),
        );
    }

    let triggers = triggers(&mut cx, &raw);
    let slots = slots(&mut cx, &raw);

    // Step ids first, so targets can refer forwards.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in raw.steps.iter().enumerate() {
        if index.insert(s.id.as_str(), i).is_some() {
            cx.err(
                format!("/steps/{i}/id"),
                format!(
                    "duplicate step id `{}`; step ids must be unique in a flow",
                    s.id
                ),
            );
        }
    }
    let vars: BTreeSet<&str> = raw.steps.iter().filter_map(|s| s.into.as_deref()).collect();

    let mut b = StepBuilder {
        cx: &mut cx,
        env,
        index: &index,
        slots: &slots,
        vars: &vars,
    };
    let mut kinds = Vec::with_capacity(raw.steps.len());
    for (i, s) in raw.steps.iter().enumerate() {
        kinds.push(b.step(i, s));
    }

    let steps = link(&mut cx, &raw.steps, kinds);
    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    Ok(Flow {
        id: raw.id,
        file: doc.file.clone(),
        description: raw.description,
        triggers,
        slots,
        steps,
    })
}

fn triggers(cx: &mut Ctx<'_>, raw: &raw::Flow) -> Vec<Trigger> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, t) in raw.triggers.iter().enumerate() {
        if !seen.insert(t.intent.as_str()) {
            cx.err(
                format!("/triggers/{i}/intent"),
                format!("intent `{}` is listed twice in this flow", t.intent),
            );
        }
        let examples = t
            .examples
            .iter()
            .filter_map(|(k, v)| Lang::from_code(k).map(|l| (l, v.clone())))
            .collect();
        out.push(Trigger {
            intent: t.intent.clone(),
            examples,
        });
    }
    out
}

fn slots(cx: &mut Ctx<'_>, raw: &raw::Flow) -> BTreeMap<String, Slot> {
    let mut out = BTreeMap::new();
    for (name, s) in &raw.slots {
        let ptr = format!("/slots/{name}");
        let kind = match s.kind.as_str() {
            "integer" => SlotType::Integer,
            "string" => SlotType::String,
            "date" => SlotType::Date,
            "time" => SlotType::Time,
            "bool" => SlotType::Bool,
            _ => SlotType::MenuItem,
        };
        if let Some((_, want)) = CANONICAL_SLOTS.iter().find(|(n, _)| n == name)
            && *want != kind
        {
            cx.err(
                format!("{ptr}/type"),
                format!(
                    "slot `{name}` is a canonical reservation slot and must have type `{}`, not `{}`",
                    want.name(),
                    kind.name()
                ),
            );
        }
        if kind != SlotType::Integer && (s.min.is_some() || s.max.is_some()) {
            cx.err(ptr.clone(), "`min`/`max` only apply to integer slots");
        }
        if let (Some(lo), Some(hi)) = (s.min, s.max)
            && lo > hi
        {
            cx.err(
                format!("{ptr}/min"),
                format!("min {lo} is greater than max {hi}"),
            );
        }
        out.insert(
            name.clone(),
            Slot {
                name: name.clone(),
                kind,
                min: s.min,
                max: s.max,
                description: s.description.clone(),
            },
        );
    }
    out
}

struct StepBuilder<'c, 'a, 'e> {
    cx: &'c mut Ctx<'a>,
    env: &'e FlowEnv<'e>,
    index: &'e HashMap<&'e str, usize>,
    slots: &'e BTreeMap<String, Slot>,
    vars: &'e BTreeSet<&'e str>,
}

impl StepBuilder<'_, '_, '_> {
    fn step(&mut self, i: usize, s: &raw::Step) -> Option<StepKind> {
        let p = format!("/steps/{i}");
        self.check_modifiers(&p, s);
        if let Some(template) = &s.say {
            return Some(StepKind::Say {
                template: template.clone(),
            });
        }
        if let Some(slot) = &s.collect {
            return self.collect(&p, s, slot);
        }
        if let Some(set) = &s.set {
            let mut assignments = Vec::new();
            for (slot, src) in set {
                let sp = format!("{p}/set/{slot}");
                self.slot_exists(&format!("{p}/set"), slot, true);
                if let Some(e) = self.expr(&sp, src) {
                    assignments.push((slot.clone(), e));
                }
            }
            return Some(StepKind::Set { assignments });
        }
        if let Some(cases) = &s.cases {
            let mut out = Vec::new();
            for (k, c) in cases.iter().enumerate() {
                let cp = format!("{p}/if/{k}");
                let when = self.expr(&format!("{cp}/when"), &c.when);
                let goto = self.target(&format!("{cp}/goto"), &c.goto);
                if let (Some(when), Some(goto)) = (when, goto) {
                    out.push(Case { when, goto });
                }
            }
            return Some(StepKind::If { cases: out });
        }
        if let Some(call) = &s.call {
            return self.call(&p, s, call);
        }
        if let Some(name) = &s.action {
            let action = Action::from_name(name)?;
            let on_failure = self.opt_target(&format!("{p}/on_failure"), s.on_failure.as_ref());
            if action.can_fail() && s.on_failure.is_none() {
                self.cx.err_key(
                    format!("{p}/action"),
                    format!(
                        "action `{name}` can fail; add `on_failure: <step>` to say where the conversation goes then"
                    ),
                );
            }
            let params = self.action_params(&p, s, action);
            return Some(StepKind::Action {
                action,
                on_failure,
                params,
            });
        }
        if let Some(t) = &s.goto {
            return self.target(&format!("{p}/goto"), t).map(StepKind::Goto);
        }
        if s.end.is_some() {
            return Some(StepKind::End);
        }
        self.cx.err(
            p,
            "step has no kind (say, collect, set, if, call, action, goto or end)",
        );
        None
    }

    fn check_modifiers(&mut self, p: &str, s: &raw::Step) {
        let collect_only = [
            ("prompt", s.prompt.is_some()),
            ("reprompts", s.reprompts.is_some()),
            ("max_attempts", s.max_attempts.is_some()),
            ("validate", s.validate.is_some()),
            ("invalid", s.invalid.is_some()),
        ];
        if s.collect.is_none() {
            for (key, present) in collect_only {
                if present {
                    self.cx.err_key(
                        format!("{p}/{key}"),
                        format!("`{key}` only applies to `collect` steps"),
                    );
                }
            }
        }
        if s.call.is_none() {
            for (key, present) in [("args", s.args.is_some()), ("into", s.into.is_some())] {
                if present {
                    self.cx.err_key(
                        format!("{p}/{key}"),
                        format!("`{key}` only applies to `call` steps"),
                    );
                }
            }
        }
        if s.action.is_none() {
            for (key, present) in [
                ("find_date", s.find_date.is_some()),
                ("new_date", s.new_date.is_some()),
                ("verify_name", s.verify_name.is_some()),
                ("notes", s.notes.is_some()),
            ] {
                if present {
                    self.cx.err_key(
                        format!("{p}/{key}"),
                        format!("`{key}` only applies to `action` steps"),
                    );
                }
            }
        }
        if s.on_failure.is_some() && s.collect.is_none() && s.call.is_none() && s.action.is_none() {
            self.cx.err_key(
                format!("{p}/on_failure"),
                "`on_failure` only applies to `collect`, `call` and `action` steps",
            );
        }
    }

    /// `find_date`, `new_date` and `notes`: only on the actions they apply to, date slots
    /// that exist, and a notes template that compiles and names declared slots and vars.
    fn action_params(&mut self, p: &str, s: &raw::Step, action: Action) -> ActionParams {
        let name = action.name();
        let finds = matches!(action, Action::Modify | Action::Cancel);
        let mut params = ActionParams::default();
        for (key, value, allowed, which) in [
            ("find_date", &s.find_date, finds, "`modify` and `cancel`"),
            (
                "new_date",
                &s.new_date,
                action == Action::Modify,
                "`modify`",
            ),
        ] {
            let Some(slot) = value else { continue };
            let ptr = format!("{p}/{key}");
            if !allowed {
                self.cx.err_key(
                    ptr,
                    format!("`{key}` only applies to the {which} actions, not `{name}`"),
                );
                continue;
            }
            match self.slots.get(slot) {
                None => self.cx.err(
                    ptr,
                    format!(
                        "unknown slot `{slot}`; declare it under `slots:` with `type: date`{}",
                        did_you_mean(slot, self.slots.keys().map(String::as_str))
                    ),
                ),
                Some(d) if d.kind != SlotType::Date => self.cx.err(
                    ptr,
                    format!(
                        "`{key}` needs a `date` slot, but `{slot}` has type `{}`",
                        d.kind.name()
                    ),
                ),
                Some(_) if key == "find_date" => params.find_date = Some(slot.clone()),
                Some(_) => params.new_date = Some(slot.clone()),
            }
        }
        if let Some(new) = &params.new_date
            && new == params.find_date_slot()
        {
            let msg = if params.find_date.is_some() {
                format!(
                    "`find_date` and `new_date` are the same slot `{new}`: the booking would not move; the new date needs its own slot"
                )
            } else {
                format!(
                    "`new_date: {new}` is also the slot the booking is found by (`find_date` defaults to `date`); add `find_date: <slot>` naming the slot that holds the existing booking's date"
                )
            };
            self.cx.err(format!("{p}/new_date"), msg);
        }
        match (&s.verify_name, finds) {
            (Some(_), false) => self.cx.err_key(
                format!("{p}/verify_name"),
                format!(
                    "`verify_name` only applies to the `modify` and `cancel` actions, not `{name}`"
                ),
            ),
            (None, true) => self.cx.err_key(
                format!("{p}/action"),
                format!(
                    "`{name}` changes a booking found by the caller's number, and caller ID can \
                     be spoofed; add `verify_name: <slot>` naming a `string` slot collected \
                     before this step (the name the booking is under)"
                ),
            ),
            (Some(slot), true) => match self.slots.get(slot) {
                None => self.cx.err(
                    format!("{p}/verify_name"),
                    format!(
                        "unknown slot `{slot}`; declare it under `slots:` with `type: string`{}",
                        did_you_mean(slot, self.slots.keys().map(String::as_str))
                    ),
                ),
                Some(d) if d.kind != SlotType::String => self.cx.err(
                    format!("{p}/verify_name"),
                    format!(
                        "`verify_name` needs a `string` slot, but `{slot}` has type `{}`",
                        d.kind.name()
                    ),
                ),
                Some(_) => params.verify_name = Some(slot.clone()),
            },
            (None, false) => {}
        }
        if let Some(src) = &s.notes {
            let ptr = format!("{p}/notes");
            if action == Action::Book {
                params.notes = self.notes_template(&ptr, src);
            } else {
                self.cx.err_key(
                    ptr,
                    format!("`notes` only applies to the `book` action, not `{name}`"),
                );
            }
        }
        params
    }

    /// Checks a `notes` template like a prompt (syntax, filters) plus its `slots.*` and
    /// `vars.*` references, which (unlike a prompt's) belong to this one flow.
    fn notes_template(&mut self, ptr: &str, src: &str) -> Option<String> {
        let probe = Prompts::new();
        let mut ok = true;
        for (filter, n, offset) in probe.unknown_filters(src) {
            ok = false;
            self.cx.err_in_template(
                ptr,
                src,
                offset,
                format!(
                    "the notes template uses unknown filter `{filter}` (line {n} of the template){}",
                    did_you_mean(&filter, ENGINE_FILTERS.iter().copied())
                ),
            );
        }
        if let Err(e) = probe.check_source(src) {
            ok = false;
            let detail = e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_string);
            match (e.line(), e.range()) {
                (Some(n), Some(range)) => self.cx.err_in_template(
                    ptr,
                    src,
                    range.start,
                    format!(
                        "the notes template does not compile: {detail} (line {n} of the template)"
                    ),
                ),
                (Some(n), None) => self.cx.err_within(
                    ptr,
                    n,
                    format!(
                        "the notes template does not compile: {detail} (line {n} of the template)"
                    ),
                ),
                (None, _) => self.cx.err(
                    ptr,
                    format!("the notes template does not compile: {detail}"),
                ),
            }
        } else if probe.exhausts_fuel(src, ()) {
            ok = false;
            self.cx.err(
                ptr,
                super::business::runaway_template_message("the notes template"),
            );
        }
        for (scope, name) in template_tags(src).iter().flat_map(|t| member_refs(t)) {
            let known = match scope {
                "slots" => self.slots.contains_key(name),
                _ => self.vars.contains(name),
            };
            if !known {
                ok = false;
                let (what, hint) = if scope == "slots" {
                    (
                        "slot (declare it under `slots:`)",
                        did_you_mean(name, self.slots.keys().map(String::as_str)),
                    )
                } else {
                    (
                        "variable (set it with `into:` on a call step)",
                        did_you_mean(name, self.vars.iter().copied()),
                    )
                };
                self.cx.err(
                    ptr,
                    format!(
                        "the notes template's `{scope}.{name}` refers to an unknown {what}{hint}"
                    ),
                );
            }
        }
        ok.then(|| src.to_string())
    }

    fn collect(&mut self, p: &str, s: &raw::Step, slot: &str) -> Option<StepKind> {
        self.slot_exists(&format!("{p}/collect"), slot, false);
        let Some(prompt) = s.prompt.clone() else {
            self.cx.err(
                p,
                "a `collect` step needs `prompt: <template>` to ask for the slot",
            );
            return None;
        };
        let validate = match &s.validate {
            Some(src) => Some(self.expr(&format!("{p}/validate"), src)?),
            None => None,
        };
        let on_failure = self.opt_target(&format!("{p}/on_failure"), s.on_failure.as_ref());
        Some(StepKind::Collect(Collect {
            slot: slot.to_string(),
            prompt,
            reprompts: s.reprompts.clone().unwrap_or_default(),
            max_attempts: s.max_attempts.unwrap_or(3),
            validate,
            invalid: s.invalid.clone(),
            on_failure,
        }))
    }

    fn call(&mut self, p: &str, s: &raw::Step, call: &str) -> Option<StepKind> {
        let (plugin, function) = call.split_once('.')?;
        let args_src = s.args.clone().unwrap_or_default();
        let cp = format!("{p}/call");
        match self.env.plugins.get(plugin) {
            None => {
                let hint = did_you_mean(plugin, self.env.plugins.keys().map(String::as_str));
                self.cx.err(
                    cp,
                    format!("unknown plugin `{plugin}` (no plugins/{plugin}.rhai){hint}"),
                );
            }
            Some(Ok(pl)) if !pl.has_function(function, args_src.len()) => {
                let msg = match pl.functions.get(function) {
                    Some(arities) => format!(
                        "plugin `{plugin}` defines `{function}` with {} parameter(s), but this call passes {} (`args`)",
                        arities
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" or "),
                        args_src.len()
                    ),
                    None => format!(
                        "plugin `{plugin}` has no function `{function}`{}",
                        did_you_mean(function, pl.functions.keys().map(String::as_str))
                    ),
                };
                self.cx.err(cp, msg);
            }
            // A broken plugin is reported on its own file.
            Some(_) => {}
        }
        let mut args = Vec::new();
        for (k, a) in args_src.iter().enumerate() {
            args.push(self.expr(&format!("{p}/args/{k}"), a)?);
        }
        let on_failure = self.opt_target(&format!("{p}/on_failure"), s.on_failure.as_ref());
        Some(StepKind::Call(Call {
            plugin: plugin.to_string(),
            function: function.to_string(),
            args,
            into: s.into.clone(),
            on_failure,
        }))
    }

    fn slot_exists(&mut self, ptr: &str, slot: &str, key: bool) {
        if !self.slots.contains_key(slot) {
            let msg = format!(
                "unknown slot `{slot}`; declare it under `slots:`{}",
                did_you_mean(slot, self.slots.keys().map(String::as_str))
            );
            if key {
                self.cx.err_key(format!("{ptr}/{slot}"), msg);
            } else {
                self.cx.err(ptr, msg);
            }
        }
    }

    fn expr(&mut self, ptr: &str, src: &str) -> Option<Expr> {
        let ast = match compile_expr(src) {
            Ok(ast) => ast,
            Err(msg) => {
                self.cx.err(ptr, msg);
                return None;
            }
        };
        let mut ok = true;
        for (scope, name) in member_refs(src) {
            let (known, list): (bool, Vec<&str>) = match scope {
                "slots" => (
                    self.slots.contains_key(name),
                    self.slots.keys().map(String::as_str).collect(),
                ),
                _ => (
                    self.vars.contains(name),
                    self.vars.iter().copied().collect(),
                ),
            };
            if !known {
                ok = false;
                let what = if scope == "slots" {
                    "slot (declare it under `slots:`)"
                } else {
                    "variable (set it with `into:` on a call step)"
                };
                self.cx.err(
                    ptr,
                    format!(
                        "`{scope}.{name}` refers to an unknown {what}{}",
                        did_you_mean(name, list)
                    ),
                );
            }
        }
        let pos = self.cx.position(ptr);
        ok.then(|| Expr {
            source: src.to_string(),
            ast,
            line: pos.map_or(0, |p| p.line),
            column: pos.map_or(0, |p| p.column),
        })
    }

    fn opt_target(&mut self, ptr: &str, t: Option<&raw::Target>) -> Option<Target> {
        t.and_then(|t| self.target(ptr, t))
    }

    fn target(&mut self, ptr: &str, t: &raw::Target) -> Option<Target> {
        match t {
            raw::Target::Step(id) => match self.index.get(id.as_str()) {
                Some(&index) => Some(Target::Step {
                    id: id.clone(),
                    index,
                }),
                None => {
                    let hint = did_you_mean(id, self.index.keys().copied());
                    self.cx.err(
                        ptr,
                        format!(
                            "goto target `{id}` is not a step of this flow{hint} (to jump to another flow write `{{flow: {id}}}`)"
                        ),
                    );
                    None
                }
            },
            raw::Target::Flow(f) => {
                if !self.env.flow_ids.contains(&f.flow) {
                    let hint = did_you_mean(&f.flow, self.env.flow_ids.iter().map(String::as_str));
                    self.cx.err(
                        format!("{ptr}/flow"),
                        format!("unknown flow `{}` (no flows/{}.yaml){hint}", f.flow, f.flow),
                    );
                    return None;
                }
                Some(Target::Flow {
                    flow: f.flow.clone(),
                    step: f.step.clone(),
                })
            }
        }
    }
}

/// Fills in `next`, then checks for dead ends and unreachable steps.
fn link(cx: &mut Ctx<'_>, raw: &[raw::Step], kinds: Vec<Option<StepKind>>) -> Vec<Step> {
    let n = kinds.len();
    let mut steps = Vec::with_capacity(n);
    for (i, kind) in kinds.into_iter().enumerate() {
        let Some(kind) = kind else { continue };
        let next = if kind.is_terminal() {
            None
        } else if i + 1 < n {
            Some(i + 1)
        } else {
            cx.err(
                format!("/steps/{i}"),
                format!(
                    "step `{}` is the last step but does not finish the flow; add a step with `goto`, `end: true` or `action: end_call` after it",
                    raw[i].id
                ),
            );
            None
        };
        steps.push(Step {
            id: raw[i].id.clone(),
            kind,
            next,
        });
    }
    if steps.len() != n {
        // Some steps failed to build; graph checks would only add noise.
        return steps;
    }
    let mut seen = vec![false; n];
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let s = &steps[i];
        stack.extend(s.next);
        for t in s.kind.targets() {
            if let Target::Step { index, .. } = t {
                stack.push(*index);
            }
        }
    }
    for (i, reached) in seen.iter().enumerate() {
        if !reached {
            cx.err(
                format!("/steps/{i}"),
                format!(
                    "step `{}` is never reached: no step falls through or jumps to it",
                    raw[i].id
                ),
            );
        }
    }
    steps
}

/// The insides of a template's `{{ … }}` and `{% … %}` tags (text outside them is literal and
/// may contain apostrophes, which would confuse [`member_refs`]).
fn template_tags(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(open) = rest.find(['{']) {
        let after = &rest[open..];
        let close = if after.starts_with("{{") {
            "}}"
        } else if after.starts_with("{%") {
            "%}"
        } else {
            rest = &after[1..];
            continue;
        };
        let inner = &after[2..];
        match inner.find(close) {
            Some(end) => {
                out.push(&inner[..end]);
                rest = &inner[end + 2..];
            }
            None => {
                out.push(inner);
                break;
            }
        }
    }
    out
}

/// `slots.x` and `vars.y` references in an expression (outside string literals).
fn member_refs(src: &str) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == b'"' || c == b'`' || c == b'\'' {
            quote = Some(c);
            i += 1;
            continue;
        }
        let word_start = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b'.');
        for scope in ["slots", "vars"] {
            let prefix = scope.len() + 1;
            // Byte comparisons only: `i` may sit inside a multi-byte character (e.g. in a
            // comment), where slicing the `str` would panic.
            if word_start
                && bytes[i..].starts_with(scope.as_bytes())
                && bytes.get(i + scope.len()) == Some(&b'.')
            {
                let start = i + prefix;
                let len = bytes[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                // The name is ASCII, so both ends are character boundaries.
                if let Some(name) = src.get(start..start + len).filter(|n| !n.is_empty()) {
                    out.push((scope, name));
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::parse_document;
    use crate::schema::SchemaKind;

    fn compile(text: &str) -> Result<Flow, Vec<String>> {
        let flow_ids: BTreeSet<String> = ["t".to_string(), "other".to_string()].into();
        let plugins = BTreeMap::new();
        let env = FlowEnv {
            flow_ids: &flow_ids,
            plugins: &plugins,
        };
        let doc = parse_document(SchemaKind::Flow, "flows/t.yaml", text)
            .map_err(|d| d.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        compile_flow(&doc, "t", &env).map_err(|d| d.iter().map(|d| d.message.clone()).collect())
    }

    #[test]
    fn links_next_and_targets() {
        let f = compile(
            "id: t\nslots:\n  n: {type: integer}\nsteps:\n  - id: ask\n    collect: n\n    prompt: p\n    on_failure: {flow: other}\n  - id: route\n    if:\n      - when: \"slots.n > 2\"\n        goto: big\n  - id: small\n    say: s\n  - id: done\n    end: true\n  - id: big\n    say: b\n  - id: back\n    goto: done\n",
        )
        .unwrap();
        let next: Vec<Option<usize>> = f.steps.iter().map(|s| s.next).collect();
        assert_eq!(next, vec![Some(1), Some(2), Some(3), None, Some(5), None]);
        match &f.steps[1].kind {
            StepKind::If { cases } => assert_eq!(
                cases[0].goto,
                Target::Step {
                    id: "big".into(),
                    index: 4
                }
            ),
            other => panic!("{other:?}"),
        }
        match &f.steps[0].kind {
            StepKind::Collect(c) => {
                assert_eq!(c.max_attempts, 3);
                assert_eq!(
                    c.on_failure,
                    Some(Target::Flow {
                        flow: "other".into(),
                        step: None
                    })
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.step_index("back"), Some(5));
        assert_eq!(f.file, "flows/t.yaml");
        match &f.steps[1].kind {
            StepKind::If { cases } => {
                assert_eq!((cases[0].when.line, cases[0].when.column), (11, 15));
            }
            other => panic!("{other:?}"),
        }
        let templates: Vec<&str> = f.templates().map(|(_, t)| t).collect();
        assert_eq!(templates, vec!["p", "s", "b"]);
    }

    #[test]
    fn modifiers_must_match_the_step_kind() {
        let errs = compile(
            "id: t\nsteps:\n  - id: a\n    say: x\n    prompt: y\n    into: z\n    on_failure: b\n  - id: b\n    end: true\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "`prompt` only applies to `collect` steps",
                "`into` only applies to `call` steps",
                "`on_failure` only applies to `collect`, `call` and `action` steps",
            ]
        );
    }

    #[test]
    fn collect_needs_a_prompt_and_a_declared_slot() {
        let errs = compile("id: t\nsteps:\n  - id: a\n    collect: x\n  - id: b\n    end: true\n")
            .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "unknown slot `x`; declare it under `slots:`",
                "a `collect` step needs `prompt: <template>` to ask for the slot",
            ]
        );
    }

    #[test]
    fn set_and_expressions_check_slots_and_vars() {
        let errs = compile(
            "id: t\nslots:\n  party_size: {type: integer}\nsteps:\n  - id: a\n    set: {party_sise: \"vars.x + slots.party_size\"}\n  - id: b\n    end: true\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "unknown slot `party_sise`; declare it under `slots:`; did you mean `party_size`?",
                "`vars.x` refers to an unknown variable (set it with `into:` on a call step)",
            ]
        );
    }

    #[test]
    fn duplicate_step_ids_and_flow_id() {
        let errs = compile("id: u\nsteps:\n  - id: a\n    say: x\n  - id: a\n    end: true\n")
            .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "flow id `u` must match the file name `t.yaml`",
                "duplicate step id `a`; step ids must be unique in a flow",
            ]
        );
    }

    #[test]
    fn terminal_actions_do_not_fall_through() {
        let f = compile("id: t\nsteps:\n  - id: a\n    action: end_call\n").unwrap();
        assert_eq!(f.steps[0].next, None);
        let errs = compile("id: t\nsteps:\n  - id: a\n    say: x\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("step `a` is the last step"), "{errs:?}");
    }

    const DATES: &str = "id: t\nslots:\n  date: {type: date}\n  old_date: {type: date}\n  time: {type: time}\n  name: {type: string}\n  party_size: {type: integer}\n";

    #[test]
    fn action_params_compile() {
        let f = compile(&format!(
            "{DATES}steps:\n  - id: m\n    action: modify\n    find_date: old_date\n    new_date: date\n    verify_name: name\n    on_failure: e\n  - id: b\n    action: book\n    notes: \"{{{{ slots.name | upper }}}}: {{% if slots.old_date %}}moved{{% endif %}}\"\n    on_failure: e\n  - id: c\n    action: cancel\n    verify_name: name\n    on_failure: e\n  - id: e\n    end: true\n"
        ))
        .unwrap();
        let params = |i: usize| match &f.steps[i].kind {
            StepKind::Action { params, .. } => params.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(params(0).find_date.as_deref(), Some("old_date"));
        assert_eq!(params(0).new_date.as_deref(), Some("date"));
        assert!(params(1).notes.is_some_and(|n| n.contains("slots.name")));
        assert_eq!(params(0).verify_name.as_deref(), Some("name"));
        // Defaults: found by `date`, the day stays, no notes.
        assert_eq!(
            params(2),
            ActionParams {
                verify_name: Some("name".into()),
                ..ActionParams::default()
            }
        );
        assert_eq!(params(2).find_date_slot(), "date");
    }

    #[test]
    fn action_params_are_checked() {
        let errs = compile(&format!(
            "{DATES}steps:\n  - id: a\n    say: x\n    notes: n\n  - id: b\n    action: cancel\n    new_date: date\n    notes: n\n    verify_name: name\n    on_failure: e\n  - id: c\n    action: modify\n    find_date: old_dat\n    new_date: time\n    verify_name: party_size\n    on_failure: e\n  - id: d\n    action: modify\n    new_date: date\n    on_failure: e\n  - id: f\n    action: book\n    verify_name: name\n    on_failure: e\n  - id: e\n    end: true\n"
        ))
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "`notes` only applies to `action` steps",
                "`new_date` only applies to the `modify` actions, not `cancel`",
                "`notes` only applies to the `book` action, not `cancel`",
                "unknown slot `old_dat`; declare it under `slots:` with `type: date`; did you mean `old_date`?",
                "`new_date` needs a `date` slot, but `time` has type `time`",
                "`verify_name` needs a `string` slot, but `party_size` has type `integer`",
                "`new_date: date` is also the slot the booking is found by (`find_date` defaults to `date`); add `find_date: <slot>` naming the slot that holds the existing booking's date",
                "`modify` changes a booking found by the caller's number, and caller ID can be spoofed; add `verify_name: <slot>` naming a `string` slot collected before this step (the name the booking is under)",
                "`verify_name` only applies to the `modify` and `cancel` actions, not `book`",
            ]
        );
    }

    #[test]
    fn notes_template_is_checked_like_a_prompt() {
        let errs = compile(&format!(
            "{DATES}steps:\n  - id: b\n    action: book\n    notes: \"{{{{ slots.treatment }}}} {{{{ vars.x | spoken_tme }}}} it's {{% if %}}\"\n    on_failure: e\n  - id: e\n    end: true\n"
        ))
        .unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs[0].starts_with("the notes template uses unknown filter `spoken_tme`"),
            "{errs:?}"
        );
        assert!(errs[0].ends_with("did you mean `spoken_time`?"), "{errs:?}");
        assert!(
            errs[1].starts_with("the notes template does not compile:"),
            "{errs:?}"
        );
        assert_eq!(
            errs[2],
            "the notes template's `slots.treatment` refers to an unknown slot (declare it under `slots:`)"
        );
        assert_eq!(
            errs[3],
            "the notes template's `vars.x` refers to an unknown variable (set it with `into:` on a call step)"
        );
        // Apostrophes in literal text do not hide references in later tags.
        assert_eq!(
            template_tags("it's {{ slots.a }} {% if vars.b %}"),
            vec![" slots.a ", " if vars.b "]
        );
    }

    #[test]
    fn finds_member_refs() {
        assert_eq!(
            member_refs("slots.party_size > 10 && vars.policy.allow && \"slots.x\" != myslots.y"),
            vec![("slots", "party_size"), ("vars", "policy")]
        );
        // Non-ASCII outside string literals (a comment) must not panic.
        assert_eq!(
            member_refs("slots.n > 1 // लोग vars.x"),
            vec![("slots", "n"), ("vars", "x")]
        );
    }
}
