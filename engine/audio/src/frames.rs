//! Cutting audio into exact 20 ms telephony frames, and pacing them at real time.
//!
//! Plivo plays whatever it is sent, as fast as it is sent. If a whole TTS sentence were sent at
//! once, a `clearAudio` on barge-in would have seconds of queued audio to discard and the caller
//! would hear the bot talk over them until it arrived. Sending one 20 ms frame when it is due
//! (plus a small lead to absorb jitter) bounds what is queued on the far side, so the bot goes
//! quiet within a frame or two. [`Framer`] cuts; [`Pacer`] says when each frame is due. Both are
//! pure: the caller owns the clock and passes instants in.

use std::time::{Duration, Instant};

/// Samples in one 20 ms frame at 8 kHz, the telephony frame.
pub const FRAME_SAMPLES_8K: usize = 160;

/// One frame's duration.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Cuts a stream of samples (PCM16 or µ-law bytes) into fixed-size frames, carrying any
/// remainder over to the next push so no sample is dropped or duplicated.
#[derive(Debug, Clone)]
pub struct Framer<T> {
    frame_len: usize,
    pending: Vec<T>,
}

impl<T: Copy> Framer<T> {
    /// A framer for `frame_len`-sample frames (at least 1).
    pub fn new(frame_len: usize) -> Self {
        let frame_len = frame_len.max(1);
        Self {
            frame_len,
            pending: Vec::with_capacity(frame_len),
        }
    }

    /// A framer for 20 ms at 8 kHz.
    pub fn telephony() -> Self {
        Self::new(FRAME_SAMPLES_8K)
    }

    /// Frame length in samples.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Samples waiting for the rest of their frame.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Appends samples and returns every frame now complete, in order.
    pub fn push(&mut self, data: &[T]) -> Vec<Vec<T>> {
        let mut frames = Vec::with_capacity((self.pending.len() + data.len()) / self.frame_len);
        let mut rest = data;
        if !self.pending.is_empty() {
            let take = (self.frame_len - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.frame_len {
                frames.push(std::mem::replace(
                    &mut self.pending,
                    Vec::with_capacity(self.frame_len),
                ));
            }
        }
        let mut chunks = rest.chunks_exact(self.frame_len);
        frames.extend(chunks.by_ref().map(<[T]>::to_vec));
        self.pending.extend_from_slice(chunks.remainder());
        frames
    }

    /// Ends the stream: returns the last partial frame padded with `fill` (PCM 0, or
    /// [`crate::mulaw::SILENCE`]), or `None` if nothing was pending.
    pub fn flush_padded(&mut self, fill: T) -> Option<Vec<T>> {
        if self.pending.is_empty() {
            return None;
        }
        let mut last = std::mem::replace(&mut self.pending, Vec::with_capacity(self.frame_len));
        last.resize(self.frame_len, fill);
        Some(last)
    }

    /// Discards pending samples (barge-in: the rest will never be played).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

/// Real-time schedule for a run of frames that started at `start`.
///
/// Frame `i` is due at `start + i × frame − lead`: the sender may run `lead` ahead of real
/// time so network jitter does not starve the far side, but never more, so a `clearAudio`
/// discards at most `lead` + one frame of audio.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    frame: Duration,
    lead: Duration,
}

impl Pacer {
    /// Frames of `frame` duration from `start`, sent up to `lead` early.
    pub fn new(start: Instant, frame: Duration, lead: Duration) -> Self {
        Self { start, frame, lead }
    }

    /// 20 ms frames with a 40 ms lead: two frames queued at the far side at most.
    pub fn telephony(start: Instant) -> Self {
        Self::new(start, FRAME_DURATION, FRAME_DURATION * 2)
    }

    /// When frame `index` (0-based) may be sent.
    pub fn due(&self, index: u64) -> Instant {
        let offset = self.frame_offset(index);
        match offset.checked_sub(self.lead) {
            Some(d) => self.start + d,
            None => self.start,
        }
    }

    /// How long to wait at `now` before sending frame `index` (zero if it is due or late).
    pub fn wait(&self, index: u64, now: Instant) -> Duration {
        self.due(index).saturating_duration_since(now)
    }

    /// How many frames (from index 0) may have been sent by `now`; a sender that has sent
    /// fewer is behind and may send the difference at once.
    pub fn frames_due_by(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start) + self.lead;
        let frame_ns = self.frame.as_nanos().max(1);
        (elapsed.as_nanos() / frame_ns) as u64 + 1
    }

    /// How much audio, played from `start` at real time, the far side has played by `now`
    /// given `sent` frames: what the caller actually heard, if nothing was lost.
    pub fn played_by(&self, sent: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.start);
        elapsed.min(self.frame_offset(sent))
    }

    fn frame_offset(&self, index: u64) -> Duration {
        // Saturate instead of overflowing for absurd indexes.
        let ns = self.frame.as_nanos().saturating_mul(index as u128);
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_exact_and_remainders_carry_over() {
        let input: Vec<i16> = (0..1000).collect();
        let mut f = Framer::telephony();
        let mut frames = Vec::new();
        for piece in [
            &input[..7],
            &input[7..160],
            &input[160..161],
            &input[161..700],
            &input[700..],
        ] {
            frames.extend(f.push(piece));
        }
        assert_eq!(frames.len(), 6);
        assert!(frames.iter().all(|fr| fr.len() == 160));
        let flat: Vec<i16> = frames.concat();
        assert_eq!(flat, input[..960]);
        assert_eq!(f.pending_len(), 40);
        let last = f.flush_padded(0).unwrap();
        assert_eq!(&last[..40], &input[960..]);
        assert!(last[40..].iter().all(|&s| s == 0));
        assert_eq!(f.flush_padded(0), None);
    }

    #[test]
    fn mulaw_bytes_frame_too() {
        let mut f = Framer::<u8>::telephony();
        assert!(f.push(&[1; 100]).is_empty());
        let frames = f.push(&[2; 300]);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0][..100], [1; 100]);
        assert_eq!(frames[0][100..], [2; 60]);
        let tail = f.flush_padded(crate::mulaw::SILENCE).unwrap();
        assert_eq!(tail[..80], [2; 80]);
        assert_eq!(tail[80..], [0xFF; 80]);
    }

    #[test]
    fn clear_drops_the_remainder() {
        let mut f = Framer::<i16>::new(4);
        f.push(&[1, 2, 3]);
        f.clear();
        assert_eq!(f.push(&[5, 6, 7, 8]), vec![vec![5, 6, 7, 8]]);
    }

    #[test]
    fn pacer_schedule() {
        let t0 = Instant::now();
        let p = Pacer::telephony(t0);
        // The first three frames (the 40 ms lead) are due at once.
        assert_eq!(p.due(0), t0);
        assert_eq!(p.due(2), t0);
        assert_eq!(p.due(3), t0 + Duration::from_millis(20));
        assert_eq!(p.due(50), t0 + Duration::from_millis(960));
        assert_eq!(
            p.wait(3, t0 + Duration::from_millis(5)),
            Duration::from_millis(15)
        );
        assert_eq!(p.wait(3, t0 + Duration::from_millis(500)), Duration::ZERO);
        assert_eq!(p.frames_due_by(t0), 3);
        assert_eq!(p.frames_due_by(t0 + Duration::from_millis(19)), 3);
        assert_eq!(p.frames_due_by(t0 + Duration::from_millis(20)), 4);
        assert_eq!(p.frames_due_by(t0 + Duration::from_secs(1)), 53);
        // played: bounded by both elapsed time and what was sent
        assert_eq!(
            p.played_by(10, t0 + Duration::from_millis(100)),
            Duration::from_millis(100)
        );
        assert_eq!(
            p.played_by(2, t0 + Duration::from_millis(100)),
            Duration::from_millis(40)
        );
        // consistency: a frame is allowed exactly when frames_due_by counts it
        for ms in (0..2000).step_by(3) {
            let now = t0 + Duration::from_millis(ms);
            let n = p.frames_due_by(now);
            assert!(p.due(n - 1) <= now);
            assert!(p.due(n) > now);
        }
    }

    #[test]
    fn pacer_without_lead_and_huge_index() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, FRAME_DURATION, Duration::ZERO);
        assert_eq!(p.due(1), t0 + FRAME_DURATION);
        assert_eq!(p.frames_due_by(t0), 1);
        // Must not panic on overflow.
        let _ = p.frame_offset(u64::MAX);
    }
}
