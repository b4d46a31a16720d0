//! The call summary stored on the call log (the design's `generate_call_summary`): one or two
//! templated sentences from the flows the call went through, the details the caller gave
//! (slots) and how it ended — so the call list says what each call was about without opening
//! the transcript.

use serde_json::{Map, Value};
use vartalaap_store::CallOutcome;

/// Flows that every call passes through and that say nothing about what it was for.
const ROUTINE_FLOWS: &[&str] = &["greeting", "goodbye"];

/// Slots shown in the summary, in this order, with their label.
const SHOWN_SLOTS: &[(&str, &str)] = &[
    ("party_size", "party of"),
    ("date", "on"),
    ("time", "at"),
    ("name", "name"),
    ("service", "service"),
];

fn outcome_sentence(outcome: CallOutcome) -> &'static str {
    match outcome {
        CallOutcome::ReservationMade => "Booking made",
        CallOutcome::CallbackRequested => "Callback requested for the manager",
        CallOutcome::Transferred => "Transferred to a person",
        CallOutcome::Completed => "Ended without a booking",
        CallOutcome::Abandoned => "The caller hung up",
        CallOutcome::Failed => "Ended by a technical failure",
        CallOutcome::InProgress => "Still in progress",
    }
}

fn slot_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().chars().take(60).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A short, templated account of a call, e.g. "Booking made. About: make_reservation,
/// menu_question. Details: party of 4, on 2026-12-24, at 19:30, name Asha."
pub fn call_summary<'a>(
    outcome: CallOutcome,
    flows: impl IntoIterator<Item = &'a str>,
    slots: &Map<String, Value>,
) -> String {
    let mut text = format!("{}.", outcome_sentence(outcome));
    let mut about: Vec<&str> = flows
        .into_iter()
        .filter(|f| !ROUTINE_FLOWS.contains(f))
        .collect();
    about.dedup();
    if !about.is_empty() {
        text.push_str(&format!(" About: {}.", about.join(", ")));
    }
    let details: Vec<String> = SHOWN_SLOTS
        .iter()
        .filter_map(|(slot, label)| {
            slots
                .get(*slot)
                .and_then(slot_text)
                .map(|v| format!("{label} {v}"))
        })
        .collect();
    if !details.is_empty() {
        text.push_str(&format!(" Details: {}.", details.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_booking_is_summarised_with_its_details() {
        let slots = json!({"party_size": 4, "date": "2026-12-24", "time": "19:30",
            "name": "Asha", "whatsapp_consent": true});
        let text = call_summary(
            CallOutcome::ReservationMade,
            ["greeting", "make_reservation", "menu_question"],
            slots.as_object().unwrap(),
        );
        assert_eq!(
            text,
            "Booking made. About: make_reservation, menu_question. Details: party of 4, on 2026-12-24, at 19:30, name Asha."
        );
    }

    #[test]
    fn a_call_with_nothing_given_says_how_it_ended() {
        let text = call_summary(CallOutcome::Abandoned, ["greeting"], &Map::new());
        assert_eq!(text, "The caller hung up.");
    }
}
