//! Booking: capacity rule, changes, look-ups, pagination and the 50-thread race.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use vartalaap_store::*;

#[test]
fn booking_writes_reservation_followup_and_job_only_with_consent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let with = store
        .book(
            &request(4, "19:00", Some("098765 43210"), true),
            &RULE,
            now(),
        )
        .unwrap();
    let r = &with.reservation;
    assert_eq!(r.status, ReservationStatus::Confirmed);
    assert!(r.phone_encrypted.is_some() && r.phone_hash.is_some());
    let f = with.followup.as_ref().expect("consent gives a follow-up");
    assert_eq!(f.status, FollowupStatus::Pending);
    let job = store
        .get_job(with.followup_job_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(job.kind, WHATSAPP_FOLLOWUP_KIND);
    assert_eq!(job.idempotency_key, f.idempotency_key);
    assert_eq!(job.payload["followup_id"], f.id);

    let without = store
        .book(
            &request(2, "19:00", Some("9876500000"), false),
            &RULE,
            now(),
        )
        .unwrap();
    assert!(without.followup.is_none() && without.followup_job_id.is_none());
    let no_phone = store
        .book(&request(2, "19:00", None, true), &RULE, now())
        .unwrap();
    assert!(
        no_phone.followup.is_none(),
        "consent without a number cannot be honoured"
    );
    let jobs = store
        .list_jobs(&JobFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!(jobs.items.len(), 1);

    // Stored ciphertext decrypts; lookup by hash of any spelling finds it.
    let crypto = store.crypto();
    assert_eq!(
        crypto.decrypt(r.phone_encrypted.as_ref().unwrap()).unwrap(),
        phone("+919876543210")
    );
    let found = store
        .find_reservations_by_phone(&crypto.hash(&phone("+91-98765-43210")), day())
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, r.id);
}

#[test]
fn capacity_uses_peak_concurrent_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let rule = CapacityRule {
        capacity_covers: 10,
        hold_minutes: 90,
    };
    store
        .book(&request(6, "18:00", None, false), &rule, now())
        .unwrap();
    store
        .book(&request(6, "19:30", None, false), &rule, now())
        .unwrap();
    // 18:45-20:15 overlaps both bookings, but they never hold covers at the same moment
    // (18:00 ends at 19:30 exactly when 19:30 starts): the peak is 6, not the naive 12, so a
    // party of 4 fits and then nothing more does.
    store
        .book(&request(4, "18:45", None, false), &rule, now())
        .unwrap();
    let err = store
        .book(&request(1, "18:45", None, false), &rule, now())
        .unwrap_err();
    match &err {
        BookingError::Full {
            free_covers,
            capacity,
            ..
        } => assert_eq!((*free_covers, *capacity), (0, 10)),
        other => panic!("expected Full, got {other:?}"),
    }
    assert!(err.to_string().contains("fully booked"), "{err}");
    assert!(err.to_string().contains("18:45"), "{err}");
    // Half-open holds: at 21:00 the 19:30 booking (until 21:00, exclusive) is gone.
    store
        .book(&request(10, "21:00", None, false), &rule, now())
        .unwrap();
}

#[test]
fn holds_crossing_midnight_count_on_the_next_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let rule = CapacityRule {
        capacity_covers: 10,
        hold_minutes: 120,
    };
    store
        .book(&request(8, "23:30", None, false), &rule, now())
        .unwrap();
    let mut next = request(3, "00:30", None, false);
    next.date = day().succ_opt().unwrap();
    assert!(matches!(
        store.book(&next, &rule, now()),
        Err(BookingError::Full { free_covers: 2, .. })
    ));
    next.party_size = 2;
    store.book(&next, &rule, now()).unwrap();
}

#[test]
fn modify_rechecks_capacity_excluding_itself_and_cancel_releases() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let rule = CapacityRule {
        capacity_covers: 10,
        hold_minutes: 90,
    };
    let a = store
        .book(
            &request(6, "19:00", Some("9876543210"), false),
            &rule,
            now(),
        )
        .unwrap()
        .reservation;
    let b = store
        .book(&request(4, "19:00", None, false), &rule, now())
        .unwrap()
        .reservation;
    // Growing a to 7 would need 11 covers.
    let grow = ReservationChange {
        party_size: Some(7),
        ..Default::default()
    };
    assert!(matches!(
        store.modify_reservation(a.id, &grow, &rule, now()),
        Err(BookingError::Full { .. })
    ));
    // Keeping its own size while changing notes does not count itself twice.
    let notes = ReservationChange {
        notes: Some("birthday".into()),
        party_size: Some(6),
        ..Default::default()
    };
    assert_eq!(
        store
            .modify_reservation(a.id, &notes, &rule, now())
            .unwrap()
            .notes
            .as_deref(),
        Some("birthday")
    );
    // Moving to another day updates both indexes.
    let tomorrow = day().succ_opt().unwrap();
    let moved = ReservationChange {
        date: Some(tomorrow),
        time: Some(t("20:00")),
        ..Default::default()
    };
    store
        .modify_reservation(a.id, &moved, &rule, now())
        .unwrap();
    let hash = store.crypto().hash(&phone("9876543210"));
    assert!(
        store
            .find_reservations_by_phone(&hash, day())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .find_reservations_by_phone(&hash, tomorrow)
            .unwrap()
            .len(),
        1
    );
    // Cancel releases covers; cancelling twice is fine; a cancelled booking can only come
    // back if it fits.
    store.cancel_reservation(b.id, now()).unwrap();
    store.cancel_reservation(b.id, now()).unwrap();
    store
        .book(&request(10, "19:00", None, false), &rule, now())
        .unwrap();
    let back = ReservationChange {
        status: Some(ReservationStatus::Confirmed),
        ..Default::default()
    };
    assert!(matches!(
        store.modify_reservation(b.id, &back, &rule, now()),
        Err(BookingError::Full { .. })
    ));
    // Completed reservations cannot be cancelled.
    let done = ReservationChange {
        status: Some(ReservationStatus::Completed),
        ..Default::default()
    };
    store.modify_reservation(a.id, &done, &rule, now()).unwrap();
    assert!(matches!(
        store.cancel_reservation(a.id, now()),
        Err(BookingError::BadTransition { .. })
    ));
    assert!(matches!(
        store.cancel_reservation(999, now()),
        Err(BookingError::NotFound(999))
    ));
}

/// What the dialog engine's `modify` with a `new_date` relies on: one call moves a booking to
/// another day, refused (and nothing changed) when the new day is full at that time, and on
/// success the old day's covers are free and the new day's taken, with one reservation.
#[test]
fn moving_to_another_day_checks_that_day_and_frees_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let rule = CapacityRule {
        capacity_covers: 3,
        hold_minutes: 30,
    };
    let mut mine = request(1, "17:00", Some("9876543210"), false);
    mine.notes = Some("Root canal".into());
    let mine = store.book(&mine, &rule, now()).unwrap().reservation;
    let friday = day().succ_opt().unwrap();
    let at_friday = |party, time: &str| BookingRequest {
        date: friday,
        ..request(party, time, None, false)
    };
    store.book(&at_friday(3, "11:00"), &rule, now()).unwrap();
    let grid = SlotGrid {
        first: t("11:00"),
        last: t("17:00"),
        step_minutes: 360,
    };
    let free = |d| -> Vec<u32> {
        store
            .availability("himalayan-kitchen", d, &rule, &grid)
            .unwrap()
            .iter()
            .map(|s| s.free_covers)
            .collect()
    };
    // Friday 11:00 is full: refused, nothing moved.
    let to_full = ReservationChange {
        date: Some(friday),
        time: Some(t("11:00")),
        ..Default::default()
    };
    assert!(matches!(
        store.modify_reservation(mine.id, &to_full, &rule, now()),
        Err(BookingError::Full { .. })
    ));
    assert_eq!(free(day()), [3, 2]);
    // Friday 17:00 has room: moved, the old chair freed, notes kept, still one reservation.
    let to_free = ReservationChange {
        date: Some(friday),
        ..Default::default()
    };
    let moved = store
        .modify_reservation(mine.id, &to_free, &rule, now())
        .unwrap();
    assert_eq!((moved.id, moved.reservation_date), (mine.id, friday));
    assert_eq!(moved.notes.as_deref(), Some("Root canal"));
    assert_eq!(free(day()), [3, 3]);
    assert_eq!(free(friday), [0, 2]);
    let all = store
        .list_reservations(&ReservationFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!(all.items.len(), 2);
}

#[test]
fn invalid_input_is_rejected_with_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for (party, field) in [(0, "party_size"), (21, "party_size")] {
        match store.book(&request(party, "19:00", None, false), &RULE, now()) {
            Err(BookingError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }
    let bad_rule = CapacityRule {
        capacity_covers: 10,
        hold_minutes: 0,
    };
    assert!(matches!(
        store.book(&request(2, "19:00", None, false), &bad_rule, now()),
        Err(BookingError::Invalid {
            field: "hold_minutes",
            ..
        })
    ));
    let mut empty = request(2, "19:00", None, false);
    empty.business_id.clear();
    assert!(matches!(
        store.book(&empty, &RULE, now()),
        Err(BookingError::Invalid {
            field: "business_id",
            ..
        })
    ));
}

#[test]
fn list_filters_and_paginates() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let rule = CapacityRule {
        capacity_covers: 1000,
        hold_minutes: 60,
    };
    let mut ids = Vec::new();
    for i in 0..7u32 {
        let mut req = request(2, "19:00", None, false);
        req.date = day() + chrono::Days::new(u64::from(i % 3));
        ids.push(store.book(&req, &rule, now()).unwrap().reservation.id);
    }
    let mut other = request(2, "19:00", None, false);
    other.business_id = "other".into();
    store.book(&other, &rule, now()).unwrap();
    store.cancel_reservation(ids[0], now()).unwrap();

    let filter = ReservationFilter {
        business_id: Some("himalayan-kitchen".into()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: 3,
    };
    loop {
        let p = store.list_reservations(&filter, &page).unwrap();
        seen.extend(p.items.iter().map(|r| r.id));
        match p.next_after {
            Some(a) => page.after = Some(a),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let day0 = ReservationFilter {
        business_id: Some("himalayan-kitchen".into()),
        date_from: Some(day()),
        date_to: Some(day()),
        status: Some(ReservationStatus::Confirmed),
        ..Default::default()
    };
    let got: Vec<u64> = store
        .list_reservations(&day0, &PageRequest::default())
        .unwrap()
        .items
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(got, [ids[3], ids[6]]);
    let all = store
        .list_reservations(
            &ReservationFilter::default(),
            &PageRequest {
                after: None,
                limit: 100,
            },
        )
        .unwrap();
    assert_eq!(all.items.len(), 8);
    let cancelled = ReservationFilter {
        status: Some(ReservationStatus::Cancelled),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_reservations(&cancelled, &PageRequest::default())
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn availability_reports_free_covers_per_slot() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let rule = CapacityRule {
        capacity_covers: 10,
        hold_minutes: 60,
    };
    store
        .book(&request(8, "19:00", None, false), &rule, now())
        .unwrap();
    let grid = SlotGrid {
        first: t("18:00"),
        last: t("20:00"),
        step_minutes: 30,
    };
    let slots = store
        .availability("himalayan-kitchen", day(), &rule, &grid)
        .unwrap();
    let free: Vec<(String, u32)> = slots
        .iter()
        .map(|s| (s.time.to_string(), s.free_covers))
        .collect();
    assert_eq!(
        free,
        [
            ("18:00".into(), 10),
            ("18:30".into(), 2),
            ("19:00".into(), 2),
            ("19:30".into(), 2),
            ("20:00".into(), 10)
        ]
    );
    assert_eq!(
        nearest_free(&slots, t("19:00"), 4, 2),
        [t("18:00"), t("20:00")]
    );
}

#[test]
fn fifty_threads_race_for_the_last_covers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let rule = CapacityRule {
        capacity_covers: 20,
        hold_minutes: 90,
    };
    // 14 covers taken; 6 left. Each racer wants 2 covers → exactly 3 can win.
    store
        .book(&request(14, "19:00", None, false), &rule, now())
        .unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                let time = if i % 2 == 0 { "19:00" } else { "19:45" };
                barrier.wait();
                store.book(&request(2, time, Some("9876543210"), true), &rule, now())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let full: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Err(e @ BookingError::Full { .. }) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(ok, 3, "exactly the free covers are sold");
    assert_eq!(
        full.len(),
        47,
        "everyone else is told it is full: {results:?}"
    );
    assert!(
        full.iter()
            .all(|m| m.contains("fully booked") && m.contains("of 20 are free")),
        "{full:?}"
    );
    // The stored state agrees: peak load is exactly capacity, and each winner has its job.
    let grid = SlotGrid {
        first: t("19:00"),
        last: t("19:45"),
        step_minutes: 45,
    };
    let slots = store
        .availability("himalayan-kitchen", day(), &rule, &grid)
        .unwrap();
    assert!(slots.iter().all(|s| s.free_covers == 0), "{slots:?}");
    let jobs = store
        .list_jobs(&JobFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!(jobs.items.len(), 3);
}
