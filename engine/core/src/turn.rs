//! One caller utterance: understanding it and deciding what it means for the dialog.
//!
//! The order of decisions is the contract documented in `docs/FLOWS.md` (and on
//! [`Conversation`]): human → pending yes/no → repeat / cancel / goodbye → correction →
//! another flow (digression or switch) → values for the current flow → reprompt or fallback.

use serde_json::Value;
use vartalaap_config::model::flow::{Action, SlotType};
use vartalaap_lang::RepairIntent;
use vartalaap_script::{ScriptHost, SlotDecision};

use crate::conversation::{CANONICAL_SLOTS, Conversation, MAX_MISSES, Wait};
use crate::io::{Interpretation, Output};
use crate::render::config_lang;
use crate::trace::Repair;
use crate::understand::{Heard, Reading, understand};

impl Conversation {
    /// Returns false when nothing new was said (a repeat), so the last words stay remembered.
    pub(crate) fn on_utterance(
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
        let date = self.booking_date();
        let heard = understand(
            text,
            &Reading {
                snap: &self.snap,
                knowledge: &self.knowledge,
                now: self.now,
                date,
                wants: &wants,
                day_part: self.day_part,
                slots: &self.slots,
            },
            interp,
        );
        let day_part = vartalaap_lang::extract_day_part(text);
        let said = self.dispatch(heard, pending, host, out);
        // Remembered after dispatch: a request that starts a new task forgets the old part
        // of the day first, then keeps the one it named ("kal shaam ko table chahiye").
        if day_part.is_some() && self.frame.is_some() {
            self.day_part = day_part;
        }
        said
    }

    pub(crate) fn dispatch(
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
                self.repaired(Repair::Repeat);
                if self.last_said.is_empty() {
                    self.reprompt(out);
                } else {
                    out.extend(self.last_said.iter().cloned());
                }
                return false;
            }
            Some(RepairIntent::Cancel) => {
                self.repaired(Repair::Cancel);
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
            self.repaired(Repair::Correction);
            for slot in &changed {
                if !self.turn_corrections.contains(slot) {
                    self.turn_corrections.push(slot.clone());
                }
            }
            for (k, v) in &heard.values {
                self.accept_value(k, v.clone(), host, out);
            }
            self.restart_flow(&changed);
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
    pub(crate) fn accept_value(
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
                self.script_failed(
                    crate::problems::ProblemSource::Hook,
                    &format!("on_slot({name})"),
                    &e,
                    format!("on_slot {name}: {e}"),
                );
                value
            }
        };
        self.slots.insert(name.to_string(), value);
        true
    }

    /// Slots already filled (other than the one being asked) to which the caller gave a new,
    /// different value.
    pub(crate) fn changed_slots(&self, heard: &Heard, pending: Option<&str>) -> Vec<String> {
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
    pub(crate) fn try_switch(
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
        // Values for the task at hand ("aaj shaam ko" while asked the party size) continue
        // it: a weak resemblance to another flow's example ("good evening") does not win.
        let continues = answered
            || self
                .frame
                .as_ref()
                .is_some_and(|f| heard.values.keys().any(|k| f.flow.slots.contains_key(k)));
        let current = self.frame.as_ref().map(|f| f.flow.id.clone());
        let mut target = heard.intent.as_ref().and_then(|(intent, score)| {
            let flow = self.knowledge.intent_flow.get(intent)?;
            let strong = *score >= 0.75 || !continues && *score >= 0.5;
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
            } else if !menu_asked
                && (heard.availability.is_some() || heard.overview)
                && let Some(f) = self.flow_with_action(Action::LookupMenu)
            {
                // "beer milegi?" in the middle of a booking: answered (policy or menu), then
                // the booking resumes.
                target = Some((f, String::new()));
            }
        }
        // "hum shanivaar ko aayenge" while booking continues the booking, however much the
        // words resemble "kaise aana hai".
        if heard.visit
            && !self.is_info_flow(current.as_deref().unwrap_or_default())
            && target.as_ref().is_some_and(|(f, _)| self.is_info_flow(f))
        {
            target = None;
        }
        let target = self.policy_before_menu(heard, target);
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
    pub(crate) fn idle_request(
        &mut self,
        heard: &Heard,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) {
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
        // A visit with a day or time ("kal aayenge") or a booking asked for in other words
        // ("jagah hai kya kal?") is the booking task, even when its words resemble an info
        // flow's example ("kaise aana hai"); a FAQ that matched the whole question still wins.
        if (heard.visit || heard.book_request)
            && !heard.strong_faq()
            && by_intent.as_ref().is_none_or(|(f, _)| self.is_info_flow(f))
            && let Some(f) = self.flow_with_action(Action::Book)
        {
            by_intent = Some((f, String::new()));
        }
        let target = by_intent.or_else(|| {
            let pick = if slots_said {
                self.flow_with_action(Action::Book)
            } else if heard.faq.as_ref().is_some_and(|(_, s)| *s >= 0.6) {
                self.flow_with_action(Action::AnswerFaq)
            } else if heard.menu.first().is_some_and(|(_, s)| *s >= 0.6) {
                self.flow_with_action(Action::LookupMenu)
            } else if heard.overview {
                // "kya kya milta hai", "what do you serve": the menu flow finds no dish and
                // gives the overview.
                self.flow_with_action(Action::LookupMenu)
            } else if heard.faq_topic.is_some() {
                // "wheelchair?", "UPI?": a word only one policy is about.
                self.flow_with_action(Action::AnswerFaq)
            } else if heard.availability.is_some() {
                // "pizza milega?": a dish question, answered "not on our menu" with something
                // similar when the menu has nothing by that name.
                self.flow_with_action(Action::LookupMenu)
            } else {
                None
            };
            pick.map(|f| (f, String::new()))
        });
        let target = self.policy_before_menu(heard, target);
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

    /// A menu question about something the menu does not name, whose words belong to one of
    /// the business's policies ("can I bring wine", "daaru milti hai?", "beer hai?"), is
    /// answered from that policy (FAQ) instead of "not on our menu".
    pub(crate) fn policy_before_menu(
        &self,
        heard: &Heard,
        target: Option<(String, String)>,
    ) -> Option<(String, String)> {
        let menu_flow = self.flow_with_action(Action::LookupMenu);
        let to_menu = target
            .as_ref()
            .is_some_and(|(f, _)| Some(f) == menu_flow.as_ref());
        let policy_said = heard.strong_faq() || heard.faq_topic.is_some();
        if to_menu
            && heard.menu.is_empty()
            && policy_said
            && let Some(f) = self.flow_with_action(Action::AnswerFaq)
        {
            return Some((f, String::new()));
        }
        target
    }

    /// Enters `flow` and keeps the values just heard for the slots it declares.
    ///
    /// A new *task* (booking, change, cancellation) starts from what the caller says now:
    /// only their name carries over from an earlier task in the call, so "change my booking"
    /// after a booking asks which booking instead of silently reusing the new one's values.
    /// Info flows keep everything (they may be a digression inside a task), and `goto`
    /// between flows keeps everything (one task continuing, e.g. into the large-party
    /// callback).
    pub(crate) fn enter_with_values(&mut self, flow: &str, heard: &Heard) {
        if !self.is_info_flow(flow) {
            self.slots.retain(|k, _| k == "name");
            self.day_part = None;
        }
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

    pub(crate) fn out_of_scope(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
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
}
