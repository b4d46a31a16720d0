//! The caller's side of turn-taking: VAD on 8 kHz PCM, off the async workers.
//!
//! One small task per call receives decoded 20 ms frames, runs them in batches through the VAD
//! and the [`SpeechSegmenter`] inside `spawn_blocking` (Silero inference is real CPU work), and
//! reports speech starts/ends and where voiced audio last was. The call task never waits on it:
//! frames are offered with `try_send`, and a stalled VAD drops frames rather than the call.

use std::sync::Arc;

use tokio::sync::mpsc;
use vartalaap_audio::vad::SileroVad;
use vartalaap_audio::{EnergyVad, ModelPaths, SegmenterConfig, SpeechEvent, SpeechSegmenter, Vad};

/// Frame length in ms (Plivo sends 20 ms of µ-law per `media`).
const FRAME_MS: u64 = 20;
/// Frames processed per blocking batch at most.
const MAX_BATCH: usize = 25;

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
                    if let Some(ev) = self.seg.push(prob, FRAME_MS) {
                        report.events.push(ev);
                    }
                }
            }
        }
        report.last_voiced_ms = self.last_voiced_ms;
        report
    }
}

/// Starts the VAD task; returns its input and its reports.
pub fn spawn(
    choice: VadChoice,
    config: SegmenterConfig,
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
        let (tx, mut rx) = spawn(VadChoice::Energy, SegmenterConfig::default());
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
}
