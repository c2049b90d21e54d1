//! Contacts over HTTP, for agents: a customer's profile (details, custom attributes, account
//! manager, every conversation, likely duplicates), choosing the account manager, and merging
//! duplicates. Changes are pushed to live consoles as conversation updates.

use crate::auth::{check_origin, require_agent};
use crate::hub::HubEvent;
use crate::{AppError, AppState, convert, now_millis};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use protocol::ContactProfile;
use serde::Deserialize;
use store::StoreError;

fn not_found(id: i64) -> impl Fn(StoreError) -> AppError {
    move |e| match e {
        StoreError::NotFound { what } => AppError::NotFound(format!("no {what} {id}")),
        StoreError::Conflict { what } => AppError::Conflict(format!("cannot merge: {what}")),
        e => e.into(),
    }
}

pub(crate) async fn profile(state: &AppState, id: i64) -> Result<ContactProfile, AppError> {
    let contact = state
        .store
        .contact(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no contact {id}")))?;
    let conversations = state
        .store
        .conversations_of_contact(contact.id, 50)
        .await?
        .into_iter()
        .map(convert::summary)
        .collect();
    let duplicates = match &contact.email {
        Some(email) => state
            .store
            .contacts_with_email(&contact.site, email, contact.id)
            .await?
            .iter()
            .map(convert::contact_ref)
            .collect(),
        None => Vec::new(),
    };
    Ok(ContactProfile {
        contact: convert::contact_ref(&contact),
        attributes: contact.attributes.clone(),
        account_manager: contact
            .account_manager
            .clone()
            .map(|(id, name)| protocol::AgentRef { id, name }),
        conversations,
        duplicates,
    })
}

/// Pushes the contact's open conversations to consoles (their contact changed).
pub(crate) async fn publish_open(state: &AppState, contact: i64) {
    if let Ok(list) = state.store.conversations_of_contact(contact, 50).await {
        for c in list.into_iter().filter(|c| c.status == store::Status::Open) {
            state
                .hub
                .publish(HubEvent::Conversation(Box::new(convert::summary(c))));
        }
    }
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<ContactProfile>, AppError> {
    require_agent(&state, &headers).await?;
    Ok(Json(profile(&state, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerRequest {
    /// The agent, or `null` for none.
    agent: Option<i64>,
}

pub async fn set_account_manager(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(req): Json<ManagerRequest>,
) -> Result<Json<ContactProfile>, AppError> {
    check_origin(&state, &headers)?;
    require_agent(&state, &headers).await?;
    if let Some(agent) = req.agent {
        match state.store.agent(agent).await? {
            Some(a) if !a.disabled => {}
            _ => return Err(AppError::NotFound(format!("no agent {agent}"))),
        }
    }
    state
        .store
        .set_account_manager(id, req.agent, now_millis())
        .await
        .map_err(not_found(id))?;
    Ok(Json(profile(&state, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The contact that stays; this one (`{id}`) is merged into it.
    into: i64,
}

pub async fn merge(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(req): Json<MergeRequest>,
) -> Result<Json<ContactProfile>, AppError> {
    check_origin(&state, &headers)?;
    let agent = require_agent(&state, &headers).await?;
    Ok(Json(
        merge_into(&state, id, req.into, &format!("agent {}", agent.id)).await?,
    ))
}

/// Merges contact `id` into `into` (the console and the API), `by` saying who in the log.
pub(crate) async fn merge_into(
    state: &AppState,
    id: i64,
    into: i64,
    by: &str,
) -> Result<ContactProfile, AppError> {
    if id == into {
        return Err(AppError::BadRequest(
            "a contact cannot be merged into itself".into(),
        ));
    }
    let merged = state
        .store
        .merge_contacts(id, into, now_millis())
        .await
        .map_err(not_found(id))?;
    tracing::info!(from = id, into = merged.id, by, "contacts merged");
    publish_open(state, merged.id).await;
    profile(state, merged.id).await
}

/// A conversation with a contact opened from the server side (the public API): on the
/// contact's latest browser, so the customer sees it in the widget there, else on a new
/// browser of the contact that only the server knows. The browser's open conversation if it
/// has one.
pub(crate) async fn open_conversation(
    state: &AppState,
    contact_id: i64,
) -> Result<store::Conversation, AppError> {
    let now = now_millis();
    let contact = state
        .store
        .contact(contact_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no contact {contact_id}")))?;
    let latest = state.store.conversations_of_contact(contact.id, 1).await?;
    let visitor = match latest.first() {
        Some(c) => store::Visitor {
            id: c.visitor_id,
            site: c.site.clone(),
            verified_as: None,
        },
        None => {
            // Its token is never given to anyone: only the server writes on this browser.
            let hash = crate::auth::token_hash(&crate::auth::new_token());
            let v = state
                .store
                .create_visitor(&hash, &contact.site, now)
                .await?;
            match &contact.external_id {
                Some(external) => {
                    state.store.identify_visitor(v.id, external, now).await?;
                }
                None => {
                    let own = state.store.visitor_contact(v.id, now).await?;
                    state
                        .store
                        .merge_contacts(own.id, contact.id, now)
                        .await
                        .map_err(not_found(contact.id))?;
                }
            }
            v
        }
    };
    let c = state
        .store
        .open_or_create_conversation(&visitor, &store::ConversationContext::default(), now)
        .await?;
    crate::assign::started(state, &c).await?;
    Ok(c)
}
