//! Vartalaap's dialog engine: a pure, sans-I/O state machine that interprets the business's
//! YAML flows turn by turn.
//!
//! ```text
//!  Input ──▶ Conversation::handle(now, input, host) ──▶ Vec<Output>
//!  (utterance, silence,        │                         (say, listen, tool call,
//!   keypad, tool result)       ├─ understand: vartalaap-lang extractors (+ LLM hint)
//!                              ├─ repair: correction, digression, cancel, repeat, …
//!                              ├─ run: flow steps (say, collect, set, if, call, action, goto)
//!                              ├─ policy: hours, lead time, slots (before capacity)
//!                              └─ render: business templates, spoken values
//! ```
//!
//! **Design decision:** the engine never performs an effect. Speaking, listening, storage and
//! transfers leave as [`Output`] values; storage answers come back as
//! [`Input::ToolResult`]. Time is an argument. So the engine has no clock, no I/O, no
//! randomness and no async runtime, a whole call replays in microseconds, and the phone edge,
//! the text chat and the tests drive exactly the same code ([`drive`] runs tool calls
//! synchronously for the latter two).
//!
//! Flow expressions and plugins run behind [`ScriptHost`], so user scripts stay inside one
//! sandbox with limits. LLM-phrased text is checked by [`guard::check_generated`] against the
//! business's facts before it may replace a template answer.

#![deny(missing_docs)]

mod actions;
mod conversation;
pub mod guard;
mod io;
pub mod policy;
mod problems;
mod render;
mod repair;
mod run;
mod speech;
pub mod testing;
mod tools;
mod trace;
mod turn;
mod understand;

pub use conversation::{
    CANONICAL_SLOTS, Conversation, ConversationView, LISTEN_PATIENCE_MS, MAX_MISSES, MAX_SILENCES,
    Prepared,
};
pub use io::{
    CallerContext, HandledBy, HangupReason, Input, Interpretation, Output, ReservationSummary,
    ToolCall, ToolKind, ToolResult,
};
pub use problems::{ConfigProblem, ProblemSource, script_message};
pub use render::{RenderError, Renderer};
pub use tools::{ToolExecutor, drive, drive_start};
pub use trace::{Repair, Trace};
pub use vartalaap_config::Lang;
pub use vartalaap_script::{ScriptError, ScriptHost, ScriptScope, Site};
