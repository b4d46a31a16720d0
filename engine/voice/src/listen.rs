//! The caller's side of turn-taking: VAD on 8 kHz PCM, off the async workers.
//!
//! One small task per call receives decoded 20 ms frames, runs them in batches through the VAD
//! and the [`SpeechSegmenter`] inside `spawn_blocking` (Silero inference is real CPU work), and
//! reports speech starts/ends and where voiced audio last was. The call task never waits on it:
//! frames are offered with `try_send`, and a stalled VAD drops frames rather than the call.
//!
//! With an offline recogniser (Whisper) the task also keeps the caller's recent audio and hands
//! over each utterance's samples with its `SpeechEnd` (plus 200 ms either side, so soft word
//! edges are not clipped), bounded to Whisper's 30 s window.

use std::sync::Arc;

use tokio::sync::mpsc;
use vartalaap_audio::vad::SileroVad;
use vartalaap_audio::{EnergyVad, ModelPaths, SegmenterConfig, SpeechEvent, SpeechSegmenter, Vad};

/// Frame length in ms (Plivo sends 20 ms of µ-law per `media`).
const FRAME_MS: u64 = 20;
/// Frames processed per blocking batch at most.
const MAX_BATCH: usize = 25;
/// Samples per ms at 8 kHz.
const SAMPLES_PER_MS: u64 = 8;
/// Audio kept before an utterance's detected start and after its last voiced frame.
const PRE_ROLL_MS: u64 = 200;
const POST_ROLL_MS: u64 = 200;
/// Audio kept while the caller is silent (covers the onset and the pre-roll).
const IDLE_KEEP_MS: u64 = 1_000;
/// Longest utterance handed over (Whisper's window); earlier audio of a longer one is dropped.
const MAX_UTTERANCE_MS: u64 = 30_000;

/// Work for the VAD task.
#[derive(Debug)]
pub enum VadInput {
    /// One 20 ms frame of 8 kHz PCM.
    Frame(Vec<i16>),
    /// New end-of-turn silence (ms).
    Patience(u64),
}

/// What the VAD noticed in one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VadReport {
    /// Turn starts and ends, in order; times are ms of caller audio since the stream started.
    pub events: Vec<SpeechEvent>,
    /// End of the last voiced frame seen so far (ms of caller audio).
    pub last_voiced_ms: Option<u64>,
    /// The VAD failed and was replaced by the energy VAD.
    pub degraded: Option<String>,
    /// With capture on: each ended utterance's 8 kHz PCM, one per `SpeechEnd` in `events`, in
    /// the same order.
    pub utterances: Vec<Vec<i16>>,
}

/// Which detector a call uses.
#[derive(Debug, Clone)]
pub enum VadChoice {
    /// Silero via ONNX Runtime.
    Silero(Arc<ModelPaths>),
    /// The energy detector (no model).
    Energy,
}

impl VadChoice {
    /// Silero when the runtime and model are installed, else energy.
    pub fn detect(models: Option<&ModelPaths>) -> VadChoice {
        match models {
            Some(m) if m.ort_dylib.is_file() && m.silero_vad().is_file() => {
                VadChoice::Silero(Arc::new(m.clone()))
            }
            _ => VadChoice::Energy,
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            VadChoice::Silero(_) => "silero",
            VadChoice::Energy => "energy",
        }
    }

    fn build(&self) -> (Box<dyn Vad>, Option<String>) {
        match self {
            VadChoice::Energy => (Box::new(EnergyVad::default()), None),
            VadChoice::Silero(m) => match SileroVad::load(&m.ort_dylib, &m.silero_vad()) {
                Ok(v) => (Box::new(v), None),
                Err(e) => (
                    Box::new(EnergyVad::default()),
                    Some(format!(
                        "Silero VAD could not be loaded ({e}); using the energy VAD"
                    )),
                ),
            },
        }
    }
}

struct Detector {
    vad: Box<dyn Vad>,
    seg: SpeechSegmenter,
    position_ms: u64,
    last_voiced_ms: Option<u64>,
    capture: Option<Capture>,
}

/// The caller's recent audio, for cutting out utterances.
#[derive(Debug, Default)]
struct Capture {
    audio: std::collections::VecDeque<i16>,
    /// Stream position (ms) of `audio[0]`.
    start_ms: u64,
}

impl Capture {
    fn push(&mut self, pcm: &[i16]) {
        self.audio.extend(pcm);
    }

    /// Drops audio older than `keep_ms` before `now_ms`.
    fn keep_last(&mut self, now_ms: u64, keep_ms: u64) {
        let from = now_ms.saturating_sub(keep_ms);
        if from > self.start_ms {
            let drop = ((from - self.start_ms) * SAMPLES_PER_MS).min(self.audio.len() as u64);
            self.audio.drain(..drop as usize);
            self.start_ms = from;
        }
    }

    /// The samples between two stream positions (clamped to what is kept).
    fn cut(&self, from_ms: u64, to_ms: u64) -> Vec<i16> {
        let a = (from_ms.max(self.start_ms) - self.start_ms) * SAMPLES_PER_MS;
        let b = (to_ms.max(self.start_ms) - self.start_ms) * SAMPLES_PER_MS;
        let (a, b) = (a as usize, (b as usize).min(self.audio.len()));
        self.audio.range(a.min(b)..b).copied().collect()
    }
}

impl Detector {
    fn run(&mut self, batch: Vec<VadInput>) -> VadReport {
        let mut report = VadReport::default();
        for input in batch {
            match input {
                VadInput::Patience(ms) => self.seg.set_patience(ms),
                VadInput::Frame(pcm) => {
                    let prob = match self.vad.process(&pcm) {
                        Ok(p) => p,
                        Err(e) => {
                            report.degraded =
                                Some(format!("VAD failed ({e}); using the energy VAD"));
                            self.vad = Box::new(EnergyVad::default());
                            self.vad.process(&pcm).unwrap_or(0.0)
                        }
                    };
                    self.position_ms += FRAME_MS;
                    if prob >= self.seg.config().end_threshold {
                        self.last_voiced_ms = Some(self.position_ms);
                    }
                    if let Some(c) = &mut self.capture {
                        c.push(&pcm);
                    }
                    let event = self.seg.push(prob, FRAME_MS);
                    if let Some(ev) = event {
                        report.events.push(ev);
                    }
                    if let Some(c) = &mut self.capture {
                        if let Some(SpeechEvent::SpeechEnd { at_ms, duration_ms }) = event {
                            let from = at_ms.saturating_sub(duration_ms + PRE_ROLL_MS);
                            let to = (at_ms + POST_ROLL_MS).min(self.position_ms);
                            report.utterances.push(c.cut(from, to));
                        }
                        let keep = if self.seg.in_speech() {
                            MAX_UTTERANCE_MS + PRE_ROLL_MS
                        } else {
                            IDLE_KEEP_MS
                        };
                        c.keep_last(self.position_ms, keep);
                    }
                }
            }
        }
        report.last_voiced_ms = self.last_voiced_ms;
        report
    }
}

/// Starts the VAD task; returns its input and its reports. `capture`: hand over each
/// utterance's audio (for an offline recogniser).
pub fn spawn(
    choice: VadChoice,
    config: SegmenterConfig,
    capture: bool,
) -> (mpsc::Sender<VadInput>, mpsc::Receiver<VadReport>) {
    let (in_tx, mut in_rx) = mpsc::channel::<VadInput>(256);
    let (out_tx, out_rx) = mpsc::channel::<VadReport>(64);
    tokio::spawn(async move {
        let built = tokio::task::spawn_blocking(move || choice.build()).await;
        let Ok((vad, degraded)) = built else { return };
        let mut detector = Some(Detector {
            vad,
            seg: SpeechSegmenter::new(config),
            position_ms: 0,
            last_voiced_ms: None,
            capture: capture.then(Capture::default),
        });
        if let Some(reason) = degraded {
            let _ = out_tx
                .send(VadReport {
                    degraded: Some(reason),
                    ..VadReport::default()
                })
                .await;
        }
        while let Some(first) = in_rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match in_rx.try_recv() {
                    Ok(more) => batch.push(more),
                    Err(_) => break,
                }
            }
            let Some(mut det) = detector.take() else {
                break;
            };
            let Ok((det, report)) = tokio::task::spawn_blocking(move || {
                let report = det.run(batch);
                (det, report)
            })
            .await
            else {
                break;
            };
            detector = Some(det);
            if (!report.events.is_empty()
                || report.degraded.is_some()
                || report.last_voiced_ms.is_some())
                && out_tx.send(report).await.is_err()
            {
                break;
            }
        }
    });
    (in_tx, out_rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amp: f32) -> Vec<i16> {
        (0..160)
            .map(|i| ((i as f32 * 0.3).sin() * amp) as i16)
            .collect()
    }

    #[tokio::test]
    async fn energy_vad_reports_a_turn() {
        let (tx, mut rx) = spawn(VadChoice::Energy, SegmenterConfig::default(), false);
        for _ in 0..25 {
            tx.send(VadInput::Frame(vec![0; 160])).await.unwrap();
        }
        for _ in 0..40 {
            tx.send(VadInput::Frame(tone(12000.0))).await.unwrap();
        }
        for _ in 0..60 {
            tx.send(VadInput::Frame(vec![0; 160])).await.unwrap();
        }
        drop(tx);
        let mut events = Vec::new();
        let mut last = None;
        while let Some(r) = rx.recv().await {
            events.extend(r.events);
            last = r.last_voiced_ms.or(last);
        }
        assert!(
            matches!(events.first(), Some(SpeechEvent::SpeechStart { .. })),
            "{events:?}"
        );
        assert!(
            matches!(events.get(1), Some(SpeechEvent::SpeechEnd { .. })),
            "{events:?}"
        );
        let last = last.unwrap();
        assert!((900..=1400).contains(&last), "{last}");
    }

    #[tokio::test]
    async fn capture_hands_over_each_utterance_with_its_edges() {
        let (tx, mut rx) = spawn(VadChoice::Energy, SegmenterConfig::default(), true);
        let send = |frames: usize, amp: f32| {
            let tx = tx.clone();
            async move {
                for _ in 0..frames {
                    let frame = if amp > 0.0 { tone(amp) } else { vec![0; 160] };
                    tx.send(VadInput::Frame(frame)).await.unwrap();
                }
            }
        };
        // 3 s of silence, 0.8 s of "speech", 1 s of silence, 0.4 s of speech, 1 s of silence.
        send(150, 0.0).await;
        send(40, 12000.0).await;
        send(50, 0.0).await;
        send(20, 9000.0).await;
        send(50, 0.0).await;
        drop(tx);
        let mut ends = 0;
        let mut utterances = Vec::new();
        while let Some(r) = rx.recv().await {
            ends += r
                .events
                .iter()
                .filter(|e| matches!(e, SpeechEvent::SpeechEnd { .. }))
                .count();
            utterances.extend(r.utterances);
        }
        assert_eq!(ends, 2);
        assert_eq!(utterances.len(), 2);
        for (u, voiced_ms) in utterances.iter().zip([800u64, 400]) {
            // Every voiced sample is inside (each tone frame has 159 non-zero samples), with
            // silence either side (the edges).
            let voiced = u.iter().filter(|&&s| s != 0).count() as u64;
            assert_eq!(voiced, voiced_ms / 20 * 159);
            let ms = u.len() as u64 / 8;
            assert!(ms >= voiced_ms + 200 && ms <= voiced_ms + 600, "{ms} ms");
            assert_eq!(u[0], 0, "starts in the pre-roll silence");
            assert_eq!(*u.last().unwrap(), 0, "ends in the post-roll silence");
        }
    }
}
