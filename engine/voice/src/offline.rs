//! The offline recogniser on phone calls (Whisper tiny.en, `vartalaap-stt`), used when no
//! Deepgram key is configured.
//!
//! The VAD task cuts the caller's audio into utterances (see `listen.rs`); each one goes to the
//! shared [`RecogniserWorker`] (its own OS thread, never an async worker) and comes back as the
//! same `SttEvent::Utterance` Deepgram produces, so the call handles both recognisers with one
//! code path. Whisper gives no interim results, so barge-in keeps the offline rule (600 ms of
//! continuous caller speech).

use std::sync::Arc;

use tokio::sync::mpsc;
use vartalaap_config::{ConfigStore, Lang};
use vartalaap_providers::deepgram::{SttEvent, Utterance};
use vartalaap_stt::{RecogniserWorker, SttError, WhisperOptions};

use crate::config::{OfflineStt, VoiceConfig};

/// Utterances waiting for the recogniser before further ones are refused (each takes about a
/// second of one core, so ten is ten seconds of backlog).
const QUEUE: usize = 10;

/// The offline recogniser this process runs, or why there is none. With Deepgram configured
/// there is none: calls never use it, and Whisper's model would hold memory for nothing.
pub(crate) fn load(cfg: &VoiceConfig) -> Result<Arc<RecogniserWorker>, String> {
    if cfg.deepgram.is_some() {
        return Err("Deepgram is configured".into());
    }
    match &cfg.offline_stt {
        OfflineStt::Off => Err("the offline recogniser is switched off".into()),
        OfflineStt::Worker(w) => Ok(w.clone()),
        OfflineStt::Auto => {
            if !vartalaap_stt::BUILT_IN {
                return Err(SttError::NotBuiltIn.to_string());
            }
            let Some(models) = &cfg.models else {
                return Err(
                    "no models folder (VARTALAAP_MODEL_DIR) for the Whisper model; run WITH_STT=1 scripts/setup.sh"
                        .into(),
                );
            };
            RecogniserWorker::whisper(WhisperOptions::from_models(models), QUEUE)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        }
    }
}

/// One start-up line about speech recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// A warning (callers will not be understood) rather than information.
    pub warn: bool,
    pub text: String,
}

/// What `serve` says at start-up about understanding callers: which recogniser runs, and
/// plainly, which callers it cannot understand. `hindi_businesses` are the ids of businesses
/// that accept Hindi callers.
pub(crate) fn startup_notices(
    deepgram: bool,
    offline: &Result<Arc<RecogniserWorker>, String>,
    hindi_businesses: &[String],
) -> Vec<Notice> {
    if deepgram {
        return Vec::new();
    }
    match offline {
        Err(reason) => vec![Notice {
            warn: true,
            text: format!(
                "No speech recogniser: DEEPGRAM_API_KEY is not set and {reason}. Phone callers will be greeted, then told the bot cannot understand speech and offered the keypad where a flow allows it. Set STT_PROVIDER=deepgram and DEEPGRAM_API_KEY to understand Hindi, English and Hinglish callers."
            ),
        }],
        Ok(worker) => {
            let langs = worker.languages().join(", ");
            let mut out = vec![Notice {
                warn: false,
                text: format!(
                    "Offline speech recognition: {} ({langs}). About a second of CPU per caller utterance.",
                    worker.name()
                ),
            }];
            let understands_hindi = worker.languages().iter().any(|l| l == "hi");
            if !understands_hindi && !hindi_businesses.is_empty() {
                out.push(Notice {
                    warn: true,
                    text: format!(
                        "Hindi callers will not be understood: {} accept{} Hindi, but the only speech recogniser available is the offline English one (no offline Hindi model exists). English callers are understood; Hindi and Hinglish speech will be misheard. Set STT_PROVIDER=deepgram and DEEPGRAM_API_KEY to understand Hindi.",
                        hindi_businesses.join(", "),
                        if hindi_businesses.len() == 1 { "s" } else { "" }
                    ),
                });
            }
            out
        }
    }
}

/// Ids of the loaded businesses that accept Hindi callers.
pub(crate) fn hindi_businesses(config: &ConfigStore) -> Vec<String> {
    let mut ids: Vec<String> = config
        .list()
        .into_iter()
        .filter(|s| s.business.languages.supported.contains(&Lang::Hi))
        .map(|s| s.business.id.clone())
        .collect();
    ids.sort();
    ids
}

/// Transcribes one utterance in the background and delivers it as an `SttEvent::Utterance`
/// (empty text when nothing was understood or the recogniser failed, which the call treats as
/// silence: the listen timer runs on and the flow re-prompts).
pub(crate) fn transcribe(
    worker: Arc<RecogniserWorker>,
    pcm: Vec<i16>,
    events: mpsc::Sender<SttEvent>,
    call: String,
) {
    tokio::spawn(async move {
        let utterance = match worker.transcribe(pcm).await {
            Ok(t) => Utterance {
                text: t.text,
                confidence: t.confidence,
            },
            Err(e) => {
                tracing::warn!(%call, error = %e, "Offline speech recognition failed for an utterance.");
                Utterance {
                    text: String::new(),
                    confidence: 0.0,
                }
            }
        };
        let _ = events.send(SttEvent::Utterance(utterance)).await;
    });
}

#[cfg(test)]
mod tests {
    use vartalaap_stt::{Recognise, Transcript};

    use super::*;

    struct English;
    impl Recognise for English {
        fn transcribe_8k(&self, _: &[i16]) -> Result<Transcript, SttError> {
            Err(SttError::Stopped)
        }
        fn languages(&self) -> Vec<String> {
            vec!["en".into()]
        }
    }

    #[test]
    fn without_the_feature_serve_says_the_recogniser_is_not_built_in() {
        let cfg = VoiceConfig::offline(Some(vartalaap_audio::ModelPaths::under("/m")), vec![1; 32]);
        let offline = load(&cfg);
        if vartalaap_stt::BUILT_IN {
            // Built in, but no model under /m: the reason names the missing file.
            let reason = offline.unwrap_err();
            assert!(reason.contains("whisper-tiny.en-ct2"), "{reason}");
        } else {
            let notices = startup_notices(false, &offline, &[]);
            assert_eq!(notices.len(), 1);
            assert!(notices[0].warn);
            let text = &notices[0].text;
            assert!(text.starts_with("No speech recogniser"), "{text}");
            assert!(text.contains("not built in"), "{text}");
            assert!(text.contains("stt-whisper"), "{text}");
            assert!(text.contains("STT_PROVIDER=deepgram"), "{text}");
        }
    }

    #[test]
    fn english_only_recogniser_with_hindi_businesses_is_said_plainly() {
        let worker = Arc::new(RecogniserWorker::spawn("whisper", English, 1).unwrap());
        let offline = Ok(worker);
        let notices = startup_notices(false, &offline, &["himalayan_kitchen".to_string()]);
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(!notices[0].warn);
        assert!(
            notices[0].text.contains("whisper (en)"),
            "{}",
            notices[0].text
        );
        assert!(notices[1].warn);
        assert!(
            notices[1].text.starts_with(
                "Hindi callers will not be understood: himalayan_kitchen accepts Hindi"
            ),
            "{}",
            notices[1].text
        );
        // English-only businesses: nothing to warn about.
        assert_eq!(startup_notices(false, &offline, &[]).len(), 1);
        // Deepgram understands everyone: no notice at all.
        assert!(startup_notices(true, &offline, &["x".into()]).is_empty());
        // Switched off explicitly.
        let mut cfg = VoiceConfig::offline(None, vec![1; 32]);
        cfg.offline_stt = OfflineStt::Off;
        assert!(load(&cfg).unwrap_err().contains("switched off"));
    }

    #[test]
    fn no_offline_recogniser_is_loaded_when_deepgram_is_configured() {
        let worker = Arc::new(RecogniserWorker::spawn("whisper", English, 1).unwrap());
        let mut cfg = VoiceConfig::offline(None, vec![1; 32]);
        cfg.offline_stt = OfflineStt::Worker(worker);
        assert!(
            load(&cfg).is_ok(),
            "without Deepgram the recogniser is used"
        );
        cfg.deepgram = Some(vartalaap_providers::deepgram::DeepgramConfig::default());
        assert_eq!(load(&cfg).unwrap_err(), "Deepgram is configured");
        // Nor does `Auto` reach for the Whisper model.
        cfg.offline_stt = OfflineStt::Auto;
        assert_eq!(load(&cfg).unwrap_err(), "Deepgram is configured");
    }
}
