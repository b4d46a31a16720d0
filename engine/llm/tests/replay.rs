//! The LLM layer against the loopback Groq mock, replaying the recorded turns in
//! `tests/fixtures/llm/*.json`: understanding through the tool call, every failure falling
//! back to the offline answer in the same turn, and the guard in front of phrased answers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime};
use serde_json::{Value, json};
use vartalaap_config::{BusinessSnapshot, ConfigStore};
use vartalaap_core::{CallerContext, Conversation, Input, Output, ToolKind, drive, drive_start};
use vartalaap_llm::fixture::{Fixture, Task};
use vartalaap_llm::{
    Failure, GuardedAnswer, Llm, LlmSettings, PhraseOutcome, Piece, TextTurn, TokenStream,
    TurnContext, Use, offline_misses,
};
use vartalaap_providers::groq::GroqConfig;
use vartalaap_providers::mock::groq::{GroqMode, GroqReply, MockGroq, MockGroqConfig};
use vartalaap_script::{RhaiHost, ScriptLimits, ScriptRuntime};
use vartalaap_tools::StoreWorld;

const KEY: &str = "gsk_test";
/// Any name: the model is a setting, and the mock accepts whatever it is given.
const MODEL: &str = "test-model-from-settings";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn snapshot(id: &str) -> Arc<BusinessSnapshot> {
    static STORE: OnceLock<ConfigStore> = OnceLock::new();
    STORE
        .get_or_init(|| ConfigStore::load(root()).unwrap_or_else(|e| panic!("config: {e:?}")))
        .current(id)
        .expect("business exists")
}

fn fixture(name: &str) -> Fixture {
    Fixture::load(root().join(format!("tests/fixtures/llm/{name}.json"))).expect("fixture")
}

/// A text conversation with its tool calls on a scratch store, as `vartalaap chat` runs one.
struct Call {
    conv: Conversation,
    host: RhaiHost,
    tools: StoreWorld,
    now: NaiveDateTime,
}

impl Call {
    fn start(fx: &Fixture) -> Call {
        let snap = snapshot(&fx.business);
        let now = DateTime::parse_from_rfc3339(&fx.at)
            .expect("at")
            .naive_local();
        let host = RhaiHost::new(
            Arc::new(ScriptRuntime::new(ScriptLimits::default())),
            snap.clone(),
        );
        let mut tools = StoreWorld::empty(&snap, now).expect("scratch store");
        let (mut conv, first) = Conversation::start(snap, now, CallerContext::default(), &host);
        drive_start(&mut conv, first, now, &host, &mut tools);
        Call {
            conv,
            host,
            tools,
            now,
        }
    }

    async fn say(&mut self, llm: &Llm, text: &str) -> TextTurn {
        llm.text_turn(&mut self.conv, self.now, text, &self.host, &mut self.tools)
            .await
    }

    /// Starts the fixture's call and says its setup lines.
    async fn set_up(fx: &Fixture, llm: &Llm) -> Call {
        let mut call = Call::start(fx);
        for line in &fx.setup {
            call.say(llm, line).await;
        }
        call
    }
}

fn settings() -> LlmSettings {
    LlmSettings {
        timeout: Duration::from_millis(800),
        answer_timeout: Duration::from_secs(3),
        ..LlmSettings::default()
    }
}

async fn mock(replies: Vec<GroqReply>) -> MockGroq {
    MockGroq::start(MockGroqConfig {
        api_key: KEY.into(),
        replies,
        ..Default::default()
    })
    .await
    .expect("mock starts")
}

fn replies(fx: &Fixture) -> Vec<GroqReply> {
    fx.exchanges
        .iter()
        .map(|e| GroqReply::Sse(e.sse()))
        .collect()
}

fn groq(mock: &MockGroq, settings: LlmSettings) -> Llm {
    Llm::groq(GroqConfig::new(mock.base_url.clone(), KEY, MODEL), settings).expect("client")
}

fn said(outputs: &[Output]) -> String {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Say { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn templates(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Say { template, .. } => template.clone(),
            _ => None,
        })
        .collect()
}

/// What the turn does with no model at all.
async fn offline_turn(fx: &Fixture) -> TextTurn {
    let llm = Llm::offline();
    let mut call = Call::set_up(fx, &llm).await;
    call.say(&llm, &fx.utterance).await
}

fn system_prompt(body: &Value) -> &str {
    body["messages"][0]["content"].as_str().unwrap_or("")
}

#[tokio::test]
async fn hinglish_request_the_offline_path_misses_is_understood_via_the_tool_call() {
    let fx = fixture("understand_hinglish_dinner");
    let offline = offline_turn(&fx).await;
    assert_eq!(templates(&offline.outputs), ["not_understood"]);

    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings());
    let mut call = Call::set_up(&fx, &llm).await;
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(turn.interpreted);
    assert_eq!(templates(&turn.outputs), ["ask_party_size"]);
    let view = call.conv.view();
    assert_eq!(view.flow.as_deref(), Some("make_reservation"));
    assert_eq!(view.slots.get("date"), Some(&json!("2026-11-26")));
    assert_eq!(llm.stats().get(Use::Understand, "understood"), 1);

    // One request (the question asked next is not phrased), shaped as the engine meant it.
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].authorized);
    let body = &requests[0].body;
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][1]["content"], fx.utterance.as_str());
    let tool = &body["tools"][0]["function"];
    assert_eq!(tool["name"], "understand_turn");
    let props = &tool["parameters"]["properties"];
    assert_eq!(props["party_size"]["type"], "integer");
    assert_eq!(props["date"]["type"], "string");
    assert_eq!(props["time"]["pattern"], "^([01][0-9]|2[0-3]):[0-5][0-9]$");
    assert_eq!(props["name"]["type"], "string");
    assert_eq!(props["is_correction"]["type"], "boolean");
    let intents: Vec<&str> = props["intent"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for i in [
        "book_table",
        "ask_menu",
        "ask_faq",
        "cancel_reservation",
        "cancel",
        "repeat",
        "human",
        "correction",
        "goodbye",
        "none",
    ] {
        assert!(intents.contains(&i), "{i} missing from {intents:?}");
    }
    let prompt = system_prompt(body);
    assert!(prompt.contains("Wednesday 2026-11-25, 18:00"), "{prompt}");
    assert!(prompt.contains("Tomorrow is Thursday 2026-11-26"));
    assert!(prompt.contains("Hinglish"));
    assert!(prompt.contains("No task is in progress"));
}

#[tokio::test]
async fn a_correction_the_offline_path_misses_reaches_the_engine() {
    let fx = fixture("understand_correction");
    let offline = offline_turn(&fx).await;
    assert_eq!(templates(&offline.outputs), ["confirm_booking_again"]);

    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings());
    let mut call = Call::set_up(&fx, &llm).await;
    assert!(
        mock.requests().is_empty(),
        "setup lines are understood offline and need no model"
    );
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(turn.interpreted);
    let rechecked = turn.outputs.iter().any(|o| {
        matches!(o, Output::Tool(c) if matches!(c.kind, ToolKind::CheckAvailability { party_size: 5, .. }))
    });
    assert!(rechecked, "{:?}", turn.outputs);
    assert_eq!(templates(&turn.outputs), ["confirm_booking"]);
    assert!(
        said(&turn.outputs).starts_with("Paanch log"),
        "{}",
        said(&turn.outputs)
    );
    assert_eq!(call.conv.view().slots.get("party_size"), Some(&json!(5)));

    let body = &mock.requests()[0].body;
    let props = &body["tools"][0]["function"]["parameters"]["properties"];
    assert_eq!(
        props["confirmed"]["type"], "boolean",
        "the flow's own slots are offered"
    );
    assert_eq!(props["whatsapp_consent"]["type"], "boolean");
    let prompt = system_prompt(body);
    assert!(
        prompt.contains("has just asked the caller for `confirmed`"),
        "{prompt}"
    );
    assert!(prompt.contains("party_size=4"));
}

/// Runs the dinner request against a misbehaving mock; the turn must equal the offline turn.
async fn falls_back(mode: GroqMode, fx: &Fixture) -> (MockGroq, Llm, TextTurn) {
    let offline = offline_turn(fx).await;
    let mock = mock(replies(fx)).await;
    mock.set_mode(mode);
    let llm = groq(
        &mock,
        LlmSettings {
            timeout: Duration::from_millis(300),
            ..settings()
        },
    );
    let mut call = Call::set_up(fx, &llm).await;
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(!turn.interpreted && !turn.phrased);
    assert_eq!(
        turn.outputs, offline.outputs,
        "same turn as without a model"
    );
    (mock, llm, turn)
}

#[tokio::test]
async fn rate_limit_falls_back_and_pauses_further_requests() {
    let fx = fixture("understand_hinglish_dinner");
    let (mock, llm, _) = falls_back(
        GroqMode::RateLimited {
            retry_after_secs: 30,
        },
        &fx,
    )
    .await;
    assert_eq!(llm.stats().get(Use::Understand, "rate_limited"), 1);
    // The answer (not_understood) would be phrased, but requests are paused: no second call.
    assert_eq!(llm.stats().get(Use::Phrase, "cooling_down"), 1);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn server_error_falls_back_in_the_same_turn() {
    let fx = fixture("understand_hinglish_dinner");
    let (mock, llm, _) = falls_back(GroqMode::Status(500), &fx).await;
    assert_eq!(llm.stats().get(Use::Understand, "server_error"), 1);
    assert_eq!(llm.stats().get(Use::Phrase, "server_error"), 1);
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn stall_past_the_budget_falls_back_in_the_same_turn() {
    let fx = fixture("understand_hinglish_dinner");
    let (_mock, llm, _) = falls_back(GroqMode::Stall, &fx).await;
    assert_eq!(llm.stats().get(Use::Understand, "timeout"), 1);
    assert_eq!(llm.stats().get(Use::Phrase, "timeout"), 1);
}

#[tokio::test]
async fn malformed_stream_falls_back_in_the_same_turn() {
    let fx = fixture("understand_hinglish_dinner");
    let (_mock, llm, _) = falls_back(GroqMode::MalformedChunk, &fx).await;
    assert_eq!(llm.stats().get(Use::Understand, "malformed"), 1);
    assert_eq!(llm.stats().get(Use::Phrase, "malformed"), 1);
}

#[tokio::test]
async fn mid_stream_tool_error_and_cut_stream_fall_back() {
    let fx = fixture("understand_hinglish_dinner");
    let (_mock, llm, _) = falls_back(GroqMode::MidStreamError, &fx).await;
    assert_eq!(llm.stats().get(Use::Understand, "stream_error"), 1);
    let (_mock, llm, _) = falls_back(GroqMode::Truncate, &fx).await;
    assert_eq!(llm.stats().get(Use::Understand, "malformed"), 1);
}

#[tokio::test]
async fn unusable_tool_arguments_fall_back_in_the_same_turn() {
    let fx = fixture("understand_bad_arguments");
    let offline = offline_turn(&fx).await;
    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings());
    let mut call = Call::set_up(&fx, &llm).await;
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(!turn.interpreted);
    assert_eq!(llm.stats().get(Use::Understand, "bad_arguments"), 1);
    // The mock's default answer ("Ji.") phrases not_understood: grounded, so it is used; the
    // engine's decisions are the offline ones.
    assert_eq!(templates(&turn.outputs), templates(&offline.outputs));
}

#[tokio::test]
async fn invented_price_is_replaced_by_the_template_answer() {
    let fx = fixture("phrase_invented_price");
    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings());
    let mut call = Call::set_up(&fx, &llm).await;
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(
        turn.interpreted,
        "the tool call routed to the menu question"
    );
    assert!(!turn.phrased);
    assert_eq!(templates(&turn.outputs), ["menu_item_not_found"]);
    assert_eq!(said(&turn.outputs), "Sorry, yeh hamare menu mein nahi hai.");
    assert!(!said(&turn.outputs).contains("199"));
    assert_eq!(llm.stats().get(Use::Phrase, "ungrounded"), 1);

    // The phrasing request carried the business knowledge and the safe answer.
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let phrase = &requests[1].body;
    assert!(phrase.get("tools").is_none());
    let prompt = system_prompt(phrase);
    assert!(
        prompt.contains("price_inr: 220"),
        "menu prices are in the prompt"
    );
    assert!(prompt.contains("Sorry, yeh hamare menu mein nahi hai."));
    assert!(prompt.contains("Hinglish"));
    assert!(
        !prompt.contains("capacity"),
        "capacity is never the model's business"
    );
    assert!(!prompt.contains("prompts:"), "templates are not knowledge");
}

#[tokio::test]
async fn invented_time_is_replaced_by_the_template_answer() {
    let fx = fixture("phrase_invented_time");
    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings());
    let mut call = Call::set_up(&fx, &llm).await;
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(turn.interpreted);
    assert!(!turn.phrased);
    let t = templates(&turn.outputs);
    assert_eq!(
        t.first().map(String::as_str),
        Some("faq_not_found"),
        "{t:?}"
    );
    assert!(said(&turn.outputs).starts_with("Iski jaankari mere paas nahi hai."));
    assert!(!said(&turn.outputs).contains("11:30"));
    assert_eq!(llm.stats().get(Use::Phrase, "ungrounded"), 1);
    // The engine's handoff after the answer was told to the model, so it would not repeat it.
    let requests = mock.requests();
    let prompt = system_prompt(&requests[1].body);
    assert!(
        prompt.contains("Right after your answer the bot says"),
        "{prompt}"
    );
}

/// The test settings plus the templates the fixture phrases besides the defaults.
fn settings_for(fx: &Fixture) -> LlmSettings {
    let mut s = settings();
    s.phrase_templates
        .extend(fx.phrase_templates.iter().cloned());
    s
}

#[tokio::test]
async fn grounded_hindi_answer_streams_sentence_by_sentence() {
    let fx = fixture("phrase_grounded_hindi");
    assert_eq!(fx.exchanges[0].task, Task::Phrase);
    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings_for(&fx));
    let mut call = Call::start(&fx);
    // Driven step by step, as the phone edge does: engine turn, then the streamed answer.
    assert!(!llm.should_interpret(&call.conv, call.now, &fx.utterance, &call.host));
    let outputs = drive(
        &mut call.conv,
        call.now,
        Input::text(&fx.utterance),
        &call.host,
        &mut call.tools,
    );
    let target = llm.phrase_target(&outputs).expect("menu_answer is listed");
    assert_eq!(target.template, "menu_answer");
    let ctx = TurnContext::of(&call.conv, call.now);
    let mut answer = llm
        .phrase(&ctx, &fx.utterance, &target, call.conv.facts())
        .await;
    assert_eq!(
        answer.next().await,
        Some(Piece::Sentence("जी हाँ, चिली पनीर काफ़ी तीखा बनता है।".into()))
    );
    assert!(answer.first_token_at().is_some());
    assert_eq!(
        answer.next().await,
        Some(Piece::Sentence("इसकी कीमत 260 रुपये है।".into()))
    );
    assert_eq!(answer.next().await, None);
    assert_eq!(answer.outcome(), &PhraseOutcome::Grounded);
    assert_eq!(llm.stats().get(Use::Phrase, "grounded"), 1);
    assert!(system_prompt(&mock.requests()[0].body).contains("Devanagari"));
}

#[tokio::test]
async fn grounded_answer_replaces_the_template_in_text_chat() {
    let fx = fixture("phrase_grounded_hindi");
    let mock = mock(replies(&fx)).await;
    let llm = groq(&mock, settings_for(&fx));
    let mut call = Call::start(&fx);
    let turn = call.say(&llm, &fx.utterance).await;
    assert!(turn.phrased && !turn.interpreted);
    assert_eq!(
        said(&turn.outputs),
        "जी हाँ, चिली पनीर काफ़ी तीखा बनता है। इसकी कीमत 260 रुपये है।"
    );
}

fn tokens(pieces: &[&str]) -> TokenStream {
    let items: Vec<Result<String, Failure>> = pieces.iter().map(|p| Ok(p.to_string())).collect();
    Box::pin(futures_util::stream::iter(items))
}

#[tokio::test]
async fn a_later_ungrounded_sentence_ends_the_answer_with_the_template() {
    let fx = fixture("phrase_grounded_hindi");
    let call = Call::start(&fx);
    let template = "Chilli paneer: two hundred and sixty rupees.".to_string();
    let mut answer = GuardedAnswer::from_tokens(
        tokens(&["Chilli paneer is ", "quite hot. It costs ", "300 rupees."]),
        call.conv.facts(),
        template.clone(),
    );
    // On a call the first sentence may already be playing; the rest becomes the template.
    assert_eq!(
        answer.next().await,
        Some(Piece::Sentence("Chilli paneer is quite hot.".into()))
    );
    assert_eq!(answer.next().await, Some(Piece::Template(template.clone())));
    assert_eq!(answer.next().await, None);
    assert_eq!(answer.outcome(), &PhraseOutcome::Template("ungrounded"));
    // Text chat shows one consistent answer: the template alone.
    let text = GuardedAnswer::from_tokens(
        tokens(&["Chilli paneer is quite hot. It costs 300 rupees."]),
        call.conv.facts(),
        template.clone(),
    )
    .into_text()
    .await;
    assert_eq!(text, template);
}

#[tokio::test]
async fn booking_claims_and_empty_answers_never_pass() {
    let fx = fixture("phrase_grounded_hindi");
    let call = Call::start(&fx);
    let answer = |pieces: &[&str]| {
        GuardedAnswer::from_tokens(tokens(pieces), call.conv.facts(), "T.".into())
    };
    let mut a = answer(&["Haan ji, kal raat table available hai."]);
    assert_eq!(a.next().await, Some(Piece::Template("T.".into())));
    assert_eq!(a.outcome(), &PhraseOutcome::Template("booking_claim"));
    let mut a = answer(&[]);
    assert_eq!(a.next().await, Some(Piece::Template("T.".into())));
    assert_eq!(a.outcome(), &PhraseOutcome::Template("empty"));
    let failing: TokenStream = Box::pin(futures_util::stream::iter(vec![
        Ok("Momos are ".to_string()),
        Err(Failure::Timeout),
    ]));
    let mut a = GuardedAnswer::from_tokens(failing, call.conv.facts(), "T.".into());
    assert_eq!(a.next().await, Some(Piece::Template("T.".into())));
    assert_eq!(a.outcome(), &PhraseOutcome::Template("timeout"));
}

#[tokio::test]
async fn the_probe_consults_the_model_only_when_the_offline_reading_misses() {
    let fx = fixture("understand_correction");
    let llm = Llm::offline();
    let mut call = Call::start(&fx);
    let misses = |call: &Call, text: &str| offline_misses(&call.conv, call.now, text, &call.host);
    assert!(!misses(
        &call,
        "kal raat 8 baje 4 log ke liye table chahiye"
    ));
    assert!(misses(
        &call,
        "kal raat ki party ke liye bandobast ho payega"
    ));
    // Issue 12 taught the offline reading this one ("jagah milegi" asks for a table).
    assert!(!misses(&call, "kal dinner ke liye jagah milegi kya"));
    assert!(!misses(&call, "momos kitne ke hain"));
    for line in &fx.setup {
        call.say(&llm, line).await;
    }
    // At the read-back: a yes is understood, the extra friend is not.
    assert!(!misses(&call, "haan"));
    assert!(!misses(&call, "nahi, 5 log"));
    assert!(misses(&call, "ek aur dost aa raha hai"));
    assert!(!llm.should_interpret(&call.conv, call.now, "ek aur dost aa raha hai", &call.host));
}

#[tokio::test]
async fn model_answers_outside_the_schema_are_ignored() {
    let fx = fixture("understand_hinglish_dinner");
    let call = Call::start(&fx);
    let ctx = TurnContext::of(&call.conv, call.now);
    let i = vartalaap_llm::schema::interpretation_from(
        &json!({"intent": "order_pizza", "party_size": "4", "date": "", "confirmed": true, "extra": 1}),
        &ctx,
    )
    .expect("object");
    assert_eq!(i.intent, None, "unknown intents are dropped");
    assert_eq!(i.slots.get("party_size"), Some(&json!(4)));
    assert!(!i.slots.contains_key("date"), "empty values are dropped");
    assert!(
        !i.slots.contains_key("confirmed"),
        "slots the engine does not listen for now are dropped"
    );
    let i =
        vartalaap_llm::schema::interpretation_from(&json!({"intent": "correction"}), &ctx).unwrap();
    assert!(i.is_correction);
    assert!(vartalaap_llm::schema::interpretation_from(&json!([1]), &ctx).is_err());
}

#[test]
fn prompts_and_schema_come_from_each_business_file() {
    let store = ConfigStore::load(root()).expect("config");
    let mut seen = 0;
    for snap in store.list() {
        seen += 1;
        let host = RhaiHost::new(
            Arc::new(ScriptRuntime::new(ScriptLimits::default())),
            snap.clone(),
        );
        let now = DateTime::parse_from_rfc3339("2026-11-25T18:00:00+05:30")
            .unwrap()
            .naive_local();
        let (conv, _) = Conversation::start(snap.clone(), now, CallerContext::default(), &host);
        let ctx = TurnContext::of(&conv, now);
        let tool = vartalaap_llm::schema::interpret_tool(&ctx);
        let intents = tool.parameters["properties"]["intent"]["enum"]
            .as_array()
            .expect("intent enum")
            .len();
        // Every flow trigger of this business, the five repair intents and `none`.
        let triggers: usize = snap
            .business
            .flows
            .iter()
            .filter_map(|id| snap.flows.get(id))
            .map(|f| f.triggers.len())
            .sum();
        assert!(intents > triggers, "{}: {intents} intents", snap.id());
        let prompt = vartalaap_llm::prompt::interpret_prompt(&ctx, "hello");
        assert!(prompt.contains(&snap.business.name.en), "{}", snap.id());
        let knowledge = vartalaap_llm::prompt::knowledge(&snap);
        assert!(
            knowledge.contains(&snap.business.address.city),
            "{}",
            snap.id()
        );
        assert!(!knowledge.contains("prompts:"));
    }
    assert!(seen >= 1);
}
