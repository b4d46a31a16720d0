//! The owner's browser as a caller ("Talk to it"): the wire format between the admin page and
//! the server, translated into the Plivo stream events a phone call's session already handles.
//!
//! **Design decision:** a browser call is not a second pipeline. The server's socket route turns
//! the browser's messages into [`StreamEvent`]s (µ-law 8 kHz, 20 ms frames, exactly what Plivo
//! sends) and the session's [`Command`]s back into browser messages, so VAD, recognition, the
//! engine, TTS, barge-in, timings and the call log are the phone call's own code. This module is
//! the pure translation (no I/O, no clock: elapsed time is passed in); `docs/TELEPHONY.md`
//! ("Talk to it") documents the protocol.
//!
//! ```text
//! browser ─ binary: s16le mono PCM at 16 kHz (or 8 kHz) ─▶ BrowserAudio ─▶ media (µ-law 20 ms)
//!         ─ text: {"type":"played"|"dtmf"|"hangup"} ────▶ client_event ─▶ playedStream/dtmf/stop
//! browser ◀ binary: s16le mono PCM at 8 kHz ◀─ to_browser ◀─ playAudio
//!         ◀ text: {"type":"mark"|"clear"|"call"|"transcript"|"ended"} ◀─ checkpoint/clearAudio,
//!                                                                  call notes, the call's end
//! ```

use serde::{Deserialize, Serialize};
use vartalaap_audio::{FRAME_SAMPLES_8K, Framer, StreamResampler, mulaw};
use vartalaap_telephony::stream::{Encoding, MediaFormat, MediaFrame, StartInfo};
use vartalaap_telephony::{Command, StreamEvent};

/// Call ids of browser calls start with this (the call log's `external_call_id` carries it, so a
/// browser call is told apart from a Plivo `CallUUID`, which is a plain UUID).
pub const BROWSER_CALL_PREFIX: &str = "browser-";

/// The sample rates the browser may send (16-bit mono PCM); 16 kHz is the default.
pub const BROWSER_INPUT_RATES: [u32; 2] = [16_000, 8_000];
/// The rate of the bot's audio sent to the browser: the phone line's own 8 kHz, so the owner
/// hears what a caller hears.
pub const BROWSER_OUTPUT_RATE: u32 = 8_000;
/// Largest binary (audio) message accepted: 16 KiB is 0.5 s at 16 kHz. A page sends 20–100 ms
/// per message; anything near this is not a microphone.
pub const MAX_AUDIO_MESSAGE_BYTES: usize = 16 * 1024;
/// Largest text (control) message accepted.
pub const MAX_CONTROL_MESSAGE_BYTES: usize = 1024;
/// How far ahead of real time the browser's audio may run (network bursts, a tab waking up)
/// before the call is ended: a client streaming faster than a microphone can is refused, as
/// a phone line never could.
pub const REAL_TIME_SLACK_MS: u64 = 3_000;

/// Whether `call_id` (a stream token's call, a call log's `external_call_id`) is a browser call.
pub fn is_browser_call(call_id: &str) -> bool {
    call_id.starts_with(BROWSER_CALL_PREFIX)
}

/// Why browser input was refused (the socket closes with the matching code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserError {
    /// The `rate` query parameter is not one of [`BROWSER_INPUT_RATES`].
    #[error("sample rate {0} Hz is not supported: send 16-bit mono PCM at 16000 or 8000 Hz")]
    Rate(u32),
    /// A binary message with half a sample in it.
    #[error("an audio message of {0} bytes is not whole 16-bit samples")]
    OddLength(usize),
    /// A binary message over [`MAX_AUDIO_MESSAGE_BYTES`].
    #[error("an audio message of {0} bytes is over the {MAX_AUDIO_MESSAGE_BYTES}-byte limit")]
    TooBig(usize),
    /// More audio than time has passed (plus [`REAL_TIME_SLACK_MS`]).
    #[error("audio is arriving faster than real time")]
    FasterThanRealTime,
    /// The resampler failed (a bug, reported instead of a panic).
    #[error("resampling the browser's audio failed: {0}")]
    Resample(String),
}

/// Turns the browser's PCM into the µ-law 8 kHz 20 ms frames a phone line carries, and keeps
/// the real-time budget.
pub struct BrowserAudio {
    rate: u32,
    resampler: StreamResampler,
    framer: Framer<i16>,
    /// Input samples received so far (at `rate`).
    samples_in: u64,
}

impl std::fmt::Debug for BrowserAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserAudio")
            .field("rate", &self.rate)
            .field("samples_in", &self.samples_in)
            .finish_non_exhaustive()
    }
}

impl BrowserAudio {
    /// Audio at `rate` Hz (one of [`BROWSER_INPUT_RATES`]).
    pub fn new(rate: u32) -> Result<Self, BrowserError> {
        if !BROWSER_INPUT_RATES.contains(&rate) {
            return Err(BrowserError::Rate(rate));
        }
        let resampler =
            StreamResampler::new(rate, 8_000).map_err(|e| BrowserError::Resample(e.to_string()))?;
        Ok(BrowserAudio {
            rate,
            resampler,
            framer: Framer::new(FRAME_SAMPLES_8K),
            samples_in: 0,
        })
    }

    /// The input rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Milliseconds of audio received so far.
    pub fn received_ms(&self) -> u64 {
        self.samples_in * 1000 / u64::from(self.rate)
    }

    /// One binary message (s16le samples) received `elapsed_ms` after the socket opened;
    /// returns the whole µ-law frames it completes (160 bytes each; the remainder waits for
    /// the next message).
    pub fn push(&mut self, bytes: &[u8], elapsed_ms: u64) -> Result<Vec<Vec<u8>>, BrowserError> {
        if bytes.len() > MAX_AUDIO_MESSAGE_BYTES {
            return Err(BrowserError::TooBig(bytes.len()));
        }
        if !bytes.len().is_multiple_of(2) {
            return Err(BrowserError::OddLength(bytes.len()));
        }
        let samples: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        self.samples_in += samples.len() as u64;
        if self.received_ms() > elapsed_ms + REAL_TIME_SLACK_MS {
            return Err(BrowserError::FasterThanRealTime);
        }
        let at_8k = self
            .resampler
            .push(&samples)
            .map_err(|e| BrowserError::Resample(e.to_string()))?;
        Ok(self
            .framer
            .push(&at_8k)
            .into_iter()
            .map(|frame| mulaw::encode(&frame))
            .collect())
    }
}

/// The `start` event a browser call's session begins with (Plivo sends it first on a phone
/// call): µ-law 8 kHz, the inbound track, and the call id as the stream id.
pub fn start_event(call_id: &str) -> StreamEvent {
    StreamEvent::Start(StartInfo {
        stream_id: call_id.to_string(),
        call_id: call_id.to_string(),
        account_id: None,
        tracks: vec!["inbound".to_string()],
        media_format: MediaFormat {
            encoding: Encoding::MuLaw,
            sample_rate: 8_000,
        },
        extra_headers: Vec::new(),
    })
}

/// A caller frame as the session receives it from a phone line.
pub fn media_event(mulaw_frame: Vec<u8>, chunk: u64) -> StreamEvent {
    StreamEvent::Media(MediaFrame {
        track: "inbound".to_string(),
        timestamp: (chunk * 20).to_string(),
        chunk,
        payload: mulaw_frame,
    })
}

/// A control message from the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Everything sent before the `mark` with this name has been played out loud.
    Played { name: String },
    /// A key on the page's keypad: `0`–`9`, `*`, `#`.
    Dtmf { digit: String },
    /// The owner ended the call (a struct variant, so unknown fields are refused here too).
    Hangup {},
}

/// Why a control message was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// Over [`MAX_CONTROL_MESSAGE_BYTES`].
    #[error("a control message of {0} bytes is over the {MAX_CONTROL_MESSAGE_BYTES}-byte limit")]
    TooBig(usize),
    /// Not one of the documented messages.
    #[error("not a control message: {0}")]
    Invalid(String),
}

/// The stream event a control message stands for.
pub fn client_event(text: &str) -> Result<StreamEvent, ControlError> {
    if text.len() > MAX_CONTROL_MESSAGE_BYTES {
        return Err(ControlError::TooBig(text.len()));
    }
    let message: ClientMessage =
        serde_json::from_str(text).map_err(|e| ControlError::Invalid(e.to_string()))?;
    Ok(match message {
        ClientMessage::Played { name } => StreamEvent::PlayedStream { name },
        ClientMessage::Dtmf { digit } => {
            let mut chars = digit.chars();
            match (chars.next(), chars.next()) {
                (Some(d), None) if d.is_ascii_digit() || d == '*' || d == '#' => {
                    StreamEvent::Dtmf { digit: d }
                }
                _ => {
                    return Err(ControlError::Invalid(format!(
                        "dtmf digit {digit:?} is not one of 0-9, * or #"
                    )));
                }
            }
        }
        ClientMessage::Hangup {} => StreamEvent::Stop,
    })
}

/// A text message for the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The call log exists (`GET /api/calls/{call_id}` shows it).
    Call { call_id: u64 },
    /// A line of the transcript, as the call log stores it: the caller's recognised words, or
    /// what the caller heard of the bot's reply (cut short where they interrupted).
    Transcript {
        role: &'static str,
        text: String,
        language: String,
    },
    /// Acknowledge with `{"type":"played","name":…}` once everything before it has played.
    Mark { name: String },
    /// The caller interrupted: stop and drop whatever bot audio is still queued.
    Clear,
    /// The call is over (the socket closes next).
    Ended {
        call_id: Option<u64>,
        outcome: String,
    },
}

impl ServerMessage {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        // Strings and numbers only: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the session's command becomes on the browser's socket.
#[derive(Debug, Clone, PartialEq)]
pub enum ToBrowser {
    /// Bot audio: s16le mono PCM at [`BROWSER_OUTPUT_RATE`].
    Audio(Vec<u8>),
    /// A text message; `then_cleared` means the session is told `clearedAudio` at once (the
    /// page drops its queue when the message arrives, and the socket keeps order).
    Text {
        message: ServerMessage,
        then_cleared: bool,
    },
    /// Nothing for the browser (DTMF tones into a phone line).
    Nothing,
}

/// Translates one session command.
pub fn to_browser(command: Command) -> ToBrowser {
    match command {
        Command::PlayAudio { mulaw, .. } => {
            let mut pcm = Vec::with_capacity(mulaw.len() * 2);
            for sample in mulaw::decode(&mulaw) {
                pcm.extend_from_slice(&sample.to_le_bytes());
            }
            ToBrowser::Audio(pcm)
        }
        Command::Checkpoint { name, .. } => ToBrowser::Text {
            message: ServerMessage::Mark { name },
            then_cleared: false,
        },
        Command::ClearAudio { .. } => ToBrowser::Text {
            message: ServerMessage::Clear,
            then_cleared: true,
        },
        Command::SendDtmf { .. } => ToBrowser::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, ms: u64) -> Vec<u8> {
        let n = rate as u64 * ms / 1000;
        (0..n)
            .flat_map(|i| {
                let t = i as f32 / rate as f32;
                (((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16).to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn sixteen_kilohertz_pcm_becomes_twenty_millisecond_mulaw_frames() {
        let mut audio = BrowserAudio::new(16_000).unwrap();
        let mut frames = Vec::new();
        // One second in 20 ms messages, at real time.
        for i in 0..50 {
            frames.extend(audio.push(&tone(16_000, 20), i * 20).unwrap());
        }
        assert!(frames.iter().all(|f| f.len() == FRAME_SAMPLES_8K));
        // The resampler holds back at most a chunk plus its filter delay.
        assert!((45..=50).contains(&frames.len()), "{}", frames.len());
        assert_eq!(audio.received_ms(), 1000);
        // The tone survives: it is not silence after decoding.
        let decoded = mulaw::decode(&frames[30]);
        assert!(decoded.iter().any(|s| s.unsigned_abs() > 4000));
    }

    #[test]
    fn eight_kilohertz_pcm_is_only_encoded() {
        let mut audio = BrowserAudio::new(8_000).unwrap();
        let frames = audio.push(&tone(8_000, 50), 50).unwrap();
        assert_eq!(frames.len(), 2, "two whole frames, 10 ms waiting");
        let frames = audio.push(&tone(8_000, 10), 60).unwrap();
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn bad_rates_sizes_and_speeds_are_refused() {
        assert_eq!(
            BrowserAudio::new(44_100).unwrap_err(),
            BrowserError::Rate(44_100)
        );
        let mut audio = BrowserAudio::new(16_000).unwrap();
        assert_eq!(
            audio.push(&[0u8; 3], 0).unwrap_err(),
            BrowserError::OddLength(3)
        );
        assert_eq!(
            audio
                .push(&vec![0u8; MAX_AUDIO_MESSAGE_BYTES + 2], 10_000)
                .unwrap_err(),
            BrowserError::TooBig(MAX_AUDIO_MESSAGE_BYTES + 2)
        );
        // Three seconds ahead of the clock is tolerated; more is not.
        let half_second = vec![0u8; 16_000];
        for _ in 0..6 {
            audio.push(&half_second, 0).unwrap();
        }
        assert_eq!(
            audio.push(&half_second, 0).unwrap_err(),
            BrowserError::FasterThanRealTime
        );
        // At real time the same amount is fine.
        let mut audio = BrowserAudio::new(16_000).unwrap();
        for i in 0..20 {
            audio.push(&half_second, i * 500).unwrap();
        }
    }

    #[test]
    fn control_messages_map_to_the_phone_lines_events() {
        assert_eq!(
            client_event(r#"{"type":"played","name":"r1-s2"}"#).unwrap(),
            StreamEvent::PlayedStream {
                name: "r1-s2".into()
            }
        );
        assert_eq!(
            client_event(r##"{"type":"dtmf","digit":"#"}"##).unwrap(),
            StreamEvent::Dtmf { digit: '#' }
        );
        assert_eq!(
            client_event(r#"{"type":"hangup"}"#).unwrap(),
            StreamEvent::Stop
        );
        for bad in [
            r#"{"type":"dtmf","digit":"12"}"#,
            r#"{"type":"dtmf","digit":"x"}"#,
            r#"{"type":"played"}"#,
            r#"{"type":"hangup","extra":1}"#,
            r#"{"type":"start"}"#,
            "not json",
        ] {
            assert!(
                matches!(client_event(bad), Err(ControlError::Invalid(_))),
                "{bad}"
            );
        }
        let long = format!(
            r#"{{"type":"played","name":"{}"}}"#,
            "x".repeat(MAX_CONTROL_MESSAGE_BYTES)
        );
        assert!(matches!(client_event(&long), Err(ControlError::TooBig(_))));
    }

    #[test]
    fn session_commands_become_browser_messages() {
        let audio = to_browser(Command::PlayAudio {
            mulaw: vec![mulaw::encode_sample(1000); 160],
            stream_id: None,
        });
        let ToBrowser::Audio(pcm) = audio else {
            panic!("{audio:?}")
        };
        assert_eq!(pcm.len(), 320);
        let first = i16::from_le_bytes([pcm[0], pcm[1]]);
        assert!((900..=1100).contains(&first), "{first}");
        assert_eq!(
            to_browser(Command::Checkpoint {
                stream_id: "s".into(),
                name: "r1-s1".into()
            }),
            ToBrowser::Text {
                message: ServerMessage::Mark {
                    name: "r1-s1".into()
                },
                then_cleared: false
            }
        );
        assert_eq!(
            to_browser(Command::ClearAudio {
                stream_id: "s".into()
            }),
            ToBrowser::Text {
                message: ServerMessage::Clear,
                then_cleared: true
            }
        );
        assert_eq!(
            ServerMessage::Transcript {
                role: "caller",
                text: "a \"quoted\" <b>".into(),
                language: "en".into()
            }
            .to_json(),
            r#"{"type":"transcript","role":"caller","text":"a \"quoted\" <b>","language":"en"}"#
        );
    }

    #[test]
    fn the_start_event_names_the_call_and_mulaw() {
        let StreamEvent::Start(start) = start_event("browser-1") else {
            panic!()
        };
        assert_eq!(start.call_id, "browser-1");
        assert_eq!(start.media_format.encoding, Encoding::MuLaw);
        assert!(is_browser_call("browser-1"));
        assert!(!is_browser_call("b5c7a6f2-0000-4000-8000-000000000000"));
    }
}
