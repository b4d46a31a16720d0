//! Compiled, validated configuration types: what the rest of Vartalaap reads.
//!
//! Everything here was produced by `compile` from a document that passed its JSON Schema and the
//! semantic checks, so consumers never re-validate: times are `NaiveTime`, the timezone is a
//! `chrono_tz::Tz`, templates are parsed, scripts compiled, and every cross-reference (flow,
//! step, slot, plugin function, template, menu item) is known to resolve.

pub mod business;
pub mod flow;
pub mod plugin;
pub mod prompts;

use std::fmt;

use serde::Serialize;

/// A language the bot speaks. Hinglish is romanized Hindi mixed with English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Hindi in Devanagari script.
    Hi,
    /// English (Indian).
    En,
    /// Romanized Hindi–English mix.
    Hinglish,
}

impl Lang {
    /// Every language, in a stable order.
    pub const ALL: [Lang; 3] = [Lang::Hi, Lang::En, Lang::Hinglish];

    /// The code used in YAML keys (`hi`, `en`, `hinglish`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Hi => "hi",
            Lang::En => "en",
            Lang::Hinglish => "hinglish",
        }
    }

    /// Parses a YAML language code.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
