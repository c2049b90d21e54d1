//! Agent authentication: argon2 passwords, opaque session tokens in HttpOnly SameSite cookies,
//! and the origin check that guards every state-changing request and WebSocket upgrade.

use crate::{AppError, AppState, convert, now_millis};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::State;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "fd_session";
const MAX_PASSWORD_LEN: usize = 1024;
const MIN_PASSWORD_LEN: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

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
    let Some(token) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    if token.len() != 64 {
        return Ok(None);
    }
    Ok(state
        .store
        .session_agent(&token_hash(token), now_millis())
        .await?)
}

/// Rejects cross-site requests: a browser always sends `Origin` on WebSocket upgrades and
/// non-GET fetches, and it must name this server. Requests without `Origin` come from
/// non-browser clients, which carry no ambient cookies to abuse.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| AppError::ForbiddenOrigin)?;
    let allowed = match &state.settings.public_url {
        Some(public) => origin.eq_ignore_ascii_case(public.trim_end_matches('/')),
        None => {
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let origin_host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .unwrap_or_default();
            !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::ForbiddenOrigin)
    }
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

/// Failed sign-ins per email: after `LIMIT` in `WINDOW`, that email is refused until the window
/// ends (so a password cannot be guessed online; argon2 already makes each guess slow). Held in
/// memory, bounded: expired entries are dropped when it grows.
#[derive(Clone, Default)]
pub struct LoginThrottle {
    failures: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
    >,
}

impl LoginThrottle {
    pub const LIMIT: u32 = 10;
    pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
    const MAX_ENTRIES: usize = 10_000;

    fn key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// Seconds to wait, if this email is locked.
    pub fn locked(&self, email: &str) -> Option<u64> {
        let map = self.failures.lock().expect("lock");
        let (count, since) = map.get(&Self::key(email))?;
        let elapsed = since.elapsed();
        (*count >= Self::LIMIT && elapsed < Self::WINDOW)
            .then(|| (Self::WINDOW - elapsed).as_secs().max(1))
    }

    pub fn failed(&self, email: &str) {
        let mut map = self.failures.lock().expect("lock");
        if map.len() >= Self::MAX_ENTRIES {
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
            if map.len() >= Self::MAX_ENTRIES {
                return; // a flood of distinct emails: each is still slowed by argon2
            }
        }
        let entry = map
            .entry(Self::key(email))
            .or_insert((0, std::time::Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, std::time::Instant::now());
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, email: &str) {
        self.failures
            .lock()
            .expect("lock")
            .remove(&Self::key(email));
    }
}

#[derive(Deserialize)]
pub struct LoginRequest {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, AppError> {
    check_origin(&state, &headers)?;
    if req.email.len() > 254 || req.password.len() > MAX_PASSWORD_LEN {
        return Err(AppError::InvalidCredentials);
    }
    if let Some(seconds) = state.login_throttle.locked(&req.email) {
        return Err(AppError::TooManyAttempts(seconds));
    }
    let creds = state.store.agent_credentials(req.email.trim()).await?;
    // Verify against a dummy hash when the agent is unknown, so timing does not reveal which
    // emails exist.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xp2yJ0wL3n0b6m9Zz8qVt4m6y2cV3b0a5oJk9mXH2sU";
    let hash = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| DUMMY.to_owned());
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let Some(creds) = creds.filter(|c| ok && !c.agent.disabled) else {
        state.login_throttle.failed(&req.email);
        return Err(AppError::InvalidCredentials);
    };
    state.login_throttle.succeeded(&req.email);
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
        state.store.delete_session(&token_hash(token)).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_reject() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
    }

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
