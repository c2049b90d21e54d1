//! What an agent does to a conversation (reply, private note, assign, priority, labels, team,
//! resolve, reopen): stored, then announced on the hub so open consoles and widgets follow.
//! The console's WebSocket session (`ws/agent.rs`) and the public API (`api/`) both go through
//! these functions, so a change made either way reaches every open client the same way.

use crate::hub::HubEvent;
use crate::{AppState, convert, now_millis};
use protocol::ConversationStatus;
use std::sync::Arc;
use store::{NewMessage, Status, StoreError};

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    NotFound(String),
    /// The request names something that cannot be (a team that does not exist, a reopening
    /// that would give the customer two open conversations).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn no_conversation(conversation: i64) -> impl Fn(StoreError) -> ActionError {
    move |e| match e {
        StoreError::NotFound { .. } => {
            ActionError::NotFound(format!("conversation {conversation} does not exist"))
        }
        e => ActionError::Store(e),
    }
}

/// Tells every console that the conversation changed.
fn publish(state: &AppState, c: &store::Conversation) {
    state
        .hub
        .publish(HubEvent::Conversation(Box::new(convert::summary(
            c.clone(),
        ))));
}

/// An agent's reply, committed (or the one already stored under this client id) and delivered
/// to the customer's and the agents' connections.
pub async fn reply(
    state: &AppState,
    agent: i64,
    conversation: i64,
    client_id: &str,
    body: &str,
    attachments: &[String],
) -> Result<store::Appended, ActionError> {
    let visitor = state
        .store
        .conversation(conversation)
        .await?
        .ok_or_else(|| {
            ActionError::NotFound(format!("conversation {conversation} does not exist"))
        })?
        .visitor_id;
    // The agent's files were uploaded into this conversation (`attachments.rs`).
    let files = state
        .store
        .claim_attachments(attachments, conversation, None)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ActionError::Invalid(
                "an attachment does not exist or was not uploaded to this conversation".into(),
            ),
            e => ActionError::Store(e),
        })?;
    let appended = state
        .store
        .append_message(NewMessage {
            conversation_id: conversation,
            client_id,
            agent_id: Some(agent),
            body,
            at: now_millis(),
            attachments: &files,
        })
        .await?;
    if !appended.duplicate {
        let text = crate::attachments::search_text(body, &files);
        state.index_text(conversation, server_search::messages::Kind::Message, &text);
        state.hub.publish(HubEvent::Message {
            conversation,
            visitor,
            message: Arc::new(convert::message(appended.message.clone())),
        });
        state.summaries.touch(conversation);
    }
    Ok(appended)
}

/// A private note (agents only), indexed for search and shown on the consoles that follow the
/// conversation.
pub async fn note(
    state: &AppState,
    agent: i64,
    conversation: i64,
    client_id: &str,
    body: &str,
) -> Result<store::StoredNote, ActionError> {
    let note = state
        .store
        .add_note(conversation, agent, client_id, body, now_millis())
        .await
        .map_err(no_conversation(conversation))?;
    state.index_text(
        conversation,
        server_search::messages::Kind::Note,
        &note.body,
    );
    state
        .hub
        .publish(HubEvent::Note(Box::new(convert::note(note.clone()))));
    Ok(note)
}

/// Resolves or reopens. Only a real reopening restarts the resolution clock (a stale "reopen"
/// of an open conversation must not push its deadline back).
pub async fn set_status(
    state: &AppState,
    conversation: i64,
    status: Status,
) -> Result<store::Conversation, ActionError> {
    let now = now_millis();
    let was_resolved = matches!(
        state.store.conversation(conversation).await?,
        Some(c) if c.status == Status::Resolved
    );
    let mut c = state
        .store
        .set_status(conversation, status, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ActionError::Invalid("the customer already has another open conversation".into())
            }
            e => no_conversation(conversation)(e),
        })?;
    if status == Status::Open && was_resolved {
        crate::assign::reopened(state, &c, now).await;
        if let Some(fresh) = state.store.conversation(conversation).await? {
            c = fresh;
        }
    }
    state.hub.publish(HubEvent::Status {
        conversation,
        visitor: c.visitor_id,
        status: match status {
            Status::Open => ConversationStatus::Open,
            Status::Resolved => ConversationStatus::Resolved,
        },
    });
    publish(state, &c);
    if status == Status::Resolved {
        crate::assign::room_freed(state).await;
    }
    Ok(c)
}

/// Assigns to an enabled agent, or unassigns with `None`.
pub async fn assign(
    state: &AppState,
    conversation: i64,
    agent: Option<i64>,
) -> Result<store::Conversation, ActionError> {
    if let Some(id) = agent {
        match state.store.agent(id).await? {
            Some(a) if !a.disabled => {}
            _ => return Err(ActionError::NotFound(format!("agent {id} does not exist"))),
        }
    }
    let c = state
        .store
        .assign(conversation, agent, now_millis())
        .await
        .map_err(no_conversation(conversation))?;
    publish(state, &c);
    if let Some(id) = agent {
        state.presence.mark_assigned(id, now_millis());
    }
    crate::assign::publish_agents(state).await;
    Ok(c)
}

/// Replaces the labels (normalized, sorted, without duplicates; invalid ones dropped).
pub async fn set_labels(
    state: &AppState,
    conversation: i64,
    labels: &[String],
) -> Result<store::Conversation, ActionError> {
    let mut labels: Vec<String> = labels
        .iter()
        .filter_map(|l| protocol::normalize_label(l))
        .collect();
    labels.sort();
    labels.dedup();
    let c = state
        .store
        .set_labels(conversation, &labels)
        .await
        .map_err(no_conversation(conversation))?;
    publish(state, &c);
    Ok(c)
}

/// Moves a conversation to a team and routes it among the team's members (not back to
/// whoever holds it now); without a team it stays where it is.
pub async fn set_team(
    state: &AppState,
    conversation: i64,
    team: Option<&str>,
) -> Result<store::Conversation, ActionError> {
    let team = team.and_then(protocol::normalize_label);
    if let Some(t) = &team
        && !crate::assign::teams(state).await.contains(t)
    {
        return Err(ActionError::Invalid(format!("there is no team {t:?}")));
    }
    let c = state
        .store
        .set_team(conversation, team.as_deref())
        .await
        .map_err(no_conversation(conversation))?;
    publish(state, &c);
    if team.is_some() {
        let holder = c.assignee.as_ref().map(|a| a.0);
        crate::assign::route(state, conversation, holder).await;
    }
    Ok(c)
}

/// Sets the priority and the SLA deadlines it implies.
pub async fn set_priority(
    state: &AppState,
    conversation: i64,
    priority: protocol::Priority,
) -> Result<store::Conversation, ActionError> {
    let c = state
        .store
        .conversation(conversation)
        .await?
        .ok_or_else(|| {
            ActionError::NotFound(format!("conversation {conversation} does not exist"))
        })?;
    let dues = crate::assign::sla_dues(state, &c, priority);
    let c = state
        .store
        .set_priority(conversation, priority.as_str(), dues)
        .await
        .map_err(no_conversation(conversation))?;
    publish(state, &c);
    Ok(c)
}
