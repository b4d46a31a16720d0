//! One mock Deepgram connection: energy-based speech detection and scripted results.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Cursor, DeepgramMode, State};
use crate::mock::{Shared, lock};

/// A µ-law byte is loud when its magnitude bits (inverted in µ-law) are high.
fn is_loud(b: u8) -> bool {
    ((!b) & 0x7F) >= 0x20
}

pub(super) struct Params {
    interim_results: bool,
    vad_events: bool,
    endpointing_ms: Option<u32>,
    utterance_end_ms: Option<u32>,
    bytes_per_ms: usize,
}

impl Params {
    pub(super) fn from_query(q: &[(String, String)]) -> Self {
        let map: HashMap<&str, &str> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let flag = |k: &str| map.get(k) == Some(&"true");
        let rate: usize = map
            .get("sample_rate")
            .and_then(|v| v.parse().ok())
            .unwrap_or(8000);
        Self {
            interim_results: flag("interim_results"),
            vad_events: flag("vad_events"),
            endpointing_ms: match map.get("endpointing") {
                Some(&"false") => None,
                Some(v) => v.parse().ok(),
                None => Some(10),
            },
            utterance_end_ms: map.get("utterance_end_ms").and_then(|v| v.parse().ok()),
            bytes_per_ms: (rate / 1000).max(1),
        }
    }

    /// Endpoints after `ms` of silence instead of what the client asked (`None`: as asked).
    pub(super) fn with_endpointing(mut self, ms: Option<u32>) -> Self {
        if ms.is_some() {
            self.endpointing_ms = ms;
        }
        self
    }
}

pub(super) struct Conn {
    ws: WebSocketStream<TcpStream>,
    state: Shared<State>,
    index: usize,
    params: Params,
    /// Audio bytes received on this socket.
    offset: usize,
    last_final_end: usize,
    in_speech: bool,
    /// Speech bytes in the current segment (since speech started).
    speech_bytes: usize,
    /// Speech bytes since the last intermediate final.
    speech_since_final: usize,
    since_interim: usize,
    silence_run: usize,
    utterance_end_armed: bool,
    silence_since_final: usize,
    /// This connection's place in the script.
    cursor: Cursor,
    /// The mock broke this connection on purpose; its script place goes to the next one.
    broken: bool,
    /// The pause interim of the current segment was sent.
    pause_interim_sent: bool,
}

enum Flow {
    Continue,
    Stop,
}

impl Conn {
    pub(super) fn new(
        ws: WebSocketStream<TcpStream>,
        state: Shared<State>,
        index: usize,
        params: Params,
        cursor: Cursor,
    ) -> Self {
        Self {
            ws,
            state,
            index,
            params,
            offset: 0,
            last_final_end: 0,
            in_speech: false,
            speech_bytes: 0,
            speech_since_final: 0,
            since_interim: 0,
            silence_run: 0,
            utterance_end_armed: false,
            silence_since_final: 0,
            cursor,
            broken: false,
            pause_interim_sent: false,
        }
    }

    /// Serves the connection; a connection the mock broke leaves its script place behind.
    pub(super) async fn run(&mut self) {
        self.serve().await;
        if self.broken {
            lock(&self.state).orphans.push_back(self.cursor);
        }
    }

    async fn serve(&mut self) {
        let idle = lock(&self.state).cfg.idle_timeout;
        loop {
            let frame = match tokio::time::timeout(idle, self.ws.next()).await {
                Err(_) => {
                    if self.stalled() {
                        continue;
                    }
                    self.broken = true;
                    let _ = self.close(1011, "NET-0001").await;
                    return;
                }
                Ok(None) | Ok(Some(Err(_))) => return,
                Ok(Some(Ok(f))) => f,
            };
            if self.stalled() {
                continue;
            }
            let flow = match frame {
                Message::Binary(audio) => self.on_audio(&audio).await,
                Message::Text(text) => {
                    let text = text.as_str().to_owned();
                    lock(&self.state).connections[self.index]
                        .text_messages
                        .push(text.clone());
                    self.on_text(&text).await
                }
                Message::Close(_) => Flow::Stop,
                _ => Flow::Continue,
            };
            if let Flow::Stop = flow {
                return;
            }
        }
    }

    fn stalled(&self) -> bool {
        lock(&self.state).mode == DeepgramMode::Stall
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), ()> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        self.ws
            .send(Message::Close(Some(frame)))
            .await
            .map_err(|_| ())?;
        // Like a real server, wait (briefly) for the client's close reply instead of resetting
        // the connection, so the client can read the close code.
        let wait = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(m)) = self.ws.next().await {
                if m.is_close() {
                    break;
                }
            }
        });
        let _ = wait.await;
        Ok(())
    }

    async fn send(&mut self, value: serde_json::Value) -> Result<(), ()> {
        let malformed = {
            let mut s = lock(&self.state);
            if s.mode == DeepgramMode::MalformedNext {
                s.mode = DeepgramMode::Normal;
                true
            } else {
                false
            }
        };
        if malformed {
            self.ws
                .send(Message::text("{\"type\":\"Results\",\"channel\":"))
                .await
                .map_err(|_| ())?;
        }
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .map_err(|_| ())
    }

    async fn on_audio(&mut self, audio: &[u8]) -> Flow {
        if audio.is_empty() {
            // Deepgram treats a zero-length frame as end of stream.
            return Flow::Stop;
        }
        self.offset += audio.len();
        lock(&self.state).connections[self.index].audio_bytes += audio.len();
        let mode = lock(&self.state).mode.clone();
        match mode {
            DeepgramMode::DropAfterBytes(n) if self.offset >= n => {
                lock(&self.state).mode = DeepgramMode::Normal;
                self.broken = true;
                return Flow::Stop; // drops TCP without a close frame
            }
            DeepgramMode::CloseAfterBytes {
                bytes,
                code,
                reason,
            } if self.offset >= bytes => {
                lock(&self.state).mode = DeepgramMode::Normal;
                self.broken = true;
                let _ = self.close(code, &reason).await;
                return Flow::Stop;
            }
            _ => {}
        }
        let loud = audio.iter().filter(|b| is_loud(**b)).count();
        let result = if loud * 2 > audio.len() {
            self.on_speech(audio.len()).await
        } else {
            self.on_silence(audio.len()).await
        };
        match result {
            Ok(()) => Flow::Continue,
            Err(()) => Flow::Stop,
        }
    }

    async fn on_speech(&mut self, len: usize) -> Result<(), ()> {
        if !self.in_speech {
            self.in_speech = true;
            if self.params.vad_events {
                let t = self.secs(self.offset - len);
                self.send(json!({"type":"SpeechStarted","channel":[0,1],"timestamp":t}))
                    .await?;
            }
        }
        self.utterance_end_armed = false;
        self.silence_run = 0;
        self.silence_since_final = 0;
        self.pause_interim_sent = false;
        self.speech_bytes += len;
        self.speech_since_final += len;
        self.since_interim += len;
        let bpm = self.params.bytes_per_ms;
        if self.params.interim_results && self.since_interim >= 1000 * bpm {
            self.since_interim = 0;
            let text = self.words_for(self.speech_since_final, false, false);
            self.send(self.results(&text, false, false, false, self.offset))
                .await?;
        }
        let final_every = lock(&self.state).cfg.final_every_ms as usize * bpm;
        if final_every > 0 && self.speech_since_final >= final_every {
            let text = self.words_for(self.speech_since_final, true, false);
            self.speech_since_final = 0;
            let end = self.offset;
            self.utterance_end_armed |= !text.is_empty();
            self.send(self.results(&text, true, false, false, end))
                .await?;
            self.last_final_end = end;
        }
        Ok(())
    }

    async fn on_silence(&mut self, len: usize) -> Result<(), ()> {
        let bpm = self.params.bytes_per_ms;
        self.silence_run += len;
        let pause_interim = lock(&self.state).cfg.pause_interim_ms;
        if self.in_speech
            && self.params.interim_results
            && !self.pause_interim_sent
            && let Some(pause) = pause_interim
            && self.silence_run >= pause as usize * bpm
            && self.speech_since_final > 0
        {
            self.pause_interim_sent = true;
            let text = self.words_for(self.speech_since_final, false, false);
            if !text.is_empty() {
                self.send(self.results(&text, false, false, false, self.offset))
                    .await?;
            }
        }
        if self.in_speech {
            if let Some(ep) = self.params.endpointing_ms
                && self.silence_run >= ep as usize * bpm
            {
                self.finish_segment(true, false).await?;
            }
        } else {
            // Deepgram sends empty finals during long silence; so does the mock, every 2 s.
            self.silence_since_final += len;
            if self.silence_since_final >= 2000 * bpm {
                self.silence_since_final = 0;
                let end = self.offset;
                self.send(self.results("", true, false, false, end)).await?;
                self.last_final_end = end;
            }
        }
        // UtteranceEnd: a gap of `utterance_end_ms` after the last transcribed word, whether
        // or not endpointing fired (needs interim results, as with the real service).
        if let Some(ue) = self.params.utterance_end_ms
            && self.utterance_end_armed
            && self.params.interim_results
            && self.silence_run >= ue as usize * bpm
        {
            self.utterance_end_armed = false;
            let t = self.secs(self.last_final_end);
            self.send(json!({"type":"UtteranceEnd","channel":[0,1],"last_word_end":t}))
                .await?;
        }
        Ok(())
    }

    /// Ends the current speech segment with a final result.
    async fn finish_segment(&mut self, speech_final: bool, from_finalize: bool) -> Result<(), ()> {
        let text = self.words_for(self.speech_since_final, true, true);
        {
            let mut s = lock(&self.state);
            if self.cursor.index < s.script(&self.cursor).len() {
                self.cursor.index += 1;
            }
            self.cursor.words_done = 0;
            self.cursor.speech_ms_done = 0;
            s.furthest = s.furthest.max(self.cursor.index);
        }
        self.in_speech = false;
        self.speech_bytes = 0;
        self.speech_since_final = 0;
        self.since_interim = 0;
        self.silence_since_final = 0;
        self.utterance_end_armed |= !text.is_empty();
        let end = self.offset;
        self.send(self.results(&text, true, speech_final, from_finalize, end))
            .await?;
        self.last_final_end = end;
        Ok(())
    }

    /// Words of the current scripted utterance matching `bytes` of speech since the last
    /// final. `commit` marks them as transcribed. Interims and intermediate finals take words
    /// from the front; the end of a segment takes the *tail* of the remaining words in
    /// proportion to the speech received, so audio lost before it means words lost.
    fn words_for(&mut self, bytes: usize, commit: bool, segment_end: bool) -> String {
        let Some(item) = lock(&self.state)
            .script(&self.cursor)
            .get(self.cursor.index)
            .cloned()
        else {
            return String::new();
        };
        let s = &mut self.cursor;
        let words: Vec<&str> = item.text.split_whitespace().collect();
        let remaining = &words[s.words_done.min(words.len())..];
        let remaining_ms = item.speech_ms.saturating_sub(s.speech_ms_done).max(1) as f64;
        let got_ms = bytes as f64 / self.params.bytes_per_ms as f64;
        let share = (got_ms / remaining_ms).min(1.0);
        let n = if share >= 0.9 {
            remaining.len()
        } else {
            (remaining.len() as f64 * share).round() as usize
        };
        let picked: Vec<&str> = if segment_end {
            remaining[remaining.len() - n..].to_vec()
        } else {
            remaining[..n].to_vec()
        };
        if commit {
            s.words_done += n;
            s.speech_ms_done += got_ms as u32;
        }
        picked.join(" ")
    }

    fn secs(&self, bytes: usize) -> f64 {
        bytes as f64 / (self.params.bytes_per_ms as f64 * 1000.0)
    }

    fn results(
        &self,
        text: &str,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool,
        end: usize,
    ) -> serde_json::Value {
        let start = if is_final {
            self.last_final_end
        } else {
            self.last_final_end.min(end)
        };
        let words: Vec<serde_json::Value> = text
            .split_whitespace()
            .map(|w| json!({"word": w.to_lowercase(), "punctuated_word": w, "confidence": 0.93}))
            .collect();
        json!({
            "type": "Results",
            "channel_index": [0, 1],
            "duration": self.secs(end - start),
            "start": self.secs(start),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": text, "confidence": if text.is_empty() { 0.0 } else { 0.93 }, "words": words}]},
            "metadata": {"request_id": "mock-request", "model_info": {"name": "mock", "version": "0", "arch": "mock"}, "model_uuid": "mock"}
        })
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let kind = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let result = match kind.as_str() {
            "Finalize" => {
                if self.in_speech || self.speech_since_final > 0 {
                    self.finish_segment(false, true).await
                } else {
                    Ok(())
                }
            }
            "CloseStream" => {
                let flushed = if self.in_speech {
                    self.finish_segment(false, false).await
                } else {
                    Ok(())
                };
                if flushed.is_ok() {
                    let _ = self
                        .send(json!({
                            "type": "Metadata", "transaction_key": "deprecated",
                            "request_id": "mock-request", "sha256": "", "created": "",
                            "duration": self.secs(self.offset), "channels": 1
                        }))
                        .await;
                    let _ = self.close(1000, "").await;
                }
                return Flow::Stop;
            }
            _ => Ok(()), // KeepAlive and unknown: no reply
        };
        match result {
            Ok(()) => Flow::Continue,
            Err(()) => Flow::Stop,
        }
    }
}
