//! Sign-in throttling that a stranger cannot turn against an agent, nor flush.
//!
//! Failures are counted per (account, client address) and per address. After a few free
//! failures each further attempt from that pair waits a delay that doubles, up to 15 minutes;
//! nothing is ever locked outright, and a correct password from an address without failures
//! always works, so ten wrong guesses from one address do not keep the agent out from another.
//!
//! Bounded, and not flushable: failures against real accounts are kept per account (at most
//! `PER_ACCOUNT` addresses each, the number of accounts being the admin's), apart from failures
//! for emails that have no account, which live in a table that drops its oldest entries when
//! full. Flooding made-up emails evicts only made-up entries. Unknown emails are throttled the
//! same way, so the answers do not tell which emails exist.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures a pair gets before it is slowed.
const FREE_PER_PAIR: u32 = 5;
/// Failures an address gets, over every email, before it is slowed.
const FREE_PER_ADDRESS: u32 = 30;
const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// An entry with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
const PER_ACCOUNT: usize = 1_024;
const UNKNOWN_ENTRIES: usize = 50_000;
const ADDRESS_ENTRIES: usize = 50_000;

/// Whom a sign-in named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// An existing agent, by id.
    Known(i64),
    /// An email with no agent (normalized).
    Unknown(String),
}

impl Account {
    pub fn unknown(email: &str) -> Self {
        Account::Unknown(email.trim().to_lowercase())
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may be made, if it must wait.
    fn wait(&self, free: u32, now: Instant) -> Option<Duration> {
        let over = self.count.checked_sub(free)?;
        let delay = FIRST_DELAY
            .checked_mul(1u32 << over.min(20))
            .unwrap_or(MAX_DELAY)
            .min(MAX_DELAY);
        (self.last + delay).checked_duration_since(now)
    }
}

/// Failures by key, at most `cap` entries: when full, expired entries go first, then the
/// oldest quarter.
struct Recent<K> {
    map: HashMap<K, Failures>,
    cap: usize,
}

impl<K: Hash + Eq + Clone> Recent<K> {
    fn new(cap: usize) -> Self {
        Recent {
            map: HashMap::new(),
            cap,
        }
    }

    fn wait(&self, key: &K, free: u32, now: Instant) -> Option<Duration> {
        self.map.get(key)?.wait(free, now)
    }

    fn fail(&mut self, key: K, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.map
                .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if self.map.len() >= self.cap {
                let mut times: Vec<Instant> = self.map.values().map(|f| f.last).collect();
                let quarter = (self.cap / 4).max(1).min(times.len() - 1);
                let (_, cut, _) = times.select_nth_unstable(quarter);
                let cut = *cut;
                self.map.retain(|_, f| f.last > cut);
            }
        }
        let entry = self.map.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    fn clear(&mut self, key: &K) {
        self.map.remove(key);
    }
}

struct Tables {
    accounts: HashMap<i64, Recent<IpAddr>>,
    unknown: Recent<(String, IpAddr)>,
    addresses: Recent<IpAddr>,
}

/// The in-process throttle (one node); shared by every clone.
#[derive(Clone)]
pub struct SignInThrottle {
    tables: Arc<Mutex<Tables>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        SignInThrottle {
            tables: Arc::new(Mutex::new(Tables {
                accounts: HashMap::new(),
                unknown: Recent::new(UNKNOWN_ENTRIES),
                addresses: Recent::new(ADDRESS_ENTRIES),
            })),
        }
    }
}

fn seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl SignInThrottle {
    /// Seconds this address must wait before any sign-in, if it failed too often.
    pub fn address_wait(&self, ip: IpAddr) -> Option<u64> {
        let tables = self.tables.lock().expect("throttle lock");
        tables
            .addresses
            .wait(&ip, FREE_PER_ADDRESS, Instant::now())
            .map(seconds)
    }

    /// Seconds this (account, address) pair must wait, if it failed too often.
    pub fn wait(&self, account: &Account, ip: IpAddr) -> Option<u64> {
        let now = Instant::now();
        let tables = self.tables.lock().expect("throttle lock");
        let pair = match account {
            Account::Known(id) => tables
                .accounts
                .get(id)
                .and_then(|r| r.wait(&ip, FREE_PER_PAIR, now)),
            Account::Unknown(email) => {
                tables
                    .unknown
                    .wait(&(email.clone(), ip), FREE_PER_PAIR, now)
            }
        };
        let address = tables.addresses.wait(&ip, FREE_PER_ADDRESS, now);
        pair.max(address).map(seconds)
    }

    pub fn failed(&self, account: &Account, ip: IpAddr) {
        let now = Instant::now();
        let mut tables = self.tables.lock().expect("throttle lock");
        match account {
            Account::Known(id) => tables
                .accounts
                .entry(*id)
                .or_insert_with(|| Recent::new(PER_ACCOUNT))
                .fail(ip, now),
            Account::Unknown(email) => tables.unknown.fail((email.clone(), ip), now),
        }
        tables.addresses.fail(ip, now);
    }

    /// A correct password: this pair starts afresh.
    pub fn succeeded(&self, account: &Account, ip: IpAddr) {
        let mut tables = self.tables.lock().expect("throttle lock");
        if let Account::Known(id) = account
            && let Some(recent) = tables.accounts.get_mut(id)
        {
            recent.clear(&ip);
            if recent.map.is_empty() {
                tables.accounts.remove(id);
            }
        }
    }
}

/// The sign-in throttle of this deployment: counted across the cluster in Redis with several
/// nodes (so a guesser gains nothing by spreading over them), this node's own otherwise. Every
/// failure is also counted here, and a wait is the longer of the two, so a Redis that forgot
/// (restarted) or does not answer never makes the throttle weaker than one node's.
#[derive(Clone, Default)]
pub struct Throttle {
    local: SignInThrottle,
    cluster: Option<crate::shared::Cluster>,
}

impl Account {
    fn shared_key(&self) -> String {
        match self {
            Account::Known(id) => format!("a{id}"),
            Account::Unknown(email) => format!("u:{email}"),
        }
    }
}

fn millis_to_seconds(ms: u64) -> Option<u64> {
    (ms > 0).then(|| seconds(Duration::from_millis(ms)))
}

impl Throttle {
    pub fn new(cluster: Option<crate::shared::Cluster>) -> Self {
        Throttle {
            local: SignInThrottle::default(),
            cluster,
        }
    }

    /// Seconds this address must wait before any sign-in, if it failed too often.
    pub async fn address_wait(&self, ip: IpAddr) -> Option<u64> {
        let local = self.local.address_wait(ip);
        let Some(cluster) = &self.cluster else {
            return local;
        };
        let shared = cluster
            .signin_wait("-", &ip.to_string(), self.free(), self.delays())
            .await
            .and_then(|(_, address)| millis_to_seconds(address));
        local.max(shared)
    }

    /// Seconds this (account, address) pair must wait, if it or the address failed too often.
    pub async fn wait(&self, account: &Account, ip: IpAddr) -> Option<u64> {
        let local = self.local.wait(account, ip);
        let Some(cluster) = &self.cluster else {
            return local;
        };
        let shared = cluster
            .signin_wait(
                &account.shared_key(),
                &ip.to_string(),
                self.free(),
                self.delays(),
            )
            .await
            .and_then(|(pair, address)| millis_to_seconds(pair.max(address)));
        local.max(shared)
    }

    pub async fn failed(&self, account: &Account, ip: IpAddr) {
        self.local.failed(account, ip);
        if let Some(cluster) = &self.cluster {
            cluster
                .signin_failed(&account.shared_key(), &ip.to_string(), FORGET_AFTER)
                .await;
        }
    }

    /// A correct password: this pair starts afresh.
    pub async fn succeeded(&self, account: &Account, ip: IpAddr) {
        self.local.succeeded(account, ip);
        if let (Some(cluster), Account::Known(_)) = (&self.cluster, account) {
            cluster
                .signin_succeeded(&account.shared_key(), &ip.to_string())
                .await;
        }
    }

    fn free(&self) -> (u32, u32) {
        (FREE_PER_PAIR, FREE_PER_ADDRESS)
    }

    fn delays(&self) -> (Duration, Duration) {
        (FIRST_DELAY, MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_pair_is_slowed_after_its_free_failures_and_the_delay_grows() {
        let t = SignInThrottle::default();
        let ana = Account::Known(1);
        for _ in 0..FREE_PER_PAIR {
            assert_eq!(t.wait(&ana, ip("10.0.0.1")), None);
            t.failed(&ana, ip("10.0.0.1"));
        }
        assert_eq!(t.wait(&ana, ip("10.0.0.1")), Some(1));
        t.failed(&ana, ip("10.0.0.1"));
        assert_eq!(t.wait(&ana, ip("10.0.0.1")), Some(2), "doubles");
        assert_eq!(
            t.wait(&Account::Known(2), ip("10.0.0.1")),
            None,
            "another account"
        );
        for _ in 0..30 {
            t.failed(&ana, ip("10.0.0.1"));
        }
        assert_eq!(t.wait(&ana, ip("10.0.0.1")), Some(15 * 60), "capped");
        assert_eq!(t.wait(&ana, ip("10.0.0.2")), None, "another address");
        assert!(
            t.wait(&Account::Known(2), ip("10.0.0.1")).is_some(),
            "past its free failures, the address waits for every account"
        );
    }

    #[test]
    fn a_correct_password_clears_its_pair() {
        let t = SignInThrottle::default();
        let ana = Account::Known(1);
        for _ in 0..FREE_PER_PAIR + 2 {
            t.failed(&ana, ip("10.0.0.1"));
        }
        assert!(t.wait(&ana, ip("10.0.0.1")).is_some());
        t.succeeded(&ana, ip("10.0.0.1"));
        assert_eq!(t.wait(&ana, ip("10.0.0.1")), None);
    }

    #[test]
    fn an_address_failing_over_many_emails_is_slowed() {
        let t = SignInThrottle::default();
        for i in 0..FREE_PER_ADDRESS {
            t.failed(&Account::unknown(&format!("u{i}@x")), ip("10.0.0.9"));
        }
        assert!(t.address_wait(ip("10.0.0.9")).is_some());
        assert!(t.wait(&Account::unknown("new@x"), ip("10.0.0.9")).is_some());
        assert_eq!(t.address_wait(ip("10.0.0.8")), None);
    }

    #[test]
    fn a_flood_of_made_up_emails_does_not_flush_a_real_accounts_failures() {
        let t = SignInThrottle::default();
        let ana = Account::Known(1);
        for _ in 0..FREE_PER_PAIR + 3 {
            t.failed(&ana, ip("10.0.0.1"));
        }
        let before = t.wait(&ana, ip("10.0.0.1")).unwrap();
        // Three times the unknown table's size, from as many addresses.
        for i in 0..(UNKNOWN_ENTRIES * 3) as u32 {
            let addr = IpAddr::from((0x0b00_0000u32 + i).to_be_bytes());
            t.failed(&Account::unknown(&format!("{i}@made.up")), addr);
        }
        let tables = t.tables.lock().unwrap();
        assert!(tables.unknown.map.len() <= UNKNOWN_ENTRIES, "bounded");
        assert!(tables.addresses.map.len() <= ADDRESS_ENTRIES, "bounded");
        drop(tables);
        let after = t.wait(&ana, ip("10.0.0.1")).unwrap();
        assert!(
            after + 1 >= before,
            "still slowed: {after} s (was {before} s)"
        );
    }

    #[test]
    fn an_account_keeps_a_bounded_number_of_addresses() {
        let t = SignInThrottle::default();
        let ana = Account::Known(1);
        for i in 0..(PER_ACCOUNT * 2) as u32 {
            t.failed(&ana, IpAddr::from((0x0c00_0000u32 + i).to_be_bytes()));
        }
        let tables = t.tables.lock().unwrap();
        assert!(tables.accounts[&1].map.len() <= PER_ACCOUNT);
    }
}
