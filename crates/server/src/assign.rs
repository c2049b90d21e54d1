//! Assignment and SLA orchestration: routing new conversations, draining the unassigned queue
//! when an agent comes online, reassigning when one goes offline, and the SLA ticker.

use crate::hub::HubEvent;
use crate::{AppState, convert, now_millis, routing};
use protocol::{PresenceStatus, Priority};
use std::collections::HashMap;

/// Open conversations per assignee.
async fn load(state: &AppState) -> HashMap<i64, u32> {
    let mut load = HashMap::new();
    if let Ok(open) = state.store.list_open_conversations(5_000).await {
        for c in open {
            if let Some((id, _)) = c.assignee {
                *load.entry(id).or_insert(0) += 1;
            }
        }
    }
    load
}

pub async fn publish_agents(state: &AppState) {
    let load = load(state).await;
    state
        .hub
        .publish(HubEvent::Agents(state.presence.list(&load)));
}

async fn publish_summary(state: &AppState, conversation: i64) {
    if let Ok(Some(c)) = state.store.conversation(conversation).await {
        state
            .hub
            .publish(HubEvent::Conversation(Box::new(convert::summary(c))));
    }
}

/// Assigns `conversation` to the next agent in turn (excluding `exclude`), or leaves it in the
/// queue when nobody online has room. Returns the chosen agent.
pub async fn route(state: &AppState, conversation: i64, exclude: Option<i64>) -> Option<i64> {
    let load = load(state).await;
    let candidates = state
        .presence
        .candidates(&load, state.settings.agent_capacity);
    let record = state.store.conversation(conversation).await.ok().flatten();
    let lang = record
        .as_ref()
        .and_then(|c| c.locale.as_deref())
        .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase());
    let chosen = routing::choose(&candidates, exclude, lang.as_deref());
    let current = record.and_then(|c| c.assignee.map(|(id, _)| id));
    if chosen != current {
        match state.store.assign(conversation, chosen, now_millis()).await {
            Ok(_) => {
                if let Some(id) = chosen {
                    state.presence.mark_assigned(id, now_millis());
                }
                publish_summary(state, conversation).await;
                publish_agents(state).await;
            }
            Err(e) => tracing::error!(error = %e, conversation, "assignment failed"),
        }
    }
    chosen
}

/// Gives queued conversations, oldest first, to agents with room.
pub async fn drain_queue(state: &AppState) {
    let Ok(queue) = state.store.unassigned_open(200).await else {
        return;
    };
    for c in queue {
        if route(state, c.id, None).await.is_none() {
            break;
        }
    }
}

/// An agent's last connection closed: after the grace period (a reload is not leaving), if it
/// is still gone, it is offline and its open conversations go to others or back to the queue.
pub fn agent_left(state: AppState, agent: i64) {
    tokio::spawn(async move {
        tokio::time::sleep(state.settings.reassign_grace).await;
        if state.presence.connections(agent) > 0 {
            return;
        }
        state.presence.set_status(agent, PresenceStatus::Offline);
        state.hub.publish(HubEvent::Presence);
        if let Ok(open) = state.store.assigned_open(agent).await {
            for c in open {
                route(&state, c.id, Some(agent)).await;
            }
        }
        publish_agents(&state).await;
    });
}

/// When the first reply is due for a conversation created at `created_at` on `site`.
pub fn first_response_due(
    state: &AppState,
    site: &str,
    priority: Priority,
    created_at: i64,
) -> Option<i64> {
    let minutes = state.settings.sla_first_response.get(&priority).copied()?;
    let duration = (minutes * 60_000.0) as i64;
    match state.site(site).and_then(|s| s.office_hours.as_ref()) {
        Some(hours) => hours.add_open_time(created_at, duration),
        None => Some(created_at + duration),
    }
}

/// Marks overdue first responses as breached, every `sla_tick`.
pub fn start_sla_ticker(state: AppState) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(state.settings.sla_tick).await;
            let now = now_millis();
            let Ok(overdue) = state.store.overdue(now).await else {
                continue;
            };
            for c in overdue {
                let due = c.first_response_due.unwrap_or(now);
                if let Ok(true) = state
                    .store
                    .record_breach(c.id, "first_response", due, now)
                    .await
                {
                    tracing::warn!(conversation = c.id, "first-response SLA breached");
                    publish_summary(&state, c.id).await;
                }
            }
        }
    });
}
