//! Deepgram → client JSON messages (protocol notes §2.4).
//!
//! Only the fields the call uses are typed; everything else is ignored, and unknown `type`
//! values parse to [`ServerMessage::Unknown`] so a new Deepgram message never breaks a call.

use serde::Deserialize;

/// One parsed text frame from Deepgram.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// A transcript (interim or final) for a time range of the stream.
    Results {
        /// Best alternative's transcript (may be empty).
        transcript: String,
        /// Best alternative's confidence.
        confidence: f32,
        /// Seconds from stream start where this range begins.
        start: f64,
        /// Seconds of audio in this range.
        duration: f64,
        /// Range will not be revised.
        is_final: bool,
        /// Endpointing fired after this range.
        speech_final: bool,
        /// Answer to a `Finalize` request.
        from_finalize: bool,
    },
    /// Gap in words of at least `utterance_end_ms`.
    UtteranceEnd {
        /// End time (s) of the last word.
        last_word_end: f64,
    },
    /// VAD onset.
    SpeechStarted {
        /// Seconds from stream start.
        timestamp: f64,
    },
    /// Summary sent after `CloseStream`.
    Metadata {
        /// Deepgram's request id (for support tickets).
        request_id: String,
    },
    /// A message type this client does not know; ignored.
    Unknown(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct ResultsWire {
    #[serde(default)]
    start: f64,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    is_final: bool,
    #[serde(default)]
    speech_final: bool,
    #[serde(default)]
    from_finalize: bool,
    channel: ChannelWire,
}

#[derive(Deserialize)]
struct ChannelWire {
    #[serde(default)]
    alternatives: Vec<AlternativeWire>,
}

#[derive(Deserialize)]
struct AlternativeWire {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    confidence: f32,
}

#[derive(Deserialize)]
struct UtteranceEndWire {
    #[serde(default)]
    last_word_end: f64,
}

#[derive(Deserialize)]
struct SpeechStartedWire {
    #[serde(default)]
    timestamp: f64,
}

#[derive(Deserialize)]
struct MetadataWire {
    #[serde(default)]
    request_id: String,
}

/// Parses one text frame. Errors mean the frame is not JSON or a known type is missing
/// required fields; the client logs and skips such frames.
pub fn parse_server_message(text: &str) -> Result<ServerMessage, serde_json::Error> {
    let envelope: Envelope = serde_json::from_str(text)?;
    Ok(match envelope.kind.as_str() {
        "Results" => {
            let r: ResultsWire = serde_json::from_str(text)?;
            let (transcript, confidence) = r
                .channel
                .alternatives
                .into_iter()
                .next()
                .map(|a| (a.transcript, a.confidence))
                .unwrap_or_default();
            ServerMessage::Results {
                transcript,
                confidence,
                start: r.start,
                duration: r.duration,
                is_final: r.is_final,
                speech_final: r.speech_final,
                from_finalize: r.from_finalize,
            }
        }
        "UtteranceEnd" => {
            let u: UtteranceEndWire = serde_json::from_str(text)?;
            ServerMessage::UtteranceEnd {
                last_word_end: u.last_word_end,
            }
        }
        "SpeechStarted" => {
            let s: SpeechStartedWire = serde_json::from_str(text)?;
            ServerMessage::SpeechStarted {
                timestamp: s.timestamp,
            }
        }
        "Metadata" => {
            let m: MetadataWire = serde_json::from_str(text)?;
            ServerMessage::Metadata {
                request_id: m.request_id,
            }
        }
        other => ServerMessage::Unknown(other.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_results_example() {
        let text = r#"{"type":"Results","channel_index":[0,1],"duration":1.98,"start":5.99,
            "is_final":true,"speech_final":true,"from_finalize":false,
            "channel":{"alternatives":[{"transcript":"Tell me more about this.","confidence":0.99964225,
            "languages":["en"],"words":[{"word":"tell","start":6.07,"end":6.35,"confidence":0.9978}]}]},
            "metadata":{"request_id":"52cc0efe","model_info":{"name":"2-general-nova"}}}"#;
        match parse_server_message(text).unwrap() {
            ServerMessage::Results {
                transcript,
                start,
                is_final,
                speech_final,
                from_finalize,
                ..
            } => {
                assert_eq!(transcript, "Tell me more about this.");
                assert!((start - 5.99).abs() < 1e-9);
                assert!(is_final && speech_final && !from_finalize);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn optional_flags_default_to_false() {
        let text =
            r#"{"type":"Results","channel":{"alternatives":[{"transcript":"","confidence":0}]}}"#;
        assert!(matches!(
            parse_server_message(text).unwrap(),
            ServerMessage::Results {
                is_final: false,
                speech_final: false,
                ..
            }
        ));
    }

    #[test]
    fn other_types_and_unknowns() {
        assert_eq!(
            parse_server_message(
                r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}"#
            )
            .unwrap(),
            ServerMessage::UtteranceEnd {
                last_word_end: 2.395
            }
        );
        assert_eq!(
            parse_server_message(r#"{"type":"SpeechStarted","channel":[0,1],"timestamp":9.54}"#)
                .unwrap(),
            ServerMessage::SpeechStarted { timestamp: 9.54 }
        );
        assert_eq!(
            parse_server_message(r#"{"type":"Metadata","request_id":"abc","duration":0.0}"#)
                .unwrap(),
            ServerMessage::Metadata {
                request_id: "abc".into()
            }
        );
        assert_eq!(
            parse_server_message(r#"{"type":"Flux","x":1}"#).unwrap(),
            ServerMessage::Unknown("Flux".into())
        );
        assert!(parse_server_message("not json").is_err());
        assert!(parse_server_message(r#"{"type":"Results"}"#).is_err());
    }
}
