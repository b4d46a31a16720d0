//! Key rotation, retention purge with surviving aggregates, calls/turns/preferences, and
//! "no plaintext number in the file".

mod common;

use std::sync::Arc;

use chrono::TimeDelta;
use common::*;
use vartalaap_store::*;

#[test]
fn rotation_reencrypts_everything_while_reads_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let rule = CapacityRule {
        capacity_covers: 10_000,
        hold_minutes: 60,
    };
    for i in 0..25u32 {
        store
            .book(
                &request(2, "19:00", Some(&format!("98765{i:05}")), false),
                &rule,
                now(),
            )
            .unwrap();
    }
    store
        .create_call(
            &NewCall {
                business_id: "himalayan-kitchen".into(),
                external_call_id: None,
                caller: Some(phone("9876500001")),
                started_at: now(),
                language: None,
            },
            now(),
        )
        .unwrap();
    store
        .create_callback(
            &NewCallback {
                business_id: "himalayan-kitchen".into(),
                call_id: None,
                customer_name: None,
                phone: Some(phone("9876500002")),
                party_size: Some(30),
                requested_date: None,
                requested_time: None,
                reason: CallbackReason::LargeParty,
                notes: None,
            },
            now(),
        )
        .unwrap();
    assert_eq!(store.count_not_under("k1").unwrap(), 0);

    // A reader decrypts continuously during the rotation.
    let reader = {
        let store = store.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                for id in [1, 13, 25] {
                    let r = store.get_reservation(id).unwrap().unwrap();
                    store
                        .crypto()
                        .decrypt(r.phone_encrypted.as_ref().unwrap())
                        .expect("readable during rotation");
                }
            }
        })
    };
    let report = store
        .rotate_keys(PhoneKey::new("k2", [9; 32]).unwrap(), 4)
        .unwrap();
    reader.join().unwrap();
    assert_eq!(report.active_key_id, "k2");
    assert_eq!(report.reencrypted, 27);
    assert!(report.batches >= 7, "{report:?}");
    assert_eq!(report.remaining_old, 0);
    assert_eq!(store.count_not_under("k2").unwrap(), 0);
    // A process with only the new key can read everything; hashes are unchanged.
    let new_only = PhoneCrypto::new(
        PhoneKey::new("k2", [9; 32]).unwrap(),
        HashPepper::new(b"test-pepper-0123456789".to_vec()).unwrap(),
    );
    let r = store.get_reservation(5).unwrap().unwrap();
    assert_eq!(
        new_only
            .decrypt(r.phone_encrypted.as_ref().unwrap())
            .unwrap(),
        phone("9876500004")
    );
    assert_eq!(r.phone_hash, Some(new_only.hash(&phone("9876500004"))));
    // New writes use the new key.
    let b = store
        .book(
            &request(2, "19:00", Some("9876543210"), false),
            &rule,
            now(),
        )
        .unwrap();
    assert_eq!(b.reservation.phone_encrypted.unwrap().key_id(), Some("k2"));
}

#[test]
fn purge_deletes_old_personal_data_and_keeps_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let old = now() - TimeDelta::days(100);
    let caller = phone("9876543210");
    let hash = store.crypto().hash(&caller);
    let call = store
        .create_call(
            &NewCall {
                business_id: "himalayan-kitchen".into(),
                external_call_id: Some("c1".into()),
                caller: Some(caller.clone()),
                started_at: old,
                language: Some("hi".into()),
            },
            old,
        )
        .unwrap();
    for text in ["namaste", "table for 2"] {
        store
            .append_turn(
                call.id,
                &NewTurn {
                    role: TurnRole::Caller,
                    text: text.into(),
                    language: None,
                    stt_confidence: None,
                    started_at: old,
                    timings: TurnTimings::default(),
                    handled_by: None,
                    interrupted: false,
                    played_ms: None,
                    intended_text: None,
                    tts_fallbacks: Vec::new(),
                    config_errors: Vec::new(),
                    corrected_slots: Vec::new(),
                },
                old,
            )
            .unwrap();
    }
    store.save_review(&review_of(call.id, 3), &[], old).unwrap();
    let fresh = store
        .create_call(
            &NewCall {
                business_id: "himalayan-kitchen".into(),
                external_call_id: None,
                caller: None,
                started_at: now(),
                language: None,
            },
            now(),
        )
        .unwrap();
    store
        .append_turn(
            fresh.id,
            &NewTurn {
                role: TurnRole::Bot,
                text: "hello".into(),
                language: None,
                stt_confidence: None,
                started_at: now(),
                timings: TurnTimings::default(),
                handled_by: None,
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
            },
            now(),
        )
        .unwrap();
    store
        .update_caller_preferences(
            &hash,
            &CallerUpdate {
                language: Some("hi".into()),
                call_at: Some(old),
                ..Default::default()
            },
            old,
        )
        .unwrap();
    let mut old_booking = request(4, "19:00", Some("9876543210"), false);
    old_booking.date = (old - TimeDelta::days(1)).date_naive();
    old_booking.notes = Some("allergic to nuts".into());
    let rule = CapacityRule {
        capacity_covers: 50,
        hold_minutes: 90,
    };
    let res = store.book(&old_booking, &rule, old).unwrap().reservation;
    store
        .create_callback(
            &NewCallback {
                business_id: "himalayan-kitchen".into(),
                call_id: Some(call.id),
                customer_name: Some("Ravi".into()),
                phone: Some(caller.clone()),
                party_size: Some(30),
                requested_date: None,
                requested_time: None,
                reason: CallbackReason::LargeParty,
                notes: None,
            },
            old,
        )
        .unwrap();

    let report = store
        .purge(
            &RetentionPolicy {
                business_id: "himalayan-kitchen".into(),
                retention_days: 90,
            },
            now(),
        )
        .unwrap();
    assert_eq!(report.calls_deleted, 1);
    assert_eq!(report.turns_deleted, 2);
    assert_eq!(report.reviews_deleted, 1);
    assert_eq!(store.review_for_call(call.id).unwrap(), None);
    assert_eq!(report.reservations_scrubbed, 1);
    assert_eq!(report.callbacks_deleted, 1);
    assert_eq!(report.caller_preferences_deleted, 1);
    assert!(store.get_call(call.id).unwrap().is_none());
    assert_eq!(
        store.get_call(fresh.id).unwrap().unwrap().turns.len(),
        1,
        "recent data stays"
    );
    assert!(store.get_caller_preferences(&hash).unwrap().is_none());
    let scrubbed = store.get_reservation(res.id).unwrap().unwrap();
    assert!(
        scrubbed.phone_encrypted.is_none()
            && scrubbed.phone_hash.is_none()
            && scrubbed.notes.is_none()
            && scrubbed.customer_name.is_none()
    );
    assert_eq!(scrubbed.party_size, 4);
    assert!(
        store
            .find_reservations_by_phone(&hash, old_booking.date)
            .unwrap()
            .is_empty()
    );
    // Aggregates survive.
    let aggs = store
        .daily_aggregates("himalayan-kitchen", old_booking.date, now().date_naive())
        .unwrap();
    let calls: u64 = aggs.iter().map(|a| a.calls).sum();
    let covers: u64 = aggs.iter().map(|a| a.covers).sum();
    assert_eq!((calls, covers), (2, 4), "{aggs:?}");
    // Running it again finds nothing more.
    let again = store
        .purge(
            &RetentionPolicy {
                business_id: "himalayan-kitchen".into(),
                retention_days: 90,
            },
            now(),
        )
        .unwrap();
    assert_eq!(again, PurgeReport::default());
}

#[test]
fn calls_turns_preferences_callbacks_and_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = store
        .create_call(
            &NewCall {
                business_id: "hk".into(),
                external_call_id: None,
                caller: Some(phone("9876543210")),
                started_at: now(),
                language: Some("en".into()),
            },
            now(),
        )
        .unwrap();
    for i in 0..3 {
        let turn = store
            .append_turn(
                c.id,
                &NewTurn {
                    role: TurnRole::Bot,
                    text: format!("t{i}"),
                    language: None,
                    stt_confidence: None,
                    started_at: now(),
                    timings: TurnTimings {
                        total_ms: Some(400),
                        ..Default::default()
                    },
                    handled_by: None,
                    interrupted: false,
                    played_ms: None,
                    intended_text: None,
                    tts_fallbacks: Vec::new(),
                    config_errors: Vec::new(),
                    corrected_slots: Vec::new(),
                },
                now(),
            )
            .unwrap();
        assert_eq!(turn.seq, i);
    }
    assert!(matches!(
        store.append_turn(
            99,
            &NewTurn {
                role: TurnRole::Bot,
                text: String::new(),
                language: None,
                stt_confidence: None,
                started_at: now(),
                timings: TurnTimings::default(),
                handled_by: None,
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
            },
            now()
        ),
        Err(StoreError::NotFound { .. })
    ));
    let end = CallEnd {
        ended_at: now() + TimeDelta::seconds(75),
        outcome: CallOutcome::Completed,
        reservation_id: None,
        language: Some("hi".into()),
        summary: Some("Asked about the menu.".into()),
    };
    let finished = store.finish_call(c.id, &end, now()).unwrap();
    assert_eq!(
        (finished.duration_seconds, finished.language.as_deref()),
        (Some(75), Some("hi"))
    );
    assert_eq!(finished.summary.as_deref(), Some("Asked about the menu."));
    // The call's review is queued in the same commit as its end, once.
    let review_jobs = |store: &Store| {
        store
            .list_jobs(
                &JobFilter {
                    status: None,
                    kind: Some(ANALYZE_TRANSCRIPT_KIND.into()),
                },
                &PageRequest::default(),
            )
            .unwrap()
            .items
    };
    let queued = review_jobs(&store);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload, serde_json::json!({"call_id": c.id}));
    assert_eq!(queued[0].idempotency_key, analyze_job_key(c.id));
    let asked = store.request_review(c.id, now()).unwrap();
    assert_eq!((asked.job.id, asked.review_id), (queued[0].id, None));
    assert_eq!(
        review_jobs(&store).len(),
        1,
        "asking again queues nothing new"
    );
    assert!(matches!(
        store.request_review(9999, now()),
        Err(StoreError::NotFound { .. })
    ));
    let with_turns = store.get_call(c.id).unwrap().unwrap();
    assert_eq!(
        with_turns
            .turns
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>(),
        ["t0", "t1", "t2"]
    );
    let calls = store
        .list_calls(
            &CallFilter {
                business_id: Some("hk".into()),
                from: Some(now()),
                to: Some(now() + TimeDelta::seconds(1)),
                outcome: None,
            },
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(calls.items.len(), 1);
    assert!(
        store
            .list_calls(
                &CallFilter {
                    business_id: Some("hk".into()),
                    from: Some(now() + TimeDelta::seconds(1)),
                    ..Default::default()
                },
                &PageRequest::default()
            )
            .unwrap()
            .items
            .is_empty()
    );

    let hash = store.crypto().hash(&phone("9876543210"));
    store
        .update_caller_preferences(
            &hash,
            &CallerUpdate {
                language: Some("hi".into()),
                name: Some("Asha".into()),
                whatsapp_consent: Some(true),
                call_at: Some(now()),
            },
            now(),
        )
        .unwrap();
    let p = store
        .update_caller_preferences(
            &hash,
            &CallerUpdate {
                call_at: Some(now()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(
        (
            p.total_calls,
            p.last_language.as_deref(),
            p.preferred_name.as_deref()
        ),
        (2, Some("hi"), Some("Asha"))
    );
    assert_eq!(store.get_caller_preferences(&hash).unwrap(), Some(p));

    let cb = store
        .create_callback(
            &NewCallback {
                business_id: "hk".into(),
                call_id: Some(c.id),
                customer_name: None,
                phone: Some(phone("9876543210")),
                party_size: Some(40),
                requested_date: Some(day()),
                requested_time: Some(t("13:00")),
                reason: CallbackReason::LargeParty,
                notes: None,
            },
            now(),
        )
        .unwrap();
    store
        .set_callback_status(cb.id, CallbackStatus::Contacted, now())
        .unwrap();
    let pending = store
        .list_callbacks(
            &CallbackFilter {
                business_id: Some("hk".into()),
                status: Some(CallbackStatus::Pending),
            },
            &PageRequest::default(),
        )
        .unwrap();
    assert!(pending.items.is_empty());
    assert_eq!(
        store.get_callback(cb.id).unwrap().unwrap().status,
        CallbackStatus::Contacted
    );

    let (review, made, created) = store
        .save_review(&review_of(c.id, 2), &[suggestion("Add pizza")], now())
        .unwrap();
    assert!(created);
    assert_eq!(made.len(), 1);
    let s = &made[0];
    assert_eq!((s.review_id, s.call_id), (review.id, c.id));
    let pending = |store: &Store| {
        store
            .list_suggestions(
                &SuggestionFilter {
                    business_id: Some("hk".into()),
                    status: Some(SuggestionStatus::Pending),
                    category: None,
                },
                &PageRequest::default(),
            )
            .unwrap()
            .items
    };
    assert_eq!(pending(&store).len(), 1);
    store
        .set_suggestion_status(s.id, SuggestionStatus::Implemented, now())
        .unwrap();
    assert!(pending(&store).is_empty());
    let implemented = store
        .list_suggestions(
            &SuggestionFilter {
                business_id: Some("hk".into()),
                status: Some(SuggestionStatus::Implemented),
                category: Some(ReviewCategory::KnowledgeGap),
            },
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(implemented.items[0].id, s.id);
    // Saving the same call's review again (the job ran twice) keeps the owner's decision.
    let (again, kept, created) = store
        .save_review(&review_of(c.id, 4), &[suggestion("Add pizza")], now())
        .unwrap();
    assert!(!created);
    assert_eq!((again.id, again.quality_score), (review.id, 2));
    assert_eq!(kept[0].status, SuggestionStatus::Implemented);
    assert!(matches!(
        store.save_review(&review_of(c.id, 6), &[], now()),
        Err(StoreError::Invalid {
            field: "quality_score",
            ..
        })
    ));
    assert!(matches!(
        store.save_review(&review_of(c.id, 3), &[suggestion(&"x".repeat(201))], now()),
        Err(StoreError::Invalid { field: "title", .. })
    ));
}

fn review_of(call_id: u64, score: u8) -> NewReview {
    NewReview {
        call_id,
        quality_score: score,
        issues: vec![ReviewIssue {
            turn: Some(1),
            kind: "menu_item_missing".into(),
            category: ReviewCategory::KnowledgeGap,
            description: "pizza".into(),
            flow: Some("menu_question".into()),
            step: Some("not_found".into()),
            file: Some("businesses/hk.yaml".into()),
            yaml_path: Some("/menu".into()),
        }],
        has_unanswered_query: true,
        agent_model: "offline".into(),
        review_latency_ms: 1,
        reviewed_by: "agent".into(),
    }
}

fn suggestion(title: &str) -> NewSuggestion {
    NewSuggestion {
        category: ReviewCategory::KnowledgeGap,
        title: title.into(),
        description: "Callers ask for pizza.".into(),
        target: SuggestionTarget {
            file: "businesses/hk.yaml".into(),
            yaml_path: Some("/menu".into()),
            flow_step: Some("menu_question.not_found".into()),
        },
        priority: 2,
        proposed_text: None,
    }
}

#[test]
fn no_plaintext_number_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let store = Store::open(&path, crypto()).unwrap();
        let rule = CapacityRule {
            capacity_covers: 50,
            hold_minutes: 90,
        };
        store
            .book(
                &request(2, "19:00", Some("+91 98765 43210"), true),
                &rule,
                now(),
            )
            .unwrap();
        store
            .create_call(
                &NewCall {
                    business_id: "hk".into(),
                    external_call_id: None,
                    caller: Some(phone("9876543210")),
                    started_at: now(),
                    language: None,
                },
                now(),
            )
            .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    for needle in ["9876543210", "98765 43210", "+919876543210"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} found in the database file"
        );
    }
}
