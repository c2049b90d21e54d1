//! `/api/v1/conversations`: the list (filters, keyset pages behind an opaque cursor), one
//! conversation, a conversation opened with a contact, its messages and private notes, and
//! the agent's actions (assign, priority, labels, team, resolve, reopen) through
//! `crate::actions`, as the console does them.

use super::{ApiError, Caller};
use crate::actions;
use crate::{AppState, convert};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use protocol::api::{
    AssignRequest, ConversationListQuery, ConversationPage, LabelsRequest, MAX_PAGE,
    MessageListQuery, MessagePage, NewAgentText, NewConversation, PriorityRequest, TeamRequest,
};
use protocol::{ConversationSummary, Message, Note};
use store::{AssigneeFilter, ConversationFilter, Status, TokenScope};

const CURSOR_TAG: &str = "c1:";
const MAX_FILTER_CHARS: usize = 100;

/// The opaque cursor of the page after conversation `id`.
fn cursor(id: i64) -> String {
    hex::encode(format!("{CURSOR_TAG}{id}"))
}

fn read_cursor(text: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::bad_request("cursor is not one this API gave");
    let bytes = hex::decode(text).map_err(|_| bad())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    text.strip_prefix(CURSOR_TAG)
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(bad)
}

fn filter_text(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_FILTER_CHARS => Err(ApiError::bad_request(format!(
            "{name} is longer than {MAX_FILTER_CHARS} characters"
        ))),
        other => Ok(other),
    }
}

fn filter(query: ConversationListQuery) -> Result<ConversationFilter, ApiError> {
    let status = match filter_text("status", query.status)?.as_deref() {
        None => None,
        Some("open") => Some(Status::Open),
        Some("resolved") => Some(Status::Resolved),
        Some(_) => return Err(ApiError::bad_request("status must be open or resolved")),
    };
    let assignee = match filter_text("assignee", query.assignee)?.as_deref() {
        None => None,
        Some("none") => Some(AssigneeFilter::Nobody),
        Some(id) => Some(AssigneeFilter::Agent(id.parse().map_err(|_| {
            ApiError::bad_request("assignee must be an agent id or none")
        })?)),
    };
    let priority = filter_text("priority", query.priority)?;
    if let Some(p) = &priority
        && protocol::Priority::parse(p).is_none()
    {
        return Err(ApiError::bad_request(
            "priority must be low, normal, high or urgent",
        ));
    }
    let label = filter_text("label", query.label)?
        .map(|l| {
            protocol::normalize_label(&l)
                .ok_or_else(|| ApiError::bad_request("label is not a valid label"))
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    Ok(ConversationFilter {
        status,
        site: filter_text("site", query.site)?,
        assignee,
        label,
        priority,
        before: query.cursor.as_deref().map(read_cursor).transpose()?,
        limit,
    })
}

/// List conversations, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    params(ConversationListQuery),
    responses((status = 200, description = "A page of conversations", body = ConversationPage)),
    security(("bearer" = ["read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ConversationListQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    caller.require(TokenScope::Read)?;
    let mut filter = filter(query)?;
    let limit = filter.limit as usize;
    // One more than the page: whether there is a next page is known without another query.
    filter.limit += 1;
    let mut found = state.store.list_conversations(&filter).await?;
    let next_cursor = (found.len() > limit).then(|| cursor(found[limit - 1].id));
    found.truncate(limit);
    Ok(Json(ConversationPage {
        conversations: found.into_iter().map(convert::summary).collect(),
        next_cursor,
    }))
}

async fn conversation(state: &AppState, id: i64) -> Result<store::Conversation, ApiError> {
    state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("conversation {id} does not exist")))
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ConversationSummary>, ApiError> {
    caller.require(TokenScope::Read)?;
    Ok(Json(convert::summary(conversation(&state, id).await?)))
}

/// A body and client id as the console's frames check them (422 when not valid).
fn text(req: &NewAgentText) -> Result<String, ApiError> {
    let id = match &req.id {
        Some(id) => id.clone(),
        None => format!(
            "api-{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        ),
    };
    protocol::check_id(&id).map_err(|e| ApiError::invalid(e.message))?;
    protocol::check_body(&id, &req.body).map_err(|e| ApiError::invalid(e.message))?;
    Ok(id)
}

/// Open a conversation with a contact: the agent writes first and holds it. It is opened on
/// the contact's latest browser (the customer sees it in the widget there); a contact that
/// never chatted gets a server-side one. A browser that already has an open conversation
/// gets the message in that one (and whoever holds it keeps it).
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations",
    request_body = NewConversation,
    responses((status = 201, description = "The conversation, with the message in it",
        body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewConversation>,
) -> Result<(StatusCode, Json<ConversationSummary>), ApiError> {
    caller.require(TokenScope::Write)?;
    let id = text(&NewAgentText {
        body: req.body.clone(),
        agent: req.agent,
        id: None,
    })?;
    let agent = caller.author(&state, req.agent).await?;
    let c = crate::contacts::open_conversation(&state, req.contact)
        .await
        .map_err(ApiError::from)?;
    // A conversation someone already holds stays theirs.
    if c.assignee.is_none() {
        actions::assign(&state, c.id, Some(agent)).await?;
    }
    actions::reply(&state, agent, c.id, &id, &req.body, &[]).await?;
    let c = conversation(&state, c.id).await?;
    Ok((StatusCode::CREATED, Json(convert::summary(c))))
}

/// Messages after a sequence number, in order.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "messages",
    params(("id" = i64, Path, description = "The conversation's id"), MessageListQuery),
    responses((status = 200, description = "A page of messages", body = MessagePage)),
    security(("bearer" = ["read"])))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<MessageListQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    caller.require(TokenScope::Read)?;
    let limit = query.limit.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    let c = conversation(&state, id).await?;
    let after = query.after.unwrap_or(0);
    let page = state.store.messages_after(id, after, limit).await?;
    let last = page.last().map(|m| m.seq);
    Ok(Json(MessagePage {
        messages: page.into_iter().map(convert::message).collect(),
        next_after: last.filter(|&seq| seq < c.last_seq),
    }))
}

/// Reply to the customer as an agent (delivered live to the widget and the consoles).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "messages",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = NewAgentText,
    responses((status = 201, description = "The stored message (the same one again for a \
        repeated id)", body = Message)),
    security(("bearer" = ["write"])))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<NewAgentText>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    caller.require(TokenScope::Write)?;
    let client_id = text(&req)?;
    let agent = caller.author(&state, req.agent).await?;
    let appended = actions::reply(&state, agent, id, &client_id, &req.body, &[]).await?;
    Ok((
        StatusCode::CREATED,
        Json(convert::message(appended.message)),
    ))
}

/// The private notes (agents only; never shown to the customer).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/notes", tag = "messages",
    params(("id" = i64, Path, description = "The conversation's id")),
    responses((status = 200, description = "The notes, oldest first", body = Vec<Note>)),
    security(("bearer" = ["read"])))]
pub async fn notes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Note>>, ApiError> {
    caller.require(TokenScope::Read)?;
    conversation(&state, id).await?;
    let notes = state.store.notes(id).await?;
    Ok(Json(notes.into_iter().map(convert::note).collect()))
}

/// Add a private note.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/notes", tag = "messages",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = NewAgentText,
    responses((status = 201, description = "The stored note", body = Note)),
    security(("bearer" = ["write"])))]
pub async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<NewAgentText>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    caller.require(TokenScope::Write)?;
    let client_id = text(&req)?;
    let agent = caller.author(&state, req.agent).await?;
    let note = actions::note(&state, agent, id, &client_id, &req.body).await?;
    Ok((StatusCode::CREATED, Json(convert::note(note))))
}

type Changed = Result<Json<ConversationSummary>, ApiError>;

fn changed(c: store::Conversation) -> Changed {
    Ok(Json(convert::summary(c)))
}

/// Assign to an agent, or unassign.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = AssignRequest,
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<AssignRequest>,
) -> Changed {
    caller.require(TokenScope::Write)?;
    changed(actions::assign(&state, id, req.agent).await?)
}

/// Set the priority (and the SLA deadlines it implies).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/priority", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = PriorityRequest,
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn set_priority(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<PriorityRequest>,
) -> Changed {
    caller.require(TokenScope::Write)?;
    changed(actions::set_priority(&state, id, req.priority).await?)
}

/// Replace the labels.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/labels", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = LabelsRequest,
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn set_labels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<LabelsRequest>,
) -> Changed {
    caller.require(TokenScope::Write)?;
    if req.labels.len() > protocol::MAX_LABELS {
        return Err(ApiError::invalid(format!(
            "at most {} labels",
            protocol::MAX_LABELS
        )));
    }
    if let Some(bad) = req
        .labels
        .iter()
        .find(|l| protocol::normalize_label(l).is_none())
    {
        return Err(ApiError::invalid(format!(
            "{bad:?} is not a label: 1 to {} characters, no commas",
            protocol::MAX_LABEL_CHARS
        )));
    }
    changed(actions::set_labels(&state, id, &req.labels).await?)
}

/// Move to a team (routed among its members), or to none.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/team", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    request_body = TeamRequest,
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn set_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<TeamRequest>,
) -> Changed {
    caller.require(TokenScope::Write)?;
    if let Some(team) = &req.team
        && protocol::normalize_label(team).is_none()
    {
        return Err(ApiError::invalid(format!(
            "{team:?} is not a team name: 1 to {} characters, no commas",
            protocol::MAX_LABEL_CHARS
        )));
    }
    changed(actions::set_team(&state, id, req.team.as_deref()).await?)
}

/// Resolve.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/resolve", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Changed {
    caller.require(TokenScope::Write)?;
    changed(actions::set_status(&state, id, Status::Resolved).await?)
}

/// Reopen (409 when the customer already has another open conversation).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/reopen", tag = "conversations",
    params(("id" = i64, Path, description = "The conversation's id")),
    responses((status = 200, description = "The conversation", body = ConversationSummary)),
    security(("bearer" = ["write"])))]
pub async fn reopen(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Changed {
    caller.require(TokenScope::Write)?;
    changed(actions::set_status(&state, id, Status::Open).await?)
}
