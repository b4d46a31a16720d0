//! JSON Schema validation of parsed YAML, with every error mapped back to file:line:col.
//!
//! The schemas in `schemas/` are the contract editors see (through the `$schema` comment line) and
//! are embedded in the binary with `include_str!`, so validation works from any directory. We run
//! `iter_errors` to collect every problem in one pass, then rewrite each `jsonschema` error into an
//! owner-friendly sentence: unknown keys get a "did you mean", patterns get a name ("a valid
//! HH:MM time"), and `oneOf` noise is reduced to the branch that was meant.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::pointer;
use crate::suggest;
use crate::yaml::PosMap;

/// The business-file schema (`schemas/business.schema.json`), as shipped in this binary.
pub const BUSINESS_SCHEMA: &str = include_str!("../../../schemas/business.schema.json");
/// The flow-file schema (`schemas/flow.schema.json`), as shipped in this binary.
pub const FLOW_SCHEMA: &str = include_str!("../../../schemas/flow.schema.json");

/// Which kind of document is being validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `businesses/*.yaml`.
    Business,
    /// `flows/*.yaml`.
    Flow,
}

struct Compiled {
    validator: Validator,
    schema: Value,
}

fn compiled(kind: SchemaKind) -> Result<&'static Compiled, String> {
    static BUSINESS: OnceLock<Result<Compiled, String>> = OnceLock::new();
    static FLOW: OnceLock<Result<Compiled, String>> = OnceLock::new();
    let (cell, text) = match kind {
        SchemaKind::Business => (&BUSINESS, BUSINESS_SCHEMA),
        SchemaKind::Flow => (&FLOW, FLOW_SCHEMA),
    };
    cell.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("embedded schema is not JSON: {e}"))?;
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|e| format!("embedded schema does not compile: {e}"))?;
        Ok(Compiled { validator, schema })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Validates `value` against the schema of `kind`, returning every error with its position.
pub(crate) fn validate(
    kind: SchemaKind,
    value: &Value,
    pos: &PosMap,
    file: &str,
) -> Vec<Diagnostic> {
    let c = match compiled(kind) {
        Ok(c) => c,
        Err(e) => return vec![Diagnostic::file(file, format!("internal error: {e}"))],
    };
    let errors: Vec<ValidationError<'_>> = c.validator.iter_errors(value).collect();
    let meant = misspelt_required(&errors, &c.schema);
    let mut out = Vec::new();
    for err in &errors {
        if let ValidationErrorKind::Required { property } = err.kind()
            && let Some(name) = property.as_str()
            && meant.contains(&(err.instance_path().as_str().to_string(), name.to_string()))
        {
            // The misspelt key's "did you mean" already says it; a second error about the
            // missing key would send the author looking for a key they did write.
            continue;
        }
        for (ptr, at_key, message) in describe(err, &c.schema) {
            let p = if at_key {
                pos.key(&ptr)
            } else {
                pos.value(&ptr)
            };
            out.push(Diagnostic {
                file: file.to_string(),
                line: p.map(|p| p.line),
                column: p.map(|p| p.column),
                pointer: ptr,
                message,
            });
        }
    }
    out
}

/// (parent pointer, required key) pairs for which an unknown sibling key is a likely typo of
/// the required one (`capcity` for `capacity`): the unknown key's message names it instead.
fn misspelt_required(errors: &[ValidationError<'_>], schema: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for err in errors {
        let ValidationErrorKind::AdditionalProperties { unexpected } = err.kind() else {
            continue;
        };
        let known = known_keys(err, schema);
        let ptr = err.instance_path().as_str().to_string();
        for key in unexpected {
            if let Some(c) = suggest::closest(key, known.iter().copied()) {
                out.push((ptr.clone(), c.to_string()));
            }
        }
    }
    out
}

/// The keys the schema node of an `additionalProperties` error declares.
fn known_keys<'s>(err: &ValidationError<'_>, schema: &'s Value) -> Vec<&'s str> {
    schema_node(err, schema)
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// (pointer, point-at-key, message) for one validation error.
type Described = Vec<(String, bool, String)>;

fn describe(err: &ValidationError<'_>, schema: &Value) -> Described {
    let ptr = err.instance_path().as_str().to_string();
    let instance: &Value = err.instance();
    let here = |msg: String| vec![(ptr.clone(), false, msg)];
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = known_keys(err, schema);
            let required: Vec<&str> = schema_node(err, schema)
                .and_then(|n| n.get("required"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            unexpected
                .iter()
                .map(|key| {
                    let hint = match suggest::closest(key, known.iter().copied()) {
                        Some(c) if required.contains(&c) && instance.get(c).is_none() => {
                            format!("; did you mean `{c}`? (`{c}` is required and missing)")
                        }
                        Some(c) => format!("; did you mean `{c}`?"),
                        None if !known.is_empty() && known.len() <= 14 => {
                            format!("; expected one of: {}", known.join(", "))
                        }
                        None => String::new(),
                    };
                    (
                        pointer::join(&ptr, key),
                        true,
                        format!("unknown key `{key}`{hint}"),
                    )
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            vec![(ptr.clone(), true, format!("missing required key `{name}`"))]
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => type_word(&t.to_string()).to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| type_word(&t.to_string()).to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            here(format!("expected {expected}, found {}", show(instance)))
        }
        ValidationErrorKind::Pattern { pattern } => {
            let what = pattern_name(pattern);
            match what {
                // Phone numbers are never echoed: diagnostics end up in logs.
                Some(w) if pattern == PHONE_PATTERN => here(format!("the value is not {w}")),
                Some(w) => here(format!("{} is not {w}", show_scalar(instance))),
                None => here(format!(
                    "{} does not match the pattern {pattern}",
                    show_scalar(instance)
                )),
            }
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(show_scalar).collect())
                .unwrap_or_default();
            let hint = instance
                .as_str()
                .map(|s| {
                    let names: Vec<&str> = options
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    suggest::did_you_mean(s, names)
                })
                .unwrap_or_default();
            here(format!(
                "{} is not one of: {}{hint}",
                show_scalar(instance),
                opts.join(", ")
            ))
        }
        ValidationErrorKind::Constant { expected_value } => here(format!(
            "expected {}, found {}",
            show_scalar(expected_value),
            show(instance)
        )),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            let strict = matches!(err.kind(), ValidationErrorKind::ExclusiveMinimum { .. });
            here(format!(
                "{} is too small; it must be {} {limit}",
                show_scalar(instance),
                if strict { "more than" } else { "at least" }
            ))
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            let strict = matches!(err.kind(), ValidationErrorKind::ExclusiveMaximum { .. });
            here(format!(
                "{} is too large; it must be {} {limit}",
                show_scalar(instance),
                if strict { "less than" } else { "at most" }
            ))
        }
        ValidationErrorKind::MinItems { limit } => here(format!(
            "needs at least {limit} item(s), found {}",
            len(instance)
        )),
        ValidationErrorKind::MinLength { .. } => here("must not be empty".to_string()),
        ValidationErrorKind::MinProperties { limit } => {
            here(format!("needs at least {limit} entr(y/ies), found none"))
        }
        ValidationErrorKind::UniqueItems => {
            here("has duplicate entries; each may appear only once".to_string())
        }
        ValidationErrorKind::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or("?").to_string();
            let what = match error.kind() {
                ValidationErrorKind::Pattern { pattern } => pattern_name(pattern),
                _ => None,
            }
            .unwrap_or("a valid name");
            vec![(
                pointer::join(&ptr, &key),
                true,
                format!("key `{key}` is not {what}"),
            )]
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            let keys = one_of_keys(err, schema);
            let present: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| instance.get(k).is_some())
                .collect();
            let hint = if ptr.contains("/steps/") {
                "; a step does exactly one thing, split it into separate steps"
            } else {
                "; use exactly one"
            };
            here(format!(
                "has more than one of {}{hint}",
                backticked(&present)
            ))
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let all_required = context.iter().all(|branch| {
                !branch.is_empty()
                    && branch
                        .iter()
                        .all(|e| matches!(e.kind(), ValidationErrorKind::Required { .. }))
            });
            if all_required {
                let keys = one_of_keys(err, schema);
                return vec![(
                    ptr.clone(),
                    true,
                    format!("needs exactly one of {}", backticked(&keys)),
                )];
            }
            // Prefer a branch whose type matched (its errors are about the content the author
            // meant), and among those the one with the fewest errors.
            let type_mismatch = |branch: &Vec<ValidationError<'static>>| {
                branch.iter().any(|e| {
                    e.instance_path().as_str() == ptr
                        && matches!(e.kind(), ValidationErrorKind::Type { .. })
                })
            };
            let best = context
                .iter()
                .filter(|b| !type_mismatch(b))
                .min_by_key(|b| b.len());
            match best {
                Some(branch) => branch.iter().flat_map(|e| describe(e, schema)).collect(),
                None => {
                    let wanted: Vec<String> = context
                        .iter()
                        .flat_map(|b| b.iter())
                        .filter_map(|e| match e.kind() {
                            ValidationErrorKind::Type {
                                kind: TypeKind::Single(t),
                            } => Some(type_word(&t.to_string()).to_string()),
                            _ => None,
                        })
                        .collect();
                    here(format!(
                        "expected {}, found {}",
                        wanted.join(" or "),
                        show(instance)
                    ))
                }
            }
        }
        _ => here(err.to_string()),
    }
}

/// The schema object that holds the failing keyword (for `properties` / `oneOf` lookups).
fn schema_node<'s>(err: &ValidationError<'_>, schema: &'s Value) -> Option<&'s Value> {
    let uri = err.absolute_keyword_location()?;
    let fragment = percent_decode(uri.fragment()?.as_str());
    schema.pointer(pointer::parent(&fragment))
}

/// The single required key of each `oneOf` branch (our "exactly one of" idiom).
fn one_of_keys<'s>(err: &ValidationError<'_>, schema: &'s Value) -> Vec<&'s str> {
    schema_node(err, schema)
        .and_then(|n| n.get("oneOf"))
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|b| b.get("required")?.get(0)?.as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const PHONE_PATTERN: &str = "^\\+[0-9][0-9 ]{6,20}$";

fn pattern_name(pattern: &str) -> Option<&'static str> {
    Some(match pattern {
        "^([01][0-9]|2[0-3]):[0-5][0-9]$" => "a valid HH:MM time",
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" => "a valid YYYY-MM-DD date",
        "^[a-z][a-z0-9_]*$" => {
            "a valid identifier (lowercase letters, digits and _, starting with a letter)"
        }
        PHONE_PATTERN => {
            "a valid phone number (start with + and the country code, e.g. +91 135 271 0000)"
        }
        "^[a-z][a-z0-9_]*\\.[A-Za-z_][A-Za-z0-9_]*$" => {
            "a plugin function reference like `plugin_name.function_name`"
        }
        "^[A-Z]{2}$" => "a two-letter country code like IN",
        "^[a-z0-9_]+$" => "a valid WhatsApp template name (lowercase letters, digits and _)",
        _ => return None,
    })
}

fn type_word(t: &str) -> &str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "boolean" => "true or false",
        "null" => "nothing",
        other => other,
    }
}

fn backticked(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// A scalar as the author would recognise it: strings quoted, numbers and bools bare.
fn show_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) | Value::Object(_) => show(v),
        other => other.to_string(),
    }
}

/// A value with its kind, for "expected X, found Y" messages.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "nothing (empty value)".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn errs(kind: SchemaKind, text: &str) -> Vec<String> {
        let (v, pos) = yaml::parse(text).unwrap();
        validate(kind, &v, &pos, "f.yaml")
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn embedded_schemas_compile() {
        assert!(compiled(SchemaKind::Business).is_ok());
        assert!(compiled(SchemaKind::Flow).is_ok());
    }

    #[test]
    fn flow_step_messages() {
        let e = errs(
            SchemaKind::Flow,
            "id: x\nsteps:\n  - id: a\n    sya: hi\n  - id: b\n    say: hi\n    end: true\n  - id: c\n    goto: 5\n",
        );
        assert!(
            e.contains(&"f.yaml:4:5 /steps/0/sya: unknown key `sya`; did you mean `say`?".into()),
            "{e:#?}"
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("f.yaml:3:5 /steps/0: needs exactly one of `say`")),
            "{e:#?}"
        );
        assert!(
            e.contains(&"f.yaml:5:5 /steps/1: has more than one of `say`, `end`; a step does exactly one thing, split it into separate steps".into()),
            "{e:#?}"
        );
        assert!(
            e.iter().any(|m| m.starts_with(
                "f.yaml:9:11 /steps/2/goto: expected string or a mapping, found integer 5"
            )),
            "{e:#?}"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/%24defs/step"), "/$defs/step");
    }
}
