//! The Plivo telephony edge: everything between a phone call and the voice engine that is about
//! Plivo's wire protocols, as pure functions the server mounts on its routes.
//!
//! ```text
//! Plivo ── POST /plivo/answer (form, X-Plivo-Signature-V3) ──▶ signature::verify_v3
//!                                                              webhook::AnswerRequest (route by `to`)
//!                                                              token::StreamTokenKey::issue
//!       ◀── xml::answer_xml(wss://…/plivo/stream?token=…) ───┘
//! Plivo ── GET /plivo/stream?token=… (WS upgrade, signed) ──▶ signature::verify_v3_upgrade
//!                                                              token::StreamTokenKey::verify
//!       ── start / media / dtmf / playedStream / clearedAudio ──▶ stream::StreamEvent::parse
//!       ◀── playAudio / checkpoint / clearAudio ── stream::Command::to_json
//!                                                  playback::PlaybackTracker (what was heard)
//! Plivo ── POST hangup / stream-status callbacks (signed) ──▶ webhook::{HangupEvent, StreamStatusEvent}
//! ```
//!
//! See `docs/TELEPHONY.md` for the whole flow.
//!
//! **Design decision:** no HTTP or WebSocket framework here. Each piece is a pure function (or a
//! small state machine with time passed in) so the server owns routing, and tests replay
//! protocol edge cases without sockets. The one exception is [`simulator`] (feature
//! `simulator`): it plays Plivo's side over real sockets, for tests and load generation.
//!
//! Secrets (auth tokens, the stream-token secret, tokens themselves) and phone numbers never
//! appear in error messages or logs from this crate.

pub mod form;
pub mod playback;
pub mod signature;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod stream;
pub mod token;
pub mod webhook;
pub mod xml;

pub use playback::{Heard, PlaybackTracker};
pub use signature::{SignatureError, sign_v3, verify_v3, verify_v3_upgrade};
pub use stream::{Command, FrameError, StreamEvent};
pub use token::{StreamClaims, StreamTokenKey, TokenError};
pub use webhook::{AnswerRequest, HangupEvent, StreamStatusEvent, WebhookError};
pub use xml::{AfterStream, StreamOptions, XmlError, answer_xml};
