//! Shared helpers for the tests that need espeak-ng or model files.
//!
//! Missing prerequisites skip a test with a printed note, unless `VARTALAAP_REQUIRE_MODELS=1`
//! (CI sets it after running scripts/setup.sh), which turns them into failures.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use vartalaap_audio::{ModelPaths, Pcm};

/// Whether missing prerequisites must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("VARTALAAP_REQUIRE_MODELS").is_ok_and(|v| v == "1")
}

/// Skips (returns false) or panics, with the reason.
pub fn unavailable(test: &str, what: &str) -> bool {
    if required() {
        panic!("{test}: {what} is missing and VARTALAAP_REQUIRE_MODELS=1; run scripts/setup.sh");
    }
    // Straight to stderr, past libtest's capture, so the skip is visible in a normal run.
    let note = format!(
        "skipped {test}: {what} is missing; run scripts/setup.sh (and export what it prints)\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    false
}

/// The model folder, if the runtime, Silero and the English voice are all there.
pub fn models(test: &str) -> Option<ModelPaths> {
    match ModelPaths::from_env() {
        Some(p) if p.complete() => Some(p),
        Some(p) => {
            unavailable(
                test,
                &format!(
                    "the model files under {} (or ORT_DYLIB_PATH={})",
                    p.root.display(),
                    p.ort_dylib.display()
                ),
            );
            None
        }
        None => {
            unavailable(test, "VARTALAAP_MODEL_DIR");
            None
        }
    }
}

/// Whether the espeak-ng program runs.
pub fn espeak(test: &str) -> bool {
    let ok = Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok || unavailable(test, "the espeak-ng program")
}

/// Speech generated at test time: `espeak-ng -w <tmp>.wav`, read back with hound (an
/// independent WAV reader).
pub fn espeak_speech(voice: &str, text: &str) -> Pcm {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-w"])
        .arg(&path)
        .arg("--")
        .arg(text)
        .status()
        .unwrap();
    assert!(status.success());
    read_wav(&path)
}

pub fn read_wav(path: &Path) -> Pcm {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!(spec.channels, 1);
    Pcm {
        sample_rate: spec.sample_rate,
        samples: r.samples::<i16>().map(Result::unwrap).collect(),
    }
}

/// RMS level in dBFS.
pub fn dbfs(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| (s as f64).powi(2)).sum();
    let rms = (sum / samples.len().max(1) as f64).sqrt() / 32768.0;
    20.0 * rms.max(1e-9).log10()
}

/// Deterministic white noise.
pub fn noise(n: usize, amp: f32, seed: &mut u32) -> Vec<i16> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 17;
            *seed ^= *seed << 5;
            ((*seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp * 32767.0) as i16
        })
        .collect()
}
