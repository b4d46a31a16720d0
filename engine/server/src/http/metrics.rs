//! Prometheus metrics (`GET /metrics`, text exposition format).
//!
//! Built on `prometheus-client` (the Prometheus project's own Rust client): typed metric
//! families, no global registry, so tests can build an isolated set.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BookingLabels {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LlmLabels {
    task: String,
    outcome: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Mutex<Registry>,
    http_requests: Family<RouteLabels, Counter>,
    bookings: Family<BookingLabels, Counter>,
    turn_stage_seconds: Family<StageLabels, Histogram>,
    llm_turns: Family<LlmLabels, Counter>,
    live_businesses: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vartalaap");
        let http_requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method and status",
            http_requests.clone(),
        );
        let bookings = Family::<BookingLabels, Counter>::default();
        registry.register(
            "bookings",
            "Reservation outcomes, by channel (phone, chat, api) and outcome",
            bookings.clone(),
        );
        let turn_stage_seconds = Family::<StageLabels, Histogram>::new_with_constructor(|| {
            // 1 ms .. ~16 s
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "turn_stage_seconds",
            "Latency of each stage of a conversational turn",
            turn_stage_seconds.clone(),
        );
        let llm_turns = Family::<LlmLabels, Counter>::default();
        registry.register(
            "llm_turns",
            "What the LLM did per turn, by task (understand, phrase) and outcome (understood, offline, grounded, ungrounded, timeout, rate_limited, ...)",
            llm_turns.clone(),
        );
        let live_businesses = Gauge::default();
        registry.register(
            "live_businesses",
            "Businesses whose configuration is live",
            live_businesses.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            http_requests,
            bookings,
            turn_stage_seconds,
            llm_turns,
            live_businesses,
        }
    }

    /// Counts one answered HTTP request. The method label comes from a fixed list (anything
    /// else is `other`) and there is no path label, so a client inventing methods or paths
    /// cannot grow the number of series.
    pub fn http_request(&self, method: &str, status: u16) {
        self.http_requests
            .get_or_create(&RouteLabels {
                method: method_label(method).to_string(),
                status: status_label(status),
            })
            .inc();
    }

    /// Counts a booking outcome (`booked`, `full`, `cancelled`, `modified`, `callback`).
    pub fn booking(&self, channel: &str, outcome: &str) {
        self.bookings
            .get_or_create(&BookingLabels {
                channel: channel.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Records how long one stage of a turn took.
    pub fn turn_stage(&self, stage: &str, seconds: f64) {
        self.turn_stage_seconds
            .get_or_create(&StageLabels {
                stage: stage.to_string(),
            })
            .observe(seconds);
    }

    /// Counts one LLM outcome (`task` = understand | phrase).
    pub fn llm_turn(&self, task: &str, outcome: &str) {
        self.llm_turns
            .get_or_create(&LlmLabels {
                task: task.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Sets the number of live businesses (refreshed at scrape time).
    pub fn set_live_businesses(&self, n: usize) {
        self.live_businesses
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "Could not encode metrics.");
        }
        out
    }
}

/// HTTP methods that get a label of their own; every other method is counted as `other`.
const KNOWN_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The bounded `method` label: a known method, or `other` (methods are case-sensitive tokens,
/// so `get` is not `GET`).
fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// The bounded `status` label: the codes this server answers with (100–599); anything else
/// (the `http` crate allows up to 999) is folded to 0.
fn status_label(status: u16) -> u16 {
    if (100..=599).contains(&status) {
        status
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_recorded_values() {
        let m = Metrics::new();
        m.http_request("GET", 200);
        m.http_request("GET", 200);
        m.booking("api", "booked");
        m.turn_stage("engine", 0.0004);
        m.set_live_businesses(2);
        m.llm_turn("understand", "timeout");
        let text = m.render();
        assert!(
            text.contains("vartalaap_http_requests_total{method=\"GET\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("vartalaap_bookings_total{channel=\"api\",outcome=\"booked\"} 1"));
        assert!(text.contains("vartalaap_turn_stage_seconds_count{stage=\"engine\"} 1"));
        assert!(text.contains("vartalaap_live_businesses 2"));
        assert!(
            text.contains("vartalaap_llm_turns_total{task=\"understand\",outcome=\"timeout\"} 1")
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::new();
        for i in 0..100 {
            m.http_request(&format!("BREW{i}"), 405);
        }
        m.http_request("get", 405);
        m.http_request("DELETE", 404);
        let text = m.render();
        assert!(
            text.contains("vartalaap_http_requests_total{method=\"other\",status=\"405\"} 101"),
            "{text}"
        );
        assert!(text.contains("method=\"DELETE\""), "{text}");
        assert!(!text.contains("BREW"), "{text}");
    }
}
