//! The Edge TTS WebSocket client: one connection per text piece, as Edge itself does.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

use super::framing::{
    MAX_TEXT_BYTES, escape_xml, has_speakable_content, js_date, parse_binary_frame,
    parse_http_date, parse_text_frame, remove_incompatible_characters, speech_config_message,
    split_text, ssml, ssml_message,
};
use super::mp3::{Pcm, decode_mp3};
use super::token::{TRUSTED_CLIENT_TOKEN, is_supported_version, sec_ms_gec};

/// Edge TTS settings (EDGE_TTS_ENABLED, EDGE_TTS_BASE_URL and the business's voice).
///
/// The token version and browser identity are configuration because Microsoft changes what it
/// accepts without notice (the 403 waves in the protocol notes); bumping them must not need a
/// release.
#[derive(Clone, PartialEq)]
pub struct EdgeTtsConfig {
    /// `wss://speech.platform.bing.com` in production; the readaloud path is appended.
    pub base_url: String,
    /// Voice short name, e.g. `hi-IN-SwaraNeural` or `en-IN-NeerjaNeural`.
    pub voice: String,
    /// `^[+-]\d+%$`, e.g. `+0%`.
    pub rate: String,
    /// `^[+-]\d+Hz$`, e.g. `+0Hz`.
    pub pitch: String,
    /// `^[+-]\d+%$`.
    pub volume: String,
    /// Only MP3 (and WebM) are accepted by the endpoint; MP3 is decoded here.
    pub output_format: String,
    /// `Sec-MS-GEC-Version`, e.g. `1-143.0.3650.75`: the token format (`1-`, the only one
    /// implemented) and the Edge version it claims to be.
    pub sec_ms_gec_version: String,
    /// Browser `User-Agent` matching the version above.
    pub user_agent: String,
    /// TCP + TLS + upgrade bound.
    pub connect_timeout: Duration,
    /// From sending SSML to the first audio frame; past it the call falls back to Piper.
    pub first_audio_timeout: Duration,
    /// Whole synthesis bound.
    pub total_timeout: Duration,
}

impl Default for EdgeTtsConfig {
    fn default() -> Self {
        Self {
            base_url: "wss://speech.platform.bing.com".into(),
            voice: "hi-IN-SwaraNeural".into(),
            rate: "+0%".into(),
            pitch: "+0Hz".into(),
            volume: "+0%".into(),
            output_format: "audio-24khz-48kbitrate-mono-mp3".into(),
            sec_ms_gec_version: "1-143.0.3650.75".into(),
            user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 Edg/143.0.0.0".into(),
            connect_timeout: Duration::from_secs(5),
            first_audio_timeout: Duration::from_secs(3),
            total_timeout: Duration::from_secs(15),
        }
    }
}

impl fmt::Debug for EdgeTtsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeTtsConfig")
            .field("base_url", &self.base_url)
            .field("voice", &self.voice)
            .field("output_format", &self.output_format)
            .field("sec_ms_gec_version", &self.sec_ms_gec_version)
            .finish_non_exhaustive()
    }
}

/// Which Edge deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtsStage {
    /// Connecting.
    Connect,
    /// Waiting for the first audio frame.
    FirstAudio,
    /// The whole synthesis.
    Total,
}

/// Why Edge TTS failed; every variant means "fall back to another voice".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TtsError {
    /// Settings cannot form a request.
    #[error("Edge TTS config invalid: {0}")]
    Config(String),
    /// Nothing speakable in the text (only punctuation/whitespace).
    #[error("text has nothing to speak")]
    NothingToSpeak,
    /// 403 even after correcting the clock skew: token/version/User-Agent are stale.
    #[error(
        "Edge TTS refused the token (HTTP 403) after clock-skew retry; update sec_ms_gec_version/user_agent"
    )]
    Forbidden,
    /// The upgrade failed with another status.
    #[error("Edge TTS upgrade failed with HTTP {0}")]
    Handshake(u16),
    /// TCP/TLS/WebSocket failure.
    #[error("cannot connect to Edge TTS: {0}")]
    Connect(String),
    /// A deadline passed.
    #[error("Edge TTS too slow ({0:?})")]
    Timeout(TtsStage),
    /// `turn.end` arrived without any audio (bad voice, or Microsoft-side breakage).
    #[error("Edge TTS sent no audio (voice {voice:?})")]
    NoAudio {
        /// The voice asked for.
        voice: String,
    },
    /// The socket closed before `turn.end`: the audio is partial, so it is not used.
    #[error("Edge TTS closed before turn.end ({0})")]
    Truncated(String),
    /// The server closed with an error code (1007: SSML invalid).
    #[error("Edge TTS closed the socket with {code}: {reason}")]
    Closed {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// A frame broke the protocol.
    #[error("Edge TTS protocol error: {0}")]
    Protocol(String),
    /// The MP3 could not be decoded.
    #[error("Edge TTS audio could not be decoded: {0}")]
    Decode(String),
}

/// Edge TTS client. Keeps the learned clock skew across requests.
#[derive(Debug)]
pub struct EdgeTts {
    cfg: EdgeTtsConfig,
    endpoint: url::Url,
    skew_seconds: AtomicI64,
}

fn valid_adjust(value: &str, unit: &str) -> bool {
    let Some(rest) = value.strip_prefix(['+', '-']) else {
        return false;
    };
    let Some(digits) = rest.strip_suffix(unit) else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

fn random_hex(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl EdgeTts {
    /// Validates the config (prosody patterns, URL, token version).
    pub fn new(cfg: EdgeTtsConfig) -> Result<Self, TtsError> {
        if !valid_adjust(&cfg.rate, "%") || !valid_adjust(&cfg.volume, "%") {
            return Err(TtsError::Config(format!(
                "rate {:?} and volume {:?} must look like +0% or -10%",
                cfg.rate, cfg.volume
            )));
        }
        if !valid_adjust(&cfg.pitch, "Hz") {
            return Err(TtsError::Config(format!(
                "pitch {:?} must look like +0Hz",
                cfg.pitch
            )));
        }
        if !is_supported_version(&cfg.sec_ms_gec_version) {
            return Err(TtsError::Config(format!(
                "sec_ms_gec_version {:?} must look like 1-143.0.3650.75 (only the 1- token format is implemented)",
                cfg.sec_ms_gec_version
            )));
        }
        let base = cfg.base_url.trim_end_matches('/');
        let endpoint = url::Url::parse(&format!(
            "{base}/consumer/speech/synthesize/readaloud/edge/v1"
        ))
        .map_err(|e| TtsError::Config(format!("EDGE_TTS_BASE_URL {base:?}: {e}")))?;
        if !matches!(endpoint.scheme(), "ws" | "wss") {
            return Err(TtsError::Config(format!(
                "EDGE_TTS_BASE_URL {base:?} must start with ws:// or wss://"
            )));
        }
        Ok(Self {
            cfg,
            endpoint,
            skew_seconds: AtomicI64::new(0),
        })
    }

    /// Synthesizes `text` and decodes it: mono PCM at the MP3's rate (24 kHz).
    pub async fn synthesize(&self, text: &str) -> Result<Pcm, TtsError> {
        let mp3 = self.synthesize_mp3(text).await?;
        tokio::task::spawn_blocking(move || decode_mp3(&mp3))
            .await
            .map_err(|e| TtsError::Decode(format!("decoder task failed: {e}")))?
            .map_err(TtsError::Decode)
    }

    /// Synthesizes `text` to MP3 bytes. Long text is split (≤ 4096 escaped bytes per request,
    /// one connection each) and the MP3 pieces concatenated, which MP3 allows.
    pub async fn synthesize_mp3(&self, text: &str) -> Result<Vec<u8>, TtsError> {
        let clean = remove_incompatible_characters(text);
        if !has_speakable_content(&clean) {
            return Err(TtsError::NothingToSpeak);
        }
        let deadline = Instant::now() + self.cfg.total_timeout;
        let mut mp3 = Vec::new();
        for piece in split_text(&clean, MAX_TEXT_BYTES) {
            if has_speakable_content(&piece) {
                mp3.extend(self.one_request(&piece, deadline).await?);
            }
        }
        Ok(mp3)
    }

    fn url(&self) -> String {
        let now = unix_now() + self.skew_seconds.load(Ordering::Relaxed);
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("TrustedClientToken", TRUSTED_CLIENT_TOKEN)
            .append_pair("ConnectionId", &random_hex(16))
            .append_pair("Sec-MS-GEC", &sec_ms_gec(now))
            .append_pair("Sec-MS-GEC-Version", &self.cfg.sec_ms_gec_version);
        url.to_string()
    }

    async fn connect(
        &self,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        TtsError,
    > {
        let mut retried = false;
        loop {
            let mut request = self
                .url()
                .into_client_request()
                .map_err(|e| TtsError::Config(format!("cannot build the request: {e}")))?;
            let headers = request.headers_mut();
            let muid = format!("muid={};", random_hex(16).to_uppercase());
            for (name, value) in [
                ("Pragma", "no-cache"),
                ("Cache-Control", "no-cache"),
                (
                    "Origin",
                    "chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold",
                ),
                ("Accept-Encoding", "gzip, deflate, br, zstd"),
                ("Accept-Language", "en-US,en;q=0.9"),
                ("User-Agent", self.cfg.user_agent.as_str()),
                ("Cookie", muid.as_str()),
            ] {
                let v = HeaderValue::from_str(value).map_err(|_| {
                    TtsError::Config(format!("header {name} has invalid characters"))
                })?;
                headers.insert(name, v);
            }
            let connector = if self.endpoint.scheme() == "wss" {
                let tls = crate::tls::client_config()
                    .map_err(|e| TtsError::Connect(format!("TLS setup failed: {e}")))?;
                Some(Connector::Rustls(tls))
            } else {
                None
            };
            let attempt = connect_async_tls_with_config(request, None, false, connector);
            match timeout(self.cfg.connect_timeout, attempt).await {
                Err(_) => return Err(TtsError::Timeout(TtsStage::Connect)),
                Ok(Ok((ws, _))) => return Ok(ws),
                Ok(Err(WsError::Http(response))) if response.status().as_u16() == 403 => {
                    let server = response
                        .headers()
                        .get("date")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_http_date);
                    match server {
                        Some(server_now) if !retried => {
                            // The token depends on the clock: learn the server's and retry once.
                            let skew = server_now - unix_now();
                            tracing::warn!(skew, "Edge TTS 403; retrying with the server's clock.");
                            self.skew_seconds.store(skew, Ordering::Relaxed);
                            retried = true;
                        }
                        _ => return Err(TtsError::Forbidden),
                    }
                }
                Ok(Err(WsError::Http(response))) => {
                    return Err(TtsError::Handshake(response.status().as_u16()));
                }
                Ok(Err(e)) => return Err(TtsError::Connect(e.to_string())),
            }
        }
    }

    async fn one_request(&self, text: &str, total_deadline: Instant) -> Result<Vec<u8>, TtsError> {
        let mut ws = self.connect().await?;
        let now = unix_now() + self.skew_seconds.load(Ordering::Relaxed);
        let timestamp = js_date(now);
        let send = async {
            ws.send(Message::text(speech_config_message(
                &timestamp,
                &self.cfg.output_format,
            )))
            .await?;
            let doc = ssml(
                &self.cfg.voice,
                &self.cfg.rate,
                &self.cfg.pitch,
                &self.cfg.volume,
                &escape_xml(text),
            );
            ws.send(Message::text(ssml_message(
                &random_hex(16),
                &timestamp,
                &doc,
            )))
            .await
        };
        send.await.map_err(|e| TtsError::Connect(e.to_string()))?;

        let first_deadline = (Instant::now() + self.cfg.first_audio_timeout).min(total_deadline);
        let mut audio: Vec<u8> = Vec::new();
        let result = loop {
            let (deadline, stage) = if audio.is_empty() {
                (
                    first_deadline,
                    if first_deadline < total_deadline {
                        TtsStage::FirstAudio
                    } else {
                        TtsStage::Total
                    },
                )
            } else {
                (total_deadline, TtsStage::Total)
            };
            let frame = match timeout_at(deadline, ws.next()).await {
                Err(_) => break Err(TtsError::Timeout(stage)),
                Ok(None) => break Err(TtsError::Truncated("socket ended".into())),
                Ok(Some(Err(e))) => break Err(TtsError::Truncated(e.to_string())),
                Ok(Some(Ok(f))) => f,
            };
            match frame {
                Message::Text(t) => {
                    let (headers, _body) = parse_text_frame(t.as_str());
                    match headers.get("Path").map(String::as_str) {
                        Some("turn.end") => {
                            break if audio.is_empty() {
                                Err(TtsError::NoAudio {
                                    voice: self.cfg.voice.clone(),
                                })
                            } else {
                                Ok(())
                            };
                        }
                        Some("turn.start" | "response" | "audio.metadata") => {}
                        other => {
                            tracing::debug!(path = ?other, "Ignoring an unknown Edge TTS message.")
                        }
                    }
                }
                Message::Binary(data) => {
                    let (headers, body) = match parse_binary_frame(&data) {
                        Ok(parts) => parts,
                        Err(e) => break Err(TtsError::Protocol(e.to_string())),
                    };
                    if headers.get("Path").map(String::as_str) != Some("audio") {
                        break Err(TtsError::Protocol(
                            "binary frame whose Path is not audio".into(),
                        ));
                    }
                    match (headers.get("Content-Type"), body.is_empty()) {
                        (Some(_), false) => audio.extend_from_slice(body),
                        (None, true) => {} // end-of-audio marker
                        (Some(_), true) => {
                            break Err(TtsError::Protocol("audio frame with empty body".into()));
                        }
                        (None, false) => {
                            break Err(TtsError::Protocol(
                                "audio body without Content-Type".into(),
                            ));
                        }
                    }
                }
                Message::Close(frame) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    break Err(if code == 1000 {
                        TtsError::Truncated(format!("closed with 1000 {reason}"))
                    } else {
                        TtsError::Closed { code, reason }
                    });
                }
                _ => {}
            }
        };
        let _ = ws.close(None).await;
        result.map(|()| audio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated() {
        assert!(EdgeTts::new(EdgeTtsConfig::default()).is_ok());
        for bad in [
            EdgeTtsConfig {
                rate: "10%".into(),
                ..Default::default()
            },
            EdgeTtsConfig {
                pitch: "+0%".into(),
                ..Default::default()
            },
            EdgeTtsConfig {
                sec_ms_gec_version: "143".into(),
                ..Default::default()
            },
            EdgeTtsConfig {
                sec_ms_gec_version: "2-143.0.3650.75".into(),
                ..Default::default()
            },
            EdgeTtsConfig {
                base_url: "https://x".into(),
                ..Default::default()
            },
        ] {
            assert!(matches!(EdgeTts::new(bad), Err(TtsError::Config(_))));
        }
    }
}
