//! Chat request/response types (OpenAI-compatible wire shapes, protocol notes §3.2–3.4).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One message of the conversation, in the wire shape Groq expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum ChatMessage {
    /// Instructions for the model.
    System {
        /// Prompt text.
        content: String,
    },
    /// What the caller said.
    User {
        /// Transcript.
        content: String,
    },
    /// A previous model turn; `content` is null when it only called tools.
    Assistant {
        /// Spoken text, if any.
        content: Option<String>,
        /// Tool calls the model made in this turn.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// A tool's result, answering the call with the same id.
    Tool {
        /// The `id` of the tool call answered.
        tool_call_id: String,
        /// Result, usually JSON text.
        content: String,
    },
}

/// A tool call made by the model. `arguments` is the raw JSON **string** the model produced;
/// models can emit invalid JSON, so parse it with [`ToolCall::arguments_json`] and handle
/// the error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "ToolCallWire", from = "ToolCallWire")]
pub struct ToolCall {
    /// Opaque id (e.g. `tk85n1k4m`), echoed back in the tool message.
    pub id: String,
    /// Function name.
    pub name: String,
    /// JSON text of the arguments.
    pub arguments: String,
}

impl ToolCall {
    /// Parses the arguments as JSON.
    pub fn arguments_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(if self.arguments.trim().is_empty() {
            "{}"
        } else {
            &self.arguments
        })
    }
}

#[derive(Serialize, Deserialize)]
struct ToolCallWire {
    id: String,
    #[serde(rename = "type", default = "function_type")]
    kind: String,
    function: FunctionWire,
}

#[derive(Serialize, Deserialize)]
struct FunctionWire {
    name: String,
    #[serde(default)]
    arguments: String,
}

fn function_type() -> String {
    "function".to_owned()
}

impl From<ToolCall> for ToolCallWire {
    fn from(t: ToolCall) -> Self {
        Self {
            id: t.id,
            kind: function_type(),
            function: FunctionWire {
                name: t.name,
                arguments: t.arguments,
            },
        }
    }
}

impl From<ToolCallWire> for ToolCall {
    fn from(w: ToolCallWire) -> Self {
        Self {
            id: w.id,
            name: w.function.name,
            arguments: w.function.arguments,
        }
    }
}

/// A function the model may call, with a JSON-schema for its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Function name.
    pub name: String,
    /// What it does (the model reads this).
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// Model decides (recommended for Llama on Groq).
    Auto,
    /// No tools.
    None,
    /// Must call some tool.
    Required,
    /// Must call this function.
    Function(String),
}

/// A chat request, without the model (that comes from [`super::GroqConfig`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// Conversation so far.
    pub messages: Vec<ChatMessage>,
    /// Tools offered.
    pub tools: Vec<ToolSpec>,
    /// Tool policy; `None` leaves Groq's default.
    pub tool_choice: Option<ToolChoice>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Reply length cap (`max_completion_tokens`).
    pub max_completion_tokens: Option<u32>,
    /// Allow several tool calls in one turn.
    pub parallel_tool_calls: Option<bool>,
}

impl ChatRequest {
    /// The JSON body for `model` with `stream` set as given.
    pub fn to_body(&self, model: &str, stream: bool) -> Value {
        let mut body = serde_json::json!({
            "model": model,
            "messages": self.messages,
            "stream": stream,
        });
        let obj = match body.as_object_mut() {
            Some(o) => o,
            None => return body,
        };
        if !self.tools.is_empty() {
            let tools: Vec<Value> = self
                .tools
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "type": "function",
                        "function": {
                            "name": t.name,
                            "description": t.description,
                            "parameters": t.parameters,
                        }
                    })
                })
                .collect();
            obj.insert("tools".into(), Value::Array(tools));
        }
        if let Some(choice) = &self.tool_choice {
            let v = match choice {
                ToolChoice::Auto => Value::from("auto"),
                ToolChoice::None => Value::from("none"),
                ToolChoice::Required => Value::from("required"),
                ToolChoice::Function(name) => {
                    serde_json::json!({"type": "function", "function": {"name": name}})
                }
            };
            obj.insert("tool_choice".into(), v);
        }
        if let Some(t) = self.temperature {
            obj.insert("temperature".into(), Value::from(t));
        }
        if let Some(m) = self.max_completion_tokens {
            obj.insert("max_completion_tokens".into(), Value::from(m));
        }
        if let Some(p) = self.parallel_tool_calls {
            obj.insert("parallel_tool_calls".into(), Value::from(p));
        }
        body
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end.
    Stop,
    /// Hit `max_completion_tokens`.
    Length,
    /// Wants tool results.
    ToolCalls,
    /// Filtered.
    ContentFilter,
    /// Anything else Groq may add.
    Other(String),
}

impl FinishReason {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Token counts and Groq's timings (seconds), for per-turn logs.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u32,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: u32,
    /// Sum.
    #[serde(default)]
    pub total_tokens: u32,
    /// Seconds queued at Groq.
    #[serde(default)]
    pub queue_time: Option<f64>,
    /// Seconds generating.
    #[serde(default)]
    pub total_time: Option<f64>,
}

/// What a streaming answer yields, in order: `Delta`s, then at most one `ToolCalls`, then
/// `Done`.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// A piece of spoken text (1–3 tokens); cut into sentences downstream.
    Delta(String),
    /// Every tool call of this turn, assembled from fragments.
    ToolCalls(Vec<ToolCall>),
    /// The stream ended with `[DONE]`.
    Done {
        /// Why the model stopped (`None` if Groq did not say).
        finish_reason: Option<FinishReason>,
        /// Usage from the last chunk, if present.
        usage: Option<Usage>,
    },
}

/// A non-streaming answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatCompletion {
    /// Text, if any.
    pub content: Option<String>,
    /// Tool calls, if any.
    pub tool_calls: Vec<ToolCall>,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
    /// Usage.
    pub usage: Option<Usage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_serialize_in_the_openai_shape() {
        let call = ToolCall {
            id: "tk85n1k4m".into(),
            name: "check_availability".into(),
            arguments: r#"{"party_size":4}"#.into(),
        };
        let msgs = vec![
            ChatMessage::Assistant {
                content: None,
                tool_calls: vec![call.clone()],
            },
            ChatMessage::Tool {
                tool_call_id: "tk85n1k4m".into(),
                content: "{}".into(),
            },
        ];
        let v = serde_json::to_value(&msgs).unwrap();
        assert_eq!(v[0]["role"], "assistant");
        assert!(v[0]["content"].is_null());
        assert_eq!(v[0]["tool_calls"][0]["type"], "function");
        assert_eq!(
            v[0]["tool_calls"][0]["function"]["arguments"],
            r#"{"party_size":4}"#
        );
        assert_eq!(v[1]["role"], "tool");
        assert_eq!(v[1]["tool_call_id"], "tk85n1k4m");
        assert_eq!(call.arguments_json().unwrap()["party_size"], 4);
    }

    #[test]
    fn body_carries_model_tools_and_choice() {
        let req = ChatRequest {
            messages: vec![ChatMessage::User {
                content: "hi".into(),
            }],
            tools: vec![ToolSpec {
                name: "f".into(),
                description: "d".into(),
                parameters: serde_json::json!({"type":"object"}),
            }],
            tool_choice: Some(ToolChoice::Auto),
            max_completion_tokens: Some(300),
            ..Default::default()
        };
        let b = req.to_body("some-model", true);
        assert_eq!(b["model"], "some-model");
        assert_eq!(b["stream"], true);
        assert_eq!(b["tools"][0]["function"]["name"], "f");
        assert_eq!(b["tool_choice"], "auto");
        assert_eq!(b["max_completion_tokens"], 300);
        assert!(b.get("temperature").is_none());
    }
}
