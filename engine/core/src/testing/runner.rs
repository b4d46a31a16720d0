//! Plays one dialogue through the engine and compares every turn with its expectations.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime};
use serde_json::Value;
use vartalaap_config::{BusinessSnapshot, Lang};

use super::world::{DialogueWorld, WorldFactory, WorldSetup};
use super::{Dialogue, EndState, ExpectedHandledBy, Reply, Turn};
use crate::conversation::Conversation;
use crate::io::{CallerContext, Input, Interpretation, Output, ToolCall, ToolResult};
use crate::tools::{ToolExecutor, drive, drive_start};
use crate::trace::Trace;
use vartalaap_script::ScriptHost;

/// One mismatch, located as `file:turn N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Dialogue file.
    pub file: String,
    /// Turn index (0 = the greeting, `end` checks use the number of turns).
    pub turn: usize,
    /// What differed, with what the bot actually said.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:turn {}: {}", self.file, self.turn, self.message)
    }
}

/// The result of one dialogue.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Every mismatch (empty = passed).
    pub failures: Vec<Failure>,
    /// What the conversation exercised.
    pub trace: Trace,
    /// The conversation as text (`bot:` / `caller:` lines).
    pub transcript: Vec<String>,
    /// What each of the dialogue's turns produced, in order (the greeting first when the
    /// dialogue checks it), whether or not it met its expectations: what `vartalaap test
    /// record` writes as the expectations of a recorded call.
    pub turns: Vec<TurnOutcome>,
}

/// What the engine did in one turn of a dialogue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnOutcome {
    /// The bot's words (sentences joined by a space; empty when silent).
    pub reply: String,
    /// Tool calls, then `transfer` / `hangup`, as a dialogue's `actions` names them.
    pub actions: Vec<String>,
    /// Slot values after the turn.
    pub slots: serde_json::Map<String, Value>,
    /// Reply language after the turn.
    pub lang: String,
}

/// Fails the tools a dialogue names in `failing_tools` (the failure paths of a flow) and
/// passes every other call to the world.
pub struct FailingTools<'a> {
    /// The world the other calls go to.
    pub inner: &'a mut dyn DialogueWorld,
    /// Tool names that fail (`book`, `create_callback`, …).
    pub failing: &'a [String],
}

impl ToolExecutor for FailingTools<'_> {
    fn execute(&mut self, now: NaiveDateTime, call: &ToolCall) -> ToolResult {
        if self.failing.iter().any(|f| f == call.kind.name()) {
            return ToolResult::Failed {
                message: "failure injected by the dialogue".into(),
            };
        }
        self.inner.execute(now, call)
    }
}

/// Plays `d` against `snap` with `host` running flow expressions and the world `world_for`
/// builds executing its tool calls.
pub fn run_dialogue(
    snap: Arc<BusinessSnapshot>,
    d: &Dialogue,
    host: &dyn ScriptHost,
    world_for: &WorldFactory<'_>,
) -> Outcome {
    let file = d.file.display().to_string();
    let mut o = Outcome::default();
    let fail = |o: &mut Outcome, turn: usize, message: String| {
        o.failures.push(Failure {
            file: file.clone(),
            turn,
            message,
        })
    };
    let Ok(at) = DateTime::parse_from_rfc3339(&d.at) else {
        fail(
            &mut o,
            0,
            format!("`at` {:?} is not an RFC 3339 time", d.at),
        );
        return o;
    };
    let mut now: NaiveDateTime = at.naive_local();
    let caller = CallerContext {
        preferred_lang: d.caller_lang.as_deref().and_then(Lang::from_code),
        returning: d.caller_lang.is_some() || d.caller_whatsapp_consent.is_some(),
        has_number: d.caller_number.is_some(),
        whatsapp_consent: d.caller_whatsapp_consent,
    };
    let setup = WorldSetup {
        snapshot: &snap,
        at: now,
        caller_number: d.caller_number.as_deref(),
        existing: &d.existing,
    };
    let mut world = match world_for(&setup) {
        Ok(w) => w,
        Err(e) => {
            fail(
                &mut o,
                0,
                format!("could not set up the dialogue's store: {e}"),
            );
            return o;
        }
    };
    let mut tools = FailingTools {
        inner: world.as_mut(),
        failing: &d.failing_tools,
    };
    let (mut conv, first) = Conversation::start(snap, now, caller, host);
    let mut outputs = drive_start(&mut conv, first, now, host, &mut tools);
    // A first turn without caller input checks the greeting.
    let greeting = d.turns.first().is_some_and(is_greeting);
    record(&mut o, &outputs);
    if greeting {
        check_turn(&mut o, &file, 0, &d.turns[0], &conv, &outputs);
        o.turns.push(turn_outcome(&conv, &outputs));
    }
    for (i, t) in d.turns.iter().enumerate().skip(usize::from(greeting)) {
        let n = if greeting { i } else { i + 1 };
        if conv.ended() {
            fail(&mut o, n, "the call already ended before this turn".into());
            break;
        }
        if let Some(m) = t.after_minutes {
            now += Duration::minutes(m);
        }
        let input = if let Some(text) = &t.caller {
            o.transcript.push(format!("caller: {text}"));
            Input::Utterance {
                text: text.clone(),
                confidence: None,
                interpretation: t.interpretation.as_ref().map(|i| Interpretation {
                    intent: i.intent.clone(),
                    slots: i.slots.clone(),
                    is_correction: i.is_correction,
                }),
            }
        } else if let Some(c) = t.dtmf {
            o.transcript.push(format!("caller: [key {c}]"));
            Input::Dtmf(c)
        } else {
            o.transcript.push("caller: [silence]".into());
            Input::NoInput
        };
        outputs = drive(&mut conv, now, input, host, &mut tools);
        record(&mut o, &outputs);
        check_turn(&mut o, &file, n, t, &conv, &outputs);
        o.turns.push(turn_outcome(&conv, &outputs));
    }
    let end = d.turns.len();
    for e in conv.errors() {
        fail(&mut o, end, format!("engine error: {e}"));
    }
    if let Some(exp) = &d.expect {
        check_end(&mut o, &file, end, exp, world.as_ref(), &conv);
    }
    o.trace = conv.trace().clone();
    o
}

/// The results of a directory of dialogues.
#[derive(Debug, Default)]
pub struct Report {
    /// Dialogues run.
    pub dialogues: usize,
    /// Dialogues with no failure.
    pub passed: usize,
    /// Every failure, with the transcript of its dialogue after the last one of it.
    pub failures: Vec<(Failure, Vec<String>)>,
    /// Coverage per business exercised.
    pub businesses: Vec<BusinessReport>,
}

/// Coverage of one business by the dialogues that use it.
#[derive(Debug)]
pub struct BusinessReport {
    /// Business id.
    pub business: String,
    /// Dialogues that use it.
    pub dialogues: usize,
    /// What they exercised.
    pub coverage: super::Coverage,
}

impl Report {
    /// Whether every dialogue passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.passed == self.dialogues
    }
}

/// Runs every dialogue against the snapshots `store` returns (by business id), with the
/// script host `host_for` builds per snapshot and a world per dialogue from `world_for`.
/// Used by `vartalaap test` and `cargo test`.
pub fn run_dialogues(
    dialogues: &[Dialogue],
    snapshot_for: &dyn Fn(&str) -> Option<Arc<BusinessSnapshot>>,
    host_for: &dyn Fn(&Arc<BusinessSnapshot>) -> Box<dyn ScriptHost>,
    world_for: &WorldFactory<'_>,
) -> Report {
    let mut report = Report {
        dialogues: dialogues.len(),
        ..Report::default()
    };
    let mut traces: std::collections::BTreeMap<String, (Arc<BusinessSnapshot>, usize, Trace)> =
        Default::default();
    for d in dialogues {
        let Some(snap) = snapshot_for(&d.business) else {
            report.failures.push((
                Failure {
                    file: d.file.display().to_string(),
                    turn: 0,
                    message: format!(
                        "unknown business {:?}: no businesses/{}.yaml loaded",
                        d.business, d.business
                    ),
                },
                Vec::new(),
            ));
            continue;
        };
        let host = host_for(&snap);
        let outcome = run_dialogue(snap.clone(), d, host.as_ref(), world_for);
        let entry = traces
            .entry(d.business.clone())
            .or_insert_with(|| (snap, 0, Trace::default()));
        entry.1 += 1;
        entry.2.merge(&outcome.trace);
        if outcome.failures.is_empty() {
            report.passed += 1;
        } else {
            let last = outcome.failures.len() - 1;
            for (i, f) in outcome.failures.into_iter().enumerate() {
                let transcript = if i == last {
                    outcome.transcript.clone()
                } else {
                    Vec::new()
                };
                report.failures.push((f, transcript));
            }
        }
    }
    for (business, (snap, n, trace)) in traces {
        report.businesses.push(BusinessReport {
            business,
            dialogues: n,
            coverage: super::Coverage::new(&snap, &trace),
        });
    }
    report
}

fn is_greeting(t: &Turn) -> bool {
    t.caller.is_none() && !t.silence && t.dtmf.is_none()
}

fn reply_text(outputs: &[Output]) -> String {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Say { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tool calls, transfers and hang-ups of one turn, by the names a dialogue's `actions`
/// uses.
fn actions(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Tool(c) => Some(c.kind.name().to_string()),
            Output::Transfer { .. } => Some("transfer".into()),
            Output::Hangup { .. } => Some("hangup".into()),
            _ => None,
        })
        .collect()
}

fn turn_outcome(conv: &Conversation, outputs: &[Output]) -> TurnOutcome {
    let view = conv.view();
    TurnOutcome {
        reply: reply_text(outputs),
        actions: actions(outputs),
        slots: view.slots,
        lang: view.lang.code().to_string(),
    }
}

fn record(o: &mut Outcome, outputs: &[Output]) {
    let text = reply_text(outputs);
    if !text.is_empty() {
        o.transcript.push(format!("bot: {text}"));
    }
    for out in outputs {
        match out {
            Output::Tool(c) => o.transcript.push(format!("  [tool {}]", c.kind.name())),
            Output::Transfer { .. } => o.transcript.push("  [transfer]".into()),
            Output::Hangup { reason } => o.transcript.push(format!("  [hangup {reason:?}]")),
            _ => {}
        }
    }
}

fn check_turn(
    o: &mut Outcome,
    file: &str,
    n: usize,
    t: &Turn,
    conv: &Conversation,
    outputs: &[Output],
) {
    let text = reply_text(outputs);
    let mut problems = Vec::new();
    if let Some(r) = &t.bot {
        check_reply(r, &text, outputs, &mut problems);
    }
    let view = conv.view();
    for (k, want) in &t.slots {
        let got = view.slots.get(k).cloned().unwrap_or(Value::Null);
        if &got != want {
            problems.push(format!("slot {k}: expected {want}, got {got}"));
        }
    }
    if let Some(want) = &t.flow {
        let got = view.flow.clone().map_or(Value::Null, Value::from);
        if &got != want {
            problems.push(format!("flow: expected {want}, got {got}"));
        }
    }
    if let Some(want) = &t.actions {
        let got = actions(outputs);
        if &got != want {
            problems.push(format!("actions: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &t.lang
        && view.lang.code() != want
    {
        problems.push(format!("lang: expected {want}, got {}", view.lang));
    }
    if let Some(want) = &t.handled_by {
        check_handled_by(want, &view.handled_by, &mut problems);
    }
    for p in problems {
        o.failures.push(Failure {
            file: file.to_string(),
            turn: n,
            message: format!("{p}\n    bot said: {text:?}"),
        });
    }
}

fn check_handled_by(
    want: &ExpectedHandledBy,
    got: &crate::io::HandledBy,
    problems: &mut Vec<String>,
) {
    let fields = [
        ("intent", &want.intent, &got.intent),
        ("flow", &want.flow, &got.flow),
        ("step", &want.step, &got.step),
    ];
    for (name, want, got) in fields {
        let Some(want) = want else { continue };
        let got = got.clone().map_or(Value::Null, Value::from);
        if want != &got {
            problems.push(format!("handled_by.{name}: expected {want}, got {got}"));
        }
    }
}

fn check_reply(r: &Reply, text: &str, outputs: &[Output], problems: &mut Vec<String>) {
    if r.silent && !text.is_empty() {
        problems.push("expected silence".into());
    }
    if let Some(want) = &r.say
        && want != text
    {
        problems.push(format!("expected exactly {want:?}"));
    }
    for c in &r.contains {
        if !text.contains(c.as_str()) {
            problems.push(format!("expected the reply to contain {c:?}"));
        }
    }
    for c in &r.not_contains {
        if text.contains(c.as_str()) {
            problems.push(format!("expected the reply not to contain {c:?}"));
        }
    }
    if let Some(pattern) = &r.matches {
        match regex::Regex::new(pattern) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => problems.push(format!("expected the reply to match /{pattern}/")),
            Err(e) => problems.push(format!("invalid pattern /{pattern}/: {e}")),
        }
    }
    if let Some(want) = &r.templates {
        let got: Vec<String> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Say { template, .. } => template.clone(),
                _ => None,
            })
            .collect();
        if &got != want {
            problems.push(format!("templates: expected {want:?}, got {got:?}"));
        }
    }
}

fn check_end(
    o: &mut Outcome,
    file: &str,
    n: usize,
    e: &EndState,
    world: &dyn DialogueWorld,
    conv: &Conversation,
) {
    let mut problems = Vec::new();
    if let Some(want) = &e.reservations {
        match world.reservations() {
            Ok(got) => check_reservations(want, &got, &mut problems),
            Err(err) => problems.push(format!("reservations: could not read them: {err}")),
        }
    }
    if let Some(want) = &e.callbacks {
        match world.callbacks() {
            Ok(got) if &got != want => {
                problems.push(format!("callbacks: expected {want:?}, got {got:?}"));
            }
            Ok(_) => {}
            Err(err) => problems.push(format!("callbacks: could not read them: {err}")),
        }
    }
    if e.followups.is_some() || e.jobs.is_some() {
        match world.jobs() {
            Ok(got) => {
                if let Some(want) = e.followups {
                    let n = got.iter().filter(|j| j.kind == FOLLOWUP_KIND).count();
                    if n != want {
                        problems.push(format!(
                            "followups: expected {want} WhatsApp confirmation(s) queued, got {n}"
                        ));
                    }
                }
                if let Some(want) = &e.jobs {
                    check_jobs(want, &got, &mut problems);
                }
            }
            Err(err) => problems.push(format!("jobs: could not read them: {err}")),
        }
    }
    if let Some(want) = e.ended
        && conv.ended() != want
    {
        problems.push(format!("ended: expected {want}, got {}", conv.ended()));
    }
    for p in problems {
        o.failures.push(Failure {
            file: file.to_string(),
            turn: n,
            message: format!("end: {p}"),
        });
    }
}

/// The job kind of a WhatsApp confirmation (as the store names it).
const FOLLOWUP_KIND: &str = "whatsapp_followup";

fn check_reservations(
    want: &[super::DialogueReservation],
    got: &[super::DialogueReservation],
    problems: &mut Vec<String>,
) {
    let key = |r: &super::DialogueReservation| (r.date, r.time, r.party_size, r.name.clone());
    let mut got_keys: Vec<_> = got.iter().map(key).collect();
    let mut want_keys: Vec<_> = want.iter().map(key).collect();
    got_keys.sort();
    want_keys.sort();
    if got_keys != want_keys {
        problems.push(format!(
            "reservations: expected {want_keys:?}, got {got_keys:?}"
        ));
    }
    // Notes are compared where the dialogue states them.
    for w in want.iter().filter(|w| w.notes.is_some()) {
        if !got.iter().any(|r| key(r) == key(w) && r.notes == w.notes) {
            let found: Vec<_> = got
                .iter()
                .filter(|r| key(r) == key(w))
                .map(|r| r.notes.clone())
                .collect();
            problems.push(format!(
                "reservation {:?}: expected notes {:?}, got {found:?}",
                key(w),
                w.notes
            ));
        }
    }
}

/// Each expected job matches a distinct job, and no job is left over.
fn check_jobs(want: &[super::DialogueJob], got: &[super::DialogueJob], problems: &mut Vec<String>) {
    let mut left: Vec<&super::DialogueJob> = got.iter().collect();
    let mut missing = Vec::new();
    for w in want {
        match left.iter().position(|g| w.matches(g)) {
            Some(i) => {
                left.remove(i);
            }
            None => missing.push(w),
        }
    }
    if !missing.is_empty() || !left.is_empty() {
        problems.push(format!(
            "jobs: expected {want:?}, got {got:?} (not found: {missing:?}; unexpected: {left:?})"
        ));
    }
}
