//! Shared helpers for the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use vartalaap_store::*;

pub fn crypto() -> PhoneCrypto {
    PhoneCrypto::new(
        PhoneKey::new("k1", [7; 32]).unwrap(),
        HashPepper::new(b"test-pepper-0123456789".to_vec()).unwrap(),
    )
}

pub fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("store.redb"), crypto()).unwrap()
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
}

pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

pub fn t(s: &str) -> TimeOfDay {
    s.parse().unwrap()
}

pub fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

pub const RULE: CapacityRule = CapacityRule {
    capacity_covers: 20,
    hold_minutes: 90,
};

pub fn spec() -> FollowupSpec {
    FollowupSpec {
        template: "reservation_confirmed".into(),
        language: "en".into(),
        restaurant_name: "Himalayan Kitchen".into(),
        max_attempts: 5,
    }
}

pub fn request(party: u8, time: &str, phone_no: Option<&str>, consent: bool) -> BookingRequest {
    BookingRequest {
        business_id: "himalayan-kitchen".into(),
        call_id: None,
        customer_name: Some("Asha".into()),
        phone: phone_no.map(phone),
        party_size: party,
        date: day(),
        time: t(time),
        language: Some("hi".into()),
        notes: None,
        whatsapp_consent: consent,
        followup: Some(spec()),
    }
}

pub mod webhook;

/// A clock the test moves by hand.
pub struct ManualClock(pub std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> std::sync::Arc<ManualClock> {
        std::sync::Arc::new(ManualClock(std::sync::Mutex::new(at)))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}
