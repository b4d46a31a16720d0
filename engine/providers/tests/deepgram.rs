//! Deepgram client against the mock: happy paths and every misbehaviour.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::Receiver;
use vartalaap_providers::Backoff;
use vartalaap_providers::deepgram::{
    AudioRefused, DeepgramConfig, DeepgramStt, SttError, SttEvent, SttLanguage, SttSender,
};
use vartalaap_providers::mock::deepgram::{
    DeepgramMode, MockDeepgram, MockDeepgramConfig, ScriptedUtterance, silence, speech,
};

const KEY: &str = "dg-test-key";

async fn mock(script: &[(&str, u32)]) -> MockDeepgram {
    MockDeepgram::start(MockDeepgramConfig {
        api_key: KEY.into(),
        script: script
            .iter()
            .map(|(t, ms)| ScriptedUtterance::new(*t, *ms))
            .collect(),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn config(mock: &MockDeepgram) -> DeepgramConfig {
    DeepgramConfig {
        base_url: mock.base_url.clone(),
        api_key: KEY.into(),
        language: SttLanguage::Multi,
        close_timeout: Duration::from_secs(2),
        reconnect: Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            max_attempts: 3,
        },
        ..Default::default()
    }
}

async fn send(tx: &SttSender, frames: Vec<Bytes>) {
    for f in frames {
        tx.send_audio(f).await.unwrap();
    }
}

/// Everything until the stream ends (with a generous bound so a bug cannot hang the suite).
async fn drain(mut rx: Receiver<SttEvent>) -> Vec<SttEvent> {
    let mut out = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        out.push(ev);
    }
    out
}

/// Events until an utterance arrives (or the bound passes).
async fn until_utterance(rx: &mut Receiver<SttEvent>) -> (Vec<SttEvent>, Option<String>) {
    let mut seen = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(3), rx.recv()).await {
        if let SttEvent::Utterance(u) = &ev {
            let text = u.text.clone();
            seen.push(ev);
            return (seen, Some(text));
        }
        let fatal = matches!(ev, SttEvent::Error(_));
        seen.push(ev);
        if fatal {
            break;
        }
    }
    (seen, None)
}

fn utterances(events: &[SttEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            SttEvent::Utterance(u) => Some(u.text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn transcribes_two_turns_and_closes_cleanly() {
    let mock = mock(&[
        ("namaste mujhe table chahiye", 1500),
        ("kal raat aath baje", 1200),
    ])
    .await;
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();

    send(&tx, speech(1500)).await;
    send(&tx, silence(400)).await;
    let (events, first) = until_utterance(&mut rx).await;
    assert_eq!(first.as_deref(), Some("namaste mujhe table chahiye"));
    assert!(events.iter().any(|e| matches!(e, SttEvent::SpeechStarted)));
    assert!(events.iter().any(|e| matches!(e, SttEvent::Interim { .. })));
    assert!(events.iter().any(|e| matches!(
        e,
        SttEvent::Final {
            speech_final: true,
            ..
        }
    )));

    send(&tx, speech(1200)).await;
    send(&tx, silence(1400)).await; // long enough for UtteranceEnd, which must not double-fire
    tx.close().await;
    let rest = drain(rx).await;
    assert_eq!(utterances(&rest), ["kal raat aath baje"]);
    assert!(rest.iter().any(|e| matches!(e, SttEvent::UtteranceEnd)));

    let conns = mock.connections();
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    assert!(c.authorized);
    for (k, v) in [
        ("model", "nova-3"),
        ("language", "multi"),
        ("encoding", "mulaw"),
        ("sample_rate", "8000"),
        ("channels", "1"),
        ("interim_results", "true"),
        ("endpointing", "300"),
        ("utterance_end_ms", "1000"),
        ("smart_format", "true"),
        ("punctuate", "true"),
    ] {
        assert_eq!(c.param(k), Some(v), "query parameter {k}");
    }
    assert_eq!(c.audio_bytes, 8 * (1500 + 400 + 1200 + 1400));
    assert_eq!(c.count_type("Finalize"), 1);
    assert_eq!(c.count_type("CloseStream"), 1);
}

#[tokio::test]
async fn long_turn_is_concatenated_from_several_finals() {
    let text = "mujhe kal shaam saat baje chaar logon ke liye ek table chahiye khidki ke paas";
    let mock = mock(&[(text, 4500)]).await;
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    send(&tx, speech(4500)).await;
    send(&tx, silence(400)).await;
    let (events, got) = until_utterance(&mut rx).await;
    let finals = events
        .iter()
        .filter(|e| matches!(e, SttEvent::Final { text, .. } if !text.is_empty()))
        .count();
    assert!(finals >= 2, "expected intermediate finals, got {events:?}");
    assert_eq!(got.as_deref(), Some(text));
    tx.close().await;
}

#[tokio::test]
async fn every_connection_follows_its_own_script() {
    // Two calls at once: each caller's first sentence is the script's first utterance, and
    // each one's second is the second (with a shared script position the second call would
    // hear the first call's next line).
    let mock = mock(&[("pehli baat", 600), ("doosri baat", 600)]).await;
    let (a_tx, mut a_rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    let (b_tx, mut b_rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    send(&a_tx, speech(600)).await;
    send(&a_tx, silence(400)).await;
    assert_eq!(
        until_utterance(&mut a_rx).await.1.as_deref(),
        Some("pehli baat")
    );
    send(&b_tx, speech(600)).await;
    send(&b_tx, silence(400)).await;
    assert_eq!(
        until_utterance(&mut b_rx).await.1.as_deref(),
        Some("pehli baat")
    );
    send(&a_tx, speech(600)).await;
    send(&a_tx, silence(400)).await;
    assert_eq!(
        until_utterance(&mut a_rx).await.1.as_deref(),
        Some("doosri baat")
    );
    send(&b_tx, speech(600)).await;
    send(&b_tx, silence(400)).await;
    assert_eq!(
        until_utterance(&mut b_rx).await.1.as_deref(),
        Some("doosri baat")
    );
    assert_eq!(mock.script_position(), 2);
    a_tx.close().await;
    b_tx.close().await;
}

#[tokio::test]
async fn a_pause_interim_carries_every_word_before_speech_final() {
    let mock = MockDeepgram::start(MockDeepgramConfig {
        api_key: KEY.into(),
        script: vec![ScriptedUtterance::new("kal raat aath baje", 700)],
        pause_interim_ms: Some(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    send(&tx, speech(700)).await;
    send(&tx, silence(400)).await;
    let (events, got) = until_utterance(&mut rx).await;
    assert_eq!(got.as_deref(), Some("kal raat aath baje"));
    // 700 ms of speech is less than the one-second interim cadence: the only interim is the
    // pause's, whole, and it comes before the final.
    let interim = events
        .iter()
        .position(|e| matches!(e, SttEvent::Interim { text, .. } if text == "kal raat aath baje"));
    let last = events.iter().position(|e| {
        matches!(
            e,
            SttEvent::Final {
                speech_final: true,
                ..
            }
        )
    });
    assert!(interim.is_some() && interim < last, "{events:?}");
    tx.close().await;
}

#[tokio::test]
async fn an_endpointing_delay_set_on_the_mock_wins_over_the_clients() {
    // The client asks for 300 ms; the mock was told to endpoint after 800 ms of silence.
    let mock = MockDeepgram::start(MockDeepgramConfig {
        api_key: KEY.into(),
        script: vec![ScriptedUtterance::new("table for two", 700)],
        endpointing_ms: Some(800),
        ..Default::default()
    })
    .await
    .unwrap();
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    send(&tx, speech(700)).await;
    send(&tx, silence(500)).await;
    let (events, got) = until_utterance(&mut rx).await;
    assert_eq!(
        got, None,
        "500 ms of silence is not yet the end: {events:?}"
    );
    send(&tx, silence(400)).await;
    let (_, got) = until_utterance(&mut rx).await;
    assert_eq!(got.as_deref(), Some("table for two"));
    assert_eq!(mock.connections()[0].param("endpointing"), Some("300"));
    tx.close().await;
}

#[tokio::test]
async fn finalize_closes_the_turn_early() {
    let mock = mock(&[("haan ji", 800)]).await;
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    send(&tx, speech(800)).await;
    send(&tx, silence(100)).await; // shorter than endpointing: only our Finalize ends it
    tx.finalize().await.unwrap();
    let (events, got) = until_utterance(&mut rx).await;
    assert_eq!(got.as_deref(), Some("haan ji"));
    assert!(events.iter().any(|e| matches!(
        e,
        SttEvent::Final {
            from_finalize: true,
            ..
        }
    )));
    tx.close().await;
}

/// The call's task hands frames over without waiting: the words arrive as with `send_audio`,
/// and a full queue refuses the frame (Deepgram is behind) instead of blocking the call.
#[tokio::test]
async fn frames_handed_over_without_waiting_are_transcribed_and_a_full_queue_refuses() {
    let mock = mock(&[("haan ji", 800)]).await;
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    for frame in speech(800).into_iter().chain(silence(600)) {
        tx.try_send_audio(frame).unwrap();
    }
    let (_, got) = until_utterance(&mut rx).await;
    assert_eq!(got.as_deref(), Some("haan ji"));
    // An empty frame is not audio (Deepgram would read it as the end of the stream).
    assert_eq!(tx.try_send_audio(Bytes::new()), Ok(()));
    tx.close().await;

    let small = DeepgramConfig {
        audio_channel_capacity: 4,
        ..config(&mock)
    };
    let (tx, _rx) = DeepgramStt::connect(small).await.unwrap();
    // This test's runtime has one thread and the loop never yields: nothing drains the queue.
    let burst: Vec<_> = (0..8)
        .map(|_| tx.try_send_audio(Bytes::from_static(&[0xFF; 160])))
        .collect();
    assert_eq!(burst[..4], [Ok(()); 4]);
    assert_eq!(burst[4..], [Err(AudioRefused::Behind); 4]);
    tx.close().await;
}

#[tokio::test]
async fn keepalive_is_sent_while_no_audio_flows() {
    let mock = mock(&[]).await;
    let cfg = DeepgramConfig {
        keepalive_interval: Duration::from_millis(40),
        ..config(&mock)
    };
    let (tx, rx) = DeepgramStt::connect(cfg).await.unwrap();
    send(&tx, silence(100)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.close().await;
    drain(rx).await;
    let c = &mock.connections()[0];
    assert!(c.count_type("KeepAlive") >= 2, "{:?}", c.text_messages);
}

#[tokio::test]
async fn wrong_key_is_a_typed_unauthorized_error() {
    let mock = mock(&[]).await;
    let cfg = DeepgramConfig {
        api_key: "wrong".into(),
        ..config(&mock)
    };
    match DeepgramStt::connect(cfg).await {
        Err(SttError::Unauthorized {
            status: 401,
            reason,
        }) => {
            assert!(reason.contains("Invalid credentials"), "{reason}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn rejected_parameters_are_a_bad_request() {
    let mock = mock(&[]).await;
    mock.set_mode(DeepgramMode::RejectUpgrade(400));
    let cfg = config(&mock);
    assert!(matches!(
        DeepgramStt::connect(cfg).await,
        Err(SttError::BadRequest(_))
    ));
}

async fn reconnect_scenario(
    mode: DeepgramMode,
    max_replay_bytes: usize,
) -> (Vec<SttEvent>, MockDeepgram) {
    let text = "ek do teen chaar paanch chhe saat aath";
    let mock = mock(&[(text, 1600)]).await;
    let cfg = DeepgramConfig {
        max_replay_bytes,
        ..config(&mock)
    };
    let (tx, mut rx) = DeepgramStt::connect(cfg).await.unwrap();
    mock.set_mode(mode);
    send(&tx, speech(1600)).await;
    send(&tx, silence(400)).await;
    let (events, _) = until_utterance(&mut rx).await;
    tx.close().await;
    let mut all = events;
    all.extend(drain(rx).await);
    (all, mock)
}

#[tokio::test]
async fn dropped_socket_reconnects_and_replays_without_losing_words() {
    let (events, mock) = reconnect_scenario(DeepgramMode::DropAfterBytes(8 * 800), 8000 * 20).await;
    assert_eq!(
        utterances(&events),
        ["ek do teen chaar paanch chhe saat aath"]
    );
    let replayed = events.iter().find_map(|e| match e {
        SttEvent::Reconnected { replayed_bytes, .. } => Some(*replayed_bytes),
        _ => None,
    });
    assert!(replayed.unwrap_or(0) >= 8 * 800, "{events:?}");
    let conns = mock.connections();
    assert_eq!(conns.len(), 2);
    assert!(conns[1].audio_bytes >= 8 * (1600 + 400));
}

#[tokio::test]
async fn without_replay_the_mock_loses_words() {
    // Control for the test above: proves the mock really ties words to audio.
    let (events, _mock) = reconnect_scenario(DeepgramMode::DropAfterBytes(8 * 800), 0).await;
    let got = utterances(&events);
    assert!(
        !got.iter()
            .any(|u| u == "ek do teen chaar paanch chhe saat aath"),
        "{events:?}"
    );
}

#[tokio::test]
async fn server_error_close_reconnects() {
    let mode = DeepgramMode::CloseAfterBytes {
        bytes: 8 * 600,
        code: 1011,
        reason: "NET-0000".into(),
    };
    let (events, mock) = reconnect_scenario(mode, 8000 * 20).await;
    assert_eq!(
        utterances(&events),
        ["ek do teen chaar paanch chhe saat aath"]
    );
    assert_eq!(mock.connections().len(), 2);
}

#[tokio::test]
async fn undecodable_audio_is_fatal_not_retried() {
    let mode = DeepgramMode::CloseAfterBytes {
        bytes: 160,
        code: 1008,
        reason: "DATA-0000".into(),
    };
    let (events, mock) = reconnect_scenario(mode, 8000).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SttEvent::Error(SttError::BadAudio(r)) if r == "DATA-0000")),
        "{events:?}"
    );
    assert_eq!(mock.connections().len(), 1);
}

#[tokio::test]
async fn reconnect_gives_up_with_a_typed_error() {
    let mock = mock(&[("hello", 500)]).await;
    let (tx, rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    send(&tx, speech(40)).await;
    // Deepgram goes away entirely: the socket drops and every reconnect is refused.
    drop(mock);
    let events = drain(rx).await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            SttEvent::Error(SttError::ReconnectFailed { attempts: 3, .. })
        )),
        "{events:?}"
    );
    assert!(
        tx.send_audio(Bytes::from_static(&[0xFF; 160]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn hanging_up_while_disconnected_ends_quietly() {
    let mock = mock(&[("hello", 500)]).await;
    let cfg = DeepgramConfig {
        reconnect: Backoff {
            initial: Duration::from_millis(300),
            max: Duration::from_millis(300),
            max_attempts: 3,
        },
        ..config(&mock)
    };
    let (tx, rx) = DeepgramStt::connect(cfg).await.unwrap();
    send(&tx, speech(40)).await;
    drop(mock);
    tx.close().await;
    let events = drain(rx).await;
    assert!(
        !events.iter().any(|e| matches!(e, SttEvent::Error(_))),
        "{events:?}"
    );
}

#[tokio::test]
async fn other_upgrade_statuses_are_typed() {
    let mock = mock(&[("hello", 500)]).await;
    mock.set_mode(DeepgramMode::RejectUpgrade(503));
    let cfg = config(&mock);
    match DeepgramStt::connect(cfg).await {
        Err(SttError::Status { status: 503, .. }) => {}
        other => panic!("expected Status 503, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_frames_are_skipped() {
    let mock = mock(&[("theek hai", 600)]).await;
    let (tx, mut rx) = DeepgramStt::connect(config(&mock)).await.unwrap();
    mock.set_mode(DeepgramMode::MalformedNext);
    send(&tx, speech(600)).await;
    send(&tx, silence(400)).await;
    let (_, got) = until_utterance(&mut rx).await;
    assert_eq!(got.as_deref(), Some("theek hai"));
    tx.close().await;
}

#[tokio::test]
async fn a_stalled_server_cannot_hold_up_hang_up() {
    let mock = mock(&[("hello", 500)]).await;
    let cfg = DeepgramConfig {
        close_timeout: Duration::from_millis(200),
        ..config(&mock)
    };
    let (tx, rx) = DeepgramStt::connect(cfg).await.unwrap();
    mock.set_mode(DeepgramMode::Stall);
    send(&tx, speech(500)).await;
    tx.close().await;
    // The stream ends by itself after close_timeout; drain's 10 s bound is never reached.
    let ended = tokio::time::timeout(Duration::from_secs(5), drain(rx)).await;
    assert!(ended.is_ok());
}
