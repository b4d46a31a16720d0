//! The call: one task per phone call running speech recognition, the dialog engine and speech
//! synthesis, with audio paced at real time, barge-in, per-turn timings and call logs.
//!
//! ```text
//! Plivo WS ─ StreamEvent ─▶ CallSession ─ µ-law ─▶ Deepgram (STT)          ─┐
//!                              │          └ PCM ──▶ VAD (spawn_blocking)     │ utterances,
//!                              │                                             │ speech start/end
//!                              ◀─────────────────────────────────────────────┘
//!                              ├─ engine turn (spawn_blocking, tools on the store)
//!                              ├─ Say → sentences → TTS pool (phrase cache) → 8 kHz µ-law
//!                              │        → 20 ms frames paced in real time → playAudio + checkpoint
//!                              └─ call log: every turn with timings; outcome; caller preferences
//! ```
//!
//! **Design decisions.**
//! - One task owns the call's state and reacts in one `select!` to Plivo events, STT events,
//!   VAD reports, speaker progress and timers, so there are no locks around conversation state
//!   and every rule ("barge in only while the bot speaks") is one `if` in one place.
//! - CPU work never runs on the async workers: the engine, storage, VAD and TTS run on the
//!   blocking pool; the call task only moves bytes and decides.
//! - The crate is framework-free: the server's route turns WebSocket messages into
//!   [`StreamEvent`](vartalaap_telephony::StreamEvent)s and [`Command`](vartalaap_telephony::Command)s
//!   back into messages, and passes its store-backed tool executor in as a [`ToolsFactory`].
//!
//! See `docs/VOICE.md` for the lifecycle, turn-taking and barge-in rules, and failure handling.

mod backchannel;
pub mod browser;
mod config;
mod engine;
mod listen;
mod offline;
mod phrases;
mod service;
mod session;
mod speaker;
mod speculate;
mod speech;
mod timing;

pub use backchannel::is_backchannel;
pub use config::{OfflineStt, PlivoVoiceConfig, SecretBytes, VoiceConfig};
pub use engine::{BROWSER_CHANNEL_NOTE, CallLogError, CallNote, EngineError};
pub use listen::{SharedSilero, VadChoice};
pub use phrases::Phrase;
pub use service::{
    AdmittedCall, HangupInfo, Hungup, MetricsSink, ToolContext, ToolsFactory, VoiceDeps,
    VoiceError, VoiceService, routing_number,
};
pub use session::{CallParams, CallSummary, end_silence_ms};
pub use speculate::SpeculationCounts;
pub use speech::{Source as SpeechSource, SpeechPool, Spoken, VoiceNeeds, voice_for};
pub use timing::TurnMarks;

/// Re-exported so the server can fill [`VoiceConfig`] without depending on the inner crates.
pub use vartalaap_audio::ModelPaths;
/// Re-exported so the server can fill [`VoiceConfig::deepgram`].
pub use vartalaap_providers::deepgram::DeepgramConfig;
/// Re-exported so the server can fill [`VoiceConfig::edge`].
pub use vartalaap_providers::edge::EdgeTtsConfig;
/// Re-exported so the server and tests can build or name an offline recogniser.
pub use vartalaap_stt::{Recognise, RecogniserWorker, SttError, Transcript};
