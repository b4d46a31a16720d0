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
    }
}
