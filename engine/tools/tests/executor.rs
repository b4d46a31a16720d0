//! The executor calls use, over a scratch store: WhatsApp consent given after the booking,
//! and what a failing tool call logs.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use vartalaap_config::{BusinessSnapshot, ConfigStore, Lang};
use vartalaap_core::testing::{DEFAULT_CALLER_NUMBER, DialogueWorld, WorldSetup};
use vartalaap_core::{ToolCall, ToolExecutor, ToolKind, ToolResult};
use vartalaap_tools::StoreWorld;

fn snapshot() -> Arc<BusinessSnapshot> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let store = ConfigStore::load(root).unwrap_or_else(|e| panic!("config invalid: {e:?}"));
    store.current("himalayan_kitchen").expect("business exists")
}

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(18, 0, 0)
        .unwrap()
}

fn call(kind: ToolKind) -> ToolCall {
    ToolCall {
        call_id: 1,
        kind,
        language: Lang::En,
    }
}

fn book(world: &mut StoreWorld) -> String {
    let result = world.execute(
        now(),
        &call(ToolKind::Book {
            date: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            time: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            party_size: 2,
            name: "Rahul".into(),
            whatsapp_consent: false,
            notes: None,
        }),
    );
    match result {
        ToolResult::Booked { reservation_id } => reservation_id,
        other => panic!("not booked: {other:?}"),
    }
}

fn world(snap: &Arc<BusinessSnapshot>, caller_number: Option<&str>) -> StoreWorld {
    StoreWorld::new(&WorldSetup {
        snapshot: snap,
        at: now(),
        caller_number,
        existing: &[],
    })
    .unwrap()
}

#[test]
fn consent_after_the_booking_queues_one_confirmation() {
    let snap = snapshot();
    let mut w = world(&snap, Some(DEFAULT_CALLER_NUMBER));
    let id = book(&mut w);
    assert!(w.jobs().unwrap().is_empty(), "no consent at booking time");
    for _ in 0..2 {
        let sent = w.execute(
            now(),
            &call(ToolKind::SendFollowup {
                reservation_id: id.clone(),
            }),
        );
        assert_eq!(sent, ToolResult::Done);
    }
    let jobs = w.jobs().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].kind, "whatsapp_followup");
    assert_eq!(jobs[0].reservation_name.as_deref(), Some("Rahul"));
    assert_eq!(jobs[0].language.as_deref(), Some("en"));
}

/// A `tracing` writer that keeps what was written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn without_a_number_the_confirmation_is_refused_and_the_log_names_the_tool() {
    let snap = snapshot();
    let mut w = world(&snap, None);
    let id = book(&mut w);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || {
        w.execute(now(), &call(ToolKind::SendFollowup { reservation_id: id }))
    });
    match &result {
        ToolResult::Failed { message } => {
            assert!(message.contains("no caller number"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(w.jobs().unwrap().is_empty());
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("tool=\"send_followup\"") || log.contains("tool=send_followup"),
        "{log}"
    );
    assert!(!log.contains("Discriminant"), "{log}");
}
