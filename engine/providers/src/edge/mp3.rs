//! MP3 → PCM for Edge TTS output.
//!
//! Decoder choice: `symphonia` with only its MP3 codec. Pure Rust (no C toolchain, unlike
//! minimp3 bindings), actively maintained and widely used (rodio and most Rust players), and
//! with every other codec and container switched off its compile cost is a few small crates.
//! Licence: MPL-2.0, file-level copyleft that is compatible with using it unmodified from an
//! MIT/Apache project.

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Mono 16-bit PCM at the decoder's sample rate (24 kHz for Edge's default format).
/// Resampling to 8 kHz for the phone is the audio crate's job.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Samples, mono.
    pub samples: Vec<i16>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Pcm {
    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / f64::from(self.sample_rate)
        }
    }
}

/// Decodes a whole MP3 into mono PCM (stereo is averaged down). Corrupt frames are skipped,
/// as players do; an input with no decodable audio is an error.
pub fn decode_mp3(mp3: &[u8]) -> Result<Pcm, String> {
    let source = MediaSourceStream::new(Box::new(Cursor::new(mp3.to_vec())), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            source,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| format!("not an MP3 stream: {e}"))?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| "MP3 stream has no audio track".to_owned())?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| format!("cannot create the MP3 decoder: {e}"))?;
    let mut sample_rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut samples = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(format!("MP3 stream broken: {e}")),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(format!("MP3 decoding failed: {e}")),
        };
        let spec = *decoded.spec();
        sample_rate = spec.rate;
        let channels = spec.channels.count().max(1);
        let mut buffer = SampleBuffer::<i16>::new(decoded.capacity() as u64, spec);
        buffer.copy_interleaved_ref(decoded);
        if channels == 1 {
            samples.extend_from_slice(buffer.samples());
        } else {
            samples.extend(buffer.samples().chunks(channels).map(|frame| {
                let sum: i32 = frame.iter().map(|s| i32::from(*s)).sum();
                (sum / channels as i32) as i16
            }));
        }
    }
    if samples.is_empty() || sample_rate == 0 {
        return Err("MP3 stream held no decodable audio".to_owned());
    }
    Ok(Pcm {
        samples,
        sample_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_fixture_to_plausible_pcm() {
        let mp3 = include_bytes!("../../tests/fixtures/edge/namaste_24k_48kbps.mp3");
        let pcm = decode_mp3(mp3).unwrap();
        assert_eq!(pcm.sample_rate, 24_000);
        // The fixture is 2.34 s of espeak-ng speech; MP3 adds at most a frame or two.
        let secs = pcm.duration_secs();
        assert!((2.2..2.5).contains(&secs), "{secs}");
        let peak = pcm
            .samples
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!(peak > 3000, "speech should not be near-silent, peak {peak}");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_mp3(b"definitely not audio").is_err());
        assert!(decode_mp3(&[]).is_err());
    }
}
