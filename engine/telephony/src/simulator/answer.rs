//! The answer-URL leg: what Plivo POSTs when a call comes in, and how it reads the XML back.

use std::time::Duration;

use super::SimError;
use crate::form::encode_form;
use crate::signature::{NONCE_V3_HEADER, SIGNATURE_MA_V3_HEADER, SIGNATURE_V3_HEADER, sign_v3};

/// Plivo gives up on an answer URL after this long (its XML deadline, protocols §1.2).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(15);
/// Plivo refuses answer documents larger than this.
pub const MAX_ANSWER_BYTES: usize = 100 * 1024;

/// The `<Stream>` element of an answer document, as Plivo reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamElement {
    /// The element's text: the WebSocket URL to dial.
    pub url: String,
    /// Attributes in document order (values unescaped).
    pub attributes: Vec<(String, String)>,
    /// What the document does once the stream's socket closes.
    pub then: NextElement,
}

/// The element after `<Stream>` (run when the socket closes, with `keepCallAlive="true"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextElement {
    /// Nothing: Plivo ends the call, hangup cause 4010 "End Of XML Instructions".
    Nothing,
    /// `<Hangup/>`.
    Hangup,
    /// `<Redirect>url</Redirect>`: Plivo POSTs there and runs what comes back.
    Redirect(String),
    /// `<Dial><Number>n</Number></Dial>`: the caller is connected to a person.
    Dial(String),
    /// An element the simulator does not follow, by name.
    Other(String),
}

/// Reads the first element of `rest` (the document after `</Stream>`), for what happens next.
pub fn next_element(rest: &str) -> Result<NextElement, SimError> {
    let Some(lt) = rest.find('<') else {
        return Ok(NextElement::Nothing);
    };
    let tag = &rest[lt + 1..];
    let name: String = tag
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    match name.as_str() {
        "" => Ok(NextElement::Nothing), // `</Response>`
        "Hangup" => Ok(NextElement::Hangup),
        "Redirect" => {
            let (_, url) = element(rest, "Redirect")?.unwrap_or_default();
            Ok(NextElement::Redirect(unescape(url.trim())))
        }
        "Dial" => {
            let number = element(rest, "Number")?
                .map(|(_, n)| unescape(n.trim()))
                .unwrap_or_default();
            Ok(NextElement::Dial(number))
        }
        other => Ok(NextElement::Other(other.to_string())),
    }
}

impl StreamElement {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the answer document told Plivo to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerDocument {
    /// Open this stream.
    Stream(StreamElement),
    /// No stream: the document speaks (the `<Speak>` text, if any), dials someone, or hangs up.
    NoStream {
        spoken: Option<String>,
        /// The `<Dial><Number>` if the document connects the caller to a person.
        dial: Option<String>,
        hangup: bool,
    },
}

/// Undoes XML escaping (the five named entities and numeric references).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(end) = after.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Finds `<name …>text</name>`; returns (attribute source, text). Self-closing tags have no text.
fn element<'a>(doc: &'a str, name: &str) -> Result<Option<(&'a str, &'a str)>, SimError> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(pos) = doc[from..].find(&open) {
        let start = from + pos + open.len();
        // `<StreamFoo` is not `<Stream`.
        match doc[start..].chars().next() {
            Some(c) if c.is_whitespace() || c == '>' || c == '/' => {}
            _ => {
                from = start;
                continue;
            }
        }
        let gt = doc[start..]
            .find('>')
            .ok_or_else(|| SimError::BadXml(format!("<{name}> tag is not closed")))?;
        let attrs = &doc[start..start + gt];
        if attrs.trim_end().ends_with('/') {
            return Ok(Some((attrs.trim_end().trim_end_matches('/'), "")));
        }
        let body_start = start + gt + 1;
        let close = format!("</{name}>");
        let end = doc[body_start..]
            .find(&close)
            .ok_or_else(|| SimError::BadXml(format!("missing {close}")))?;
        return Ok(Some((attrs, &doc[body_start..body_start + end])));
    }
    Ok(None)
}

fn attributes(src: &str) -> Result<Vec<(String, String)>, SimError> {
    let mut out = Vec::new();
    let mut rest = src.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| SimError::BadXml(format!("attribute without value near {rest:?}")))?;
        let name = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| SimError::BadXml(format!("attribute {name} is not quoted")))?;
        let close = after[1..]
            .find(quote)
            .ok_or_else(|| SimError::BadXml(format!("attribute {name} is not terminated")))?;
        out.push((name, unescape(&after[1..1 + close])));
        rest = after[1 + close + 1..].trim_start();
    }
    Ok(out)
}

/// Reads an answer document the way Plivo does for the parts the simulator needs.
pub fn parse_answer(doc: &str) -> Result<AnswerDocument, SimError> {
    let trimmed = doc.trim_start();
    let body = trimmed
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>").map(|(_, b)| b))
        .unwrap_or(trimmed);
    if !body.trim_start().starts_with("<Response") {
        return Err(SimError::BadXml(
            "document does not start with <Response>".into(),
        ));
    }
    if let Some((attrs, text)) = element(doc, "Stream")? {
        let url = unescape(text.trim());
        let rest = doc
            .find("</Stream>")
            .map_or("", |i| &doc[i + "</Stream>".len()..]);
        return Ok(AnswerDocument::Stream(StreamElement {
            url,
            attributes: attributes(attrs)?,
            then: next_element(rest)?,
        }));
    }
    let spoken = element(doc, "Speak")?.map(|(_, text)| unescape(text.trim()));
    let dial = match element(doc, "Dial")? {
        Some(_) => element(doc, "Number")?.map(|(_, n)| unescape(n.trim())),
        None => None,
    };
    let hangup = element(doc, "Hangup")?.is_some();
    Ok(AnswerDocument::NoStream {
        spoken,
        dial,
        hangup,
    })
}

/// The answer request's form fields for an inbound call (numbers as Plivo sends them: E.164
/// digits without `+`).
pub fn answer_params(call_uuid: &str, from: &str, to: &str) -> Vec<(String, String)> {
    let digits = |n: &str| n.trim_start_matches('+').to_string();
    vec![
        ("CallUUID".into(), call_uuid.into()),
        ("CallStatus".into(), "ringing".into()),
        ("Direction".into(), "inbound".into()),
        ("Event".into(), "StartApp".into()),
        ("From".into(), digits(from)),
        ("To".into(), digits(to)),
        ("CallerName".into(), digits(from)),
        ("BillRate".into(), "0.0085".into()),
        (
            "SessionStart".into(),
            chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        ),
    ]
}

/// POSTs a form signed with V3 the way Plivo signs its webhooks; returns status, content type
/// and body (capped at [`MAX_ANSWER_BYTES`]).
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    auth_token: &str,
    params: &[(String, String)],
) -> Result<(u16, String, Vec<u8>), SimError> {
    let nonce = super::random_nonce();
    let signature = sign_v3(auth_token, "POST", url, params, &nonce)?;
    let response = client
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(SIGNATURE_V3_HEADER, &signature)
        .header(SIGNATURE_MA_V3_HEADER, &signature)
        .header(NONCE_V3_HEADER, &nonce)
        .body(encode_form(params))
        .timeout(ANSWER_DEADLINE)
        .send()
        .await
        .map_err(|e| SimError::AnswerUnreachable(without_url(e)))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = response
        .bytes()
        .await
        .map_err(|e| SimError::AnswerUnreachable(without_url(e)))?;
    if body.len() > MAX_ANSWER_BYTES {
        return Err(SimError::AnswerNotXml(format!("{} bytes", body.len())));
    }
    Ok((status, content_type, body.to_vec()))
}

/// POSTs a signed XML-fetching request (answer or redirect URL) and returns the document,
/// enforcing Plivo's rules (200, an XML content type, < 100 KB, within 15 s).
pub async fn fetch_xml(
    client: &reqwest::Client,
    url: &str,
    auth_token: &str,
    params: &[(String, String)],
) -> Result<String, SimError> {
    let (status, content_type, body) = post_signed(client, url, auth_token, params).await?;
    if status != 200 {
        return Err(SimError::AnswerStatus { status });
    }
    if !content_type.contains("xml") {
        return Err(SimError::AnswerNotXml(format!(
            "content type {content_type:?}"
        )));
    }
    String::from_utf8(body).map_err(|_| SimError::AnswerNotXml("not UTF-8".into()))
}

fn without_url(e: reqwest::Error) -> String {
    // The URL may carry secrets in its query; the error kind is what matters.
    let kind = if e.is_timeout() {
        "timed out (Plivo would hang up with 7011)"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{StreamOptions, answer_xml, not_configured_xml};

    #[test]
    fn reads_back_what_answer_xml_writes() {
        let opts = StreamOptions {
            stream_timeout_secs: Some(600),
            status_callback_url: Some("https://h/status?a=1&b=2".into()),
            extra_headers: vec![("tenant".into(), "hk".into())],
            ..StreamOptions::default()
        };
        let url = "wss://h/plivo/stream?token=v1.abc&x=\"y\"";
        let doc = answer_xml(url, &opts).unwrap();
        let AnswerDocument::Stream(s) = parse_answer(&doc).unwrap() else {
            panic!("no stream")
        };
        assert_eq!(s.url, url);
        assert_eq!(s.attr("bidirectional"), Some("true"));
        assert_eq!(s.attr("contentType"), Some("audio/x-mulaw;rate=8000"));
        assert_eq!(
            s.attr("statusCallbackUrl"),
            Some("https://h/status?a=1&b=2")
        );
        assert_eq!(s.attr("extraHeaders"), Some("tenant=hk"));
        assert_eq!(s.attr("streamTimeout"), Some("600"));
        assert_eq!(s.then, NextElement::Hangup);
    }

    #[test]
    fn reads_what_follows_the_stream() {
        let stream = |after: &str| {
            let doc = format!(
                "<Response><Stream bidirectional=\"true\">wss://h/s</Stream>{after}</Response>"
            );
            match parse_answer(&doc).unwrap() {
                AnswerDocument::Stream(s) => s.then,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(stream(""), NextElement::Nothing);
        assert_eq!(stream("<Hangup/>"), NextElement::Hangup);
        assert_eq!(
            stream("<Redirect method=\"POST\">https://h/after?a=1&amp;b=2</Redirect>"),
            NextElement::Redirect("https://h/after?a=1&b=2".into())
        );
        assert_eq!(
            stream("<Dial callerId=\"918071234567\"><Number>919876543210</Number></Dial>"),
            NextElement::Dial("919876543210".into())
        );
        assert_eq!(
            stream("<Wait length=\"2\"/>"),
            NextElement::Other("Wait".into())
        );
    }

    #[test]
    fn speak_documents_have_no_stream() {
        assert_eq!(
            parse_answer(&not_configured_xml()).unwrap(),
            AnswerDocument::NoStream {
                spoken: Some(crate::xml::NOT_CONFIGURED_TEXT.into()),
                dial: None,
                hangup: true,
            }
        );
        assert_eq!(
            parse_answer("<Response><Hangup/></Response>").unwrap(),
            AnswerDocument::NoStream {
                spoken: None,
                dial: None,
                hangup: true
            }
        );
        let transfer = r#"<Response><Dial callerId="918071234567" timeout="30"><Number>919876543210</Number></Dial><Speak>Sorry, nobody is available.</Speak></Response>"#;
        assert_eq!(
            parse_answer(transfer).unwrap(),
            AnswerDocument::NoStream {
                spoken: Some("Sorry, nobody is available.".into()),
                dial: Some("919876543210".into()),
                hangup: false
            }
        );
    }

    #[test]
    fn broken_documents_are_errors() {
        for doc in [
            "",
            "hello",
            "<Response><Stream bidirectional=\"true\">wss://x",
            "<Response><Stream bidirectional=true>wss://x</Stream></Response>",
            "<Response><Stream bidirectional=\"true>wss://x</Stream></Response>",
        ] {
            assert!(parse_answer(doc).is_err(), "{doc}");
        }
    }

    #[test]
    fn unescapes_entities_and_keeps_stray_ampersands() {
        assert_eq!(unescape("a&amp;b&lt;&gt;&quot;&apos;"), "a&b<>\"'");
        assert_eq!(unescape("&#2361;&#x939;"), "हह");
        assert_eq!(unescape("AT&T & co"), "AT&T & co");
        assert_eq!(unescape("&bogus;"), "&bogus;");
    }

    #[test]
    fn numbers_lose_their_plus() {
        let p = answer_params("u", "+919812345678", "918071234567");
        assert!(p.contains(&("From".into(), "919812345678".into())));
        assert!(p.contains(&("To".into(), "918071234567".into())));
    }
}
