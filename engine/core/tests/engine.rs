//! Engine behaviour that dialogue files cannot express: policy edge cases, the guard, replay
//! determinism, LLM interpretations, script failures and protocol misuse.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Value, json};
use vartalaap_config::model::flow::Expr;
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_core::guard::{Facts, Verdict, check_generated};
use vartalaap_core::policy::{self, PolicyIssue};
use vartalaap_core::{
    CallerContext, Conversation, Input, Interpretation, Output, ProblemSource, ScriptError,
    ScriptHost, ScriptScope, Site, ToolKind, ToolResult, drive,
};
use vartalaap_script::{
    HookDecision, Limit, Location, RhaiHost, ScriptLimits, ScriptRuntime, SlotDecision,
};
use vartalaap_tools::StoreWorld;

fn snapshot() -> Arc<BusinessSnapshot> {
    static STORE: OnceLock<ConfigStore> = OnceLock::new();
    let store = STORE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        ConfigStore::load(root).unwrap_or_else(|e| panic!("config invalid: {e:?}"))
    });
    store.current("himalayan_kitchen").expect("business exists")
}

fn host(snap: &Arc<BusinessSnapshot>) -> RhaiHost {
    RhaiHost::new(
        Arc::new(ScriptRuntime::new(ScriptLimits::default())),
        snap.clone(),
    )
}

fn at(d: &str, t: &str) -> NaiveDateTime {
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .expect("date")
        .and_time(NaiveTime::parse_from_str(t, "%H:%M").expect("time"))
}

/// A caller whose number the edge knows (a phone call with caller ID).
fn with_number() -> CallerContext {
    CallerContext {
        has_number: true,
        ..CallerContext::default()
    }
}

fn time(t: &str) -> NaiveTime {
    NaiveTime::parse_from_str(t, "%H:%M").expect("time")
}

fn date(d: &str) -> NaiveDate {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date")
}

fn said(out: &[Output]) -> String {
    out.iter()
        .filter_map(|o| match o {
            Output::Say { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn policy_refuses_with_reasons() {
    let snap = snapshot();
    let b = &snap.business;
    let now = at("2026-11-25", "19:30"); // Wednesday
    assert_eq!(
        policy::check_date(b, now, date("2026-11-24")),
        Err(PolicyIssue::PastDate)
    );
    assert_eq!(
        policy::check_date(b, now, date("2026-11-30")),
        Err(PolicyIssue::ClosedDay { note: None })
    );
    assert_eq!(
        policy::check_date(b, at("2026-12-20", "12:00"), date("2027-01-01")),
        Err(PolicyIssue::ClosedDay {
            note: Some("New Year's Day".into())
        })
    );
    assert_eq!(
        policy::check_date(b, now, date("2027-01-15")),
        Err(PolicyIssue::TooFarAhead { max_days: 30 })
    );
    let today = date("2026-11-25");
    assert_eq!(
        policy::check_time(b, now, today, time("20:00")),
        Err(PolicyIssue::TooSoon {
            min_lead_minutes: 60
        })
    );
    assert_eq!(policy::check_time(b, now, today, time("20:30")), Ok(()));
    assert_eq!(
        policy::check_time(b, now, today, time("22:30")),
        Err(PolicyIssue::OutsideHours)
    );
    assert_eq!(
        policy::check_time(b, now, date("2026-11-26"), time("20:15")),
        Err(PolicyIssue::NotOnSlot { slot_minutes: 30 })
    );
    // The grid runs from opening every 30 minutes up to the last seating (14:45): 14:30 is
    // the last lunch slot.
    assert_eq!(
        policy::check_time(b, now, date("2026-11-26"), time("14:30")),
        Ok(())
    );
    assert_eq!(
        policy::check_time(b, now, date("2026-11-26"), time("14:45")),
        Err(PolicyIssue::NotOnSlot { slot_minutes: 30 })
    );
    assert_eq!(
        policy::check_party(b, 11),
        Err(PolicyIssue::LargeParty {
            max_phone_party: 10,
            callback: true
        })
    );
    assert_eq!(
        policy::check_party(b, 21),
        Err(PolicyIssue::PartyTooLarge { max: 20 })
    );
    assert_eq!(policy::check_party(b, 4), Ok(()));
}

#[test]
fn policy_proposes_nearest_slots_from_the_hours() {
    let snap = snapshot();
    let b = &snap.business;
    // Lunch 12:00–14:45 last seating and dinner 19:00–22:00, every 30 minutes.
    let slots = policy::slot_times(b, date("2026-11-26"));
    assert_eq!(slots.len(), 6 + 7);
    assert_eq!(slots.first(), Some(&time("12:00")));
    assert_eq!(slots.last(), Some(&time("22:00")));
    let now = at("2026-11-25", "12:00");
    assert_eq!(
        policy::nearest_times(b, now, date("2026-11-26"), time("23:00"), 3),
        vec![time("21:00"), time("21:30"), time("22:00")]
    );
    assert_eq!(
        policy::nearest_times(b, now, date("2026-11-26"), time("16:30"), 2),
        vec![time("14:00"), time("14:30")]
    );
    // New Year's Eve has a longer dinner (last seating 23:00).
    assert_eq!(
        policy::slot_times(b, date("2026-12-31")).last(),
        Some(&time("23:00"))
    );
    // Lead time removes today's early slots.
    let late = at("2026-11-25", "21:30");
    assert!(policy::bookable_times(b, late, date("2026-11-25")).is_empty());
    assert_eq!(
        policy::check_date(b, late, date("2026-11-25")),
        Err(PolicyIssue::TooSoon {
            min_lead_minutes: 60
        })
    );
}

#[test]
fn guard_accepts_known_facts_only() {
    let snap = snapshot();
    let mut slots = serde_json::Map::new();
    slots.insert("party_size".into(), json!(4));
    slots.insert("date".into(), json!("2026-11-26"));
    slots.insert("time".into(), json!("20:00"));
    let facts = Facts::new(&snap, &slots, &[time("21:30")]);
    let ok = [
        "The chicken momos are 220 rupees and the jhol momos 250.",
        "A table for 4 on 26 November at 8:00 pm.",
        "We can also do 9:30 pm.",
        "We're open from 12:00 to 15:30 and 19:00 to 23:00.",
        "We have parking for 10 cars, at 14 Rajpur Road.",
        "The thali is two hundred and eighty rupees.",
    ];
    for text in ok {
        assert_eq!(check_generated(text, &facts), Verdict::Grounded, "{text}");
    }
    let bad = [
        ("The chicken momos are 230 rupees.", "230"),
        ("We close at 23:30.", "23:30"),
        ("A table for 5 people.", "5"),
        ("The thali is two hundred and ninety-nine rupees.", "299"),
    ];
    for (text, claim) in bad {
        match check_generated(text, &facts) {
            Verdict::Ungrounded { claim: c } => {
                assert!(c.contains(claim) || claim.contains(&c), "{text}: {c}")
            }
            Verdict::Grounded => panic!("{text} should be ungrounded"),
        }
    }
}

#[test]
fn the_guard_uses_the_calls_slots_and_bookable_times() {
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "12:00");
    let (mut conv, _) = Conversation::start(snap, now, CallerContext::default(), &host);
    // 8:15 is between slots: the bot offers 8 and 8:30 pm.
    let _ = conv.handle(now, Input::text("table for 6 tomorrow at 8:15 pm"), &host);
    let facts = conv.facts();
    assert_eq!(
        check_generated("A table for 6 tomorrow at 8:30 pm.", &facts),
        Verdict::Grounded
    );
    for wrong in ["A table for 5 tomorrow.", "We could do 9:30 pm."] {
        assert!(
            matches!(check_generated(wrong, &facts), Verdict::Ungrounded { .. }),
            "{wrong}"
        );
    }
}

/// A whole call, twice: identical outputs and state (no clock, no randomness).
#[test]
fn a_call_replays_identically() {
    let snap = snapshot();
    let host = host(&snap);
    let lines = [
        "kal raat 8 baje 4 log ke liye table chahiye",
        "Amit",
        "nahi, 5 log",
        "haan",
        "haan bhej do",
        "bas, thank you",
    ];
    let run = || {
        let now = at("2026-11-25", "18:00");
        let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
        let (mut conv, mut all) = Conversation::start(snap.clone(), now, with_number(), &host);
        for l in lines {
            all.extend(drive(&mut conv, now, Input::text(l), &host, &mut tools));
        }
        (
            all,
            serde_json::to_value(conv.view()).expect("serializable"),
        )
    };
    let (a, va) = run();
    let (b, vb) = run();
    assert_eq!(a, b);
    assert_eq!(va, vb);
    assert_eq!(va["ended"], json!(true));
    assert_eq!(va["slots"]["party_size"], json!(5));
    assert_eq!(va["slots"]["date"], json!("2026-11-26"));
    assert_eq!(va["slots"]["time"], json!("20:00"));
    assert_eq!(va["lang"], json!("hinglish"));
    assert_eq!(va["version"], json!(snap.version));
}

#[test]
fn a_name_correction_needs_the_name_it_replaces() {
    // At the read-back, "no, momos" takes nothing back by name: it is not a new name (a
    // "no" answer), while "Rahul nahi, Rohit" replaces the name given.
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "18:00");
    let name_after = |last: &str| {
        let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
        let (mut conv, _) = Conversation::start(snap.clone(), now, CallerContext::default(), &host);
        for l in ["kal 8 baje 2 log ke liye table chahiye", "Rahul", last] {
            drive(&mut conv, now, Input::text(l), &host, &mut tools);
        }
        serde_json::to_value(conv.view()).expect("serializable")["slots"]["name"].clone()
    };
    assert_eq!(name_after("no, momos"), json!("Rahul"));
    assert_eq!(name_after("Rahul nahi, Rohit"), json!("Rohit"));
    assert_eq!(name_after("not Rahul but Rohit"), json!("Rohit"));
}

#[test]
fn an_llm_interpretation_fills_gaps_but_is_validated() {
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "12:00");
    let (mut conv, _) = Conversation::start(snap, now, CallerContext::default(), &host);
    let _ = conv.handle(now, Input::text("I want to book a table"), &host);
    // The LLM claims 99 guests: refused like any other value (party_max is 20).
    let llm = |n: i64| Input::Utterance {
        text: "uh, all of us".into(),
        confidence: Some(0.8),
        interpretation: Some(Interpretation {
            intent: None,
            slots: BTreeMap::from([("party_size".to_string(), json!(n))]),
            is_correction: false,
        }),
    };
    let out = conv.handle(now, llm(99), &host);
    assert!(said(&out).contains("1 to 20"), "{}", said(&out));
    assert_eq!(conv.view().slots.get("party_size"), None);
    let out = conv.handle(now, llm(6), &host);
    assert_eq!(conv.view().slots.get("party_size"), Some(&json!(6)));
    assert!(said(&out).contains("which day"), "{}", said(&out));
}

/// A host whose plugin calls all fail, as a runaway or broken script would.
struct FailingPlugins(RhaiHost);

impl ScriptHost for FailingPlugins {
    fn eval(
        &self,
        expr: &Expr,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        self.0.eval(expr, site, scope)
    }
    fn call(
        &self,
        plugin: &str,
        function: &str,
        _: Vec<Value>,
        _: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        Err(ScriptError::UnknownPlugin {
            plugin: format!("{plugin}.{function}"),
        })
    }
    fn before_booking(&self, r: &Value, s: &ScriptScope<'_>) -> Result<HookDecision, ScriptError> {
        self.0.before_booking(r, s)
    }
    fn on_slot(
        &self,
        n: &str,
        v: &Value,
        s: &ScriptScope<'_>,
    ) -> Result<SlotDecision, ScriptError> {
        self.0.on_slot(n, v, s)
    }
}

#[test]
fn a_failing_plugin_takes_the_safe_path() {
    let snap = snapshot();
    let host = FailingPlugins(host(&snap));
    let now = at("2026-11-25", "12:00");
    let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
    let (mut conv, _) = Conversation::start(snap, now, CallerContext::default(), &host);
    let out = drive(
        &mut conv,
        now,
        Input::text("table for 2 tomorrow at 8 pm"),
        &host,
        &mut tools,
    );
    // festival_check and the policy call fail; their on_failure paths continue the booking.
    assert!(said(&out).contains("What name"), "{}", said(&out));
    assert!(
        conv.errors()
            .iter()
            .any(|e| e.contains("festival_closures"))
    );
    // The turn's problems name the plugin function, its file and the step that called it.
    let plugin = conv
        .turn_problems()
        .iter()
        .find(|p| p.source == ProblemSource::Plugin)
        .cloned()
        .unwrap_or_else(|| panic!("{:?}", conv.turn_problems()));
    assert!(plugin.name.starts_with("festival_closures."), "{plugin:?}");
    assert_eq!(
        plugin.file.as_deref(),
        Some("plugins/festival_closures.rhai")
    );
    assert_eq!(plugin.flow.as_deref(), Some("make_reservation"));
    assert!(plugin.step.is_some(), "{plugin:?}");
    // The next turn starts with none.
    drive(&mut conv, now, Input::text("Rahul"), &host, &mut tools);
    assert!(
        !conv
            .turn_problems()
            .iter()
            .any(|p| p.source == ProblemSource::Plugin && p.step == plugin.step),
        "{:?}",
        conv.turn_problems()
    );
}

/// A copy of the shipped configuration with the English greeting broken (it reads a slot no
/// greeting has), loaded from a scratch folder.
fn with_broken_greeting() -> Arc<BusinessSnapshot> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = std::env::temp_dir().join(format!("vartalaap-core-broken-{}", std::process::id()));
    for dir in ["businesses", "flows", "plugins"] {
        std::fs::create_dir_all(root.join(dir)).expect("scratch dir");
        for entry in std::fs::read_dir(repo.join(dir)).expect("config dir") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, root.join(dir).join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
    }
    let business = root.join("businesses/himalayan_kitchen.yaml");
    let text = std::fs::read_to_string(&business).expect("business file");
    let broken = text.replace(
        "greeting: \"Hello, welcome to {{ business.name.en }}. How can I help you?\"",
        "greeting: \"Hello, welcome to {{ business.name.en }}. Table for {{ slots.party_size | number }}?\"",
    );
    assert_ne!(text, broken, "the English greeting was found");
    std::fs::write(&business, broken).expect("write");
    let store = ConfigStore::load(&root).unwrap_or_else(|e| panic!("config invalid: {e:?}"));
    let snap = store.current("himalayan_kitchen").expect("business exists");
    let _ = std::fs::remove_dir_all(&root);
    snap
}

/// A template that cannot render is recorded for the turn with the business file and the
/// template's YAML path; the call goes on.
#[test]
fn a_broken_template_is_a_turn_problem_naming_its_yaml_path() {
    let snap = with_broken_greeting();
    let host = host(&snap);
    let now = at("2026-11-25", "12:00");
    let english = CallerContext {
        preferred_lang: Some(vartalaap_core::Lang::En),
        ..CallerContext::default()
    };
    let (conv, out) = Conversation::start(snap, now, english, &host);
    assert!(said(&out).is_empty(), "nothing is said for it: {out:?}");
    let problems = conv.turn_problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.source, ProblemSource::Template);
    assert_eq!(p.name, "greeting");
    assert_eq!(p.file.as_deref(), Some("businesses/himalayan_kitchen.yaml"));
    assert_eq!(p.yaml_path.as_deref(), Some("/prompts/en/greeting"));
    assert_eq!(
        (p.flow.as_deref(), p.step.as_deref()),
        (Some("greeting"), Some("welcome"))
    );
    assert!(p.message.starts_with("template failed to render"), "{p:?}");
    assert!(!conv.ended(), "the call goes on");
}

/// A correction of a slot already given is recorded for the turn, by slot.
#[test]
fn corrected_slots_are_recorded_per_turn() {
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "12:00");
    let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
    let (mut conv, _) = Conversation::start(snap, now, CallerContext::default(), &host);
    drive(
        &mut conv,
        now,
        Input::text("table for 2 tomorrow at 8 pm"),
        &host,
        &mut tools,
    );
    assert!(conv.turn_corrections().is_empty());
    drive(
        &mut conv,
        now,
        Input::text("no, make it 5 people"),
        &host,
        &mut tools,
    );
    assert_eq!(conv.turn_corrections(), ["party_size"]);
    drive(&mut conv, now, Input::text("Rahul"), &host, &mut tools);
    assert!(conv.turn_corrections().is_empty());
}

/// A host whose `before_booking` hooks fail the way a broken or runaway plugin does.
struct BrokenBookingHook {
    inner: RhaiHost,
    failure: ScriptError,
}

impl ScriptHost for BrokenBookingHook {
    fn eval(
        &self,
        expr: &Expr,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        self.inner.eval(expr, site, scope)
    }
    fn call(
        &self,
        plugin: &str,
        function: &str,
        args: Vec<Value>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        self.inner.call(plugin, function, args, scope)
    }
    fn before_booking(&self, _: &Value, _: &ScriptScope<'_>) -> Result<HookDecision, ScriptError> {
        Err(self.failure.clone())
    }
    fn on_slot(
        &self,
        n: &str,
        v: &Value,
        s: &ScriptScope<'_>,
    ) -> Result<SlotDecision, ScriptError> {
        self.inner.on_slot(n, v, s)
    }
}

/// Fail closed: a `before_booking` hook that throws or is stopped by a sandbox limit is a
/// "no". The booking is not made and the caller hears the handoff flow (Himalayan Kitchen has
/// no transfer number, so: nobody is free, a name for a callback).
#[test]
fn a_before_booking_hook_that_fails_refuses_the_booking() {
    let place = Location {
        file: "plugins/strict_rules.rhai".into(),
        line: Some(2),
        col: Some(5),
    };
    let failures = [
        ScriptError::Runtime {
            at: place.clone(),
            message: "the rule service is down".into(),
        },
        ScriptError::LimitExceeded {
            which: Limit::Operations,
            at: place,
            detail: "exceeded 100000 operations".into(),
        },
    ];
    for failure in failures {
        let snap = snapshot();
        let host = BrokenBookingHook {
            inner: host(&snap),
            failure: failure.clone(),
        };
        let now = at("2026-11-25", "12:00");
        let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
        let (mut conv, _) = Conversation::start(snap, now, with_number(), &host);
        let mut out = Vec::new();
        for line in ["table for 2 tomorrow at 8 pm", "Rahul", "yes"] {
            out = drive(&mut conv, now, Input::text(line), &host, &mut tools);
        }
        assert!(
            !out.iter().any(|o| matches!(
                o,
                Output::Tool(call) if matches!(call.kind, ToolKind::Book { .. })
            )),
            "{failure}: no booking may be attempted: {out:?}"
        );
        assert!(
            said(&out).contains("Nobody is available on the phone right now"),
            "{failure}: the handoff flow speaks: {}",
            said(&out)
        );
        assert!(
            conv.errors()
                .iter()
                .any(|e| e.contains("booking was not made") && e.contains(&failure.to_string())),
            "{failure}: {:?}",
            conv.errors()
        );
    }
}

#[test]
fn tool_results_must_match_the_call() {
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "12:00");
    let (mut conv, _) = Conversation::start(snap, now, CallerContext::default(), &host);
    let out = conv.handle(now, Input::text("table for 2 tomorrow at 8 pm"), &host);
    let Some(Output::Tool(call)) = out.last() else {
        panic!("expected a tool call, got {out:?}");
    };
    assert!(matches!(
        call.kind,
        ToolKind::CheckAvailability { party_size: 2, .. }
    ));
    // Speech and a stale result while the tool runs are ignored.
    assert!(conv.handle(now, Input::text("hello?"), &host).is_empty());
    let stale = Input::ToolResult {
        call_id: call.call_id + 7,
        result: ToolResult::Available,
    };
    assert!(conv.handle(now, stale, &host).is_empty());
    let out = conv.handle(
        now,
        Input::ToolResult {
            call_id: call.call_id,
            result: ToolResult::Available,
        },
        &host,
    );
    assert!(said(&out).contains("What name"), "{}", said(&out));
    assert!(matches!(out.last(), Some(Output::Listen { .. })));
}

#[test]
fn the_conversation_keeps_its_snapshot_and_ends_cleanly() {
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "12:00");
    let (mut conv, first) = Conversation::start(snap.clone(), now, CallerContext::default(), &host);
    assert!(Arc::ptr_eq(conv.snapshot(), &snap));
    assert!(matches!(
        first.last(),
        Some(Output::Listen { dtmf: false, .. })
    ));
    let out = conv.handle(now, Input::text("bye"), &host);
    assert!(matches!(out.last(), Some(Output::Hangup { .. })));
    assert!(conv.ended());
    assert!(conv.handle(now, Input::text("hello"), &host).is_empty());
}

/// Random conversations (a fixed-seed generator over real caller lines, silences, keys and
/// LLM readings): the engine never panics, never hits a template or script error, always
/// leaves the caller either listened to or the call ended, and three silences end any call.
#[test]
fn random_calls_keep_the_invariants() {
    let snap = snapshot();
    let host = host(&snap);
    let prepared = vartalaap_core::Prepared::new(snap.clone());
    let lines = [
        "kal raat 8 baje 4 log ke liye table chahiye",
        "table book karna hai",
        "I want to book a table for two on Monday",
        "नहीं, छह लोग",
        "actually make it 8:30",
        "haan",
        "no",
        "Rahul",
        "मेरा नाम सुनीता है",
        "rehne do",
        "kya? phir se boliye",
        "manager se baat karao",
        "momos kitne ke hain",
        "is there parking",
        "what time do you open",
        "booking cancel karni hai",
        "booking change karni hai",
        "15 log",
        "परसों",
        "saadhe aath baje",
        "what's the weather",
        "bas, thank you",
        "",
        "1 जनवरी",
        "11 baje raat",
    ];
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    // One scratch store for all the calls (a store per call would mostly measure fsync).
    let mut tools = StoreWorld::empty(&snap, at("2026-11-25", "12:00")).expect("scratch store");
    for call in 0..300 {
        let now = at("2026-11-25", if call % 2 == 0 { "12:00" } else { "21:15" });
        let (mut conv, _) = Conversation::start_prepared(&prepared, now, with_number(), &host);
        for _ in 0..(3 + next(12)) {
            if conv.ended() {
                break;
            }
            let input = match next(10) {
                0 => Input::NoInput,
                1 => Input::Dtmf(['1', '2', '5', '#'][next(4)]),
                2 => Input::Utterance {
                    text: lines[next(lines.len())].into(),
                    confidence: Some(0.5),
                    interpretation: Some(Interpretation {
                        intent: Some(
                            ["book_table", "cancel", "repeat", "nonsense"][next(4)].into(),
                        ),
                        slots: BTreeMap::from([(
                            ["party_size", "date", "time", "name"][next(4)].to_string(),
                            [json!(3), json!("2026-11-27"), json!("25:99"), json!("")][next(4)]
                                .clone(),
                        )]),
                        is_correction: next(2) == 0,
                    }),
                },
                _ => Input::text(lines[next(lines.len())]),
            };
            let out = drive(&mut conv, now, input, &host, &mut tools);
            if !conv.ended() && !out.is_empty() {
                assert!(
                    matches!(out.last(), Some(Output::Listen { .. })),
                    "call {call}: a turn must end listening, got {out:?}"
                );
            }
        }
        assert!(conv.errors().is_empty(), "call {call}: {:?}", conv.errors());
        for _ in 0..3 {
            let _ = drive(&mut conv, now, Input::NoInput, &host, &mut tools);
        }
        assert!(
            conv.ended(),
            "call {call}: three silences must end the call"
        );
    }
}

/// The templates spoken in `out`, in order.
fn templates(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Say { template, .. } => template.clone(),
            _ => None,
        })
        .collect()
}

/// WhatsApp is offered only when a confirmation can be sent: the caller's number is known and
/// they have not said no before. Otherwise the question is skipped and the answer is "no", so
/// nothing is promised and no `send_followup` runs.
#[test]
fn whatsapp_is_offered_only_when_it_can_be_sent() {
    let snap = snapshot();
    let host = host(&snap);
    let now = at("2026-11-25", "18:00");
    let book = |caller: CallerContext| {
        let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
        let (mut conv, _) = Conversation::start(snap.clone(), now, caller, &host);
        let mut out = Vec::new();
        for line in ["table for two tomorrow at 8 pm", "Rahul", "yes"] {
            out = drive(&mut conv, now, Input::text(line), &host, &mut tools);
        }
        (conv, out)
    };
    let known = with_number();
    let (_, out) = book(known.clone());
    assert_eq!(
        templates(&out),
        ["booking_confirmed", "ask_whatsapp_consent"],
        "{out:?}"
    );

    let withheld = CallerContext::default();
    let refused_before = CallerContext {
        whatsapp_consent: Some(false),
        ..known
    };
    for caller in [withheld, refused_before] {
        let (conv, out) = book(caller.clone());
        assert_eq!(
            templates(&out),
            ["booking_confirmed", "anything_else"],
            "{caller:?}: {out:?}"
        );
        assert!(!said(&out).contains("WhatsApp"), "{caller:?}: {out:?}");
        assert_eq!(conv.view().slots["whatsapp_consent"], json!(false));
        assert!(
            !out.iter().any(|o| matches!(
                o,
                Output::Tool(c) if matches!(c.kind, ToolKind::SendFollowup { .. })
            )),
            "{out:?}"
        );
    }
}
