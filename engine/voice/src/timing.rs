//! Per-turn latency bookkeeping: the instants a turn passes through, turned into the stored
//! [`TurnTimings`] and the per-stage metric samples.
//!
//! ```text
//! caller stopped ─▶ final transcript ─▶ engine decision ─▶ (LLM first token) ─▶ first TTS audio ─▶ first frame sent
//!   stopped           transcript          decided             llm_first            first_audio        first_frame
//! ```
//!
//! "Caller stopped" is the end of the last voiced frame the VAD saw (or the key press, or the
//! moment the silence timer fired), so the numbers are what the caller experiences, not what a
//! provider reports.

use std::time::{Duration, Instant};

use vartalaap_store::TurnTimings;

/// Instants of one turn; `None` where the stage did not happen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnMarks {
    /// The caller stopped speaking (or pressed a key, or the silence timer fired).
    pub stopped: Option<Instant>,
    /// The final transcript arrived.
    pub transcript: Option<Instant>,
    /// The engine returned its outputs.
    pub decided: Option<Instant>,
    /// The LLM's first token arrived (only when an LLM phrased the reply).
    pub llm_first: Option<Instant>,
    /// The first sentence's audio was synthesized.
    pub first_audio: Option<Instant>,
    /// The first 20 ms frame went to Plivo.
    pub first_frame: Option<Instant>,
    /// The greeting: `stopped` is the stream's start, so "stopped → decided" is the call's
    /// set-up (call log, recogniser, engine start), reported as `call_setup` and `greeting`
    /// rather than as an engine turn.
    pub greeting: bool,
}

fn ms(from: Option<Instant>, to: Option<Instant>) -> Option<u32> {
    let (from, to) = (from?, to?);
    Some(u32::try_from(to.saturating_duration_since(from).as_millis()).unwrap_or(u32::MAX))
}

fn secs(from: Option<Instant>, to: Option<Instant>) -> Option<f64> {
    let (from, to) = (from?, to?);
    Some(to.saturating_duration_since(from).as_secs_f64())
}

impl TurnMarks {
    /// The stored breakdown. `tts_first_audio_ms` runs from the LLM's first token when an LLM
    /// was used, else from the engine's decision (what TTS waited on).
    pub fn timings(&self) -> TurnTimings {
        let tts_from = self.llm_first.or(self.decided);
        TurnTimings {
            stt_ms: ms(self.stopped, self.transcript),
            llm_first_token_ms: ms(self.decided, self.llm_first),
            tts_first_audio_ms: ms(tts_from, self.first_audio),
            total_ms: ms(self.stopped, self.first_frame),
            engine_ms: ms(self.transcript.or(self.stopped), self.decided),
            first_frame_ms: ms(self.first_audio, self.first_frame),
        }
    }

    /// `(stage, seconds)` samples for the per-stage histograms.
    pub fn stages(&self) -> Vec<(&'static str, f64)> {
        let heard = self.transcript.or(self.stopped);
        let tts_from = self.llm_first.or(self.decided);
        let (engine, total) = if self.greeting {
            ("call_setup", "greeting")
        } else {
            ("engine", "total")
        };
        [
            ("stt", secs(self.stopped, self.transcript)),
            (engine, secs(heard, self.decided)),
            ("llm_first_token", secs(self.decided, self.llm_first)),
            ("tts_first_audio", secs(tts_from, self.first_audio)),
            ("first_frame", secs(self.first_audio, self.first_frame)),
            (total, secs(self.stopped, self.first_frame)),
            // Everything after the recogniser: the latency the pipeline itself adds.
            ("reply", secs(self.transcript, self.first_frame)),
        ]
        .into_iter()
        .filter_map(|(stage, s)| s.map(|s| (stage, s)))
        .collect()
    }

    /// Caller stopped → first frame, when both are known.
    pub fn total(&self) -> Option<Duration> {
        Some(self.first_frame?.saturating_duration_since(self.stopped?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_stored_timings_line_up() {
        let t0 = Instant::now();
        let at = |ms: u64| Some(t0 + Duration::from_millis(ms));
        let marks = TurnMarks {
            stopped: at(0),
            transcript: at(300),
            decided: at(305),
            llm_first: None,
            first_audio: at(405),
            first_frame: at(410),
            greeting: false,
        };
        let t = marks.timings();
        assert_eq!(t.stt_ms, Some(300));
        assert_eq!(t.llm_first_token_ms, None);
        assert_eq!(t.tts_first_audio_ms, Some(100));
        assert_eq!(t.total_ms, Some(410));
        assert_eq!(t.engine_ms, Some(5));
        assert_eq!(t.first_frame_ms, Some(5));
        let stages = marks.stages();
        let names: Vec<&str> = stages.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            names,
            [
                "stt",
                "engine",
                "tts_first_audio",
                "first_frame",
                "total",
                "reply"
            ]
        );
        assert!((stages[1].1 - 0.005).abs() < 1e-9);
        assert!((stages[5].1 - 0.110).abs() < 1e-9);
        let greeting = TurnMarks {
            stopped: at(0),
            decided: at(80),
            first_audio: at(81),
            first_frame: at(82),
            greeting: true,
            ..TurnMarks::default()
        };
        let names: Vec<&str> = greeting.stages().iter().map(|(s, _)| *s).collect();
        assert_eq!(
            names,
            ["call_setup", "tts_first_audio", "first_frame", "greeting"]
        );
    }

    #[test]
    fn transcript_before_vad_end_is_zero_not_negative() {
        let t0 = Instant::now();
        let marks = TurnMarks {
            stopped: Some(t0 + Duration::from_millis(50)),
            transcript: Some(t0),
            ..TurnMarks::default()
        };
        assert_eq!(marks.timings().stt_ms, Some(0));
        assert_eq!(marks.total(), None);
    }
}
