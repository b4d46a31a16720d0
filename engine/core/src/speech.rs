//! Turning a template name into a `Say` in the conversation's language.
//!
//! The context every template sees (documented for authors in `docs/FLOWS.md`):
//! `business` (the business document, keys as in the YAML), `slots` (canonical values),
//! `spoken` (slot values as the language says them: `party_size` "चार"/"four"/"chaar",
//! `date` "कल"/"tomorrow", `time` "रात आठ बजे"/"8 pm"), `vars` (plugin results), `result`
//! (the last action's result), `policy` (the last policy refusal), `lang` and `today`.

use chrono::{NaiveDate, NaiveTime};
use minijinja::Value as MjValue;
use serde_json::{Map, Value};

use crate::conversation::Conversation;
use crate::io::Output;
use crate::render::lang_of;

impl Conversation {
    /// Renders `template` and queues it. A render error is recorded and nothing is said for
    /// it (the conversation continues), so a broken template never crashes a call.
    pub(crate) fn say(&mut self, template: &str, out: &mut Vec<Output>) {
        self.note_speaker();
        let ctx = self.template_context();
        match self.renderer.render(self.lang, template, ctx) {
            Ok(text) if text.is_empty() => {}
            Ok(text) => {
                self.trace.langs.insert(self.lang);
                out.push(Output::Say {
                    text,
                    lang: self.lang,
                    template: Some(template.to_string()),
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "Template failed to render.");
                self.template_failed(&e);
            }
        }
    }

    /// Queues text that did not come from a template (a plugin's message).
    pub(crate) fn say_text(&mut self, text: &str, out: &mut Vec<Output>) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.note_speaker();
        self.trace.langs.insert(self.lang);
        out.push(Output::Say {
            text: text.to_string(),
            lang: self.lang,
            template: None,
        });
    }

    pub(crate) fn template_context(&self) -> MjValue {
        minijinja::context! {
            business => self.business_value.clone(),
            slots => MjValue::from_serialize(&self.slots),
            spoken => MjValue::from_serialize(self.spoken()),
            vars => MjValue::from_serialize(&self.vars),
            result => MjValue::from_serialize(&self.result),
            policy => MjValue::from_serialize(&self.policy_issue),
            lang => self.lang.code(),
            today => self.now.date().format("%Y-%m-%d").to_string(),
        }
    }

    /// Slot values as spoken in the reply language.
    fn spoken(&self) -> Map<String, Value> {
        let lang = lang_of(self.lang);
        let mut m = Map::new();
        if let Some(n) = self.slot_u32("party_size") {
            m.insert(
                "party_size".into(),
                Value::from(vartalaap_lang::speak_number(u64::from(n), lang)),
            );
        }
        if let Some(d) = self
            .slots
            .get("date")
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            m.insert(
                "date".into(),
                Value::from(vartalaap_lang::speak_date(d, self.now.date(), lang)),
            );
        }
        if let Some(t) = self
            .slots
            .get("time")
            .and_then(Value::as_str)
            .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
        {
            m.insert(
                "time".into(),
                Value::from(vartalaap_lang::speak_time(t, lang)),
            );
        }
        if let Some(n) = self.slots.get("name").and_then(Value::as_str) {
            m.insert("name".into(), Value::from(n));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::PolicyIssue;
    use vartalaap_config::model::prompts::POLICY_FIELDS;

    /// Config rejects templates that name a `policy.*` field outside `POLICY_FIELDS`; every
    /// field a refusal carries must be in that list, or a valid template would be refused.
    #[test]
    fn every_policy_field_is_one_config_accepts() {
        let issues = [
            PolicyIssue::PastDate,
            PolicyIssue::ClosedDay { note: None },
            PolicyIssue::TooFarAhead { max_days: 30 },
            PolicyIssue::TooSoon {
                min_lead_minutes: 60,
            },
            PolicyIssue::OutsideHours,
            PolicyIssue::NotOnSlot { slot_minutes: 30 },
            PolicyIssue::PartyTooSmall { min: 1 },
            PolicyIssue::PartyTooLarge { max: 20 },
            PolicyIssue::LargeParty {
                max_phone_party: 10,
                callback: true,
            },
        ];
        for issue in issues {
            let value = serde_json::to_value(&issue).unwrap();
            for key in value.as_object().unwrap().keys() {
                assert!(
                    POLICY_FIELDS.contains(&key.as_str()),
                    "{issue:?} carries `policy.{key}`, which config does not accept"
                );
            }
        }
    }
}
