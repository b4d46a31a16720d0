//! The bot's side of the call: sentences → speech → 20 ms µ-law frames paced at real time.
//!
//! One task per call plays one reply at a time. Synthesis of sentence *n+1* runs (in
//! `spawn_blocking`) while sentence *n* plays, so the caller hears the first sentence as soon as
//! it is ready. Frames go out no more than the pacer's lead (40 ms) ahead of real time, so a
//! `clearAudio` silences the bot within a frame or two. After each sentence a `checkpoint`
//! lets Plivo's `playedStream` tell the [`PlaybackTracker`] what the caller really heard.
//!
//! Every command carries its reply's generation; the forwarder ([`forward`]) drops audio of a
//! generation that was cleared, so a frame racing a barge-in never reaches the caller.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vartalaap_audio::{FRAME_SAMPLES_8K, Pacer, mulaw};
use vartalaap_config::Lang;
use vartalaap_telephony::{Command, PlaybackTracker};

use crate::speculate::SpecSlot;
use crate::speech::{EdgeVoices, Source, SpeechPool, Spoken, voice_for};

/// A synthesized sentence, with the fallback used for it (when its own voice failed).
type Synthesized = (Spoken, Option<vartalaap_store::TtsFallback>);

/// One reply to play.
#[derive(Debug)]
pub struct SpeakJob {
    /// Reply generation (increasing per call).
    pub generation: u64,
    /// Sentences in order, each with the language it is in.
    pub sentences: Vec<(String, Lang)>,
    /// Sentences still being produced (an LLM answer, checked sentence by sentence), spoken
    /// after `sentences` as each arrives; the reply ends when the sender is dropped.
    pub more: Option<mpsc::Receiver<(String, Lang)>>,
    /// Cancelled on barge-in, hang-up or shutdown.
    pub cancel: CancellationToken,
}

/// Progress of a reply, for timings and turn-taking.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeakerEvent {
    /// The first sentence's audio is ready.
    FirstAudio { generation: u64, at: Instant },
    /// The first frame went out.
    FirstFrame { generation: u64, at: Instant },
    /// The sentence's own voice failed; another link of the chain said it instead (Edge,
    /// espeak-ng, the apology or a tone).
    Fallback {
        generation: u64,
        /// What happened, as the call log stores it.
        fallback: vartalaap_store::TtsFallback,
    },
    /// Every frame of the reply was sent (or it was cancelled).
    Done { generation: u64, cancelled: bool },
}

/// A command tagged with the reply generation it belongs to (`0` for call-level commands).
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    pub generation: u64,
    pub command: Command,
}

pub(crate) fn lock(t: &Mutex<PlaybackTracker>) -> MutexGuard<'_, PlaybackTracker> {
    t.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the speaker task for a call.
/// `voices` are the business's Edge voices per language (used only when Edge TTS is on).
/// `spec` is the call's speculative sentence: a reply starting with it is served from there.
pub(crate) fn spawn(
    pool: Arc<SpeechPool>,
    voices: EdgeVoices,
    spec: Arc<SpecSlot>,
    stream_id: String,
    tracker: Arc<Mutex<PlaybackTracker>>,
    out: mpsc::Sender<Tagged>,
) -> (mpsc::Sender<SpeakJob>, mpsc::Receiver<SpeakerEvent>) {
    let (job_tx, mut job_rx) = mpsc::channel::<SpeakJob>(8);
    let (ev_tx, ev_rx) = mpsc::channel::<SpeakerEvent>(64);
    tokio::spawn(async move {
        while let Some(job) = job_rx.recv().await {
            let generation = job.generation;
            let cancel = job.cancel.clone();
            let finished = play(
                &pool, &voices, &spec, &stream_id, &tracker, &out, &ev_tx, job,
            )
            .await;
            let done = SpeakerEvent::Done {
                generation,
                cancelled: !finished || cancel.is_cancelled(),
            };
            if ev_tx.send(done).await.is_err() {
                break;
            }
        }
    });
    (job_tx, ev_rx)
}

/// Synthesizes sentences one after another into a 1-deep queue (one sentence of look-ahead).
fn synthesize_ahead(
    pool: Arc<SpeechPool>,
    voices: EdgeVoices,
    spec: Arc<SpecSlot>,
    sentences: Vec<(String, Lang)>,
    mut more: Option<mpsc::Receiver<(String, Lang)>>,
    cancel: CancellationToken,
) -> mpsc::Receiver<Synthesized> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut queued = sentences.into_iter();
        let mut first = true;
        let mut index = 0u32;
        loop {
            let next = match (queued.next(), more.as_mut()) {
                (Some(s), _) => Some(s),
                (None, Some(rx)) => tokio::select! {
                    biased;
                    _ = cancel.cancelled() => None,
                    s = rx.recv() => s,
                },
                (None, None) => None,
            };
            let Some((text, lang)) = next else {
                break;
            };
            if cancel.is_cancelled() {
                break;
            }
            // The reply's first sentence may have been synthesized while the caller's last
            // words were being endpointed (same text, same voice: the very same audio).
            let speculated = if std::mem::take(&mut first) {
                spec.take(&text, voice_for(&text, lang), &cancel).await
            } else {
                None
            };
            let edge_voice = voices.get(&lang).map(String::as_str);
            let (spoken, errors) = match speculated {
                Some(pcm) => (
                    Spoken {
                        pcm,
                        source: Source::Local,
                        said: text.clone(),
                    },
                    Vec::new(),
                ),
                None => {
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => break,
                        spoken = pool.speak(&text, lang, edge_voice) => spoken,
                    }
                }
            };
            let fallback = (!errors.is_empty()).then(|| vartalaap_store::TtsFallback {
                sentence: index,
                failed_voice: pool.voice_label(Source::Local, &text, lang, edge_voice),
                used: pool.voice_label(spoken.source, &text, lang, edge_voice),
                error: vartalaap_store::short_message(&errors.join("; ")),
            });
            index += 1;
            if tx.send((spoken, fallback)).await.is_err() {
                break;
            }
        }
    });
    rx
}

/// Plays one reply; returns false when it was cancelled or the call's output closed.
#[allow(clippy::too_many_arguments)]
async fn play(
    pool: &Arc<SpeechPool>,
    voices: &EdgeVoices,
    spec: &Arc<SpecSlot>,
    stream_id: &str,
    tracker: &Arc<Mutex<PlaybackTracker>>,
    out: &mpsc::Sender<Tagged>,
    events: &mpsc::Sender<SpeakerEvent>,
    job: SpeakJob,
) -> bool {
    let generation = job.generation;
    let cancel = job.cancel;
    lock(tracker).start_reply();
    let mut audio = synthesize_ahead(
        pool.clone(),
        voices.clone(),
        spec.clone(),
        job.sentences,
        job.more,
        cancel.clone(),
    );
    let mut pacer: Option<(Pacer, u64)> = None;
    let mut first_audio = true;
    let mut first_frame = true;
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return false,
            next = audio.recv() => next,
        };
        let Some((spoken, fallback)) = next else {
            break;
        };
        if first_audio {
            first_audio = false;
            let _ = events
                .send(SpeakerEvent::FirstAudio {
                    generation,
                    at: Instant::now(),
                })
                .await;
        }
        if let Some(fallback) = fallback {
            let _ = events
                .send(SpeakerEvent::Fallback {
                    generation,
                    fallback,
                })
                .await;
        }
        lock(tracker).push_sentence(&spoken.said);
        let codes = mulaw::encode(&spoken.pcm.samples);
        for chunk in codes.chunks(FRAME_SAMPLES_8K) {
            let mut frame = chunk.to_vec();
            frame.resize(FRAME_SAMPLES_8K, mulaw::SILENCE);
            let now = Instant::now();
            // Restart the schedule when synthesis left us behind, so we never burst.
            let (p, index) = match pacer {
                Some((p, i)) if p.due(i) + vartalaap_audio::FRAME_DURATION >= now => (p, i),
                _ => (Pacer::telephony(now), 0),
            };
            let due = tokio::time::Instant::from_std(p.due(index));
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return false,
                _ = tokio::time::sleep_until(due) => {}
            }
            let cmd = Command::PlayAudio {
                mulaw: frame,
                stream_id: Some(stream_id.to_string()),
            };
            // A stuck socket fills the queue; a barge-in or hang-up must still stop us.
            let sent = tokio::select! {
                biased;
                _ = cancel.cancelled() => return false,
                sent = out.send(Tagged {
                    generation,
                    command: cmd,
                }) => sent,
            };
            if sent.is_err() {
                return false;
            }
            let sent_at = Instant::now();
            lock(tracker).frame_sent(sent_at);
            pacer = Some((p, index + 1));
            if first_frame {
                first_frame = false;
                let _ = events
                    .send(SpeakerEvent::FirstFrame {
                        generation,
                        at: sent_at,
                    })
                    .await;
            }
        }
        let checkpoint = lock(tracker).end_sentence();
        if let Some(name) = checkpoint {
            let cmd = Command::Checkpoint {
                stream_id: stream_id.to_string(),
                name,
            };
            if out
                .send(Tagged {
                    generation,
                    command: cmd,
                })
                .await
                .is_err()
            {
                return false;
            }
        }
    }
    lock(tracker).end_reply();
    !cancel.is_cancelled()
}

/// Moves commands to the socket's channel, dropping audio and checkpoints of cleared replies:
/// a `ClearAudio` tagged with generation *g* discards everything of generation ≤ *g* that
/// arrives after it.
pub fn forward(mut rx: mpsc::Receiver<Tagged>, out: mpsc::Sender<Command>) {
    tokio::spawn(async move {
        let mut cleared_upto = 0u64;
        while let Some(t) = rx.recv().await {
            match &t.command {
                Command::ClearAudio { .. } => cleared_upto = cleared_upto.max(t.generation),
                Command::PlayAudio { .. } | Command::Checkpoint { .. }
                    if t.generation != 0 && t.generation <= cleared_upto =>
                {
                    continue;
                }
                _ => {}
            }
            if out.send(t.command).await.is_err() {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A speaker task on stream `stream-1` with no voice installed (every sentence is the
    /// 300 ms tone), its tracker, the commands it sends, its job queue and its events.
    struct Rig {
        tracker: Arc<Mutex<PlaybackTracker>>,
        rx: mpsc::Receiver<Tagged>,
        jobs: mpsc::Sender<SpeakJob>,
        events: mpsc::Receiver<SpeakerEvent>,
    }

    fn rig() -> Rig {
        let pool = Arc::new(SpeechPool::new(
            None,
            std::path::Path::new("/nonexistent/espeak-ng"),
            1,
            4,
            None,
            crate::speech::VoiceNeeds::ALL,
        ));
        let tracker = Arc::new(Mutex::new(PlaybackTracker::new()));
        let (tx, rx) = mpsc::channel(1024);
        let (jobs, events) = spawn(
            pool,
            EdgeVoices::default(),
            Arc::new(SpecSlot::new(Arc::default())),
            "stream-1".into(),
            tracker.clone(),
            tx,
        );
        Rig {
            tracker,
            rx,
            jobs,
            events,
        }
    }

    #[tokio::test]
    async fn forwarder_drops_audio_of_cleared_replies() {
        let (tx, rx) = mpsc::channel(16);
        let (out_tx, mut out_rx) = mpsc::channel(16);
        forward(rx, out_tx);
        let play = |g: u64| Tagged {
            generation: g,
            command: Command::PlayAudio {
                mulaw: vec![0xFF; 160],
                stream_id: None,
            },
        };
        tx.send(play(1)).await.unwrap();
        tx.send(Tagged {
            generation: 1,
            command: Command::ClearAudio {
                stream_id: "s".into(),
            },
        })
        .await
        .unwrap();
        tx.send(play(1)).await.unwrap();
        tx.send(play(2)).await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        while let Some(c) = out_rx.recv().await {
            got.push(c);
        }
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(matches!(got[1], Command::ClearAudio { .. }));
    }

    #[tokio::test]
    async fn a_reply_is_framed_checkpointed_and_tracked() {
        let Rig {
            tracker,
            mut rx,
            jobs,
            mut events,
        } = rig();
        jobs.send(SpeakJob {
            generation: 1,
            sentences: vec![("One.".into(), Lang::En), ("Two.".into(), Lang::En)],
            more: None,
            cancel: CancellationToken::new(),
        })
        .await
        .unwrap();
        let mut kinds = Vec::new();
        loop {
            match events.recv().await.unwrap() {
                SpeakerEvent::Done { cancelled, .. } => {
                    assert!(!cancelled);
                    break;
                }
                e => kinds.push(std::mem::discriminant(&e)),
            }
        }
        let mut frames = 0;
        let mut checkpoints = Vec::new();
        while let Ok(t) = rx.try_recv() {
            match t.command {
                Command::PlayAudio { mulaw, .. } => {
                    assert_eq!(mulaw.len(), 160);
                    frames += 1;
                }
                Command::Checkpoint { name, .. } => checkpoints.push(name),
                other => panic!("unexpected {other:?}"),
            }
        }
        // Without espeak-ng each sentence is the 300 ms tone: 15 frames each.
        assert_eq!(frames, 30);
        assert_eq!(checkpoints, ["r1-s0", "r1-s1"]);
        assert!(lock(&tracker).on_played("r1-s1", Instant::now()));
    }

    #[tokio::test]
    async fn streamed_sentences_play_after_the_first_as_they_arrive() {
        let Rig {
            mut rx,
            jobs,
            mut events,
            ..
        } = rig();
        let (more_tx, more_rx) = mpsc::channel(4);
        jobs.send(SpeakJob {
            generation: 1,
            sentences: vec![("One.".into(), Lang::En)],
            more: Some(more_rx),
            cancel: CancellationToken::new(),
        })
        .await
        .unwrap();
        // The first sentence plays while the next one is still being generated.
        loop {
            if let SpeakerEvent::FirstFrame { .. } = events.recv().await.unwrap() {
                break;
            }
        }
        more_tx.send(("Two.".into(), Lang::En)).await.unwrap();
        drop(more_tx);
        loop {
            if let SpeakerEvent::Done { cancelled, .. } = events.recv().await.unwrap() {
                assert!(!cancelled);
                break;
            }
        }
        let mut checkpoints = Vec::new();
        while let Ok(t) = rx.try_recv() {
            if let Command::Checkpoint { name, .. } = t.command {
                checkpoints.push(name);
            }
        }
        assert_eq!(checkpoints, ["r1-s0", "r1-s1"]);
    }
}
