//! Text → 8 kHz audio for the call: a small pool of local synthesizers behind one phrase cache.
//!
//! The chain for one sentence, never dead air:
//! 1. the phrase cache (fixed prompts, repeated confirmations: free after the first time);
//! 2. the language's local engine: Piper when its voice model is installed (English ships
//!    with the setup script; Hindi when an owner adds a `hi_IN` voice), else espeak-ng;
//!    [`LocalTts`] itself falls back to espeak-ng when Piper fails;
//! 3. the "having trouble" apology synthesized at start-up;
//! 4. a short soft tone, if even espeak-ng is missing (logged loudly at start-up).
//!
//! Everything here is blocking; callers use `spawn_blocking`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use vartalaap_audio::tts::{EspeakTts, LocalTts, PhraseCache};
use vartalaap_audio::{Lang as VoiceLang, ModelPaths, Pcm, Tts, TtsError};
use vartalaap_config::Lang;

use crate::phrases::{self, Phrase};

/// Samples kept in the phrase cache at most (8 kHz): about 40 minutes of audio, ~38 MB.
const CACHE_MAX_SAMPLES: usize = 8000 * 60 * 40;
/// Telephone rate.
const RATE: u32 = 8000;

/// Which local voice speaks a sentence. Hinglish is romanized, so the English voice reads it;
/// Devanagari text always goes to the Hindi voice.
pub fn voice_for(text: &str, lang: Lang) -> VoiceLang {
    let devanagari = text.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c));
    match lang {
        Lang::Hi => VoiceLang::Hindi,
        _ if devanagari => VoiceLang::Hindi,
        Lang::En | Lang::Hinglish => VoiceLang::English,
    }
}

/// One gate per (voice, sentence) being synthesized.
type Gates = HashMap<(String, String), Arc<Mutex<()>>>;

/// What a sentence became.
#[derive(Debug, Clone)]
pub struct Spoken {
    /// 8 kHz mono audio.
    pub pcm: Arc<Pcm>,
    /// The audio is a fallback (apology or tone), not the sentence itself.
    pub fallback: bool,
}

/// The process-wide synthesizers.
pub struct SpeechPool {
    engines: Vec<Mutex<LocalTts>>,
    cache: Mutex<PhraseCache>,
    /// Sentences being synthesized now, so concurrent calls asking for the same sentence wait
    /// for one synthesis instead of each running their own (a cache stampede at rush hour).
    inflight: Mutex<Gates>,
    next: AtomicUsize,
    english_voice: String,
    hindi_voice: String,
    trouble: [Option<Arc<Pcm>>; 3],
}

impl std::fmt::Debug for SpeechPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechPool")
            .field("engines", &self.engines.len())
            .field("english_voice", &self.english_voice)
            .field("hindi_voice", &self.hindi_voice)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A Hindi Piper voice in the models folder, if an owner installed one.
fn hindi_voice(models: &ModelPaths) -> Option<std::path::PathBuf> {
    let dir = models.root.join("piper");
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("hi_IN") && n.ends_with(".onnx"))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn piper(models: &ModelPaths, model: &Path, espeak: &Path) -> Option<Box<dyn Tts>> {
    use vartalaap_audio::tts::{EspeakPhonemizer, PiperTts};
    if !model.is_file() || !models.ort_dylib.is_file() {
        return None;
    }
    match PiperTts::load(&models.ort_dylib, model) {
        Ok(p) => Some(Box::new(p.with_phonemizer(EspeakPhonemizer::new(espeak)))),
        Err(e) => {
            tracing::warn!(error = %e, model = %model.display(), "Piper voice could not be loaded; espeak-ng speaks instead.");
            None
        }
    }
}

fn tone() -> Arc<Pcm> {
    // 300 ms of a soft 440 Hz tone: audible proof the line is alive.
    let samples = (0..RATE as usize * 3 / 10)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            ((t * 440.0 * std::f32::consts::TAU).sin() * 3000.0) as i16
        })
        .collect();
    Arc::new(Pcm {
        sample_rate: RATE,
        samples,
    })
}

fn to_8k(pcm: Pcm) -> Result<Pcm, TtsError> {
    if pcm.sample_rate == RATE || pcm.samples.is_empty() {
        return Ok(Pcm {
            sample_rate: RATE,
            samples: pcm.samples,
        });
    }
    let samples = vartalaap_audio::resample(&pcm.samples, pcm.sample_rate, RATE)
        .map_err(|e| TtsError::Inference(format!("resampling to 8 kHz failed: {e}")))?;
    Ok(Pcm {
        sample_rate: RATE,
        samples,
    })
}

impl SpeechPool {
    /// Builds `workers` synthesizers (Piper per language when its model is present, else
    /// espeak-ng) and pre-synthesizes the apology in every language.
    pub fn new(
        models: Option<&ModelPaths>,
        espeak_program: &Path,
        workers: usize,
        cache_entries: usize,
    ) -> Self {
        let mut english_voice = String::new();
        let mut hindi_voice_name = String::new();
        let engines = (0..workers.max(1))
            .map(|_| {
                let mut local = LocalTts::new(EspeakTts::new(espeak_program));
                if let Some(models) = models {
                    let en = models.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE);
                    if let Some(p) = piper(models, &en, espeak_program) {
                        local = local.with_voice(VoiceLang::English, p);
                    }
                    if let Some(hi) = hindi_voice(models)
                        && let Some(p) = piper(models, &hi, espeak_program)
                    {
                        local = local.with_voice(VoiceLang::Hindi, p);
                    }
                }
                english_voice = local.voice_name(VoiceLang::English);
                hindi_voice_name = local.voice_name(VoiceLang::Hindi);
                Mutex::new(local)
            })
            .collect();
        let mut pool = SpeechPool {
            engines,
            cache: Mutex::new(PhraseCache::new(cache_entries, CACHE_MAX_SAMPLES)),
            inflight: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            english_voice,
            hindi_voice: hindi_voice_name,
            trouble: [None, None, None],
        };
        for (i, lang) in Lang::ALL.into_iter().enumerate() {
            let text = phrases::text(Phrase::Trouble, lang);
            match pool.synthesize_exact(text, voice_for(text, lang)) {
                Ok(pcm) if !pcm.samples.is_empty() => pool.trouble[i] = Some(pcm),
                Ok(_) => {}
                Err(e) => tracing::error!(
                    error = %e,
                    language = %lang,
                    "Cannot synthesize the apology; if speech fails on a call the caller hears a tone. Install espeak-ng (scripts/setup.sh)."
                ),
            }
        }
        tracing::info!(english = %pool.english_voice, hindi = %pool.hindi_voice, workers = pool.engines.len(), "Voices ready.");
        pool
    }

    /// Voice names in use, for logs and the call record.
    pub fn voices(&self) -> (&str, &str) {
        (&self.english_voice, &self.hindi_voice)
    }

    fn voice_key(&self, voice: VoiceLang) -> &str {
        match voice {
            VoiceLang::English => &self.english_voice,
            VoiceLang::Hindi => &self.hindi_voice,
        }
    }

    /// Synthesizes `text` (cached) without any fallback.
    pub fn synthesize_exact(&self, text: &str, voice: VoiceLang) -> Result<Arc<Pcm>, TtsError> {
        let key = self.voice_key(voice).to_string();
        if let Some(hit) = lock(&self.cache).get(&key, text) {
            return Ok(hit);
        }
        let slot = (key.clone(), text.to_string());
        let gate = lock(&self.inflight)
            .entry(slot.clone())
            .or_default()
            .clone();
        let result = {
            let _turn = lock(&gate);
            // Whoever held the gate before us may have just cached it. (The cache guard must
            // be dropped before synthesizing, which inserts into the cache.)
            let hit = lock(&self.cache).get(&key, text);
            match hit {
                Some(hit) => Ok(hit),
                None => self.synthesize_uncached(&key, text, voice),
            }
        };
        let mut inflight = lock(&self.inflight);
        if inflight.get(&slot).is_some_and(|g| Arc::ptr_eq(g, &gate))
            && Arc::strong_count(&gate) <= 2
        {
            inflight.remove(&slot);
        }
        result
    }

    fn synthesize_uncached(
        &self,
        key: &str,
        text: &str,
        voice: VoiceLang,
    ) -> Result<Arc<Pcm>, TtsError> {
        let n = self.engines.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        // Take a free engine if there is one, else wait for ours in round-robin order.
        let mut guard = (0..n)
            .find_map(|i| self.engines[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| lock(&self.engines[start]));
        let pcm = to_8k(guard.synthesize(text, voice)?)?;
        drop(guard);
        let pcm = Arc::new(pcm);
        lock(&self.cache).insert(key, text, pcm.clone());
        Ok(pcm)
    }

    /// Synthesizes a sentence for the caller; on failure returns the apology (or a tone) so
    /// the caller always hears something, with the error for the log.
    pub fn speak(&self, text: &str, lang: Lang) -> (Spoken, Option<TtsError>) {
        match self.synthesize_exact(text, voice_for(text, lang)) {
            Ok(pcm) => (
                Spoken {
                    pcm,
                    fallback: false,
                },
                None,
            ),
            Err(e) => {
                let idx = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
                let pcm = self.trouble[idx].clone().unwrap_or_else(tone);
                (
                    Spoken {
                        pcm,
                        fallback: true,
                    },
                    Some(e),
                )
            }
        }
    }

    /// Cache hits and misses so far.
    pub fn cache_stats(&self) -> (u64, u64) {
        lock(&self.cache).stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voices_follow_script_and_language() {
        assert_eq!(voice_for("Table for four?", Lang::En), VoiceLang::English);
        assert_eq!(
            voice_for("Kitne log aayenge?", Lang::Hinglish),
            VoiceLang::English
        );
        assert_eq!(voice_for("कितने लोग?", Lang::Hinglish), VoiceLang::Hindi);
        assert_eq!(voice_for("Ok", Lang::Hi), VoiceLang::Hindi);
    }

    #[test]
    fn missing_espeak_falls_back_to_a_tone_not_silence() {
        let pool = SpeechPool::new(None, Path::new("/nonexistent/espeak-ng"), 1, 8);
        let (spoken, err) = pool.speak("Hello there.", Lang::En);
        assert!(err.is_some());
        assert!(spoken.fallback);
        assert!(!spoken.pcm.samples.is_empty());
        assert_eq!(spoken.pcm.sample_rate, 8000);
    }

    #[test]
    fn concurrent_requests_for_one_sentence_synthesize_it_once() {
        if std::process::Command::new("espeak-ng")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: espeak-ng is not installed");
            return;
        }
        let pool = Arc::new(SpeechPool::new(None, Path::new("espeak-ng"), 2, 8));
        let (_, misses_before) = pool.cache_stats();
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || pool.speak("Kitne log aayenge?", Lang::Hinglish))
            })
            .collect();
        let outs: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            outs.iter()
                .all(|(s, e)| e.is_none() && Arc::ptr_eq(&s.pcm, &outs[0].0.pcm))
        );
        // One miss for the first lookup of each caller that found nothing, but one synthesis:
        // every result is the same shared buffer, and the gate map is empty again.
        assert!(pool.cache_stats().1 > misses_before);
        assert!(lock(&pool.inflight).is_empty());
    }

    #[test]
    fn espeak_speech_is_8k_and_cached() {
        if std::process::Command::new("espeak-ng")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: espeak-ng is not installed");
            return;
        }
        let pool = SpeechPool::new(None, Path::new("espeak-ng"), 1, 8);
        let (a, err) = pool.speak("Namaste, Himalayan Kitchen.", Lang::Hinglish);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(a.pcm.sample_rate, 8000);
        assert!(a.pcm.duration_ms() > 300);
        let (hits_before, _) = pool.cache_stats();
        let (b, _) = pool.speak("Namaste, Himalayan Kitchen.", Lang::Hinglish);
        assert!(Arc::ptr_eq(&a.pcm, &b.pcm));
        assert_eq!(pool.cache_stats().0, hits_before + 1);
    }
}
