//! Groq for the call review: the [`ReviewModel`] the review pipeline asks
//! (`vartalaap_review::review_call_with_model`), and the guard in front of the LLM's call
//! summary sentence.
//!
//! **Design decisions.**
//! - The review runs in a background job after the call, so its deadlines are generous
//!   ([`REVIEW_FIRST_TOKEN_TIMEOUT`], [`REVIEW_TOTAL_TIMEOUT`]) — a slow answer delays nothing
//!   a caller hears — and a failure (timeout, 429, 5xx) makes that stage offline at once: the
//!   pipeline retries only an *invalid* answer, never the network.
//! - The request is streamed like the dialog's, so review fixtures are recorded and replayed in
//!   the same SSE shape (`tests/fixtures/llm/review/*.json`).
//! - The summary sentence passes the same number guard as a phrased answer
//!   ([`vartalaap_core::guard::check_generated`]) against the business's facts and the call's
//!   booking, and the booking-claim check unless the call made a booking: a summary never
//!   states a price, time, party size or booking the call does not have.

use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vartalaap_config::BusinessSnapshot;
use vartalaap_core::guard::{Facts, Verdict, check_generated};
use vartalaap_providers::groq::{ChatMessage, ChatRequest, GroqClient, GroqConfig, LlmError};
use vartalaap_review::llm_summary::summary_sentence;
use vartalaap_review::{Message, ModelAnswer, ModelFailure, ReviewModel, Role};

use crate::failure::Failure;
use crate::fixture::{Exchange, Provenance};
use crate::guarded::claims_booking;

/// From sending a review request to the first token.
pub const REVIEW_FIRST_TOKEN_TIMEOUT: Duration = Duration::from_secs(20);
/// From sending a review request to the end of the answer.
pub const REVIEW_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Token cap of one stage's answer (a JSON object with up to ten suggestions).
const MAX_REVIEW_TOKENS: u32 = 2000;

/// The Groq chat model behind the review stages and the call summary.
#[derive(Debug, Clone)]
pub struct GroqReviewModel {
    client: GroqClient,
    model: String,
}

fn failure(e: LlmError) -> ModelFailure {
    ModelFailure {
        reason: Failure::from(e).reason().to_string(),
    }
}

impl GroqReviewModel {
    /// A client from the same Groq settings as the dialog (base URL, key, model), with the
    /// review's deadlines.
    pub fn new(mut cfg: GroqConfig) -> Result<GroqReviewModel, Failure> {
        cfg.first_token_timeout = REVIEW_FIRST_TOKEN_TIMEOUT;
        cfg.total_timeout = REVIEW_TOTAL_TIMEOUT;
        let model = cfg.model.clone();
        Ok(GroqReviewModel {
            client: GroqClient::new(cfg)?,
            model,
        })
    }

    /// The chat request for `messages` (public so fixtures can be recorded with exactly what
    /// the review sends).
    pub fn request(messages: &[Message]) -> ChatRequest {
        ChatRequest {
            messages: messages
                .iter()
                .map(|m| match m.role {
                    Role::System => ChatMessage::System {
                        content: m.content.clone(),
                    },
                    Role::User => ChatMessage::User {
                        content: m.content.clone(),
                    },
                    Role::Assistant => ChatMessage::Assistant {
                        content: Some(m.content.clone()),
                        tool_calls: Vec::new(),
                    },
                })
                .collect(),
            temperature: Some(0.0),
            max_completion_tokens: Some(MAX_REVIEW_TOKENS),
            ..ChatRequest::default()
        }
    }
}

impl ReviewModel for GroqReviewModel {
    fn model_name(&self) -> &str {
        &self.model
    }

    fn ask<'a>(&'a self, messages: &'a [Message]) -> ModelAnswer<'a> {
        Box::pin(async move {
            let request = GroqReviewModel::request(messages);
            let stream = self.client.stream(&request).await.map_err(failure)?;
            let (text, _) = stream.collect_text().await.map_err(failure)?;
            Ok(text)
        })
    }
}

/// The facts a summary sentence may state: the business's (prices, hours, rules) and the
/// booking the call made, if any.
pub fn summary_facts(
    snapshot: &BusinessSnapshot,
    booking: Option<(u8, NaiveDate, NaiveTime)>,
) -> Facts {
    let mut slots = Map::new();
    if let Some((party, date, time)) = booking {
        slots.insert("party_size".into(), Value::from(party));
        slots.insert(
            "date".into(),
            Value::from(date.format("%Y-%m-%d").to_string()),
        );
        slots.insert("time".into(), Value::from(time.format("%H:%M").to_string()));
    }
    Facts::new(snapshot, &slots, &[])
}

/// The model's summary answer if it may be stored: one plain sentence
/// ([`summary_sentence`]) whose every number and time is in `facts`, and which claims no
/// booking unless `booking_made`. `None` keeps the templated summary.
pub fn guarded_summary(answer: &str, facts: &Facts, booking_made: bool) -> Option<String> {
    let sentence = summary_sentence(answer)?;
    if let Verdict::Ungrounded { .. } = check_generated(&sentence, facts) {
        return None;
    }
    if !booking_made && claims_booking(&sentence) {
        return None;
    }
    Some(sentence)
}

/// A recorded review of one call: the call (as turns), the names the server knows for it,
/// and the model exchanges of the three stages and the summary in request order
/// (`tests/fixtures/llm/review/*.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewFixture {
    /// What the recording shows.
    pub description: String,
    /// Business id.
    pub business: String,
    /// How the call ended (`abandoned`, `reservation_made`, …).
    pub outcome: String,
    /// Names known for the call (reservation, preferred name), masked before sending.
    #[serde(default)]
    pub names: Vec<String>,
    /// The transcript in order.
    pub turns: Vec<FixtureTurn>,
    /// Provenance of the recording.
    pub recorded: Provenance,
    /// Model exchanges, in request order.
    pub exchanges: Vec<Exchange>,
}

/// One transcript turn of a [`ReviewFixture`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureTurn {
    /// `caller` or `bot`.
    pub role: String,
    /// What was said.
    pub text: String,
    /// The flow step that answered (`flow.step`), for bot turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl ReviewFixture {
    /// Reads a review fixture file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<ReviewFixture, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kitchen() -> std::sync::Arc<BusinessSnapshot> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        vartalaap_config::ConfigStore::load(root)
            .expect("config")
            .current("himalayan_kitchen")
            .expect("business")
    }

    #[test]
    fn a_summary_may_state_only_the_calls_booking_and_the_business_facts() {
        let snap = kitchen();
        let date = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        let time = NaiveTime::from_hms_opt(19, 30, 0).unwrap();
        let booked = summary_facts(&snap, Some((4, date, time)));
        assert_eq!(
            guarded_summary("The caller booked a table for 4 at 7:30 pm.", &booked, true)
                .as_deref(),
            Some("The caller booked a table for 4 at 7:30 pm.")
        );
        assert_eq!(
            guarded_summary("The caller booked a table for 6 people.", &booked, true),
            None,
            "a party size the booking does not have"
        );
        let nothing = summary_facts(&snap, None);
        assert_eq!(
            guarded_summary("The caller's table is booked.", &nothing, false),
            None,
            "a booking the call did not make"
        );
        assert_eq!(
            guarded_summary(
                "Pizza costs 1234 rupees, the caller was told.",
                &nothing,
                false
            ),
            None,
            "an invented price"
        );
        assert!(
            guarded_summary(
                "The caller asked for pizza, which is not on the menu, and hung up.",
                &nothing,
                false
            )
            .is_some()
        );
    }
}
