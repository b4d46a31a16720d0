//! What went wrong in one turn that the owner can fix: template and plugin errors, and the
//! slots the caller had to correct.
//!
//! The conversation always takes a safe path past a broken template or script (nothing said,
//! a hook's default, a step's `on_failure`), so a call never crashes on one. But the owner needs
//! to know, and where: each [`ConfigProblem`] names the file, line or YAML path, and the flow
//! step that was running. The call log stores them on the bot's reply and the offline reviewer
//! turns them into `config_error` findings. Messages never carry caller data: a thrown value,
//! a slot value in an error, or a script's returned value is left out.

use vartalaap_script::ScriptError;

use crate::conversation::Conversation;
use crate::render::RenderError;

/// Which kind of configuration failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemSource {
    /// A prompt template did not render.
    Template,
    /// A plugin hook (`before_booking`, `on_slot`) failed.
    Hook,
    /// A flow's `call` step into a plugin failed.
    Plugin,
    /// A flow expression (`set`, `if`, `validate`) failed.
    Expression,
    /// The flow itself misbehaved (an unknown flow, a step out of range, runaway steps).
    Flow,
}

/// One template or plugin error met in a turn (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// What failed.
    pub source: ProblemSource,
    /// Template name, hook name, `plugin.function`, or the step of a failing expression.
    pub name: String,
    /// File to fix, from the configuration root.
    pub file: Option<String>,
    /// Line in that file (or in the template), when known.
    pub line: Option<u32>,
    /// JSON pointer into the YAML file, when known.
    pub yaml_path: Option<String>,
    /// Flow running when it happened.
    pub flow: Option<String>,
    /// Step running when it happened.
    pub step: Option<String>,
    /// What went wrong, without caller data.
    pub message: String,
}

/// A script error's message without anything a script computed from caller data: the kind of
/// failure and the code it names (function, variable, property, limit), never a thrown value
/// or a returned value.
pub fn script_message(e: &ScriptError) -> String {
    match e {
        ScriptError::Syntax { message, .. } => format!("syntax error: {message}"),
        ScriptError::Runtime { message, .. } => {
            let (kind, detail) = message.split_once(':').unwrap_or((message.as_str(), ""));
            let names_code = [
                "Function not found",
                "Variable not found",
                "Property not found",
                "Unknown property",
                "Indexer not found",
            ]
            .iter()
            .any(|k| kind.trim().starts_with(k));
            if names_code && !detail.trim().is_empty() {
                format!("script error: {}: {}", kind.trim(), detail.trim())
            } else {
                format!("script error: {}", kind.trim())
            }
        }
        ScriptError::LimitExceeded { detail, .. } => format!("script stopped: {detail}"),
        ScriptError::MissingFunction { .. } | ScriptError::UnknownPlugin { .. } => e.to_string(),
        ScriptError::BadReturn { what, expected, .. } => {
            format!("{what} returned the wrong kind of value (expected {expected})")
        }
    }
}

impl Conversation {
    /// The business's own file (`businesses/<id>.yaml`), where its templates live.
    fn business_file(&self) -> String {
        self.snap
            .files
            .iter()
            .find(|f| f.starts_with("businesses/"))
            .cloned()
            .unwrap_or_else(|| format!("businesses/{}.yaml", self.snap.business.id))
    }

    /// The running flow, step, its file and its JSON pointer (`/steps/<n>`).
    fn here(
        &self,
    ) -> (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        match &self.frame {
            Some(f) => (
                Some(f.flow.id.clone()),
                f.flow.steps.get(f.step).map(|s| s.id.clone()),
                Some(f.flow.file.clone()),
                Some(format!("/steps/{}", f.step)),
            ),
            None => (None, None, None, None),
        }
    }

    /// Records a problem for this turn, and its full text in [`Conversation::errors`].
    fn record(&mut self, problem: ConfigProblem, full: String) {
        self.errors.push(full);
        self.turn_problems.push(problem);
    }

    /// A template that did not render.
    pub(crate) fn template_failed(&mut self, e: &RenderError) {
        let (flow, step, _, _) = self.here();
        let problem = ConfigProblem {
            source: ProblemSource::Template,
            name: e.name.clone(),
            file: Some(self.business_file()),
            line: e.source.line().and_then(|l| u32::try_from(l).ok()),
            yaml_path: Some(format!("/prompts/{}/{}", e.lang.code(), e.name)),
            flow,
            step,
            // The kind only: minijinja's detail may quote a slot value.
            message: format!("template failed to render: {}", e.source.kind()),
        };
        self.record(problem, e.to_string());
    }

    /// A script (hook, plugin call or flow expression) that failed; `name` says which.
    pub(crate) fn script_failed(
        &mut self,
        source: ProblemSource,
        name: &str,
        e: &ScriptError,
        full: String,
    ) {
        let (flow, step, flow_file, pointer) = self.here();
        let at = e.location();
        // A plugin's error is fixed in the plugin; an expression's in its flow step.
        let in_flow = at.is_none_or(|l| l.file.starts_with("flows/"));
        let problem = ConfigProblem {
            source,
            name: name.to_string(),
            file: at
                .map(|l| l.file.clone())
                .or_else(|| match e {
                    ScriptError::MissingFunction { file, .. } => Some(file.clone()),
                    _ => None,
                })
                .or_else(|| match source {
                    ProblemSource::Expression => flow_file,
                    ProblemSource::Plugin => name.split('.').next().map(|id| {
                        self.snap
                            .plugin(id)
                            .map_or_else(|| format!("plugins/{id}.rhai"), |p| p.file.clone())
                    }),
                    _ => None,
                }),
            line: at.and_then(|l| l.line),
            yaml_path: if in_flow && source == ProblemSource::Expression {
                pointer
            } else {
                None
            },
            flow,
            step,
            message: script_message(e),
        };
        self.record(problem, full);
    }

    /// A flow problem that is not a script's (`message` carries no caller data).
    pub(crate) fn flow_failed(&mut self, name: &str, message: String) {
        let (flow, step, file, pointer) = self.here();
        let problem = ConfigProblem {
            source: ProblemSource::Flow,
            name: name.to_string(),
            file,
            line: None,
            yaml_path: pointer,
            flow,
            step,
            message: message.clone(),
        };
        self.record(problem, message);
    }

    /// Template and plugin errors met in the current turn (a tool result continues a turn).
    pub fn turn_problems(&self) -> &[ConfigProblem] {
        &self.turn_problems
    }

    /// Slots the caller corrected in the current turn.
    pub fn turn_corrections(&self) -> &[String] {
        &self.turn_corrections
    }
}

#[cfg(test)]
mod tests {
    use vartalaap_script::Location;

    use super::*;

    fn at(file: &str) -> Location {
        Location {
            file: file.into(),
            line: Some(4),
            col: Some(2),
        }
    }

    #[test]
    fn a_thrown_value_never_reaches_the_message() {
        let thrown = ScriptError::Runtime {
            at: at("plugins/vip.rhai"),
            message: "Runtime error: Asha Verma +919876543210".into(),
        };
        let m = script_message(&thrown);
        assert_eq!(m, "script error: Runtime error");
        assert!(!m.contains("Asha") && !m.contains("98765"));
        let returned = ScriptError::BadReturn {
            at: at("plugins/vip.rhai"),
            what: "before_booking".into(),
            expected: "a map".into(),
            found: "string \"Asha\"".into(),
        };
        assert!(!script_message(&returned).contains("Asha"));
    }

    #[test]
    fn names_of_code_are_kept() {
        let missing = ScriptError::Runtime {
            at: at("plugins/vip.rhai"),
            message: "Function not found: is_vip (&str)".into(),
        };
        assert_eq!(
            script_message(&missing),
            "script error: Function not found: is_vip (&str)"
        );
        let stopped = ScriptError::LimitExceeded {
            which: vartalaap_script::Limit::Operations,
            at: at("plugins/vip.rhai"),
            detail: "exceeded 100000 operations".into(),
        };
        assert_eq!(
            script_message(&stopped),
            "script stopped: exceeded 100000 operations"
        );
    }
}
