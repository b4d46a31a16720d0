//! Plivo's playback queue, as the simulator models it: `playAudio` appends, the line drains
//! 160 bytes (20 ms) per tick at real time, a `checkpoint` is acked once everything queued
//! before it has drained, `clearAudio` empties the queue and drops pending checkpoints
//! (protocols §1.10 WS side, points 3–5). Pure: the caller drives [`Playout::tick`].

use std::collections::VecDeque;

use vartalaap_audio::mulaw;

/// Bytes of µ-law per 20 ms at 8 kHz.
pub const FRAME_BYTES: usize = 160;
/// Plivo's playback buffer (~40 s per its best-practices page); audio beyond it is dropped.
pub const MAX_QUEUED_BYTES: usize = 40 * 8000;

#[derive(Debug)]
enum Item {
    Audio(Vec<u8>),
    Checkpoint(String),
}

/// What one 20 ms tick played.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// The µ-law bytes the caller heard this tick (always [`FRAME_BYTES`]; silence when idle).
    pub heard: Vec<u8>,
    /// Whether any of that was bot audio.
    pub bot_audible: bool,
    /// Checkpoints reached this tick: send `playedStream` for each, in order.
    pub played: Vec<String>,
}

/// The queue of bot audio and checkpoints not yet played.
#[derive(Debug, Default)]
pub struct Playout {
    items: VecDeque<Item>,
    /// Bytes of the front `Audio` item already played.
    front_offset: usize,
    queued_bytes: usize,
    /// Audio bytes dropped because the queue was full.
    pub overflow_bytes: usize,
}

impl Playout {
    pub fn new() -> Self {
        Self::default()
    }

    /// `playAudio`: queues audio (dropping what does not fit in Plivo's buffer).
    pub fn push_audio(&mut self, mulaw: Vec<u8>) {
        let room = MAX_QUEUED_BYTES.saturating_sub(self.queued_bytes);
        let mut mulaw = mulaw;
        if mulaw.len() > room {
            self.overflow_bytes += mulaw.len() - room;
            mulaw.truncate(room);
        }
        if mulaw.is_empty() {
            return;
        }
        self.queued_bytes += mulaw.len();
        self.items.push_back(Item::Audio(mulaw));
    }

    /// `checkpoint{name}`.
    pub fn push_checkpoint(&mut self, name: String) {
        self.items.push_back(Item::Checkpoint(name));
    }

    /// `clearAudio`: everything queued is gone, checkpoints included (they will never be acked).
    /// Returns how many bytes of audio were dropped.
    pub fn clear(&mut self) -> usize {
        let dropped = self.queued_bytes;
        self.items.clear();
        self.front_offset = 0;
        self.queued_bytes = 0;
        dropped
    }

    /// Audio still queued.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether nothing (audio or checkpoint) is queued.
    pub fn is_idle(&self) -> bool {
        self.items.is_empty()
    }

    /// Plays the next 20 ms.
    pub fn tick(&mut self) -> Tick {
        let mut tick = Tick {
            heard: Vec::with_capacity(FRAME_BYTES),
            ..Tick::default()
        };
        // Checkpoints at the front were reached by the previous tick's audio (or immediately).
        self.take_checkpoints(&mut tick.played);
        while tick.heard.len() < FRAME_BYTES {
            let Some(Item::Audio(buf)) = self.items.front() else {
                break;
            };
            let want = FRAME_BYTES - tick.heard.len();
            let end = (self.front_offset + want).min(buf.len());
            tick.heard.extend_from_slice(&buf[self.front_offset..end]);
            self.queued_bytes -= end - self.front_offset;
            tick.bot_audible = true;
            if end == buf.len() {
                self.items.pop_front();
                self.front_offset = 0;
                // A checkpoint right behind this audio is reached once the tick's audio plays;
                // report it on this tick (the frame has been "played" when the tick ends).
                self.take_checkpoints(&mut tick.played);
            } else {
                self.front_offset = end;
            }
        }
        tick.heard.resize(FRAME_BYTES, mulaw::SILENCE);
        tick
    }

    fn take_checkpoints(&mut self, out: &mut Vec<String>) {
        while let Some(Item::Checkpoint(_)) = self.items.front() {
            if let Some(Item::Checkpoint(name)) = self.items.pop_front() {
                out.push(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_drains_at_one_frame_per_tick_and_checkpoints_follow_it() {
        let mut p = Playout::new();
        p.push_audio(vec![1; 400]); // 2.5 frames
        p.push_checkpoint("a".into());
        p.push_audio(vec![2; 160]);
        p.push_checkpoint("b".into());

        let t1 = p.tick();
        assert_eq!(t1.heard, vec![1; 160]);
        assert!(t1.bot_audible && t1.played.is_empty());
        let t2 = p.tick();
        assert!(t2.played.is_empty());
        // Third tick: the last 80 bytes of the first clip finish (checkpoint a reached), then
        // 80 bytes of the second clip.
        let t3 = p.tick();
        assert_eq!(&t3.heard[..80], &[1; 80]);
        assert_eq!(&t3.heard[80..], &[2; 80]);
        assert_eq!(t3.played, vec!["a"]);
        let t4 = p.tick();
        assert_eq!(&t4.heard[..80], &[2; 80]);
        assert_eq!(&t4.heard[80..], &[mulaw::SILENCE; 80]);
        assert_eq!(t4.played, vec!["b"]);
        assert!(p.is_idle());
        let idle = p.tick();
        assert!(!idle.bot_audible);
        assert_eq!(idle.heard, vec![mulaw::SILENCE; 160]);
    }

    #[test]
    fn checkpoint_on_an_empty_queue_is_acked_at_the_next_tick() {
        let mut p = Playout::new();
        p.push_checkpoint("now".into());
        assert_eq!(p.tick().played, vec!["now"]);
    }

    #[test]
    fn clear_drops_audio_and_pending_checkpoints() {
        let mut p = Playout::new();
        p.push_audio(vec![1; 1600]);
        p.push_checkpoint("never".into());
        p.tick();
        assert_eq!(p.clear(), 1440);
        assert!(p.is_idle());
        let t = p.tick();
        assert!(t.played.is_empty() && !t.bot_audible);
    }

    #[test]
    fn overflow_beyond_forty_seconds_is_dropped_and_counted() {
        let mut p = Playout::new();
        p.push_audio(vec![1; MAX_QUEUED_BYTES - 100]);
        p.push_audio(vec![1; 300]);
        assert_eq!(p.queued_bytes(), MAX_QUEUED_BYTES);
        assert_eq!(p.overflow_bytes, 200);
    }
}
