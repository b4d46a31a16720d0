//! Logging: readable console lines (or JSON), daily-rotated files kept 30 days, and a last
//! line of defence that scrubs secrets and phone numbers from every line written.
//!
//! The code never logs a phone number or a secret on purpose (phone numbers travel as hashes,
//! secrets as [`crate::secrets::Secret`]). The scrubbing writer exists because "never" is a
//! promise about code not yet written: if someone adds `info!(?request)` with a caller number
//! inside, the line still leaves the process redacted.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::LogFormat;

/// How many daily log files are kept before the oldest is deleted.
pub const LOG_FILES_KEPT: usize = 30;

/// Keeps the background log-file writer alive; drop it last so buffered lines are flushed.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// What to log and where.
pub struct LogConfig<'a> {
    pub level: &'a str,
    pub format: LogFormat,
    /// Folder for daily files; `None` logs to the console only.
    pub dir: Option<&'a Path>,
    /// Exact strings that must never appear in a log line.
    pub secrets: Vec<String>,
}

/// Installs the global subscriber. Call once, at the start of `main`.
pub fn init(config: LogConfig<'_>) -> anyhow::Result<LogGuard> {
    let filter = EnvFilter::try_new(config.level)
        .map_err(|e| anyhow::anyhow!("LOG_LEVEL {:?} is not a valid filter: {e}", config.level))?;
    let scrubber = Arc::new(Scrubber::new(config.secrets));
    let console = ScrubbingMakeWriter {
        inner: io::stderr,
        scrubber: scrubber.clone(),
        kind: match config.format {
            LogFormat::Pretty => LineKind::Text,
            LogFormat::Json => LineKind::Json,
        },
    };
    let (file_writer, file_guard) = match config.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("could not create the log directory {}: {e}", dir.display())
            })?;
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("vartalaap")
                .filename_suffix("log")
                .max_log_files(LOG_FILES_KEPT)
                .build(dir)
                .map_err(|e| {
                    anyhow::anyhow!("could not open log files in {}: {e}", dir.display())
                })?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(ScrubbingMakeWriter {
                    inner: writer,
                    scrubber,
                    kind: LineKind::Json,
                }),
                Some(guard),
            )
        }
        None => (None, None),
    };
    // Files are always JSON: they are read by tools, and one event per line survives grep.
    let file_layer = file_writer.map(|w| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_ansi(false)
            .with_writer(w)
    });
    let registry = tracing_subscriber::registry().with(filter).with(file_layer);
    let result = match config.format {
        LogFormat::Pretty => registry
            .with(tracing_subscriber::fmt::layer().with_writer(console))
            .try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().with_writer(console))
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("logging was already initialised: {e}"))?;
    Ok(LogGuard { _file: file_guard })
}

/// Replaces known secrets and phone-number-like digit runs with placeholders.
#[derive(Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

/// Counts the secrets instead of printing them: the scrubber holds every secret the server has.
impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.secrets.len()),
            )
            .finish()
    }
}

impl Scrubber {
    pub fn new(mut secrets: Vec<String>) -> Self {
        // Short values would blank out ordinary words; real secrets here are long.
        secrets.retain(|s| s.len() >= 8);
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    /// The line with secrets as `[redacted]` and phone numbers as `[phone]`. With
    /// [`LineKind::Json`], a number outside any string becomes the string `"[phone]"`, so the
    /// line stays valid JSON.
    pub fn scrub(&self, line: &str, kind: LineKind) -> String {
        let mut text = line.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[redacted]");
            }
        }
        redact_phone_numbers(&text, kind)
    }
}

/// What a log line is, which decides how a redaction is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Free text, possibly with ANSI colour codes.
    Text,
    /// One JSON object: a number redacted outside a string is written as a string.
    Json,
}

/// One visible character of a log line and the bytes of the line it stands for.
///
/// Colour codes, backslash escapes (`\n` in a Debug-formatted or JSON string) and percent
/// escapes (`%2B`, `%20` in a logged URL) are not what a reader sees: a phone number written
/// right after a colour code, a `\n`, or as `%2B91…` must still be found.
#[derive(Clone, Copy)]
struct Visible {
    /// What the scanner sees: `BREAK` for a colour code or escape, `+`/` ` for `%2B`/`%20`.
    ch: char,
    start: usize,
    end: usize,
    /// Inside a JSON string (only tracked for [`LineKind::Json`]).
    in_string: bool,
}

/// Stands for text that separates words but is neither a digit nor a group separator.
const BREAK: char = '\u{0}';

fn visible_chars(text: &str, kind: LineKind) -> Vec<Visible> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len());
    let mut in_string = false;
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(BREAK);
        let (ch, len) = match c {
            // ANSI CSI sequence: ESC [ parameters final-byte.
            '\u{1b}' => {
                let mut j = i + 1;
                if bytes.get(j) == Some(&b'[') {
                    j += 1;
                    while j < bytes.len() && !(0x40..=0x7e).contains(&bytes[j]) {
                        j += 1;
                    }
                    j = (j + 1).min(bytes.len());
                }
                (BREAK, j - i)
            }
            // `\u001b[…m` inside a JSON string is a colour code too.
            '\\' if text[i..].starts_with("\\u001b[") => {
                let mut j = i + "\\u001b[".len();
                while j < bytes.len() && !(0x40..=0x7e).contains(&bytes[j]) {
                    j += 1;
                }
                (BREAK, (j + 1).min(bytes.len()) - i)
            }
            '\\' => {
                let next = text[i + 1..].chars().next().map_or(0, char::len_utf8);
                (BREAK, 1 + next)
            }
            // Bytes, not `str` slices: a `%` may be followed by a multi-byte character.
            '%' if bytes
                .get(i + 1..i + 3)
                .is_some_and(|b| b.eq_ignore_ascii_case(b"2b")) =>
            {
                ('+', 3)
            }
            '%' if text[i..].starts_with("%20") => (' ', 3),
            other => (other, other.len_utf8()),
        };
        if kind == LineKind::Json && ch == '"' {
            in_string = !in_string;
        }
        out.push(Visible {
            ch,
            start: i,
            end: i + len,
            in_string: in_string && ch != '"',
        });
        i += len;
    }
    out
}

/// Redacts digit runs that look like phone numbers.
///
/// A run is digits joined by single spaces or hyphens, optionally led by `+` (or `%2B`). It is
/// a phone number when it has 10–15 digits and either starts with `+` or `0`, has a group of
/// five or more digits, is one unbroken group, or is grouped the way numbers are read out
/// (`987 654 3210`, `91 98765 43210`: every group of three or more digits, except a two-digit
/// country code first). Dates and times ("2026-12-31 19:00") have two-digit groups and survive.
pub fn redact_phone_numbers(text: &str, kind: LineKind) -> String {
    let chars = visible_chars(text, kind);
    let is_word = |c: char| c.is_alphanumeric();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_plus =
            chars[i].ch == '+' && chars.get(i + 1).is_some_and(|c| c.ch.is_ascii_digit());
        let boundary_before = i == 0 || !is_word(chars[i - 1].ch);
        if (starts_plus || chars[i].ch.is_ascii_digit()) && boundary_before {
            let start = i;
            let mut j = if starts_plus { i + 1 } else { i };
            let mut digits = 0;
            let mut groups = Vec::new();
            let mut group = 0;
            let mut end = j;
            while j < chars.len() {
                let c = chars[j].ch;
                if c.is_ascii_digit() {
                    digits += 1;
                    group += 1;
                    j += 1;
                    end = j;
                } else if (c == ' ' || c == '-')
                    && group > 0
                    && chars.get(j + 1).is_some_and(|n| n.ch.is_ascii_digit())
                {
                    groups.push(group);
                    group = 0;
                    j += 1;
                } else {
                    break;
                }
            }
            groups.push(group);
            let boundary_after = chars.get(end).is_none_or(|c| !is_word(c.ch));
            let first_digit = chars[if starts_plus { start + 1 } else { start }].ch;
            let read_out_grouping = groups
                .iter()
                .enumerate()
                .all(|(n, g)| *g >= 3 || (n == 0 && *g == 2 && groups.len() > 2));
            let phone_like = (10..=15).contains(&digits)
                && boundary_after
                && (starts_plus
                    || first_digit == '0'
                    || groups.len() == 1
                    || groups.iter().any(|g| *g >= 5)
                    || read_out_grouping);
            if phone_like {
                if kind == LineKind::Json && !chars[start].in_string {
                    // A JSON number: the sign goes with it, the placeholder is a string.
                    if out.ends_with('-') {
                        out.pop();
                    }
                    out.push_str("\"[phone]\"");
                } else {
                    out.push_str("[phone]");
                }
            } else {
                out.push_str(&text[chars[start].start..chars[end - 1].end]);
            }
            i = end.max(start + 1);
        } else {
            out.push_str(&text[chars[i].start..chars[i].end]);
            i += 1;
        }
    }
    out
}

/// Wraps a writer factory so every event is scrubbed before it is written.
#[derive(Clone)]
struct ScrubbingMakeWriter<M> {
    inner: M,
    scrubber: Arc<Scrubber>,
    kind: LineKind,
}

impl<'a, M> MakeWriter<'a> for ScrubbingMakeWriter<M>
where
    M: MakeWriter<'a>,
{
    type Writer = ScrubbingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingWriter {
            inner: self.inner.make_writer(),
            scrubber: self.scrubber.clone(),
            kind: self.kind,
            buffer: Vec::new(),
        }
    }
}

/// Collects one event, then writes it scrubbed when dropped (the fmt layer makes one writer per
/// event, so a phone number split across two `write` calls is still caught).
struct ScrubbingWriter<W: Write> {
    inner: W,
    scrubber: Arc<Scrubber>,
    kind: LineKind,
    buffer: Vec<u8>,
}

impl<W: Write> Write for ScrubbingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            let text = String::from_utf8_lossy(&self.buffer);
            let clean = self.scrubber.scrub(&text, self.kind);
            self.inner.write_all(clean.as_bytes())?;
            self.buffer.clear();
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for ScrubbingWriter<W> {
    fn drop(&mut self) {
        // Nowhere to report a failed log write; losing the line is the only option.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_sign_before_a_multibyte_character_is_not_a_split_point() {
        // Found by a template error whose message quoted Hindi text after a `%`: slicing two
        // bytes after the `%` landed inside `।` and the log writer panicked mid-turn.
        for line in ["50%।", "छूट 10%। +91 98765 43210", "%2", "%"] {
            let out = Scrubber::default().scrub(line, LineKind::Text);
            assert!(!out.contains("98765"), "{out}");
        }
        let encoded = Scrubber::default().scrub("to %2B919876543210", LineKind::Text);
        assert!(!encoded.contains("9876543210"), "{encoded}");
    }

    #[test]
    fn debug_of_the_scrubber_counts_its_secrets_without_showing_them() {
        let scrubber = Scrubber::new(vec![
            "session-secret-value-1234".into(),
            "plivo-auth-token-5678".into(),
        ]);
        let shown = format!("{scrubber:?} {scrubber:#?}");
        assert!(!shown.contains("session-secret-value"), "{shown}");
        assert!(!shown.contains("plivo-auth-token"), "{shown}");
        assert!(shown.contains("<2 redacted>"), "{shown}");
    }

    #[test]
    fn phone_numbers_in_every_common_shape_are_redacted() {
        for phone in [
            "+919876543210",
            "+91 98765 43210",
            "+91-98765-43210",
            "098765 43210",
            "9876543210",
            "98765 43210",
            "+91 135 271 0000",
            "00919876543210",
            "987 654 3210",
            "91 98765 43210",
            "+91 98765-43210",
            "%2B919876543210",
            "%2b91%2098765%2043210",
        ] {
            let line = format!("caller {phone} booked");
            assert_eq!(
                redact_phone_numbers(&line, LineKind::Text),
                "caller [phone] booked",
                "{phone}"
            );
        }
    }

    #[test]
    fn dates_times_and_ordinary_numbers_survive() {
        for text in [
            "2026-12-31 19:00 party of 4",
            "took 1234 ms",
            "version 3f2a1b9c88d0",
            "2026-11-26T17:00:00.123456Z",
            "covers 40, slot 30",
            "abc1234567890def",
            "2026-12-31 19 00",
            "ids 12 345 678 90",
            "%2Bnot a number",
        ] {
            assert_eq!(redact_phone_numbers(text, LineKind::Text), text);
        }
    }

    #[test]
    fn colour_codes_and_escapes_do_not_hide_a_number() {
        // What the pretty format prints for `caller = 9876543210` with colour on.
        let coloured = "\u{1b}[3mcaller\u{1b}[0m\u{1b}[2m=\u{1b}[0m9876543210 \u{1b}[1mx\u{1b}[0m";
        assert_eq!(
            redact_phone_numbers(coloured, LineKind::Text),
            "\u{1b}[3mcaller\u{1b}[0m\u{1b}[2m=\u{1b}[0m[phone] \u{1b}[1mx\u{1b}[0m"
        );
        // A Debug-formatted string with a newline right before the number.
        assert_eq!(
            redact_phone_numbers(r#"text: "line\n+919876543210""#, LineKind::Text),
            r#"text: "line\n[phone]""#
        );
    }

    #[test]
    fn json_lines_stay_valid_json() {
        let line = r#"{"fields":{"from":9876543210,"neg":-919876543210,"to":"+91 98765 43210","url":"/plivo/answer?From=%2B919876543210","msg":"a\n9876543210"},"level":"INFO"}"#;
        let clean = redact_phone_numbers(line, LineKind::Json);
        let parsed: serde_json::Value = serde_json::from_str(&clean).expect(&clean);
        assert_eq!(parsed["fields"]["from"], "[phone]");
        assert_eq!(parsed["fields"]["neg"], "[phone]");
        assert_eq!(parsed["fields"]["to"], "[phone]");
        assert_eq!(parsed["fields"]["url"], "/plivo/answer?From=[phone]");
        assert_eq!(parsed["fields"]["msg"], "a\n[phone]");
        assert_eq!(parsed["level"], "INFO");
        // Escaped quotes inside a string do not confuse where strings end.
        let quoted = r#"{"m":"say \"hi\" 9876543210","n":9876543210}"#;
        let clean = redact_phone_numbers(quoted, LineKind::Json);
        assert_eq!(clean, r#"{"m":"say \"hi\" [phone]","n":"[phone]"}"#);
    }

    #[test]
    fn secrets_are_replaced_longest_first() {
        let scrubber = Scrubber::new(vec![
            "short".to_string(),
            "secret-token-1234".to_string(),
            "secret-token-1234-extended".to_string(),
        ]);
        assert_eq!(
            scrubber.scrub(
                "a secret-token-1234-extended b secret-token-1234 short",
                LineKind::Text
            ),
            "a [redacted] b [redacted] short"
        );
    }

    #[test]
    fn writer_scrubs_on_flush() {
        let scrubber = Arc::new(Scrubber::new(vec!["topsecretvalue".into()]));
        let mut sink = Vec::new();
        {
            let mut writer = ScrubbingWriter {
                inner: &mut sink,
                scrubber,
                kind: LineKind::Text,
                buffer: Vec::new(),
            };
            writer.write_all(b"key=topsecret").unwrap();
            writer.write_all(b"value phone=+91 98765").unwrap();
            writer.write_all(b" 43210\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(sink).unwrap(),
            "key=[redacted] phone=[phone]\n"
        );
    }
}
