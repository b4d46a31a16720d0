//! Incremental server-sent-events parser (the subset Groq uses: `event:` and `data:` lines).
//!
//! Bytes arrive in arbitrary network chunks; an event is complete at a blank line. Handles
//! `\n` and `\r\n` line ends, multi-line `data` (joined with `\n`), comments (`:`), and an
//! optional single space after the colon, as the SSE spec says.

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (Groq uses `error` for mid-stream errors).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Feed bytes with [`push`](Self::push), get complete events back.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// Appends bytes and returns every event completed by them. Invalid UTF-8 in a line is
    /// replaced (the JSON parse that follows reports it as malformed).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                if !self.data.is_empty() || self.event.is_some() {
                    events.push(SseEvent {
                        event: self.event.take(),
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_ref(), ""),
            };
            match field {
                "data" => self.data.push(value.to_owned()),
                "event" => self.event = Some(value.to_owned()),
                _ => {}
            }
        }
        events
    }

    /// Bytes received but not yet forming a complete event (used to detect truncation).
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty() || !self.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: {\"a\":").is_empty());
        let ev = p.push(b"1}\r\n\r\ndata: [DONE]\n\n");
        assert_eq!(
            ev,
            vec![
                SseEvent {
                    event: None,
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
        assert!(!p.has_partial());
    }

    #[test]
    fn error_events_comments_and_multiline_data() {
        let mut p = SseParser::default();
        let ev = p.push(b": keep-alive\n\nevent: error\ndata: {\"x\":\ndata:1}\n\n");
        assert_eq!(
            ev,
            vec![SseEvent {
                event: Some("error".into()),
                data: "{\"x\":\n1}".into()
            }]
        );
        p.push(b"data: half");
        assert!(p.has_partial());
    }
}
