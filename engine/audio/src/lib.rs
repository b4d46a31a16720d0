//! Audio: mu-law codec, streaming resampling, 20 ms framing, VAD and local TTS.
