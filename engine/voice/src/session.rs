//! One phone call: a single task that owns the conversation and reacts to everything that
//! happens on the line (see `docs/VOICE.md` for the rules in prose).
//!
//! ```text
//! Plivo events ─┐                       ┌─▶ speaker task ─▶ forwarder ─▶ Plivo commands
//! STT events ───┤                       │   (TTS, pacing,    (drops cleared audio)
//! VAD reports ──┼─▶ select! loop ──▶ engine turn (spawn_blocking, tools on the store)
//! speaker ──────┤        │
//! timers ───────┘        └─▶ call log: turns with timings, outcome, caller preferences
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;
use vartalaap_audio::{SegmenterConfig, SpeechEvent, mulaw};
use vartalaap_config::{BusinessSnapshot, Lang};
use vartalaap_core::{HangupReason, Input, Output};
use vartalaap_providers::deepgram::{DeepgramStt, SttEvent, SttLanguage, SttSender};
use vartalaap_store::{CallOutcome, PhoneNumber};
use vartalaap_telephony::{Command, PlaybackTracker, StreamEvent};

use crate::backchannel::is_backchannel;
use crate::engine::{CallLog, Engine};
use crate::listen::{self, VadInput, VadReport};
use crate::phrases::{self, Phrase};
use crate::service::VoiceService;
use crate::speaker::{self, SpeakJob, SpeakerEvent, Tagged};
use crate::timing::TurnMarks;

/// How long to wait for Plivo's `start` event after the socket opens.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// After the last frame is sent, how long to wait for the final `playedStream` before treating
/// the reply as heard (Plivo may not ack; the pacer's lead is 40 ms).
const PLAYOUT_GRACE: Duration = Duration::from_millis(600);
/// Without a recogniser, caller speech this long during bot speech is a barge-in.
const OFFLINE_BARGE_IN: Duration = Duration::from_millis(600);
/// End-of-turn silence for ordinary questions.
const END_SILENCE_MS: u64 = 700;
/// Longest end-of-turn silence (steps that wait long for names or numbers).
const MAX_END_SILENCE_MS: u64 = 1500;

/// Who is calling and where; decided by the answer URL.
#[derive(Debug, Clone)]
pub struct CallParams {
    /// Plivo's `CallUUID`.
    pub call_uuid: String,
    /// The business dialled.
    pub business_id: String,
    /// Caller id, when Plivo sent a valid one.
    pub caller: Option<PhoneNumber>,
}

/// How a call went, for the route and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSummary {
    /// The call log id, when one was created.
    pub call_log_id: Option<u64>,
    /// How it ended.
    pub outcome: CallOutcome,
    /// Turns written to the call log.
    pub turns: u32,
}

/// End-of-turn silence for a listen step: longer when the flow gives the caller more patience.
pub fn end_silence_ms(patience_ms: u32) -> u64 {
    let default = u64::from(vartalaap_core::LISTEN_PATIENCE_MS);
    let scaled = END_SILENCE_MS * u64::from(patience_ms) / default.max(1);
    scaled.clamp(END_SILENCE_MS, MAX_END_SILENCE_MS)
}

/// The Deepgram language for a business: its only language, or `multi` for code-switching.
fn stt_language(snapshot: &BusinessSnapshot) -> SttLanguage {
    let langs = &snapshot.business.languages.supported;
    if langs.iter().all(|l| *l == Lang::En) {
        SttLanguage::English
    } else if langs.iter().all(|l| *l == Lang::Hi) {
        SttLanguage::Hindi
    } else {
        SttLanguage::Multi
    }
}

/// What to do once the current reply has been heard.
#[derive(Debug, Clone, PartialEq)]
enum EndAction {
    Hangup(CallOutcome),
    Transfer(Option<String>),
}

#[derive(Debug)]
struct Reply {
    generation: u64,
    cancel: CancellationToken,
    marks: TurnMarks,
    lang: Lang,
    started_utc: chrono::DateTime<chrono::Utc>,
    sent_all: Option<Instant>,
    /// The line cannot be cut by the caller (goodbyes before hanging up).
    uninterruptible: bool,
}

#[derive(Debug, Clone, Copy)]
struct Listening {
    patience: Duration,
    dtmf: bool,
}

struct Stt {
    audio: mpsc::Sender<Bytes>,
    sender: SttSender,
    events: mpsc::Receiver<SttEvent>,
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

struct Session {
    svc: Arc<VoiceService>,
    params: CallParams,
    log: CallLog,
    engine: Option<Engine>,
    stream_id: String,
    tracker: Arc<Mutex<PlaybackTracker>>,
    out: mpsc::Sender<Tagged>,
    jobs: mpsc::Sender<SpeakJob>,
    generation: u64,
    reply: Option<Reply>,
    listening: Option<Listening>,
    listen_deadline: Option<Instant>,
    pending_end: Option<EndAction>,
    end_deadline: Option<Instant>,
    closing: bool,
    done: bool,
    caller_speaking: bool,
    barge_candidate: bool,
    offline_barge_at: Option<Instant>,
    apologized_for_speech: bool,
    media_epoch: Option<Instant>,
    last_voiced: Option<Instant>,
    vad: mpsc::Sender<VadInput>,
    stt: Option<Stt>,
    lang: Lang,
    outcome: Option<CallOutcome>,
}

/// Runs a call to its end.
pub(crate) async fn run(
    svc: Arc<VoiceService>,
    params: CallParams,
    mut events: mpsc::Receiver<StreamEvent>,
    out: mpsc::Sender<Command>,
    hangup: CancellationToken,
) -> CallSummary {
    let failed = |id| CallSummary {
        call_log_id: id,
        outcome: CallOutcome::Failed,
        turns: 0,
    };
    // 1. Plivo's `start` names the stream; nothing else is meaningful before it.
    let start = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(ev) = events.recv().await {
            if let StreamEvent::Start(info) = ev {
                return Some(info);
            }
        }
        None
    })
    .await;
    let Ok(Some(start)) = start else {
        tracing::warn!(call = %params.call_uuid, "Stream closed or silent before `start`; call dropped.");
        return failed(None);
    };
    let started = Instant::now();
    let Some(snapshot) = svc.deps.config.current(&params.business_id) else {
        return failed(None);
    };
    // 2. Call log, caller preferences, engine and STT.
    let log = match CallLog::open(&svc, &params, &snapshot).await {
        Ok(log) => log,
        Err(e) => {
            tracing::error!(error = %e, call = %params.call_uuid, "Could not create the call log; the call cannot be handled.");
            return failed(None);
        }
    };
    let stt_cfg = svc.cfg.deepgram.clone().map(|mut c| {
        c.language = stt_language(&snapshot);
        c
    });
    let engine_start = Engine::start(&svc, snapshot.clone(), &params, &log);
    let stt_connect = async {
        match stt_cfg {
            Some(cfg) => Some(DeepgramStt::connect(cfg).await),
            None => None,
        }
    };
    let (engine, stt) = tokio::join!(engine_start, stt_connect);
    let stt = match stt {
        Some(Ok((sender, events))) => {
            let (audio, mut audio_rx) = mpsc::channel::<Bytes>(512);
            let forward = sender.clone();
            tokio::spawn(async move {
                while let Some(chunk) = audio_rx.recv().await {
                    if forward.send_audio(chunk).await.is_err() {
                        break;
                    }
                }
            });
            Some(Stt {
                audio,
                sender,
                events,
            })
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, call = %params.call_uuid, "Deepgram is unavailable; this call cannot understand speech.");
            None
        }
        None => None,
    };
    let (engine, greeting) = match engine {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, call = %params.call_uuid, "The conversation could not start.");
            log.finish(&svc, CallOutcome::Failed, None, None, None)
                .await;
            return failed(Some(log.id));
        }
    };
    let tracker = Arc::new(Mutex::new(PlaybackTracker::new()));
    let (tag_tx, tag_rx) = mpsc::channel::<Tagged>(64);
    speaker::forward(tag_rx, out);
    let (jobs, mut speaker_events) = speaker::spawn(
        svc.speech.clone(),
        start.stream_id.clone(),
        tracker.clone(),
        tag_tx.clone(),
    );
    let (vad, vad_reports) = listen::spawn(
        svc.vad.clone(),
        SegmenterConfig {
            end_silence_ms: END_SILENCE_MS,
            ..SegmenterConfig::default()
        },
    );
    let lang = engine.lang();
    let mut s = Session {
        svc: svc.clone(),
        params,
        log,
        engine: Some(engine),
        stream_id: start.stream_id.clone(),
        tracker,
        out: tag_tx,
        jobs,
        generation: 0,
        reply: None,
        listening: None,
        listen_deadline: None,
        pending_end: None,
        end_deadline: None,
        closing: false,
        done: false,
        caller_speaking: false,
        barge_candidate: false,
        offline_barge_at: None,
        apologized_for_speech: false,
        media_epoch: None,
        last_voiced: None,
        vad,
        stt,
        lang,
        outcome: None,
    };
    let mut vad_reports = Some(vad_reports);
    let greet_marks = TurnMarks {
        stopped: Some(started),
        decided: Some(Instant::now()),
        ..TurnMarks::default()
    };
    s.apply(greeting, greet_marks).await;
    let max_call = started + svc.cfg.max_call;
    let shutdown = svc.shutdown.clone();
    // 3. The call.
    while !s.done {
        let settle_at = s
            .reply
            .as_ref()
            .and_then(|r| r.sent_all.map(|t| t + PLAYOUT_GRACE));
        let mut stt_events = s.stt.as_mut().map(|x| &mut x.events);
        tokio::select! {
            _ = hangup.cancelled() => {
                tracing::info!(call = %s.params.call_uuid, "Plivo reports the call ended.");
                break;
            }
            _ = shutdown.cancelled(), if !s.closing => s.close_politely(CallOutcome::Failed).await,
            _ = sleep_until(tokio::time::Instant::from_std(max_call)), if !s.closing => {
                tracing::info!(call = %s.params.call_uuid, "Maximum call duration reached.");
                s.close_politely(CallOutcome::Abandoned).await;
            }
            ev = events.recv() => match ev {
                Some(ev) => s.on_stream(ev).await,
                None => break,
            },
            report = recv_opt(&mut vad_reports) => match report {
                Some(r) => s.on_vad(r).await,
                None => vad_reports = None,
            },
            ev = async { match stt_events.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => match ev {
                Some(ev) => s.on_stt(ev).await,
                None => s.stt = None,
            },
            ev = speaker_events.recv() => if let Some(ev) = ev { s.on_speaker(ev).await },
            _ = sleep_opt(settle_at) => s.reply_heard().await,
            _ = sleep_opt(s.listen_deadline) => s.on_silence().await,
            _ = sleep_opt(s.offline_barge_at) => {
                s.offline_barge_at = None;
                if s.caller_speaking { s.barge_in().await; }
            }
            _ = sleep_opt(s.end_deadline) => s.perform_end().await,
        }
    }
    s.finish().await
}

impl Session {
    fn bot_speaking(&self) -> bool {
        self.reply.is_some()
    }

    async fn on_stream(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::Media(frame) => {
                self.media_epoch.get_or_insert_with(Instant::now);
                if let Some(stt) = &self.stt
                    && stt
                        .audio
                        .try_send(Bytes::from(frame.payload.clone()))
                        .is_err()
                {
                    tracing::debug!(call = %self.params.call_uuid, "STT is behind; a caller frame was dropped.");
                }
                let pcm = mulaw::decode(&frame.payload);
                let _ = self.vad.try_send(VadInput::Frame(pcm));
            }
            StreamEvent::Dtmf { digit } => self.on_dtmf(digit).await,
            StreamEvent::PlayedStream { name } => {
                let finished = {
                    let mut t = speaker::lock(&self.tracker);
                    t.on_played(&name, Instant::now()) && t.finished_reply().is_some()
                };
                if finished && self.reply.as_ref().is_some_and(|r| r.sent_all.is_some()) {
                    self.reply_heard().await;
                }
            }
            StreamEvent::ClearedAudio => speaker::lock(&self.tracker).on_cleared(),
            StreamEvent::Stop => self.done = true,
            StreamEvent::Start(_) | StreamEvent::Unknown { .. } => {}
        }
    }

    async fn on_vad(&mut self, report: VadReport) {
        if let Some(reason) = report.degraded {
            tracing::warn!(call = %self.params.call_uuid, %reason, "VAD degraded.");
        }
        if let (Some(epoch), Some(ms)) = (self.media_epoch, report.last_voiced_ms) {
            self.last_voiced = Some(epoch + Duration::from_millis(ms));
        }
        for ev in report.events {
            match ev {
                SpeechEvent::SpeechStart { .. } => {
                    self.caller_speaking = true;
                    self.listen_deadline = None;
                    if self.bot_speaking() {
                        self.barge_candidate = true;
                        if self.stt.is_none() {
                            self.offline_barge_at = Some(Instant::now() + OFFLINE_BARGE_IN);
                        }
                    }
                }
                SpeechEvent::SpeechEnd { .. } => {
                    self.caller_speaking = false;
                    self.barge_candidate = false;
                    self.offline_barge_at = None;
                    if let Some(stt) = &self.stt {
                        let _ = stt.sender.finalize().await;
                    } else if !self.bot_speaking() && self.listening.is_some() && !self.closing {
                        self.cannot_understand().await;
                        continue;
                    }
                    if let Some(l) = self.listening
                        && !self.bot_speaking()
                    {
                        self.listen_deadline = Some(Instant::now() + l.patience);
                    }
                }
            }
        }
    }

    /// No recogniser: say so (once per question) and offer the keypad when the flow allows it.
    async fn cannot_understand(&mut self) {
        if self.apologized_for_speech {
            if let Some(l) = self.listening {
                self.listen_deadline = Some(Instant::now() + l.patience);
            }
            return;
        }
        self.apologized_for_speech = true;
        let mut lines = vec![(
            phrases::text(Phrase::CannotUnderstand, self.lang).to_string(),
            self.lang,
        )];
        if self.listening.is_some_and(|l| l.dtmf) {
            lines.push((
                phrases::text(Phrase::UseKeypad, self.lang).to_string(),
                self.lang,
            ));
        }
        let marks = TurnMarks {
            stopped: self.last_voiced.or(Some(Instant::now())),
            decided: Some(Instant::now()),
            ..TurnMarks::default()
        };
        self.speak(lines, marks, false).await;
    }

    async fn on_stt(&mut self, ev: SttEvent) {
        match ev {
            SttEvent::SpeechStarted => {
                if self.bot_speaking() {
                    self.barge_candidate = true;
                }
            }
            SttEvent::Interim { text, .. } | SttEvent::Final { text, .. } => {
                if self.bot_speaking() && self.barge_candidate && !is_backchannel(&text) {
                    self.barge_in().await;
                }
            }
            SttEvent::Utterance(u) => {
                let text = u.text.trim().to_string();
                if text.is_empty() {
                    if let Some(l) = self.listening
                        && !self.bot_speaking()
                        && !self.caller_speaking
                    {
                        self.listen_deadline = Some(Instant::now() + l.patience);
                    }
                    return;
                }
                if self.pending_end.is_some() || self.closing {
                    return;
                }
                if self.bot_speaking() {
                    if is_backchannel(&text) {
                        tracing::debug!(call = %self.params.call_uuid, "Backchannel while the bot speaks; ignored.");
                        return;
                    }
                    self.barge_in().await;
                }
                let now = Instant::now();
                let marks = TurnMarks {
                    stopped: Some(self.last_voiced.filter(|t| *t <= now).unwrap_or(now)),
                    transcript: Some(now),
                    ..TurnMarks::default()
                };
                tracing::debug!(call = %self.params.call_uuid, confidence = u.confidence, "Caller turn recognised.");
                self.log
                    .caller_turn(&self.svc, &text, self.lang, &marks)
                    .await;
                let input = Input::Utterance {
                    text,
                    confidence: Some(u.confidence),
                    interpretation: None,
                };
                self.turn(input, marks).await;
            }
            SttEvent::UtteranceEnd => {}
            SttEvent::Reconnected {
                attempt,
                replayed_bytes,
            } => {
                tracing::info!(call = %self.params.call_uuid, attempt, replayed_bytes, "Deepgram reconnected; buffered audio replayed.");
            }
            SttEvent::Error(e) => {
                tracing::error!(call = %self.params.call_uuid, error = %e, "Speech recognition failed for the rest of this call.");
                self.stt = None;
            }
        }
    }

    async fn on_dtmf(&mut self, digit: char) {
        if self.pending_end.is_some() || self.closing {
            return;
        }
        if self.bot_speaking() {
            self.barge_in().await;
        }
        let now = Instant::now();
        let marks = TurnMarks {
            stopped: Some(now),
            transcript: Some(now),
            ..TurnMarks::default()
        };
        self.log
            .caller_turn(&self.svc, &format!("[keypad {digit}]"), self.lang, &marks)
            .await;
        self.turn(Input::Dtmf(digit), marks).await;
    }

    async fn on_silence(&mut self) {
        self.listen_deadline = None;
        if self.listening.is_none() || self.pending_end.is_some() || self.closing {
            return;
        }
        let marks = TurnMarks {
            stopped: Some(Instant::now()),
            ..TurnMarks::default()
        };
        self.turn(Input::NoInput, marks).await;
    }

    async fn on_speaker(&mut self, ev: SpeakerEvent) {
        let current = self.reply.as_ref().map(|r| r.generation);
        match ev {
            SpeakerEvent::FirstAudio { generation, at } if Some(generation) == current => {
                if let Some(r) = &mut self.reply {
                    r.marks.first_audio.get_or_insert(at);
                }
            }
            SpeakerEvent::FirstFrame { generation, at } if Some(generation) == current => {
                if let Some(r) = &mut self.reply {
                    r.marks.first_frame.get_or_insert(at);
                }
            }
            SpeakerEvent::Fallback { error, .. } => {
                tracing::error!(call = %self.params.call_uuid, %error, "Speech synthesis failed; the apology played instead.");
            }
            SpeakerEvent::Done {
                generation,
                cancelled,
            } if Some(generation) == current && !cancelled => {
                if let Some(r) = &mut self.reply {
                    r.sent_all = Some(Instant::now());
                }
                if speaker::lock(&self.tracker).finished_reply().is_some() {
                    self.reply_heard().await;
                }
            }
            _ => {}
        }
    }

    /// Runs one engine turn and acts on its outputs.
    async fn turn(&mut self, input: Input, mut marks: TurnMarks) {
        self.listen_deadline = None;
        self.listening = None;
        let Some(engine) = self.engine.take() else {
            return;
        };
        match engine.handle(&self.svc, input).await {
            Ok((engine, outputs)) => {
                marks.decided = Some(Instant::now());
                self.lang = engine.lang();
                self.engine = Some(engine);
                self.apply(outputs, marks).await;
            }
            Err(e) => {
                tracing::error!(call = %self.params.call_uuid, error = %e, "The dialog engine failed; ending the call.");
                self.close_politely(CallOutcome::Failed).await;
            }
        }
    }

    /// Speaks the engine's `Say`s, remembers what it listens for, and schedules its end.
    async fn apply(&mut self, outputs: Vec<Output>, marks: TurnMarks) {
        let mut lines = Vec::new();
        for o in outputs {
            match o {
                Output::Say { text, lang, .. } => {
                    for s in vartalaap_lang::split_sentences(&text) {
                        lines.push((s.to_string(), lang));
                    }
                }
                Output::Listen { patience_ms, dtmf } => {
                    self.listening = Some(Listening {
                        patience: Duration::from_millis(u64::from(patience_ms)),
                        dtmf,
                    });
                    self.apologized_for_speech = false;
                    let _ = self
                        .vad
                        .try_send(VadInput::Patience(end_silence_ms(patience_ms)));
                }
                Output::Tool(_) => {}
                Output::Transfer { to } => self.pending_end = Some(EndAction::Transfer(to)),
                Output::Hangup { reason } => {
                    let outcome = match reason {
                        HangupReason::Completed => CallOutcome::Completed,
                        HangupReason::NoInput => CallOutcome::Abandoned,
                        HangupReason::Error => CallOutcome::Failed,
                    };
                    self.pending_end = Some(EndAction::Hangup(outcome));
                }
            }
        }
        let ending = self.pending_end.is_some();
        if !lines.is_empty() {
            self.speak(lines, marks, ending).await;
        } else if ending {
            self.end_deadline = Some(Instant::now());
        } else if let Some(l) = self.listening {
            self.listen_deadline = Some(Instant::now() + l.patience);
        }
    }

    async fn speak(&mut self, lines: Vec<(String, Lang)>, marks: TurnMarks, uninterruptible: bool) {
        if let Some(r) = self.reply.take() {
            // A new reply replaces one still playing (e.g. shutdown mid-sentence).
            r.cancel.cancel();
            self.clear(r.generation).await;
        }
        self.generation += 1;
        let cancel = CancellationToken::new();
        let lang = lines.first().map(|(_, l)| *l).unwrap_or(self.lang);
        self.reply = Some(Reply {
            generation: self.generation,
            cancel: cancel.clone(),
            marks,
            lang,
            started_utc: self.svc.deps.clock.now(),
            sent_all: None,
            uninterruptible,
        });
        let job = SpeakJob {
            generation: self.generation,
            sentences: lines,
            cancel,
        };
        if self.jobs.send(job).await.is_err() {
            self.done = true;
        }
    }

    async fn clear(&mut self, generation: u64) {
        let cmd = Command::ClearAudio {
            stream_id: self.stream_id.clone(),
        };
        let _ = self
            .out
            .send(Tagged {
                generation,
                command: cmd,
            })
            .await;
    }

    /// The caller interrupted: silence the bot, keep only what was heard, listen.
    async fn barge_in(&mut self) {
        let Some(reply) = self.reply.as_ref() else {
            return;
        };
        if reply.uninterruptible {
            return;
        }
        let Some(reply) = self.reply.take() else {
            return;
        };
        reply.cancel.cancel();
        self.clear(reply.generation).await;
        let heard = speaker::lock(&self.tracker).barge_in(Instant::now());
        tracing::info!(call = %self.params.call_uuid, sentences_heard = heard.sentences_heard, "Caller barged in; the bot stopped.");
        self.barge_candidate = false;
        self.offline_barge_at = None;
        self.log
            .bot_turn(
                &self.svc,
                &heard.text,
                reply.lang,
                reply.started_utc,
                &reply.marks,
            )
            .await;
    }

    /// The current reply finished playing.
    async fn reply_heard(&mut self) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        let text = speaker::lock(&self.tracker)
            .finished_reply()
            .map(|h| h.text)
            .unwrap_or_else(|| {
                // No ack from Plivo: everything was sent at real time, so it was played.
                let mut t = speaker::lock(&self.tracker);
                t.barge_in(Instant::now()).full_text
            });
        self.log
            .bot_turn(
                &self.svc,
                &text,
                reply.lang,
                reply.started_utc,
                &reply.marks,
            )
            .await;
        if self.pending_end.is_some() {
            self.end_deadline = Some(Instant::now());
        } else if let Some(l) = self.listening
            && !self.caller_speaking
        {
            self.listen_deadline = Some(Instant::now() + l.patience);
        }
    }

    /// Ends the call politely: say why, then hang up (bounded by the drain deadline).
    async fn close_politely(&mut self, outcome: CallOutcome) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.listening = None;
        self.listen_deadline = None;
        self.outcome.get_or_insert(outcome);
        self.pending_end = Some(EndAction::Hangup(outcome));
        let line = vec![(
            phrases::text(Phrase::MustEnd, self.lang).to_string(),
            self.lang,
        )];
        let marks = TurnMarks {
            decided: Some(Instant::now()),
            ..TurnMarks::default()
        };
        self.speak(line, marks, true).await;
        self.end_deadline = Some(Instant::now() + self.svc.cfg.drain_deadline);
    }

    /// Hang up or transfer, now that the last words were heard.
    async fn perform_end(&mut self) {
        self.end_deadline = None;
        let Some(action) = self.pending_end.take() else {
            self.done = true;
            return;
        };
        if let Some(r) = self.reply.take() {
            r.cancel.cancel();
        }
        match action {
            EndAction::Hangup(outcome) => {
                self.outcome.get_or_insert(outcome);
                self.hangup_via_rest().await;
                self.done = true;
            }
            EndAction::Transfer(to) => {
                if self.transfer(to.as_deref()).await {
                    self.outcome = Some(CallOutcome::Transferred);
                    self.done = true;
                    return;
                }
                // No transfer possible: apologise, arrange a callback, hang up after the line.
                let created = match self.engine.take() {
                    Some(engine) => {
                        let (engine, ok) = engine.create_callback(&self.svc).await;
                        self.engine = engine;
                        ok
                    }
                    None => false,
                };
                let outcome = if created {
                    CallOutcome::CallbackRequested
                } else {
                    CallOutcome::Completed
                };
                self.pending_end = Some(EndAction::Hangup(outcome));
                let line = vec![(
                    phrases::text(Phrase::TransferFailed, self.lang).to_string(),
                    self.lang,
                )];
                let marks = TurnMarks {
                    decided: Some(Instant::now()),
                    ..TurnMarks::default()
                };
                self.speak(line, marks, true).await;
            }
        }
    }

    async fn transfer(&mut self, to: Option<&str>) -> bool {
        let (Some(rest), Some(plivo), Some(_)) = (&self.svc.rest, &self.svc.cfg.plivo, to) else {
            tracing::warn!(call = %self.params.call_uuid, "Transfer asked for, but Plivo REST or the transfer number is not configured.");
            return false;
        };
        let url = format!(
            "{}/plivo/transfer/{}",
            plivo.public_base_url.trim_end_matches('/'),
            self.params.business_id
        );
        match rest
            .transfer(
                &self.params.call_uuid,
                &vartalaap_providers::plivo::Transfer::aleg(url),
            )
            .await
        {
            Ok(()) => {
                tracing::info!(call = %self.params.call_uuid, "Call transferred to staff.");
                true
            }
            Err(e) => {
                tracing::error!(call = %self.params.call_uuid, error = %e, "Transfer failed.");
                false
            }
        }
    }

    async fn hangup_via_rest(&mut self) {
        let (svc, uuid) = (self.svc.clone(), self.params.call_uuid.clone());
        if let Some(rest) = &svc.rest
            && let Err(e) = rest.hangup(&uuid).await
        {
            tracing::warn!(call = %uuid, error = %e, "Plivo hang-up failed; closing the stream ends the call.");
        }
    }

    /// Writes what is left, the call's end and the caller's preferences.
    async fn finish(mut self) -> CallSummary {
        if let Some(r) = self.reply.take() {
            r.cancel.cancel();
            let heard = speaker::lock(&self.tracker).barge_in(Instant::now());
            self.log
                .bot_turn(&self.svc, &heard.text, r.lang, r.started_utc, &r.marks)
                .await;
        }
        if let Some(stt) = self.stt.take() {
            stt.sender.close().await;
        }
        let reservation = self.engine.as_ref().and_then(|e| e.reservation_id());
        let callback = self.engine.as_ref().is_some_and(|e| e.callback_created());
        let outcome = match (reservation, self.outcome) {
            (Some(_), _) => CallOutcome::ReservationMade,
            (None, Some(CallOutcome::Transferred)) => CallOutcome::Transferred,
            (None, _) if callback => CallOutcome::CallbackRequested,
            (None, Some(o)) => o,
            (None, None) => CallOutcome::Abandoned,
        };
        let slots = self.engine.as_ref().map(|e| e.slots());
        self.log
            .finish(&self.svc, outcome, reservation, Some(self.lang), slots)
            .await;
        tracing::info!(call = %self.params.call_uuid, call_log = self.log.id, outcome = ?outcome, "Call ended.");
        CallSummary {
            call_log_id: Some(self.log.id),
            outcome,
            turns: self.log.turns(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patience_scales_end_of_turn_silence_within_bounds() {
        assert_eq!(
            end_silence_ms(vartalaap_core::LISTEN_PATIENCE_MS),
            END_SILENCE_MS
        );
        assert_eq!(end_silence_ms(1000), END_SILENCE_MS);
        assert_eq!(end_silence_ms(12_000), 1200);
        assert_eq!(end_silence_ms(60_000), MAX_END_SILENCE_MS);
    }
}
