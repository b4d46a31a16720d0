//! Text conversations with the real engine: the admin "try it" panel, black-box tests
//! (`POST /api/businesses/{id}/conversations`) and `vartalaap chat` all go through
//! [`ChatService`], which runs the same pure engine a phone call runs, with tool calls executed
//! against real storage.
//!
//! Time: a conversation may start at a chosen reference time (`at`), so an owner can try
//! "book for tomorrow" as if it were any day. Its clock then advances with real elapsed time.
//!
//! With an LLM configured ([`ChatService::with_llm`]) each utterance goes through
//! [`Llm::text_turn`]: the model reads what the offline extractors miss and phrases the listed
//! answers, guarded; any failure leaves the offline reply of the same turn. The service's
//! methods stay synchronous (they run on the blocking pool or in the terminal), so the model's
//! futures are driven with the runtime handle given here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_core::{CallerContext, Conversation, HandledBy, Input, Output, drive, drive_start};
use vartalaap_llm::Llm;
use vartalaap_script::{RhaiHost, ScriptRuntime};
use vartalaap_store::{Clock, PhoneNumber, Store};

use crate::dialog::{StoreTools, local_to_utc};

/// Conversations idle longer than this are forgotten.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Upper bound on live text conversations, so a client cannot exhaust memory.
pub const MAX_CONVERSATIONS: usize = 1000;

/// Why a chat request could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("unknown business {0:?}")]
    UnknownBusiness(String),
    #[error("no conversation {0:?} (it ended more than 30 minutes ago, or never existed)")]
    UnknownConversation(String),
    #[error("invalid caller number: {0}")]
    BadCaller(String),
    #[error("too many open conversations; try again later")]
    TooMany,
}

/// One live text conversation.
struct Session {
    conv: Conversation,
    tools: StoreTools,
    host: RhaiHost,
    /// Business-local time the conversation started at.
    started_local: NaiveDateTime,
    started: Instant,
    last_active: Instant,
}

impl Session {
    fn now_local(&self) -> NaiveDateTime {
        self.started_local + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// What the API (and the terminal chat) shows after each turn.
#[derive(Debug, Clone, Serialize)]
pub struct ChatReply {
    pub conversation_id: String,
    /// Everything the bot said this turn, joined.
    pub reply: String,
    /// Reply language code (`hi`, `en`, `hinglish`).
    pub language: &'static str,
    pub state: ChatState,
    /// What handled this turn: the intent understood and the flow and step that answered
    /// (also for one-turn answers whose flow has ended, when `state.flow` is null).
    pub handled_by: HandledBy,
    pub ended: bool,
    /// Tool calls, transfers and hang-ups the engine asked for this turn.
    pub actions: Vec<serde_json::Value>,
    /// Configuration version the conversation runs with.
    pub config_version: String,
}

/// Where the conversation stands.
#[derive(Debug, Clone, Serialize)]
pub struct ChatState {
    pub flow: Option<String>,
    pub step: Option<String>,
    pub slots: serde_json::Map<String, serde_json::Value>,
}

/// All live text conversations of the process.
pub struct ChatService {
    config: Arc<ConfigStore>,
    store: Arc<Store>,
    runtime: Arc<ScriptRuntime>,
    clock: Arc<dyn Clock>,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    /// The model and the runtime that drives its requests; `None` when offline.
    llm: Option<(Arc<Llm>, tokio::runtime::Handle)>,
}

impl ChatService {
    pub fn new(
        config: Arc<ConfigStore>,
        store: Arc<Store>,
        runtime: Arc<ScriptRuntime>,
        clock: Arc<dyn Clock>,
    ) -> ChatService {
        ChatService {
            config,
            store,
            runtime,
            clock,
            sessions: Mutex::new(HashMap::new()),
            llm: None,
        }
    }

    /// Lets `llm` help with every utterance. `runtime` drives its HTTP requests: call
    /// [`ChatService::message`] from a thread that is not one of that runtime's async workers
    /// (the blocking pool, or a plain thread), as the API and the terminal chat do.
    pub fn with_llm(mut self, llm: Arc<Llm>, runtime: tokio::runtime::Handle) -> ChatService {
        self.llm = (!llm.is_offline()).then_some((llm, runtime));
        self
    }

    /// Starts a conversation: the bot's greeting comes back as the first reply.
    ///
    /// `at` is the conversation's reference time (default: now); `caller` a phone number that
    /// identifies the caller for look-ups of their reservations.
    pub fn start(
        &self,
        business_id: &str,
        at: Option<DateTime<Utc>>,
        caller: Option<&str>,
    ) -> Result<ChatReply, ChatError> {
        let snapshot = self
            .config
            .current(business_id)
            .ok_or_else(|| ChatError::UnknownBusiness(business_id.to_string()))?;
        let caller = caller
            .filter(|c| !c.trim().is_empty())
            .map(|c| PhoneNumber::parse(c).map_err(|e| ChatError::BadCaller(e.to_string())))
            .transpose()?;
        let preferences = caller.as_ref().and_then(|phone| {
            let hash = self.store.crypto().hash(phone);
            self.store.get_caller_preferences(&hash).ok().flatten()
        });
        let context = CallerContext {
            preferred_lang: preferences
                .as_ref()
                .and_then(|p| p.last_language.as_deref())
                .and_then(vartalaap_config::Lang::from_code),
            returning: preferences.is_some(),
            has_number: caller.is_some(),
            whatsapp_consent: preferences.as_ref().and_then(|p| p.whatsapp_consent),
        };
        let at = at.unwrap_or_else(|| self.clock.now());
        let started_local = at.with_timezone(&snapshot.business.timezone).naive_local();
        let host = RhaiHost::new(self.runtime.clone(), snapshot.clone());
        let (mut conv, first) =
            Conversation::start(snapshot.clone(), started_local, context, &host);
        let mut tools = StoreTools {
            store: self.store.clone(),
            snapshot: snapshot.clone(),
            caller,
            call_id: None,
            now_utc: local_to_utc,
            booked: Vec::new(),
        };
        let outputs = drive_start(&mut conv, first, started_local, &host, &mut tools);
        let id = crate::secrets::random_hex(12);
        let session = Session {
            conv,
            tools,
            host,
            started_local,
            started: Instant::now(),
            last_active: Instant::now(),
        };
        let reply = reply(&id, &session, &snapshot, outputs);
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| {
            s.lock()
                .map(|s| s.last_active.elapsed() < IDLE_TIMEOUT)
                .unwrap_or(false)
        });
        if sessions.len() >= MAX_CONVERSATIONS {
            return Err(ChatError::TooMany);
        }
        sessions.insert(id, Arc::new(Mutex::new(session)));
        Ok(reply)
    }

    /// Sends one caller message and returns the bot's reply.
    pub fn message(&self, id: &str, text: &str) -> Result<ChatReply, ChatError> {
        let session = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| ChatError::UnknownConversation(id.to_string()))?;
        let mut session = session.lock().unwrap_or_else(|e| e.into_inner());
        session.last_active = Instant::now();
        let now = session.now_local();
        let input = if text.trim().is_empty() {
            Input::NoInput
        } else if text.trim().len() == 1
            && text
                .trim()
                .chars()
                .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            Input::Dtmf(text.trim().chars().next().unwrap_or('0'))
        } else {
            Input::text(text)
        };
        let Session {
            conv, tools, host, ..
        } = &mut *session;
        let outputs = match (input, &self.llm) {
            (Input::Utterance { text, .. }, Some((llm, runtime))) => {
                runtime
                    .block_on(llm.text_turn(conv, now, &text, host, tools))
                    .outputs
            }
            (input, _) => drive(conv, now, input, host, tools),
        };
        let snapshot = tools.snapshot.clone();
        Ok(reply(id, &session, &snapshot, outputs))
    }
}

fn reply(
    id: &str,
    session: &Session,
    snapshot: &BusinessSnapshot,
    outputs: Vec<Output>,
) -> ChatReply {
    let view = session.conv.view();
    let mut said = Vec::new();
    let mut actions = Vec::new();
    for output in outputs {
        match output {
            Output::Say { text, .. } => said.push(text),
            Output::Listen { .. } => {}
            other => actions.push(serde_json::to_value(&other).unwrap_or_default()),
        }
    }
    ChatReply {
        conversation_id: id.to_string(),
        reply: said.join(" "),
        language: view.lang.code(),
        state: ChatState {
            flow: view.flow,
            step: view.step,
            slots: view.slots,
        },
        handled_by: view.handled_by,
        ended: view.ended,
        actions,
        config_version: snapshot.version.clone(),
    }
}
