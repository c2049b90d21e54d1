//! API tokens: made by an admin (here over HTTP, or `frontdesk token create`), shown once,
//! stored as the SHA-256 of a 256-bit random secret with a short non-secret prefix, scoped
//! (read < write < admin), revocable, rate-limited per token. The caller of every `/api/v1`
//! request is a [`Caller`]: the token from `Authorization: Bearer …` and nowhere else.

use super::ApiError;
use crate::auth::{check_origin, require_agent, token_hash};
use crate::limits::{Key, Limit};
use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use protocol::api::{ApiTokenInfo, CreatedToken, NewToken};
use rand::RngCore;
use store::{NewApiToken, TokenScope};

/// Every secret starts with this, so a leaked one is recognisable (secret scanners).
pub const SECRET_PREFIX: &str = "fdk_";
/// Characters of the secret kept as its non-secret prefix (`fdk_` and 8 hex digits).
const SHOWN_PREFIX: usize = SECRET_PREFIX.len() + 8;

/// A new secret (`fdk_` and 64 hex digits: 256 random bits), its prefix and its hash.
pub fn generate() -> (String, String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(bytes));
    let prefix = secret[..SHOWN_PREFIX].to_owned();
    let hash = token_hash(&secret);
    (secret, prefix, hash)
}

/// Whether `text` has the shape of a secret (checked before any database look-up).
fn well_formed(text: &str) -> bool {
    text.strip_prefix(SECRET_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(crate) fn scope_to_wire(scope: TokenScope) -> protocol::api::TokenScope {
    match scope {
        TokenScope::Read => protocol::api::TokenScope::Read,
        TokenScope::Write => protocol::api::TokenScope::Write,
        TokenScope::Admin => protocol::api::TokenScope::Admin,
    }
}

fn scope_from_wire(scope: protocol::api::TokenScope) -> TokenScope {
    match scope {
        protocol::api::TokenScope::Read => TokenScope::Read,
        protocol::api::TokenScope::Write => TokenScope::Write,
        protocol::api::TokenScope::Admin => TokenScope::Admin,
    }
}

pub(crate) fn token_info(t: store::ApiToken) -> ApiTokenInfo {
    ApiTokenInfo {
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        scope: scope_to_wire(t.scope),
        created_by: t.created_by,
        created_at: t.created_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

/// Makes and stores a token; returns it with its secret (shown this once).
pub async fn create_token(
    store: &dyn store::Store,
    name: &str,
    scope: TokenScope,
    created_by: Option<i64>,
) -> Result<CreatedToken, AppError> {
    let name = protocol::clean_name(name);
    if name.is_empty() || name.chars().count() > protocol::api::MAX_TOKEN_NAME_CHARS {
        return Err(AppError::BadRequest(format!(
            "the name must be 1 to {} visible characters",
            protocol::api::MAX_TOKEN_NAME_CHARS
        )));
    }
    let (secret, prefix, hash) = generate();
    let token = store
        .create_api_token(
            &NewApiToken {
                name: &name,
                prefix: &prefix,
                token_hash: &hash,
                scope,
                created_by,
            },
            now_millis(),
        )
        .await?;
    tracing::info!(
        token = token.id,
        scope = scope.as_str(),
        "API token created"
    );
    Ok(CreatedToken {
        token: token_info(token),
        secret,
    })
}

/// The token of an `/api/v1` request, checked: live, under its rate.
pub struct Caller {
    pub token: store::ApiToken,
}

impl Caller {
    /// Refuses with 403 unless the token's scope includes `scope`.
    pub fn require(&self, scope: TokenScope) -> Result<(), ApiError> {
        if self.token.scope >= scope {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "this needs a token with the {} scope; this token has {}",
            scope.as_str(),
            self.token.scope.as_str()
        )))
    }

    /// The agent a write is made as: `chosen`, else the token's maker; enabled.
    pub async fn author(&self, state: &AppState, chosen: Option<i64>) -> Result<i64, ApiError> {
        let Some(id) = chosen.or(self.token.created_by) else {
            return Err(ApiError::invalid(
                "name the agent this is written as (`agent`): the token was made without one",
            ));
        };
        match state.store.agent(id).await? {
            Some(a) if !a.disabled => Ok(id),
            _ => Err(ApiError::invalid(format!("there is no enabled agent {id}"))),
        }
    }
}

/// Query parameters that would put a token in a URL (where logs, proxies and browser history
/// keep it): refused whatever their value.
const TOKEN_PARAMS: [&str; 5] = ["access_token", "token", "api_key", "apikey", "bearer"];

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(query) = parts.uri.query() {
            let in_url = query.split('&').any(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                TOKEN_PARAMS.contains(&name.to_ascii_lowercase().as_str())
                    || value.starts_with(SECRET_PREFIX)
            });
            if in_url {
                return Err(ApiError::bad_request(
                    "API tokens are accepted only in the Authorization header, never in the \
                     URL: revoke this token, it may have been logged",
                ));
            }
        }
        let secret = bearer(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("send the token as `Authorization: Bearer fdk_…`")
        })?;
        if !well_formed(secret) {
            return Err(ApiError::unauthorized("this is not a Frontdesk API token"));
        }
        let token = state
            .store
            .api_token_by_hash(&token_hash(secret))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
        if token.revoked_at.is_some() {
            return Err(ApiError::unauthorized("this token was revoked"));
        }
        if let Err(wait) = state
            .limit_cluster(Limit::ApiRequests, Key::Token(token.id))
            .await
        {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "this token's rate is {}; retry after the wait",
                    state.settings.limits.api_requests_per_token
                ),
            );
            e.retry_after = Some(wait.seconds());
            return Err(e);
        }
        // The last use is kept to the minute: no write at all for the other requests.
        let now = now_millis();
        if token.last_used_at.is_none_or(|at| now - at >= 60_000)
            && let Err(e) = state.store.touch_api_token(token.id, now).await
        {
            tracing::warn!(token = token.id, error = %e, "recording a token's use failed");
        }
        Ok(Caller { token })
    }
}

/// The credentials of `Authorization: Bearer <credentials>` (the scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

fn revoke_error(id: i64) -> impl Fn(store::StoreError) -> AppError {
    move |e| match e {
        store::StoreError::NotFound { .. } => AppError::NotFound(format!("no token {id}")),
        e => e.into(),
    }
}

/// List the tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "Every token, revoked ones too, newest first",
        body = Vec<ApiTokenInfo>)),
    security(("bearer" = ["admin"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiTokenInfo>>, ApiError> {
    caller.require(TokenScope::Admin)?;
    let tokens = state.store.api_tokens().await?;
    Ok(Json(tokens.into_iter().map(token_info).collect()))
}

/// Make a token; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, description = "The token and its secret", body = CreatedToken)),
    security(("bearer" = ["admin"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require(TokenScope::Admin)?;
    let created = create_token(
        &*state.store,
        &req.name,
        scope_from_wire(req.scope),
        caller.token.created_by,
    )
    .await
    .map_err(|e| match e {
        AppError::BadRequest(m) => ApiError::invalid(m),
        e => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke a token: it is refused from now on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 200, description = "The revoked token", body = ApiTokenInfo)),
    security(("bearer" = ["admin"])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ApiTokenInfo>, ApiError> {
    caller.require(TokenScope::Admin)?;
    let token = state
        .store
        .revoke_api_token(id, now_millis())
        .await
        .map_err(revoke_error(id))?;
    tracing::info!(token = id, "API token revoked");
    Ok(Json(token_info(token)))
}

async fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<store::Agent, AppError> {
    let agent = require_agent(state, headers).await?;
    if !agent.admin {
        return Err(AppError::Forbidden("only admins manage API tokens".into()));
    }
    Ok(agent)
}

/// `GET /api/tokens` (an admin's console session).
pub async fn console_list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ApiTokenInfo>>, AppError> {
    require_admin(&state, &headers).await?;
    let tokens = state.store.api_tokens().await?;
    Ok(Json(tokens.into_iter().map(token_info).collect()))
}

/// `POST /api/tokens` (an admin's console session): writes default to that admin.
pub async fn console_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    check_origin(&state, &headers)?;
    let admin = require_admin(&state, &headers).await?;
    let created = create_token(
        &*state.store,
        &req.name,
        scope_from_wire(req.scope),
        Some(admin.id),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `POST /api/tokens/{id}/revoke` (an admin's console session).
pub async fn console_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<ApiTokenInfo>, AppError> {
    check_origin(&state, &headers)?;
    require_admin(&state, &headers).await?;
    let token = state
        .store
        .revoke_api_token(id, now_millis())
        .await
        .map_err(revoke_error(id))?;
    tracing::info!(token = id, "API token revoked");
    Ok(Json(token_info(token)))
}
