//! Clock times: "8 baje", "raat 8 baje", "shaam saat baje", "saadhe saat", "sawa aath",
//! "paune nau", "dedh baje", "dhai baje", "8:30 pm", "8.30", "20:30", "आठ बजे", "साढ़े सात",
//! "quarter past eight", "half past seven", "eight thirty", "noon".
//!
//! Part of the day: "aaj shaam 7" is 19:00, "dopahar 1" 13:00, "kal raat 9" 21:00, "subah 11"
//! 11:00; the period word may stand before or after the number, with "ke"/"ko" between
//! ("shaam ke 7", "raat ko 9", "7 baje shaam ko"). A part of the day said earlier in the call
//! ("aaj shaam ko" before the time question) comes in as [`TimeHints::day_part`] and places a
//! bare hour the same way; [`extract_day_part`] finds it.
//!
//! Half/quarter words: saadhe N = N:30, sawa N = N:15, paune N = (N−1):45, dedh = 1:30,
//! dhai = 2:30 (dedh/dhai need "baje" or a part-of-day word, since "dedh plate" is not a time).
//!
//! AM/PM, in order: an explicit am/pm; a part-of-day word in the utterance, the nearest to the
//! number that the caller did not take back ("subah nahi, shaam 7 baje" is 19:00), else the
//! one in [`TimeHints::day_part`] (subah =
//! morning, dopahar = 12–17 h, shaam/evening/tonight = afternoon–evening, raat/night = 17–04 h:
//! "raat 1 baje" is 01:00, "raat 12 baje" midnight); a 24-hour value (13–23, 0); the opening
//! hours in [`TimeHints`] (the reading that falls inside a window, end exclusive); and finally
//! the clock-face default 1–7 → pm, 8–11 → am, 12 → noon. The last two cases are marked
//! ambiguous when both or neither reading fit, so the dialog can confirm.

use std::ops::Range;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::correction;
use crate::lexicon::number_value_of_word;
use crate::normalize::{Token, tokenize};
use crate::span_of;

/// A part of the day a caller names ("subah", "dopahar", "shaam", "raat", "tonight", "this
/// evening", "lunch"): it narrows a bare hour to that window and, said with aaj/kal/"this",
/// also gives the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayPart {
    /// subah, savere, morning, breakfast: 1–11 am, 12 is noon.
    Morning,
    /// dopahar, afternoon, lunch: 11 and 12 as said, 1–10 pm.
    Afternoon,
    /// shaam, evening, tonight, dinner: pm (12 is noon).
    Evening,
    /// raat, night: pm, except 1–4 (after midnight) and 12 (midnight).
    Night,
}

impl DayPart {
    fn period(self) -> Period {
        match self {
            DayPart::Morning => Period::Morning,
            DayPart::Afternoon => Period::Afternoon,
            DayPart::Evening => Period::Evening,
            DayPart::Night => Period::Night,
        }
    }
}

/// What the dialog knows that helps read a bare "8 baje".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeHints {
    /// Opening windows `(open, close)` in local time; `close` is exclusive and may be past
    /// midnight (`close <= open` means the window wraps).
    pub open_windows: Vec<(NaiveTime, NaiveTime)>,
    /// The part of the day the caller named earlier ("aaj shaam ko", then "7 baje" = 19:00),
    /// used when the utterance names none itself.
    #[serde(default)]
    pub day_part: Option<DayPart>,
    /// The caller was just asked for the time, so a bare number is an hour ("8", "8 no wait
    /// 9"); otherwise a number needs baje, a colon, am/pm, a period word or "at".
    #[serde(default)]
    pub asked: bool,
}

impl TimeHints {
    /// Hints from opening windows.
    pub fn with_windows(open_windows: Vec<(NaiveTime, NaiveTime)>) -> Self {
        TimeHints {
            open_windows,
            day_part: None,
            asked: false,
        }
    }

    /// The same hints with the part of the day said earlier in the call.
    pub fn with_day_part(mut self, day_part: Option<DayPart>) -> Self {
        self.day_part = day_part;
        self
    }

    /// The same hints for an answer to "what time?" (a bare number is an hour).
    pub fn asked(mut self, asked: bool) -> Self {
        self.asked = asked;
        self
    }

    fn fits(&self, t: NaiveTime) -> bool {
        self.open_windows.iter().any(|&(a, b)| {
            if a < b {
                t >= a && t < b
            } else {
                t >= a || t < b
            }
        })
    }
}

/// A time found in an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeExtraction {
    /// The 24-hour local time.
    pub time: NaiveTime,
    /// Byte range in the original utterance.
    pub span: Range<usize>,
    /// True when am/pm could not be decided from words or opening hours (a guess).
    pub ambiguous: bool,
}

/// The time of day said in `text`, or `None`.
pub fn extract_time(text: &str, hints: &TimeHints) -> Option<NaiveTime> {
    extract_time_detail(text, hints).map(|e| e.time)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Period {
    Am,
    Pm,
    Morning,
    Afternoon,
    Evening,
    Night,
}

fn period_of(t: &Token) -> Option<Period> {
    Some(match (t.canon.as_str(), t.text.as_str()) {
        (_, "am") => Period::Am,
        (_, "pm") => Period::Pm,
        ("subah", _) | (_, "breakfast") => Period::Morning,
        ("dopahar", _) | (_, "noon" | "lunch") => Period::Afternoon,
        ("shaam", _) | ("tonight", _) | (_, "dinner") => Period::Evening,
        ("raat", _) => Period::Night,
        _ => return None,
    })
}

/// The part of the day token `i` names: not am/pm, not "noon" (a time), and not inside a
/// greeting ("good evening", "शुभ रात्रि" say nothing about the booking).
fn day_part_at(toks: &[Token], i: usize) -> Option<DayPart> {
    let t = toks.get(i)?;
    if i > 0 && matches!(toks[i - 1].text.as_str(), "good" | "shubh" | "शुभ") {
        return None;
    }
    match period_of(t)? {
        Period::Morning => Some(DayPart::Morning),
        Period::Afternoon if t.text != "noon" => Some(DayPart::Afternoon),
        Period::Evening => Some(DayPart::Evening),
        Period::Night => Some(DayPart::Night),
        _ => None,
    }
}

/// The part of the day `text` names ("aaj shaam ko" → evening, "kal subah" → morning,
/// "tonight", "lunch ke liye"), skipping one the caller took back ("subah nahi, shaam ko" →
/// evening). The dialog remembers it to read a later bare hour ([`TimeHints::day_part`]).
pub fn extract_day_part(text: &str) -> Option<DayPart> {
    day_part_in(&tokenize(text))
}

/// Same as the public function, on tokens already made from `text`.
pub(crate) fn day_part_in(toks: &[Token]) -> Option<DayPart> {
    standing_day_parts(toks).last().map(|&(_, p)| p)
}

/// The part-of-day words of `toks` with their index, except those the caller took back.
fn standing_day_parts(toks: &[Token]) -> Vec<(usize, DayPart)> {
    let found: Vec<(usize, DayPart)> = (0..toks.len())
        .filter_map(|i| day_part_at(toks, i).map(|p| (i, p)))
        .collect();
    let spans: Vec<(usize, usize)> = found.iter().map(|&(i, _)| (i, i)).collect();
    let keep = correction::settle(toks, &spans);
    found
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(f, _)| f)
        .collect()
}

/// Words that may stand beside a bare hour answering "what time?" ("haan 8", "8 no wait 9",
/// "9 kar do", "around 8 please").
#[rustfmt::skip]
const ANSWER_FILLER: &[&str] = &[
    "haan", "ji", "ok", "okay", "theek", "hain", "please", "around", "about", "lagbhag", "kareeb",
    "karib", "approx", "tak", "ke", "aas", "paas", "no", "nahi", "wait", "sorry", "actually",
    "make", "it", "that", "kar", "karo", "kijiye", "dijiye", "instead", "of", "hmm", "umm",
    "matlab", "balki", "ruko", "i", "mean", "sharp", "exactly", "then", "pe", "par", "hi", "bas",
    "at", "by", "yes", "yeah", "sure", "rather", "oops", "not", "ya",
];

/// A raw clock reading before am/pm resolution.
struct Reading {
    hour: u32,
    minute: u32,
    from: usize,
    to: usize,
    /// Explicit am/pm attached to the reading.
    ampm: Option<Period>,
    /// 2 = explicit time syntax (baje, colon, half words), 1 = contextual ("at 8", "raat 8").
    strength: u8,
}

fn num(t: Option<&Token>) -> Option<u32> {
    let t = t?;
    // A word the lexicon gave another meaning may still be a number word ("sat" is 7 and an
    // abbreviation of Saturday); unknown words (canon == text) are not numbers.
    t.number().or_else(|| {
        if t.canon != t.text {
            number_value_of_word(&t.text)
        } else {
            None
        }
    })
}

fn hour_num(t: Option<&Token>) -> Option<u32> {
    num(t).filter(|h| (1..=12).contains(h))
}

fn is_people(t: Option<&Token>) -> bool {
    t.is_some_and(|t| {
        matches!(
            t.canon.as_str(),
            "log" | "adult" | "bachche" | "tarikh" | "minute"
        ) || crate::lexicon::month_number(&t.canon).is_some()
    })
}

/// [`extract_time`] with span and ambiguity.
pub fn extract_time_detail(text: &str, hints: &TimeHints) -> Option<TimeExtraction> {
    let toks = tokenize(text);
    time_in(&toks, hints)
}

/// Same as the public function, on tokens already made from `text`.
pub(crate) fn time_in(toks: &[Token], hints: &TimeHints) -> Option<TimeExtraction> {
    let mut readings: Vec<Reading> = Vec::new();
    let c = |i: usize| toks.get(i).map_or("", |t| t.canon.as_str());
    let w = |i: usize| toks.get(i).map_or("", |t| t.text.as_str());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        // 8:30, 8.30, 20:30
        if let Some((h, m)) = t
            .text
            .split_once([':', '.'])
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        {
            if h < 24
                && m < 60
                && t.text.len() <= 5
                && t.text
                    .split([':', '.'])
                    .nth(1)
                    .is_some_and(|m| m.len() == 2)
            {
                readings.push(Reading {
                    hour: h,
                    minute: m,
                    from: i,
                    to: i,
                    ampm: None,
                    strength: 2,
                });
            }
            i += 1;
            continue;
        }
        match t.canon.as_str() {
            "saadhe" | "sawa" | "paune" => {
                if let Some(n) = hour_num(toks.get(i + 1)) {
                    let (h, m) = match t.canon.as_str() {
                        "saadhe" => (n, 30),
                        "sawa" => (n, 15),
                        _ => (if n == 1 { 12 } else { n - 1 }, 45),
                    };
                    let to = if c(i + 2) == "baje" { i + 2 } else { i + 1 };
                    readings.push(Reading {
                        hour: h,
                        minute: m,
                        from: i,
                        to,
                        ampm: None,
                        strength: 2,
                    });
                    i = to + 1;
                    continue;
                }
            }
            "dedh" | "dhai" => {
                let has_baje = c(i + 1) == "baje";
                let has_period = i > 0 && period_of(&toks[i - 1]).is_some();
                if has_baje || has_period {
                    let h = if t.canon == "dedh" { 1 } else { 2 };
                    let to = if has_baje { i + 1 } else { i };
                    readings.push(Reading {
                        hour: h,
                        minute: 30,
                        from: i,
                        to,
                        ampm: None,
                        strength: 2,
                    });
                    i = to + 1;
                    continue;
                }
            }
            "noon" | "midnight" => {
                let h = if t.canon == "noon" { 12 } else { 0 };
                readings.push(Reading {
                    hour: h,
                    minute: 0,
                    from: i,
                    to: i,
                    ampm: None,
                    strength: 2,
                });
            }
            "half" | "quarter" if w(i + 1) == "past" || w(i + 1) == "to" => {
                if let Some(n) = hour_num(toks.get(i + 2)) {
                    let (h, m) = match (t.canon.as_str(), w(i + 1)) {
                        ("half", "past") => (n, 30),
                        ("quarter", "past") => (n, 15),
                        ("quarter", _) => (if n == 1 { 12 } else { n - 1 }, 45),
                        _ => {
                            i += 1;
                            continue;
                        }
                    };
                    readings.push(Reading {
                        hour: h,
                        minute: m,
                        from: i,
                        to: i + 2,
                        ampm: None,
                        strength: 2,
                    });
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        if let Some(n) = num(Some(t)).filter(|n| *n <= 24) {
            let strong_num = !t.is_weak_number() || t.text == "do" || t.text == "sat";
            // N baje [bajkar M minute]
            if c(i + 1) == "baje" && strong_num {
                let mut minute = 0;
                let mut to = i + 1;
                if let Some(m) = num(toks.get(i + 2)).filter(|m| *m < 60)
                    && (c(i + 3) == "minute" || w(i + 1).starts_with("baj") && w(i + 1) != "baje")
                {
                    minute = m;
                    to = if c(i + 3) == "minute" { i + 3 } else { i + 2 };
                }
                readings.push(Reading {
                    hour: n,
                    minute,
                    from: i,
                    to,
                    ampm: None,
                    strength: 2,
                });
                i = to + 1;
                continue;
            }
            // N pm / N am / N p.m.
            if let Some(p @ (Period::Am | Period::Pm)) = toks.get(i + 1).and_then(period_of)
                && (1..=12).contains(&n)
            {
                readings.push(Reading {
                    hour: n,
                    minute: 0,
                    from: i,
                    to: i + 1,
                    ampm: Some(p),
                    strength: 2,
                });
                i += 2;
                continue;
            }
            // "eight thirty", "8 30 pm", "at 7 45"
            if (1..=12).contains(&n)
                && let Some(m) = num(toks.get(i + 1)).filter(|m| (10..60).contains(m))
            {
                let words = crate::lexicon::is_english_tens(w(i + 1))
                    || matches!(
                        w(i + 1),
                        "fifteen" | "forty five" | "thirty" | "ten" | "twenty" | "fifty"
                    );
                let ctx_after = toks.get(i + 2).and_then(period_of).is_some() || c(i + 2) == "baje";
                let ctx_before = matches!(w(i.wrapping_sub(1)), "at" | "around" | "by")
                    || (i > 0 && period_of(&toks[i - 1]).is_some());
                if (words || ctx_after || ctx_before) && !is_people(toks.get(i + 2)) {
                    let ampm = toks
                        .get(i + 2)
                        .and_then(period_of)
                        .filter(|p| matches!(p, Period::Am | Period::Pm));
                    let to = if ctx_after { i + 2 } else { i + 1 };
                    readings.push(Reading {
                        hour: n,
                        minute: m,
                        from: i,
                        to,
                        ampm,
                        strength: 2,
                    });
                    i = to + 1;
                    continue;
                }
            }
            // Contextual: "at 8", "around 8", "raat 8", "8 raat ko", "8 in the evening".
            if (1..=12).contains(&n)
                && strong_num
                && !is_people(toks.get(i + 1))
                && !t.text.contains('/')
            {
                let before = w(i.wrapping_sub(1));
                let period_at = |j: usize| toks.get(j).and_then(period_of).is_some();
                // "raat 8", "shaam ke 7", "raat ko 9", "tonight 8"
                let linked = matches!(c(i.wrapping_sub(1)), "ke" | "ko" | "को")
                    && i >= 2
                    && period_at(i - 2);
                // "8 raat ko", "8 in the evening", "8 at night"
                let next_period = period_at(i + 1)
                    || (w(i + 1) == "in" && w(i + 2) == "the" && period_at(i + 3))
                    || (w(i + 1) == "at" && period_at(i + 2));
                // A period word after the number is its own ("not in the morning, 10 at
                // night"): the one before then belongs to what came earlier.
                let linked = linked && !next_period;
                let prev_period = (i > 0 && period_at(i - 1) && !next_period) || linked;
                let english_at = matches!(before, "at" | "around" | "by" | "till" | "until")
                    && c(i + 1) != "log";
                if prev_period || next_period || english_at {
                    let from = if linked {
                        i - 2
                    } else if prev_period {
                        i - 1
                    } else {
                        i
                    };
                    let to = if period_at(i + 1) { i + 1 } else { i };
                    readings.push(Reading {
                        hour: n,
                        minute: 0,
                        from,
                        to,
                        ampm: None,
                        strength: 1,
                    });
                }
            }
        }
        i += 1;
    }
    if readings.is_empty() && hints.asked {
        readings = bare_hours(toks);
    }
    // Readings the caller took back ("saat baje nahi, aath baje", "8 no wait 9") do not count;
    // of the rest the strongest, among equals the last one ("7 baje, 8 baje" means 8).
    let spans: Vec<(usize, usize)> = readings.iter().map(|r| (r.from, r.to)).collect();
    let keep = correction::settle(toks, &spans);
    let best = readings
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(r, _)| r)
        .fold(None::<&Reading>, |acc, r| match acc {
            Some(a) if a.strength > r.strength => Some(a),
            _ => Some(r),
        })?;
    // am/pm right after the reading ("8:30 pm", "saadhe saat pm"), else the part-of-day word
    // nearest to it that the caller did not take back ("kal raat ko saadhe aath", "8 in the
    // evening", "subah nahi, shaam 7"), else the part of the day said earlier in the call.
    let mut to = best.to;
    let ampm_after = toks
        .get(best.to + 1)
        .and_then(period_of)
        .filter(|p| matches!(p, Period::Am | Period::Pm));
    if ampm_after.is_some() && best.ampm.is_none() {
        to += 1;
    }
    let period = best
        .ampm
        .or(ampm_after)
        .or_else(|| nearest_day_part(toks, best.from, best.to).map(DayPart::period))
        .or(hints.day_part.map(DayPart::period));
    let (time, ambiguous) = resolve(best.hour, best.minute, period, hints)?;
    Some(TimeExtraction {
        time,
        span: span_of(toks, best.from, to),
        ambiguous,
    })
}

/// The part-of-day word nearest to the reading at `from..=to` that was not taken back.
fn nearest_day_part(toks: &[Token], from: usize, to: usize) -> Option<DayPart> {
    let distance = |i: usize| {
        if i < from {
            from - i
        } else {
            i.saturating_sub(to)
        }
    };
    standing_day_parts(toks)
        .into_iter()
        .map(|(i, p)| (distance(i), p))
        .min_by_key(|(d, _)| *d)
        .map(|(_, p)| p)
}

/// Bare numbers 0–23 in an answer to "what time?" that says nothing else ("8", "haan 8",
/// "8 no wait 9", "9 kar do"); an answer with other words ("4 friends") gives none.
fn bare_hours(toks: &[Token]) -> Vec<Reading> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if correction::is_verb_do(toks, i) {
            continue;
        }
        match t.number() {
            Some(n) if n <= 23 && !t.text.contains(['/', '-']) && !is_people(toks.get(i + 1)) => {
                out.push(Reading {
                    hour: n,
                    minute: 0,
                    from: i,
                    to: i,
                    ampm: None,
                    strength: 0,
                });
            }
            Some(_) => return Vec::new(),
            None if ANSWER_FILLER.contains(&t.text.as_str())
                || ANSWER_FILLER.contains(&t.canon.as_str()) => {}
            None => return Vec::new(),
        }
    }
    out
}

fn resolve(
    hour: u32,
    minute: u32,
    period: Option<Period>,
    hints: &TimeHints,
) -> Option<(NaiveTime, bool)> {
    let mk = |h: u32| NaiveTime::from_hms_opt(h % 24, minute, 0);
    if hour == 0 || hour > 12 {
        return Some((mk(hour)?, false));
    }
    let h12 = hour % 12; // 12 → 0
    let am = h12;
    let pm = h12 + 12;
    let h = match period {
        Some(Period::Am) | Some(Period::Morning) => {
            if hour == 12 && period == Some(Period::Morning) {
                12
            } else {
                am
            }
        }
        Some(Period::Pm) => pm,
        Some(Period::Afternoon) => {
            if hour == 12 || hour == 11 {
                hour
            } else {
                pm
            }
        }
        Some(Period::Evening) => {
            if hour == 12 {
                12
            } else {
                pm
            }
        }
        Some(Period::Night) => match hour {
            12 => 0,
            1..=4 => am,
            _ => pm,
        },
        None => {
            if hour == 12 && hints.open_windows.is_empty() {
                return Some((mk(12)?, false));
            }
            let (a, p) = (
                mk(if hour == 12 { 0 } else { am })?,
                mk(if hour == 12 { 12 } else { pm })?,
            );
            let (fa, fp) = (hints.fits(a), hints.fits(p));
            return Some(match (fa, fp) {
                (true, false) => (a, false),
                (false, true) => (p, false),
                _ => (
                    if (1..=7).contains(&hour) || hour == 12 {
                        p
                    } else {
                        a
                    },
                    true,
                ),
            });
        }
    };
    Some((mk(h)?, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> Option<NaiveTime> {
        NaiveTime::from_hms_opt(h, m, 0)
    }
    fn dinner() -> TimeHints {
        TimeHints::with_windows(vec![
            (t(12, 0).unwrap(), t(15, 30).unwrap()),
            (t(19, 0).unwrap(), t(23, 0).unwrap()),
        ])
    }

    #[test]
    fn hindi_fractions() {
        let h = dinner();
        assert_eq!(extract_time("saadhe saat", &h), t(19, 30));
        assert_eq!(extract_time("sawa aath baje", &h), t(20, 15));
        assert_eq!(extract_time("paune nau", &h), t(20, 45));
        assert_eq!(extract_time("dedh baje", &h), t(13, 30));
        assert_eq!(extract_time("dhai baje", &h), t(14, 30));
        assert_eq!(extract_time("साढ़े सात बजे", &h), t(19, 30));
    }

    #[test]
    fn period_words_and_hints() {
        let h = dinner();
        assert_eq!(extract_time("8 baje", &h), t(20, 0));
        assert_eq!(extract_time("1 baje", &h), t(13, 0));
        assert_eq!(extract_time("subah 8 baje", &h), t(8, 0));
        assert_eq!(extract_time("raat 12 baje", &h), t(0, 0));
        assert_eq!(extract_time("8:30 pm", &TimeHints::default()), t(20, 30));
        assert_eq!(extract_time("20:30", &TimeHints::default()), t(20, 30));
        assert_eq!(extract_time("kal 8 baje 4 log", &h), t(20, 0));
        assert_eq!(extract_time("4 log", &h), None);
        let e = extract_time_detail("8 baje", &TimeHints::default()).unwrap();
        assert!(e.ambiguous);
    }
}
