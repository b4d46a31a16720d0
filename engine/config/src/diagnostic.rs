//! One error type for every configuration problem, shared by the CLI, logs, health and tests.

use std::fmt;

use serde::Serialize;

/// One problem found in a configuration file, with enough context to fix it without searching.
///
/// Displays as `businesses/himalayan_kitchen.yaml:41:14 /hours/tuesday/0/close: "25:00" is not
/// a valid HH:MM time` (file relative to the config root, 1-based line and column, the JSON
/// pointer of the offending node, then the message). Serializes with the same fields for
/// `vartalaap validate --format json` and `GET /health/config`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Diagnostic {
    /// Path of the file, relative to the config root, with `/` separators.
    pub file: String,
    /// 1-based line, when the problem has a location inside the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// JSON pointer to the node at fault ("" for the whole document, absent for plugin scripts).
    pub pointer: String,
    /// What was wrong and, where possible, what was expected or meant.
    pub message: String,
}

impl Diagnostic {
    /// A problem with the file as a whole (unreadable, missing, …).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: None,
            column: None,
            pointer: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if !self.pointer.is_empty() {
            write!(f, " {}", self.pointer)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Sorts diagnostics by file, line and column and drops exact duplicates (a broken flow used by
/// two businesses is reported once).
pub fn normalize(diags: &mut Vec<Diagnostic>) {
    diags.sort();
    diags.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_format() {
        let d = Diagnostic {
            file: "businesses/himalayan_kitchen.yaml".into(),
            line: Some(41),
            column: Some(14),
            pointer: "/hours/tuesday/0/close".into(),
            message: "\"25:00\" is not a valid HH:MM time".into(),
        };
        assert_eq!(
            d.to_string(),
            "businesses/himalayan_kitchen.yaml:41:14 /hours/tuesday/0/close: \"25:00\" is not a valid HH:MM time"
        );
        assert_eq!(
            Diagnostic::file("flows/x.yaml", "cannot read file").to_string(),
            "flows/x.yaml: cannot read file"
        );
    }
}
