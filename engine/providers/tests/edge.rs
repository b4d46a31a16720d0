//! Edge TTS client against the mock: MP3 → PCM, token/skew handling, every fault mode.

use std::time::Duration;

use vartalaap_providers::edge::{EdgeTts, EdgeTtsConfig, TtsError, TtsStage};
use vartalaap_providers::mock::edge::{EdgeMode, MockEdgeConfig, MockEdgeTts};

const MP3: &[u8] = include_bytes!("fixtures/edge/namaste_24k_48kbps.mp3");

async fn setup(cfg: MockEdgeConfig) -> (MockEdgeTts, EdgeTts) {
    let mock = MockEdgeTts::start(cfg).await.unwrap();
    let client = EdgeTts::new(EdgeTtsConfig {
        base_url: mock.base_url.clone(),
        first_audio_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap();
    (mock, client)
}

#[tokio::test]
async fn synthesizes_pcm_of_plausible_length() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    let pcm = tts
        .synthesize("नमस्ते, आपकी टेबल बुक हो गई है। A & B")
        .await
        .unwrap();
    assert_eq!(pcm.sample_rate, 24_000);
    let secs = pcm.duration_secs();
    assert!((2.2..2.5).contains(&secs), "{secs}");

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert!(r.accepted && r.token_ok);
    assert_eq!(r.param("Sec-MS-GEC-Version"), Some("1-143.0.3650.75"));
    assert!(
        r.param("Sec-MS-GEC")
            .is_some_and(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    assert!(r.messages[0].contains("Path:speech.config"));
    assert!(r.messages[1].contains("Path:ssml"));
    assert!(
        r.messages[1].contains("Microsoft Server Speech Text to Speech Voice (hi-IN, SwaraNeural)")
    );
    assert!(r.messages[1].contains("A &amp; B"));
}

#[tokio::test]
async fn clock_skew_is_learned_from_the_403_date_and_retried_once() {
    let mut cfg = MockEdgeConfig::new(MP3.to_vec());
    cfg.clock_offset_secs = 3600; // the service's clock is an hour ahead of ours
    let (mock, tts) = setup(cfg).await;
    let mp3 = tts.synthesize_mp3("hello").await.unwrap();
    assert_eq!(mp3, MP3);
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert!(!reqs[0].token_ok && reqs[1].token_ok);
    // The learned skew sticks: the next request needs no retry.
    tts.synthesize_mp3("again").await.unwrap();
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn persistent_403_is_forbidden() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    mock.set_mode(EdgeMode::Forbidden);
    assert_eq!(
        tts.synthesize("hello").await.unwrap_err(),
        TtsError::Forbidden
    );
    assert_eq!(mock.requests().len(), 2, "exactly one retry");
}

#[tokio::test]
async fn turn_end_without_audio_is_no_audio() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    mock.set_mode(EdgeMode::NoAudio);
    assert!(matches!(
        tts.synthesize("hello").await,
        Err(TtsError::NoAudio { .. })
    ));
}

#[tokio::test]
async fn unsupported_output_format_gets_no_audio() {
    let mock = MockEdgeTts::start(MockEdgeConfig::new(MP3.to_vec()))
        .await
        .unwrap();
    let tts = EdgeTts::new(EdgeTtsConfig {
        base_url: mock.base_url.clone(),
        output_format: "raw-8khz-8bit-mono-mulaw".into(),
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        tts.synthesize_mp3("hello").await,
        Err(TtsError::NoAudio { .. })
    ));
}

#[tokio::test]
async fn unknown_paths_are_ignored() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    mock.set_mode(EdgeMode::UnknownPath);
    assert_eq!(tts.synthesize_mp3("hello").await.unwrap(), MP3);
}

#[tokio::test]
async fn stall_after_turn_start_times_out_waiting_for_audio() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    mock.set_mode(EdgeMode::StallAfterTurnStart);
    assert_eq!(
        tts.synthesize("hello").await.unwrap_err(),
        TtsError::Timeout(TtsStage::FirstAudio)
    );
}

#[tokio::test]
async fn close_mid_audio_is_truncated_not_partial_audio() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    mock.set_mode(EdgeMode::CloseMidAudio);
    assert!(matches!(
        tts.synthesize("hello").await,
        Err(TtsError::Truncated(_))
    ));
}

#[tokio::test]
async fn invalid_ssml_close_code_is_reported() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    mock.set_mode(EdgeMode::BadSsml);
    match tts.synthesize("hello").await.unwrap_err() {
        TtsError::Closed { code: 1007, reason } => assert!(reason.contains("SSML")),
        other => panic!("expected 1007, got {other:?}"),
    }
}

#[tokio::test]
async fn punctuation_only_never_reaches_the_service() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    assert_eq!(
        tts.synthesize("...!!").await.unwrap_err(),
        TtsError::NothingToSpeak
    );
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn long_text_uses_one_connection_per_piece() {
    let (mock, tts) = setup(MockEdgeConfig::new(MP3.to_vec())).await;
    let text = "namaste ".repeat(700); // 5600 bytes > 4096
    let mp3 = tts.synthesize_mp3(&text).await.unwrap();
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(mp3.len(), 2 * MP3.len());
}
