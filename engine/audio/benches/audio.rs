//! Audio costs per call: µ-law, resampling, VAD per frame, and (with models) Piper's real-time
//! factor and time to first audio.
//!
//! ```text
//! cargo bench -p vartalaap-audio --bench audio                    # pure parts + espeak-ng
//! cargo bench -p vartalaap-audio --bench audio --features onnx    # + Silero and Piper
//! ```
//! The model benches need scripts/setup.sh's env (VARTALAAP_MODEL_DIR, ORT_DYLIB_PATH) and
//! print a note and skip when it is missing. All inference runs on one intra-op thread.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vartalaap_audio::tts::EspeakTts;
use vartalaap_audio::{EnergyVad, Lang, StreamResampler, Tts, Vad, mulaw};

/// A 20 ms frame of a voice-like signal.
fn frame_8k(k: usize) -> Vec<i16> {
    (0..160)
        .map(|i| {
            let t = (k * 160 + i) as f32 / 8_000.0;
            (8_000.0
                * (2.0 * std::f32::consts::PI * 180.0 * t).sin()
                * (1.0 + (2.0 * std::f32::consts::PI * 3.0 * t).sin())) as i16
        })
        .collect()
}

fn pure(c: &mut Criterion) {
    let frame = frame_8k(0);
    c.bench_function("mulaw encode+decode 20 ms", |b| {
        b.iter(|| black_box(mulaw::decode(&mulaw::encode(black_box(&frame)))))
    });

    let tts_chunk: Vec<i16> = (0..22_050 / 5).map(|i| ((i * 37) % 2_000) as i16).collect();
    c.bench_function("resample 22050->8000, 200 ms chunk (streaming)", |b| {
        let mut r = StreamResampler::new(22_050, 8_000).unwrap();
        b.iter(|| black_box(r.push(black_box(&tts_chunk)).unwrap()))
    });
    c.bench_function("resample 8000->16000, 20 ms frame (streaming)", |b| {
        let mut r = StreamResampler::new(8_000, 16_000).unwrap();
        b.iter(|| black_box(r.push(black_box(&frame)).unwrap()))
    });
    c.bench_function("energy VAD per 20 ms frame", |b| {
        let mut v = EnergyVad::default();
        b.iter(|| black_box(v.process(black_box(&frame)).unwrap()))
    });
    if std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok()
    {
        let mut group = c.benchmark_group("espeak-ng");
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        group.bench_function("hindi sentence (subprocess)", |b| {
            let mut tts = EspeakTts::default();
            b.iter(|| {
                black_box(
                    tts.synthesize("आप कितने लोगों के लिए टेबल चाहते हैं?", Lang::Hindi)
                        .unwrap(),
                )
            })
        });
        group.bench_function("phonemize 2 clauses (Piper front end)", |b| {
            let ph = vartalaap_audio::tts::EspeakPhonemizer::default();
            b.iter(|| {
                black_box(
                    ph.phonemize("Namaste, thank you for calling Himalayan Kitchen.", "en-us")
                        .unwrap(),
                )
            })
        });
        group.finish();
    }
}

#[cfg(feature = "onnx")]
fn models(c: &mut Criterion) {
    use std::time::Instant;
    use vartalaap_audio::ModelPaths;
    use vartalaap_audio::tts::PiperTts;
    use vartalaap_audio::vad::SileroVad;

    let Some(paths) = ModelPaths::from_env().filter(ModelPaths::complete) else {
        eprintln!(
            "skipped model benches: models missing; run scripts/setup.sh and export what it prints"
        );
        return;
    };
    let mut vad = SileroVad::load(&paths.ort_dylib, &paths.silero_vad()).unwrap();
    // 8 frames of 20 ms = 5 Silero windows of 32 ms: report per 20 ms frame.
    let frames: Vec<Vec<i16>> = (0..8).map(frame_8k).collect();
    c.bench_function("silero VAD, 8 x 20 ms frames (5 windows)", |b| {
        b.iter(|| {
            for f in &frames {
                black_box(vad.process(f).unwrap());
            }
        })
    });

    let t = Instant::now();
    let mut piper = PiperTts::load(
        &paths.ort_dylib,
        &paths.piper_voice(vartalaap_audio::models::DEFAULT_EN_VOICE),
    )
    .unwrap();
    eprintln!("piper: voice load {:?}", t.elapsed());
    let first = "Namaste, thank you for calling Himalayan Kitchen.";
    let long = "Hello, thank you for calling Himalayan Kitchen. Would you like to book a table for tonight, \
                or for tomorrow evening? We are open from noon until eleven at night.";
    // Real-time factor, reported once from a direct measurement (criterion's time per
    // iteration divided by the audio length gives the same number).
    for (label, text) in [("first sentence", first), ("three sentences", long)] {
        let t = Instant::now();
        let pcm = piper.synthesize(text, Lang::English).unwrap();
        let took = t.elapsed();
        let audio = Duration::from_millis(pcm.duration_ms());
        eprintln!(
            "piper {label}: {took:?} for {audio:?} of audio, RTF {:.3}",
            took.as_secs_f64() / audio.as_secs_f64()
        );
    }
    // Streaming: when does the first sentence of the long text reach the sink?
    let t = Instant::now();
    let mut first_at = None;
    piper
        .synthesize_streaming(long, Lang::English, |_| {
            first_at.get_or_insert_with(|| t.elapsed());
        })
        .unwrap();
    eprintln!(
        "piper streaming three sentences: first audio after {:?}, all after {:?}",
        first_at,
        t.elapsed()
    );
    let mut group = c.benchmark_group("piper (1 thread)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("time to first audio: short first sentence", |b| {
        b.iter(|| black_box(piper.synthesize(black_box(first), Lang::English).unwrap()))
    });
    group.bench_function("three sentences", |b| {
        b.iter(|| black_box(piper.synthesize(black_box(long), Lang::English).unwrap()))
    });
    group.finish();
}

#[cfg(not(feature = "onnx"))]
fn models(_: &mut Criterion) {
    eprintln!("model benches need --features onnx");
}

criterion_group!(benches, pure, models);
criterion_main!(benches);
