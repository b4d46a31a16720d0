//! Call reviews and the improvement suggestions they produce (issue 9's review loop): after
//! every call a reviewer scores it and lists what went wrong, a classifier gives each finding
//! one root cause, and an improver turns them into changes to a named business file.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::string_enum;

/// The root cause of a finding; also the category of the suggestion that fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewCategory {
    /// The business file lacks a fact the caller asked for (dish, FAQ).
    KnowledgeGap,
    /// The bot's wording or trigger examples failed the caller (not understood, reprompts).
    PromptWeakness,
    /// The conversation's shape failed the caller (repeated corrections, handoffs, hang-ups,
    /// slow turns, long silences).
    UxIssue,
    /// The recogniser misheard (low confidence).
    SttError,
    /// Speech synthesis fell back to a lesser voice or failed.
    TtsIssue,
    /// A plugin or template failed at run time.
    ConfigError,
}
string_enum!(ReviewCategory {
    KnowledgeGap => "knowledge_gap", PromptWeakness => "prompt_weakness",
    UxIssue => "ux_issue", SttError => "stt_error", TtsIssue => "tts_issue",
    ConfigError => "config_error"
});

/// One thing that went wrong in a call, tied to the turn it is about and to the place in the
/// configuration that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewIssue {
    /// `seq` of the transcript turn it is about; `None` for the call as a whole.
    pub turn: Option<u32>,
    /// What was found: `fallback`, `reprompt`, `unanswered_faq`, `menu_item_missing`,
    /// `repeated_correction`, `low_stt_confidence`, `slow_turn`, `long_silence`,
    /// `tts_fallback`, `handoff`, `hangup_mid_flow`, `config_error`.
    pub kind: String,
    /// Its one root cause.
    pub category: ReviewCategory,
    /// A sentence for the owner: what happened, quoting the caller where it helps.
    pub description: String,
    /// Flow that was answering.
    pub flow: Option<String>,
    /// Step of that flow.
    pub step: Option<String>,
    /// File to look at (`businesses/<id>.yaml`, `flows/<flow>.yaml`).
    pub file: Option<String>,
    /// JSON pointer into that file (`/menu`, `/steps/3`).
    pub yaml_path: Option<String>,
}

/// The review of one call (schemas/transcript_review.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptReview {
    /// Store-assigned id.
    pub id: u64,
    /// Reviewed call.
    pub call_id: u64,
    /// Owning business.
    pub business_id: String,
    /// 1 (bad) – 5 (nothing went wrong).
    pub quality_score: u8,
    /// What went wrong, in transcript order.
    pub issues: Vec<ReviewIssue>,
    /// The caller asked something the bot could not answer.
    pub has_unanswered_query: bool,
    /// Some issue is a knowledge gap.
    pub has_knowledge_gap: bool,
    /// Some issue is a prompt weakness.
    pub has_prompt_weakness: bool,
    /// Some issue is a UX issue.
    pub has_ux_issue: bool,
    /// Some issue is a recognition error.
    pub has_stt_error: bool,
    /// Some issue is a speech-synthesis issue.
    pub has_tts_issue: bool,
    /// Some issue is a configuration error.
    pub has_config_error: bool,
    /// `offline` for the rule-based reviewer, else the LLM model name.
    pub agent_model: String,
    /// How long the review took.
    pub review_latency_ms: u32,
    /// When it was made.
    pub reviewed_at: DateTime<Utc>,
    /// `agent` (the background job) or the admin who reviewed.
    pub reviewed_by: String,
}

/// Suggestion lifecycle; indexed per business so the dashboard can list open ones quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// Waiting for the owner.
    Pending,
    /// The owner changed the configuration.
    Implemented,
    /// The owner declined it.
    Rejected,
}
string_enum!(SuggestionStatus { Pending => "pending", Implemented => "implemented", Rejected => "rejected" });

/// Where a suggestion applies: a file and the place in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionTarget {
    /// Path from the configuration root (`businesses/himalayan_kitchen.yaml`).
    pub file: String,
    /// JSON pointer into the file (`/menu`, `/faqs`, `/steps/2`).
    pub yaml_path: Option<String>,
    /// Flow step it concerns, as `flow.step`.
    pub flow_step: Option<String>,
}

/// A concrete change to a business's configuration (schemas/improvement_suggestion.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImprovementSuggestion {
    /// Store-assigned id.
    pub id: u64,
    /// Review that produced it.
    pub review_id: u64,
    /// The reviewed call (to open its transcript).
    pub call_id: u64,
    /// Owning business.
    pub business_id: String,
    /// Root cause it fixes.
    pub category: ReviewCategory,
    /// One line, at most 200 characters.
    pub title: String,
    /// Why and what, at most 2,000 characters.
    pub description: String,
    /// What to change.
    pub target: SuggestionTarget,
    /// 1 (do first) – 5 (nice to have).
    pub priority: u8,
    /// Text to put there, when the improver can propose it.
    pub proposed_text: Option<String>,
    /// Lifecycle.
    pub status: SuggestionStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
