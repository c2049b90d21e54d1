//! The delivery log for admins (session auth, as the other admin routes): endpoints, their
//! deliveries newest first, replaying one, and enabling or disabling an endpoint.

use crate::admin::require_admin;
use crate::auth::check_origin;
use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use protocol::webhooks::{WebhookDeliveryInfo, WebhookEndpointInfo};
use serde::Deserialize;
use store::{DeliveryState, WebhookDelivery, WebhookEndpoint};

fn endpoint_info(state: &AppState, e: WebhookEndpoint) -> WebhookEndpointInfo {
    let configured = state
        .settings
        .webhooks
        .endpoints
        .iter()
        .any(|c| c.site == e.site && c.url == e.url);
    WebhookEndpointInfo {
        id: e.id,
        site: e.site,
        url: e.url,
        events: e.events,
        configured,
        disabled_at: e.disabled_at,
        disabled_reason: e.disabled_reason,
        last_success_at: e.last_success_at,
    }
}

fn delivery_info(d: WebhookDelivery) -> WebhookDeliveryInfo {
    WebhookDeliveryInfo {
        id: d.id,
        endpoint_id: d.endpoint_id,
        event: d.event,
        status: d.state.as_str().to_owned(),
        attempts: d.attempts,
        last_response: d.last_status,
        last_error: d.last_error,
        next_attempt_at: (d.state == DeliveryState::Pending).then_some(d.next_at),
        created_at: d.created_at,
        updated_at: d.updated_at,
        payload: d.payload,
    }
}

/// `GET /api/webhooks`.
pub async fn endpoints(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<WebhookEndpointInfo>>, AppError> {
    require_admin(&state, &headers).await?;
    let all = state.store.webhook_endpoints().await?;
    Ok(Json(
        all.into_iter().map(|e| endpoint_info(&state, e)).collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/webhooks/{id}/deliveries?before=&limit=`: newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(page): Query<Page>,
) -> Result<Json<Vec<WebhookDeliveryInfo>>, AppError> {
    require_admin(&state, &headers).await?;
    let limit = page.limit.unwrap_or(50).clamp(1, 200);
    let rows = state
        .store
        .webhook_deliveries(id, page.before, limit)
        .await?;
    Ok(Json(rows.into_iter().map(delivery_info).collect()))
}

/// `POST /api/webhooks/deliveries/{id}/replay`: sent again (same `webhook-id` and body).
pub async fn replay(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<WebhookDeliveryInfo>, AppError> {
    check_origin(&state, &headers)?;
    require_admin(&state, &headers).await?;
    let row = state
        .store
        .replay_webhook(id, now_millis())
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound { .. } => AppError::NotFound(format!("no delivery {id}")),
            e => e.into(),
        })?;
    Ok(Json(delivery_info(row)))
}

async fn set_disabled(
    state: &AppState,
    headers: &HeaderMap,
    id: i64,
    reason: Option<&str>,
) -> Result<Json<WebhookEndpointInfo>, AppError> {
    check_origin(state, headers)?;
    require_admin(state, headers).await?;
    let endpoint = state
        .store
        .set_webhook_endpoint_disabled(id, reason, now_millis())
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound { .. } => AppError::NotFound(format!("no endpoint {id}")),
            e => e.into(),
        })?;
    Ok(Json(endpoint_info(state, endpoint)))
}

/// `POST /api/webhooks/{id}/enable`: its pending deliveries go out again.
pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<WebhookEndpointInfo>, AppError> {
    set_disabled(&state, &headers, id, None).await
}

/// `POST /api/webhooks/{id}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<WebhookEndpointInfo>, AppError> {
    set_disabled(&state, &headers, id, Some("disabled by an admin")).await
}
