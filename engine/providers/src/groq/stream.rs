//! The streaming answer: SSE bytes → chunks → [`LlmEvent`]s, with deadlines.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tokio::time::{Instant, timeout_at};

use super::sse::SseParser;
use super::types::{FinishReason, LlmEvent, ToolCall, Usage};
use super::{LlmError, TimeoutStage};

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// Assembles tool calls from streamed fragments, keyed by `index`.
///
/// Groq sends each call whole in one delta, but other OpenAI-compatible backends send `id` and
/// `name` on the first fragment and the `arguments` string in pieces; both work here.
#[derive(Debug, Default, Clone)]
pub struct ToolCallAccumulator {
    calls: BTreeMap<u32, ToolCall>,
}

impl ToolCallAccumulator {
    /// Adds one fragment.
    pub fn push(
        &mut self,
        index: u32,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
    ) {
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            call.id = id.to_owned();
        }
        if let Some(name) = name.filter(|s| !s.is_empty()) {
            call.name.push_str(name);
        }
        if let Some(args) = arguments {
            call.arguments.push_str(args);
        }
    }

    /// The assembled calls in index order; errors if one never got an id or a name.
    pub fn finish(self) -> Result<Vec<ToolCall>, LlmError> {
        let calls: Vec<ToolCall> = self.calls.into_values().collect();
        if let Some(bad) = calls.iter().find(|c| c.id.is_empty() || c.name.is_empty()) {
            return Err(LlmError::Malformed(format!(
                "tool call without id or name (id {:?}, name {:?})",
                bad.id, bad.name
            )));
        }
        Ok(calls)
    }

    /// Whether any fragment arrived.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

#[derive(Deserialize)]
struct ChunkWire {
    #[serde(default)]
    choices: Vec<ChoiceWire>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    x_groq: Option<XGroqWire>,
    #[serde(default)]
    error: Option<ErrorWire>,
}

#[derive(Deserialize)]
struct XGroqWire {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChoiceWire {
    #[serde(default)]
    delta: DeltaWire,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct DeltaWire {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDeltaWire>,
}

#[derive(Deserialize)]
struct ToolCallDeltaWire {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDeltaWire>,
}

#[derive(Deserialize)]
struct FunctionDeltaWire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ErrorWire {
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) code: Option<Value>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
}

use serde_json::Value;

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorWire,
}

pub(crate) fn api_error(e: ErrorWire) -> LlmError {
    let code = match e.code {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => e.kind.unwrap_or_else(|| "unknown".to_owned()),
    };
    LlmError::Api {
        code,
        message: e.message,
    }
}

/// A streaming chat answer. Pull events with [`next`](Self::next); drop it to cancel.
pub struct ChatStream {
    body: ByteStream,
    parser: SseParser,
    pending: VecDeque<LlmEvent>,
    tools: ToolCallAccumulator,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    first_token_deadline: Instant,
    total_deadline: Instant,
    got_first_token: bool,
    finished: bool,
    recorded: Option<Vec<u8>>,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("got_first_token", &self.got_first_token)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    pub(crate) fn new(
        body: ByteStream,
        first_token_deadline: Instant,
        total_deadline: Instant,
        record: bool,
    ) -> Self {
        Self {
            body,
            parser: SseParser::default(),
            pending: VecDeque::new(),
            tools: ToolCallAccumulator::default(),
            finish_reason: None,
            usage: None,
            first_token_deadline,
            total_deadline,
            got_first_token: false,
            finished: false,
            recorded: record.then(Vec::new),
        }
    }

    /// The raw SSE bytes received so far, when `GroqConfig::record_sse` is on. Saved to a
    /// `.sse` file, they replay byte for byte through the mock (`GroqReply::from_sse_file`).
    pub fn recorded_sse(&self) -> Option<&[u8]> {
        self.recorded.as_deref()
    }

    /// The next event; `None` after `Done` or after an error was returned.
    pub async fn next(&mut self) -> Option<Result<LlmEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            let (deadline, stage) = if self.got_first_token {
                (self.total_deadline, TimeoutStage::Total)
            } else if self.first_token_deadline < self.total_deadline {
                (self.first_token_deadline, TimeoutStage::FirstToken)
            } else {
                (self.total_deadline, TimeoutStage::Total)
            };
            let chunk = match timeout_at(deadline, self.body.next()).await {
                Err(_) => return Some(Err(self.fail(LlmError::Timeout { stage }))),
                Ok(None) => {
                    return Some(Err(self.fail(LlmError::Malformed(
                        "stream ended before data: [DONE]".into(),
                    ))));
                }
                Ok(Some(Err(e))) => {
                    let err = if e.is_timeout() {
                        LlmError::Timeout { stage }
                    } else {
                        LlmError::Transport(e.without_url().to_string())
                    };
                    return Some(Err(self.fail(err)));
                }
                Ok(Some(Ok(bytes))) => bytes,
            };
            if let Some(raw) = &mut self.recorded {
                raw.extend_from_slice(&chunk);
            }
            for event in self.parser.push(&chunk) {
                if let Err(e) = self.on_event(event.event.as_deref(), &event.data) {
                    return Some(Err(self.fail(e)));
                }
                if self.finished {
                    break;
                }
            }
        }
    }

    /// Reads the whole stream: concatenated text and tool calls.
    pub async fn collect_text(mut self) -> Result<(String, Vec<ToolCall>), LlmError> {
        let mut text = String::new();
        let mut calls = Vec::new();
        while let Some(event) = self.next().await {
            match event? {
                LlmEvent::Delta(d) => text.push_str(&d),
                LlmEvent::ToolCalls(c) => calls = c,
                LlmEvent::Done { .. } => {}
            }
        }
        Ok((text, calls))
    }

    fn fail(&mut self, e: LlmError) -> LlmError {
        self.finished = true;
        self.pending.clear();
        e
    }

    fn on_event(&mut self, kind: Option<&str>, data: &str) -> Result<(), LlmError> {
        if data == "[DONE]" {
            self.finished = true;
            if !self.tools.is_empty() {
                let calls = std::mem::take(&mut self.tools).finish()?;
                self.pending.push_back(LlmEvent::ToolCalls(calls));
            }
            self.pending.push_back(LlmEvent::Done {
                finish_reason: self.finish_reason.take(),
                usage: self.usage.take(),
            });
            return Ok(());
        }
        if kind == Some("error") {
            return Err(match serde_json::from_str::<ErrorEnvelope>(data) {
                Ok(env) => api_error(env.error),
                Err(_) => LlmError::Api {
                    code: "unknown".into(),
                    message: data.chars().take(500).collect(),
                },
            });
        }
        let chunk: ChunkWire = serde_json::from_str(data).map_err(|e| {
            LlmError::Malformed(format!(
                "chunk is not valid JSON ({e}): {}",
                data.chars().take(200).collect::<String>()
            ))
        })?;
        if let Some(error) = chunk.error {
            return Err(api_error(error));
        }
        if let Some(u) = chunk.x_groq.and_then(|x| x.usage).or(chunk.usage) {
            self.usage = Some(u);
        }
        for choice in chunk.choices {
            if let Some(content) = choice.delta.content.filter(|c| !c.is_empty()) {
                self.got_first_token = true;
                self.pending.push_back(LlmEvent::Delta(content));
            }
            for call in choice.delta.tool_calls {
                self.got_first_token = true;
                let (name, args) = match &call.function {
                    Some(f) => (f.name.as_deref(), f.arguments.as_deref()),
                    None => (None, None),
                };
                self.tools.push(call.index, call.id.as_deref(), name, args);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(FinishReason::parse(&reason));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_joined_by_index() {
        let mut acc = ToolCallAccumulator::default();
        acc.push(
            0,
            Some("call_1"),
            Some("check_availability"),
            Some("{\"date\":"),
        );
        acc.push(1, Some("call_2"), Some("weather"), Some("{}"));
        acc.push(0, None, None, Some("\"2026-09-01\"}"));
        let calls = acc.finish().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].arguments, "{\"date\":\"2026-09-01\"}");
        assert_eq!(calls[0].arguments_json().unwrap()["date"], "2026-09-01");
        assert_eq!(calls[1].name, "weather");
    }

    #[test]
    fn a_call_without_a_name_is_malformed() {
        let mut acc = ToolCallAccumulator::default();
        acc.push(0, Some("x"), None, Some("{}"));
        assert!(matches!(acc.finish(), Err(LlmError::Malformed(_))));
    }
}
