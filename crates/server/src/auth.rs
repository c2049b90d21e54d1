//! Agent authentication: argon2 passwords, opaque session tokens in HttpOnly SameSite cookies,
//! and the origin check that guards every state-changing request and WebSocket upgrade.

use crate::client::{self, ClientIp};
use crate::hub::HubEvent;
use crate::limits::{Key, Limit};
use crate::password;
use crate::throttle::Account;
use crate::{AppError, AppState, convert, now_millis};
use axum::Json;
use axum::extract::State;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "fd_session";
/// A fresh 256-bit secret, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are stored only as their SHA-256, so a leaked database holds no usable secret.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The agent behind the request's session cookie, if it is live.
/// The signed-in agent, or 401.
pub async fn require_agent(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<store::Agent, AppError> {
    session_agent(state, headers)
        .await?
        .ok_or(AppError::Unauthenticated)
}

pub async fn session_agent(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<store::Agent>, AppError> {
    Ok(session(state, headers).await?.map(|(agent, _)| agent))
}

/// The signed-in agent and the hash of its session token (which identifies this session).
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(store::Agent, String)>, AppError> {
    let Some(token) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = token_hash(token);
    Ok(state
        .store
        .session_agent(&hash, now_millis())
        .await?
        .map(|agent| (agent, hash)))
}

/// Rejects cross-site requests: a browser always sends `Origin` on WebSocket upgrades and
/// non-GET fetches, and it must name this server (see `client::origin_allowed`). Requests
/// without `Origin` come from non-browser clients, which carry no ambient cookies to abuse.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| AppError::ForbiddenOrigin)?;
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let public_url = state.settings.public_url.as_deref();
    if client::origin_allowed(origin, public_url, host, state.listen.get().copied()) {
        return Ok(());
    }
    if public_url.is_none() && origin.starts_with("https://") {
        tracing::warn!(
            origin,
            "refused an https origin: behind a TLS proxy, set server.public_url"
        );
    }
    Err(AppError::ForbiddenOrigin)
}

fn secure_cookies(state: &AppState) -> bool {
    state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

fn session_cookie(state: &AppState, token: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if secure_cookies(state) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie is ASCII")
}

#[derive(Deserialize)]
pub struct LoginRequest {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, AppError> {
    check_origin(&state, &headers)?;
    if req.email.len() > 254 || req.password.len() > password::MAX_LEN {
        return Err(AppError::InvalidCredentials);
    }
    if let Err(wait) = state.limit_cluster(Limit::SignIns, Key::address(ip)).await {
        return Err(AppError::RateLimited(wait.seconds()));
    }
    if let Some(seconds) = state.signin_throttle.address_wait(ip).await {
        return Err(AppError::TooManyAttempts(seconds));
    }
    let creds = state.store.agent_credentials(req.email.trim()).await?;
    let account = match &creds {
        Some(c) => Account::Known(c.agent.id),
        None => Account::unknown(&req.email),
    };
    if let Some(seconds) = state.signin_throttle.wait(&account, ip).await {
        return Err(AppError::TooManyAttempts(seconds));
    }
    // Verify against a dummy hash when the agent is unknown, so timing does not reveal which
    // emails exist.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xp2yJ0wL3n0b6m9Zz8qVt4m6y2cV3b0a5oJk9mXH2sU";
    let hash = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| DUMMY.to_owned());
    let ok = state
        .passwords
        .verify(req.password, hash)
        .await
        .map_err(|_| AppError::Busy(1))?;
    let Some(creds) = creds.filter(|c| ok && !c.agent.disabled) else {
        state.signin_throttle.failed(&account, ip).await;
        return Err(AppError::InvalidCredentials);
    };
    state.signin_throttle.succeeded(&account, ip).await;
    let token = new_token();
    let now = now_millis();
    let max_age = i64::from(state.settings.session_days) * 86_400;
    state
        .store
        .create_session(
            &token_hash(&token),
            creds.agent.id,
            now,
            now + max_age * 1000,
        )
        .await?;
    let mut response = Json(convert::agent(&creds.agent)).into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, session_cookie(&state, &token, max_age));
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_origin(&state, &headers)?;
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        let hash = token_hash(token);
        state.store.delete_session(&hash).await?;
        // This session's open consoles close now, on this node; others notice by polling.
        state
            .hub
            .publish(HubEvent::SessionEnded { token_hash: hash });
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    match session_agent(&state, &headers).await? {
        Some(agent) => Ok(Json(convert::agent(&agent)).into_response()),
        None => Err(AppError::Unauthenticated),
    }
}

/// Constant-time equality of a secret a caller sent and the configured one (the inbound email
/// endpoint's and Jira's webhook's bearer secrets): how long a refusal takes tells nothing.
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing_finds_the_session() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; fd_session=abc; b=2"));
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&headers, "c"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
