//! `/api/v1` beyond conversations: contacts (profile, search by email, update, merge, erase
//! with their data), agents and teams, the reports' figures and the knowledge-base search,
//! each through the function the console's own endpoint uses.

use super::{ApiError, Caller};
use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::extract::{Path, Query, State};
use protocol::api::{
    ArticleHit, ArticleSearchQuery, ContactPatch, ContactSearchQuery, MergeRequest, ReportQuery,
};
use protocol::reports::Report;
use protocol::{AgentAccount, ContactErased, ContactProfile, ContactRef};
use store::TokenScope;

/// Longest attribute name and value, in characters.
const MAX_ATTRIBUTE_NAME: usize = 40;
const MAX_ATTRIBUTE_VALUE: usize = 200;

/// A contact: details, attributes, account manager, conversations, likely duplicates.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id (a merged one answers with the \
        contact it went into)")),
    responses((status = 200, description = "The contact", body = ContactProfile)),
    security(("bearer" = ["read"])))]
pub async fn contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ContactProfile>, ApiError> {
    caller.require(TokenScope::Read)?;
    Ok(Json(crate::contacts::profile(&state, id).await?))
}

/// The contacts of a site with an email.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts",
    params(ContactSearchQuery),
    responses((status = 200, description = "The contacts found", body = Vec<ContactRef>)),
    security(("bearer" = ["read"])))]
pub async fn search_contacts(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ContactSearchQuery>,
) -> Result<Json<Vec<ContactRef>>, ApiError> {
    caller.require(TokenScope::Read)?;
    let email = query.email.trim();
    if !protocol::valid_email(email) {
        return Err(ApiError::bad_request(format!(
            "{email:?} is not a valid email address"
        )));
    }
    if query.site.chars().count() > protocol::MAX_SITE_LEN {
        return Err(ApiError::bad_request("site is not a site key"));
    }
    let found = state
        .store
        .contacts_with_email(&query.site, email, 0)
        .await?;
    Ok(Json(
        found.iter().map(crate::convert::contact_ref).collect(),
    ))
}

fn update(patch: ContactPatch) -> Result<store::ContactUpdate, ApiError> {
    let name = match patch.name {
        Some(name) => {
            let clean = protocol::clean_name(&name);
            if clean.is_empty() || clean.chars().count() > 100 {
                return Err(ApiError::invalid(
                    "the name must be 1 to 100 visible characters",
                ));
            }
            Some(clean)
        }
        None => None,
    };
    let email = match patch.email.map(|e| e.trim().to_owned()) {
        Some(email) if !protocol::valid_email(&email) => {
            return Err(ApiError::invalid(format!(
                "{email:?} is not a valid email address"
            )));
        }
        other => other,
    };
    if patch.attributes.len() > store::MAX_CONTACT_ATTRIBUTES {
        return Err(ApiError::invalid(format!(
            "at most {} attributes",
            store::MAX_CONTACT_ATTRIBUTES
        )));
    }
    for (k, v) in &patch.attributes {
        let name_ok = !protocol::is_blank(k)
            && k.chars().count() <= MAX_ATTRIBUTE_NAME
            && protocol::forbidden_control(k).is_none();
        let value_ok =
            v.chars().count() <= MAX_ATTRIBUTE_VALUE && protocol::forbidden_control(v).is_none();
        if !name_ok || !value_ok {
            return Err(ApiError::invalid(format!(
                "attribute {k:?}: names are 1 to {MAX_ATTRIBUTE_NAME} characters, values at \
                 most {MAX_ATTRIBUTE_VALUE}, without control characters"
            )));
        }
    }
    Ok(store::ContactUpdate {
        name,
        email,
        attributes: patch.attributes,
    })
}

/// Record details on a contact (consoles showing its open conversations hear of it).
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id")),
    request_body = ContactPatch,
    responses((status = 200, description = "The contact", body = ContactProfile)),
    security(("bearer" = ["write"])))]
pub async fn update_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(patch): Json<ContactPatch>,
) -> Result<Json<ContactProfile>, ApiError> {
    caller.require(TokenScope::Write)?;
    let update = update(patch)?;
    let contact = state
        .store
        .update_contact(id, &update, now_millis())
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound { .. } => ApiError::not_found(format!("no contact {id}")),
            e => e.into(),
        })?;
    crate::contacts::publish_open(&state, contact.id).await;
    Ok(Json(crate::contacts::profile(&state, contact.id).await?))
}

/// Merge this contact into another (its browsers and conversations follow).
#[utoipa::path(post, path = "/api/v1/contacts/{id}/merge", tag = "contacts",
    params(("id" = i64, Path, description = "The contact merged away")),
    request_body = MergeRequest,
    responses((status = 200, description = "The contact that stays", body = ContactProfile)),
    security(("bearer" = ["write"])))]
pub async fn merge_contacts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(req): Json<MergeRequest>,
) -> Result<Json<ContactProfile>, ApiError> {
    caller.require(TokenScope::Write)?;
    let by = format!("API token {}", caller.token.id);
    let profile = crate::contacts::merge_into(&state, id, req.into, &by)
        .await
        .map_err(|e| match e {
            AppError::BadRequest(m) => ApiError::invalid(m),
            e => e.into(),
        })?;
    Ok(Json(profile))
}

/// Erase a contact and everything of it. Cannot be undone.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id")),
    responses((status = 200, description = "What was erased", body = ContactErased)),
    security(("bearer" = ["admin"])))]
pub async fn erase_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ContactErased>, ApiError> {
    caller.require(TokenScope::Admin)?;
    let by = format!("API token {}", caller.token.id);
    Ok(Json(crate::privacy::erase_contact(&state, id, &by).await?))
}

/// The agents.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    responses((status = 200, description = "Every agent account", body = Vec<AgentAccount>)),
    security(("bearer" = ["read"])))]
pub async fn agents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AgentAccount>>, ApiError> {
    caller.require(TokenScope::Read)?;
    let agents = state.store.list_agents().await?;
    Ok(Json(
        agents.into_iter().map(crate::admin::account).collect(),
    ))
}

/// The teams (those agents belong to and sites route to).
#[utoipa::path(get, path = "/api/v1/teams", tag = "agents",
    responses((status = 200, description = "Team names, sorted", body = Vec<String>)),
    security(("bearer" = ["read"])))]
pub async fn teams(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<String>>, ApiError> {
    caller.require(TokenScope::Read)?;
    Ok(Json(crate::assign::teams(&state).await))
}

/// The Reports page's figures of a period, beside the previous period of the same length.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports",
    params(ReportQuery),
    responses((status = 200, description = "The report", body = Report)),
    security(("bearer" = ["read"])))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    caller.require(TokenScope::Read)?;
    let params = crate::reports::Params {
        since: q.since,
        until: q.until,
        tz: q.tz,
        site: q.site,
        team: q.team,
        agent: q.agent,
        label: q.label,
        priority: q.priority,
        language: q.language,
        channel: q.channel,
        drill: None,
        limit: None,
    };
    let scope = params.scope(now_millis())?;
    let report = crate::reports::build_report(&*state.store, &state.settings, &scope).await?;
    Ok(Json(report))
}

/// Search the knowledge base (server-side, every language unless `lang`).
#[utoipa::path(get, path = "/api/v1/kb/search", tag = "knowledge base",
    params(ArticleSearchQuery),
    responses((status = 200, description = "The best articles first", body = Vec<ArticleHit>)),
    security(("bearer" = ["read"])))]
pub async fn search_articles(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ArticleSearchQuery>,
) -> Result<Json<Vec<ArticleHit>>, ApiError> {
    caller.require(TokenScope::Read)?;
    let limit = q.limit.unwrap_or(5);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 20"));
    }
    let hits = crate::kb::search_articles(&state, &q.q, q.lang.as_deref(), limit as usize).await?;
    Ok(Json(hits))
}
