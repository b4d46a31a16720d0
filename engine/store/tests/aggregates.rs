//! The daily counters behind `GET /api/stats` stay right through a booking's life (cancel,
//! reinstate, move, resize), count handoffs once, and turn latencies into p50/p95; callback
//! requests and caller preferences are worked by staff.

mod common;

use chrono::TimeDelta;
use common::*;
use vartalaap_store::*;

fn day_counts(store: &Store, date: chrono::NaiveDate) -> (u64, u64) {
    let aggs = store
        .daily_aggregates("himalayan-kitchen", date, date)
        .unwrap();
    aggs.first().map_or((0, 0), |a| (a.reservations, a.covers))
}

#[test]
fn cancelling_moving_and_resizing_a_booking_keeps_the_day_counters_right() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = store
        .book(&request(4, "19:00", None, false), &RULE, now())
        .unwrap()
        .reservation;
    let b = store
        .book(&request(2, "20:00", None, false), &RULE, now())
        .unwrap()
        .reservation;
    assert_eq!(day_counts(&store, day()), (2, 6));

    // Cancelled: off the day's counters.
    store.cancel_reservation(a.id, now()).unwrap();
    assert_eq!(day_counts(&store, day()), (1, 2));
    // Cancelling twice changes nothing.
    store.cancel_reservation(a.id, now()).unwrap();
    assert_eq!(day_counts(&store, day()), (1, 2));
    // Reinstated: counted again.
    let back = ReservationChange {
        status: Some(ReservationStatus::Confirmed),
        ..ReservationChange::default()
    };
    store.modify_reservation(a.id, &back, &RULE, now()).unwrap();
    assert_eq!(day_counts(&store, day()), (2, 6));

    // A bigger party: covers follow.
    let bigger = ReservationChange {
        party_size: Some(5),
        ..ReservationChange::default()
    };
    store
        .modify_reservation(b.id, &bigger, &RULE, now())
        .unwrap();
    assert_eq!(day_counts(&store, day()), (2, 9));

    // Moved to the next day: leaves this day, arrives on that one.
    let next = day() + TimeDelta::days(1);
    let moved = ReservationChange {
        date: Some(next),
        ..ReservationChange::default()
    };
    store
        .modify_reservation(b.id, &moved, &RULE, now())
        .unwrap();
    assert_eq!(day_counts(&store, day()), (1, 4));
    assert_eq!(day_counts(&store, next), (1, 5));

    // Completed and no-show bookings still stood on their day.
    let done = ReservationChange {
        status: Some(ReservationStatus::Completed),
        ..ReservationChange::default()
    };
    store.modify_reservation(a.id, &done, &RULE, now()).unwrap();
    assert_eq!(day_counts(&store, day()), (1, 4));

    // A refused change (full) leaves the counters alone.
    let tight = CapacityRule {
        capacity_covers: 6,
        hold_minutes: 90,
    };
    let too_big = ReservationChange {
        party_size: Some(9),
        ..ReservationChange::default()
    };
    assert!(matches!(
        store.modify_reservation(b.id, &too_big, &tight, now()),
        Err(BookingError::Full { .. })
    ));
    assert_eq!(day_counts(&store, next), (1, 5));

    // A day whose every booking is cancelled has nothing left in it.
    store.cancel_reservation(b.id, now()).unwrap();
    assert!(
        store
            .daily_aggregates("himalayan-kitchen", next, next)
            .unwrap()
            .is_empty()
    );
}

fn call(store: &Store) -> CallLog {
    store
        .create_call(
            &NewCall {
                business_id: "himalayan-kitchen".into(),
                external_call_id: None,
                caller: None,
                started_at: now(),
                language: Some("en".into()),
            },
            now(),
        )
        .unwrap()
}

fn end(outcome: CallOutcome) -> CallEnd {
    CallEnd {
        ended_at: now() + TimeDelta::seconds(60),
        outcome,
        reservation_id: None,
        language: None,
        summary: None,
    }
}

#[test]
fn handoffs_and_turn_latency_percentiles_are_counted_per_call_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let transferred = call(&store);
    let plain = call(&store);
    store
        .finish_call(transferred.id, &end(CallOutcome::Transferred), now())
        .unwrap();
    // Recording the same end again (a retried hang-up) does not count it twice.
    store
        .finish_call(transferred.id, &end(CallOutcome::Transferred), now())
        .unwrap();
    store
        .finish_call(plain.id, &end(CallOutcome::Completed), now())
        .unwrap();
    // 19 quick bot turns and one slow one; caller turns and untimed turns do not count.
    let turn = |role, total_ms| NewTurn {
        role,
        text: "…".into(),
        language: None,
        stt_confidence: None,
        started_at: now(),
        timings: TurnTimings {
            total_ms,
            ..TurnTimings::default()
        },
        handled_by: None,
        interrupted: false,
        played_ms: None,
        intended_text: None,
        tts_fallbacks: Vec::new(),
        config_errors: Vec::new(),
        corrected_slots: Vec::new(),
    };
    for i in 0..19 {
        store
            .append_turn(plain.id, &turn(TurnRole::Bot, Some(420 + i)), now())
            .unwrap();
    }
    store
        .append_turn(plain.id, &turn(TurnRole::Bot, Some(2_300)), now())
        .unwrap();
    store
        .append_turn(plain.id, &turn(TurnRole::Caller, Some(9_999)), now())
        .unwrap();
    store
        .append_turn(plain.id, &turn(TurnRole::Bot, None), now())
        .unwrap();
    let today = now().date_naive();
    let aggs = store
        .daily_aggregates("himalayan-kitchen", today, today)
        .unwrap();
    assert_eq!(aggs.len(), 1, "{aggs:?}");
    let a = &aggs[0];
    assert_eq!((a.calls, a.handoffs, a.turns_timed), (2, 1, 20), "{a:?}");
    assert_eq!(a.turn_latency_p50_ms, Some(500));
    assert_eq!(a.turn_latency_p95_ms, Some(500));
    // One more slow turn pushes the 95th percentile into the slow bucket.
    store
        .append_turn(plain.id, &turn(TurnRole::Bot, Some(2_100)), now())
        .unwrap();
    let a = &store
        .daily_aggregates("himalayan-kitchen", today, today)
        .unwrap()[0];
    assert_eq!(a.turn_latency_p95_ms, Some(2_300));
}

#[test]
fn staff_work_a_callback_request_and_edit_a_callers_preferences() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let cb = store
        .create_callback(
            &NewCallback {
                business_id: "himalayan-kitchen".into(),
                call_id: None,
                customer_name: Some("Ravi".into()),
                phone: Some(phone("+91 98765 43210")),
                party_size: Some(30),
                requested_date: Some(day()),
                requested_time: Some(t("13:00")),
                reason: CallbackReason::LargeParty,
                notes: None,
            },
            now(),
        )
        .unwrap();
    assert_eq!(cb.staff_note, None);
    let later = now() + TimeDelta::minutes(5);
    let worked = store
        .update_callback(
            cb.id,
            &CallbackUpdate {
                status: Some(CallbackStatus::Booked),
                staff_note: Some("booked the terrace for Sunday lunch".into()),
            },
            later,
        )
        .unwrap();
    assert_eq!(worked.status, CallbackStatus::Booked);
    assert_eq!(worked.updated_at, later);
    // A note alone keeps the status.
    let noted = store
        .update_callback(
            cb.id,
            &CallbackUpdate {
                status: None,
                staff_note: Some("deposit paid".into()),
            },
            later,
        )
        .unwrap();
    assert_eq!(noted.status, CallbackStatus::Booked);
    assert_eq!(noted.staff_note.as_deref(), Some("deposit paid"));
    assert_eq!(store.get_callback(cb.id).unwrap().unwrap(), noted);
    assert!(matches!(
        store.update_callback(999, &CallbackUpdate::default(), later),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.update_callback(
            cb.id,
            &CallbackUpdate {
                status: None,
                staff_note: Some("x".repeat(MAX_STAFF_NOTE + 1)),
            },
            later
        ),
        Err(StoreError::Invalid { field: "note", .. })
    ));

    // Preferences: only a caller the store has seen can be edited.
    let hash = store.crypto().hash(&phone("+91 98765 43210"));
    let edit = CallerPreferencesEdit {
        last_language: Some("en".into()),
        preferred_name: Some("Ravi Kumar".into()),
        whatsapp_consent: None,
    };
    assert!(matches!(
        store.edit_caller_preferences(&hash, &edit, now()),
        Err(StoreError::NotFound { .. })
    ));
    store
        .update_caller_preferences(
            &hash,
            &CallerUpdate {
                language: Some("hi".into()),
                name: Some("Ravi".into()),
                whatsapp_consent: Some(true),
                call_at: Some(now()),
            },
            now(),
        )
        .unwrap();
    let edited = store.edit_caller_preferences(&hash, &edit, later).unwrap();
    assert_eq!(edited.last_language.as_deref(), Some("en"));
    assert_eq!(edited.preferred_name.as_deref(), Some("Ravi Kumar"));
    // `None` clears: the bot asks about WhatsApp again.
    assert_eq!(edited.whatsapp_consent, None);
    // What calls counted is not the editor's to change.
    assert_eq!((edited.total_calls, edited.last_call_at), (1, Some(now())));
    assert_eq!(
        store.get_caller_preferences(&hash).unwrap().unwrap(),
        edited
    );
}
