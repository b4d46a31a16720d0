//! Voice activity detection on the caller's 8 kHz audio, and turn-taking on top of it.
//!
//! A [`Vad`] turns audio into a speech probability per frame; [`SpeechSegmenter`] turns those
//! probabilities into `SpeechStart`/`SpeechEnd` events with thresholds, a minimum speech length
//! and the end-of-turn patience. Keeping the two apart means the turn-taking rules are pure,
//! tested without a model, and identical whichever detector runs underneath:
//!
//! - [`SileroVad`] (feature `onnx`): the Silero v5/v6 model through ONNX Runtime. Robust to
//!   noise and music; ~0.1 ms per 32 ms window on one core.
//! - [`EnergyVad`]: RMS energy against an adaptive noise floor, for when no model file is
//!   configured. Fine on a quiet line, fooled by loud steady noise changes and by music.

mod energy;
mod segmenter;
#[cfg(feature = "onnx")]
mod silero;

pub use energy::{EnergyVad, EnergyVadConfig, level_dbfs};
pub use segmenter::{SegmenterConfig, SpeechEvent, SpeechSegmenter};
#[cfg(feature = "onnx")]
pub use silero::{SileroModel, SileroVad};

/// Why a VAD could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum VadError {
    /// The model file is missing or ONNX Runtime could not load it.
    #[error(
        "cannot load VAD model {path}: {reason} (run scripts/setup.sh, or set VARTALAAP_MODEL_DIR)"
    )]
    Load {
        path: std::path::PathBuf,
        reason: String,
    },
    /// ONNX Runtime itself is not available.
    #[cfg(feature = "onnx")]
    #[error(transparent)]
    Runtime(#[from] crate::onnx::OrtInitError),
    /// Inference failed on a frame.
    #[error("VAD inference failed: {0}")]
    Inference(String),
}

/// A voice activity detector over 8 kHz mono PCM16.
///
/// Implementations are stateful (noise floor, recurrent model state): use one per call, and
/// [`reset`](Vad::reset) it when the stream restarts.
pub trait Vad: Send {
    /// Feeds the next frame (any length; 160 samples = 20 ms is usual) and returns the speech
    /// probability in [0, 1] of the most recent audio the detector has judged.
    fn process(&mut self, frame_8k: &[i16]) -> Result<f32, VadError>;

    /// Forgets all state, as for a new stream.
    fn reset(&mut self);
}
