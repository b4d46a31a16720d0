//! The compile stage: schema-valid documents → validated model types, with semantic checks.
//!
//! Every check pushes a [`Diagnostic`] and carries on, so one run reports every problem
//! (vector's `compile` style). A document either compiles completely or yields its full list of
//! errors; nothing half-built escapes.

pub mod business;
pub mod flow;
mod limits;
pub mod plugin;
mod references;
mod template_vars;
pub(crate) mod warnings;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::schema::{self, SchemaKind};
use crate::yaml::{self, PosMap};

/// A YAML document that parsed and passed its schema.
pub struct Document {
    /// Path relative to the config root.
    pub file: String,
    /// The document as JSON.
    pub value: Value,
    /// Positions of its nodes.
    pub pos: PosMap,
}

/// Stage 1+2: parse YAML with positions and validate against the schema (all errors).
pub fn parse_document(
    kind: SchemaKind,
    file: &str,
    text: &str,
) -> Result<Document, Vec<Diagnostic>> {
    let (value, pos) = yaml::parse(text).map_err(|e| {
        vec![Diagnostic {
            file: file.to_string(),
            line: Some(e.pos.line),
            column: Some(e.pos.column),
            pointer: e.pointer,
            message: e.message,
        }]
    })?;
    if value.is_null() {
        return Err(vec![Diagnostic {
            file: file.to_string(),
            line: Some(1),
            column: Some(1),
            pointer: String::new(),
            message: "the file is empty; expected a mapping of keys".to_string(),
        }]);
    }
    let errors = fold_aliases(schema::validate(kind, &value, &pos, file), &pos);
    if errors.is_empty() {
        Ok(Document {
            file: file.to_string(),
            value,
            pos,
        })
    } else {
        Err(errors)
    }
}

/// A mistake inside a YAML anchor (`tuesday: &weekday [...]`) shows up once per alias that
/// reuses it (`wednesday: *weekday`, …). Report it once, at the anchor, saying which lines
/// reuse it, instead of once per day at the alias.
pub(crate) fn fold_aliases(diags: Vec<Diagnostic>, pos: &PosMap) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for mut d in diags {
        let mut inside = d.pointer.clone();
        while let Some(next) = pos.in_anchor(&inside) {
            inside = next;
        }
        let reused = pos.reused_at(&inside);
        if reused.is_empty() {
            out.push(d);
            continue;
        }
        let key = (d.file.clone(), inside.clone(), d.message.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let lines: Vec<String> = reused.iter().map(|p| p.line.to_string()).collect();
        d.pointer = inside;
        d.message = format!(
            "{}; this is inside an anchor that is reused (through `*` aliases) at line{} {}, so \
             each of those has the same mistake — fix it once here",
            d.message,
            if lines.len() == 1 { "" } else { "s" },
            lines.join(", ")
        );
        out.push(d);
    }
    out
}

/// Collects diagnostics for one document, locating JSON pointers through its position map.
pub struct Ctx<'a> {
    file: &'a str,
    pos: &'a PosMap,
    /// Diagnostics found so far.
    pub diags: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    /// A collector for `doc`.
    pub fn new(doc: &'a Document) -> Self {
        Ctx {
            file: &doc.file,
            pos: &doc.pos,
            diags: Vec::new(),
        }
    }

    /// An error about the value at `pointer`.
    pub fn err(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        let pointer = pointer.into();
        let p = self.pos.value(&pointer);
        self.push(pointer, p, message.into());
    }

    /// An error about the key whose value is at `pointer` (e.g. a misplaced modifier).
    pub fn err_key(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        let pointer = pointer.into();
        let p = self.pos.key(&pointer);
        self.push(pointer, p, message.into());
    }

    fn push(&mut self, pointer: String, p: Option<crate::yaml::Pos>, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: p.map(|p| p.line),
            column: p.map(|p| p.column),
            pointer,
            message,
        });
    }

    /// An error on line `n` (1-based) inside the multi-line string at `pointer`: located at
    /// that exact file line for literal blocks, else at the string's start.
    pub fn err_within(&mut self, pointer: impl Into<String>, n: usize, message: impl Into<String>) {
        let pointer = pointer.into();
        match self.pos.line_within(&pointer, n) {
            Some(p) => self.push(pointer, Some(p), message.into()),
            None => self.err(pointer, message),
        }
    }

    /// An error at byte `offset` of the template `source` held by the string at `pointer`:
    /// located at that exact line and column of the file when the string's style allows
    /// (see [`PosMap::char_within`]), else at its line (literal blocks) or start.
    pub fn err_in_template(
        &mut self,
        pointer: impl Into<String>,
        source: &str,
        offset: usize,
        message: impl Into<String>,
    ) {
        let pointer = pointer.into();
        let before = source.get(..offset.min(source.len())).unwrap_or(source);
        let one_line = !source.contains('\n');
        match self.pos.char_within(&pointer, before, one_line) {
            Some(p) => self.push(pointer, Some(p), message.into()),
            None => {
                let line = 1 + before.matches('\n').count();
                self.err_within(pointer, line, message);
            }
        }
    }

    /// Where the value at `pointer` starts (nearest existing ancestor if absent).
    pub fn position(&self, pointer: &str) -> Option<crate::yaml::Pos> {
        self.pos.value(pointer)
    }

    /// Deserializes the raw serde type; a failure here means schema and types drifted apart.
    pub fn raw<T: serde::de::DeserializeOwned>(&mut self, value: &Value) -> Option<T> {
        match serde_json::from_value(value.clone()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err("", format!("does not match the expected structure: {e}"));
                None
            }
        }
    }
}

/// Parses `HH:MM` (already pattern-checked by the schema).
pub fn parse_time(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s, "%H:%M").ok()
}
