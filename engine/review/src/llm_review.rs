//! The review with a language model (`LLM_PROVIDER=groq`): the same three stages as the
//! offline reviewer, each one a model call whose answer must pass the stage's JSON Schema
//! (`schemas/review_stage_{reviewer,classifier,improver}.json`) and this module's checks
//! before it is used.
//!
//! ```text
//!  offline review (always computed: the fallback of every stage)
//!  masked call ─▶ reviewer ─▶ score + issues (turn must exist)         ─┐ each stage: invalid answer
//!             ─▶ classifier ─▶ one category per issue, each exactly once │ → asked once more with the
//!             ─▶ improver ─▶ suggestions (file of this business, step    │ error; invalid again, or
//!                            that exists, limits of the stored record)  ─┘ no answer → offline result
//! ```
//!
//! Everything sent about the call — transcript, offline findings, draft suggestions — goes
//! through the [`Masker`] first (phone numbers, the caller's name). The model's name becomes
//! the review's `agent_model` when at least one stage used its answer, else `offline`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Value, json};
use vartalaap_store::{
    CallWithTurns, HandledBy, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, NewSuggestion,
    ReviewCategory, ReviewIssue, SuggestionTarget, TurnRole,
};

use crate::layout::BusinessLayout;
use crate::mask::{Masker, NAME_MASK, PHONE_MASK};
use crate::model::{Message, ReviewModel, Role};
use crate::qa::Thresholds;
use crate::{OFFLINE_MODEL, OfflineReview, review_call};

/// Stage 1's answer schema.
pub const REVIEWER_SCHEMA: &str = include_str!("../../../schemas/review_stage_reviewer.json");
/// Stage 2's answer schema.
pub const CLASSIFIER_SCHEMA: &str = include_str!("../../../schemas/review_stage_classifier.json");
/// Stage 3's answer schema.
pub const IMPROVER_SCHEMA: &str = include_str!("../../../schemas/review_stage_improver.json");

/// Longest validation error text shown back to the model on its retry.
const MAX_ERROR_CHARS: usize = 1200;

/// One of the three stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStage {
    /// QA reviewer: score and issues.
    Reviewer,
    /// Classifier: one root cause per issue.
    Classifier,
    /// Improver: suggestions.
    Improver,
}

impl ReviewStage {
    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            ReviewStage::Reviewer => "reviewer",
            ReviewStage::Classifier => "classifier",
            ReviewStage::Improver => "improver",
        }
    }

    fn schema_text(self) -> &'static str {
        match self {
            ReviewStage::Reviewer => REVIEWER_SCHEMA,
            ReviewStage::Classifier => CLASSIFIER_SCHEMA,
            ReviewStage::Improver => IMPROVER_SCHEMA,
        }
    }

    fn validator(self) -> Result<&'static Validator, String> {
        static CELLS: [OnceLock<Result<Validator, String>>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let cell = &CELLS[self as usize];
        cell.get_or_init(|| {
            let schema: Value = serde_json::from_str(self.schema_text())
                .map_err(|e| format!("embedded {} schema is not JSON: {e}", self.name()))?;
            jsonschema::draft202012::new(&schema)
                .map_err(|e| format!("embedded {} schema does not compile: {e}", self.name()))
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    fn task(self) -> &'static str {
        match self {
            ReviewStage::Reviewer => {
                "You review one phone call between a caller and a restaurant or clinic's voice bot. \
                 Rate the call from 1 (bad) to 5 (nothing went wrong) and list what went wrong, \
                 each issue about one turn (use its `turn` number) or the whole call (null). \
                 `offline_findings` are what a rule-based reviewer found: keep the real ones, \
                 drop false alarms, add what it missed. List only problems; a call where nothing \
                 went wrong has no issues."
            }
            ReviewStage::Classifier => {
                "Give each issue of a reviewed phone call exactly one root cause: knowledge_gap \
                 (the business file lacks the answer, dish or FAQ), prompt_weakness (the bot's \
                 wording or question confused the caller), ux_issue (the conversation design: \
                 silences, repeated corrections, hand-offs, hang-ups), stt_error (speech was \
                 misrecognised), tts_issue (the bot's voice was slow or failed), config_error (a \
                 plugin or template failed). Classify every issue index exactly once."
            }
            ReviewStage::Improver => {
                "Turn the classified issues of a reviewed phone call into concrete changes the \
                 business owner can make to the bot's YAML configuration. Each suggestion names \
                 one of the `files` listed, the JSON pointer inside it (yaml_path, e.g. /menu, \
                 /faqs, /steps/2) and/or a flow step from `flow_steps`, a priority from 1 (do \
                 first) to 5, and the proposed YAML text where you can write it. \
                 `offline_suggestions` are drafts you may improve. Never invent prices, hours or \
                 other facts: leave a placeholder such as <price in rupees> for the owner."
            }
        }
    }

    fn system_prompt(self) -> String {
        format!(
            "{task}\n\nIn the call, phone numbers appear as {PHONE_MASK} and the caller's name as \
             {NAME_MASK}; never guess them. Answer with one JSON object and nothing else, valid \
             against this JSON Schema:\n{schema}",
            task = self.task(),
            schema = self.schema_text().trim()
        )
    }
}

/// How a stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    /// The model's answer was valid and used (`retried`: on the second request).
    Model {
        /// The first answer was invalid; the second was used.
        retried: bool,
    },
    /// The offline result was used; `reason` says why (`invalid`, `timeout`, …).
    Offline {
        /// Why.
        reason: String,
    },
    /// Nothing to ask (no issues to classify or improve); no request was sent.
    Skipped,
}

impl StageOutcome {
    /// Label for logs: `model`, `model_after_retry`, `offline:<reason>`, `skipped`.
    pub fn label(&self) -> String {
        match self {
            StageOutcome::Model { retried: false } => "model".into(),
            StageOutcome::Model { retried: true } => "model_after_retry".into(),
            StageOutcome::Offline { reason } => format!("offline:{reason}"),
            StageOutcome::Skipped => "skipped".into(),
        }
    }
}

/// What the review with a model concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReview {
    /// Score, classified issues, suggestions — from the model where its stage succeeded.
    pub review: OfflineReview,
    /// The model's name if any stage used its answer, else [`OFFLINE_MODEL`].
    pub agent_model: String,
    /// Each stage and how it ended, in order.
    pub stages: Vec<(ReviewStage, StageOutcome)>,
}

/// The call as the model sees it: turns numbered by `seq`, with what handled each bot turn,
/// the recogniser's confidence and the reply time. Not yet masked.
fn call_json(call: &CallWithTurns) -> Value {
    let turns: Vec<Value> = call
        .turns
        .iter()
        .map(|t| {
            let mut v = json!({
                "turn": t.seq,
                "role": t.role,
                "text": t.text,
            });
            if let Some(c) = t.stt_confidence {
                v["stt_confidence"] = json!((f64::from(c) * 100.0).round() / 100.0);
            }
            if let Some(h) = &t.handled_by {
                v["intent"] = json!(h.intent);
                v["flow"] = json!(h.flow);
                v["step"] = json!(h.step);
            }
            if let Some(ms) = t.timings.total_ms {
                v["reply_ms"] = json!(ms);
            }
            v
        })
        .collect();
    json!({
        "business_id": call.call.business_id,
        "outcome": call.call.outcome,
        "language": call.call.language,
        "turns": turns,
    })
}

/// The JSON object inside a model's text (a ```json fence or words around it are tolerated).
fn json_in(text: &str) -> Result<Value, String> {
    let start = text.find('{');
    let end = text.rfind('}');
    let (Some(start), Some(end)) = (start, end) else {
        return Err("the answer contains no JSON object".into());
    };
    if end < start {
        return Err("the answer contains no JSON object".into());
    }
    serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the answer is not valid JSON: {e}"))
}

fn cut(mut text: String, max: usize) -> String {
    if text.chars().count() > max {
        text = text.chars().take(max).collect::<String>() + "…";
    }
    text
}

/// Parses and schema-validates one answer; the error text is what the model is shown.
fn validated(stage: ReviewStage, answer: &str) -> Result<Value, String> {
    let value = json_in(answer)?;
    let validator = stage.validator()?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .take(5)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(cut(
            format!("it does not match the schema: {}", errors.join("; ")),
            MAX_ERROR_CHARS,
        ))
    }
}

/// Asks `model` for one stage: validated and checked by `check`, with one retry showing the
/// error. `Err(reason)` means the stage takes its offline result.
async fn ask_stage<T>(
    model: &dyn ReviewModel,
    stage: ReviewStage,
    content: Value,
    check: impl Fn(&Value) -> Result<T, String>,
) -> Result<(T, bool), String> {
    let mut messages = vec![
        Message::new(Role::System, stage.system_prompt()),
        Message::new(Role::User, content.to_string()),
    ];
    for attempt in 0..2 {
        let answer = model.ask(&messages).await.map_err(|f| f.reason)?;
        let error = match validated(stage, &answer).and_then(|v| check(&v)) {
            Ok(found) => return Ok((found, attempt > 0)),
            Err(e) => e,
        };
        if attempt == 0 {
            messages.push(Message::new(Role::Assistant, answer));
            messages.push(Message::new(
                Role::User,
                format!(
                    "That answer is not valid: {error}. Answer again with only the corrected JSON object."
                ),
            ));
        }
    }
    Err("invalid".into())
}

/// Where a turn points in the configuration: the bot turn's handler, or for a caller turn
/// the handler of the bot's reply to it.
fn handler_of(call: &CallWithTurns, turn: Option<u32>) -> Option<&HandledBy> {
    let seq = turn?;
    call.turns
        .iter()
        .filter(|t| t.seq >= seq && t.role == TurnRole::Bot)
        .find_map(|t| t.handled_by.as_ref())
}

/// A model's issue as a stored issue: its place from the offline issue of the same turn and
/// kind, else from the handler of that turn; its category (until the classifier runs) from an
/// offline issue of the same turn, else `ux_issue`.
fn placed_issue(
    call: &CallWithTurns,
    layout: &BusinessLayout,
    offline: &[ReviewIssue],
    turn: Option<u32>,
    kind: String,
    description: String,
) -> ReviewIssue {
    if let Some(same) = offline.iter().find(|o| o.turn == turn && o.kind == kind) {
        return ReviewIssue {
            description,
            ..same.clone()
        };
    }
    let handler = handler_of(call, turn);
    let flow = handler.and_then(|h| h.flow.clone());
    let step = handler.and_then(|h| h.step.clone());
    let (file, yaml_path) = match (&flow, &step) {
        (Some(f), Some(s)) => match layout.step(f, s) {
            Some((fl, _, path)) => (Some(fl.file.clone()), Some(path)),
            None => (None, None),
        },
        _ => (None, None),
    };
    let category = offline
        .iter()
        .find(|o| o.turn == turn && turn.is_some())
        .map_or(ReviewCategory::UxIssue, |o| o.category);
    ReviewIssue {
        turn,
        kind,
        category,
        description,
        flow,
        step,
        file,
        yaml_path,
    }
}

struct ReviewerAnswer {
    score: u8,
    unanswered: bool,
    issues: Vec<ReviewIssue>,
}

fn check_reviewer(
    v: &Value,
    call: &CallWithTurns,
    layout: &BusinessLayout,
    offline: &[ReviewIssue],
) -> Result<ReviewerAnswer, String> {
    let seqs: BTreeSet<u32> = call.turns.iter().map(|t| t.seq).collect();
    let mut issues = Vec::new();
    for (i, issue) in v["issues"].as_array().into_iter().flatten().enumerate() {
        let turn = match issue["turn"].as_u64() {
            None => None,
            Some(t) => match u32::try_from(t).ok().filter(|t| seqs.contains(t)) {
                Some(t) => Some(t),
                None => {
                    return Err(format!(
                        "issues[{i}].turn {t} is not a turn of this call (the turns are {:?})",
                        seqs
                    ));
                }
            },
        };
        issues.push(placed_issue(
            call,
            layout,
            offline,
            turn,
            issue["kind"].as_str().unwrap_or_default().to_string(),
            issue["description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    let score = v["quality_score"]
        .as_u64()
        .and_then(|s| u8::try_from(s).ok())
        .filter(|s| (1..=5).contains(s))
        .ok_or("quality_score must be 1 to 5")?;
    Ok(ReviewerAnswer {
        score,
        unanswered: v["has_unanswered_query"].as_bool().unwrap_or(false),
        issues,
    })
}

fn category_named(name: &str) -> Option<ReviewCategory> {
    serde_json::from_value(Value::from(name)).ok()
}

fn check_classifier(v: &Value, count: usize) -> Result<Vec<ReviewCategory>, String> {
    let mut categories: Vec<Option<ReviewCategory>> = vec![None; count];
    for item in v["issues"].as_array().into_iter().flatten() {
        let index = item["issue"].as_u64().unwrap_or(u64::MAX);
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| categories.get_mut(i))
            .ok_or_else(|| {
                format!(
                    "issue {index} does not exist (the issues are 0 to {})",
                    count.saturating_sub(1)
                )
            })?;
        if slot.is_some() {
            return Err(format!("issue {index} is classified twice"));
        }
        *slot = Some(
            item["category"]
                .as_str()
                .and_then(category_named)
                .ok_or_else(|| format!("issue {index} has an unknown category"))?,
        );
    }
    let missing: Vec<usize> = categories
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_none())
        .map(|(i, _)| i)
        .collect();
    if !missing.is_empty() {
        return Err(format!("issues {missing:?} are not classified"));
    }
    Ok(categories.into_iter().flatten().collect())
}

/// Every file of the business's configuration a suggestion may name.
fn business_files(layout: &BusinessLayout) -> BTreeSet<String> {
    std::iter::once(layout.business_file.clone())
        .chain(layout.flows.values().map(|f| f.file.clone()))
        .collect()
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn check_improver(v: &Value, layout: &BusinessLayout) -> Result<Vec<NewSuggestion>, String> {
    let files = business_files(layout);
    let mut out = Vec::new();
    for (i, s) in v["suggestions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let target = &s["target"];
        let file = target["file"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string();
        if !files.contains(&file) {
            return Err(format!(
                "suggestions[{i}].target.file {file:?} is not a file of this business (use one of {files:?})"
            ));
        }
        let flow_step = opt_str(&target["flow_step"]);
        if let Some(fs) = &flow_step {
            let known = fs
                .split_once('.')
                .and_then(|(flow, step)| layout.step(flow, step))
                .is_some();
            if !known {
                return Err(format!(
                    "suggestions[{i}].target.flow_step {fs:?} is not a step of this business's flows"
                ));
            }
        }
        let title = s["title"].as_str().unwrap_or_default().trim().to_string();
        let description = s["description"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE_CHARS
            || description.chars().count() > MAX_DESCRIPTION_CHARS
        {
            return Err(format!(
                "suggestions[{i}] needs a title of 1 to {MAX_TITLE_CHARS} characters and a description of at most {MAX_DESCRIPTION_CHARS}"
            ));
        }
        out.push(NewSuggestion {
            category: s["category"]
                .as_str()
                .and_then(category_named)
                .ok_or_else(|| format!("suggestions[{i}].category is unknown"))?,
            title,
            description,
            target: SuggestionTarget {
                file,
                yaml_path: opt_str(&target["yaml_path"]),
                flow_step,
            },
            priority: s["priority"]
                .as_u64()
                .and_then(|p| u8::try_from(p).ok())
                .filter(|p| (1..=5).contains(p))
                .ok_or_else(|| format!("suggestions[{i}].priority must be 1 to 5"))?,
            proposed_text: opt_str(&s["proposed_text"]),
        });
    }
    out.sort_by_key(|s| s.priority);
    Ok(out)
}

fn issues_json(issues: &[ReviewIssue], with_category: bool) -> Value {
    issues
        .iter()
        .enumerate()
        .map(|(i, issue)| {
            let mut v = json!({
                "issue": i,
                "turn": issue.turn,
                "kind": issue.kind,
                "description": issue.description,
                "flow": issue.flow,
                "step": issue.step,
            });
            if with_category {
                v["category"] = json!(issue.category);
                v["file"] = json!(issue.file);
                v["yaml_path"] = json!(issue.yaml_path);
            }
            v
        })
        .collect()
}

fn suggestions_json(suggestions: &[NewSuggestion]) -> Value {
    suggestions
        .iter()
        .map(|s| {
            json!({
                "category": s.category,
                "title": s.title,
                "description": s.description,
                "target": {
                    "file": s.target.file,
                    "yaml_path": s.target.yaml_path,
                    "flow_step": s.target.flow_step,
                },
                "priority": s.priority,
                "proposed_text": s.proposed_text,
            })
        })
        .collect()
}

/// The flow steps a suggestion may name: those of the flows this call went through.
fn flow_steps(call: &CallWithTurns, layout: &BusinessLayout) -> Vec<String> {
    let used: BTreeSet<&str> = call
        .turns
        .iter()
        .filter_map(|t| t.handled_by.as_ref()?.flow.as_deref())
        .collect();
    layout
        .flows
        .iter()
        .filter(|(id, _)| used.contains(id.as_str()))
        .flat_map(|(id, f)| f.steps.iter().map(move |s| format!("{id}.{}", s.id)))
        .collect()
}

/// Reviews `call` with `model`, stage by stage, each stage falling back to the offline
/// reviewer's result for that stage alone. Every request's call content is masked by
/// `masker` first.
pub async fn review_call_with_model(
    call: &CallWithTurns,
    layout: &BusinessLayout,
    thresholds: &Thresholds,
    masker: &Masker,
    model: &dyn ReviewModel,
) -> ModelReview {
    let offline = review_call(call, layout, thresholds);
    let mut masked_call = call_json(call);
    masker.mask_json(&mut masked_call);
    let masked = |mut v: Value| {
        masker.mask_json(&mut v);
        v
    };
    let mut stages = Vec::with_capacity(3);

    // Stage 1: the reviewer.
    let content = json!({
        "call": masked_call,
        "offline_findings": masked(issues_json(&offline.issues, false)),
    });
    let (score, unanswered, mut issues) =
        match ask_stage(model, ReviewStage::Reviewer, content, |v| {
            check_reviewer(v, call, layout, &offline.issues)
        })
        .await
        {
            Ok((answer, retried)) => {
                stages.push((ReviewStage::Reviewer, StageOutcome::Model { retried }));
                (answer.score, answer.unanswered, answer.issues)
            }
            Err(reason) => {
                stages.push((ReviewStage::Reviewer, StageOutcome::Offline { reason }));
                (
                    offline.quality_score,
                    offline.has_unanswered_query,
                    offline.issues.clone(),
                )
            }
        };

    // Stage 2: the classifier (offline: each issue keeps the category it was placed with).
    if issues.is_empty() {
        stages.push((ReviewStage::Classifier, StageOutcome::Skipped));
    } else {
        let content = json!({
            "call": masked_call,
            "issues": masked(issues_json(&issues, false)),
        });
        let count = issues.len();
        match ask_stage(model, ReviewStage::Classifier, content, |v| {
            check_classifier(v, count)
        })
        .await
        {
            Ok((categories, retried)) => {
                for (issue, category) in issues.iter_mut().zip(categories) {
                    issue.category = category;
                }
                stages.push((ReviewStage::Classifier, StageOutcome::Model { retried }));
            }
            Err(reason) => stages.push((ReviewStage::Classifier, StageOutcome::Offline { reason })),
        }
    }

    // Stage 3: the improver.
    let suggestions = if issues.is_empty() {
        stages.push((ReviewStage::Improver, StageOutcome::Skipped));
        Vec::new()
    } else {
        let content = json!({
            "call": masked_call,
            "issues": masked(issues_json(&issues, true)),
            "files": business_files(layout),
            "flow_steps": flow_steps(call, layout),
            "offline_suggestions": masked(suggestions_json(&offline.suggestions)),
        });
        match ask_stage(model, ReviewStage::Improver, content, |v| {
            check_improver(v, layout)
        })
        .await
        {
            Ok((suggestions, retried)) => {
                stages.push((ReviewStage::Improver, StageOutcome::Model { retried }));
                suggestions
            }
            Err(reason) => {
                stages.push((ReviewStage::Improver, StageOutcome::Offline { reason }));
                offline.suggestions.clone()
            }
        }
    };

    let used_model = stages
        .iter()
        .any(|(_, o)| matches!(o, StageOutcome::Model { .. }));
    ModelReview {
        review: OfflineReview {
            quality_score: score,
            has_unanswered_query: unanswered
                || issues
                    .iter()
                    .any(|i| i.category == ReviewCategory::KnowledgeGap),
            issues,
            suggestions,
        },
        agent_model: if used_model {
            model.model_name().to_string()
        } else {
            OFFLINE_MODEL.to_string()
        },
        stages,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::future::Future;
    use std::path::Path;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use chrono::{DateTime, TimeZone, Utc};
    use vartalaap_store::{CallLog, CallOutcome, ConversationTurn, TurnTimings};

    use super::*;
    use crate::model::{ModelAnswer, ModelFailure};

    /// The scripted model's futures are ready at once, so polling once completes them.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    /// Answers in order and keeps every request.
    struct Scripted {
        answers: Mutex<VecDeque<Result<String, ModelFailure>>>,
        seen: Mutex<Vec<Vec<Message>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Value, &str>>) -> Scripted {
            Scripted {
                answers: Mutex::new(
                    answers
                        .into_iter()
                        .map(|a| match a {
                            Ok(v) => Ok(v.to_string()),
                            Err(reason) => Err(ModelFailure {
                                reason: reason.into(),
                            }),
                        })
                        .collect(),
                ),
                seen: Mutex::new(Vec::new()),
            }
        }

        fn requests(&self) -> Vec<Vec<Message>> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl ReviewModel for Scripted {
        fn model_name(&self) -> &str {
            "scripted-model"
        }

        fn ask<'a>(&'a self, messages: &'a [Message]) -> ModelAnswer<'a> {
            self.seen.lock().unwrap().push(messages.to_vec());
            let next = self.answers.lock().unwrap().pop_front();
            Box::pin(async move {
                next.unwrap_or_else(|| {
                    Err(ModelFailure {
                        reason: "no answer scripted".into(),
                    })
                })
            })
        }
    }

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 13, 0, s).unwrap()
    }

    fn kitchen() -> BusinessLayout {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let report = vartalaap_config::load_root(&root);
        BusinessLayout::from_snapshot(
            report.businesses["himalayan_kitchen"]
                .as_ref()
                .expect("the shipped configuration loads"),
        )
    }

    fn turn(
        seq: u32,
        role: TurnRole,
        text: &str,
        handled: Option<(&str, &str)>,
    ) -> ConversationTurn {
        ConversationTurn {
            call_id: 7,
            seq,
            role,
            text: text.into(),
            language: Some("en".into()),
            stt_confidence: (role == TurnRole::Caller).then_some(0.9),
            started_at: at(seq),
            timings: TurnTimings::default(),
            handled_by: handled.map(|(flow, step)| HandledBy {
                intent: None,
                flow: Some(flow.into()),
                step: Some(step.into()),
            }),
            interrupted: false,
            played_ms: None,
            intended_text: None,
            tts_fallbacks: Vec::new(),
            config_errors: Vec::new(),
            corrected_slots: Vec::new(),
            created_at: at(seq),
        }
    }

    /// Greeting, a dish not on the menu (turn 2), a booking up to the name, a hang-up.
    fn pizza_call() -> CallWithTurns {
        use TurnRole::{Bot, Caller};
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
                outcome: CallOutcome::Abandoned,
                reservation_id: None,
                summary: None,
                created_at: at(0),
                updated_at: at(59),
            },
            turns: vec![
                turn(0, Bot, "Namaste!", Some(("greeting", "welcome"))),
                turn(1, Caller, "do you have pizza", None),
                turn(
                    2,
                    Bot,
                    "Sorry, no pizza.",
                    Some(("menu_question", "not_found")),
                ),
                turn(3, Caller, "ok book a table for 4 tomorrow 8 pm", None),
                turn(
                    4,
                    Bot,
                    "What name should I book under?",
                    Some(("make_reservation", "ask_name")),
                ),
                turn(5, Caller, "Asha Verma, my number is 98765 43210", None),
                turn(
                    6,
                    Bot,
                    "Thank you Asha. Shall I confirm?",
                    Some(("make_reservation", "confirm")),
                ),
            ],
        }
    }

    fn reviewer_answer(turn: Value) -> Value {
        json!({
            "quality_score": 2,
            "has_unanswered_query": true,
            "issues": [
                {"turn": turn, "kind": "menu_item_missing", "description": "Pizza is not on the menu."},
                {"turn": null, "kind": "hangup_mid_flow", "description": "The caller left before confirming."}
            ]
        })
    }

    fn classifier_answer() -> Value {
        json!({"issues": [
            {"issue": 1, "category": "ux_issue"},
            {"issue": 0, "category": "knowledge_gap"}
        ]})
    }

    fn improver_answer(file: &str) -> Value {
        json!({"suggestions": [
            {"category": "ux_issue", "title": "Confirm sooner", "description": "Read back the booking in one sentence.",
             "target": {"file": "flows/make_reservation.yaml", "yaml_path": "/steps/11", "flow_step": "make_reservation.confirm"},
             "priority": 3, "proposed_text": null},
            {"category": "knowledge_gap", "title": "Add pizza to the menu or say you have none", "description": "Callers ask for pizza.",
             "target": {"file": file, "yaml_path": "/menu", "flow_step": null},
             "priority": 1, "proposed_text": "- id: pizza\n  price_inr: <price in rupees>"}
        ]})
    }

    fn run(model: &Scripted) -> ModelReview {
        let call = pizza_call();
        let layout = kitchen();
        let masker = Masker::for_call(&call, &layout, ["Asha Verma"]);
        block_on(review_call_with_model(
            &call,
            &layout,
            &Thresholds::default(),
            &masker,
            model,
        ))
    }

    #[test]
    fn valid_answers_make_the_review_and_name_the_model() {
        let model = Scripted::new(vec![
            Ok(reviewer_answer(json!(2))),
            Ok(classifier_answer()),
            Ok(improver_answer("businesses/himalayan_kitchen.yaml")),
        ]);
        let review = run(&model);
        assert_eq!(review.agent_model, "scripted-model");
        assert!(
            review
                .stages
                .iter()
                .all(|(_, o)| *o == StageOutcome::Model { retried: false })
        );
        let r = &review.review;
        assert_eq!(r.quality_score, 2);
        assert!(r.has_unanswered_query);
        let gap = &r.issues[0];
        assert_eq!(
            (gap.turn, gap.category, gap.yaml_path.as_deref()),
            (Some(2), ReviewCategory::KnowledgeGap, Some("/menu")),
            "the place comes from the offline finding at the same turn"
        );
        assert_eq!(gap.description, "Pizza is not on the menu.");
        assert_eq!(r.issues[1].category, ReviewCategory::UxIssue);
        let titles: Vec<&str> = r.suggestions.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Add pizza to the menu or say you have none",
                "Confirm sooner"
            ],
            "most urgent first"
        );
        assert_eq!(model.requests().len(), 3);
        let system = &model.requests()[0][0].content;
        assert!(
            system.contains("\"quality_score\""),
            "the schema is in the prompt"
        );
    }

    #[test]
    fn an_invalid_answer_is_asked_for_again_with_the_error() {
        let model = Scripted::new(vec![
            Ok(reviewer_answer(json!(42))),
            Ok(reviewer_answer(json!(2))),
            Ok(classifier_answer()),
            Ok(improver_answer("businesses/himalayan_kitchen.yaml")),
        ]);
        let review = run(&model);
        assert_eq!(
            review.stages[0],
            (ReviewStage::Reviewer, StageOutcome::Model { retried: true })
        );
        let retry = &model.requests()[1];
        assert_eq!(retry.len(), 4);
        assert_eq!(retry[2].role, Role::Assistant);
        assert!(
            retry[3]
                .content
                .contains("issues[0].turn 42 is not a turn of this call"),
            "{}",
            retry[3].content
        );
        assert_eq!(review.agent_model, "scripted-model");
    }

    #[test]
    fn twice_invalid_takes_the_offline_result_of_that_stage_only() {
        // Against the schema, then a file of another business: the improver falls back; the
        // reviewer and classifier answers stand.
        let model = Scripted::new(vec![
            Ok(reviewer_answer(json!(2))),
            Ok(classifier_answer()),
            Ok(json!({"suggestions": "none"})),
            Ok(improver_answer("businesses/muskaan_dental.yaml")),
        ]);
        let review = run(&model);
        let offline = review_call(&pizza_call(), &kitchen(), &Thresholds::default());
        assert_eq!(
            review.stages[2],
            (
                ReviewStage::Improver,
                StageOutcome::Offline {
                    reason: "invalid".into()
                }
            )
        );
        assert_eq!(review.review.suggestions, offline.suggestions);
        assert_eq!(
            review.review.quality_score, 2,
            "the reviewer's answer stands"
        );
        assert_eq!(review.agent_model, "scripted-model");
        let retry = &model.requests()[3];
        assert!(
            retry[3].content.contains("does not match the schema"),
            "{}",
            retry[3].content
        );
    }

    #[test]
    fn schema_violations_are_refused() {
        let too_long = json!({"suggestions": [{"category": "ux_issue", "title": "x".repeat(201),
            "description": "d", "target": {"file": "flows/make_reservation.yaml", "yaml_path": null, "flow_step": null},
            "priority": 1, "proposed_text": null}]});
        assert!(validated(ReviewStage::Improver, &too_long.to_string()).is_err());
        let bad_category = json!({"issues": [{"issue": 0, "category": "weather"}]});
        assert!(validated(ReviewStage::Classifier, &bad_category.to_string()).is_err());
        let bad_score = json!({"quality_score": 6, "has_unanswered_query": false, "issues": []});
        assert!(validated(ReviewStage::Reviewer, &bad_score.to_string()).is_err());
        let fenced = "```json\n{\"issues\": [{\"issue\": 0, \"category\": \"stt_error\"}]}\n```";
        assert!(validated(ReviewStage::Classifier, fenced).is_ok());
        assert_eq!(
            check_classifier(
                &json!({"issues": [{"issue": 0, "category": "stt_error"}]}),
                2
            ),
            Err("issues [1] are not classified".into())
        );
    }

    #[test]
    fn a_model_failure_is_not_retried_and_every_stage_offline_says_offline() {
        let model = Scripted::new(vec![Err("timeout"), Err("timeout"), Err("rate_limited")]);
        let review = run(&model);
        let offline = review_call(&pizza_call(), &kitchen(), &Thresholds::default());
        assert_eq!(review.review, offline);
        assert_eq!(review.agent_model, OFFLINE_MODEL);
        assert_eq!(model.requests().len(), 3, "one request per stage, no retry");
        assert_eq!(
            review.stages[0].1,
            StageOutcome::Offline {
                reason: "timeout".into()
            }
        );
    }

    #[test]
    fn no_digit_of_the_phone_number_nor_the_name_is_sent() {
        let model = Scripted::new(vec![
            Ok(reviewer_answer(json!(2))),
            Ok(classifier_answer()),
            Ok(improver_answer("businesses/himalayan_kitchen.yaml")),
        ]);
        run(&model);
        let sent: String = model
            .requests()
            .iter()
            .flatten()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        for secret in ["98765", "43210", "Asha", "asha", "Verma"] {
            assert!(!sent.contains(secret), "{secret} was sent");
        }
        assert!(
            sent.contains("[name] [name], my number is [phone]"),
            "{sent}"
        );
        assert!(sent.contains("Thank you [name]."));
        assert!(
            sent.contains("do you have pizza"),
            "the rest of the call is sent"
        );
    }

    #[test]
    fn the_name_answer_is_masked_even_without_a_known_name() {
        let call = pizza_call();
        let masker = Masker::for_call(&call, &kitchen(), []);
        assert_eq!(
            masker.mask("Thank you Asha Verma"),
            "Thank you [name] [name]"
        );
    }
}
