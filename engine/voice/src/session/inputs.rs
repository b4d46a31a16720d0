//! Reacting to what happens on the line: Plivo stream events, VAD reports, STT events, key
//! presses, silence and the speaker's progress.

use std::time::{Duration, Instant};

use bytes::Bytes;
use vartalaap_audio::{SpeechEvent, mulaw};
use vartalaap_core::Input;
use vartalaap_providers::deepgram::{AudioRefused, SttEvent};
use vartalaap_telephony::StreamEvent;

use super::{OFFLINE_BARGE_IN, Session};
use crate::backchannel::is_backchannel;
use crate::listen::{VadInput, VadReport};
use crate::phrases::{self, Phrase};
use crate::speaker::{self, SpeakerEvent};
use crate::timing::TurnMarks;

impl Session {
    pub(super) async fn on_stream(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::Media(frame) => {
                self.media_epoch.get_or_insert_with(Instant::now);
                let pcm = mulaw::decode(&frame.payload);
                // The frame's bytes move on to Deepgram as they are (no copy).
                if let Some(stt) = &self.stt
                    && let Err(AudioRefused::Behind) =
                        stt.sender.try_send_audio(Bytes::from(frame.payload))
                {
                    tracing::debug!(call = %self.params.call_uuid, "STT is behind; a caller frame was dropped.");
                }
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

    pub(super) async fn on_vad(&mut self, report: VadReport) {
        if let Some(reason) = report.degraded {
            tracing::warn!(call = %self.params.call_uuid, %reason, "VAD degraded.");
        }
        if let (Some(epoch), Some(ms)) = (self.media_epoch, report.last_voiced_ms) {
            self.last_voiced = Some(epoch + Duration::from_millis(ms));
        }
        let mut utterances = report.utterances.into_iter();
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
                    // The VAD hands over one utterance per end when an offline recogniser runs.
                    let audio = utterances.next();
                    if let Some(stt) = &self.stt {
                        let _ = stt.sender.finalize().await;
                    } else if let Some(worker) = &self.offline {
                        if let Some(pcm) =
                            audio.filter(|_| self.pending_end.is_none() && !self.closing)
                        {
                            crate::offline::transcribe(
                                worker.clone(),
                                pcm,
                                self.offline_events.clone(),
                                self.params.call_uuid.clone(),
                            );
                        }
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
    pub(super) async fn cannot_understand(&mut self) {
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

    pub(super) async fn on_stt(&mut self, ev: SttEvent) {
        match ev {
            SttEvent::SpeechStarted => {
                if self.bot_speaking() {
                    self.barge_candidate = true;
                }
            }
            SttEvent::Interim { text, confidence } => {
                if self.bot_speaking() && self.barge_candidate && !is_backchannel(&text) {
                    self.barge_in().await;
                }
                self.on_partial(&text, false, confidence);
            }
            SttEvent::Final {
                text,
                confidence,
                speech_final,
                from_finalize,
            } => {
                if self.bot_speaking() && self.barge_candidate && !is_backchannel(&text) {
                    self.barge_in().await;
                }
                if !speech_final && !from_finalize {
                    self.on_partial(&text, true, confidence);
                }
            }
            SttEvent::Utterance(u) => {
                let text = u.text.trim().to_string();
                self.on_final_turn(&text);
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
                    .caller_turn(&self.svc, &text, self.lang, Some(u.confidence), &marks)
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

    pub(super) async fn on_dtmf(&mut self, digit: char) {
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
            .caller_turn(
                &self.svc,
                &format!("[keypad {digit}]"),
                self.lang,
                None,
                &marks,
            )
            .await;
        self.turn(Input::Dtmf(digit), marks).await;
    }

    pub(super) async fn on_silence(&mut self) {
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

    pub(super) async fn on_speaker(&mut self, ev: SpeakerEvent) {
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
            SpeakerEvent::Fallback {
                generation,
                fallback,
            } => {
                tracing::warn!(call = %self.params.call_uuid, failed = %fallback.failed_voice, said_by = %fallback.used, error = %fallback.error, "A sentence's own voice failed; the next voice in the chain said it.");
                if let Some(r) = self.reply.as_mut().filter(|r| r.generation == generation) {
                    r.tts_fallbacks.push(fallback);
                }
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
}
