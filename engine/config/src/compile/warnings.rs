//! Things that are not wrong but are probably stale: they load, and `vartalaap validate` and
//! `GET /health/config` show them so the owner can tidy the file.
//!
//! Today the only warning is a dated exception (special hours or a closure) whose date has
//! passed in the business's time zone: harmless to calls, but a sign that this year's dates
//! were not entered (a "Diwali" closure still on last year's date).

use chrono::NaiveDate;
use serde_json::Value;

use super::Document;
use crate::diagnostic::Diagnostic;

/// A warning for every `exceptions[i].date` before `today` (the business's local date).
pub(crate) fn past_exceptions(doc: &Document, today: NaiveDate) -> Vec<Diagnostic> {
    let Some(list) = doc.value.get("exceptions").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let Some(date) = e
            .get("date")
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if date >= today {
            continue;
        }
        let what = if e.get("closed").and_then(Value::as_bool) == Some(true) {
            "closure"
        } else {
            "special hours"
        };
        let pointer = format!("/exceptions/{i}/date");
        let pos = doc.pos.value(&pointer);
        out.push(Diagnostic {
            file: doc.file.clone(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            pointer,
            message: format!(
                "warning: this {what} on {date} is in the past (today is {today}); it no longer \
                 affects bookings — remove it, or correct the date if it was meant for this year"
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn only_dates_before_today_warn() {
        let text = "exceptions:\n  - { date: \"2026-01-14\", closed: true }\n  - { date: \"2026-12-07\", closed: true }\n  - date: \"2027-01-26\"\n    windows: []\n";
        let (value, pos) = yaml::parse(text).unwrap();
        let doc = Document {
            file: "b.yaml".into(),
            value,
            pos,
        };
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let w = past_exceptions(&doc, today);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(
            w[0].to_string(),
            "b.yaml:2:13 /exceptions/0/date: warning: this closure on 2026-01-14 is in the past \
             (today is 2026-12-07); it no longer affects bookings — remove it, or correct the \
             date if it was meant for this year"
        );
    }
}
