//! Cloud provider clients for a live phone call, and loopback mocks that speak the same wire
//! protocols.
//!
//! | Module | Provider | Transport |
//! |---|---|---|
//! | [`deepgram`] | Deepgram live speech-to-text | WebSocket, binary µ-law in, JSON out |
//! | [`groq`] | Groq chat completions (OpenAI-compatible) | HTTPS + server-sent events |
//! | `edge` (feature `edge-tts`) | Microsoft Edge "Read Aloud" TTS | WebSocket, MP3 out |
//! | [`plivo`] | Plivo REST (transfer, hang up) | HTTPS JSON |
//! | `mock` (feature `mock`) | loopback servers for all four | 127.0.0.1:0 |
//!
//! Design decisions, in short:
//! - **No callbacks.** Streaming clients hand back bounded channels or pull-based streams, so the
//!   call task sees every input in one `select!` and back-pressure is explicit.
//! - **Everything from config.** Base URLs, keys and model names are parameters; tests point the
//!   clients at the mocks on 127.0.0.1. Keys never reach logs (`Debug` redacts them).
//! - **Typed errors** that tell the call what to do next (retry after N seconds, fall back,
//!   apologise), rather than strings.
//! - TLS is rustls on the `ring` provider with the Mozilla root set compiled in: no OpenSSL,
//!   no aws-lc-rs build, and the same behaviour in a container without system certificates.
#![deny(missing_docs)]

pub mod deepgram;
pub mod groq;
pub mod plivo;

#[cfg(feature = "edge-tts")]
pub mod edge;

#[cfg(feature = "mock")]
pub mod mock;

mod backoff;
mod redact;
mod tls;

pub use backoff::Backoff;
