//! Inbound frames (Plivo → us) and their serialization for Plivo stand-ins.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::{
    Encoding, MAX_FRAME_BYTES, MediaFormat, MediaFrame, StartInfo, StreamEvent, parse_extra_headers,
};

/// Why a text frame from Plivo could not be read. Messages name the event and field, never the
/// audio or header contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("stream frame is {len} bytes, over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("stream frame is not JSON ({reason} at line {line} column {column})")]
    NotJson {
        reason: String,
        line: usize,
        column: usize,
    },
    #[error("stream frame is JSON but not an object")]
    NotAnObject,
    #[error("stream frame has no string `event` field")]
    MissingEvent,
    #[error("`{event}` frame has no `{field}` field")]
    MissingField {
        event: &'static str,
        field: &'static str,
    },
    #[error("`{event}` frame field `{field}` should be {expected}")]
    WrongType {
        event: &'static str,
        field: &'static str,
        expected: &'static str,
    },
    #[error("`media` payload is not valid base64: {0}")]
    BadBase64(String),
    #[error("`dtmf` digit {0:?} is not one of 0-9 * # A-D")]
    BadDigit(String),
    #[error(
        "`playAudio` is {content_type} at {sample_rate} Hz but the stream is audio/x-mulaw at 8000 Hz; the caller would hear nothing"
    )]
    CodecMismatch {
        content_type: String,
        sample_rate: String,
    },
    #[error("`playAudio` payload starts with a {0} header; send raw samples, never a container")]
    Container(&'static str),
}

pub(super) fn field<'a>(
    obj: &'a Map<String, Value>,
    event: &'static str,
    name: &'static str,
) -> Result<&'a Value, FrameError> {
    obj.get(name)
        .filter(|v| !v.is_null())
        .ok_or(FrameError::MissingField { event, field: name })
}

pub(super) fn object<'a>(
    obj: &'a Map<String, Value>,
    event: &'static str,
    name: &'static str,
) -> Result<&'a Map<String, Value>, FrameError> {
    field(obj, event, name)?
        .as_object()
        .ok_or(FrameError::WrongType {
            event,
            field: name,
            expected: "an object",
        })
}

pub(super) fn string(
    obj: &Map<String, Value>,
    event: &'static str,
    name: &'static str,
) -> Result<String, FrameError> {
    match field(obj, event, name)? {
        Value::String(s) => Ok(s.clone()),
        _ => Err(FrameError::WrongType {
            event,
            field: name,
            expected: "a string",
        }),
    }
}

/// A string, or a number rendered as one (`timestamp` has been seen both ways).
pub(super) fn stringish(
    obj: &Map<String, Value>,
    event: &'static str,
    name: &'static str,
) -> Result<String, FrameError> {
    match field(obj, event, name)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(FrameError::WrongType {
            event,
            field: name,
            expected: "a string or number",
        }),
    }
}

/// A non-negative integer, or a string holding one (Plivo's SDK says counters "can be string").
fn integer(
    obj: &Map<String, Value>,
    event: &'static str,
    name: &'static str,
) -> Result<u64, FrameError> {
    let wrong = FrameError::WrongType {
        event,
        field: name,
        expected: "a non-negative integer",
    };
    match field(obj, event, name)? {
        Value::Number(n) => n.as_u64().ok_or(wrong),
        Value::String(s) => s.trim().parse().map_err(|_| wrong),
        _ => Err(wrong),
    }
}

impl StreamEvent {
    /// Parses one text frame from Plivo.
    ///
    /// A `media` frame (50 a second per call) is read straight into its fields, borrowing the
    /// strings from the frame; anything that path does not take as is (another event, an odd
    /// field type, escapes in a string, an error) goes through the general reader, which gives
    /// the same event or the precise error.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge {
                len: text.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        if let Some(media) = fast::media(text) {
            return Ok(media);
        }
        Self::parse_general(text)
    }

    /// [`StreamEvent::parse`] through a JSON tree: every event, every error.
    fn parse_general(text: &str) -> Result<Self, FrameError> {
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
        match event {
            "start" => parse_start(obj),
            "media" => parse_media(obj),
            "dtmf" => parse_dtmf(obj),
            "playedStream" | "played" => Ok(Self::PlayedStream {
                name: string(obj, "playedStream", "name")?,
            }),
            "clearedAudio" => Ok(Self::ClearedAudio),
            "stop" => Ok(Self::Stop),
            other => Ok(Self::Unknown {
                event: other.chars().take(64).collect(),
            }),
        }
    }

    /// Serializes the event the way Plivo sends it (for simulators and mocks).
    /// `sequence_number` is the per-message counter; `extra_headers` is echoed verbatim if set.
    pub fn to_json(
        &self,
        sequence_number: u64,
        stream_id: &str,
        extra_headers: Option<&str>,
    ) -> String {
        // A load generator sends 50 of these a second per call: written straight out.
        if let Self::Media(m) = self
            && [stream_id, &m.track, &m.timestamp]
                .into_iter()
                .chain(extra_headers)
                .all(super::json_plain)
        {
            let mut out = String::with_capacity(160 + m.payload.len().div_ceil(3) * 4);
            out.push_str(r#"{"event":"media","sequenceNumber":"#);
            out.push_str(&sequence_number.to_string());
            out.push_str(r#","streamId":""#);
            out.push_str(stream_id);
            out.push_str(r#"","media":{"track":""#);
            out.push_str(&m.track);
            out.push_str(r#"","timestamp":""#);
            out.push_str(&m.timestamp);
            out.push_str(r#"","chunk":"#);
            out.push_str(&m.chunk.to_string());
            out.push_str(r#","payload":""#);
            B64.encode_string(&m.payload, &mut out);
            out.push_str("\"}");
            if let Some(h) = extra_headers {
                out.push_str(r#","extra_headers":""#);
                out.push_str(h);
                out.push('"');
            }
            out.push('}');
            return out;
        }
        let mut v = match self {
            Self::Start(s) => json!({
                "event": "start",
                "start": {
                    "callId": s.call_id,
                    "streamId": s.stream_id,
                    "accountId": s.account_id,
                    "tracks": s.tracks,
                    "mediaFormat": {
                        "encoding": s.media_format.encoding.as_str(),
                        "sampleRate": s.media_format.sample_rate,
                    },
                },
            }),
            Self::Media(m) => json!({
                "event": "media",
                "streamId": stream_id,
                "media": {
                    "track": m.track,
                    "timestamp": m.timestamp,
                    "chunk": m.chunk,
                    "payload": B64.encode(&m.payload),
                },
            }),
            Self::Dtmf { digit } => json!({
                "event": "dtmf",
                "streamId": stream_id,
                "dtmf": { "track": "inbound", "digit": digit.to_string() },
            }),
            Self::PlayedStream { name } => {
                json!({ "event": "playedStream", "streamId": stream_id, "name": name })
            }
            Self::ClearedAudio => json!({ "event": "clearedAudio", "streamId": stream_id }),
            Self::Stop => json!({ "event": "stop", "streamId": stream_id }),
            Self::Unknown { event } => json!({ "event": event, "streamId": stream_id }),
        };
        if let Some(obj) = v.as_object_mut() {
            obj.insert("sequenceNumber".into(), sequence_number.into());
            if let Some(h) = extra_headers {
                obj.insert("extra_headers".into(), h.into());
            }
        }
        v.to_string()
    }
}

fn parse_start(obj: &Map<String, Value>) -> Result<StreamEvent, FrameError> {
    const E: &str = "start";
    let start = object(obj, E, "start")?;
    let tracks = match start.get("tracks") {
        None | Some(Value::Null) => vec!["inbound".to_string()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str().map(str::to_string).ok_or(FrameError::WrongType {
                    event: E,
                    field: "tracks",
                    expected: "an array of strings",
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(FrameError::WrongType {
                event: E,
                field: "tracks",
                expected: "an array of strings",
            });
        }
    };
    let format = object(start, E, "mediaFormat")?;
    let sample_rate = integer(format, E, "sampleRate")?;
    let sample_rate = u32::try_from(sample_rate).map_err(|_| FrameError::WrongType {
        event: E,
        field: "sampleRate",
        expected: "a sample rate in Hz",
    })?;
    let account_id = match start.get("accountId") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let extra_headers = match obj.get("extra_headers") {
        Some(Value::String(s)) => parse_extra_headers(s),
        Some(Value::Object(_)) => parse_extra_headers(&obj["extra_headers"].to_string()),
        _ => Vec::new(),
    };
    Ok(StreamEvent::Start(StartInfo {
        stream_id: string(start, E, "streamId")?,
        call_id: string(start, E, "callId")?,
        account_id,
        tracks,
        media_format: MediaFormat {
            encoding: Encoding::parse(&string(format, E, "encoding")?),
            sample_rate,
        },
        extra_headers,
    }))
}

fn parse_media(obj: &Map<String, Value>) -> Result<StreamEvent, FrameError> {
    const E: &str = "media";
    let media = object(obj, E, "media")?;
    let payload = string(media, E, "payload")?;
    let payload = B64
        .decode(payload.trim())
        .map_err(|e| FrameError::BadBase64(e.to_string()))?;
    let track = match media.get("track") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => "inbound".to_string(),
        Some(_) => {
            return Err(FrameError::WrongType {
                event: E,
                field: "track",
                expected: "a string",
            });
        }
    };
    let timestamp = match media.get("timestamp") {
        None | Some(Value::Null) => String::new(),
        Some(_) => stringish(media, E, "timestamp")?,
    };
    let chunk = match media.get("chunk") {
        None | Some(Value::Null) => 0,
        Some(_) => integer(media, E, "chunk")?,
    };
    Ok(StreamEvent::Media(MediaFrame {
        track,
        timestamp,
        chunk,
        payload,
    }))
}

fn parse_dtmf(obj: &Map<String, Value>) -> Result<StreamEvent, FrameError> {
    const E: &str = "dtmf";
    let dtmf = object(obj, E, "dtmf")?;
    let digit = string(dtmf, E, "digit")?;
    let mut chars = digit.trim().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D') => {
            Ok(StreamEvent::Dtmf { digit: c })
        }
        _ => Err(FrameError::BadDigit(digit.chars().take(8).collect())),
    }
}

/// The allocation-light reading of the frames that come 50 times a second per call: Plivo's
/// `media` (the server's side) and our `playAudio` (the simulator's and load generator's
/// side). Each returns `None` for anything it does not take exactly as the general reader
/// would, which then decides.
pub(super) mod fast {
    use std::fmt;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor};

    use super::super::{MediaFrame, StreamEvent};

    /// A string (borrowed: no escapes) or a non-negative integer, as Plivo's counters and
    /// timestamps come; anything else is left to the general reader.
    pub(in crate::stream) enum Flex<'a> {
        Str(&'a str),
        Int(u64),
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Flex<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Flex<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a plain string or a non-negative integer")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                    Ok(Flex::Str(v))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                    Ok(Flex::Int(v))
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    impl Flex<'_> {
        /// As the general reader renders a string-or-number.
        fn text(&self) -> String {
            match self {
                Flex::Str(s) => (*s).to_string(),
                Flex::Int(n) => n.to_string(),
            }
        }

        /// As the general reader reads a counter.
        fn counter(&self) -> Option<u64> {
            match self {
                Flex::Str(s) => s.trim().parse().ok(),
                Flex::Int(n) => Some(*n),
            }
        }
    }

    /// A JSON object with no array anywhere: serde's derived readers would also take a struct
    /// written as an array, which the general reader refuses, and no frame read here has one.
    pub(in crate::stream) fn plain_object(text: &str) -> bool {
        text.trim_start().starts_with('{') && !text.contains('[')
    }

    #[derive(Deserialize)]
    struct Media<'a> {
        #[serde(borrow)]
        event: &'a str,
        #[serde(borrow)]
        media: MediaBody<'a>,
    }

    #[derive(Deserialize)]
    struct MediaBody<'a> {
        #[serde(borrow)]
        payload: &'a str,
        #[serde(borrow, default)]
        track: Option<&'a str>,
        #[serde(borrow, default)]
        timestamp: Option<Flex<'a>>,
        #[serde(borrow, default)]
        chunk: Option<Flex<'a>>,
    }

    /// A well-formed `media` frame, read without building a JSON tree.
    pub(in crate::stream) fn media(text: &str) -> Option<StreamEvent> {
        if !plain_object(text) {
            return None;
        }
        let frame: Media = serde_json::from_str(text).ok()?;
        if frame.event != "media" {
            return None;
        }
        let body = frame.media;
        let payload = B64.decode(body.payload.trim()).ok()?;
        let chunk = match &body.chunk {
            None => 0,
            Some(c) => c.counter()?,
        };
        Some(StreamEvent::Media(MediaFrame {
            track: body.track.unwrap_or("inbound").to_string(),
            timestamp: body.timestamp.as_ref().map(Flex::text).unwrap_or_default(),
            chunk,
            payload,
        }))
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
