//! Where things live in a business's configuration, as the reviewer needs to name them: the
//! business file, each flow's file and steps (with their JSON pointers), which steps answer
//! "not on the menu" / "no FAQ", and which template each question speaks.

use std::collections::BTreeMap;

use vartalaap_config::BusinessSnapshot;
use vartalaap_config::model::flow::{Action, StepKind, Target};

/// What a step does, as far as the reviewer cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRole {
    /// The step a menu look-up goes to when no dish matched.
    MenuMiss,
    /// The step an FAQ answer goes to when no FAQ matched.
    FaqMiss,
    /// Asks the caller for a slot, speaking `prompt`.
    Question {
        /// Slot asked for.
        slot: String,
        /// Template it speaks first.
        prompt: String,
    },
    /// Speaks a template.
    Say {
        /// The template.
        template: String,
    },
    /// The flow ends here.
    End,
    /// Anything else (conditions, plugin calls, actions).
    Other,
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLayout {
    /// Step id.
    pub id: String,
    /// What it does.
    pub role: StepRole,
}

/// One flow: its file and steps in file order (index = position in `/steps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLayout {
    /// Path from the configuration root (`flows/menu_question.yaml`).
    pub file: String,
    /// Steps in file order.
    pub steps: Vec<StepLayout>,
}

impl FlowLayout {
    /// The step with this id and its JSON pointer (`/steps/3`).
    pub fn step(&self, id: &str) -> Option<(&StepLayout, String)> {
        self.steps
            .iter()
            .position(|s| s.id == id)
            .map(|i| (&self.steps[i], format!("/steps/{i}")))
    }
}

/// A business's configuration as the reviewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessLayout {
    /// Business id.
    pub business_id: String,
    /// Its own file, from the configuration root (`businesses/himalayan_kitchen.yaml`).
    pub business_file: String,
    /// Default language code (`hi`), for prompt paths when a call's language is unknown.
    pub default_language: String,
    /// The flow used when nothing matched.
    pub fallback_flow: String,
    /// Flows by id.
    pub flows: BTreeMap<String, FlowLayout>,
}

impl BusinessLayout {
    /// Reads the layout from a compiled snapshot.
    pub fn from_snapshot(snapshot: &BusinessSnapshot) -> BusinessLayout {
        let business = &snapshot.business;
        let business_file = snapshot
            .files
            .iter()
            .find(|f| f.starts_with("businesses/"))
            .cloned()
            .unwrap_or_else(|| format!("businesses/{}.yaml", business.id));
        let flows = snapshot
            .flows
            .iter()
            .map(|(id, flow)| {
                let misses: BTreeMap<usize, StepRole> = flow
                    .steps
                    .iter()
                    .filter_map(|s| match &s.kind {
                        StepKind::Action {
                            action,
                            on_failure: Some(Target::Step { index, .. }),
                            ..
                        } => match action {
                            Action::LookupMenu => Some((*index, StepRole::MenuMiss)),
                            Action::AnswerFaq => Some((*index, StepRole::FaqMiss)),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                let steps = flow
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| StepLayout {
                        id: s.id.clone(),
                        role: misses.get(&i).cloned().unwrap_or_else(|| match &s.kind {
                            StepKind::Collect(c) => StepRole::Question {
                                slot: c.slot.clone(),
                                prompt: c.prompt.clone(),
                            },
                            StepKind::Say { template } => StepRole::Say {
                                template: template.clone(),
                            },
                            StepKind::End => StepRole::End,
                            _ => StepRole::Other,
                        }),
                    })
                    .collect();
                (
                    id.clone(),
                    FlowLayout {
                        file: flow.file.clone(),
                        steps,
                    },
                )
            })
            .collect();
        BusinessLayout {
            business_id: business.id.clone(),
            business_file,
            default_language: business.languages.default.code().to_string(),
            fallback_flow: business.fallback_flow.clone(),
            flows,
        }
    }

    /// The step `flow`.`step` with its JSON pointer, if the flow and step exist.
    pub fn step(&self, flow: &str, step: &str) -> Option<(&FlowLayout, &StepLayout, String)> {
        let f = self.flows.get(flow)?;
        let (s, path) = f.step(step)?;
        Some((f, s, path))
    }
}
