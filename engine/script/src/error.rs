//! Script failures, with the file and line an author needs to fix them.
//!
//! Every variant prints as `file:line:col: what happened`, like compiler output, so a log line
//! or a `vartalaap validate` report can be clicked straight to the spot.

use std::fmt;

use rhai::{EvalAltResult, Position};

use crate::sandbox::{ScriptLimits, TIME_TOKEN};

/// Which sandbox limit stopped a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Too many operations (a runaway loop).
    Operations,
    /// The CPU-time budget ran out.
    Time,
    /// Function calls nested too deeply (runaway recursion).
    Depth,
    /// A string, array or map grew past its limit.
    Size,
    /// Too many variables alive at once.
    Variables,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Operations => "operations",
            Limit::Time => "time",
            Limit::Depth => "depth",
            Limit::Size => "size",
            Limit::Variables => "variables",
        })
    }
}

/// Where a script ran: a plugin file, or an expression in a flow step.
///
/// Lines and columns are 1-based; `None` when unknown (a flow expression's line in its YAML
/// file is not recorded by the config crate, so expression errors name the step instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File relative to the config root (`plugins/festival_closures.rhai`,
    /// `flows/make_reservation.yaml`).
    pub file: String,
    /// Line in that file.
    pub line: Option<u32>,
    /// Column in that line.
    pub col: Option<u32>,
}

impl Location {
    pub(crate) fn new(file: impl Into<String>, pos: Position) -> Location {
        Location {
            file: file.into(),
            line: pos.line().and_then(|l| u32::try_from(l).ok()),
            col: pos.position().and_then(|c| u32::try_from(c).ok()),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// A script that could not produce a usable result. The script was stopped; nothing it did
/// persists (scripts have no side effects beyond their return value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The script or expression does not parse with the sandboxed engine.
    #[error("{at}: syntax error: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// What the parser expected.
        message: String,
    },
    /// The script failed while running (type error, missing property, `throw`).
    #[error("{at}: script error: {message}")]
    Runtime {
        /// Where.
        at: Location,
        /// What went wrong.
        message: String,
    },
    /// A sandbox limit stopped the script.
    #[error("{at}: script stopped: {detail}")]
    LimitExceeded {
        /// Which limit.
        which: Limit,
        /// Where the script was when it was stopped.
        at: Location,
        /// The limit in words (`exceeded 100000 operations`).
        detail: String,
    },
    /// The plugin does not define the function with that many parameters.
    #[error("{file}: no function `{function}` with {arity} parameter(s) in plugin `{plugin}`")]
    MissingFunction {
        /// Plugin file.
        file: String,
        /// Plugin id.
        plugin: String,
        /// Function name.
        function: String,
        /// Number of arguments it was called with.
        arity: usize,
    },
    /// The business does not use a plugin with this id.
    #[error("unknown plugin `{plugin}`; list it under `plugins:` in the business file")]
    UnknownPlugin {
        /// Plugin id asked for.
        plugin: String,
    },
    /// The script returned a value of the wrong shape.
    #[error("{at}: {what} returned {found}, expected {expected}")]
    BadReturn {
        /// Where.
        at: Location,
        /// Which expression or function.
        what: String,
        /// What the caller needs.
        expected: String,
        /// What it got (type and short value).
        found: String,
    },
}

impl ScriptError {
    /// Where the error happened.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ScriptError::Syntax { at, .. }
            | ScriptError::Runtime { at, .. }
            | ScriptError::LimitExceeded { at, .. }
            | ScriptError::BadReturn { at, .. } => Some(at),
            ScriptError::MissingFunction { .. } | ScriptError::UnknownPlugin { .. } => None,
        }
    }

    /// The limit that stopped the script, if that is what happened.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            ScriptError::LimitExceeded { which, .. } => Some(*which),
            _ => None,
        }
    }

    /// Converts a Rhai error. `file` is the script's file; `expr_note`, for flow expressions,
    /// names the expression and step (their positions are relative to the expression).
    pub(crate) fn from_rhai(
        err: &EvalAltResult,
        file: &str,
        expr: Option<&ExprAt>,
        limits: &ScriptLimits,
    ) -> ScriptError {
        let expr_note = expr.map(|e| e.note.as_str());
        // Errors inside script functions are wrapped once per call level; the innermost one
        // has the position inside the plugin.
        let inner = err.unwrap_inner();
        let pos = inner.position();
        let at = match expr {
            // Expression positions are columns within the expression; the location is the
            // expression's place in its flow file.
            Some(e) => e.at.clone(),
            None => Location::new(file, pos),
        };
        let with_note = |message: String| match expr_note {
            Some(note) => match pos.position() {
                Some(col) => format!("{message} (in {note}, column {col})"),
                None => format!("{message} (in {note})"),
            },
            None => message,
        };
        let limit = |which: Limit, detail: String| ScriptError::LimitExceeded {
            which,
            at: at.clone(),
            detail: with_note(detail),
        };
        match inner {
            EvalAltResult::ErrorTooManyOperations(..) => limit(
                Limit::Operations,
                format!("exceeded {} operations", limits.max_operations),
            ),
            EvalAltResult::ErrorTerminated(token, ..)
                if token.clone().into_string().is_ok_and(|t| t == TIME_TOKEN) =>
            {
                limit(
                    Limit::Time,
                    format!("exceeded {} ms of CPU time", limits.cpu_time.as_millis()),
                )
            }
            EvalAltResult::ErrorStackOverflow(..) => limit(
                Limit::Depth,
                format!("exceeded call depth {}", limits.max_call_depth),
            ),
            EvalAltResult::ErrorDataTooLarge(what, ..) => limit(
                Limit::Size,
                format!(
                    "{what} exceeds the limit (strings {} bytes, arrays {} items, maps {} keys)",
                    limits.max_string_size, limits.max_array_size, limits.max_map_size
                ),
            ),
            EvalAltResult::ErrorTooManyVariables(..) => limit(
                Limit::Variables,
                format!("exceeded {} variables", limits.max_variables),
            ),
            EvalAltResult::ErrorParsing(parse, ..) => ScriptError::Syntax {
                at,
                message: with_note(parse.to_string()),
            },
            EvalAltResult::ErrorModuleNotFound(..) | EvalAltResult::ErrorTooManyModules(..) => {
                ScriptError::Runtime {
                    at,
                    message: with_note(
                        "`import` is not allowed: plugins cannot load files or modules".into(),
                    ),
                }
            }
            other => {
                let mut message = other.to_string();
                if !pos.is_none()
                    && let Some(stripped) = message.strip_suffix(&format!(" ({pos})"))
                {
                    message = stripped.to_string();
                }
                ScriptError::Runtime {
                    at,
                    message: with_note(message),
                }
            }
        }
    }

    /// Converts a parse error of a plugin or expression.
    pub(crate) fn from_parse(
        err: &rhai::ParseError,
        file: &str,
        expr: Option<&ExprAt>,
    ) -> ScriptError {
        let pos = err.position();
        match expr {
            Some(e) => ScriptError::Syntax {
                at: e.at.clone(),
                message: match pos.position() {
                    Some(col) => format!("{} (in {}, column {col})", err.err_type(), e.note),
                    None => format!("{} (in {})", err.err_type(), e.note),
                },
            },
            None => ScriptError::Syntax {
                at: Location::new(file, pos),
                message: err.err_type().to_string(),
            },
        }
    }
}

/// A flow expression's place in its file and a description (`\`slots.x > 1\` at step
/// \`check\``) for messages.
#[derive(Debug, Clone)]
pub(crate) struct ExprAt {
    pub(crate) at: Location,
    pub(crate) note: String,
}
