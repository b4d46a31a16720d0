//! What the caller actually heard of the bot's reply.
//!
//! Sending audio is not the same as the caller hearing it: Plivo queues up to a minute of
//! `playAudio`, and a barge-in (`clearAudio`) throws away whatever has not played yet. If the
//! engine remembered the whole reply it would believe the caller heard things they never did
//! ("…and your table is confirmed" cut off mid-way). So each sentence of a reply is followed by a
//! `checkpoint`, and Plivo's `playedStream` ack marks that sentence as heard.
//!
//! [`PlaybackTracker`] is the pure bookkeeping for that (sans-I/O, time passed in):
//!
//! ```text
//! start_reply()            new reply; forgets the previous one
//! push_sentence(text)      the following frames belong to this sentence
//! frame_sent(now) × N      each 20 ms playAudio frame as it goes out
//! end_sentence() -> name   send {"event":"checkpoint","name":name} after the last frame
//! on_played(name, now)     Plivo's playedStream: that sentence (and all before it) was heard
//! barge_in(now) -> Heard   we send clearAudio: the reply cut to what was heard
//! ```
//!
//! **What counts as heard at a barge-in:** every sentence whose checkpoint was acked, in full;
//! then the first un-acked sentence in proportion to how long it has been playing (it starts when
//! the previous sentence's ack arrived, or when its own first frame was sent if that is later,
//! and plays at real time), cut down to whole words; nothing after it. Acks are authoritative;
//! the estimate only fills in the sentence the caller interrupted.

use std::time::{Duration, Instant};

/// Audio per `playAudio` frame.
pub const FRAME: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
struct Sentence {
    text: String,
    checkpoint: String,
    frames: u64,
    first_frame_at: Option<Instant>,
    /// The checkpoint was sent (the sentence's audio is complete).
    closed: bool,
    acked_at: Option<Instant>,
}

impl Sentence {
    /// The sentence's audio length (frames sent so far).
    fn duration(&self) -> Duration {
        FRAME * u32::try_from(self.frames).unwrap_or(u32::MAX)
    }
}

/// The reply as heard, returned by [`PlaybackTracker::barge_in`] and
/// [`PlaybackTracker::finished_reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// What the caller heard: this is what the conversation history should remember.
    pub text: String,
    /// Everything the bot meant to say in this reply.
    pub full_text: String,
    /// Sentences heard in full (acked).
    pub sentences_heard: usize,
    /// Whether the reply was cut short.
    pub interrupted: bool,
    /// How much of the reply's audio the caller heard: the acked sentences in full, plus the
    /// part of the interrupted sentence that had played.
    pub played: Duration,
}

/// Tracks one reply at a time; see the module docs for the call sequence.
#[derive(Debug, Default)]
pub struct PlaybackTracker {
    reply_id: u64,
    sentences: Vec<Sentence>,
    /// `end_reply` was called: no more sentences will come.
    ended: bool,
    /// A `clearAudio` went out and `clearedAudio` has not come back yet.
    clear_pending: bool,
}

impl PlaybackTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a new reply. Checkpoint names carry the reply number, so late acks for an older
    /// reply are recognized and ignored.
    pub fn start_reply(&mut self) {
        self.reply_id += 1;
        self.sentences.clear();
        self.ended = false;
    }

    /// Starts a sentence; the frames sent next belong to it. Returns its checkpoint name.
    pub fn push_sentence(&mut self, text: &str) -> String {
        if let Some(last) = self.sentences.last_mut() {
            last.closed = true;
        }
        let checkpoint = format!("r{}-s{}", self.reply_id, self.sentences.len());
        self.sentences.push(Sentence {
            text: text.trim().to_string(),
            checkpoint: checkpoint.clone(),
            frames: 0,
            first_frame_at: None,
            closed: false,
            acked_at: None,
        });
        checkpoint
    }

    /// Records one 20 ms frame of the current sentence going out at `now`.
    pub fn frame_sent(&mut self, now: Instant) {
        if let Some(s) = self.sentences.last_mut() {
            s.frames += 1;
            s.first_frame_at.get_or_insert(now);
        }
    }

    /// Ends the current sentence; returns the checkpoint name to send now, if there is one.
    pub fn end_sentence(&mut self) -> Option<String> {
        let s = self.sentences.last_mut()?;
        s.closed = true;
        Some(s.checkpoint.clone())
    }

    /// No more sentences in this reply (the LLM stream is done).
    pub fn end_reply(&mut self) {
        self.ended = true;
        if let Some(s) = self.sentences.last_mut() {
            s.closed = true;
        }
    }

    /// Plivo's `playedStream{name}`. Audio plays in order, so every earlier sentence is heard
    /// too. Returns false for names this reply did not issue (late acks after a barge-in).
    pub fn on_played(&mut self, name: &str, now: Instant) -> bool {
        let Some(idx) = self.sentences.iter().position(|s| s.checkpoint == name) else {
            return false;
        };
        for s in &mut self.sentences[..=idx] {
            s.acked_at.get_or_insert(now);
        }
        true
    }

    /// Whether the bot is audible: audio was sent that has not been acked yet. Barge-in
    /// detection only cuts the bot off while this is true.
    pub fn is_speaking(&self) -> bool {
        !self.clear_pending
            && self
                .sentences
                .iter()
                .any(|s| s.frames > 0 && s.acked_at.is_none())
    }

    /// Whether a `clearAudio` is still waiting for `clearedAudio`.
    pub fn clear_pending(&self) -> bool {
        self.clear_pending
    }

    /// Plivo's `clearedAudio`: the queue is empty.
    pub fn on_cleared(&mut self) {
        self.clear_pending = false;
    }

    /// Audio of the current reply sent so far (every frame, heard or not).
    pub fn sent_audio(&self) -> Duration {
        self.sentences.iter().map(Sentence::duration).sum()
    }

    /// The whole reply, once it has ended and its last checkpoint is acked.
    pub fn finished_reply(&self) -> Option<Heard> {
        let done = self.ended
            && !self.sentences.is_empty()
            && self.sentences.iter().all(|s| s.acked_at.is_some());
        done.then(|| Heard {
            text: join(self.sentences.iter().map(|s| s.text.as_str())),
            full_text: self.full_text(),
            sentences_heard: self.sentences.len(),
            interrupted: false,
            played: self.sentences.iter().map(Sentence::duration).sum(),
        })
    }

    fn full_text(&self) -> String {
        join(self.sentences.iter().map(|s| s.text.as_str()))
    }

    /// The caller barged in and we are sending `clearAudio` at `now`: returns the reply cut to
    /// what was heard and forgets the reply (later acks for it are ignored).
    pub fn barge_in(&mut self, now: Instant) -> Heard {
        let mut heard: Vec<String> = Vec::new();
        let mut sentences_heard = 0;
        let mut played_total = Duration::ZERO;
        let mut cursor: Option<Instant> = None;
        for s in &self.sentences {
            if let Some(acked) = s.acked_at {
                heard.push(s.text.clone());
                sentences_heard += 1;
                played_total += s.duration();
                cursor = Some(acked);
                continue;
            }
            let Some(first) = s.first_frame_at else { break };
            let start = cursor.map_or(first, |c| c.max(first));
            let duration = s.duration();
            let played = now.saturating_duration_since(start).min(duration);
            played_total += played;
            let words: Vec<&str> = s.text.split_whitespace().collect();
            let n = if duration.is_zero() {
                0
            } else {
                (words.len() as u128 * played.as_millis() / duration.as_millis()) as usize
            };
            if n > 0 {
                heard.push(words[..n].join(" "));
            }
            break;
        }
        let result = Heard {
            text: heard.join(" "),
            full_text: self.full_text(),
            sentences_heard,
            interrupted: sentences_heard < self.sentences.len() || !self.ended,
            played: played_total,
        };
        self.sentences.clear();
        self.ended = true;
        self.clear_pending = true;
        self.reply_id += 1;
        result
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Sends `frames` frames of a sentence back to back starting at `at` (bursty, like a
    /// synthesized sentence), returning its checkpoint.
    fn send(t: &mut PlaybackTracker, text: &str, frames: u64, at: Instant) -> String {
        let name = t.push_sentence(text);
        for _ in 0..frames {
            t.frame_sent(at);
        }
        assert_eq!(t.end_sentence().as_deref(), Some(name.as_str()));
        name
    }

    #[test]
    fn a_reply_heard_to_the_end() {
        let t0 = Instant::now();
        let mut t = PlaybackTracker::new();
        t.start_reply();
        let a = send(&mut t, "Namaste!", 50, t0);
        let b = send(&mut t, "Aapki table book ho gayi hai.", 100, t0 + ms(100));
        t.end_reply();
        assert!(t.is_speaking());
        assert!(t.on_played(&a, t0 + ms(1000)));
        assert!(t.finished_reply().is_none());
        assert!(t.on_played(&b, t0 + ms(3000)));
        assert!(!t.is_speaking());
        let heard = t.finished_reply().unwrap();
        assert_eq!(heard.text, "Namaste! Aapki table book ho gayi hai.");
        assert_eq!(heard.text, heard.full_text);
        assert!(!heard.interrupted);
        // 150 frames of 20 ms.
        assert_eq!(heard.played, ms(3000));
        assert_eq!(t.sent_audio(), ms(3000));
    }

    #[test]
    fn barge_in_keeps_acked_sentences_and_a_proportional_part_of_the_next() {
        let t0 = Instant::now();
        let mut t = PlaybackTracker::new();
        t.start_reply();
        let a = send(&mut t, "Table for four at eight.", 100, t0);
        // Second sentence: 10 words, 200 frames = 4 s of audio.
        send(
            &mut t,
            "one two three four five six seven eight nine ten",
            200,
            t0 + ms(500),
        );
        send(&mut t, "Anything else?", 50, t0 + ms(900));
        t.end_reply();
        t.on_played(&a, t0 + ms(2000));
        // 1.2 s into the 4 s second sentence → 3 of its 10 words.
        let heard = t.barge_in(t0 + ms(3200));
        assert_eq!(heard.text, "Table for four at eight. one two three");
        assert_eq!(heard.sentences_heard, 1);
        assert!(heard.interrupted);
        // The first sentence's 2 s, then 1.2 s of the second.
        assert_eq!(heard.played, ms(3200));
        assert_eq!(
            heard.full_text,
            "Table for four at eight. one two three four five six seven eight nine ten Anything else?"
        );
        assert!(t.clear_pending());
        assert!(!t.is_speaking());
        t.on_cleared();
        assert!(!t.clear_pending());
    }

    #[test]
    fn barge_in_before_anything_played_hears_nothing_and_late_acks_are_ignored() {
        let t0 = Instant::now();
        let mut t = PlaybackTracker::new();
        t.start_reply();
        let a = send(&mut t, "Hello there.", 50, t0);
        let heard = t.barge_in(t0);
        assert_eq!(heard.text, "");
        assert_eq!(heard.played, Duration::ZERO);
        assert_eq!(heard.sentences_heard, 0);
        assert!(heard.interrupted);
        // The ack for the cleared reply arrives late: not ours any more.
        assert!(!t.on_played(&a, t0 + ms(50)));
        t.start_reply();
        let b = t.push_sentence("Next.");
        assert_ne!(a, b, "checkpoint names are unique across replies");
    }

    #[test]
    fn unacked_sentence_is_capped_at_its_duration_and_later_ones_are_not_heard() {
        let t0 = Instant::now();
        let mut t = PlaybackTracker::new();
        t.start_reply();
        send(&mut t, "a b c d", 10, t0);
        send(&mut t, "e f", 10, t0);
        // Long after both should have played, but no ack ever came: only the first sentence
        // is credited (by estimate), never beyond it.
        let heard = t.barge_in(t0 + ms(10_000));
        assert_eq!(heard.text, "a b c d");
        assert_eq!(heard.played, ms(200), "capped at the sentence's own audio");
        assert_eq!(heard.sentences_heard, 0);
    }

    #[test]
    fn the_interrupted_sentence_starts_when_the_previous_ack_arrived() {
        let t0 = Instant::now();
        let mut t = PlaybackTracker::new();
        t.start_reply();
        let a = send(&mut t, "first", 50, t0);
        // Second sentence's frames were all sent early (t0), but it only starts playing once
        // the first finished (ack at 1 s). 4 words over 1 s; barge-in 0.5 s after the ack.
        send(&mut t, "w1 w2 w3 w4", 50, t0);
        t.on_played(&a, t0 + ms(1000));
        let heard = t.barge_in(t0 + ms(1500));
        assert_eq!(heard.text, "first w1 w2");
    }

    #[test]
    fn acks_imply_everything_before_them_played() {
        let t0 = Instant::now();
        let mut t = PlaybackTracker::new();
        t.start_reply();
        send(&mut t, "one.", 5, t0);
        let b = send(&mut t, "two.", 5, t0);
        t.end_reply();
        assert!(t.on_played(&b, t0 + ms(300)));
        assert_eq!(t.finished_reply().unwrap().text, "one. two.");
        assert!(!t.on_played("r9-s9", t0));
    }
}
