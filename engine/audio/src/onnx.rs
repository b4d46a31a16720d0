//! The process's one ONNX Runtime environment.
//!
//! ONNX Runtime is loaded at run time from a shared library (`ORT_DYLIB_PATH`, fetched by
//! `scripts/fetch-models.sh` from the PyPI `onnxruntime` wheel), never downloaded at build time.
//! `ort` allows a single environment per process, and its plain `init()` panics when the library
//! is missing; this module loads it with `init_from` so a missing or wrong library is an `Err`,
//! and hands out clones of the one environment to every session (Silero per call, Piper once).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

/// Why ONNX Runtime could not be started.
#[derive(Debug, thiserror::Error)]
pub enum OrtInitError {
    /// The shared library could not be loaded or is too old.
    #[error(
        "cannot load ONNX Runtime from {path}: {reason} (run scripts/setup.sh and set ORT_DYLIB_PATH to the \
         libonnxruntime.so it prints)"
    )]
    Load { path: PathBuf, reason: String },
    /// The library loaded but the environment could not be created.
    #[error("cannot create the ONNX Runtime environment: {0}")]
    Environment(String),
}

static ENV: Mutex<Option<Environment>> = Mutex::new(None);

/// Returns the process-wide environment, loading ONNX Runtime from `dylib` on first use.
///
/// Later calls return the same environment whatever path they pass (a process can only load
/// the runtime once). A failed first attempt is not remembered, so a corrected path can be
/// tried again.
pub fn environment(dylib: &Path) -> Result<Environment, OrtInitError> {
    let mut guard = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = guard.as_ref() {
        return Ok(env.clone());
    }
    if !dylib.is_file() {
        return Err(OrtInitError::Load {
            path: dylib.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    let builder = ort::init_from(dylib).map_err(|e| OrtInitError::Load {
        path: dylib.to_path_buf(),
        reason: e.to_string(),
    })?;
    let env = builder
        .with_name("vartalaap")
        .build()
        .map_err(|e| OrtInitError::Environment(e.to_string()))?;
    *guard = Some(env.clone());
    Ok(env)
}

/// Builds a session for `model` with `threads` intra-op threads (1 keeps a call on one core;
/// the machine runs many calls at once).
pub(crate) fn session(
    env: &Environment,
    model: &Path,
    threads: usize,
) -> Result<ort::session::Session, String> {
    if !model.is_file() {
        return Err("no such file".into());
    }
    ort::session::Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_intra_threads(threads.max(1))
        .map_err(|e| e.to_string())?
        .with_inter_threads(1)
        .map_err(|e| e.to_string())?
        .commit_from_file(model)
        .map_err(|e| e.to_string())
}
