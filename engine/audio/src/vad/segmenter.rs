//! Turn-taking: per-frame speech probabilities in, `SpeechStart` / `SpeechEnd` events out.
//!
//! Pure and clock-free: each [`SpeechSegmenter::push`] says how long its frame was, and every
//! time in an event is the stream position (ms of audio since the start), so a call replays
//! identically in tests.
//!
//! ```text
//!                 p ≥ start                  voiced ≥ min_speech
//!     ┌──────┐ ─────────────▶ ┌───────┐ ───────────────────────────▶ ┌──────────┐
//!     │ Idle │                │ Onset │    emit SpeechStart{at}       │ Speaking │
//!     └──────┘ ◀───────────── └───────┘                               └──────────┘
//!        ▲         p < end      (a click, a cough, a                   │      ▲
//!        │                       too-short "hmm")               p < end│      │ p ≥ start
//!        │                                                             ▼      │
//!        │        silence ≥ patience                              ┌──────────┐
//!        └─────────────────────────────────────────────────────── │ Trailing │
//!                  emit SpeechEnd{at, duration}                    └──────────┘
//! ```
//!
//! Two thresholds give hysteresis: speech begins at `start_threshold` but only ends below
//! `end_threshold`, so a probability hovering around one value does not flap. In `Onset` and
//! `Speaking`, frames with `p ≥ end` count as voiced. `patience` (end-of-turn silence) is the
//! knob a flow turns per step: short for yes/no, long while the caller spells a name or reads a
//! phone number; [`SpeechSegmenter::set_patience`] changes it mid-call, effective at once.

/// Thresholds and timings for [`SpeechSegmenter`].
#[derive(Debug, Clone, PartialEq)]
pub struct SegmenterConfig {
    /// Probability at or above which speech may begin.
    pub start_threshold: f32,
    /// Probability below which a frame counts as silence once speech has begun.
    pub end_threshold: f32,
    /// Voiced audio needed before `SpeechStart` is emitted; shorter blips are ignored.
    pub min_speech_ms: u64,
    /// Silence after speech that ends the caller's turn (the patience).
    pub end_silence_ms: u64,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        Self {
            start_threshold: 0.5,
            end_threshold: 0.35,
            min_speech_ms: 160,
            end_silence_ms: 700,
        }
    }
}

/// What the segmenter noticed on a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeechEvent {
    /// The caller started speaking; `at_ms` is where the speech began (the start of the
    /// onset, which is `min_speech_ms` before the frame that confirmed it).
    SpeechStart { at_ms: u64 },
    /// The caller's turn ended; `at_ms` is the end of the last voiced frame, `duration_ms`
    /// runs from the matching start to there (pauses shorter than the patience included).
    SpeechEnd { at_ms: u64, duration_ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    Onset {
        since_ms: u64,
        voiced_ms: u64,
    },
    Speaking {
        since_ms: u64,
    },
    Trailing {
        since_ms: u64,
        last_voiced_end_ms: u64,
    },
}

/// The turn-taking state machine; see the module doc for the diagram.
#[derive(Debug, Clone)]
pub struct SpeechSegmenter {
    config: SegmenterConfig,
    state: State,
    now_ms: u64,
}

impl SpeechSegmenter {
    /// A segmenter in the `Idle` state at stream position 0.
    pub fn new(config: SegmenterConfig) -> Self {
        Self {
            config,
            state: State::Idle,
            now_ms: 0,
        }
    }

    /// The current configuration.
    pub fn config(&self) -> &SegmenterConfig {
        &self.config
    }

    /// Changes the end-of-turn silence from now on (a trailing silence already longer than the
    /// new value ends the turn on the next frame).
    pub fn set_patience(&mut self, end_silence_ms: u64) {
        self.config.end_silence_ms = end_silence_ms;
    }

    /// Whether the caller is mid-turn (speech confirmed and not yet ended).
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speaking { .. } | State::Trailing { .. })
    }

    /// Stream position in ms (total duration pushed).
    pub fn position_ms(&self) -> u64 {
        self.now_ms
    }

    /// Back to `Idle` at position 0.
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.now_ms = 0;
    }

    /// Feeds one frame's speech probability and its duration.
    pub fn push(&mut self, prob: f32, frame_ms: u64) -> Option<SpeechEvent> {
        let frame_start = self.now_ms;
        let frame_end = frame_start + frame_ms;
        self.now_ms = frame_end;
        let c = &self.config;
        let loud = prob >= c.start_threshold;
        let voiced = prob >= c.end_threshold;
        let (next, event) = match self.state {
            State::Idle if loud => {
                let onset = State::Onset {
                    since_ms: frame_start,
                    voiced_ms: frame_ms,
                };
                if frame_ms >= c.min_speech_ms {
                    (
                        State::Speaking {
                            since_ms: frame_start,
                        },
                        Some(SpeechEvent::SpeechStart { at_ms: frame_start }),
                    )
                } else {
                    (onset, None)
                }
            }
            State::Idle => (State::Idle, None),
            State::Onset {
                since_ms,
                voiced_ms,
            } if voiced => {
                let voiced_ms = voiced_ms + frame_ms;
                if voiced_ms >= c.min_speech_ms {
                    (
                        State::Speaking { since_ms },
                        Some(SpeechEvent::SpeechStart { at_ms: since_ms }),
                    )
                } else {
                    (
                        State::Onset {
                            since_ms,
                            voiced_ms,
                        },
                        None,
                    )
                }
            }
            State::Onset { .. } => (State::Idle, None),
            State::Speaking { since_ms } if voiced => (State::Speaking { since_ms }, None),
            State::Speaking { since_ms } => self.trailing(since_ms, frame_start),
            State::Trailing { since_ms, .. } if loud => (State::Speaking { since_ms }, None),
            State::Trailing {
                since_ms,
                last_voiced_end_ms,
            } => self.trailing(since_ms, last_voiced_end_ms),
        };
        self.state = next;
        event
    }

    /// Stays in (or enters) `Trailing`, ending the turn once the silence since
    /// `last_voiced_end_ms` reaches the patience.
    fn trailing(&self, since_ms: u64, last_voiced_end_ms: u64) -> (State, Option<SpeechEvent>) {
        if self.now_ms - last_voiced_end_ms >= self.config.end_silence_ms {
            (
                State::Idle,
                Some(SpeechEvent::SpeechEnd {
                    at_ms: last_voiced_end_ms,
                    duration_ms: last_voiced_end_ms - since_ms,
                }),
            )
        } else {
            (
                State::Trailing {
                    since_ms,
                    last_voiced_end_ms,
                },
                None,
            )
        }
    }
}

impl Default for SpeechSegmenter {
    fn default() -> Self {
        Self::new(SegmenterConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a probability script, 20 ms per entry, and returns the events with their frame
    /// index. Scripts are strings: '#' = 0.9, '+' = 0.4 (between thresholds), '.' = 0.05.
    fn run(seg: &mut SpeechSegmenter, script: &str) -> Vec<(usize, SpeechEvent)> {
        script
            .chars()
            .filter(|c| !c.is_whitespace())
            .enumerate()
            .filter_map(|(i, c)| {
                let p = match c {
                    '#' => 0.9,
                    '+' => 0.4,
                    _ => 0.05,
                };
                seg.push(p, 20).map(|e| (i, e))
            })
            .collect()
    }

    fn seg(min_speech_ms: u64, end_silence_ms: u64) -> SpeechSegmenter {
        SpeechSegmenter::new(SegmenterConfig {
            min_speech_ms,
            end_silence_ms,
            ..SegmenterConfig::default()
        })
    }

    #[test]
    fn a_turn_starts_after_min_speech_and_ends_after_patience() {
        let mut s = seg(100, 200);
        // 5 silent frames, 20 voiced, 15 silent.
        let ev = run(&mut s, ".....  ####################  ...............");
        assert_eq!(
            ev,
            vec![
                (9, SpeechEvent::SpeechStart { at_ms: 100 }),
                (
                    34,
                    SpeechEvent::SpeechEnd {
                        at_ms: 500,
                        duration_ms: 400
                    }
                ),
            ]
        );
        assert!(!s.in_speech());
    }

    #[test]
    fn short_blips_never_start_a_turn() {
        let mut s = seg(100, 200);
        assert!(run(&mut s, "..##..###...#..####.....").is_empty());
    }

    #[test]
    fn pauses_shorter_than_patience_stay_in_one_turn() {
        let mut s = seg(60, 200);
        let ev = run(&mut s, "######......######..........");
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[1].1,
            SpeechEvent::SpeechEnd {
                at_ms: 360,
                duration_ms: 360
            }
        );
    }

    #[test]
    fn hysteresis_keeps_speech_between_thresholds() {
        let mut s = seg(60, 100);
        // Mid-level frames neither start speech nor end it.
        assert!(run(&mut s, "++++++++").is_empty());
        let ev = run(&mut s, "###++++++++++.....");
        assert_eq!(ev[0].1, SpeechEvent::SpeechStart { at_ms: 160 });
        assert_eq!(
            ev[1].1,
            SpeechEvent::SpeechEnd {
                at_ms: 420,
                duration_ms: 260
            }
        );
        // In Trailing, a mid-level frame does not resume speech (only p >= start does).
        let mut s = seg(20, 100);
        let ev = run(&mut s, "#..+..");
        assert_eq!(ev.len(), 2, "{ev:?}");
    }

    #[test]
    fn patience_can_change_mid_call() {
        let mut s = seg(40, 200);
        run(&mut s, "####");
        assert!(s.in_speech());
        s.set_patience(1_000);
        assert_eq!(run(&mut s, &".".repeat(49)), vec![]);
        assert_eq!(
            run(&mut s, "."),
            vec![(
                0,
                SpeechEvent::SpeechEnd {
                    at_ms: 80,
                    duration_ms: 80
                }
            )]
        );
        // Shortening below the silence already heard ends the turn on the next frame.
        run(&mut s, "####.......");
        s.set_patience(100);
        assert!(matches!(
            run(&mut s, ".")[..],
            [(0, SpeechEvent::SpeechEnd { .. })]
        ));
    }

    #[test]
    fn long_frames_and_reset() {
        let mut s = seg(100, 200);
        assert_eq!(
            s.push(0.9, 128),
            Some(SpeechEvent::SpeechStart { at_ms: 0 })
        );
        assert_eq!(s.push(0.0, 128), None);
        assert_eq!(
            s.push(0.0, 128),
            Some(SpeechEvent::SpeechEnd {
                at_ms: 128,
                duration_ms: 128
            })
        );
        s.push(0.9, 128);
        s.reset();
        assert!(!s.in_speech());
        assert_eq!(s.position_ms(), 0);
    }
}
