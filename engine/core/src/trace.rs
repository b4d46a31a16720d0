//! What a conversation exercised: flows, steps, repair patterns and languages.
//!
//! The dialogue runner merges these into a coverage report, so an integrator can see which
//! parts of their flows no test reaches.

use std::collections::BTreeSet;

use serde::Serialize;
use vartalaap_config::Lang;

/// A built-in repair behaviour (see `docs/FLOWS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    /// A slot value was changed mid-flow and the flow re-confirmed.
    Correction,
    /// An info question during a flow was answered, then the flow resumed.
    Digression,
    /// The caller abandoned the current task ("rehne do").
    Cancel,
    /// The bot repeated its last words ("phir se boliye").
    Repeat,
    /// Silence: reprompt, or goodbye after too many.
    NoInput,
    /// Nothing matched: the fallback flow.
    OutOfScope,
    /// "Talk to a human" at any point.
    Human,
    /// Too many failed turns: handoff.
    TooManyFailures,
    /// A value was refused (validation or business policy) and asked again.
    Invalid,
    /// A collect was skipped because the caller had already given the value.
    Prefilled,
}

impl Repair {
    /// Every repair, for coverage reports.
    pub const ALL: [Repair; 10] = [
        Repair::Correction,
        Repair::Digression,
        Repair::Cancel,
        Repair::Repeat,
        Repair::NoInput,
        Repair::OutOfScope,
        Repair::Human,
        Repair::TooManyFailures,
        Repair::Invalid,
        Repair::Prefilled,
    ];
}

/// Everything one conversation touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// Flows entered.
    pub flows: BTreeSet<String>,
    /// (flow, step) pairs executed.
    pub steps: BTreeSet<(String, String)>,
    /// Repairs used.
    pub repairs: BTreeSet<Repair>,
    /// Languages the bot replied in.
    pub langs: BTreeSet<Lang>,
}

impl Trace {
    /// Adds another trace.
    pub fn merge(&mut self, other: &Trace) {
        self.flows.extend(other.flows.iter().cloned());
        self.steps.extend(other.steps.iter().cloned());
        self.repairs.extend(other.repairs.iter().copied());
        self.langs.extend(other.langs.iter().copied());
    }
}
