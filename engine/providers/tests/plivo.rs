//! Plivo REST client against the mock.

use std::time::Duration;

use vartalaap_providers::mock::plivo::{MockPlivoRest, PlivoMode};
use vartalaap_providers::plivo::{
    HangupOutcome, Legs, PlivoError, PlivoRest, PlivoRestConfig, Transfer,
};

const ID: &str = "MAXXXXXXXXXXXXXXXXXX";
const TOKEN: &str = "plivo-test-token";

async fn setup() -> (MockPlivoRest, PlivoRest) {
    let mock = MockPlivoRest::start(ID, TOKEN).await.unwrap();
    let mut cfg = PlivoRestConfig::new(mock.base_url.clone(), ID, TOKEN);
    cfg.timeout = Duration::from_millis(500);
    (mock, PlivoRest::new(cfg).unwrap())
}

#[tokio::test]
async fn transfer_posts_the_aleg_url() {
    let (mock, rest) = setup().await;
    rest.transfer(
        "call-123",
        &Transfer::aleg("https://bot.example/plivo/transfer/call-123"),
    )
    .await
    .unwrap();
    let r = &mock.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/v1/Account/{ID}/Call/call-123/"));
    assert!(r.authorized);
    assert_eq!(r.body["legs"], "aleg");
    assert_eq!(
        r.body["aleg_url"],
        "https://bot.example/plivo/transfer/call-123"
    );
    assert_eq!(r.body["aleg_method"], "POST");

    let both = Transfer {
        legs: Legs::Both,
        url: "https://x/y".into(),
        method: "GET".into(),
    };
    rest.transfer("call-123", &both).await.unwrap();
    assert_eq!(mock.requests()[1].body["bleg_method"], "GET");
}

#[tokio::test]
async fn hangup_then_repeat_is_already_ended_and_transfer_after_is_not_found() {
    let (mock, rest) = setup().await;
    assert_eq!(rest.hangup("call-9").await.unwrap(), HangupOutcome::HungUp);
    assert_eq!(
        rest.hangup("call-9").await.unwrap(),
        HangupOutcome::AlreadyEnded
    );
    assert_eq!(
        rest.transfer("call-9", &Transfer::aleg("https://x/t"))
            .await,
        Err(PlivoError::CallNotFound)
    );
    assert!(mock.requests().iter().all(|r| r.authorized));
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let (mock, _) = setup().await;
    let wrong = PlivoRest::new(PlivoRestConfig::new(mock.base_url.clone(), ID, "nope")).unwrap();
    assert_eq!(wrong.hangup("c1").await, Err(PlivoError::Unauthorized(401)));
}

#[tokio::test]
async fn server_error_carries_plivos_message() {
    let (mock, rest) = setup().await;
    mock.set_mode(PlivoMode::Status(500));
    assert_eq!(
        rest.hangup("c1").await,
        Err(PlivoError::Status {
            code: 500,
            message: "internal server error".into()
        })
    );
    mock.set_mode(PlivoMode::Status(429));
    assert_eq!(
        rest.transfer("c1", &Transfer::aleg("https://x")).await,
        Err(PlivoError::RateLimited)
    );
}

#[tokio::test]
async fn stalled_api_times_out() {
    let (mock, rest) = setup().await;
    mock.set_mode(PlivoMode::Stall);
    assert!(matches!(
        rest.hangup("c1").await,
        Err(PlivoError::Timeout(_))
    ));
}

#[tokio::test]
async fn unsafe_call_ids_never_reach_the_network() {
    let (mock, rest) = setup().await;
    assert!(matches!(
        rest.hangup("../../Account").await,
        Err(PlivoError::Invalid(_))
    ));
    assert!(mock.requests().is_empty());
}
