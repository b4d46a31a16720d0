//! Runs the utterance table in `tests/nlu/*.yaml` (repository root) against the extractors.
//!
//! Each file names its `kind` (which extractor), file-level defaults (reference time, opening
//! hours, menu, intents) and `cases`. Every failing case is printed as `file:index` with the
//! utterance, what was expected and what we got, before the test fails — so one run shows all
//! regressions at once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Deserialize;
use serde_yaml::Value;
use vartalaap_lang::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    kind: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    hours: Option<Vec<[String; 2]>>,
    #[serde(default)]
    menu: Vec<MenuEntry>,
    #[serde(default)]
    intents: Vec<IntentExamples>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    utterance: Option<String>,
    /// For `policy` cases: the caller's turns in order.
    #[serde(default)]
    turns: Vec<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    sense: Option<DateSense>,
    #[serde(default)]
    hours: Option<Vec<[String; 2]>>,
    /// time: the part of the day said earlier in the call ("aaj shaam ko", then this).
    #[serde(default)]
    day_part: Option<DayPart>,
    /// time: the caller was just asked "what time?" (a bare number is an hour).
    #[serde(default)]
    asked: bool,
    /// Expected value; `null` means "nothing must be extracted".
    expect: Value,
    /// yes_no: the expected rest of the utterance after the yes/no words.
    #[serde(default)]
    rest: Option<String>,
    /// menu: ids that may tie with the expected top item.
    #[serde(default)]
    also: Vec<String>,
    /// policy: the starting language.
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

fn parse_ref(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .map_err(|e| format!("bad reference {s:?}: {e}"))
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|e| format!("bad time {s:?}: {e}"))
}

fn hints(h: &Option<Vec<[String; 2]>>) -> Result<TimeHints, String> {
    let mut w = Vec::new();
    for [a, b] in h.iter().flatten() {
        w.push((parse_time(a)?, parse_time(b)?));
    }
    Ok(TimeHints::with_windows(w))
}

fn show<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "null".to_string(),
    }
}

/// Runs one case; `Err` holds the failure description.
fn run_case(file: &TableFile, case: &Case) -> Result<(), String> {
    let utter = case.utterance.clone().unwrap_or_default();
    let reference = parse_ref(
        case.reference
            .as_deref()
            .or(file.reference.as_deref())
            .unwrap_or("2026-11-26T18:00"),
    )?;
    let exp_str = case.expect.as_str().map(str::to_string);
    let is_null = case.expect.is_null();
    match file.kind.as_str() {
        "date" => {
            let ctx = DateContext {
                sense: case.sense.unwrap_or_default(),
            };
            let got = extract_date(&utter, reference, ctx);
            let want = if is_null {
                None
            } else {
                Some(
                    NaiveDate::parse_from_str(exp_str.as_deref().unwrap_or(""), "%Y-%m-%d")
                        .map_err(|e| format!("bad expected date: {e}"))?,
                )
            };
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&want), show(&got)))
        }
        "time" => {
            let h = hints(if case.hours.is_some() {
                &case.hours
            } else {
                &file.hours
            })?
            .with_day_part(case.day_part)
            .asked(case.asked);
            let got = extract_time(&utter, &h);
            let want = if is_null {
                None
            } else {
                Some(parse_time(exp_str.as_deref().unwrap_or(""))?)
            };
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&want), show(&got)))
        }
        "day_part" => {
            let got = extract_day_part(&utter);
            let want: Option<DayPart> = serde_yaml::from_value(case.expect.clone())
                .map_err(|e| format!("bad expected part of day: {e}"))?;
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&want), show(&got)))
        }
        "party_size" => {
            let got = extract_party_size(&utter);
            let want = case.expect.as_u64().map(|n| n as u32);
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&want), show(&got)))
        }
        "number" => {
            let got = extract_number(&utter);
            let want = case.expect.as_u64().map(|n| n as u32);
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&want), show(&got)))
        }
        "yes_no" => {
            let got = extract_yes_no_detail(&utter);
            let want = case.expect.as_bool();
            let got_answer = got.as_ref().map(|r| r.answer);
            if got_answer != want {
                return Err(format!(
                    "expected {}, got {}",
                    show(&want),
                    show(&got_answer)
                ));
            }
            let got_rest = got.and_then(|r| r.rest).map(|r| utter[r].to_string());
            if case.rest.is_some() && got_rest != case.rest
                || case.rest.is_none() && want == Some(false) && got_rest.is_some()
            {
                return Err(format!(
                    "expected rest {}, got {}",
                    show(&case.rest),
                    show(&got_rest)
                ));
            }
            Ok(())
        }
        "name" => {
            let got = extract_name(&utter);
            let want = exp_str;
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&want), show(&got)))
        }
        "menu" => {
            let got = match_menu_item(&utter, &file.menu);
            match (&exp_str, got.first()) {
                (None, None) => Ok(()),
                (Some(want), Some((top, score))) => {
                    // The expected item must be the best; items listed in `also` may tie with it.
                    let want_score = got.iter().find(|(id, _)| id == want).map(|x| x.1);
                    let ok = top == want || (case.also.contains(top) && want_score == Some(*score));
                    let missing: Vec<&String> = case
                        .also
                        .iter()
                        .filter(|a| !got.iter().any(|(id, _)| id == *a))
                        .collect();
                    (ok && missing.is_empty()).then_some(()).ok_or_else(|| {
                        format!(
                            "expected top {want:?} (ties allowed with {:?}), got {got:?}",
                            case.also
                        )
                    })
                }
                _ => Err(format!("expected {}, got {got:?}", show(&exp_str))),
            }
        }
        "intent" => {
            let got = classify_intent(&utter, &file.intents).map(|m| m.intent);
            (got == exp_str)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&exp_str), show(&got)))
        }
        "faq" => {
            // As the dialog answers a policy question: the whole question, else a word only one
            // FAQ is about ("beer hai?").
            let index = IntentIndex::new(&file.intents);
            let got = index
                .classify(&utter)
                .filter(|m| m.repair.is_none())
                .or_else(|| index.topic(&utter))
                .map(|m| m.intent);
            (got == exp_str)
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {}", show(&exp_str), show(&got)))
        }
        "visit" | "book_request" | "overview" => {
            let got = match file.kind.as_str() {
                "visit" => announces_visit(&utter),
                "book_request" => asks_to_book(&utter),
                _ => asks_overview(&utter),
            };
            let want = case
                .expect
                .as_bool()
                .ok_or_else(|| "expect must be true or false".to_string())?;
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {want}, got {got}"))
        }
        "availability" => {
            let got = asks_availability(&utter);
            let want: Option<Vec<String>> = case.expect.as_sequence().map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {want:?}, got {got:?}"))
        }
        "language" => {
            let got = detect_language(&utter).code().to_string();
            (Some(&got) == exp_str.as_ref())
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {got}", show(&exp_str)))
        }
        "policy" => {
            let default = case
                .default
                .as_deref()
                .unwrap_or("hi")
                .parse::<Lang>()
                .map_err(|e| e.to_string())?;
            let mut p = LanguagePolicy::new(default);
            let got: Vec<String> = case
                .turns
                .iter()
                .map(|t| p.observe(t).code().to_string())
                .collect();
            let want: Vec<String> = case
                .expect
                .as_sequence()
                .map(|s| {
                    s.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("expected {want:?}, got {got:?}"))
        }
        "speak" => {
            // utterance is "money 250 hi", "time 20:30 en", "date 2026-12-25 hi", "number 42 en"
            let parts: Vec<&str> = utter.split_whitespace().collect();
            let [what, value, lang] = parts[..] else {
                return Err(format!("bad speak case {utter:?}"));
            };
            let lang: Lang = lang.parse().map_err(|e: LangError| e.to_string())?;
            let got = match what {
                "money" => speak_money_inr(value.parse().map_err(|_| "bad amount")?, lang),
                "number" => speak_number(value.parse().map_err(|_| "bad number")?, lang),
                "time" => speak_time(parse_time(value)?, lang),
                "date" => speak_date(
                    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|e| e.to_string())?,
                    reference.date(),
                    lang,
                ),
                other => return Err(format!("unknown speak kind {other:?}")),
            };
            (Some(&got) == exp_str.as_ref())
                .then_some(())
                .ok_or_else(|| format!("expected {}, got {got:?}", show(&exp_str)))
        }
        other => Err(format!("unknown kind {other:?}")),
    }
}

#[test]
fn nlu_table() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/nlu");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    let mut total = 0usize;
    let mut by_lang: BTreeMap<&'static str, usize> = BTreeMap::new();
    for path in &paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let file: TableFile = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, case) in file.cases.iter().enumerate() {
            total += 1;
            let sample = case
                .utterance
                .clone()
                .or_else(|| case.turns.last().cloned())
                .unwrap_or_default();
            if file.kind != "speak" {
                *by_lang.entry(detect_language(&sample).code()).or_default() += 1;
            }
            if let Err(msg) = run_case(&file, case) {
                failures.push(format!("{name}:{i}: {sample:?}: {msg}"));
            }
        }
    }
    println!("{total} utterances; by detected language: {by_lang:?}");
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        total >= 300,
        "the table must hold at least 300 utterances, found {total}"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} table cases failed (listed above)",
        failures.len()
    );
}
