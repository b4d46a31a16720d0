//! Built-in repair that is not about understanding words: keypad input, silence, reprompts,
//! abandoning a task, saying goodbye, handing off to a person and hanging up.

use serde_json::Value;
use vartalaap_config::model::flow::{Action, SlotType};
use vartalaap_script::ScriptHost;

use crate::conversation::{Conversation, MAX_SILENCES, Wait};
use crate::io::{HangupReason, Output};
use crate::trace::Repair;

impl Conversation {
    pub(crate) fn on_dtmf(&mut self, c: char, host: &dyn ScriptHost, out: &mut Vec<Output>) {
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

    pub(crate) fn on_silence(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        if !matches!(self.wait, Wait::Idle | Wait::Collect) {
            return;
        }
        self.repaired(Repair::NoInput);
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
    pub(crate) fn cancel_task(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
        if self.frame.is_none() {
            self.goodbye(host, out);
            return;
        }
        self.frame = None;
        self.stack.clear();
        self.clear_flow_slots();
        self.day_part = None;
        self.wait = Wait::Idle;
        if let Some(t) = self.first_template(&["task_cancelled", "anything_else"]) {
            self.say(&t, out);
        }
    }

    pub(crate) fn goodbye(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) {
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
}
