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
//!    skipping filled slots, so checks run again and the read-back is asked again;
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
use vartalaap_lang::{LanguagePolicy, RepairIntent};

use crate::io::{CallerContext, HangupReason, Input, Interpretation, Output, ReservationSummary};
use crate::render::{Renderer, config_lang, lang_of};
use crate::trace::{Repair, Trace};
use crate::understand::{Heard, Knowledge, Reading, Want, understand};
use vartalaap_script::{ScriptHost, SlotDecision};

/// Consecutive silences before the bot says goodbye and hangs up.
pub const MAX_SILENCES: u32 = 3;
/// Consecutive turns the bot did not understand (outside a question) before a handoff.
pub const MAX_MISSES: u32 = 3;
/// How long the edge waits for speech before sending [`Input::NoInput`].
pub const LISTEN_PATIENCE_MS: u32 = 7000;
/// Slots that carry across flows for the whole call; every other slot belongs to one flow run.
pub const CANONICAL_SLOTS: [&str; 5] = ["party_size", "date", "time", "name", "whatsapp_consent"];

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
    FindThenModify,
    Modify,
    FindThenCancel,
    Cancel,
    Callback,
    Followup,
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
    pub(crate) found: Option<ReservationSummary>,
    /// A booking, change or cancellation was made in the current flow run.
    pub(crate) committed: bool,
    pub(crate) ended: bool,
    pub(crate) now: NaiveDateTime,
    /// `now` as `YYYY-MM-DDTHH:MM` for scripts.
    pub(crate) now_text: String,
    pub(crate) trace: Trace,
    pub(crate) errors: Vec<String>,
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
        let b = &snapshot.business;
        let lang = caller
            .preferred_lang
            .filter(|l| b.supports(*l))
            .unwrap_or(b.languages.default);
        let business_value = minijinja::Value::from_serialize(&snapshot.document);
        let mut conv = Conversation {
            renderer: Renderer::new(snapshot.clone()),
            knowledge: Arc::new(Knowledge::new(&snapshot)),
            business_value,
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
            found: None,
            committed: false,
            ended: false,
            now,
            now_text: now.format("%Y-%m-%dT%H:%M").to_string(),
            trace: Trace::default(),
            errors: Vec::new(),
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
        }
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

    /// The reservation booked in this call, if any.
    pub fn reservation_id(&self) -> Option<&str> {
        self.reservation_id.as_deref()
    }

    /// Adds `Listen` when waiting for the caller and remembers what was said for "repeat".
    fn finish_turn(&mut self, out: &mut Vec<Output>, remember: bool) {
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

    /// Returns false when nothing new was said (a repeat), so the last words stay remembered.
    fn on_utterance(
        &mut self,
        text: &str,
        interp: Option<&Interpretation>,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) -> bool {
        if matches!(self.wait, Wait::Tool { .. } | Wait::Over) {
            tracing::warn!("Utterance while waiting for a tool result; ignored.");
            return true;
        }
        self.silences = 0;
        self.utterance = text.to_string();
        let observed = config_lang(self.policy.observe(text));
        if self.snap.business.supports(observed) {
            self.lang = observed;
        }
        let pending = self.pending_collect();
        let wants = self.wants(pending.as_ref().map(|(n, _)| n.as_str()));
        let date = self.slot_date();
        let heard = understand(
            text,
            &Reading {
                snap: &self.snap,
                knowledge: &self.knowledge,
                now: self.now,
                date,
                wants: &wants,
            },
            interp,
        );
        self.dispatch(heard, pending, host, out)
    }

    fn dispatch(
        &mut self,
        heard: Heard,
        pending: Option<(String, SlotType)>,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) -> bool {
        if heard.repair == Some(RepairIntent::Human) {
            self.trace.repairs.insert(Repair::Human);
            self.handoff(host, out);
            return true;
        }
        let changed = self.changed_slots(&heard, pending.as_ref().map(|(n, _)| n.as_str()));
        if let Some((slot, SlotType::Bool)) = &pending
            && let Some(yn) = &heard.yes_no
            && (!yn.is_correction() || changed.is_empty())
        {
            self.slots.insert(slot.clone(), Value::Bool(yn.answer));
            self.run(host, out);
            return true;
        }
        match heard.repair {
            Some(RepairIntent::Repeat) => {
                self.trace.repairs.insert(Repair::Repeat);
                if self.last_said.is_empty() {
                    self.reprompt(out);
                } else {
                    out.extend(self.last_said.iter().cloned());
                }
                return false;
            }
            Some(RepairIntent::Cancel) => {
                self.trace.repairs.insert(Repair::Cancel);
                self.cancel_task(host, out);
                return true;
            }
            Some(RepairIntent::Goodbye) => {
                self.goodbye(host, out);
                return true;
            }
            _ => {}
        }
        if !changed.is_empty() && self.frame.is_some() && !self.committed {
            self.trace.repairs.insert(Repair::Correction);
            for (k, v) in &heard.values {
                self.accept_value(k, v.clone(), host, out);
            }
            self.restart_flow();
            self.run(host, out);
            return true;
        }
        if self.try_switch(&heard, pending.as_ref(), host, out) {
            return true;
        }
        let mut filled = false;
        for (k, v) in &heard.values {
            if !self.slots.contains_key(k) && self.frame.is_some() {
                filled |= self.accept_value(k, v.clone(), host, out);
            }
        }
        match self.wait {
            Wait::Collect if filled => {
                self.misses = 0;
                self.run(host, out);
            }
            Wait::Collect => self.failed_attempt(host, out),
            _ => self.idle_request(&heard, host, out),
        }
        true
    }

    /// Stores a value the caller gave, after the plugins' `on_slot` hooks: they may accept,
    /// change or reject it (a rejection's message is spoken). A failing hook accepts.
    fn accept_value(
        &mut self,
        name: &str,
        value: Value,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) -> bool {
        let kind = self
            .frame
            .as_ref()
            .and_then(|f| f.flow.slots.get(name))
            .map(|s| s.kind);
        let value = match host.on_slot(name, &value, &self.scope(None)) {
            Ok(SlotDecision::Accept) => value,
            Ok(SlotDecision::Change(v)) => kind
                .and_then(|k| crate::understand::parse_value(k, &v))
                .unwrap_or(value),
            Ok(SlotDecision::Reject(msg)) => {
                if let Some(text) = msg.as_ref().and_then(|m| m.text(self.lang.code())) {
                    let text = text.to_string();
                    self.say_text(&text, out);
                }
                return false;
            }
            Err(e) => {
                self.errors.push(format!("on_slot {name}: {e}"));
                value
            }
        };
        self.slots.insert(name.to_string(), value);
        true
    }

    /// Slots already filled (other than the one being asked) to which the caller gave a new,
    /// different value.
    fn changed_slots(&self, heard: &Heard, pending: Option<&str>) -> Vec<String> {
        heard
            .values
            .iter()
            .filter(|(k, v)| {
                Some(k.as_str()) != pending && self.slots.get(*k).is_some_and(|old| old != *v)
            })
            .filter(|(k, _)| CANONICAL_SLOTS.contains(&k.as_str()))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Starts another flow when the caller clearly asked for it; info flows are digressions.
    fn try_switch(
        &mut self,
        heard: &Heard,
        pending: Option<&(String, SlotType)>,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) -> bool {
        if self.frame.is_none() {
            return false;
        }
        let answered = pending.is_some_and(|(n, _)| heard.values.contains_key(n));
        let current = self.frame.as_ref().map(|f| f.flow.id.clone());
        let mut target = heard.intent.as_ref().and_then(|(intent, score)| {
            let flow = self.knowledge.intent_flow.get(intent)?;
            let strong = *score >= 0.75 || !answered && *score >= 0.5;
            (strong && Some(flow) != current.as_ref()).then(|| (flow.clone(), intent.clone()))
        });
        // As for a new request, the business's own FAQ beats a flow's generic example.
        if let (Some(_), Some((_, faq)), Some((_, score))) = (&target, &heard.faq, &heard.intent)
            && *faq >= 0.75
            && faq >= score
            && let Some(f) = self.flow_with_action(Action::AnswerFaq)
        {
            target = Some((f, String::new()));
        }
        if target.is_none() && !answered && heard.values.is_empty() {
            let menu_asked = pending.is_some_and(|(_, k)| *k == SlotType::MenuItem);
            if let Some((_, s)) = &heard.faq
                && *s >= 0.75
                && let Some(f) = self.flow_with_action(Action::AnswerFaq)
            {
                target = Some((f, String::new()));
            } else if !menu_asked
                && heard.menu.first().is_some_and(|(_, s)| *s >= 0.8)
                && let Some(f) = self.flow_with_action(Action::LookupMenu)
            {
                target = Some((f, String::new()));
            }
        }
        let Some((flow, intent)) = target else {
            return false;
        };
        if self.is_info_flow(&flow) {
            self.trace.repairs.insert(Repair::Digression);
            if let Some(f) = self.frame.take() {
                self.stack.push(f);
            }
        } else {
            self.stack.clear();
        }
        self.intent = intent;
        self.enter_with_values(&flow, heard);
        self.run(host, out);
        true
    }

    /// A request while no flow is active: a flow intent, else what the words are about.
    fn idle_request(&mut self, heard: &Heard, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        // A date alone ("today") is not a booking request; a time or a party size is.
        let slots_said = ["party_size", "time"]
            .iter()
            .any(|s| heard.values.contains_key(*s));
        let mut by_intent = heard.intent.as_ref().and_then(|(i, _)| {
            self.knowledge
                .intent_flow
                .get(i)
                .map(|f| (f.clone(), i.clone()))
        });
        // "A table for two on Monday" resembles "are you open on Monday", but a party size
        // or a time says the caller wants a task done: prefer the best task intent then.
        // The business's own FAQ is more specific than a flow's generic example phrase
        // ("is there parking" is both a location example and the parking FAQ).
        if let (Some((_, faq)), Some((_, score))) = (&heard.faq, &heard.intent)
            && *faq >= 0.75
            && faq >= score
            && let Some(f) = self.flow_with_action(Action::AnswerFaq)
        {
            by_intent = Some((f, String::new()));
        }
        if slots_said
            && by_intent
                .as_ref()
                .is_some_and(|(f, _)| self.is_info_flow(f))
            && let Some(m) = self
                .knowledge
                .task_intents
                .classify(&self.utterance)
                .filter(|m| m.repair.is_none())
            && let Some(f) = self.knowledge.intent_flow.get(&m.intent)
        {
            by_intent = Some((f.clone(), m.intent));
        }
        let target = by_intent.or_else(|| {
            let pick = if slots_said {
                self.flow_with_action(Action::Book)
            } else if heard.faq.as_ref().is_some_and(|(_, s)| *s >= 0.6) {
                self.flow_with_action(Action::AnswerFaq)
            } else if heard.menu.first().is_some_and(|(_, s)| *s >= 0.6) {
                self.flow_with_action(Action::LookupMenu)
            } else {
                None
            };
            pick.map(|f| (f, String::new()))
        });
        match target {
            Some((flow, intent)) => {
                self.misses = 0;
                self.intent = intent;
                self.enter_with_values(&flow, heard);
                self.run(host, out);
            }
            None => self.out_of_scope(host, out),
        }
    }

    /// Enters `flow` and keeps the values just heard for the slots it declares.
    fn enter_with_values(&mut self, flow: &str, heard: &Heard) {
        self.start_flow(flow, None);
        let declared: Vec<String> = self
            .frame
            .as_ref()
            .map(|f| f.flow.slots.keys().cloned().collect())
            .unwrap_or_default();
        for (k, v) in &heard.values {
            if declared.contains(k) {
                self.slots.insert(k.clone(), v.clone());
            }
        }
    }

    fn out_of_scope(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        self.misses += 1;
        if self.misses >= MAX_MISSES {
            self.trace.repairs.insert(Repair::TooManyFailures);
            self.misses = 0;
            self.handoff(host, out);
            return;
        }
        self.trace.repairs.insert(Repair::OutOfScope);
        let fallback = self.snap.business.fallback_flow.clone();
        self.intent.clear();
        self.start_flow(&fallback, None);
        self.run(host, out);
    }

    /// The answer did not fill the pending slot: reprompt, or take the step's failure exit.
    pub(crate) fn failed_attempt(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        self.attempts += 1;
        let Some((max, on_failure)) = self
            .current_collect()
            .map(|c| (c.max_attempts, c.on_failure.clone()))
        else {
            return;
        };
        if self.attempts >= max {
            self.trace.repairs.insert(Repair::TooManyFailures);
            match on_failure {
                Some(t) => self.jump(&t),
                None => {
                    let fallback = self.snap.business.fallback_flow.clone();
                    self.start_flow(&fallback, None);
                }
            }
            self.run(host, out);
        } else {
            self.reprompt(out);
        }
    }

    fn on_dtmf(&mut self, c: char, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        self.silences = 0;
        match (self.pending_collect(), c) {
            (Some((slot, SlotType::Bool)), '1' | '2') => {
                self.slots.insert(slot, Value::Bool(c == '1'));
                self.run(host, out);
            }
            (Some((slot, SlotType::Integer)), '1'..='9') => {
                self.slots.insert(slot, Value::from(c as u32 - '0' as u32));
                self.run(host, out);
            }
            (Some(_), _) => self.failed_attempt(host, out),
            (None, _) if self.wait == Wait::Idle => self.out_of_scope(host, out),
            (None, _) => {}
        }
    }

    fn on_silence(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        if !matches!(self.wait, Wait::Idle | Wait::Collect) {
            return;
        }
        self.trace.repairs.insert(Repair::NoInput);
        self.silences += 1;
        if self.silences >= MAX_SILENCES {
            let t = self.first_template(&["no_input_goodbye", "goodbye"]);
            if let Some(t) = t {
                self.say(&t, out);
            }
            self.hang_up(HangupReason::NoInput, out);
            return;
        }
        let _ = host;
        self.reprompt(out);
    }

    /// Re-asks the pending question (the next rung of its reprompt ladder), or "anything
    /// else?" when no question is pending.
    pub(crate) fn reprompt(&mut self, out: &mut Vec<Output>) {
        if let Some(c) = self.current_collect().cloned() {
            let name = if c.reprompts.is_empty() {
                c.prompt.clone()
            } else {
                let i = (self.attempts.max(1) as usize - 1).min(c.reprompts.len() - 1);
                c.reprompts[i].clone()
            };
            self.say(&name, out);
        } else if let Some(t) = self.first_template(&["anything_else", "not_understood"]) {
            self.say(&t, out);
        }
    }

    /// "Rehne do": drop the current task politely and listen for something else.
    fn cancel_task(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        if self.frame.is_none() {
            self.goodbye(host, out);
            return;
        }
        self.frame = None;
        self.stack.clear();
        self.clear_flow_slots();
        self.wait = Wait::Idle;
        if let Some(t) = self.first_template(&["task_cancelled", "anything_else"]) {
            self.say(&t, out);
        }
    }

    fn goodbye(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        self.stack.clear();
        match self.goodbye_flow() {
            Some(f) => {
                self.start_flow(&f, None);
                self.run(host, out);
            }
            None => self.hang_up(HangupReason::Completed, out),
        }
    }

    /// Transfer to a person (the flow with a `transfer` action), from anywhere.
    pub(crate) fn handoff(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        self.stack.clear();
        match self.flow_with_action(Action::Transfer) {
            Some(f) => {
                self.start_flow(&f, None);
                self.run(host, out);
            }
            None => {
                out.push(Output::Transfer {
                    to: self.snap.business.transfer_phone.clone(),
                });
                self.ended = true;
                self.wait = Wait::Over;
            }
        }
    }

    pub(crate) fn hang_up(&mut self, reason: HangupReason, out: &mut Vec<Output>) {
        out.push(Output::Hangup { reason });
        self.ended = true;
        self.frame = None;
        self.wait = Wait::Over;
    }

    /// The slots to listen for this turn: the current flow's, or every canonical slot when
    /// idle (the request may start any flow).
    fn wants(&self, pending: Option<&str>) -> Vec<Want> {
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
        self.slots
            .get("date")
            .and_then(Value::as_str)
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    }

    /// Clears every slot that is not canonical (confirmations belong to one flow run).
    pub(crate) fn clear_flow_slots(&mut self) {
        self.slots
            .retain(|k, _| CANONICAL_SLOTS.contains(&k.as_str()));
    }

    /// A correction: re-run the current flow from its first step with the slots kept.
    fn restart_flow(&mut self) {
        self.clear_flow_slots();
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

    fn goodbye_flow(&self) -> Option<String> {
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
