//! The CTranslate2 side (feature `whisper`): model, prompt, decoding options, token decoding.

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions as Ct2Options};
use ct2rs::tokenizers::hf;

use crate::mel::{LogMel, N_FRAMES, N_MELS};
use crate::{SttError, WhisperOptions};

/// One decode's raw result.
pub(crate) struct Decoded {
    pub text: String,
    /// Average log probability per generated token (CTranslate2's score with length
    /// penalty 1).
    pub avg_logprob: f32,
    pub no_speech_prob: f32,
}

pub(crate) struct Model {
    whisper: Whisper,
    tokenizer: hf::Tokenizer,
    mel: LogMel,
    prompt: Vec<String>,
    decode: Ct2Options,
}

impl Model {
    pub(crate) fn load(options: &WhisperOptions) -> Result<Self, SttError> {
        let load_err = |reason: String| SttError::Load {
            dir: options.model_dir.clone(),
            reason,
        };
        let config = Config {
            device: Device::CPU,
            compute_type: if options.int8 {
                ComputeType::INT8
            } else {
                ComputeType::DEFAULT
            },
            num_threads_per_replica: options.threads.max(1),
            ..Config::default()
        };
        let whisper =
            Whisper::new(&options.model_dir, config).map_err(|e| load_err(format!("{e:#}")))?;
        let tokenizer =
            hf::Tokenizer::new(&options.model_dir).map_err(|e| load_err(format!("{e:#}")))?;
        if whisper.n_mels() != N_MELS {
            return Err(load_err(format!(
                "the model wants {} mel bands; this crate computes {N_MELS}",
                whisper.n_mels()
            )));
        }
        // An English-only (.en) model was trained without language and task tokens; giving
        // it `<|en|><|transcribe|>` (as ct2rs's high-level API does) loses words.
        let mut prompt = vec!["<|startoftranscript|>".to_string()];
        if whisper.is_multilingual() {
            prompt.push(format!("<|{}|>", options.language));
            prompt.push("<|transcribe|>".into());
        }
        prompt.push("<|notimestamps|>".into());
        let decode = Ct2Options {
            beam_size: options.beam_size.max(1),
            max_length: options.max_tokens.max(1),
            return_scores: true,
            return_no_speech_prob: true,
            ..Ct2Options::default()
        };
        Ok(Self {
            whisper,
            tokenizer,
            mel: LogMel::new(),
            prompt,
            decode,
        })
    }

    pub(crate) fn multilingual(&self) -> bool {
        self.whisper.is_multilingual()
    }

    pub(crate) fn decode(&self, audio_16k: &[f32]) -> Result<Decoded, SttError> {
        let mut features = self.mel.compute(audio_16k);
        let view = StorageView::new(&[1, N_MELS, N_FRAMES], &mut features, Device::CPU)
            .map_err(|e| SttError::Inference(format!("{e:#}")))?;
        let result = self
            .whisper
            .generate(&view, std::slice::from_ref(&self.prompt), &self.decode)
            .map_err(|e| SttError::Inference(format!("{e:#}")))?
            .into_iter()
            .next()
            .ok_or_else(|| SttError::Inference("no result for the utterance".into()))?;
        let tokens: Vec<String> = result
            .sequences
            .into_iter()
            .next()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !(t.starts_with("<|") && t.ends_with("|>")))
            .collect();
        let text = if tokens.is_empty() {
            String::new()
        } else {
            <hf::Tokenizer as ct2rs::Tokenizer>::decode(&self.tokenizer, tokens)
                .map_err(|e| SttError::Inference(format!("{e:#}")))?
        };
        Ok(Decoded {
            text,
            avg_logprob: result.scores.first().copied().unwrap_or(f32::NEG_INFINITY),
            no_speech_prob: result.no_speech_prob,
        })
    }
}
