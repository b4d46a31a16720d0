//! The bot's side of a turn: running the engine, speaking, barge-in, and ending the call.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vartalaap_config::Lang;
use vartalaap_core::{HangupReason, Input, Output};
use vartalaap_store::CallOutcome;
use vartalaap_telephony::{Command, Heard};

use super::{CallSummary, EndAction, Listening, Reply, Session, end_silence_ms};

/// Longest wait to queue a `clearAudio` (normally instant: pacing keeps the queue short).
const CLEAR_SEND_TIMEOUT: Duration = Duration::from_millis(250);
use crate::engine::BotTurn;
use crate::listen::VadInput;
use crate::phrases::{self, Phrase};
use crate::speaker::{self, SpeakJob, Tagged};
use crate::timing::TurnMarks;

impl Session {
    /// Runs one engine turn and acts on its outputs.
    pub(super) async fn turn(&mut self, input: Input, mut marks: TurnMarks) {
        self.listen_deadline = None;
        self.listening = None;
        let Some(engine) = self.engine.take() else {
            return;
        };
        let heard = match &input {
            Input::Utterance { text, .. } => Some(text.clone()),
            _ => None,
        };
        // The model reads what the offline path misses (bounded; offline on any failure).
        let (engine, input) = match self.understand(engine, input).await {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(call = %self.params.call_uuid, error = %e, "The dialog engine failed; ending the call.");
                self.close_politely(CallOutcome::Failed).await;
                return;
            }
        };
        match engine.handle(&self.svc, input).await {
            Ok((engine, outputs)) => {
                marks.decided = Some(Instant::now());
                self.lang = engine.lang();
                self.engine = Some(engine);
                self.take_problems();
                self.apply_turn(outputs, marks, heard.as_deref()).await;
            }
            Err(e) => {
                tracing::error!(call = %self.params.call_uuid, error = %e, "The dialog engine failed; ending the call.");
                self.close_politely(CallOutcome::Failed).await;
            }
        }
    }

    /// Speaks the engine's `Say`s, remembers what it listens for, and schedules its end.
    pub(super) async fn apply(&mut self, outputs: Vec<Output>, marks: TurnMarks) {
        self.apply_turn(outputs, marks, None).await;
    }

    /// [`apply`](Self::apply) for a reply to `heard`: with an LLM, a listed answer is phrased
    /// and its checked sentences stream to the speaker after the lines before it; the lines
    /// after it follow the answer.
    pub(super) async fn apply_turn(
        &mut self,
        outputs: Vec<Output>,
        mut marks: TurnMarks,
        heard: Option<&str>,
    ) {
        let mut phrased = match heard {
            Some(u) => self.start_phrasing(&outputs, u, &mut marks).await,
            None => None,
        };
        let mut lines = Vec::new();
        let mut after = Vec::new();
        for (i, o) in outputs.into_iter().enumerate() {
            match o {
                Output::Say { text, lang, .. } => {
                    if let Some(p) = phrased.as_mut().filter(|p| p.index == i) {
                        lines.append(&mut p.first);
                        continue;
                    }
                    let to = if phrased.as_ref().is_some_and(|p| i > p.index) {
                        &mut after
                    } else {
                        &mut lines
                    };
                    for s in vartalaap_lang::split_sentences(&text) {
                        to.push((s.to_string(), lang));
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
        if let Some(p) = phrased {
            let (tx, rx) = mpsc::channel(8);
            if let Some(cancel) = self.start_reply(lines, Some(rx), marks, ending).await {
                tokio::spawn(super::llm::pump(p.answer, p.lang, after, tx, cancel));
            }
        } else if !lines.is_empty() {
            self.speak(lines, marks, ending).await;
        } else if ending {
            self.end_deadline = Some(Instant::now());
        } else if let Some(l) = self.listening {
            self.listen_deadline = Some(Instant::now() + l.patience);
        }
    }

    pub(super) async fn speak(
        &mut self,
        lines: Vec<(String, Lang)>,
        marks: TurnMarks,
        uninterruptible: bool,
    ) {
        self.start_reply(lines, None, marks, uninterruptible).await;
    }

    /// Starts a reply: `lines` now, then whatever arrives on `more` (a streamed answer).
    /// Returns the reply's cancel token, or `None` when the speaker is gone.
    async fn start_reply(
        &mut self,
        lines: Vec<(String, Lang)>,
        more: Option<mpsc::Receiver<(String, Lang)>>,
        marks: TurnMarks,
        uninterruptible: bool,
    ) -> Option<CancellationToken> {
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
            handled_by: self.engine.as_ref().map(|e| e.handled_by()),
            problems: std::mem::take(&mut self.problems),
            tts_fallbacks: Vec::new(),
            sent_all: None,
            uninterruptible,
        });
        let job = SpeakJob {
            generation: self.generation,
            sentences: lines,
            more,
            cancel: cancel.clone(),
        };
        if self.jobs.send(job).await.is_err() {
            self.done = true;
            return None;
        }
        Some(cancel)
    }

    /// Sends `clearAudio` for a reply. Bounded: when the socket has stopped taking data the
    /// queue towards it is full, and waiting would wedge the call (and a shutdown) forever.
    pub(super) async fn clear(&mut self, generation: u64) {
        let cmd = Command::ClearAudio {
            stream_id: self.stream_id.clone(),
        };
        let tagged = Tagged {
            generation,
            command: cmd,
        };
        if self
            .out
            .send_timeout(tagged, CLEAR_SEND_TIMEOUT)
            .await
            .is_err()
        {
            tracing::warn!(call = %self.params.call_uuid, "The stream is not taking data; clearAudio was not sent.");
        }
    }

    /// The caller interrupted: silence the bot, keep only what was heard, listen.
    pub(super) async fn barge_in(&mut self) {
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
        self.log_reply(reply, heard).await;
    }

    /// Stores a reply as its bot turn: what the caller heard of it, and how it played.
    pub(super) async fn log_reply(&mut self, reply: Reply, heard: Heard) {
        let turn = BotTurn {
            heard: heard.text,
            intended: heard.full_text,
            interrupted: heard.interrupted,
            played: heard.played,
            lang: reply.lang,
            started_at: reply.started_utc,
            handled_by: reply.handled_by,
            tts_fallbacks: reply.tts_fallbacks,
            problems: reply.problems,
        };
        self.log.bot_turn(&self.svc, turn, &reply.marks).await;
    }

    /// The current reply finished playing.
    pub(super) async fn reply_heard(&mut self) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        // One statement per lock: a guard living to the end of a statement that locks again
        // would deadlock (std mutexes are not reentrant).
        let finished = speaker::lock(&self.tracker).finished_reply();
        let heard = match finished {
            Some(heard) => heard,
            // No ack from Plivo: everything was sent at real time, so it was played.
            None => {
                let mut tracker = speaker::lock(&self.tracker);
                let sent = tracker.sent_audio();
                let all = tracker.barge_in(Instant::now());
                Heard {
                    text: all.full_text.clone(),
                    interrupted: false,
                    played: sent,
                    ..all
                }
            }
        };
        self.log_reply(reply, heard).await;
        if self.pending_end.is_some() {
            self.end_deadline = Some(Instant::now());
        } else if let Some(l) = self.listening
            && !self.caller_speaking
        {
            self.listen_deadline = Some(Instant::now() + l.patience);
        }
    }

    /// Ends the call politely: say why, then hang up (bounded by the drain deadline).
    pub(super) async fn close_politely(&mut self, outcome: CallOutcome) {
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
    pub(super) async fn perform_end(&mut self) {
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

    pub(super) async fn transfer(&mut self, to: Option<&str>) -> bool {
        if self.params.is_browser() {
            tracing::info!(call = %self.params.call_uuid, "Transfer asked for on a browser call; there is no phone line to transfer.");
            return false;
        }
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

    pub(super) async fn hangup_via_rest(&mut self) {
        let (svc, uuid) = (self.svc.clone(), self.params.call_uuid.clone());
        if let Some(rest) = svc.rest.as_ref().filter(|_| !self.params.is_browser())
            && let Err(e) = rest.hangup(&uuid).await
        {
            tracing::warn!(call = %uuid, error = %e, "Plivo hang-up failed; closing the stream ends the call.");
        }
    }

    /// Writes what is left, the call's end and the caller's preferences.
    pub(super) async fn finish(mut self) -> CallSummary {
        if let Some(r) = self.reply.take() {
            r.cancel.cancel();
            let heard = speaker::lock(&self.tracker).barge_in(Instant::now());
            self.log_reply(r, heard).await;
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
        let flows = self.engine.as_ref().map(|e| e.flows()).unwrap_or_default();
        self.log
            .finish(
                &self.svc,
                outcome,
                reservation,
                Some(self.lang),
                slots,
                &flows,
            )
            .await;
        tracing::info!(call = %self.params.call_uuid, call_log = self.log.id, outcome = ?outcome, "Call ended.");
        CallSummary {
            call_log_id: Some(self.log.id),
            outcome,
            turns: self.log.turns(),
        }
    }
}
