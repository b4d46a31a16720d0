//! The Plivo audio-stream WebSocket protocol (protocols §1.6): every message is a JSON text frame.
//!
//! - [`StreamEvent::parse`]: what Plivo sends us (`start`, `media`, `dtmf`, `playedStream`,
//!   `clearedAudio`, `stop`), as a closed enum. Malformed frames are typed [`FrameError`]s,
//!   never panics: the socket is caller-facing input.
//! - [`Command`]: what we send (`playAudio`, `clearAudio`, `checkpoint`, `sendDTMF`).
//!
//! The reverse directions ([`StreamEvent::to_json`], [`Command::parse`]) exist for the call
//! simulator and mocks, which play Plivo's side; round-trip tests keep both sides in step.

mod command;
mod parse;

pub use command::{Command, MAX_PLAY_AUDIO_BYTES};
pub use parse::FrameError;

/// Whether `s` goes into a JSON string as is (no quote, backslash or control character).
fn json_plain(s: &str) -> bool {
    !s.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

/// Largest text frame accepted from Plivo. Its own limit for messages is 64 KB; a 20 ms media
/// frame is ~300 bytes, so anything near this is not Plivo.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The audio codec announced in `start.mediaFormat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// `audio/x-mulaw`: G.711 µ-law, what we ask for.
    MuLaw,
    /// `audio/x-l16`: 16-bit linear PCM (little-endian per Plivo's own transport).
    L16,
    /// Anything else, kept verbatim for the error message.
    Other(String),
}

impl Encoding {
    /// Reads Plivo's `encoding` string (a `;rate=` suffix is tolerated).
    pub fn parse(s: &str) -> Self {
        let base = s.split(';').next().unwrap_or_default().trim();
        match base.to_ascii_lowercase().as_str() {
            "audio/x-mulaw" => Self::MuLaw,
            "audio/x-l16" => Self::L16,
            _ => Self::Other(s.to_string()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::MuLaw => "audio/x-mulaw",
            Self::L16 => "audio/x-l16",
            Self::Other(s) => s,
        }
    }
}

/// `start.mediaFormat`: trust this over what the XML asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFormat {
    pub encoding: Encoding,
    pub sample_rate: u32,
}

/// The `start` event: who is on the line and in what codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    /// Plivo's stream id; echoed in `checkpoint`/`clearAudio`.
    pub stream_id: String,
    /// The call's `CallUUID`; must match the stream token's claim.
    pub call_id: String,
    /// The Plivo account (`MA…`), when present.
    pub account_id: Option<String>,
    /// Tracks being streamed (`["inbound"]` for bidirectional streams).
    pub tracks: Vec<String>,
    pub media_format: MediaFormat,
    /// `extraHeaders` from the XML, parsed from any of its three shapes.
    pub extra_headers: Vec<(String, String)>,
}

/// One `media` event: ~20 ms of the caller's audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// `inbound` for the caller.
    pub track: String,
    /// Opaque millisecond timestamp (docs disagree on its epoch), kept as sent.
    pub timestamp: String,
    /// Per-track counter; gaps mean lost frames.
    pub chunk: u64,
    /// Raw audio bytes (base64-decoded), µ-law unless `start` said otherwise.
    pub payload: Vec<u8>,
}

/// Everything Plivo can send on the stream socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Start(StartInfo),
    Media(MediaFrame),
    /// A key press: `0-9`, `*`, `#`, `A-D`.
    Dtmf {
        digit: char,
    },
    /// A `checkpoint` we sent has been reached: all audio queued before it has played.
    PlayedStream {
        name: String,
    },
    /// Our `clearAudio` took effect: the playback queue is empty.
    ClearedAudio,
    /// Undocumented but sent by some Plivo tools before closing; socket close is authoritative.
    Stop,
    /// A well-formed event we do not handle (`playFailed`, `error`, future events): log, ignore.
    Unknown {
        event: String,
    },
}

/// Parses `extra_headers` in all the shapes Plivo's docs show: a JSON object string, `k=v;k=v`,
/// or `k=v,k=v`. Pieces without `=` are skipped; keys and values are trimmed.
pub fn parse_extra_headers(raw: &str) -> Vec<(String, String)> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Vec::new();
    }
    if raw.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(raw)
    {
        return map
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
    }
    let sep = if raw.contains(';') { ';' } else { ',' };
    raw.split(sep)
        .filter_map(|piece| {
            let (k, v) = piece.split_once('=')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn extra_headers_in_all_three_shapes() {
        let want = kv(&[("tenant", "demo"), ("callref", "abc123")]);
        assert_eq!(parse_extra_headers("tenant=demo,callref=abc123"), want);
        assert_eq!(parse_extra_headers("tenant=demo; callref=abc123"), want);
        // JSON objects carry no order; compare as sets.
        let mut from_json = parse_extra_headers(r#"{"tenant":"demo","callref":"abc123"}"#);
        from_json.sort();
        let mut sorted = want.clone();
        sorted.sort();
        assert_eq!(from_json, sorted);
        assert_eq!(parse_extra_headers(r#"{"n":5}"#), kv(&[("n", "5")]));
        assert_eq!(parse_extra_headers(""), Vec::new());
        assert_eq!(parse_extra_headers("junk,=x,a=1"), kv(&[("a", "1")]));
        // A broken JSON object falls back to separators instead of failing.
        assert_eq!(parse_extra_headers("{a=1"), kv(&[("{a", "1")]));
    }

    #[test]
    fn encodings_are_read_leniently() {
        assert_eq!(Encoding::parse("audio/x-mulaw"), Encoding::MuLaw);
        assert_eq!(Encoding::parse("audio/x-mulaw;rate=8000"), Encoding::MuLaw);
        assert_eq!(Encoding::parse("AUDIO/X-L16"), Encoding::L16);
        assert_eq!(
            Encoding::parse("audio/opus"),
            Encoding::Other("audio/opus".into())
        );
        assert_eq!(Encoding::MuLaw.as_str(), "audio/x-mulaw");
    }
}
