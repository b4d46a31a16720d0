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
#[derive(Debug, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub fn new(mut secrets: Vec<String>) -> Self {
        // Short values would blank out ordinary words; real secrets here are long.
        secrets.retain(|s| s.len() >= 8);
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    /// The line with secrets as `[redacted]` and phone numbers as `[phone]`.
    pub fn scrub(&self, line: &str) -> String {
        let mut text = line.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[redacted]");
            }
        }
        redact_phone_numbers(&text)
    }
}

/// Redacts digit runs that look like phone numbers.
///
/// A run is digits joined by single spaces or hyphens, optionally led by `+`. It is a phone
/// number when it has 10–15 digits and either starts with `+` or `0`, has a group of five or
/// more digits, or is one unbroken group. Dates and times ("2026-12-31 19:00") have short
/// groups and survive.
pub fn redact_phone_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_plus = chars[i] == '+' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit());
        let boundary_before = i == 0 || !chars[i - 1].is_alphanumeric();
        if (starts_plus || chars[i].is_ascii_digit()) && boundary_before {
            let start = i;
            let mut j = if starts_plus { i + 1 } else { i };
            let mut digits = 0;
            let mut groups = Vec::new();
            let mut group = 0;
            let mut end = j;
            while j < chars.len() {
                let c = chars[j];
                if c.is_ascii_digit() {
                    digits += 1;
                    group += 1;
                    j += 1;
                    end = j;
                } else if (c == ' ' || c == '-')
                    && group > 0
                    && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit())
                {
                    groups.push(group);
                    group = 0;
                    j += 1;
                } else {
                    break;
                }
            }
            groups.push(group);
            let boundary_after = chars.get(end).is_none_or(|c| !c.is_alphanumeric());
            let first_digit = chars[if starts_plus { start + 1 } else { start }];
            let phone_like = (10..=15).contains(&digits)
                && boundary_after
                && (starts_plus
                    || first_digit == '0'
                    || groups.len() == 1
                    || groups.iter().any(|g| *g >= 5));
            if phone_like {
                out.push_str("[phone]");
            } else {
                out.extend(&chars[start..end]);
            }
            i = end.max(start + 1);
        } else {
            out.push(chars[i]);
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
            buffer: Vec::new(),
        }
    }
}

/// Collects one event, then writes it scrubbed when dropped (the fmt layer makes one writer per
/// event, so a phone number split across two `write` calls is still caught).
struct ScrubbingWriter<W: Write> {
    inner: W,
    scrubber: Arc<Scrubber>,
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
            let clean = self.scrubber.scrub(&text);
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
        ] {
            let line = format!("caller {phone} booked");
            assert_eq!(
                redact_phone_numbers(&line),
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
        ] {
            assert_eq!(redact_phone_numbers(text), text);
        }
    }

    #[test]
    fn secrets_are_replaced_longest_first() {
        let scrubber = Scrubber::new(vec![
            "short".to_string(),
            "secret-token-1234".to_string(),
            "secret-token-1234-extended".to_string(),
        ]);
        assert_eq!(
            scrubber.scrub("a secret-token-1234-extended b secret-token-1234 short"),
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
