//! Plivo V3 request signatures (`X-Plivo-Signature-V3` + `X-Plivo-Signature-V3-Nonce`).
//!
//! Every HTTP request Plivo makes to us, and the WebSocket upgrade, carries
//! `base64(HMAC-SHA256(auth_token, S))` where `S` is built from the URL Plivo called, the
//! request's parameters and a nonce (protocols §1.7). This module builds `S` the way Plivo's
//! reference SDKs (plivo-python `signature_v3.py`, plivo-go `utils.go`) do, byte for byte, and
//! checks the header in constant time. Anything that does not verify is refused: the server
//! answers 403 and never routes the call.
//!
//! How `S` is built (`base = scheme://netloc/path` of the *public* URL, fragment dropped):
//! - **GET**: query params and the given params merged (query wins on a clash) →
//!   `base?k1=v1&k2=v2` sorted by key (or `base` if there are none).
//! - **POST**: `base?` if there are any params at all; then the query as sorted `k=v&…`; then
//!   `.` if both query and body are non-empty; then the body as sorted `k1v1k2v2…` with no
//!   separators.
//! - Then `.` + nonce.
//!
//! Values are *decoded* (`%3C` → `<`, `+` → space); a key given several times contributes each
//! value, values sorted. Keys and values sort byte-wise (case-sensitive), as Python's `sorted`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::form::{UrlError, parse_form, split_url};

type HmacSha256 = Hmac<Sha256>;

/// Header carrying the V3 signature(s) keyed with the (sub)account's auth token.
pub const SIGNATURE_V3_HEADER: &str = "X-Plivo-Signature-V3";
/// Header carrying the V3 signature(s) keyed with the *main* account's auth token.
pub const SIGNATURE_MA_V3_HEADER: &str = "X-Plivo-Signature-Ma-V3";
/// Header carrying the nonce both V3 signatures cover.
pub const NONCE_V3_HEADER: &str = "X-Plivo-Signature-V3-Nonce";

/// Why a request's signature was not accepted. Messages never echo tokens or signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The `X-Plivo-Signature-V3` header was absent or blank.
    #[error("missing {SIGNATURE_V3_HEADER} header; the request did not come from Plivo")]
    MissingSignature,
    /// The `X-Plivo-Signature-V3-Nonce` header was absent or blank.
    #[error("missing {NONCE_V3_HEADER} header; the request did not come from Plivo")]
    MissingNonce,
    /// No auth token is configured, so nothing can be verified.
    #[error("no Plivo auth token configured; set it before accepting Plivo requests")]
    NoAuthToken,
    /// The URL to verify against could not be read.
    #[error(
        "cannot verify against URL: {0} (use the absolute public URL, e.g. from PUBLIC_BASE_URL)"
    )]
    BadUrl(#[from] UrlError),
    /// Plivo only signs GET and POST.
    #[error("method {0} is not signed by Plivo; only GET and POST are")]
    UnsupportedMethod(String),
    /// The signature did not match any computed value: wrong token, tampered parameters, or
    /// the server verifying a different URL than Plivo called (proxy rewrote scheme/host/port).
    #[error(
        "{SIGNATURE_V3_HEADER} does not match (wrong auth token, tampered request, or the public URL differs from the one Plivo called)"
    )]
    Mismatch,
}

/// Which HTTP method Plivo used; it changes how parameters are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedMethod {
    Get,
    Post,
}

impl SignedMethod {
    /// Parses `GET`/`POST` case-insensitively.
    pub fn parse(method: &str) -> Result<Self, SignatureError> {
        if method.eq_ignore_ascii_case("GET") {
            Ok(Self::Get)
        } else if method.eq_ignore_ascii_case("POST") {
            Ok(Self::Post)
        } else {
            Err(SignatureError::UnsupportedMethod(method.to_string()))
        }
    }
}

type MultiMap = BTreeMap<String, Vec<String>>;

fn to_multimap<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> MultiMap {
    let mut m: MultiMap = BTreeMap::new();
    for (k, v) in pairs {
        m.entry(k.to_string()).or_default().push(v.to_string());
    }
    for values in m.values_mut() {
        values.sort();
    }
    m
}

fn query_string(m: &MultiMap) -> String {
    let mut parts = Vec::new();
    for (k, values) in m {
        for v in values {
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join("&")
}

/// The exact string Plivo signs for a request (protocols §1.7), ending in `.nonce`.
///
/// `full_url` is the public URL Plivo called, with its query; `params` are the decoded form
/// fields of a POST body (for GET, extra params to merge with the query; usually empty).
pub fn v3_signing_string(
    method: &str,
    full_url: &str,
    params: &[(String, String)],
    nonce: &str,
) -> Result<String, SignatureError> {
    let method = SignedMethod::parse(method)?;
    let url = split_url(full_url)?;
    let query_pairs = parse_form(url.query);
    let q = to_multimap(query_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let p = to_multimap(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut s = url.base();
    match method {
        SignedMethod::Get => {
            let mut merged = p;
            merged.extend(q);
            if !merged.is_empty() {
                s.push('?');
                s.push_str(&query_string(&merged));
            }
        }
        SignedMethod::Post => {
            if !q.is_empty() || !p.is_empty() {
                s.push('?');
            }
            if !q.is_empty() {
                s.push_str(&query_string(&q));
                if !p.is_empty() {
                    s.push('.');
                }
            }
            for (k, values) in &p {
                for v in values {
                    s.push_str(k);
                    s.push_str(v);
                }
            }
        }
    }
    s.push('.');
    s.push_str(nonce);
    Ok(s)
}

fn mac_for(auth_token: &str, signed: &str) -> Result<HmacSha256, SignatureError> {
    if auth_token.is_empty() {
        return Err(SignatureError::NoAuthToken);
    }
    // HMAC accepts keys of any length, so this cannot fail; map it anyway rather than panic.
    let mut mac = HmacSha256::new_from_slice(auth_token.as_bytes())
        .map_err(|_| SignatureError::NoAuthToken)?;
    mac.update(signed.as_bytes());
    Ok(mac)
}

/// Computes the V3 signature Plivo would send: what the call simulator and tests put in
/// `X-Plivo-Signature-V3`.
pub fn sign_v3(
    auth_token: &str,
    method: &str,
    full_url: &str,
    params: &[(String, String)],
    nonce: &str,
) -> Result<String, SignatureError> {
    let signed = v3_signing_string(method, full_url, params, nonce)?;
    let mac = mac_for(auth_token, &signed)?;
    Ok(B64.encode(mac.finalize().into_bytes()))
}

/// Verifies a V3-signed request.
///
/// `signatures` is the raw `X-Plivo-Signature-V3` header: one signature, or a comma-separated
/// list when the account has several active auth tokens (accepted if any one matches). Each
/// candidate is compared in constant time (`Mac::verify_slice`).
pub fn verify_v3(
    auth_token: &str,
    method: &str,
    full_url: &str,
    params: &[(String, String)],
    nonce: &str,
    signatures: &str,
) -> Result<(), SignatureError> {
    if signatures.trim().is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    if nonce.trim().is_empty() {
        return Err(SignatureError::MissingNonce);
    }
    let signed = v3_signing_string(method, full_url, params, nonce)?;
    let mac = mac_for(auth_token, &signed)?;
    let mut matched = false;
    for candidate in signatures.split(',') {
        let Ok(bytes) = B64.decode(candidate.trim()) else {
            continue;
        };
        // Evaluate every candidate (no early exit) so timing does not reveal which one matched.
        matched |= mac.clone().verify_slice(&bytes).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verifies the WebSocket upgrade Plivo makes to the stream URL (a GET with no body).
///
/// Which URL form Plivo signs for the upgrade is unconfirmed (protocols §1.7 vector 3): its
/// docs say the `wss://` URL, its Node stream SDK rebuilds `https://` (or `http://` for `ws://`).
/// Both are tried; `public_ws_url` is the URL we rendered into the answer XML.
pub fn verify_v3_upgrade(
    auth_token: &str,
    public_ws_url: &str,
    nonce: &str,
    signatures: &str,
) -> Result<(), SignatureError> {
    let first = verify_v3(auth_token, "GET", public_ws_url, &[], nonce, signatures);
    if !matches!(first, Err(SignatureError::Mismatch)) {
        return first;
    }
    let alternative = if let Some(rest) = public_ws_url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = public_ws_url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        return first;
    };
    verify_v3(auth_token, "GET", &alternative, &[], nonce, signatures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Official vector: plivo-go utils_test.go TestValidateSignatureV3Pass1/2.
    const GO_URL: &str =
        "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml/?a=b&c=d";
    const GO_NONCE: &str = "31627761595286130198";
    const GO_TOKEN: &str = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4";
    const GO_POST_SIG: &str = "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c=";
    const GO_GET_SIG: &str = "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ=";

    fn go_params() -> Vec<(String, String)> {
        pairs(&[
            ("Direction", "outbound"),
            ("From", "19792014278"),
            ("ALegUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            ("CallStatus", "in-progress"),
            ("BillRate", "0.002"),
            ("ParentAuthID", "MANWVLYTK4ZWU1YTY4QA"),
            (
                "To",
                "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
            ),
            ("ALegRequestUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            ("CallUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            ("RequestUUID", "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"),
            (
                "SIP-H-To",
                "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
            ),
            ("SessionStart", "2020-04-08 11:34:33.238707"),
            ("Event", "StartApp"),
        ])
    }

    // Vector 2: POST without query, computed with plivo-python.
    const TOKEN2: &str = "TESTAUTHTOKEN0123456789";
    const NONCE2: &str = "12345678901234567890";
    const URL2: &str = "https://bot.example.in/plivo/answer";
    fn params2() -> Vec<(String, String)> {
        pairs(&[
            ("CallUUID", "c5d3b2a0-1111-2222-3333-444455556666"),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("Event", "StartApp"),
            ("From", "919812345678"),
            ("To", "918071234567"),
        ])
    }

    #[test]
    fn official_plivo_go_vectors_post_and_get() {
        let p = go_params();
        assert_eq!(
            sign_v3(GO_TOKEN, "POST", GO_URL, &p, GO_NONCE).unwrap(),
            GO_POST_SIG
        );
        assert_eq!(
            sign_v3(GO_TOKEN, "GET", GO_URL, &p, GO_NONCE).unwrap(),
            GO_GET_SIG
        );
        verify_v3(GO_TOKEN, "POST", GO_URL, &p, GO_NONCE, GO_POST_SIG).unwrap();
        verify_v3(GO_TOKEN, "get", GO_URL, &p, GO_NONCE, GO_GET_SIG).unwrap();
    }

    #[test]
    fn post_without_query_vector_and_its_signed_string() {
        let s = v3_signing_string("POST", URL2, &params2(), NONCE2).unwrap();
        assert_eq!(
            s,
            "https://bot.example.in/plivo/answer?CallStatusringingCallUUIDc5d3b2a0-1111-2222-3333-444455556666DirectioninboundEventStartAppFrom919812345678To918071234567.12345678901234567890"
        );
        let sig = "DikLdv+ANARwfjuC5KprMEYA7w1+Xwl8foDTfTtZM4k=";
        assert_eq!(
            sign_v3(TOKEN2, "POST", URL2, &params2(), NONCE2).unwrap(),
            sig
        );
        verify_v3(TOKEN2, "POST", URL2, &params2(), NONCE2, sig).unwrap();
    }

    #[test]
    fn ws_upgrade_vectors_in_both_url_forms() {
        let wss = "wss://bot.example.in/plivo/ws?call=abc";
        let https = "https://bot.example.in/plivo/ws?call=abc";
        let wss_sig = "2eC9hnzxmuk5n33PMG3raV4D9+5r4TznOZt4p/oPo/s=";
        let https_sig = "vCGEFRO5MraNHRxQBiCkxURS10kD67IPPSVb6P7A2kI=";
        assert_eq!(sign_v3(TOKEN2, "GET", wss, &[], NONCE2).unwrap(), wss_sig);
        assert_eq!(
            sign_v3(TOKEN2, "GET", https, &[], NONCE2).unwrap(),
            https_sig
        );
        verify_v3_upgrade(TOKEN2, wss, NONCE2, wss_sig).unwrap();
        verify_v3_upgrade(TOKEN2, wss, NONCE2, https_sig).unwrap();
        assert_eq!(
            verify_v3_upgrade("other", wss, NONCE2, wss_sig),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_v3_upgrade(
                TOKEN2,
                "wss://bot.example.in/plivo/ws?call=abd",
                NONCE2,
                wss_sig
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn tampering_with_anything_is_refused() {
        let sig = GO_POST_SIG;
        let p = go_params();
        let m = Err(SignatureError::Mismatch);
        assert_eq!(
            verify_v3("not-the-token", "POST", GO_URL, &p, GO_NONCE, sig),
            m
        );
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", GO_URL, &p, "0000000000", sig),
            m
        );
        assert_eq!(verify_v3(GO_TOKEN, "GET", GO_URL, &p, GO_NONCE, sig), m);
        let other_url = GO_URL.replace("https://", "http://");
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", &other_url, &p, GO_NONCE, sig),
            m
        );
        let other_query = GO_URL.replace("c=d", "c=e");
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", &other_query, &p, GO_NONCE, sig),
            m
        );
        let with_port = GO_URL.replace(".com/", ".com:443/");
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", &with_port, &p, GO_NONCE, sig),
            m
        );

        let mut changed = p.clone();
        changed[1].1 = "19792014279".into();
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", GO_URL, &changed, GO_NONCE, sig),
            m
        );
        let mut extra = p.clone();
        extra.push(("Digits".into(), "1".into()));
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", GO_URL, &extra, GO_NONCE, sig),
            m
        );
        let fewer = p[1..].to_vec();
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", GO_URL, &fewer, GO_NONCE, sig),
            m
        );
        // One flipped bit in the signature itself.
        let mut bytes = B64.decode(sig).unwrap();
        bytes[0] ^= 1;
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", GO_URL, &p, GO_NONCE, &B64.encode(bytes)),
            m
        );
        assert_eq!(
            verify_v3(GO_TOKEN, "POST", GO_URL, &p, GO_NONCE, "not base64 at all!"),
            m
        );
    }

    #[test]
    fn order_of_params_does_not_matter_but_fragment_is_ignored() {
        let mut p = params2();
        p.reverse();
        let sig = sign_v3(TOKEN2, "POST", URL2, &params2(), NONCE2).unwrap();
        verify_v3(TOKEN2, "POST", URL2, &p, NONCE2, &sig).unwrap();
        let with_fragment = format!("{URL2}#ct=2000&rt=5000");
        verify_v3(TOKEN2, "POST", &with_fragment, &p, NONCE2, &sig).unwrap();
    }

    #[test]
    fn any_of_several_comma_separated_signatures_is_accepted() {
        let p = go_params();
        let other = sign_v3("old-token", "POST", GO_URL, &p, GO_NONCE).unwrap();
        for header in [
            format!("{other},{GO_POST_SIG}"),
            format!("{GO_POST_SIG},{other}"),
            format!("{other}, {GO_POST_SIG} "),
            format!("garbage,{GO_POST_SIG}"),
        ] {
            verify_v3(GO_TOKEN, "POST", GO_URL, &p, GO_NONCE, &header).unwrap();
        }
        assert_eq!(
            verify_v3(
                GO_TOKEN,
                "POST",
                GO_URL,
                &p,
                GO_NONCE,
                &format!("{other},{other}")
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_headers_token_url_and_method_are_typed_errors() {
        let p = params2();
        assert_eq!(
            verify_v3(TOKEN2, "POST", URL2, &p, NONCE2, " "),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify_v3(TOKEN2, "POST", URL2, &p, "", "x"),
            Err(SignatureError::MissingNonce)
        );
        assert_eq!(
            verify_v3("", "POST", URL2, &p, NONCE2, "x"),
            Err(SignatureError::NoAuthToken)
        );
        assert_eq!(
            verify_v3(TOKEN2, "POST", "/plivo/answer", &p, NONCE2, "x"),
            Err(SignatureError::BadUrl(UrlError::NoScheme))
        );
        assert_eq!(
            verify_v3(TOKEN2, "PUT", URL2, &p, NONCE2, "x"),
            Err(SignatureError::UnsupportedMethod("PUT".into()))
        );
        let msg = verify_v3(TOKEN2, "POST", URL2, &p, NONCE2, "c2lnbmF0dXJl")
            .unwrap_err()
            .to_string();
        assert!(
            !msg.contains(TOKEN2) && !msg.contains("c2lnbmF0dXJl"),
            "{msg}"
        );
    }

    #[test]
    fn signing_string_shapes_for_get_post_and_repeated_keys() {
        let none: &[(String, String)] = &[];
        assert_eq!(
            v3_signing_string("POST", "https://h/p", none, "n").unwrap(),
            "https://h/p.n"
        );
        assert_eq!(
            v3_signing_string("GET", "https://h/p", none, "n").unwrap(),
            "https://h/p.n"
        );
        assert_eq!(
            v3_signing_string("POST", "https://h/p?b=2&a=1", none, "n").unwrap(),
            "https://h/p?a=1&b=2.n"
        );
        let body = pairs(&[("y", "2"), ("x", "1")]);
        assert_eq!(
            v3_signing_string("POST", "https://h/p?b=2&a=%3C1", &body, "n").unwrap(),
            "https://h/p?a=<1&b=2.x1y2.n"
        );
        assert_eq!(
            v3_signing_string("GET", "https://h/p?b=2&a=1", &body, "n").unwrap(),
            "https://h/p?a=1&b=2&x=1&y=2.n"
        );
        // Query wins over a same-named extra param for GET (plivo-python merges that way).
        assert_eq!(
            v3_signing_string("GET", "https://h/p?x=q", &body, "n").unwrap(),
            "https://h/p?x=q&y=2.n"
        );
        let repeated = pairs(&[("d", "9"), ("d", "1")]);
        assert_eq!(
            v3_signing_string("POST", "https://h/p?k=b&k=a", &repeated, "n").unwrap(),
            "https://h/p?k=a&k=b.d1d9.n"
        );
    }
}
