//! Deepgram settings, filled by the server's settings code from env and business config.

use std::fmt;
use std::time::Duration;

use crate::Backoff;

/// Language of the caller, from the business config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SttLanguage {
    /// Monolingual Hindi (`hi`, Devanagari transcripts).
    Hindi,
    /// English (`en`).
    English,
    /// Code-switching Hindi + English (`multi`), the usual Hinglish caller.
    Multi,
}

impl SttLanguage {
    /// The `language` query value.
    pub fn as_query(self) -> &'static str {
        match self {
            Self::Hindi => "hi",
            Self::English => "en",
            Self::Multi => "multi",
        }
    }
}

/// Everything needed to open a Deepgram live stream.
///
/// Defaults follow the protocol notes for phone audio: µ-law 8 kHz mono as Plivo sends it,
/// interim results on (needed for `UtteranceEnd`), 300 ms endpointing, 1 s utterance end.
#[derive(Clone, PartialEq)]
pub struct DeepgramConfig {
    /// `wss://api.deepgram.com` in production, `ws://127.0.0.1:port` against the mock.
    /// `/v1/listen` is appended.
    pub base_url: String,
    /// Sent as `Authorization: Token <key>`; never logged.
    pub api_key: String,
    /// Model, e.g. `nova-3`.
    pub model: String,
    /// Caller language.
    pub language: SttLanguage,
    /// Audio encoding of the bytes sent (`mulaw` for Plivo's recommended stream).
    pub encoding: String,
    /// Samples per second of the audio sent.
    pub sample_rate: u32,
    /// Audio channels.
    pub channels: u32,
    /// Ask for interim results (needed for `UtteranceEnd` and early barge-in).
    pub interim_results: bool,
    /// Silence (ms) after which Deepgram marks `speech_final`; `None` sends `endpointing=false`.
    pub endpointing_ms: Option<u32>,
    /// Gap (ms) for `UtteranceEnd`; `None` leaves it off.
    pub utterance_end_ms: Option<u32>,
    /// Ask for `SpeechStarted` events (barge-in).
    pub vad_events: bool,
    /// Numbers, dates, phone numbers formatted (useful for bookings).
    pub smart_format: bool,
    /// Punctuation in transcripts.
    pub punctuate: bool,
    /// Key terms to boost (nova-3 only), sent as repeated `keyterm` params.
    pub keyterms: Vec<String>,
    /// Send a KeepAlive when no audio was sent for this long (Deepgram allows 10 s of silence).
    pub keepalive_interval: Duration,
    /// Bound on TCP + TLS + upgrade.
    pub connect_timeout: Duration,
    /// How long to wait for the last results after `CloseStream`.
    pub close_timeout: Duration,
    /// Reconnect schedule after a dropped socket.
    pub reconnect: Backoff,
    /// Most audio kept for replay after a drop (bytes); the oldest is dropped beyond it.
    /// 8000 bytes is one second of µ-law 8 kHz.
    pub max_replay_bytes: usize,
    /// Capacity of the audio channel, in messages (20 ms frames from Plivo).
    pub audio_channel_capacity: usize,
    /// Capacity of the event channel.
    pub event_channel_capacity: usize,
}

impl Default for DeepgramConfig {
    fn default() -> Self {
        Self {
            base_url: "wss://api.deepgram.com".to_owned(),
            api_key: String::new(),
            model: "nova-3".to_owned(),
            language: SttLanguage::Multi,
            encoding: "mulaw".to_owned(),
            sample_rate: 8000,
            channels: 1,
            interim_results: true,
            endpointing_ms: Some(300),
            utterance_end_ms: Some(1000),
            vad_events: true,
            smart_format: true,
            punctuate: true,
            keyterms: Vec::new(),
            keepalive_interval: Duration::from_secs(4),
            connect_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(3),
            reconnect: Backoff::default(),
            max_replay_bytes: 8000 * 20,
            audio_channel_capacity: 256,
            event_channel_capacity: 256,
        }
    }
}

impl fmt::Debug for DeepgramConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeepgramConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &crate::redact::secret(&self.api_key))
            .field("model", &self.model)
            .field("language", &self.language)
            .field("encoding", &self.encoding)
            .field("sample_rate", &self.sample_rate)
            .field("endpointing_ms", &self.endpointing_ms)
            .field("utterance_end_ms", &self.utterance_end_ms)
            .finish_non_exhaustive()
    }
}

impl DeepgramConfig {
    /// Bytes of audio per second for the configured format, used to map Deepgram's
    /// `start`/`duration` seconds back onto the bytes we sent.
    pub fn bytes_per_second(&self) -> usize {
        let bytes_per_sample = match self.encoding.as_str() {
            "linear16" => 2,
            "linear32" => 4,
            _ => 1, // mulaw, alaw
        };
        self.sample_rate as usize * self.channels as usize * bytes_per_sample
    }

    /// The full `/v1/listen` URL with query parameters (no secrets in it).
    pub fn listen_url(&self) -> Result<url::Url, super::SttError> {
        let base = self.base_url.trim_end_matches('/');
        let mut url = url::Url::parse(&format!("{base}/v1/listen")).map_err(|e| {
            super::SttError::Config(format!(
                "DEEPGRAM_BASE_URL {base:?} is not a URL ({e}); expected e.g. wss://api.deepgram.com"
            ))
        })?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(super::SttError::Config(format!(
                "DEEPGRAM_BASE_URL {base:?} must start with ws:// or wss://"
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("model", &self.model)
                .append_pair("language", self.language.as_query())
                .append_pair("encoding", &self.encoding)
                .append_pair("sample_rate", &self.sample_rate.to_string())
                .append_pair("channels", &self.channels.to_string())
                .append_pair("interim_results", bool_str(self.interim_results))
                .append_pair("punctuate", bool_str(self.punctuate))
                .append_pair("smart_format", bool_str(self.smart_format))
                .append_pair("vad_events", bool_str(self.vad_events));
            match self.endpointing_ms {
                Some(ms) => q.append_pair("endpointing", &ms.to_string()),
                None => q.append_pair("endpointing", "false"),
            };
            if let Some(ms) = self.utterance_end_ms {
                q.append_pair("utterance_end_ms", &ms.to_string());
            }
            for term in &self.keyterms {
                q.append_pair("keyterm", term);
            }
        }
        Ok(url)
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_every_parameter_and_repeats_keyterms() {
        let cfg = DeepgramConfig {
            base_url: "ws://127.0.0.1:9/".into(),
            language: SttLanguage::Hindi,
            keyterms: vec!["Himalayan Kitchen".into(), "momo".into()],
            ..Default::default()
        };
        let url = cfg.listen_url().unwrap();
        assert_eq!(url.path(), "/v1/listen");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            pairs
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("language"), ["hi"]);
        assert_eq!(get("encoding"), ["mulaw"]);
        assert_eq!(get("sample_rate"), ["8000"]);
        assert_eq!(get("interim_results"), ["true"]);
        assert_eq!(get("endpointing"), ["300"]);
        assert_eq!(get("utterance_end_ms"), ["1000"]);
        assert_eq!(get("keyterm"), ["Himalayan Kitchen", "momo"]);
    }

    #[test]
    fn bad_base_url_is_a_config_error() {
        let cfg = DeepgramConfig {
            base_url: "https://api.deepgram.com".into(),
            ..Default::default()
        };
        assert!(matches!(
            cfg.listen_url(),
            Err(super::super::SttError::Config(_))
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let cfg = DeepgramConfig {
            api_key: "supersecretkey".into(),
            ..Default::default()
        };
        assert!(!format!("{cfg:?}").contains("supersecret"));
    }
}
