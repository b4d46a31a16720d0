//! Replies from the business's per-language minijinja templates.
//!
//! Templates are the business's words; the engine only supplies a context (`business`,
//! `slots`, `spoken`, `vars`, `result`, `policy`, `lang`) and filters that speak values the way
//! each language says them, backed by `vartalaap-lang`:
//!
//! | filter | input | hi / en / hinglish |
//! |---|---|---|
//! | `money` | rupees (integer) | "ढाई सौ रुपये" / "two hundred and fifty rupees" / "dhai sau rupaye" |
//! | `spoken_time` | "HH:MM" | "रात साढ़े आठ बजे" / "8:30 pm" / "raat saadhe aath baje" |
//! | `spoken_date` | "YYYY-MM-DD" | "कल" / "tomorrow" / "kal", or weekday + date |
//! | `number` | integer | "चार" / "four" / "chaar" |
//!
//! The environment loads templates lazily from its snapshot's sources and is shared by every
//! conversation on that snapshot ([`crate::Prepared`]), so a template compiles once and a
//! reload never changes a call in progress. Undefined values follow minijinja's *strict* mode
//! (the same as the config validator): printing, iterating or testing a value the context does
//! not hold is an error, so an optional value is tested with `{% if x.y is defined %}`. The
//! names a template uses are checked against the context at load time
//! (`vartalaap_config::model::prompts::CONTEXT`), so a misspelt name never reaches a call.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime};
use minijinja::value::Value as MjValue;
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior};
use serde::Serialize;
use vartalaap_config::{BusinessSnapshot, Lang};

/// Renders a snapshot's templates; cloning shares the compiled templates.
#[derive(Debug, Clone)]
pub struct Renderer {
    env: Arc<Environment<'static>>,
}

/// A template that could not be rendered (a bug in the business file or the engine's context).
#[derive(Debug, thiserror::Error)]
#[error("template {lang}/{name}: {source:#}")]
pub struct RenderError {
    /// Template name.
    pub name: String,
    /// Language.
    pub lang: Lang,
    /// minijinja's error with line.
    #[source]
    pub source: minijinja::Error,
}

impl Renderer {
    /// A renderer over the snapshot's templates (`<lang>/<name>`).
    pub fn new(snap: Arc<BusinessSnapshot>) -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // A runaway template (loops in loops) fails its render instead of stalling the call.
        env.set_fuel(Some(vartalaap_config::TEMPLATE_FUEL));
        env.set_loader(move |name: &str| {
            let Some((code, template)) = name.split_once('/') else {
                return Ok(None);
            };
            Ok(Lang::from_code(code)
                .and_then(|l| snap.business.prompts.source(l, template))
                .map(str::to_string))
        });
        add_filters(&mut env);
        Renderer { env: Arc::new(env) }
    }

    /// Renders `name` in `lang` with `ctx`; `ctx` must contain `lang` and `today`.
    pub fn render(
        &self,
        lang: Lang,
        name: &str,
        ctx: impl Serialize,
    ) -> Result<String, RenderError> {
        let err = |source| RenderError {
            name: name.to_string(),
            lang,
            source,
        };
        let tmpl = self
            .env
            .get_template(&format!("{lang}/{name}"))
            .map_err(err)?;
        let text = tmpl.render(ctx).map_err(err)?;
        Ok(tidy(&text))
    }
}

impl Renderer {
    /// Renders a template given as text rather than by name (a `book` step's `notes`), with
    /// the same filters and context as prompts; `lang` picks how filters speak values.
    pub fn render_str(
        &self,
        lang: Lang,
        source: &str,
        ctx: impl Serialize,
    ) -> Result<String, RenderError> {
        let text = self
            .env
            .render_str(source, ctx)
            .map_err(|source| RenderError {
                name: "(inline)".to_string(),
                lang,
                source,
            })?;
        Ok(tidy(&text))
    }
}

/// Collapses runs of spaces left by template conditionals and capitalises a Latin first
/// letter (a reply may start with a spoken value: "chaar log, kal …").
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    let mut chars = text.trim().chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
    }
    for c in chars {
        if c == ' ' {
            if !space {
                out.push(c);
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// The `vartalaap-lang` language matching a configuration language.
pub fn lang_of(l: Lang) -> vartalaap_lang::Lang {
    match l {
        Lang::Hi => vartalaap_lang::Lang::Hi,
        Lang::En => vartalaap_lang::Lang::En,
        Lang::Hinglish => vartalaap_lang::Lang::Hinglish,
    }
}

/// The configuration language matching a `vartalaap-lang` language.
pub fn config_lang(l: vartalaap_lang::Lang) -> Lang {
    match l {
        vartalaap_lang::Lang::Hi => Lang::Hi,
        vartalaap_lang::Lang::En => Lang::En,
        vartalaap_lang::Lang::Hinglish => Lang::Hinglish,
    }
}

fn ctx_lang(state: &State) -> vartalaap_lang::Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::from_code))
        .map_or(vartalaap_lang::Lang::En, lang_of)
}

fn bad(msg: String) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, msg)
}

fn as_u64(v: &MjValue, filter: &str) -> Result<u64, minijinja::Error> {
    if let Ok(n) = u64::try_from(v.clone()) {
        return Ok(n);
    }
    v.as_str()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad(format!("`{filter}` needs a whole number, got {v}")))
}

fn money(state: &State, v: MjValue) -> Result<String, minijinja::Error> {
    Ok(vartalaap_lang::speak_money_inr(
        as_u64(&v, "money")?,
        ctx_lang(state),
    ))
}

fn number(state: &State, v: MjValue) -> Result<String, minijinja::Error> {
    Ok(vartalaap_lang::speak_number(
        as_u64(&v, "number")?,
        ctx_lang(state),
    ))
}

/// The engine's filters; the names must be exactly `vartalaap_config::ENGINE_FILTERS`, which
/// the config validator accepts in templates (a test checks both ways).
fn add_filters(env: &mut Environment<'static>) {
    env.add_filter("money", money);
    env.add_filter("spoken_time", spoken_time);
    env.add_filter("spoken_date", spoken_date);
    env.add_filter("number", number);
}

fn spoken_time(state: &State, v: MjValue) -> Result<String, minijinja::Error> {
    let t = v
        .as_str()
        .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
        .ok_or_else(|| bad(format!("`spoken_time` needs \"HH:MM\", got {v}")))?;
    Ok(vartalaap_lang::speak_time(t, ctx_lang(state)))
}

fn spoken_date(state: &State, v: MjValue) -> Result<String, minijinja::Error> {
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let d = v
        .as_str()
        .and_then(parse)
        .ok_or_else(|| bad(format!("`spoken_date` needs \"YYYY-MM-DD\", got {v}")))?;
    let today = state
        .lookup("today")
        .and_then(|t| t.as_str().and_then(parse))
        .unwrap_or(d);
    Ok(vartalaap_lang::speak_date(d, today, ctx_lang(state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Config validates templates against `ENGINE_FILTERS`; the renderer must provide exactly
    /// those, or a template that validated would fail mid-call.
    #[test]
    fn renderer_provides_every_filter_config_accepts() {
        let mut env = Environment::new();
        add_filters(&mut env);
        let known = |name: &str| {
            let probe = format!("{{{{ none | {name} }}}}");
            !matches!(env.render_str(&probe, ()), Err(e) if e.kind() == ErrorKind::UnknownFilter)
        };
        for name in vartalaap_config::ENGINE_FILTERS {
            assert!(
                known(name),
                "config accepts `{name}` but the renderer lacks it"
            );
        }
    }

    #[test]
    fn tidy_collapses_spaces() {
        assert_eq!(tidy("  a  b   c. "), "A b c.");
        assert_eq!(tidy("चार लोग"), "चार लोग");
    }
}
