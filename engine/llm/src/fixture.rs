//! Record/replay fixtures: what Groq streamed for a scripted conversation turn, kept in
//! `tests/fixtures/llm/*.json` so tests replay it through the mock server byte-for-byte in
//! protocol terms and stay deterministic without a network.
//!
//! A fixture names a business, the local time, the caller lines that set the conversation up
//! (understood offline, so they need no model), the utterance under test and, in order, every
//! model exchange that utterance causes (an understanding call, then possibly a phrasing
//! call), each as the list of SSE events Groq sent. `examples/record_fixtures.rs` re-records
//! them against the real API (see `docs/LLM.md`).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use vartalaap_providers::groq::SseParser;

/// Which job an exchange did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// The understanding tool call.
    Understand,
    /// A phrased answer.
    Phrase,
    /// Call review, stage 1 (QA reviewer).
    Review,
    /// Call review, stage 2 (classifier).
    Classify,
    /// Call review, stage 3 (improver).
    Improve,
    /// The call summary sentence.
    Summarize,
}

/// One request/response pair of a recorded turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// What the request was for.
    pub task: Task,
    /// The SSE events in order, each kept as the exact JSON text received: a chunk object per
    /// `data:` line, the string `"[DONE]"`, or `{"event": "<name>", "data": …}` for a named
    /// event (`event: error`).
    pub stream: Vec<Box<RawValue>>,
}

impl PartialEq for Exchange {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task
            && self.stream.len() == other.stream.len()
            && self
                .stream
                .iter()
                .zip(&other.stream)
                .all(|(a, b)| a.get() == b.get())
    }
}

/// Where a recording came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The model that produced it (`GROQ_MODEL` at recording time).
    pub model: String,
    /// How it was made: `recorded <date> …` by the recorder, `hand-written …` for streams
    /// written in the captured shape, or `adversarial: …` for streams edited to misbehave
    /// (invented facts, broken arguments), which the recorder never overwrites.
    pub source: String,
}

impl Provenance {
    /// Whether the stream was made to misbehave on purpose (the recorder skips it).
    pub fn is_adversarial(&self) -> bool {
        self.source.starts_with("adversarial")
    }
}

/// A recorded conversation turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// What the turn shows.
    pub description: String,
    /// Business id (`businesses/<id>.yaml`).
    pub business: String,
    /// Local time of the call, RFC 3339 with offset.
    pub at: String,
    /// Caller lines before the recorded turn; each must be understood offline.
    #[serde(default)]
    pub setup: Vec<String>,
    /// The caller's words in the recorded turn.
    pub utterance: String,
    /// Templates phrased in this turn besides the defaults (`LLM_PHRASE_TEMPLATES` additions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phrase_templates: Vec<String>,
    /// Provenance of the recording.
    pub recorded: Provenance,
    /// Model exchanges of the turn, in request order.
    pub exchanges: Vec<Exchange>,
}

/// Why a fixture could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// The fixture file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Not a fixture.
    #[error("{path}: {source}")]
    Json {
        /// The fixture file.
        path: String,
        /// What is wrong.
        source: serde_json::Error,
    },
}

impl Fixture {
    /// Reads a fixture file.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Io {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| FixtureError::Json {
            path: shown,
            source,
        })
    }

    /// Writes the fixture back in its committed layout (see [`Fixture::render`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), FixtureError> {
        let path = path.as_ref();
        std::fs::write(path, self.render()).map_err(|source| FixtureError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The committed layout: one field per line, one SSE event per line, so a re-recording
    /// diffs event by event.
    pub fn render(&self) -> String {
        let c = |v: &dyn erased::Json| v.compact();
        let mut out = String::from("{\n");
        out.push_str(&format!("  \"description\": {},\n", c(&self.description)));
        out.push_str(&format!("  \"business\": {},\n", c(&self.business)));
        out.push_str(&format!("  \"at\": {},\n", c(&self.at)));
        out.push_str(&format!("  \"setup\": {},\n", c(&self.setup)));
        out.push_str(&format!("  \"utterance\": {},\n", c(&self.utterance)));
        if !self.phrase_templates.is_empty() {
            out.push_str(&format!(
                "  \"phrase_templates\": {},\n",
                c(&self.phrase_templates)
            ));
        }
        out.push_str(&format!("  \"recorded\": {},\n", c(&self.recorded)));
        out.push_str("  \"exchanges\": [\n");
        for (i, ex) in self.exchanges.iter().enumerate() {
            out.push_str("    {\n");
            out.push_str(&format!("      \"task\": {},\n", c(&ex.task)));
            out.push_str("      \"stream\": [\n");
            for (j, ev) in ex.stream.iter().enumerate() {
                let comma = if j + 1 < ex.stream.len() { "," } else { "" };
                out.push_str(&format!("        {}{comma}\n", c(ev)));
            }
            out.push_str("      ]\n");
            let comma = if i + 1 < self.exchanges.len() {
                ","
            } else {
                ""
            };
            out.push_str(&format!("    }}{comma}\n"));
        }
        out.push_str("  ]\n}\n");
        out
    }
}

mod erased {
    /// Compact JSON of any serializable value (a tiny object-safe wrapper for `render`).
    pub trait Json {
        fn compact(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn compact(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".to_string())
        }
    }
}

/// The text as a raw JSON value (`null` if it is not JSON, which `from_sse` never passes).
fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_default()
}

impl Exchange {
    /// The SSE body Groq sent, to replay through the mock (`GroqReply::Sse`).
    pub fn sse(&self) -> String {
        let mut out = String::new();
        for event in &self.stream {
            match serde_json::from_str::<Value>(event.get()) {
                Ok(Value::String(s)) => out.push_str(&format!("data: {s}\n\n")),
                Ok(Value::Object(o)) if o.contains_key("event") => {
                    let name = o.get("event").and_then(Value::as_str).unwrap_or("message");
                    let data = o.get("data").cloned().unwrap_or(Value::Null);
                    out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
                }
                _ => out.push_str(&format!("data: {}\n\n", event.get())),
            }
        }
        out
    }

    /// Parses a recorded SSE body (`ChatStream::recorded_sse`) into fixture events, keeping
    /// each event's JSON text as received.
    pub fn from_sse(task: Task, raw_sse: &[u8]) -> Exchange {
        let mut parser = SseParser::default();
        let stream = parser
            .push(raw_sse)
            .into_iter()
            .map(|ev| {
                let data = if serde_json::from_str::<Value>(&ev.data).is_ok() {
                    ev.data.clone()
                } else {
                    Value::String(ev.data.clone()).to_string()
                };
                match ev.event.as_deref() {
                    Some(name) if name != "message" => raw(format!(
                        "{{\"event\":{},\"data\":{data}}}",
                        Value::from(name)
                    )),
                    _ => raw(data),
                }
            })
            .collect();
        Exchange { task, stream }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_round_trips_through_events() {
        let raw = b"data: {\"choices\":[{\"delta\":{\"content\":\"Ji\"}}]}\n\n\
                    event: error\ndata: {\"error\":{\"code\":\"tool_use_failed\"}}\n\n\
                    data: [DONE]\n\n";
        let ex = Exchange::from_sse(Task::Phrase, raw);
        assert_eq!(ex.stream.len(), 3);
        assert_eq!(ex.stream[2].get(), "\"[DONE]\"");
        assert!(ex.stream[1].get().starts_with("{\"event\":\"error\""));
        assert_eq!(
            ex.stream[0].get(),
            "{\"choices\":[{\"delta\":{\"content\":\"Ji\"}}]}"
        );
        let again = Exchange::from_sse(Task::Phrase, ex.sse().as_bytes());
        assert_eq!(again, ex);
    }

    #[test]
    fn committed_fixtures_keep_their_layout() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/llm");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let fx = Fixture::load(&path).unwrap();
                assert_eq!(fx.render(), text, "{}", path.display());
                n += 1;
            }
        }
        assert!(n > 0);
    }
}
