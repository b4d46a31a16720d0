//! What the model is told about the conversation: the business snapshot, where the dialog
//! stands (flow, the question pending, the slots), the reply language and the local time.

use std::sync::Arc;

use chrono::NaiveDateTime;
use vartalaap_config::BusinessSnapshot;
use vartalaap_config::model::flow::{Flow, Slot, SlotType, StepKind};
use vartalaap_core::{Conversation, ConversationView};

/// A read-only picture of one conversation at the moment the caller spoke. It owns what it
/// holds (an `Arc` of the snapshot, a copy of the view), so it can cross `.await`s while the
/// conversation itself stays with its task.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The snapshot the conversation runs with (the LLM sees the same facts the engine uses).
    pub snapshot: Arc<BusinessSnapshot>,
    /// Flow, step, slots and reply language.
    pub view: ConversationView,
    /// Business-local time of the turn; relative dates ("kal") resolve against it.
    pub now: NaiveDateTime,
}

impl TurnContext {
    /// The context of `conv` at local time `now`.
    pub fn of(conv: &Conversation, now: NaiveDateTime) -> TurnContext {
        TurnContext {
            snapshot: conv.snapshot().clone(),
            view: conv.view(),
            now,
        }
    }

    /// The flow in progress, if any.
    pub fn flow(&self) -> Option<&Arc<Flow>> {
        self.snapshot.flow(self.view.flow.as_deref()?)
    }

    /// The slot the bot just asked for (the current step is a `collect`).
    pub fn pending_slot(&self) -> Option<&Slot> {
        let flow = self.flow()?;
        match &flow.step(self.view.step.as_deref()?)?.kind {
            StepKind::Collect(c) => flow.slots.get(&c.slot),
            _ => None,
        }
    }

    /// The slots the caller's words may fill this turn — the same set the engine listens for:
    /// the current flow's slots, or the canonical booking slots while no flow runs (a request
    /// may start any flow).
    pub fn slots_wanted(&self) -> Vec<Slot> {
        if let Some(flow) = self.flow() {
            return flow.slots.values().cloned().collect();
        }
        let slot = |name: &str, kind, description: &str| Slot {
            name: name.to_string(),
            kind,
            min: None,
            max: None,
            description: Some(description.to_string()),
        };
        vec![
            slot(
                "party_size",
                SlotType::Integer,
                "Number of guests, the caller included.",
            ),
            slot("date", SlotType::Date, "Date of the visit."),
            slot("time", SlotType::Time, "Time of the visit."),
            slot(
                "name",
                SlotType::String,
                "The caller's name, only when they say it.",
            ),
        ]
    }
}
