//! Plivo XML documents the answer URL returns (protocols §1.2, §1.3).
//!
//! The one that matters opens a bidirectional µ-law 8 kHz stream and keeps the call alive while
//! the socket is open; the others speak a short sentence and hang up (number not configured,
//! server error), so a caller never hears dead air or a Plivo error tone. Every attribute value
//! and text node is escaped here, since the stream URL carries a token and callback URLs carry
//! query strings.

/// Longest WebSocket URL Plivo accepts (protocols §1.3).
pub const MAX_STREAM_URL_LEN: usize = 2048;
/// Largest `extraHeaders` value Plivo accepts, in bytes.
pub const MAX_EXTRA_HEADERS_BYTES: usize = 512;
/// The codec we always ask for; `playAudio` must match it.
pub const STREAM_CONTENT_TYPE: &str = "audio/x-mulaw;rate=8000";

/// Why an answer document could not be rendered (a configuration mistake, not caller input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error(
        "stream URL must start with wss:// (or ws:// for local tests), got {scheme:?}; check PUBLIC_BASE_URL"
    )]
    StreamScheme { scheme: String },
    #[error("stream URL is {len} characters; Plivo accepts at most {MAX_STREAM_URL_LEN}")]
    StreamUrlTooLong { len: usize },
    #[error("streamTimeout must be at least 1 second")]
    ZeroTimeout,
    #[error(
        "extraHeaders entry {key:?} must be non-empty and free of ',', ';', '=' and quotes (Plivo parses them as separators)"
    )]
    ExtraHeaderChars { key: String },
    #[error("extraHeaders is {len} bytes; Plivo accepts at most {MAX_EXTRA_HEADERS_BYTES}")]
    ExtraHeadersTooLong { len: usize },
    #[error("{what} URL must be absolute http(s)://, got {url:?}")]
    CallbackUrl { what: &'static str, url: String },
}

/// What Plivo runs after our WebSocket closes (with `keepCallAlive="true"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AfterStream {
    /// `<Hangup/>`: the call ends when the bot closes the socket.
    #[default]
    Hangup,
    /// `<Redirect method="POST">url</Redirect>`: fetch more XML (e.g. a transfer document).
    Redirect(String),
    /// Nothing: Plivo ends the call with hangup cause 4010 "End Of XML Instructions".
    Nothing,
}

/// Everything in the `<Stream>` element besides the URL. `Default` is what we want for a call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamOptions {
    /// `streamTimeout` in seconds: a hard cap on the stream (Plivo's default is 86 400). Set it
    /// to the business's maximum call duration so a stuck call cannot bill for a day.
    pub stream_timeout_secs: Option<u32>,
    /// Where Plivo POSTs stream status events (the only push signal for a dropped stream).
    pub status_callback_url: Option<String>,
    /// `k=v` pairs echoed in every stream event. Never put secrets here: Plivo logs them.
    pub extra_headers: Vec<(String, String)>,
    /// What happens after the socket closes.
    pub after: AfterStream,
}

/// Escapes text for an XML text node or a double-quoted attribute, dropping characters XML 1.0
/// cannot carry at all (C0 controls other than tab, newline and carriage return).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn check_http_url(what: &'static str, url: &str) -> Result<(), XmlError> {
    let ok =
        (url.starts_with("https://") || url.starts_with("http://")) && url.len() > "http://".len();
    if ok {
        Ok(())
    } else {
        Err(XmlError::CallbackUrl {
            what,
            url: url.to_string(),
        })
    }
}

fn extra_headers_value(pairs: &[(String, String)]) -> Result<Option<String>, XmlError> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let bad = |s: &str| s.is_empty() || s.contains([',', ';', '=', '"', '\'']);
    for (k, v) in pairs {
        if bad(k) || v.contains([',', ';', '=', '"', '\'']) {
            return Err(XmlError::ExtraHeaderChars { key: k.clone() });
        }
    }
    let joined = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    if joined.len() > MAX_EXTRA_HEADERS_BYTES {
        return Err(XmlError::ExtraHeadersTooLong { len: joined.len() });
    }
    Ok(Some(joined))
}

/// The answer document that hands the call to our stream endpoint:
///
/// ```xml
/// <?xml version="1.0" encoding="UTF-8"?>
/// <Response><Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000" …>wss://…</Stream><Hangup/></Response>
/// ```
///
/// `bidirectional="true"` is what makes `playAudio` audible; `keepCallAlive="true"` keeps the
/// call up while the socket is open; the codec is always stated because Plivo's docs disagree
/// on its default. `audioTrack` stays at its default (`inbound`), the only value allowed with
/// bidirectional streams.
pub fn answer_xml(stream_url: &str, opts: &StreamOptions) -> Result<String, XmlError> {
    let scheme = stream_url.split("://").next().unwrap_or_default();
    if !stream_url.contains("://") || !matches!(scheme, "wss" | "ws") {
        return Err(XmlError::StreamScheme {
            scheme: scheme.chars().take(16).collect(),
        });
    }
    if stream_url.len() > MAX_STREAM_URL_LEN {
        return Err(XmlError::StreamUrlTooLong {
            len: stream_url.len(),
        });
    }
    let mut attrs =
        format!(r#"bidirectional="true" keepCallAlive="true" contentType="{STREAM_CONTENT_TYPE}""#);
    if let Some(secs) = opts.stream_timeout_secs {
        if secs == 0 {
            return Err(XmlError::ZeroTimeout);
        }
        attrs.push_str(&format!(r#" streamTimeout="{secs}""#));
    }
    if let Some(url) = &opts.status_callback_url {
        check_http_url("statusCallbackUrl", url)?;
        attrs.push_str(&format!(
            r#" statusCallbackUrl="{}" statusCallbackMethod="POST""#,
            escape(url)
        ));
    }
    if let Some(h) = extra_headers_value(&opts.extra_headers)? {
        attrs.push_str(&format!(r#" extraHeaders="{}""#, escape(&h)));
    }
    let after = match &opts.after {
        AfterStream::Hangup => "<Hangup/>".to_string(),
        AfterStream::Redirect(url) => {
            check_http_url("Redirect", url)?;
            format!(r#"<Redirect method="POST">{}</Redirect>"#, escape(url))
        }
        AfterStream::Nothing => String::new(),
    };
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Stream {attrs}>{}</Stream>{after}</Response>",
        escape(stream_url)
    ))
}

/// The voice Plivo's own `<Speak>` uses (only for the fallback documents below; the bot speaks
/// through the stream with our TTS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakVoice {
    /// `voice` attribute: `WOMAN`, `MAN`, or an Amazon Polly voice such as `Polly.Aditi`.
    pub voice: String,
    /// `language` attribute, e.g. `en-US`, `en-IN`; Hindi needs a Polly voice with `hi-IN`.
    pub language: String,
}

impl Default for SpeakVoice {
    fn default() -> Self {
        Self {
            voice: "WOMAN".into(),
            language: "en-US".into(),
        }
    }
}

/// `<Response><Speak …>text</Speak><Hangup/></Response>`: say one thing and end the call.
pub fn speak_and_hangup_xml(text: &str, voice: &SpeakVoice) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Speak voice=\"{}\" language=\"{}\">{}</Speak><Hangup/></Response>",
        escape(&voice.voice),
        escape(&voice.language),
        escape(text)
    )
}

/// What a caller hears when the dialled number belongs to no business.
pub const NOT_CONFIGURED_TEXT: &str =
    "Sorry, this number is not set up yet. Please try again later. Goodbye.";
/// What a caller hears when the server cannot take the call (storage down, bad config).
pub const ERROR_TEXT: &str =
    "Sorry, we cannot take your call right now. Please call again in a few minutes. Goodbye.";

/// What a caller hears when every line is taken (the server's concurrent-call limit).
pub const BUSY_TEXT: &str =
    "Sorry, all our lines are busy right now. Please call again in a few minutes. Goodbye.";
/// [`BUSY_TEXT`] in Hindi, for businesses whose callers are greeted in Hindi.
pub const BUSY_TEXT_HI: &str =
    "माफ़ कीजिए, अभी हमारी सभी लाइनें व्यस्त हैं। कृपया कुछ मिनट बाद फिर से कॉल करें। धन्यवाद।";

/// Plivo's Hindi voice (Amazon Polly), for callers greeted in Hindi.
fn hindi_voice() -> SpeakVoice {
    SpeakVoice {
        voice: "Polly.Aditi".into(),
        language: "hi-IN".into(),
    }
}

/// The answer for a call over the concurrent-call limit: a short apology and a hang-up, in
/// Hindi (Polly's Hindi voice) when `hindi`, else in English.
pub fn busy_xml(hindi: bool) -> String {
    if hindi {
        speak_and_hangup_xml(BUSY_TEXT_HI, &hindi_voice())
    } else {
        speak_and_hangup_xml(BUSY_TEXT, &SpeakVoice::default())
    }
}

/// What a caller hears while the server cannot save anything (disk full or failing), before
/// being put through to the business's staff.
pub const TROUBLE_TRANSFER_TEXT: &str = "Sorry, we have a technical problem and cannot take \
     bookings right now. Please hold, we are connecting you to our staff.";
/// [`TROUBLE_TRANSFER_TEXT`] in Hindi.
pub const TROUBLE_TRANSFER_TEXT_HI: &str = "माफ़ कीजिए, अभी तकनीकी समस्या के कारण हम बुकिंग नहीं ले \
     सकते। कृपया रुकिए, हम आपको अपने स्टाफ़ से जोड़ रहे हैं।";
/// What a caller hears while the server cannot save anything and the business has no staff
/// number to put them through to.
pub const TROUBLE_TEXT: &str = "Sorry, we have a technical problem and cannot take your call \
     right now. Please call again a little later. Goodbye.";
/// [`TROUBLE_TEXT`] in Hindi.
pub const TROUBLE_TEXT_HI: &str = "माफ़ कीजिए, अभी तकनीकी समस्या के कारण हम आपकी कॉल नहीं ले \
     सकते। कृपया थोड़ी देर बाद फिर से कॉल करें। धन्यवाद।";

/// The answer while storage cannot write (the bot could not keep a booking): an apology, then
/// the staff number `transfer_to` (E.164) when there is one, else a hang-up. In Hindi when
/// `hindi`, else in English.
pub fn trouble_xml(hindi: bool, transfer_to: Option<&str>) -> String {
    let voice = if hindi {
        hindi_voice()
    } else {
        SpeakVoice::default()
    };
    match (transfer_to, hindi) {
        (Some(number), true) => speak_and_dial_xml(TROUBLE_TRANSFER_TEXT_HI, &voice, number),
        (Some(number), false) => speak_and_dial_xml(TROUBLE_TRANSFER_TEXT, &voice, number),
        (None, true) => speak_and_hangup_xml(TROUBLE_TEXT_HI, &voice),
        (None, false) => speak_and_hangup_xml(TROUBLE_TEXT, &voice),
    }
}

/// `<Response><Speak …>text</Speak><Dial><Number>…</Number></Dial></Response>`: say one thing,
/// then connect the caller to a person (`number` E.164, with or without `+`).
pub fn speak_and_dial_xml(text: &str, voice: &SpeakVoice, number: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Speak voice=\"{}\" language=\"{}\">{}</Speak><Dial><Number>{}</Number></Dial></Response>",
        escape(&voice.voice),
        escape(&voice.language),
        escape(text),
        escape(number.trim_start_matches('+'))
    )
}

/// `<Response><Dial><Number>…</Number></Dial></Response>`: connect the caller to a person.
/// `number` is E.164 with or without `+` (Plivo wants the digits).
pub fn dial_xml(number: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Dial><Number>{}</Number></Dial></Response>",
        escape(number.trim_start_matches('+'))
    )
}

/// The answer for a dialled number that no business owns.
pub fn not_configured_xml() -> String {
    speak_and_hangup_xml(NOT_CONFIGURED_TEXT, &SpeakVoice::default())
}

/// The answer when the call cannot be handled; still a valid document, so Plivo does not fail
/// the call with 7011/8011 and the caller hears why.
pub fn error_xml() -> String {
    speak_and_hangup_xml(ERROR_TEXT, &SpeakVoice::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trouble_documents_apologise_then_dial_or_hang_up() {
        assert_eq!(
            trouble_xml(false, Some("+919415027700")),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Speak voice=\"WOMAN\" language=\"en-US\">{TROUBLE_TRANSFER_TEXT}</Speak><Dial><Number>919415027700</Number></Dial></Response>"
            )
        );
        let hindi = trouble_xml(true, None);
        assert!(hindi.contains("language=\"hi-IN\""), "{hindi}");
        assert!(hindi.contains(TROUBLE_TEXT_HI), "{hindi}");
        assert!(hindi.ends_with("<Hangup/></Response>"), "{hindi}");
        assert!(trouble_xml(true, Some("919415027700")).contains(TROUBLE_TRANSFER_TEXT_HI));
        assert!(trouble_xml(false, None).contains(TROUBLE_TEXT));
    }

    #[test]
    fn busy_and_dial_documents_are_exact() {
        assert_eq!(
            busy_xml(false),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Speak voice=\"WOMAN\" language=\"en-US\">{BUSY_TEXT}</Speak><Hangup/></Response>"
            )
        );
        assert!(busy_xml(true).contains("language=\"hi-IN\""));
        assert_eq!(
            dial_xml("+911352710099"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Dial><Number>911352710099</Number></Dial></Response>"
        );
    }

    #[test]
    fn default_stream_document_is_exact() {
        let xml = answer_xml(
            "wss://bot.example.in/plivo/stream?token=abc",
            &StreamOptions::default(),
        )
        .unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Stream bidirectional=\"true\" keepCallAlive=\"true\" contentType=\"audio/x-mulaw;rate=8000\">wss://bot.example.in/plivo/stream?token=abc</Stream><Hangup/></Response>"
        );
    }

    #[test]
    fn all_options_are_rendered_and_escaped() {
        let opts = StreamOptions {
            stream_timeout_secs: Some(900),
            status_callback_url: Some("https://bot.example.in/plivo/stream-status?a=1&b=2".into()),
            extra_headers: vec![
                ("tenant".into(), "himalayan-kitchen".into()),
                ("callref".into(), "abc123".into()),
            ],
            after: AfterStream::Redirect("https://bot.example.in/plivo/after?x=<y>".into()),
        };
        let xml = answer_xml("wss://h/plivo/stream?token=a&b=\"c\"", &opts).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Stream bidirectional=\"true\" keepCallAlive=\"true\" contentType=\"audio/x-mulaw;rate=8000\" streamTimeout=\"900\" statusCallbackUrl=\"https://bot.example.in/plivo/stream-status?a=1&amp;b=2\" statusCallbackMethod=\"POST\" extraHeaders=\"tenant=himalayan-kitchen,callref=abc123\">wss://h/plivo/stream?token=a&amp;b=&quot;c&quot;</Stream><Redirect method=\"POST\">https://bot.example.in/plivo/after?x=&lt;y&gt;</Redirect></Response>"
        );
        let nothing = StreamOptions {
            after: AfterStream::Nothing,
            ..StreamOptions::default()
        };
        assert!(
            answer_xml("ws://127.0.0.1:9/s", &nothing)
                .unwrap()
                .ends_with("</Stream></Response>")
        );
    }

    #[test]
    fn configuration_mistakes_are_errors() {
        let d = StreamOptions::default();
        assert!(matches!(
            answer_xml("https://h/s", &d),
            Err(XmlError::StreamScheme { .. })
        ));
        assert!(matches!(
            answer_xml("h/s", &d),
            Err(XmlError::StreamScheme { .. })
        ));
        let long = format!("wss://h/{}", "a".repeat(MAX_STREAM_URL_LEN));
        assert!(matches!(
            answer_xml(&long, &d),
            Err(XmlError::StreamUrlTooLong { .. })
        ));
        let zero = StreamOptions {
            stream_timeout_secs: Some(0),
            ..d.clone()
        };
        assert_eq!(answer_xml("wss://h/s", &zero), Err(XmlError::ZeroTimeout));
        let bad_header = StreamOptions {
            extra_headers: vec![("a".into(), "1,b=2".into())],
            ..d.clone()
        };
        assert!(matches!(
            answer_xml("wss://h/s", &bad_header),
            Err(XmlError::ExtraHeaderChars { .. })
        ));
        let big = StreamOptions {
            extra_headers: vec![("k".into(), "v".repeat(600))],
            ..d.clone()
        };
        assert!(matches!(
            answer_xml("wss://h/s", &big),
            Err(XmlError::ExtraHeadersTooLong { .. })
        ));
        let bad_cb = StreamOptions {
            status_callback_url: Some("/relative".into()),
            ..d
        };
        assert!(matches!(
            answer_xml("wss://h/s", &bad_cb),
            Err(XmlError::CallbackUrl { .. })
        ));
    }

    #[test]
    fn speak_documents_escape_text_and_hang_up() {
        let xml = speak_and_hangup_xml(
            "Tom & Jerry's <table>\u{7}",
            &SpeakVoice {
                voice: "Polly.Aditi".into(),
                language: "hi-IN".into(),
            },
        );
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Speak voice=\"Polly.Aditi\" language=\"hi-IN\">Tom &amp; Jerry&apos;s &lt;table&gt;</Speak><Hangup/></Response>"
        );
        assert!(not_configured_xml().contains("not set up"));
        assert!(error_xml().contains("<Hangup/>"));
    }
}
