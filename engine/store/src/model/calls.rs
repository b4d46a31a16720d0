//! Calls, their turns and what we remember about a caller between calls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::crypto::{EncryptedPhone, PhoneHash};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Still running (or the process died before recording the end).
    InProgress,
    /// A reservation was made.
    ReservationMade,
    /// A manager callback was requested.
    CallbackRequested,
    /// Handed to a human.
    Transferred,
    /// Ended normally without a booking.
    Completed,
    /// The caller hung up early.
    Abandoned,
    /// A technical failure ended it.
    Failed,
}
string_enum!(CallOutcome {
    InProgress => "in_progress", ReservationMade => "reservation_made",
    CallbackRequested => "callback_requested", Transferred => "transferred",
    Completed => "completed", Abandoned => "abandoned", Failed => "failed"
});

/// One phone call (schemas/call_log.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallLog {
    /// Store-assigned id.
    pub id: u64,
    /// Owning business.
    pub business_id: String,
    /// Telephony provider's call id (Plivo CallUUID), for support look-ups.
    pub external_call_id: Option<String>,
    /// HMAC of the caller's number.
    pub caller_phone_hash: Option<PhoneHash>,
    /// Ciphertext of the caller's number.
    pub caller_phone_encrypted: Option<EncryptedPhone>,
    /// Call start (UTC).
    pub started_at: DateTime<Utc>,
    /// Call end, once known.
    pub ended_at: Option<DateTime<Utc>>,
    /// `ended_at - started_at` in whole seconds.
    pub duration_seconds: Option<u32>,
    /// Main language of the conversation.
    pub language: Option<String>,
    /// How it ended.
    pub outcome: CallOutcome,
    /// Reservation made during the call.
    pub reservation_id: Option<u64>,
    /// A short account of the call (flow, details given, outcome) for the call list; `None`
    /// while in progress and for calls stored before it existed.
    #[serde(default)]
    pub summary: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Who spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnRole {
    /// The person on the phone.
    Caller,
    /// Vartalaap.
    Bot,
    /// Flow/system events worth keeping in the transcript.
    System,
}
string_enum!(TurnRole { Caller => "caller", Bot => "bot", System => "system" });

/// Latency breakdown of one turn, for the call view and performance work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnTimings {
    /// End of caller speech → final transcript.
    pub stt_ms: Option<u32>,
    /// Transcript → first LLM token.
    pub llm_first_token_ms: Option<u32>,
    /// First LLM token → first TTS audio.
    pub tts_first_audio_ms: Option<u32>,
    /// End of caller speech → first bot audio.
    pub total_ms: Option<u32>,
    /// Final transcript → the dialog engine's decision (tools included). Absent in turns
    /// stored before it existed.
    #[serde(default)]
    pub engine_ms: Option<u32>,
    /// First TTS audio → first 20 ms frame sent to the caller (pacing and channels).
    #[serde(default)]
    pub first_frame_ms: Option<u32>,
}

/// What handled a turn of the dialog: the intent understood and the flow and step that
/// answered (the dialog engine's `HandledBy`, stored on the bot's turns so the call view shows
/// what was understood, also for one-turn answers whose flow has already ended).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandledBy {
    /// Intent (`book_table`, `ask_menu`) or built-in repair (`repeat`, `correction`, …);
    /// `None` when nothing was understood.
    pub intent: Option<String>,
    /// Flow that answered.
    pub flow: Option<String>,
    /// Last step that ran in the turn.
    pub step: Option<String>,
}

/// A sentence of a bot reply that its own voice could not say, and what said it instead
/// (the call page shows it; the reviewer's `tts_issue` points at the business's `/voices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtsFallback {
    /// 0-based position of the sentence in the reply.
    pub sentence: u32,
    /// The voice that failed (`piper:en_US-lessac-medium`, `espeak-ng:hi`).
    pub failed_voice: String,
    /// What said the sentence instead: another voice (`edge:hi-IN-SwaraNeural`,
    /// `espeak-ng:en`), `apology` (the pre-synthesized "having trouble" line) or `tone`.
    pub used: String,
    /// Why the voice failed, shortened ([`MAX_SIGNAL_MESSAGE_CHARS`]); never caller data.
    pub error: String,
}

/// Where a configuration error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigErrorSource {
    /// A prompt template failed to render (nothing was said for it).
    Template,
    /// A plugin hook (`before_booking`, `on_slot`) failed.
    Hook,
    /// A flow's `call` step into a plugin function failed.
    Plugin,
    /// A flow expression (`set`, `if`, a `validate` rule) failed.
    Expression,
    /// The flow itself misbehaved (unknown flow, runaway steps).
    Flow,
}
string_enum!(ConfigErrorSource {
    Template => "template", Hook => "hook", Plugin => "plugin",
    Expression => "expression", Flow => "flow"
});

/// A plugin or template error met while handling a turn. The conversation took a safe path
/// (the call went on); this records it so the owner can fix the file. Messages are short and
/// carry no caller data (no slot values, no thrown strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnConfigError {
    /// What failed.
    pub source: ConfigErrorSource,
    /// The template name (`ask_party_size`), hook (`before_booking`), plugin function
    /// (`festival_closures.is_closed`) or expression's step.
    pub name: String,
    /// The file to fix, from the configuration root (`plugins/festival_closures.rhai`,
    /// `flows/make_reservation.yaml`, `businesses/himalayan_kitchen.yaml`).
    pub file: Option<String>,
    /// Line in that file, when known.
    pub line: Option<u32>,
    /// JSON pointer in a YAML file (`/prompts/en/ask_party_size`, `/steps/3`), when known.
    pub yaml_path: Option<String>,
    /// Flow and step that were running.
    pub flow: Option<String>,
    /// Step id.
    pub step: Option<String>,
    /// What went wrong, shortened ([`MAX_SIGNAL_MESSAGE_CHARS`]).
    pub message: String,
}

/// Longest stored TTS-fallback or configuration-error message, in characters.
pub const MAX_SIGNAL_MESSAGE_CHARS: usize = 300;

/// `text` cut to [`MAX_SIGNAL_MESSAGE_CHARS`] characters (with "…" when cut).
pub fn short_message(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_SIGNAL_MESSAGE_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_SIGNAL_MESSAGE_CHARS - 1).collect();
    out.push('…');
    out
}

/// One utterance in a call transcript (schemas/conversation_turn.json). Purged after the
/// retention period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationTurn {
    /// The call.
    pub call_id: u64,
    /// 0-based order within the call.
    pub seq: u32,
    /// Speaker.
    pub role: TurnRole,
    /// What was said (transcript or bot text).
    pub text: String,
    /// Language of this utterance.
    pub language: Option<String>,
    /// The recogniser's confidence in a caller's words (0–1); `None` for bot and system
    /// turns, key presses, and turns stored before it existed.
    #[serde(default)]
    pub stt_confidence: Option<f32>,
    /// When the utterance started.
    pub started_at: DateTime<Utc>,
    /// Latency breakdown.
    pub timings: TurnTimings,
    /// What handled the turn, on the bot's turns; `None` for caller and system turns and
    /// turns stored before it existed.
    #[serde(default)]
    pub handled_by: Option<HandledBy>,
    /// The caller cut this bot reply short (barge-in): `text` holds only what was heard and
    /// `intended_text` the whole reply. False for other turns and turns stored before it.
    #[serde(default)]
    pub interrupted: bool,
    /// How much of the reply's audio the caller heard, in ms (bot turns on a call; `None` for
    /// text chats, caller and system turns, and turns stored before it existed).
    #[serde(default)]
    pub played_ms: Option<u32>,
    /// When it was interrupted: the reply as far as it had been synthesized and sent (later
    /// sentences not yet synthesized are missing); `None` otherwise.
    #[serde(default)]
    pub intended_text: Option<String>,
    /// Sentences of this reply said by a fallback instead of their own voice.
    #[serde(default)]
    pub tts_fallbacks: Vec<TtsFallback>,
    /// Plugin and template errors met while handling the turn this reply answers.
    #[serde(default)]
    pub config_errors: Vec<TurnConfigError>,
    /// Slots the caller corrected in the turn this reply answers (`party_size`, `date`, …);
    /// the call page and the reviewer count them per slot.
    #[serde(default)]
    pub corrected_slots: Vec<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A call together with its transcript, as the call view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallWithTurns {
    /// The call.
    pub call: CallLog,
    /// Turns in `seq` order.
    pub turns: Vec<ConversationTurn>,
}

/// What we remember about a caller between calls, keyed by phone hash
/// (schemas/caller_preferences.json). Purged when not refreshed within the retention period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallerPreferences {
    /// HMAC of the number (the key).
    pub phone_hash: PhoneHash,
    /// Language of the last call, to greet in it next time.
    pub last_language: Option<String>,
    /// Name the caller gave last time.
    pub preferred_name: Option<String>,
    /// Last WhatsApp consent answer.
    pub whatsapp_consent: Option<bool>,
    /// Calls seen.
    pub total_calls: u32,
    /// Last call start.
    pub last_call_at: Option<DateTime<Utc>>,
    /// First time seen.
    pub created_at: DateTime<Utc>,
    /// Last change (retention clock).
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Turns stored before `handled_by` existed read back with `None`: no migration needed.
    #[test]
    fn a_turn_stored_before_handled_by_reads_back() {
        let old = r#"{"call_id":1,"seq":0,"role":"bot","text":"Namaste","language":"hi",
            "started_at":"2026-11-25T12:30:00Z","timings":{"stt_ms":null,
            "llm_first_token_ms":null,"tts_first_audio_ms":null,"total_ms":null},
            "created_at":"2026-11-25T12:30:00Z"}"#;
        let turn: ConversationTurn = serde_json::from_str(old).expect("old row decodes");
        assert_eq!(turn.handled_by, None);
        assert_eq!(turn.stt_confidence, None);
        // Nor do the playback and problem signals.
        assert!(!turn.interrupted);
        assert_eq!((turn.played_ms, turn.intended_text), (None, None));
        assert!(turn.tts_fallbacks.is_empty() && turn.config_errors.is_empty());
        assert!(turn.corrected_slots.is_empty());
    }

    #[test]
    fn long_messages_are_cut_with_an_ellipsis() {
        assert_eq!(short_message("  fine  "), "fine");
        let long = "x".repeat(MAX_SIGNAL_MESSAGE_CHARS + 50);
        let cut = short_message(&long);
        assert_eq!(cut.chars().count(), MAX_SIGNAL_MESSAGE_CHARS);
        assert!(cut.ends_with('…'));
    }
}
