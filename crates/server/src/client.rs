//! Who is on the other end: the client's address (the socket's peer, or what a trusted reverse
//! proxy forwarded) and the origin a browser request must come from.
//!
//! *Architecture invariant*: `Forwarded` and `X-Forwarded-For` are read only when the socket's
//! peer is in `[server] trusted_proxies`; anyone else could write any address there.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// An address range such as `10.0.0.0/8`, `::1/128` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an address range like 10.0.0.0/8 or ::1/128")]
pub struct CidrError(String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CidrError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { net, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), 32),
            None => (u128::from(v6), 128),
        },
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ((net, net_width), (ip, ip_width)) = (bits(self.net), bits(ip));
        if net_width != ip_width {
            return false;
        }
        let shift = u32::from(net_width - self.prefix.min(net_width));
        net.checked_shr(shift).unwrap_or(0) == ip.checked_shr(shift).unwrap_or(0)
    }
}

/// One hop of `Forwarded: for=…` or `X-Forwarded-For`: an address, maybe quoted, bracketed or
/// with a port.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = s.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    // `[2001:db8::1]` without a port.
    s.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// The forwarded chain, client first: `Forwarded`'s `for=` values when present (RFC 7239),
/// else `X-Forwarded-For`. `None` for a hop that is not an address (`unknown`, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_hop(v))
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .map(|v| parse_hop(v))
        .collect()
}

/// The client's address: the peer itself unless it is a trusted proxy; then the nearest hop of
/// the forwarded chain that is not itself trusted (each proxy appends the address it saw, so
/// only the hops after the first untrusted one can be believed). A hop that is not an address
/// stops the walk at the last trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers).into_iter().rev() {
        match hop {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// The request's client address, as an extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

/// Whether a browser `Origin` may act on this server. With `public_url` it must be exactly that
/// origin (scheme included). Without, the server is reached directly over plain HTTP: the origin
/// must be `http://` and name the `Host` the request was sent to, and that host must be this
/// server's listening port, and, when it listens on a loopback or a single address, that
/// address or `localhost` (so a page whose name was re-pointed at this server is refused).
pub fn origin_allowed(
    origin: &str,
    public_url: Option<&str>,
    host: Option<&str>,
    listen: Option<SocketAddr>,
) -> bool {
    if let Some(public) = public_url {
        return origin.eq_ignore_ascii_case(public.trim_end_matches('/'));
    }
    let Some(origin_host) = origin.strip_prefix("http://") else {
        return false;
    };
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return false;
    };
    if !origin_host.eq_ignore_ascii_case(host) {
        return false;
    }
    let Some(listen) = listen else {
        return true;
    };
    // Split the host into name and port (`[::1]:80`, `example.com:8080`, `example.com`).
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => {
            (n, p.parse::<u16>().ok())
        }
        _ => (host, Some(80)),
    };
    if port != Some(listen.port()) {
        return false;
    }
    let ip = listen.ip();
    if ip.is_unspecified() {
        return true;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.parse::<IpAddr>().is_ok_and(|n| n == ip)
        || (ip.is_loopback() && name.eq_ignore_ascii_case("localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn ranges_parse_and_match() {
        let lan: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(lan.contains(ip("10.1.2.3")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(lan.contains(ip("::ffff:10.0.0.1")), "v4-mapped");
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8::1")) && !v6.contains(ip("2001:db9::1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_peers() {
        let trusted: Vec<Cidr> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &xff, &trusted),
            ip("198.51.100.1"),
            "untrusted peer: ignored"
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff, &trusted),
            ip("203.0.113.7")
        );
        // A client that writes its own header cannot choose its address: the proxy appended
        // the real one, the nearest untrusted hop.
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.0.0.5")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &spoofed, &trusted),
            ip("203.0.113.7")
        );
        let forwarded = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711""#,
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &forwarded, &trusted),
            ip("2001:db8:cafe::17")
        );
        let garbage = headers(&[("x-forwarded-for", "203.0.113.7, unknown")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &garbage, &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let ok = |origin: &str, host: &str| origin_allowed(origin, None, Some(host), Some(listen));
        assert!(ok("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(ok("http://localhost:8080", "localhost:8080"));
        assert!(
            !ok("https://127.0.0.1:8080", "127.0.0.1:8080"),
            "scheme counts"
        );
        assert!(
            !ok("http://evil.example:8080", "evil.example:8080"),
            "a re-pointed name"
        );
        assert!(
            !ok("http://127.0.0.1:9090", "127.0.0.1:9090"),
            "another port"
        );
        assert!(!ok("http://127.0.0.1:8080", "127.0.0.2:8080"));
        let any: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert!(origin_allowed(
            "http://support.example",
            None,
            Some("support.example"),
            Some(any)
        ));
        let public = Some("https://support.example/");
        assert!(origin_allowed(
            "https://support.example",
            public,
            Some("x"),
            Some(listen)
        ));
        assert!(!origin_allowed(
            "http://support.example",
            public,
            Some("x"),
            Some(listen)
        ));
    }
}
