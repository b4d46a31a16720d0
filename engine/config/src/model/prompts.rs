//! A business's prompt templates, parsed once per snapshot.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::Lang;

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
