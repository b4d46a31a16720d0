//! The system prompts: one for understanding a turn (tool call), one for phrasing an answer
//! grounded in the business file. Nothing in them names a trade: what the business is comes
//! from its own file (a restaurant, a clinic, …).
//!
//! Both are rebuilt per turn from the snapshot the conversation runs with, so an edit to the
//! business file reaches the model exactly when it reaches the engine, and both carry the
//! local date and time so "kal" and "shanivaar" resolve against the call's clock, not the
//! model's idea of today.

use chrono::{Datelike, Duration, NaiveDateTime, Weekday};
use serde_json::{Map, Value};
use vartalaap_config::model::business::Window;
use vartalaap_config::{BusinessSnapshot, Lang};

use crate::context::TurnContext;
use crate::schema::{TOOL_NAME, intents, offered_slots};

/// How the model is told to write in each language (what TTS and callers expect).
pub(crate) fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Hi => "Hindi, written in Devanagari script",
        Lang::En => "Indian English",
        Lang::Hinglish => "Hinglish: Hindi written in Latin letters, mixed with English words",
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// "Wednesday 2026-11-25, 18:00 (Asia/Kolkata); tomorrow is Thursday 2026-11-26".
fn clock_line(snap: &BusinessSnapshot, now: NaiveDateTime) -> String {
    let today = now.date();
    let tomorrow = today + Duration::days(1);
    format!(
        "It is now {} {}, {} local time ({}). Tomorrow is {} {}.",
        weekday_name(today.weekday()),
        today.format("%Y-%m-%d"),
        now.format("%H:%M"),
        snap.business.timezone.name(),
        weekday_name(tomorrow.weekday()),
        tomorrow.format("%Y-%m-%d"),
    )
}

fn windows(ws: &[Window]) -> String {
    if ws.is_empty() {
        return "closed".to_string();
    }
    ws.iter()
        .map(|w| format!("{}-{}", w.open.format("%H:%M"), w.close.format("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Weekly opening hours, one line per weekday.
fn hours_lines(snap: &BusinessSnapshot) -> String {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .map(|d| {
        format!(
            "{}: {}",
            weekday_name(d),
            windows(snap.business.hours.on(d))
        )
    })
    .collect::<Vec<_>>()
    .join("; ")
}

/// The language the caller's words are in, as the engine's own detector reads them.
fn heard_language(utterance: &str) -> Lang {
    match vartalaap_lang::detect_language(utterance) {
        vartalaap_lang::Lang::Hi => Lang::Hi,
        vartalaap_lang::Lang::En => Lang::En,
        vartalaap_lang::Lang::Hinglish => Lang::Hinglish,
    }
}

/// The system prompt for the understanding tool call on `utterance`.
pub fn interpret_prompt(ctx: &TurnContext, utterance: &str) -> String {
    let snap = &ctx.snapshot;
    let b = &snap.business;
    let mut p = String::new();
    p.push_str(&format!(
        "You read one thing a caller said on the phone to {} ({}) in {}, and report it by calling the function {TOOL_NAME} exactly once. Do not answer the caller and do not write any text.\n\n",
        b.name.en, b.name.hi, b.address.city
    ));
    p.push_str(&clock_line(snap, ctx.now));
    p.push_str(&format!(
        "\nOpening hours: {}.\nThe caller speaks {}; they may mix Hindi and English and use Hindi number words (do, teen, chaar, saadhe aath).\n\n",
        hours_lines(snap),
        language_name(heard_language(utterance))
    ));
    match (ctx.flow(), ctx.pending_slot()) {
        (Some(flow), Some(slot)) => p.push_str(&format!(
            "The bot is in the task \"{}\" and has just asked the caller for `{}`{}.\n",
            flow.id,
            slot.name,
            slot.description
                .as_deref()
                .map(|d| format!(" ({})", d.trim_end_matches('.')))
                .unwrap_or_default()
        )),
        (Some(flow), None) => p.push_str(&format!("The bot is in the task \"{}\".\n", flow.id)),
        (None, _) => p.push_str(
            "No task is in progress: the caller is making a new request or asking a question.\n",
        ),
    }
    let known: Vec<String> = ctx
        .view
        .slots
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if known.is_empty() {
        p.push_str("Nothing is known yet.\n");
    } else {
        p.push_str(&format!(
            "Already known from earlier turns: {}.\n",
            known.join(", ")
        ));
    }
    p.push_str("\nIntents:\n");
    for i in intents(snap) {
        p.push_str(&format!("- {}: {}\n", i.name, i.description));
    }
    p.push_str("- none: nothing above fits, or the caller only answered the question.\n");
    let slots: Vec<String> = offered_slots(ctx).into_iter().map(|s| s.name).collect();
    p.push_str(&format!(
        "\nRules:\n\
         - Report only values the caller said or clearly meant in this utterance ({}). Leave out everything else; never guess or copy known values.\n\
         - Dates as YYYY-MM-DD: resolve aaj/today, kal/tomorrow, parson, weekday names and \"25 tarikh\" against today's date. When booking, \"kal\" means tomorrow.\n\
         - Times as HH:MM on a 24-hour clock; a bare \"8 baje\" is whichever 8 o'clock falls in the opening hours (20:00 when only the evening is open).\n\
         - party_size counts every guest including the caller (\"main aur meri wife\" = 2, \"hum teen couple\" = 6).\n\
         - A yes or no to the bot's question goes into the boolean slot being asked.\n\
         - is_correction is true only when the caller changes a value already known.\n",
        slots.join(", ")
    ));
    p
}

/// The business facts the phrasing model may use: the business file without its prompts,
/// voices, flows, plugins and internal capacity numbers, as YAML.
pub fn knowledge(snap: &BusinessSnapshot) -> String {
    let mut doc: Map<String, Value> = Map::new();
    for key in [
        "name",
        "address",
        "hours",
        "exceptions",
        "reservations",
        "menu",
        "faqs",
    ] {
        if let Some(v) = snap.document.get(key) {
            doc.insert(key.to_string(), v.clone());
        }
    }
    if let Some(Value::Array(faqs)) = doc.get_mut("faqs") {
        // The answers are the knowledge; the example questions only cost tokens.
        for faq in faqs.iter_mut().filter_map(Value::as_object_mut) {
            faq.remove("questions");
        }
    }
    if let Some(Value::Object(r)) = doc.get_mut("reservations") {
        // How many covers fit is the store's business, never something to say.
        for internal in ["capacity", "hold_minutes", "slot_minutes"] {
            r.remove(internal);
        }
    }
    serde_yaml::to_string(&Value::Object(doc)).unwrap_or_default()
}

/// What the phrasing model is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct PhrasePromptParts<'a> {
    /// The engine's answer (the template text) — the safe answer the model improves on.
    pub template_text: &'a str,
    /// What the bot says right after this answer in the same turn.
    pub following: &'a [String],
    /// Reply language.
    pub lang: Lang,
}

/// The system prompt for phrasing a free-form answer from the business file.
pub fn phrase_prompt(ctx: &TurnContext, parts: PhrasePromptParts<'_>) -> String {
    let snap = &ctx.snapshot;
    let b = &snap.business;
    let mut p = String::new();
    p.push_str(&format!(
        "You are the phone assistant of {} ({}) in {}. Answer the caller's last words in {}, in one or two short spoken sentences.\n\n",
        b.name.en, b.name.hi, b.address.city, language_name(parts.lang)
    ));
    p.push_str(&clock_line(snap, ctx.now));
    p.push_str(
        "\n\nRules:\n\
         - Use only the business information below. Every price, time, date and number you say must appear there; write numbers as digits.\n\
         - Never say that a table is free, available, booked, reserved or confirmed, and never promise anything: bookings are handled separately.\n\
         - If the information below does not answer the question, say briefly that you do not have that information.\n\
         - This is spoken on the phone: no lists, no markdown, no emojis, no greetings.\n",
    );
    p.push_str(&format!(
        "\nThe bot's prepared answer (correct but stiff; keep its facts): \"{}\"\n",
        parts.template_text
    ));
    if !parts.following.is_empty() {
        p.push_str(&format!(
            "Right after your answer the bot says: \"{}\" — do not repeat or contradict it.\n",
            parts.following.join(" ")
        ));
    }
    p.push_str("\nBusiness information (YAML):\n");
    p.push_str(&knowledge(snap));
    p
}
