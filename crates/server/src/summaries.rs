//! The agents' inbox summaries of busy conversations, published at most every
//! `COALESCE` per conversation: a conversation receiving 25 messages a second does not need
//! 25 summaries a second on every console, nor 25 reads of its row. Messages themselves are
//! not delayed (they travel on the conversation's topic); only the inbox line is.

use crate::hub::HubEvent;
use crate::{AppState, convert};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long changes to conversations are gathered before their summaries are read (in one
/// query) and published.
const COALESCE: Duration = Duration::from_millis(50);

#[derive(Clone, Default)]
pub struct Summaries {
    dirty: Arc<Mutex<HashSet<i64>>>,
    wake: Arc<Notify>,
}

impl Summaries {
    /// This conversation changed: its summary will be published shortly.
    pub fn touch(&self, conversation: i64) {
        self.dirty
            .lock()
            .expect("summaries lock")
            .insert(conversation);
        self.wake.notify_one();
    }

    /// Publishes touched conversations' summaries for as long as the server runs.
    pub fn start(state: AppState) {
        let summaries = state.summaries.clone();
        tokio::spawn(async move {
            loop {
                summaries.wake.notified().await;
                tokio::time::sleep(COALESCE).await;
                let ids: Vec<i64> = summaries
                    .dirty
                    .lock()
                    .expect("summaries lock")
                    .drain()
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                match state.store.conversations(&ids).await {
                    Ok(list) => {
                        for c in list {
                            state
                                .hub
                                .publish(HubEvent::Conversation(Box::new(convert::summary(c))));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reading conversations for the inbox failed");
                        // Try again with the next batch.
                        summaries.dirty.lock().expect("summaries lock").extend(ids);
                    }
                }
            }
        });
    }
}
