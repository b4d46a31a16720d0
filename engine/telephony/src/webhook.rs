//! Typed views of the form fields Plivo POSTs to the answer, hangup and stream-status URLs
//! (protocols §1.2, §1.4, §1.5).
//!
//! Parse *after* [`crate::signature::verify_v3`] has accepted the request, from the same decoded
//! pairs ([`crate::form::parse_form`]). Unknown fields are ignored (Plivo adds `SIP-H-*`,
//! `STIR*`, `X-PH-*` and more). Phone numbers arrive as E.164 digits without `+`; they are
//! normalized to `+digits` so they match how businesses and callers are stored. Error messages
//! name fields, never values (phone numbers stay out of logs).

/// Why a webhook body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("Plivo webhook is missing the `{0}` field")]
    Missing(&'static str),
    #[error("Plivo webhook field `{field}` is invalid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn required<'a>(
    params: &'a [(String, String)],
    name: &'static str,
) -> Result<&'a str, WebhookError> {
    get(params, name).ok_or(WebhookError::Missing(name))
}

fn number_field(
    params: &[(String, String)],
    name: &'static str,
) -> Result<Option<u32>, WebhookError> {
    get(params, name)
        .map(|v| {
            v.parse().map_err(|_| WebhookError::Invalid {
                field: name,
                reason: "not a whole number",
            })
        })
        .transpose()
}

/// Normalizes a Plivo number: `919812345678`, `+91 98123 45678` → `+919812345678`. Anything
/// that is not a phone number (a `sip:` URI) is returned trimmed and unchanged.
pub fn normalize_number(raw: &str) -> String {
    let trimmed = raw.trim();
    let compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        format!("+{digits}")
    } else {
        trimmed.to_string()
    }
}

/// Which way the call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A caller dialled one of our numbers.
    Inbound,
    /// We placed the call (callbacks).
    Outbound,
}

/// The answer-URL request: enough to route the call to a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    /// Plivo's call id; the key that makes the handler idempotent (Plivo may retry).
    pub call_uuid: String,
    /// The caller, normalized (`+91…`).
    pub from: String,
    /// The dialled number, normalized: routes the call to a business.
    pub to: String,
    pub direction: Direction,
    /// Caller name, when the carrier supplies one.
    pub caller_name: Option<String>,
    /// The number the call was forwarded from, if any.
    pub forwarded_from: Option<String>,
}

impl AnswerRequest {
    pub fn from_params(params: &[(String, String)]) -> Result<Self, WebhookError> {
        let direction = match required(params, "Direction")? {
            d if d.eq_ignore_ascii_case("inbound") => Direction::Inbound,
            d if d.eq_ignore_ascii_case("outbound") => Direction::Outbound,
            _ => {
                return Err(WebhookError::Invalid {
                    field: "Direction",
                    reason: "expected inbound or outbound",
                });
            }
        };
        Ok(Self {
            call_uuid: required(params, "CallUUID")?.to_string(),
            from: normalize_number(required(params, "From")?),
            to: normalize_number(required(params, "To")?),
            direction,
            caller_name: get(params, "CallerName").map(str::to_string),
            forwarded_from: get(params, "ForwardedFrom").map(normalize_number),
        })
    }
}

/// The hangup callback: how and when the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HangupEvent {
    pub call_uuid: String,
    /// Seconds from answer to hang-up.
    pub duration_secs: Option<u32>,
    /// Seconds billed (rounded up by Plivo).
    pub bill_duration_secs: Option<u32>,
    /// Telephony cause, e.g. `NORMAL_CLEARING`.
    pub hangup_cause: Option<String>,
    /// Plivo's code: 4000 normal, 4010 end of XML, 1000 API hang-up, 6020 media timeout, …
    pub hangup_cause_code: Option<u32>,
    pub hangup_cause_name: Option<String>,
    /// `Caller`, `Plivo`, `API Request`, `Answer XML`, `Error`, …
    pub hangup_source: Option<String>,
    /// Account-local times without a zone (`2026-06-08 11:34:32`), kept as sent.
    pub start_time: Option<String>,
    pub answer_time: Option<String>,
    pub end_time: Option<String>,
}

impl HangupEvent {
    pub fn from_params(params: &[(String, String)]) -> Result<Self, WebhookError> {
        let text = |name| get(params, name).map(str::to_string);
        Ok(Self {
            call_uuid: required(params, "CallUUID")?.to_string(),
            duration_secs: number_field(params, "Duration")?,
            bill_duration_secs: number_field(params, "BillDuration")?,
            hangup_cause: text("HangupCause"),
            hangup_cause_code: number_field(params, "HangupCauseCode")?,
            hangup_cause_name: text("HangupCauseName"),
            hangup_source: text("HangupSource"),
            start_time: text("StartTime"),
            answer_time: text("AnswerTime"),
            end_time: text("EndTime"),
        })
    }
}

/// A stream status, whichever of Plivo's two naming schemes it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatus {
    /// `StartStream` / `started`.
    Started,
    /// `StopStream` / `stopped`: ended on purpose (socket closed, API, `streamTimeout`).
    Stopped,
    /// `DroppedStream` / `failed`: never connected or died mid-call.
    Failed,
    /// `DegradedStream`: we are consuming too slowly; Plivo's buffer is filling.
    Degraded,
    /// Anything else, verbatim (log it).
    Other(String),
}

/// The stream status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatusEvent {
    pub call_uuid: String,
    pub stream_id: Option<String>,
    pub status: StreamStatus,
    /// `StatusReason` (scheme B).
    pub reason: Option<String>,
    pub duration_secs: Option<u32>,
}

impl StreamStatusEvent {
    pub fn from_params(params: &[(String, String)]) -> Result<Self, WebhookError> {
        let event = required(params, "Event")?;
        let status = match event {
            "StartStream" | "started" => StreamStatus::Started,
            "StopStream" | "stopped" => StreamStatus::Stopped,
            "DroppedStream" | "failed" => StreamStatus::Failed,
            "DegradedStream" => StreamStatus::Degraded,
            other => StreamStatus::Other(other.chars().take(64).collect()),
        };
        Ok(Self {
            call_uuid: required(params, "CallUUID")?.to_string(),
            stream_id: get(params, "StreamID").map(str::to_string),
            status,
            reason: get(params, "StatusReason").map(str::to_string),
            duration_secs: number_field(params, "Duration")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::parse_form;

    #[test]
    fn answer_request_from_a_real_shaped_body() {
        let body = "CallUUID=c5d3b2a0-1111-2222-3333-444455556666&CallStatus=ringing&Direction=inbound&Event=StartApp&From=919812345678&To=918071234567&SIP-H-To=%3Csip%3Ax%3E&CallerName=%2B919812345678";
        let a = AnswerRequest::from_params(&parse_form(body)).unwrap();
        assert_eq!(a.call_uuid, "c5d3b2a0-1111-2222-3333-444455556666");
        assert_eq!(a.from, "+919812345678");
        assert_eq!(a.to, "+918071234567");
        assert_eq!(a.direction, Direction::Inbound);
        assert_eq!(a.caller_name.as_deref(), Some("+919812345678"));
        assert_eq!(a.forwarded_from, None);
    }

    #[test]
    fn answer_request_errors_name_the_field_not_the_value() {
        let p = parse_form("CallUUID=u&Direction=inbound&From=919812345678");
        assert_eq!(
            AnswerRequest::from_params(&p),
            Err(WebhookError::Missing("To"))
        );
        let p = parse_form("CallUUID=u&Direction=sideways&From=919812345678&To=1");
        let err = AnswerRequest::from_params(&p).unwrap_err();
        assert!(!err.to_string().contains("919812345678"));
        assert!(matches!(
            err,
            WebhookError::Invalid {
                field: "Direction",
                ..
            }
        ));
        let p = parse_form("CallUUID=&Direction=inbound&From=1&To=2");
        assert_eq!(
            AnswerRequest::from_params(&p),
            Err(WebhookError::Missing("CallUUID"))
        );
    }

    #[test]
    fn numbers_are_normalized_and_sip_uris_kept() {
        assert_eq!(normalize_number("919812345678"), "+919812345678");
        assert_eq!(normalize_number(" +91 98123-45678 "), "+919812345678");
        assert_eq!(
            normalize_number("sip:bot@phone.plivo.com"),
            "sip:bot@phone.plivo.com"
        );
        assert_eq!(normalize_number(""), "");
        assert_eq!(normalize_number("+"), "+");
    }

    #[test]
    fn hangup_event_from_the_documented_payload() {
        let body = "CallUUID=u1&Direction=inbound&From=917983165036&To=918071234567&CallStatus=completed&Event=Hangup&HangupCause=NORMAL_CLEARING&HangupCauseCode=4000&HangupCauseName=Normal+Hangup&HangupSource=Caller&Duration=11&BillDuration=60&BillRate=0&TotalCost=0.00000&StartTime=2026-06-08+11%3A34%3A32&AnswerTime=2026-06-08+11%3A34%3A32&EndTime=2026-06-08+11%3A34%3A43";
        let h = HangupEvent::from_params(&parse_form(body)).unwrap();
        assert_eq!(h.call_uuid, "u1");
        assert_eq!(h.duration_secs, Some(11));
        assert_eq!(h.bill_duration_secs, Some(60));
        assert_eq!(h.hangup_cause.as_deref(), Some("NORMAL_CLEARING"));
        assert_eq!(h.hangup_cause_code, Some(4000));
        assert_eq!(h.hangup_cause_name.as_deref(), Some("Normal Hangup"));
        assert_eq!(h.hangup_source.as_deref(), Some("Caller"));
        assert_eq!(h.end_time.as_deref(), Some("2026-06-08 11:34:43"));
        let bad = parse_form("CallUUID=u&Duration=eleven");
        assert_eq!(
            HangupEvent::from_params(&bad),
            Err(WebhookError::Invalid {
                field: "Duration",
                reason: "not a whole number"
            })
        );
        // Only the call id is required; Plivo's field set varies by product.
        assert!(HangupEvent::from_params(&parse_form("CallUUID=u")).is_ok());
    }

    #[test]
    fn stream_status_accepts_both_naming_schemes() {
        let status = |event: &str| {
            let p = parse_form(&format!("CallUUID=u&StreamID=s&Event={event}"));
            StreamStatusEvent::from_params(&p).unwrap().status
        };
        assert_eq!(status("StartStream"), StreamStatus::Started);
        assert_eq!(status("started"), StreamStatus::Started);
        assert_eq!(status("StopStream"), StreamStatus::Stopped);
        assert_eq!(status("stopped"), StreamStatus::Stopped);
        assert_eq!(status("DroppedStream"), StreamStatus::Failed);
        assert_eq!(status("failed"), StreamStatus::Failed);
        assert_eq!(status("DegradedStream"), StreamStatus::Degraded);
        assert_eq!(status("Exploded"), StreamStatus::Other("Exploded".into()));
        let p = parse_form("CallUUID=u&Event=stopped&StatusReason=Stream+stopped&Duration=42");
        let e = StreamStatusEvent::from_params(&p).unwrap();
        assert_eq!(e.reason.as_deref(), Some("Stream stopped"));
        assert_eq!(e.duration_secs, Some(42));
        assert_eq!(e.stream_id, None);
    }
}
