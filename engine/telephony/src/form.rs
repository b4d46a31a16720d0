//! `application/x-www-form-urlencoded` and URL pieces, exactly as Plivo's signature code reads them.
//!
//! Why hand-rolled: the V3 signature is computed over *decoded* query and form values, split the
//! way Python's `urllib.parse` splits them (Plivo's reference SDK). A general URL library
//! normalizes things (default ports, IDNA hosts, dot segments) that would change the signed string,
//! so this module keeps the URL text as the caller saw it and only splits it.

use std::borrow::Cow;

/// A URL split into the parts the signature needs, without any normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `https`, `wss`, … as written (not lower-cased).
    pub scheme: &'a str,
    /// `host[:port]` exactly as written; a port appears only if the URL had one.
    pub netloc: &'a str,
    /// The path, possibly empty; never includes `?` or `#`.
    pub path: &'a str,
    /// The raw query without `?`; empty if there is none. The `#fragment` is dropped (Plivo's
    /// per-URL timeout fragment is not signed).
    pub query: &'a str,
}

impl UrlParts<'_> {
    /// `scheme://netloc/path`, the base every signature starts from.
    pub fn base(&self) -> String {
        format!("{}://{}{}", self.scheme, self.netloc, self.path)
    }
}

/// Why a URL could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// There is no `scheme://`.
    #[error("URL has no `scheme://` prefix; pass the absolute public URL Plivo called")]
    NoScheme,
    /// `scheme://` is followed by nothing.
    #[error("URL has no host after `scheme://`")]
    NoHost,
}

/// Splits an absolute URL like `https://host:8443/path?a=b#frag` into its parts.
pub fn split_url(url: &str) -> Result<UrlParts<'_>, UrlError> {
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::NoScheme)?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(UrlError::NoScheme);
    }
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let netloc = &rest[..host_end];
    if netloc.is_empty() {
        return Err(UrlError::NoHost);
    }
    let after_host = &rest[host_end..];
    let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
    Ok(UrlParts {
        scheme,
        netloc,
        path,
        query,
    })
}

/// Decodes `%XX` escapes and `+` (space). Invalid escapes are kept literally and invalid UTF-8 is
/// replaced, like Python's `unquote_plus(errors="replace")`.
pub fn decode_component(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a form body or query string into decoded `(key, value)` pairs, in order, keeping
/// duplicates and blank values (`a` and `a=` both give `("a", "")`). Empty segments are skipped.
///
/// The server uses this for Plivo's webhook bodies so the signature sees every field, including
/// repeated ones that a `HashMap` would lose.
pub fn parse_form(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            (
                decode_component(k).into_owned(),
                decode_component(v).into_owned(),
            )
        })
        .collect()
}

/// Percent-encodes one form component (space → `+`; unreserved characters kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Serializes pairs as an `application/x-www-form-urlencoded` body.
pub fn encode_form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_without_normalizing() {
        let p = split_url("https://Bot.Example.in:8443/plivo/answer/?a=b&c=d#ct=2000").unwrap();
        assert_eq!(p.scheme, "https");
        assert_eq!(p.netloc, "Bot.Example.in:8443");
        assert_eq!(p.path, "/plivo/answer/");
        assert_eq!(p.query, "a=b&c=d");
        assert_eq!(p.base(), "https://Bot.Example.in:8443/plivo/answer/");

        let p = split_url("wss://h?x=1").unwrap();
        assert_eq!((p.netloc, p.path, p.query), ("h", "", "x=1"));
        let p = split_url("https://h").unwrap();
        assert_eq!((p.path, p.query), ("", ""));
    }

    #[test]
    fn rejects_relative_and_hostless_urls() {
        assert_eq!(split_url("/plivo/answer"), Err(UrlError::NoScheme));
        assert_eq!(split_url("://h/x"), Err(UrlError::NoScheme));
        assert_eq!(split_url("ht tp://h/x"), Err(UrlError::NoScheme));
        assert_eq!(split_url("https:///x"), Err(UrlError::NoHost));
        assert_eq!(split_url("https://?x"), Err(UrlError::NoHost));
    }

    #[test]
    fn decodes_like_python_unquote_plus() {
        assert_eq!(decode_component("a+b%20c"), "a b c");
        assert_eq!(decode_component("%3Csip%3A"), "<sip:");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz%4"), "%zz%4");
        assert_eq!(decode_component("%E0%A4%B9"), "ह");
        assert_eq!(decode_component("%FF"), "\u{FFFD}");
        assert!(matches!(decode_component("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn parses_forms_keeping_duplicates_and_blanks() {
        let got = parse_form("a=1&&b&c=&a=2&SIP-H-To=%3Csip%3Ax%3E%3Btag%3D1");
        let want: Vec<(String, String)> = [
            ("a", "1"),
            ("b", ""),
            ("c", ""),
            ("a", "2"),
            ("SIP-H-To", "<sip:x>;tag=1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        assert!(parse_form("").is_empty());
    }

    #[test]
    fn encode_then_parse_round_trips() {
        let pairs: Vec<(String, String)> = vec![
            ("SessionStart".into(), "2020-04-08 11:34:33.238707".into()),
            (
                "SIP-H-To".into(),
                "<sip:a@b;transport=udp>;tag=1&x=y".into(),
            ),
            ("Naam".into(), "राम + श्याम".into()),
        ];
        assert_eq!(parse_form(&encode_form(&pairs)), pairs);
    }
}
