//! Caching synthesized phrases, so fixed prompts (greeting, "ek minute", confirmations) cost
//! nothing after the first time.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Lang, Pcm, Tts, TtsError};

/// A bounded least-recently-used cache of synthesized audio, keyed by voice and exact text.
///
/// Bounded both by entry count and by total samples, so a few long LLM answers cannot push the
/// memory of a long-running server up.
#[derive(Debug)]
pub struct PhraseCache {
    entries: HashMap<(String, String), Entry>,
    max_entries: usize,
    max_samples: usize,
    samples: usize,
    tick: u64,
    hits: u64,
    misses: u64,
}

#[derive(Debug)]
struct Entry {
    pcm: Arc<Pcm>,
    last_used: u64,
}

impl PhraseCache {
    /// A cache holding at most `max_entries` phrases and `max_samples` samples in total.
    pub fn new(max_entries: usize, max_samples: usize) -> Self {
        Self {
            entries: HashMap::new(),
            max_entries: max_entries.max(1),
            max_samples,
            samples: 0,
            tick: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// Cached audio for `text` in `voice`, if present (counts as a use).
    pub fn get(&mut self, voice: &str, text: &str) -> Option<Arc<Pcm>> {
        self.tick += 1;
        let tick = self.tick;
        // Borrowed lookup without allocating a key would need a raw-entry API; phrases are short.
        match self.entries.get_mut(&(voice.to_string(), text.to_string())) {
            Some(e) => {
                e.last_used = tick;
                self.hits += 1;
                Some(e.pcm.clone())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Stores audio, evicting the least recently used phrases to stay within bounds. Audio
    /// larger than the whole sample budget is not stored.
    pub fn insert(&mut self, voice: &str, text: &str, pcm: Arc<Pcm>) {
        let len = pcm.samples.len();
        if len > self.max_samples {
            return;
        }
        self.tick += 1;
        let key = (voice.to_string(), text.to_string());
        if let Some(old) = self.entries.remove(&key) {
            self.samples -= old.pcm.samples.len();
        }
        while !self.entries.is_empty()
            && (self.entries.len() >= self.max_entries || self.samples + len > self.max_samples)
        {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.samples -= e.pcm.samples.len();
            }
        }
        self.samples += len;
        self.entries.insert(
            key,
            Entry {
                pcm,
                last_used: self.tick,
            },
        );
    }

    /// Number of cached phrases.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// (hits, misses) since creation, for metrics.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

impl Default for PhraseCache {
    /// 256 phrases or ~10 minutes of 22 kHz audio (~26 MB).
    fn default() -> Self {
        Self::new(256, 22_050 * 600)
    }
}

/// A [`Tts`] that answers repeated (voice, text) pairs from a [`PhraseCache`].
#[derive(Debug)]
pub struct CachedTts<T> {
    inner: T,
    cache: PhraseCache,
}

impl<T: Tts> CachedTts<T> {
    /// Wraps `inner` with `cache`.
    pub fn new(inner: T, cache: PhraseCache) -> Self {
        Self { inner, cache }
    }

    /// The cache (for stats).
    pub fn cache(&self) -> &PhraseCache {
        &self.cache
    }

    /// Synthesizes or fetches; the shared form avoids copying cached audio.
    pub fn synthesize_shared(&mut self, text: &str, lang: Lang) -> Result<Arc<Pcm>, TtsError> {
        let voice = self.inner.voice_name(lang);
        if let Some(pcm) = self.cache.get(&voice, text) {
            return Ok(pcm);
        }
        let pcm = Arc::new(self.inner.synthesize(text, lang)?);
        self.cache.insert(&voice, text, pcm.clone());
        Ok(pcm)
    }
}

impl<T: Tts> Tts for CachedTts<T> {
    fn synthesize(&mut self, text: &str, lang: Lang) -> Result<Pcm, TtsError> {
        self.synthesize_shared(text, lang).map(|p| (*p).clone())
    }

    fn voice_name(&self, lang: Lang) -> String {
        self.inner.voice_name(lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake voice: the "audio" is the text's bytes, and every call is counted.
    #[derive(Default)]
    struct Counting {
        calls: usize,
    }

    impl Tts for Counting {
        fn synthesize(&mut self, text: &str, _lang: Lang) -> Result<Pcm, TtsError> {
            self.calls += 1;
            Ok(Pcm {
                sample_rate: 8_000,
                samples: text.bytes().map(i16::from).collect(),
            })
        }
        fn voice_name(&self, lang: Lang) -> String {
            format!("counting:{}", lang.code())
        }
    }

    #[test]
    fn repeated_phrases_are_synthesized_once_per_voice() {
        let mut tts = CachedTts::new(Counting::default(), PhraseCache::default());
        let a = tts.synthesize("Namaste!", Lang::Hindi).unwrap();
        let b = tts.synthesize("Namaste!", Lang::Hindi).unwrap();
        assert_eq!(a, b);
        assert_eq!(tts.inner.calls, 1);
        tts.synthesize("Namaste!", Lang::English).unwrap();
        assert_eq!(tts.inner.calls, 2, "a different voice is a different entry");
        assert_eq!(tts.cache().stats(), (1, 2));
    }

    #[test]
    fn least_recently_used_is_evicted_first() {
        let pcm = |n: usize| {
            Arc::new(Pcm {
                sample_rate: 8_000,
                samples: vec![0; n],
            })
        };
        let mut c = PhraseCache::new(2, 1_000);
        c.insert("v", "a", pcm(1));
        c.insert("v", "b", pcm(1));
        assert!(c.get("v", "a").is_some()); // a is now newer than b
        c.insert("v", "c", pcm(1));
        assert_eq!(c.len(), 2);
        assert!(c.get("v", "b").is_none());
        assert!(c.get("v", "a").is_some());
        assert!(c.get("v", "c").is_some());
    }

    #[test]
    fn sample_budget_is_respected() {
        let pcm = |n: usize| {
            Arc::new(Pcm {
                sample_rate: 8_000,
                samples: vec![0; n],
            })
        };
        let mut c = PhraseCache::new(100, 1_000);
        c.insert("v", "a", pcm(600));
        c.insert("v", "b", pcm(600)); // evicts a
        assert!(c.get("v", "a").is_none());
        assert!(c.get("v", "b").is_some());
        c.insert("v", "huge", pcm(1_001)); // never stored
        assert!(c.get("v", "huge").is_none());
        c.insert("v", "b", pcm(100)); // replacing frees the old size
        c.insert("v", "d", pcm(900));
        assert_eq!(c.len(), 2);
    }
}
