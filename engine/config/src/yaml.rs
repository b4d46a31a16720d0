//! YAML text → `serde_json::Value` plus a JSON-pointer → source-position map.
//!
//! Why not `serde_yaml`: it deserializes straight into types and exposes no per-node spans, so an
//! error found later (by the JSON Schema or a semantic check) could not be pointed back at a line
//! and column. We use `saphyr-parser`'s event API instead: every scalar, sequence and mapping event
//! carries a [`saphyr_parser::Span`], and we build the value tree and the position map in one walk.
//! `saphyr-parser` is a small, dependency-free, YAML 1.2–compliant parser (the maintained successor
//! of `yaml-rust`), which also means plain `12:00` stays a string (YAML 1.1 would read it as a
//! base-60 integer) and `yes`/`no` stay strings.
//!
//! Scalars are resolved with the YAML 1.2 core schema: `null`/`~`/empty → null, `true`/`false` →
//! bool, decimal/octal/hex integers, floats; quoted scalars are always strings.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::pointer;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl Pos {
    fn from_span(span: &Span) -> Self {
        Pos {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Where each node of a parsed document sits in the source.
///
/// Keys are RFC 6901 JSON pointers (`/hours/tuesday/0/close`). For mapping entries we keep the
/// key's position too, so "unknown key" errors can point at the key rather than its value.
#[derive(Debug, Default, Clone)]
pub struct PosMap {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
    /// Pointers of literal block scalars (`|`), whose content lines map 1:1 to file lines.
    literal: std::collections::HashSet<String>,
    /// Where an alias (`*weekday`) was expanded: its pointer, the pointer of the anchored
    /// node it copies, and the alias's position. Nodes inside an expansion have no position
    /// of their own; they are found inside the anchor.
    aliases: Vec<(String, String, Pos)>,
    /// Quoted scalars (`"…"`, `'…'`) by pointer, with their quote character: their text
    /// starts one column after the value and some characters are written escaped.
    quoted: HashMap<String, char>,
}

impl PosMap {
    /// Position of the value at `pointer`, or of its nearest existing ancestor (a missing
    /// property is reported where its parent object starts).
    pub fn value(&self, pointer: &str) -> Option<Pos> {
        if !self.values.contains_key(pointer)
            && let Some(inside) = self.in_anchor(pointer)
        {
            return self.value(&inside);
        }
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = pointer::parent(p);
        }
    }

    /// Where line `n` (1-based) of the string at `pointer` starts, when that string is a
    /// literal block (`|`); other styles fold or escape lines, so no exact mapping exists.
    pub fn line_within(&self, pointer: &str, n: usize) -> Option<Pos> {
        if !self.literal.contains(pointer) {
            return None;
        }
        // A literal block's span starts at its first content line, at the content indent.
        let start = self.values.get(pointer)?;
        let line = start
            .line
            .checked_add(u32::try_from(n).ok()?)?
            .checked_sub(1)?;
        Some(Pos {
            line,
            column: start.column,
        })
    }

    /// Where the template text `before` ends inside the string at `pointer` (i.e. the file
    /// position of the next character): exact for literal blocks and for one-line plain or
    /// quoted strings (counting the characters a quoted style writes escaped); `None` for
    /// folded and multi-line flow strings, whose lines are joined when read.
    pub fn char_within(&self, pointer: &str, before: &str, one_line: bool) -> Option<Pos> {
        let n = 1 + before.matches('\n').count();
        let last = before.rsplit_once('\n').map_or(before, |(_, l)| l);
        let col = u32::try_from(last.chars().count()).ok()?;
        if self.literal.contains(pointer) {
            let start = self.line_within(pointer, n)?;
            return Some(Pos {
                line: start.line,
                column: start.column + col,
            });
        }
        if !one_line {
            return None;
        }
        let start = self.values.get(pointer)?;
        let shift = match self.quoted.get(pointer) {
            None => 0,
            Some('\'') => 1 + last.matches('\'').count(),
            Some(_) => 1 + last.matches(['"', '\\']).count(),
        };
        Some(Pos {
            line: start.line,
            column: start.column + u32::try_from(shift).ok()? + col,
        })
    }

    /// For a node inside an alias expansion (`/hours/wednesday/0/close` where `wednesday:
    /// *weekday`), the pointer of the same node inside the anchor (`/hours/tuesday/0/close`).
    pub fn in_anchor(&self, pointer: &str) -> Option<String> {
        self.aliases.iter().find_map(|(alias, anchor, _)| {
            let rest = pointer.strip_prefix(alias.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{anchor}{rest}"))
        })
    }

    /// Where the node at `pointer` (inside an anchor) is reused through aliases: the alias
    /// positions whose expansion contains it.
    pub fn reused_at(&self, pointer: &str) -> Vec<Pos> {
        self.aliases
            .iter()
            .filter(|(_, anchor, _)| {
                pointer
                    .strip_prefix(anchor.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(_, _, pos)| *pos)
            .collect()
    }

    /// Position of the mapping key whose value is at `pointer` (falls back to [`Self::value`]).
    pub fn key(&self, pointer: &str) -> Option<Pos> {
        self.keys
            .get(pointer)
            .copied()
            .or_else(|| {
                let inside = self.in_anchor(pointer)?;
                self.keys.get(&inside).copied()
            })
            .or_else(|| self.value(pointer))
    }
}

/// A YAML problem that stops us from building a value tree at all.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where the problem was detected.
    pub pos: Pos,
    /// The JSON pointer of the node being built when the problem occurred ("" at top level).
    pub pointer: String,
    /// What went wrong, in words an owner can act on.
    pub message: String,
}

/// Deepest nesting accepted (real files use fewer than 10 levels).
const MAX_DEPTH: usize = 64;
/// Most values a document may expand to, counting each alias expansion in full.
const MAX_NODES: usize = 1_000_000;
/// Most bytes of text a document may expand to: every scalar and key, every alias expansion in
/// full, and the JSON pointer kept for each node's position. Real files expand to well under
/// 1 MiB; without this a 1 MB file of aliases to one long string (or of long keys nested deep,
/// each repeated in every descendant's pointer) would grow to gigabytes before any check ran.
pub const MAX_EXPANDED_BYTES: usize = 16 * 1024 * 1024;

/// Parses one YAML document into a JSON value and its position map.
pub fn parse(text: &str) -> Result<(Value, PosMap), YamlError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        map: PosMap::default(),
        anchors: HashMap::new(),
        last: Pos { line: 1, column: 1 },
        budget: MAX_NODES,
        bytes_left: MAX_EXPANDED_BYTES,
    };
    builder
        .document()
        .map_err(|e| explain_unclosed_quote(text, e))
}

/// A syntax error caused by a quote that is never closed is detected where the parser runs
/// out (often lines later, or at the end of the file) with a message about scalars; point at
/// the opening quote instead and say what is missing.
fn explain_unclosed_quote(text: &str, err: YamlError) -> YamlError {
    if !err.message.starts_with("YAML syntax error") {
        return err;
    }
    let Some((pos, quote)) = unclosed_quote(text, err.pos.line) else {
        return err;
    };
    YamlError {
        pos,
        pointer: err.pointer,
        message: format!(
            "YAML syntax error: the quoted value starting here is never closed; add the closing \
             {quote} at the end of the value (the parser stopped at line {}: {})",
            err.pos.line,
            err.message.trim_start_matches("YAML syntax error: ")
        ),
    }
}

/// The first quote, on a line up to `last_line`, that opens a value and is not closed on the
/// same line (multi-line quoted values are legal YAML but nearly always a mistake in these
/// files, and this is only consulted once parsing has failed).
fn unclosed_quote(text: &str, last_line: u32) -> Option<(Pos, char)> {
    for (n, line) in text.lines().enumerate().take(last_line as usize) {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        let mut prev = None; // last non-space character before `i`
        while i < chars.len() {
            let c = chars[i];
            if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) {
                break; // a comment
            }
            let opens_value = matches!(prev, None | Some(':' | '-' | '[' | '{' | ','));
            if (c == '"' || c == '\'') && opens_value {
                match closing(&chars, i) {
                    Some(end) => {
                        i = end + 1;
                        prev = Some(c);
                        continue;
                    }
                    None => {
                        let pos = Pos {
                            line: u32::try_from(n + 1).unwrap_or(u32::MAX),
                            column: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        };
                        return Some((pos, c));
                    }
                }
            }
            if !c.is_whitespace() {
                prev = Some(c);
            }
            i += 1;
        }
    }
    None
}

/// Index of the quote closing the one at `start` on this line (`\"` escapes in double quotes,
/// `''` in single quotes).
fn closing(chars: &[char], start: usize) -> Option<usize> {
    let q = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if q == '"' && c == '\\' {
            i += 2;
            continue;
        }
        if c == q {
            if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    map: PosMap,
    /// Anchored nodes by id: value, cost (nodes and bytes, paid again at every alias),
    /// pointer where defined.
    anchors: HashMap<usize, (Value, Cost, String)>,
    last: Pos,
    /// Nodes still allowed, counting alias expansions ("billion laughs" protection).
    budget: usize,
    /// Bytes still allowed (see [`MAX_EXPANDED_BYTES`]).
    bytes_left: usize,
}

/// What a value costs against the document's budgets.
#[derive(Debug, Clone, Copy)]
struct Cost {
    nodes: usize,
    bytes: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self, pointer: &str) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok((ev, span))) => {
                self.last = Pos::from_span(&span);
                Ok((ev, span))
            }
            Some(Err(e)) => {
                let m = e.marker();
                Err(YamlError {
                    pos: Pos {
                        line: u32::try_from(m.line()).unwrap_or(u32::MAX).max(1),
                        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
                    },
                    pointer: pointer.to_string(),
                    message: format!("YAML syntax error: {}", e.info()),
                })
            }
            None => Err(self.err(pointer, "unexpected end of the YAML stream")),
        }
    }

    fn err(&self, pointer: &str, message: impl Into<String>) -> YamlError {
        YamlError {
            pos: self.last,
            pointer: pointer.to_string(),
            message: message.into(),
        }
    }

    fn document(&mut self) -> Result<(Value, PosMap), YamlError> {
        let mut value = None;
        loop {
            let (ev, span) = self.next("")?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) => {
                    if value.is_some() {
                        return Err(self.err(
                            "",
                            "the file holds more than one YAML document (a second `---`); \
                             put one business or flow per file",
                        ));
                    }
                    let (ev, span) = self.next("")?;
                    value = Some(self.node(ev, span, String::new())?);
                }
                Event::StreamEnd => break,
                other => {
                    let _ = span;
                    return Err(self.err("", format!("unexpected YAML event {other:?}")));
                }
            }
        }
        let value = value.unwrap_or(Value::Null);
        Ok((value, std::mem::take(&mut self.map)))
    }

    fn node(&mut self, ev: Event<'a>, span: Span, ptr: String) -> Result<Value, YamlError> {
        let pos = Pos::from_span(&span);
        // Bounded recursion: a pathological file must produce an error, not a stack overflow.
        if ptr.matches('/').count() > MAX_DEPTH {
            return Err(YamlError {
                pos,
                pointer: ptr,
                message: format!("nesting is deeper than {MAX_DEPTH} levels"),
            });
        }
        self.spend(
            &ptr,
            Cost {
                nodes: 1,
                bytes: ptr.len(),
            },
        )?;
        self.map.values.insert(ptr.clone(), pos);
        let (value, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                match style {
                    ScalarStyle::Literal => {
                        self.map.literal.insert(ptr.clone());
                    }
                    ScalarStyle::SingleQuoted => {
                        self.map.quoted.insert(ptr.clone(), '\'');
                    }
                    ScalarStyle::DoubleQuoted => {
                        self.map.quoted.insert(ptr.clone(), '"');
                    }
                    _ => {}
                }
                self.spend(
                    &ptr,
                    Cost {
                        nodes: 0,
                        bytes: text.len(),
                    },
                )?;
                let forced_str = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
                let v = if style == ScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                (v, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let child = format!("{ptr}/{}", items.len());
                    let (ev, span) = self.next(&child)?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span, child)?);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(anchor, _) => (Value::Object(self.mapping(&ptr)?), anchor),
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, cost, anchor_ptr)) => {
                    // Pay before copying, so a huge expansion is refused without building it.
                    let (cost, anchor_ptr) = (*cost, anchor_ptr.clone());
                    // The alias is also remembered with both paths (for error locations).
                    let record = Cost {
                        nodes: 0,
                        bytes: ptr.len() + anchor_ptr.len(),
                    };
                    self.spend(&ptr, cost.plus(record))?;
                    self.map.aliases.push((ptr.clone(), anchor_ptr, pos));
                    let v = self
                        .anchors
                        .get(&id)
                        .map(|(v, _, _)| v.clone())
                        .unwrap_or_default();
                    (v, 0)
                }
                None => return Err(self.err(&ptr, "alias refers to an unknown anchor")),
            },
            other => return Err(self.err(&ptr, format!("unexpected YAML event {other:?}"))),
        };
        if anchor != 0 {
            let cost = cost_of(&value);
            self.anchors
                .insert(anchor, (value.clone(), cost, ptr.clone()));
        }
        Ok(value)
    }

    fn spend(&mut self, ptr: &str, cost: Cost) -> Result<(), YamlError> {
        let Some(nodes_left) = self.budget.checked_sub(cost.nodes) else {
            return Err(self.err(
                ptr,
                format!("the document expands to more than {MAX_NODES} values (through aliases)"),
            ));
        };
        let Some(bytes_left) = self.bytes_left.checked_sub(cost.bytes) else {
            return Err(self.err(
                ptr,
                format!(
                    "the document expands to more than {} MiB of text (through aliases, or long \
                     keys repeated in every nested path); real files need far less — remove the \
                     repeated aliases or shorten the keys",
                    MAX_EXPANDED_BYTES / (1024 * 1024)
                ),
            ));
        };
        self.budget = nodes_left;
        self.bytes_left = bytes_left;
        Ok(())
    }

    fn mapping(&mut self, ptr: &str) -> Result<Map<String, Value>, YamlError> {
        let mut obj = Map::new();
        loop {
            let (ev, span) = self.next(ptr)?;
            let key = match ev {
                Event::MappingEnd => break,
                Event::Scalar(text, ..) => text.into_owned(),
                _ => {
                    return Err(self.err(
                        ptr,
                        "mapping keys must be plain words, not lists or mappings",
                    ));
                }
            };
            self.spend(
                ptr,
                Cost {
                    nodes: 0,
                    bytes: key.len(),
                },
            )?;
            let child = format!("{ptr}/{}", pointer::escape(&key));
            let key_pos = Pos::from_span(&span);
            if obj.contains_key(&key) {
                return Err(YamlError {
                    pos: key_pos,
                    pointer: child,
                    message: format!("duplicate key `{key}`; each key may appear only once"),
                });
            }
            self.map.keys.insert(child.clone(), key_pos);
            let (ev, span) = self.next(&child)?;
            let value = self.node(ev, span, child)?;
            obj.insert(key, value);
        }
        Ok(obj)
    }
}

/// Nodes and text bytes in a value, what copying it for an alias costs (depth is bounded by
/// `MAX_DEPTH`, so recursion is safe). Numbers and other scalars count a machine word.
fn cost_of(v: &Value) -> Cost {
    let word = std::mem::size_of::<usize>();
    match v {
        Value::String(s) => Cost {
            nodes: 1,
            bytes: s.len(),
        },
        Value::Array(a) => a.iter().map(cost_of).fold(
            Cost {
                nodes: 1,
                bytes: word,
            },
            Cost::plus,
        ),
        Value::Object(o) => o.iter().fold(
            Cost {
                nodes: 1,
                bytes: word,
            },
            |acc, (k, v)| {
                acc.plus(Cost {
                    nodes: 0,
                    bytes: k.len(),
                })
                .plus(cost_of(v))
            },
        ),
        _ => Cost {
            nodes: 1,
            bytes: word,
        },
    }
}

impl Cost {
    fn plus(self, other: Cost) -> Cost {
        Cost {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }
}

/// YAML 1.2 core-schema resolution of a plain (unquoted) scalar.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Value::Number(n);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn parse_int(text: &str) -> Option<Number> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) || (radix != 10 && neg) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude).ok()?;
        Some(Number::from(-v))
    } else {
        Some(Number::from(magnitude))
    }
}

fn is_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = {
        let mut parts = mantissa.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        let int_ok = int.chars().all(|c| c.is_ascii_digit());
        let frac_ok = frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()));
        int_ok && frac_ok && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_value_and_positions() {
        let text = "a: 1\nhours:\n  tuesday:\n    - open: \"12:00\"\n      close: 25:00\n";
        let (v, map) = parse(text).unwrap();
        assert_eq!(
            v,
            json!({"a": 1, "hours": {"tuesday": [{"open": "12:00", "close": "25:00"}]}})
        );
        assert_eq!(
            map.value("/hours/tuesday/0/close"),
            Some(Pos {
                line: 5,
                column: 14
            })
        );
        assert_eq!(
            map.key("/hours/tuesday/0/close"),
            Some(Pos { line: 5, column: 7 })
        );
        // A missing child falls back to its parent.
        assert_eq!(
            map.value("/hours/tuesday/0/last_seating"),
            Some(Pos { line: 4, column: 7 })
        );
    }

    #[test]
    fn literal_block_lines() {
        let text = "a: 1\nt: |\n  one\n  two {{\n  three\n";
        let (_, map) = parse(text).unwrap();
        assert_eq!(map.line_within("/t", 2), Some(Pos { line: 4, column: 3 }));
        assert_eq!(map.line_within("/a", 1), None);
    }

    #[test]
    fn core_schema_scalars() {
        let (v, _) =
            parse("[~, true, no, 12, -3, 0x1f, 1.5, 12:00, '12', 2026-12-31, +91 135]").unwrap();
        assert_eq!(
            v,
            json!([
                null,
                true,
                "no",
                12,
                -3,
                31,
                1.5,
                "12:00",
                "12",
                "2026-12-31",
                "+91 135"
            ])
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.message.starts_with("YAML syntax error"), "{err:?}");
        assert!(err.pos.line >= 2, "{err:?}");
    }

    #[test]
    fn unclosed_quote_is_reported_at_the_opening_quote() {
        let text = "a: \"x\"\nb: [\"09:00\", 'it''s']\nc: \"Hello, there\n# note\nd: \"Bye\"\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, column: 4 }, "{err:?}");
        assert!(
            err.message
                .contains("the quoted value starting here is never closed"),
            "{err:?}"
        );
        // An apostrophe inside a plain value is not a quote.
        assert_eq!(unclosed_quote("a: it's fine\nb: [1, 2\n", 3), None);
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 1 });
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let text = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("deeper than 64"), "{err:?}");
        // Far deeper input is stopped by the parser's own limit.
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&text).is_err());
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("expands to more than"), "{err:?}");
    }

    #[test]
    fn aliases_of_a_long_string_are_stopped_by_the_byte_budget() {
        // Few values, but each alias copies 64 KiB: 1,000 of them would be 64 MiB.
        let mut text = format!("s: &s \"{}\"\nl:\n", "x".repeat(64 * 1024));
        for _ in 0..1_000 {
            text.push_str("  - *s\n");
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{err:?}");
        // Located at the alias that crossed the budget, inside the list.
        assert!(err.pointer.starts_with("/l/"), "{err:?}");
        assert!(err.pos.line > 2, "{err:?}");
        // The same file with a few aliases is fine.
        let few = format!("s: &s \"{}\"\nl: [*s, *s, *s]\n", "x".repeat(64 * 1024));
        assert!(parse(&few).is_ok());
    }

    #[test]
    fn long_keys_nested_deep_are_stopped_by_the_byte_budget() {
        // 60 levels of 1,000-byte keys (YAML's longest implicit key): every leaf's pointer
        // repeats all of them, 60 KB each, so 1,000 leaves would keep 60 MB of pointers.
        let mut text = String::new();
        for depth in 0..60 {
            text.push_str(&" ".repeat(depth));
            text.push_str(&format!("{}{depth:02}:\n", "k".repeat(1_000)));
        }
        for leaf in 0..1_000 {
            text.push_str(&" ".repeat(60));
            text.push_str(&format!("v{leaf}: 1\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{err:?}");
    }

    #[test]
    fn anchors_and_aliases() {
        let (v, _) = parse("x: &w {open: '12:00'}\ny: *w\n").unwrap();
        assert_eq!(v["y"], json!({"open": "12:00"}));
    }
}
