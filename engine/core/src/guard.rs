//! The guard for LLM-phrased answers: every number, price, time and date in generated text
//! must come from the business's knowledge or the conversation's slots.
//!
//! An LLM at the edge may phrase a free-form answer more naturally than a template, but it
//! must never decide a fact. Before such text is spoken, [`check_generated`] reads every
//! number in it (digits in either script and number words, with "two hundred and fifty"
//! combined into 250) and every clock time, and compares them with [`Facts`] built from the
//! business file and the call. Anything unknown makes the verdict [`Verdict::Ungrounded`] and
//! the engine speaks the template answer instead. The check is deliberately strict: a false
//! alarm costs a less elegant sentence, a missed one a wrong price.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use serde_json::{Map, Value};
use vartalaap_config::BusinessSnapshot;

/// Numbers and times the bot may state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    numbers: BTreeSet<u64>,
    times: BTreeSet<NaiveTime>,
}

/// Whether generated text may be spoken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every number and time is known.
    Grounded,
    /// This claim is not in the knowledge; speak the template answer instead.
    Ungrounded {
        /// The number or time as found.
        claim: String,
    },
}

impl Facts {
    /// The business's facts: menu prices, hours (opening, closing, last seating, in 24-hour
    /// and 12-hour form), reservation rules, dated exceptions, numbers in FAQ answers and in
    /// the address; plus the call's slots (`party_size`, `date`, `time`) and any extra times
    /// the engine offered (alternatives).
    pub fn new(
        snap: &BusinessSnapshot,
        slots: &Map<String, Value>,
        offered: &[NaiveTime],
    ) -> Facts {
        let b = &snap.business;
        let mut f = Facts::default();
        for item in b.menu.items() {
            f.numbers.insert(u64::from(item.price_inr));
        }
        let windows = b
            .hours
            .days
            .iter()
            .flatten()
            .chain(b.exceptions.values().flat_map(|e| e.windows.iter()));
        for w in windows {
            for t in [w.open, w.close, w.last_seating] {
                f.add_time(t);
            }
        }
        for d in b.exceptions.keys() {
            f.add_date(*d);
        }
        let r = &b.reservations;
        for n in [
            r.slot_minutes,
            r.hold_minutes,
            r.capacity,
            r.party_min,
            r.party_max,
            r.max_phone_party,
            r.min_lead_minutes,
            r.max_days_ahead,
            r.grace_minutes,
        ] {
            f.numbers.insert(u64::from(n));
        }
        for faq in &b.faqs {
            for answer in faq.answer.values() {
                f.numbers
                    .extend(numbers_in(answer).into_iter().map(|(n, _)| n));
            }
        }
        for part in [&b.address.street, &b.address.postal_code] {
            f.numbers
                .extend(numbers_in(part).into_iter().map(|(n, _)| n));
        }
        if let Some(n) = slots.get("party_size").and_then(Value::as_u64) {
            f.numbers.insert(n);
        }
        if let Some(d) = slots
            .get("date")
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            f.add_date(d);
        }
        if let Some(t) = slots
            .get("time")
            .and_then(Value::as_str)
            .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
        {
            f.add_time(t);
        }
        for t in offered {
            f.add_time(*t);
        }
        f
    }

    fn add_time(&mut self, t: NaiveTime) {
        self.times.insert(t);
        let h = u64::from(t.hour());
        self.numbers
            .extend([h, if h % 12 == 0 { 12 } else { h % 12 }]);
        if t.minute() != 0 {
            self.numbers.insert(u64::from(t.minute()));
        }
    }

    fn add_date(&mut self, d: NaiveDate) {
        self.numbers.extend([
            u64::from(d.day()),
            u64::from(d.month()),
            u64::try_from(d.year()).unwrap_or(0),
        ]);
    }

    fn knows_time(&self, t: NaiveTime) -> bool {
        let other = NaiveTime::from_hms_opt((t.hour() + 12) % 24, t.minute(), 0);
        self.times.contains(&t) || other.is_some_and(|o| self.times.contains(&o))
    }
}

/// Checks generated text against the facts.
pub fn check_generated(text: &str, facts: &Facts) -> Verdict {
    for clause in text.split([',', '.', ';', '।', '!', '?', '\n']) {
        if let Some(t) = clock_time(clause)
            && !facts.knows_time(t)
        {
            return Verdict::Ungrounded {
                claim: t.format("%H:%M").to_string(),
            };
        }
    }
    for (n, parts) in numbers_in(text) {
        if !facts.numbers.contains(&n) && !parts.iter().all(|p| facts.numbers.contains(p)) {
            return Verdict::Ungrounded {
                claim: n.to_string(),
            };
        }
    }
    Verdict::Grounded
}

/// A clock time written with a colon ("8:30", "20:30 pm").
fn clock_time(clause: &str) -> Option<NaiveTime> {
    let bytes = clause.as_bytes();
    let colon = clause.find(':')?;
    let h_start = clause[..colon]
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let h: u32 = clause[h_start..colon].parse().ok()?;
    let m_end = colon
        + 1
        + bytes[colon + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
    let m: u32 = clause[colon + 1..m_end].parse().ok()?;
    let rest = clause[m_end..].trim_start().to_ascii_lowercase();
    let h = if (rest.starts_with("pm") || rest.starts_with("p.m")) && h < 12 {
        h + 12
    } else {
        h
    };
    NaiveTime::from_hms_opt(h, m, 0)
}

/// Numbers in `text` with their parts: consecutive number words combine ("two hundred and
/// fifty" → 250 from parts 2, 100, 50).
fn numbers_in(text: &str) -> Vec<(u64, Vec<u64>)> {
    let mut out = Vec::new();
    let mut current: Option<(u64, u64, Vec<u64>)> = None; // (total, group, parts)
    let flush = |cur: &mut Option<(u64, u64, Vec<u64>)>, out: &mut Vec<(u64, Vec<u64>)>| {
        if let Some((total, group, parts)) = cur.take() {
            out.push((total + group, parts));
        }
    };
    for tok in vartalaap_lang::tokenize(text) {
        match tok.number() {
            Some(n) => {
                let n = u64::from(n);
                let (total, group, parts) = current.get_or_insert((0, 0, Vec::new()));
                parts.push(n);
                match n {
                    100 => *group = (*group).max(1) * 100,
                    1000 | 100_000 | 10_000_000 => {
                        *total += (*group).max(1) * n;
                        *group = 0;
                    }
                    _ => *group += n,
                }
            }
            None if current.is_some() && matches!(tok.text.as_str(), "and" | "aur" | "और") => {}
            None => flush(&mut current, &mut out),
        }
    }
    flush(&mut current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_number_words() {
        let ns: Vec<u64> = numbers_in("two hundred and fifty rupees, table for 4")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(ns, vec![250, 4]);
    }

    #[test]
    fn reads_clock_times() {
        assert_eq!(clock_time("at 8:30 pm"), NaiveTime::from_hms_opt(20, 30, 0));
        assert_eq!(
            clock_time("open 12:00 to"),
            NaiveTime::from_hms_opt(12, 0, 0)
        );
        assert_eq!(clock_time("no time here"), None);
        assert_eq!(clock_time("रात8:30 बजे"), NaiveTime::from_hms_opt(8, 30, 0));
        assert_eq!(clock_time("ends with:"), None);
    }

    #[test]
    fn unknown_numbers_are_ungrounded() {
        let mut f = Facts::default();
        f.numbers.insert(250);
        f.add_time(NaiveTime::from_hms_opt(19, 0, 0).expect("valid"));
        assert_eq!(
            check_generated("The thali is 250 rupees.", &f),
            Verdict::Grounded
        );
        assert_eq!(
            check_generated("We open at 7:00 pm.", &f),
            Verdict::Grounded
        );
        assert_eq!(
            check_generated("The thali is 260 rupees.", &f),
            Verdict::Ungrounded {
                claim: "260".into()
            }
        );
        assert!(matches!(
            check_generated("We open at 6:30 pm.", &f),
            Verdict::Ungrounded { .. }
        ));
    }
}
