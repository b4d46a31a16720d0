//! The `espeak-ng` program as a phonemizer (for Piper) and as a voice of its own.
//!
//! Always a subprocess, never linked: espeak-ng is GPL-3.0. Text goes in as one argument after
//! `--` (no shell, so nothing in the text is interpreted), audio and phonemes come back on
//! stdout.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::phonemes::{Clause, split_clauses};
use super::{Lang, Pcm, Tts, TtsError};

/// The program name looked up on `PATH` by default.
pub const ESPEAK_PROGRAM: &str = "espeak-ng";

fn spawn(program: &Path, args: &[&str], text: &str) -> Result<Child, TtsError> {
    Command::new(program)
        .args(args)
        .arg("--")
        .arg(text)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TtsError::ProgramMissing {
            program: program.to_path_buf(),
            source,
        })
}

fn finish(program: &Path, child: Child) -> Result<Vec<u8>, TtsError> {
    let out = child
        .wait_with_output()
        .map_err(|source| TtsError::ProgramMissing {
            program: program.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(TtsError::ProgramFailed {
            program: program.to_path_buf(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr)
                .trim()
                .chars()
                .take(500)
                .collect(),
        });
    }
    Ok(out.stdout)
}

/// Text → IPA phonemes with `espeak-ng -q --ipa`, one sentence per string, punctuation
/// re-appended (see [`split_clauses`]).
#[derive(Debug, Clone)]
pub struct EspeakPhonemizer {
    program: PathBuf,
}

impl Default for EspeakPhonemizer {
    fn default() -> Self {
        Self::new(ESPEAK_PROGRAM)
    }
}

impl EspeakPhonemizer {
    /// Uses `program` (a name on `PATH` or a path).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// Phonemizes `text` with the espeak voice `voice` (`en-us`, `hi`, …); returns one phoneme
    /// string per sentence, e.g. `["həlˈoʊ, wˈɜːld."]`.
    ///
    /// All clauses are phonemized by concurrent processes, so the latency is about one spawn
    /// (~15 ms) whatever the number of clauses.
    pub fn phonemize(&self, text: &str, voice: &str) -> Result<Vec<String>, TtsError> {
        let clauses = split_clauses(text);
        // Bound the number of concurrent processes for pathological input.
        let mut results: Vec<String> = Vec::with_capacity(clauses.len());
        for batch in clauses.chunks(16) {
            let children = batch
                .iter()
                .map(|c| spawn(&self.program, &["-q", "--ipa", "-v", voice], &c.text))
                .collect::<Result<Vec<_>, _>>()?;
            for child in children {
                let out = finish(&self.program, child)?;
                // espeak may still break a long clause into lines; they belong together.
                let text = String::from_utf8_lossy(&out);
                results.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
        Ok(join_sentences(&clauses, &results))
    }
}

/// Re-attaches each clause's mark to its phonemes and groups clauses into sentences.
fn join_sentences(clauses: &[Clause], phonemes: &[String]) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut current = String::new();
    for (clause, ph) in clauses.iter().zip(phonemes) {
        if ph.is_empty() {
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(ph);
        if let Some(p) = clause.punct {
            current.push(p);
        }
        if clause.ends_sentence {
            sentences.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        sentences.push(current);
    }
    sentences
}

/// espeak-ng's own voice: `espeak-ng --stdout -v <voice>`, 22050 Hz.
#[derive(Debug, Clone)]
pub struct EspeakTts {
    program: PathBuf,
    /// Words per minute (`-s`); `None` keeps espeak's default (175). Slower is clearer on a
    /// phone line.
    pub words_per_minute: Option<u32>,
}

impl Default for EspeakTts {
    fn default() -> Self {
        Self::new(ESPEAK_PROGRAM)
    }
}

impl EspeakTts {
    /// Uses `program` (a name on `PATH` or a path).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            words_per_minute: Some(150),
        }
    }
}

impl Tts for EspeakTts {
    fn synthesize(&mut self, text: &str, lang: Lang) -> Result<Pcm, TtsError> {
        if !text.chars().any(char::is_alphanumeric) {
            return Ok(Pcm {
                sample_rate: 22_050,
                samples: Vec::new(),
            });
        }
        let speed = self.words_per_minute.map(|w| w.clamp(80, 450).to_string());
        let mut args = vec!["--stdout", "-v", lang.espeak_voice()];
        if let Some(s) = speed.as_deref() {
            args.extend(["-s", s]);
        }
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let child = spawn(&self.program, &args, &clean)?;
        let bytes = finish(&self.program, child)?;
        Ok(crate::wav::parse_wav(&bytes)?)
    }

    fn voice_name(&self, lang: Lang) -> String {
        format!("espeak-ng:{}", lang.espeak_voice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_grouped_with_their_marks() {
        let clauses = split_clauses("Hello, world. How are you?");
        let ph = vec!["həlˈoʊ".to_string(), "wˈɜːld".into(), "hˌaʊ ɑːɹ juː".into()];
        assert_eq!(
            join_sentences(&clauses, &ph),
            vec!["həlˈoʊ, wˈɜːld.", "hˌaʊ ɑːɹ juː?"]
        );
    }

    #[test]
    fn missing_program_is_an_error_not_a_panic() {
        let mut tts = EspeakTts::new("/nonexistent/espeak-ng");
        let err = tts.synthesize("hello", Lang::English).unwrap_err();
        assert!(matches!(err, TtsError::ProgramMissing { .. }), "{err}");
        assert!(err.to_string().contains("setup.sh"));
        let err = EspeakPhonemizer::new("/nonexistent/espeak-ng")
            .phonemize("hello", "en-us")
            .unwrap_err();
        assert!(matches!(err, TtsError::ProgramMissing { .. }));
    }

    #[test]
    fn empty_text_needs_no_program() {
        let mut tts = EspeakTts::new("/nonexistent/espeak-ng");
        assert!(
            tts.synthesize("  ... ", Lang::Hindi)
                .unwrap()
                .samples
                .is_empty()
        );
        assert_eq!(
            EspeakPhonemizer::new("/nonexistent")
                .phonemize(" , ", "hi")
                .unwrap(),
            Vec::<String>::new()
        );
    }
}
