//! A small, tolerant reader for 16-bit PCM WAV, as `espeak-ng --stdout` writes it.
//!
//! espeak-ng streams its WAV to stdout, so it cannot know the length in advance and writes
//! `0x7FFFF000`-ish placeholder sizes into the RIFF and `data` headers. Strict readers reject
//! that; this one clamps the `data` chunk to the bytes actually present.

use crate::tts::Pcm;

/// Why a WAV buffer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("not a RIFF/WAVE file ({len} bytes)")]
    NotWav { len: usize },
    #[error("WAV has no `{0}` chunk")]
    MissingChunk(&'static str),
    #[error("unsupported WAV format: {0}; only 16-bit integer PCM is read")]
    Unsupported(String),
}

/// Parses 16-bit PCM WAV bytes; multi-channel audio is mixed down to mono.
pub fn parse_wav(bytes: &[u8]) -> Result<Pcm, WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWav { len: bytes.len() });
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let declared = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(declared).min(bytes.len());
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => {
                if body.len() < 16 {
                    return Err(WavError::Unsupported(format!(
                        "fmt chunk of {} bytes",
                        body.len()
                    )));
                }
                let le16 = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                fmt = Some((le16(0), le16(2), rate, le16(14)));
            }
            b"data" => {
                let (format, channels, rate, bits) = fmt.ok_or(WavError::MissingChunk("fmt "))?;
                // 1 = PCM; 0xFFFE = WAVE_FORMAT_EXTENSIBLE (accepted when 16-bit).
                if !(format == 1 || format == 0xFFFE) || bits != 16 || channels == 0 || rate == 0 {
                    return Err(WavError::Unsupported(format!(
                        "format tag {format}, {bits} bits, {channels} channels, {rate} Hz"
                    )));
                }
                let ch = channels as usize;
                let samples = body
                    .chunks_exact(2 * ch)
                    .map(|frame| {
                        let sum: i32 = frame
                            .chunks_exact(2)
                            .map(|b| i16::from_le_bytes([b[0], b[1]]) as i32)
                            .sum();
                        (sum / ch as i32) as i16
                    })
                    .collect();
                return Ok(Pcm {
                    sample_rate: rate,
                    samples,
                });
            }
            _ => {}
        }
        // Chunks are word-aligned.
        pos = body_start
            .saturating_add(declared)
            .saturating_add(declared & 1);
    }
    Err(WavError::MissingChunk("data"))
}

/// Serializes mono PCM16 as a canonical WAV file (for recordings and debugging).
pub fn write_wav(pcm: &Pcm) -> Vec<u8> {
    let data_len = (pcm.samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&pcm.sample_rate.to_le_bytes());
    out.extend_from_slice(&(pcm.sample_rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in &pcm.samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pcm = Pcm {
            sample_rate: 22_050,
            samples: vec![0, 1, -1, i16::MAX, i16::MIN, 1234],
        };
        assert_eq!(parse_wav(&write_wav(&pcm)).unwrap(), pcm);
    }

    #[test]
    fn tolerates_streaming_placeholder_sizes() {
        let pcm = Pcm {
            sample_rate: 22_050,
            samples: vec![5, -5, 7],
        };
        let mut bytes = write_wav(&pcm);
        bytes[4..8].copy_from_slice(&0x7FFF_F024u32.to_le_bytes());
        bytes[40..44].copy_from_slice(&0x7FFF_F000u32.to_le_bytes());
        assert_eq!(parse_wav(&bytes).unwrap(), pcm);
    }

    #[test]
    fn reads_what_hound_writes_including_stereo() {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cur = std::io::Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
            for (l, r) in [(100i16, 300i16), (-10, -30)] {
                w.write_sample(l).unwrap();
                w.write_sample(r).unwrap();
            }
            w.finalize().unwrap();
        }
        let pcm = parse_wav(cur.get_ref()).unwrap();
        assert_eq!(pcm.sample_rate, 16_000);
        assert_eq!(pcm.samples, vec![200, -20]);
    }

    #[test]
    fn rejects_garbage_and_other_formats() {
        assert!(matches!(parse_wav(b"hello"), Err(WavError::NotWav { .. })));
        let mut bytes = write_wav(&Pcm {
            sample_rate: 8_000,
            samples: vec![1],
        });
        bytes[34..36].copy_from_slice(&8u16.to_le_bytes()); // 8-bit
        assert!(matches!(parse_wav(&bytes), Err(WavError::Unsupported(_))));
        let no_data = &write_wav(&Pcm {
            sample_rate: 8_000,
            samples: vec![],
        })[..36];
        assert!(matches!(
            parse_wav(no_data),
            Err(WavError::MissingChunk("data"))
        ));
    }
}
