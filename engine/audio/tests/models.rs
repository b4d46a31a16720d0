//! Real-model checks: Silero VAD and Piper TTS on ONNX Runtime (feature `onnx`).
//!
//! Need `scripts/setup.sh` (espeak-ng + models). Without them each test prints a "skipped"
//! note, unless VARTALAAP_REQUIRE_MODELS=1, which makes a missing model a failure.
#![cfg(feature = "onnx")]

mod common;

use std::sync::{Mutex, OnceLock};

use vartalaap_audio::tts::{EspeakTts, PiperTts};
use vartalaap_audio::vad::{SileroModel, SileroVad};
use vartalaap_audio::{
    Lang, ModelPaths, SpeechEvent, SpeechSegmenter, Tts, TtsError, Vad, resample,
};

/// Speech probabilities of 8 kHz audio, one per 20 ms frame.
fn silero_probs(models: &ModelPaths, audio_8k: &[i16]) -> Vec<f32> {
    let mut vad = SileroVad::load(&models.ort_dylib, &models.silero_vad()).unwrap();
    audio_8k
        .chunks(160)
        .map(|f| vad.process(f).unwrap())
        .collect()
}

/// The English voice, loaded once per test binary (loading takes ~2 s).
fn piper(models: &ModelPaths) -> &'static Mutex<PiperTts> {
    static PIPER: OnceLock<Mutex<PiperTts>> = OnceLock::new();
    PIPER.get_or_init(|| {
        let path = models.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE);
        Mutex::new(PiperTts::load(&models.ort_dylib, &path).unwrap())
    })
}

fn frac_above(probs: &[f32], threshold: f32) -> f64 {
    probs.iter().filter(|&&p| p > threshold).count() as f64 / probs.len().max(1) as f64
}

#[test]
fn silero_hears_espeak_speech_and_not_silence_or_noise() {
    let test = "silero_hears_espeak_speech_and_not_silence_or_noise";
    let Some(models) = common::models(test) else {
        return;
    };
    if !common::espeak(test) {
        return;
    }
    let speech = common::espeak_speech(
        "en-us",
        "Hello, I would like to book a table for two people tomorrow evening at seven.",
    );
    let speech_8k = resample(&speech.samples, speech.sample_rate, 8_000).unwrap();
    // 2 s silence, speech, 2 s silence.
    let mut audio = vec![0i16; 16_000];
    audio.extend(&speech_8k);
    audio.extend(vec![0i16; 16_000]);
    let probs = silero_probs(&models, &audio);
    let (start, end) = (100, 100 + speech_8k.len() / 160);
    let in_speech = frac_above(&probs[start..end], 0.5);
    eprintln!("espeak speech: {:.0}% of frames p>0.5", in_speech * 100.0);
    assert!(
        in_speech > 0.5,
        "only {:.0}% of speech frames detected",
        in_speech * 100.0
    );
    let silent_max = probs[..start]
        .iter()
        .chain(&probs[end + 25..])
        .fold(0.0f32, |a, &b| a.max(b));
    eprintln!("silence max p {silent_max:.3}");
    assert!(silent_max < 0.2, "silence scored {silent_max}");

    // The segmenter turns it into exactly one turn, aligned with the speech (±300 ms).
    let mut seg = SpeechSegmenter::default();
    let events: Vec<SpeechEvent> = probs.iter().filter_map(|&p| seg.push(p, 20)).collect();
    eprintln!(
        "segmenter: {events:?}, speech is 2000..{} ms",
        2_000 + speech_8k.len() / 8
    );
    match events[..] {
        [
            SpeechEvent::SpeechStart { at_ms },
            SpeechEvent::SpeechEnd {
                at_ms: end_ms,
                duration_ms,
            },
        ] => {
            assert!(at_ms.abs_diff(2_000) <= 300, "start at {at_ms} ms");
            let speech_ms = speech_8k.len() as u64 / 8;
            assert!(
                end_ms.abs_diff(2_000 + speech_ms) <= 400,
                "end at {end_ms} ms, speech ends at {}",
                2_000 + speech_ms
            );
            assert!(duration_ms > speech_ms / 2);
        }
        _ => panic!("expected one start and one end, got {events:?}"),
    }

    // White noise at -26 dBFS is not speech.
    let mut seed = 1;
    let noise = common::noise(8_000 * 3, 0.09, &mut seed);
    let noise_max = silero_probs(&models, &noise)
        .into_iter()
        .fold(0.0f32, f32::max);
    eprintln!("white noise max p {noise_max:.3}");
    assert!(noise_max < 0.3, "white noise scored {noise_max}");
}

#[test]
fn piper_speaks_english_that_silero_hears_as_speech() {
    let test = "piper_speaks_english_that_silero_hears_as_speech";
    let Some(models) = common::models(test) else {
        return;
    };
    if !common::espeak(test) {
        return;
    }
    let text = "Hello, thank you for calling Himalayan Kitchen. Would you like to book a table for tonight?";
    let pcm = piper(&models)
        .lock()
        .unwrap()
        .synthesize(text, Lang::English)
        .unwrap();
    assert_eq!(pcm.sample_rate, 22_050);
    // ~15 words: a human says this in 3-7 s.
    assert!(
        (2_500..9_000).contains(&pcm.duration_ms()),
        "{} ms",
        pcm.duration_ms()
    );
    let level = common::dbfs(&pcm.samples);
    eprintln!("piper: {} ms, {level:.1} dBFS", pcm.duration_ms());
    assert!(level > -30.0, "too quiet: {level} dBFS");
    let peak = pcm
        .samples
        .iter()
        .map(|s| s.unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(peak < 32_767, "clipped");

    let audio_8k = resample(&pcm.samples, 22_050, 8_000).unwrap();
    let probs = silero_probs(&models, &audio_8k);
    let speech = frac_above(&probs, 0.5);
    eprintln!("piper at 8 kHz: {:.0}% of frames p>0.5", speech * 100.0);
    assert!(
        speech > 0.6,
        "Silero judged only {:.0}% of Piper's audio as speech",
        speech * 100.0
    );

    // Two sentences are synthesized separately: streaming hands them over one by one, with
    // 200 ms of silence between, and the pieces add up to the one-shot result's length.
    let mut pieces = Vec::new();
    let rate = piper(&models)
        .lock()
        .unwrap()
        .synthesize_streaming(text, Lang::English, |s| pieces.push(s.to_vec()))
        .unwrap();
    assert_eq!(rate, 22_050);
    assert_eq!(pieces.len(), 3, "sentence, gap, sentence");
    assert_eq!(pieces[1], vec![0i16; 22_050 / 5]);
    assert!(pieces[0].len() > 22_050, "first sentence under 1 s");
    let total: usize = pieces.iter().map(Vec::len).sum();
    // noise_w makes durations vary a little between runs.
    assert!(
        total.abs_diff(pcm.samples.len()) < pcm.samples.len() / 5,
        "{total} vs {}",
        pcm.samples.len()
    );
}

#[test]
fn piper_english_voice_refuses_hindi_and_local_tts_falls_back_to_espeak() {
    let test = "piper_english_voice_refuses_hindi_and_local_tts_falls_back_to_espeak";
    let Some(models) = common::models(test) else {
        return;
    };
    if !common::espeak(test) {
        return;
    }
    let err = piper(&models)
        .lock()
        .unwrap()
        .synthesize("नमस्ते", Lang::Hindi)
        .unwrap_err();
    assert!(
        matches!(
            err,
            TtsError::NoVoice {
                lang: Lang::Hindi,
                ..
            }
        ),
        "{err}"
    );

    // Hindi through espeak-ng is real speech to Silero.
    let hi = EspeakTts::default()
        .synthesize(
            "नमस्ते, हिमालयन किचन में आपका स्वागत है। आप कितने लोगों के लिए टेबल चाहते हैं?",
            Lang::Hindi,
        )
        .unwrap();
    let probs = silero_probs(
        &models,
        &resample(&hi.samples, hi.sample_rate, 8_000).unwrap(),
    );
    assert!(
        frac_above(&probs, 0.5) > 0.5,
        "Hindi espeak speech: {:.2}",
        frac_above(&probs, 0.5)
    );
}

/// One loaded model serves many calls: each stream keeps its own recurrent state, so two
/// streams interleaved window by window over a single session score exactly as each does
/// alone.
#[test]
fn streams_sharing_one_silero_model_keep_their_own_state() {
    let test = "streams_sharing_one_silero_model_keep_their_own_state";
    let Some(models) = common::models(test) else {
        return;
    };
    if !common::espeak(test) {
        return;
    }
    let speech = common::espeak_speech("en-us", "A table for two tomorrow at seven, please.");
    let speech_8k = resample(&speech.samples, speech.sample_rate, 8_000).unwrap();
    let mut a = vec![0i16; 8_000];
    a.extend(&speech_8k);
    // The other stream: quiet noise-like audio of the same length.
    let b: Vec<i16> = (0..a.len())
        .map(|i| ((i * 7919 % 401) as i16 - 200) * 3)
        .collect();
    let alone_a = silero_probs(&models, &a);
    let alone_b = silero_probs(&models, &b);
    let shared =
        std::sync::Arc::new(SileroModel::load(&models.ort_dylib, &models.silero_vad(), 1).unwrap());
    let (mut va, mut vb) = (SileroVad::new(shared.clone()), SileroVad::new(shared));
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    for (fa, fb) in a.chunks(160).zip(b.chunks(160)) {
        pa.push(va.process(fa).unwrap());
        pb.push(vb.process(fb).unwrap());
    }
    assert_eq!(pa, alone_a);
    assert_eq!(pb, alone_b);
    assert!(frac_above(&pa, 0.5) > 0.3, "the speech stream was heard");
}

#[test]
fn missing_silero_model_is_an_error() {
    let Some(models) = common::models("missing_silero_model_is_an_error") else {
        return;
    };
    let err = SileroVad::load(
        &models.ort_dylib,
        std::path::Path::new("/nonexistent/silero.onnx"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/silero.onnx"),
        "{err}"
    );
    // Not a Silero model: the Piper voice has other inputs.
    let err = SileroVad::load(
        &models.ort_dylib,
        &models.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a Silero"), "{err}");
}
