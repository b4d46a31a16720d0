//! What the voice tests share: Plivo's side of a call over the session's channels (with the
//! simulator's playout model), speech-like audio, and whether espeak-ng is installed.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vartalaap_audio::mulaw;
use vartalaap_telephony::simulator::playout::Playout;
use vartalaap_telephony::stream::{Encoding, MediaFormat, MediaFrame, StartInfo};
use vartalaap_telephony::{Command, StreamEvent};
use vartalaap_voice::{CallSummary, VoiceService};

pub fn espeak() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok()
}

/// Loud, speech-like audio (a warbling tone): both the energy VAD and mock Deepgram hear it.
pub fn speech_like(ms: usize) -> Vec<u8> {
    let samples: Vec<i16> = (0..ms * 8)
        .map(|i| {
            let t = i as f32 / 8000.0;
            let f = 180.0 + 60.0 * (t * 5.0 * std::f32::consts::TAU).sin();
            ((t * f * std::f32::consts::TAU).sin() * 12_000.0) as i16
        })
        .collect();
    mulaw::encode(&samples)
}

/// Plivo's side of one call, over the session's channels.
pub struct Caller {
    pub events: mpsc::Sender<StreamEvent>,
    pub commands: mpsc::Receiver<Command>,
    pub playout: Playout,
    pub chunk: u64,
    pub clears: usize,
}

impl Caller {
    pub async fn dial(svc: &Arc<VoiceService>, uuid: &str) -> (Caller, JoinHandle<CallSummary>) {
        Self::dial_with(svc, uuid, 256).await
    }

    /// Dials with room for `out_capacity` commands between the session and this caller (the
    /// server's socket pump uses 256).
    pub async fn dial_with(
        svc: &Arc<VoiceService>,
        uuid: &str,
        out_capacity: usize,
    ) -> (Caller, JoinHandle<CallSummary>) {
        let token = svc
            .answer(
                uuid,
                "himalayan_kitchen",
                Some("919876543210"),
                chrono::Utc::now(),
            )
            .unwrap();
        let call = svc.admit_stream(&token, chrono::Utc::now()).unwrap();
        assert!(
            svc.admit_stream(&token, chrono::Utc::now()).is_err(),
            "a stream token works once"
        );
        let (events, ev_rx) = mpsc::channel(256);
        let (out_tx, commands) = mpsc::channel(out_capacity);
        let session = svc.run_call(call, ev_rx, out_tx);
        events
            .send(StreamEvent::Start(StartInfo {
                stream_id: "stream-1".into(),
                call_id: uuid.into(),
                account_id: None,
                tracks: vec!["inbound".into()],
                media_format: MediaFormat {
                    encoding: Encoding::MuLaw,
                    sample_rate: 8000,
                },
                extra_headers: Vec::new(),
            }))
            .await
            .unwrap();
        (
            Caller {
                events,
                commands,
                playout: Playout::new(),
                chunk: 0,
                clears: 0,
            },
            session,
        )
    }

    /// 20 ms of call time: play the bot, send one caller frame. Returns whether the bot was
    /// audible, or `None` once the session closed the line.
    pub async fn tick(&mut self, frame: Option<&[u8]>) -> Option<bool> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        loop {
            match self.commands.try_recv() {
                Ok(Command::PlayAudio { mulaw, .. }) => self.playout.push_audio(mulaw),
                Ok(Command::Checkpoint { name, .. }) => self.playout.push_checkpoint(name),
                Ok(Command::ClearAudio { .. }) => {
                    self.clears += 1;
                    self.playout.clear();
                    let _ = self.events.send(StreamEvent::ClearedAudio).await;
                }
                Ok(Command::SendDtmf { .. }) => {}
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    if self.playout.is_idle() {
                        return None;
                    }
                    break;
                }
            }
        }
        let t = self.playout.tick();
        for name in t.played {
            let _ = self.events.send(StreamEvent::PlayedStream { name }).await;
        }
        self.chunk += 1;
        let mut payload = frame.map(<[u8]>::to_vec).unwrap_or_default();
        payload.resize(160, mulaw::SILENCE);
        let media = StreamEvent::Media(MediaFrame {
            track: "inbound".into(),
            timestamp: String::new(),
            chunk: self.chunk,
            payload,
        });
        if self.events.send(media).await.is_err() {
            return None;
        }
        Some(t.bot_audible)
    }

    /// Quiet until the bot has spoken and been silent for 800 ms; false if the line closed.
    pub async fn wait_bot(&mut self) -> bool {
        let (mut heard, mut quiet) = (false, 0);
        for _ in 0..2000 {
            match self.tick(None).await {
                None => return false,
                Some(true) => {
                    heard = true;
                    quiet = 0;
                }
                Some(false) => quiet += 1,
            }
            if heard && quiet >= 40 {
                return true;
            }
        }
        panic!("the bot never finished speaking");
    }

    pub async fn say(&mut self, audio: &[u8]) {
        for frame in audio.chunks(160) {
            self.tick(Some(frame)).await;
        }
    }

    /// Plays out whatever the bot still sends until the session closes the line.
    pub async fn until_closed(&mut self) {
        for _ in 0..3000 {
            if self.tick(None).await.is_none() {
                return;
            }
        }
        panic!("the call never ended");
    }
}
