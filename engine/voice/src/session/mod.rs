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

use tokio::sync::mpsc;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;
use vartalaap_audio::SegmenterConfig;
use vartalaap_config::{BusinessSnapshot, Lang};
use vartalaap_providers::deepgram::{DeepgramStt, SttEvent, SttLanguage, SttSender};
use vartalaap_store::{CallOutcome, PhoneNumber};
use vartalaap_telephony::{Command, PlaybackTracker, StreamEvent};

use crate::engine::{CallLog, Engine};
use crate::listen::{self, VadInput};
use crate::service::VoiceService;
use crate::speaker::{self, SpeakJob, Tagged};
use crate::timing::TurnMarks;

mod inputs;
mod llm;
mod reply;
mod speculate;

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
    /// Where the call's transcript is echoed as it is logged (the browser's "Talk to it"
    /// socket shows it live); `None` for phone calls.
    pub notes: Option<mpsc::UnboundedSender<crate::engine::CallNote>>,
}

impl CallParams {
    /// Whether the owner's browser is the caller ("Talk to it"), not a phone line: there is
    /// no Plivo call to transfer or hang up over REST.
    pub fn is_browser(&self) -> bool {
        crate::browser::is_browser_call(&self.call_uuid)
    }
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
    /// What handled the turn this reply answers (stored with the bot's turn).
    handled_by: Option<vartalaap_store::HandledBy>,
    /// Configuration errors and corrections of the engine turn this reply answers.
    problems: crate::engine::TurnProblems,
    /// Sentences of this reply a fallback voice said.
    tts_fallbacks: Vec<vartalaap_store::TtsFallback>,
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
    /// Takes the caller's frames straight from the call's task (no forwarding task).
    sender: SttSender,
    events: mpsc::Receiver<SttEvent>,
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A deadline of the call's loop (`None`: none set), kept armed across the loop's passes and
/// moved only when the deadline does.
struct Alarm {
    at: Option<Instant>,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Alarm {
    fn new() -> Self {
        Alarm {
            at: None,
            sleep: Box::pin(sleep_until(tokio::time::Instant::now())),
        }
    }

    /// Ready at `at`; never, for `None`.
    async fn ring(&mut self, at: Option<Instant>) {
        let Some(at) = at else {
            return std::future::pending().await;
        };
        if self.at != Some(at) {
            self.at = Some(at);
            self.sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(at));
        }
        self.sleep.as_mut().await;
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
    /// What the VAD task was last told about the model (see [`Session::sync_vad_model`]).
    vad_model: bool,
    stt: Option<Stt>,
    /// The offline recogniser, when calls have no Deepgram (utterances come back on
    /// `offline_events` as `SttEvent::Utterance`).
    offline: Option<Arc<vartalaap_stt::RecogniserWorker>>,
    offline_events: mpsc::Sender<SttEvent>,
    lang: Lang,
    outcome: Option<CallOutcome>,
    /// What went wrong in the last engine turn, until a reply carries it into the call log.
    problems: crate::engine::TurnProblems,
    /// Speculative first sentences from interim transcripts.
    spec: speculate::Speculator,
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
    // 1. Plivo's `start` names the stream; nothing else is meaningful before it. A hang-up or
    // shutdown meanwhile ends the wait (there is nothing to say goodbye on yet).
    let start = tokio::time::timeout(START_TIMEOUT, async {
        loop {
            tokio::select! {
                _ = hangup.cancelled() => return None,
                _ = svc.shutdown.cancelled() => return None,
                ev = events.recv() => match ev {
                    Some(StreamEvent::Start(info)) => return Some(info),
                    Some(_) => {}
                    None => return None,
                },
            }
        }
    })
    .await;
    let Ok(Some(start)) = start else {
        tracing::warn!(call = %params.call_uuid, "Stream closed or silent before `start`; call dropped.");
        return failed(None);
    };
    if start.call_id != params.call_uuid {
        tracing::warn!(call = %params.call_uuid, "The stream's `start` names another call than its token; call dropped.");
        return failed(None);
    }
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
        Some(Ok((sender, events))) => Some(Stt { sender, events }),
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
            log.finish(&svc, CallOutcome::Failed, None, None, None, &[])
                .await;
            return failed(Some(log.id));
        }
    };
    let tracker = Arc::new(Mutex::new(PlaybackTracker::new()));
    let (tag_tx, tag_rx) = mpsc::channel::<Tagged>(64);
    speaker::forward(tag_rx, out);
    let spec_slot = Arc::new(crate::speculate::SpecSlot::new(svc.speculation.clone()));
    let (spec_done, mut spec_done_rx) = mpsc::channel::<u64>(4);
    let (jobs, mut speaker_events) = speaker::spawn(
        svc.speech.clone(),
        Arc::new(snapshot.business.voices.clone()),
        spec_slot.clone(),
        start.stream_id.clone(),
        tracker.clone(),
        tag_tx.clone(),
    );
    let offline = svc.offline.clone().filter(|_| stt.is_none());
    let (offline_events, offline_rx) = mpsc::channel::<SttEvent>(16);
    let (vad, vad_reports) = listen::spawn(
        svc.vad.clone(),
        SegmenterConfig {
            end_silence_ms: END_SILENCE_MS,
            ..SegmenterConfig::default()
        },
        offline.is_some(),
        svc.vad_judged.clone(),
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
        vad_model: true,
        stt,
        offline,
        offline_events,
        lang,
        outcome: None,
        problems: Default::default(),
        spec: speculate::Speculator::new(spec_slot, spec_done),
    };
    let mut vad_reports = Some(vad_reports);
    let mut offline_rx = Some(offline_rx);
    let greet_marks = TurnMarks {
        stopped: Some(started),
        decided: Some(Instant::now()),
        greeting: true,
        ..TurnMarks::default()
    };
    s.take_problems();
    s.apply(greeting, greet_marks).await;
    let max_call = started + svc.cfg.max_call;
    let shutdown = svc.shutdown.clone();
    // The loop turns for every caller frame (50 a second): what it waits on is made once and
    // re-armed only when it moves, not registered and dropped on every pass.
    let hung_up = hangup.cancelled();
    let shutting_down = shutdown.cancelled();
    let max_call_reached = sleep_until(tokio::time::Instant::from_std(max_call));
    tokio::pin!(hung_up, shutting_down, max_call_reached);
    let (mut settled, mut silence, mut offline_barge, mut end) =
        (Alarm::new(), Alarm::new(), Alarm::new(), Alarm::new());
    // 3. The call.
    while !s.done {
        let settle_at = s
            .reply
            .as_ref()
            .and_then(|r| r.sent_all.map(|t| t + PLAYOUT_GRACE));
        let mut stt_events = s.stt.as_mut().map(|x| &mut x.events);
        tokio::select! {
            _ = &mut hung_up => {
                tracing::info!(call = %s.params.call_uuid, "Plivo reports the call ended.");
                break;
            }
            _ = &mut shutting_down, if !s.closing => s.close_politely(CallOutcome::Failed).await,
            _ = &mut max_call_reached, if !s.closing => {
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
            ev = recv_opt(&mut offline_rx) => if let Some(ev) = ev { s.on_stt(ev).await },
            ev = speaker_events.recv() => if let Some(ev) = ev { s.on_speaker(ev).await },
            id = spec_done_rx.recv() => if let Some(id) = id { s.on_speculation_done(id) },
            _ = settled.ring(settle_at) => s.reply_heard().await,
            _ = silence.ring(s.listen_deadline) => s.on_silence().await,
            _ = offline_barge.ring(s.offline_barge_at) => {
                s.offline_barge_at = None;
                if s.caller_speaking { s.barge_in().await; }
            }
            _ = end.ring(s.end_deadline) => s.perform_end().await,
        }
        s.sync_vad_model();
    }
    s.finish().await
}

impl Session {
    fn bot_speaking(&self) -> bool {
        self.reply.is_some()
    }

    /// Keeps what went wrong in the engine's last turn for the reply that answers it.
    fn take_problems(&mut self) {
        if let Some(engine) = &self.engine {
            self.problems = engine.turn_problems();
        }
    }

    /// The VAD model (Silero) judges the caller only where its judgement decides something:
    /// while the bot speaks (barge-in), and when our VAD ends the caller's turn (no Deepgram:
    /// the offline recogniser, or none). With Deepgram listening and the bot silent, Deepgram
    /// ends the turn and the energy VAD is enough for what ours still does there (suspend the
    /// silence timer, send an early `Finalize`, mark when the caller stopped).
    fn sync_vad_model(&mut self) {
        let want = self.stt.is_none() || self.bot_speaking();
        // In order with the frames; when the queue is full, the next event tries again.
        if want != self.vad_model && self.vad.try_send(VadInput::UseModel(want)).is_ok() {
            self.vad_model = want;
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
