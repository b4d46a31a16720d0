//! espeak-ng as a voice and as a phonemizer (needs the program; see tests/common).

mod common;

use vartalaap_audio::tts::{EspeakPhonemizer, EspeakTts};
use vartalaap_audio::{EnergyVad, Lang, Tts, Vad, resample};

#[test]
fn espeak_speaks_hindi_and_english() {
    if !common::espeak("espeak_speaks_hindi_and_english") {
        return;
    }
    let mut tts = EspeakTts::default();
    let hi = tts
        .synthesize(
            "नमस्ते, हिमालयन किचन में आपका स्वागत है। आप कितने लोगों के लिए टेबल चाहते हैं?",
            Lang::Hindi,
        )
        .unwrap();
    assert_eq!(hi.sample_rate, 22_050);
    assert!(
        (2_000..15_000).contains(&hi.duration_ms()),
        "{} ms",
        hi.duration_ms()
    );
    assert!(
        common::dbfs(&hi.samples) > -35.0,
        "too quiet: {} dBFS",
        common::dbfs(&hi.samples)
    );
    let en = tts
        .synthesize("Hello, thank you for calling.", Lang::English)
        .unwrap();
    assert!(
        (800..6_000).contains(&en.duration_ms()),
        "{} ms",
        en.duration_ms()
    );
    // Our tolerant stdout WAV parse must agree with a file written by espeak and read by hound.
    let reference = common::espeak_speech("en-us", "Hello, thank you for calling.");
    assert_eq!(reference.sample_rate, en.sample_rate);
    // -s 150 (ours) vs default 175 wpm (reference): ours is longer.
    assert!(en.samples.len() > reference.samples.len());
}

#[test]
fn energy_vad_hears_espeak_speech_at_8k() {
    if !common::espeak("energy_vad_hears_espeak_speech_at_8k") {
        return;
    }
    let speech = common::espeak_speech(
        "en-us",
        "I would like to book a table for two people tomorrow evening.",
    );
    let mut audio = vec![0i16; 8_000];
    audio.extend(resample(&speech.samples, speech.sample_rate, 8_000).unwrap());
    let speech_end = audio.len();
    audio.extend(vec![0i16; 8_000]);
    let mut vad = EnergyVad::default();
    let probs: Vec<f32> = audio.chunks(160).map(|f| vad.process(f).unwrap()).collect();
    let speech_frames = probs[50..speech_end / 160]
        .iter()
        .filter(|&&p| p > 0.5)
        .count();
    let total = speech_end / 160 - 50;
    assert!(
        speech_frames * 2 > total,
        "{speech_frames}/{total} frames of speech detected"
    );
    assert!(
        probs[..50]
            .iter()
            .chain(&probs[speech_end / 160 + 1..])
            .all(|&p| p < 0.1)
    );
}

#[test]
fn phonemizer_keeps_punctuation_and_sentences() {
    if !common::espeak("phonemizer_keeps_punctuation_and_sentences") {
        return;
    }
    let ph = EspeakPhonemizer::default()
        .phonemize("Hello, thank you. Would you like a table?", "en-us")
        .unwrap();
    assert_eq!(ph.len(), 2, "{ph:?}");
    assert!(ph[0].starts_with("həlˈoʊ, "), "{ph:?}");
    assert!(ph[0].ends_with('.'), "{ph:?}");
    assert!(ph[1].ends_with('?'), "{ph:?}");
    let hi = EspeakPhonemizer::default()
        .phonemize("नमस्ते, धन्यवाद।", "hi")
        .unwrap();
    assert_eq!(hi.len(), 1);
    assert!(hi[0].contains(", ") && hi[0].ends_with('.'), "{hi:?}");
}
