//! `Sec-MS-GEC` tokens for the Edge Read-Aloud endpoint (protocol notes §4.1 and §4.9).
//!
//! Both token versions hash the current 5-minute Windows-filetime bucket together with the
//! public `TrustedClientToken`:
//! - **v1** (`Sec-MS-GEC-Version: 1-…`): uppercase hex SHA-256 of `"{ticks}{token}"`.
//! - **v2** (`2-…`, edge-tts 7.3): `"<16 hex>-<64 hex>"`. The 64-hex part is SHA-256 over a
//!   fixed 57-byte prefix followed by `"{ticks}{token}"`; the prefix is not published, only the
//!   compression state after it (the midstate constants below). The 16-hex part is a keyed
//!   "CS64" checksum of the same input, keyed by the first 8 digest bytes.
//!
//! Ported from edge-tts 7.3.1's `drm.py` and checked against vectors computed with it.
//! Which version to send is configuration (`EdgeTtsConfig::sec_ms_gec_version`), since the
//! service has switched before and may again.

use sha2::{Digest, Sha256};

/// The public client token every Edge browser sends.
pub const TRUSTED_CLIENT_TOKEN: &str = "6A5AA1D4EAFF4E9FB37E23D68491D6F4";

/// Seconds between 1601-01-01 (Windows epoch) and 1970-01-01.
const WIN_EPOCH: i64 = 11_644_473_600;

/// Token format, from the `Sec-MS-GEC-Version` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersion {
    /// Plain SHA-256 (`1-…`).
    V1,
    /// CS64 + keyed SHA-256 (`2-…`).
    V2,
}

impl TokenVersion {
    /// Picks the algorithm from a `Sec-MS-GEC-Version` value such as `2-143.0.3650.75`.
    pub fn from_version_string(version: &str) -> Option<Self> {
        match version.split_once('-').map(|(v, _)| v) {
            Some("1") => Some(Self::V1),
            Some("2") => Some(Self::V2),
            _ => None,
        }
    }
}

/// The string that gets hashed: 100-ns ticks of the 5-minute bucket, then the client token.
fn token_input(unix_seconds: i64) -> String {
    let mut secs = unix_seconds + WIN_EPOCH;
    secs -= secs.rem_euclid(300);
    let ticks = i128::from(secs) * 10_000_000;
    format!("{ticks}{TRUSTED_CLIENT_TOKEN}")
}

/// The token for `unix_seconds` (already corrected for clock skew).
pub fn sec_ms_gec(version: TokenVersion, unix_seconds: i64) -> String {
    let input = token_input(unix_seconds);
    match version {
        TokenVersion::V1 => hex::encode_upper(Sha256::digest(input.as_bytes())),
        TokenVersion::V2 => {
            let digest = keyed_sha256(input.as_bytes());
            let (w0, w1) = cs64(input.as_bytes(), &digest);
            let mut cs = [0u8; 8];
            cs[..4].copy_from_slice(&w0.to_le_bytes());
            cs[4..].copy_from_slice(&w1.to_le_bytes());
            format!("{}-{}", hex::encode_upper(cs), hex::encode_upper(digest))
        }
    }
}

// ---- v2: SHA-256 resumed from a midstate ------------------------------------------------

const SHA256_INITIAL: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];
/// Working registers after round 13 of the first block (the hidden prefix's 14 words).
const SHA256_STATE: [u32; 8] = [
    0xFD9FBEA2, 0x91243CE7, 0xBE499094, 0xCD2E1E0A, 0x6C006F49, 0x04BD35AB, 0xFEB0A7E4, 0x03EFFBD2,
];
/// Prefix-only parts of schedule words 16..29.
const SHA256_SCHEDULE: [u32; 14] = [
    0xEB24BF9E, 0x1558691F, 0xA0C09EE2, 0x0CFA32BA, 0xA622EE8C, 0xD1DD9491, 0xC0DD25A0, 0xF9E70AB6,
    0xF0C31573, 0x7058CE4E, 0x7188E606, 0x00E5AB33, 0xD258B060, 0x72766564,
];
const K: [u32; 64] = [
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
];
/// Round-14 constant with the prefix's last byte folded in.
const SHA256_ADJUSTMENT: u32 = 0xC9DC06A7;
const SIGMA0_ADJUSTMENT: u32 = 0x059C0B80;
const SIGMA1_ADJUSTMENT: u32 = 0x000B92C0;

fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

fn expand(words: &mut [u32; 64], from: usize) {
    for i in from..64 {
        words[i] = small_sigma1(words[i - 2])
            .wrapping_add(words[i - 7])
            .wrapping_add(small_sigma0(words[i - 15]))
            .wrapping_add(words[i - 16]);
    }
}

fn rounds(state: [u32; 8], words: &[u32; 64], first_round: usize) -> [u32; 8] {
    let mut k = K;
    if first_round == 14 {
        k[14] = SHA256_ADJUSTMENT;
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
    for i in first_round..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = g ^ (e & (f ^ g));
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(k[i])
            .wrapping_add(words[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) | (c & (a | b));
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    [a, b, c, d, e, f, g, h]
}

fn add_states(x: [u32; 8], y: [u32; 8]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for i in 0..8 {
        out[i] = x[i].wrapping_add(y[i]);
    }
    out
}

/// State after the first block: the hidden prefix plus the first 7 input bytes.
fn midstate(data7: &[u8; 7]) -> [u32; 8] {
    let mut w = [0u32; 64];
    w[14] = u32::from_be_bytes([0, data7[0], data7[1], data7[2]]);
    w[15] = u32::from_be_bytes([data7[3], data7[4], data7[5], data7[6]]);
    for i in 16..30 {
        let mut value = SHA256_SCHEDULE[i - 16];
        if i - 2 >= 14 {
            let s = small_sigma1(w[i - 2]);
            value = value.wrapping_add(if i == 16 { s ^ SIGMA1_ADJUSTMENT } else { s });
        }
        if i - 7 >= 14 {
            value = value.wrapping_add(w[i - 7]);
        }
        if i - 15 >= 14 {
            let s = small_sigma0(w[i - 15]);
            value = value.wrapping_add(if i == 29 { s ^ SIGMA0_ADJUSTMENT } else { s });
        }
        w[i] = value;
    }
    w[30] = small_sigma1(w[28])
        .wrapping_add(w[23])
        .wrapping_add(small_sigma0(w[15]))
        .wrapping_add(w[14])
        .wrapping_add(SHA256_ADJUSTMENT)
        .wrapping_sub(K[14]);
    expand(&mut w, 31);
    add_states(SHA256_INITIAL, rounds(SHA256_STATE, &w, 14))
}

/// SHA-256(prefix57 ‖ data). `data` is always ≥ 7 bytes here (ticks + 32-char token).
fn keyed_sha256(data: &[u8]) -> [u8; 32] {
    let mut first = [0u8; 7];
    first.copy_from_slice(&data[..7]);
    let total_len = 57 + data.len();
    let mut padded = data[7..].to_vec();
    padded.push(0x80);
    let zeros = (55i64 - total_len as i64).rem_euclid(64) as usize;
    padded.extend(std::iter::repeat_n(0u8, zeros));
    padded.extend_from_slice(&((total_len as u64) * 8).to_be_bytes());
    let mut state = midstate(&first);
    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        expand(&mut w, 16);
        state = add_states(state, rounds(state, &w, 0));
    }
    let mut out = [0u8; 32];
    for (i, v) in state.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

// ---- v2: CS64 checksum --------------------------------------------------------------------

const CS64_COEFFICIENTS: [(u32, u32); 14] = [
    (0xE82E91B1, 0xB32700D0),
    (0x44DE24C6, 0x88DFF51D),
    (0x3BEB65BC, 0x29514038),
    (0xC89C5933, 0xB328CBDF),
    (0x8D1EC211, 0xD405B4D5),
    (0x314EF5D5, 0x26E55F3C),
    (0xE92491B1, 0x607801C6),
    (0xF0A5B9D5, 0x82B2C1FB),
    (0x06064CF3, 0xFA51A3DA),
    (0xDA79FA60, 0x207CC464),
    (0xBED20560, 0x3C3C74F3),
    (0x89F9C9F8, 0xD2D14B61),
    (0x35FA38C6, 0xBB04A2C1),
    (0xCB49E3C6, 0xC5626167),
];
const CS64_FACTOR: u32 = 0x82893933;
const CS64_ADJUSTMENT0: u32 = 0xF2F90B1A;
const CS64_ADJUSTMENT1: u32 = 0x0B1A0000;

fn rol16(v: u32) -> u32 {
    v.rotate_left(16)
}

fn cs64(data: &[u8], digest: &[u8; 32]) -> (u32, u32) {
    let key_a = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]) | 1;
    let key_b = u32::from_le_bytes([digest[4], digest[5], digest[6], digest[7]]) | 1;
    let factors = [
        key_a.wrapping_mul(CS64_FACTOR),
        key_b.wrapping_mul(CS64_FACTOR),
    ];
    let mut terms: Vec<u32> = CS64_COEFFICIENTS
        .iter()
        .enumerate()
        .map(|(i, (c, _))| c.wrapping_mul(factors[i % 2]))
        .collect();
    let mut offsets: Vec<u32> = CS64_COEFFICIENTS.iter().map(|(_, o)| *o).collect();

    // Little-endian words of 0x00 ‖ data, zero-padded to an even number of words.
    let mut bytes = Vec::with_capacity(data.len() + 8);
    bytes.push(0u8);
    bytes.extend_from_slice(data);
    while bytes.len() % 4 != 0 {
        bytes.push(0);
    }
    let mut words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    if words.len() % 2 == 1 {
        words.push(0);
    }
    for (i, &word) in words.iter().enumerate() {
        let even = i % 2 == 0;
        let mut term = word.wrapping_mul(if even { key_a } else { key_b });
        let mut offset = rol16(word).wrapping_mul(if even { 0xEF0569FB } else { 0xC31713DB });
        if i == 0 {
            term = term.wrapping_add(CS64_ADJUSTMENT0.wrapping_mul(factors[0]));
            offset = offset.wrapping_add(CS64_ADJUSTMENT1);
        }
        terms.push(term);
        offsets.push(offset);
    }

    let (mut swap_acc, mut swap_last, mut state, mut acc) = (0u32, 0u32, 0u32, 0u32);
    for i in (0..terms.len()).step_by(2) {
        let (x, y) = (terms[i], terms[i + 1]);
        let t = rol16(offsets[i].wrapping_add(x));
        let q = t.wrapping_mul(0x76F50F34);
        swap_acc = swap_acc.wrapping_add(rol16(q).wrapping_mul(0xC3EFEA97).wrapping_add(q));
        let t = rol16(offsets[i + 1].wrapping_add(y));
        let q = t.wrapping_mul(0x1881CE3C);
        swap_last = rol16(q).wrapping_mul(0x35BD1EC9).wrapping_add(q);
        swap_acc = swap_acc.wrapping_add(swap_last);

        state = state.wrapping_mul(key_a).wrapping_add(x);
        state = rol16(state).wrapping_mul(0xCF98B111);
        state = rol16(state).wrapping_mul(0x87085B9F);
        state = rol16(state).wrapping_mul(0x12CEB96D);
        state = rol16(state).wrapping_mul(0x257E1D83);
        acc = acc.wrapping_add(state);
        let mut t = state.wrapping_mul(key_b).wrapping_add(y);
        t = rol16(t).wrapping_mul(0xA27416F5);
        t = rol16(t).wrapping_mul(0xD38396FF);
        state = rol16(rol16(t).wrapping_mul(0x7C932B89)).wrapping_mul(0xBFA49F69);
        acc = acc.wrapping_add(state);
    }
    (swap_last ^ state, swap_acc ^ acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_matches_the_protocol_notes_vectors() {
        let a = "B0EDD22C7C09868E2F24C10264A8A3EB877773A7B6040B68AFA4FBCBABEA0238";
        assert_eq!(sec_ms_gec(TokenVersion::V1, 1_735_689_600), a);
        assert_eq!(sec_ms_gec(TokenVersion::V1, 1_735_689_899), a);
        assert_eq!(
            sec_ms_gec(TokenVersion::V1, 1_735_689_900),
            "8ED9592389D401B833D437B09FB509A78CF65C45D1360B619B153F22EE36D474"
        );
        assert_eq!(
            token_input(1_735_689_600),
            "1338016320000000006A5AA1D4EAFF4E9FB37E23D68491D6F4"
        );
    }

    #[test]
    fn v2_matches_edge_tts_7_3_1() {
        // Computed with edge-tts 7.3.1 `generate_sec_ms_gec_v2(unix_timestamp)`.
        let cases = [
            (
                1_735_689_600,
                "54404AFE67C9B44A-E72E51D8B4F5F75E9A96B7E20D7877227455BC310433BD30C817CD54A1D9313E",
            ),
            (
                1_735_689_899,
                "54404AFE67C9B44A-E72E51D8B4F5F75E9A96B7E20D7877227455BC310433BD30C817CD54A1D9313E",
            ),
            (
                1_735_689_900,
                "573B5AB47EF76DEF-382062865F8E6ED3D6FF14EFCF08C89427D829196C82586577B5BD64F1FFC0EF",
            ),
            (
                1_764_150_000,
                "24EE474FA0DB8F77-AE01272FFDE8428131DE3D7B0070B3BB9C0A694B7ABDDEA9674EA3B4F5B2838F",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(sec_ms_gec(TokenVersion::V2, t), want, "unix {t}");
        }
    }

    #[test]
    fn version_prefix_selects_the_algorithm() {
        assert_eq!(
            TokenVersion::from_version_string("2-143.0.3650.75"),
            Some(TokenVersion::V2)
        );
        assert_eq!(
            TokenVersion::from_version_string("1-130.0.2849.68"),
            Some(TokenVersion::V1)
        );
        assert_eq!(TokenVersion::from_version_string("143"), None);
    }
}
