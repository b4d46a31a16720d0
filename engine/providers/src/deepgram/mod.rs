//! Deepgram live speech-to-text over WebSocket (`/v1/listen`).
//!
//! Shape: [`DeepgramStt::connect`] opens the socket (so a bad key fails right there, typed) and
//! spawns one task that owns it. The caller gets an [`SttSender`] (audio in, bounded) and a
//! `Receiver<SttEvent>` (transcripts out). No callbacks: the call task `select!`s on the
//! receiver next to its other inputs.
//!
//! What the task does for the caller:
//! - forwards µ-law bytes unchanged as binary frames (never a zero-length one, which Deepgram
//!   treats as end of stream);
//! - sends `{"type":"KeepAlive"}` while no audio flows (the bot is talking and the call has
//!   paused forwarding), because Deepgram closes a socket that is silent for 10 s;
//! - assembles utterances from finals ([`UtteranceAssembler`], rule in its docs);
//! - on a dropped socket, reconnects with backoff and replays the audio sent since the last
//!   final result, so words the caller said while the socket died are still transcribed
//!   ([`ReplayBuffer`]);
//! - at hang-up ([`SttSender::close`]) sends `Finalize` then `CloseStream` and drains the last
//!   results before ending the event stream.

mod client;
mod config;
mod messages;
mod replay;
mod utterance;

pub use client::{AudioRefused, DeepgramStt, StreamClosed, SttSender};
pub use config::{DeepgramConfig, SttLanguage};
pub use messages::{ServerMessage, parse_server_message};
pub use replay::ReplayBuffer;
pub use utterance::{Utterance, UtteranceAssembler};

/// What the STT stream tells the call.
#[derive(Debug, Clone, PartialEq)]
pub enum SttEvent {
    /// A provisional transcript of the words being spoken now; later results may revise it.
    /// Useful for barge-in ("the caller is really talking") and nothing else.
    Interim {
        /// Transcript so far for the current segment.
        text: String,
        /// Deepgram's confidence, 0..1.
        confidence: f32,
    },
    /// A segment that will not be revised (`is_final`). Text may be empty (silence).
    Final {
        /// Transcript of this segment only.
        text: String,
        /// Deepgram's confidence, 0..1.
        confidence: f32,
        /// Endpointing saw the caller stop (`speech_final`).
        speech_final: bool,
        /// This result answers our `Finalize` request.
        from_finalize: bool,
    },
    /// A complete caller turn, assembled from finals. This is what goes to the engine.
    Utterance(Utterance),
    /// Deepgram's word-timing based end of utterance (`UtteranceEnd`).
    UtteranceEnd,
    /// Deepgram's VAD saw speech start (`SpeechStarted`, needs `vad_events`).
    SpeechStarted,
    /// The socket dropped and was re-opened; buffered audio was replayed.
    Reconnected {
        /// Which attempt succeeded (1 = first retry).
        attempt: u32,
        /// Bytes of audio replayed into the new socket.
        replayed_bytes: usize,
    },
    /// A fatal error; the event stream ends after it. The call should fall back (apologise,
    /// transfer, or use offline STT).
    Error(SttError),
}

/// Why Deepgram could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SttError {
    /// The configuration cannot form a valid request (e.g. the base URL does not parse).
    #[error("Deepgram config invalid: {0}")]
    Config(String),
    /// Deepgram refused the key (HTTP 401/403 at the upgrade). Check DEEPGRAM_API_KEY.
    #[error("Deepgram rejected the API key (HTTP {status}): {reason}; check DEEPGRAM_API_KEY")]
    Unauthorized {
        /// HTTP status of the refused upgrade.
        status: u16,
        /// `dg-error` header or body text.
        reason: String,
    },
    /// Deepgram refused the query (HTTP 400), e.g. `keywords` with nova-3. Not retried.
    #[error("Deepgram rejected the request parameters (HTTP 400): {0}")]
    BadRequest(String),
    /// The upgrade failed with another HTTP status (429 concurrency, 5xx, …).
    #[error("Deepgram upgrade failed with HTTP {status}: {reason}")]
    Status {
        /// HTTP status of the refused upgrade.
        status: u16,
        /// `dg-error` header or body text.
        reason: String,
    },
    /// TCP/TLS/WebSocket failure or timeout while connecting.
    #[error("cannot connect to Deepgram at {url}: {reason}")]
    Connect {
        /// The URL without query (no key in it anyway).
        url: String,
        /// What failed.
        reason: String,
    },
    /// Deepgram closed the stream because the audio is not decodable (1008 `DATA-0000`):
    /// the encoding settings do not match the bytes sent. Reconnecting would not help.
    #[error("Deepgram could not decode the audio (close 1008 {0}); check encoding/sample_rate")]
    BadAudio(String),
    /// The socket kept failing after every reconnect attempt.
    #[error(
        "Deepgram connection lost and {attempts} reconnect attempts failed; last error: {last}"
    )]
    ReconnectFailed {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: String,
    },
}
