//! Offline speech recognition for phone calls: Whisper tiny.en through CTranslate2.
//!
//! ```text
//! caller utterance (8 kHz PCM16, bounded by the VAD) ─▶ 8k→16k (rubato, vartalaap-audio)
//!   ─▶ log-mel features (mel.rs, Whisper's exact recipe) ─▶ Whisper tiny.en (ct2rs, C++)
//!   ─▶ text + confidence (mean token probability) + no-speech probability
//! ```
//!
//! **Design decisions.**
//! - *Behind the `whisper` feature.* `ct2rs` compiles CTranslate2 and sentencepiece from
//!   vendored C++ with cmake, which takes minutes on 2 cores. Without the feature this crate
//!   still builds (so the workspace build stays fast), [`WhisperRecogniser::load`] answers
//!   [`SttError::NotBuiltIn`] and [`BUILT_IN`] is `false`, so callers can say so plainly.
//! - *One utterance at a time, never streaming.* Whisper always encodes a 30 s window, so a
//!   call costs about the same for any utterance up to 30 s; feeding it whole VAD-bounded
//!   utterances is both the cheapest and the most accurate use.
//! - *Off the async workers.* [`WhisperRecogniser`] is synchronous. [`RecogniserWorker`] owns
//!   one on a dedicated OS thread with a bounded queue, so transcription never runs on tokio's
//!   async workers nor fills its blocking pool, and a burst of calls gets a quick
//!   [`SttError::Busy`] instead of an ever-growing wait.
//! - *English only.* No Hindi model can be had from a package registry (see
//!   `docs/STT.md`); the recogniser reports its language so the server can say so at start-up.

pub mod mel;
#[cfg(feature = "whisper")]
mod whisper;
mod worker;

use std::path::{Path, PathBuf};

pub use vartalaap_audio::ModelPaths;
pub use worker::{Recognise, RecogniserWorker};

/// Whether this build contains the Whisper recogniser (the `whisper` cargo feature).
pub const BUILT_IN: bool = cfg!(feature = "whisper");

/// Folder name of the Whisper tiny.en model under the models folder (`scripts/fetch-models.sh`
/// with `WITH_STT=1`).
pub const WHISPER_DIR: &str = "whisper-tiny.en-ct2";

/// Input rate the recogniser takes: telephony audio, as Plivo streams it and the VAD sees it.
pub const INPUT_RATE_HZ: u32 = 8_000;

/// Where the Whisper model lives under a models folder.
pub fn whisper_model_dir(models: &ModelPaths) -> PathBuf {
    models.root.join(WHISPER_DIR)
}

/// Why recognition is unavailable or failed.
#[derive(Debug, thiserror::Error)]
pub enum SttError {
    /// The binary was built without the `whisper` feature.
    #[error(
        "the offline Whisper recogniser is not built in (build with `--features vartalaap/stt-whisper`)"
    )]
    NotBuiltIn,
    /// A model file is missing.
    #[error("Whisper model file {0} is missing; run WITH_STT=1 scripts/setup.sh")]
    ModelMissing(PathBuf),
    /// CTranslate2 or the tokenizer refused the model.
    #[error("Whisper model in {dir} could not be loaded: {reason}")]
    Load {
        /// The model folder.
        dir: PathBuf,
        /// CTranslate2's or the tokenizer's message.
        reason: String,
    },
    /// Resampling the utterance failed.
    #[error("resampling the utterance failed: {0}")]
    Resample(#[from] vartalaap_audio::ResampleError),
    /// Inference failed.
    #[error("transcription failed: {0}")]
    Inference(String),
    /// The worker's queue is full (more utterances waiting than it can finish soon).
    #[error("the recogniser is busy ({0} utterances queued)")]
    Busy(usize),
    /// The worker thread has stopped.
    #[error("the recogniser worker has stopped")]
    Stopped,
}

/// How to run the model.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperOptions {
    /// The model folder (`model.bin`, `config.json`, `tokenizer.json`, `vocabulary.txt`).
    pub model_dir: PathBuf,
    /// CPU threads for one transcription. 1 leaves the other core to the calls' other work.
    pub threads: usize,
    /// Beam width; 1 is greedy search (fastest; tiny.en gains little from beams on short
    /// utterances).
    pub beam_size: usize,
    /// Quantize to int8 at load time (faster on CPU, same words on our tests) instead of
    /// running the shipped fp16 weights as float32.
    pub int8: bool,
    /// Language token for a multilingual model (`en`, `hi`); ignored by `.en` models, which
    /// take no language token.
    pub language: String,
    /// Longest transcript in tokens; bounds the time a hallucinating decode can take.
    pub max_tokens: usize,
}

impl WhisperOptions {
    /// Defaults for the model in `model_dir`.
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            threads: 1,
            beam_size: 1,
            int8: true,
            language: "en".into(),
            max_tokens: 128,
        }
    }

    /// Defaults for the standard model under a models folder.
    pub fn from_models(models: &ModelPaths) -> Self {
        Self::new(whisper_model_dir(models))
    }
}

/// What one utterance was heard as.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The words, trimmed; empty when nothing was said (or only noise).
    pub text: String,
    /// Geometric mean of the tokens' probabilities (exp of the average log probability), in
    /// [0, 1]; 0 when the text is empty.
    pub confidence: f32,
    /// The model's probability that the audio held no speech at all.
    pub no_speech_prob: f32,
    /// Length of the utterance that was transcribed, in ms.
    pub audio_ms: u64,
}

/// Whisper invents words for silence and line noise ("you", "Thank you."). A decode is
/// dropped when the model itself says the audio held no speech: with faster-whisper's rule
/// (no-speech probability above 0.6 and an average log probability below -1), or when it is
/// sure (above 0.8). Measured here: 2 s of digital silence gave "you" at no-speech 0.95 and
/// log probability -0.82; real utterances scored no-speech 0.00–0.22.
#[cfg_attr(not(feature = "whisper"), allow(dead_code))]
const NO_SPEECH_THRESHOLD: f32 = 0.6;
#[cfg_attr(not(feature = "whisper"), allow(dead_code))]
const NO_SPEECH_SURE: f32 = 0.8;
#[cfg_attr(not(feature = "whisper"), allow(dead_code))]
const LOW_LOGPROB: f32 = -1.0;

/// Whether a decode should be treated as silence.
#[cfg_attr(not(feature = "whisper"), allow(dead_code))]
pub(crate) fn is_silence(no_speech_prob: f32, avg_logprob: f32) -> bool {
    no_speech_prob > NO_SPEECH_SURE
        || (no_speech_prob > NO_SPEECH_THRESHOLD && avg_logprob < LOW_LOGPROB)
}

/// Tidies Whisper's output for the dialog engine: removes sound annotations Whisper adds for
/// non-speech (`[BLANK_AUDIO]`, `(coughs)`, `*music*`) and collapses whitespace.
pub fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut depth: Option<char> = None;
    for c in raw.chars() {
        match (depth, c) {
            (None, '[') => depth = Some(']'),
            (None, '(') => depth = Some(')'),
            (None, '*') => depth = Some('*'),
            (Some(close), c) if c == close => depth = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    let words: Vec<&str> = out.split_whitespace().collect();
    let joined = words.join(" ");
    // Only punctuation left ("...", "-") is not speech.
    if joined.chars().any(char::is_alphanumeric) {
        joined
    } else {
        String::new()
    }
}

/// The offline English recogniser: Whisper tiny.en, loaded once, used for one utterance at a
/// time (synchronous; run it on a dedicated thread, see [`RecogniserWorker`]).
pub struct WhisperRecogniser {
    #[cfg(feature = "whisper")]
    inner: whisper::Model,
    options: WhisperOptions,
}

impl std::fmt::Debug for WhisperRecogniser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperRecogniser")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl WhisperRecogniser {
    /// Loads the model (about 0.2–0.5 s; CPU and disk bound, so not on an async worker).
    /// Fails with [`SttError::NotBuiltIn`] in a build without the `whisper` feature, and with
    /// [`SttError::ModelMissing`] naming the first missing file otherwise.
    pub fn load(options: WhisperOptions) -> Result<Self, SttError> {
        if !BUILT_IN {
            return Err(SttError::NotBuiltIn);
        }
        check_model_dir(&options.model_dir)?;
        #[cfg(feature = "whisper")]
        {
            let inner = whisper::Model::load(&options)?;
            Ok(Self { inner, options })
        }
        #[cfg(not(feature = "whisper"))]
        {
            Err(SttError::NotBuiltIn)
        }
    }

    /// The options it was loaded with.
    pub fn options(&self) -> &WhisperOptions {
        &self.options
    }

    /// The languages it understands (ISO 639-1). tiny.en: English only.
    pub fn languages(&self) -> &'static [&'static str] {
        #[cfg(feature = "whisper")]
        if self.inner.multilingual() {
            return &["en", "hi"];
        }
        &["en"]
    }

    /// Transcribes one caller utterance of 8 kHz PCM16 (what the VAD segments), resampled to
    /// 16 kHz first. Utterances longer than 30 s are cut at 30 s (Whisper's window).
    pub fn transcribe_8k(&self, pcm: &[i16]) -> Result<Transcript, SttError> {
        let audio_ms = pcm.len() as u64 * 1000 / u64::from(INPUT_RATE_HZ);
        let as_f32: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let audio_16k = vartalaap_audio::resample(&as_f32, INPUT_RATE_HZ, mel::SAMPLE_RATE as u32)?;
        let mut t = self.transcribe_16k(&audio_16k)?;
        t.audio_ms = audio_ms;
        Ok(t)
    }

    /// Transcribes 16 kHz mono audio in [-1, 1].
    pub fn transcribe_16k(&self, audio: &[f32]) -> Result<Transcript, SttError> {
        let audio_ms = audio.len() as u64 * 1000 / mel::SAMPLE_RATE as u64;
        if audio.is_empty() {
            return Ok(Transcript {
                text: String::new(),
                confidence: 0.0,
                no_speech_prob: 1.0,
                audio_ms,
            });
        }
        #[cfg(feature = "whisper")]
        {
            let raw = self.inner.decode(audio)?;
            let text = if is_silence(raw.no_speech_prob, raw.avg_logprob) {
                String::new()
            } else {
                clean_text(&raw.text)
            };
            let confidence = if text.is_empty() {
                0.0
            } else {
                raw.avg_logprob.exp().clamp(0.0, 1.0)
            };
            Ok(Transcript {
                text,
                confidence,
                no_speech_prob: raw.no_speech_prob,
                audio_ms,
            })
        }
        #[cfg(not(feature = "whisper"))]
        {
            Err(SttError::NotBuiltIn)
        }
    }
}

/// Checks the model folder before CTranslate2 sees it (its own errors are C++ exceptions with
/// less helpful wording).
fn check_model_dir(dir: &Path) -> Result<(), SttError> {
    for file in [
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    ] {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(SttError::ModelMissing(path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sound_annotations_and_empty_punctuation_are_dropped() {
        assert_eq!(
            clean_text(" Table for four tomorrow."),
            "Table for four tomorrow."
        );
        assert_eq!(clean_text("[BLANK_AUDIO]"), "");
        assert_eq!(clean_text(" (coughs) yes  please "), "yes please");
        assert_eq!(clean_text("*music* ..."), "");
        assert_eq!(clean_text(" - "), "");
        assert_eq!(clean_text("7:30 pm"), "7:30 pm");
    }

    #[test]
    fn silence_rule_follows_the_no_speech_probability() {
        assert!(is_silence(0.7, -1.5));
        assert!(!is_silence(0.7, -0.2));
        assert!(
            is_silence(0.95, -0.82),
            "the 'you' Whisper hears in silence"
        );
        assert!(!is_silence(0.1, -1.5));
        assert!(!is_silence(0.22, -0.3));
    }

    #[test]
    fn model_dir_is_under_the_models_folder() {
        let m = ModelPaths::under("/m");
        assert_eq!(
            whisper_model_dir(&m),
            PathBuf::from("/m/whisper-tiny.en-ct2")
        );
        assert_eq!(
            WhisperOptions::from_models(&m).model_dir,
            PathBuf::from("/m/whisper-tiny.en-ct2")
        );
    }

    #[test]
    fn a_missing_model_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = WhisperRecogniser::load(WhisperOptions::new(dir.path())).unwrap_err();
        if BUILT_IN {
            match err {
                SttError::ModelMissing(p) => assert!(p.ends_with("model.bin"), "{p:?}"),
                other => panic!("expected ModelMissing, got {other}"),
            }
        } else {
            assert!(matches!(err, SttError::NotBuiltIn));
        }
    }

    #[cfg(not(feature = "whisper"))]
    #[test]
    fn without_the_feature_the_recogniser_says_it_is_not_built_in() {
        const { assert!(!BUILT_IN) };
        let err = WhisperRecogniser::load(WhisperOptions::new("/nonexistent")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not built in"), "{msg}");
        assert!(msg.contains("stt-whisper"), "{msg}");
    }
}
