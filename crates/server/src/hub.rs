//! In-process fan-out of "something changed" signals between connections.
//!
//! Events carry no message bodies: a session that hears "conversation 7 changed" reads what it
//! has not delivered yet from the store, so a lagging receiver can never skip or repeat a message.

use protocol::{Author, ConversationStatus, ConversationSummary, Reader};
use tokio::sync::broadcast;

#[derive(Debug, Clone)]
pub enum HubEvent {
    /// New messages were committed in this conversation.
    Message { conversation: i64, visitor: i64 },
    /// A conversation was created or its summary changed. Boxed: the broadcast ring keeps 1024
    /// events, and the other variants are small.
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
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<HubEvent>,
}

impl Hub {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Hub { tx }
    }

    pub fn publish(&self, event: HubEvent) {
        // No receivers is fine: nobody is connected.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.tx.subscribe()
    }
}
