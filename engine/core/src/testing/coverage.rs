//! Which flows, steps, repair patterns and languages a set of dialogues exercised.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use vartalaap_config::{BusinessSnapshot, Lang};

use crate::trace::{Repair, Trace};

/// Coverage of one business's flows by a set of dialogues.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Per flow: (flow id, steps reached, steps total, unreached step ids).
    pub flows: Vec<FlowCoverage>,
    /// Repair patterns exercised.
    pub repairs: BTreeSet<Repair>,
    /// Repair patterns not exercised.
    pub repairs_missing: Vec<Repair>,
    /// Languages the bot replied in.
    pub langs: BTreeSet<Lang>,
    /// Supported languages never used.
    pub langs_missing: Vec<Lang>,
}

/// Coverage of one flow.
#[derive(Debug, Clone, Serialize)]
pub struct FlowCoverage {
    /// Flow id.
    pub flow: String,
    /// Steps executed at least once.
    pub reached: usize,
    /// Steps in the flow.
    pub total: usize,
    /// Step ids never executed.
    pub unreached: Vec<String>,
}

impl Coverage {
    /// Coverage of `snap`'s flows by `trace` (merge traces of all dialogues first).
    pub fn new(snap: &BusinessSnapshot, trace: &Trace) -> Coverage {
        let mut flows = Vec::new();
        for id in &snap.business.flows {
            let Some(flow) = snap.flows.get(id) else {
                continue;
            };
            let unreached: Vec<String> = flow
                .steps
                .iter()
                .filter(|s| !trace.steps.contains(&(id.clone(), s.id.clone())))
                .map(|s| s.id.clone())
                .collect();
            flows.push(FlowCoverage {
                flow: id.clone(),
                reached: flow.steps.len() - unreached.len(),
                total: flow.steps.len(),
                unreached,
            });
        }
        Coverage {
            flows,
            repairs: trace.repairs.clone(),
            repairs_missing: Repair::ALL
                .into_iter()
                .filter(|r| !trace.repairs.contains(r))
                .collect(),
            langs: trace.langs.clone(),
            langs_missing: snap
                .business
                .languages
                .supported
                .iter()
                .copied()
                .filter(|l| !trace.langs.contains(l))
                .collect(),
        }
    }

    /// Whether every flow was entered, every repair and language used.
    pub fn is_complete(&self) -> bool {
        self.flows.iter().all(|f| f.reached > 0)
            && self.repairs_missing.is_empty()
            && self.langs_missing.is_empty()
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "flows (steps reached / total):")?;
        for fc in &self.flows {
            write!(f, "  {:<22} {:>2}/{:<2}", fc.flow, fc.reached, fc.total)?;
            if !fc.unreached.is_empty() {
                write!(f, "  unreached: {}", fc.unreached.join(", "))?;
            }
            writeln!(f)?;
        }
        let names = |rs: &mut dyn Iterator<Item = Repair>| {
            rs.map(|r| format!("{r:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "repairs: {}", names(&mut self.repairs.iter().copied()))?;
        if !self.repairs_missing.is_empty() {
            writeln!(
                f,
                "repairs never exercised: {}",
                names(&mut self.repairs_missing.iter().copied())
            )?;
        }
        let langs: Vec<&str> = self.langs.iter().map(|l| l.code()).collect();
        writeln!(f, "languages: {}", langs.join(", "))?;
        if !self.langs_missing.is_empty() {
            let m: Vec<&str> = self.langs_missing.iter().map(|l| l.code()).collect();
            writeln!(f, "languages never used: {}", m.join(", "))?;
        }
        Ok(())
    }
}
