//! Edge TTS message framing (protocol notes §4.2, §4.3, §4.9): `Header:Value\r\n` blocks,
//! SSML, binary audio frames, and the two date formats the protocol uses.

use std::collections::HashMap;

/// Longest SSML text payload per request; edge-tts splits at 4096 bytes.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Headers of a frame, keyed by name (case as sent).
pub type Headers = HashMap<String, String>;

/// Parses `Key:Value\r\n` lines (no space after the colon on the wire; tolerated anyway).
pub fn parse_headers(block: &str) -> Headers {
    block
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Splits a text frame into its headers and body (after the blank line).
pub fn parse_text_frame(text: &str) -> (Headers, &str) {
    match text.split_once("\r\n\r\n") {
        Some((head, body)) => (parse_headers(head), body),
        None => (parse_headers(text), ""),
    }
}

/// Why a binary frame cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than the 2-byte header length.
    #[error("binary frame of {0} bytes has no header length")]
    TooShort(usize),
    /// The header length points past the end.
    #[error("binary frame header length {header} exceeds frame length {frame}")]
    HeaderTooLong {
        /// Declared header bytes.
        header: usize,
        /// Bytes in the frame.
        frame: usize,
    },
}

/// Splits a binary frame: `u16` big-endian header length N, N bytes of headers, then audio.
pub fn parse_binary_frame(data: &[u8]) -> Result<(Headers, &[u8]), FrameError> {
    if data.len() < 2 {
        return Err(FrameError::TooShort(data.len()));
    }
    let n = usize::from(u16::from_be_bytes([data[0], data[1]]));
    if 2 + n > data.len() {
        return Err(FrameError::HeaderTooLong {
            header: n,
            frame: data.len(),
        });
    }
    let headers = parse_headers(&String::from_utf8_lossy(&data[2..2 + n]));
    Ok((headers, &data[2 + n..]))
}

/// Builds a binary frame (used by the mock; the inverse of [`parse_binary_frame`]).
pub fn build_binary_frame(header_block: &str, body: &[u8]) -> Vec<u8> {
    let head = header_block.as_bytes();
    let n = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(2 + head.len() + body.len());
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&head[..usize::from(n)]);
    out.extend_from_slice(body);
    out
}

/// XML-escapes text for SSML.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces control characters the service rejects (U+0000–0008, 000B–000C, 000E–001F)
/// with spaces.
pub fn remove_incompatible_characters(text: &str) -> String {
    text.chars()
        .map(|c| match c as u32 {
            0..=8 | 11..=12 | 14..=31 => ' ',
            _ => c,
        })
        .collect()
}

/// Whether the text has anything speakable (punctuation-only text yields no audio).
pub fn has_speakable_content(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// `hi-IN-SwaraNeural` → `Microsoft Server Speech Text to Speech Voice (hi-IN, SwaraNeural)`,
/// the long form Edge itself sends. Long names and unknown shapes pass through unchanged.
pub fn long_voice_name(voice: &str) -> String {
    if voice.starts_with("Microsoft Server Speech") {
        return voice.to_owned();
    }
    let parts: Vec<&str> = voice.split('-').collect();
    if parts.len() >= 3 {
        let locale = format!("{}-{}", parts[0], parts[1]);
        let name = parts[2..].join("-");
        format!("Microsoft Server Speech Text to Speech Voice ({locale}, {name})")
    } else {
        voice.to_owned()
    }
}

/// The SSML document for one request (`xml:lang` stays `en-US`; the voice decides).
pub fn ssml(voice: &str, rate: &str, pitch: &str, volume: &str, escaped_text: &str) -> String {
    format!(
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>\
         <voice name='{}'><prosody pitch='{pitch}' rate='{rate}' volume='{volume}'>{escaped_text}\
         </prosody></voice></speak>",
        long_voice_name(voice)
    )
}

/// The `speech.config` message (booleans are the strings "true"/"false").
pub fn speech_config_message(timestamp: &str, output_format: &str) -> String {
    format!(
        "X-Timestamp:{timestamp}\r\nContent-Type:application/json; charset=utf-8\r\n\
         Path:speech.config\r\n\r\n\
         {{\"context\":{{\"synthesis\":{{\"audio\":{{\"metadataoptions\":{{\
         \"sentenceBoundaryEnabled\":\"true\",\"wordBoundaryEnabled\":\"false\"}},\
         \"outputFormat\":\"{output_format}\"}}}}}}}}\r\n"
    )
}

/// The `ssml` message. The `Z` after the timestamp mimics Edge's own bug on purpose.
pub fn ssml_message(request_id: &str, timestamp: &str, ssml: &str) -> String {
    format!(
        "X-RequestId:{request_id}\r\nContent-Type:application/ssml+xml\r\n\
         X-Timestamp:{timestamp}Z\r\nPath:ssml\r\n\r\n{ssml}"
    )
}

/// Splits text into pieces whose *escaped* form fits `max_bytes`, at whitespace, never inside
/// a character or an entity. A single word longer than the limit is split at characters.
pub fn split_text(text: &str, max_bytes: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_len = 0usize;
    for word in text.split_inclusive(char::is_whitespace) {
        let len = escape_xml(word).len();
        if current_len + len > max_bytes && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if len > max_bytes {
            for c in word.chars() {
                let l = escape_xml(c.encode_utf8(&mut [0; 4])).len();
                if current_len + l > max_bytes {
                    pieces.push(std::mem::take(&mut current));
                    current_len = 0;
                }
                current.push(c);
                current_len += l;
            }
        } else {
            current.push_str(word);
            current_len += len;
        }
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
}

// ---- dates --------------------------------------------------------------------------------

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1..12, day) for days since 1970-01-01 (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// JavaScript `Date.toString()` style in UTC, as Edge sends in `X-Timestamp`:
/// `Thu Jan 01 2026 10:00:00 GMT+0000 (Coordinated Universal Time)`.
pub fn js_date(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        y,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// RFC 7231 IMF-fixdate, as in an HTTP `Date` header: `Thu, 26 Nov 2026 17:13:00 GMT`.
pub fn http_date(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Parses an IMF-fixdate `Date` header into unix seconds (used for clock-skew correction).
pub fn parse_http_date(value: &str) -> Option<i64> {
    let rest = value.trim().split_once(", ")?.1;
    let mut it = rest.split_whitespace();
    let day: u32 = it.next()?.parse().ok()?;
    let month_name = it.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i64 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (hms.next()??, hms.next()??, hms.next()??);
    if it.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_frames_round_trip_and_reject_bad_lengths() {
        let head = "X-RequestId:abc\r\nContent-Type:audio/mpeg\r\nX-StreamId:s\r\nPath:audio\r\n";
        let frame = build_binary_frame(head, b"\xff\xf3mp3");
        let (h, body) = parse_binary_frame(&frame).unwrap();
        assert_eq!(h.get("Path").map(String::as_str), Some("audio"));
        assert_eq!(
            h.get("Content-Type").map(String::as_str),
            Some("audio/mpeg")
        );
        assert_eq!(body, b"\xff\xf3mp3");
        assert_eq!(parse_binary_frame(&[0]), Err(FrameError::TooShort(1)));
        assert!(matches!(
            parse_binary_frame(&[0, 50, 1]),
            Err(FrameError::HeaderTooLong { .. })
        ));
    }

    #[test]
    fn text_frames_and_messages() {
        let (h, body) = parse_text_frame("X-RequestId:1\r\nPath:turn.end\r\n\r\n{}");
        assert_eq!(h["Path"], "turn.end");
        assert_eq!(body, "{}");
        let m = ssml_message(
            "id1",
            "Thu Jan 01 2026 10:00:00 GMT+0000 (Coordinated Universal Time)",
            "<speak/>",
        );
        assert!(m.contains(
            "X-Timestamp:Thu Jan 01 2026 10:00:00 GMT+0000 (Coordinated Universal Time)Z\r\n"
        ));
        assert!(m.ends_with("Path:ssml\r\n\r\n<speak/>"));
        let c = speech_config_message("t", "audio-24khz-48kbitrate-mono-mp3");
        let (h, body) = parse_text_frame(&c);
        assert_eq!(h["Path"], "speech.config");
        let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(
            v["context"]["synthesis"]["audio"]["outputFormat"],
            "audio-24khz-48kbitrate-mono-mp3"
        );
        assert_eq!(
            v["context"]["synthesis"]["audio"]["metadataoptions"]["sentenceBoundaryEnabled"],
            "true"
        );
    }

    #[test]
    fn ssml_escapes_and_expands_the_voice() {
        let s = ssml(
            "hi-IN-SwaraNeural",
            "+0%",
            "+0Hz",
            "+0%",
            &escape_xml("A & B <ok>"),
        );
        assert!(s.contains("Microsoft Server Speech Text to Speech Voice (hi-IN, SwaraNeural)"));
        assert!(s.contains("A &amp; B &lt;ok&gt;"));
        assert_eq!(remove_incompatible_characters("a\u{1}b\nc"), "a b\nc");
        assert!(!has_speakable_content("...!!"));
        assert!(has_speakable_content("नमस्ते।"));
    }

    #[test]
    fn split_respects_escaped_length_and_characters() {
        let text = "नमस्ते & ".repeat(400);
        let pieces = split_text(&text, 200);
        assert!(pieces.len() > 1);
        assert!(pieces.iter().all(|p| escape_xml(p).len() <= 200));
        assert_eq!(pieces.concat(), text.trim_end().to_owned() + " ");
        assert_eq!(split_text("short", 4096), vec!["short".to_owned()]);
    }

    #[test]
    fn dates() {
        assert_eq!(
            js_date(1_767_261_600),
            "Thu Jan 01 2026 10:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        for t in [0, 951_782_400, 1_767_261_600, 1_798_000_123] {
            assert_eq!(parse_http_date(&http_date(t)), Some(t));
        }
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
