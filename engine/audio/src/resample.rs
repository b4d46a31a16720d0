//! Streaming sample-rate conversion over rubato's FFT resampler.
//!
//! Audio arrives in pieces of any size (a TTS sentence, a 20 ms telephony frame), but a
//! resampler that restarts per piece clicks at every boundary: its filter state and its
//! start-up delay would be reset each time. [`StreamResampler`] keeps one rubato resampler for
//! the whole stream, buffers input until a whole rubato chunk is available, trims the filter's
//! start-up delay once at the start of the stream and pumps it out at [`StreamResampler::flush`].
//! The concatenated output of any chunking is therefore bit-identical to resampling the whole
//! signal at once, and its length is `ceil(input_len × to / from)`.
//!
//! The rubato chunk is ~20 ms of input (rounded up to the smallest block the rate pair allows,
//! e.g. 441 samples for 22050 → 8000), which keeps the added latency to one chunk plus the
//! filter's half-block delay (~10 ms).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Why a resampler could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A rate of zero, or a pair rubato cannot handle.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: {reason}")]
    Construction {
        from_hz: u32,
        to_hz: u32,
        reason: String,
    },
    /// rubato rejected a buffer; this is a bug in this module, reported instead of panicking.
    #[error("resampling {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Process {
        from_hz: u32,
        to_hz: u32,
        reason: String,
    },
}

/// A PCM sample type the resampler accepts: 16-bit integers (telephony, Piper output) or f32
/// in [-1, 1].
pub trait PcmSample: Copy + Default {
    /// To f32 in [-1, 1).
    fn to_f32(self) -> f32;
    /// From f32, clamped to the type's range.
    fn from_f32(v: f32) -> Self;
}

impl PcmSample for i16 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32 / 32768.0
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16
    }
}

impl PcmSample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v
    }
}

/// One mono stream's resampler; see the module doc for the guarantees.
pub struct StreamResampler {
    from_hz: u32,
    to_hz: u32,
    /// `None` when the rates are equal: samples pass through unchanged.
    inner: Option<Inner>,
}

struct Inner {
    fft: Fft<f32>,
    /// Input not yet handed to rubato (less than one chunk).
    pending: Vec<f32>,
    /// Scratch for one chunk of output.
    out_buf: Vec<f32>,
    /// Output frames still to drop from the start of the stream (the filter delay).
    to_trim: usize,
    /// Input frames accepted since the stream (re)started.
    total_in: u64,
    /// Output frames emitted since the stream (re)started.
    total_out: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("from_hz", &self.from_hz)
            .field("to_hz", &self.to_hz)
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    /// A resampler for one mono stream from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        let construction = |reason: String| ResampleError::Construction {
            from_hz,
            to_hz,
            reason,
        };
        if from_hz == 0 || to_hz == 0 {
            return Err(construction("sample rates must be positive".into()));
        }
        if from_hz == to_hz {
            return Ok(Self {
                from_hz,
                to_hz,
                inner: None,
            });
        }
        let chunk = chunk_size(from_hz, to_hz);
        let fft = Fft::<f32>::new_custom(
            from_hz as usize,
            to_hz as usize,
            chunk,
            1,
            1,
            rubato::WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| construction(e.to_string()))?;
        let out_len = fft.output_frames_max();
        let to_trim = fft.output_delay();
        Ok(Self {
            from_hz,
            to_hz,
            inner: Some(Inner {
                fft,
                pending: Vec::with_capacity(chunk * 2),
                out_buf: vec![0.0; out_len],
                to_trim,
                total_in: 0,
                total_out: 0,
            }),
        })
    }

    /// Input rate in Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// Output rate in Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Feeds samples; returns whatever output is ready. Output lags input by at most one
    /// rubato chunk plus the filter delay, which [`flush`](Self::flush) releases.
    pub fn push<S: PcmSample>(&mut self, input: &[S]) -> Result<Vec<S>, ResampleError> {
        let (from_hz, to_hz) = (self.from_hz, self.to_hz);
        let Some(inner) = self.inner.as_mut() else {
            return Ok(input.to_vec());
        };
        inner.pending.extend(input.iter().map(|s| s.to_f32()));
        inner.total_in += input.len() as u64;
        let mut out =
            Vec::with_capacity((input.len() as u64 * to_hz as u64 / from_hz as u64) as usize + 16);
        let need = inner.fft.input_frames_next();
        let mut pending = std::mem::take(&mut inner.pending);
        let mut consumed = 0;
        let mut result = Ok(());
        while pending.len() - consumed >= need {
            result = inner.run(
                &pending[consumed..consumed + need],
                None,
                &mut out,
                (from_hz, to_hz),
            );
            if result.is_err() {
                break;
            }
            consumed += need;
        }
        pending.drain(..consumed);
        inner.pending = pending;
        result.map(|()| out)
    }

    /// Ends the stream: resamples the buffered tail, drains the filter delay, and returns the
    /// rest of the output, so the stream's total output is exactly `ceil(total_in × to/from)`
    /// samples. The resampler is then ready for a new, independent stream.
    pub fn flush<S: PcmSample>(&mut self) -> Result<Vec<S>, ResampleError> {
        let (from_hz, to_hz) = (self.from_hz, self.to_hz);
        let Some(inner) = self.inner.as_mut() else {
            return Ok(Vec::new());
        };
        let expected = (inner.total_in * to_hz as u64).div_ceil(from_hz as u64);
        let mut out = Vec::new();
        let need = inner.fft.input_frames_next();
        if !inner.pending.is_empty() {
            let mut chunk = std::mem::take(&mut inner.pending);
            let valid = chunk.len();
            chunk.resize(need, 0.0);
            inner.run(&chunk, Some(valid), &mut out, (from_hz, to_hz))?;
        }
        let zeros = vec![0.0f32; need];
        // Each pump yields a full chunk of output once the delay is trimmed, so this ends.
        while inner.total_out < expected {
            inner.run(&zeros, Some(0), &mut out, (from_hz, to_hz))?;
        }
        let excess = (inner.total_out - expected) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.reset();
        Ok(out)
    }

    /// Drops all buffered audio and filter state (e.g. on barge-in, when the rest of the
    /// sentence will never be played).
    pub fn reset(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.fft.reset();
            inner.pending.clear();
            inner.to_trim = inner.fft.output_delay();
            inner.total_in = 0;
            inner.total_out = 0;
        }
    }
}

impl Inner {
    /// Runs one rubato chunk and appends the (delay-trimmed) output.
    fn run<S: PcmSample>(
        &mut self,
        chunk: &[f32],
        partial: Option<usize>,
        out: &mut Vec<S>,
        (from_hz, to_hz): (u32, u32),
    ) -> Result<(), ResampleError> {
        let process = |reason: String| ResampleError::Process {
            from_hz,
            to_hz,
            reason,
        };
        let frames_in = chunk.len();
        let input =
            InterleavedSlice::new(chunk, 1, frames_in).map_err(|e| process(e.to_string()))?;
        let out_frames = self.out_buf.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_buf, 1, out_frames)
            .map_err(|e| process(e.to_string()))?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, produced) = self
            .fft
            .process_into_buffer(&input, &mut output, indexing.as_ref())
            .map_err(|e| process(e.to_string()))?;
        let skip = self.to_trim.min(produced);
        self.to_trim -= skip;
        let kept = &self.out_buf[skip..produced];
        self.total_out += kept.len() as u64;
        out.extend(kept.iter().map(|&v| S::from_f32(v)));
        Ok(())
    }
}

/// Resamples a whole clip in one go; the same result as pushing it in pieces and flushing.
pub fn resample<S: PcmSample>(
    input: &[S],
    from_hz: u32,
    to_hz: u32,
) -> Result<Vec<S>, ResampleError> {
    let mut r = StreamResampler::new(from_hz, to_hz)?;
    let mut out = r.push(input)?;
    out.extend(r.flush::<S>()?);
    Ok(out)
}

/// ~20 ms of input, rounded up to a whole number of the smallest FFT block the rate pair
/// allows (`from / gcd(from, to)`), and at least 64 samples so the anti-alias filter stays
/// sharp for pairs whose minimum block is tiny (8000 → 16000 has a block of 1).
fn chunk_size(from_hz: u32, to_hz: u32) -> usize {
    let g = gcd(from_hz, to_hz) as usize;
    let min_block = from_hz as usize / g;
    let target = (from_hz as usize / 50).max(64);
    target.div_ceil(min_block) * min_block
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use rubato::audioadapter_buffers::owned::InterleavedOwned;

    fn sine(freq: f32, rate: u32, n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Pushes `input` in the given repeating chunk sizes, then flushes.
    fn push_in_chunks<S: PcmSample>(
        r: &mut StreamResampler,
        input: &[S],
        sizes: &[usize],
    ) -> Vec<S> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < input.len() {
            let n = sizes[k % sizes.len()].min(input.len() - pos);
            out.extend(r.push(&input[pos..pos + n]).unwrap());
            pos += n;
            k += 1;
        }
        out.extend(r.flush::<S>().unwrap());
        out
    }

    #[test]
    fn chunked_equals_one_shot_and_rubato_process_all() {
        for (from, to) in [
            (22_050, 8_000),
            (8_000, 16_000),
            (24_000, 8_000),
            (16_000, 8_000),
        ] {
            let input = sine(440.0, from, from as usize * 7 / 10, 0.5);
            let mut r = StreamResampler::new(from, to).unwrap();
            let chunked = push_in_chunks(&mut r, &input, &[1, 37, 160, 999, 3]);
            let whole = resample(&input, from, to).unwrap();
            assert_eq!(chunked.len(), whole.len(), "{from}->{to}");
            for (i, (a, b)) in chunked.iter().zip(&whole).enumerate() {
                assert!((a - b).abs() < 1e-6, "{from}->{to} sample {i}: {a} vs {b}");
            }
            // rubato's own whole-clip path, with the same parameters, as an independent oracle.
            let mut fft = Fft::<f32>::new_custom(
                from as usize,
                to as usize,
                chunk_size(from, to),
                1,
                1,
                rubato::WindowFunction::BlackmanHarris2,
                FixedSync::Input,
            )
            .unwrap();
            let buf = InterleavedOwned::new_from(input.clone(), 1, input.len()).unwrap();
            let reference = fft
                .process_all(&buf, input.len(), None)
                .unwrap()
                .take_data();
            assert_eq!(reference.len(), whole.len());
            for (a, b) in reference.iter().zip(&whole) {
                assert!((a - b).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn output_length_follows_the_ratio_exactly() {
        for (from, to, n) in [
            (22_050u32, 8_000u32, 22_050usize),
            (22_050, 8_000, 1),
            (8_000, 16_000, 161),
            (24_000, 8_000, 4_801),
        ] {
            let input = vec![0i16; n];
            let out = resample(&input, from, to).unwrap();
            assert_eq!(
                out.len() as u64,
                (n as u64 * to as u64).div_ceil(from as u64),
                "{from}->{to} n={n}"
            );
        }
    }

    #[test]
    fn no_discontinuities_at_chunk_boundaries() {
        // A 300 Hz tone resampled 22050 -> 8000 in telephony-sized odd chunks must match the
        // ideal 8 kHz tone (after the same delay-free alignment) everywhere away from the ends.
        let (from, to) = (22_050, 8_000);
        let input: Vec<i16> = sine(300.0, from, from as usize, 0.6)
            .into_iter()
            .map(i16::from_f32)
            .collect();
        let mut r = StreamResampler::new(from, to).unwrap();
        let out = push_in_chunks(&mut r, &input, &[173, 441, 7, 882]);
        // rubato's FFT filter leaves a constant sub-sample delay for this pair (~0.2 samples,
        // 25 µs: inaudible); fit it, then demand the tone everywhere. A click or a dropped or
        // repeated sample at a chunk boundary would show up as a local error far above 0.01.
        let edge = 200;
        let max_err_at = |shift: f32| {
            (edge..out.len() - edge)
                .map(|i| {
                    let t = (i as f32 + shift) / to as f32;
                    (out[i].to_f32() - 0.6 * (2.0 * std::f32::consts::PI * 300.0 * t).sin()).abs()
                })
                .fold(0.0f32, f32::max)
        };
        let max_err = (-10..=10)
            .map(|k| max_err_at(k as f32 * 0.05))
            .fold(f32::INFINITY, f32::min);
        assert!(
            max_err < 0.01,
            "max deviation from the ideal tone: {max_err}"
        );
        // And no sample-to-sample jump larger than the tone's own steepest slope allows.
        let max_step = 2.0 * std::f32::consts::PI * 300.0 / to as f32 * 0.6 * 1.05 + 2.0 / 32768.0;
        for i in edge..out.len() - edge {
            let d = (out[i].to_f32() - out[i - 1].to_f32()).abs();
            assert!(d <= max_step, "jump {d} at {i} exceeds {max_step}");
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut r = StreamResampler::new(8_000, 8_000).unwrap();
        assert_eq!(r.push(&[1i16, 2, 3]).unwrap(), vec![1, 2, 3]);
        assert!(r.flush::<i16>().unwrap().is_empty());
    }

    #[test]
    fn zero_rate_is_an_error() {
        let err = StreamResampler::new(0, 8_000).unwrap_err();
        assert!(err.to_string().contains("0 Hz"), "{err}");
    }

    #[test]
    fn flush_starts_a_fresh_stream() {
        let input = sine(1_000.0, 8_000, 800, 0.3);
        let mut r = StreamResampler::new(8_000, 16_000).unwrap();
        let first = push_in_chunks(&mut r, &input, &[160]);
        let second = push_in_chunks(&mut r, &input, &[160]);
        assert_eq!(first, second);
    }

    #[test]
    fn i16_conversion_clamps() {
        assert_eq!(i16::from_f32(2.0), i16::MAX);
        assert_eq!(i16::from_f32(-2.0), i16::MIN);
        assert_eq!(i16::from_f32(0.0), 0);
    }
}
