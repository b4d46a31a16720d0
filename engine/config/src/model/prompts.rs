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

/// Prompt templates per language, compiled into one minijinja environment.
///
/// Templates are registered as `"<lang>/<name>"` (e.g. `hi/greeting`). The environment uses
/// semi-strict undefined behaviour: printing or iterating a variable the engine did not pass
/// fails loudly instead of speaking an empty string to a caller, while `{% if x.y %}` may
/// test an optional value.
#[derive(Debug)]
pub struct Prompts {
    env: Environment<'static>,
    sources: BTreeMap<Lang, BTreeMap<String, String>>,
}

impl Prompts {
    pub(crate) fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for name in ENGINE_FILTERS {
            env.add_filter(*name, |v: MjValue| v);
        }
        Prompts {
            env,
            sources: BTreeMap::new(),
        }
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
    /// 1-based line of the template it is on.
    pub(crate) fn unknown_filters(&self, source: &str) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for (name, line) in filter_names(source) {
            if out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            // minijinja looks filters up when rendering: probing a one-filter template tells
            // exactly whether the name exists (a missing argument is a different error).
            let probe = format!("{{{{ none | {name} }}}}");
            if let Err(e) = self.env.render_str(&probe, ())
                && e.kind() == ErrorKind::UnknownFilter
            {
                out.push((name, line));
            }
        }
        out
    }

    /// Compiles `source` without registering it (syntax check for templates that live
    /// outside `prompts:`, such as a `book` step's `notes`).
    pub(crate) fn check_source(&self, source: &str) -> Result<(), minijinja::Error> {
        self.env.template_from_str(source).map(|_| ())
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
/// skipped), with the 1-based line it is on.
fn filter_names(source: &str) -> Vec<(String, usize)> {
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
                    out.push((source[start..j].to_string(), line));
                }
            }
            i += 1;
        }
    }
    out
}
