//! Agents' live sessions, and the watch that ends consoles whose session ended elsewhere.
//!
//! A session can end where this process does not see it: `frontdesk agent disable` or
//! `agent password` from the CLI write the database directly (and, with several nodes, another
//! node may sign an agent out). So the sessions of open consoles are checked against the
//! database every `Settings::session_check`; one that is no longer valid (deleted, expired, its
//! agent disabled) is announced with `HubEvent::SessionEnded` and its consoles close.
//! Endpoints of this process announce their own sign-outs at once.

use crate::hub::HubEvent;
use crate::{AppState, now_millis};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Session token hashes with an open console here, with how many consoles each.
#[derive(Clone, Default)]
pub struct LiveSessions {
    open: Arc<Mutex<HashMap<String, u32>>>,
}

impl LiveSessions {
    pub fn add(&self, token_hash: &str) {
        *self
            .open
            .lock()
            .expect("sessions lock")
            .entry(token_hash.to_owned())
            .or_insert(0) += 1;
    }

    pub fn remove(&self, token_hash: &str) {
        let mut open = self.open.lock().expect("sessions lock");
        if let Some(n) = open.get_mut(token_hash) {
            *n -= 1;
            if *n == 0 {
                open.remove(token_hash);
            }
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.open
            .lock()
            .expect("sessions lock")
            .keys()
            .cloned()
            .collect()
    }
}

/// Checks the live sessions against the database for as long as the server runs.
pub fn watch(state: AppState) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(state.settings.session_check).await;
            for hash in state.live_sessions.snapshot() {
                match state.store.session_agent(&hash, now_millis()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => state
                        .hub
                        .publish(HubEvent::SessionEnded { token_hash: hash }),
                    Err(e) => tracing::warn!(error = %e, "checking a session failed"),
                }
            }
        }
    });
}
