//! What the nodes of one deployment share in Redis besides events: the per-address limits that a
//! load balancer would otherwise multiply by the number of nodes (new visitors, new
//! conversations, sign-ins) and the sign-in throttle. Every figure is timed by Redis's clock
//! (`TIME` inside a script, so one round trip and atomic), never by a node's.
//!
//! The Redis keys and the event channel are named by the database's cluster key
//! (`Store::cluster_key`), so two deployments sharing one Redis never count or hear each other.
//! Every key expires once it holds nothing worth keeping, so Redis holds only live entries.
//!
//! When Redis does not answer within `TIMEOUT`, the caller falls back to this node's own
//! counters: a sign-in or a new visitor never waits on an absent Redis, and limits still hold
//! per node meanwhile.

use crate::limits::{Key, Limit, Rate, RetryAfter};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;

/// Longest wait for Redis before falling back to this node's counters.
const TIMEOUT: Duration = Duration::from_millis(250);

/// A token bucket as a generic cell rate: the key holds the "theoretical arrival time" of the
/// next token; a request is allowed when that time is within one period of now. Answers 0
/// (allowed) or the milliseconds to wait.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat + interval - period
if allowed_at > now then return math.ceil(allowed_at - now) end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return 0
";

/// One more failure for each key (a pair and its address); a key quiet for `forget` ms starts
/// again from zero, and expires then.
const FAILED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local forget = tonumber(ARGV[1])
for _, k in ipairs(KEYS) do
  local last = tonumber(redis.call('HGET', k, 'last') or 0)
  if now - last >= forget then redis.call('HSET', k, 'count', 0) end
  redis.call('HINCRBY', k, 'count', 1)
  redis.call('HSET', k, 'last', now)
  redis.call('PEXPIRE', k, forget)
end
return 0
";

/// The wait of a pair and of its address, in ms (0: none): past `free` failures, a delay that
/// doubles from `first` up to `max`, counted from the last failure.
const WAIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local first = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local function wait(k, free)
  local v = redis.call('HMGET', k, 'count', 'last')
  if not v[1] then return 0 end
  local over = tonumber(v[1]) - free
  if over < 0 then return 0 end
  local delay = math.min(first * 2 ^ math.min(over, 20), max)
  local left = tonumber(v[2]) + delay - now
  if left <= 0 then return 0 end
  return math.ceil(left)
end
return {wait(KEYS[1], tonumber(ARGV[1])), wait(KEYS[2], tonumber(ARGV[2]))}
";

const FORGET: &str = "return redis.call('DEL', KEYS[1])";

/// This node's link to what the cluster shares in Redis. One pointer, cheap to clone: it is
/// part of `AppState`, which every WebSocket session holds (inline, the Redis client's
/// connection info made every idle connection ~1.9 KiB larger).
#[derive(Clone)]
pub struct Cluster(Arc<Inner>);

pub struct Inner {
    client: redis::Client,
    store: Arc<dyn Store>,
    key: tokio::sync::OnceCell<String>,
    conn: Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl std::ops::Deref for Cluster {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Cluster {
    /// Fails only on a malformed URL; nothing is connected yet.
    pub fn new(url: &str, store: Arc<dyn Store>) -> anyhow::Result<Cluster> {
        Ok(Cluster(Arc::new(Inner {
            client: redis::Client::open(url)?,
            store,
            key: tokio::sync::OnceCell::new(),
            conn: Mutex::new(None),
        })))
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The cluster key from the database, asked until it answers (every node on one database
    /// gets the same one).
    pub async fn key(&self) -> &str {
        self.key
            .get_or_init(|| async {
                let proposed = format!("{:016x}", rand::random::<u64>());
                let mut backoff = Duration::from_millis(100);
                loop {
                    match self.store.cluster_key(&proposed).await {
                        Ok(key) => return key,
                        Err(e) => {
                            tracing::warn!(error = %e, "reading the cluster key failed; retrying")
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            })
            .await
    }

    /// The pub/sub channel of this cluster's events.
    pub async fn channel(&self) -> String {
        format!("frontdesk:{}:hub", self.key().await)
    }

    /// Runs `script` on the keys named `keys` (under this cluster's prefix) within `TIMEOUT`;
    /// `None` when Redis (or the database, for the cluster key) did not answer in time.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Option<T> {
        let run = async {
            let prefix = format!("frontdesk:{}:", self.key().await);
            let cached = self.conn.lock().expect("redis connection lock").clone();
            let mut conn = match cached {
                Some(c) => c,
                None => {
                    let c = self.client.get_multiplexed_async_connection().await.ok()?;
                    *self.conn.lock().expect("redis connection lock") = Some(c.clone());
                    c
                }
            };
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(script).arg(keys.len());
            for k in keys {
                cmd.arg(format!("{prefix}{k}"));
            }
            cmd.arg(args);
            match cmd.query_async::<T>(&mut conn).await {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(error = %e, "a shared counter in Redis failed; counting on this node");
                    *self.conn.lock().expect("redis connection lock") = None;
                    None
                }
            }
        };
        match tokio::time::timeout(TIMEOUT, run).await {
            Ok(answer) => answer,
            Err(_) => {
                // A Redis that stopped answering: the next call connects afresh.
                *self.conn.lock().expect("redis connection lock") = None;
                None
            }
        }
    }

    /// Takes one unit of `limit` for `key` across the cluster; `None` when Redis did not answer.
    pub async fn take(&self, limit: Limit, rate: Rate, key: Key) -> Option<Result<(), RetryAfter>> {
        let key = match key {
            Key::Address(ip) => format!("limit:{}:{ip}", limit.name()),
            Key::Visitor(v) => format!("limit:{}:v{v}", limit.name()),
            Key::Token(t) => format!("limit:{}:t{t}", limit.name()),
        };
        let period = rate.per.as_secs_f64() * 1000.0;
        let interval = period / f64::from(rate.count.max(1));
        let wait: i64 = self
            .eval(TAKE, &[key], &[interval.to_string(), period.to_string()])
            .await?;
        Some(match wait {
            0 => Ok(()),
            ms => Err(RetryAfter(Duration::from_millis(ms.max(1) as u64))),
        })
    }

    /// Sign-in failures of (`account`, `ip`) and of `ip`, across the cluster.
    pub async fn signin_failed(&self, account: &str, ip: &str, forget: Duration) -> Option<()> {
        let keys = signin_keys(account, ip);
        let _: i64 = self
            .eval(FAILED, &keys, &[forget.as_millis().to_string()])
            .await?;
        Some(())
    }

    /// How long (`account`, `ip`) and `ip` must wait, in ms, across the cluster.
    pub async fn signin_wait(
        &self,
        account: &str,
        ip: &str,
        free: (u32, u32),
        delays: (Duration, Duration),
    ) -> Option<(u64, u64)> {
        let keys = signin_keys(account, ip);
        let args = [
            free.0.to_string(),
            free.1.to_string(),
            delays.0.as_millis().to_string(),
            delays.1.as_millis().to_string(),
        ];
        let (pair, address): (i64, i64) = self.eval(WAIT, &keys, &args).await?;
        Some((pair.max(0) as u64, address.max(0) as u64))
    }

    /// A correct password: the pair starts afresh across the cluster.
    pub async fn signin_succeeded(&self, account: &str, ip: &str) -> Option<()> {
        let [pair, _] = signin_keys(account, ip);
        let _: i64 = self.eval(FORGET, &[pair], &[]).await?;
        Some(())
    }
}

fn signin_keys(account: &str, ip: &str) -> [String; 2] {
    [
        format!("signin:{account}:{ip}"),
        format!("signin-address:{ip}"),
    ]
}
