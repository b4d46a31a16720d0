//! Groq client against the mock: streaming text, tool calls, recorded fixtures, every failure.

use std::path::PathBuf;
use std::time::Duration;

use vartalaap_providers::groq::{
    ChatMessage, ChatRequest, FinishReason, GroqClient, GroqConfig, LlmError, LlmEvent,
    TimeoutStage, ToolChoice, ToolSpec,
};
use vartalaap_providers::mock::groq::{GroqMode, GroqReply, MockGroq, MockGroqConfig};

const KEY: &str = "gsk_test";
const MODEL: &str = "test-model-70b";

fn fixture(name: &str) -> GroqReply {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/groq")
        .join(name);
    GroqReply::from_sse_file(path).unwrap()
}

async fn setup(replies: Vec<GroqReply>) -> (MockGroq, GroqClient) {
    let mock = MockGroq::start(MockGroqConfig {
        api_key: KEY.into(),
        replies,
        decommissioned: vec!["old-model".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut cfg = GroqConfig::new(mock.base_url.clone(), KEY, MODEL);
    cfg.first_token_timeout = Duration::from_millis(400);
    cfg.total_timeout = Duration::from_secs(3);
    let client = GroqClient::new(cfg).unwrap();
    (mock, client)
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::System {
                content: "You book tables.".into(),
            },
            ChatMessage::User {
                content: "kal raat 8 baje 4 logon ke liye table".into(),
            },
        ],
        tools: vec![ToolSpec {
            name: "check_availability".into(),
            description: "Check table availability".into(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {"party_size": {"type": "integer"}},
                "required": ["party_size"]
            }),
        }],
        tool_choice: Some(ToolChoice::Auto),
        temperature: Some(0.3),
        max_completion_tokens: Some(300),
        parallel_tool_calls: Some(false),
    }
}

async fn events(client: &GroqClient) -> Result<Vec<LlmEvent>, LlmError> {
    let mut stream = client.stream(&request()).await?;
    let mut out = Vec::new();
    while let Some(ev) = stream.next().await {
        out.push(ev?);
    }
    Ok(out)
}

#[tokio::test]
async fn streams_generated_text_and_sends_the_configured_model() {
    let (mock, client) = setup(vec![GroqReply::Text(
        "Ji, table mil jayegi. Aur kuch?".into(),
    )])
    .await;
    let evs = events(&client).await.unwrap();
    let text: String = evs
        .iter()
        .filter_map(|e| match e {
            LlmEvent::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Ji, table mil jayegi. Aur kuch?");
    assert!(
        evs.iter()
            .filter(|e| matches!(e, LlmEvent::Delta(_)))
            .count()
            > 3
    );
    match evs.last() {
        Some(LlmEvent::Done {
            finish_reason,
            usage,
        }) => {
            assert_eq!(finish_reason, &Some(FinishReason::Stop));
            assert!(usage.as_ref().unwrap().total_tokens > 0);
        }
        other => panic!("expected Done, got {other:?}"),
    }
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].authorized);
    let body = &reqs[0].body;
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(body["tools"][0]["function"]["name"], "check_availability");
    assert_eq!(body["tool_choice"], "auto");
}

#[tokio::test]
async fn replays_a_recorded_text_stream() {
    let (_mock, client) = setup(vec![fixture("text.sse")]).await;
    let (text, calls) = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(text, "Ji, kal raat aath baje table mil jayegi।");
    assert!(calls.is_empty());
}

#[tokio::test]
async fn recorded_tool_call_in_one_delta() {
    let (_mock, client) = setup(vec![fixture("tool_call.sse")]).await;
    let evs = events(&client).await.unwrap();
    let calls = evs
        .iter()
        .find_map(|e| match e {
            LlmEvent::ToolCalls(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "tk85n1k4m");
    assert_eq!(calls[0].name, "check_availability");
    assert_eq!(calls[0].arguments_json().unwrap()["party_size"], 4);
    assert!(matches!(
        evs.last(),
        Some(LlmEvent::Done {
            finish_reason: Some(FinishReason::ToolCalls),
            ..
        })
    ));
}

#[tokio::test]
async fn fragmented_parallel_tool_calls_are_accumulated_by_index() {
    let (_mock, client) = setup(vec![fixture("tool_call_fragmented.sse")]).await;
    let (_, calls) = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "call_a1");
    assert_eq!(calls[0].arguments_json().unwrap()["party_size"], 2);
    assert_eq!(calls[1].name, "get_menu");
    assert_eq!(calls[1].arguments_json().unwrap()["veg"], true);
}

#[tokio::test]
async fn generated_fragmented_tool_call_and_tool_round_trip() {
    let args = r#"{"date":"2026-09-01","time":"20:00","party_size":4}"#;
    let (mock, client) = setup(vec![
        GroqReply::ToolCall {
            id: "call_x".into(),
            name: "check_availability".into(),
            arguments: args.into(),
            fragmented: true,
        },
        GroqReply::Text("Haan, 8 baje khali hai.".into()),
    ])
    .await;
    let (_, calls) = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(calls[0].arguments, args);

    let mut second = request();
    second.messages.push(ChatMessage::Assistant {
        content: None,
        tool_calls: calls.clone(),
    });
    second.messages.push(ChatMessage::Tool {
        tool_call_id: calls[0].id.clone(),
        content: r#"{"available":true}"#.into(),
    });
    let (text, _) = client
        .stream(&second)
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(text, "Haan, 8 baje khali hai.");
    let body = &mock.requests()[1].body;
    assert_eq!(body["messages"][2]["tool_calls"][0]["id"], "call_x");
    assert_eq!(body["messages"][3]["role"], "tool");
    assert_eq!(body["messages"][3]["tool_call_id"], "call_x");
}

#[tokio::test]
async fn non_streaming_completion() {
    let (mock, client) = setup(vec![GroqReply::Text("Namaste!".into())]).await;
    let c = client.complete(&request()).await.unwrap();
    assert_eq!(c.content.as_deref(), Some("Namaste!"));
    assert_eq!(c.finish_reason, Some(FinishReason::Stop));
    assert_eq!(mock.requests()[0].body["stream"], false);
}

#[tokio::test]
async fn rate_limit_is_typed_with_retry_after() {
    let (mock, client) = setup(vec![]).await;
    mock.set_mode(GroqMode::RateLimited {
        retry_after_secs: 5,
    });
    assert_eq!(
        client.stream(&request()).await.unwrap_err(),
        LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(5))
        }
    );
    assert!(matches!(
        client.complete(&request()).await,
        Err(LlmError::RateLimited {
            retry_after: Some(_)
        })
    ));
}

#[tokio::test]
async fn server_error_is_a_status_with_body() {
    let (mock, client) = setup(vec![]).await;
    mock.set_mode(GroqMode::Status(500));
    match client.stream(&request()).await.unwrap_err() {
        LlmError::Status { code: 500, body } => assert!(body.contains("internal"), "{body}"),
        other => panic!("expected Status, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_key_and_decommissioned_model_are_status_errors() {
    let (mock, _) = setup(vec![]).await;
    let wrong =
        GroqClient::new(GroqConfig::new(mock.base_url.clone(), "gsk_wrong", MODEL)).unwrap();
    assert!(matches!(
        wrong.stream(&request()).await,
        Err(LlmError::Status { code: 401, .. })
    ));
    let old = GroqClient::new(GroqConfig::new(mock.base_url.clone(), KEY, "old-model")).unwrap();
    match old.stream(&request()).await.unwrap_err() {
        LlmError::Status { code: 400, body } => assert!(body.contains("model_decommissioned")),
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn stalled_stream_times_out_on_the_first_token() {
    let (mock, client) = setup(vec![]).await;
    mock.set_mode(GroqMode::Stall);
    let mut stream = client.stream(&request()).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap_err(),
        LlmError::Timeout {
            stage: TimeoutStage::FirstToken
        }
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn slow_first_token_within_budget_is_fine_beyond_it_times_out() {
    let (mock, client) = setup(vec![
        GroqReply::Text("ok".into()),
        GroqReply::Text("late".into()),
    ])
    .await;
    mock.set_mode(GroqMode::SlowFirstToken(Duration::from_millis(50)));
    let (text, _) = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(text, "ok");
    mock.set_mode(GroqMode::SlowFirstToken(Duration::from_secs(2)));
    let err = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LlmError::Timeout {
            stage: TimeoutStage::FirstToken
        }
    );
}

#[tokio::test]
async fn malformed_chunk_is_malformed() {
    let (mock, client) = setup(vec![]).await;
    mock.set_mode(GroqMode::MalformedChunk);
    let err = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn mid_stream_error_event_is_surfaced() {
    let (mock, client) = setup(vec![]).await;
    mock.set_mode(GroqMode::MidStreamError);
    let err = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();
    match err {
        LlmError::Api { code, message } => {
            assert_eq!(code, "tool_use_failed");
            assert!(message.contains("Failed to call a function"));
        }
        other => panic!("expected Api, got {other:?}"),
    }
}

#[tokio::test]
async fn truncated_stream_is_malformed_not_a_silent_end() {
    let (mock, client) = setup(vec![GroqReply::Text("one two three four".into())]).await;
    mock.set_mode(GroqMode::Truncate);
    let err = client
        .stream(&request())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Malformed(ref m) if m.contains("[DONE]")),
        "{err:?}"
    );
}

#[tokio::test]
async fn refused_connection_is_a_transport_error_and_bad_config_is_rejected() {
    let client =
        GroqClient::new(GroqConfig::new("http://127.0.0.1:1/openai/v1", KEY, MODEL)).unwrap();
    assert!(matches!(
        client.stream(&request()).await,
        Err(LlmError::Transport(_))
    ));
    assert!(matches!(
        GroqClient::new(GroqConfig::new("not a url", KEY, MODEL)),
        Err(LlmError::Config(_))
    ));
    assert!(matches!(
        GroqClient::new(GroqConfig::new("http://x", KEY, " ")),
        Err(LlmError::Config(_))
    ));
}

#[tokio::test]
async fn a_slow_trickle_hits_the_total_timeout() {
    let mock = MockGroq::start(MockGroqConfig {
        api_key: KEY.into(),
        replies: vec![GroqReply::Text(
            "ek do teen chaar paanch chhe saat aath nau das".into(),
        )],
        event_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut cfg = GroqConfig::new(mock.base_url.clone(), KEY, MODEL);
    cfg.first_token_timeout = Duration::from_millis(500);
    cfg.total_timeout = Duration::from_millis(400);
    let client = GroqClient::new(cfg).unwrap();
    let mut stream = client.stream(&request()).await.unwrap();
    let mut deltas = 0;
    let err = loop {
        match stream.next().await {
            Some(Ok(LlmEvent::Delta(_))) => deltas += 1,
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            Some(Err(e)) => break e,
            None => panic!("stream ended without the timeout"),
        }
    };
    assert!(deltas >= 1);
    assert_eq!(
        err,
        LlmError::Timeout {
            stage: TimeoutStage::Total
        }
    );
}

#[tokio::test]
async fn a_recorded_stream_replays_identically() {
    let (mock, _) = setup(vec![GroqReply::Text(
        "Aapka table book ho gaya hai.".into(),
    )])
    .await;
    let mut cfg = GroqConfig::new(mock.base_url.clone(), KEY, MODEL);
    cfg.record_sse = true;
    let recorder = GroqClient::new(cfg).unwrap();
    let mut stream = recorder.stream(&request()).await.unwrap();
    let mut live = Vec::new();
    while let Some(ev) = stream.next().await {
        live.push(ev.unwrap());
    }
    let transcript = String::from_utf8(stream.recorded_sse().unwrap().to_vec()).unwrap();
    assert!(transcript.ends_with("data: [DONE]\n\n"));

    let (_replay_mock, client) = setup(vec![GroqReply::Sse(transcript)]).await;
    assert_eq!(events(&client).await.unwrap(), live);
}
