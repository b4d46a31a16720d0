//! One simulated call: the answer POST, the stream socket and its 20 ms clock, and what
//! Plivo does after the socket closes.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use vartalaap_audio::{Pcm, mulaw};

use super::answer::{answer_params, fetch_xml, parse_answer};
use super::callbacks;
use super::playout::{FRAME_BYTES, Playout};
use super::*;
use crate::signature::{NONCE_V3_HEADER, SIGNATURE_MA_V3_HEADER, SIGNATURE_V3_HEADER, sign_v3};
use crate::stream::{Command, Encoding, MediaFormat, MediaFrame, StartInfo, StreamEvent};

const TICK: Duration = Duration::from_millis(20);

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
    let mut builder = reqwest::Client::builder();
    if let Some(tls) = &cfg.tls {
        builder = builder.use_preconfigured_tls(rustls::ClientConfig::clone(tls));
    }
    let client = builder
        .build()
        .map_err(|e| SimError::AnswerUnreachable(e.to_string()))?;
    run_call_with(&client, cfg, script).await
}

/// [`run_call`] with a shared HTTP client: for load generation, where hundreds of simulated
/// calls should share one connection pool.
pub async fn run_call_with(
    client: &reqwest::Client,
    cfg: &SimConfig,
    script: Vec<Step>,
) -> Result<CallReport, SimError> {
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
            Step::Stop => Prepared::Stop,
        });
    }

    let call_uuid = cfg.call_uuid.clone().unwrap_or_else(random_uuid);
    let client = client.clone();
    let stream = answer(&client, cfg, &call_uuid).await?;
    let answered = chrono::Utc::now();
    let mut ws = connect_stream(cfg, &stream).await?;

    let stream_id = random_uuid();
    let extra = stream.attr("extraHeaders").map(str::to_string);
    let seq = 1u64;
    let start = start_event(&call_uuid, &stream_id);
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
        server_close: None,
        transferred_to: None,
        hangup: None,
        callbacks: Vec::new(),
        duration: Duration::ZERO,
    };
    let start_json = start.to_json(seq, &stream_id, extra.as_deref());
    // Plivo posts StartStream on its own schedule; don't hold the media clock for it.
    let start_status = {
        let (client, cfg, stream) = (client.clone(), cfg.clone(), report.stream.clone());
        let (call, sid) = (report.call_uuid.clone(), stream_id.clone());
        tokio::spawn(async move {
            callbacks::stream_status(&client, &cfg, &stream, &call, &sid, true, None).await
        })
    };
    let t0 = Instant::now();
    drive(&mut ws, cfg, steps, &mut report, start_json, extra).await;
    let streamed = t0.elapsed();

    if let Ok(Some(cb)) = start_status.await {
        report.callbacks.push(cb);
    }
    let stream = report.stream.clone();
    if let Some(cb) = callbacks::stream_status(
        &client,
        cfg,
        &stream,
        &report.call_uuid,
        &stream_id,
        false,
        Some(streamed),
    )
    .await
    {
        report.callbacks.push(cb);
    }
    let hangup = callbacks::after_stream(&client, cfg, &stream, &mut report).await;
    let ended = chrono::Utc::now();
    report.duration = (ended - answered).to_std().unwrap_or_default();
    if let Some(cb) =
        callbacks::hangup_callback(&client, cfg, &report.call_uuid, &hangup, answered, ended).await
    {
        report.callbacks.push(cb);
    }
    report.hangup = Some(hangup);
    Ok(report)
}

/// The answer leg: POSTs the signed answer request for `call_uuid` and returns the `<Stream>`
/// of the document, refused (as Plivo would) when it cannot carry a bidirectional µ-law call.
pub async fn answer(
    client: &reqwest::Client,
    cfg: &SimConfig,
    call_uuid: &str,
) -> Result<StreamElement, SimError> {
    let params = answer_params(call_uuid, &cfg.from, &cfg.to);
    let doc = fetch_xml(client, &cfg.answer_url, &cfg.auth_token, &params).await?;
    check_stream(parse_answer(&doc)?)
}

/// Opens the stream's WebSocket with the upgrade signed the way Plivo signs it.
pub async fn connect_stream(
    cfg: &SimConfig,
    stream: &StreamElement,
) -> Result<StreamSocket, SimError> {
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
    let connector = cfg.tls.clone().map(tokio_tungstenite::Connector::Rustls);
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector)
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(resp) => {
                SimError::WsConnect(format!("HTTP {}", resp.status().as_u16()))
            }
            other => SimError::WsConnect(other.to_string()),
        })?;
    Ok(ws)
}

/// Plivo's `start` event for an inbound µ-law stream of `call_uuid`.
pub fn start_event(call_uuid: &str, stream_id: &str) -> StreamEvent {
    StreamEvent::Start(StartInfo {
        stream_id: stream_id.to_string(),
        call_id: call_uuid.to_string(),
        account_id: Some("MASIMULATOR000000000".into()),
        tracks: vec!["inbound".into()],
        media_format: MediaFormat {
            encoding: Encoding::MuLaw,
            sample_rate: 8000,
        },
        extra_headers: Vec::new(),
    })
}

/// The stream itself: `start`, then the 20 ms clock until the script ends or the socket closes.
async fn drive(
    ws: &mut StreamSocket,
    cfg: &SimConfig,
    mut steps: VecDeque<Prepared>,
    report: &mut CallReport,
    start_json: String,
    extra: Option<String>,
) {
    let stream_id = report.stream_id.clone();
    let mut seq = 1u64;
    let t0 = Instant::now();
    if let Err(e) = send_text(ws, start_json).await {
        report.ended = CallEnd::Dropped(e);
        return;
    }
    report
        .turns
        .push(new_turn("greeting".into(), Duration::ZERO));

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
                    if let Err(e) = send_text(ws, ev.to_json(seq, &stream_id, extra.as_deref())).await {
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
                                if let Err(e) = send_text(ws, ev.to_json(seq, &stream_id, extra.as_deref())).await {
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
                            Some(Prepared::Stop) => {
                                seq += 1;
                                let ev = StreamEvent::Stop;
                                if let Err(e) = send_text(ws, ev.to_json(seq, &stream_id, extra.as_deref())).await {
                                    report.ended = CallEnd::Dropped(e);
                                    break 'call;
                                }
                                report.ended = await_server_close(ws, report).await;
                                break 'call;
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
                if let Err(e) = send_text(ws, media.to_json(seq, &stream_id, extra.as_deref())).await {
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
                    Some(Ok(Message::Close(frame))) => {
                        report.server_close = Some(server_close(frame));
                        report.ended = CallEnd::ServerClosed;
                        break 'call;
                    }
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
                            let since_turn = (now - t0).saturating_sub(turn.started_at);
                            turn.first_bot_audio.get_or_insert(since_turn);
                            if turn.first_audible_bot_audio.is_none() && is_audible(&mulaw) {
                                turn.first_audible_bot_audio = Some(since_turn);
                            }
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
                        if let Err(e) = send_text(ws, StreamEvent::ClearedAudio.to_json(seq, &stream_id, extra.as_deref())).await {
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
}

/// The close code and reason of a close frame (1005 when it carried none, as RFC 6455 says a
/// receiver reports it).
fn server_close(frame: Option<tungstenite::protocol::CloseFrame>) -> ServerClose {
    match frame {
        Some(f) => ServerClose {
            code: f.code.into(),
            reason: f.reason.to_string(),
        },
        None => ServerClose {
            code: 1005,
            reason: String::new(),
        },
    }
}

/// After `stop`: reads (and drops) what the server still sends until it closes the socket.
async fn await_server_close(ws: &mut StreamSocket, report: &mut CallReport) -> CallEnd {
    let wait = tokio::time::timeout(STOP_CLOSE_WAIT, async {
        loop {
            match ws.next().await {
                None => return CallEnd::ServerClosed,
                Some(Err(e)) => return CallEnd::Dropped(e.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    report.server_close = Some(server_close(frame));
                    return CallEnd::ServerClosed;
                }
                Some(Ok(_)) => {}
            }
        }
    });
    wait.await.unwrap_or_else(|_| {
        CallEnd::Dropped(format!(
            "the server did not close the socket within {} s of `stop`",
            STOP_CLOSE_WAIT.as_secs()
        ))
    })
}

async fn send_text(ws: &mut StreamSocket, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

/// The stream's WebSocket, as the caller's side holds it.
pub type StreamSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Prepared {
    Say { label: String, audio: Vec<u8> },
    Silence(Duration),
    Dtmf(char),
    WaitForBot(Duration),
    WaitForBotStart(Duration),
    Hangup,
    Stop,
}

fn new_turn(label: String, started_at: Duration) -> TurnReport {
    TurnReport {
        label,
        started_at,
        first_bot_audio: None,
        first_audible_bot_audio: None,
        bot_audio: Duration::ZERO,
        cleared: false,
    }
}
