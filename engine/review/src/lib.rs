//! The review loop's offline reviewer: after every call, three pure stages read the stored
//! call (its turns, what handled each, timings, STT confidence, outcome):
//!
//! 1. **QA reviewer** ([`qa`]) — finds what went wrong, each finding tied to the turn it is
//!    about and the flow step that answered;
//! 2. **classifier** ([`classify`]) — gives each finding one root cause
//!    ([`ReviewCategory`](vartalaap_store::ReviewCategory));
//! 3. **improver** ([`improve`]) — turns findings into suggestions naming the business file
//!    and the YAML path or flow step to change, with proposed text where it can write one;
//!
//! and [`score`] rates the call 1–5. [`summary::call_summary`] writes the short account stored
//! on the call log.
//!
//! With a language model configured, [`review_call_with_model`] runs the same stages as model
//! calls whose answers are schema-validated and checked here, each stage falling back to its
//! offline result; [`Masker`] removes phone numbers and the caller's name from everything
//! sent, and [`llm_summary`] asks for a one-sentence summary. The model itself is reached
//! through the [`ReviewModel`] trait, implemented at the edge (`vartalaap-llm`).
//!
//! **Invariant:** nothing here reads the clock, does I/O or draws random numbers; the same
//! call and configuration always give the same review (`docs/REVIEWS.md`).

#![deny(missing_docs)]

pub mod classify;
pub mod improve;
pub mod layout;
pub mod llm_review;
pub mod llm_summary;
pub mod mask;
pub mod model;
pub mod qa;
pub mod summary;

pub use layout::{BusinessLayout, FlowLayout, StepLayout, StepRole};
pub use llm_review::{ModelReview, ReviewStage, StageOutcome, review_call_with_model};
pub use mask::Masker;
pub use model::{Message, ModelAnswer, ModelFailure, ReviewModel, Role};
pub use qa::{Finding, FindingKind, Thresholds};
pub use summary::call_summary;

use vartalaap_store::{CallWithTurns, NewSuggestion, ReviewIssue};

/// The model name stored on reviews made by this crate.
pub const OFFLINE_MODEL: &str = "offline";

/// What the offline reviewer concluded about one call.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineReview {
    /// 1 (bad) – 5 (nothing went wrong).
    pub quality_score: u8,
    /// Findings with their root cause, in transcript order.
    pub issues: Vec<ReviewIssue>,
    /// The caller asked something the bot could not answer.
    pub has_unanswered_query: bool,
    /// What to change, most urgent first.
    pub suggestions: Vec<NewSuggestion>,
}

/// Reviews a stored call against the configuration of its business: reviewer → classifier →
/// improver.
pub fn review_call(
    call: &CallWithTurns,
    layout: &BusinessLayout,
    thresholds: &Thresholds,
) -> OfflineReview {
    let findings = qa::inspect(call, layout, thresholds);
    let issues: Vec<ReviewIssue> = findings
        .iter()
        .map(|f| classify::issue(f, layout))
        .collect();
    OfflineReview {
        quality_score: score(&findings),
        has_unanswered_query: findings.iter().any(|f| f.kind.is_unanswered_query()),
        suggestions: improve::suggest(&findings, layout),
        issues,
    }
}

/// 5 minus a penalty per finding (in half points, rounded down to whole points), never
/// below 1: a call with nothing found scores 5; a dish not on the menu costs a point; a caller
/// hanging up mid-booking costs two.
pub fn score(findings: &[Finding]) -> u8 {
    let halves: u32 = findings.iter().map(|f| f.kind.penalty_halves()).sum();
    let points = halves / 2;
    u8::try_from(5u32.saturating_sub(points).max(1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{DateTime, TimeZone, Utc};
    use vartalaap_store::{
        CallLog, CallOutcome, ConfigErrorSource, ConversationTurn, HandledBy, ReviewCategory,
        TtsFallback, TurnConfigError, TurnRole, TurnTimings,
    };

    use super::*;

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 13, 0, s).unwrap()
    }

    /// The real Himalayan Kitchen configuration, so paths and step roles are the shipped ones.
    fn kitchen() -> BusinessLayout {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let report = vartalaap_config::load_root(&root);
        let snapshot = report.businesses["himalayan_kitchen"]
            .as_ref()
            .expect("the shipped configuration loads");
        BusinessLayout::from_snapshot(snapshot)
    }

    struct Script {
        turns: Vec<ConversationTurn>,
    }

    impl Script {
        fn caller(mut self, text: &str, confidence: f32) -> Script {
            let seq = self.turns.len() as u32;
            self.turns.push(ConversationTurn {
                call_id: 7,
                seq,
                role: TurnRole::Caller,
                text: text.into(),
                language: Some("en".into()),
                stt_confidence: Some(confidence),
                started_at: at(seq),
                timings: TurnTimings::default(),
                handled_by: None,
                interrupted: false,
                played_ms: None,
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
                created_at: at(seq),
            });
            self
        }

        fn bot(mut self, intent: Option<&str>, flow: &str, step: &str, total_ms: u32) -> Script {
            let seq = self.turns.len() as u32;
            self.turns.push(ConversationTurn {
                call_id: 7,
                seq,
                role: TurnRole::Bot,
                text: "…".into(),
                language: Some("en".into()),
                stt_confidence: None,
                started_at: at(seq),
                timings: TurnTimings {
                    stt_ms: Some(200),
                    tts_first_audio_ms: Some(total_ms.saturating_sub(300)),
                    engine_ms: Some(5),
                    total_ms: Some(total_ms),
                    ..TurnTimings::default()
                },
                handled_by: Some(HandledBy {
                    intent: intent.map(str::to_string),
                    flow: Some(flow.into()),
                    step: Some(step.into()),
                }),
                interrupted: false,
                played_ms: Some(2_000),
                intended_text: None,
                tts_fallbacks: Vec::new(),
                config_errors: Vec::new(),
                corrected_slots: Vec::new(),
                created_at: at(seq),
            });
            self
        }

        /// Changes the last turn (adds signals to a bot turn).
        fn last(mut self, change: impl FnOnce(&mut ConversationTurn)) -> Script {
            change(self.turns.last_mut().expect("a turn"));
            self
        }

        fn ended(self, outcome: CallOutcome) -> CallWithTurns {
            CallWithTurns {
                call: CallLog {
                    id: 7,
                    business_id: "himalayan_kitchen".into(),
                    external_call_id: None,
                    caller_phone_hash: None,
                    caller_phone_encrypted: None,
                    started_at: at(0),
                    ended_at: Some(at(59)),
                    duration_seconds: Some(59),
                    language: Some("en".into()),
                    outcome,
                    reservation_id: None,
                    summary: None,
                    created_at: at(0),
                    updated_at: at(59),
                },
                turns: self.turns,
            }
        }
    }

    fn script() -> Script {
        Script { turns: Vec::new() }.bot(Some("greeting"), "greeting", "welcome", 0)
    }

    #[test]
    fn a_call_with_nothing_wrong_scores_five_and_suggests_nothing() {
        let call = script()
            .caller("what time do you open", 0.9)
            .bot(Some("ask_hours"), "hours_and_location", "hours", 900)
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &kitchen(), &Thresholds::default());
        assert_eq!(review.quality_score, 5);
        assert!(review.issues.is_empty(), "{:#?}", review.issues);
        assert!(review.suggestions.is_empty());
        assert!(!review.has_unanswered_query);
    }

    #[test]
    fn a_dish_not_on_the_menu_is_a_knowledge_gap_naming_the_menu() {
        let layout = kitchen();
        let call = script()
            .caller("do you have pizza", 0.92)
            .bot(Some("ask_menu"), "menu_question", "not_found", 900)
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &layout, &Thresholds::default());
        assert_eq!(review.issues.len(), 1, "{:#?}", review.issues);
        let issue = &review.issues[0];
        assert_eq!(issue.kind, "menu_item_missing");
        assert_eq!(issue.category, ReviewCategory::KnowledgeGap);
        assert_eq!(issue.turn, Some(2));
        assert_eq!(
            issue.file.as_deref(),
            Some("businesses/himalayan_kitchen.yaml")
        );
        assert_eq!(issue.yaml_path.as_deref(), Some("/menu"));
        assert_eq!(
            (issue.flow.as_deref(), issue.step.as_deref()),
            (Some("menu_question"), Some("not_found"))
        );
        assert!(review.has_unanswered_query);
        assert_eq!(review.quality_score, 4);
        let s = &review.suggestions[0];
        assert_eq!(s.category, ReviewCategory::KnowledgeGap);
        assert_eq!(s.target.file, "businesses/himalayan_kitchen.yaml");
        assert_eq!(s.target.yaml_path.as_deref(), Some("/menu"));
        assert_eq!(
            s.target.flow_step.as_deref(),
            Some("menu_question.not_found")
        );
        assert!(s.title.contains("Pizza"), "{}", s.title);
        let proposed = s.proposed_text.as_deref().unwrap();
        assert!(proposed.starts_with("- id: pizza\n"), "{proposed}");
    }

    #[test]
    fn an_unanswered_question_proposes_an_faq_entry() {
        let call = script()
            .caller("can I bring my dog", 0.9)
            .bot(Some("ask_faq"), "faq", "not_found", 900)
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &kitchen(), &Thresholds::default());
        let issue = &review.issues[0];
        assert_eq!(
            (issue.kind.as_str(), issue.yaml_path.as_deref()),
            ("unanswered_faq", Some("/faqs"))
        );
        let proposed = review.suggestions[0].proposed_text.clone().unwrap();
        assert!(
            proposed.contains("en: [\"can I bring my dog\"]"),
            "{proposed}"
        );
        assert!(proposed.starts_with("- id: bring_dog"), "{proposed}");
    }

    #[test]
    fn a_bad_booking_call_finds_each_problem_at_its_turn_and_step() {
        let layout = kitchen();
        let (_, ask_party, ask_party_path) = layout
            .step("make_reservation", "ask_party_size")
            .expect("the booking flow asks for the party size");
        assert!(matches!(ask_party.role, StepRole::Question { .. }));
        let call = script()
            .caller("table chahiye", 0.9) // 1
            .bot(
                Some("book_table"),
                "make_reservation",
                "ask_party_size",
                900,
            ) // 2
            .caller("uh", 0.3) // 3: low confidence
            .bot(
                Some("book_table"),
                "make_reservation",
                "ask_party_size",
                900,
            ) // 4: reprompt
            .caller("four", 0.9) // 5
            .bot(Some("book_table"), "make_reservation", "ask_date", 4000) // 6: slow (TTS)
            .caller("no, five people", 0.9) // 7
            .bot(Some("correction"), "make_reservation", "ask_date", 900) // 8
            .caller("no, six", 0.9) // 9
            .bot(Some("correction"), "make_reservation", "ask_date", 900) // 10: repeated
            .caller("blorp", 0.9) // 11
            .bot(None, "fallback", "not_understood", 900) // 12: fallback
            .bot(Some("silence"), "make_reservation", "ask_date", 900) // 13
            .ended(CallOutcome::Abandoned); // hung up at ask_date
        let review = review_call(&call, &layout, &Thresholds::default());
        let found: Vec<(Option<u32>, &str, ReviewCategory)> = review
            .issues
            .iter()
            .map(|i| (i.turn, i.kind.as_str(), i.category))
            .collect();
        assert_eq!(
            found,
            [
                (Some(3), "low_stt_confidence", ReviewCategory::SttError),
                (Some(4), "reprompt", ReviewCategory::PromptWeakness),
                (Some(6), "slow_turn", ReviewCategory::TtsIssue),
                (Some(10), "repeated_correction", ReviewCategory::UxIssue),
                (Some(12), "fallback", ReviewCategory::PromptWeakness),
                (Some(13), "long_silence", ReviewCategory::UxIssue),
                (None, "hangup_mid_flow", ReviewCategory::UxIssue),
            ]
        );
        let reprompt = &review.issues[1];
        assert_eq!(
            reprompt.yaml_path.as_deref(),
            Some("/prompts/en/ask_party_size")
        );
        let low = &review.issues[0];
        assert_eq!(low.file.as_deref(), Some("flows/make_reservation.yaml"));
        assert_eq!(low.yaml_path.as_deref(), Some(ask_party_path.as_str()));
        assert_eq!(review.quality_score, 1);
        assert!(review.has_unanswered_query);
        // Most urgent first; every suggestion names a file and fits the stored limits.
        let priorities: Vec<u8> = review.suggestions.iter().map(|s| s.priority).collect();
        assert!(
            priorities.windows(2).all(|w| w[0] <= w[1]),
            "{priorities:?}"
        );
        for s in &review.suggestions {
            assert!(!s.target.file.is_empty());
            assert!(s.title.chars().count() <= vartalaap_store::MAX_TITLE_CHARS);
            assert!((1..=5).contains(&s.priority));
        }
    }

    #[test]
    fn a_tts_fallback_is_a_tts_issue_naming_the_turn_and_the_voices() {
        let call = script()
            .caller("what time do you open", 0.9)
            .bot(Some("ask_hours"), "hours_and_location", "hours", 900)
            .last(|t| {
                t.tts_fallbacks = vec![TtsFallback {
                    sentence: 0,
                    failed_voice: "espeak-ng:en".into(),
                    used: "edge:en-IN-NeerjaNeural".into(),
                    error: "espeak-ng:en: not installed".into(),
                }]
            })
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &kitchen(), &Thresholds::default());
        assert_eq!(review.issues.len(), 1, "{:#?}", review.issues);
        let issue = &review.issues[0];
        assert_eq!(
            (issue.kind.as_str(), issue.category, issue.turn),
            ("tts_fallback", ReviewCategory::TtsIssue, Some(2))
        );
        assert_eq!(
            issue.file.as_deref(),
            Some("businesses/himalayan_kitchen.yaml")
        );
        assert_eq!(issue.yaml_path.as_deref(), Some("/voices/en"));
        assert!(issue.description.contains("espeak-ng:en"), "{issue:?}");
        let s = &review.suggestions[0];
        assert_eq!(s.category, ReviewCategory::TtsIssue);
        assert_eq!(s.target.yaml_path.as_deref(), Some("/voices/en"));
        assert_eq!(review.quality_score, 5, "half a point: rounds away");
    }

    fn problem(
        source: ConfigErrorSource,
        name: &str,
        file: &str,
        path: Option<&str>,
    ) -> TurnConfigError {
        TurnConfigError {
            source,
            name: name.into(),
            file: Some(file.into()),
            line: Some(3),
            yaml_path: path.map(str::to_string),
            flow: Some("make_reservation".into()),
            step: Some("festival_check".into()),
            message: "script error: Function not found: is_closed (&str)".into(),
        }
    }

    #[test]
    fn plugin_and_template_errors_are_config_errors_naming_their_files() {
        let call = script()
            .caller("table chahiye", 0.9)
            .bot(
                Some("book_table"),
                "make_reservation",
                "ask_party_size",
                900,
            )
            .last(|t| {
                t.config_errors = vec![
                    problem(
                        ConfigErrorSource::Plugin,
                        "festival_closures.is_closed",
                        "plugins/festival_closures.rhai",
                        None,
                    ),
                    TurnConfigError {
                        source: ConfigErrorSource::Template,
                        flow: Some("make_reservation".into()),
                        step: Some("ask_party_size".into()),
                        message: "template failed to render: undefined value".into(),
                        ..problem(
                            ConfigErrorSource::Template,
                            "ask_party_size",
                            "businesses/himalayan_kitchen.yaml",
                            Some("/prompts/en/ask_party_size"),
                        )
                    },
                ]
            })
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &kitchen(), &Thresholds::default());
        type Place<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let errors: Vec<Place> = review
            .issues
            .iter()
            .filter(|i| i.category == ReviewCategory::ConfigError)
            .map(|i| {
                (
                    i.kind.as_str(),
                    i.file.as_deref(),
                    i.yaml_path.as_deref(),
                    i.step.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    "config_error",
                    Some("plugins/festival_closures.rhai"),
                    None,
                    Some("festival_check")
                ),
                (
                    "config_error",
                    Some("businesses/himalayan_kitchen.yaml"),
                    Some("/prompts/en/ask_party_size"),
                    Some("ask_party_size")
                ),
            ]
        );
        // Most urgent first: a broken file is priority 1.
        let first = &review.suggestions[0];
        assert_eq!(first.category, ReviewCategory::ConfigError);
        assert_eq!(first.priority, 1);
        assert_eq!(first.target.file, "plugins/festival_closures.rhai");
        assert!(
            first.title.contains("festival_closures.is_closed"),
            "{}",
            first.title
        );
        assert!(
            first.description.contains("line 3"),
            "{}",
            first.description
        );
        assert_eq!(review.quality_score, 3);
    }

    #[test]
    fn correcting_the_same_slot_twice_names_the_slot_and_the_step_asking_for_it() {
        let layout = kitchen();
        let (_, _, ask_party_path) = layout
            .step("make_reservation", "ask_party_size")
            .expect("the booking flow asks for the party size");
        let corrected = |slots: &[&str]| {
            let slots: Vec<String> = slots.iter().map(|s| s.to_string()).collect();
            move |t: &mut ConversationTurn| t.corrected_slots = slots
        };
        let call = script()
            .caller("table for four tomorrow", 0.9)
            .bot(Some("book_table"), "make_reservation", "ask_time", 900)
            .caller("no, five people", 0.9)
            .bot(Some("correction"), "make_reservation", "ask_time", 900)
            .last(corrected(&["party_size"]))
            .caller("no, the day after", 0.9)
            .bot(Some("correction"), "make_reservation", "ask_time", 900)
            .last(corrected(&["date"]))
            .caller("no, six people", 0.9) // 7
            .bot(Some("correction"), "make_reservation", "ask_time", 900) // 8
            .last(corrected(&["party_size"]))
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &layout, &Thresholds::default());
        let repeated: Vec<&ReviewIssue> = review
            .issues
            .iter()
            .filter(|i| i.kind == "repeated_correction")
            .collect();
        assert_eq!(
            repeated.len(),
            1,
            "different slots once each are fine: {repeated:#?}"
        );
        let issue = repeated[0];
        assert_eq!(issue.turn, Some(8));
        assert_eq!(issue.category, ReviewCategory::UxIssue);
        assert!(
            issue.description.contains("party_size 2 times"),
            "{issue:?}"
        );
        assert_eq!(issue.file.as_deref(), Some("flows/make_reservation.yaml"));
        assert_eq!(issue.yaml_path.as_deref(), Some(ask_party_path.as_str()));
        let s = review
            .suggestions
            .iter()
            .find(|s| s.title.contains("party_size"))
            .expect("a suggestion names the slot");
        assert_eq!(
            s.target.flow_step.as_deref(),
            Some("make_reservation.ask_time")
        );
    }

    #[test]
    fn a_long_reply_cut_short_is_too_long_naming_its_template() {
        let long = "Hello, welcome to Himalayan Kitchen in Dehradun. We are open from noon to eleven. How can I help you today?";
        let call = script()
            .last(|t| {
                t.interrupted = true;
                t.text = "Hello, welcome to".into();
                t.intended_text = Some(long.into());
                t.played_ms = Some(1_200);
            })
            .caller("table for two", 0.9)
            .bot(
                Some("book_table"),
                "make_reservation",
                "ask_party_size",
                900,
            )
            .last(|t| {
                // Short replies may be cut short without a finding.
                t.interrupted = true;
                t.intended_text = Some("For how many people?".into());
            })
            .ended(CallOutcome::Completed);
        let review = review_call(&call, &kitchen(), &Thresholds::default());
        assert_eq!(review.issues.len(), 1, "{:#?}", review.issues);
        let issue = &review.issues[0];
        assert_eq!(
            (issue.kind.as_str(), issue.category, issue.turn),
            ("reply_too_long", ReviewCategory::UxIssue, Some(0))
        );
        assert_eq!(
            issue.file.as_deref(),
            Some("businesses/himalayan_kitchen.yaml")
        );
        assert_eq!(issue.yaml_path.as_deref(), Some("/prompts/en/greeting"));
        assert!(issue.description.contains("after 1.2 s"), "{issue:?}");
        assert_eq!(
            review.suggestions[0].target.flow_step.as_deref(),
            Some("greeting.welcome")
        );
    }

    #[test]
    fn reviewing_is_deterministic() {
        let call = script()
            .caller("pizza milta hai", 0.9)
            .bot(Some("ask_menu"), "menu_question", "not_found", 900)
            .ended(CallOutcome::Transferred);
        let layout = kitchen();
        let first = review_call(&call, &layout, &Thresholds::default());
        assert_eq!(first, review_call(&call, &layout, &Thresholds::default()));
        assert!(first.issues.iter().any(|i| i.kind == "handoff"));
    }

    #[test]
    fn the_score_never_drops_below_one() {
        let many: Vec<Finding> = (0..20)
            .map(|i| Finding {
                kind: FindingKind::HangupMidFlow,
                turn: Some(i),
                flow: None,
                step: None,
                caller_words: None,
                language: "en".into(),
            })
            .collect();
        assert_eq!(score(&many), 1);
        assert_eq!(score(&[]), 5);
    }

    #[test]
    fn topic_words_drop_filler_in_english_and_hinglish() {
        assert_eq!(improve::topic_words("Do you have sushi?"), ["sushi"]);
        assert_eq!(improve::topic_words("pizza milta hai kya"), ["pizza"]);
    }
}
