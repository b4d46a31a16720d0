//! The public edge: who the client really is behind a reverse proxy, and the security headers
//! every reply carries.
//!
//! Design decision: `X-Forwarded-For` / `X-Forwarded-Proto` are believed only when the TCP
//! peer is one of `TRUSTED_PROXIES` (CIDRs). Anyone can send those headers, so believing them
//! from any peer would let a client pick the address the login limiter counts against (and
//! write whatever it likes into the logs). Behind Caddy on the same host the peer is
//! `127.0.0.1`; without a trusted proxy the peer address is the client.
//!
//! Plivo signatures are checked against `PUBLIC_BASE_URL`, never against a scheme or host taken
//! from the request, so forwarded headers cannot change what a signature must cover.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use warp::Filter;
use warp::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName, HeaderValue, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use warp::http::{HeaderMap, Response};

/// The proxies whose forwarding headers are believed; empty believes none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// Why a `TRUSTED_PROXIES` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address or CIDR such as 127.0.0.1/32 or 10.0.0.0/8")]
pub struct BadProxyEntry {
    pub entry: String,
}

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs or single addresses (`127.0.0.1, ::1, 10.0.0.0/8`).
    pub fn parse(list: &str) -> Result<TrustedProxies, BadProxyEntry> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(BadProxyEntry {
                            entry: entry.to_string(),
                        });
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// The scheme the client used to reach the public origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// The client as far as it can be known: the TCP peer, or what a trusted proxy reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub scheme: Scheme,
}

impl TrustedProxies {
    /// The client behind `peer`. With a trusted peer, `X-Forwarded-For` is read from the right
    /// (the entry the proxy itself appended) past any further trusted proxies; the first
    /// untrusted address is the client. Anything unparsable falls back to the peer.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Client {
        let peer_ip = peer
            .map(|a| a.ip().to_canonical())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let direct = Client {
            ip: peer_ip,
            scheme: Scheme::Http,
        };
        if !self.trusts(peer_ip) {
            return direct;
        }
        let mut hops = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(text) = value.to_str() else {
                return direct;
            };
            for hop in text.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                match parse_hop(hop) {
                    Some(ip) => hops.push(ip),
                    None => return direct,
                }
            }
        }
        let ip = hops
            .iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer_ip);
        let scheme = match headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("https") => Scheme::Https,
            _ => Scheme::Http,
        };
        Client { ip, scheme }
    }
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

/// What the server believes about its public edge, built once from settings.
#[derive(Debug, Clone)]
pub struct Edge {
    pub proxies: TrustedProxies,
    pub headers: SecurityHeaders,
}

impl Edge {
    pub fn new(proxies: TrustedProxies, public_base_url: Option<&str>) -> Edge {
        let https = public_base_url.is_some_and(|url| url.starts_with("https://"));
        Edge {
            proxies,
            headers: SecurityHeaders::new(https),
        }
    }
}

/// The client of this request (see [`TrustedProxies::client`]).
pub fn client(
    edge: std::sync::Arc<Edge>,
) -> impl Filter<Extract = (Client,), Error = std::convert::Infallible> + Clone {
    super::listener::peer_addr()
        .and(warp::header::headers_cloned())
        .map(move |peer: Option<SocketAddr>, headers: HeaderMap| {
            edge.proxies.client(peer, &headers)
        })
}

/// Headers every reply gets: never cached (replies carry tokens, stream tokens and callers'
/// personal data; nothing here is worth caching), not sniffed, never framed, and — when the
/// public origin is https — HSTS, so a browser never talks to the admin API in clear text.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// One year, the usual HSTS lifetime; no `includeSubDomains`, because other hosts under the
/// owner's domain are not ours to pin.
const HSTS: &str = "max-age=31536000";

impl SecurityHeaders {
    /// `https_origin`: `PUBLIC_BASE_URL` starts with `https://`.
    pub fn new(https_origin: bool) -> SecurityHeaders {
        let mut headers = vec![
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            ),
            (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            ),
        ];
        if https_origin {
            headers.push((STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS)));
        }
        SecurityHeaders { headers }
    }

    /// Adds the headers a handler did not set itself.
    pub fn apply<B>(&self, mut response: Response<B>) -> Response<B> {
        let out = response.headers_mut();
        for (name, value) in &self.headers {
            if !out.contains_key(name) {
                out.insert(name.clone(), value.clone());
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn entries_are_cidrs_or_addresses() {
        let p = TrustedProxies::parse(" 127.0.0.1, ::1 ,10.1.2.3/8,").unwrap();
        assert!(p.trusts(ip("127.0.0.1")) && p.trusts(ip("::1")) && p.trusts(ip("10.200.0.1")));
        assert!(!p.trusts(ip("127.0.0.2")) && !p.trusts(ip("11.0.0.1")));
        // An IPv4 peer seen on a dual-stack socket is still the IPv4 address.
        assert!(p.trusts(ip("::ffff:127.0.0.1")));
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, localhost").unwrap_err(),
            BadProxyEntry {
                entry: "localhost".into()
            }
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let none = TrustedProxies::default();
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(
            none.client(peer("198.51.100.4"), &spoofed),
            Client {
                ip: ip("198.51.100.4"),
                scheme: Scheme::Http
            }
        );
        let local = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            local.client(peer("198.51.100.4"), &spoofed).ip,
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_rightmost_first() {
        let p = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // The client claimed 1.2.3.4 itself; Caddy appended the address it saw; an inner
        // load balancer (10.0.0.5) appended its peer. The rightmost untrusted hop is the client.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4, 203.0.113.7"),
            ("x-forwarded-for", "10.0.0.5"),
            ("x-forwarded-proto", "HTTPS"),
        ]);
        assert_eq!(
            p.client(peer("127.0.0.1"), &h),
            Client {
                ip: ip("203.0.113.7"),
                scheme: Scheme::Https
            }
        );
        // All hops trusted: the leftmost is the best there is.
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.5")]);
        assert_eq!(p.client(peer("127.0.0.1"), &h).ip, ip("10.0.0.9"));
        // Ports and brackets as some proxies write them.
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:443")]);
        assert_eq!(p.client(peer("127.0.0.1"), &h).ip, ip("2001:db8::1"));
        // No header: the proxy itself; garbage: the proxy itself, never the garbage.
        assert_eq!(
            p.client(peer("127.0.0.1"), &HeaderMap::new()).ip,
            ip("127.0.0.1")
        );
        let h = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip")]);
        assert_eq!(p.client(peer("127.0.0.1"), &h).ip, ip("127.0.0.1"));
    }

    #[test]
    fn security_headers_are_added_without_overriding_a_handler() {
        let plain = SecurityHeaders::new(false).apply(Response::new(()));
        assert_eq!(plain.headers()["cache-control"], "no-store");
        assert_eq!(plain.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            plain.headers()["content-security-policy"],
            "frame-ancestors 'none'"
        );
        assert_eq!(plain.headers()["x-frame-options"], "DENY");
        assert!(!plain.headers().contains_key("strict-transport-security"));
        let mut own = Response::new(());
        own.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        let secure = SecurityHeaders::new(true).apply(own);
        assert_eq!(secure.headers()["cache-control"], "max-age=60");
        assert_eq!(secure.headers()["strict-transport-security"], HSTS);
    }
}
