//! Microsoft Edge "Read Aloud" TTS (feature `edge-tts`): the fallback voice when local Piper
//! fails. Unofficial endpoint, so it is off by default and never on the critical path.
//!
//! [`EdgeTts::synthesize`] opens one WebSocket per request (as Edge does), sends
//! `speech.config` and the SSML, collects the MP3 audio frames until `turn.end`, and decodes
//! the MP3 to mono PCM. Anything short of a complete turn (403, no audio, closed early,
//! stalled) is a typed [`TtsError`], so the call falls back rather than playing half a
//! sentence.

mod client;
pub mod framing;
pub mod mp3;
pub mod token;

pub use client::{EdgeTts, EdgeTtsConfig, TtsError, TtsStage};
pub use mp3::{Pcm, decode_mp3};
