//! The caller's side of turn-taking: VAD on 8 kHz PCM, off the async workers.
//!
//! One small task per call receives decoded 20 ms frames, runs them in batches through the VAD
//! and the [`SpeechSegmenter`] inside `spawn_blocking` (Silero inference is real CPU work), and
//! reports speech starts/ends and where voiced audio last was. The call task never waits on it:
//! frames are offered with `try_send`, and a stalled VAD drops frames rather than the call.
//!
//! The model (Silero) judges only where its judgement decides something: while the bot speaks
//! (a barge-in must not be fooled by noise) and whenever our VAD ends the caller's turn (no
//! recogniser, or the offline one). With Deepgram as the recogniser and the bot silent, the
//! turn is ended by Deepgram's own endpointing, and our VAD only suspends the silence timer,
//! sends an early `Finalize` and marks when the caller stopped: the energy VAD does that, on
//! the async thread, and the session switches the model back on ([`VadInput::UseModel`])
//! when a reply starts.
//!
//! With an offline recogniser (Whisper) the task also keeps the caller's recent audio and hands
//! over each utterance's samples with its `SpeechEnd` (plus 200 ms either side, so soft word
//! edges are not clipped), bounded to Whisper's 30 s window.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use vartalaap_audio::vad::{SileroModel, SileroVad};
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
    /// Whether the model judges the frames that follow (`false`: the energy VAD does; no
    /// effect when the call has no model). Sent by the session when the bot starts or stops
    /// speaking, so Silero runs only where its judgement decides something.
    UseModel(bool),
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

/// The Silero model, loaded once for all calls (on first use).
#[derive(Debug)]
pub struct SharedSilero {
    paths: ModelPaths,
    model: std::sync::OnceLock<Result<Arc<SileroModel>, String>>,
}

impl SharedSilero {
    /// The loaded model (blocking on first use), or why it cannot load.
    fn model(&self) -> Result<Arc<SileroModel>, String> {
        self.model
            .get_or_init(|| {
                // About one session per core: windows of different calls run in parallel.
                let sessions = std::thread::available_parallelism().map_or(2, |n| n.get());
                SileroModel::load(&self.paths.ort_dylib, &self.paths.silero_vad(), sessions)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// Which detector a call uses.
#[derive(Debug, Clone)]
pub enum VadChoice {
    /// Silero via ONNX Runtime (one loaded model shared by every call).
    Silero(Arc<SharedSilero>),
    /// The energy detector (no model).
    Energy,
}

impl VadChoice {
    /// Silero when the runtime and model are installed, else energy.
    pub fn detect(models: Option<&ModelPaths>) -> VadChoice {
        match models {
            Some(m) if m.ort_dylib.is_file() && m.silero_vad().is_file() => {
                VadChoice::Silero(Arc::new(SharedSilero {
                    paths: m.clone(),
                    model: std::sync::OnceLock::new(),
                }))
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

    /// Loads the model now (blocking), so the first call does not wait for it.
    pub fn preload(&self) {
        if let VadChoice::Silero(shared) = self
            && let Err(e) = shared.model()
        {
            tracing::warn!(error = %e, "Silero VAD could not be loaded; calls use the energy VAD.");
        }
    }

    fn build(&self) -> (Box<dyn Vad>, Option<String>) {
        match self {
            VadChoice::Energy => (Box::new(EnergyVad::default()), None),
            VadChoice::Silero(shared) => match shared.model() {
                Ok(model) => (Box::new(SileroVad::new(model)), None),
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

/// Frames quieter than this are never speech (the energy VAD's own floor).
const QUIET_DBFS: f32 = -50.0;
/// After this much unbroken quiet the model stops running until sound returns.
const QUIET_SKIP_AFTER_MS: u64 = 200;

/// Level of a frame in dBFS (−100 for digital silence).
fn level_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return -100.0;
    }
    let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (energy / frame.len() as f64).sqrt();
    if rms < 1.0 {
        return -100.0;
    }
    (20.0 * (rms / 32768.0).log10()) as f32
}

/// How far (dB) above the line's steady noise floor a frame must be to count as sound for the
/// gate. Steady line noise sits within ~2 dB of its own minimum-statistics floor; speech is
/// 15–30 dB above it on a phone line.
const NOISE_MARGIN_DB: f32 = 8.0;

/// Skips the model during long quiet stretches: the caller is silent most of a call (while
/// the bot talks, between turns), and Silero inference is most of a call's CPU. "Quiet" is
/// below −50 dBFS, or below the line's noise floor plus [`NOISE_MARGIN_DB`] (the floor comes
/// from the standby energy VAD, which hears every frame: the quietest frame of the last 2 s,
/// so it falls at once and rises only after the noise has risen for a whole window). On a
/// noisy line steady hiss is thus not judged frame after frame while the bot speaks. Within
/// speech (pauses shorter than [`QUIET_SKIP_AFTER_MS`]) every frame still goes to the model,
/// so the start and tail of speech are judged; after a skipped stretch its state is reset, as
/// for a fresh utterance.
#[derive(Debug, Default)]
struct QuietGate {
    quiet_ms: u64,
    skipping: bool,
}

impl QuietGate {
    /// Whether every frame of `batch` would be skipped (no inference to run at all), given
    /// the noise floor (dBFS) before the batch. Conservative: within the batch the floor is
    /// taken as at most the quietest frame seen so far (it can only be higher in fact, as
    /// frames leave its window), so a "yes" is never wrong.
    fn skips_all(&self, batch: &[VadInput], floor_dbfs: f32) -> bool {
        let mut quiet_ms = self.quiet_ms;
        let mut floor = floor_dbfs;
        for input in batch {
            if let VadInput::Frame(pcm) = input {
                let level = level_dbfs(pcm);
                if !is_quiet(level, floor) || quiet_ms < QUIET_SKIP_AFTER_MS {
                    return false;
                }
                floor = floor.min(level);
                quiet_ms += FRAME_MS;
            }
        }
        true
    }

    /// Whether the model should judge this frame; `false` means "silence, probability 0".
    /// `floor_dbfs`: the line's noise floor before this frame (−100 when unknown).
    fn admit(&mut self, frame: &[i16], floor_dbfs: f32, vad: &mut dyn Vad) -> bool {
        let quiet = is_quiet(level_dbfs(frame), floor_dbfs);
        let skip = quiet && self.quiet_ms >= QUIET_SKIP_AFTER_MS;
        self.quiet_ms = if quiet { self.quiet_ms + FRAME_MS } else { 0 };
        if skip {
            self.skipping = true;
        } else if self.skipping {
            self.skipping = false;
            vad.reset();
        }
        !skip
    }
}

/// A frame at `level` is no sound worth judging: under the absolute floor, or within
/// [`NOISE_MARGIN_DB`] of the line's noise floor.
fn is_quiet(level: f32, floor_dbfs: f32) -> bool {
    level < QUIET_DBFS.max(floor_dbfs + NOISE_MARGIN_DB)
}

struct Detector {
    vad: Box<dyn Vad>,
    /// Only for the model VAD (the energy VAD is cheap and learns its floor from quiet).
    gate: Option<QuietGate>,
    /// With a model: the energy VAD that stands in while the model is parked. It hears every
    /// frame, so its noise floor is current when it takes over.
    standby: Option<EnergyVad>,
    /// The model judges frames now (always true without one).
    model_on: bool,
    /// Frames the model judged, process-wide (for tests and the load report).
    judged: Arc<AtomicU64>,
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
    /// Whether `batch` needs no model inference (the energy VAD, or silence the gate skips),
    /// so it can run right on the async thread instead of taking a trip to the blocking pool.
    fn is_cheap(&self, batch: &[VadInput]) -> bool {
        let Some(gate) = &self.gate else {
            return true;
        };
        // The model is parked for the whole batch (no mode change in it), or the gate skips.
        let parked = !self.model_on && !batch.iter().any(|i| matches!(i, VadInput::UseModel(true)));
        parked || gate.skips_all(batch, self.noise_floor_dbfs())
    }

    /// The line's noise floor as the standby energy VAD knows it (−100: none known).
    fn noise_floor_dbfs(&self) -> f32 {
        self.standby
            .as_ref()
            .map_or(-100.0, EnergyVad::noise_floor_dbfs)
    }

    fn run(&mut self, batch: Vec<VadInput>) -> VadReport {
        let mut report = VadReport::default();
        for input in batch {
            match input {
                VadInput::Patience(ms) => self.seg.set_patience(ms),
                VadInput::UseModel(on) => {
                    if on && !self.model_on && self.standby.is_some() {
                        // Fresh recurrent state, as after a skipped quiet stretch.
                        self.vad.reset();
                    }
                    self.model_on = on || self.standby.is_none();
                }
                VadInput::Frame(pcm) => {
                    // The floor before this frame, so a loud frame is judged against the noise.
                    let floor = self.noise_floor_dbfs();
                    let standby = self
                        .standby
                        .as_mut()
                        .map(|e| e.process(&pcm).unwrap_or(0.0));
                    let judge = match &mut self.gate {
                        Some(_) if !self.model_on => false,
                        Some(gate) => gate.admit(&pcm, floor, self.vad.as_mut()),
                        None => true,
                    };
                    let prob = if !judge {
                        match standby {
                            Some(p) if !self.model_on => p,
                            _ => 0.0,
                        }
                    } else {
                        if self.gate.is_some() {
                            self.judged.fetch_add(1, Ordering::Relaxed);
                        }
                        match self.vad.process(&pcm) {
                            Ok(p) => p,
                            Err(e) => {
                                report.degraded =
                                    Some(format!("VAD failed ({e}); using the energy VAD"));
                                self.vad = Box::new(EnergyVad::default());
                                self.gate = None;
                                self.standby = None;
                                self.model_on = true;
                                self.vad.process(&pcm).unwrap_or(0.0)
                            }
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
/// utterance's audio (for an offline recogniser). `judged` counts the frames the model
/// judged (shared by the calls of a service).
pub fn spawn(
    choice: VadChoice,
    config: SegmenterConfig,
    capture: bool,
    judged: Arc<AtomicU64>,
) -> (mpsc::Sender<VadInput>, mpsc::Receiver<VadReport>) {
    let (in_tx, mut in_rx) = mpsc::channel::<VadInput>(256);
    let (out_tx, out_rx) = mpsc::channel::<VadReport>(64);
    tokio::spawn(async move {
        let model = matches!(choice, VadChoice::Silero(_));
        let built = tokio::task::spawn_blocking(move || choice.build()).await;
        let Ok((vad, degraded)) = built else { return };
        let mut detector = Some(Detector {
            vad,
            gate: (model && degraded.is_none()).then(QuietGate::default),
            standby: (model && degraded.is_none()).then(EnergyVad::default),
            model_on: true,
            judged,
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
        let mut last_reported_voice = None;
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
            let (det, report) = if det.is_cheap(&batch) {
                let report = det.run(batch);
                (det, report)
            } else {
                let Ok(done) = tokio::task::spawn_blocking(move || {
                    let report = det.run(batch);
                    (det, report)
                })
                .await
                else {
                    break;
                };
                done
            };
            detector = Some(det);
            // The session only needs news: events, a degraded VAD, or voice heard later than
            // it knew (not one report per 20 ms frame).
            let news = !report.events.is_empty()
                || report.degraded.is_some()
                || !report.utterances.is_empty()
                || report.last_voiced_ms != last_reported_voice;
            last_reported_voice = report.last_voiced_ms;
            if news && out_tx.send(report).await.is_err() {
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

    /// Counts the gate's resets.
    #[derive(Default)]
    struct Counting {
        resets: usize,
    }

    impl Vad for Counting {
        fn process(&mut self, _: &[i16]) -> Result<f32, vartalaap_audio::VadError> {
            Ok(0.9)
        }

        fn reset(&mut self) {
            self.resets += 1;
        }
    }

    #[test]
    fn the_quiet_gate_skips_long_silence_but_not_pauses_inside_speech() {
        let mut gate = QuietGate::default();
        let mut vad = Counting::default();
        let silence = vec![0i16; 160];
        let speech = tone(8000.0);
        // No noise floor known (a quiet line): only the absolute floor counts.
        let mut feed = |frame: &[i16], n: usize, vad: &mut Counting| {
            (0..n).filter(|_| gate.admit(frame, -100.0, vad)).count()
        };
        // Speech, then a 100 ms pause: everything is judged.
        assert_eq!(feed(&speech, 10, &mut vad), 10);
        assert_eq!(feed(&silence, 5, &mut vad), 5);
        assert_eq!(feed(&speech, 5, &mut vad), 5);
        // Two seconds of silence: only the first 200 ms are judged.
        assert_eq!(feed(&silence, 100, &mut vad), 10);
        assert_eq!(vad.resets, 0);
        // Sound again: judged from its first frame, on a fresh model state.
        assert_eq!(feed(&speech, 3, &mut vad), 3);
        assert_eq!(vad.resets, 1);
        // Sound above −50 dBFS with no floor learned is never skipped (the model decides).
        let noise = tone(200.0);
        assert!(level_dbfs(&noise) > QUIET_DBFS);
        assert_eq!(feed(&noise, 50, &mut vad), 50);
    }

    /// A model VAD that counts the frames it judged (always "speech").
    struct CountingModel(Arc<AtomicU64>);

    impl Vad for CountingModel {
        fn process(&mut self, _: &[i16]) -> Result<f32, vartalaap_audio::VadError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(0.9)
        }

        fn reset(&mut self) {}
    }

    fn model_detector(calls: Arc<AtomicU64>) -> Detector {
        Detector {
            vad: Box::new(CountingModel(calls)),
            gate: Some(QuietGate::default()),
            standby: Some(EnergyVad::default()),
            model_on: true,
            judged: Arc::default(),
            seg: SpeechSegmenter::new(SegmenterConfig::default()),
            position_ms: 0,
            last_voiced_ms: None,
            capture: None,
        }
    }

    fn frames(n: usize, amp: f32) -> Vec<VadInput> {
        (0..n)
            .map(|_| VadInput::Frame(if amp > 0.0 { tone(amp) } else { vec![0; 160] }))
            .collect()
    }

    #[test]
    fn a_parked_model_judges_nothing_and_the_energy_vad_still_finds_the_turn() {
        let calls = Arc::new(AtomicU64::new(0));
        let mut det = model_detector(calls.clone());
        // Bot silent, Deepgram listening: the session parks the model.
        let mut batch = vec![VadInput::UseModel(false)];
        batch.extend(frames(25, 0.0));
        batch.extend(frames(40, 12000.0));
        batch.extend(frames(60, 0.0));
        let report = det.run(batch);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            0,
            "the model ran while parked"
        );
        assert_eq!(det.judged.load(Ordering::Relaxed), 0);
        assert!(
            matches!(report.events.first(), Some(SpeechEvent::SpeechStart { .. })),
            "{:?}",
            report.events
        );
        assert!(
            matches!(report.events.get(1), Some(SpeechEvent::SpeechEnd { .. })),
            "{:?}",
            report.events
        );
        // Parked batches need no blocking-pool trip, even with sound in them.
        assert!(det.is_cheap(&frames(5, 12000.0)));
        // The bot speaks: the model judges the caller's sound again (barge-in).
        let mut batch = vec![VadInput::UseModel(true)];
        batch.extend(frames(10, 12000.0));
        assert!(!det.is_cheap(&batch));
        det.run(batch);
        assert_eq!(calls.load(Ordering::Relaxed), 10);
        assert_eq!(det.judged.load(Ordering::Relaxed), 10);
    }

    /// White-ish line noise (sum of four xorshift uniforms, as the load example's) at `dbfs`.
    fn noise(dbfs: f32, seed: &mut u64) -> Vec<i16> {
        let scale = 32768.0 * 10f32.powf(dbfs / 20.0) * 3f32.sqrt();
        (0..160)
            .map(|_| {
                let n: f32 = (0..4)
                    .map(|_| {
                        *seed ^= *seed << 13;
                        *seed ^= *seed >> 7;
                        *seed ^= *seed << 17;
                        (*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    })
                    .sum();
                (n * scale) as i16
            })
            .collect()
    }

    /// A warbling voice-like tone (about −12 dBFS) over the line noise.
    fn voice_over_noise(k: usize, seed: &mut u64) -> Vec<i16> {
        let mut f = noise(-45.0, seed);
        for (i, s) in f.iter_mut().enumerate() {
            let t = (k * 160 + i) as f32 / 8000.0;
            let hz = 180.0 + 60.0 * (t * 5.0 * std::f32::consts::TAU).sin();
            *s = s.saturating_add(((t * hz * std::f32::consts::TAU).sin() * 8_000.0) as i16);
        }
        f
    }

    #[test]
    fn steady_line_noise_stops_reaching_the_model_but_speech_over_it_does() {
        let calls = Arc::new(AtomicU64::new(0));
        let mut det = model_detector(calls.clone());
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        let judged = |det: &mut Detector, frames: Vec<Vec<i16>>, counter: &Arc<AtomicU64>| {
            let before = counter.load(Ordering::Relaxed);
            let batch: Vec<VadInput> = frames.into_iter().map(VadInput::Frame).collect();
            let report = det.run(batch);
            (counter.load(Ordering::Relaxed) - before, report)
        };
        // The bot speaks (model on); the caller's line carries −45 dBFS hiss, above the
        // absolute −50 dBFS gate, so before the floor only the model could reject it.
        let hiss: Vec<Vec<i16>> = (0..50).map(|_| noise(-45.0, &mut seed)).collect();
        assert!(hiss.iter().all(|f| level_dbfs(f) > QUIET_DBFS));
        let (n, _) = judged(&mut det, hiss, &calls);
        assert!(
            n <= 12,
            "1 s of hiss: {n} frames judged (only the first ~200 ms may be)"
        );
        // Once the floor has settled, more hiss never reaches the model, and such batches
        // need no blocking-pool trip.
        let hiss: Vec<Vec<i16>> = (0..150).map(|_| noise(-45.0, &mut seed)).collect();
        let batch: Vec<VadInput> = hiss.iter().cloned().map(VadInput::Frame).collect();
        assert!(det.is_cheap(&batch[..25]));
        let (n, _) = judged(&mut det, hiss, &calls);
        assert_eq!(n, 0, "3 s of steady hiss reached the model");
        // The caller talks over the hiss for 600 ms: every frame is judged, and the model's
        // verdict (here always "speech") starts a turn: a barge-in is still heard.
        let voice: Vec<Vec<i16>> = (0..30).map(|k| voice_over_noise(k, &mut seed)).collect();
        let (n, report) = judged(&mut det, voice, &calls);
        assert_eq!(n, 30, "speech over the hiss must reach the model");
        assert!(
            matches!(report.events.first(), Some(SpeechEvent::SpeechStart { .. })),
            "{:?}",
            report.events
        );
        // The tail after speech is still judged (200 ms), then the hiss is skipped again.
        let hiss: Vec<Vec<i16>> = (0..50).map(|_| noise(-45.0, &mut seed)).collect();
        let (n, _) = judged(&mut det, hiss, &calls);
        assert_eq!(n, 10, "the 200 ms after speech are judged, the rest is not");
    }

    #[tokio::test]
    async fn energy_vad_reports_a_turn() {
        let (tx, mut rx) = spawn(
            VadChoice::Energy,
            SegmenterConfig::default(),
            false,
            Arc::default(),
        );
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
        let (tx, mut rx) = spawn(
            VadChoice::Energy,
            SegmenterConfig::default(),
            true,
            Arc::default(),
        );
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
