//! Built-in actions: what each does, which tool calls it needs, and how their results
//! continue the flow.
//!
//! Pure actions (menu lookup, FAQ answer, transfer, hang-up) finish in the same turn. Storage
//! actions emit a [`ToolCall`] and the conversation waits for its [`ToolResult`]; the result
//! becomes `result` in templates (`result.alternatives` as spoken times, `result.found`, `result.items`).

use chrono::{NaiveDate, NaiveTime};
use serde_json::{Map, Value, json};
use vartalaap_config::model::business::Diet;
use vartalaap_config::model::flow::{Action, ActionParams};

use crate::conversation::{Conversation, Pending, Wait};
use crate::io::{HangupReason, Output, ReservationSummary, ToolCall, ToolKind, ToolResult};
use crate::policy::{self, PolicyIssue};
use crate::render::lang_of;
use crate::run::Flowing;
use vartalaap_script::ScriptHost;

/// Alternatives offered when a time is refused or full.
const ALTERNATIVES: usize = 3;
/// Most menu items read out for one question.
const MENU_ITEMS_SPOKEN: usize = 5;

impl Conversation {
    /// Starts `action` at the current step, with the step's `params`.
    pub(crate) fn action(
        &mut self,
        action: Action,
        params: &ActionParams,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) -> Flowing {
        self.result = Value::Object(Map::new());
        match action {
            Action::CheckAvailability | Action::Book => {
                let (Some(date), Some(time), Some(party)) = (
                    self.slot_date(),
                    self.slot_time(),
                    self.slot_u32("party_size"),
                ) else {
                    self.errors.push(format!(
                        "{}: date, time or party size missing",
                        action.name()
                    ));
                    return Flowing::Fail;
                };
                if let Err(issue) = policy::check_time(&self.snap.business, self.now, date, time) {
                    self.refuse(&issue, date, time);
                    return Flowing::Fail;
                }
                if action == Action::CheckAvailability {
                    self.tool(
                        ToolKind::CheckAvailability {
                            date,
                            time,
                            party_size: party,
                        },
                        Pending::Check,
                        out,
                    )
                } else {
                    let Some(name) = self
                        .slots
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                    else {
                        self.errors.push("book: name missing".into());
                        return Flowing::Fail;
                    };
                    if !self.booking_allowed(host, out) {
                        return Flowing::Jumped;
                    }
                    let kind = ToolKind::Book {
                        date,
                        time,
                        party_size: party,
                        name,
                        whatsapp_consent: self
                            .slots
                            .get("whatsapp_consent")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        notes: params.notes.as_deref().and_then(|src| self.notes(src)),
                    };
                    self.tool(kind, Pending::Book, out)
                }
            }
            Action::Modify | Action::Cancel => {
                let Some(find) = self.date_in(params.find_date_slot()) else {
                    return Flowing::Fail;
                };
                if let Some(slot) = &params.verify_name
                    && self.said_name(slot).is_none()
                {
                    self.errors.push(format!(
                        "{}: the verify_name slot `{slot}` is empty; collect it before this step",
                        action.name()
                    ));
                    return Flowing::Fail;
                }
                let pending = if action == Action::Modify {
                    let new_date = match &params.new_date {
                        None => None,
                        Some(slot) => match self.date_in(slot) {
                            Some(d) => Some(d),
                            None => {
                                self.errors
                                    .push(format!("modify: the new_date slot `{slot}` is empty"));
                                return Flowing::Fail;
                            }
                        },
                    };
                    // The day and time the booking would have afterwards must be bookable;
                    // collect steps check `date`/`time` already, this covers any slot a
                    // flow names as `new_date`.
                    let day = new_date.unwrap_or(find);
                    let issue = match self.slot_time() {
                        Some(t) => policy::check_time(&self.snap.business, self.now, day, t).err(),
                        None if new_date.is_some() => {
                            policy::check_date(&self.snap.business, self.now, day).err()
                        }
                        None => None,
                    };
                    if let Some(issue) = issue {
                        let t = self.slot_time().unwrap_or_default();
                        self.refuse(&issue, day, t);
                        return Flowing::Fail;
                    }
                    Pending::FindThenModify { find, new_date }
                } else {
                    Pending::FindThenCancel { find }
                };
                self.tool(
                    ToolKind::FindReservations { date: Some(find) },
                    pending,
                    out,
                )
            }
            Action::RequestCallback => {
                let kind = ToolKind::CreateCallback {
                    name: self
                        .slots
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    date: self.slot_date(),
                    time: self.slot_time(),
                    party_size: self.slot_u32("party_size"),
                };
                self.tool(kind, Pending::Callback, out)
            }
            Action::SendFollowup => {
                let w = &self.snap.business.whatsapp;
                let consent = self
                    .slots
                    .get("whatsapp_consent")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                match &self.reservation_id {
                    // Without the caller's number there is nobody to send it to.
                    Some(id)
                        if w.enabled
                            && self.caller.has_number
                            && (consent || !w.requires_consent) =>
                    {
                        let kind = ToolKind::SendFollowup {
                            reservation_id: id.clone(),
                        };
                        self.tool(kind, Pending::Followup, out)
                    }
                    _ => Flowing::Fail,
                }
            }
            Action::LookupMenu => self.lookup_menu(),
            Action::AnswerFaq => self.answer_faq(),
            Action::Transfer => match self.snap.business.transfer_phone.clone() {
                Some(to) => {
                    out.push(Output::Transfer { to: Some(to) });
                    self.ended = true;
                    self.frame = None;
                    self.wait = Wait::Over;
                    Flowing::Stop
                }
                None => Flowing::Fail,
            },
            Action::EndCall => {
                self.hang_up(HangupReason::Completed, out);
                Flowing::Stop
            }
        }
    }

    /// Asks the plugins' `before_booking` hooks. A denial is spoken (the plugin's message)
    /// and the call goes to the handoff flow, where a person or a callback takes over. A hook
    /// that fails (an error, a sandbox limit) denies too: the rule it enforces may be one the
    /// business must never break, so an unanswered question is not a yes. The caller hears the
    /// handoff flow's words; the error is recorded.
    fn booking_allowed(&mut self, host: &dyn ScriptHost, out: &mut Vec<Output>) -> bool {
        let reservation = Value::Object(self.slots.clone());
        let message = match host.before_booking(&reservation, &self.scope(None)) {
            Ok(d) if d.allow => return true,
            Ok(d) => d.message,
            Err(e) => {
                tracing::warn!(error = %e, "A before_booking hook failed, so the booking was not made.");
                self.script_failed(
                    crate::problems::ProblemSource::Hook,
                    "before_booking",
                    &e,
                    format!("before_booking failed, so the booking was not made: {e}"),
                );
                None
            }
        };
        if let Some(text) = message.as_ref().and_then(|m| m.text(self.lang.code())) {
            self.say_text(text, out);
        }
        self.stack.clear();
        match self.flow_with_action(Action::Transfer) {
            Some(f) => self.start_flow(&f, None),
            None => {
                let fb = self.snap.business.fallback_flow.clone();
                self.start_flow(&fb, None);
            }
        }
        false
    }

    fn tool(&mut self, kind: ToolKind, pending: Pending, out: &mut Vec<Output>) -> Flowing {
        let call_id = self.next_call;
        self.next_call += 1;
        out.push(Output::Tool(ToolCall {
            call_id,
            kind,
            language: self.lang,
        }));
        self.wait = Wait::Tool { call_id, pending };
        Flowing::Wait
    }

    /// A tool result arrived: continue the waiting action.
    pub(crate) fn on_tool(
        &mut self,
        call_id: u32,
        result: ToolResult,
        host: &dyn ScriptHost,
        out: &mut Vec<Output>,
    ) {
        let Wait::Tool {
            call_id: expected,
            pending,
        } = self.wait.clone()
        else {
            tracing::warn!(call_id, "Tool result while not waiting for one; ignored.");
            return;
        };
        if call_id != expected {
            tracing::warn!(call_id, expected, "Tool result for another call; ignored.");
            return;
        }
        self.wait = Wait::Idle;
        let flowing = match (pending, result) {
            (Pending::Check, ToolResult::Available) => Flowing::Next,
            (Pending::Book, ToolResult::Booked { reservation_id }) => {
                self.reservation_id = Some(reservation_id);
                self.committed = true;
                Flowing::Next
            }
            (Pending::Check | Pending::Book, ToolResult::Full { alternatives }) => {
                self.offer(self.slot_date(), alternatives);
                Flowing::Fail
            }
            (
                Pending::FindThenModify { find, .. } | Pending::FindThenCancel { find },
                ToolResult::Found(list),
            ) => match pick_booking(list, find, self.verify_name().as_deref()) {
                Some((r, on_that_day)) => {
                    self.result = json!({ "found": {
                        "date": r.date.format("%Y-%m-%d").to_string(),
                        "time": r.time.format("%H:%M").to_string(),
                        "party_size": r.party_size,
                        "on_that_day": on_that_day,
                    }});
                    let (kind, next) = match pending {
                        Pending::FindThenModify { new_date, .. } => (
                            ToolKind::Modify {
                                reservation_id: r.id.clone(),
                                party_size: self.slot_u32("party_size"),
                                date: new_date.filter(|d| *d != r.date),
                                time: self.slot_time(),
                            },
                            Pending::Modify {
                                day: new_date.unwrap_or(r.date),
                            },
                        ),
                        _ => (
                            ToolKind::Cancel {
                                reservation_id: r.id.clone(),
                            },
                            Pending::Cancel,
                        ),
                    };
                    self.found = Some(r);
                    self.tool(kind, next, out)
                }
                None => Flowing::Fail,
            },
            (Pending::Modify { day }, ToolResult::Full { alternatives }) => {
                self.offer(Some(day), alternatives);
                Flowing::Fail
            }
            (Pending::Modify { .. } | Pending::Cancel, ToolResult::Done) => {
                self.committed = true;
                Flowing::Next
            }
            (Pending::Callback | Pending::Followup, ToolResult::Done) => Flowing::Next,
            (_, ToolResult::Failed { message }) => {
                tracing::warn!(%message, "Tool failed.");
                Flowing::Fail
            }
            (p, r) => {
                self.errors
                    .push(format!("unexpected tool result {r:?} for {p:?}"));
                Flowing::Fail
            }
        };
        let step = self
            .frame
            .as_ref()
            .and_then(|f| f.flow.steps.get(f.step).map(|s| (s.next, s.kind.clone())));
        let Some((next, kind)) = step else {
            return;
        };
        match flowing {
            Flowing::Next => self.advance(next),
            Flowing::Fail => {
                if let vartalaap_config::model::flow::StepKind::Action { on_failure, .. } = kind {
                    match on_failure {
                        Some(t) => self.jump(&t),
                        None => {
                            let fb = self.snap.business.fallback_flow.clone();
                            self.start_flow(&fb, None);
                        }
                    }
                }
            }
            Flowing::Wait | Flowing::Stop | Flowing::Jumped => return,
        }
        self.run(host, out);
    }

    /// The name the caller gave for the booking being changed, when the current action
    /// step requires one (`verify_name`).
    fn verify_name(&self) -> Option<String> {
        let frame = self.frame.as_ref()?;
        let step = frame.flow.steps.get(frame.step)?;
        let vartalaap_config::model::flow::StepKind::Action { params, .. } = &step.kind else {
            return None;
        };
        self.said_name(params.verify_name.as_deref()?)
    }

    fn said_name(&self, slot: &str) -> Option<String> {
        self.slots
            .get(slot)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
    }

    /// `result.alternatives`: the free times on `date` offered, spoken, filtered by the
    /// policy. Whatever else `result` holds (the booking found) stays.
    fn offer(&mut self, date: Option<NaiveDate>, alternatives: Vec<NaiveTime>) {
        let lang = lang_of(self.lang);
        let times: Vec<NaiveTime> = alternatives
            .into_iter()
            .filter(|t| {
                date.is_some_and(|d| {
                    policy::check_time(&self.snap.business, self.now, d, *t).is_ok()
                })
            })
            .take(ALTERNATIVES)
            .collect();
        self.offered.extend(times.iter().copied());
        let spoken: Vec<Value> = times
            .into_iter()
            .map(|t| Value::from(vartalaap_lang::speak_time(t, lang)))
            .collect();
        match &mut self.result {
            Value::Object(m) => {
                m.insert("alternatives".into(), Value::from(spoken));
            }
            other => *other = json!({ "alternatives": spoken }),
        }
    }

    /// A policy refusal at an action: nearest valid times as `result.alternatives`.
    fn refuse(&mut self, issue: &PolicyIssue, date: chrono::NaiveDate, time: NaiveTime) {
        let times = if issue.is_about_date() {
            Vec::new()
        } else {
            policy::nearest_times(&self.snap.business, self.now, date, time, ALTERNATIVES)
        };
        self.offer(Some(date), times);
        self.explain_policy(issue, false);
    }

    /// Fills `policy` for templates and returns the template that explains `issue`:
    /// `policy_<reason>` when the business has one, else `closed_on_date` for date problems
    /// and `no_availability` (with nearest times) for time problems.
    ///
    /// `on_date` says the refusal is about the date just given: a "too soon" there means no
    /// time is left that day (`policy_no_time_left`), so another day is asked for.
    pub(crate) fn explain_policy(&mut self, issue: &PolicyIssue, on_date: bool) -> Option<String> {
        let about_date = on_date || issue.is_about_date();
        let lang = lang_of(self.lang);
        let mut p = serde_json::to_value(issue).unwrap_or_else(|_| json!({}));
        let alternatives: Vec<Value> = match (self.booking_date(), self.slot_time()) {
            (Some(d), Some(t)) if !about_date => {
                // Between two slots, the two neighbours are the natural offer.
                let n = if matches!(issue, PolicyIssue::NotOnSlot { .. }) {
                    2
                } else {
                    ALTERNATIVES
                };
                let times = policy::nearest_times(&self.snap.business, self.now, d, t, n);
                self.offered.extend(times.iter().copied());
                times
                    .into_iter()
                    .map(|t| Value::from(vartalaap_lang::speak_time(t, lang)))
                    .collect()
            }
            _ => Vec::new(),
        };
        if let Value::Object(m) = &mut p {
            m.insert("alternatives".into(), Value::from(alternatives.clone()));
        }
        self.policy_issue = p;
        let own = if on_date && matches!(issue, PolicyIssue::TooSoon { .. }) {
            "policy_no_time_left".to_string()
        } else {
            format!("policy_{}", issue.code())
        };
        if self.snap.business.prompts.has(self.lang, &own) {
            return Some(own);
        }
        if about_date {
            let note = match issue {
                PolicyIssue::ClosedDay { note } => note.clone().unwrap_or_default(),
                _ => String::new(),
            };
            self.vars
                .insert("closure".into(), json!({ "closed": true, "note": note }));
            self.first_template(&["closed_on_date"])
        } else {
            self.result = json!({ "alternatives": alternatives });
            self.first_template(&["no_availability"])
        }
    }

    /// Menu items the caller asked about (or the veg/recommended list for a general
    /// question), as `result.items`.
    fn lookup_menu(&mut self) -> Flowing {
        let menu = &self.snap.business.menu;
        let matches = crate::understand::menu_mentions(&self.utterance, &self.knowledge);
        let mut ids: Vec<String> = match matches.first() {
            Some((_, best)) => matches
                .iter()
                .filter(|(_, s)| *s >= best - 0.05)
                .map(|(id, _)| id.clone())
                .collect(),
            None => Vec::new(),
        };
        if ids.is_empty() {
            let text = self.utterance.to_lowercase();
            let veg = ["veg", "vegetarian", "शाकाहारी", "वेज", "shakahari"]
                .iter()
                .any(|w| {
                    text.split(|c: char| !c.is_alphanumeric()).any(|t| t == *w)
                        || text.contains("वेज")
                });
            let recommend = [
                "recommend",
                "special",
                "best",
                "famous",
                "khaas",
                "ख़ास",
                "खास",
            ]
            .iter()
            .any(|w| text.contains(w));
            if veg {
                ids = menu
                    .items()
                    .filter(|i| matches!(i.diet, Some(Diet::Veg | Diet::Vegan)) && i.available)
                    .map(|i| i.id.clone())
                    .collect();
            } else if recommend {
                ids = menu.recommended.clone();
            }
        }
        ids.truncate(MENU_ITEMS_SPOKEN);
        let items: Vec<Value> = ids
            .iter()
            .filter_map(|id| menu.item(id))
            .map(|i| {
                json!({
                    "id": i.id,
                    "name": { "en": i.name.en, "hi": i.name.hi },
                    "price_inr": i.price_inr,
                    "price_spoken": vartalaap_lang::speak_money_inr(u64::from(i.price_inr), lang_of(self.lang)),
                    "available": i.available,
                    "diet": i.diet.map(|d| match d { Diet::Veg => "veg", Diet::NonVeg => "non_veg", Diet::Vegan => "vegan" }),
                    "jain_on_request": i.jain_on_request,
                    "allergens": i.allergens,
                })
            })
            .collect();
        if items.is_empty() {
            // Not on the menu: say what was asked about (`result.named`, empty for a general
            // question) and what the menu has that is like it (`result.similar`).
            let named = vartalaap_lang::named_things(&self.utterance);
            let similar: Vec<Value> = similar_items(menu, &named)
                .into_iter()
                .map(|i| json!({ "id": i.id, "name": { "en": i.name.en, "hi": i.name.hi } }))
                .collect();
            self.result = json!({ "named": named, "similar": similar });
            return Flowing::Fail;
        }
        self.result = json!({ "items": items });
        Flowing::Next
    }

    /// The FAQ matching the caller's question, answered in the reply language.
    fn answer_faq(&mut self) -> Flowing {
        // The whole question, else a word only one policy is about ("beer hai?").
        let Some(m) = self
            .knowledge
            .faqs
            .classify(&self.utterance)
            .filter(|m| m.repair.is_none())
            .or_else(|| self.knowledge.faqs.topic(&self.utterance))
        else {
            return Flowing::Fail;
        };
        let Some(faq) = self.snap.business.faqs.iter().find(|f| f.id == m.intent) else {
            return Flowing::Fail;
        };
        let answer = faq
            .answer
            .get(&self.lang)
            .or_else(|| faq.answer.get(&self.snap.business.languages.default));
        match answer {
            Some(a) => {
                self.result = json!({ "id": faq.id, "answer": a });
                Flowing::Next
            }
            None => Flowing::Fail,
        }
    }

    /// Renders a `book` step's notes template. A template that fails to render is recorded
    /// as an error and the booking is made without notes: notes never block a booking.
    fn notes(&mut self, source: &str) -> Option<String> {
        match self
            .renderer
            .render_str(self.lang, source, self.template_context())
        {
            Ok(text) => Some(text).filter(|t| !t.is_empty()),
            Err(e) => {
                self.errors.push(format!("book notes: {e}"));
                None
            }
        }
    }

    pub(crate) fn slot_u32(&self, name: &str) -> Option<u32> {
        self.slots
            .get(name)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    }
}

/// Most dishes suggested instead of one the menu does not have.
const SIMILAR_SUGGESTED: usize = 2;

/// Available items like the dish the caller named (`named`: the caller's words), best first,
/// deterministic: an item scores 2 for each named word among its own words (names, aliases,
/// its category's name: "chicken biryani" → the chicken dishes) and 1 for each named word of
/// the same kind of dish (`vartalaap_lang::dish_kind`: "biryani" and "thali" are both rice,
/// "coffee" and "chai" both drinks). Ties keep menu order. Nothing named, or nothing alike:
/// the menu's recommended items.
fn similar_items<'m>(
    menu: &'m vartalaap_config::model::business::Menu,
    named: &[String],
) -> Vec<&'m vartalaap_config::model::business::MenuItem> {
    if named.is_empty() {
        return Vec::new();
    }
    let words_of = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric() && !is_devanagari_mark(c))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let mut scored: Vec<(u32, usize, &vartalaap_config::model::business::MenuItem)> = Vec::new();
    let mut order = 0usize;
    for cat in &menu.categories {
        let cat_words: Vec<String> = words_of(&cat.name.en)
            .into_iter()
            .chain(words_of(&cat.name.hi))
            .collect();
        for item in &cat.items {
            order += 1;
            if !item.available {
                continue;
            }
            let mut own: Vec<String> = words_of(&item.name.en)
                .into_iter()
                .chain(words_of(&item.name.hi))
                .chain(item.aliases.iter().flat_map(|a| words_of(a)))
                .collect();
            own.extend(cat_words.iter().cloned());
            let singular = |w: &str| w.strip_suffix('s').unwrap_or(w).to_string();
            let kinds: Vec<&str> = own
                .iter()
                .filter_map(|w| vartalaap_lang::dish_kind(w))
                .collect();
            let score: u32 = named
                .iter()
                .map(|n| {
                    if own.iter().any(|w| singular(w) == singular(n)) {
                        2
                    } else if vartalaap_lang::dish_kind(n).is_some_and(|k| kinds.contains(&k)) {
                        1
                    } else {
                        0
                    }
                })
                .sum();
            if score > 0 {
                scored.push((score, order, item));
            }
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<_> = scored.into_iter().map(|(_, _, i)| i).collect();
    if out.is_empty() {
        out = menu
            .recommended
            .iter()
            .filter_map(|id| menu.item(id))
            .filter(|i| i.available)
            .collect();
    }
    out.truncate(SIMILAR_SUGGESTED);
    out
}

/// Devanagari vowel signs and virama are not alphanumeric but belong inside a word.
fn is_devanagari_mark(c: char) -> bool {
    ('\u{0900}'..='\u{097F}').contains(&c)
}

/// The caller's booking on `day` among `found`, and how many they have that day.
///
/// With two bookings on one day the *earliest* is taken (a deterministic, documented choice:
/// the engine has no slot that says which one); `result.found` tells the flow which booking
/// it was and `on_that_day` how many there were, so a flow can read it back or hand off.
/// The booking on `day` to change, and how many the caller has that day: the earliest of
/// them, and with `said_name` only among those under that name. A booking under another
/// name is treated exactly like no booking (the reply must not tell a caller who does not
/// know the name that a booking exists).
fn pick_booking(
    found: Vec<ReservationSummary>,
    day: NaiveDate,
    said_name: Option<&str>,
) -> Option<(ReservationSummary, usize)> {
    let on_day: Vec<ReservationSummary> = found
        .into_iter()
        .filter(|r| r.date == day)
        .filter(|r| said_name.is_none_or(|said| vartalaap_lang::names_match(said, &r.name)))
        .collect();
    let n = on_day.len();
    on_day
        .into_iter()
        .min_by_key(|r| (r.time, r.id.clone()))
        .map(|r| (r, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vartalaap_config::model::business::{Category, Menu, MenuItem, Names, Spice};

    fn item(id: &str, en: &str, available: bool) -> MenuItem {
        MenuItem {
            id: id.into(),
            name: Names {
                en: en.into(),
                hi: String::new(),
            },
            aliases: Vec::new(),
            price_inr: 100,
            diet: None,
            jain_on_request: false,
            spice: Spice::Mild,
            allergens: Vec::new(),
            available,
        }
    }

    fn menu(recommended: &[&str]) -> Menu {
        let category = |id: &str, en: &str, items: Vec<MenuItem>| Category {
            id: id.into(),
            name: Names {
                en: en.into(),
                hi: String::new(),
            },
            items,
        };
        Menu {
            categories: vec![
                category(
                    "mains",
                    "Mains",
                    vec![
                        item("dal_bhat_thali", "Dal bhat thali", true),
                        item("chilli_chicken", "Chilli chicken", true),
                        item("mutton_thali", "Mutton thali", true),
                    ],
                ),
                category(
                    "drinks",
                    "Drinks",
                    vec![
                        item("butter_tea", "Butter tea", false),
                        item("masala_chai", "Masala chai", true),
                        item("lime_soda", "Fresh lime soda", true),
                    ],
                ),
            ],
            recommended: recommended.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn similar(menu: &Menu, named: &[&str]) -> Vec<String> {
        let named: Vec<String> = named.iter().map(|s| s.to_string()).collect();
        similar_items(menu, &named)
            .into_iter()
            .map(|i| i.id.clone())
            .collect()
    }

    #[test]
    fn similar_dishes_share_a_word_or_a_kind_and_are_available() {
        let m = menu(&[]);
        // A shared word beats a shared kind: the chicken dish first, then a rice dish.
        assert_eq!(
            similar(&m, &["chicken", "biryani"]),
            ["chilli_chicken", "dal_bhat_thali"]
        );
        // Same kind (rice), menu order on ties.
        assert_eq!(
            similar(&m, &["biryani"]),
            ["dal_bhat_thali", "mutton_thali"]
        );
        // Drinks by kind; butter tea is not available today.
        assert_eq!(similar(&m, &["coffee"]), ["masala_chai", "lime_soda"]);
        // Nothing alike and nothing recommended: no suggestion; a general question: none.
        assert!(similar(&m, &["pizza"]).is_empty());
        assert!(similar(&m, &[]).is_empty());
        // Nothing alike: the recommended items.
        assert_eq!(
            similar(&menu(&["mutton_thali"]), &["pizza"]),
            ["mutton_thali"]
        );
    }

    fn booking(id: &str, date: &str, time: &str) -> ReservationSummary {
        ReservationSummary {
            id: id.into(),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            party_size: 1,
            name: "Asha".into(),
        }
    }

    #[test]
    fn the_earliest_booking_on_the_day_is_taken_and_counted() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let found = vec![
            booking("R3", "2026-12-03", "09:00"),
            booking("R1", "2026-12-02", "18:00"),
            booking("R2", "2026-12-02", "10:30"),
        ];
        let (r, n) = pick_booking(found.clone(), day, None).unwrap();
        assert_eq!((r.id.as_str(), n), ("R2", 2));
        // Another day's booking is never taken.
        assert!(pick_booking(found[..1].to_vec(), day, None).is_none());
    }

    #[test]
    fn with_a_name_only_bookings_under_that_name_are_taken() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let mut other = booking("R1", "2026-12-02", "09:00");
        other.name = "Vikram".into();
        let found = vec![other, booking("R2", "2026-12-02", "10:30")];
        let (r, n) = pick_booking(found.clone(), day, Some("आशा")).unwrap();
        assert_eq!((r.id.as_str(), n), ("R2", 1));
        // A wrong name finds nothing, exactly like no booking at all.
        assert!(pick_booking(found, day, Some("Meena")).is_none());
    }
}
