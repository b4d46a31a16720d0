//! The model-free fallback VAD: frame energy against an adaptive noise floor.

use std::collections::VecDeque;

use super::{Vad, VadError};

/// Tuning for [`EnergyVad`]; the defaults suit an 8 kHz phone line.
#[derive(Debug, Clone)]
pub struct EnergyVadConfig {
    /// How far above the noise floor (dB) a frame must be to count as speech (p = 0.5).
    pub snr_db: f32,
    /// Width (dB) of the soft step from "noise" to "speech"; smaller is harder.
    pub softness_db: f32,
    /// Frames quieter than this (dBFS) are never speech, whatever the floor.
    pub min_speech_dbfs: f32,
    /// The floor's starting value (dBFS), used until the line has been heard.
    pub initial_floor_dbfs: f32,
    /// The floor is the quietest frame in this much recent audio ("minimum statistics").
    /// Speech has gaps between words far shorter than this, so the floor finds the noise in
    /// them; a steady noise becomes the floor after one window.
    pub floor_window_ms: u64,
}

impl Default for EnergyVadConfig {
    fn default() -> Self {
        Self {
            snr_db: 10.0,
            softness_db: 2.5,
            min_speech_dbfs: -50.0,
            initial_floor_dbfs: -60.0,
            floor_window_ms: 2_000,
        }
    }
}

/// Energy-based VAD: `p = sigmoid((level − floor − snr) / softness)`, with the floor the
/// quietest frame of the last `floor_window_ms`.
#[derive(Debug, Clone)]
pub struct EnergyVad {
    config: EnergyVadConfig,
    /// (level dBFS, duration ms) of recent frames, newest last, covering the window.
    history: VecDeque<(f32, u64)>,
    history_ms: u64,
}

impl EnergyVad {
    /// A detector with the given tuning.
    pub fn new(config: EnergyVadConfig) -> Self {
        Self {
            config,
            history: VecDeque::new(),
            history_ms: 0,
        }
    }

    /// The current noise floor estimate in dBFS (for logs and tuning).
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.history
            .iter()
            .map(|&(l, _)| l)
            .reduce(f32::min)
            .unwrap_or(self.config.initial_floor_dbfs)
    }
}

impl Default for EnergyVad {
    fn default() -> Self {
        Self::new(EnergyVadConfig::default())
    }
}

/// RMS level of a frame in dBFS (−100 for digital silence or an empty frame).
pub fn level_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return -100.0;
    }
    let sum: f64 = frame.iter().map(|&s| (s as f64) * (s as f64)).sum();
    let rms = (sum / frame.len() as f64).sqrt() / 32768.0;
    if rms <= 1e-5 {
        -100.0
    } else {
        (20.0 * rms.log10()) as f32
    }
}

impl Vad for EnergyVad {
    fn process(&mut self, frame_8k: &[i16]) -> Result<f32, VadError> {
        let level = level_dbfs(frame_8k);
        let floor = self.noise_floor_dbfs();
        let c = &self.config;
        let p = if level < c.min_speech_dbfs {
            0.0
        } else {
            let x = (level - floor - c.snr_db) / c.softness_db.max(0.1);
            1.0 / (1.0 + (-x).exp())
        };
        // Learn after judging, so a sudden loud frame is judged against the old floor.
        let ms = (frame_8k.len() as u64 * 1000).div_ceil(8_000).max(1);
        self.history.push_back((level, ms));
        self.history_ms += ms;
        while self.history_ms > c.floor_window_ms
            && let Some(&(_, old_ms)) = self.history.front()
            && self.history_ms - old_ms >= c.floor_window_ms
        {
            self.history.pop_front();
            self.history_ms -= old_ms;
        }
        Ok(p)
    }

    fn reset(&mut self) {
        self.history.clear();
        self.history_ms = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic white-ish noise (xorshift) at the given amplitude.
    fn noise(n: usize, amp: f32, seed: &mut u32) -> Vec<i16> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                let u = (*seed as f32 / u32::MAX as f32) * 2.0 - 1.0;
                (u * amp * 32767.0) as i16
            })
            .collect()
    }

    fn tone(n: usize, amp: f32, offset: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (amp * 32767.0
                    * (2.0 * std::f32::consts::PI * 220.0 * (i + offset) as f32 / 8000.0).sin())
                    as i16
            })
            .collect()
    }

    #[test]
    fn silence_is_not_speech() {
        let mut v = EnergyVad::default();
        for _ in 0..50 {
            assert_eq!(v.process(&[0; 160]).unwrap(), 0.0);
        }
    }

    #[test]
    fn steady_noise_is_learned_and_a_voice_above_it_is_speech() {
        let mut v = EnergyVad::default();
        let mut seed = 7;
        // 2 s of line noise at about -36 dBFS: above the absolute minimum, so only the floor
        // can reject it.
        let mut last = 1.0;
        for _ in 0..110 {
            last = v.process(&noise(160, 0.03, &mut seed)).unwrap();
        }
        assert!(
            last < 0.1,
            "noise still looks like speech: p={last} floor={}",
            v.noise_floor_dbfs()
        );
        // A voice-like tone 20 dB above the noise.
        let mut speech_frames = 0;
        for k in 0..50 {
            let mut f = tone(160, 0.3, k * 160);
            for (s, n) in f.iter_mut().zip(noise(160, 0.03, &mut seed)) {
                *s = s.saturating_add(n);
            }
            if v.process(&f).unwrap() > 0.5 {
                speech_frames += 1;
            }
        }
        assert_eq!(
            speech_frames, 50,
            "1 s of speech must not be absorbed into the floor"
        );
        // Back to noise: not speech again.
        let p = v.process(&noise(160, 0.03, &mut seed)).unwrap();
        assert!(p < 0.1, "p={p}");
    }

    #[test]
    fn reset_restores_initial_floor() {
        let mut v = EnergyVad::default();
        let mut seed = 3;
        for _ in 0..20 {
            v.process(&noise(160, 0.2, &mut seed)).unwrap();
        }
        assert!(v.noise_floor_dbfs() > -60.0);
        v.reset();
        assert_eq!(v.noise_floor_dbfs(), -60.0);
    }

    #[test]
    fn level_of_full_scale_square_is_zero_db() {
        let f: Vec<i16> = (0..160)
            .map(|i| if i % 2 == 0 { i16::MAX } else { -i16::MAX })
            .collect();
        assert!(level_dbfs(&f).abs() < 0.01);
        assert_eq!(level_dbfs(&[]), -100.0);
    }
}
