//! `schemas/*.json` are the source of truth for API shapes: every stored type must serialise
//! to something its schema accepts, and the property names must match both ways, so adding a
//! field on either side without the other fails here.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::TimeDelta;
use common::*;
use serde::Serialize;
use serde_json::{Value, json};
use vartalaap_store::*;

fn schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("schemas/{name}.json is not a valid schema: {e}"))
}

fn check<T: Serialize>(name: &str, samples: &[T]) {
    let v = validator(name);
    let schema = schema(name);
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "{name}"
    );
    let declared: BTreeSet<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for sample in samples {
        let value = serde_json::to_value(sample).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: {value} violates its schema: {errors:#?}"
        );
        let produced: BTreeSet<String> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            produced, declared,
            "{name}: Rust fields vs schema properties differ"
        );
    }
}

fn rejects(name: &str, mut valid: Value, field: &str, bad: Value) {
    valid[field] = bad.clone();
    assert!(
        !validator(name).is_valid(&valid),
        "{name}.{field} = {bad} should be rejected"
    );
}

fn all_types_sample() -> (
    Reservation,
    CallLog,
    ConversationTurn,
    CallerPreferences,
    WhatsappFollowup,
    TranscriptReview,
    ImprovementSuggestion,
    CallbackRequest,
    Job,
) {
    let c = crypto();
    let p = phone("9876543210");
    let later = now() + TimeDelta::minutes(5);
    let reservation = Reservation {
        id: 1,
        business_id: "himalayan-kitchen".into(),
        call_id: Some(3),
        customer_name: Some("Asha".into()),
        phone_hash: Some(c.hash(&p)),
        phone_encrypted: Some(c.encrypt(&p)),
        party_size: 20,
        reservation_date: day(),
        reservation_time: t("19:30"),
        status: ReservationStatus::NoShow,
        whatsapp_sent: true,
        whatsapp_consent: true,
        language: Some("hi".into()),
        notes: Some("window".into()),
        created_at: now(),
        updated_at: later,
    };
    let call = CallLog {
        id: 3,
        business_id: "himalayan-kitchen".into(),
        external_call_id: Some("uuid".into()),
        caller_phone_hash: Some(c.hash(&p)),
        caller_phone_encrypted: Some(c.encrypt(&p)),
        started_at: now(),
        ended_at: Some(later),
        duration_seconds: Some(300),
        language: Some("en".into()),
        outcome: CallOutcome::ReservationMade,
        reservation_id: Some(1),
        summary: Some("Booked a table for 4 on 24 Dec at 19:30.".into()),
        created_at: now(),
        updated_at: later,
    };
    let turn = ConversationTurn {
        call_id: 3,
        seq: 0,
        role: TurnRole::Caller,
        text: "table for four".into(),
        language: Some("en".into()),
        stt_confidence: Some(0.93),
        started_at: now(),
        timings: TurnTimings {
            stt_ms: Some(120),
            llm_first_token_ms: Some(300),
            tts_first_audio_ms: Some(90),
            total_ms: Some(510),
            engine_ms: Some(4),
            first_frame_ms: Some(21),
        },
        handled_by: Some(HandledBy {
            intent: Some("ask_menu".into()),
            flow: Some("menu_question".into()),
            step: Some("answer".into()),
        }),
        interrupted: true,
        played_ms: Some(1_840),
        intended_text: Some("We have momos. They cost 180 rupees.".into()),
        tts_fallbacks: vec![TtsFallback {
            sentence: 1,
            failed_voice: "piper:en_US-lessac-medium".into(),
            used: "edge:en-IN-NeerjaNeural".into(),
            error: "inference failed".into(),
        }],
        config_errors: vec![TurnConfigError {
            source: ConfigErrorSource::Template,
            name: "menu_answer".into(),
            file: Some("businesses/himalayan_kitchen.yaml".into()),
            line: Some(3),
            yaml_path: Some("/prompts/en/menu_answer".into()),
            flow: Some("menu_question".into()),
            step: Some("answer".into()),
            message: "undefined value".into(),
        }],
        corrected_slots: vec!["party_size".into()],
        created_at: now(),
    };
    let prefs = CallerPreferences {
        phone_hash: c.hash(&p),
        last_language: Some("hi".into()),
        preferred_name: Some("Asha".into()),
        whatsapp_consent: Some(true),
        total_calls: 2,
        last_call_at: Some(now()),
        created_at: now(),
        updated_at: later,
    };
    let followup = WhatsappFollowup {
        id: 1,
        reservation_id: 1,
        business_id: "himalayan-kitchen".into(),
        template: "reservation_confirmed".into(),
        language: "en".into(),
        restaurant_name: "Himalayan Kitchen".into(),
        idempotency_key: "wa-confirm:hk:1".into(),
        status: FollowupStatus::Sent,
        attempts: 2,
        last_error: Some("HTTP 500".into()),
        provider_message_id: Some("wamid.1".into()),
        sent_at: Some(later),
        created_at: now(),
        updated_at: later,
    };
    let issue = ReviewIssue {
        turn: Some(4),
        kind: "menu_item_missing".into(),
        category: ReviewCategory::KnowledgeGap,
        description: "The caller asked for pizza, which is not on the menu.".into(),
        flow: Some("menu_question".into()),
        step: Some("not_found".into()),
        file: Some("businesses/himalayan_kitchen.yaml".into()),
        yaml_path: Some("/menu".into()),
    };
    let review = TranscriptReview {
        id: 1,
        call_id: 3,
        business_id: "himalayan-kitchen".into(),
        quality_score: 3,
        issues: vec![
            issue.clone(),
            ReviewIssue {
                turn: None,
                kind: "hangup_mid_flow".into(),
                category: ReviewCategory::UxIssue,
                flow: None,
                step: None,
                file: None,
                yaml_path: None,
                ..issue
            },
        ],
        has_unanswered_query: true,
        has_knowledge_gap: true,
        has_prompt_weakness: false,
        has_ux_issue: true,
        has_stt_error: false,
        has_tts_issue: false,
        has_config_error: false,
        agent_model: "offline".into(),
        review_latency_ms: 3,
        reviewed_at: later,
        reviewed_by: "agent".into(),
    };
    let suggestion = ImprovementSuggestion {
        id: 1,
        review_id: 1,
        call_id: 3,
        business_id: "himalayan-kitchen".into(),
        category: ReviewCategory::KnowledgeGap,
        title: "Callers ask for pizza: add it to the menu or say you don't serve it".into(),
        description: "…".into(),
        target: SuggestionTarget {
            file: "businesses/himalayan_kitchen.yaml".into(),
            yaml_path: Some("/menu".into()),
            flow_step: Some("menu_question.not_found".into()),
        },
        priority: 2,
        proposed_text: Some("- id: pizza".into()),
        status: SuggestionStatus::Implemented,
        created_at: now(),
        updated_at: later,
    };
    let callback = CallbackRequest {
        id: 1,
        business_id: "himalayan-kitchen".into(),
        call_id: Some(3),
        customer_name: Some("Ravi".into()),
        phone_hash: Some(c.hash(&p)),
        phone_encrypted: Some(c.encrypt(&p)),
        party_size: Some(35),
        requested_date: Some(day()),
        requested_time: Some(t("13:00")),
        reason: CallbackReason::LargeParty,
        notes: Some("office party".into()),
        status: CallbackStatus::Contacted,
        staff_note: Some("called back, wants Sunday lunch".into()),
        created_at: now(),
        updated_at: later,
    };
    let job = Job {
        id: 1,
        kind: "whatsapp_followup".into(),
        payload: json!({"followup_id": 1}),
        idempotency_key: "k".into(),
        status: JobStatus::Running,
        attempts: 1,
        max_attempts: 5,
        due_at: now(),
        lease_owner: Some("w1".into()),
        lease_expires_at: Some(later),
        last_error: Some("x".into()),
        created_at: now(),
        updated_at: later,
        finished_at: Some(later),
    };
    (
        reservation,
        call,
        turn,
        prefs,
        followup,
        review,
        suggestion,
        callback,
        job,
    )
}

#[test]
fn every_type_matches_its_schema() {
    let (reservation, call, turn, prefs, followup, review, suggestion, callback, job) =
        all_types_sample();
    // Also the "mostly empty" shapes: `None` serialises as null and must be allowed.
    let mut bare_res = reservation.clone();
    (
        bare_res.call_id,
        bare_res.customer_name,
        bare_res.phone_hash,
        bare_res.phone_encrypted,
        bare_res.language,
        bare_res.notes,
    ) = (None, None, None, None, None, None);
    check("reservation", &[reservation.clone(), bare_res]);
    let in_progress = CallLog {
        summary: None,
        ended_at: None,
        duration_seconds: None,
        ..call.clone()
    };
    check("call_log", &[call, in_progress]);
    let caller_turn = ConversationTurn {
        handled_by: None,
        interrupted: false,
        played_ms: None,
        intended_text: None,
        tts_fallbacks: Vec::new(),
        config_errors: Vec::new(),
        corrected_slots: Vec::new(),
        ..turn.clone()
    };
    let not_understood = ConversationTurn {
        handled_by: Some(HandledBy {
            intent: None,
            flow: Some("fallback".into()),
            step: Some("not_understood".into()),
        }),
        ..turn.clone()
    };
    check("conversation_turn", &[turn, caller_turn, not_understood]);
    check("caller_preferences", &[prefs]);
    check("whatsapp_followup", &[followup]);
    let clean = TranscriptReview {
        quality_score: 5,
        issues: vec![],
        ..review.clone()
    };
    check("transcript_review", &[review, clean]);
    let bare_suggestion = ImprovementSuggestion {
        target: SuggestionTarget {
            yaml_path: None,
            flow_step: None,
            ..suggestion.target.clone()
        },
        proposed_text: None,
        ..suggestion.clone()
    };
    check("improvement_suggestion", &[suggestion, bare_suggestion]);
    let mut bare_cb = callback.clone();
    (
        bare_cb.party_size,
        bare_cb.requested_date,
        bare_cb.requested_time,
        bare_cb.phone_hash,
        bare_cb.phone_encrypted,
    ) = (None, None, None, None, None);
    check("callback_request", &[callback, bare_cb]);
    check("job", &[job]);
}

#[test]
fn every_enum_variant_is_in_the_schema() {
    fn enum_of(name: &str, field: &str) -> Vec<String> {
        let s = schema(name);
        s["properties"][field]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }
    assert_eq!(
        enum_of("reservation", "status"),
        ReservationStatus::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("call_log", "outcome"),
        CallOutcome::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("conversation_turn", "role"),
        TurnRole::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("whatsapp_followup", "status"),
        FollowupStatus::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("improvement_suggestion", "category"),
        ReviewCategory::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        schema("transcript_review")["properties"]["issues"]["items"]["properties"]["category"]["enum"],
        json!(
            ReviewCategory::ALL
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        )
    );
    assert_eq!(
        enum_of("improvement_suggestion", "status"),
        SuggestionStatus::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("callback_request", "reason"),
        CallbackReason::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("callback_request", "status"),
        CallbackStatus::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        enum_of("job", "status"),
        JobStatus::ALL
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
}

#[test]
fn schemas_reject_out_of_range_values() {
    let (reservation, ..) = all_types_sample();
    let valid = serde_json::to_value(&reservation).unwrap();
    rejects("reservation", valid.clone(), "party_size", json!(21));
    rejects("reservation", valid.clone(), "party_size", json!(0));
    rejects(
        "reservation",
        valid.clone(),
        "reservation_time",
        json!("7:30"),
    );
    rejects(
        "reservation",
        valid.clone(),
        "reservation_time",
        json!("24:00"),
    );
    rejects(
        "reservation",
        valid.clone(),
        "reservation_date",
        json!("01-12-2026"),
    );
    rejects("reservation", valid.clone(), "status", json!("open"));
    rejects(
        "reservation",
        valid.clone(),
        "phone_hash",
        json!("+919876543210"),
    );
    rejects(
        "reservation",
        valid.clone(),
        "created_at",
        json!("yesterday"),
    );
    rejects("reservation", valid, "unknown_field", json!(1));
}

#[test]
fn review_schemas_reject_out_of_range_values() {
    let (_, _, _, _, _, review, suggestion, ..) = all_types_sample();
    let review = serde_json::to_value(&review).unwrap();
    rejects(
        "transcript_review",
        review.clone(),
        "quality_score",
        json!(0),
    );
    rejects(
        "transcript_review",
        review.clone(),
        "quality_score",
        json!(6),
    );
    let mut bad_issue = review.clone();
    bad_issue["issues"][0]["category"] = json!("slow_reply");
    assert!(!validator("transcript_review").is_valid(&bad_issue));
    let suggestion = serde_json::to_value(&suggestion).unwrap();
    rejects(
        "improvement_suggestion",
        suggestion.clone(),
        "title",
        json!("x".repeat(201)),
    );
    rejects(
        "improvement_suggestion",
        suggestion.clone(),
        "description",
        json!("x".repeat(2001)),
    );
    rejects(
        "improvement_suggestion",
        suggestion.clone(),
        "priority",
        json!(6),
    );
    rejects(
        "improvement_suggestion",
        suggestion.clone(),
        "status",
        json!("open"),
    );
    rejects(
        "improvement_suggestion",
        suggestion,
        "category",
        json!("prompt"),
    );
}
