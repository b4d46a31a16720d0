//! Dates: "aaj", "kal", "parso", "is Saturday", "next Friday", "agle shukravar", "25 tarikh",
//! "25th December", "December 25", "२५ दिसंबर", "25/12", "3 din baad".
//!
//! Resolution rules (reference = the conversation's local date):
//! * aaj/today/tonight → reference; kal → +1 when booking ([`DateSense::Future`]), −1 when the
//!   caller talks about the past; "tomorrow" is always +1, "yesterday" −1; parso ±2; narso +3;
//!   "day after tomorrow" +2; "N din baad"/"in N days" +N.
//! * A bare weekday or "this/is/coming X" → the next X on or after the reference date (today
//!   counts). In the past sense, the latest X on or before the reference.
//! * "next X"/"agle X"/"agle hafte X" → X in the next calendar week (weeks start on Monday):
//!   on Wednesday 25 Nov "next Friday" is 4 Dec, while on Sunday "next Friday" is the coming
//!   Friday, five days later.
//! * "last X"/"pichhle X" → the latest X strictly before the reference.
//! * Day and month ("25 December", "December 25th", "25/12") → that date in the reference year
//!   if it is not before the reference date, else next year (past sense: the latest such date
//!   on or before the reference). An explicit year ("25/12/2027", "25 December 2027") is kept.
//! * Day alone ("25 tarikh", "tarikh 25", "the 25th") → that day in the reference month if not
//!   already past, else the next month that has that day.
//! * When several expressions occur, an explicit day-month wins over a day alone, which wins
//!   over a weekday, which wins over a relative word.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::lexicon::{month_number, weekday};
use crate::normalize::{Token, tokenize};
use crate::{Extraction, span_of};

/// Whether the caller is talking about a coming date (booking) or a past one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateSense {
    /// Booking or asking about the future: "kal" means tomorrow.
    #[default]
    Future,
    /// Talking about something that happened: "kal" means yesterday.
    Past,
}

/// What the dialog knows that changes how a date is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DateContext {
    /// Future (booking) or past.
    pub sense: DateSense,
}

impl DateContext {
    /// The context of a booking: dates are in the future.
    pub fn booking() -> Self {
        DateContext {
            sense: DateSense::Future,
        }
    }

    /// The context of talking about the past.
    pub fn past() -> Self {
        DateContext {
            sense: DateSense::Past,
        }
    }
}

/// The date meant in `text`, resolved against `reference` (the conversation's local time).
pub fn extract_date(text: &str, reference: NaiveDateTime, ctx: DateContext) -> Option<NaiveDate> {
    extract_date_detail(text, reference, ctx).map(|e| e.value)
}

/// [`extract_date`] with span and confidence.
pub fn extract_date_detail(
    text: &str,
    reference: NaiveDateTime,
    ctx: DateContext,
) -> Option<Extraction<NaiveDate>> {
    let toks = tokenize(text);
    dates_in(&toks, reference.date(), ctx)
}

/// Candidate with priority (higher wins; ties keep the first).
struct Cand {
    prio: u8,
    date: NaiveDate,
    from: usize,
    to: usize,
}

pub(crate) fn dates_in(
    toks: &[Token],
    today: NaiveDate,
    ctx: DateContext,
) -> Option<Extraction<NaiveDate>> {
    let past = ctx.sense == DateSense::Past;
    let mut cands: Vec<Cand> = Vec::new();
    let canon = |i: usize| toks.get(i).map_or("", |t| t.canon.as_str());
    let text = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    for i in 0..toks.len() {
        let t = &toks[i];
        // Numeric dates: 25/12, 25-12-2026.
        if t.text.contains('/')
            || (t.text.contains('-') && t.text.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        {
            let parts: Vec<&str> = t.text.split(['/', '-']).collect();
            if (2..=3).contains(&parts.len()) {
                let d = parts[0].parse::<u32>().ok();
                let m = parts[1].parse::<u32>().ok();
                let y = parts
                    .get(2)
                    .and_then(|y| y.parse::<i32>().ok())
                    .map(|y| if y < 100 { 2000 + y } else { y });
                if let (Some(d), Some(m)) = (d, m)
                    && let Some(date) = day_month(today, d, m, y, past)
                {
                    cands.push(Cand {
                        prio: 4,
                        date,
                        from: i,
                        to: i,
                    });
                }
            }
            continue;
        }
        if let Some(m) = month_number(&t.canon) {
            // "25 December", "25 of December", "December 25", with an optional year after.
            let before = day_number(toks, i.wrapping_sub(1))
                .map(|d| (d, i - 1))
                .or_else(|| {
                    (text(i.wrapping_sub(1)) == "of")
                        .then(|| day_number(toks, i.wrapping_sub(2)).map(|d| (d, i - 2)))
                        .flatten()
                });
            let after = day_number(toks, i + 1).map(|d| (d, i + 1));
            let (day, from, mut to) = match (before, after) {
                (Some((d, f)), _) => (d, f, i),
                (None, Some((d, a))) => (d, i, a),
                _ => continue,
            };
            let year = toks
                .get(to + 1)
                .and_then(Token::number)
                .filter(|y| (2000..=2100).contains(y));
            if year.is_some() {
                to += 1;
            }
            if let Some(date) = day_month(today, day, m, year.map(|y| y as i32), past) {
                cands.push(Cand {
                    prio: 4,
                    date,
                    from,
                    to,
                });
            }
            continue;
        }
        if t.canon == "tarikh" {
            let d = day_number(toks, i.wrapping_sub(1))
                .map(|d| (d, i - 1))
                .or_else(|| day_number(toks, i + 1).map(|d| (d, i + 1)));
            if let Some((d, j)) = d
                && let Some(date) = day_only(today, d, past)
            {
                cands.push(Cand {
                    prio: 3,
                    date,
                    from: j.min(i),
                    to: j.max(i),
                });
            }
            continue;
        }
        // "the 25th" / "25th" with an ordinal suffix and no month.
        if t.text.len() > 2
            && t.text.ends_with(['h', 't', 'd'])
            && t.text.as_bytes()[0].is_ascii_digit()
        {
            if let Some(d) = t.number()
                && let Some(date) = day_only(today, d, past)
            {
                cands.push(Cand {
                    prio: 3,
                    date,
                    from: i,
                    to: i,
                });
            }
            continue;
        }
        // "25 ko aana hai": a day of the month followed by "ko" (on), not a time or a count.
        if matches!(text(i + 1), "ko" | "को")
            && !t.is_weak_number()
            && !matches!(
                canon(i.wrapping_sub(1)),
                "hum" | "saadhe" | "sawa" | "paune"
            )
            && !matches!(canon(i + 2), "baje" | "log")
            && let Some(d) = t.number().filter(|d| (1..=31).contains(d))
            && let Some(date) = day_only(today, d, past)
        {
            cands.push(Cand {
                prio: 3,
                date,
                from: i,
                to: i + 1,
            });
            continue;
        }
        if let Some(wd) = weekday(&t.canon) {
            let prev = canon(i.wrapping_sub(1));
            let prev2 = canon(i.wrapping_sub(2));
            let next = canon(i + 1);
            let next2 = canon(i + 2);
            let is_next = prev == "agle"
                || (prev == "hafte" && prev2 == "agle")
                || (next == "agle" && next2 == "hafte");
            let is_last = prev == "pichhle" || (prev == "hafte" && prev2 == "pichhle");
            let date = if is_next {
                next_week(today, wd)
            } else if is_last {
                last_strict(today, wd)
            } else if past && prev != "is" {
                on_or_before(today, wd)
            } else {
                on_or_after(today, wd)
            };
            let from = if is_next || is_last || prev == "is" {
                i.saturating_sub(if prev == "hafte" { 2 } else { 1 })
            } else {
                i
            };
            cands.push(Cand {
                prio: 2,
                date,
                from,
                to: i,
            });
            continue;
        }
        let rel: Option<i64> = match t.canon.as_str() {
            "aaj" | "tonight" => Some(0),
            "kal" => Some(if past { -1 } else { 1 }),
            "parso" => Some(if past { -2 } else { 2 }),
            "narso" => Some(3),
            "yesterday" => Some(-1),
            "tomorrow" | "tmrw" | "tmr" | "tomorow" | "tommorow" | "tommorrow" => {
                if text(i.wrapping_sub(1)) == "after" && text(i.wrapping_sub(2)) == "day" {
                    Some(2)
                } else {
                    Some(1)
                }
            }
            "weekend" => {
                let d = if today.weekday() == Weekday::Sun {
                    today
                } else {
                    on_or_after(today, Weekday::Sat)
                };
                cands.push(Cand {
                    prio: 1,
                    date: d,
                    from: i,
                    to: i,
                });
                None
            }
            "din" | "days" | "day" | "दिन" => {
                // "3 din baad", "in 3 days"
                let n = toks.get(i.wrapping_sub(1)).and_then(Token::number);
                let after = matches!(text(i + 1), "baad" | "bad" | "बाद" | "later")
                    || text(i.wrapping_sub(2)) == "in";
                if let (Some(n), true) = (n, after)
                    && n <= 365
                {
                    cands.push(Cand {
                        prio: 1,
                        date: today + Duration::days(n as i64),
                        from: i - 1,
                        to: i,
                    });
                }
                None
            }
            _ => None,
        };
        if let Some(days) = rel {
            let from = if days == 2 && text(i.wrapping_sub(1)) == "after" {
                i.saturating_sub(2)
            } else {
                i
            };
            cands.push(Cand {
                prio: 1,
                date: today + Duration::days(days),
                from,
                to: i,
            });
        }
    }
    let best = cands.iter().fold(None::<&Cand>, |acc, c| match acc {
        Some(a) if a.prio >= c.prio => Some(a),
        _ => Some(c),
    })?;
    Some(Extraction {
        value: best.date,
        span: span_of(toks, best.from, best.to),
        confidence: if best.prio >= 2 { 1.0 } else { 0.9 },
    })
}

/// A day-of-month number at token `i` (1–31), digits or words.
fn day_number(toks: &[Token], i: usize) -> Option<u32> {
    let t = toks.get(i)?;
    if t.is_weak_number() && t.text != "do" {
        return None;
    }
    t.number().filter(|d| (1..=31).contains(d))
}

fn day_month(today: NaiveDate, d: u32, m: u32, year: Option<i32>, past: bool) -> Option<NaiveDate> {
    if let Some(y) = year {
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    let y = today.year();
    // Feb 29 and friends: look a few years around for a valid date.
    if past {
        (0..8)
            .map(|k| y - k)
            .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
            .find(|x| *x <= today)
    } else {
        (0..8)
            .map(|k| y + k)
            .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
            .find(|x| *x >= today)
    }
}

fn day_only(today: NaiveDate, d: u32, past: bool) -> Option<NaiveDate> {
    if !(1..=31).contains(&d) {
        return None;
    }
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..13 {
        if let Some(x) = NaiveDate::from_ymd_opt(y, m, d)
            && ((!past && x >= today) || (past && x <= today))
        {
            return Some(x);
        }
        if past {
            if m == 1 {
                y -= 1;
                m = 12
            } else {
                m -= 1
            }
        } else if m == 12 {
            y += 1;
            m = 1;
        } else {
            m += 1;
        }
    }
    None
}

fn on_or_after(today: NaiveDate, wd: Weekday) -> NaiveDate {
    let diff = (wd.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7;
    today + Duration::days(diff as i64)
}

fn on_or_before(today: NaiveDate, wd: Weekday) -> NaiveDate {
    let diff = (today.weekday().num_days_from_monday() + 7 - wd.num_days_from_monday()) % 7;
    today - Duration::days(diff as i64)
}

fn last_strict(today: NaiveDate, wd: Weekday) -> NaiveDate {
    let d = on_or_before(today, wd);
    if d == today {
        today - Duration::days(7)
    } else {
        d
    }
}

fn next_week(today: NaiveDate, wd: Weekday) -> NaiveDate {
    let monday_next = today + Duration::days(7 - today.weekday().num_days_from_monday() as i64);
    monday_next + Duration::days(wd.num_days_from_monday() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(18, 0, 0)
            .unwrap()
    }
    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn next_weekday_rule() {
        // Wednesday 25 Nov 2026.
        let wed = at(2026, 11, 25);
        assert_eq!(
            extract_date("next Friday", wed, DateContext::booking()),
            d(2026, 12, 4)
        );
        assert_eq!(
            extract_date("this Friday", wed, DateContext::booking()),
            d(2026, 11, 27)
        );
        assert_eq!(
            extract_date("Friday", wed, DateContext::booking()),
            d(2026, 11, 27)
        );
        // Sunday 29 Nov 2026: next Friday is the coming one.
        assert_eq!(
            extract_date("agle shukravar", at(2026, 11, 29), DateContext::booking()),
            d(2026, 12, 4)
        );
    }

    #[test]
    fn kal_depends_on_sense() {
        let r = at(2026, 11, 26);
        assert_eq!(
            extract_date("kal", r, DateContext::booking()),
            d(2026, 11, 27)
        );
        assert_eq!(extract_date("kal", r, DateContext::past()), d(2026, 11, 25));
    }

    #[test]
    fn day_month_rolls_over_year() {
        let r = at(2026, 11, 26);
        assert_eq!(
            extract_date("5 January", r, DateContext::booking()),
            d(2027, 1, 5)
        );
        assert_eq!(
            extract_date("29/2", r, DateContext::booking()),
            d(2028, 2, 29)
        );
        assert_eq!(
            extract_date("31 tarikh", r, DateContext::booking()),
            d(2026, 12, 31)
        );
    }
}
