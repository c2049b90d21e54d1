//! One delivery attempt over HTTP: the signed request, a timeout, a cap on what is read of the
//! answer, and the SSRF guard (no delivery to loopback, private, link-local, unspecified or
//! multicast addresses unless `allow_private_targets`): the host is resolved here, every
//! address checked, and the connection made only to the checked addresses (so a name cannot
//! resolve to a public address for the check and a private one for the connection).

use super::sign::Secret;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// What is kept of an answer's body (for the delivery log); the rest is not read.
const BODY_CAP: usize = 4 * 1024;
/// What of it the log keeps.
const LOG_CHARS: usize = 200;

/// Whether delivering to `ip` is refused by the SSRF guard.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                // 0.0.0.0/8 ("this network") and 100.64.0.0/10 (carrier-grade NAT).
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fe80::/10 link-local, fc00::/7 unique local (IPv6's private ranges).
                || (first & 0xffc0) == 0xfe80
                || (first & 0xfe00) == 0xfc00
        }
    }
}

/// Resolves names and refuses any that has a forbidden address among its answers; the
/// client connects only to the addresses returned.
struct Guarded;

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| forbidden(a.ip())) {
                return Err(format!(
                    "refused: {host} resolves to {}, a private or local address \
                     ([webhooks] allow_private_targets allows it)",
                    bad.ip()
                )
                .into());
            }
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries share.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    allow_private: bool,
}

impl Client {
    pub fn new(timeout: Duration, allow_private: bool) -> Client {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would go where nobody checked; a proxy would connect for us.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Frontdesk-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(Guarded));
        }
        Client {
            http: builder.build().expect("the webhook HTTP client builds"),
            allow_private,
        }
    }

    /// Sends `body` signed as message `id` to `url`; the answer's status, or why none came.
    pub async fn send(
        &self,
        url: &str,
        secret: &Secret,
        id: &str,
        timestamp: i64,
        body: &str,
    ) -> Answer {
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return Answer::failed(format!("bad URL: {e}")),
        };
        // A literal address is never resolved: check it here.
        if !self.allow_private {
            let literal = parsed
                .host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|h| h.parse::<IpAddr>().ok());
            if let Some(ip) = literal.filter(|ip| forbidden(*ip)) {
                return Answer::failed(format!(
                    "refused: {ip} is a private or local address \
                     ([webhooks] allow_private_targets allows it)"
                ));
            }
        }
        let request = self
            .http
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", secret.sign(id, timestamp, body))
            .body(body.to_owned());
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Answer::failed(error_chain(&e)),
        };
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        while kept.len() < BODY_CAP {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    kept.extend_from_slice(&chunk[..chunk.len().min(BODY_CAP - kept.len())])
                }
                Ok(None) | Err(_) => break,
            }
        }
        let text: String = String::from_utf8_lossy(&kept)
            .chars()
            .take(LOG_CHARS)
            .collect();
        Answer {
            status: Some(status),
            error: (!(200..300).contains(&status) && !text.trim().is_empty())
                .then(|| text.trim().to_owned()),
        }
    }
}

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Answer {
    fn failed(error: String) -> Answer {
        Answer {
            status: None,
            error: Some(error),
        }
    }

    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The error and its causes in one line (reqwest's own message hides the resolver's reason).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_refuses_local_and_private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn private_targets_are_refused_before_any_connection() {
        // A listener on loopback that would answer 200 if the request reached it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let client = Client::new(Duration::from_secs(2), false);
        for url in [
            format!("http://127.0.0.1:{port}/hook"),
            format!("http://localhost:{port}/hook"),
            format!("http://[::1]:{port}/hook"),
        ] {
            let answer = client.send(&url, &secret, "msg_1", 1, "{}").await;
            assert_eq!(answer.status, None, "{url}");
            assert!(answer.error.unwrap().contains("refused"), "{url}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "nothing connected to the listener");
    }
}
