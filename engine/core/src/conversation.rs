//! One call's dialog state machine: inputs in, outputs out.
//!
//! A [`Conversation`] holds the business snapshot it started with, the current flow and step,
//! the slots, the reply language and the repair counters. [`Conversation::handle`] takes one
//! [`Input`] and the current local time and returns the [`Output`]s for that turn; it never
//! reads a clock, does I/O or draws random numbers, so a whole call replays exactly.
//!
//! Turn handling (first match wins; see `docs/FLOWS.md`):
//! 1. "talk to a human" → the handoff flow, from anywhere;
//! 2. a yes/no while a yes/no question is pending → the answer;
//! 3. repeat / cancel / goodbye repair intents;
//! 4. a new value for a slot already filled → correction: the flow re-runs from its start,
//!    skipping filled slots (flow-local ones survive when filled above the corrected slot,
//!    see [`Conversation::restart_flow`]), so checks run again and the read-back is asked
//!    again;
//! 5. another flow's intent → info flows (menu, hours, FAQ) are a digression and the current
//!    flow resumes at the same question afterwards; other flows replace the current one;
//! 6. values for the pending slot (and any other empty slot of the flow) → the flow continues;
//! 7. nothing usable → reprompt (collect ladder) or the fallback flow; too many → handoff.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Map, Value};
use vartalaap_config::model::flow::{Action, Flow, SlotType, StepKind};
use vartalaap_config::{BusinessSnapshot, Lang};
use vartalaap_lang::{DayPart, LanguagePolicy};

use crate::io::{CallerContext, HandledBy, Input, Output, ReservationSummary};
use crate::render::{Renderer, lang_of};
use crate::trace::{Repair, Trace};
use crate::understand::{Knowledge, Want};
use vartalaap_script::ScriptHost;

/// Consecutive silences before the bot says goodbye and hangs up.
pub const MAX_SILENCES: u32 = 3;
/// Consecutive turns the bot did not understand (outside a question) before a handoff.
pub const MAX_MISSES: u32 = 3;
/// How long the edge waits for speech before sending [`Input::NoInput`].
pub const LISTEN_PATIENCE_MS: u32 = 7000;
/// Slots that carry across flows for the whole call; every other slot belongs to one flow run.
pub const CANONICAL_SLOTS: [&str; 5] = ["party_size", "date", "time", "name", "whatsapp_consent"];

/// The index of the first step that fills `slot` (`collect` or `set`).
fn first_filled(flow: &Flow, slot: &str) -> Option<usize> {
    flow.steps.iter().position(|s| match &s.kind {
        StepKind::Collect(c) => c.slot == slot,
        StepKind::Set { assignments } => assignments.iter().any(|(n, _)| n == slot),
        _ => false,
    })
}

/// The flow-local slots `flow` fills above the first step filling any of `changed` (those a
/// correction of `changed` keeps; see [`Conversation::restart_flow`]).
pub(crate) fn filled_before(flow: &Flow, changed: &[String]) -> Vec<String> {
    let Some(cut) = changed.iter().filter_map(|c| first_filled(flow, c)).min() else {
        return Vec::new();
    };
    flow.slots
        .keys()
        .filter(|n| !CANONICAL_SLOTS.contains(&n.as_str()))
        .filter(|n| first_filled(flow, n).is_some_and(|i| i < cut))
        .cloned()
        .collect()
}

/// A serializable picture of the conversation state (for chat, API and tests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    /// Current flow; `None` while listening for a new request.
    pub flow: Option<String>,
    /// Current step id.
    pub step: Option<String>,
    /// Slot values in canonical form (`party_size` integer, `date` "YYYY-MM-DD", `time`
    /// "HH:MM", `name` string, `whatsapp_consent` bool).
    pub slots: Map<String, Value>,
    /// Reply language.
    pub lang: Lang,
    /// Whether the bot hung up or transferred.
    pub ended: bool,
    /// Configuration version the conversation runs with.
    pub version: String,
    /// What handled the last turn (intent, flow, step), even when its flow has ended since.
    pub handled_by: HandledBy,
}

/// A position in a flow.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub flow: Arc<Flow>,
    pub step: usize,
}

/// What the conversation is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A new request (no flow active).
    Idle,
    /// An answer to the collect step at the current frame.
    Collect,
    /// A tool result.
    Tool { call_id: u32, pending: Pending },
    /// Nothing: the call is over.
    Over,
}

/// Which part of an action a tool call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    Check,
    Book,
    /// Finding the booking on `find`, then moving it to `new_date` (else keeping its day).
    FindThenModify {
        find: chrono::NaiveDate,
        new_date: Option<chrono::NaiveDate>,
    },
    /// The change itself; `day` is the booking's day afterwards (for alternatives if full).
    Modify {
        day: chrono::NaiveDate,
    },
    FindThenCancel {
        find: chrono::NaiveDate,
    },
    Cancel,
    Callback,
    Followup,
}

/// Everything a conversation derives from a snapshot — intent, FAQ and menu indexes, the
/// template environment (templates compile once), the business document as a template
/// value — built once and shared by every call on that snapshot.
///
/// [`Conversation::start`] builds one per call (about a millisecond); a server that starts
/// many calls keeps one per snapshot and uses [`Conversation::start_prepared`].
#[derive(Debug)]
pub struct Prepared {
    snap: Arc<BusinessSnapshot>,
    renderer: Renderer,
    knowledge: Arc<Knowledge>,
    business_value: minijinja::Value,
}

impl Prepared {
    /// Prepares `snapshot` for conversations.
    pub fn new(snapshot: Arc<BusinessSnapshot>) -> Arc<Prepared> {
        Arc::new(Prepared {
            renderer: Renderer::new(snapshot.clone()),
            knowledge: Arc::new(Knowledge::new(&snapshot)),
            business_value: minijinja::Value::from_serialize(&snapshot.document),
            snap: snapshot,
        })
    }

    /// The snapshot it was built from.
    pub fn snapshot(&self) -> &Arc<BusinessSnapshot> {
        &self.snap
    }
}

/// One call's dialog.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub(crate) snap: Arc<BusinessSnapshot>,
    pub(crate) renderer: Renderer,
    pub(crate) knowledge: Arc<Knowledge>,
    /// The business document as a template value (converted once).
    pub(crate) business_value: minijinja::Value,
    pub(crate) policy: LanguagePolicy,
    pub(crate) lang: Lang,
    pub(crate) frame: Option<Frame>,
    /// Flows suspended by a digression, resumed in LIFO order.
    pub(crate) stack: Vec<Frame>,
    pub(crate) slots: Map<String, Value>,
    pub(crate) vars: Map<String, Value>,
    /// The last action's result (`result` in templates).
    pub(crate) result: Value,
    /// The last policy refusal (`policy` in templates).
    pub(crate) policy_issue: Value,
    pub(crate) wait: Wait,
    pub(crate) attempts: u32,
    pub(crate) silences: u32,
    pub(crate) misses: u32,
    pub(crate) last_said: Vec<Output>,
    pub(crate) utterance: String,
    pub(crate) intent: String,
    pub(crate) next_call: u32,
    pub(crate) reservation_id: Option<String>,
    /// Times the bot offered (store alternatives or nearest valid slots).
    pub(crate) offered: Vec<chrono::NaiveTime>,
    pub(crate) found: Option<ReservationSummary>,
    /// The part of the day the caller named for the task at hand ("aaj shaam ko"), which
    /// places a later bare hour ("7 baje" → 19:00); forgotten when a new task starts.
    pub(crate) day_part: Option<DayPart>,
    /// A booking, change or cancellation was made in the current flow run.
    pub(crate) committed: bool,
    pub(crate) ended: bool,
    pub(crate) now: NaiveDateTime,
    /// `now` as `YYYY-MM-DDTHH:MM` for scripts.
    pub(crate) now_text: String,
    pub(crate) trace: Trace,
    pub(crate) errors: Vec<String>,
    /// Template and plugin errors of the current turn (see `problems`).
    pub(crate) turn_problems: Vec<crate::problems::ConfigProblem>,
    /// Slots the caller corrected in the current turn.
    pub(crate) turn_corrections: Vec<String>,
    /// Who is calling (number known, earlier WhatsApp answer).
    pub(crate) caller: CallerContext,
    /// The caller said no to WhatsApp in this call: not offered again.
    pub(crate) whatsapp_refused: bool,
    /// The built-in repair that handled the caller's input this turn, if any.
    pub(crate) turn_repair: Option<Repair>,
    /// The last (flow, step) that ran this turn.
    pub(crate) turn_step: Option<(String, String)>,
    /// The last (flow, step) that spoke this turn (what answered the caller).
    pub(crate) turn_spoke: Option<(String, String)>,
    /// What handled the last turn (see [`HandledBy`]).
    pub(crate) handled_by: HandledBy,
}

impl Conversation {
    /// Starts a call: greets in the caller's known language (else the business default) by
    /// running the business's start flow.
    pub fn start(
        snapshot: Arc<BusinessSnapshot>,
        now: NaiveDateTime,
        caller: CallerContext,
        host: &dyn ScriptHost,
    ) -> (Conversation, Vec<Output>) {
        Conversation::start_prepared(&Prepared::new(snapshot), now, caller, host)
    }

    /// [`Conversation::start`] with a snapshot prepared once for many calls.
    pub fn start_prepared(
        prepared: &Prepared,
        now: NaiveDateTime,
        caller: CallerContext,
        host: &dyn ScriptHost,
    ) -> (Conversation, Vec<Output>) {
        let snapshot = prepared.snap.clone();
        let b = &snapshot.business;
        let lang = caller
            .preferred_lang
            .filter(|l| b.supports(*l))
            .unwrap_or(b.languages.default);
        let mut conv = Conversation {
            renderer: prepared.renderer.clone(),
            knowledge: prepared.knowledge.clone(),
            business_value: prepared.business_value.clone(),
            policy: LanguagePolicy::new(lang_of(lang)),
            lang,
            frame: None,
            stack: Vec::new(),
            slots: Map::new(),
            vars: Map::new(),
            result: Value::Object(Map::new()),
            policy_issue: Value::Object(Map::new()),
            wait: Wait::Idle,
            attempts: 0,
            silences: 0,
            misses: 0,
            last_said: Vec::new(),
            utterance: String::new(),
            intent: String::new(),
            next_call: 1,
            reservation_id: None,
            offered: Vec::new(),
            found: None,
            day_part: None,
            committed: false,
            ended: false,
            now,
            now_text: now.format("%Y-%m-%dT%H:%M").to_string(),
            trace: Trace::default(),
            errors: Vec::new(),
            turn_problems: Vec::new(),
            turn_corrections: Vec::new(),
            caller,
            whatsapp_refused: false,
            turn_repair: None,
            turn_step: None,
            turn_spoke: None,
            handled_by: HandledBy::default(),
            snap: snapshot,
        };
        let mut out = Vec::new();
        let start = conv.snap.business.start_flow.clone();
        conv.start_flow(&start, None);
        conv.run(host, &mut out);
        conv.finish_turn(&mut out, true);
        (conv, out)
    }

    /// Handles one input at local time `now` and returns what to do, in order.
    pub fn handle(
        &mut self,
        now: NaiveDateTime,
        input: Input,
        host: &dyn ScriptHost,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.now = now;
        self.now_text = now.format("%Y-%m-%dT%H:%M").to_string();
        // A tool result continues the caller's turn; anything else starts a new one.
        if !matches!(input, Input::ToolResult { .. }) {
            self.turn_repair = None;
            self.turn_step = None;
            self.turn_spoke = None;
            self.turn_problems.clear();
            self.turn_corrections.clear();
        }
        let mut remember = true;
        match input {
            Input::Utterance {
                text,
                interpretation,
                ..
            } => remember = self.on_utterance(&text, interpretation.as_ref(), host, &mut out),
            Input::Dtmf(c) => self.on_dtmf(c, host, &mut out),
            Input::NoInput => self.on_silence(host, &mut out),
            Input::ToolResult { call_id, result } => self.on_tool(call_id, result, host, &mut out),
        }
        self.finish_turn(&mut out, remember);
        out
    }

    /// The current state, serializable.
    pub fn view(&self) -> ConversationView {
        let (flow, step) = match &self.frame {
            Some(f) => (
                Some(f.flow.id.clone()),
                f.flow.steps.get(f.step).map(|s| s.id.clone()),
            ),
            None => (None, None),
        };
        ConversationView {
            flow,
            step,
            slots: self.slots.clone(),
            lang: self.lang,
            ended: self.ended,
            version: self.snap.version.clone(),
            handled_by: self.handled_by.clone(),
        }
    }

    /// What handled the last turn (intent, flow, step).
    pub fn handled_by(&self) -> &HandledBy {
        &self.handled_by
    }

    /// Records a built-in repair: in the trace (coverage) and as what handled this turn.
    pub(crate) fn repaired(&mut self, repair: Repair) {
        self.trace.repairs.insert(repair);
        self.turn_repair = Some(repair);
    }

    /// Whether a WhatsApp confirmation can be offered: the business sends them, the caller's
    /// number is known, and the caller has not said no (in this call or an earlier one).
    pub(crate) fn whatsapp_possible(&self) -> bool {
        self.snap.business.whatsapp.enabled
            && self.caller.has_number
            && self.caller.whatsapp_consent != Some(false)
            && !self.whatsapp_refused
    }

    /// Notes the current step as the one that answered (called when something is said).
    pub(crate) fn note_speaker(&mut self) {
        if let Some(f) = &self.frame
            && let Some(step) = f.flow.steps.get(f.step)
        {
            self.turn_spoke = Some((f.flow.id.clone(), step.id.clone()));
        }
    }

    /// Works out [`HandledBy`] for the turn that just ran: the step that last spoke (else the
    /// last that ran, else where the flow waits); the repair intent when a repair handled the
    /// turn, else the intent that started the answering flow when that is the flow that
    /// answered, else that flow's first trigger intent.
    fn note_handled(&mut self) {
        let ran = self.turn_spoke.as_ref().or(self.turn_step.as_ref());
        let (flow, step) = match (ran, &self.frame) {
            (Some((f, s)), _) => (Some(f.clone()), Some(s.clone())),
            (None, Some(f)) => (
                Some(f.flow.id.clone()),
                f.flow.steps.get(f.step).map(|s| s.id.clone()),
            ),
            (None, None) => (None, None),
        };
        let repair = self.turn_repair.and_then(|r| match r {
            Repair::Repeat => Some("repeat"),
            Repair::Cancel => Some("cancel"),
            Repair::Correction => Some("correction"),
            Repair::NoInput => Some("silence"),
            _ => None,
        });
        let started_by = (!self.intent.is_empty()
            && flow.is_some()
            && self.knowledge.intent_flow.get(&self.intent) == flow.as_ref())
        .then(|| self.intent.clone());
        let intent = repair.map(str::to_string).or(started_by).or_else(|| {
            flow.as_ref()
                .and_then(|f| self.snap.flows.get(f))
                .and_then(|f| f.triggers.first())
                .map(|t| t.intent.clone())
        });
        self.handled_by = HandledBy { intent, flow, step };
    }

    /// The snapshot this conversation runs with.
    pub fn snapshot(&self) -> &Arc<BusinessSnapshot> {
        &self.snap
    }

    /// Flows, steps, repairs and languages exercised so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Problems met so far (template or script errors); each was handled on a safe path.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Whether the call is over.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The facts an LLM-phrased answer must stick to right now (business knowledge plus
    /// this call's slots and offered times); see [`crate::guard::check_generated`].
    pub fn facts(&self) -> crate::guard::Facts {
        crate::guard::Facts::new(&self.snap, &self.slots, &self.offered)
    }

    /// The reservation booked in this call, if any.
    pub fn reservation_id(&self) -> Option<&str> {
        self.reservation_id.as_deref()
    }

    /// Adds `Listen` when waiting for the caller and remembers what was said for "repeat".
    pub(crate) fn finish_turn(&mut self, out: &mut Vec<Output>, remember: bool) {
        if self.slots.get("whatsapp_consent") == Some(&Value::Bool(false)) {
            self.whatsapp_refused = true;
        }
        self.note_handled();
        let said: Vec<Output> = out
            .iter()
            .filter(|o| matches!(o, Output::Say { .. }))
            .cloned()
            .collect();
        if remember && !said.is_empty() {
            self.last_said = said;
        }
        if self.ended {
            return;
        }
        if matches!(self.wait, Wait::Idle | Wait::Collect) {
            let dtmf = self
                .pending_collect()
                .is_some_and(|(_, k)| matches!(k, SlotType::Bool | SlotType::Integer));
            out.push(Output::Listen {
                patience_ms: LISTEN_PATIENCE_MS,
                dtmf,
            });
        }
    }

    /// The collect step waiting for an answer and its slot type.
    pub(crate) fn pending_collect(&self) -> Option<(String, SlotType)> {
        if self.wait != Wait::Collect {
            return None;
        }
        let f = self.frame.as_ref()?;
        match &f.flow.steps.get(f.step)?.kind {
            StepKind::Collect(c) => {
                let kind = f.flow.slots.get(&c.slot)?.kind;
                Some((c.slot.clone(), kind))
            }
            _ => None,
        }
    }

    /// The slots to listen for this turn: the current flow's, or every canonical slot when
    /// idle (the request may start any flow).
    pub(crate) fn wants(&self, pending: Option<&str>) -> Vec<Want> {
        let mut wants = Vec::new();
        match &self.frame {
            Some(f) => {
                for s in f.flow.slots.values() {
                    wants.push(Want {
                        name: s.name.clone(),
                        kind: s.kind,
                        pending: Some(s.name.as_str()) == pending,
                    });
                }
            }
            None => {
                for (name, kind) in [
                    ("party_size", SlotType::Integer),
                    ("date", SlotType::Date),
                    ("time", SlotType::Time),
                    ("name", SlotType::String),
                ] {
                    wants.push(Want {
                        name: name.to_string(),
                        kind,
                        pending: false,
                    });
                }
            }
        }
        wants
    }

    pub(crate) fn slot_date(&self) -> Option<chrono::NaiveDate> {
        self.date_in("date")
    }

    /// The value of a date slot.
    pub(crate) fn date_in(&self, slot: &str) -> Option<chrono::NaiveDate> {
        self.slots
            .get(slot)
            .and_then(Value::as_str)
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    }

    /// Clears every slot that is not canonical (confirmations belong to one flow run), except
    /// the slots of flows suspended by a digression: they resume where they were, with what
    /// the caller already told them.
    pub(crate) fn clear_flow_slots(&mut self) {
        let suspended: Vec<String> = self.suspended_slots();
        self.slots.retain(|k, _| {
            CANONICAL_SLOTS.contains(&k.as_str()) || suspended.iter().any(|s| s == k)
        });
    }

    /// Slots declared by flows suspended by a digression.
    fn suspended_slots(&self) -> Vec<String> {
        self.stack
            .iter()
            .flat_map(|f| f.flow.slots.keys().cloned())
            .collect()
    }

    /// A correction of the `changed` slots: re-run the current flow from its first step.
    ///
    /// Canonical slots are kept. A flow-local slot is kept when the flow fills it (by
    /// `collect` or `set`) *above* the first step that fills a corrected slot: it was asked
    /// before the corrected value and does not depend on it (the day of the booking being
    /// moved, a treatment named in the request). Slots filled at or below that step — above
    /// all the read-back's yes/no — are emptied and asked again, like after a jump back to
    /// the corrected slot's question. When no step fills a corrected slot, every flow-local
    /// slot is emptied.
    pub(crate) fn restart_flow(&mut self, changed: &[String]) {
        let mut keep = self
            .frame
            .as_ref()
            .map(|f| filled_before(&f.flow, changed))
            .unwrap_or_default();
        keep.extend(self.suspended_slots());
        self.slots
            .retain(|k, _| CANONICAL_SLOTS.contains(&k.as_str()) || keep.iter().any(|s| s == k));
        self.vars.clear();
        self.attempts = 0;
        if let Some(f) = &mut self.frame {
            f.step = 0;
        }
    }

    /// The first of `names` the business has a template for.
    pub(crate) fn first_template(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find(|n| self.snap.business.prompts.has(self.lang, n))
            .map(|n| n.to_string())
    }

    /// The first business flow with a step running `action`.
    pub(crate) fn flow_with_action(&self, action: Action) -> Option<String> {
        self.snap.business.flows.iter().find_map(|id| {
            let flow = self.snap.flows.get(id)?;
            flow.steps
                .iter()
                .any(|s| matches!(&s.kind, StepKind::Action { action: a, .. } if *a == action))
                .then(|| id.clone())
        })
    }

    pub(crate) fn goodbye_flow(&self) -> Option<String> {
        self.knowledge
            .intent_flow
            .get("goodbye")
            .cloned()
            .or_else(|| self.flow_with_action(Action::EndCall))
    }

    /// Info flows answer a question without collecting anything or changing anything, so they
    /// can interrupt another flow and hand back to it.
    pub(crate) fn is_info_flow(&self, id: &str) -> bool {
        self.snap
            .flows
            .get(id)
            .is_some_and(|f| crate::understand::is_info_flow(f))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vartalaap_config::model::flow::{Collect, Slot, Step};

    use super::*;

    fn collect(id: &str, slot: &str) -> Step {
        Step {
            id: id.into(),
            kind: StepKind::Collect(Collect {
                slot: slot.into(),
                prompt: "p".into(),
                reprompts: Vec::new(),
                max_attempts: 3,
                validate: None,
                invalid: None,
                on_failure: None,
            }),
            next: None,
        }
    }

    fn flow(steps: Vec<Step>, slots: &[(&str, SlotType)]) -> Flow {
        Flow {
            id: "t".into(),
            file: "flows/t.yaml".into(),
            description: None,
            triggers: Vec::new(),
            slots: slots
                .iter()
                .map(|(n, k)| {
                    let slot = Slot {
                        name: (*n).into(),
                        kind: *k,
                        min: None,
                        max: None,
                        description: None,
                    };
                    ((*n).to_string(), slot)
                })
                .collect::<BTreeMap<_, _>>(),
            steps,
        }
    }

    #[test]
    fn a_correction_keeps_what_was_asked_before_the_corrected_value() {
        let f = flow(
            vec![
                collect("ask_old", "old_date"),
                collect("ask_date", "date"),
                collect("ask_time", "time"),
                collect("confirm", "confirmed"),
                collect("ask_note", "note"),
            ],
            &[
                ("old_date", SlotType::Date),
                ("date", SlotType::Date),
                ("time", SlotType::Time),
                ("confirmed", SlotType::Bool),
                ("note", SlotType::String),
            ],
        );
        // The new time changed: the old date stands, the read-back is asked again.
        assert_eq!(filled_before(&f, &["time".into()]), ["old_date"]);
        // The earliest corrected slot decides.
        assert_eq!(
            filled_before(&f, &["time".into(), "date".into()]),
            ["old_date"]
        );
        // Position decides, not type: a yes/no asked before the corrected value did not read
        // it back, so it stands.
        assert_eq!(
            filled_before(&f, &["note".into()]),
            ["confirmed", "old_date"]
        );
        // A slot no step fills: nothing flow-local is kept (the old behaviour).
        assert!(filled_before(&f, &["party_size".into()]).is_empty());
    }
}
