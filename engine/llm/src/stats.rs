//! Counting what the LLM did per turn, so an owner can see how often it helped and why it
//! fell back (`vartalaap_llm_turns_total{use,outcome}` on the server's `/metrics`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Which job the model was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Use {
    /// Reading an utterance into an interpretation (tool call).
    Understand,
    /// Phrasing a free-form answer.
    Phrase,
}

impl Use {
    /// The metric label.
    pub fn name(self) -> &'static str {
        match self {
            Use::Understand => "understand",
            Use::Phrase => "phrase",
        }
    }
}

/// Receives one `(use, outcome)` event per LLM decision (the server counts them).
pub type MetricsSink = Arc<dyn Fn(Use, &'static str) + Send + Sync>;

/// Outcome counters, per process.
#[derive(Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<(Use, &'static str), u64>>,
    sink: Option<MetricsSink>,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("counts", &self.snapshot())
            .finish_non_exhaustive()
    }
}

impl Stats {
    /// Counters that also report to `sink`.
    pub fn with_sink(sink: MetricsSink) -> Stats {
        Stats {
            counts: Mutex::default(),
            sink: Some(sink),
        }
    }

    /// Records one outcome.
    pub fn count(&self, use_: Use, outcome: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((use_, outcome))
            .or_default() += 1;
        if let Some(sink) = &self.sink {
            sink(use_, outcome);
        }
    }

    /// How often `outcome` happened for `use_`.
    pub fn get(&self, use_: Use, outcome: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((u, o), _)| *u == use_ && *o == outcome)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Every counter, for logs and tests.
    pub fn snapshot(&self) -> BTreeMap<(Use, &'static str), u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
