//! Turning Deepgram's finals into whole caller turns (protocol notes §2.5).
//!
//! The rule:
//! 1. Every `is_final` result with non-empty text is appended to the current utterance. Each
//!    final covers only the audio since the previous final, so using just the `speech_final`
//!    message would lose the start of a long sentence.
//! 2. The utterance is complete at the first final with `speech_final` (endpointing saw the
//!    caller stop) or `from_finalize` (our own VAD decided the turn ended and sent `Finalize`).
//! 3. `UtteranceEnd` (word-timing based) completes it too: the backstop for noisy phone lines
//!    where `speech_final` never fires. If rule 2 already closed the turn there is nothing
//!    pending and the `UtteranceEnd` is ignored, so the LLM is never triggered twice.
//! 4. A completion with nothing pending (only empty finals) yields no utterance.

/// One complete caller turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// The finals' transcripts joined with single spaces.
    pub text: String,
    /// Mean of the finals' confidences, weighted by their word counts, so a long confident
    /// segment is not dragged down by a one-word unsure one.
    pub confidence: f32,
}

/// Accumulates finals until a turn is complete. Pure logic: feed it results, get utterances.
#[derive(Debug, Default, Clone)]
pub struct UtteranceAssembler {
    parts: Vec<String>,
    weighted_confidence: f32,
    words: usize,
}

impl UtteranceAssembler {
    /// A final result arrived. Returns the finished utterance when this final ends the turn.
    pub fn on_final(
        &mut self,
        text: &str,
        confidence: f32,
        speech_final: bool,
        from_finalize: bool,
    ) -> Option<Utterance> {
        let text = text.trim();
        if !text.is_empty() {
            let words = text.split_whitespace().count();
            self.weighted_confidence += confidence * words as f32;
            self.words += words;
            self.parts.push(text.to_owned());
        }
        if speech_final || from_finalize {
            self.take()
        } else {
            None
        }
    }

    /// Deepgram sent `UtteranceEnd`. Returns the pending utterance, if any.
    pub fn on_utterance_end(&mut self) -> Option<Utterance> {
        self.take()
    }

    /// Whether finals are waiting for the end of the turn.
    pub fn has_pending(&self) -> bool {
        !self.parts.is_empty()
    }

    fn take(&mut self) -> Option<Utterance> {
        if self.parts.is_empty() {
            return None;
        }
        let text = self.parts.join(" ");
        let confidence = if self.words == 0 {
            0.0
        } else {
            self.weighted_confidence / self.words as f32
        };
        *self = Self::default();
        Some(Utterance { text, confidence })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenates_finals_until_speech_final() {
        let mut a = UtteranceAssembler::default();
        assert_eq!(a.on_final("kal raat", 0.9, false, false), None);
        assert_eq!(a.on_final("", 0.0, false, false), None);
        let u = a
            .on_final("8 baje table chahiye", 0.8, true, false)
            .unwrap();
        assert_eq!(u.text, "kal raat 8 baje table chahiye");
        assert!((u.confidence - (0.9 * 2.0 + 0.8 * 4.0) / 6.0).abs() < 1e-6);
        assert!(!a.has_pending());
    }

    #[test]
    fn utterance_end_is_the_backstop_and_never_double_fires() {
        let mut a = UtteranceAssembler::default();
        a.on_final("hello", 0.9, false, false);
        assert_eq!(a.on_utterance_end().unwrap().text, "hello");
        assert_eq!(a.on_utterance_end(), None);

        a.on_final("ji haan", 0.9, true, false).unwrap();
        assert_eq!(
            a.on_utterance_end(),
            None,
            "speech_final already closed the turn"
        );
    }

    #[test]
    fn finalize_answer_closes_the_turn_and_empty_turns_yield_nothing() {
        let mut a = UtteranceAssembler::default();
        assert_eq!(a.on_final("", 0.0, true, false), None);
        a.on_final("do log", 0.7, false, false);
        assert_eq!(a.on_final("", 0.0, false, true).unwrap().text, "do log");
    }
}
