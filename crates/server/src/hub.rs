//! Fan-out of "something changed" signals by subscription: a connection follows topics (its
//! visitor, its conversation, the agents' inbox…) and hears only the events of those, so the
//! cost of an event is the number of interested connections, not of all connections.
//!
//! The store stays the source of truth: a session that hears "conversation 7 has message 12"
//! sends it only if 12 is exactly the next one it owes its client; otherwise it reads what it
//! has not delivered yet from the store, so a lagging receiver can never skip or repeat one.
//! Each subscription has a bounded queue; when it is full the event is dropped for that
//! subscriber and it is told it lagged, and rebuilds what it shows from the store.
//!
//! *API boundary*: `Hub::publish` and `Subscription` are the seam where a cross-node transport
//! (Redis pub/sub) plugs in: a node publishes locally and to its peers, and delivers what peers
//! publish to its local subscribers.

use protocol::{Author, ConversationStatus, ConversationSummary, Reader};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// Also what travels between nodes (`bus.rs`, JSON): an internal format, not a client's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum HubEvent {
    /// A message was committed in this conversation. It travels along so that a session
    /// whose next sequence number it is sends it without reading the store; any other session
    /// (behind, or ahead) reads what it lacks from the store, so none can skip or repeat one.
    Message {
        conversation: i64,
        visitor: i64,
        message: Arc<protocol::Message>,
    },
    /// A conversation was created or its summary changed.
    Conversation(Box<ConversationSummary>),
    Typing {
        conversation: i64,
        from: Author,
        on: bool,
    },
    Read {
        conversation: i64,
        by: Reader,
        seq: u64,
    },
    Status {
        conversation: i64,
        visitor: i64,
        status: ConversationStatus,
    },
    /// The number of connected agents went from zero to some or back.
    Presence,
    /// The knowledge-base index was rebuilt.
    IndexChanged { version: String },
    /// A private note (delivered to agent connections only).
    Note(Box<protocol::Note>),
    /// An agent was disabled or logged out everywhere: its consoles must close.
    SignedOut { agent: i64 },
    /// One session ended (signed out, expired, password changed, agent disabled): the consoles
    /// opened with it must close.
    SessionEnded { token_hash: String },
    /// Agents' presence or load changed.
    Agents(Vec<protocol::AgentPresence>),
    /// A visitor known so far only by its token got its row (it started a conversation, left
    /// its details…): its other tabs learn its id.
    VisitorStored { token: i64, visitor: i64 },
    /// Conversations and browsers whose data was erased (a contact's erasure, retention):
    /// consoles rebuild what they show, the browsers' sockets close (they reconnect as new).
    Erased {
        conversations: Arc<[i64]>,
        visitors: Arc<[i64]>,
    },
    /// Nothing happened: wakes a subscription told it lagged (`Hub::lag_all`).
    Wake,
    /// The agents connected to one node, announced to the others every second (`bus.rs`;
    /// never delivered to connections).
    NodePresence {
        node: String,
        agents: Vec<crate::routing::RemoteAgent>,
    },
}

/// What a connection can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One visitor: its messages (in any of its conversations) and status changes. Followed by
    /// the visitor's own connections (every tab).
    Visitor(i64),
    /// One conversation's live signals: messages, typing, read receipts. Followed by the agents
    /// who opened it and by the visitor's connections.
    Conversation(i64),
    /// Every agent console: conversation summaries, notes, agents' presence, sign-outs.
    Agents,
    /// Every visitor connection: availability and knowledge-base rebuilds (rare).
    Visitors,
    /// The connections of a visitor not stored yet, by its token (`token_key`).
    Token(i64),
}

impl HubEvent {
    /// The topics this event is delivered on.
    fn topics(&self) -> Vec<Topic> {
        match self {
            HubEvent::Message {
                conversation,
                visitor,
                ..
            } => vec![Topic::Visitor(*visitor), Topic::Conversation(*conversation)],
            HubEvent::Typing { conversation, .. } | HubEvent::Read { conversation, .. } => {
                vec![Topic::Conversation(*conversation)]
            }
            HubEvent::Status { visitor, .. } => vec![Topic::Visitor(*visitor)],
            HubEvent::Presence | HubEvent::IndexChanged { .. } => vec![Topic::Visitors],
            HubEvent::VisitorStored { token, .. } => vec![Topic::Token(*token)],
            HubEvent::Wake | HubEvent::NodePresence { .. } => Vec::new(),
            HubEvent::Erased { visitors, .. } => std::iter::once(Topic::Agents)
                .chain(visitors.iter().map(|v| Topic::Visitor(*v)))
                .collect(),
            HubEvent::Conversation(_)
            | HubEvent::Note(_)
            | HubEvent::SignedOut { .. }
            | HubEvent::SessionEnded { .. }
            | HubEvent::Agents(_) => vec![Topic::Agents],
        }
    }
}

/// What a subscription receives.
#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<HubEvent>),
    /// Events were dropped because the queue was full (the ones still queued were discarded
    /// too, being older than what was lost): rebuild from the store.
    Lagged,
}

struct Subscriber {
    tx: mpsc::Sender<Arc<HubEvent>>,
    lagged: Arc<AtomicBool>,
    delivered: Arc<AtomicU64>,
}

#[derive(Default)]
struct Topics {
    by_topic: HashMap<Topic, HashMap<u64, Subscriber>>,
}

#[derive(Clone, Default)]
pub struct Hub {
    topics: Arc<RwLock<Topics>>,
    next_id: Arc<AtomicU64>,
    /// The other nodes, when there are any (`--redis`).
    bus: Arc<std::sync::OnceLock<crate::bus::Bus>>,
    /// With other nodes: the newest sequence number heard of per conversation lately, which
    /// the safety net compares with the database (`bus::safety_net`).
    heard: Arc<std::sync::Mutex<HashMap<i64, u64>>>,
}

impl Hub {
    pub fn new() -> Self {
        Hub::default()
    }

    /// Sends this node's events to the other nodes too, from now on.
    pub fn attach(&self, bus: crate::bus::Bus) {
        let _ = self.bus.set(bus);
    }

    pub fn bus(&self) -> Option<&crate::bus::Bus> {
        self.bus.get()
    }

    /// Delivers `event` once to every subscription following any of its topics, here and
    /// (when it concerns them) on the other nodes.
    pub fn publish(&self, event: HubEvent) {
        let event = Arc::new(event);
        if let Some(bus) = self.bus.get()
            && crate::bus::crosses_nodes(&event)
        {
            bus.publish(event.clone());
        }
        self.deliver_arc(event);
    }

    /// Delivers an event to this node's subscriptions only (one another node published).
    pub fn deliver(&self, event: HubEvent) {
        self.deliver_arc(Arc::new(event));
    }

    /// Tells every subscription it lagged: each rebuilds what it shows from the store (after
    /// this node could not hear the others for a while).
    pub fn lag_all(&self) {
        let wake = Arc::new(HubEvent::Wake);
        let topics = self.topics.read().expect("hub lock");
        let mut seen: HashSet<u64> = HashSet::new();
        for s in topics.by_topic.values().flat_map(|subs| subs.iter()) {
            if seen.insert(*s.0) {
                s.1.lagged.store(true, Ordering::Release);
                let _ = s.1.tx.try_send(wake.clone());
            }
        }
    }

    /// Tells the subscriptions following conversation `id` that they lagged: each reads what
    /// it lacks from the store.
    pub fn lag_conversation(&self, id: i64) {
        let wake = Arc::new(HubEvent::Wake);
        let topics = self.topics.read().expect("hub lock");
        if let Some(subscribers) = topics.by_topic.get(&Topic::Conversation(id)) {
            for s in subscribers.values() {
                s.lagged.store(true, Ordering::Release);
                let _ = s.tx.try_send(wake.clone());
            }
        }
    }

    /// The newest sequence number heard of per conversation lately.
    pub fn heard_all(&self) -> HashMap<i64, u64> {
        self.heard.lock().expect("heard lock").clone()
    }

    /// Forgets the conversations not in `ids` (quiet lately), keeping the map bounded.
    pub fn forget_heard_except(&self, ids: &HashSet<i64>) {
        self.heard
            .lock()
            .expect("heard lock")
            .retain(|id, _| ids.contains(id));
    }

    fn deliver_arc(&self, event: Arc<HubEvent>) {
        if let HubEvent::Message {
            conversation,
            message,
            ..
        } = &*event
            && self.bus.get().is_some()
        {
            let mut heard = self.heard.lock().expect("heard lock");
            let seq = heard.entry(*conversation).or_default();
            *seq = (*seq).max(message.seq);
        }
        let topics = self.topics.read().expect("hub lock");
        let mut seen: HashSet<u64> = HashSet::new();
        for topic in event.topics() {
            let Some(subscribers) = topics.by_topic.get(&topic) else {
                continue;
            };
            for (id, s) in subscribers {
                if !seen.insert(*id) {
                    continue;
                }
                match s.tx.try_send(event.clone()) {
                    Ok(()) => {
                        s.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        s.lagged.store(true, Ordering::Release);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
    }

    /// A new subscription following nothing yet; `capacity` events may wait in its queue.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Subscription {
            hub: self.clone(),
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            tx,
            rx,
            lagged: Arc::default(),
            delivered: Arc::default(),
            topics: HashSet::new(),
        }
    }

    /// How many subscriptions follow `topic`.
    #[cfg(test)]
    pub fn followers(&self, topic: Topic) -> usize {
        let topics = self.topics.read().expect("hub lock");
        topics.by_topic.get(&topic).map_or(0, HashMap::len)
    }
}

/// One connection's subscription; unsubscribes from everything when dropped.
pub struct Subscription {
    hub: Hub,
    id: u64,
    tx: mpsc::Sender<Arc<HubEvent>>,
    rx: mpsc::Receiver<Arc<HubEvent>>,
    lagged: Arc<AtomicBool>,
    delivered: Arc<AtomicU64>,
    topics: HashSet<Topic>,
}

impl Subscription {
    pub fn follow(&mut self, topic: Topic) {
        if !self.topics.insert(topic) {
            return;
        }
        let mut topics = self.hub.topics.write().expect("hub lock");
        topics.by_topic.entry(topic).or_default().insert(
            self.id,
            Subscriber {
                tx: self.tx.clone(),
                lagged: self.lagged.clone(),
                delivered: self.delivered.clone(),
            },
        );
    }

    pub fn unfollow(&mut self, topic: Topic) {
        if !self.topics.remove(&topic) {
            return;
        }
        let mut topics = self.hub.topics.write().expect("hub lock");
        if let Some(subscribers) = topics.by_topic.get_mut(&topic) {
            subscribers.remove(&self.id);
            if subscribers.is_empty() {
                topics.by_topic.remove(&topic);
            }
        }
    }

    /// Follows exactly these conversations (`Topic::Conversation`), leaving other topics alone.
    pub fn follow_conversations(&mut self, wanted: impl IntoIterator<Item = i64>) {
        let wanted: HashSet<i64> = wanted.into_iter().collect();
        let current: Vec<i64> = self
            .topics
            .iter()
            .filter_map(|t| match t {
                Topic::Conversation(id) => Some(*id),
                _ => None,
            })
            .collect();
        for id in current {
            if !wanted.contains(&id) {
                self.unfollow(Topic::Conversation(id));
            }
        }
        for id in wanted {
            self.follow(Topic::Conversation(id));
        }
    }

    /// Events delivered to this subscription so far.
    #[cfg(test)]
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// The next event, or `Lagged` once the queue overflowed. Never ends: the subscription
    /// holds a sender of its own queue.
    pub async fn recv(&mut self) -> Delivery {
        if self.lagged.swap(false, Ordering::AcqRel) {
            while self.rx.try_recv().is_ok() {}
            return Delivery::Lagged;
        }
        match self.rx.recv().await {
            Some(event) => Delivery::Event(event),
            None => Delivery::Lagged, // unreachable: `self.tx` keeps the channel open
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = self.hub.topics.write().expect("hub lock");
        for topic in &self.topics {
            if let Some(subscribers) = topics.by_topic.get_mut(topic) {
                subscribers.remove(&self.id);
                if subscribers.is_empty() {
                    topics.by_topic.remove(topic);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(conversation: i64, visitor: i64) -> HubEvent {
        HubEvent::Message {
            conversation,
            visitor,
            message: Arc::new(protocol::Message {
                conversation,
                seq: 1,
                id: "m".into(),
                author: Author::Visitor,
                body: "hi".into(),
                at: 1,
                attachments: Vec::new(),
            }),
        }
    }

    #[tokio::test]
    async fn a_message_to_one_conversation_never_wakes_a_follower_of_another() {
        let hub = Hub::new();
        let mut a = hub.subscribe(16);
        a.follow(Topic::Conversation(1));
        let mut b = hub.subscribe(16);
        b.follow(Topic::Conversation(2));
        let mut idle: Vec<Subscription> = (0..100)
            .map(|i| {
                let mut s = hub.subscribe(16);
                s.follow(Topic::Visitors);
                s.follow(Topic::Visitor(1_000 + i));
                s
            })
            .collect();
        for _ in 0..10 {
            hub.publish(message(1, 7));
        }
        assert_eq!(a.delivered(), 10);
        assert_eq!(b.delivered(), 0, "B's follower was never woken");
        assert!(
            idle.iter().all(|s| s.delivered() == 0),
            "idle visitors neither"
        );
        assert!(
            matches!(a.recv().await, Delivery::Event(e) if matches!(*e, HubEvent::Message { conversation: 1, .. }))
        );
        // Rare broadcasts reach every visitor.
        hub.publish(HubEvent::Presence);
        assert!(idle.iter().all(|s| s.delivered() == 1));
        assert_eq!(a.delivered(), 10);
        idle.clear();
        assert_eq!(
            hub.followers(Topic::Visitors),
            0,
            "dropped subscriptions unsubscribe"
        );
    }

    #[tokio::test]
    async fn an_event_on_two_followed_topics_arrives_once() {
        let hub = Hub::new();
        let mut s = hub.subscribe(16);
        s.follow(Topic::Visitor(7));
        s.follow(Topic::Conversation(1));
        hub.publish(message(1, 7));
        assert_eq!(s.delivered(), 1);
        s.unfollow(Topic::Conversation(1));
        s.unfollow(Topic::Visitor(7));
        hub.publish(message(1, 7));
        assert_eq!(s.delivered(), 1);
    }

    #[tokio::test]
    async fn a_full_queue_reports_lag_and_drops_what_is_stale() {
        let hub = Hub::new();
        let mut s = hub.subscribe(4);
        s.follow(Topic::Agents);
        for _ in 0..10 {
            hub.publish(HubEvent::Presence);
            hub.publish(HubEvent::SignedOut { agent: 1 });
        }
        assert_eq!(s.delivered(), 4);
        assert!(matches!(s.recv().await, Delivery::Lagged));
        hub.publish(HubEvent::SignedOut { agent: 2 });
        assert!(
            matches!(s.recv().await, Delivery::Event(e) if matches!(*e, HubEvent::SignedOut { agent: 2 })),
            "the stale queue was discarded"
        );
    }
}
