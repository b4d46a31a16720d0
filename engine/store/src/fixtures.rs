//! Writers for the committed fixture databases in `tests/fixtures/store/` (one per earlier
//! schema version), used by the upgrade tests. Regenerate with
//! `cargo run -p vartalaap-store --example gen_store_fixtures`.
//!
//! Each writer uses only the tables that existed at that version, exactly as that release
//! wrote them, so the upgrade test exercises the real backfills.

use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use redb::Database;

use crate::crypto::{HashPepper, PhoneCrypto, PhoneKey};
use crate::error::{OpenError, StoreError};
use crate::migrate::{MIGRATIONS, migrate_with};
use crate::model::*;
use crate::phone::PhoneNumber;
use crate::tables::*;

/// Key id of the fixture key.
pub const FIXTURE_KEY_ID: &str = "fixture-2026";
/// The fixture phone number (a made-up Dehradun mobile).
pub const FIXTURE_PHONE: &str = "+91 98765 43210";
/// Business id used in fixtures.
pub const FIXTURE_BUSINESS: &str = "himalayan-kitchen";

/// The keyring fixtures are written with (test-only key material, never used in production).
pub fn fixture_crypto() -> PhoneCrypto {
    PhoneCrypto::new(
        PhoneKey::new(FIXTURE_KEY_ID, [0x42; 32]).unwrap_or_else(|_| unreachable!("valid id")),
        HashPepper::new(b"vartalaap-fixture-pepper".to_vec())
            .unwrap_or_else(|_| unreachable!("long enough")),
    )
}

/// Date of the fixture reservation.
pub fn fixture_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 24).unwrap_or_default()
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 20, h, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Writes a fresh database at `path` at schema `version` (1..SCHEMA_VERSION) with two
/// reservations (one confirmed, one cancelled), one call with two turns (the bot's timed) and
/// caller preferences; from version 3 on, the daily counters as that release kept them (it
/// counted cancelled bookings too); and one review and
/// suggestion in the shape before 0005.
pub fn write_fixture(path: &Path, version: u32) -> Result<(), OpenError> {
    let db = Database::create(path).map_err(|source| OpenError::Open {
        path: path.display().to_string(),
        source,
    })?;
    let steps: Vec<_> = MIGRATIONS
        .iter()
        .copied()
        .filter(|m| m.version <= version)
        .collect();
    migrate_with(&db, &steps)?;
    let crypto = fixture_crypto();
    let phone = PhoneNumber::parse(FIXTURE_PHONE)
        .map_err(|e| StoreError::invalid("phone", e.to_string()))?;
    let hash = crypto.hash(&phone);
    let txn = db.begin_write().map_err(StoreError::from)?;
    let reservation = Reservation {
        id: 1,
        business_id: FIXTURE_BUSINESS.into(),
        call_id: Some(1),
        customer_name: Some("Asha".into()),
        phone_hash: Some(hash.clone()),
        phone_encrypted: Some(crypto.encrypt(&phone)),
        party_size: 4,
        reservation_date: fixture_date(),
        reservation_time: TimeOfDay::from_hm(20, 0)
            .unwrap_or(TimeOfDay::from_minutes(0).unwrap_or_else(|| unreachable!())),
        status: ReservationStatus::Confirmed,
        whatsapp_sent: false,
        whatsapp_consent: false,
        language: Some("hi".into()),
        notes: Some("window table".into()),
        created_at: at(10),
        updated_at: at(10),
    };
    let call = CallLog {
        id: 1,
        business_id: FIXTURE_BUSINESS.into(),
        external_call_id: Some("plivo-fixture-1".into()),
        caller_phone_hash: Some(hash.clone()),
        caller_phone_encrypted: Some(crypto.encrypt(&phone)),
        started_at: at(10),
        ended_at: Some(at(10) + chrono::TimeDelta::seconds(95)),
        duration_seconds: Some(95),
        language: Some("hi".into()),
        outcome: CallOutcome::ReservationMade,
        reservation_id: Some(1),
        summary: None,
        created_at: at(10),
        updated_at: at(10),
    };
    let cancelled = Reservation {
        id: 2,
        call_id: None,
        customer_name: None,
        phone_hash: None,
        phone_encrypted: None,
        party_size: 6,
        status: ReservationStatus::Cancelled,
        notes: None,
        ..reservation.clone()
    };
    {
        let day = reservation.reservation_date.to_string();
        for r in [&reservation, &cancelled] {
            put_json(
                &mut txn.open_table(RESERVATIONS).map_err(StoreError::from)?,
                r.id,
                r,
            )?;
            txn.open_multimap_table(RES_BY_DATE)
                .map_err(StoreError::from)?
                .insert((FIXTURE_BUSINESS, day.as_str()), r.id)
                .map_err(StoreError::from)?;
        }
        if version >= 4 {
            let call_day = call.started_at.date_naive().to_string();
            crate::aggregates::adjust(&txn, FIXTURE_BUSINESS, &call_day, "calls", 1)?;
            crate::aggregates::turn_latency(&txn, FIXTURE_BUSINESS, &call_day, 640)?;
            for r in [&reservation, &cancelled] {
                crate::aggregates::reservation_changed(&txn, None, r)?;
            }
        } else if version == 3 {
            let mut agg = txn.open_table(AGGREGATES).map_err(StoreError::from)?;
            let call_day = call.started_at.date_naive().to_string();
            for (date, metric, n) in [
                (call_day.as_str(), "calls", 1),
                (day.as_str(), "reservations", 2),
                (day.as_str(), "covers", 10),
            ] {
                agg.insert((FIXTURE_BUSINESS, date, metric), n)
                    .map_err(StoreError::from)?;
            }
        }
        if version >= 2 {
            txn.open_multimap_table(RES_BY_PHONE)
                .map_err(StoreError::from)?
                .insert((hash.as_str(), day.as_str()), 1)
                .map_err(StoreError::from)?;
        }
        put_json(
            &mut txn.open_table(CALLS).map_err(StoreError::from)?,
            1,
            &call,
        )?;
        txn.open_multimap_table(CALLS_BY_START)
            .map_err(StoreError::from)?
            .insert((FIXTURE_BUSINESS, call.started_at.timestamp_millis()), 1)
            .map_err(StoreError::from)?;
        let mut turns = txn.open_table(TURNS).map_err(StoreError::from)?;
        for (seq, (role, text)) in [
            (TurnRole::Bot, "Namaste, Himalayan Kitchen."),
            (TurnRole::Caller, "Char logon ke liye table chahiye."),
        ]
        .into_iter()
        .enumerate()
        {
            let seq = u32::try_from(seq).unwrap_or(0);
            let turn = ConversationTurn {
                call_id: 1,
                seq,
                role,
                text: text.into(),
                language: Some("hi".into()),
                stt_confidence: None,
                started_at: at(10),
                timings: TurnTimings {
                    total_ms: (role == TurnRole::Bot).then_some(640),
                    ..TurnTimings::default()
                },
                handled_by: None,
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
                created_at: at(10),
            };
            turns
                .insert((1, seq), encode(&turn).as_slice())
                .map_err(StoreError::from)?;
        }
        let prefs = CallerPreferences {
            phone_hash: hash.clone(),
            last_language: Some("hi".into()),
            preferred_name: Some("Asha".into()),
            whatsapp_consent: Some(false),
            total_calls: 1,
            last_call_at: Some(at(10)),
            created_at: at(10),
            updated_at: at(10),
        };
        txn.open_table(CALLER_PREFS)
            .map_err(StoreError::from)?
            .insert(hash.as_str(), encode(&prefs).as_slice())
            .map_err(StoreError::from)?;
        // A review and a suggestion in the first release's shape (converted by 0005).
        let review = serde_json::json!({
            "id": 1, "call_id": 1, "business_id": FIXTURE_BUSINESS, "reviewer": "manager",
            "rating": 2, "issues": ["slow_reply"], "notes": "long pause before the price",
            "status": "reviewed", "created_at": at(11), "updated_at": at(11)
        });
        txn.open_table(REVIEWS)
            .map_err(StoreError::from)?
            .insert(1, encode(&review).as_slice())
            .map_err(StoreError::from)?;
        let suggestion = serde_json::json!({
            "id": 1, "business_id": FIXTURE_BUSINESS, "call_id": 1, "review_id": 1,
            "category": "menu", "title": "Add the thali", "description": "Callers ask for it.",
            "status": "accepted", "created_at": at(11), "updated_at": at(11)
        });
        txn.open_table(SUGGESTIONS)
            .map_err(StoreError::from)?
            .insert(1, encode(&suggestion).as_slice())
            .map_err(StoreError::from)?;
        txn.open_multimap_table(SUGGESTIONS_BY_STATUS)
            .map_err(StoreError::from)?
            .insert((FIXTURE_BUSINESS, "accepted"), 1)
            .map_err(StoreError::from)?;
        let mut meta = txn.open_table(META).map_err(StoreError::from)?;
        for entity in ["transcript_review", "improvement_suggestion"] {
            meta.insert(format!("next_id:{entity}").as_str(), 2)
                .map_err(StoreError::from)?;
        }
        for (entity, next) in [("reservation", 3), ("call", 2)] {
            meta.insert(format!("next_id:{entity}").as_str(), next)
                .map_err(StoreError::from)?;
        }
    }
    txn.commit().map_err(StoreError::from)?;
    Ok(())
}
