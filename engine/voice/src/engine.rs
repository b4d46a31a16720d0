//! The dialog engine and the call log, as the call task uses them: every engine turn and every
//! store write runs on the blocking pool (the engine is CPU work, the store fsyncs).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vartalaap_config::{BusinessSnapshot, Lang};
use vartalaap_core::guard::Facts;
use vartalaap_core::{
    CallerContext, Conversation, Input, Output, ToolCall, ToolExecutor, ToolKind, ToolResult,
    drive, drive_start,
};
use vartalaap_llm::{Llm, TurnContext};
use vartalaap_script::RhaiHost;
use vartalaap_store::{
    CallEnd, CallOutcome, CallerUpdate, NewCall, NewTurn, PhoneHash, StoreError, TurnRole,
    TurnTimings,
};

use crate::service::{ToolContext, VoiceService};
use crate::session::CallParams;
use crate::timing::TurnMarks;

/// Why an engine turn could not run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The blocking task panicked or was cancelled (a bug; the call ends politely).
    #[error("the engine turn did not complete: {0}")]
    Join(String),
}

/// Why the call log could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CallLogError {
    /// Storage refused.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The blocking task died.
    #[error("creating the call log was interrupted: {0}")]
    Interrupted(String),
}

/// Watches tool results to learn whether a callback was arranged.
struct Recording<'a> {
    inner: &'a mut dyn ToolExecutor,
    callback: &'a mut bool,
}

impl ToolExecutor for Recording<'_> {
    fn execute(&mut self, now: NaiveDateTime, call: &ToolCall) -> ToolResult {
        let result = self.inner.execute(now, call);
        if matches!(call.kind, ToolKind::CreateCallback { .. }) && result == ToolResult::Done {
            *self.callback = true;
        }
        result
    }
}

/// One call's conversation with its script host and tools.
pub(crate) struct Engine {
    conv: Conversation,
    host: Arc<RhaiHost>,
    tools: Box<dyn ToolExecutor + Send>,
    callback: bool,
}

fn local_now(svc: &VoiceService, snapshot: &BusinessSnapshot) -> NaiveDateTime {
    svc.deps
        .clock
        .now()
        .with_timezone(&snapshot.business.timezone)
        .naive_local()
}

impl Engine {
    /// Greets: starts the conversation in the caller's last language, running start tools.
    pub async fn start(
        svc: &Arc<VoiceService>,
        snapshot: Arc<BusinessSnapshot>,
        params: &CallParams,
        log: &CallLog,
    ) -> Result<(Engine, Vec<Output>), EngineError> {
        let now = local_now(svc, &snapshot);
        let host = Arc::new(RhaiHost::new(svc.deps.runtime.clone(), snapshot.clone()));
        let context = log.context.clone();
        let tools_for = svc.deps.tools.clone();
        let caller = params.caller.clone();
        let call_id = log.id;
        tokio::task::spawn_blocking(move || {
            let (mut conv, first) =
                Conversation::start(snapshot.clone(), now, context, host.as_ref());
            let mut tools = tools_for(ToolContext {
                snapshot,
                caller,
                call_id,
            });
            let mut callback = false;
            let outputs = {
                let mut rec = Recording {
                    inner: tools.as_mut(),
                    callback: &mut callback,
                };
                drive_start(&mut conv, first, now, host.as_ref(), &mut rec)
            };
            (
                Engine {
                    conv,
                    host,
                    tools,
                    callback,
                },
                outputs,
            )
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))
    }

    /// Runs one input and its tool calls.
    pub async fn handle(
        mut self,
        svc: &Arc<VoiceService>,
        input: Input,
    ) -> Result<(Engine, Vec<Output>), EngineError> {
        let now = local_now(svc, self.conv.snapshot());
        tokio::task::spawn_blocking(move || {
            let outputs = {
                let mut rec = Recording {
                    inner: self.tools.as_mut(),
                    callback: &mut self.callback,
                };
                drive(&mut self.conv, now, input, self.host.as_ref(), &mut rec)
            };
            (self, outputs)
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))
    }

    /// Asks the manager to call back (a transfer was impossible). Returns the engine (unless
    /// the blocking task died) and whether the callback was stored.
    pub async fn create_callback(mut self, svc: &Arc<VoiceService>) -> (Option<Engine>, bool) {
        let now = local_now(svc, self.conv.snapshot());
        let slots = self.slots();
        let kind = ToolKind::CreateCallback {
            name: slots
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
            date: slots
                .get("date")
                .and_then(Value::as_str)
                .and_then(|d| d.parse().ok()),
            time: slots
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M").ok()),
            party_size: slots
                .get("party_size")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
        };
        let result = tokio::task::spawn_blocking(move || {
            let call = ToolCall {
                call_id: 0,
                kind,
                language: self.conv.view().lang,
            };
            let ok = self.tools.execute(now, &call) == ToolResult::Done;
            self.callback |= ok;
            (self, ok)
        })
        .await;
        match result {
            Ok((engine, ok)) => (Some(engine), ok),
            Err(_) => (None, false),
        }
    }

    /// Whether the LLM should read `text` — only when the offline reading gives the engine
    /// nothing to act on — and if so the conversation context to give it. The probe runs
    /// the turn on throw-away copies, so it goes to the blocking pool like a turn.
    pub async fn llm_context(
        self,
        svc: &Arc<VoiceService>,
        llm: Arc<Llm>,
        text: String,
    ) -> Result<(Engine, Option<TurnContext>), EngineError> {
        let now = local_now(svc, self.conv.snapshot());
        tokio::task::spawn_blocking(move || {
            let ctx = llm
                .should_interpret(&self.conv, now, &text, self.host.as_ref())
                .then(|| TurnContext::of(&self.conv, now));
            (self, ctx)
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))
    }

    /// What a phrased answer is checked against right after a turn: the conversation's
    /// context and its facts (business knowledge, slots, offered times).
    pub fn phrase_context(&self, svc: &VoiceService) -> (TurnContext, Facts) {
        let now = local_now(svc, self.conv.snapshot());
        (TurnContext::of(&self.conv, now), self.conv.facts())
    }

    /// A throw-away copy of the conversation for a speculative turn (see `speculate`).
    pub fn speculation(&self, svc: &VoiceService) -> Speculation {
        Speculation {
            conv: self.conv.clone(),
            host: self.host.clone(),
            now: local_now(svc, self.conv.snapshot()),
        }
    }

    /// What handled the last turn, as the call log stores it.
    pub fn handled_by(&self) -> vartalaap_store::HandledBy {
        let h = self.conv.handled_by();
        vartalaap_store::HandledBy {
            intent: h.intent.clone(),
            flow: h.flow.clone(),
            step: h.step.clone(),
        }
    }

    /// What went wrong in the last turn (template and plugin errors, corrected slots), as the
    /// call log stores it on the bot's reply.
    pub fn turn_problems(&self) -> TurnProblems {
        TurnProblems {
            config_errors: self
                .conv
                .turn_problems()
                .iter()
                .map(stored_problem)
                .collect(),
            corrected_slots: self.conv.turn_corrections().to_vec(),
        }
    }

    /// The language the bot speaks now.
    pub fn lang(&self) -> Lang {
        self.conv.view().lang
    }

    /// The reservation booked in this call.
    pub fn reservation_id(&self) -> Option<u64> {
        self.conv.reservation_id().and_then(|id| id.parse().ok())
    }

    /// Whether a manager callback was stored.
    pub fn callback_created(&self) -> bool {
        self.callback
    }

    /// Slot values (name, consent) for the caller's preferences.
    pub fn slots(&self) -> Map<String, Value> {
        self.conv.view().slots
    }

    /// The flows the call went through (for its summary).
    pub fn flows(&self) -> Vec<String> {
        self.conv.trace().flows.iter().cloned().collect()
    }
}

/// A copy of the conversation to try a transcript on before it is final. Nothing it does is
/// kept: no tool runs, and the copy is dropped after the guess.
pub(crate) struct Speculation {
    conv: Conversation,
    host: Arc<RhaiHost>,
    now: NaiveDateTime,
}

impl Speculation {
    /// The first sentence the bot would say if the caller's turn were `text`, and its
    /// language; `None` when it says nothing before needing a tool's result. No tool runs
    /// here: an availability check is *assumed* to find room (the usual answer; if the real
    /// check differs, so does the reply's sentence, and the guess is simply not used), and
    /// any other tool (a booking, a lookup, a callback) ends the guess. CPU work: run it on
    /// the blocking pool.
    pub fn first_sentence(mut self, text: String, confidence: f32) -> Option<(String, Lang)> {
        let mut next = Some(Input::Utterance {
            text,
            confidence: Some(confidence),
            interpretation: None,
        });
        // The real turn speaks its `Say`s in output order across tool round trips (`drive`).
        for _ in 0..4 {
            let input = next.take()?;
            let mut blocked = false;
            for output in self.conv.handle(self.now, input, self.host.as_ref()) {
                match output {
                    Output::Say { text, lang, .. } => {
                        return vartalaap_lang::split_sentences(&text)
                            .first()
                            .map(|s| (s.to_string(), lang));
                    }
                    Output::Tool(call) => match call.kind {
                        ToolKind::CheckAvailability { .. } if next.is_none() && !blocked => {
                            next = Some(Input::ToolResult {
                                call_id: call.call_id,
                                result: ToolResult::Available,
                            });
                        }
                        _ => blocked = true,
                    },
                    _ => {}
                }
            }
            if blocked {
                return None;
            }
        }
        None
    }
}

/// The call log as it is written, echoed to whoever watches the call live (the browser's
/// "Talk to it" page): what [`CallLog`] stores, never more.
#[derive(Debug, Clone, PartialEq)]
pub enum CallNote {
    /// The call log was created with this id.
    Opened { call_log_id: u64 },
    /// The caller's recognised words (or key press) as stored.
    Caller { text: String, language: String },
    /// What the caller heard of the bot's reply, as stored (cut short at a barge-in).
    Bot { text: String, language: String },
}

/// What went wrong in the dialog engine's handling of a turn, as the call log stores it on the
/// bot's reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TurnProblems {
    /// Plugin and template errors met in the turn.
    pub config_errors: Vec<vartalaap_store::TurnConfigError>,
    /// Slots the caller corrected in the turn.
    pub corrected_slots: Vec<String>,
}

/// The engine's description of a configuration problem, as the call log stores it.
pub(crate) fn stored_problem(
    p: &vartalaap_core::ConfigProblem,
) -> vartalaap_store::TurnConfigError {
    use vartalaap_core::ProblemSource as P;
    use vartalaap_store::ConfigErrorSource as S;
    vartalaap_store::TurnConfigError {
        source: match p.source {
            P::Template => S::Template,
            P::Hook => S::Hook,
            P::Plugin => S::Plugin,
            P::Expression => S::Expression,
            P::Flow => S::Flow,
        },
        name: p.name.clone(),
        file: p.file.clone(),
        line: p.line,
        yaml_path: p.yaml_path.clone(),
        flow: p.flow.clone(),
        step: p.step.clone(),
        message: vartalaap_store::short_message(&p.message),
    }
}

/// A bot reply as it played, for [`CallLog::bot_turn`].
#[derive(Debug, Clone)]
pub(crate) struct BotTurn {
    /// What the caller heard.
    pub heard: String,
    /// Everything the reply meant to say.
    pub intended: String,
    /// Whether it was cut short (barge-in, or the call ended mid-reply).
    pub interrupted: bool,
    /// Audio the caller heard.
    pub played: std::time::Duration,
    /// Language of the reply.
    pub lang: Lang,
    /// When the reply started.
    pub started_at: DateTime<Utc>,
    /// What handled the turn.
    pub handled_by: Option<vartalaap_store::HandledBy>,
    /// Sentences a fallback voice said.
    pub tts_fallbacks: Vec<vartalaap_store::TtsFallback>,
    /// Errors and corrections in the engine's turn.
    pub problems: TurnProblems,
}

/// The call's record in storage.
///
/// Turns are queued to one writer task per call and stored in order, so a slow disk (redb
/// commits are durable, fsync'd one at a time) never delays the bot's reply or the reaction
/// to a barge-in; [`CallLog::finish`] waits for the queue before recording the end.
pub(crate) struct CallLog {
    pub id: u64,
    phone_hash: Option<PhoneHash>,
    pub context: CallerContext,
    started_utc: DateTime<Utc>,
    turns: Arc<AtomicU32>,
    writer: Mutex<Option<mpsc::UnboundedSender<NewTurn>>>,
    written: Mutex<Option<JoinHandle<()>>>,
    /// Live echo of the transcript (see [`CallNote`]).
    notes: Option<mpsc::UnboundedSender<CallNote>>,
}

/// Stores queued turns in order, a batch per blocking task.
fn spawn_writer(
    svc: &Arc<VoiceService>,
    id: u64,
    turns: Arc<AtomicU32>,
) -> (mpsc::UnboundedSender<NewTurn>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<NewTurn>();
    let store = svc.deps.store.clone();
    let clock = svc.deps.clock.clone();
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let (store, clock, turns) = (store.clone(), clock.clone(), turns.clone());
            let written = tokio::task::spawn_blocking(move || {
                for turn in batch {
                    match store.append_turn(id, &turn, clock.now()) {
                        Ok(_) => {
                            turns.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            tracing::error!(call_log = id, error = %e, "Could not store a turn.")
                        }
                    }
                }
            })
            .await;
            if let Err(e) = written {
                tracing::error!(call_log = id, error = %e, "Storing turns was interrupted.");
            }
        }
    });
    (tx, task)
}

/// The language an utterance's words show, if any (a bare "ok" or a number shows none).
fn utterance_lang(text: &str) -> Option<Lang> {
    let evidence = vartalaap_lang::language_evidence(text);
    if evidence.strength == 0 {
        return None;
    }
    Lang::from_code(evidence.lang.code())
}

/// The system turn that marks a call placed from the admin's browser ("Talk to it"), with no
/// phone line; its `external_call_id` starts with [`crate::browser::BROWSER_CALL_PREFIX`].
pub const BROWSER_CHANNEL_NOTE: &str =
    "Channel: the admin's browser (Talk to it), not a phone line; no caller number.";

fn stored_text(text: &str) -> String {
    if text.trim().is_empty() {
        "[cut off before any words were heard]".to_string()
    } else {
        text.trim().to_string()
    }
}

impl CallLog {
    /// Looks up the caller's preferences and creates the call log (number encrypted and
    /// hashed by the store; never logged), noting the configuration version in the transcript.
    pub async fn open(
        svc: &Arc<VoiceService>,
        params: &CallParams,
        snapshot: &Arc<BusinessSnapshot>,
    ) -> Result<CallLog, CallLogError> {
        let store = svc.deps.store.clone();
        let now = svc.deps.clock.now();
        let caller = params.caller.clone();
        let business_id = params.business_id.clone();
        let call_uuid = params.call_uuid.clone();
        let version = snapshot.version.clone();
        let default_lang = snapshot.business.languages.default;
        let supports: Vec<Lang> = snapshot.business.languages.supported.clone();
        let notes = params.notes.clone();
        let browser = params.is_browser();
        tokio::task::spawn_blocking(move || {
            let hash = caller.as_ref().map(|p| store.crypto().hash(p));
            let prefs = match &hash {
                Some(h) => store.get_caller_preferences(h)?,
                None => None,
            };
            let preferred = prefs
                .as_ref()
                .and_then(|p| p.last_language.as_deref())
                .and_then(Lang::from_code)
                .filter(|l| supports.contains(l));
            let context = CallerContext {
                preferred_lang: preferred,
                returning: prefs.is_some(),
                has_number: hash.is_some(),
                whatsapp_consent: prefs.as_ref().and_then(|p| p.whatsapp_consent),
            };
            let call = store.create_call(
                &NewCall {
                    business_id,
                    external_call_id: Some(call_uuid),
                    caller,
                    started_at: now,
                    language: Some(preferred.unwrap_or(default_lang).code().to_string()),
                },
                now,
            )?;
            Ok::<_, StoreError>((call.id, hash, context))
        })
        .await
        .map_err(|e| CallLogError::Interrupted(e.to_string()))?
        .map_err(CallLogError::from)
        .map(|(id, phone_hash, context)| {
            let turns = Arc::new(AtomicU32::new(0));
            let (writer, written) = spawn_writer(svc, id, turns.clone());
            let log = CallLog {
                id,
                phone_hash,
                context,
                started_utc: now,
                turns,
                writer: Mutex::new(Some(writer)),
                written: Mutex::new(Some(written)),
                notes,
            };
            log.note(CallNote::Opened { call_log_id: id });
            log.queue(NewTurn {
                role: TurnRole::System,
                text: format!("Call started with configuration version {version}."),
                language: None,
                stt_confidence: None,
                started_at: now,
                timings: TurnTimings::default(),
                handled_by: None,
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
            });
            if browser {
                // The channel marker a reviewer reads: this was the owner trying the bot.
                log.queue(NewTurn {
                    role: TurnRole::System,
                    text: BROWSER_CHANNEL_NOTE.to_string(),
                    language: None,
                    stt_confidence: None,
                    started_at: now,
                    timings: TurnTimings::default(),
                    handled_by: None,
                    interrupted: false,
                    played_ms: None,
                    intended_text: None,
                    tts_fallbacks: Vec::new(),
                    config_errors: Vec::new(),
                    corrected_slots: Vec::new(),
                });
            }
            log
        })
    }

    /// Echoes `note` to the live watcher, if any (a closed page is not an error).
    fn note(&self, note: CallNote) {
        if let Some(tx) = &self.notes {
            let _ = tx.send(note);
        }
    }

    /// Turns written so far (all of them once [`CallLog::finish`] has returned).
    pub fn turns(&self) -> u32 {
        self.turns.load(Ordering::SeqCst)
    }

    /// Queues a turn for the writer (never waits for the disk).
    fn queue(&self, turn: NewTurn) {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match writer.as_ref() {
            Some(tx) if tx.send(turn).is_ok() => {}
            _ => tracing::error!(
                call_log = self.id,
                "A turn came after the call log closed; not stored."
            ),
        }
    }

    async fn append(&self, _svc: &Arc<VoiceService>, turn: NewTurn) {
        self.queue(turn);
    }

    /// Waits until every queued turn is stored.
    async fn flush(&self) {
        drop(self.writer.lock().unwrap_or_else(|p| p.into_inner()).take());
        let written = self
            .written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = written
            && let Err(e) = task.await
        {
            tracing::error!(call_log = self.id, error = %e, "The turn writer stopped early.");
        }
    }

    /// What the caller said (or pressed), with the recogniser's confidence (`None` for key
    /// presses) and the recognition delay. `lang` is the call's language; recognised words
    /// that clearly show their own language ("table for two" in a Hindi call) are stored
    /// under that one.
    pub async fn caller_turn(
        &self,
        svc: &Arc<VoiceService>,
        text: &str,
        lang: Lang,
        confidence: Option<f32>,
        marks: &TurnMarks,
    ) {
        let lang = match confidence {
            Some(_) => utterance_lang(text).unwrap_or(lang),
            None => lang,
        };
        let turn = NewTurn {
            role: TurnRole::Caller,
            text: stored_text(text),
            language: Some(lang.code().to_string()),
            stt_confidence: confidence
                .filter(|c| c.is_finite())
                .map(|c| c.clamp(0.0, 1.0)),
            started_at: svc.deps.clock.now(),
            timings: TurnTimings {
                stt_ms: marks.timings().stt_ms,
                ..TurnTimings::default()
            },
            handled_by: None,
            interrupted: false,
            played_ms: None,
            intended_text: None,
            tts_fallbacks: Vec::new(),
            config_errors: Vec::new(),
            corrected_slots: Vec::new(),
        };
        self.note(CallNote::Caller {
            text: turn.text.clone(),
            language: lang.code().to_string(),
        });
        self.append(svc, turn).await;
    }

    /// What the caller heard of the bot's reply, with the whole turn's timings (also sent to
    /// the metrics sink), what handled the turn, how it played and what went wrong in it.
    pub async fn bot_turn(&self, svc: &Arc<VoiceService>, turn: BotTurn, marks: &TurnMarks) {
        for (stage, seconds) in marks.stages() {
            svc.metric(stage, seconds);
        }
        let turn = NewTurn {
            role: TurnRole::Bot,
            text: stored_text(&turn.heard),
            language: Some(turn.lang.code().to_string()),
            stt_confidence: None,
            started_at: turn.started_at,
            timings: marks.timings(),
            handled_by: turn.handled_by,
            interrupted: turn.interrupted,
            played_ms: Some(u32::try_from(turn.played.as_millis()).unwrap_or(u32::MAX)),
            intended_text: turn
                .interrupted
                .then(|| turn.intended.trim().to_string())
                .filter(|t| !t.is_empty()),
            tts_fallbacks: turn.tts_fallbacks,
            config_errors: turn.problems.config_errors,
            corrected_slots: turn.problems.corrected_slots,
        };
        self.note(CallNote::Bot {
            text: turn.text.clone(),
            language: turn.language.clone().unwrap_or_default(),
        });
        self.append(svc, turn).await;
    }

    /// Records the end with the call's summary (which also queues its review), and what to
    /// remember about the caller next time.
    pub async fn finish(
        &self,
        svc: &Arc<VoiceService>,
        outcome: CallOutcome,
        reservation_id: Option<u64>,
        lang: Option<Lang>,
        slots: Option<Map<String, Value>>,
        flows: &[String],
    ) {
        let summary = vartalaap_review::call_summary(
            outcome,
            flows.iter().map(String::as_str),
            slots.as_ref().unwrap_or(&Map::new()),
        );
        self.flush().await;
        let store = svc.deps.store.clone();
        let now = svc.deps.clock.now();
        let id = self.id;
        let hash = self.phone_hash.clone();
        let started = self.started_utc;
        let result = tokio::task::spawn_blocking(move || {
            store.finish_call(
                id,
                &CallEnd {
                    ended_at: now,
                    outcome,
                    reservation_id,
                    language: lang.map(|l| l.code().to_string()),
                    summary: Some(summary),
                },
                now,
            )?;
            if let Some(hash) = hash {
                let slots = slots.unwrap_or_default();
                store.update_caller_preferences(
                    &hash,
                    &CallerUpdate {
                        language: lang.map(|l| l.code().to_string()),
                        name: slots
                            .get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        whatsapp_consent: slots.get("whatsapp_consent").and_then(Value::as_bool),
                        call_at: Some(started),
                    },
                    now,
                )?;
            }
            Ok::<(), StoreError>(())
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(call_log = id, error = %e, "Could not record the end of the call.")
            }
            Err(e) => {
                tracing::error!(call_log = id, error = %e, "Recording the end of the call was interrupted.")
            }
        }
    }
}
