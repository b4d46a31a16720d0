//! Trimming the near-silence a synthesizer leaves around a sentence.
//!
//! Piper, espeak-ng and Edge TTS all start and end a sentence with some quiet audio: a few
//! milliseconds usually, but Piper has been seen to open a sentence with ≈ 277 ms of it, and
//! espeak-ng ends every sentence with ≈ 300 ms. Played as is, the caller hears dead air before
//! the bot's first word, and the first 20 ms frame of a reply is silence. [`trim_silence`] cuts
//! both ends down to a short pad: a few milliseconds before the first sound (so its onset is
//! not clipped), and a natural pause after the last one (the gap the caller hears before the
//! next sentence). Only the ends are touched: pauses inside the sentence stay as they are.
//!
//! "Near-silence" is measured in short windows by RMS level against an absolute floor
//! ([`TrimConfig::floor_dbfs`]), far below any speech sound that survives an 8-bit µ-law
//! phone line, so a soft consonant at a sentence's edge is kept.

use std::ops::Range;

use crate::tts::Pcm;
use crate::vad::level_dbfs;

/// What counts as near-silence, and how much of it is kept at each end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrimConfig {
    /// A window is sound when its RMS level is above this (dBFS).
    pub floor_dbfs: f32,
    /// Length (ms) of the windows the level is measured over.
    pub window_ms: u32,
    /// Near-silence kept before the first sound (ms): short, so a reply's first frame is
    /// audible, but enough that the onset is not cut.
    pub lead_ms: u32,
    /// Near-silence kept after the last sound (ms): the natural pause before the next
    /// sentence of a reply (sentences are played back to back).
    pub tail_ms: u32,
}

impl Default for TrimConfig {
    /// −50 dBFS in 5 ms windows; 5 ms kept before the first sound and 200 ms after the last.
    fn default() -> Self {
        Self {
            floor_dbfs: -50.0,
            window_ms: 5,
            lead_ms: 5,
            tail_ms: 200,
        }
    }
}

/// The samples of `samples` (at `sample_rate`) to keep: from just before the first window
/// above the floor to just after the last one, with the configured pads (bounded by the
/// audio itself). `None` when no window rises above the floor (all near-silence).
pub fn speech_span(samples: &[i16], sample_rate: u32, cfg: &TrimConfig) -> Option<Range<usize>> {
    let ms = |n: u32| (sample_rate as usize * n as usize) / 1000;
    let window = ms(cfg.window_ms).max(1);
    let loud = |chunk: &[i16]| level_dbfs(chunk) > cfg.floor_dbfs;
    let first = samples.chunks(window).position(loud)? * window;
    // The last window may be short; search from the end over the same grid.
    let last_window = samples
        .chunks(window)
        .enumerate()
        .rev()
        .find(|(_, chunk)| loud(chunk))
        .map(|(i, _)| i)?;
    let end = ((last_window + 1) * window).min(samples.len());
    let start = first.saturating_sub(ms(cfg.lead_ms));
    let end = (end + ms(cfg.tail_ms)).min(samples.len());
    Some(start..end)
}

/// `pcm` with its leading and trailing near-silence cut down to the configured pads; empty
/// when it is all near-silence (there is nothing to say, and nothing to wait for).
pub fn trim_silence(pcm: Pcm, cfg: &TrimConfig) -> Pcm {
    match speech_span(&pcm.samples, pcm.sample_rate, cfg) {
        Some(span) if span == (0..pcm.samples.len()) => pcm,
        Some(span) => Pcm {
            sample_rate: pcm.sample_rate,
            samples: pcm.samples[span].to_vec(),
        },
        None => Pcm {
            sample_rate: pcm.sample_rate,
            samples: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 8000;

    /// `ms` of a 300 Hz tone at `dbfs` (RMS).
    fn tone(ms: u32, dbfs: f32) -> Vec<i16> {
        let peak = 32768.0 * 10f32.powf(dbfs / 20.0) * std::f32::consts::SQRT_2;
        (0..RATE * ms / 1000)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                (peak * (t * 300.0 * std::f32::consts::TAU).sin()) as i16
            })
            .collect()
    }

    /// `ms` of hiss below the default floor (about −60 dBFS), or digital silence.
    fn quiet(ms: u32, hiss: bool) -> Vec<i16> {
        (0..RATE * ms / 1000)
            .map(|i| {
                if hiss {
                    [40, -40, 25, -25][i as usize % 4]
                } else {
                    0
                }
            })
            .collect()
    }

    fn pcm(parts: &[Vec<i16>]) -> Pcm {
        Pcm {
            sample_rate: RATE,
            samples: parts.concat(),
        }
    }

    fn samples(ms: u32) -> usize {
        (RATE * ms / 1000) as usize
    }

    #[test]
    fn long_leading_and_trailing_silence_is_cut_to_the_pads() {
        let cfg = TrimConfig::default();
        let speech = tone(400, -20.0);
        // 277 ms before the words (as Piper once did), 300 ms after (as espeak-ng does).
        let out = trim_silence(
            pcm(&[quiet(277, true), speech.clone(), quiet(300, false)]),
            &cfg,
        );
        let lead = out.samples.iter().position(|&s| s.abs() > 100).unwrap();
        assert!(lead <= samples(cfg.lead_ms + cfg.window_ms), "lead {lead}");
        assert!(
            lead >= samples(cfg.lead_ms) / 2,
            "a short pad is kept: {lead}"
        );
        let tail =
            out.samples.len() - 1 - out.samples.iter().rposition(|&s| s.abs() > 100).unwrap();
        assert!(
            (samples(cfg.tail_ms)..=samples(cfg.tail_ms + cfg.window_ms)).contains(&tail),
            "the pause after the sentence is kept: {tail}"
        );
        assert!(
            out.samples
                .windows(speech.len())
                .any(|w| w == speech.as_slice()),
            "the speech itself is untouched"
        );
    }

    #[test]
    fn the_floor_decides_what_is_near_silence() {
        let speech = tone(200, -20.0);
        let hiss = quiet(100, true);
        // Hiss at ~ -60 dBFS is near-silence for the default -50 dBFS floor...
        let cut = trim_silence(pcm(&[hiss.clone(), speech.clone()]), &TrimConfig::default());
        assert!(cut.samples.len() < speech.len() + samples(10));
        // ...but sound for a floor below it: then nothing is cut.
        let low = TrimConfig {
            floor_dbfs: -70.0,
            ..TrimConfig::default()
        };
        let kept = trim_silence(pcm(&[hiss.clone(), speech.clone()]), &low);
        assert_eq!(kept.samples.len(), hiss.len() + speech.len());
    }

    #[test]
    fn soft_edges_and_pauses_inside_the_sentence_are_never_trimmed() {
        let cfg = TrimConfig::default();
        // A soft onset (-40 dBFS, like an "h"), a word, a 250 ms pause, a soft ending.
        let inner = [
            tone(60, -40.0),
            tone(300, -15.0),
            quiet(250, false),
            tone(300, -15.0),
            tone(60, -45.0),
        ]
        .concat();
        let out = trim_silence(
            pcm(&[quiet(200, false), inner.clone(), quiet(50, false)]),
            &cfg,
        );
        assert!(
            out.samples
                .windows(inner.len())
                .any(|w| w == inner.as_slice()),
            "every sample of the sentence, its pause included, is kept"
        );
        // Only 50 ms followed the sentence: the tail pad cannot add audio that was not there.
        assert!(out.samples.len() <= inner.len() + samples(cfg.lead_ms) + samples(50));
    }

    #[test]
    fn audio_without_silence_comes_back_unchanged() {
        let speech = pcm(&[tone(500, -20.0)]);
        assert_eq!(trim_silence(speech.clone(), &TrimConfig::default()), speech);
    }

    #[test]
    fn all_silence_becomes_empty_audio() {
        let cfg = TrimConfig::default();
        assert!(
            trim_silence(pcm(&[quiet(500, false)]), &cfg)
                .samples
                .is_empty()
        );
        assert!(
            trim_silence(pcm(&[quiet(500, true)]), &cfg)
                .samples
                .is_empty()
        );
        assert!(trim_silence(pcm(&[]), &cfg).samples.is_empty());
        assert_eq!(speech_span(&quiet(300, true), RATE, &cfg), None);
    }

    #[test]
    fn the_span_is_measured_on_whole_windows_at_any_rate() {
        let cfg = TrimConfig::default();
        // 22.05 kHz (Piper's rate): 110-sample windows; the pads scale with the rate.
        let rate = 22_050;
        let mut samples = vec![0i16; 2205]; // 100 ms
        samples.extend(vec![3000i16; 2205]);
        samples.extend(vec![0i16; 22_050]); // 1 s
        let span = speech_span(&samples, rate, &cfg).unwrap();
        assert_eq!(span.start, 2200 - 110); // window-aligned onset, minus the 5 ms pad
        // The end of the window holding the last loud sample, plus the 200 ms pad.
        assert_eq!(span.end, 41 * 110 + 4410);
    }
}
