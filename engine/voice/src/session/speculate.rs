//! The call's side of speculative first sentences (rules in `crate::speculate`): which
//! transcripts are guessed on, one guess in flight at a time, and dropping guesses the final
//! transcript made stale.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Session;
use crate::engine::Speculation;
use crate::service::VoiceService;
use crate::speculate::{SpecSlot, SpecState, normalize};
use crate::speech::voice_for;

/// The speculation running for a call.
#[derive(Debug)]
pub(super) struct InFlight {
    id: u64,
    /// Its transcript, normalized.
    norm: String,
    cancel: CancellationToken,
}

/// Per-call speculation state.
#[derive(Debug)]
pub(super) struct Speculator {
    pub(super) slot: Arc<SpecSlot>,
    /// Non-empty `is_final` transcripts of the turn so far (an interim covers only the words
    /// after them).
    finals: Vec<String>,
    /// The last transcript guessed on (or waiting), normalized.
    last: Option<String>,
    inflight: Option<InFlight>,
    pending: Option<(String, f32)>,
    next_id: u64,
    done: mpsc::Sender<u64>,
}

impl Speculator {
    pub(super) fn new(slot: Arc<SpecSlot>, done: mpsc::Sender<u64>) -> Self {
        Self {
            slot,
            finals: Vec::new(),
            last: None,
            inflight: None,
            pending: None,
            next_id: 0,
            done,
        }
    }
}

impl Session {
    /// A transcript of the turn so far: an interim (`is_final == false`, covering the words
    /// after the turn's finals) or a final that does not end the turn.
    pub(super) fn on_partial(&mut self, text: &str, is_final: bool, confidence: f32) {
        let text = text.trim();
        let spec = &mut self.spec;
        let candidate = if is_final {
            if !text.is_empty() {
                spec.finals.push(text.to_string());
            }
            spec.finals.join(" ")
        } else {
            let mut parts = spec.finals.clone();
            parts.push(text.to_string());
            parts.join(" ")
        };
        self.speculate(candidate, confidence);
    }

    /// Whether a guess could help now: the engine waits for the caller's words.
    fn may_speculate(&self) -> bool {
        self.svc.cfg.speculate
            && self.engine.is_some()
            && self.listening.is_some()
            && !self.bot_speaking()
            && !self.closing
            && self.pending_end.is_none()
    }

    fn speculate(&mut self, text: String, confidence: f32) {
        if !self.may_speculate() {
            return;
        }
        let norm = normalize(&text);
        if norm.is_empty() || self.spec.last.as_deref() == Some(norm.as_str()) {
            return;
        }
        self.spec.last = Some(norm);
        if self.spec.inflight.is_some() {
            // One guess at a time per call; only the newest transcript waits.
            self.spec.pending = Some((text, confidence));
            return;
        }
        self.start_speculation(text, confidence);
    }

    fn start_speculation(&mut self, text: String, confidence: f32) {
        let Some(engine) = &self.engine else {
            return;
        };
        let guess = engine.speculation(&self.svc);
        self.spec.next_id += 1;
        let id = self.spec.next_id;
        let cancel = CancellationToken::new();
        self.spec.inflight = Some(InFlight {
            id,
            norm: normalize(&text),
            cancel: cancel.clone(),
        });
        self.spec.slot.begin(id);
        self.svc.speculation.started.fetch_add(1, Ordering::Relaxed);
        let (svc, slot, done) = (
            self.svc.clone(),
            self.spec.slot.clone(),
            self.spec.done.clone(),
        );
        tokio::spawn(async move {
            run(&svc, &slot, guess, id, text, confidence, &cancel).await;
            let _ = done.send(id).await;
        });
    }

    /// A speculation finished (used or not): start the newest waiting transcript, if any.
    pub(super) fn on_speculation_done(&mut self, id: u64) {
        if self.spec.inflight.as_ref().is_none_or(|f| f.id != id) {
            return;
        }
        self.spec.inflight = None;
        if let Some((text, confidence)) = self.spec.pending.take()
            && self.may_speculate()
        {
            self.start_speculation(text, confidence);
        }
    }

    /// The caller's turn is final (`text`): partial transcripts are over, and a guess still
    /// running for other words is dropped before it synthesizes anything.
    pub(super) fn on_final_turn(&mut self, text: &str) {
        self.spec.finals.clear();
        self.spec.last = None;
        self.spec.pending = None;
        if let Some(f) = &self.spec.inflight
            && f.norm != normalize(text)
        {
            f.cancel.cancel();
            self.spec.slot.abandon(f.id);
        }
    }
}

/// Guesses the reply's first sentence and synthesizes it into the slot.
async fn run(
    svc: &Arc<VoiceService>,
    slot: &SpecSlot,
    guess: Speculation,
    id: u64,
    text: String,
    confidence: f32,
    cancel: &CancellationToken,
) {
    let stats = &svc.speculation;
    let decided = tokio::task::spawn_blocking(move || guess.first_sentence(text, confidence)).await;
    let Ok(Some((sentence, lang))) = decided else {
        stats.no_sentence.fetch_add(1, Ordering::Relaxed);
        slot.abandon(id);
        return;
    };
    if cancel.is_cancelled() {
        stats.cancelled.fetch_add(1, Ordering::Relaxed);
        slot.abandon(id);
        return;
    }
    let voice = voice_for(&sentence, lang);
    if let Some(pcm) = svc.speech.cached(&sentence, voice) {
        stats.already_cached.fetch_add(1, Ordering::Relaxed);
        slot.update(SpecState::Ready {
            id,
            text: sentence,
            voice,
            pcm,
        });
        return;
    }
    slot.update(SpecState::Synthesizing {
        id,
        text: sentence.clone(),
        voice,
    });
    let pool = svc.speech.clone();
    let owned = sentence.clone();
    let made = tokio::task::spawn_blocking(move || pool.synthesize_exact(&owned, voice)).await;
    match made {
        Ok(Ok(pcm)) => {
            stats.synthesized.fetch_add(1, Ordering::Relaxed);
            slot.update(SpecState::Ready {
                id,
                text: sentence,
                voice,
                pcm,
            });
        }
        // The real reply goes through the whole voice chain instead.
        _ => slot.abandon(id),
    }
}
