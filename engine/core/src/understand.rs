//! Understanding one caller turn, offline: intents, repair intents and slot values.
//!
//! Everything comes from `vartalaap-lang` extractors over the business's own data (flow
//! trigger examples, FAQ questions, menu names), read relative to the conversation's local
//! time. An optional LLM [`Interpretation`] only fills gaps: its values go through the same
//! typed parsing, and the dialog validates them like any other value.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;
use vartalaap_config::BusinessSnapshot;
use vartalaap_config::model::flow::{Action, Flow, SlotType, StepKind};
use vartalaap_lang::{
    DateContext, DayPart, IntentExamples, IntentIndex, MenuEntry, MenuIndex, RepairIntent,
    TimeHints, YesNoReply,
};

use crate::io::Interpretation;

/// What the engine knows that utterances are matched against, built once per conversation.
#[derive(Debug, Clone)]
pub(crate) struct Knowledge {
    /// Every flow trigger with examples in all languages, indexed.
    pub intents: IntentIndex,
    /// Only the triggers of task flows (not info flows), for "a table for two on Monday".
    pub task_intents: IntentIndex,
    /// Intent name → flow id.
    pub intent_flow: BTreeMap<String, String>,
    /// FAQ questions, one "intent" per FAQ id, indexed.
    pub faqs: IntentIndex,
    /// Menu items with their names and aliases, indexed.
    pub menu: MenuIndex,
    /// Word keys of each item's names and aliases (see [`word_key`]).
    pub menu_words: BTreeMap<String, Vec<String>>,
}

impl Knowledge {
    pub(crate) fn new(snap: &BusinessSnapshot) -> Knowledge {
        let mut intents = Vec::new();
        let mut tasks = Vec::new();
        let mut intent_flow = BTreeMap::new();
        for id in &snap.business.flows {
            let Some(flow) = snap.flows.get(id) else {
                continue;
            };
            for t in &flow.triggers {
                let examples = IntentExamples {
                    intent: t.intent.clone(),
                    examples: t.examples.values().flatten().cloned().collect(),
                };
                if !is_info_flow(flow) {
                    tasks.push(examples.clone());
                }
                intents.push(examples);
                intent_flow.insert(t.intent.clone(), id.clone());
            }
        }
        let faqs: Vec<IntentExamples> = snap
            .business
            .faqs
            .iter()
            .map(|f| IntentExamples {
                intent: f.id.clone(),
                examples: f.questions.values().flatten().cloned().collect(),
            })
            .collect();
        let menu: Vec<MenuEntry> = snap
            .business
            .menu
            .items()
            .map(|i| MenuEntry {
                id: i.id.clone(),
                names: vec![i.name.en.clone(), i.name.hi.clone()],
                aliases: i.aliases.clone(),
            })
            .collect();
        let menu_words = menu
            .iter()
            .map(|e: &MenuEntry| {
                let words = e
                    .names
                    .iter()
                    .chain(&e.aliases)
                    .flat_map(|n| n.split(|c: char| !c.is_alphanumeric() && c != '\u{93c}'))
                    .filter(|w| !w.is_empty())
                    .map(word_key)
                    .collect();
                (e.id.clone(), words)
            })
            .collect();
        Knowledge {
            intents: IntentIndex::new(&intents),
            task_intents: IntentIndex::new(&tasks),
            intent_flow,
            faqs: IntentIndex::new(&faqs),
            menu: MenuIndex::new(&menu),
            menu_words,
        }
    }
}

/// Info flows answer a question without collecting anything or changing anything (menu,
/// hours, FAQ), so they can interrupt another flow and hand back to it.
pub(crate) fn is_info_flow(flow: &Flow) -> bool {
    flow.steps.iter().all(|s| match &s.kind {
        StepKind::Collect(_) => false,
        StepKind::Action { action, .. } => matches!(action, Action::LookupMenu | Action::AnswerFaq),
        _ => true,
    })
}

/// A slot the engine listens for this turn.
#[derive(Debug, Clone)]
pub(crate) struct Want {
    pub name: String,
    pub kind: SlotType,
    /// The slot the bot just asked for: bare answers ("5", "Rahul", "haan") count.
    pub pending: bool,
}

/// Everything heard in one utterance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heard {
    /// Built-in repair intent.
    pub repair: Option<RepairIntent>,
    /// Best flow intent and its score.
    pub intent: Option<(String, f32)>,
    /// Slot values found, in canonical JSON form.
    pub values: BTreeMap<String, Value>,
    /// A yes/no answer (with the rest of the utterance for "nahi, 5 log").
    pub yes_no: Option<YesNoReply>,
    /// Menu items mentioned, best first.
    pub menu: Vec<(String, f32)>,
    /// Best matching FAQ id and score.
    pub faq: Option<(String, f32)>,
    /// The caller marked a correction ("nahi, …", "actually …", LLM `is_correction`).
    pub correction: bool,
    /// A visit with a day or time ("kal aayenge", "we'll come on Friday"): a booking, never the
    /// location question (`vartalaap_lang::announces_visit`).
    pub visit: bool,
    /// A booking asked for in other words ("seat mil jayegi?", "kal ke liye bukking").
    pub book_request: bool,
    /// The menu as a whole ("menu sunao", "what do you serve"), no dish named.
    pub overview: bool,
    /// Whether something is served or allowed ("pizza milega?", "beer hai?"): the words naming
    /// the thing.
    pub availability: Option<Vec<String>>,
    /// The FAQ whose own topic word the caller said ("beer", "wheelchair"), even when the
    /// question matched no FAQ as a whole: the policy answer comes before "not on our menu".
    pub faq_topic: Option<String>,
}

impl Heard {
    /// A FAQ matched the whole question well enough to beat a flow's generic example.
    pub(crate) fn strong_faq(&self) -> bool {
        self.faq.as_ref().is_some_and(|(_, s)| *s >= 0.75)
    }
}

/// Context for reading one utterance.
pub(crate) struct Reading<'a> {
    pub snap: &'a BusinessSnapshot,
    pub knowledge: &'a Knowledge,
    pub now: NaiveDateTime,
    /// The date already known (for reading a bare "8 baje" against that day's hours).
    pub date: Option<NaiveDate>,
    pub wants: &'a [Want],
    /// The part of the day the caller named earlier for this task ("aaj shaam ko").
    pub day_part: Option<DayPart>,
    /// The values already given (a correction names the one it takes back).
    pub slots: &'a serde_json::Map<String, Value>,
}

/// Reads `text` (and an optional interpretation).
pub(crate) fn understand(text: &str, r: &Reading<'_>, interp: Option<&Interpretation>) -> Heard {
    let mut heard = Heard::default();
    if let Some(m) = r.knowledge.intents.classify(text) {
        match m.repair {
            Some(RepairIntent::Correction) => heard.correction = true,
            Some(rep) => heard.repair = Some(rep),
            None => heard.intent = Some((m.intent, m.score)),
        }
    }
    heard.yes_no = vartalaap_lang::extract_yes_no_detail(text);
    if heard.yes_no.as_ref().is_some_and(YesNoReply::is_correction)
        || vartalaap_lang::says_correction(text)
    {
        heard.correction = true;
    }
    for w in r.wants.iter().filter(|w| hears(w, r.wants)) {
        if let Some(v) = extract(text, w, r, &heard) {
            heard.values.insert(w.name.clone(), v);
        }
    }
    // Menu and FAQ matching only matter for a request or a digression; an answer to the
    // pending question skips them (they are the most expensive part of a turn).
    let answered = r
        .wants
        .iter()
        .any(|w| w.pending && heard.values.contains_key(&w.name));
    if !answered {
        heard.menu = menu_mentions(text, r.knowledge);
        heard.faq = r
            .knowledge
            .faqs
            .classify(text)
            .filter(|m| m.repair.is_none())
            .map(|m| (m.intent, m.score));
        heard.faq_topic = r.knowledge.faqs.topic(text).map(|m| m.intent);
        heard.availability = vartalaap_lang::asks_availability(text);
        heard.overview = vartalaap_lang::asks_overview(text);
    }
    heard.visit = vartalaap_lang::announces_visit(text);
    heard.book_request = vartalaap_lang::asks_to_book(text);
    if let Some(i) = interp {
        merge(&mut heard, i, r);
    }
    heard
}

/// Whether `w` may take a value heard by type. When several wanted slots share a type (a
/// booking's new `date` and the `old_date` of the one being moved), one value must not fill
/// them all: the slot being asked takes it; with none of them asked, the canonical slot of
/// that type does (the booking's own date or time is what callers restate, so that is what
/// a correction changes); a flow-local slot of a shared type is filled only when asked (or
/// named by an LLM interpretation). A slot alone of its type hears as before.
pub(crate) fn hears(w: &Want, wants: &[Want]) -> bool {
    let mut same = wants.iter().filter(|o| o.kind == w.kind);
    if same.clone().nth(1).is_none() {
        return true;
    }
    match same.find(|o| o.pending) {
        Some(p) => p.name == w.name,
        None => crate::conversation::CANONICAL_SLOTS.contains(&w.name.as_str()),
    }
}

/// Menu items the caller named. The fuzzy matcher also pairs unrelated words that merely
/// look alike ("table" and "thali", "think" and "thenthuk"), so an item counts only when one
/// of the caller's words is one of its words: equal after dropping plural endings and
/// nukta, or a close misspelling sharing the first three letters ("chiken" for "chicken").
pub(crate) fn menu_mentions(text: &str, k: &Knowledge) -> Vec<(String, f32)> {
    let said: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\u{93c}')
        .filter(|w| !w.is_empty())
        .map(word_key)
        .collect();
    k.menu
        .match_text(text)
        .into_iter()
        .filter(|(id, _)| {
            k.menu_words
                .get(id)
                .is_some_and(|words| words.iter().any(|w| said.iter().any(|s| same_word(s, w))))
        })
        .collect()
}

/// A comparable form of a word: lowercase, no nukta, no plural `s`/`z`/`ज़`.
fn word_key(word: &str) -> String {
    let mut w: String = word
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\u{93c}')
        .collect();
    if w.chars().count() > 3 && (w.ends_with('s') || w.ends_with('z') || w.ends_with('ज')) {
        w.pop();
    }
    w
}

fn same_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let prefix = |s: &str| s.chars().take(3).collect::<String>();
    a.chars().count() >= 5
        && b.chars().count() >= 5
        && prefix(a) == prefix(b)
        && strsim::jaro_winkler(a, b) >= 0.9
}

fn extract(text: &str, w: &Want, r: &Reading<'_>, heard: &Heard) -> Option<Value> {
    match w.kind {
        SlotType::Integer if w.name == "party_size" || w.pending => {
            let e = vartalaap_lang::extract_party_size_detail(text)?;
            // A bare number is a party size when asked for one, or in a correction ("make
            // that 5", "nahi, 5") while no other number, date or time was asked for.
            let number_asked = r.wants.iter().any(|o| {
                o.pending && matches!(o.kind, SlotType::Integer | SlotType::Date | SlotType::Time)
            });
            (w.pending || e.confidence >= 0.85 || heard.correction && !number_asked)
                .then(|| Value::from(e.value))
        }
        SlotType::Integer => None,
        SlotType::Date => {
            let d = vartalaap_lang::extract_date(text, r.now, DateContext::booking())?;
            Some(Value::from(d.format("%Y-%m-%d").to_string()))
        }
        SlotType::Time => {
            let date = r.date.unwrap_or(r.now.date());
            // Asked "what time?", a bare "8" is an hour; a part of the day said earlier
            // ("aaj shaam ko") places it.
            let hints = hints(r.snap, date)
                .with_day_part(r.day_part)
                .asked(w.pending);
            let t = vartalaap_lang::extract_time(text, &hints)?;
            Some(Value::from(t.format("%H:%M").to_string()))
        }
        SlotType::String => {
            // "Rahul nahi, Rohit", "not Rahul, Rohit": the name after the correction, when
            // the name was just asked or the caller takes back the one given.
            if heard.correction
                && let Some(rep) = vartalaap_lang::split_correction(text)
                && let Some(e) = vartalaap_lang::extract_name_detail(&text[rep.new.clone()])
            {
                let current = r.slots.get(&w.name).and_then(Value::as_str);
                let takes_back_current = current
                    .zip(rep.old.as_ref())
                    .is_some_and(|(c, old)| same_words(&text[old.clone()], c));
                return (w.pending || takes_back_current || e.confidence >= 1.0)
                    .then(|| Value::from(e.value));
            }
            // Markup, code, URLs and command words are never stored (asked again instead).
            let e = vartalaap_lang::extract_name_detail(text)?;
            // Outside the name question only an explicit "naam …"/"name is …" counts:
            // "I'm not sure" must not become a name.
            (w.pending && heard.repair.is_none() && heard.yes_no.is_none() || e.confidence >= 1.0)
                .then(|| Value::from(e.value))
        }
        SlotType::Bool if w.pending => heard
            .yes_no
            .as_ref()
            .filter(|y| !y.is_correction())
            .map(|y| Value::Bool(y.answer)),
        SlotType::Bool => None,
        SlotType::MenuItem if w.pending => menu_mentions(text, r.knowledge)
            .first()
            .map(|(id, _)| Value::from(id.clone())),
        SlotType::MenuItem => None,
    }
}

/// True when `said` names `value` by one of its words (normalized: "rahul" in "Rahul nahi"
/// for "Rahul Sharma").
fn same_words(said: &str, value: &str) -> bool {
    let said = vartalaap_lang::normalize(said);
    let said: Vec<&str> = said.split(' ').collect();
    let value = vartalaap_lang::normalize(value);
    value.split(' ').any(|w| !w.is_empty() && said.contains(&w))
}

/// The opening windows on `date` as time hints (a bare "8 baje" at a dinner place is 20:00).
pub(crate) fn hints(snap: &BusinessSnapshot, date: NaiveDate) -> TimeHints {
    let mut windows = snap.business.windows_on(date).to_vec();
    if windows.is_empty() {
        // Closed that day: read the time against the usual week so the value is still sensible.
        windows = snap
            .business
            .hours
            .days
            .iter()
            .find(|d| !d.is_empty())
            .cloned()
            .unwrap_or_default();
    }
    TimeHints::with_windows(windows.iter().map(|w| (w.open, w.close)).collect())
}

/// Parses an interpretation's value for a slot type (the same canonical forms as offline).
pub(crate) fn parse_value(kind: SlotType, v: &Value) -> Option<Value> {
    match kind {
        SlotType::Integer => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .map(Value::from),
        SlotType::Date => v
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
            .map(|d| Value::from(d.format("%Y-%m-%d").to_string())),
        SlotType::Time => v
            .as_str()
            .and_then(|s| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok())
            .map(|t| Value::from(t.format("%H:%M").to_string())),
        SlotType::Bool => v.as_bool().map(Value::Bool),
        SlotType::String | SlotType::MenuItem => v
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.chars().count() <= 80)
            .map(Value::from),
    }
}

fn merge(heard: &mut Heard, i: &Interpretation, r: &Reading<'_>) {
    if i.is_correction {
        heard.correction = true;
    }
    for w in r.wants {
        if heard.values.contains_key(&w.name) {
            continue;
        }
        if let Some(v) = i
            .slots
            .get(&w.name)
            .and_then(|v| parse_value(w.kind, v))
            // A name read by the model passes the same plausibility check as one read offline.
            .filter(|v| {
                w.kind != SlotType::String
                    || !w.name.contains("name")
                    || v.as_str().is_some_and(vartalaap_lang::is_plausible_name)
            })
        {
            heard.values.insert(w.name.clone(), v);
        }
    }
    if heard.repair.is_none() && heard.intent.is_none() {
        match i.intent.as_deref() {
            Some("cancel") => heard.repair = Some(RepairIntent::Cancel),
            Some("repeat") => heard.repair = Some(RepairIntent::Repeat),
            Some("human") => heard.repair = Some(RepairIntent::Human),
            Some("goodbye") => heard.repair = Some(RepairIntent::Goodbye),
            Some("correction") => heard.correction = true,
            Some(name) if r.knowledge.intent_flow.contains_key(name) => {
                heard.intent = Some((name.to_string(), 0.8));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(name: &str, kind: SlotType, pending: bool) -> Want {
        Want {
            name: name.into(),
            kind,
            pending,
        }
    }

    fn hearing(wants: &[Want]) -> Vec<&str> {
        wants
            .iter()
            .filter(|w| hears(w, wants))
            .map(|w| w.name.as_str())
            .collect()
    }

    #[test]
    fn one_slot_per_type_hears_as_before() {
        let wants = [
            want("date", SlotType::Date, false),
            want("time", SlotType::Time, true),
            want("confirmed", SlotType::Bool, false),
        ];
        assert_eq!(hearing(&wants), ["date", "time", "confirmed"]);
    }

    #[test]
    fn several_slots_of_a_type_the_asked_one_takes_the_value() {
        // Asked for the old date: the new `date` does not hear it.
        let wants = [
            want("old_date", SlotType::Date, true),
            want("date", SlotType::Date, false),
            want("time", SlotType::Time, false),
        ];
        assert_eq!(hearing(&wants), ["old_date", "time"]);
        // Asked for something else: only the canonical `date` (a correction of the booking's
        // day), never the flow-local `old_date`.
        let wants = [
            want("old_date", SlotType::Date, false),
            want("date", SlotType::Date, false),
            want("time", SlotType::Time, true),
        ];
        assert_eq!(hearing(&wants), ["date", "time"]);
        // No canonical slot of the type and none asked: nobody takes a bare value.
        let wants = [
            want("from", SlotType::Date, false),
            want("to", SlotType::Date, false),
        ];
        assert!(hearing(&wants).is_empty());
    }
}
