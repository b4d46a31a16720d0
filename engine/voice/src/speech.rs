//! Text → 8 kHz audio for the call: a small pool of local synthesizers behind one phrase cache,
//! with Edge TTS as the optional network fallback.
//!
//! The chain for one sentence, never dead air:
//! 1. the phrase cache (fixed prompts, repeated confirmations: free after the first time);
//! 2. the language's local voice: Piper when its voice model is installed (English ships with
//!    the setup script; Hindi when an owner adds a `hi_IN` voice), else espeak-ng;
//! 3. when that fails and `EDGE_TTS_ENABLED=true`: Edge TTS with the business's voice for the
//!    language (a human-sounding voice is worth a network round trip on a rare failure);
//! 4. espeak-ng, when the local voice was Piper (robotic, but the caller hears the words);
//! 5. the "having trouble" apology synthesized at start-up (locally, or by Edge when no local
//!    voice works);
//! 6. a short soft tone, if even that was impossible (logged loudly at start-up).
//!
//! Local synthesis is blocking and runs on the blocking pool; Edge is awaited. Whatever voice
//! says a sentence, its leading and trailing near-silence is trimmed before it is cached.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use vartalaap_audio::tts::{EspeakTts, PhraseCache};
use vartalaap_audio::{
    Lang as VoiceLang, ModelPaths, Pcm, TrimConfig, Tts, TtsError, trim_silence,
};
use vartalaap_config::Lang;
use vartalaap_providers::edge::{EdgeTts, EdgeTtsConfig};

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

/// The Edge voice for a language when the business names none.
fn default_edge_voice(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en-IN-NeerjaNeural",
        Lang::Hi | Lang::Hinglish => "hi-IN-SwaraNeural",
    }
}

/// One gate per (voice, sentence) being synthesized.
type Gates = HashMap<(String, String), Arc<Mutex<()>>>;

/// Which link of the chain produced a sentence's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The language's own local voice (or the cache of it).
    Local,
    /// Edge TTS (the local voice failed).
    Edge,
    /// espeak-ng standing in for a failed Piper voice.
    Espeak,
    /// The pre-synthesized apology instead of the sentence.
    Apology,
    /// A tone: nothing could speak at all.
    Tone,
}

/// What a sentence became.
#[derive(Debug, Clone)]
pub struct Spoken {
    /// 8 kHz mono audio.
    pub pcm: Arc<Pcm>,
    /// Where it came from.
    pub source: Source,
    /// The words the audio says (the apology's text for the apology, empty for the tone), so
    /// the transcript holds what the caller heard.
    pub said: String,
}

impl Spoken {
    /// The audio is a stand-in (apology or tone), not the sentence itself.
    pub fn fallback(&self) -> bool {
        matches!(self.source, Source::Apology | Source::Tone)
    }
}

/// The local voices the businesses speak, decided from the configuration at start-up. A Piper
/// voice costs each synthesizer ~200 MB (its model and the tensors of its longest sentence), so
/// one that no business needs is not loaded then; should a reloaded configuration add its
/// language, it is loaded the first time a sentence needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoiceNeeds {
    /// Some business speaks English or Hinglish (romanized: the English voice reads it).
    pub english: bool,
    /// Some business speaks Hindi.
    pub hindi: bool,
}

impl VoiceNeeds {
    /// Every voice at start-up.
    pub const ALL: VoiceNeeds = VoiceNeeds {
        english: true,
        hindi: true,
    };

    /// The voices for businesses that speak `languages` (routed as [`voice_for`] routes
    /// their text).
    pub fn for_languages(languages: impl IntoIterator<Item = Lang>) -> Self {
        let mut needs = Self::default();
        for lang in languages {
            match lang {
                Lang::Hi => needs.hindi = true,
                Lang::En | Lang::Hinglish => needs.english = true,
            }
        }
        needs
    }

    /// Whether `voice` is loaded at start-up.
    pub fn wants(&self, voice: VoiceLang) -> bool {
        match voice {
            VoiceLang::English => self.english,
            VoiceLang::Hindi => self.hindi,
        }
    }
}

/// A Piper voice installed but not loaded: no business needed it at start-up.
struct Deferred {
    models: ModelPaths,
    model: std::path::PathBuf,
}

/// One worker's local voices.
struct Voices {
    /// Piper per language, when its model loaded.
    piper: HashMap<VoiceLang, Box<dyn Tts>>,
    /// Installed Piper voices no business needed at start-up, loaded on first use.
    deferred: HashMap<VoiceLang, Deferred>,
    espeak_program: std::path::PathBuf,
    espeak: EspeakTts,
}

impl Voices {
    /// The language's own voice (Piper, else espeak-ng).
    fn primary(&mut self, text: &str, voice: VoiceLang) -> Result<Pcm, TtsError> {
        if let Some(later) = self.deferred.remove(&voice) {
            tracing::info!(voice = ?voice, "Loading a voice no business spoke at start-up.");
            if let Some(p) = piper(&later.models, &later.model, &self.espeak_program) {
                self.piper.insert(voice, p);
            }
        }
        match self.piper.get_mut(&voice) {
            Some(piper) => piper.synthesize(text, voice),
            None => self.espeak.synthesize(text, voice),
        }
    }

    /// The name of the voice that says `voice`'s sentences (a deferred Piper voice by the
    /// name it will have, so the phrase cache keys it the same before and after it loads).
    fn voice_name(&self, voice: VoiceLang) -> String {
        if let Some(p) = self.piper.get(&voice) {
            return p.voice_name(voice);
        }
        match self.deferred.get(&voice) {
            Some(later) => vartalaap_audio::tts::PiperTts::voice_name_of(&later.model),
            None => self.espeak.voice_name(voice),
        }
    }
}

/// Edge TTS clients, one per voice name (the client holds the voice and the learned clock skew).
struct Edge {
    base: EdgeTtsConfig,
    clients: Mutex<HashMap<String, Arc<EdgeTts>>>,
}

impl Edge {
    fn client(&self, voice: &str) -> Result<Arc<EdgeTts>, String> {
        let mut clients = lock(&self.clients);
        if let Some(c) = clients.get(voice) {
            return Ok(c.clone());
        }
        let client = EdgeTts::new(EdgeTtsConfig {
            voice: voice.to_string(),
            ..self.base.clone()
        })
        .map_err(|e| e.to_string())?;
        let client = Arc::new(client);
        clients.insert(voice.to_string(), client.clone());
        Ok(client)
    }

    /// Synthesizes with Edge and converts to 8 kHz (decoding and resampling off the async
    /// workers).
    async fn speak(&self, text: &str, voice: &str) -> Result<Pcm, String> {
        let client = self.client(voice)?;
        let pcm = client.synthesize(text).await.map_err(|e| e.to_string())?;
        let pcm = Pcm {
            sample_rate: pcm.sample_rate,
            samples: pcm.samples,
        };
        tokio::task::spawn_blocking(move || for_the_line(pcm))
            .await
            .map_err(|e| format!("resampling task failed: {e}"))?
            .map_err(|e| e.to_string())
    }
}

/// The process-wide synthesizers.
pub struct SpeechPool {
    engines: Vec<Mutex<Voices>>,
    cache: Mutex<PhraseCache>,
    /// Sentences being synthesized now, so concurrent calls asking for the same sentence wait
    /// for one synthesis instead of each running their own (a cache stampede at rush hour).
    inflight: Mutex<Gates>,
    next: AtomicUsize,
    english_voice: String,
    hindi_voice: String,
    espeak_names: [String; 2],
    edge: Option<Edge>,
    trouble: [Option<Arc<Pcm>>; 3],
}

impl std::fmt::Debug for SpeechPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechPool")
            .field("engines", &self.engines.len())
            .field("english_voice", &self.english_voice)
            .field("hindi_voice", &self.hindi_voice)
            .field("edge", &self.edge.is_some())
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

/// A synthesized sentence made ready for the phone line: 8 kHz, with the synthesizer's leading
/// and trailing near-silence cut to short pads (`vartalaap_audio::trim`), so the caller hears
/// no dead air before the words and a natural pause after them. Every voice (Piper, espeak-ng,
/// Edge) passes here before its audio is cached or played.
fn for_the_line(pcm: Pcm) -> Result<Pcm, TtsError> {
    to_8k(pcm).map(|pcm| trim_silence(pcm, &TrimConfig::default()))
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

fn lang_index(lang: Lang) -> usize {
    Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)
}

impl SpeechPool {
    /// Builds `workers` synthesizers (Piper per language when its model is present, else
    /// espeak-ng), keeps Edge TTS ready when `edge` is given, and pre-synthesizes the apology
    /// in every language a voice is loaded for. Only the voices in `needs` are loaded now (see
    /// [`VoiceNeeds`]). Blocking (model loads, synthesis); when no local voice can say the
    /// apology and Edge is on, Edge says it on a short-lived thread of its own.
    pub fn new(
        models: Option<&ModelPaths>,
        espeak_program: &Path,
        workers: usize,
        cache_entries: usize,
        edge: Option<EdgeTtsConfig>,
        needs: VoiceNeeds,
    ) -> Self {
        let installed: Vec<(VoiceLang, std::path::PathBuf)> = match models {
            Some(models) => {
                let en = models.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE);
                std::iter::once((VoiceLang::English, en))
                    .chain(hindi_voice(models).map(|hi| (VoiceLang::Hindi, hi)))
                    .filter(|(_, model)| model.is_file() && models.ort_dylib.is_file())
                    .collect()
            }
            None => Vec::new(),
        };
        let engines = (0..workers.max(1))
            .map(|_| {
                let mut voices = Voices {
                    piper: HashMap::new(),
                    deferred: HashMap::new(),
                    espeak_program: espeak_program.to_path_buf(),
                    espeak: EspeakTts::new(espeak_program),
                };
                for (voice, model) in &installed {
                    let Some(models) = models else { continue };
                    if !needs.wants(*voice) {
                        let later = Deferred {
                            models: models.clone(),
                            model: model.clone(),
                        };
                        voices.deferred.insert(*voice, later);
                    } else if let Some(p) = piper(models, model, espeak_program) {
                        voices.piper.insert(*voice, p);
                    }
                }
                voices
            })
            .collect();
        Self::from_voices(engines, cache_entries, edge, needs)
    }

    fn from_voices(
        engines: Vec<Voices>,
        cache_entries: usize,
        edge: Option<EdgeTtsConfig>,
        needs: VoiceNeeds,
    ) -> Self {
        let (english_voice, hindi_voice, espeak_names) = match engines.first() {
            Some(v) => (
                v.voice_name(VoiceLang::English),
                v.voice_name(VoiceLang::Hindi),
                [
                    v.espeak.voice_name(VoiceLang::English),
                    v.espeak.voice_name(VoiceLang::Hindi),
                ],
            ),
            None => Default::default(),
        };
        let mut pool = SpeechPool {
            engines: engines.into_iter().map(Mutex::new).collect(),
            cache: Mutex::new(PhraseCache::new(cache_entries, CACHE_MAX_SAMPLES)),
            inflight: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            english_voice,
            hindi_voice,
            espeak_names,
            edge: edge.map(|base| Edge {
                base,
                clients: Mutex::new(HashMap::new()),
            }),
            trouble: [None, None, None],
        };
        for lang in Lang::ALL {
            let text = phrases::text(Phrase::Trouble, lang);
            // A language no business speaks needs no apology ready (nor its voice loaded).
            if !needs.wants(voice_for(text, lang)) {
                continue;
            }
            let local = pool.synthesize_local(text, voice_for(text, lang));
            let pcm = match (local, &pool.edge) {
                (Ok((pcm, _)), _) => Some(pcm),
                (Err(e), Some(edge)) => {
                    tracing::warn!(error = %e, language = %lang, "No local voice can say the apology; asking Edge TTS.");
                    let voice = default_edge_voice(lang);
                    let said = std::thread::scope(|s| {
                        s.spawn(|| {
                            let rt = tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .map_err(|e| e.to_string())?;
                            rt.block_on(edge.speak(text, voice))
                        })
                        .join()
                        .unwrap_or_else(|_| Err("the Edge thread panicked".to_string()))
                    });
                    match said {
                        Ok(pcm) => Some(Arc::new(pcm)),
                        Err(e) => {
                            tracing::error!(error = %e, language = %lang, "Edge TTS cannot say the apology either; if speech fails on a call the caller hears a tone.");
                            None
                        }
                    }
                }
                (Err(e), None) => {
                    tracing::error!(
                        error = %e,
                        language = %lang,
                        "Cannot synthesize the apology; if speech fails on a call the caller hears a tone. Install espeak-ng (scripts/setup.sh)."
                    );
                    None
                }
            };
            pool.trouble[lang_index(lang)] = pcm.filter(|p| !p.samples.is_empty());
        }
        tracing::info!(english = %pool.english_voice, hindi = %pool.hindi_voice, edge = pool.edge.is_some(), workers = pool.engines.len(), "Voices ready.");
        pool
    }

    /// Voice names in use, for logs and the call record.
    pub fn voices(&self) -> (&str, &str) {
        (&self.english_voice, &self.hindi_voice)
    }

    /// Whether Edge TTS stands behind the local voices.
    pub fn has_edge(&self) -> bool {
        self.edge.is_some()
    }

    fn voice_key(&self, voice: VoiceLang) -> &str {
        match voice {
            VoiceLang::English => &self.english_voice,
            VoiceLang::Hindi => &self.hindi_voice,
        }
    }

    fn espeak_key(&self, voice: VoiceLang) -> &str {
        match voice {
            VoiceLang::English => &self.espeak_names[0],
            VoiceLang::Hindi => &self.espeak_names[1],
        }
    }

    /// `text` in `voice`'s own local voice, when the phrase cache holds it.
    pub(crate) fn cached(&self, text: &str, voice: VoiceLang) -> Option<Arc<Pcm>> {
        lock(&self.cache).get(self.voice_key(voice), text)
    }

    /// Synthesizes `text` with the language's own local voice (cached), without any fallback.
    pub fn synthesize_exact(&self, text: &str, voice: VoiceLang) -> Result<Arc<Pcm>, TtsError> {
        let key = self.voice_key(voice).to_string();
        self.single_flight(&key, text, |pool| {
            pool.with_engine(|v| v.primary(text, voice))
        })
    }

    /// Looks `text` up under `key`, else synthesizes it once however many calls ask at the
    /// same moment, and caches it.
    fn single_flight(
        &self,
        key: &str,
        text: &str,
        synthesize: impl FnOnce(&Self) -> Result<Pcm, TtsError>,
    ) -> Result<Arc<Pcm>, TtsError> {
        if let Some(hit) = lock(&self.cache).get(key, text) {
            return Ok(hit);
        }
        let slot = (key.to_string(), text.to_string());
        let gate = lock(&self.inflight)
            .entry(slot.clone())
            .or_default()
            .clone();
        let result = {
            let _turn = lock(&gate);
            // Whoever held the gate before us may have just cached it. (The cache guard must
            // be dropped before synthesizing, which inserts into the cache.)
            let hit = lock(&self.cache).get(key, text);
            match hit {
                Some(hit) => Ok(hit),
                None => synthesize(self).and_then(for_the_line).map(|pcm| {
                    let pcm = Arc::new(pcm);
                    lock(&self.cache).insert(key, text, pcm.clone());
                    pcm
                }),
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

    /// Runs `f` on a free worker if there is one, else waits for one in round-robin order.
    fn with_engine<R>(&self, f: impl FnOnce(&mut Voices) -> R) -> R {
        let n = self.engines.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut guard = (0..n)
            .find_map(|i| self.engines[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| lock(&self.engines[start]));
        f(&mut guard)
    }

    /// The local chain: the language's voice, then espeak-ng when that voice was Piper.
    fn synthesize_local(
        &self,
        text: &str,
        voice: VoiceLang,
    ) -> Result<(Arc<Pcm>, Source), TtsError> {
        match self.synthesize_exact(text, voice) {
            Ok(pcm) => Ok((pcm, Source::Local)),
            Err(e) => self.espeak_fallback(text, voice).ok_or(e),
        }
    }

    /// espeak-ng for a sentence the Piper voice could not say (`None` when espeak-ng is the
    /// primary voice already, or fails too).
    fn espeak_fallback(&self, text: &str, voice: VoiceLang) -> Option<(Arc<Pcm>, Source)> {
        let key = self.espeak_key(voice).to_string();
        if key == self.voice_key(voice) {
            return None;
        }
        match self.single_flight(&key, text, |pool| {
            pool.with_engine(|v| v.espeak.synthesize(text, voice))
        }) {
            Ok(pcm) => Some((pcm, Source::Espeak)),
            Err(e) => {
                tracing::warn!(error = %e, "espeak-ng cannot say the sentence either.");
                None
            }
        }
    }

    fn apology(&self, lang: Lang) -> Spoken {
        match &self.trouble[lang_index(lang)] {
            Some(pcm) => Spoken {
                pcm: pcm.clone(),
                source: Source::Apology,
                said: phrases::text(Phrase::Trouble, lang).to_string(),
            },
            None => Spoken {
                pcm: tone(),
                source: Source::Tone,
                said: String::new(),
            },
        }
    }

    /// The local chain only (no Edge), ending in the apology or a tone; blocking. For
    /// start-up and places without a runtime.
    pub fn speak_local(&self, text: &str, lang: Lang) -> (Spoken, Option<TtsError>) {
        match self.synthesize_local(text, voice_for(text, lang)) {
            Ok((pcm, source)) => (
                Spoken {
                    pcm,
                    source,
                    said: text.to_string(),
                },
                None,
            ),
            Err(e) => (self.apology(lang), Some(e)),
        }
    }

    /// Synthesizes a sentence for the caller through the whole chain (see the module doc);
    /// always returns audio, with the errors met on the way for the log. `edge_voice` is the
    /// business's Edge voice for `lang` (a default is used when `None`).
    pub async fn speak(
        self: &Arc<Self>,
        text: &str,
        lang: Lang,
        edge_voice: Option<&str>,
    ) -> (Spoken, Vec<String>) {
        let voice = voice_for(text, lang);
        let mut errors = Vec::new();
        // A cached sentence needs no trip to the blocking pool (which is busy under load).
        let hit = lock(&self.cache).get(self.voice_key(voice), text);
        let local = match hit {
            Some(pcm) => Ok(Ok(pcm)),
            None => {
                let pool = self.clone();
                let owned = text.to_string();
                tokio::task::spawn_blocking(move || pool.synthesize_exact(&owned, voice)).await
            }
        };
        match local {
            Ok(Ok(pcm)) => {
                return (
                    Spoken {
                        pcm,
                        source: Source::Local,
                        said: text.to_string(),
                    },
                    errors,
                );
            }
            Ok(Err(e)) => errors.push(format!("{}: {e}", self.voice_key(voice))),
            Err(e) => errors.push(format!("local synthesis task failed: {e}")),
        }
        if let Some(edge) = &self.edge {
            let name = edge_voice.unwrap_or_else(|| default_edge_voice(lang));
            let key = format!("edge:{name}");
            let cached = lock(&self.cache).get(&key, text);
            let said = match cached {
                Some(pcm) => Ok(pcm),
                None => edge.speak(text, name).await.map(|pcm| {
                    let pcm = Arc::new(pcm);
                    lock(&self.cache).insert(&key, text, pcm.clone());
                    pcm
                }),
            };
            match said {
                Ok(pcm) if !pcm.samples.is_empty() => {
                    return (
                        Spoken {
                            pcm,
                            source: Source::Edge,
                            said: text.to_string(),
                        },
                        errors,
                    );
                }
                Ok(_) => errors.push(format!("{key}: no audio")),
                Err(e) => errors.push(format!("{key}: {e}")),
            }
        }
        let pool = self.clone();
        let owned = text.to_string();
        let espeak = tokio::task::spawn_blocking(move || pool.espeak_fallback(&owned, voice))
            .await
            .ok()
            .flatten();
        if let Some((pcm, source)) = espeak {
            return (
                Spoken {
                    pcm,
                    source,
                    said: text.to_string(),
                },
                errors,
            );
        }
        (self.apology(lang), errors)
    }

    /// The name of what `source` is for a sentence, as the call log records a fallback: the
    /// local voice's name (`piper:…`, `espeak-ng:hi`), `edge:<voice>`, `apology` or `tone`.
    pub fn voice_label(
        &self,
        source: Source,
        text: &str,
        lang: Lang,
        edge_voice: Option<&str>,
    ) -> String {
        let voice = voice_for(text, lang);
        match source {
            Source::Local => self.voice_key(voice).to_string(),
            Source::Edge => format!(
                "edge:{}",
                edge_voice.unwrap_or_else(|| default_edge_voice(lang))
            ),
            Source::Espeak => self.espeak_key(voice).to_string(),
            Source::Apology => "apology".to_string(),
            Source::Tone => "tone".to_string(),
        }
    }

    /// Cache hits and misses so far.
    pub fn cache_stats(&self) -> (u64, u64) {
        lock(&self.cache).stats()
    }
}

/// The business's Edge voice per language (from its `voices:`), for [`SpeechPool::speak`].
pub(crate) type EdgeVoices = Arc<BTreeMap<Lang, String>>;

#[cfg(test)]
mod tests {
    use super::*;
    use vartalaap_providers::mock::edge::{EdgeMode, MockEdgeConfig, MockEdgeTts};

    fn espeak_installed() -> bool {
        std::process::Command::new("espeak-ng")
            .arg("--version")
            .output()
            .is_ok()
    }

    /// A voice that always fails, as a Piper voice with a broken model would.
    struct Broken;

    impl Tts for Broken {
        fn synthesize(&mut self, _: &str, _: VoiceLang) -> Result<Pcm, TtsError> {
            Err(TtsError::Inference("injected failure".into()))
        }

        fn voice_name(&self, _: VoiceLang) -> String {
            "piper:broken".into()
        }
    }

    fn broken_piper(espeak: &str) -> Voices {
        let mut piper: HashMap<VoiceLang, Box<dyn Tts>> = HashMap::new();
        piper.insert(VoiceLang::English, Box::new(Broken));
        piper.insert(VoiceLang::Hindi, Box::new(Broken));
        Voices {
            piper,
            deferred: HashMap::new(),
            espeak_program: espeak.into(),
            espeak: EspeakTts::new(espeak),
        }
    }

    async fn mock_edge() -> MockEdgeTts {
        let mp3 = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../providers/tests/fixtures/edge/namaste_24k_48kbps.mp3"),
        )
        .unwrap();
        MockEdgeTts::start(MockEdgeConfig::new(mp3)).await.unwrap()
    }

    fn edge_config(mock: &MockEdgeTts) -> EdgeTtsConfig {
        EdgeTtsConfig {
            base_url: mock.base_url.clone(),
            ..EdgeTtsConfig::default()
        }
    }

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
    fn voice_needs_follow_the_languages_businesses_speak() {
        let hindi_only = VoiceNeeds {
            english: false,
            hindi: true,
        };
        assert_eq!(VoiceNeeds::for_languages([Lang::Hi]), hindi_only);
        assert!(!hindi_only.wants(VoiceLang::English));
        // Hinglish is romanized: the English voice reads it.
        assert_eq!(
            VoiceNeeds::for_languages([Lang::Hinglish]),
            VoiceNeeds {
                english: true,
                hindi: false,
            }
        );
        assert_eq!(
            VoiceNeeds::for_languages([Lang::En, Lang::Hi, Lang::Hinglish]),
            VoiceNeeds::ALL
        );
        assert_eq!(VoiceNeeds::for_languages([]), VoiceNeeds::default());
    }

    /// A Piper voice no business speaks is not loaded at start-up, is cached under its own
    /// name all the same, and loads when a sentence first needs it (a reload added the
    /// language). Needs the English Piper voice (scripts/setup.sh).
    #[test]
    fn a_voice_no_business_speaks_loads_only_when_first_needed() {
        let models = ModelPaths::from_env().filter(|m| {
            m.ort_dylib.is_file()
                && m.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE)
                    .is_file()
        });
        let Some(models) = models else {
            assert!(
                std::env::var("VARTALAAP_REQUIRE_MODELS").as_deref() != Ok("1"),
                "the English Piper voice is missing and VARTALAAP_REQUIRE_MODELS=1; run scripts/setup.sh"
            );
            eprintln!("skipped: no English Piper voice (run scripts/setup.sh)");
            return;
        };
        let hindi_only = VoiceNeeds {
            english: false,
            hindi: true,
        };
        let pool = SpeechPool::new(
            Some(&models),
            Path::new("espeak-ng"),
            1,
            8,
            None,
            hindi_only,
        );
        {
            let voices = lock(&pool.engines[0]);
            assert!(!voices.piper.contains_key(&VoiceLang::English));
            assert!(voices.deferred.contains_key(&VoiceLang::English));
        }
        let piper_name = format!("piper:{}", vartalaap_audio::models::DEFAULT_EN_VOICE);
        assert_eq!(pool.voices().0, piper_name);
        let pcm = pool
            .synthesize_exact("Table for two.", VoiceLang::English)
            .unwrap();
        assert!(!pcm.samples.is_empty());
        let voices = lock(&pool.engines[0]);
        assert!(voices.piper.contains_key(&VoiceLang::English));
        assert!(voices.deferred.is_empty());
        drop(voices);
        // Needed at start-up: loaded at once.
        let pool = SpeechPool::new(
            Some(&models),
            Path::new("espeak-ng"),
            1,
            8,
            None,
            VoiceNeeds::ALL,
        );
        assert!(
            lock(&pool.engines[0])
                .piper
                .contains_key(&VoiceLang::English)
        );
    }

    #[tokio::test]
    async fn missing_espeak_falls_back_to_a_tone_not_silence() {
        let pool = Arc::new(SpeechPool::new(
            None,
            Path::new("/nonexistent/espeak-ng"),
            1,
            8,
            None,
            VoiceNeeds::ALL,
        ));
        let (spoken, errors) = pool.speak("Hello there.", Lang::En, None).await;
        assert!(!errors.is_empty());
        assert_eq!(spoken.source, Source::Tone);
        assert!(spoken.fallback());
        assert!(!spoken.pcm.samples.is_empty());
        assert_eq!(spoken.pcm.sample_rate, 8000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_piper_voice_is_replaced_by_edge_then_by_the_apology() {
        let edge = mock_edge().await;
        // espeak-ng is missing too, so the apology itself comes from Edge at start-up.
        let cfg = edge_config(&edge);
        let pool = tokio::task::spawn_blocking(move || {
            SpeechPool::from_voices(
                vec![broken_piper("/nonexistent/espeak-ng")],
                8,
                Some(cfg),
                VoiceNeeds::ALL,
            )
        })
        .await
        .unwrap();
        let pool = Arc::new(pool);
        assert!(
            pool.trouble.iter().all(Option::is_some),
            "apologies by Edge"
        );
        let line = "Your table is booked.";
        let (spoken, errors) = pool.speak(line, Lang::En, Some("en-IN-NeerjaNeural")).await;
        assert_eq!(spoken.source, Source::Edge, "{errors:?}");
        assert_eq!(spoken.said, line);
        assert_eq!(spoken.pcm.sample_rate, 8000);
        // The fixture is 2.3 s of speech.
        assert!(
            spoken.pcm.duration_ms() > 2000,
            "{}",
            spoken.pcm.duration_ms()
        );
        assert!(errors[0].contains("injected failure"), "{errors:?}");
        let asked = edge.requests().iter().any(|r| {
            r.messages
                .iter()
                .any(|m| m.contains(line) && m.contains("en-IN, NeerjaNeural"))
        });
        assert!(asked, "{:?}", edge.requests());

        // Edge breaks as well: the caller hears the apology, and the transcript says so.
        edge.set_mode(EdgeMode::NoAudio);
        let (spoken, errors) = pool
            .speak("Anything else?", Lang::En, Some("en-IN-NeerjaNeural"))
            .await;
        assert_eq!(spoken.source, Source::Apology, "{errors:?}");
        assert!(Arc::ptr_eq(
            &spoken.pcm,
            pool.trouble[lang_index(Lang::En)].as_ref().unwrap()
        ));
        assert_eq!(spoken.said, phrases::text(Phrase::Trouble, Lang::En));
        assert_eq!(errors.len(), 2, "{errors:?}");
        // A sentence Edge said before is cached: no network needed the second time.
        let (again, _) = pool.speak(line, Lang::En, Some("en-IN-NeerjaNeural")).await;
        assert_eq!(again.source, Source::Edge);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_edge_a_failing_piper_voice_falls_back_to_espeak() {
        if !espeak_installed() {
            eprintln!("skipped: espeak-ng is not installed");
            return;
        }
        let pool = tokio::task::spawn_blocking(|| {
            SpeechPool::from_voices(vec![broken_piper("espeak-ng")], 8, None, VoiceNeeds::ALL)
        })
        .await
        .unwrap();
        let pool = Arc::new(pool);
        let (spoken, errors) = pool.speak("Your table is booked.", Lang::En, None).await;
        assert_eq!(spoken.source, Source::Espeak, "{errors:?}");
        assert!(spoken.pcm.duration_ms() > 500);
    }

    #[test]
    fn concurrent_requests_for_one_sentence_synthesize_it_once() {
        if !espeak_installed() {
            eprintln!("skipped: espeak-ng is not installed");
            return;
        }
        let pool = Arc::new(SpeechPool::new(
            None,
            Path::new("espeak-ng"),
            2,
            8,
            None,
            VoiceNeeds::ALL,
        ));
        let (_, misses_before) = pool.cache_stats();
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || pool.speak_local("Kitne log aayenge?", Lang::Hinglish))
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
    fn sentences_reach_the_line_without_dead_air_and_with_a_short_pause_after() {
        if !espeak_installed() {
            eprintln!("skipped: espeak-ng is not installed");
            return;
        }
        // espeak-ng opens "Table for four?" with ~45 ms of silence and ends it with ~300 ms.
        let pool = SpeechPool::new(None, Path::new("espeak-ng"), 1, 8, None, VoiceNeeds::ALL);
        let (spoken, err) = pool.speak_local("Table for four?", Lang::En);
        assert!(err.is_none(), "{err:?}");
        let cfg = TrimConfig::default();
        let window = (RATE * cfg.window_ms / 1000) as usize;
        let loud: Vec<bool> = spoken
            .pcm
            .samples
            .chunks(window)
            .map(|w| vartalaap_audio::vad::level_dbfs(w) > cfg.floor_dbfs)
            .collect();
        let lead_ms = loud.iter().position(|l| *l).unwrap() as u32 * cfg.window_ms;
        let tail_ms = loud.iter().rev().position(|l| *l).unwrap() as u32 * cfg.window_ms;
        assert!(
            lead_ms <= cfg.lead_ms + cfg.window_ms,
            "{lead_ms} ms before the words"
        );
        assert!(
            (cfg.tail_ms - cfg.window_ms..=cfg.tail_ms + cfg.window_ms).contains(&tail_ms),
            "{tail_ms} ms after the words"
        );
        // The first 20 ms frame a caller would hear is speech, not silence.
        let first_frame = &spoken.pcm.samples[..vartalaap_audio::FRAME_SAMPLES_8K];
        assert!(vartalaap_audio::vad::level_dbfs(first_frame) > cfg.floor_dbfs);
    }

    #[test]
    fn espeak_speech_is_8k_and_cached() {
        if !espeak_installed() {
            eprintln!("skipped: espeak-ng is not installed");
            return;
        }
        let pool = SpeechPool::new(None, Path::new("espeak-ng"), 1, 8, None, VoiceNeeds::ALL);
        let (a, err) = pool.speak_local("Namaste, Himalayan Kitchen.", Lang::Hinglish);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(a.pcm.sample_rate, 8000);
        assert!(a.pcm.duration_ms() > 300);
        let (hits_before, _) = pool.cache_stats();
        let (b, _) = pool.speak_local("Namaste, Himalayan Kitchen.", Lang::Hinglish);
        assert!(Arc::ptr_eq(&a.pcm, &b.pcm));
        assert_eq!(pool.cache_stats().0, hits_before + 1);
    }
}
