//! Speculative first sentence: while the caller's last words are still being endpointed, guess
//! the reply and synthesize its first sentence, so a reply whose first sentence was never said
//! before starts like a cached one.
//!
//! Deepgram sends interim transcripts (and `is_final` results that are not yet `speech_final`)
//! before it decides the caller has stopped; with our `endpointing=300` that decision comes
//! about 300 ms after the last word. For each new transcript of the turn so far, the call runs
//! the pure engine **on a clone of the conversation** (no tool is executed: an availability
//! check is assumed to find room, any other tool ends the guess), takes the reply's first
//! sentence and synthesizes it on the blocking pool into this call's [`SpecSlot`].
//!
//! Safety rules:
//! - nothing of the speculation is committed: the clone is dropped, the real turn runs the
//!   real engine on the real final transcript, tools (bookings) run only there;
//! - audio is used only for a sentence **identical** (same text, same voice) to the real
//!   reply's first sentence, so the caller hears exactly what a fresh synthesis (or the phrase
//!   cache) would give; a different final never plays speculative audio;
//! - CPU is bounded: at most one speculation in flight per call; a newer transcript waits as
//!   the single pending one (older pending ones are dropped), and an in-flight speculation
//!   whose transcript differs from the final is cancelled before it synthesizes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use vartalaap_audio::{Lang as VoiceLang, Pcm};

/// What the call's speculation has produced so far.
#[derive(Debug, Clone, Default)]
pub(crate) enum SpecState {
    /// Nothing usable.
    #[default]
    Idle,
    /// The engine is deciding the reply to speculation `id`.
    Deciding { id: u64 },
    /// `text` is being synthesized.
    Synthesizing {
        id: u64,
        text: String,
        voice: VoiceLang,
    },
    /// `text`'s audio is ready.
    Ready {
        id: u64,
        text: String,
        voice: VoiceLang,
        pcm: Arc<Pcm>,
    },
}

impl SpecState {
    fn id(&self) -> Option<u64> {
        match self {
            SpecState::Idle => None,
            SpecState::Deciding { id }
            | SpecState::Synthesizing { id, .. }
            | SpecState::Ready { id, .. } => Some(*id),
        }
    }
}

/// One call's speculative sentence, shared by the call task (which speculates) and its speaker
/// (which takes the audio when the real reply starts with the same sentence).
#[derive(Debug)]
pub(crate) struct SpecSlot {
    tx: watch::Sender<SpecState>,
    stats: Arc<SpeculationStats>,
}

/// Whether the speaker may wait for the slot or must go its own way.
enum Verdict {
    Take(Arc<Pcm>, bool),
    Wait,
    Miss,
}

impl SpecSlot {
    pub(crate) fn new(stats: Arc<SpeculationStats>) -> Self {
        Self {
            tx: watch::Sender::new(SpecState::Idle),
            stats,
        }
    }

    /// Moves the speculation `state` belongs to (its `id`) on to `state`, unless a newer one
    /// replaced it. `Idle` has no id and changes nothing: [`SpecSlot::abandon`] forgets one.
    pub(crate) fn update(&self, state: SpecState) {
        let id = state.id();
        self.tx.send_if_modified(|s| {
            if id.is_some() && s.id() == id {
                *s = state;
                true
            } else {
                false
            }
        });
    }

    /// Starts speculation `id` (replacing whatever the slot held).
    pub(crate) fn begin(&self, id: u64) {
        self.tx.send_replace(SpecState::Deciding { id });
    }

    /// Forgets speculation `id` if it is still the slot's.
    pub(crate) fn abandon(&self, id: u64) {
        self.tx.send_if_modified(|s| {
            if s.id() == Some(id) {
                *s = SpecState::Idle;
                true
            } else {
                false
            }
        });
    }

    /// The audio for a reply's first sentence `text` in `voice`, if the speculation made it
    /// (waiting while it is still being made for this very sentence); `None` otherwise.
    pub(crate) async fn take(
        &self,
        text: &str,
        voice: VoiceLang,
        cancel: &CancellationToken,
    ) -> Option<Arc<Pcm>> {
        let mut rx = self.tx.subscribe();
        let mut waited = false;
        loop {
            let verdict = match &*rx.borrow_and_update() {
                SpecState::Idle => Verdict::Miss,
                SpecState::Deciding { .. } => Verdict::Wait,
                SpecState::Synthesizing {
                    text: t, voice: v, ..
                } if t == text && *v == voice => Verdict::Wait,
                SpecState::Ready {
                    text: t,
                    voice: v,
                    pcm,
                    ..
                } if t == text && *v == voice => Verdict::Take(pcm.clone(), waited),
                _ => Verdict::Miss,
            };
            match verdict {
                Verdict::Take(pcm, waited) => {
                    self.tx.send_replace(SpecState::Idle);
                    let counter = if waited {
                        &self.stats.served_after_wait
                    } else {
                        &self.stats.served_ready
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    return Some(pcm);
                }
                Verdict::Miss => {
                    let held = !matches!(&*self.tx.borrow(), SpecState::Idle);
                    if held {
                        self.stats.unused.fetch_add(1, Ordering::Relaxed);
                        self.tx.send_replace(SpecState::Idle);
                    }
                    return None;
                }
                Verdict::Wait => {
                    waited = true;
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return None,
                        changed = rx.changed() => if changed.is_err() { return None },
                    }
                }
            }
        }
    }
}

/// Process-wide counts of what speculation did (for the load example, logs and tests).
#[derive(Debug, Default)]
pub(crate) struct SpeculationStats {
    pub started: AtomicU64,
    pub no_sentence: AtomicU64,
    pub already_cached: AtomicU64,
    pub synthesized: AtomicU64,
    pub cancelled: AtomicU64,
    pub served_ready: AtomicU64,
    pub served_after_wait: AtomicU64,
    pub unused: AtomicU64,
}

/// A snapshot of [`VoiceService::speculation`](crate::VoiceService::speculation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeculationCounts {
    /// Speculative engine runs (one per new transcript of a turn).
    pub started: u64,
    /// Runs whose reply's first sentence needed a tool result (or said nothing): not spoken
    /// ahead.
    pub no_sentence: u64,
    /// Runs whose first sentence was already in the phrase cache (nothing to synthesize).
    pub already_cached: u64,
    /// First sentences synthesized ahead of the final transcript.
    pub synthesized: u64,
    /// Runs dropped because the final transcript differed before they synthesized.
    pub cancelled: u64,
    /// Replies whose first sentence came from the slot, ready before the reply needed it.
    pub served_ready: u64,
    /// Replies whose first sentence came from the slot after waiting for its synthesis.
    pub served_after_wait: u64,
    /// Speculated sentences the real reply did not start with (thrown away).
    pub unused: u64,
}

impl SpeculationStats {
    pub(crate) fn snapshot(&self) -> SpeculationCounts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SpeculationCounts {
            started: g(&self.started),
            no_sentence: g(&self.no_sentence),
            already_cached: g(&self.already_cached),
            synthesized: g(&self.synthesized),
            cancelled: g(&self.cancelled),
            served_ready: g(&self.served_ready),
            served_after_wait: g(&self.served_after_wait),
            unused: g(&self.unused),
        }
    }
}

/// Transcript normalized for comparison: lower case, letters and digits only, single spaces.
pub(crate) fn normalize(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| {
                    // Devanagari vowel signs and viramas are not alphanumeric; its dandas are
                    // punctuation.
                    c.is_alphanumeric()
                        || (('\u{0900}'..='\u{097F}').contains(c) && !matches!(c, '।' | '॥'))
                })
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm() -> Arc<Pcm> {
        Arc::new(Pcm {
            sample_rate: 8000,
            samples: vec![1, 2, 3],
        })
    }

    #[test]
    fn normalization_ignores_case_punctuation_and_spacing() {
        assert_eq!(
            normalize("Kal raat, 8 baje!  4 log."),
            normalize("kal raat 8 baje 4 log")
        );
        assert_ne!(normalize("kal raat 8 baje"), normalize("kal raat 9 baje"));
        assert_eq!(normalize("हाँ जी।"), "हाँ जी");
    }

    #[tokio::test]
    async fn the_slot_serves_only_the_same_sentence_in_the_same_voice() {
        let stats = Arc::new(SpeculationStats::default());
        let slot = SpecSlot::new(stats.clone());
        let cancel = CancellationToken::new();
        slot.begin(1);
        slot.update(SpecState::Ready {
            id: 1,
            text: "Booking kis naam se karoon?".into(),
            voice: VoiceLang::English,
            pcm: pcm(),
        });
        assert!(
            slot.take("Booking kis naam se?", VoiceLang::English, &cancel)
                .await
                .is_none()
        );
        assert_eq!(stats.snapshot().unused, 1);
        // The miss emptied the slot.
        assert!(
            slot.take("Booking kis naam se karoon?", VoiceLang::English, &cancel)
                .await
                .is_none()
        );
        slot.begin(2);
        slot.update(SpecState::Ready {
            id: 2,
            text: "Booking kis naam se karoon?".into(),
            voice: VoiceLang::English,
            pcm: pcm(),
        });
        assert!(
            slot.take("Booking kis naam se karoon?", VoiceLang::Hindi, &cancel)
                .await
                .is_none()
        );
        slot.begin(3);
        slot.update(SpecState::Ready {
            id: 3,
            text: "Booking kis naam se karoon?".into(),
            voice: VoiceLang::English,
            pcm: pcm(),
        });
        assert!(
            slot.take("Booking kis naam se karoon?", VoiceLang::English, &cancel)
                .await
                .is_some()
        );
        assert_eq!(stats.snapshot().served_ready, 1);
    }

    #[tokio::test]
    async fn a_reply_waits_for_its_sentence_still_being_synthesized() {
        let stats = Arc::new(SpeculationStats::default());
        let slot = Arc::new(SpecSlot::new(stats.clone()));
        let cancel = CancellationToken::new();
        slot.begin(7);
        slot.update(SpecState::Synthesizing {
            id: 7,
            text: "Kitne log?".into(),
            voice: VoiceLang::English,
        });
        let taker = {
            let slot = slot.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move { slot.take("Kitne log?", VoiceLang::English, &cancel).await })
        };
        tokio::task::yield_now().await;
        // A stale speculation cannot overwrite the current one.
        slot.update(SpecState::Ready {
            id: 6,
            text: "Kitne log?".into(),
            voice: VoiceLang::Hindi,
            pcm: pcm(),
        });
        slot.update(SpecState::Ready {
            id: 7,
            text: "Kitne log?".into(),
            voice: VoiceLang::English,
            pcm: pcm(),
        });
        assert!(taker.await.unwrap().is_some());
        assert_eq!(stats.snapshot().served_after_wait, 1);
    }
}
