//! Audio for phone calls: µ-law, streaming resampling, 20 ms framing, VAD and local TTS.
//!
//! The call pipeline, and which module owns each step:
//!
//! ```text
//! caller ─ µ-law 8 kHz ─▶ mulaw::decode ─▶ vad::Vad ─▶ vad::SpeechSegmenter ─▶ turn events
//!                                      └─▶ resample 8k→16k ─▶ (STT)
//! (LLM sentence) ─▶ tts::Tts ─▶ resample →8k ─▶ mulaw::encode ─▶ frames::Framer ─▶ frames::Pacer ─▶ caller
//! ```
//!
//! **Design decision:** everything here is synchronous, CPU-bound and clock-free. There is no
//! tokio in this crate; the server runs these calls on `spawn_blocking` or a dedicated thread,
//! so ONNX inference and FFTs never stall the async workers. Time enters only as arguments
//! (`Pacer` instants, frame durations), so tests replay calls faster than real time.
//!
//! **Native code is optional.** Without the `onnx` feature the crate has no native dependency:
//! µ-law, resampling, framing, the energy VAD, the segmenter and espeak-ng TTS all work. With
//! it, Silero VAD and Piper TTS run on ONNX Runtime loaded at run time from
//! `ORT_DYLIB_PATH` (see `scripts/fetch-models.sh` and `docs/AUDIO.md`).

pub mod frames;
pub mod models;
pub mod mulaw;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod resample;
pub mod trim;
pub mod tts;
pub mod vad;
pub mod wav;

pub use frames::{FRAME_DURATION, FRAME_SAMPLES_8K, Framer, Pacer};
pub use models::ModelPaths;
pub use resample::{PcmSample, ResampleError, StreamResampler, resample};
pub use trim::{TrimConfig, speech_span, trim_silence};
pub use tts::{Lang, Pcm, Tts, TtsError};
pub use vad::{EnergyVad, SegmenterConfig, SpeechEvent, SpeechSegmenter, Vad, VadError};
