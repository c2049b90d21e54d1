//! Account administration over HTTP: admins list, create, disable and re-enable agents; every
//! agent can log out everywhere. Disabling or logging out everywhere also closes live consoles.

use crate::auth::{check_origin, require_agent};
use crate::hub::HubEvent;
use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::AgentAccount;
use serde::Deserialize;

pub(crate) async fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<store::Agent, AppError> {
    let agent = require_agent(state, headers).await?;
    if !agent.admin {
        return Err(AppError::Forbidden("only admins manage agents".into()));
    }
    Ok(agent)
}

pub(crate) fn account(a: store::Agent) -> AgentAccount {
    AgentAccount {
        id: a.id,
        name: a.name,
        email: a.email,
        admin: a.admin,
        lead: a.lead,
        disabled: a.disabled,
        languages: a.languages,
        teams: a.teams,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillsRequest {
    languages: Vec<String>,
    teams: Vec<String>,
}

/// Sets an agent's routing skills (languages it answers in, teams it belongs to); a connected
/// agent is routed by them at once.
pub async fn set_skills(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(req): Json<SkillsRequest>,
) -> Result<Json<AgentAccount>, AppError> {
    check_origin(&state, &headers)?;
    require_admin(&state, &headers).await?;
    if req.languages.len() > 20 || req.teams.len() > protocol::MAX_LABELS {
        return Err(AppError::BadRequest(
            "at most 20 languages and 20 teams".into(),
        ));
    }
    let mut languages = Vec::new();
    for tag in req.languages.iter().filter(|t| !t.trim().is_empty()) {
        let primary = protocol::primary_language(tag).ok_or_else(|| {
            AppError::BadRequest(format!("{tag:?} is not a language tag like en or pt-BR"))
        })?;
        if !languages.contains(&primary) {
            languages.push(primary);
        }
    }
    let mut teams = Vec::new();
    for name in req.teams.iter().filter(|t| !t.trim().is_empty()) {
        let team = protocol::normalize_label(name).ok_or_else(|| {
            AppError::BadRequest(format!(
                "{name:?} is not a team name: 1 to {} characters, no commas",
                protocol::MAX_LABEL_CHARS
            ))
        })?;
        if !teams.contains(&team) {
            teams.push(team);
        }
    }
    let not_found = |e| match e {
        store::StoreError::NotFound { .. } => AppError::NotFound(format!("no agent {id}")),
        e => e.into(),
    };
    state
        .store
        .set_agent_languages(id, &languages)
        .await
        .map_err(not_found)?;
    state
        .store
        .set_agent_teams(id, &teams)
        .await
        .map_err(not_found)?;
    state.presence.set_skills(id, &languages, &teams);
    crate::assign::publish_agents(&state).await;
    let agent = state
        .store
        .agent(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no agent {id}")))?;
    Ok(Json(account(agent)))
}

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<AgentAccount>>, AppError> {
    require_admin(&state, &headers).await?;
    Ok(Json(
        state
            .store
            .list_agents()
            .await?
            .into_iter()
            .map(account)
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct NewAgentRequest {
    email: String,
    name: String,
    password: String,
    #[serde(default)]
    admin: bool,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<NewAgentRequest>,
) -> Result<Response, AppError> {
    check_origin(&state, &headers)?;
    require_admin(&state, &headers).await?;
    let email = req.email.trim().to_owned();
    if !protocol::valid_email(&email) {
        return Err(AppError::BadRequest(format!(
            "{email:?} is not a valid email address"
        )));
    }
    // Shown to customers: no bidi overrides, invisible or control characters.
    let name = protocol::clean_name(&req.name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "the name must be 1 to 100 visible characters".into(),
        ));
    }
    let password = req.password;
    let hash = state
        .passwords
        .hash(password)
        .await
        .map_err(|_| AppError::Busy(1))?
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let agent = state
        .store
        .create_agent(
            store::NewAgent {
                email,
                name,
                password_hash: hash,
                admin: req.admin,
            },
            now_millis(),
        )
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict { .. } => {
                AppError::Conflict("an agent with this email already exists".into())
            }
            e => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(account(agent))).into_response())
}

async fn set_disabled(
    state: &AppState,
    headers: &HeaderMap,
    id: i64,
    disabled: bool,
) -> Result<Json<AgentAccount>, AppError> {
    check_origin(state, headers)?;
    let me = require_admin(state, headers).await?;
    if disabled && me.id == id {
        return Err(AppError::BadRequest("you cannot disable yourself".into()));
    }
    let agent = state
        .store
        .set_agent_disabled(id, disabled)
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound { .. } => AppError::NotFound(format!("no agent {id}")),
            e => e.into(),
        })?;
    if disabled {
        state.hub.publish(HubEvent::SignedOut { agent: id });
    }
    Ok(Json(account(agent)))
}

pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<AgentAccount>, AppError> {
    set_disabled(&state, &headers, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<AgentAccount>, AppError> {
    set_disabled(&state, &headers, id, false).await
}

/// Ends every session of the calling agent, on every device, and closes its live consoles.
pub async fn logout_all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_origin(&state, &headers)?;
    let me = require_agent(&state, &headers).await?;
    state.store.delete_sessions_of(me.id).await?;
    state.hub.publish(HubEvent::SignedOut { agent: me.id });
    crate::auth::logout(State(state), headers).await
}
