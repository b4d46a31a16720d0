//! HTTP side of the Groq client: request, status mapping, timeouts.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use tokio::time::{Instant, timeout_at};

use super::stream::{ErrorWire, ToolCallAccumulator, api_error};
use super::types::{ChatCompletion, ChatRequest, FinishReason, Usage};
use super::{ChatStream, GroqConfig, LlmError, TimeoutStage};

/// Groq chat-completions client. Cheap to clone (shares the connection pool).
#[derive(Debug, Clone)]
pub struct GroqClient {
    cfg: GroqConfig,
    http: reqwest::Client,
    url: String,
}

impl GroqClient {
    /// Builds the client; fails if the base URL or key cannot form a request.
    pub fn new(cfg: GroqConfig) -> Result<Self, LlmError> {
        let base = cfg.base_url.trim_end_matches('/');
        let url = format!("{base}/chat/completions");
        let parsed = url::Url::parse(&url).map_err(|e| {
            LlmError::Config(format!(
                "GROQ_BASE_URL {base:?} is not a URL ({e}); expected e.g. https://api.groq.com/openai/v1"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(LlmError::Config(format!(
                "GROQ_BASE_URL {base:?} must start with http:// or https://"
            )));
        }
        if cfg.model.trim().is_empty() {
            return Err(LlmError::Config(
                "GROQ_MODEL is empty; set a model name".into(),
            ));
        }
        HeaderValue::from_str(&format!("Bearer {}", cfg.api_key)).map_err(|_| {
            LlmError::Config("GROQ_API_KEY contains characters not allowed in a header".into())
        })?;
        let http = crate::tls::http_client(cfg.connect_timeout).map_err(LlmError::Config)?;
        Ok(Self { cfg, http, url })
    }

    /// The configuration in use.
    pub fn config(&self) -> &GroqConfig {
        &self.cfg
    }

    /// Starts a streaming answer. Returns once the response headers arrived with 200, so
    /// rate limits and status errors surface here, typed.
    pub async fn stream(&self, request: &ChatRequest) -> Result<ChatStream, LlmError> {
        let started = Instant::now();
        let first_token_deadline = started + self.cfg.first_token_timeout;
        let total_deadline = started + self.cfg.total_timeout;
        let response = self
            .send(
                request,
                true,
                first_token_deadline.min(total_deadline),
                TimeoutStage::Connect,
            )
            .await?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !content_type.starts_with("text/event-stream") {
            return Err(LlmError::Malformed(format!(
                "expected text/event-stream, got {content_type:?}"
            )));
        }
        Ok(ChatStream::new(
            Box::pin(response.bytes_stream()),
            first_token_deadline,
            total_deadline,
            self.cfg.record_sse,
        ))
    }

    /// A non-streaming answer (used off the voice path, e.g. summaries).
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatCompletion, LlmError> {
        let deadline = Instant::now() + self.cfg.total_timeout;
        let response = self
            .send(request, false, deadline, TimeoutStage::Total)
            .await?;
        let body = match timeout_at(deadline, response.bytes()).await {
            Err(_) => {
                return Err(LlmError::Timeout {
                    stage: TimeoutStage::Total,
                });
            }
            Ok(Err(e)) => return Err(LlmError::Transport(e.without_url().to_string())),
            Ok(Ok(b)) => b,
        };
        parse_completion(&body)
    }

    async fn send(
        &self,
        request: &ChatRequest,
        stream: bool,
        deadline: Instant,
        stage: TimeoutStage,
    ) -> Result<reqwest::Response, LlmError> {
        let body = request.to_body(&self.cfg.model, stream);
        let call = self
            .http
            .post(&self.url)
            .bearer_auth(&self.cfg.api_key)
            .header(
                "accept",
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .json(&body)
            .send();
        let response = match timeout_at(deadline, call).await {
            Err(_) => return Err(LlmError::Timeout { stage }),
            Ok(Err(e)) if e.is_timeout() => return Err(LlmError::Timeout { stage }),
            Ok(Err(e)) => return Err(LlmError::Transport(e.without_url().to_string())),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.as_u16() == 429 {
            let retry_after = retry_after(response.headers());
            tracing::warn!(?retry_after, "Groq rate limit reached.");
            return Err(LlmError::RateLimited { retry_after });
        }
        let code = status.as_u16();
        let text = match timeout_at(deadline, response.text()).await {
            Ok(Ok(t)) => t,
            _ => String::new(),
        };
        let body: String = text.chars().take(2048).collect();
        tracing::warn!(code, "Groq request failed.");
        Err(LlmError::Status { code, body })
    }
}

/// `retry-after-ms` (preferred, as the official SDK does), then `retry-after` in seconds.
/// HTTP-date values are not used: Groq sends seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[derive(Deserialize)]
struct CompletionWire {
    #[serde(default)]
    choices: Vec<CompletionChoiceWire>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<ErrorWire>,
}

#[derive(Deserialize)]
struct CompletionChoiceWire {
    message: CompletionMessageWire,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct CompletionMessageWire {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallFullWire>,
}

#[derive(Deserialize)]
struct ToolCallFullWire {
    id: String,
    function: FunctionFullWire,
}

#[derive(Deserialize)]
struct FunctionFullWire {
    name: String,
    #[serde(default)]
    arguments: String,
}

fn parse_completion(body: &[u8]) -> Result<ChatCompletion, LlmError> {
    let wire: CompletionWire = serde_json::from_slice(body)
        .map_err(|e| LlmError::Malformed(format!("completion is not valid JSON: {e}")))?;
    if let Some(error) = wire.error {
        return Err(api_error(error));
    }
    let choice = wire
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::Malformed("completion has no choices".into()))?;
    let mut acc = ToolCallAccumulator::default();
    for (i, call) in choice.message.tool_calls.into_iter().enumerate() {
        acc.push(
            u32::try_from(i).unwrap_or(u32::MAX),
            Some(&call.id),
            Some(&call.function.name),
            Some(&call.function.arguments),
        );
    }
    Ok(ChatCompletion {
        content: choice.message.content,
        tool_calls: acc.finish()?,
        finish_reason: choice.finish_reason.as_deref().map(FinishReason::parse),
        usage: wire.usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_milliseconds() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("5"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(5)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn parses_the_documented_completion() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",
          "choices":[{"index":0,"message":{"role":"assistant","content":"Ji, bilkul"},"logprobs":null,"finish_reason":"stop"}],
          "usage":{"queue_time":0.037,"prompt_tokens":18,"prompt_time":0.0007,"completion_tokens":5,"completion_time":0.46,"total_tokens":23,"total_time":0.46},
          "x_groq":{"id":"req_1"},"service_tier":"on_demand"}"#;
        let c = parse_completion(body).unwrap();
        assert_eq!(c.content.as_deref(), Some("Ji, bilkul"));
        assert_eq!(c.finish_reason, Some(FinishReason::Stop));
        assert_eq!(c.usage.unwrap().total_tokens, 23);
        assert!(matches!(
            parse_completion(b"{"),
            Err(LlmError::Malformed(_))
        ));
    }
}
