//! The closed sets of inputs a conversation accepts and outputs it produces.
//!
//! Everything that can make the engine do work arrives as an [`Input`]; everything the engine
//! wants done in the world leaves as an [`Output`]. The edge (phone call, text chat, tests)
//! performs the outputs — speaking, listening, running tool calls against storage — and feeds
//! the results back as inputs. That is what keeps the core free of I/O and replayable.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use vartalaap_config::Lang;

/// Who is calling, as far as the edge knows before the first word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerContext {
    /// The language this caller used last time (a returning caller starts in it).
    pub preferred_lang: Option<Lang>,
    /// Whether the caller has called before.
    pub returning: bool,
    /// Whether the edge knows the caller's number (a withheld caller ID, or a text chat
    /// without one, does not): a WhatsApp confirmation is offered only when it does.
    pub has_number: bool,
    /// The caller's answer to the WhatsApp question in an earlier call; after a "no" the bot
    /// does not offer it again.
    pub whatsapp_consent: Option<bool>,
}

/// What an optional LLM at the edge made of an utterance. It is only a suggestion: every value
/// passes the same parsing and validation as offline extraction before it fills a slot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interpretation {
    /// A flow intent name (`book_table`) or a repair intent (`cancel`, `repeat`, `human`,
    /// `correction`, `goodbye`).
    pub intent: Option<String>,
    /// Slot values by canonical name: `party_size` integer, `date` "YYYY-MM-DD", `time`
    /// "HH:MM", `name` string, booleans as `true`/`false`.
    pub slots: BTreeMap<String, serde_json::Value>,
    /// The caller is correcting a value given earlier.
    pub is_correction: bool,
}

/// One event for the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The caller said something (final transcript).
    Utterance {
        /// Transcript text.
        text: String,
        /// Recogniser confidence 0.0–1.0, when known.
        confidence: Option<f32>,
        /// Structured reading from an LLM, when one is configured.
        interpretation: Option<Interpretation>,
    },
    /// The caller stayed silent for the listen patience.
    NoInput,
    /// A keypad digit (`0`–`9`, `*`, `#`).
    Dtmf(char),
    /// The result of a tool call the engine asked for.
    ToolResult {
        /// The id from [`ToolCall::call_id`].
        call_id: u32,
        /// What happened.
        result: ToolResult,
    },
}

impl Input {
    /// A plain utterance without confidence or interpretation (text chat, tests).
    pub fn text(text: impl Into<String>) -> Input {
        Input::Utterance {
            text: text.into(),
            confidence: None,
            interpretation: None,
        }
    }
}

/// One thing the engine wants done, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// Speak this text.
    Say {
        /// Final text in `lang`.
        text: String,
        /// Language of the text (chooses the voice).
        lang: Lang,
        /// Business template it was rendered from.
        template: Option<String>,
    },
    /// Listen for the caller; send [`Input::NoInput`] after `patience_ms` of silence.
    Listen {
        /// Silence allowed before `NoInput`.
        patience_ms: u32,
        /// Whether keypad digits are meaningful now.
        dtmf: bool,
    },
    /// Run a tool and answer with [`Input::ToolResult`]; the conversation waits for it.
    Tool(ToolCall),
    /// Transfer the call to a person; the conversation is over for the bot.
    Transfer {
        /// Number to transfer to, from the business file.
        to: Option<String>,
    },
    /// Hang up; the conversation has ended.
    Hangup {
        /// Why.
        reason: HangupReason,
    },
}

/// Why the bot hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupReason {
    /// The caller was done (goodbye flow, `end_call` action).
    Completed,
    /// The caller stayed silent too many times in a row.
    NoInput,
    /// The engine could not continue safely (a flow looped without waiting for the caller).
    Error,
}

/// A request for the edge to act on storage or messaging.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// Unique within the conversation; echo it in [`Input::ToolResult`].
    pub call_id: u32,
    /// What to do.
    pub kind: ToolKind,
    /// The conversation's language when the tool was called. A booking stores it, so the
    /// WhatsApp follow-up speaks the language the caller ended up using, not the greeting's.
    pub language: Lang,
}

/// The closed set of tools. Dates and times are business-local.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum ToolKind {
    /// Is there room (capacity only; hours and policy were checked by the engine)?
    CheckAvailability {
        /// Local date.
        date: NaiveDate,
        /// Local time.
        time: NaiveTime,
        /// Guests.
        party_size: u32,
    },
    /// Book atomically (capacity re-checked in the same transaction).
    Book {
        /// Local date.
        date: NaiveDate,
        /// Local time.
        time: NaiveTime,
        /// Guests.
        party_size: u32,
        /// Name the table is under.
        name: String,
        /// Whether the caller agreed to a WhatsApp follow-up.
        whatsapp_consent: bool,
        /// Free-text notes for staff.
        notes: Option<String>,
    },
    /// The caller's reservations (by the call's phone number), optionally on one date.
    FindReservations {
        /// Restrict to this date.
        date: Option<NaiveDate>,
    },
    /// Change a reservation; fields left `None` stay as they are.
    Modify {
        /// Reservation to change.
        reservation_id: String,
        /// New party size.
        party_size: Option<u32>,
        /// New date.
        date: Option<NaiveDate>,
        /// New time.
        time: Option<NaiveTime>,
    },
    /// Cancel a reservation.
    Cancel {
        /// Reservation to cancel.
        reservation_id: String,
    },
    /// Ask the manager to call back (large parties, failed transfers); not a booking.
    CreateCallback {
        /// Caller's name.
        name: Option<String>,
        /// Wanted date.
        date: Option<NaiveDate>,
        /// Wanted time.
        time: Option<NaiveTime>,
        /// Guests.
        party_size: Option<u32>,
    },
    /// Send the WhatsApp follow-up for a booking made in this call.
    SendFollowup {
        /// The booking.
        reservation_id: String,
    },
}

impl ToolKind {
    /// The tool's name, as in dialogue files, API replies and log lines (`send_followup`).
    pub fn name(&self) -> &'static str {
        match self {
            ToolKind::CheckAvailability { .. } => "check_availability",
            ToolKind::Book { .. } => "book",
            ToolKind::FindReservations { .. } => "find_reservations",
            ToolKind::Modify { .. } => "modify",
            ToolKind::Cancel { .. } => "cancel",
            ToolKind::CreateCallback { .. } => "create_callback",
            ToolKind::SendFollowup { .. } => "send_followup",
        }
    }
}

/// What a tool did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ToolResult {
    /// There is room.
    Available,
    /// No room; these nearby times have room (nearest first).
    Full {
        /// Free alternatives on the same date.
        alternatives: Vec<NaiveTime>,
    },
    /// Booked.
    Booked {
        /// The new reservation's id.
        reservation_id: String,
    },
    /// Reservations found.
    Found(Vec<ReservationSummary>),
    /// Done (modify, cancel, callback, follow-up).
    Done,
    /// The tool failed; `message` is for logs and staff, never spoken verbatim.
    Failed {
        /// What went wrong.
        message: String,
    },
}

/// What handled one turn: the intent understood, and the flow and step that answered — also
/// for one-turn answers (menu, hours, FAQ) whose flow has ended by the time the turn does.
/// Shown by the conversation API, stored on the call log's bot turns and printed by
/// `vartalaap chat --show-state`, so an owner (and a test) can see what was understood.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HandledBy {
    /// A flow's trigger intent (`book_table`, `ask_menu`), or a built-in repair intent
    /// (`repeat`, `cancel`, `goodbye`, `human`, `correction`, `silence`); `None` when nothing
    /// was understood (the fallback answered).
    pub intent: Option<String>,
    /// The flow whose step answered; `None` only when no flow ran and none is active.
    pub flow: Option<String>,
    /// The last step that ran this turn (the one that answered or now waits for the caller).
    pub step: Option<String>,
}

/// A reservation as the engine needs to talk about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservationSummary {
    /// Reservation id.
    pub id: String,
    /// Local date.
    pub date: NaiveDate,
    /// Local time.
    pub time: NaiveTime,
    /// Guests.
    pub party_size: u32,
    /// Name it is under.
    pub name: String,
}
