//! The call review through Groq, replayed from `tests/fixtures/llm/review/*.json` by the
//! loopback Groq mock: valid answers make the review (and the summary sentence), an invalid
//! answer is asked for once more, an answer invalid twice leaves that stage offline, a Groq
//! failure leaves the whole review offline, and no request carries the caller's phone number
//! or name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_llm::GroqConfig;
use vartalaap_llm::review::{GroqReviewModel, ReviewFixture, guarded_summary, summary_facts};
use vartalaap_providers::mock::groq::{GroqMode, GroqReply, MockGroq, MockGroqConfig};
use vartalaap_review::llm_summary::summary_messages;
use vartalaap_review::{
    BusinessLayout, Masker, ModelReview, OFFLINE_MODEL, ReviewModel, ReviewStage, StageOutcome,
    Thresholds, review_call, review_call_with_model,
};
use vartalaap_store::{
    CallLog, CallWithTurns, ConversationTurn, HandledBy, ReviewCategory, TurnRole, TurnTimings,
};

const KEY: &str = "gsk_test";
const MODEL: &str = "review-model-from-settings";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> ReviewFixture {
    ReviewFixture::load(root().join(format!("tests/fixtures/llm/review/{name}.json")))
        .expect("fixture")
}

fn snapshot(id: &str) -> Arc<BusinessSnapshot> {
    ConfigStore::load(root())
        .expect("config")
        .current(id)
        .expect("business")
}

fn at(s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 13, 0, s).unwrap()
}

/// The stored call the fixture describes.
fn call_of(fx: &ReviewFixture) -> CallWithTurns {
    let turns = fx
        .turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let seq = u32::try_from(i).unwrap();
            let caller = t.role == "caller";
            ConversationTurn {
                call_id: 1,
                seq,
                role: if caller {
                    TurnRole::Caller
                } else {
                    TurnRole::Bot
                },
                text: t.text.clone(),
                language: Some("en".into()),
                stt_confidence: caller.then_some(0.9),
                started_at: at(seq),
                timings: TurnTimings::default(),
                handled_by: t.step.as_deref().and_then(|s| s.split_once('.')).map(
                    |(flow, step)| HandledBy {
                        intent: None,
                        flow: Some(flow.into()),
                        step: Some(step.into()),
                    },
                ),
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
                created_at: at(seq),
            }
        })
        .collect();
    CallWithTurns {
        call: CallLog {
            id: 1,
            business_id: fx.business.clone(),
            external_call_id: None,
            caller_phone_hash: None,
            caller_phone_encrypted: None,
            started_at: at(0),
            ended_at: Some(at(59)),
            duration_seconds: Some(59),
            language: Some("en".into()),
            outcome: serde_json::from_value(Value::from(fx.outcome.as_str())).expect("outcome"),
            reservation_id: None,
            summary: None,
            created_at: at(0),
            updated_at: at(59),
        },
        turns,
    }
}

async fn mock_for(fx: &ReviewFixture) -> MockGroq {
    MockGroq::start(MockGroqConfig {
        api_key: KEY.into(),
        replies: fx
            .exchanges
            .iter()
            .map(|e| GroqReply::Sse(e.sse()))
            .collect(),
        ..Default::default()
    })
    .await
    .expect("mock starts")
}

fn model(mock: &MockGroq) -> GroqReviewModel {
    GroqReviewModel::new(GroqConfig::new(mock.base_url.clone(), KEY, MODEL)).expect("client")
}

struct Run {
    call: CallWithTurns,
    layout: BusinessLayout,
    masker: Masker,
    review: ModelReview,
}

async fn review(fx: &ReviewFixture, model: &GroqReviewModel) -> Run {
    let call = call_of(fx);
    let layout = BusinessLayout::from_snapshot(&snapshot(&fx.business));
    let masker = Masker::for_call(&call, &layout, fx.names.iter().map(String::as_str));
    let review =
        review_call_with_model(&call, &layout, &Thresholds::default(), &masker, model).await;
    Run {
        call,
        layout,
        masker,
        review,
    }
}

fn assert_masked(mock: &MockGroq) {
    let requests = mock.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(r.authorized);
        let body = r.body.to_string();
        for secret in ["98765", "43210", "Asha", "asha", "Verma"] {
            assert!(!body.contains(secret), "{secret} reached Groq: {body}");
        }
        assert!(
            body.contains("[phone]") && body.contains("[name]"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn valid_answers_make_the_review_and_the_summary() {
    let fx = fixture("valid");
    let mock = mock_for(&fx).await;
    let model = model(&mock);
    let run = review(&fx, &model).await;
    assert_eq!(run.review.agent_model, MODEL);
    assert_eq!(
        run.review.stages,
        [
            (
                ReviewStage::Reviewer,
                StageOutcome::Model { retried: false }
            ),
            (
                ReviewStage::Classifier,
                StageOutcome::Model { retried: false }
            ),
            (
                ReviewStage::Improver,
                StageOutcome::Model { retried: false }
            ),
        ]
    );
    let r = &run.review.review;
    assert_eq!(r.quality_score, 2);
    assert_eq!(r.issues.len(), 2);
    assert_eq!(r.issues[0].category, ReviewCategory::KnowledgeGap);
    assert_eq!(r.issues[0].yaml_path.as_deref(), Some("/menu"));
    assert_eq!(r.issues[1].category, ReviewCategory::UxIssue);
    // The improver's answer came in a ```json fence: still read, and every suggestion names
    // this business's files.
    assert_eq!(r.suggestions.len(), 2);
    assert_eq!(r.suggestions[0].target.yaml_path.as_deref(), Some("/faqs"));
    assert!(r.suggestions[0].title.contains("pizza"));
    assert_eq!(
        r.suggestions[1].target.flow_step.as_deref(),
        Some("make_reservation.confirm")
    );

    // Each request: the model from settings, the stage's schema in the system prompt, a
    // masked call in the user message.
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    for (r, stage) in requests.iter().zip(["reviewer", "classifier", "improver"]) {
        assert_eq!(r.body["model"], MODEL);
        assert_eq!(r.body["stream"], true);
        assert_eq!(r.body["messages"][0]["role"], "system");
        let system = r.body["messages"][0]["content"].as_str().unwrap();
        assert!(
            system.contains(&format!("schemas/review_stage_{stage}.json")),
            "{stage}: {system}"
        );
    }

    // The summary sentence: masked request, guarded answer.
    let messages = summary_messages(&run.call, &run.masker);
    let answer = model.ask(&messages).await.expect("summary answer");
    let facts = summary_facts(&snapshot(&fx.business), None);
    assert_eq!(
        guarded_summary(&answer, &facts, false).as_deref(),
        Some(
            "The caller asked for pizza, which is not on the menu, then started a booking and hung up before confirming it."
        )
    );
    assert_masked(&mock);
}

#[tokio::test]
async fn an_invalid_answer_is_asked_again_with_the_error_and_the_second_used() {
    let fx = fixture("reviewer_retry");
    let mock = mock_for(&fx).await;
    let run = review(&fx, &model(&mock)).await;
    assert_eq!(
        run.review.stages[0],
        (ReviewStage::Reviewer, StageOutcome::Model { retried: true })
    );
    assert_eq!(run.review.agent_model, MODEL);
    let requests = mock.requests();
    assert_eq!(requests.len(), 4);
    let retry = requests[1].body["messages"].as_array().unwrap();
    assert_eq!(
        retry.len(),
        4,
        "system, call, the invalid answer, the error"
    );
    assert_eq!(retry[2]["role"], "assistant");
    let error = retry[3]["content"].as_str().unwrap();
    assert!(
        error.contains("issues[0].turn 17 is not a turn of this call"),
        "{error}"
    );
    assert_eq!(run.review.review.issues[0].turn, Some(2));
    assert_masked(&mock);
}

#[tokio::test]
async fn an_answer_invalid_twice_leaves_that_stage_offline() {
    let fx = fixture("improver_invalid_twice");
    let mock = mock_for(&fx).await;
    let run = review(&fx, &model(&mock)).await;
    let offline = review_call(&run.call, &run.layout, &Thresholds::default());
    assert_eq!(
        run.review.stages,
        [
            (
                ReviewStage::Reviewer,
                StageOutcome::Model { retried: false }
            ),
            (
                ReviewStage::Classifier,
                StageOutcome::Model { retried: false }
            ),
            (
                ReviewStage::Improver,
                StageOutcome::Offline {
                    reason: "invalid".into()
                }
            ),
        ]
    );
    assert_eq!(run.review.review.suggestions, offline.suggestions);
    assert_eq!(
        run.review.review.issues[0].description,
        "The caller asked for pizza, which is not on the menu, and was not offered anything similar.",
        "the reviewer's answer stands"
    );
    assert_eq!(run.review.agent_model, MODEL);
    let last = mock.requests()[3].body["messages"][3]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("no JSON object"),
        "the retry said what was wrong: {last}"
    );
    assert_masked(&mock);
}

#[tokio::test]
async fn groq_failing_leaves_the_offline_review() {
    let fx = fixture("valid");
    let mock = mock_for(&fx).await;
    mock.set_mode(GroqMode::Status(503));
    let run = review(&fx, &model(&mock)).await;
    let offline = review_call(&run.call, &run.layout, &Thresholds::default());
    assert_eq!(run.review.review, offline);
    assert_eq!(run.review.agent_model, OFFLINE_MODEL);
    assert_eq!(
        run.review.stages[0].1,
        StageOutcome::Offline {
            reason: "server_error".into()
        }
    );
    assert_eq!(mock.requests().len(), 3, "a failure is not retried");
}

#[test]
fn every_review_fixture_loads_and_names_its_tasks() {
    let dir = root().join("tests/fixtures/llm/review");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let fx = ReviewFixture::load(&path).unwrap();
        assert!(!fx.exchanges.is_empty(), "{}", path.display());
        let _ = call_of(&fx);
        n += 1;
    }
    assert_eq!(n, 4);
}
