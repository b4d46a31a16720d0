//! Measures offline recognition: `cargo run -p vartalaap-stt --features whisper --example
//! transcribe -- [WAV_8K_OR_TEXT...]`. Each argument is a WAV file (any rate; resampled to
//! 8 kHz like a phone line) or, otherwise, English text spoken by espeak-ng at 8 kHz. Prints
//! the transcript, confidence and time per utterance. Env: `STT_THREADS` (1), `STT_BEAM` (1),
//! `STT_INT8` (1), `STT_REPEAT` (3 runs per utterance; the first includes warm-up).
use std::time::Instant;

use vartalaap_audio::tts::EspeakTts;
use vartalaap_audio::{Lang, ModelPaths, Tts, resample};
use vartalaap_stt::{WhisperOptions, WhisperRecogniser, mel::LogMel};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let models = ModelPaths::from_env().expect("set VARTALAAP_MODEL_DIR");
    let mut opts = WhisperOptions::from_models(&models);
    opts.threads = env("STT_THREADS", 1);
    opts.beam_size = env("STT_BEAM", 1);
    opts.int8 = env("STT_INT8", 1) == 1;
    let repeat = env("STT_REPEAT", 3);
    let t = Instant::now();
    let rec = match WhisperRecogniser::load(opts.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!(
        "load {:?} (threads {}, beam {}, int8 {})",
        t.elapsed(),
        opts.threads,
        opts.beam_size,
        opts.int8
    );
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        args = vec![
            "I would like a table for four people tomorrow.".into(),
            "Yes, please confirm the booking.".into(),
            "What time do you close on Sunday?".into(),
        ];
    }
    let mel = LogMel::new();
    for arg in args {
        let pcm = if std::path::Path::new(&arg).is_file() {
            let bytes = std::fs::read(&arg).expect("read wav");
            vartalaap_audio::wav::parse_wav(&bytes).expect("parse wav")
        } else {
            EspeakTts::default()
                .synthesize(&arg, Lang::English)
                .expect("espeak-ng")
        };
        let audio = resample(&pcm.samples, pcm.sample_rate, 8_000).expect("resample");
        let t = Instant::now();
        let _ = mel.compute(&vec![0.1f32; audio.len() * 2]);
        let mel_time = t.elapsed();
        for run in 0..repeat {
            let t = Instant::now();
            let out = rec.transcribe_8k(&audio).expect("transcribe");
            println!(
                "run {run}: {:>5} ms audio -> {:?} (conf {:.2}, no-speech {:.2}) in {:?} (features {:?})",
                out.audio_ms,
                out.text,
                out.confidence,
                out.no_speech_prob,
                t.elapsed(),
                mel_time
            );
        }
    }
}
