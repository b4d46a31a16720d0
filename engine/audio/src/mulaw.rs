//! G.711 µ-law ↔ 16-bit linear PCM, exactly as the ITU-T G.191 reference (`g711.c`) does it.
//!
//! Telephony (Plivo's bidirectional stream) carries 8 kHz µ-law, one byte per sample. Both
//! directions are table lookups built at compile time, so a 20 ms frame costs 160 loads.
//!
//! The encoder follows the ITU reference, not the older Sun `g711.c`: it works on the top 14
//! bits and takes the one's complement of negative input, so `-1` encodes to `0x7F` (a "negative
//! zero") where Sun's code gives `0x7E`. Decoding is identical in both. Every code decodes to a
//! value that encodes back to the same code, except `0x7F`, whose value (0) encodes as `0xFF`.

/// The µ-law code of digital silence; what a padded frame is filled with.
pub const SILENCE: u8 = 0xFF;

/// Decode table: one entry per µ-law code.
static DECODE: [i16; 256] = build_decode_table();

/// Encode table indexed by the top 14 bits of the sample (`(x >> 2) & 0x3FFF`): G.711 µ-law
/// only looks at those bits, so 16 KiB covers every input.
static ENCODE: [u8; 1 << 14] = build_encode_table();

/// µ-law code → linear PCM16.
#[inline]
pub fn decode_sample(code: u8) -> i16 {
    DECODE[code as usize]
}

/// Linear PCM16 → µ-law code.
#[inline]
pub fn encode_sample(sample: i16) -> u8 {
    ENCODE[((sample >> 2) as u16 & 0x3FFF) as usize]
}

/// Decodes a µ-law buffer (e.g. a Plivo `media` payload after base64) to PCM16.
pub fn decode(codes: &[u8]) -> Vec<i16> {
    codes.iter().map(|&c| decode_sample(c)).collect()
}

/// Decodes into an existing buffer, appending; for hot paths that reuse their allocation.
pub fn decode_into(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().map(|&c| decode_sample(c)));
}

/// Encodes PCM16 (already at 8 kHz) to µ-law for a Plivo `playAudio` payload.
pub fn encode(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| encode_sample(s)).collect()
}

/// Encodes into an existing buffer, appending.
pub fn encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| encode_sample(s)));
}

/// G.191 `ulaw_expand` for one code.
const fn expand(code: u8) -> i16 {
    let negative = code < 0x80;
    let m = !code;
    let exponent = ((m >> 4) & 0x07) as i32;
    let mantissa = (m & 0x0F) as i32;
    let segment = exponent + 1;
    let step = 4 << segment;
    let magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    (if negative { -magnitude } else { magnitude }) as i16
}

/// G.191 `ulaw_compress` for one 14-bit input (`x >> 2`, sign-extended).
const fn compress(x14: i32) -> u8 {
    // One's complement for negative input, as the reference does.
    let mut absno = if x14 < 0 { !x14 + 33 } else { x14 + 33 };
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    let mut i = absno >> 6;
    let mut segno = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high = 0x08 - segno;
    let low = 0x0F - ((absno >> segno) & 0x0F);
    let code = ((high << 4) | low) as u8;
    if x14 >= 0 { code | 0x80 } else { code }
}

const fn build_decode_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = expand(c as u8);
        c += 1;
    }
    t
}

const fn build_encode_table() -> [u8; 1 << 14] {
    let mut t = [0u8; 1 << 14];
    let mut idx = 0;
    while idx < (1 << 14) {
        // Sign-extend the 14-bit index back to the value of `x >> 2`.
        let x14 = if idx >= (1 << 13) {
            idx as i32 - (1 << 14)
        } else {
            idx as i32
        };
        t[idx] = compress(x14);
        idx += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The G.191 reference, written out with no tables, to check the tables against.
    fn reference_encode(x: i16) -> u8 {
        let x = x as i32;
        let mut absno = if x < 0 {
            ((!x) >> 2) + 33
        } else {
            (x >> 2) + 33
        };
        if absno > 0x1FFF {
            absno = 0x1FFF;
        }
        let mut i = absno >> 6;
        let mut segno = 1;
        while i != 0 {
            segno += 1;
            i >>= 1;
        }
        let mut code = ((0x08 - segno) << 4) | (0x0F - ((absno >> segno) & 0x0F));
        if x >= 0 {
            code |= 0x80;
        }
        code as u8
    }

    #[test]
    fn known_decode_vectors() {
        assert_eq!(decode_sample(0xFF), 0);
        assert_eq!(decode_sample(0x7F), 0);
        assert_eq!(decode_sample(0x80), 32124);
        assert_eq!(decode_sample(0x00), -32124);
        assert_eq!(decode_sample(0xFE), 8);
        assert_eq!(decode_sample(0x7E), -8);
        // Segment edges, from the classic published table.
        assert_eq!(decode_sample(0xF0), 120);
        assert_eq!(decode_sample(0xEF), 132);
        assert_eq!(decode_sample(0x8F), 16_764);
        assert_eq!(decode_sample(0x81), 31_100);
        assert_eq!(decode_sample(0x01), -31_100);
    }

    #[test]
    fn known_encode_vectors() {
        assert_eq!(encode_sample(0), 0xFF);
        assert_eq!(
            encode_sample(-1),
            0x7F,
            "G.191 one's complement: -1 is negative zero"
        );
        assert_eq!(encode_sample(i16::MAX), 0x80);
        assert_eq!(encode_sample(i16::MIN), 0x00);
        assert_eq!(encode_sample(32124), 0x80);
        assert_eq!(encode_sample(-32124), 0x00);
        assert_eq!(encode_sample(8), 0xFE);
        assert_eq!(encode_sample(-9), 0x7E);
    }

    #[test]
    fn tables_match_reference_for_every_input() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(encode_sample(x), reference_encode(x), "input {x}");
        }
    }

    #[test]
    fn every_code_round_trips_except_negative_zero() {
        for c in 0u8..=255 {
            let back = encode_sample(decode_sample(c));
            if c == 0x7F {
                assert_eq!(back, 0xFF);
            } else {
                assert_eq!(back, c, "code {c:#04x}");
            }
        }
    }

    #[test]
    fn decode_is_monotonic_within_each_sign() {
        // 0xFF..=0x80 (positive) grows as the code falls; 0x7F..=0x00 (negative) falls.
        for c in 0x81u8..=0xFF {
            assert!(decode_sample(c) < decode_sample(c - 1), "code {c:#04x}");
        }
        for c in 0x01u8..=0x7F {
            assert!(decode_sample(c) > decode_sample(c - 1), "code {c:#04x}");
        }
    }

    #[test]
    fn quantization_error_is_bounded_by_half_a_step() {
        for x in (i16::MIN..=i16::MAX).step_by(7) {
            let y = decode_sample(encode_sample(x)) as i32;
            let x = x as i32;
            // Step size in the top segment is 1024; below clipping the error is at most half a
            // step plus the G.191 14-bit truncation (4).
            if x.abs() < 32124 {
                let bound = (x.abs() / 16).max(8) + 4;
                assert!((y - x).abs() <= bound, "x={x} y={y}");
            }
        }
    }

    #[test]
    fn buffer_helpers_agree_with_sample_functions() {
        let pcm: Vec<i16> = (0..400)
            .map(|i| ((i * 331) % 65_536 - 32_768) as i16)
            .collect();
        let codes = encode(&pcm);
        let mut codes2 = Vec::new();
        encode_into(&pcm, &mut codes2);
        assert_eq!(codes, codes2);
        let back = decode(&codes);
        let mut back2 = Vec::new();
        decode_into(&codes, &mut back2);
        assert_eq!(back, back2);
        assert_eq!(back.len(), pcm.len());
    }
}
