//! Assignment and SLA orchestration: routing new conversations, draining the unassigned queue
//! when an agent comes online, reassigning when one goes offline, and the SLA ticker.

use crate::hub::HubEvent;
use crate::{AppState, convert, now_millis, routing};
use protocol::{PresenceStatus, Priority};
use std::collections::HashMap;
use store::SlaDues;

/// Open conversations per assignee.
pub(crate) async fn load(state: &AppState) -> HashMap<i64, u32> {
    state.store.open_load().await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "reading the agents' load failed");
        HashMap::new()
    })
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

/// The contact's account manager, when that agent is online (sticky routing: the customer's
/// own agent takes the conversation whatever the turn or load, as long as they are there).
async fn account_manager(
    state: &AppState,
    record: &store::Conversation,
    exclude: Option<i64>,
) -> Option<i64> {
    let contact = state.store.contact(record.contact_id?).await.ok()??;
    let (manager, _) = contact.account_manager?;
    let online = state.presence.status(manager) == PresenceStatus::Online;
    let in_team = match &record.team {
        Some(team) => state
            .store
            .agent(manager)
            .await
            .ok()
            .flatten()
            .is_some_and(|a| a.teams.contains(team)),
        None => true,
    };
    (online && in_team && Some(manager) != exclude).then_some(manager)
}

/// Assigns `conversation` to the contact's account manager when online, else the next agent in
/// turn (excluding `exclude`), or leaves it in the queue when nobody online has room. Returns
/// the chosen agent.
pub async fn route(state: &AppState, conversation: i64, exclude: Option<i64>) -> Option<i64> {
    let mut load = load(state).await;
    let (chosen, changed) = place(state, conversation, exclude, &mut load).await;
    if changed {
        publish_agents(state).await;
    }
    chosen
}

/// Routes several conversations against one reading of the load (kept up to date as they are
/// placed). The callers tell consoles about the agents afterwards.
async fn route_all(state: &AppState, conversations: &[i64], exclude: Option<i64>) {
    let mut load = load(state).await;
    for &id in conversations {
        place(state, id, exclude, &mut load).await;
    }
}

/// The routing decision for one conversation, stored and announced; `load` follows it.
/// Returns the chosen agent and whether the assignment changed.
async fn place(
    state: &AppState,
    conversation: i64,
    exclude: Option<i64>,
    load: &mut HashMap<i64, u32>,
) -> (Option<i64>, bool) {
    let record = state.store.conversation(conversation).await.ok().flatten();
    let lang = record
        .as_ref()
        .and_then(|c| c.locale.as_deref())
        .and_then(protocol::primary_language);
    let team = record.as_ref().and_then(|c| c.team.clone());
    let sticky = match &record {
        Some(r) => account_manager(state, r, exclude).await,
        None => None,
    };
    let mut chosen = sticky;
    // The registry is in memory; the database says who is disabled. A disabled agent whose
    // console has not closed yet (disabled from the CLI a moment ago) is taken out and skipped.
    for _ in 0..3 {
        let pick = chosen.or_else(|| {
            let candidates = state
                .presence
                .candidates(load, state.settings.agent_capacity);
            routing::choose(
                &candidates,
                exclude,
                lang.as_deref(),
                team.as_deref(),
                state.settings.routing_strategy,
            )
        });
        match pick {
            Some(id) if agent_disabled(state, id).await => {
                state.presence.set_status(id, PresenceStatus::Offline);
                chosen = None;
            }
            pick => {
                chosen = pick;
                break;
            }
        }
    }
    let current = record.and_then(|c| c.assignee.map(|(id, _)| id));
    if chosen == current {
        return (chosen, false);
    }
    // Conditional: another node routing the same conversation at the same moment (both
    // saw it in the queue) decides first, and this decision is dropped.
    match state
        .store
        .assign_if(conversation, current, chosen, now_millis())
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => return (current, false),
        Err(e) => {
            tracing::error!(error = %e, conversation, "assignment failed");
            return (current, false);
        }
    }
    if let Some(id) = current
        && let Some(n) = load.get_mut(&id)
    {
        *n = n.saturating_sub(1);
    }
    if let Some(id) = chosen {
        *load.entry(id).or_insert(0) += 1;
        state.presence.mark_assigned(id, now_millis());
    }
    publish_summary(state, conversation).await;
    (chosen, true)
}

async fn agent_disabled(state: &AppState, id: i64) -> bool {
    matches!(state.store.agent(id).await, Ok(Some(a)) if a.disabled)
}

/// An agent may have room now (a conversation was resolved): place what waits in the queue.
pub async fn room_freed(state: &AppState) {
    if matches!(state.store.unassigned_open(1).await, Ok(q) if !q.is_empty()) {
        drain_queue(state).await;
        publish_agents(state).await;
    }
}

/// Gives queued conversations, oldest first, to agents with room. Not stopping at the first
/// that cannot be placed: a team's conversation may wait for its members while others behind
/// it can go. The caller publishes the agents' new load.
pub async fn drain_queue(state: &AppState) {
    if let Ok(queue) = state.store.unassigned_open(200).await {
        let ids: Vec<i64> = queue.iter().map(|c| c.id).collect();
        route_all(state, &ids, None).await;
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
        take_offline(&state, agent).await;
    });
}

/// An agent's session ended (signed out, disabled, new password) and it has no console left:
/// offline now, without the grace a reload gets, and its open conversations go to others.
pub fn agent_signed_out(state: AppState, agent: i64) {
    tokio::spawn(async move {
        if state.presence.connections(agent) > 0 {
            return;
        }
        take_offline(&state, agent).await;
    });
}

async fn take_offline(state: &AppState, agent: i64) {
    state.presence.set_status(agent, PresenceStatus::Offline);
    state.hub.publish(HubEvent::Presence);
    if let Ok(open) = state.store.assigned_open(agent).await {
        let ids: Vec<i64> = open.iter().map(|c| c.id).collect();
        route_all(state, &ids, Some(agent)).await;
    }
    publish_agents(state).await;
}

/// Every team: named on an agent or as a site's team, sorted.
pub async fn teams(state: &AppState) -> Vec<String> {
    let mut teams: std::collections::BTreeSet<String> = state
        .settings
        .sites
        .values()
        .filter_map(|s| s.team.clone())
        .collect();
    if let Ok(agents) = state.store.list_agents().await {
        teams.extend(
            agents
                .into_iter()
                .filter(|a| !a.disabled)
                .flat_map(|a| a.teams),
        );
    }
    teams.into_iter().collect()
}

/// When a deadline of `minutes` (per priority) started at `from` falls, counting only the
/// site's office hours when it has them.
fn due(
    state: &AppState,
    site: &str,
    minutes: &std::collections::BTreeMap<Priority, f64>,
    priority: Priority,
    from: i64,
) -> Option<i64> {
    let duration = (minutes.get(&priority).copied()? * 60_000.0) as i64;
    match state.site(site).and_then(|s| s.office_hours.as_ref()) {
        Some(hours) => hours.add_open_time(from, duration),
        None => Some(from + duration),
    }
}

/// Every deadline of `c` under `priority`, each from when its clock started.
pub fn sla_dues(state: &AppState, c: &store::Conversation, priority: Priority) -> SlaDues {
    let s = &state.settings;
    SlaDues {
        first_response: due(
            state,
            &c.site,
            &s.sla_first_response,
            priority,
            c.created_at,
        ),
        next_response: c
            .next_response_from
            .and_then(|from| due(state, &c.site, &s.sla_next_response, priority, from)),
        resolution: due(
            state,
            &c.site,
            &s.sla_resolution,
            priority,
            c.resolution_from.unwrap_or(c.created_at),
        ),
    }
}

/// The customer wrote: if an agent had answered before, the next-response clock starts now.
pub async fn customer_wrote(
    state: &AppState,
    conversation: i64,
    site: &str,
    priority: Priority,
    at: i64,
) -> bool {
    let due = due(state, site, &state.settings.sla_next_response, priority, at);
    match state.store.begin_next_response(conversation, at, due).await {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, conversation, "starting the next-response clock failed");
            false
        }
    }
}

/// A conversation was reopened: its resolution clock starts again.
/// A new conversation's first-response deadline (by its priority) and its site's team.
pub async fn started(state: &AppState, c: &store::Conversation) -> Result<(), store::StoreError> {
    if c.last_seq == 0 && c.first_response_due.is_none() && c.first_response_at.is_none() {
        let priority = Priority::parse(&c.priority).unwrap_or_default();
        let dues = sla_dues(state, c, priority);
        state.store.set_priority(c.id, &c.priority, dues).await?;
        if let Some(team) = state.site(&c.site).and_then(|s| s.team.as_deref()) {
            state.store.set_team(c.id, Some(team)).await?;
        }
    }
    Ok(())
}

pub async fn reopened(state: &AppState, c: &store::Conversation, at: i64) {
    let priority = Priority::parse(&c.priority).unwrap_or_default();
    let due = due(state, &c.site, &state.settings.sla_resolution, priority, at);
    if let Err(e) = state.store.set_resolution_due(c.id, at, due).await {
        tracing::error!(error = %e, conversation = c.id, "restarting the resolution clock failed");
    }
}

/// Records passed deadlines as breaches, every `sla_tick`.
pub fn start_sla_ticker(state: AppState) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(state.settings.sla_tick).await;
            // One node checks at a time (breaches are recorded once anyway: this saves the
            // others the work); another takes over when it stops renewing.
            let ttl = (state.settings.sla_tick * 3).max(std::time::Duration::from_secs(1));
            if !matches!(
                state
                    .store
                    .try_lease("sla", &state.node, ttl.as_millis() as i64)
                    .await,
                Ok(true)
            ) {
                continue;
            }
            let now = now_millis();
            let Ok(overdue) = state.store.overdue(now).await else {
                continue;
            };
            for o in overdue {
                let id = o.conversation.id;
                if let Ok(true) = state.store.record_breach(id, o.kind, o.due, now).await {
                    state.metrics.sla_breached();
                    crate::rules::fire(&state, "sla.breached", id, None);
                    tracing::warn!(conversation = id, kind = o.kind.as_str(), "SLA breached");
                    publish_summary(&state, id).await;
                }
            }
        }
    });
}
