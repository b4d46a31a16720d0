//! Human review of transcripts and the improvement suggestions it produces.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::string_enum;

/// Review progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Queued for a reviewer.
    Pending,
    /// Done.
    Reviewed,
}
string_enum!(ReviewStatus { Pending => "pending", Reviewed => "reviewed" });

/// A reviewer's assessment of one call transcript (schemas/transcript_review.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptReview {
    /// Store-assigned id.
    pub id: u64,
    /// Reviewed call.
    pub call_id: u64,
    /// Owning business.
    pub business_id: String,
    /// Who reviewed (staff name or `auto`).
    pub reviewer: Option<String>,
    /// 1 (bad) – 5 (great).
    pub rating: Option<u8>,
    /// Short issue tags (`misheard_date`, `slow_reply`, …).
    pub issues: Vec<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Progress.
    pub status: ReviewStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Suggestion lifecycle; indexed per business so the dashboard can list open ones quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// New.
    Open,
    /// Agreed to do.
    Accepted,
    /// Declined.
    Rejected,
    /// Done (prompt/flow changed).
    Implemented,
}
string_enum!(SuggestionStatus { Open => "open", Accepted => "accepted", Rejected => "rejected", Implemented => "implemented" });

/// A proposed change to prompts or flows (schemas/improvement_suggestion.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImprovementSuggestion {
    /// Store-assigned id.
    pub id: u64,
    /// Owning business.
    pub business_id: String,
    /// Call that inspired it.
    pub call_id: Option<u64>,
    /// Review that produced it.
    pub review_id: Option<u64>,
    /// Area: `prompt`, `flow`, `voice`, `menu`, …
    pub category: String,
    /// One line.
    pub title: String,
    /// Details.
    pub description: String,
    /// Lifecycle.
    pub status: SuggestionStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
