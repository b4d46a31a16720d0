//! Outbound commands (us → Plivo) and their parsing for Plivo stand-ins.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parse::fast::{Flex, plain_object};
use super::parse::{FrameError, field, object, string, stringish};
use super::{MAX_FRAME_BYTES, json_plain};

/// Most µ-law bytes to put in one `playAudio` (1.5 s): Plivo recommends ≤ 16 KB of base64 per
/// message. The bot sends 160-byte (20 ms) frames paced at real time, far below this.
pub const MAX_PLAY_AUDIO_BYTES: usize = 12_000;

/// A command on the stream socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Queue µ-law 8 kHz audio for the caller. Raw samples only (no WAV/MP3 header), at most
    /// [`MAX_PLAY_AUDIO_BYTES`]; pace it at real time so `clearAudio` stays effective.
    PlayAudio {
        mulaw: Vec<u8>,
        /// Optional on the wire (Plivo's SDK omits it); included when known.
        stream_id: Option<String>,
    },
    /// Barge-in: drop everything queued; Plivo answers `clearedAudio`.
    ClearAudio { stream_id: String },
    /// Ask for `playedStream{name}` once everything queued before this has played.
    Checkpoint { stream_id: String, name: String },
    /// Play DTMF tones into the call (body schema unconfirmed; field name per Plivo's transport).
    SendDtmf { digits: String },
}

impl Command {
    /// Serializes the command exactly as protocols §1.6 shows it (field order as documented).
    pub fn to_json(&self) -> String {
        // `playAudio` goes out 50 times a second per speaking call: written straight into one
        // buffer (base64 included) instead of through serde and an intermediate payload string.
        if let Self::PlayAudio { mulaw, stream_id } = self
            && stream_id.as_deref().is_none_or(json_plain)
        {
            let id_len = stream_id.as_ref().map_or(0, |id| id.len() + 14);
            let mut out = String::with_capacity(96 + id_len + mulaw.len().div_ceil(3) * 4);
            out.push_str(r#"{"event":"playAudio""#);
            if let Some(id) = stream_id {
                out.push_str(r#","streamId":""#);
                out.push_str(id);
                out.push('"');
            }
            out.push_str(
                r#","media":{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":""#,
            );
            B64.encode_string(mulaw, &mut out);
            out.push_str("\"}}");
            return out;
        }
        self.to_json_serde()
    }

    fn to_json_serde(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Media<'a> {
            content_type: &'a str,
            sample_rate: u32,
            payload: String,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            event: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            stream_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            name: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            media: Option<Media<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            dtmf: Option<&'a str>,
        }
        let empty = Wire {
            event: "",
            stream_id: None,
            name: None,
            media: None,
            dtmf: None,
        };
        let wire = match self {
            Self::PlayAudio { mulaw, stream_id } => Wire {
                event: "playAudio",
                stream_id: stream_id.as_deref(),
                media: Some(Media {
                    content_type: "audio/x-mulaw",
                    sample_rate: 8000,
                    payload: B64.encode(mulaw),
                }),
                ..empty
            },
            Self::ClearAudio { stream_id } => Wire {
                event: "clearAudio",
                stream_id: Some(stream_id),
                ..empty
            },
            Self::Checkpoint { stream_id, name } => Wire {
                event: "checkpoint",
                stream_id: Some(stream_id),
                name: Some(name),
                ..empty
            },
            Self::SendDtmf { digits } => Wire {
                event: "sendDTMF",
                dtmf: Some(digits),
                ..empty
            },
        };
        // Plain strings and numbers: serialization cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses a command as Plivo would receive it, refusing what Plivo would not play: other
    /// codecs, container headers, oversized frames (for the simulator and mocks).
    ///
    /// `playAudio` (50 a second per speaking call) is read straight into its fields first, as
    /// [`StreamEvent::parse`](super::StreamEvent::parse) reads `media`.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge {
                len: text.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        if let Some(play) = fast_play_audio(text) {
            return Ok(play);
        }
        Self::parse_general(text)
    }

    /// [`Command::parse`] through a JSON tree: every command, every error.
    pub(super) fn parse_general(text: &str) -> Result<Self, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|e| FrameError::NotJson {
            reason: format!("{:?}", e.classify()).to_lowercase(),
            line: e.line(),
            column: e.column(),
        })?;
        let obj = value.as_object().ok_or(FrameError::NotAnObject)?;
        let event = obj
            .get("event")
            .and_then(Value::as_str)
            .ok_or(FrameError::MissingEvent)?;
        let stream_id = || match obj.get("streamId") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        match event {
            "playAudio" => {
                const E: &str = "playAudio";
                let media = object(obj, E, "media")?;
                let content_type = string(media, E, "contentType")?;
                // One doc example quotes the rate as a string; accept both.
                let rate = stringish(media, E, "sampleRate")?;
                if content_type != "audio/x-mulaw" || rate != "8000" {
                    return Err(FrameError::CodecMismatch {
                        content_type: content_type.chars().take(40).collect(),
                        sample_rate: rate.chars().take(12).collect(),
                    });
                }
                let payload = string(media, E, "payload")?;
                let mulaw = B64
                    .decode(payload.trim())
                    .map_err(|e| FrameError::BadBase64(e.to_string()))?;
                if mulaw.starts_with(b"RIFF") {
                    return Err(FrameError::Container("RIFF/WAV"));
                }
                if mulaw.starts_with(b"ID3") {
                    return Err(FrameError::Container("ID3/MP3"));
                }
                let stream_id = obj
                    .get("streamId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Ok(Self::PlayAudio { mulaw, stream_id })
            }
            "clearAudio" => Ok(Self::ClearAudio {
                stream_id: stream_id(),
            }),
            "checkpoint" => Ok(Self::Checkpoint {
                stream_id: stream_id(),
                name: string(obj, "checkpoint", "name")?,
            }),
            "sendDTMF" => {
                let digits = field(obj, "sendDTMF", "dtmf")?;
                let digits = digits.as_str().ok_or(FrameError::WrongType {
                    event: "sendDTMF",
                    field: "dtmf",
                    expected: "a string",
                })?;
                Ok(Self::SendDtmf {
                    digits: digits.to_string(),
                })
            }
            _ => Err(FrameError::WrongType {
                event: "command",
                field: "event",
                expected: "playAudio, clearAudio, checkpoint or sendDTMF",
            }),
        }
    }
}

#[derive(Deserialize)]
struct FastPlay<'a> {
    #[serde(borrow)]
    event: &'a str,
    #[serde(borrow, default, rename = "streamId")]
    stream_id: Option<&'a str>,
    #[serde(borrow)]
    media: FastPlayMedia<'a>,
}

#[derive(Deserialize)]
struct FastPlayMedia<'a> {
    #[serde(borrow, rename = "contentType")]
    content_type: &'a str,
    #[serde(borrow, rename = "sampleRate")]
    sample_rate: Flex<'a>,
    #[serde(borrow)]
    payload: &'a str,
}

/// A well-formed `playAudio` Plivo would play, read without building a JSON tree; `None`
/// leaves the frame (and any error) to the general reader.
pub(super) fn fast_play_audio(text: &str) -> Option<Command> {
    if !plain_object(text) {
        return None;
    }
    let play: FastPlay = serde_json::from_str(text).ok()?;
    let rate_ok = match play.media.sample_rate {
        Flex::Str(s) => s == "8000",
        Flex::Int(n) => n == 8000,
    };
    if play.event != "playAudio" || play.media.content_type != "audio/x-mulaw" || !rate_ok {
        return None;
    }
    let mulaw = B64.decode(play.media.payload.trim()).ok()?;
    if mulaw.starts_with(b"RIFF") || mulaw.starts_with(b"ID3") {
        return None;
    }
    Some(Command::PlayAudio {
        mulaw,
        stream_id: play.stream_id.map(str::to_string),
    })
}
