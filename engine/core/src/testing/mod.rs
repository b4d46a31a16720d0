//! Scripted conversation tests (`tests/conversations/*.yaml`), shared by `cargo test` and
//! `vartalaap test`.
//!
//! A dialogue file names a business, a reference time and the caller's lines, and says per
//! turn what the bot should answer (exact text, substrings or a regular expression), which
//! slots should hold what, which flow should be active, what handled the turn and which tool
//! calls should happen; at the end, which reservations, callbacks and jobs exist. The runner
//! plays the dialogue through the real engine with the real configuration; its tool calls go
//! to a [`DialogueWorld`] the caller supplies (everywhere: the server's executor over a
//! temporary store, `vartalaap_tools::StoreWorld`), and it reports every mismatch as
//! `file:turn N: …`. Adding a test means adding a file.
//!
//! ```yaml
//! business: himalayan_kitchen
//! at: "2026-11-25T18:00:00+05:30"      # local time of the call
//! turns:
//!   - bot: { contains: ["स्वागत"] }       # the greeting (a turn without `caller`)
//!   - caller: "kal 8 baje 4 log ke liye table chahiye"
//!     bot: { contains: ["naam"] }
//!     slots: { party_size: 4, date: "2026-11-26", time: "20:00" }
//!     actions: [check_availability]
//! expect:
//!   reservations: [{ date: "2026-11-26", time: "20:00", party_size: 4, name: Rahul }]
//!   jobs: [{ kind: whatsapp_followup, reservation_name: Rahul }]
//! ```

mod coverage;
mod runner;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub use coverage::Coverage;
pub use runner::{
    BusinessReport, FailingTools, Failure, Outcome, Report, TurnOutcome, run_dialogue,
    run_dialogues,
};
pub use world::{
    DEFAULT_CALLER_NUMBER, DialogueCallback, DialogueJob, DialogueReservation, DialogueWorld,
    OTHER_CALLER_NUMBER, WorldFactory, WorldSetup,
};

/// One scripted call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialogue {
    /// File it was loaded from (set by [`load_dialogues`]).
    #[serde(skip)]
    pub file: PathBuf,
    /// What the dialogue shows, for people reading the file.
    #[serde(default)]
    pub description: Option<String>,
    /// Business id.
    pub business: String,
    /// Local time of the call, RFC 3339 (the offset is the business's; the local part is used).
    pub at: String,
    /// The caller's known language (a returning caller).
    #[serde(default)]
    pub caller_lang: Option<String>,
    /// The caller's number as the phone network gives it; `null` = withheld (no WhatsApp
    /// confirmation, no look-ups by number). Default: [`DEFAULT_CALLER_NUMBER`].
    #[serde(default = "default_caller_number")]
    pub caller_number: Option<String>,
    /// The caller's answer to the WhatsApp question in an earlier call (a returning caller).
    #[serde(default)]
    pub caller_whatsapp_consent: Option<bool>,
    /// Reservations that exist before the call (for modify and cancel).
    #[serde(default)]
    pub existing: Vec<DialogueReservation>,
    /// Tools that fail in this dialogue (`book`, `check_availability`, `create_callback`, …).
    #[serde(default)]
    pub failing_tools: Vec<String>,
    /// The turns; a turn without `caller`, `silence` or `dtmf` checks the greeting.
    pub turns: Vec<Turn>,
    /// What must exist at the end.
    #[serde(default)]
    pub expect: Option<EndState>,
}

/// One caller turn and what the bot should do.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// What the caller says.
    #[serde(default)]
    pub caller: Option<String>,
    /// The caller stays silent (`NoInput`).
    #[serde(default)]
    pub silence: bool,
    /// A keypad key.
    #[serde(default)]
    pub dtmf: Option<char>,
    /// What an LLM at the edge made of the caller's words (tests the LLM path offline).
    #[serde(default)]
    pub interpretation: Option<TurnInterpretation>,
    /// Minutes to advance the clock before this turn.
    #[serde(default)]
    pub after_minutes: Option<i64>,
    /// The reply.
    #[serde(default)]
    pub bot: Option<Reply>,
    /// Slot values that must hold after the turn (`null` = must be empty).
    #[serde(default)]
    pub slots: BTreeMap<String, Value>,
    /// The active flow after the turn (`null` = none, listening for a request).
    #[serde(default, deserialize_with = "some_value")]
    pub flow: Option<Value>,
    /// Exactly these tool calls happen in this turn, in order (`check_availability`, `book`,
    /// `find_reservations`, `modify`, `cancel`, `create_callback`, `send_followup`), plus
    /// `transfer` and `hangup`.
    #[serde(default)]
    pub actions: Option<Vec<String>>,
    /// Reply language after the turn.
    #[serde(default)]
    pub lang: Option<String>,
    /// What must have handled the turn (fields left out match anything; `null` = none).
    #[serde(default)]
    pub handled_by: Option<ExpectedHandledBy>,
}

/// The expected [`crate::HandledBy`] of a turn.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedHandledBy {
    /// Intent (`null` = nothing understood).
    #[serde(default, deserialize_with = "some_value")]
    pub intent: Option<Value>,
    /// Flow.
    #[serde(default, deserialize_with = "some_value")]
    pub flow: Option<Value>,
    /// Step.
    #[serde(default, deserialize_with = "some_value")]
    pub step: Option<Value>,
}

fn default_caller_number() -> Option<String> {
    Some(DEFAULT_CALLER_NUMBER.to_string())
}

/// An LLM reading of one caller turn (see [`crate::Interpretation`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnInterpretation {
    /// Intent name.
    #[serde(default)]
    pub intent: Option<String>,
    /// Slot values.
    #[serde(default)]
    pub slots: BTreeMap<String, Value>,
    /// Whether the caller corrects an earlier value.
    #[serde(default)]
    pub is_correction: bool,
}

fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Expectations on the bot's words in one turn (all given checks must hold).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The whole reply, exactly (sentences joined by a space).
    #[serde(default)]
    pub say: Option<String>,
    /// Substrings that must all appear.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Substrings that must not appear.
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// A regular expression the reply must match.
    #[serde(default)]
    pub matches: Option<String>,
    /// Templates that must have been spoken, in order.
    #[serde(default)]
    pub templates: Option<Vec<String>>,
    /// The bot says nothing.
    #[serde(default)]
    pub silent: bool,
}

/// The state of the world after the call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndState {
    /// Active reservations (existing ones included), in any order.
    #[serde(default)]
    pub reservations: Option<Vec<DialogueReservation>>,
    /// Callback requests made.
    #[serde(default)]
    pub callbacks: Option<Vec<DialogueCallback>>,
    /// WhatsApp confirmations queued (jobs of kind `whatsapp_followup`, counted).
    #[serde(default)]
    pub followups: Option<usize>,
    /// Every durable job queued, in any order (each expectation matches one job).
    #[serde(default)]
    pub jobs: Option<Vec<DialogueJob>>,
    /// Whether the bot hung up or transferred.
    #[serde(default)]
    pub ended: Option<bool>,
}

/// A dialogue file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DialogueError {
    /// The directory or a file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file is not a valid dialogue.
    #[error("{path}: {message}")]
    Parse {
        /// Path.
        path: PathBuf,
        /// What is wrong (with line and column).
        message: String,
    },
}

/// Every `*.yaml` dialogue in `dir`, sorted by file name; or, when `dir` is a file, that one
/// dialogue (`vartalaap test tests/conversations/recorded_call.yaml` runs one recorded call).
pub fn load_dialogues(dir: &Path) -> Result<Vec<Dialogue>, Vec<DialogueError>> {
    let mut paths: Vec<PathBuf> = if dir.is_file() {
        vec![dir.to_path_buf()]
    } else {
        let entries = std::fs::read_dir(dir).map_err(|source| {
            vec![DialogueError::Io {
                path: dir.to_path_buf(),
                source,
            }]
        })?;
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect()
    };
    paths.sort();
    let (mut ok, mut errs) = (Vec::new(), Vec::new());
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_yaml::from_str::<Dialogue>(&text) {
                Ok(mut d) => {
                    d.file = path;
                    ok.push(d);
                }
                Err(e) => errs.push(DialogueError::Parse {
                    path,
                    message: e.to_string(),
                }),
            },
            Err(source) => errs.push(DialogueError::Io { path, source }),
        }
    }
    if errs.is_empty() { Ok(ok) } else { Err(errs) }
}
