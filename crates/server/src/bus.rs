//! Hub events between nodes over Redis pub/sub (`--redis`). They are wake-ups, not the data:
//! the database stays the source of truth, and a session that hears "message 12 in
//! conversation 7" from another node sends it only if 12 is the next one it owes, else reads
//! what it lacks from the store (as for local events). So a lost pub/sub message costs
//! latency, never a message:
//! - when the subscription (re)starts, after Redis restarted or the connection was killed,
//!   every local subscription is told it lagged and rebuilds from the store;
//! - each node publishes a canary to itself every `CANARY_EVERY`; a subscription that hears
//!   none for `DEAF_AFTER` is deaf (Redis alive, this connection not), is torn down and
//!   rebuilt, and `/readyz` is red meanwhile;
//! - publishing never blocks a session: events wait in a bounded queue, and what overflows or
//!   fails to publish is counted (`frontdesk_pubsub_dropped_total`).

use crate::hub::{Hub, HubEvent};
use crate::shared::Cluster;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

const CANARY_EVERY: Duration = Duration::from_millis(500);
const DEAF_AFTER: Duration = Duration::from_secs(2);
/// Events waiting to be published; past this they are dropped (and counted).
const QUEUE: usize = 16_384;
/// Most events published in one round trip.
const PIPELINE: usize = 512;
/// Least time between two gap announcements from a node, and between two rebuilds of every
/// connection they cause on a node.
const GAP_EVERY: Duration = Duration::from_secs(1);

/// What travels on the channel.
#[derive(Serialize, Deserialize)]
enum Envelope {
    /// An event published on node `.0`.
    Event(u64, HubEvent),
    /// Node `.0`'s canary, sent at `.1` (milliseconds since the epoch).
    Canary(u64, i64),
    /// Node `.0` could not publish some events from `.1` (ms since the epoch) on: the others
    /// rebuild their connections and catch their search index up from the database.
    Gap(u64, i64),
}

/// A node's link to the others. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    out: mpsc::Sender<Arc<HubEvent>>,
    health: Arc<Health>,
}

#[derive(Default)]
pub struct Health {
    /// The subscription is up and this node's own canary came back recently.
    alive: AtomicBool,
    /// When the last own canary came back (ms since the epoch).
    last_canary: AtomicI64,
    /// How long the last canary took to come back, in microseconds.
    lag_micros: AtomicU64,
    dropped: AtomicU64,
    resubscribed: AtomicU64,
    /// When the oldest event not yet announced as missed was dropped (0: none).
    first_drop: AtomicI64,
}

impl Health {
    fn dropped_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        let _ = self.first_drop.compare_exchange(
            0,
            crate::now_millis(),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
}

impl Bus {
    /// Whether events from other nodes are arriving (for `/readyz`).
    pub fn alive(&self) -> bool {
        self.health.alive.load(Ordering::Acquire)
            && crate::now_millis() - self.health.last_canary.load(Ordering::Acquire)
                < DEAF_AFTER.as_millis() as i64
    }

    /// Queues a local event for the other nodes (never waits).
    pub fn publish(&self, event: Arc<HubEvent>) {
        if self.out.try_send(event).is_err() {
            self.health.dropped_one();
        }
    }

    /// Prometheus lines.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let h = &self.health;
        let _ = writeln!(
            out,
            "# HELP frontdesk_pubsub_up Whether this node hears the other nodes (its canary comes back).\n\
             # TYPE frontdesk_pubsub_up gauge\nfrontdesk_pubsub_up {}",
            u8::from(self.alive())
        );
        let _ = writeln!(
            out,
            "# HELP frontdesk_pubsub_lag_seconds How long this node's last canary took through Redis.\n\
             # TYPE frontdesk_pubsub_lag_seconds gauge\nfrontdesk_pubsub_lag_seconds {}",
            h.lag_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP frontdesk_pubsub_dropped_total Events not published (queue full or Redis down); \
             other nodes catch up from the database.\n\
             # TYPE frontdesk_pubsub_dropped_total counter\nfrontdesk_pubsub_dropped_total {}",
            h.dropped.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP frontdesk_pubsub_resubscribed_total Times the subscription was rebuilt.\n\
             # TYPE frontdesk_pubsub_resubscribed_total counter\nfrontdesk_pubsub_resubscribed_total {}",
            h.resubscribed.load(Ordering::Relaxed)
        );
    }
}

/// Whether other nodes need to hear `event`. Presence and the agents' list are computed per
/// node, a knowledge-base rebuild happens on every node, and erasures are followed from the
/// database by every node.
pub fn crosses_nodes(event: &HubEvent) -> bool {
    matches!(
        event,
        HubEvent::Message { .. }
            | HubEvent::Conversation(_)
            | HubEvent::Typing { .. }
            | HubEvent::Read { .. }
            | HubEvent::Status { .. }
            | HubEvent::Note(_)
            | HubEvent::SignedOut { .. }
            | HubEvent::SessionEnded { .. }
            | HubEvent::VisitorStored { .. }
            | HubEvent::NodePresence { .. }
    )
}

/// What a node does with another node's event before delivering it to its connections
/// (merging an announcement of agents, indexing a message for the agents' search).
pub type OnRemote = Arc<dyn Fn(&HubEvent) + Send + Sync>;

/// What a node does when it may have missed other nodes' events since a moment (ms since the
/// epoch): its subscription broke, or another node could not publish.
pub type OnGap = Arc<dyn Fn(i64) + Send + Sync>;

/// Connects this node to the others of its cluster through Redis: starts the publisher and the
/// subscriber on the cluster's channel (named by the database's cluster key, so deployments
/// sharing a Redis never hear each other). An unreachable Redis is retried in the background
/// (and `/readyz` stays red until it answers).
pub fn start(cluster: Cluster, hub: Hub, on_remote: OnRemote, on_gap: OnGap) -> Bus {
    let node: u64 = rand::random();
    let (out, rx) = mpsc::channel(QUEUE);
    let health = Arc::new(Health::default());
    tokio::spawn(publisher(cluster.clone(), node, rx, health.clone()));
    let hooks = Hooks { on_remote, on_gap };
    tokio::spawn(subscriber(cluster, node, hub, hooks, health.clone()));
    Bus { out, health }
}

async fn publisher(
    cluster: Cluster,
    node: u64,
    mut rx: mpsc::Receiver<Arc<HubEvent>>,
    health: Arc<Health>,
) {
    let channel = cluster.channel().await;
    let client = cluster.client();
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    let mut canary = tokio::time::interval(CANARY_EVERY);
    canary.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_gap: Option<tokio::time::Instant> = None;
    loop {
        // One round trip for everything waiting: the first event (or the canary), then what
        // queued behind it, pipelined (one PUBLISH each, in order).
        let first = tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { return };
                serde_json::to_vec(&Envelope::Event(node, HubEvent::clone(&event)))
            }
            _ = canary.tick() => serde_json::to_vec(&Envelope::Canary(node, crate::now_millis())),
        };
        let mut batch: Vec<Vec<u8>> = first.into_iter().collect();
        while batch.len() < PIPELINE {
            let Ok(event) = rx.try_recv() else { break };
            if let Ok(p) = serde_json::to_vec(&Envelope::Event(node, HubEvent::clone(&event))) {
                batch.push(p);
            }
        }
        if conn.is_none() {
            conn = client.get_multiplexed_async_connection().await.ok();
        }
        let Some(c) = conn.as_mut() else {
            batch.iter().for_each(|_| health.dropped_one());
            continue;
        };
        // After a failure, tell the others since when they may lack events from here; at most
        // once a second (a node that keeps dropping keeps its oldest moment meanwhile), since
        // each one makes every other node re-read its connections and re-index.
        let since = if last_gap.is_none_or(|t| t.elapsed() >= GAP_EVERY) {
            health.first_drop.swap(0, Ordering::AcqRel)
        } else {
            0
        };
        if since != 0 {
            last_gap = Some(tokio::time::Instant::now());
        }
        let mut pipe = redis::pipe();
        for payload in &batch {
            pipe.cmd("PUBLISH").arg(&channel).arg(payload).ignore();
        }
        if since != 0 {
            let gap = serde_json::to_vec(&Envelope::Gap(node, since)).expect("serializes");
            pipe.cmd("PUBLISH").arg(&channel).arg(gap).ignore();
        }
        let sent: redis::RedisResult<()> = pipe.query_async(c).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "publishing to Redis failed");
            batch.iter().for_each(|_| health.dropped_one());
            if since != 0 {
                // The older moment stands.
                health.first_drop.store(since, Ordering::Release);
            }
            conn = None;
        }
    }
}

struct Hooks {
    on_remote: OnRemote,
    on_gap: OnGap,
}

async fn subscriber(cluster: Cluster, node: u64, hub: Hub, hooks: Hooks, health: Arc<Health>) {
    let channel = cluster.channel().await;
    let client = cluster.client();
    let mut backoff = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    health.resubscribed.fetch_add(1, Ordering::Relaxed);
                    // Whatever other nodes published while this one was not listening is in
                    // the database: every local subscription rebuilds from it, and the search
                    // index catches up from when this node last heard its canary.
                    hub.lag_all();
                    let heard = health.last_canary.load(Ordering::Acquire);
                    if heard > 0 {
                        (hooks.on_gap)(heard);
                    }
                    listen(&mut pubsub, node, &hub, &hooks, &health).await;
                    tracing::warn!("the Redis subscription ended; resubscribing");
                }
                Err(e) => tracing::warn!(error = %e, "subscribing to Redis failed"),
            },
            Err(e) => tracing::warn!(error = %e, "connecting to Redis failed"),
        }
        health.alive.store(false, Ordering::Release);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Delivers what other nodes publish until the connection ends or goes deaf.
async fn listen(
    pubsub: &mut redis::aio::PubSub,
    node: u64,
    hub: &Hub,
    hooks: &Hooks,
    health: &Health,
) {
    let mut messages = pubsub.on_message();
    let mut heard = tokio::time::Instant::now();
    let mut last_lag: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::time::timeout_at(heard + DEAF_AFTER, messages.next()).await;
        let message = match next {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(_) => {
                tracing::warn!("no canary from Redis for {DEAF_AFTER:?}: the subscription is deaf");
                return;
            }
        };
        let Ok(envelope) = serde_json::from_slice::<Envelope>(message.get_payload_bytes()) else {
            continue;
        };
        match envelope {
            Envelope::Canary(from, sent) if from == node => {
                heard = tokio::time::Instant::now();
                let now = crate::now_millis();
                health.last_canary.store(now, Ordering::Release);
                health
                    .lag_micros
                    .store((now - sent).max(0) as u64 * 1000, Ordering::Relaxed);
                health.alive.store(true, Ordering::Release);
            }
            Envelope::Canary(..) => {}
            Envelope::Event(from, _) | Envelope::Gap(from, _) if from == node => {}
            Envelope::Gap(_, since) => {
                (hooks.on_gap)(since);
                if last_lag.is_none_or(|t| t.elapsed() >= GAP_EVERY) {
                    last_lag = Some(tokio::time::Instant::now());
                    hub.lag_all();
                }
            }
            Envelope::Event(_, event) => {
                (hooks.on_remote)(&event);
                if !matches!(event, HubEvent::NodePresence { .. }) {
                    hub.deliver(event);
                }
            }
        }
    }
}

/// The safety net under pub/sub: every `every`, the conversations the database says were
/// written to lately are compared with what this node heard; the followers of any that got a
/// message this node never heard of (its publisher died between commit and publish, an event
/// was dropped) read what they lack from the store. Costs two queries per round.
pub(crate) fn safety_net(state: crate::AppState, every: Duration) {
    tokio::spawn(async move {
        // Twice the round, so a message is looked at in two rounds; plus skew between clocks.
        let window = 2 * every.as_millis() as i64 + 5_000;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let since = crate::now_millis() - window;
            let mut touched = std::collections::HashSet::new();
            let mut after = 0;
            let mut missed = Vec::new();
            let heard = state.hub.heard_all();
            loop {
                let Ok(ids) = state.store.touched_since(since, after, 1_000).await else {
                    break;
                };
                let Some(&last) = ids.last() else { break };
                after = last;
                let Ok(conversations) = state.store.conversations(&ids).await else {
                    break;
                };
                touched.extend(ids);
                missed.extend(
                    conversations
                        .into_iter()
                        .filter(|c| c.last_seq > heard.get(&c.id).copied().unwrap_or(0))
                        .map(|c| c.id),
                );
            }
            state.hub.forget_heard_except(&touched);
            for id in missed {
                state.hub.lag_conversation(id);
            }
        }
    });
}
