use super::*;
use crate::stream::Command;

const START: &str = r#"{
  "event": "start",
  "sequenceNumber": 1,
  "start": {
    "callId": "12345678-1234-1234-1234-123456789abc",
    "streamId": "87654321-4321-4321-4321-cba987654321",
    "accountId": "MAXXXXXXXXXXXXXXXXXX",
    "tracks": ["inbound"],
    "mediaFormat": { "encoding": "audio/x-mulaw", "sampleRate": 8000 }
  },
  "extra_headers": "tenant=demo,callref=abc123"
}"#;

const MEDIA: &str = r#"{"event":"media","sequenceNumber":42,"streamId":"s-1","media":{"track":"inbound","timestamp":"1705312200000","chunk":41,"payload":"/////w=="},"extra_headers":"tenant=demo"}"#;
const DTMF: &str = r#"{ "event": "dtmf", "sequenceNumber": 57, "streamId": "s", "dtmf": { "track": "inbound", "digit": "5", "timestamp": "1705312201234" }, "extra_headers": "x=y" }"#;
const PLAYED: &str =
    r#"{ "event": "playedStream", "sequenceNumber": 80, "streamId": "s", "name": "turn-3" }"#;
const CLEARED: &str = r#"{ "sequenceNumber": 0, "event": "clearedAudio", "streamId": "s" }"#;

#[test]
fn documented_frames_parse_exactly() {
    let StreamEvent::Start(s) = StreamEvent::parse(START).unwrap() else {
        panic!("not start")
    };
    assert_eq!(s.call_id, "12345678-1234-1234-1234-123456789abc");
    assert_eq!(s.stream_id, "87654321-4321-4321-4321-cba987654321");
    assert_eq!(s.account_id.as_deref(), Some("MAXXXXXXXXXXXXXXXXXX"));
    assert_eq!(s.tracks, vec!["inbound"]);
    assert_eq!(
        s.media_format,
        MediaFormat {
            encoding: Encoding::MuLaw,
            sample_rate: 8000
        }
    );
    assert_eq!(s.extra_headers.len(), 2);

    assert_eq!(
        StreamEvent::parse(MEDIA).unwrap(),
        StreamEvent::Media(MediaFrame {
            track: "inbound".into(),
            timestamp: "1705312200000".into(),
            chunk: 41,
            payload: vec![0xFF; 4],
        })
    );
    assert_eq!(
        StreamEvent::parse(DTMF).unwrap(),
        StreamEvent::Dtmf { digit: '5' }
    );
    assert_eq!(
        StreamEvent::parse(PLAYED).unwrap(),
        StreamEvent::PlayedStream {
            name: "turn-3".into()
        }
    );
    assert_eq!(
        StreamEvent::parse(r#"{"event":"played","name":"t"}"#).unwrap(),
        StreamEvent::PlayedStream { name: "t".into() }
    );
    assert_eq!(
        StreamEvent::parse(CLEARED).unwrap(),
        StreamEvent::ClearedAudio
    );
    assert_eq!(
        StreamEvent::parse(r#"{"event":"stop"}"#).unwrap(),
        StreamEvent::Stop
    );
    assert_eq!(
        StreamEvent::parse(r#"{"event":"playFailed","reason":"x"}"#).unwrap(),
        StreamEvent::Unknown {
            event: "playFailed".into()
        }
    );
}

#[test]
fn lenient_where_plivo_is_inconsistent() {
    // Counters as strings, timestamp as a number, no track, padded base64.
    let m =
        r#"{"event":"media","media":{"timestamp":1705312200000,"chunk":"7","payload":" AAE= "}}"#;
    assert_eq!(
        StreamEvent::parse(m).unwrap(),
        StreamEvent::Media(MediaFrame {
            track: "inbound".into(),
            timestamp: "1705312200000".into(),
            chunk: 7,
            payload: vec![0, 1],
        })
    );
    // sampleRate as a string, tracks missing, extra_headers as an object.
    let s = r#"{"event":"start","start":{"callId":"c","streamId":"s","mediaFormat":{"encoding":"audio/x-l16","sampleRate":"16000"}},"extra_headers":{"a":"1"}}"#;
    let StreamEvent::Start(s) = StreamEvent::parse(s).unwrap() else {
        panic!()
    };
    assert_eq!(s.media_format.sample_rate, 16000);
    assert_eq!(s.media_format.encoding, Encoding::L16);
    assert_eq!(s.tracks, vec!["inbound"]);
    assert_eq!(s.extra_headers, vec![("a".to_string(), "1".to_string())]);
}

#[test]
fn malformed_frames_give_precise_errors() {
    use FrameError as F;
    let cases: &[(&str, FrameError)] = &[
        ("[1,2]", F::NotAnObject),
        ("{}", F::MissingEvent),
        (r#"{"event":5}"#, F::MissingEvent),
        (
            r#"{"event":"media"}"#,
            F::MissingField {
                event: "media",
                field: "media",
            },
        ),
        (
            r#"{"event":"media","media":[]}"#,
            F::WrongType {
                event: "media",
                field: "media",
                expected: "an object",
            },
        ),
        (
            r#"{"event":"media","media":{"payload":5}}"#,
            F::WrongType {
                event: "media",
                field: "payload",
                expected: "a string",
            },
        ),
        (
            r#"{"event":"media","media":{"payload":"AA==","chunk":-1}}"#,
            F::WrongType {
                event: "media",
                field: "chunk",
                expected: "a non-negative integer",
            },
        ),
        (
            r#"{"event":"start","start":{"callId":"c","streamId":"s"}}"#,
            F::MissingField {
                event: "start",
                field: "mediaFormat",
            },
        ),
        (
            r#"{"event":"start","start":{"callId":"c","streamId":"s","tracks":"inbound","mediaFormat":{"encoding":"x","sampleRate":8000}}}"#,
            F::WrongType {
                event: "start",
                field: "tracks",
                expected: "an array of strings",
            },
        ),
        (
            r#"{"event":"start","start":{"callId":"c","streamId":"s","mediaFormat":{"encoding":"x","sampleRate":99999999999}}}"#,
            F::WrongType {
                event: "start",
                field: "sampleRate",
                expected: "a sample rate in Hz",
            },
        ),
        (
            r#"{"event":"dtmf","dtmf":{"digit":"12"}}"#,
            F::BadDigit("12".into()),
        ),
        (
            r#"{"event":"dtmf","dtmf":{"digit":"x"}}"#,
            F::BadDigit("x".into()),
        ),
        (
            r#"{"event":"playedStream"}"#,
            F::MissingField {
                event: "playedStream",
                field: "name",
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(&StreamEvent::parse(input).unwrap_err(), want, "{input}");
    }
    assert!(matches!(
        StreamEvent::parse(r#"{"event":"media","media":{"payload":"@@@"}}"#),
        Err(F::BadBase64(_))
    ));
    let err = StreamEvent::parse(&MEDIA[..MEDIA.len() / 2]).unwrap_err();
    assert!(matches!(err, F::NotJson { line: 1, .. }), "{err}");
    assert!(err.to_string().contains("eof"), "{err}");
    let huge = format!(
        r#"{{"event":"media","media":{{"payload":"{}"}}}}"#,
        "A".repeat(MAX_FRAME_BYTES)
    );
    assert!(matches!(StreamEvent::parse(&huge), Err(F::TooLarge { .. })));
    // Deep nesting hits serde_json's recursion limit: an error, not a stack overflow.
    let deep = format!(
        r#"{{"event":"x","a":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(StreamEvent::parse(&deep), Err(F::NotJson { .. })));
}

/// Deterministic xorshift so the "fuzz" is reproducible without extra crates.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_frames_never_panic() {
    let seeds = [START, MEDIA, DTMF, PLAYED, CLEARED];
    let alphabet: &[u8] = b"{}[]\":,0123456789abcdeflnrstu\\ /+=-\x00\xff";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed_ok = 0;
    for seed in seeds {
        // Every truncation.
        for cut in 0..seed.len() {
            let _ = StreamEvent::parse(&seed[..cut]);
            let _ = Command::parse(&seed[..cut]);
        }
        // Random byte edits (lossy so the input stays a &str like a WS text frame).
        for _ in 0..3_000 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let pos = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[pos] = alphabet[rng.below(alphabet.len())],
                    1 => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, alphabet[rng.below(alphabet.len())]),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if StreamEvent::parse(&text).is_ok() {
                parsed_ok += 1;
            }
            let _ = Command::parse(&text);
        }
    }
    // Some edits land in string contents and still parse; the test is about not panicking,
    // but make sure the mutator is not producing only garbage.
    assert!(parsed_ok > 0);
}

#[test]
fn events_round_trip_through_the_plivo_side_serializer() {
    let events = [
        StreamEvent::parse(START).unwrap(),
        StreamEvent::parse(MEDIA).unwrap(),
        StreamEvent::Media(MediaFrame {
            track: "inbound".into(),
            timestamp: "0".into(),
            chunk: 0,
            payload: (0..=255).collect(),
        }),
        StreamEvent::Dtmf { digit: '#' },
        StreamEvent::PlayedStream {
            name: "r1-s2".into(),
        },
        StreamEvent::ClearedAudio,
        StreamEvent::Stop,
    ];
    for (i, e) in events.iter().enumerate() {
        let json = e.to_json(i as u64 + 1, "s-1", Some("tenant=demo,callref=abc123"));
        assert_eq!(&StreamEvent::parse(&json).unwrap(), e, "{json}");
    }
}

#[test]
fn commands_serialize_exactly_and_round_trip() {
    let play = Command::PlayAudio {
        mulaw: vec![0xFF, 0x7F, 0x00],
        stream_id: None,
    };
    assert_eq!(
        play.to_json(),
        r#"{"event":"playAudio","media":{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":"/38A"}}"#
    );
    let clear = Command::ClearAudio {
        stream_id: "s-1".into(),
    };
    assert_eq!(
        clear.to_json(),
        r#"{"event":"clearAudio","streamId":"s-1"}"#
    );
    let cp = Command::Checkpoint {
        stream_id: "s-1".into(),
        name: "r1-s0".into(),
    };
    assert_eq!(
        cp.to_json(),
        r#"{"event":"checkpoint","streamId":"s-1","name":"r1-s0"}"#
    );
    let dtmf = Command::SendDtmf {
        digits: "12#".into(),
    };
    assert_eq!(dtmf.to_json(), r#"{"event":"sendDTMF","dtmf":"12#"}"#);
    let with_id = Command::PlayAudio {
        mulaw: vec![1; 160],
        stream_id: Some("s-1".into()),
    };
    assert_eq!(
        with_id.to_json(),
        format!(
            r#"{{"event":"playAudio","streamId":"s-1","media":{{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":"{}"}}}}"#,
            "AQEB".repeat(160 / 3) + "AQ=="
        )
    );
    // A stream id that needs escaping still gives valid JSON.
    let odd_id = Command::PlayAudio {
        mulaw: vec![0xFF; 160],
        stream_id: Some("s\"1\\".into()),
    };
    for c in [play, clear, cp, dtmf, with_id, odd_id] {
        assert_eq!(Command::parse(&c.to_json()).unwrap(), c);
    }
}

#[test]
fn plivo_side_refuses_what_plivo_would_not_play() {
    let l16 = r#"{"event":"playAudio","media":{"contentType":"audio/x-l16","sampleRate":8000,"payload":"AAA="}}"#;
    assert!(matches!(
        Command::parse(l16),
        Err(FrameError::CodecMismatch { .. })
    ));
    let with_rate = r#"{"event":"playAudio","media":{"contentType":"audio/x-mulaw;rate=8000","sampleRate":8000,"payload":"AAA="}}"#;
    assert!(matches!(
        Command::parse(with_rate),
        Err(FrameError::CodecMismatch { .. })
    ));
    let string_rate = r#"{"event":"playAudio","media":{"contentType":"audio/x-mulaw","sampleRate":"8000","payload":"AAA="}}"#;
    assert!(Command::parse(string_rate).is_ok());
    let wav = Command::PlayAudio {
        mulaw: b"RIFF\0\0\0\0WAVE".to_vec(),
        stream_id: None,
    };
    assert_eq!(
        Command::parse(&wav.to_json()),
        Err(FrameError::Container("RIFF/WAV"))
    );
    assert!(Command::parse(r#"{"event":"dance"}"#).is_err());
}

/// The fast readers of `media` and `playAudio` give exactly what the general readers give,
/// or leave the frame to them: on the documented frames, on odd-but-valid ones, and on
/// thousands of mutations of both.
#[test]
fn fast_readers_agree_with_the_general_readers() {
    let play = Command::PlayAudio {
        mulaw: vec![0x55; 160],
        stream_id: Some("s-1".into()),
    }
    .to_json();
    let media = StreamEvent::Media(MediaFrame {
        track: "inbound".into(),
        timestamp: "17".into(),
        chunk: 17,
        payload: vec![0xFF; 160],
    })
    .to_json(9, "s-1", Some("a=b"));
    let seeds = [
        MEDIA.to_string(),
        media,
        play,
        r#"{"event":"media","media":{"timestamp":1705312200000,"chunk":"7","payload":" AAE= "}}"#.into(),
        r#"{"event":"media","media":{"track":null,"timestamp":null,"chunk":null,"payload":"AA=="}}"#.into(),
        r#"{"event":"media","media":{"payload":"AA==","chunk":-1}}"#.into(),
        r#"["media",{"payload":"AA=="}]"#.into(),
        r#"{"event":"media","media":["AA=="]}"#.into(),
        r#"{"event":"playAudio","streamId":7,"media":{"contentType":"audio/x-mulaw","sampleRate":"8000","payload":"AAA="}}"#.into(),
        r#"{"event":"playAudio","media":{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":"UklGRg=="}}"#.into(),
    ];
    let alphabet: &[u8] = b"{}[]\":,0123456789abcdeflnrstu\\ /+=-";
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let (mut fast_media, mut fast_play) = (0, 0);
    let mut check = |text: &str| {
        if let Some(event) = fast::media(text) {
            fast_media += 1;
            assert_eq!(StreamEvent::parse_general(text), Ok(event), "{text}");
        }
        if let Some(command) = crate::stream::command::fast_play_audio(text) {
            fast_play += 1;
            assert_eq!(Command::parse_general(text), Ok(command), "{text}");
        }
    };
    for seed in &seeds {
        check(seed);
        for _ in 0..3_000 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..1 + rng.below(3) {
                let pos = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[pos] = alphabet[rng.below(alphabet.len())],
                    1 => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, alphabet[rng.below(alphabet.len())]),
                }
            }
            check(&String::from_utf8_lossy(&bytes));
        }
    }
    // The fast readers did read (mutations inside payloads and ids keep frames valid).
    assert!(
        fast_media > 100 && fast_play > 100,
        "{fast_media} {fast_play}"
    );
    // Frames they must leave to the general reader: arrays for objects, negative counters.
    assert!(fast::media(&seeds[5]).is_none());
    assert!(fast::media(&seeds[6]).is_none());
    assert!(StreamEvent::parse(&seeds[7]).is_err());
    assert!(Command::parse(&seeds[9]).is_err());
}
