//! The one error type of HTTP handlers: user errors explained, internal errors logged, not shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not signed in")]
    Unauthenticated,
    #[error("this request's origin is not allowed")]
    ForbiddenOrigin,
    /// Too many failed sign-ins; retry after this many seconds.
    #[error("too many failed sign-ins; try again in {}", wait_text(*.0))]
    TooManyAttempts(u64),
    /// A per-client limit; retry after this many seconds.
    #[error("too many requests; try again in {}", wait_text(*.0))]
    RateLimited(u64),
    /// The server is at capacity for this kind of work; retry after this many seconds.
    #[error("the server is busy; try again in {}", wait_text(*.0))]
    Busy(u64),
    /// A body past its size limit (an attachment).
    #[error("{0}")]
    TooLarge(String),
    /// A file of a type we do not take (an attachment, judged by its content).
    #[error("{0}")]
    UnsupportedType(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// "1 second", "40 seconds", "3 minutes".
fn wait_text(seconds: u64) -> String {
    match seconds {
        0 | 1 => "1 second".into(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "1 minute".into(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "not_authenticated"),
            AppError::ForbiddenOrigin => (StatusCode::FORBIDDEN, "forbidden_origin"),
            AppError::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            AppError::Busy(_) => (StatusCode::TOO_MANY_REQUESTS, "busy"),
            AppError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            AppError::UnsupportedType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type")
            }
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let body = serde_json::json!({ "error": code, "message": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyAttempts(seconds)
        | AppError::Busy(seconds)
        | AppError::RateLimited(seconds) = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// Every response says `nosniff`, and an error that a layer below the handlers produced as
/// plain text (a body that is not JSON, a path that does not exist, a timeout) is turned into
/// the same JSON shape as `AppError`'s: `{"error": code, "message": text}`. The public API's
/// problems (`application/problem+json`) are left as they are.
pub async fn json_errors(response: Response) -> Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
    let mut response = response;
    response
        .headers_mut()
        .entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert(axum::http::HeaderValue::from_static("nosniff"));
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t == "application/problem+json");
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status.as_u16() {
        400 => "bad_request",
        401 => "not_authenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "invalid_body",
        429 => "rate_limited",
        503 => "unavailable",
        _ if status.is_server_error() => "internal",
        _ => "error",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    parts.headers.insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
