//! Everything the extractors find in one utterance, from a single tokenization.
//!
//! The dialog engine builds one [`Analyzer`] per configuration snapshot (menu, flow intents,
//! opening hours) and calls [`Analyzer::analyze`] once per caller turn: the utterance is
//! tokenized once and every extractor reads the same tokens, so a turn costs a few tens of
//! microseconds instead of re-tokenizing per slot.

use chrono::{NaiveDate, NaiveDateTime};

use crate::date::dates_in;
use crate::intent::{IntentIndex, classify_tokens};
use crate::language::evidence_from_tokens;
use crate::menu::MenuIndex;
use crate::name::plausible_name_in;
use crate::normalize::tokenize;
use crate::party::party_in;
use crate::time::{day_part_in, time_in};
use crate::yesno::yes_no_in;
use crate::{
    DateContext, DayPart, Extraction, IntentExamples, IntentMatch, LanguageEvidence, MenuEntry,
    TimeExtraction, TimeHints, YesNoReply,
};

/// What one utterance says, slot by slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    /// Language of the utterance and how strongly (for [`crate::LanguagePolicy`]).
    pub language: LanguageEvidence,
    /// A date, resolved against the reference time.
    pub date: Option<Extraction<NaiveDate>>,
    /// A clock time.
    pub time: Option<TimeExtraction>,
    /// The part of the day named ("shaam", "tonight"), for reading a later bare hour.
    pub day_part: Option<DayPart>,
    /// A party size.
    pub party_size: Option<Extraction<u32>>,
    /// A yes/no answer and anything said with it.
    pub yes_no: Option<YesNoReply>,
    /// A name.
    pub name: Option<Extraction<String>>,
    /// Menu items mentioned, best first.
    pub menu_items: Vec<(String, f32)>,
    /// The intent (flow or built-in repair).
    pub intent: Option<IntentMatch>,
}

/// Precompiled menu, intents and opening hours for analysing many utterances.
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    menu: MenuIndex,
    intents: IntentIndex,
    hints: TimeHints,
}

impl Analyzer {
    /// Prepares the menu and intent indexes once.
    pub fn new(menu: &[MenuEntry], intents: &[IntentExamples], hints: TimeHints) -> Self {
        Analyzer {
            menu: MenuIndex::new(menu),
            intents: IntentIndex::new(intents),
            hints,
        }
    }

    /// Runs every extractor on `text`; `reference` is the conversation's local time.
    pub fn analyze(&self, text: &str, reference: NaiveDateTime, ctx: DateContext) -> Understanding {
        let toks = tokenize(text);
        Understanding {
            language: evidence_from_tokens(&toks),
            date: dates_in(&toks, reference.date(), ctx),
            time: time_in(&toks, &self.hints),
            day_part: day_part_in(&toks),
            party_size: party_in(&toks),
            yes_no: yes_no_in(&toks),
            name: plausible_name_in(text, &toks),
            menu_items: self.menu.match_tokens(&toks),
            intent: classify_tokens(&toks, &self.intents),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lang, extract_date, extract_name, extract_party_size, extract_time};

    #[test]
    fn same_answers_as_the_single_extractors() {
        let reference = NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|d| d.and_hms_opt(18, 0, 0))
            .unwrap();
        let a = Analyzer::new(&[], &[], TimeHints::default());
        for text in [
            "kal raat 8 baje 4 log, naam Rahul",
            "अगले शुक्रवार साढ़े सात बजे दो लोग",
            "nahi, 5 log",
        ] {
            let u = a.analyze(text, reference, DateContext::booking());
            assert_eq!(
                u.date.map(|d| d.value),
                extract_date(text, reference, DateContext::booking())
            );
            assert_eq!(
                u.time.map(|t| t.time),
                extract_time(text, &TimeHints::default())
            );
            assert_eq!(u.party_size.map(|p| p.value), extract_party_size(text));
            assert_eq!(u.name.map(|n| n.value), extract_name(text));
        }
        let u = a.analyze("मेरा नाम राहुल है", reference, DateContext::booking());
        assert_eq!(u.language.lang, Lang::Hi);
    }
}
