//! The optional LLM in a call: it reads an utterance the offline path misses before the
//! engine turn, and phrases a listed answer after it, sentence by sentence into TTS.
//!
//! Both steps are bounded by the LLM's per-turn budget and fall back to the offline path in
//! the same turn (the engine's own reading, the template answer). Phrased sentences reach the
//! speaker only after the guard passed each of them (`vartalaap_llm::GuardedAnswer`); the
//! first one is awaited here, so the turn's "LLM first token" timing is known when the reply
//! starts, and the rest stream in while it plays.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vartalaap_config::Lang;
use vartalaap_core::{Input, Output};
use vartalaap_llm::{GuardedAnswer, Piece};

use super::Session;
use crate::engine::{Engine, EngineError};
use crate::timing::TurnMarks;

/// A phrased answer whose first piece is ready.
pub(super) struct PhrasedReply {
    /// Index of the `Say` it replaces in the turn's outputs.
    pub index: usize,
    /// The first sentences to speak (the model's first sentence, or the template).
    pub first: Vec<(String, Lang)>,
    /// The rest of the answer, still streaming.
    pub answer: GuardedAnswer,
    /// The answer's language.
    pub lang: Lang,
}

fn sentences(piece: Piece, lang: Lang) -> Vec<(String, Lang)> {
    match piece {
        Piece::Sentence(s) => vec![(s, lang)],
        Piece::Template(t) => vartalaap_lang::split_sentences(&t)
            .into_iter()
            .map(|s| (s.to_string(), lang))
            .collect(),
    }
}

impl Session {
    /// Adds the model's interpretation to an utterance the offline path cannot use; any other
    /// input (and every failure of the model) passes through unchanged.
    pub(super) async fn understand(
        &mut self,
        engine: Engine,
        input: Input,
    ) -> Result<(Engine, Input), EngineError> {
        let Some(llm) = self.svc.llm.clone() else {
            return Ok((engine, input));
        };
        let Input::Utterance {
            text,
            confidence,
            interpretation: None,
        } = input
        else {
            return Ok((engine, input));
        };
        let (engine, ctx) = engine
            .llm_context(&self.svc, llm.clone(), text.clone())
            .await?;
        let interpretation = match ctx {
            Some(ctx) => llm.interpret(&ctx, &text).await,
            None => None,
        };
        Ok((
            engine,
            Input::Utterance {
                text,
                confidence,
                interpretation,
            },
        ))
    }

    /// Starts phrasing this turn's listed answer (if any) and waits for its first piece.
    pub(super) async fn start_phrasing(
        &mut self,
        outputs: &[Output],
        utterance: &str,
        marks: &mut TurnMarks,
    ) -> Option<PhrasedReply> {
        let llm = self.svc.llm.clone()?;
        let target = llm.phrase_target(outputs)?;
        let (ctx, facts) = self.engine.as_ref()?.phrase_context(&self.svc);
        let mut answer = llm.phrase(&ctx, utterance, &target, facts).await;
        let first = answer
            .next()
            .await
            .map(|p| sentences(p, target.lang))
            .unwrap_or_default();
        marks.llm_first = answer.first_token_at();
        Some(PhrasedReply {
            index: target.index,
            first,
            answer,
            lang: target.lang,
        })
    }
}

/// Feeds the rest of a phrased answer, then the lines that follow it in the turn, to the
/// speaker. Stops (dropping the model's request) when the reply is cancelled.
pub(super) async fn pump(
    mut answer: GuardedAnswer,
    lang: Lang,
    after: Vec<(String, Lang)>,
    tx: mpsc::Sender<(String, Lang)>,
    cancel: CancellationToken,
) {
    loop {
        let piece = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            piece = answer.next() => piece,
        };
        let Some(piece) = piece else {
            break;
        };
        for line in sentences(piece, lang) {
            if tx.send(line).await.is_err() {
                return;
            }
        }
    }
    for line in after {
        if tx.send(line).await.is_err() {
            return;
        }
    }
}
