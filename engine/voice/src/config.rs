//! What the server tells the voice service at start-up (filled from settings).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vartalaap_audio::ModelPaths;
use vartalaap_providers::deepgram::DeepgramConfig;
use vartalaap_providers::edge::EdgeTtsConfig;
use vartalaap_stt::RecogniserWorker;

/// Plivo account and the public origin Plivo calls us on.
#[derive(Clone)]
pub struct PlivoVoiceConfig {
    /// `PLIVO_AUTH_ID` (REST user and path segment).
    pub auth_id: String,
    /// `PLIVO_AUTH_TOKEN`: signs every webhook and authenticates REST calls. Never logged.
    pub auth_token: String,
    /// `PLIVO_API_BASE_URL` (`https://api.plivo.com`, or a mock in tests).
    pub api_base_url: String,
    /// `PUBLIC_BASE_URL`: the origin Plivo calls (`https://bot.example.in`); signatures cover it.
    pub public_base_url: String,
}

impl fmt::Debug for PlivoVoiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlivoVoiceConfig")
            .field("auth_id", &"***")
            .field("auth_token", &"***")
            .field("api_base_url", &self.api_base_url)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

/// Key bytes whose `Debug` never shows them, so `{:?}` of a [`VoiceConfig`] is safe to log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps key material.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    /// The bytes; only where the key is used.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(***)")
    }
}

/// Which offline speech recogniser calls use when Deepgram is not configured.
#[derive(Debug, Clone, Default)]
pub enum OfflineStt {
    /// Whisper tiny.en from `models` (`whisper-tiny.en-ct2/`), when this build has the
    /// `whisper` feature (`vartalaap` feature `stt-whisper`) and the model is installed.
    #[default]
    Auto,
    /// None: without Deepgram, callers are not understood (the VAD still takes turns).
    Off,
    /// A recogniser built by the caller (tests, another model).
    Worker(Arc<RecogniserWorker>),
}

/// Everything the voice service needs to know, decided once at start-up.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// Deepgram live STT (key and base URL; the language is chosen per business). `None`:
    /// the offline recogniser below, if there is one; else VAD turn-taking only.
    pub deepgram: Option<DeepgramConfig>,
    /// The recogniser used when `deepgram` is `None`.
    pub offline_stt: OfflineStt,
    /// Plivo; `None` turns the telephony routes off (they answer 503).
    pub plivo: Option<PlivoVoiceConfig>,
    /// Where ONNX Runtime, Silero VAD and Piper voices live; `None` or missing files mean the
    /// energy VAD and espeak-ng.
    pub models: Option<ModelPaths>,
    /// The `espeak-ng` program (Hindi voice, fallback voice, and Piper's phonemizer).
    pub espeak_program: PathBuf,
    /// Edge TTS (`EDGE_TTS_ENABLED=true`): speaks a sentence the local voice cannot, in the
    /// business's voice for the language (the `voice` here is replaced per call). `None`: off.
    pub edge: Option<EdgeTtsConfig>,
    /// Speech synthesizers kept ready (each Piper instance holds its own model session).
    pub tts_workers: usize,
    /// Sentences kept in the phrase cache (8 kHz audio).
    pub phrase_cache_entries: usize,
    /// The longest call; at this point the bot says goodbye and hangs up.
    pub max_call: Duration,
    /// Secret that signs stream tokens (derived from the session secret by the server).
    pub stream_token_secret: SecretBytes,
    /// How long a stream token from the answer URL stays usable.
    pub stream_token_ttl: Duration,
    /// How long shutdown waits for calls to say goodbye.
    pub drain_deadline: Duration,
    /// Most calls at once (answered or streaming); a call over it is turned away by the
    /// answer URL (`MAX_CONCURRENT_CALLS`) so live calls keep their speed. 0 = no limit.
    pub max_concurrent_calls: usize,
    /// Guess the reply from Deepgram's interim transcripts and synthesize its first sentence
    /// before the caller's turn is final (`docs/VOICE.md`, "Speculative first sentence").
    pub speculate: bool,
}

impl VoiceConfig {
    /// Offline defaults: no STT, no Plivo, espeak-ng from `PATH`, models from `models`.
    pub fn offline(models: Option<ModelPaths>, stream_token_secret: Vec<u8>) -> Self {
        Self {
            deepgram: None,
            offline_stt: OfflineStt::Auto,
            plivo: None,
            models,
            espeak_program: PathBuf::from(vartalaap_audio::tts::ESPEAK_PROGRAM),
            edge: None,
            tts_workers: 2,
            phrase_cache_entries: 512,
            max_call: Duration::from_secs(15 * 60),
            stream_token_secret: SecretBytes(stream_token_secret),
            stream_token_ttl: vartalaap_telephony::token::DEFAULT_TOKEN_TTL
                .to_std()
                .unwrap_or(Duration::from_secs(60)),
            drain_deadline: Duration::from_secs(8),
            max_concurrent_calls: 0,
            speculate: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_voice_config_shows_no_secret() {
        let mut config = VoiceConfig::offline(None, b"stream-token-key-bytes".to_vec());
        config.plivo = Some(PlivoVoiceConfig {
            auth_id: "MAPLIVOAUTHID".into(),
            auth_token: "plivo-auth-token-value".into(),
            api_base_url: "https://api.plivo.com".into(),
            public_base_url: "https://bot.example.in".into(),
        });
        let shown = format!("{config:?} {config:#?}");
        let key_as_debug = format!("{:?}", b"stream-token-key-bytes".to_vec());
        for secret in [
            "plivo-auth-token-value",
            "MAPLIVOAUTHID",
            key_as_debug.as_str(),
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("SecretBytes(***)"), "{shown}");
    }
}
