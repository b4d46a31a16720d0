//! End-to-end: the real `vartalaap serve` with `LLM_PROVIDER=groq` pointed at the loopback
//! Groq mock, driven through the text conversation API. The recorded tool call understands a
//! Hinglish request the offline path misses; a turn the offline path understands sends no
//! request; a 429 leaves the offline answer of the same turn; every outcome is in /metrics.

mod common;

use common::{Server, repo_root};
use serde_json::json;
use vartalaap_llm::fixture::Fixture;
use vartalaap_providers::mock::groq::{GroqMode, GroqReply, MockGroq, MockGroqConfig};

const AT: &str = "2026-11-25T18:00:00+05:30"; // a Wednesday evening
const KEY: &str = "gsk_e2e_test_key";

#[test]
fn the_text_api_understands_through_groq_and_falls_back_when_it_fails() {
    // The mock runs on its own runtime in this process; the server is a separate process.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fx = Fixture::load(repo_root().join("tests/fixtures/llm/understand_hinglish_dinner.json"))
        .unwrap();
    let mock = runtime
        .block_on(MockGroq::start(MockGroqConfig {
            api_key: KEY.into(),
            replies: fx
                .exchanges
                .iter()
                .map(|e| GroqReply::Sse(e.sse()))
                .collect(),
            ..Default::default()
        }))
        .unwrap();
    let server = Server::start_with(&[
        ("LLM_PROVIDER", "groq"),
        ("GROQ_API_KEY", KEY),
        ("GROQ_MODEL", "model-from-settings"),
        ("GROQ_BASE_URL", &mock.base_url),
        ("LLM_TIMEOUT_MS", "2000"),
    ]);
    let token = server.login();
    let r = server.request(
        "POST",
        "/api/businesses/himalayan_kitchen/conversations",
        Some(&token),
        Some(&json!({ "at": fx.at }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(fx.at, AT);
    let id = r.json["conversation_id"].as_str().unwrap().to_string();

    // 1. The offline path misses this; the recorded tool call reads a booking for tomorrow.
    let reply = server.say(&token, &id, &fx.utterance);
    assert_eq!(reply["state"]["flow"], "make_reservation", "{reply:#}");
    assert_eq!(reply["state"]["slots"]["date"], "2026-11-26");
    assert_eq!(reply["reply"], "Kitne logon ke liye table chahiye?");
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body["model"], "model-from-settings");
    assert!(requests[0].authorized);

    // 2. Understood offline: no request, no waiting on the network.
    let reply = server.say(&token, &id, "4 log");
    assert_eq!(reply["state"]["slots"]["party_size"], 4);
    assert_eq!(mock.requests().len(), 1);

    // 3. Groq rate-limits: the same turn gets the offline answer (the time question again).
    mock.set_mode(GroqMode::RateLimited {
        retry_after_secs: 30,
    });
    let reply = server.say(&token, &id, "baad mein bataunga");
    assert_eq!(
        reply["reply"],
        "Time bataiye please, jaise shaam 7 baje ya raat saadhe aath baje."
    );
    assert_eq!(reply["state"]["step"], "ask_time");
    assert_eq!(mock.requests().len(), 2, "one request, answered 429");

    // 4. While paused, a miss costs no request at all.
    server.say(&token, &id, "koi bhi chalega");
    assert_eq!(mock.requests().len(), 2);

    let metrics = server.request("GET", "/metrics", None, None).text;
    for line in [
        "vartalaap_llm_turns_total{task=\"understand\",outcome=\"understood\"} 1",
        "vartalaap_llm_turns_total{task=\"understand\",outcome=\"offline\"} 1",
        "vartalaap_llm_turns_total{task=\"understand\",outcome=\"rate_limited\"} 1",
        "vartalaap_llm_turns_total{task=\"understand\",outcome=\"cooling_down\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    let logs = server.logs();
    assert!(logs.contains("The LLM read the caller's words."));
    assert!(logs.contains("\"outcome\":\"rate_limited\""));
    assert!(!logs.contains(KEY), "the key never reaches a log");
    for said in [
        fx.utterance.as_str(),
        "baad mein bataunga",
        "koi bhi chalega",
    ] {
        assert!(!logs.contains(said), "caller words in the log: {said}");
    }
}
