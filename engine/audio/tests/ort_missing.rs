//! A missing ONNX Runtime library is an error, not a panic. Its own test binary, because a
//! process that has loaded the runtime once keeps it.
#![cfg(feature = "onnx")]

use std::path::Path;

use vartalaap_audio::tts::PiperTts;
use vartalaap_audio::vad::{SileroVad, VadError};

#[test]
fn missing_runtime_is_reported_with_the_fix() {
    let err = SileroVad::load(
        Path::new("/nonexistent/libonnxruntime.so"),
        Path::new("/nonexistent/silero.onnx"),
    )
    .unwrap_err();
    assert!(matches!(err, VadError::Runtime(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/libonnxruntime.so") && msg.contains("ORT_DYLIB_PATH"),
        "{msg}"
    );
    // A file that is not a shared library.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a library").unwrap();
    let err = vartalaap_audio::onnx::environment(&fake).unwrap_err();
    assert!(
        err.to_string().contains("cannot load ONNX Runtime"),
        "{err}"
    );
    // The voice config is read first, so a missing voice names the voice file.
    let err = PiperTts::load(&fake, Path::new("/nonexistent/en.onnx")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/en.onnx.json"),
        "{err}"
    );
}
