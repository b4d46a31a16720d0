//! Whisper's log-mel features, computed exactly as OpenAI's reference does.
//!
//! Why not ct2rs's own feature extractor: it normalizes every 10 ms frame by its own maximum
//! and leaves the padding at 0.0, whereas Whisper was trained on features normalized by the
//! maximum of the whole 30 s window, with the padding being the log-mel of digital silence.
//! Short phone utterances are mostly padding, so the difference matters most for exactly the
//! audio this crate sees.
//!
//! The recipe (`whisper/audio.py`): pad or trim the 16 kHz audio to 30 s; STFT with a periodic
//! Hann window of 400 samples, hop 160, centred (200 samples of reflection at each end); drop
//! the last frame (3000 frames); power spectrum; 80 Slaney-normalized mel filters (librosa's
//! `filters.mel(sr=16000, n_fft=400, n_mels=80)`); `log10(max(x, 1e-10))`; clamp everything to
//! at least `max - 8`; then `(x + 4) / 4`.

use std::f64::consts::PI;
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Whisper's input rate.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT size (25 ms).
pub const N_FFT: usize = 400;
/// Hop (10 ms).
pub const HOP: usize = 160;
/// Mel bands.
pub const N_MELS: usize = 80;
/// Samples in Whisper's fixed 30 s window.
pub const N_SAMPLES: usize = 30 * SAMPLE_RATE;
/// Feature frames in the window.
pub const N_FRAMES: usize = N_SAMPLES / HOP;

/// A reusable feature extractor (FFT plan, window and filter bank built once).
pub struct LogMel {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Per mel band, the first FFT bin with a non-zero weight and the weights from there
    /// (each band is one triangle, so this skips ~95% of a dense 80 × 201 product).
    filters: Vec<(usize, Vec<f32>)>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel").finish_non_exhaustive()
    }
}

impl Default for LogMel {
    fn default() -> Self {
        Self::new()
    }
}

impl LogMel {
    /// Plans the FFT and builds the window and filter bank.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        // torch.hann_window(400) is periodic: 0.5 - 0.5 cos(2πn/N).
        let window = (0..N_FFT)
            .map(|n| (0.5 - 0.5 * (2.0 * PI * n as f64 / N_FFT as f64).cos()) as f32)
            .collect();
        Self {
            fft,
            window,
            filters: sparse_rows(
                &mel_filters(SAMPLE_RATE as f64, N_FFT, N_MELS),
                N_FFT / 2 + 1,
            ),
        }
    }

    /// Features for up to 30 s of 16 kHz audio in [-1, 1] (longer input is cut at 30 s):
    /// `N_MELS × N_FRAMES` values, row-major (one row per mel band), ready for the encoder.
    pub fn compute(&self, audio: &[f32]) -> Vec<f32> {
        let n = audio.len().min(N_SAMPLES);
        // Padded to 30 s, then reflected by N_FFT/2 at both ends (torch.stft center=True).
        let half = N_FFT / 2;
        let mut padded = vec![0f32; N_SAMPLES + 2 * half];
        padded[half..half + n].copy_from_slice(&audio[..n]);
        for i in 0..half {
            padded[half - 1 - i] = padded[half + 1 + i];
            padded[half + N_SAMPLES + i] = padded[half + N_SAMPLES - 2 - i];
        }
        let bins = N_FFT / 2 + 1;
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; bins];
        let mut mel = vec![0f32; N_MELS * N_FRAMES];
        for frame in 0..N_FRAMES {
            let start = frame * HOP;
            let window = &padded[start..start + N_FFT];
            if window.iter().all(|&x| x == 0.0) {
                // Digital silence (the padding): every band is at the 1e-10 floor.
                for m in 0..N_MELS {
                    mel[m * N_FRAMES + frame] = -10.0;
                }
                continue;
            }
            for (k, x) in input.iter_mut().enumerate() {
                *x = padded[start + k] * self.window[k];
            }
            // The lengths are the plan's own, so this cannot fail.
            if self
                .fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .is_err()
            {
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, (first, weights)) in self.filters.iter().enumerate() {
                let e: f32 = weights
                    .iter()
                    .zip(&power[*first..])
                    .map(|(w, p)| w * p)
                    .sum();
                mel[m * N_FRAMES + frame] = e.max(1e-10).log10();
            }
        }
        let max = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = max - 8.0;
        for v in &mut mel {
            *v = (v.max(floor) + 4.0) / 4.0;
        }
        mel
    }
}

/// The non-zero span of each row of a dense `rows × bins` matrix.
fn sparse_rows(dense: &[f32], bins: usize) -> Vec<(usize, Vec<f32>)> {
    dense
        .chunks(bins)
        .map(|row| {
            let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
            let last = row.iter().rposition(|&w| w != 0.0).unwrap_or(0);
            (first, row[first..=last.max(first)].to_vec())
        })
        .collect()
}

/// Hz → mel on the Slaney scale (linear below 1 kHz, logarithmic above), as librosa's default.
fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// librosa `filters.mel(sr, n_fft, n_mels)` with its defaults (fmin 0, fmax sr/2, Slaney
/// scale and area normalization): triangles over the FFT bins, row-major.
fn mel_filters(sr: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|i| i as f64 * sr / 2.0 / (bins - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = vec![0f32; n_mels * bins];
    for m in 0..n_mels {
        let (left, centre, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (right - left);
        for (b, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            weights[m * bins + b] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_matches_librosa() {
        // librosa.hz_to_mel(1000) == 15; hz_to_mel(8000) = 15 + ln(8) / (ln(6.4) / 27)
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-9);
        assert!((hz_to_mel(8000.0) - 45.245_64).abs() < 1e-4);
        for hz in [0.0, 100.0, 999.0, 1000.0, 3000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
    }

    #[test]
    fn filter_bank_matches_whisper_shape_and_values() {
        let f = mel_filters(16_000.0, N_FFT, N_MELS);
        let bins = N_FFT / 2 + 1;
        assert_eq!(f.len(), N_MELS * bins);
        // Whisper's mel_filters.npz (librosa 0.8): row 0 peaks at bin 1 with 0.02486259;
        // row 79's last non-zero weights sit at the top bins.
        assert!((f[1] - 0.024_862_59).abs() < 1e-6, "{}", f[1]);
        assert_eq!(f[0], 0.0);
        let last = &f[79 * bins..];
        assert!(last[bins - 2] > 0.0);
        // Every row is a single non-negative triangle.
        for m in 0..N_MELS {
            let row = &f[m * bins..(m + 1) * bins];
            assert!(row.iter().all(|&w| w >= 0.0));
            assert!(row.iter().any(|&w| w > 0.0), "row {m} is empty");
        }
    }

    #[test]
    fn features_are_normalized_over_the_whole_window() {
        let mel = LogMel::new();
        let tone: Vec<f32> = (0..8_000)
            .map(|i| (2.0 * PI * 440.0 * i as f64 / 16_000.0).sin() as f32 * 0.5)
            .collect();
        let feats = mel.compute(&tone);
        assert_eq!(feats.len(), N_MELS * N_FRAMES);
        let max = feats.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let min = feats.iter().copied().fold(f32::INFINITY, f32::min);
        // (max + 4) / 4 at the top, and the floor is exactly 2 below it (8 in log10 units).
        assert!((max - min - 2.0).abs() < 1e-4, "max {max} min {min}");
        // The padding (silence after 0.5 s) sits on the floor; the tone's band is above it.
        let band_440 = (0..N_MELS)
            .max_by(|&a, &b| feats[a * N_FRAMES + 10].total_cmp(&feats[b * N_FRAMES + 10]))
            .unwrap();
        assert!(feats[band_440 * N_FRAMES + 10] > min + 1.0);
        assert!((feats[band_440 * N_FRAMES + 2_000] - min).abs() < 1e-6);
        // Silence alone: a flat floor, no NaN.
        let silent = mel.compute(&[]);
        assert!(silent.iter().all(|v| v.is_finite()));
    }
}
