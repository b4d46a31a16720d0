//! [`VoiceService`]: what every call shares, built once at start-up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_core::ToolExecutor;
use vartalaap_providers::plivo::{PlivoRest, PlivoRestConfig};
use vartalaap_script::ScriptRuntime;
use vartalaap_store::{Clock, PhoneNumber, Store};
use vartalaap_telephony::{Command, StreamEvent, StreamTokenKey, TokenError};

use crate::config::{PlivoVoiceConfig, VoiceConfig};
use crate::listen::VadChoice;
use crate::session::{CallParams, CallSummary};
use crate::speech::{SpeechPool, VoiceNeeds};

/// Most answered-but-not-yet-streaming calls remembered (a flood of answer requests cannot
/// grow memory without bound).
const MAX_PENDING: usize = 10_000;

/// What a tool executor is built for: one call.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// The snapshot the call pinned.
    pub snapshot: Arc<BusinessSnapshot>,
    /// The caller's number, when Plivo sent one.
    pub caller: Option<PhoneNumber>,
    /// The call log id (reservations link to it).
    pub call_id: u64,
}

/// Builds the tool executor for a call (the server passes its store-backed `StoreTools`), so
/// this crate does not depend on the server.
pub type ToolsFactory = Arc<dyn Fn(ToolContext) -> Box<dyn ToolExecutor + Send> + Send + Sync>;

/// Receives `(stage, seconds)` latency samples (the server feeds its Prometheus histograms).
pub type MetricsSink = Arc<dyn Fn(&str, f64) + Send + Sync>;

/// The rest of the process a call needs.
#[derive(Clone)]
pub struct VoiceDeps {
    /// Live business snapshots.
    pub config: Arc<ConfigStore>,
    /// Storage for call logs, turns, preferences and tools.
    pub store: Arc<Store>,
    /// Script runtime for flow expressions and plugins.
    pub runtime: Arc<ScriptRuntime>,
    /// The process clock.
    pub clock: Arc<dyn Clock>,
    /// Tool executor per call.
    pub tools: ToolsFactory,
    /// Latency samples.
    pub metrics: MetricsSink,
}

/// Why the voice service refused something.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The stream token secret is unusable.
    #[error("stream token secret: {0}")]
    TokenKey(TokenError),
    /// A stream token did not verify.
    #[error("stream token refused: {0}")]
    BadToken(TokenError),
    /// The token was valid but its call was never answered here, or already streamed.
    #[error("no answered call waits for this stream (token already used, or the server restarted)")]
    UnknownStream,
    /// The business the token names is gone.
    #[error("business {0:?} is not loaded")]
    UnknownBusiness(String),
    /// Plivo is not configured.
    #[error("telephony is not configured: set PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and PUBLIC_BASE_URL")]
    NotConfigured,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// As many calls as `MAX_CONCURRENT_CALLS` allows are already in progress.
    #[error("{limit} calls are already in progress (MAX_CONCURRENT_CALLS)")]
    Busy {
        /// The limit that was reached.
        limit: usize,
    },
}

#[derive(Debug, Clone)]
struct Pending {
    business_id: String,
    caller: Option<PhoneNumber>,
    answered_at: DateTime<Utc>,
    /// Kept past the token's life so a late hang-up callback still finds the call and records
    /// it (an answered call whose stream never connected still gets a call log).
    expires_at: DateTime<Utc>,
}

/// How long an answered call that has not streamed is remembered for its hang-up callback.
const PENDING_MEMORY: chrono::Duration = chrono::Duration::minutes(10);

/// What Plivo's hang-up callback says (only what the call log needs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HangupInfo {
    /// `Duration`: seconds from answer to hang-up.
    pub duration_secs: Option<u32>,
    /// `HangupSource` was the caller (they gave up) rather than a failure.
    pub by_caller: bool,
}

/// What a hang-up callback did.
#[derive(Debug)]
pub enum Hungup {
    /// A live call session was told to end; it writes its own call log.
    Live,
    /// The call was answered here but its stream never connected: a call log is being
    /// written with the end and duration from the callback (the task yields its id).
    NeverStreamed(JoinHandle<Option<u64>>),
    /// Not a call this process answered (or already recorded).
    Unknown,
}

/// A stream the answer URL issued, ready to run.
#[derive(Debug, Clone)]
pub struct AdmittedCall {
    params: CallParams,
}

impl AdmittedCall {
    /// The business the call is for.
    pub fn business_id(&self) -> &str {
        &self.params.business_id
    }

    /// Plivo's `CallUUID` (for log lines about this call's socket).
    pub fn call_uuid(&self) -> &str {
        &self.params.call_uuid
    }

    /// Echoes the call's log as it is written — its id, then each caller and bot line — to
    /// `notes` (the browser's "Talk to it" page shows the transcript live).
    pub fn with_notes(mut self, notes: mpsc::UnboundedSender<crate::engine::CallNote>) -> Self {
        self.params.notes = Some(notes);
        self
    }
}

/// Shared state of all calls.
pub struct VoiceService {
    pub(crate) cfg: VoiceConfig,
    pub(crate) deps: VoiceDeps,
    pub(crate) speech: Arc<SpeechPool>,
    pub(crate) vad: VadChoice,
    /// The offline recogniser (Whisper), used only when Deepgram is not configured.
    pub(crate) offline: Option<Arc<vartalaap_stt::RecogniserWorker>>,
    pub(crate) rest: Option<PlivoRest>,
    /// The optional LLM (see [`VoiceService::with_llm`]); `None` = offline.
    pub(crate) llm: Option<Arc<vartalaap_llm::Llm>>,
    /// What speculative first sentences did, across calls.
    pub(crate) speculation: Arc<crate::speculate::SpeculationStats>,
    /// Caller frames the VAD model (Silero) judged, across calls.
    pub(crate) vad_judged: Arc<std::sync::atomic::AtomicU64>,
    token_key: StreamTokenKey,
    pending: Mutex<HashMap<String, Pending>>,
    live: Mutex<HashMap<String, CancellationToken>>,
    pub(crate) shutdown: CancellationToken,
    active: AtomicUsize,
    idle: Notify,
}

impl std::fmt::Debug for VoiceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceService")
            .field("stt", &self.recogniser_name())
            .field("plivo", &self.cfg.plivo.is_some())
            .field("vad", &self.vad.name())
            .field("active_calls", &self.active_calls())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Normalizes a dialled or configured number for routing (E.164); Plivo drops the `+`.
pub fn routing_number(raw: &str) -> Option<String> {
    PhoneNumber::parse(raw)
        .or_else(|_| PhoneNumber::parse(&format!("+{}", raw.trim())))
        .ok()
        .map(|p| p.expose_e164().to_string())
}

impl VoiceService {
    /// Builds the voices (blocking: loads models and pre-synthesizes apologies; call it from
    /// `spawn_blocking` or before the runtime is busy) and logs what the calls will be able to do.
    pub fn new(cfg: VoiceConfig, deps: VoiceDeps) -> Result<VoiceService, VoiceError> {
        let token_key =
            StreamTokenKey::new(cfg.stream_token_secret.expose()).map_err(VoiceError::TokenKey)?;
        // Voices for the languages the businesses speak now (a reload adding one loads it
        // when it is first needed).
        let needs = VoiceNeeds::for_languages(
            deps.config
                .list()
                .iter()
                .flat_map(|s| s.business.languages.supported.clone()),
        );
        let speech = Arc::new(SpeechPool::new(
            cfg.models.as_ref(),
            &cfg.espeak_program,
            cfg.tts_workers,
            cfg.phrase_cache_entries,
            cfg.edge.clone(),
            needs,
        ));
        let vad = VadChoice::detect(cfg.models.as_ref());
        vad.preload();
        let rest = cfg.plivo.as_ref().and_then(|p| {
            match PlivoRest::new(PlivoRestConfig::new(
                p.api_base_url.clone(),
                p.auth_id.clone(),
                p.auth_token.clone(),
            )) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::error!(error = %e, "Plivo REST client could not be built; transfers and REST hang-ups are off.");
                    None
                }
            }
        });
        let offline = crate::offline::load(&cfg);
        let hindi = crate::offline::hindi_businesses(&deps.config);
        for notice in crate::offline::startup_notices(cfg.deepgram.is_some(), &offline, &hindi) {
            if notice.warn {
                tracing::warn!("{}", notice.text);
            } else {
                tracing::info!("{}", notice.text);
            }
        }
        let offline = offline.ok();
        if cfg.plivo.is_none() {
            tracing::info!(
                "Telephony is off: /plivo/* answers 503 until PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and PUBLIC_BASE_URL are set."
            );
        }
        tracing::info!(
            vad = vad.name(),
            stt = match (&cfg.deepgram, &offline) {
                (Some(_), _) => "deepgram",
                (None, Some(w)) => w.name(),
                (None, None) => "none",
            },
            "Voice calls ready."
        );
        Ok(VoiceService {
            cfg,
            deps,
            speech,
            vad,
            offline,
            rest,
            llm: None,
            speculation: Arc::default(),
            vad_judged: Arc::default(),
            token_key,
            pending: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
            active: AtomicUsize::new(0),
            idle: Notify::new(),
        })
    }

    /// Lets calls use `llm`: it reads utterances the offline path misses, and phrases the
    /// listed answers, streamed sentence by sentence to TTS after the guard passed each one.
    /// An offline `llm` changes nothing.
    pub fn with_llm(mut self, llm: Arc<vartalaap_llm::Llm>) -> VoiceService {
        self.llm = (!llm.is_offline()).then_some(llm);
        self
    }

    /// What speculative first sentences have done so far (all calls): how many were guessed,
    /// synthesized ahead, and served to replies.
    pub fn speculation(&self) -> crate::SpeculationCounts {
        self.speculation.snapshot()
    }

    /// Caller frames (20 ms) the VAD model has judged so far, all calls. The model runs only
    /// while the bot speaks, or when our VAD ends the caller's turn (no Deepgram), and never
    /// on long digital silence (`docs/VOICE.md`, "One turn").
    pub fn vad_model_frames(&self) -> u64 {
        self.vad_judged.load(Ordering::Relaxed)
    }

    /// Plivo settings, when telephony is on.
    pub fn plivo(&self) -> Option<&PlivoVoiceConfig> {
        self.cfg.plivo.as_ref()
    }

    /// Whether calls can understand speech.
    pub fn has_recogniser(&self) -> bool {
        self.cfg.deepgram.is_some() || self.offline.is_some()
    }

    /// Which recogniser calls use: `deepgram`, `whisper` (offline, English only) or `none`.
    pub fn recogniser_name(&self) -> &'static str {
        match (&self.cfg.deepgram, &self.offline) {
            (Some(_), _) => "deepgram",
            (None, Some(w)) => w.name(),
            (None, None) => "none",
        }
    }

    /// The longest call.
    pub fn max_call(&self) -> Duration {
        self.cfg.max_call
    }

    /// Calls running now.
    pub fn active_calls(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// The business whose public number is `to` (both sides normalized to E.164).
    pub fn business_for_number(&self, to: &str) -> Option<Arc<BusinessSnapshot>> {
        let wanted = routing_number(to)?;
        self.deps
            .config
            .list()
            .into_iter()
            .find(|s| routing_number(&s.business.phone).as_deref() == Some(wanted.as_str()))
    }

    /// Remembers an answered call and returns the signed, short-lived token for its stream URL.
    /// The caller's number stays here, in memory, never in a URL.
    pub fn answer(
        &self,
        call_uuid: &str,
        business_id: &str,
        from: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, VoiceError> {
        if self.shutdown.is_cancelled() {
            return Err(VoiceError::ShuttingDown);
        }
        let ttl = chrono::Duration::from_std(self.cfg.stream_token_ttl)
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        let caller = from
            .and_then(routing_number)
            .and_then(|e| PhoneNumber::parse(&e).ok());
        let mut pending = lock(&self.pending);
        pending.retain(|_, p| p.expires_at > now);
        let limit = self.cfg.max_concurrent_calls;
        if limit > 0 {
            // Answered calls whose stream may still connect count too: they are about to run.
            let connecting = pending
                .values()
                .filter(|p| p.answered_at + ttl > now)
                .count();
            if self.active_calls() + connecting >= limit {
                return Err(VoiceError::Busy { limit });
            }
        }
        if pending.len() >= MAX_PENDING {
            pending.clear();
            tracing::warn!("Too many answered calls without a stream; forgot them all.");
        }
        pending.insert(
            call_uuid.to_string(),
            Pending {
                business_id: business_id.to_string(),
                caller,
                answered_at: now,
                expires_at: now + ttl.max(PENDING_MEMORY),
            },
        );
        Ok(self.token_key.issue(call_uuid, business_id, now, ttl))
    }

    /// Checks a stream token (MAC and expiry) without claiming its call: the server records
    /// the token as used before [`VoiceService::admit_stream`] claims the call.
    pub fn stream_claims(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<vartalaap_telephony::token::StreamClaims, VoiceError> {
        self.token_key
            .verify(token, now)
            .map_err(VoiceError::BadToken)
    }

    /// Checks a stream token and claims its answered call (each token works once).
    pub fn admit_stream(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AdmittedCall, VoiceError> {
        if self.shutdown.is_cancelled() {
            return Err(VoiceError::ShuttingDown);
        }
        let claims = self
            .token_key
            .verify(token, now)
            .map_err(VoiceError::BadToken)?;
        let pending = lock(&self.pending)
            .remove(&claims.call_uuid)
            .filter(|p| p.business_id == claims.business_id)
            .ok_or(VoiceError::UnknownStream)?;
        if self.deps.config.current(&pending.business_id).is_none() {
            return Err(VoiceError::UnknownBusiness(pending.business_id));
        }
        Ok(AdmittedCall {
            params: CallParams {
                call_uuid: claims.call_uuid,
                business_id: pending.business_id,
                caller: pending.caller,
                notes: None,
            },
        })
    }

    /// Runs an admitted call: `events` are Plivo's stream events in arrival order (closing the
    /// channel means the socket closed); commands for Plivo come out of `out`. The task ends
    /// when the call does; the socket should then be closed.
    pub fn run_call(
        self: &Arc<Self>,
        call: AdmittedCall,
        events: mpsc::Receiver<StreamEvent>,
        out: mpsc::Sender<Command>,
    ) -> JoinHandle<CallSummary> {
        let hangup = CancellationToken::new();
        lock(&self.live).insert(call.params.call_uuid.clone(), hangup.clone());
        self.active.fetch_add(1, Ordering::SeqCst);
        let svc = self.clone();
        tokio::spawn(async move {
            let uuid = call.params.call_uuid.clone();
            let summary = crate::session::run(svc.clone(), call.params, events, out, hangup).await;
            lock(&svc.live).remove(&uuid);
            if svc.active.fetch_sub(1, Ordering::SeqCst) == 1 {
                svc.idle.notify_waiters();
            }
            summary
        })
    }

    /// Plivo says the stream stopped (stream-status callback): stop the call's session.
    pub fn call_ended(&self, call_uuid: &str) -> bool {
        match lock(&self.live).get(call_uuid) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Plivo's hang-up callback: stops the call's session, or, when the call was answered but
    /// its stream never connected, records the call with the end and duration Plivo reports.
    pub fn hung_up(self: &Arc<Self>, call_uuid: &str, info: HangupInfo) -> Hungup {
        if self.call_ended(call_uuid) {
            lock(&self.pending).remove(call_uuid);
            return Hungup::Live;
        }
        let Some(pending) = lock(&self.pending).remove(call_uuid) else {
            return Hungup::Unknown;
        };
        let svc = self.clone();
        let uuid = call_uuid.to_string();
        Hungup::NeverStreamed(tokio::spawn(async move {
            let store = svc.deps.store.clone();
            let now = svc.deps.clock.now();
            let result = tokio::task::spawn_blocking(move || {
                record_unstreamed(&store, &uuid, pending, info, now)
            })
            .await;
            match result {
                Ok(Ok(id)) => {
                    tracing::warn!(
                        call_log = id,
                        "An answered call hung up before its audio stream connected; recorded."
                    );
                    Some(id)
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "Could not record an answered call that never streamed.");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, "Recording an answered call that never streamed was interrupted.");
                    None
                }
            }
        }))
    }

    /// Waits until no call runs or `deadline` passes; returns the calls still running.
    async fn wait_idle(&self, deadline: tokio::time::Instant) -> usize {
        loop {
            let idle = self.idle.notified();
            if self.active_calls() == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.active_calls();
            }
        }
    }

    /// Graceful shutdown: refuses new calls and asks every call to say goodbye and hang up
    /// (each call bounds its goodbye by the drain deadline). A call still running two seconds
    /// after that is cut off: its session stops at once and writes its call log. Returns the
    /// calls that had not even recorded their end a few seconds later (normally 0).
    pub async fn shutdown(&self) -> usize {
        self.shutdown.cancel();
        let deadline =
            tokio::time::Instant::now() + self.cfg.drain_deadline + Duration::from_secs(2);
        let left = self.wait_idle(deadline).await;
        if left == 0 {
            return 0;
        }
        tracing::warn!(
            calls = left,
            "Calls did not finish their goodbye in time; cutting them off."
        );
        for token in lock(&self.live).values() {
            token.cancel();
        }
        // Long enough for a session to close its recogniser (3 s at most) and write its log.
        self.wait_idle(tokio::time::Instant::now() + Duration::from_secs(5))
            .await
    }

    pub(crate) fn metric(&self, stage: &str, seconds: f64) {
        (self.deps.metrics)(stage, seconds);
    }

    /// Synthesizes, in the background, what every call is sure to say: each business's
    /// greeting in each of its languages and the call's own fixed lines. Otherwise the first
    /// callers after a start (at rush hour, everyone arriving in the same second) wait for
    /// Piper to say them for the first time. The task yields how many sentences it prepared.
    pub fn prewarm(self: &Arc<Self>) -> JoinHandle<usize> {
        let svc = self.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let mut lines: Vec<(String, vartalaap_config::Lang)> = Vec::new();
            for snapshot in svc.deps.config.list() {
                let host =
                    vartalaap_script::RhaiHost::new(svc.deps.runtime.clone(), snapshot.clone());
                let now = svc
                    .deps
                    .clock
                    .now()
                    .with_timezone(&snapshot.business.timezone)
                    .naive_local();
                for lang in snapshot.business.languages.supported.clone() {
                    let caller = vartalaap_core::CallerContext {
                        preferred_lang: Some(lang),
                        ..Default::default()
                    };
                    let (_, first) =
                        vartalaap_core::Conversation::start(snapshot.clone(), now, caller, &host);
                    for output in first {
                        if let vartalaap_core::Output::Say { text, lang, .. } = output {
                            lines.extend(
                                vartalaap_lang::split_sentences(&text)
                                    .into_iter()
                                    .map(|s| (s.to_string(), lang)),
                            );
                        }
                    }
                    for phrase in [
                        crate::Phrase::CannotUnderstand,
                        crate::Phrase::UseKeypad,
                        crate::Phrase::TransferFailed,
                        crate::Phrase::MustEnd,
                    ] {
                        lines.extend(
                            vartalaap_lang::split_sentences(crate::phrases::text(phrase, lang))
                                .into_iter()
                                .map(|s| (s.to_string(), lang)),
                        );
                    }
                }
            }
            lines.sort();
            lines.dedup();
            let mut ready = 0;
            for (text, lang) in &lines {
                if svc.shutdown.is_cancelled() {
                    break;
                }
                if svc.speech.speak_local(text, *lang).1.is_none() {
                    ready += 1;
                }
            }
            tracing::info!(
                sentences = ready,
                seconds = started.elapsed().as_secs_f64(),
                "Greetings and fixed lines are synthesized."
            );
            ready
        })
    }
}

/// The call log of an answered call that never streamed: answered → Plivo's hang-up, with a
/// system turn saying why there is no conversation.
fn record_unstreamed(
    store: &Store,
    call_uuid: &str,
    pending: Pending,
    info: HangupInfo,
    now: DateTime<Utc>,
) -> Result<u64, vartalaap_store::StoreError> {
    use vartalaap_store::{CallEnd, CallOutcome, NewCall, NewTurn, TurnRole, TurnTimings};
    let started = pending.answered_at;
    let ended = match info.duration_secs {
        Some(secs) => started + chrono::Duration::seconds(i64::from(secs)),
        None => now.max(started),
    };
    let call = store.create_call(
        &NewCall {
            business_id: pending.business_id,
            external_call_id: Some(call_uuid.to_string()),
            caller: pending.caller,
            started_at: started,
            language: None,
        },
        now,
    )?;
    store.append_turn(
        call.id,
        &NewTurn {
            role: TurnRole::System,
            text: "Answered, but the audio stream never connected before the call ended."
                .to_string(),
            language: None,
            stt_confidence: None,
            started_at: started,
            timings: TurnTimings::default(),
            handled_by: None,
            interrupted: false,
            played_ms: None,
            intended_text: None,
            tts_fallbacks: Vec::new(),
            config_errors: Vec::new(),
            corrected_slots: Vec::new(),
        },
        now,
    )?;
    let outcome = if info.by_caller {
        CallOutcome::Abandoned
    } else {
        CallOutcome::Failed
    };
    store.finish_call(
        call.id,
        &CallEnd {
            ended_at: ended,
            outcome,
            reservation_id: None,
            language: None,
            summary: Some(vartalaap_review::call_summary(
                outcome,
                [],
                &serde_json::Map::new(),
            )),
        },
        now,
    )?;
    Ok(call.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_numbers_match_across_formats() {
        assert_eq!(
            routing_number("+91 135 271 0000"),
            routing_number("911352710000")
        );
        assert_eq!(
            routing_number("+91 98765 43210"),
            routing_number("919876543210")
        );
        assert_eq!(
            routing_number("14155550123").as_deref(),
            Some("+14155550123")
        );
        assert_eq!(routing_number("abc"), None);
    }
}
