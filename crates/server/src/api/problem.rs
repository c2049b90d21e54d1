//! RFC 9457 problems: every error of `/api/v1` is `application/problem+json` with `type`,
//! `title`, `status` and `detail`, including what axum's extractors refuse (a body that is not
//! JSON, a query that does not parse) and paths that do not exist.

use crate::AppError;
use crate::actions::ActionError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::api::Problem;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error of the public API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    /// `Retry-After`, in seconds (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
}

/// The `type` and `title` of each status the API answers with.
fn kind(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad_request", "The request is malformed"),
        401 => ("unauthorized", "A valid API token is required"),
        403 => ("forbidden", "The token's scope does not allow this"),
        404 => ("not_found", "Not found"),
        405 => ("method_not_allowed", "Method not allowed"),
        409 => ("conflict", "Conflict"),
        413 => ("too_large", "The request body is too large"),
        415 => (
            "unsupported_media_type",
            "The body must be application/json",
        ),
        422 => ("invalid", "The request's content is not valid"),
        429 => ("rate_limited", "Too many requests"),
        503 => ("unavailable", "The service is unavailable"),
        _ if status.is_server_error() => ("internal", "Internal error"),
        _ => ("error", "Error"),
    }
}

/// The problem document of a status, with its details.
pub fn problem(status: StatusCode, detail: String) -> Problem {
    let (name, title) = kind(status);
    Problem {
        kind: format!("/api/docs#{name}"),
        title: title.into(),
        status: status.as_u16(),
        detail,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&problem(self.status, self.detail)).expect("serializes");
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"frontdesk\""),
            );
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match &e {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Forbidden(_) | AppError::ForbiddenOrigin => StatusCode::FORBIDDEN,
            AppError::InvalidCredentials | AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::TooManyAttempts(_) | AppError::RateLimited(_) | AppError::Busy(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        };
        let retry_after = match &e {
            AppError::TooManyAttempts(s) | AppError::RateLimited(s) | AppError::Busy(s) => Some(*s),
            _ => None,
        };
        ApiError {
            status,
            detail: e.to_string(),
            retry_after,
        }
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(m) => ApiError::not_found(m),
            ActionError::Invalid(m) => ApiError::new(StatusCode::CONFLICT, m),
            ActionError::Store(e) => e.into(),
        }
    }
}

/// A path under `/api/v1` that does not exist.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/docs")
}

/// Errors made below the handlers (extractor rejections, method not allowed, body limits) as
/// problems: their plain-text message becomes the `detail`.
pub async fn problems(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        kind(status).1.to_owned()
    } else {
        text
    };
    let mut out = ApiError::new(status, detail).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
