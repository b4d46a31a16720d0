//! The `Sec-MS-GEC` query parameter the Edge Read-Aloud endpoint checks at the WebSocket
//! upgrade.
//!
//! What the service checks (interoperability facts, the same for every client):
//! - time is counted in 100-nanosecond ticks since 1601-01-01 UTC (the Windows file-time
//!   epoch) and rounded down to the start of its 5-minute window, so a token stays valid for
//!   that window and both sides agree without exchanging anything;
//! - the decimal tick count is followed by the public `TrustedClientToken`, the SHA-256 of
//!   those ASCII characters is the token, written as 64 uppercase hex digits;
//! - `Sec-MS-GEC-Version` accompanies it, `1-` followed by the Edge browser version.
//!
//! Only this token format (version `1-…`) is implemented. Newer Edge builds send a `2-…`
//! format whose inputs are not publicly described; see docs/PROVIDERS.md for what that means
//! for the fallback voice.

use sha2::{Digest, Sha256};

/// The client token every Edge browser sends with Read-Aloud requests (public).
pub const TRUSTED_CLIENT_TOKEN: &str = "6A5AA1D4EAFF4E9FB37E23D68491D6F4";

/// Seconds from 1601-01-01 (where Windows file time starts) to the Unix epoch.
const FILETIME_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;
/// Length of the window one token is valid for.
const WINDOW_SECS: i64 = 5 * 60;
/// File-time ticks (100 ns) per second.
const TICKS_PER_SEC: i128 = 10_000_000;

/// Whether a `Sec-MS-GEC-Version` value names the token format this module produces
/// (`1-<browser version>`).
pub fn is_supported_version(version: &str) -> bool {
    version
        .split_once('-')
        .is_some_and(|(format, browser)| format == "1" && !browser.is_empty())
}

/// File-time ticks at the start of the 5-minute window holding `unix_seconds`.
fn window_start_ticks(unix_seconds: i64) -> i128 {
    let since_1601 = unix_seconds + FILETIME_EPOCH_OFFSET_SECS;
    let window_start = since_1601 - since_1601.rem_euclid(WINDOW_SECS);
    i128::from(window_start) * TICKS_PER_SEC
}

/// The token for the moment `unix_seconds` (the caller adds any learned clock skew).
pub fn sec_ms_gec(unix_seconds: i64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(window_start_ticks(unix_seconds).to_string());
    hasher.update(TRUSTED_CLIENT_TOKEN);
    hex::encode_upper(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values were computed outside this code, with Python's hashlib:
    //   t = unix + 11644473600; t -= t % 300
    //   hashlib.sha256(f"{t * 10**7}{TOKEN}".encode()).hexdigest().upper()

    #[test]
    fn tokens_match_independently_computed_vectors() {
        let vectors = [
            (
                0,
                "7ECB79D14E3AA576D2D79E6D487A1388156D91E614B1BE11C64226A29BC8DD8C",
            ),
            (
                1_735_689_600,
                "B0EDD22C7C09868E2F24C10264A8A3EB877773A7B6040B68AFA4FBCBABEA0238",
            ),
            (
                1_764_150_000,
                "F9E1859B29DE6B1D9D929E3D9318D00C91D356CC9002797FCB86B5E9C4129895",
            ),
            (
                1_800_000_123,
                "FF4C72425863FDF9E7916FF23CB0CDF80CB5C3B2162FC8B03C37EFEB82BB6C89",
            ),
        ];
        for (unix, want) in vectors {
            assert_eq!(sec_ms_gec(unix), want, "unix time {unix}");
        }
    }

    #[test]
    fn one_token_covers_a_whole_five_minute_window() {
        // 1_735_689_600 is 2025-01-01T00:00:00Z, the start of a window.
        assert_eq!(sec_ms_gec(1_735_689_600), sec_ms_gec(1_735_689_899));
        assert_eq!(
            sec_ms_gec(1_735_689_900),
            "8ED9592389D401B833D437B09FB509A78CF65C45D1360B619B153F22EE36D474"
        );
        assert_eq!(window_start_ticks(1_735_689_600), 133_801_632_000_000_000);
        assert_eq!(window_start_ticks(1_735_689_899), 133_801_632_000_000_000);
    }

    #[test]
    fn only_the_documented_version_format_is_accepted() {
        assert!(is_supported_version("1-143.0.3650.75"));
        assert!(!is_supported_version("2-143.0.3650.75"));
        assert!(!is_supported_version("143"));
        assert!(!is_supported_version("1-"));
    }
}
