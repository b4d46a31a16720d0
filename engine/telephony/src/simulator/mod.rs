//! A stand-in for Plivo that dials our server the way Plivo does (feature `simulator`).
//!
//! One call, end to end, over real sockets:
//! 1. POST the answer URL with Plivo's form fields, signed with V3 using the given auth token;
//!    enforce Plivo's answer rules (200, XML, < 100 KB, 15 s) and read the `<Stream>` element.
//! 2. Open the stream WebSocket with signed upgrade headers; send `start`.
//! 3. Every 20 ms, in real time: send one 160-byte µ-law `media` frame (the caller's scripted
//!    speech, or silence), and play 20 ms of the bot's queued audio ([`playout::Playout`]):
//!    `playedStream` once a checkpoint's audio has drained, `clearedAudio` on `clearAudio`.
//! 4. Record the bot's channel as the caller heard it (a WAV-ready [`Pcm`] on the call's
//!    timeline) and time every turn: caller stopped speaking → first bot audio received.
//!
//! The script is a list of [`Step`]s; caller audio is any-rate PCM, resampled to 8 kHz and
//! µ-law encoded with `vartalaap-audio`.

mod answer;
mod call;
mod callbacks;
pub mod playout;

pub use answer::{
    ANSWER_DEADLINE, AnswerDocument, MAX_ANSWER_BYTES, NextElement, StreamElement, answer_params,
    fetch_xml, parse_answer, post_signed,
};
pub use call::{StreamSocket, answer, connect_stream, run_call, run_call_with, start_event};
pub use callbacks::{CallbackResult, Hangup};

use std::time::Duration;

use vartalaap_audio::{Pcm, mulaw};

use crate::signature::SignatureError;
use playout::FRAME_BYTES;

/// Why a simulated call failed. Mirrors what would make Plivo fail the call.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot sign the request: {0}")]
    Signature(#[from] SignatureError),
    #[error("answer URL unreachable: {0}")]
    AnswerUnreachable(String),
    #[error("answer URL returned HTTP {status} (Plivo would fail the call with 7011)")]
    AnswerStatus { status: u16 },
    #[error("answer URL did not return XML: {0} (Plivo would fail the call with 8011)")]
    AnswerNotXml(String),
    #[error("answer XML is malformed: {0}")]
    BadXml(String),
    #[error("answer XML opens no stream{}", spoken.as_ref().map(|s| format!("; it says {s:?} and hangs up")).unwrap_or_default())]
    NoStream { spoken: Option<String> },
    #[error("answer XML <Stream> is unusable: {0}")]
    StreamAttr(String),
    #[error("caller audio: {0}")]
    Audio(String),
    #[error("stream WebSocket refused: {0}")]
    WsConnect(String),
}

/// Which URL form the upgrade signature covers (unconfirmed which Plivo uses; protocols §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpgradeSigning {
    /// Sign the `wss://` URL as rendered (Plivo's docs).
    #[default]
    WsUrl,
    /// Sign `https://…` (Plivo's Node stream SDK rebuilds that).
    HttpsUrl,
}

/// Who the call is and where it goes. Its `Debug` hides the auth token (a smoke test may run
/// against a real deployment with the real token).
#[derive(Clone)]
pub struct SimConfig {
    pub answer_url: String,
    pub auth_token: String,
    /// Caller id, E.164 (a leading `+` is dropped as Plivo does).
    pub from: String,
    /// The dialled business number.
    pub to: String,
    /// `CallUUID`; random if `None`.
    pub call_uuid: Option<String>,
    pub upgrade_signing: UpgradeSigning,
    /// [`Step::WaitForBot`] ends after the bot has been quiet this long.
    pub bot_quiet: Duration,
    /// Hard cap on the call (Plivo's own is hours; tests want less).
    pub max_call: Duration,
    /// The application's hangup URL (Plivo's console setting, not in the XML); the hangup
    /// callback is POSTed there when the call ends.
    pub hangup_url: Option<String>,
    /// Which event names the stream status callbacks use.
    pub status_scheme: StatusScheme,
    /// TLS settings for https/wss (e.g. trusting a test proxy's private CA); `None` trusts
    /// the public web roots, as Plivo does.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// Plivo's docs name stream status events two ways (protocols §1.4); servers should accept both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusScheme {
    /// `StartStream` / `StopStream` (XML reference, console logs).
    #[default]
    A,
    /// `started` / `stopped` (newer guide).
    B,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("answer_url", &self.answer_url)
            .field("auth_token", &"***")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("call_uuid", &self.call_uuid)
            .field("upgrade_signing", &self.upgrade_signing)
            .field("bot_quiet", &self.bot_quiet)
            .field("max_call", &self.max_call)
            .field("hangup_url", &self.hangup_url)
            .field("status_scheme", &self.status_scheme)
            .finish_non_exhaustive()
    }
}

impl SimConfig {
    pub fn new(answer_url: &str, auth_token: &str, from: &str, to: &str) -> Self {
        Self {
            answer_url: answer_url.into(),
            auth_token: auth_token.into(),
            from: from.into(),
            to: to.into(),
            call_uuid: None,
            upgrade_signing: UpgradeSigning::default(),
            bot_quiet: Duration::from_millis(800),
            max_call: Duration::from_secs(600),
            hangup_url: None,
            status_scheme: StatusScheme::default(),
            tls: None,
        }
    }
}

/// One thing the caller does.
#[derive(Debug, Clone)]
pub enum Step {
    /// Speak this audio (any sample rate), in real time; a turn starts when it ends.
    Say { label: String, pcm: Pcm },
    /// Stay quiet (silence frames) this long.
    Silence(Duration),
    /// Press a key; a turn starts.
    Dtmf(char),
    /// Stay quiet until the bot has spoken and gone quiet again (or `max` passes).
    WaitForBot { max: Duration },
    /// Stay quiet until the bot starts speaking (or `max` passes); then e.g. `Say` to barge in.
    WaitForBotStart { max: Duration },
    /// Hang up: close the socket.
    Hangup,
    /// Send Plivo's `stop` event (the caller hung up) and wait, sending nothing more, for the
    /// server to close the socket (at most [`STOP_CLOSE_WAIT`]).
    Stop,
}

/// How long [`Step::Stop`] waits for the server to close the socket after `stop`.
pub const STOP_CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The close frame the server sent, as the caller's side saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerClose {
    /// The close code; 1005 ("no status received") when the frame carried none.
    pub code: u16,
    /// The close reason (empty when none was given).
    pub reason: String,
}

/// Timings for one turn: from the caller finishing (or the call starting) to the bot's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnReport {
    /// `greeting`, the `Say` label, or `dtmf N`.
    pub label: String,
    /// When the turn started, since the stream started.
    pub started_at: Duration,
    /// Caller stopped speaking → first `playAudio` received.
    pub first_bot_audio: Option<Duration>,
    /// Caller stopped speaking → first `playAudio` whose frame is audible ([`is_audible`]):
    /// what the caller waits for, dead air at the start of the bot's audio included.
    pub first_audible_bot_audio: Option<Duration>,
    /// Bot audio received during the turn.
    pub bot_audio: Duration,
    /// A `clearAudio` arrived during the turn (the bot was cut off).
    pub cleared: bool,
}

/// How the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEnd {
    /// The script ran out (or hit `Hangup`); we closed the socket.
    ScriptDone,
    /// The server closed the socket (e.g. the bot hung up); its close frame is in
    /// [`CallReport::server_close`].
    ServerClosed,
    /// The socket failed.
    Dropped(String),
    /// `max_call` passed.
    MaxDuration,
}

/// Everything observed on one call.
#[derive(Debug, Clone)]
pub struct CallReport {
    pub call_uuid: String,
    pub stream_id: String,
    pub stream: StreamElement,
    pub turns: Vec<TurnReport>,
    /// The bot's channel as heard, 8 kHz, one sample per sample of call time (silence included).
    pub bot_audio: Pcm,
    pub media_frames_sent: u64,
    pub play_audio_received: u64,
    /// Checkpoint names acked with `playedStream`, in order.
    pub played: Vec<String>,
    pub clears: u64,
    /// Digits the server asked Plivo to play (`sendDTMF`).
    pub sent_dtmf: Vec<String>,
    /// Commands Plivo would have rejected or ignored (wrong codec, bad JSON, binary frames).
    pub protocol_errors: Vec<String>,
    /// Bot audio dropped because more than 40 s was queued.
    pub overflow_bytes: usize,
    pub ended: CallEnd,
    /// The server's close frame, when the server closed the socket first.
    pub server_close: Option<ServerClose>,
    /// The number a `<Dial>` after the stream (directly or via `<Redirect>`) connected to.
    pub transferred_to: Option<String>,
    /// How the call ended, as reported in the hangup callback.
    pub hangup: Option<Hangup>,
    /// Webhooks sent besides the answer request (status, redirect, hangup).
    pub callbacks: Vec<CallbackResult>,
    /// Answer to hang-up.
    pub duration: Duration,
}

/// A 20 ms frame of bot audio is audible when its RMS level is above this (dBFS): the floor
/// below which the server's trimming treats synthesized audio as near-silence.
pub const AUDIBLE_FLOOR_DBFS: f32 = -50.0;

/// Whether a µ-law frame (or any stretch of µ-law audio) is audible, not near-silence.
pub fn is_audible(mulaw: &[u8]) -> bool {
    vartalaap_audio::vad::level_dbfs(&mulaw::decode(mulaw)) > AUDIBLE_FLOOR_DBFS
}

/// Samples quieter than this (|x|, PCM16) count as silence when trimming an utterance's tail.
const TAIL_SILENCE: i16 = 100;

/// Converts caller audio to 8 kHz µ-law padded to whole 20 ms frames.
///
/// Trailing silence is trimmed (TTS engines and recordings end with some), so the end of the
/// `Say` step is the moment the caller actually stopped speaking, which is what turn latency is
/// measured from; the script's next step supplies the silence that follows.
pub fn caller_mulaw(pcm: &Pcm) -> Result<Vec<u8>, SimError> {
    if pcm.sample_rate == 0 {
        return Err(SimError::Audio("sample rate is 0".into()));
    }
    let samples = if pcm.sample_rate == 8000 {
        pcm.samples.clone()
    } else {
        vartalaap_audio::resample(&pcm.samples, pcm.sample_rate, 8000)
            .map_err(|e| SimError::Audio(e.to_string()))?
    };
    let voiced = samples
        .iter()
        .rposition(|s| s.unsigned_abs() > TAIL_SILENCE as u16)
        .map_or(0, |i| i + 1);
    let mut out = mulaw::encode(&samples[..voiced]);
    let padded = out.len().div_ceil(FRAME_BYTES) * FRAME_BYTES;
    out.resize(padded, mulaw::SILENCE);
    Ok(out)
}

pub(crate) fn random_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub(crate) fn random_nonce() -> String {
    let n: u64 = rand::random();
    format!("{:020}", n)
}

pub(crate) fn check_stream(doc: AnswerDocument) -> Result<StreamElement, SimError> {
    let stream = match doc {
        AnswerDocument::Stream(s) => s,
        AnswerDocument::NoStream { spoken, .. } => return Err(SimError::NoStream { spoken }),
    };
    if stream.attr("bidirectional") != Some("true") {
        return Err(SimError::StreamAttr(
            "bidirectional is not \"true\": Plivo would ignore every playAudio".into(),
        ));
    }
    match stream.attr("contentType") {
        Some("audio/x-mulaw;rate=8000") => {}
        other => {
            return Err(SimError::StreamAttr(format!(
                "contentType {other:?}; the simulator speaks audio/x-mulaw;rate=8000 only"
            )));
        }
    }
    if !(stream.url.starts_with("wss://") || stream.url.starts_with("ws://")) {
        return Err(SimError::StreamAttr(
            "stream URL is not ws:// or wss://".into(),
        ));
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_audio_is_resampled_encoded_and_padded() {
        let pcm = Pcm {
            sample_rate: 16_000,
            samples: (0..3_300)
                .map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16)
                .collect(),
        };
        let out = caller_mulaw(&pcm).unwrap();
        assert_eq!(out.len() % FRAME_BYTES, 0);
        // 3300 samples at 16 kHz ≈ 1650 at 8 kHz → 11 frames (1760 bytes) after padding.
        assert!((1600..=1800).contains(&out.len()), "{}", out.len());
        assert!(out.iter().any(|&b| b != mulaw::SILENCE));
        assert!(
            caller_mulaw(&Pcm {
                sample_rate: 0,
                samples: vec![1]
            })
            .is_err()
        );
    }

    #[test]
    fn ids_look_like_plivo_ids() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.matches('-').count(), 4);
        assert_eq!(random_nonce().len(), 20);
    }

    #[test]
    fn unusable_stream_elements_are_refused() {
        let doc = |attrs: &str, url: &str| {
            parse_answer(&format!(
                "<Response><Stream {attrs}>{url}</Stream></Response>"
            ))
            .unwrap()
        };
        let ok = r#"bidirectional="true" contentType="audio/x-mulaw;rate=8000""#;
        assert!(check_stream(doc(ok, "wss://h/s")).is_ok());
        assert!(matches!(
            check_stream(doc(r#"contentType="audio/x-mulaw;rate=8000""#, "wss://h/s")),
            Err(SimError::StreamAttr(_))
        ));
        assert!(matches!(
            check_stream(doc(
                r#"bidirectional="true" contentType="audio/x-l16;rate=8000""#,
                "wss://h/s"
            )),
            Err(SimError::StreamAttr(_))
        ));
        assert!(matches!(
            check_stream(doc(ok, "https://h/s")),
            Err(SimError::StreamAttr(_))
        ));
    }

    #[test]
    fn debug_of_the_sim_config_hides_the_auth_token() {
        let cfg = SimConfig::new(
            "https://bot.example.in/plivo/answer",
            "plivo-auth-token-for-the-sim",
            "+919812345678",
            "918071234567",
        );
        let shown = format!("{cfg:?} {cfg:#?}");
        assert!(!shown.contains("plivo-auth-token-for-the-sim"), "{shown}");
        assert!(
            shown.contains("https://bot.example.in/plivo/answer"),
            "{shown}"
        );
    }
}
