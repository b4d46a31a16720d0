//! The step interpreter: walks the current flow until it must wait for the caller or a tool.
//!
//! It implements the execution model documented on `vartalaap_config::model::flow` exactly,
//! plus the engine's rules for slots:
//! - a `collect` whose slot already holds a valid value is skipped (slots carry across flows);
//! - a value is valid when it has the slot's type and range, passes the step's `validate`
//!   expression and, in flows that book (`check_availability`, `book`, `modify`,
//!   `request_callback`), the business policy for the day being booked (`date`, or the
//!   `new_date` slot of the flow's `modify` step) and `time` — not for other date slots;
//! - a jump *back* to a `collect` step empties its slot (and every flow-local slot collected
//!   at or after it), so "retry" paths ask again instead of looping on the refused value.

use serde_json::Value;
use vartalaap_config::model::flow::{Action, Collect, SlotType, StepKind, Target};

use crate::conversation::{Conversation, Frame, Wait};
use crate::io::{HangupReason, Output};
use crate::policy;
use crate::problems::ProblemSource;
use crate::trace::Repair;
use vartalaap_script::{ScriptHost, ScriptScope, Site};

/// Steps one turn may run without waiting; more means a flow loops on itself.
const MAX_STEPS_PER_TURN: usize = 200;

/// How an action step ended.
pub(crate) enum Flowing {
    /// Continue at the step's `next`.
    Next,
    /// Take the step's `on_failure`.
    Fail,
    /// A tool call is out; wait for its result.
    Wait,
    /// The call is over (hangup or transfer).
    Stop,
    /// The action moved the conversation elsewhere itself (e.g. a denied booking).
    Jumped,
}

enum CollectOutcome {
    Filled,
    Asked,
    Jumped,
}

impl Conversation {
    /// Runs steps until the conversation waits.
    pub(crate) fn run(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        for _ in 0..MAX_STEPS_PER_TURN {
            let Some(frame) = self.frame.clone() else {
                self.wait = Wait::Idle;
                return;
            };
            let flow = frame.flow.clone();
            let Some(step) = flow.steps.get(frame.step) else {
                self.flow_failed(
                    &flow.id,
                    format!("flow {}: step index {} out of range", flow.id, frame.step),
                );
                self.frame = None;
                continue;
            };
            self.trace.steps.insert((flow.id.clone(), step.id.clone()));
            self.turn_step = Some((flow.id.clone(), step.id.clone()));
            let file = format!("flows/{}.yaml", flow.id);
            let site = Site {
                file: &file,
                step: &step.id,
            };
            match &step.kind {
                StepKind::Say { template } => {
                    self.say(template, out);
                    self.advance(step.next);
                }
                StepKind::Collect(c) => match self.collect(c, host, out) {
                    CollectOutcome::Filled => self.advance(step.next),
                    CollectOutcome::Asked => {
                        self.wait = Wait::Collect;
                        return;
                    }
                    CollectOutcome::Jumped => {}
                },
                StepKind::Set { assignments } => {
                    for (slot, expr) in assignments {
                        let kind = flow.slots.get(slot).map(|s| s.kind);
                        let value = host.eval(expr, &site, &self.scope(None));
                        match (value, kind) {
                            (Ok(v), Some(kind)) => match crate::understand::parse_value(kind, &v) {
                                Some(v) => {
                                    self.slots.insert(slot.clone(), v);
                                }
                                // The value is left out: it may be the caller's.
                                None => self.flow_failed(
                                    &step.id,
                                    format!(
                                        "flow {} step {}: `{}` did not give a {}",
                                        flow.id,
                                        step.id,
                                        expr.source,
                                        kind.name()
                                    ),
                                ),
                            },
                            (Ok(_), None) => {}
                            (Err(e), _) => self.script_failed(
                                ProblemSource::Expression,
                                &step.id,
                                &e,
                                format!("flow {} step {}: {e}", flow.id, step.id),
                            ),
                        }
                    }
                    self.advance(step.next);
                }
                StepKind::If { cases } => {
                    let mut jumped = false;
                    for case in cases {
                        match host.eval_bool(&case.when, &site, &self.scope(None)) {
                            Ok(true) => {
                                self.jump(&case.goto);
                                jumped = true;
                                break;
                            }
                            Ok(false) => {}
                            Err(e) => self.script_failed(
                                ProblemSource::Expression,
                                &step.id,
                                &e,
                                format!("flow {} step {}: {e}", flow.id, step.id),
                            ),
                        }
                    }
                    if !jumped {
                        self.advance(step.next);
                    }
                }
                StepKind::Call(call) => {
                    let result = host.call_step(call, &site, &self.scope(None));
                    match result {
                        Ok(v) => {
                            if let Some(into) = &call.into {
                                self.vars.insert(into.clone(), v);
                            }
                            self.advance(step.next);
                        }
                        Err(e) => {
                            self.script_failed(
                                ProblemSource::Plugin,
                                &format!("{}.{}", call.plugin, call.function),
                                &e,
                                format!(
                                    "flow {} step {}: plugin {}.{}: {e}",
                                    flow.id, step.id, call.plugin, call.function
                                ),
                            );
                            self.fail_to(call.on_failure.as_ref());
                        }
                    }
                }
                StepKind::Action {
                    action,
                    on_failure,
                    params,
                } => match self.action(*action, params, host, out) {
                    Flowing::Next => self.advance(step.next),
                    Flowing::Fail => self.fail_to(on_failure.as_ref()),
                    Flowing::Jumped => {}
                    Flowing::Wait => return,
                    Flowing::Stop => return,
                },
                StepKind::Goto(t) => self.jump(t),
                StepKind::End => {
                    if !self.end_flow() {
                        return;
                    }
                }
            }
            if self.ended {
                return;
            }
        }
        let name = self
            .frame
            .as_ref()
            .map(|f| f.flow.id.clone())
            .unwrap_or_default();
        self.flow_failed(
            &name,
            format!(
                "a flow ran {MAX_STEPS_PER_TURN} steps without waiting for the caller; ending the call"
            ),
        );
        self.hang_up(HangupReason::Error, out);
    }

    /// Continues at `next`, or ends the flow when there is none.
    pub(crate) fn advance(&mut self, next: Option<usize>) {
        self.attempts = 0;
        match (next, &mut self.frame) {
            (Some(i), Some(f)) => f.step = i,
            _ => {
                self.end_flow();
            }
        }
    }

    /// Ends the current flow: resumes a suspended one (returns true) or goes idle.
    pub(crate) fn end_flow(&mut self) -> bool {
        self.attempts = 0;
        match self.stack.pop() {
            Some(f) => {
                self.frame = Some(f);
                true
            }
            None => {
                self.frame = None;
                self.wait = Wait::Idle;
                false
            }
        }
    }

    /// Takes a failure exit, or the business fallback flow when the step has none.
    fn fail_to(&mut self, target: Option<&Target>) {
        match target {
            Some(t) => self.jump(t),
            None => {
                let fallback = self.snap.business.fallback_flow.clone();
                self.stack.clear();
                self.start_flow(&fallback, None);
            }
        }
    }

    /// Jumps to a target (see the module docs for what a backward jump clears).
    pub(crate) fn jump(&mut self, target: &Target) {
        self.attempts = 0;
        match target {
            Target::Step { index, .. } => {
                let Some(frame) = self.frame.as_mut() else {
                    return;
                };
                let flow = frame.flow.clone();
                if *index <= frame.step {
                    for (i, s) in flow.steps.iter().enumerate().skip(*index) {
                        if let StepKind::Collect(c) = &s.kind {
                            let local =
                                !crate::conversation::CANONICAL_SLOTS.contains(&c.slot.as_str());
                            if local || i == *index {
                                self.slots.remove(&c.slot);
                            }
                        }
                    }
                }
                if let Some(f) = self.frame.as_mut() {
                    f.step = *index;
                }
            }
            Target::Flow { flow, step } => {
                self.stack.clear();
                let (flow, step) = (flow.clone(), step.clone());
                self.start_flow(&flow, step.as_deref());
            }
        }
    }

    /// Enters a flow at its first (or a named) step. Flow-local slots (except those of flows
    /// suspended by a digression), plugin results and the last action result start empty;
    /// canonical slots carry over.
    pub(crate) fn start_flow(&mut self, id: &str, step: Option<&str>) {
        let Some(flow) = self.snap.flows.get(id).cloned() else {
            self.flow_failed(id, format!("unknown flow {id}"));
            self.frame = None;
            return;
        };
        let index = step.and_then(|s| flow.step_index(s)).unwrap_or(0);
        self.trace.flows.insert(flow.id.clone());
        self.clear_flow_slots();
        self.vars.clear();
        self.result = Value::Object(Default::default());
        self.policy_issue = Value::Object(Default::default());
        self.attempts = 0;
        self.committed = false;
        self.frame = Some(Frame { flow, step: index });
    }

    /// The collect step at the current position, if that is what it is.
    pub(crate) fn current_collect(&self) -> Option<&Collect> {
        let f = self.frame.as_ref()?;
        match &f.flow.steps.get(f.step)?.kind {
            StepKind::Collect(c) => Some(c),
            _ => None,
        }
    }

    fn collect(
        &mut self,
        c: &Collect,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) -> CollectOutcome {
        // No WhatsApp confirmation can be sent (no number, a "no" earlier, WhatsApp off):
        // the question is not asked, and the answer is no.
        if c.slot == "whatsapp_consent"
            && !self.slots.contains_key(&c.slot)
            && !self.whatsapp_possible()
        {
            self.slots.insert(c.slot.clone(), Value::Bool(false));
            self.wait = Wait::Idle;
            return CollectOutcome::Filled;
        }
        let Some(value) = self.slots.get(&c.slot).cloned() else {
            // One question per turn: when the bot has just asked one (e.g. "we're full at 8;
            // 9 or 9:30 — which suits you?" before a retry jumps back here), listen instead
            // of asking a second time.
            let asked = matches!(out.last(), Some(Output::Say { text, .. }) if text.trim_end().ends_with('?'));
            if asked && self.attempts == 0 {
                return CollectOutcome::Asked;
            }
            let name = if self.attempts == 0 || c.reprompts.is_empty() {
                c.prompt.clone()
            } else {
                let i = (self.attempts as usize - 1).min(c.reprompts.len() - 1);
                c.reprompts[i].clone()
            };
            self.say(&name, out);
            return CollectOutcome::Asked;
        };
        match self.refusal(c, &value, host) {
            None => {
                if self.wait != Wait::Collect {
                    self.trace.repairs.insert(Repair::Prefilled);
                }
                self.wait = Wait::Idle;
                CollectOutcome::Filled
            }
            Some(explain) => {
                self.trace.repairs.insert(Repair::Invalid);
                self.slots.remove(&c.slot);
                self.attempts += 1;
                if self.attempts >= c.max_attempts {
                    self.trace.repairs.insert(Repair::TooManyFailures);
                    self.fail_to(c.on_failure.as_ref());
                    return CollectOutcome::Jumped;
                }
                let name = explain.or_else(|| c.invalid.clone()).unwrap_or_else(|| {
                    c.reprompts
                        .first()
                        .cloned()
                        .unwrap_or_else(|| c.prompt.clone())
                });
                self.say(&name, out);
                CollectOutcome::Asked
            }
        }
    }

    /// Why `value` is refused for this collect: `Some(template to explain)` (inner `None` =
    /// use the step's own `invalid`/reprompt), or `None` when it is accepted.
    fn refusal(
        &mut self,
        c: &Collect,
        value: &Value,
        host: &dyn ScriptHost,
    ) -> Option<Option<String>> {
        let frame = self.frame.clone()?;
        let slot = frame.flow.slots.get(&c.slot)?;
        if slot.kind == SlotType::Integer {
            let n = value.as_i64()?;
            if slot.min.is_some_and(|m| n < m) || slot.max.is_some_and(|m| n > m) {
                return Some(None);
            }
        }
        // The policy judges the day being booked and its time, not other dates a flow holds
        // (the day of the booking being moved, `find_date`, may be any day).
        let on_day = c.slot == self.booking_date_slot();
        if self.books(&frame) && (on_day || c.slot == "time") {
            let day = self.booking_date();
            let issue = if on_day {
                day.and_then(|d| policy::check_date(&self.snap.business, self.now, d).err())
            } else {
                self.slot_time()
                    .and_then(|t| policy::check_time(&self.snap.business, self.now, day?, t).err())
            };
            if let Some(issue) = issue {
                return Some(self.explain_policy(&issue, on_day));
            }
        }
        if let Some(expr) = &c.validate {
            let file = format!("flows/{}.yaml", frame.flow.id);
            let step = frame
                .flow
                .steps
                .get(frame.step)
                .map_or("", |s| s.id.as_str());
            let site = Site { file: &file, step };
            match host.eval_bool(expr, &site, &self.scope(Some(value))) {
                Ok(true) => {}
                Ok(false) => return Some(None),
                Err(e) => {
                    self.script_failed(
                        ProblemSource::Expression,
                        step,
                        &e,
                        format!("validate `{}`: {e}", expr.source),
                    );
                    return Some(None);
                }
            }
        }
        None
    }

    /// The slot holding the day being booked in the current flow: the `new_date` of its
    /// `modify` step when it has one, else `date`.
    pub(crate) fn booking_date_slot(&self) -> &str {
        self.frame
            .as_ref()
            .and_then(|f| {
                f.flow.steps.iter().find_map(|s| match &s.kind {
                    StepKind::Action {
                        action: Action::Modify,
                        params,
                        ..
                    } => params.new_date.as_deref(),
                    _ => None,
                })
            })
            .unwrap_or("date")
    }

    /// The day being booked (see [`Conversation::booking_date_slot`]).
    pub(crate) fn booking_date(&self) -> Option<chrono::NaiveDate> {
        self.date_in(self.booking_date_slot())
    }

    /// Whether a flow books (and so applies the date/time policy to what it collects).
    pub(crate) fn books(&self, frame: &Frame) -> bool {
        frame.flow.steps.iter().any(|s| {
            matches!(
                &s.kind,
                StepKind::Action {
                    action: Action::CheckAvailability
                        | Action::Book
                        | Action::Modify
                        | Action::RequestCallback,
                    ..
                }
            )
        }) && frame.flow.slots.contains_key("date")
    }

    pub(crate) fn slot_time(&self) -> Option<chrono::NaiveTime> {
        self.slots
            .get("time")
            .and_then(Value::as_str)
            .and_then(|s| chrono::NaiveTime::parse_from_str(s, "%H:%M").ok())
    }

    /// The scope flow expressions see.
    pub(crate) fn scope<'a>(&'a self, value: Option<&'a Value>) -> ScriptScope<'a> {
        ScriptScope {
            slots: &self.slots,
            vars: &self.vars,
            value,
            business: &self.snap.document,
            lang: self.lang.code(),
            now: &self.now_text,
            utterance: &self.utterance,
            intent: &self.intent,
        }
    }
}
