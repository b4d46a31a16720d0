//! What Plivo does around the stream: status callbacks, the XML after `<Stream>` once the
//! socket closes, and the hangup callback (protocols §1.4, §1.5, §1.10 HTTP side).
//!
//! Which hangup source/code Plivo reports for each ending is partly unconfirmed; the values
//! here follow protocols §1.5 (4000 Normal Hangup; 4010 End Of XML Instructions when the
//! document runs out after the stream).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::answer::{
    AnswerDocument, NextElement, StreamElement, fetch_xml, parse_answer, post_signed,
};
use super::{CallEnd, CallReport, SimConfig, StatusScheme};

/// How the call ended, as the hangup callback reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hangup {
    /// `HangupSource`: `Caller`, `Answer XML`, `Plivo`, …
    pub source: &'static str,
    /// `HangupCause`: the telephony cause.
    pub cause: &'static str,
    /// `HangupCauseCode`.
    pub code: u16,
    /// `HangupCauseName`.
    pub name: &'static str,
}

impl Hangup {
    fn by_caller() -> Self {
        Self {
            source: "Caller",
            cause: "NORMAL_CLEARING",
            code: 4000,
            name: "Normal Hangup",
        }
    }
    fn by_xml() -> Self {
        Self {
            source: "Answer XML",
            cause: "NORMAL_CLEARING",
            code: 4000,
            name: "Normal Hangup",
        }
    }
    fn end_of_xml() -> Self {
        Self {
            source: "Plivo",
            cause: "NORMAL_CLEARING",
            code: 4010,
            name: "End Of XML Instructions",
        }
    }
}

/// One webhook the simulator sent, with the server's HTTP status (or why it failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackResult {
    /// `StartStream`, `StopStream`, `Redirect`, `Hangup`, …
    pub event: String,
    pub outcome: Result<u16, String>,
}

fn common(cfg: &SimConfig, call_uuid: &str) -> Vec<(String, String)> {
    let digits = |n: &str| n.trim_start_matches('+').to_string();
    vec![
        ("CallUUID".into(), call_uuid.into()),
        ("Direction".into(), "inbound".into()),
        ("From".into(), digits(&cfg.from)),
        ("To".into(), digits(&cfg.to)),
    ]
}

fn plivo_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Posts a stream status event to the `<Stream statusCallbackUrl>`, if the document set one.
pub(super) async fn stream_status(
    client: &reqwest::Client,
    cfg: &SimConfig,
    stream: &StreamElement,
    call_uuid: &str,
    stream_id: &str,
    started: bool,
    duration: Option<Duration>,
) -> Option<CallbackResult> {
    let url = stream.attr("statusCallbackUrl")?;
    let event = match (cfg.status_scheme, started) {
        (StatusScheme::A, true) => "StartStream",
        (StatusScheme::A, false) => "StopStream",
        (StatusScheme::B, true) => "started",
        (StatusScheme::B, false) => "stopped",
    };
    let mut params = common(cfg, call_uuid);
    params.push(("Event".into(), event.into()));
    params.push(("StreamID".into(), stream_id.into()));
    params.push(("Timestamp".into(), plivo_time(Utc::now())));
    if let Some(d) = duration {
        params.push(("Duration".into(), d.as_secs().to_string()));
        if cfg.status_scheme == StatusScheme::B {
            params.push(("StatusReason".into(), "Stream stopped".into()));
        }
    }
    let outcome = post_signed(client, url, &cfg.auth_token, &params)
        .await
        .map(|(status, _, _)| status)
        .map_err(|e| e.to_string());
    Some(CallbackResult {
        event: event.into(),
        outcome,
    })
}

/// After the socket closed: runs what the document says next (following one `<Redirect>`),
/// records a `<Dial>` as a transfer, and decides how the call ended.
pub(super) async fn after_stream(
    client: &reqwest::Client,
    cfg: &SimConfig,
    stream: &StreamElement,
    report: &mut CallReport,
) -> Hangup {
    if matches!(report.ended, CallEnd::ScriptDone | CallEnd::MaxDuration) {
        // The caller hung up; nothing after the stream runs.
        return Hangup::by_caller();
    }
    let mut next = stream.then.clone();
    for _ in 0..3 {
        match next {
            NextElement::Nothing => return Hangup::end_of_xml(),
            NextElement::Hangup => return Hangup::by_xml(),
            NextElement::Dial(number) => {
                report.transferred_to = Some(number);
                // The caller talks to the person and hangs up afterwards.
                return Hangup::by_caller();
            }
            NextElement::Other(name) => {
                report.protocol_errors.push(format!(
                    "the simulator does not run <{name}> after the stream"
                ));
                return Hangup::end_of_xml();
            }
            NextElement::Redirect(url) => {
                let mut params = common(cfg, &report.call_uuid);
                params.push(("CallStatus".into(), "in-progress".into()));
                params.push(("Event".into(), "Redirect".into()));
                let fetched = fetch_xml(client, &url, &cfg.auth_token, &params).await;
                report.callbacks.push(CallbackResult {
                    event: "Redirect".into(),
                    outcome: fetched.as_ref().map(|_| 200).map_err(|e| e.to_string()),
                });
                let doc = match fetched.and_then(|d| parse_answer(&d)) {
                    Ok(doc) => doc,
                    // Plivo hangs up when a redirect URL fails (7013/8013).
                    Err(_) => return Hangup::end_of_xml(),
                };
                next = match doc {
                    AnswerDocument::NoStream { dial: Some(n), .. } => NextElement::Dial(n),
                    AnswerDocument::NoStream { hangup: true, .. } => NextElement::Hangup,
                    AnswerDocument::NoStream { .. } => NextElement::Nothing,
                    AnswerDocument::Stream(_) => {
                        NextElement::Other("Stream (a second stream)".into())
                    }
                };
            }
        }
    }
    Hangup::end_of_xml()
}

/// Posts the hangup callback to `cfg.hangup_url`, if set.
pub(super) async fn hangup_callback(
    client: &reqwest::Client,
    cfg: &SimConfig,
    call_uuid: &str,
    hangup: &Hangup,
    answered: DateTime<Utc>,
    ended: DateTime<Utc>,
) -> Option<CallbackResult> {
    let url = cfg.hangup_url.as_deref()?;
    let secs = ((ended - answered).num_milliseconds().max(0) as u64).div_ceil(1000);
    let billed = secs.div_ceil(60) * 60;
    let mut params = common(cfg, call_uuid);
    params.extend([
        ("CallStatus".to_string(), "completed".to_string()),
        ("Event".into(), "Hangup".into()),
        ("HangupCause".into(), hangup.cause.into()),
        ("HangupCauseCode".into(), hangup.code.to_string()),
        ("HangupCauseName".into(), hangup.name.into()),
        ("HangupSource".into(), hangup.source.into()),
        ("Duration".into(), secs.to_string()),
        ("BillDuration".into(), billed.to_string()),
        ("BillRate".into(), "0.0085".into()),
        (
            "TotalCost".into(),
            format!("{:.5}", billed as f64 / 60.0 * 0.0085),
        ),
        ("StartTime".into(), plivo_time(answered)),
        ("AnswerTime".into(), plivo_time(answered)),
        ("EndTime".into(), plivo_time(ended)),
    ]);
    let outcome = post_signed(client, url, &cfg.auth_token, &params)
        .await
        .map(|(status, _, _)| status)
        .map_err(|e| e.to_string());
    Some(CallbackResult {
        event: "Hangup".into(),
        outcome,
    })
}
