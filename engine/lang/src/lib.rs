//! Offline language understanding and speaking for Hindi, English and Hinglish.
//!
//! Everything here is a pure function of its arguments: no I/O, no clock, no randomness. The
//! dialog engine passes in what the words mean relative to (the conversation's local time, the
//! business's opening hours, its menu, the flow's example phrases), so a whole conversation
//! replays identically in tests.
//!
//! The design decision is one shared [tokenizer](mod@normalize) with one [vocabulary](lexicon)
//! feeding small hand-written extractors, instead of a regex or model per slot: every spelling
//! variant ("kl", "कल", "kal") is taught once and every extractor benefits, each extractor stays
//! readable and testable, and extraction of all slots from an utterance takes microseconds.
//!
//! Understanding: [`detect_language`]/[`LanguagePolicy`], [`extract_number`], [`extract_date`],
//! [`extract_time`], [`extract_day_part`], [`extract_party_size`], [`extract_yes_no`], [`extract_name`],
//! [`match_menu_item`], [`classify_intent`], in-sentence corrections ([`says_correction`];
//! "kal nahi, parso" keeps parso in every extractor), request shapes ([`announces_visit`],
//! [`asks_to_book`], [`asks_overview`], [`asks_availability`]), and all of them at once from one tokenization:
//! [`Analyzer`]. Speaking: [`speak_number`], [`speak_money_inr`],
//! [`speak_time`], [`speak_date`], [`split_sentences`], [`SentenceSplitter`]. The behaviour
//! is specified by the utterance table in `tests/nlu/*.yaml` and described in
//! `docs/LANGUAGE.md`.

#![deny(missing_docs)]

mod analyze;
mod correction;
mod date;
mod intent;
mod language;
pub mod lexicon;
mod menu;
mod name;
mod name_match;
pub mod normalize;
mod numbers;
mod party;
mod request;
mod sentence;
mod speak;
mod time;
mod yesno;

use std::ops::Range;

pub use analyze::{Analyzer, Understanding};
pub use correction::{Replacement, says_correction, split_correction};
pub use date::{DateContext, DateSense, extract_date, extract_date_detail};
pub use intent::{IntentExamples, IntentIndex, IntentMatch, RepairIntent, classify_intent};
pub use language::{Lang, LanguageEvidence, LanguagePolicy, detect_language, language_evidence};
pub use menu::{MenuEntry, MenuIndex, dish_kind, match_menu_item};
pub use name::{extract_name, extract_name_detail, is_plausible_name};
pub use name_match::names_match;
pub use normalize::{Token, normalize, tokenize};
pub use numbers::{extract_number, extract_number_detail};
pub use party::{extract_party_size, extract_party_size_detail};
pub use request::{announces_visit, asks_availability, asks_overview, asks_to_book, named_things};
pub use sentence::{SentenceSplitter, split_sentences};
pub use speak::{speak_date, speak_money_inr, speak_number, speak_time};
pub use time::{
    DayPart, TimeExtraction, TimeHints, extract_day_part, extract_time, extract_time_detail,
};
pub use yesno::{YesNoReply, extract_yes_no, extract_yes_no_detail};

/// A value found in an utterance, with where it was said and how sure the extractor is.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction<T> {
    /// The value.
    pub value: T,
    /// Byte range in the original utterance of the words that gave the value.
    pub span: Range<usize>,
    /// 0.0–1.0: 1.0 for an explicit pattern ("4 log", "25 December"), lower for guesses from
    /// context (a bare number, a bare name), so the dialog can confirm low-confidence values.
    pub confidence: f32,
}

/// Errors of this crate. Understanding never fails (it returns `None`); this exists for parsing
/// configuration-like inputs such as language codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LangError {
    /// A language code that is not `hi`, `en` or `hinglish`.
    #[error("unknown language code {code:?}: use one of \"hi\", \"en\", \"hinglish\"")]
    UnknownLanguage {
        /// The code as given.
        code: String,
    },
}

impl std::str::FromStr for Lang {
    type Err = LangError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::from_code(s).ok_or_else(|| LangError::UnknownLanguage {
            code: s.to_string(),
        })
    }
}

/// Span covering tokens `from..=to`.
pub(crate) fn span_of(toks: &[Token], from: usize, to: usize) -> Range<usize> {
    toks[from].span.start..toks[to].span.end
}
