//! Choosing a local voice per language, with espeak-ng as the last resort.

use super::{EspeakTts, Lang, Pcm, Tts, TtsError};

/// Routes each language to its configured engine (e.g. Piper English, later Piper Hindi) and
/// falls back to espeak-ng when a language has no engine or its engine fails, so a broken
/// voice model means a robotic answer, not dead air.
pub struct LocalTts {
    english: Option<Box<dyn Tts>>,
    hindi: Option<Box<dyn Tts>>,
    fallback: EspeakTts,
}

impl std::fmt::Debug for LocalTts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTts")
            .field(
                "english",
                &self.english.as_ref().map(|t| t.voice_name(Lang::English)),
            )
            .field(
                "hindi",
                &self.hindi.as_ref().map(|t| t.voice_name(Lang::Hindi)),
            )
            .finish_non_exhaustive()
    }
}

impl LocalTts {
    /// espeak-ng for every language until engines are set.
    pub fn new(fallback: EspeakTts) -> Self {
        Self {
            english: None,
            hindi: None,
            fallback,
        }
    }

    /// Uses `engine` for `lang`.
    pub fn with_voice(mut self, lang: Lang, engine: Box<dyn Tts>) -> Self {
        match lang {
            Lang::English => self.english = Some(engine),
            Lang::Hindi => self.hindi = Some(engine),
        }
        self
    }

    fn engine(&mut self, lang: Lang) -> Option<&mut Box<dyn Tts>> {
        match lang {
            Lang::English => self.english.as_mut(),
            Lang::Hindi => self.hindi.as_mut(),
        }
    }
}

impl Tts for LocalTts {
    fn synthesize(&mut self, text: &str, lang: Lang) -> Result<Pcm, TtsError> {
        if let Some(engine) = self.engine(lang) {
            match engine.synthesize(text, lang) {
                Ok(pcm) => return Ok(pcm),
                Err(error) => {
                    tracing::warn!(lang = lang.code(), voice = %engine.voice_name(lang), %error,
                        "Local voice failed; falling back to espeak-ng.");
                }
            }
        }
        self.fallback.synthesize(text, lang)
    }

    fn voice_name(&self, lang: Lang) -> String {
        let engine = match lang {
            Lang::English => self.english.as_ref(),
            Lang::Hindi => self.hindi.as_ref(),
        };
        engine.map_or_else(|| self.fallback.voice_name(lang), |e| e.voice_name(lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;
    impl Tts for Broken {
        fn synthesize(&mut self, _: &str, _: Lang) -> Result<Pcm, TtsError> {
            Err(TtsError::Inference("model exploded".into()))
        }
        fn voice_name(&self, _: Lang) -> String {
            "broken".into()
        }
    }

    struct Fixed;
    impl Tts for Fixed {
        fn synthesize(&mut self, _: &str, _: Lang) -> Result<Pcm, TtsError> {
            Ok(Pcm {
                sample_rate: 16_000,
                samples: vec![1, 2, 3],
            })
        }
        fn voice_name(&self, _: Lang) -> String {
            "fixed".into()
        }
    }

    #[test]
    fn routes_per_language_and_falls_back() {
        // The fallback points at a missing program, so reaching it shows up as that error.
        let mut tts = LocalTts::new(EspeakTts::new("/nonexistent/espeak-ng"))
            .with_voice(Lang::English, Box::new(Fixed))
            .with_voice(Lang::Hindi, Box::new(Broken));
        assert_eq!(
            tts.synthesize("hi", Lang::English).unwrap().samples,
            vec![1, 2, 3]
        );
        assert_eq!(tts.voice_name(Lang::English), "fixed");
        let err = tts.synthesize("namaste", Lang::Hindi).unwrap_err();
        assert!(matches!(err, TtsError::ProgramMissing { .. }), "{err}");
        let tts = LocalTts::new(EspeakTts::default());
        assert_eq!(tts.voice_name(Lang::Hindi), "espeak-ng:hi");
    }
}
