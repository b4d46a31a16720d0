//! A business's prompt templates, parsed once per snapshot.

use std::collections::BTreeMap;

use minijinja::value::Value as MjValue;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use super::Lang;

/// Filters the dialog engine adds to every business's templates (`vartalaap-core`'s renderer
/// speaks values per language with them). Config registers same-named stand-ins that print the
/// value unchanged, so a template using them validates and renders here, and a misspelt filter
/// (`spoken_tme`) is an error at load time rather than in the middle of a call.
pub const ENGINE_FILTERS: &[&str] = &["money", "spoken_time", "spoken_date", "number"];

/// Most template instructions one render may run (minijinja "fuel"), here and in the engine's
/// renderer. A prompt is a sentence or a short list, far below this; loops nested in loops
/// (ten over a seven-item list: 282 million steps) stop here with an error instead of stalling
/// a call. The loader also renders every template once with what it knows (the business) and
/// rejects one that runs out even then ([`Prompts::exhausts_fuel`]).
pub const TEMPLATE_FUEL: u64 = 100_000;

/// The variables the engine passes to every template, and the fields it fills in those whose
/// shape it owns. `business` is the business document itself (checked against the file),
/// `slots` the slots of the flows the business uses, `vars` the `into` names of their `call`
/// steps plus the engine's own; the others are listed here. `vartalaap-core` builds the
/// context (`speech.rs`) and keeps these lists true (a test there checks them); a template
/// naming anything else is an error at load time, with a "did you mean".
pub const CONTEXT: &[(&str, Option<&[&str]>)] = &[
    ("business", None),
    ("slots", None),
    ("spoken", Some(SPOKEN_FIELDS)),
    ("vars", None),
    ("result", Some(RESULT_FIELDS)),
    ("policy", Some(POLICY_FIELDS)),
    ("lang", Some(&[])),
    ("today", Some(&[])),
];

/// `spoken.*`: slot values as the reply language says them.
pub const SPOKEN_FIELDS: &[&str] = &["party_size", "date", "time", "name"];
/// `result.*`: what the last action produced (alternatives offered, the booking found, menu
/// items, the FAQ answered; after a menu lookup that found nothing, what the caller named and
/// similar items).
pub const RESULT_FIELDS: &[&str] = &[
    "alternatives",
    "found",
    "items",
    "id",
    "answer",
    "named",
    "similar",
];
/// `policy.*`: the last policy refusal (`reason` and its details, plus nearest times).
pub const POLICY_FIELDS: &[&str] = &[
    "reason",
    "note",
    "max_days",
    "min_lead_minutes",
    "slot_minutes",
    "min",
    "max",
    "max_phone_party",
    "callback",
    "alternatives",
];
/// `vars.*` the engine sets itself (not through a `call` step's `into`).
pub const ENGINE_VARS: &[&str] = &["closure"];

/// Prompt templates per language, compiled into one minijinja environment.
///
/// Templates are registered as `"<lang>/<name>"` (e.g. `hi/greeting`). The environment uses
/// strict undefined behaviour, like the engine's renderer: printing, iterating or even testing
/// (`{% if x.y %}`) a value the engine did not pass fails loudly instead of speaking an empty
/// string to a caller; an optional value is tested with `{% if x.y is defined %}`. Which
/// names exist is checked at load time against [`CONTEXT`] (see `compile::template_vars`).
#[derive(Debug)]
pub struct Prompts {
    env: Environment<'static>,
    /// Renders a template with what is known at load time to see whether it runs out of fuel
    /// (lenient about undefined values, so a template gets as far as it can without a call).
    probe: Environment<'static>,
    sources: BTreeMap<Lang, BTreeMap<String, String>>,
}

impl Prompts {
    pub(crate) fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(TEMPLATE_FUEL));
        let mut probe = Environment::new();
        probe.set_undefined_behavior(UndefinedBehavior::Chainable);
        probe.set_fuel(Some(TEMPLATE_FUEL));
        for name in ENGINE_FILTERS {
            env.add_filter(*name, |v: MjValue| v);
            probe.add_filter(*name, |v: MjValue| v);
        }
        Prompts {
            env,
            probe,
            sources: BTreeMap::new(),
        }
    }

    /// Whether `source` runs out of fuel ([`TEMPLATE_FUEL`]) when rendered with what is known
    /// at load time (`known`: the business document as `business`; nothing for a flow's
    /// templates, which serve several businesses): loops that would stall every call using the
    /// template. Work that depends on the call (slots, results) cannot be judged here; the same
    /// fuel limit stops it when it renders (a template error, like any other).
    pub(crate) fn exhausts_fuel(&self, source: &str, known: impl Serialize) -> bool {
        matches!(
            self.probe.render_str(source, known),
            Err(e) if e.kind() == ErrorKind::OutOfFuel
        )
    }

    /// Adds one template; fails with minijinja's syntax error (line within the template).
    pub(crate) fn add(
        &mut self,
        lang: Lang,
        name: &str,
        source: &str,
    ) -> Result<(), minijinja::Error> {
        self.env
            .add_template_owned(format!("{lang}/{name}"), source.to_string())?;
        self.sources
            .entry(lang)
            .or_default()
            .insert(name.to_string(), source.to_string());
        Ok(())
    }

    /// Filters used by `source` that neither minijinja nor the engine provides, each with the
    /// 1-based line of the template it is on and the byte offset of its name.
    pub(crate) fn unknown_filters(&self, source: &str) -> Vec<(String, usize, usize)> {
        let mut out: Vec<(String, usize, usize)> = Vec::new();
        for (name, line, offset) in filter_names(source) {
            if out.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            // minijinja looks filters up when rendering: probing a one-filter template tells
            // exactly whether the name exists (a missing argument is a different error).
            let probe = format!("{{{{ none | {name} }}}}");
            if let Err(e) = self.env.render_str(&probe, ())
                && e.kind() == ErrorKind::UnknownFilter
            {
                out.push((name, line, offset));
            }
        }
        out
    }

    /// Compiles `source` without registering it (syntax check for templates that live
    /// outside `prompts:`, such as a `book` step's `notes`).
    pub(crate) fn check_source(&self, source: &str) -> Result<(), minijinja::Error> {
        self.env.template_from_str(source).map(|_| ())
    }

    /// Every variable path the template reads from its context (`business.name.en`,
    /// `slots.date`), as far as plain attribute lookups go (`a.b[0].c` gives `a.b`).
    pub(crate) fn variables(&self, lang: Lang, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .env
            .get_template(&format!("{lang}/{name}"))
            .map(|t| t.undeclared_variables(true).into_iter().collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Whether `name` exists for `lang`.
    pub fn has(&self, lang: Lang, name: &str) -> bool {
        self.sources
            .get(&lang)
            .is_some_and(|n| n.contains_key(name))
    }

    /// Template names defined for `lang`.
    pub fn names(&self, lang: Lang) -> impl Iterator<Item = &str> {
        self.sources
            .get(&lang)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    /// The source text of a template.
    pub fn source(&self, lang: Lang, name: &str) -> Option<&str> {
        self.sources.get(&lang)?.get(name).map(String::as_str)
    }

    /// Renders a template with `ctx`. Errors name the template and line (e.g. a variable the
    /// caller forgot to pass).
    pub fn render(
        &self,
        lang: Lang,
        name: &str,
        ctx: impl Serialize,
    ) -> Result<String, minijinja::Error> {
        self.env
            .get_template(&format!("{lang}/{name}"))?
            .render(ctx)
    }
}

/// Every `| name` filter application inside `{{ … }}` and `{% … %}` tags (string literals
/// skipped), with the 1-based line it is on and the byte offset of the name.
fn filter_names(source: &str) -> Vec<(String, usize, usize)> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let open = &bytes[i..i + 2];
        if open != b"{{" && open != b"{%" {
            i += 1;
            continue;
        }
        let close: &[u8] = if open == b"{{" { b"}}" } else { b"%}" };
        i += 2;
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let c = bytes[i];
            if let Some(q) = quote {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            } else if c == b'"' || c == b'\'' {
                quote = Some(c);
            } else if bytes[i..].starts_with(close) {
                i += 2;
                break;
            } else if c == b'|' {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                let start = j;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if j > start {
                    let line = 1 + bytes[..i].iter().filter(|b| **b == b'\n').count();
                    out.push((source[start..j].to_string(), line, start));
                }
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runaway_template_runs_out_of_fuel_instead_of_running_on() {
        let mut prompts = Prompts::new();
        prompts
            .add(
                Lang::En,
                "bomb",
                "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
            )
            .unwrap();
        prompts
            .add(
                Lang::En,
                "menu",
                "{% for i in range(50) %}{{ i }}, {% endfor %}",
            )
            .unwrap();
        let err = prompts.render(Lang::En, "bomb", ()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfFuel, "{err}");
        assert!(prompts.render(Lang::En, "menu", ()).is_ok());
    }

    #[test]
    fn the_load_probe_catches_loops_that_do_not_depend_on_the_call() {
        let prompts = Prompts::new();
        let known = minijinja::context! {
            business => MjValue::from_serialize(serde_json::json!({
                "name": { "en": "Himalayan Kitchen" },
                "faqs": [1, 2, 3, 4, 5, 6, 7],
            })),
        };
        let loops = |depth: usize| {
            let mut t = String::new();
            for n in 0..depth {
                t.push_str(&format!("{{% for f{n} in business.faqs %}}"));
            }
            t.push_str(&"{% endfor %}".repeat(depth));
            t
        };
        // 7¹⁰ steps over the business's own list: known at load, rejected.
        let static_bomb = format!("Hello {{{{ business.name.en }}}}{}", loops(10));
        assert!(prompts.exhausts_fuel(&static_bomb, &known));
        // The same loops only for large parties: the call decides, so the load passes it and
        // the render-time limit stops it.
        let data_bomb = format!("{{% if slots.party_size > 3 %}}{}{{% endif %}}", loops(10));
        assert!(!prompts.exhausts_fuel(&data_bomb, &known));
        // Ordinary templates pass, whatever their context would hold.
        for fine in [
            "A table for {{ spoken.party_size }}, {{ spoken.date }}. Shall I book it?",
            "{% if result.alternatives %}{% for t in result.alternatives %}{{ t | spoken_time }}{% if not loop.last %}, {% endif %}{% endfor %}{% endif %}",
            &loops(3),
        ] {
            assert!(!prompts.exhausts_fuel(fine, &known), "{fine}");
        }
    }
}
