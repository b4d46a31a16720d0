//! Piper voices (VITS, ONNX) in-process through ONNX Runtime.
//!
//! A voice is `<name>.onnx` plus `<name>.onnx.json` (sample rate, espeak voice, inference
//! scales, phoneme → id map). Text is phonemized by [`EspeakPhonemizer`], mapped to ids
//! (`^ _ id _ … $`, NFD), and synthesized one sentence per inference, as Piper does.
//!
//! The session uses one intra-op thread: with several calls on two cores, parallelism comes
//! from calls, and one thread already runs ~10× faster than real time. Loading a voice takes
//! ~2 s (63 MB graph), so load it once per process (or per worker) and reuse it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use super::phonemes::{PhonemeIdMap, phoneme_ids};
use super::{EspeakPhonemizer, Lang, Pcm, Tts, TtsError};

/// What this crate needs from a voice's `.onnx.json`.
#[derive(Debug, Clone)]
pub struct PiperConfig {
    /// Output sample rate (22050 for "medium" voices).
    pub sample_rate: u32,
    /// espeak-ng voice used for phonemes (`en-us`, `hi`).
    pub espeak_voice: String,
    /// Inference scales: [noise_scale, length_scale, noise_w]. `length_scale` > 1 is slower.
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
    /// Speakers in the model; multi-speaker voices need a `sid` input.
    pub num_speakers: u32,
    /// Phoneme → id map.
    pub ids: PhonemeIdMap,
}

#[derive(Deserialize)]
struct RawConfig {
    audio: RawAudio,
    espeak: RawEspeak,
    #[serde(default)]
    inference: RawInference,
    #[serde(default = "default_phoneme_type")]
    phoneme_type: String,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default = "one")]
    num_speakers: u32,
}

#[derive(Deserialize)]
struct RawAudio {
    sample_rate: u32,
}

#[derive(Deserialize)]
struct RawEspeak {
    voice: String,
}

#[derive(Deserialize)]
#[serde(default)]
struct RawInference {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

impl Default for RawInference {
    fn default() -> Self {
        Self {
            noise_scale: 0.667,
            length_scale: 1.0,
            noise_w: 0.8,
        }
    }
}

fn default_phoneme_type() -> String {
    "espeak".into()
}

fn one() -> u32 {
    1
}

impl PiperConfig {
    /// Parses a voice's `.onnx.json`.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if raw.phoneme_type != "espeak" {
            return Err(format!(
                "phoneme_type `{}` is not supported (only `espeak`)",
                raw.phoneme_type
            ));
        }
        if raw.audio.sample_rate == 0 {
            return Err("audio.sample_rate is 0".into());
        }
        Ok(Self {
            sample_rate: raw.audio.sample_rate,
            espeak_voice: raw.espeak.voice,
            noise_scale: raw.inference.noise_scale,
            length_scale: raw.inference.length_scale,
            noise_w: raw.inference.noise_w,
            num_speakers: raw.num_speakers,
            ids: PhonemeIdMap::from_json_map(&raw.phoneme_id_map)?,
        })
    }

    /// The language this voice speaks, judged from its espeak voice.
    pub fn lang(&self) -> Option<Lang> {
        let v = self.espeak_voice.to_ascii_lowercase();
        if v.starts_with("en") {
            Some(Lang::English)
        } else if v.starts_with("hi") {
            Some(Lang::Hindi)
        } else {
            None
        }
    }
}

/// One loaded Piper voice.
pub struct PiperTts {
    name: String,
    session: Session,
    config: PiperConfig,
    phonemizer: EspeakPhonemizer,
    /// Silence put between sentences (each sentence is its own inference and the model adds
    /// little trailing pause of its own). Piper's own default is 200 ms.
    pub sentence_silence_ms: u32,
}

impl std::fmt::Debug for PiperTts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperTts")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PiperTts {
    /// Loads the voice at `model` (its config is `model` + `.json`), starting ONNX Runtime
    /// from `ort_dylib` if needed. Phonemes come from `espeak-ng` on `PATH`.
    pub fn load(ort_dylib: &Path, model: &Path) -> Result<Self, TtsError> {
        let config_path = PathBuf::from(format!("{}.json", model.display()));
        let load_err = |path: &Path, reason: String| TtsError::VoiceLoad {
            path: path.to_path_buf(),
            reason,
        };
        let json = std::fs::read_to_string(&config_path)
            .map_err(|e| load_err(&config_path, e.to_string()))?;
        let config = PiperConfig::from_json(&json).map_err(|e| load_err(&config_path, e))?;
        let env = crate::onnx::environment(ort_dylib)?;
        let session = crate::onnx::session(&env, model, 1).map_err(|e| load_err(model, e))?;
        let name = Self::model_name(model);
        Ok(Self {
            name,
            session,
            config,
            phonemizer: EspeakPhonemizer::default(),
            sentence_silence_ms: 200,
        })
    }

    /// The voice's name (its model file's stem).
    fn model_name(model: &Path) -> String {
        model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| model.display().to_string())
    }

    /// The [`Tts::voice_name`] the voice at `model` has once loaded, without loading it (a
    /// caller that loads voices on first use keys its cache by it beforehand).
    pub fn voice_name_of(model: &Path) -> String {
        format!("piper:{}", Self::model_name(model))
    }

    /// Uses a specific espeak-ng program for phonemes.
    pub fn with_phonemizer(mut self, phonemizer: EspeakPhonemizer) -> Self {
        self.phonemizer = phonemizer;
        self
    }

    /// The voice's config (sample rate, scales); `length_scale` can be changed to speak
    /// slower (> 1) or faster (< 1).
    pub fn config_mut(&mut self) -> &mut PiperConfig {
        &mut self.config
    }

    /// The voice's config.
    pub fn config(&self) -> &PiperConfig {
        &self.config
    }

    /// Synthesizes one sentence's phoneme string.
    pub fn synthesize_phonemes(&mut self, phonemes: &str) -> Result<Vec<i16>, TtsError> {
        let (ids, missing) = phoneme_ids(phonemes, &self.config.ids);
        if !missing.is_empty() {
            tracing::debug!(voice = %self.name, missing = ?missing, "Phonemes without an id were skipped.");
        }
        if ids.len() <= 3 {
            return Ok(Vec::new());
        }
        let err = |e: ort::Error| TtsError::Inference(e.to_string());
        let n = ids.len();
        let c = &self.config;
        let mut inputs = ort::inputs![
            "input" => Tensor::from_array(([1usize, n], ids)).map_err(err)?,
            "input_lengths" => Tensor::from_array(([1usize], vec![n as i64])).map_err(err)?,
            "scales" => Tensor::from_array(([3usize], vec![c.noise_scale, c.length_scale, c.noise_w])).map_err(err)?,
        ];
        if c.num_speakers > 1 {
            inputs.push((
                "sid".into(),
                Tensor::from_array(([1usize], vec![0i64]))
                    .map_err(err)?
                    .into(),
            ));
        }
        let out = self.session.run(inputs).map_err(err)?;
        let (_, audio) = out["output"].try_extract_tensor::<f32>().map_err(err)?;
        Ok(audio
            .iter()
            .map(|&v| (v.clamp(-1.0, 1.0) * 32767.0) as i16)
            .collect())
    }
}

impl PiperTts {
    /// Like [`Tts::synthesize`], but hands each sentence's audio to `sink` as soon as it is
    /// ready (with the inter-sentence silence in front of all but the first), so playback of
    /// a multi-sentence prompt starts after the first sentence, not after the whole text.
    /// Returns the sample rate.
    pub fn synthesize_streaming(
        &mut self,
        text: &str,
        lang: Lang,
        mut sink: impl FnMut(&[i16]),
    ) -> Result<u32, TtsError> {
        if let Some(voice_lang) = self.config.lang()
            && voice_lang != lang
        {
            return Err(TtsError::NoVoice {
                engine: "piper",
                lang,
            });
        }
        let sentences = self.phonemizer.phonemize(text, &self.config.espeak_voice)?;
        let gap = vec![
            0i16;
            (self.config.sample_rate as u64 * self.sentence_silence_ms as u64 / 1000)
                as usize
        ];
        let mut first = true;
        for sentence in &sentences {
            let audio = self.synthesize_phonemes(sentence)?;
            if audio.is_empty() {
                continue;
            }
            if !first {
                sink(&gap);
            }
            first = false;
            sink(&audio);
        }
        Ok(self.config.sample_rate)
    }
}

impl Tts for PiperTts {
    fn synthesize(&mut self, text: &str, lang: Lang) -> Result<Pcm, TtsError> {
        let mut samples = Vec::new();
        let sample_rate =
            self.synthesize_streaming(text, lang, |s| samples.extend_from_slice(s))?;
        Ok(Pcm {
            sample_rate,
            samples,
        })
    }

    fn voice_name(&self, _lang: Lang) -> String {
        format!("piper:{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"{
        "audio": {"sample_rate": 22050, "quality": "medium"},
        "espeak": {"voice": "hi"},
        "inference": {"noise_scale": 0.5, "length_scale": 1.2, "noise_w": 0.7},
        "phoneme_type": "espeak",
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], "a": [14]},
        "num_speakers": 1
    }"#;

    #[test]
    fn parses_a_voice_config() {
        let c = PiperConfig::from_json(MINI).unwrap();
        assert_eq!(c.sample_rate, 22_050);
        assert_eq!(c.espeak_voice, "hi");
        assert_eq!(c.lang(), Some(Lang::Hindi));
        assert_eq!((c.noise_scale, c.length_scale, c.noise_w), (0.5, 1.2, 0.7));
        assert_eq!(c.ids.get('a'), Some(&[14][..]));
    }

    #[test]
    fn rejects_unsupported_configs() {
        let text = MINI.replace("\"espeak\",", "\"text\",");
        assert!(
            PiperConfig::from_json(&text)
                .unwrap_err()
                .contains("phoneme_type")
        );
        assert!(PiperConfig::from_json("{}").is_err());
        let no_pad = MINI.replace("\"_\": [0], ", "");
        assert!(PiperConfig::from_json(&no_pad).unwrap_err().contains('_'));
    }

    #[test]
    fn missing_voice_is_an_error() {
        let err = PiperTts::load(
            Path::new("/nonexistent/libonnxruntime.so"),
            Path::new("/nonexistent/v.onnx"),
        )
        .unwrap_err();
        assert!(matches!(err, TtsError::VoiceLoad { .. }), "{err}");
    }
}
