//! Silero VAD (v5/v6 `silero_vad.onnx`) at 8 kHz through ONNX Runtime.
//!
//! The model judges 256-sample (32 ms) windows at 8 kHz, each prefixed with the last 32 samples
//! of the previous window (the "context"; without it the probabilities are wrong), and carries
//! a recurrent state from window to window. Telephony frames are 160 samples, so frames are
//! buffered: [`Vad::process`] runs the model on every complete window and returns the newest
//! window's probability (the previous one until the first window completes).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::Tensor;

use super::{Vad, VadError};

const SAMPLE_RATE: i64 = 8_000;
const WINDOW: usize = 256;
const CONTEXT: usize = 32;
const STATE_LEN: usize = 2 * 128;

/// The loaded Silero model, shared by every call of a process.
///
/// The model keeps no state between windows (the recurrent state and the context go in and
/// out with each window, held by each [`SileroVad`]), so one loaded session serves any number
/// of streams. Loading one costs ~50 ms of CPU and ~10 MB; doing that per call was most of a
/// call's set-up cost and memory under load. A few sessions are kept so that windows of
/// different calls run in parallel on different threads.
pub struct SileroModel {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for SileroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroModel")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl SileroModel {
    /// Loads `silero_vad.onnx` into `sessions` sessions (at least one; about one per core is
    /// enough), starting ONNX Runtime from `ort_dylib` if it is not running.
    pub fn load(ort_dylib: &Path, model: &Path, sessions: usize) -> Result<Self, VadError> {
        let env = crate::onnx::environment(ort_dylib)?;
        let sessions = (0..sessions.max(1))
            .map(|_| {
                let session =
                    crate::onnx::session(&env, model, 1).map_err(|reason| VadError::Load {
                        path: model.to_path_buf(),
                        reason,
                    })?;
                let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
                for want in ["input", "state", "sr"] {
                    if !names.contains(&want) {
                        return Err(VadError::Load {
                            path: model.to_path_buf(),
                            reason: format!(
                                "not a Silero v5+ model: inputs are {names:?}, expected input/state/sr"
                            ),
                        });
                    }
                }
                Ok(Mutex::new(session))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            sessions,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a free session if there is one, else waits for one in round-robin order.
    fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut guard = (0..n)
            .find_map(|i| self.sessions[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| {
                self.sessions[start]
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
            });
        f(&mut guard)
    }
}

/// Silero VAD for one 8 kHz stream: its own recurrent state and context over a shared
/// [`SileroModel`] (inference ~0.1 ms per window on one thread).
pub struct SileroVad {
    model: Arc<SileroModel>,
    state: Vec<f32>,
    context: Vec<f32>,
    pending: Vec<f32>,
    last_prob: f32,
}

impl std::fmt::Debug for SileroVad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroVad")
            .field("last_prob", &self.last_prob)
            .finish_non_exhaustive()
    }
}

impl SileroVad {
    /// Loads `silero_vad.onnx` for this stream alone (one session), starting ONNX Runtime
    /// from `ort_dylib` if it is not running. Many streams: load a [`SileroModel`] once and
    /// use [`SileroVad::new`].
    pub fn load(ort_dylib: &Path, model: &Path) -> Result<Self, VadError> {
        Ok(Self::new(Arc::new(SileroModel::load(ort_dylib, model, 1)?)))
    }

    /// A stream over a loaded model (no loading: cheap).
    pub fn new(model: Arc<SileroModel>) -> Self {
        Self {
            model,
            state: vec![0.0; STATE_LEN],
            context: vec![0.0; CONTEXT],
            pending: Vec::with_capacity(WINDOW * 2),
            last_prob: 0.0,
        }
    }

    fn run_window(&mut self, window: &[f32]) -> Result<f32, VadError> {
        let err = |e: ort::Error| VadError::Inference(e.to_string());
        let mut x = Vec::with_capacity(CONTEXT + WINDOW);
        x.extend_from_slice(&self.context);
        x.extend_from_slice(window);
        self.context.copy_from_slice(&x[x.len() - CONTEXT..]);
        let input = Tensor::from_array(([1usize, CONTEXT + WINDOW], x)).map_err(err)?;
        let state = Tensor::from_array(([2usize, 1, 128], self.state.clone())).map_err(err)?;
        let sr = Tensor::from_array((Vec::<usize>::new(), vec![SAMPLE_RATE])).map_err(err)?;
        let next_state = &mut self.state;
        self.model.with_session(|session| {
            let out = session
                .run(ort::inputs!["input" => input, "state" => state, "sr" => sr])
                .map_err(err)?;
            let (_, prob) = out["output"].try_extract_tensor::<f32>().map_err(err)?;
            let p = prob
                .first()
                .copied()
                .ok_or_else(|| VadError::Inference("empty output".into()))?;
            let (_, new_state) = out["stateN"].try_extract_tensor::<f32>().map_err(err)?;
            if new_state.len() != STATE_LEN {
                return Err(VadError::Inference(format!(
                    "stateN has {} values, expected {STATE_LEN}",
                    new_state.len()
                )));
            }
            next_state.copy_from_slice(new_state);
            Ok(p)
        })
    }
}

impl Vad for SileroVad {
    fn process(&mut self, frame_8k: &[i16]) -> Result<f32, VadError> {
        self.pending
            .extend(frame_8k.iter().map(|&s| s as f32 / 32768.0));
        let mut consumed = 0;
        let pending = std::mem::take(&mut self.pending);
        let mut result = Ok(());
        while pending.len() - consumed >= WINDOW {
            match self.run_window(&pending[consumed..consumed + WINDOW]) {
                Ok(p) => self.last_prob = p,
                Err(e) => {
                    result = Err(e);
                    consumed += WINDOW; // drop the bad window rather than retrying it forever
                    break;
                }
            }
            consumed += WINDOW;
        }
        self.pending = pending;
        self.pending.drain(..consumed);
        result.map(|()| self.last_prob)
    }

    fn reset(&mut self) {
        self.state.iter_mut().for_each(|v| *v = 0.0);
        self.context.iter_mut().for_each(|v| *v = 0.0);
        self.pending.clear();
        self.last_prob = 0.0;
    }
}
