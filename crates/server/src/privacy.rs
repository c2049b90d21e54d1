//! Customer data the customer can take back: a contact's export (for agents) and erasure (for
//! admins) over HTTP, the `[retention]` job, and the erasure watch that removes what the
//! database no longer holds from what this node keeps (its search index, live sessions).
//!
//! Erasures are written by the store to its erasure log (ids only), whoever made them: this
//! node, another node, `frontdesk contact delete` or retention. Every node follows the log,
//! so the search index and open consoles of all nodes forget the same conversations.

use crate::auth::{check_origin, require_agent};
use crate::hub::HubEvent;
use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use protocol::{
    CONTACT_EXPORT_FORMAT, ContactErased, ContactExport, ExportedContact, ExportedConversation,
    ExportedDeflection, ExportedMessage, ExportedNote,
};
use std::sync::Arc;
use std::time::Duration;
use store::{Expiry, MessageAuthor, StoreError};

/// `[retention]`: what happens to resolved conversations older than `days` (by their last
/// activity). Open conversations are never touched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    pub days: u32,
    pub expiry: Expiry,
    /// How often the job looks for conversations past their time.
    pub every: Duration,
}

/// Conversations one retention transaction takes (short write locks on a busy database).
const RETENTION_BATCH: u32 = 200;
/// Erasure log entries read at once.
const ERASURE_PAGE: u32 = 1_000;

fn exported_contact(c: store::Contact) -> ExportedContact {
    ExportedContact {
        id: c.id,
        site: c.site,
        external_id: c.external_id,
        name: c.name,
        email: c.email,
        attributes: c.attributes,
        account_manager: c.account_manager.map(|(_, name)| name),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// The customer's copy of their data, in the export format.
pub fn export_document(data: store::ContactData, now: i64) -> ContactExport {
    ContactExport {
        format: CONTACT_EXPORT_FORMAT.to_owned(),
        exported_at: now,
        contact: exported_contact(data.contact),
        merged: data.merged.into_iter().map(exported_contact).collect(),
        conversations: data
            .conversations
            .into_iter()
            .map(|d| {
                let c = d.conversation;
                ExportedConversation {
                    id: c.id,
                    status: match c.status {
                        store::Status::Open => "open",
                        store::Status::Resolved => "resolved",
                    }
                    .to_owned(),
                    created_at: c.created_at,
                    resolved_at: c.resolved_at,
                    page_url: c.page_url,
                    locale: c.locale,
                    context: c.context,
                    rating: c.rating,
                    rating_comment: c.rating_comment,
                    effort: c.ces,
                    self_help_ms: c.self_help_ms,
                    priority: c.priority,
                    team: c.team,
                    labels: c.labels,
                    messages: d
                        .messages
                        .into_iter()
                        .map(|m| {
                            let (from, agent) = match m.author {
                                MessageAuthor::Visitor => ("customer", None),
                                MessageAuthor::Agent { name, .. } => ("agent", Some(name)),
                            };
                            ExportedMessage {
                                seq: m.seq,
                                from: from.to_owned(),
                                agent,
                                body: m.body,
                                at: m.at,
                                attachments: m.attachments,
                            }
                        })
                        .collect(),
                    notes: d
                        .notes
                        .into_iter()
                        .map(|n| ExportedNote {
                            agent: n.agent_name,
                            body: n.body,
                            at: n.at,
                        })
                        .collect(),
                }
            })
            .collect(),
        answered_by_articles: data
            .deflections
            .into_iter()
            .map(|d| ExportedDeflection {
                query: d.query,
                article: d.article,
                at: d.at,
            })
            .collect(),
    }
}

/// `GET /api/contacts/{id}/export`: every agent may answer a customer's request for their data.
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let agent = require_agent(&state, &headers).await?;
    let data = state
        .store
        .contact_data(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no contact {id}")))?;
    let document = export_document(data, now_millis());
    tracing::info!(
        contact = document.contact.id,
        agent = agent.id,
        "contact exported"
    );
    let filename = format!(
        "attachment; filename=\"contact-{}.json\"",
        document.contact.id
    );
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&filename).expect("ascii"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `DELETE /api/contacts/{id}`: admins only (it cannot be undone).
pub async fn erase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<ContactErased>, AppError> {
    check_origin(&state, &headers)?;
    let agent = require_agent(&state, &headers).await?;
    if !agent.admin {
        return Err(AppError::Forbidden(
            "only admins delete a contact's data".into(),
        ));
    }
    Ok(Json(
        erase_contact(&state, id, &format!("agent {}", agent.id)).await?,
    ))
}

/// Erases a contact and its data (the console and the API), `by` saying who in the log.
pub(crate) async fn erase_contact(
    state: &AppState,
    id: i64,
    by: &str,
) -> Result<ContactErased, AppError> {
    let erased = state
        .store
        .erase_contact(id, now_millis())
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::NotFound(format!("no contact {id}")),
            e => e.into(),
        })?;
    tracing::info!(
        contact = id,
        by,
        conversations = erased.conversations.len(),
        "contact erased"
    );
    // This node's watch reads the log now (not at its next poll); the other nodes within a poll.
    state.erasures.notify_one();
    crate::assign::room_freed(state).await;
    Ok(ContactErased {
        contacts: erased.contacts,
        conversations: erased.conversations,
        browsers: erased.visitors,
    })
}

/// Removes erased conversations from the search index and tells the sessions that show them.
async fn apply(state: &AppState, conversations: &[i64], visitors: &[i64]) {
    if conversations.is_empty() && visitors.is_empty() {
        return;
    }
    if let Some(search) = state.messages.clone() {
        let ids = conversations.to_vec();
        match tokio::task::spawn_blocking(move || search.remove_conversations(&ids)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "removing erased conversations from search failed")
            }
            Err(e) => {
                tracing::error!(error = %e, "removing erased conversations from search failed")
            }
        }
    }
    state.hub.publish(HubEvent::Erased {
        conversations: Arc::from(conversations),
        visitors: Arc::from(visitors),
    });
}

/// Follows the erasure log from `after` for as long as the server runs.
fn follow_erasures(state: AppState, mut after: i64) {
    tokio::spawn(async move {
        loop {
            match state.store.erasures_since(after, ERASURE_PAGE).await {
                Ok(page) if !page.is_empty() => {
                    after = page.last().map_or(after, |e| e.id);
                    let conversations: Vec<i64> =
                        page.iter().filter_map(|e| e.conversation).collect();
                    let visitors: Vec<i64> = page.iter().filter_map(|e| e.visitor).collect();
                    apply(&state, &conversations, &visitors).await;
                    save_cursor(&state, after);
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading the erasure log failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(state.settings.session_check) => {}
                _ = state.erasures.notified() => {}
            }
        }
    });
}

/// Where an on-disk search index records how far into the erasure log it is.
fn cursor_file(state: &AppState) -> Option<std::path::PathBuf> {
    state
        .settings
        .search_dir
        .as_ref()
        .map(|d| d.join("erasures-applied"))
}

fn save_cursor(state: &AppState, after: i64) {
    if let Some(file) = cursor_file(state)
        && let Err(e) = std::fs::write(&file, after.to_string())
    {
        tracing::warn!(error = %e, "writing {} failed", file.display());
    }
}

/// The latest erasure now (a freshly rebuilt index holds nothing erased before it).
async fn latest_erasure(state: &AppState) -> i64 {
    state.store.latest_erasure().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the erasure log failed");
        0
    })
}

/// Starts the erasure watch from where this node's on-disk search index stopped (or from the
/// log's end when the index lives in memory and is rebuilt from the database), and retention.
pub async fn start(state: &AppState) {
    let saved = cursor_file(state)
        .filter(|_| state.messages.is_some())
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse().ok());
    let after = match saved {
        Some(after) => after,
        None if state.settings.search_dir.is_some() && state.messages.is_some() => 0,
        None => latest_erasure(state).await,
    };
    start_at(state, after);
}

/// Starts the erasure watch at the log's end as it is now: call it before a search rebuild
/// reads the database (the rebuild sees nothing erased before it).
pub async fn start_at_latest(state: &AppState) {
    let after = latest_erasure(state).await;
    start_at(state, after);
}

fn start_at(state: &AppState, after: i64) {
    follow_erasures(state.clone(), after);
    if let Some(retention) = state.settings.retention {
        start_retention(state.clone(), retention);
    }
}

/// Runs retention now: every resolved conversation past its time, in batches. Returns how many.
pub async fn run_retention(state: &AppState, retention: Retention) -> Result<usize, StoreError> {
    let now = now_millis();
    let before = now - i64::from(retention.days) * 86_400_000;
    let mut done = 0;
    loop {
        let batch = state
            .store
            .expire(before, retention.expiry, RETENTION_BATCH, now)
            .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        done += batch.len();
        tokio::task::yield_now().await;
    }
}

fn start_retention(state: AppState, retention: Retention) {
    tokio::spawn(async move {
        // Not in the way of start-up.
        tokio::time::sleep(Duration::from_secs(5).min(retention.every)).await;
        loop {
            // One node applies retention at a time.
            let ttl = (retention.every * 2).max(Duration::from_secs(10));
            let held = state
                .store
                .try_lease("retention", &state.node, ttl.as_millis() as i64)
                .await;
            if !matches!(held, Ok(true)) {
                tokio::time::sleep(retention.every).await;
                continue;
            }
            match run_retention(&state, retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    conversations = n,
                    days = retention.days,
                    action = ?retention.expiry,
                    "retention applied"
                ),
                Err(e) => tracing::error!(error = %e, "retention failed"),
            }
            tokio::time::sleep(retention.every).await;
        }
    });
}
