//! "Save as test": a stored call becomes a dialogue file (`tests/conversations/*.yaml`) that
//! `vartalaap test` replays, so a call that went wrong becomes a regression test in one step.
//! Used by `vartalaap test record <call_id>` and `POST /api/calls/{id}/test`.
//!
//! What the call log stores is what the caller said and what they heard; the dialogue format
//! also checks slots and tool calls, which the log does not keep. So the caller's lines are
//! replayed through the engine with the *current* configuration at the call's own reference
//! time (date-relative words such as "kal" mean the same day again), exactly as `vartalaap
//! test` will run them, and each turn's slots and actions are taken from that replay while its
//! reply still matches what the call's bot said. From the first turn where it no longer does
//! (the configuration changed since the call, the call used the LLM, or other callers'
//! bookings filled a slot), the file keeps what the call's bot said and no slots or actions,
//! and the recording says so: `vartalaap test` then fails on that turn until the
//! configuration produces the recorded reply again, or the file is edited to what the bot
//! *should* say.
//!
//! Phone numbers never reach the file: the caller's own number is left out (the replay uses
//! the dialogue format's fixed test number, or none when the call's number was withheld), and
//! number-like digit runs in what was said are masked as `[phone]` (with the same rule as the
//! log scrubber) before the replay, so the file replays what it shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use vartalaap_config::BusinessSnapshot;
use vartalaap_core::testing::{DEFAULT_CALLER_NUMBER, Dialogue, Turn, TurnOutcome, run_dialogue};
use vartalaap_script::{RhaiHost, ScriptRuntime};
use vartalaap_store::{CallWithTurns, ConversationTurn, TurnRole};
use vartalaap_tools::dialogue_world;

use crate::logging::{LineKind, redact_phone_numbers};

/// Longest test name, in characters (it becomes `<name>.yaml`).
pub const MAX_NAME: usize = 80;

/// What the voice session stores for a turn with no words (`vartalaap_voice`'s `stored_text`).
const CUT_OFF: &str = "[cut off before any words were heard]";

/// Why a call could not be saved as a test.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// No call has this id.
    #[error(
        "call {0} not found; the call list (GET /api/calls or the admin's Calls page) has the ids"
    )]
    UnknownCall(u64),
    /// The call has nothing to replay.
    #[error(
        "call {0} has no caller turns (the caller said nothing the bot heard), so there is nothing to replay as a test"
    )]
    NoCallerTurns(u64),
    /// The call's business is not loaded now.
    #[error(
        "call {call} was to business {business:?}, which is not loaded now (no businesses/{business}.yaml), so it cannot be replayed"
    )]
    UnknownBusiness {
        /// The call.
        call: u64,
        /// Its business id.
        business: String,
    },
    /// The name would not be a plain file name.
    #[error(
        "{0:?} is not a usable test name: use 1–80 letters, digits, '_' or '-', starting with a letter or digit (it becomes <name>.yaml)"
    )]
    BadName(String),
    /// A file of that name exists.
    #[error("{} already exists; choose another name, or replace it with --force (API: \"force\": true)", .0.display())]
    Exists(PathBuf),
    /// The folder or the file could not be written.
    #[error("could not write {}: {source}", path.display())]
    Write {
        /// What was being written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A call turned into a dialogue file.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The file's text (YAML with a comment header).
    pub yaml: String,
    /// Dialogue turns written (the greeting included).
    pub turns: usize,
    /// What the replay could not reproduce, one line per turn concerned (empty when every
    /// reply matched the call); also written as comments at the top of the file.
    pub notes: Vec<String>,
}

/// The name used when none is given: `call_<id>`.
pub fn default_name(call_id: u64) -> String {
    format!("call_{call_id}")
}

/// Checks that `name` is a plain file stem (no path, no hidden file, no surprises in a shell).
pub fn check_name(name: &str) -> Result<(), RecordError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(RecordError::BadName(name.to_string()))
    }
}

/// Writes `yaml` to `<dir>/<name>.yaml` (creating `dir`), refusing to replace an existing file
/// unless `force`; returns the path written.
pub fn write_test(dir: &Path, name: &str, yaml: &str, force: bool) -> Result<PathBuf, RecordError> {
    check_name(name)?;
    std::fs::create_dir_all(dir).map_err(|source| RecordError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{name}.yaml"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            RecordError::Exists(path.clone())
        } else {
            RecordError::Write {
                path: path.clone(),
                source,
            }
        }
    })?;
    std::io::Write::write_all(&mut file, yaml.as_bytes()).map_err(|source| RecordError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// One dialogue turn taken from the call log: what the caller did and what the bot said.
#[derive(Debug, Clone)]
struct CallStep {
    input: StepInput,
    /// When the caller's turn (or the bot's reply, for silences) started.
    at: DateTime<Utc>,
    /// What the call's bot said in answer, as stored.
    bot: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum StepInput {
    Greeting,
    Words(String),
    Key(char),
    Silence,
}

/// The call's turns as dialogue steps: the greeting, then per caller turn the bot turn that
/// answered it. A bot turn with no caller turn before it answered a silence (the session
/// stores none for it).
fn steps(turns: &[ConversationTurn]) -> Vec<CallStep> {
    let mut steps: Vec<CallStep> = Vec::new();
    for turn in turns {
        match turn.role {
            TurnRole::System => {}
            TurnRole::Caller => steps.push(CallStep {
                input: caller_input(&turn.text),
                at: turn.started_at,
                bot: None,
            }),
            TurnRole::Bot => match steps.last_mut() {
                Some(step) if step.bot.is_none() && step.input != StepInput::Greeting => {
                    step.bot = Some(bot_words(turn));
                }
                last => {
                    let input = if last.is_none() {
                        StepInput::Greeting
                    } else {
                        StepInput::Silence
                    };
                    steps.push(CallStep {
                        input,
                        at: turn.started_at,
                        bot: Some(bot_words(turn)),
                    });
                }
            },
        }
    }
    steps
}

/// What the bot said in a stored bot turn: the whole reply it began when the caller cut it
/// short (the log keeps what they heard as the text), else the text.
fn bot_words(turn: &ConversationTurn) -> String {
    match &turn.intended_text {
        Some(intended) if turn.interrupted && !intended.is_empty() => intended.clone(),
        _ => turn.text.clone(),
    }
}

/// A stored caller turn as engine input: `[keypad 5]` is a key press (as the voice session
/// stores one), anything else words, with phone-number-like digit runs masked.
fn caller_input(text: &str) -> StepInput {
    let key = text
        .strip_prefix("[keypad ")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|k| {
            let mut chars = k.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        });
    match key {
        Some(c) => StepInput::Key(c),
        None if text == CUT_OFF => StepInput::Words(String::new()),
        None => StepInput::Words(redact_phone_numbers(text, LineKind::Text)),
    }
}

/// Turns `call` into a dialogue file for `snapshot`'s business (the call's), replaying it with
/// `runtime` to learn each turn's slots and actions. `name` goes into the header.
pub fn record(
    call: &CallWithTurns,
    snapshot: Arc<BusinessSnapshot>,
    runtime: Arc<ScriptRuntime>,
) -> Result<Recording, RecordError> {
    let id = call.call.id;
    let steps = steps(&call.turns);
    if !steps
        .iter()
        .any(|s| matches!(s.input, StepInput::Words(_) | StepInput::Key(_)))
    {
        return Err(RecordError::NoCallerTurns(id));
    }
    let business = &snapshot.business;
    let started = call.call.started_at;
    let local = started.with_timezone(&business.timezone);
    let at = local.to_rfc3339_opts(SecondsFormat::Secs, false);
    // A returning caller is greeted in their language: the greeting's language says which.
    let greeting_lang = call
        .turns
        .iter()
        .find(|t| t.role == TurnRole::Bot)
        .and_then(|t| t.language.clone())
        .filter(|l| l != business.languages.default.code());
    let withheld = call.call.caller_phone_hash.is_none();

    // Minutes into the call per step, as the dialogue format's `after_minutes` counts them.
    let mut minute = 0i64;
    let mut dialogue_turns = Vec::new();
    for step in &steps {
        let elapsed = (step.at - started).num_minutes().max(0);
        let after = (elapsed > minute).then(|| elapsed - minute);
        minute = minute.max(elapsed);
        let mut turn = Turn {
            after_minutes: after,
            ..Turn::default()
        };
        match &step.input {
            StepInput::Greeting => turn.after_minutes = None,
            StepInput::Words(text) => turn.caller = Some(text.clone()),
            StepInput::Key(c) => turn.dtmf = Some(*c),
            StepInput::Silence => turn.silence = true,
        }
        dialogue_turns.push(turn);
    }
    // A call whose greeting was not stored starts with the caller; the replay's greeting is
    // then not checked (the runner treats a first turn with input as the first caller turn).
    let dialogue = Dialogue {
        file: PathBuf::from(format!("call {id}")),
        description: None,
        business: call.call.business_id.clone(),
        at: at.clone(),
        caller_lang: greeting_lang.clone(),
        caller_number: (!withheld).then(|| DEFAULT_CALLER_NUMBER.to_string()),
        caller_whatsapp_consent: None,
        existing: Vec::new(),
        failing_tools: Vec::new(),
        turns: dialogue_turns.clone(),
        expect: None,
    };
    let host = RhaiHost::new(runtime, snapshot.clone());
    let replay = run_dialogue(snapshot.clone(), &dialogue, &host, &dialogue_world);

    let mut notes = Vec::new();
    let mut diverged = false;
    let mut previous_slots = serde_json::Map::new();
    let mut turns = Vec::new();
    for (n, (step, turn)) in steps.iter().zip(&dialogue_turns).enumerate() {
        let replayed: Option<&TurnOutcome> = replay.turns.get(n);
        let mut expected = FileTurn {
            caller: turn.caller.clone(),
            dtmf: turn.dtmf,
            silence: turn.silence,
            after_minutes: turn.after_minutes,
            ..FileTurn::default()
        };
        let said = step.bot.as_deref();
        match (said, replayed) {
            (Some(said), Some(got)) if !diverged && said == got.reply => {
                expected.bot = Some(FileReply {
                    say: said.to_string(),
                });
            }
            (Some(said), Some(got))
                if !diverged
                    && !got.reply.is_empty()
                    && (said == CUT_OFF || got.reply.starts_with(said)) =>
            {
                notes.push(format!(
                    "turn {n}: the caller cut the bot short (they heard {said:?}); the file expects the whole reply the bot began"
                ));
                expected.bot = Some(FileReply {
                    say: got.reply.clone(),
                });
            }
            (None, _) if !diverged => {}
            (said, got) => {
                if !diverged {
                    diverged = true;
                    notes.push(format!(
                        "turn {n}: replayed with the current configuration the bot says {:?}, but in the call it said {:?}; from this turn on the file keeps what the call's bot said, without slots or actions",
                        got.map(|g| g.reply.as_str()).unwrap_or("nothing (the replay ended)"),
                        said.unwrap_or("nothing"),
                    ));
                }
                expected.bot = said.map(|s| FileReply { say: s.to_string() });
            }
        }
        if !diverged && let Some(got) = replayed {
            expected.slots = changed_slots(&previous_slots, &got.slots);
            previous_slots = got.slots.clone();
            expected.actions = (!got.actions.is_empty()).then(|| got.actions.clone());
            expected.lang = Some(got.lang.clone());
        }
        turns.push(expected);
    }
    for failure in &replay.failures {
        notes.push(format!(
            "replay, turn {}: {}",
            failure.turn, failure.message
        ));
    }

    let file = DialogueFile {
        description: format!(
            "Call {id} to {} on {}, saved as a test ({}).",
            call.call.business_id,
            local.format("%Y-%m-%d %H:%M"),
            call.call.outcome
        ),
        business: call.call.business_id.clone(),
        at,
        caller_lang: greeting_lang,
        caller_number: withheld.then_some(Value::Null),
        turns,
    };
    let body = serde_yaml::to_string(&file).map_err(|e| RecordError::Write {
        path: PathBuf::from(format!("call {id}")),
        source: std::io::Error::other(e),
    })?;
    let mut yaml = String::new();
    yaml.push_str(&format!(
        "# Recorded from call {id} by `vartalaap test record` (or the admin's \"Save as test\").\n"
    ));
    yaml.push_str(if withheld {
        "# The caller's number was withheld (caller_number: null).\n"
    } else {
        "# The caller's phone number is not in this file: the replay uses the test number.\n"
    });
    yaml.push_str(
        "# The expectations are what the bot said in the call; edit them to what it should say,\n\
         # then change the configuration until `vartalaap test` passes.\n",
    );
    for note in &notes {
        yaml.push_str(&format!("# Note: {note}\n"));
    }
    yaml.push_str(&body);
    Ok(Recording {
        yaml,
        turns: file.turns.len(),
        notes,
    })
}

/// The slots that changed since the previous turn (`null` for one that was cleared).
fn changed_slots(
    before: &serde_json::Map<String, Value>,
    after: &serde_json::Map<String, Value>,
) -> BTreeMap<String, Value> {
    let mut changed: BTreeMap<String, Value> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in before {
        if !v.is_null() && after.get(k).is_none_or(Value::is_null) {
            changed.insert(k.clone(), Value::Null);
        }
    }
    changed
}

/// The dialogue file as written (the fields of `vartalaap_core::testing::Dialogue` a
/// recording fills).
#[derive(Debug, Serialize)]
struct DialogueFile {
    description: String,
    business: String,
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_lang: Option<String>,
    /// `Some(null)` when the call's number was withheld; left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_number: Option<Value>,
    turns: Vec<FileTurn>,
}

#[derive(Debug, Default, Serialize)]
struct FileTurn {
    #[serde(skip_serializing_if = "Option::is_none")]
    after_minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtmf: Option<char>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    silence: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    bot: Option<FileReply>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    slots: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct FileReply {
    say: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(seq: u32, role: TurnRole, text: &str) -> ConversationTurn {
        let at: DateTime<Utc> = "2026-11-25T06:30:00Z".parse().unwrap();
        ConversationTurn {
            call_id: 1,
            seq,
            role,
            text: text.into(),
            language: Some("en".into()),
            stt_confidence: None,
            started_at: at + chrono::Duration::seconds(i64::from(seq) * 20),
            timings: Default::default(),
            handled_by: None,
            interrupted: false,
            played_ms: None,
            intended_text: None,
            tts_fallbacks: Vec::new(),
            config_errors: Vec::new(),
            corrected_slots: Vec::new(),
            created_at: at,
        }
    }

    #[test]
    fn turns_pair_each_caller_line_with_the_reply_and_keys_and_silences_are_kept() {
        let turns = [
            turn(
                0,
                TurnRole::System,
                "Call started with configuration version x.",
            ),
            turn(1, TurnRole::Bot, "Hello"),
            turn(2, TurnRole::Caller, "menu please"),
            turn(3, TurnRole::Bot, "We have momos"),
            turn(4, TurnRole::Bot, "Are you still there?"),
            turn(5, TurnRole::Caller, "[keypad 1]"),
            turn(6, TurnRole::Bot, "Booked"),
            turn(7, TurnRole::Caller, "call me on +91 98765 43210"),
        ];
        let got = steps(&turns);
        let inputs: Vec<_> = got.iter().map(|s| s.input.clone()).collect();
        assert_eq!(
            inputs,
            [
                StepInput::Greeting,
                StepInput::Words("menu please".into()),
                StepInput::Silence,
                StepInput::Key('1'),
                StepInput::Words("call me on [phone]".into()),
            ]
        );
        let bots: Vec<_> = got.iter().map(|s| s.bot.as_deref()).collect();
        assert_eq!(
            bots,
            [
                Some("Hello"),
                Some("We have momos"),
                Some("Are you still there?"),
                Some("Booked"),
                None
            ]
        );
    }

    #[test]
    fn names_are_plain_file_stems() {
        for good in ["call_12", "pizza-not-on-menu", "A1"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "-flag",
            "a b",
            "x.yaml",
            "naam_ह",
            "a".repeat(81).as_str(),
        ] {
            assert!(
                matches!(check_name(bad), Err(RecordError::BadName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_test(dir.path(), "t", "first", false).unwrap();
        assert!(matches!(
            write_test(dir.path(), "t", "second", false),
            Err(RecordError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        write_test(dir.path(), "t", "second", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
    }

    #[test]
    fn only_changed_slots_are_written() {
        let before = serde_json::json!({"party_size": 2, "time": "20:00"});
        let after = serde_json::json!({"party_size": 2, "time": "20:30", "name": "Priya"});
        let got = changed_slots(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            serde_json::json!({"time": "20:30", "name": "Priya"})
        );
        let cleared = changed_slots(after.as_object().unwrap(), &serde_json::Map::new());
        assert_eq!(cleared.len(), 3);
        assert!(cleared.values().all(Value::is_null));
    }
}
