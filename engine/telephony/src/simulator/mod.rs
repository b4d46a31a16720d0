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
pub mod playout;

pub use answer::{
    ANSWER_DEADLINE, AnswerDocument, StreamElement, answer_params, fetch_answer, parse_answer,
};

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use vartalaap_audio::{Pcm, mulaw};

use crate::signature::{
    NONCE_V3_HEADER, SIGNATURE_MA_V3_HEADER, SIGNATURE_V3_HEADER, SignatureError, sign_v3,
};
use crate::stream::{Command, Encoding, MediaFormat, MediaFrame, StartInfo, StreamEvent};
use playout::{FRAME_BYTES, Playout};

const TICK: Duration = Duration::from_millis(20);

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

/// Who the call is and where it goes.
#[derive(Debug, Clone)]
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
    /// The server closed the socket (e.g. the bot hung up).
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

fn random_uuid() -> String {
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

fn random_nonce() -> String {
    let n: u64 = rand::random();
    format!("{:020}", n)
}

fn check_stream(doc: AnswerDocument) -> Result<StreamElement, SimError> {
    let stream = match doc {
        AnswerDocument::Stream(s) => s,
        AnswerDocument::NoStream { spoken } => return Err(SimError::NoStream { spoken }),
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

enum Active {
    Saying {
        label: String,
        audio: Vec<u8>,
        pos: usize,
    },
    Silence {
        ticks: u64,
    },
    WaitForBot {
        deadline: Instant,
        heard_bot: bool,
        quiet_ticks: u64,
    },
    WaitForBotStart {
        deadline: Instant,
    },
}

/// Runs one call with `script` and reports what happened.
pub async fn run_call(cfg: &SimConfig, script: Vec<Step>) -> Result<CallReport, SimError> {
    // Prepare caller audio first so a bad file fails before dialling.
    let mut steps = VecDeque::new();
    for step in script {
        steps.push_back(match step {
            Step::Say { label, pcm } => Prepared::Say {
                label,
                audio: caller_mulaw(&pcm)?,
            },
            Step::Silence(d) => Prepared::Silence(d),
            Step::Dtmf(c) => Prepared::Dtmf(c),
            Step::WaitForBot { max } => Prepared::WaitForBot(max),
            Step::WaitForBotStart { max } => Prepared::WaitForBotStart(max),
            Step::Hangup => Prepared::Hangup,
        });
    }

    let call_uuid = cfg.call_uuid.clone().unwrap_or_else(random_uuid);
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| SimError::AnswerUnreachable(e.to_string()))?;
    let params = answer_params(&call_uuid, &cfg.from, &cfg.to);
    let doc = fetch_answer(
        &client,
        &cfg.answer_url,
        &cfg.auth_token,
        &params,
        &random_nonce(),
    )
    .await?;
    let stream = check_stream(parse_answer(&doc)?)?;

    // The upgrade, signed like Plivo's.
    let nonce = random_nonce();
    let signed_url = match cfg.upgrade_signing {
        UpgradeSigning::WsUrl => stream.url.clone(),
        UpgradeSigning::HttpsUrl => stream
            .url
            .replacen("wss://", "https://", 1)
            .replacen("ws://", "http://", 1),
    };
    let signature = sign_v3(&cfg.auth_token, "GET", &signed_url, &[], &nonce)?;
    let mut request = stream
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| SimError::WsConnect(e.to_string()))?;
    let header = |v: &str| HeaderValue::from_str(v).map_err(|e| SimError::WsConnect(e.to_string()));
    request
        .headers_mut()
        .insert(SIGNATURE_V3_HEADER, header(&signature)?);
    request
        .headers_mut()
        .insert(SIGNATURE_MA_V3_HEADER, header(&signature)?);
    request
        .headers_mut()
        .insert(NONCE_V3_HEADER, header(&nonce)?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(resp) => {
                SimError::WsConnect(format!("HTTP {}", resp.status().as_u16()))
            }
            other => SimError::WsConnect(other.to_string()),
        })?;

    let stream_id = random_uuid();
    let extra = stream.attr("extraHeaders").map(str::to_string);
    let mut seq = 1u64;
    let start = StreamEvent::Start(StartInfo {
        stream_id: stream_id.clone(),
        call_id: call_uuid.clone(),
        account_id: Some("MASIMULATOR000000000".into()),
        tracks: vec!["inbound".into()],
        media_format: MediaFormat {
            encoding: Encoding::MuLaw,
            sample_rate: 8000,
        },
        extra_headers: Vec::new(),
    });
    let mut report = CallReport {
        call_uuid,
        stream_id: stream_id.clone(),
        stream,
        turns: Vec::new(),
        bot_audio: Pcm {
            sample_rate: 8000,
            samples: Vec::new(),
        },
        media_frames_sent: 0,
        play_audio_received: 0,
        played: Vec::new(),
        clears: 0,
        sent_dtmf: Vec::new(),
        protocol_errors: Vec::new(),
        overflow_bytes: 0,
        ended: CallEnd::ScriptDone,
    };
    let t0 = Instant::now();
    if let Err(e) = send_text(&mut ws, start.to_json(seq, &stream_id, extra.as_deref())).await {
        report.ended = CallEnd::Dropped(e);
        return Ok(report);
    }
    report.turns.push(TurnReport {
        label: "greeting".into(),
        started_at: Duration::ZERO,
        first_bot_audio: None,
        bot_audio: Duration::ZERO,
        cleared: false,
    });

    let mut playout = Playout::new();
    let mut active: Option<Active> = None;
    let mut chunk = 0u64;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let quiet_ticks_needed = (cfg.bot_quiet.as_millis() / TICK.as_millis()).max(1) as u64;

    'call: loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                if now - t0 > cfg.max_call {
                    report.ended = CallEnd::MaxDuration;
                    break 'call;
                }
                // The bot's side: 20 ms plays; reached checkpoints are acked.
                let tick = playout.tick();
                report.bot_audio.samples.extend(mulaw::decode(&tick.heard));
                for name in tick.played {
                    seq += 1;
                    let ev = StreamEvent::PlayedStream { name: name.clone() };
                    if let Err(e) = send_text(&mut ws, ev.to_json(seq, &stream_id, extra.as_deref())).await {
                        report.ended = CallEnd::Dropped(e);
                        break 'call;
                    }
                    report.played.push(name);
                }
                // The caller's side: advance the script to what this tick sends.
                let frame = loop {
                    match &mut active {
                        None => match steps.pop_front() {
                            None | Some(Prepared::Hangup) => break 'call,
                            Some(Prepared::Say { label, audio }) => {
                                active = Some(Active::Saying { label, audio, pos: 0 });
                            }
                            Some(Prepared::Silence(d)) => {
                                let ticks = (d.as_millis() / TICK.as_millis()) as u64;
                                active = Some(Active::Silence { ticks });
                            }
                            Some(Prepared::Dtmf(digit)) => {
                                seq += 1;
                                let ev = StreamEvent::Dtmf { digit };
                                if let Err(e) = send_text(&mut ws, ev.to_json(seq, &stream_id, extra.as_deref())).await {
                                    report.ended = CallEnd::Dropped(e);
                                    break 'call;
                                }
                                report.turns.push(new_turn(format!("dtmf {digit}"), now - t0));
                            }
                            Some(Prepared::WaitForBot(max)) => {
                                active = Some(Active::WaitForBot { deadline: now + max, heard_bot: false, quiet_ticks: 0 });
                            }
                            Some(Prepared::WaitForBotStart(max)) => {
                                active = Some(Active::WaitForBotStart { deadline: now + max });
                            }
                        },
                        Some(Active::Saying { label, audio, pos }) => {
                            if *pos < audio.len() {
                                let f = audio[*pos..*pos + FRAME_BYTES].to_vec();
                                *pos += FRAME_BYTES;
                                if *pos >= audio.len() {
                                    // This is the caller's last frame: the turn starts when it is sent.
                                    report.turns.push(new_turn(std::mem::take(label), now - t0));
                                    active = None;
                                }
                                break f;
                            }
                            active = None;
                        }
                        Some(Active::Silence { ticks }) => {
                            if *ticks == 0 {
                                active = None;
                                continue;
                            }
                            *ticks -= 1;
                            break vec![mulaw::SILENCE; FRAME_BYTES];
                        }
                        Some(Active::WaitForBot { deadline, heard_bot, quiet_ticks }) => {
                            if tick.bot_audible {
                                *heard_bot = true;
                                *quiet_ticks = 0;
                            } else if playout.is_idle() {
                                *quiet_ticks += 1;
                            }
                            let done = now >= *deadline || (*heard_bot && *quiet_ticks >= quiet_ticks_needed);
                            if done {
                                active = None;
                                continue;
                            }
                            break vec![mulaw::SILENCE; FRAME_BYTES];
                        }
                        Some(Active::WaitForBotStart { deadline }) => {
                            if tick.bot_audible || now >= *deadline {
                                active = None;
                                continue;
                            }
                            break vec![mulaw::SILENCE; FRAME_BYTES];
                        }
                    }
                };
                seq += 1;
                let media = StreamEvent::Media(MediaFrame {
                    track: "inbound".into(),
                    timestamp: chrono::Utc::now().timestamp_millis().to_string(),
                    chunk,
                    payload: frame,
                });
                chunk += 1;
                if let Err(e) = send_text(&mut ws, media.to_json(seq, &stream_id, extra.as_deref())).await {
                    report.ended = CallEnd::Dropped(e);
                    break 'call;
                }
                report.media_frames_sent += 1;
            }
            msg = ws.next() => {
                let now = Instant::now();
                let text = match msg {
                    None => { report.ended = CallEnd::ServerClosed; break 'call; }
                    Some(Err(e)) => { report.ended = CallEnd::Dropped(e.to_string()); break 'call; }
                    Some(Ok(Message::Close(_))) => { report.ended = CallEnd::ServerClosed; break 'call; }
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        report.protocol_errors.push("binary frame: Plivo accepts JSON text frames only".into());
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                match Command::parse(text.as_str()) {
                    Ok(Command::PlayAudio { mulaw, .. }) => {
                        report.play_audio_received += 1;
                        if let Some(turn) = report.turns.last_mut() {
                            turn.first_bot_audio.get_or_insert((now - t0).saturating_sub(turn.started_at));
                            turn.bot_audio += Duration::from_micros(mulaw.len() as u64 * 125);
                        }
                        playout.push_audio(mulaw);
                    }
                    Ok(Command::Checkpoint { name, .. }) => playout.push_checkpoint(name),
                    Ok(Command::ClearAudio { .. }) => {
                        playout.clear();
                        report.clears += 1;
                        if let Some(turn) = report.turns.last_mut() {
                            turn.cleared = true;
                        }
                        seq += 1;
                        if let Err(e) = send_text(&mut ws, StreamEvent::ClearedAudio.to_json(seq, &stream_id, extra.as_deref())).await {
                            report.ended = CallEnd::Dropped(e);
                            break 'call;
                        }
                    }
                    Ok(Command::SendDtmf { digits }) => report.sent_dtmf.push(digits),
                    Err(e) => report.protocol_errors.push(e.to_string()),
                }
            }
        }
    }
    report.overflow_bytes = playout.overflow_bytes;
    if matches!(report.ended, CallEnd::ScriptDone | CallEnd::MaxDuration) {
        // Plivo ends the call by closing; give the server a moment to finish the handshake.
        let _ = ws.send(Message::Close(None)).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
    Ok(report)
}

async fn send_text(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Prepared {
    Say { label: String, audio: Vec<u8> },
    Silence(Duration),
    Dtmf(char),
    WaitForBot(Duration),
    WaitForBotStart(Duration),
    Hangup,
}

fn new_turn(label: String, started_at: Duration) -> TurnReport {
    TurnReport {
        label,
        started_at,
        first_bot_audio: None,
        bot_audio: Duration::ZERO,
        cleared: false,
    }
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
}
