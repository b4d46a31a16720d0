//! A compiled conversation flow: the graph the dialog interpreter walks.
//!
//! # Execution model (what an interpreter must do)
//!
//! A flow is an ordered list of [`Step`]s. Execution starts at step 0. After a step completes
//! *normally* the interpreter continues at [`Step::next`] (the following step, computed at load
//! time; `None` only for terminal steps). A step can instead jump:
//!
//! | kind | normal completion | other exits |
//! |---|---|---|
//! | [`StepKind::Say`] | speak the template, continue at `next` | — |
//! | [`StepKind::Collect`] | slot filled (and `validate` true) → `next` | after `max_attempts` failed turns → `on_failure` (or the business fallback flow) |
//! | [`StepKind::Set`] | evaluate each expression, assign slots → `next` | — |
//! | [`StepKind::If`] | first case whose `when` is true → its `goto`; none → `next` | — |
//! | [`StepKind::Call`] | store the result in `vars.<into>` → `next` | script error/limit → `on_failure` (or the fallback flow) |
//! | [`StepKind::Action`] | success → `next` (terminal actions end the call) | failure → `on_failure` |
//! | [`StepKind::Goto`] | jump to the target | — |
//! | [`StepKind::End`] | the flow is done; the engine listens for the next intent | — |
//!
//! Expressions ([`Expr`]) are Rhai expressions evaluated in a scope holding `slots` (map of this
//! flow's slots), `vars` (results of `call` steps), `value` (the candidate value, in `validate`
//! only), `business` (the business document), `lang` (current language code) and `now` (local
//! time as `YYYY-MM-DDTHH:MM`). They were syntax-checked at load time; references to
//! `slots.<name>` and `vars.<name>` were checked against the declared slots and `into` names.
//!
//! The loader guarantees: step ids are unique; every [`Target`] resolves (same-flow step
//! indices are filled in, other flows exist); every step is reachable from step 0; no step
//! falls off the end of the list; every `collect`/`set` slot is declared; canonical slots have
//! their canonical types; `call` functions exist in the plugin with the right arity; fallible
//! actions have `on_failure`.

use std::collections::BTreeMap;

use super::Lang;

/// A validated flow (`flows/<id>.yaml`).
#[derive(Debug, Clone)]
pub struct Flow {
    /// Flow id, equal to the file name.
    pub id: String,
    /// File it was loaded from, relative to the config root (for runtime error messages).
    pub file: String,
    /// Human description for authors; never spoken.
    pub description: Option<String>,
    /// Intents that start this flow.
    pub triggers: Vec<Trigger>,
    /// Slots this flow collects or sets, by name.
    pub slots: BTreeMap<String, Slot>,
    /// Steps in file order; index 0 is the entry point.
    pub steps: Vec<Step>,
}

impl Flow {
    /// Index of the step with this id.
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Every template name this flow speaks, with the step that uses it.
    pub fn templates(&self) -> impl Iterator<Item = (&Step, &str)> {
        self.steps.iter().flat_map(|s| {
            let names: Vec<&str> = match &s.kind {
                StepKind::Say { template } => vec![template.as_str()],
                StepKind::Collect(c) => std::iter::once(c.prompt.as_str())
                    .chain(c.reprompts.iter().map(String::as_str))
                    .chain(c.invalid.as_deref())
                    .collect(),
                _ => Vec::new(),
            };
            names.into_iter().map(move |n| (s, n))
        })
    }

    /// Every jump target of every step (for cross-flow checks).
    pub fn targets(&self) -> impl Iterator<Item = (&Step, &Target)> {
        self.steps
            .iter()
            .flat_map(|s| s.kind.targets().into_iter().map(move |t| (s, t)))
    }
}

/// An intent that starts a flow, with example phrases used by the offline classifier and as
/// few-shot examples for an LLM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// Intent name; unique across the flows of one business.
    pub intent: String,
    /// Example phrases per language.
    pub examples: BTreeMap<Lang, Vec<String>>,
}

/// A typed value a flow collects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Slot name (`party_size`).
    pub name: String,
    /// Value type; canonical reservation slots have fixed types.
    pub kind: SlotType,
    /// Smallest accepted value (integer slots).
    pub min: Option<i64>,
    /// Largest accepted value (integer slots).
    pub max: Option<i64>,
    /// Author's note.
    pub description: Option<String>,
}

/// Slot value types and how the engine stores them in conversation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotType {
    /// Whole number (`party_size`).
    Integer,
    /// Free text (`name`).
    String,
    /// Local date, stored as `YYYY-MM-DD`.
    Date,
    /// Local 24-hour time, stored as `HH:MM`.
    Time,
    /// Yes/no (`whatsapp_consent`).
    Bool,
    /// A menu item id of the business.
    MenuItem,
}

impl SlotType {
    /// The name used in YAML.
    pub fn name(self) -> &'static str {
        match self {
            SlotType::Integer => "integer",
            SlotType::String => "string",
            SlotType::Date => "date",
            SlotType::Time => "time",
            SlotType::Bool => "bool",
            SlotType::MenuItem => "menu_item",
        }
    }
}

/// One step of a flow.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique id within the flow (used by `goto` and conversation state).
    pub id: String,
    /// What the step does.
    pub kind: StepKind,
    /// Index of the step that runs after normal completion; `None` for terminal steps
    /// (`goto`, `end`, `action: end_call`, `action: transfer` on success).
    pub next: Option<usize>,
}

/// The closed set of step kinds.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Speak a template.
    Say {
        /// Template name (exists for every supported language of every business using it).
        template: String,
    },
    /// Ask for a slot until it is filled.
    Collect(Collect),
    /// Assign slots from expressions, in order.
    Set {
        /// (slot name, expression) pairs.
        assignments: Vec<(String, Expr)>,
    },
    /// Conditional jumps; falls through to `next` when no case matches.
    If {
        /// Cases tried in order.
        cases: Vec<Case>,
    },
    /// Call a plugin function.
    Call(Call),
    /// Run a built-in action.
    Action {
        /// Which action.
        action: Action,
        /// Where to go if it fails (required for fallible actions).
        on_failure: Option<Target>,
        /// The step's settings for the action (`find_date`, `new_date`, `notes`).
        params: ActionParams,
    },
    /// Jump.
    Goto(Target),
    /// The flow is complete.
    End,
}

impl StepKind {
    /// All jump targets of this step (not counting fall-through).
    pub fn targets(&self) -> Vec<&Target> {
        match self {
            StepKind::Collect(c) => c.on_failure.iter().collect(),
            StepKind::If { cases } => cases.iter().map(|c| &c.goto).collect(),
            StepKind::Call(c) => c.on_failure.iter().collect(),
            StepKind::Action { on_failure, .. } => on_failure.iter().collect(),
            StepKind::Goto(t) => vec![t],
            StepKind::Say { .. } | StepKind::Set { .. } | StepKind::End => Vec::new(),
        }
    }

    /// Whether normal completion never falls through to the next step.
    pub fn is_terminal(&self) -> bool {
        match self {
            StepKind::Goto(_) | StepKind::End => true,
            StepKind::Action { action, .. } => action.ends_call(),
            _ => false,
        }
    }
}

/// A `collect` step.
#[derive(Debug, Clone)]
pub struct Collect {
    /// Slot to fill (declared in the flow).
    pub slot: String,
    /// Template asking for it.
    pub prompt: String,
    /// Templates for later attempts; the last one repeats. Empty = repeat `prompt`.
    pub reprompts: Vec<String>,
    /// Attempts before `on_failure` (default 3).
    pub max_attempts: u32,
    /// Extra acceptance test over `value`.
    pub validate: Option<Expr>,
    /// Template said when `validate` is false (else the next reprompt).
    pub invalid: Option<String>,
    /// Where to go after `max_attempts`; `None` = the business fallback flow.
    pub on_failure: Option<Target>,
}

/// Settings an `action` step may give its action. Every field is optional and its default is
/// the built-in behaviour, so a plain `action: modify` works as it always did.
///
/// The loader guarantees each field is only present on the actions it applies to, that the
/// slots exist with type `date`, that `find_date` and `new_date` differ, and that `notes`
/// compiles as a template whose `slots.*`/`vars.*` references are declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionParams {
    /// `modify`/`cancel`: the slot holding the date of the caller's *existing* booking, which
    /// is how the booking is found. `None` = `date`.
    pub find_date: Option<String>,
    /// `modify`: the slot holding the date to move the booking to. `None` = the booking keeps
    /// its day (only time and party size change). Set it to move a booking to another day in
    /// one store transaction (capacity on the new day is checked in that transaction).
    pub new_date: Option<String>,
    /// `modify`/`cancel`: the string slot holding the name the caller says the booking is
    /// under. Caller ID can be spoofed, so a booking found by phone number and date is changed
    /// only when this name matches the name on it; required on both actions (the loader
    /// refuses a flow without it).
    pub verify_name: Option<String>,
    /// `book`: a template (minijinja, the same context as prompts) rendered into the
    /// booking's notes for staff, e.g. the treatment a patient asked for. An empty rendering
    /// stores no notes.
    pub notes: Option<String>,
}

impl ActionParams {
    /// The slot holding the existing booking's date (`find_date`, else `date`).
    pub fn find_date_slot(&self) -> &str {
        self.find_date.as_deref().unwrap_or("date")
    }
}

/// One case of an `if` step.
#[derive(Debug, Clone)]
pub struct Case {
    /// Condition.
    pub when: Expr,
    /// Where to jump when it is true.
    pub goto: Target,
}

/// A `call` step.
#[derive(Debug, Clone)]
pub struct Call {
    /// Plugin id (`plugins/<plugin>.rhai`).
    pub plugin: String,
    /// Function name; exists in the plugin with `args.len()` parameters.
    pub function: String,
    /// Argument expressions.
    pub args: Vec<Expr>,
    /// Store the result as `vars.<into>`.
    pub into: Option<String>,
    /// Where to go on a script error; `None` = the business fallback flow.
    pub on_failure: Option<Target>,
}

/// Built-in actions the engine performs (with storage, telephony or messaging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Check `date`/`time`/`party_size` against hours, policy and capacity; fails when full
    /// (the engine then offers nearest free times).
    CheckAvailability,
    /// Book atomically; fails when the slot filled up meanwhile.
    Book,
    /// Change the caller's reservation found by phone and `date` (or the step's `find_date`
    /// slot): time and party size, and the date when the step names a `new_date` slot; fails
    /// if none/not possible.
    Modify,
    /// Cancel the caller's reservation found by phone and `date` (or the step's `find_date`
    /// slot); fails if none.
    Cancel,
    /// Record a callback request for the manager from the slots (large parties, failed
    /// transfers); not a booking. Fails only if it cannot be stored.
    RequestCallback,
    /// Answer a menu question from the menu; fails when no item matched.
    LookupMenu,
    /// Answer from the FAQs; fails when no FAQ matched.
    AnswerFaq,
    /// Transfer to `transfer_phone`; ends the call on success, fails when none is configured.
    Transfer,
    /// Send the WhatsApp follow-up (respecting consent); fails if disabled or not consented.
    SendFollowup,
    /// Say nothing more and hang up.
    EndCall,
}

impl Action {
    /// Every action with its YAML name.
    pub const ALL: [(Action, &'static str); 10] = [
        (Action::CheckAvailability, "check_availability"),
        (Action::Book, "book"),
        (Action::Modify, "modify"),
        (Action::Cancel, "cancel"),
        (Action::RequestCallback, "request_callback"),
        (Action::LookupMenu, "lookup_menu"),
        (Action::AnswerFaq, "answer_faq"),
        (Action::Transfer, "transfer"),
        (Action::SendFollowup, "send_followup"),
        (Action::EndCall, "end_call"),
    ];

    /// Parses a YAML action name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(a, _)| *a)
    }

    /// The YAML name.
    pub fn name(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("?", |(_, n)| n)
    }

    /// Whether the action can fail in normal operation (so the flow must say where to go).
    pub fn can_fail(self) -> bool {
        !matches!(self, Action::EndCall)
    }

    /// Whether success ends the call (no next step runs).
    pub fn ends_call(self) -> bool {
        matches!(self, Action::EndCall | Action::Transfer)
    }
}

/// Where execution continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A step of the same flow, with its resolved index.
    Step {
        /// Step id.
        id: String,
        /// Index into [`Flow::steps`].
        index: usize,
    },
    /// Another flow (at its first step, or at a named step).
    Flow {
        /// Flow id (in the business's `flows`).
        flow: String,
        /// Step id in that flow; `None` = its first step.
        step: Option<String>,
    },
}

/// A Rhai expression, syntax-checked at load time.
///
/// The source is kept for error messages and for runtimes that compile it with their own
/// hardened engine; `ast` is the expression compiled by a default engine, ready to evaluate.
/// `line`/`column` locate the expression's YAML value in [`Flow::file`], so a runtime error
/// can be reported as `flows/x.yaml:12:15`.
#[derive(Debug, Clone)]
pub struct Expr {
    /// Expression text as written.
    pub source: String,
    /// Compiled expression.
    pub ast: rhai::AST,
    /// 1-based line of the expression in the flow file (always known for parsed files).
    pub line: u32,
    /// 1-based column of the expression in the flow file.
    pub column: u32,
}
