//! Limits per client: token buckets keyed by address or visitor, and open connections per
//! address. `[limits]` in the config; a rate of `0` turns that limit off.
//!
//! *API boundary*: the server asks a [`RateLimiter`]; [`LocalLimiter`] is the in-process one.
//! With several nodes, the per-address limits a load balancer would multiply are counted in
//! Redis first (`shared.rs`, through `AppState::limit_cluster`), this one being the fallback.
//! Addresses are limited per IPv4 address and per IPv6 /64 (one host usually holds a whole /64).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `count` per `per`, in a burst of up to `count`; `count == 0` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a rate like \"10/hour\", \"60/minute\", \"40/4s\" or 0 (off)")]
pub struct RateError(String);

impl Rate {
    pub const OFF: Rate = Rate {
        count: 0,
        per: Duration::from_secs(1),
    };

    pub const fn new(count: u32, per: Duration) -> Self {
        Rate { count, per }
    }

    pub fn is_off(&self) -> bool {
        self.count == 0
    }

    /// Parses `N/unit`, `N/Kunit` (`40/4s`) or `0`/`off`; units: s, second, m, minute, h, hour,
    /// d, day.
    pub fn parse(text: &str) -> Result<Rate, RateError> {
        let bad = || RateError(text.to_owned());
        let t = text.trim();
        if t == "0" || t.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let (count, period) = t.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let digits = period.bytes().take_while(u8::is_ascii_digit).count();
        let times: u64 = match digits {
            0 => 1,
            _ => period[..digits].parse().map_err(|_| bad())?,
        };
        let unit = match period[digits..].trim() {
            "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        if times == 0 {
            return Err(bad());
        }
        Ok(Rate::new(count, Duration::from_secs(times * unit)))
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_off() {
            return write!(f, "off");
        }
        write!(f, "{}/{}s", self.count, self.per.as_secs())
    }
}

/// What is limited; also the label of the refusal counter in `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    NewVisitors,
    NewConversations,
    Messages,
    /// Settled searches a visitor reports (its own bucket, at the messages' rate).
    Searches,
    SignIns,
    Connections,
    Frames,
    /// Requests to the public API (`/api/v1`), per token.
    ApiRequests,
    /// Files a visitor uploads.
    Uploads,
    /// Not a per-client limit: the node was at capacity (writes waiting for the database).
    Capacity,
}

impl Limit {
    pub const ALL: [Limit; 10] = [
        Limit::NewVisitors,
        Limit::NewConversations,
        Limit::Messages,
        Limit::Searches,
        Limit::SignIns,
        Limit::Connections,
        Limit::Frames,
        Limit::ApiRequests,
        Limit::Uploads,
        Limit::Capacity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Limit::NewVisitors => "new_visitors_per_address",
            Limit::NewConversations => "new_conversations_per_address",
            Limit::Messages => "messages_per_visitor",
            Limit::Searches => "searches_per_visitor",
            Limit::SignIns => "sign_ins_per_address",
            Limit::Connections => "connections_per_address",
            Limit::Frames => "frames_per_connection",
            Limit::ApiRequests => "api_requests_per_token",
            Limit::Uploads => "uploads_per_visitor",
            Limit::Capacity => "node_capacity",
        }
    }
}

/// The `[limits]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Browsers seen for the first time (a new visitor token), per address.
    pub new_visitors_per_address: Rate,
    /// Conversations started, per address.
    pub new_conversations_per_address: Rate,
    /// Messages a visitor sends, over all its connections.
    pub messages_per_visitor: Rate,
    /// Sign-in attempts, per address (failures are also slowed by the sign-in throttle).
    pub sign_ins_per_address: Rate,
    /// Frames of one WebSocket connection, WebSocket pings included.
    pub frames_per_connection: Rate,
    /// Requests to the public API per token, in a burst of up to the count.
    pub api_requests_per_token: Rate,
    /// Files a visitor uploads (attachments).
    pub uploads_per_visitor: Rate,
    /// Largest attachment, in bytes: a larger upload is refused while its body is read.
    pub attachment_bytes: u64,
    /// Connections open at once from one address (`0`: no cap). Trusted proxies are exempt at
    /// accept; their clients are counted by forwarded address on the WebSocket endpoints.
    pub connections_per_address: u32,
    /// Time to send a request's headers; a connection that takes longer is dropped.
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        const HOUR: Duration = Duration::from_secs(3_600);
        Limits {
            new_visitors_per_address: Rate::new(100, HOUR),
            new_conversations_per_address: Rate::new(20, HOUR),
            messages_per_visitor: Rate::new(60, MINUTE),
            sign_ins_per_address: Rate::new(20, MINUTE),
            frames_per_connection: Rate::new(40, Duration::from_secs(4)),
            api_requests_per_token: Rate::new(600, MINUTE),
            uploads_per_visitor: Rate::new(30, HOUR),
            attachment_bytes: 10 * 1024 * 1024,
            connections_per_address: 200,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// Every limit off (benchmarks driving thousands of clients from one address).
    pub fn off() -> Self {
        Limits {
            new_visitors_per_address: Rate::OFF,
            new_conversations_per_address: Rate::OFF,
            messages_per_visitor: Rate::OFF,
            sign_ins_per_address: Rate::OFF,
            frames_per_connection: Rate::OFF,
            api_requests_per_token: Rate::OFF,
            uploads_per_visitor: Rate::OFF,
            connections_per_address: 0,
            ..Limits::default()
        }
    }

    pub fn rate(&self, limit: Limit) -> Rate {
        match limit {
            Limit::NewVisitors => self.new_visitors_per_address,
            Limit::NewConversations => self.new_conversations_per_address,
            Limit::Messages | Limit::Searches => self.messages_per_visitor,
            Limit::SignIns => self.sign_ins_per_address,
            Limit::Frames => self.frames_per_connection,
            Limit::ApiRequests => self.api_requests_per_token,
            Limit::Uploads => self.uploads_per_visitor,
            Limit::Connections | Limit::Capacity => Rate::OFF,
        }
    }
}

/// What a limit is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Address(IpAddr),
    Visitor(i64),
    /// A token of the public API, by id.
    Token(i64),
}

impl Key {
    /// An address, with IPv6 cut to its /64.
    pub fn address(ip: IpAddr) -> Self {
        Key::Address(network(ip))
    }
}

fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("mapped")),
        v4 => v4,
    }
}

/// Wait this long before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    pub fn millis(&self) -> u32 {
        self.0.as_millis().clamp(1, u128::from(u32::MAX)) as u32
    }

    pub fn seconds(&self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// Takes one token from the bucket of (`limit`, `key`), or says how long until one is there.
pub trait RateLimiter: Send + Sync {
    fn take(&self, limit: Limit, rate: Rate, key: Key) -> Result<(), RetryAfter>;
}

/// A bucket: `tokens` left at `at`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(rate: Rate, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(rate.count),
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let per_sec = f64::from(rate.count) / rate.per.as_secs_f64();
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(f64::from(rate.count));
        self.at = now;
    }

    pub fn take(&mut self, rate: Rate, now: Instant) -> Result<(), RetryAfter> {
        if rate.is_off() {
            return Ok(());
        }
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let per_sec = f64::from(rate.count) / rate.per.as_secs_f64();
        Err(RetryAfter(Duration::from_secs_f64(
            (1.0 - self.tokens) / per_sec,
        )))
    }

    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut b = *self;
        b.refill(rate, now);
        b.tokens >= f64::from(rate.count)
    }
}

/// Buckets held in this process, at most `cap` per limit: when full, buckets that have refilled
/// (as good as absent) are dropped, then the fullest ones.
pub struct LocalLimiter {
    buckets: Mutex<HashMap<Limit, HashMap<Key, Bucket>>>,
    cap: usize,
}

impl Default for LocalLimiter {
    fn default() -> Self {
        LocalLimiter {
            buckets: Mutex::default(),
            cap: 100_000,
        }
    }
}

fn evict<K: Hash + Eq + Copy>(map: &mut HashMap<K, Bucket>, rate: Rate, cap: usize, now: Instant) {
    map.retain(|_, b| !b.is_full(rate, now));
    if map.len() >= cap {
        let mut levels: Vec<(K, f64)> = map
            .iter()
            .map(|(k, b)| {
                let mut b = *b;
                b.refill(rate, now);
                (*k, b.tokens)
            })
            .collect();
        let cut = (levels.len() / 4).max(1).min(levels.len() - 1);
        levels.select_nth_unstable_by(cut, |a, b| b.1.total_cmp(&a.1));
        for (k, _) in &levels[..cut] {
            map.remove(k);
        }
    }
}

impl RateLimiter for LocalLimiter {
    fn take(&self, limit: Limit, rate: Rate, key: Key) -> Result<(), RetryAfter> {
        if rate.is_off() {
            return Ok(());
        }
        let now = Instant::now();
        let mut all = self.buckets.lock().expect("limiter lock");
        let map = all.entry(limit).or_default();
        if !map.contains_key(&key) && map.len() >= self.cap {
            evict(map, rate, self.cap, now);
        }
        map.entry(key)
            .or_insert_with(|| Bucket::full(rate, now))
            .take(rate, now)
    }
}

/// Refusals per limit, for `/metrics`.
#[derive(Default)]
pub struct Refusals {
    counts: [AtomicU64; Limit::ALL.len()],
}

impl Refusals {
    pub fn count(&self, limit: Limit) {
        let i = Limit::ALL.iter().position(|l| *l == limit).expect("listed");
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str("# HELP frontdesk_limited_total Requests refused by a limit.\n");
        out.push_str("# TYPE frontdesk_limited_total counter\n");
        for (limit, count) in Limit::ALL.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "frontdesk_limited_total{{limit=\"{}\"}} {}",
                limit.name(),
                count.load(Ordering::Relaxed)
            );
        }
    }
}

/// Open connections per address. A [`ConnectionGuard`] holds one until dropped.
#[derive(Clone, Default)]
pub struct Connections {
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

pub struct ConnectionGuard {
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
    ip: IpAddr,
}

impl Connections {
    /// One more connection from `ip`, unless it already has `max` (`0`: no cap).
    pub fn open(&self, ip: IpAddr, max: u32) -> Option<ConnectionGuard> {
        let ip = network(ip);
        let mut open = self.open.lock().expect("connections lock");
        let n = open.entry(ip).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnectionGuard {
            open: self.open.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("connections lock");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(
            Rate::parse("10/hour").unwrap(),
            Rate::new(10, Duration::from_secs(3600))
        );
        assert_eq!(
            Rate::parse("40/4s").unwrap(),
            Rate::new(40, Duration::from_secs(4))
        );
        assert_eq!(
            Rate::parse(" 6 / 12h ").unwrap(),
            Rate::new(6, Duration::from_secs(43_200))
        );
        assert!(Rate::parse("0").unwrap().is_off());
        assert!(Rate::parse("off").unwrap().is_off());
        for bad in ["10", "10/fortnight", "x/hour", "10/0s", "-1/s", ""] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_says_how_long_to_wait() {
        let rate = Rate::new(3, Duration::from_secs(3));
        let limiter = LocalLimiter::default();
        let key = Key::address("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.take(Limit::Messages, rate, key).is_ok());
        }
        let wait = limiter.take(Limit::Messages, rate, key).unwrap_err();
        assert!(wait.0 > Duration::from_millis(900) && wait.0 <= Duration::from_secs(1));
        let other = Key::address("10.0.0.2".parse().unwrap());
        assert!(limiter.take(Limit::Messages, rate, other).is_ok());
        assert!(
            limiter.take(Limit::NewVisitors, rate, key).is_ok(),
            "limits are separate"
        );
        assert!(limiter.take(Limit::Messages, Rate::OFF, key).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64_and_tables_stay_bounded() {
        let a = Key::address("2001:db8:1:2::1".parse().unwrap());
        let b = Key::address("2001:db8:1:2:ffff::9".parse().unwrap());
        assert_eq!(a, b);
        let limiter = LocalLimiter {
            buckets: Mutex::default(),
            cap: 100,
        };
        let rate = Rate::new(1, Duration::from_secs(3600));
        for i in 0..1_000u32 {
            let _ = limiter.take(Limit::NewVisitors, rate, Key::Visitor(i64::from(i)));
        }
        assert!(limiter.buckets.lock().unwrap()[&Limit::NewVisitors].len() <= 100);
    }

    #[test]
    fn connections_are_counted_until_dropped() {
        let c = Connections::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let g1 = c.open(ip, 2).unwrap();
        let _g2 = c.open(ip, 2).unwrap();
        assert!(c.open(ip, 2).is_none());
        drop(g1);
        assert!(c.open(ip, 2).is_some());
        assert!(c.open(ip, 0).is_some(), "0: no cap");
    }
}
