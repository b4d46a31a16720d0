//! Real-model checks: Whisper tiny.en on telephone-rate speech made at test time (feature
//! `whisper`).
//!
//! Needs the model (`WITH_STT=1 scripts/setup.sh`) and the `espeak-ng` program; the Piper
//! test also needs ONNX Runtime and the Piper voice (plain `scripts/setup.sh`). Without them
//! each test prints a "skipped" note, unless VARTALAAP_REQUIRE_MODELS=1, which makes a missing
//! model a failure (as in engine/audio/tests/models.rs).
#![cfg(feature = "whisper")]

use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use vartalaap_audio::tts::{EspeakTts, PiperTts};
use vartalaap_audio::{Lang, ModelPaths, Tts, resample};
use vartalaap_stt::{
    RecogniserWorker, SttError, WhisperOptions, WhisperRecogniser, whisper_model_dir,
};

fn required() -> bool {
    std::env::var("VARTALAAP_REQUIRE_MODELS").is_ok_and(|v| v == "1")
}

/// Skips (returns `None`) or panics, with the reason.
fn unavailable<T>(test: &str, what: &str) -> Option<T> {
    assert!(
        !required(),
        "{test}: {what} is missing and VARTALAAP_REQUIRE_MODELS=1; run WITH_STT=1 scripts/setup.sh"
    );
    let note = format!(
        "skipped {test}: {what} is missing; run WITH_STT=1 scripts/setup.sh (and export what it prints)\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    None
}

fn models(test: &str) -> Option<ModelPaths> {
    let Some(models) = ModelPaths::from_env() else {
        return unavailable(test, "VARTALAAP_MODEL_DIR");
    };
    let dir = whisper_model_dir(&models);
    if !dir.join("model.bin").is_file() {
        return unavailable(test, &format!("the Whisper model in {}", dir.display()));
    }
    let espeak = Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !espeak {
        return unavailable(test, "the espeak-ng program");
    }
    Some(models)
}

/// The recogniser, loaded once per test binary.
fn recogniser(models: &ModelPaths) -> &'static WhisperRecogniser {
    static REC: OnceLock<WhisperRecogniser> = OnceLock::new();
    REC.get_or_init(|| {
        let t = Instant::now();
        let rec = WhisperRecogniser::load(WhisperOptions::from_models(models)).unwrap();
        eprintln!("whisper load: {:?}", t.elapsed());
        rec
    })
}

/// `text` spoken by espeak-ng (US English), at the phone line's 8 kHz.
fn espeak_8k(text: &str) -> Vec<i16> {
    let pcm = EspeakTts::default()
        .synthesize(text, Lang::English)
        .unwrap();
    resample(&pcm.samples, pcm.sample_rate, 8_000).unwrap()
}

/// Lower-case words with punctuation removed and digits spelled the way the checks expect.
fn words(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(|w| match w {
            "4" => "four",
            "2" => "two",
            "8" => "eight",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn transcribe_timed(rec: &WhisperRecogniser, what: &str, audio: &[i16]) -> String {
    let t = Instant::now();
    let out = rec.transcribe_8k(audio).unwrap();
    eprintln!(
        "{what}: {:?} (confidence {:.2}, no-speech {:.2}) for {} ms of audio in {:?}",
        out.text,
        out.confidence,
        out.no_speech_prob,
        out.audio_ms,
        t.elapsed()
    );
    assert_eq!(out.audio_ms, audio.len() as u64 / 8);
    if !out.text.is_empty() {
        assert!(out.confidence > 0.0 && out.confidence <= 1.0);
    }
    out.text
}

#[test]
fn espeak_english_at_8khz_is_transcribed_with_its_key_words() {
    let test = "espeak_english_at_8khz_is_transcribed_with_its_key_words";
    let Some(models) = models(test) else { return };
    let rec = recogniser(&models);
    // A caller's turn as the VAD hands it over: a little silence, the words, a little silence.
    let mut audio = vec![0i16; 1_600];
    audio.extend(espeak_8k("I would like a table for four people tomorrow."));
    audio.extend(vec![0i16; 4_000]);
    let heard = words(&transcribe_timed(rec, "espeak 8 kHz", &audio));
    for key in ["table", "four", "tomorrow"] {
        assert!(heard.contains(key), "{key:?} not in {heard:?}");
    }
}

#[test]
fn piper_english_at_8khz_is_transcribed_with_its_key_words() {
    let test = "piper_english_at_8khz_is_transcribed_with_its_key_words";
    let Some(models) = models(test) else { return };
    if !models.complete() {
        let _: Option<()> = unavailable(test, "ONNX Runtime or the Piper voice");
        return;
    }
    let rec = recogniser(&models);
    let mut piper = PiperTts::load(
        &models.ort_dylib,
        &models.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE),
    )
    .unwrap();
    let pcm = piper
        .synthesize(
            "Can I book a table for two at eight tonight? My name is Priya.",
            Lang::English,
        )
        .unwrap();
    let audio = resample(&pcm.samples, pcm.sample_rate, 8_000).unwrap();
    let heard = words(&transcribe_timed(rec, "piper 8 kHz", &audio));
    for key in ["book", "table", "two", "eight", "tonight"] {
        assert!(heard.contains(key), "{key:?} not in {heard:?}");
    }
}

#[test]
fn silence_gives_no_words() {
    let test = "silence_gives_no_words";
    let Some(models) = models(test) else { return };
    let rec = recogniser(&models);
    let text = transcribe_timed(rec, "silence", &vec![0i16; 16_000]);
    assert_eq!(text, "");
    // Quiet line hiss (about -50 dBFS), which a VAD threshold could let through.
    let mut seed = 0x1234_5678u32;
    let hiss: Vec<i16> = (0..16_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            ((seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * 100.0) as i16
        })
        .collect();
    let text = transcribe_timed(rec, "hiss", &hiss);
    assert_eq!(text, "");
    assert_eq!(rec.transcribe_8k(&[]).unwrap().text, "");
}

#[test]
fn the_worker_transcribes_off_the_async_threads() {
    let test = "the_worker_transcribes_off_the_async_threads";
    let Some(models) = models(test) else { return };
    let worker =
        Arc::new(RecogniserWorker::whisper(WhisperOptions::from_models(&models), 4).unwrap());
    assert_eq!(worker.languages(), ["en"]);
    let audio = espeak_8k("I would like a table for four people tomorrow.");
    // The async side only waits: the decode runs on the worker's own thread (the unit tests
    // in src/worker.rs check which thread), so a current-thread runtime is enough.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let text = rt.block_on(async {
        let t = Instant::now();
        let out = worker.transcribe(audio).await.unwrap();
        eprintln!("worker: {:?} in {:?}", out.text, t.elapsed());
        out.text
    });
    let heard = words(&text);
    assert!(heard.contains("table for four"), "{heard:?}");
}

#[test]
fn a_broken_model_folder_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    ] {
        std::fs::write(dir.path().join(f), b"not a model").unwrap();
    }
    match WhisperRecogniser::load(WhisperOptions::new(dir.path())) {
        Err(SttError::Load { reason, .. }) => eprintln!("refused: {reason}"),
        other => panic!("expected a load error, got {other:?}"),
    }
}
