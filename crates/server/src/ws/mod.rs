//! WebSocket endpoints. The session logic works over any `Stream<Inbound>` + `Sink<Outbound>`,
//! so ordering, resume and dedupe do not depend on axum; this module adapts axum's socket.

mod agent;
mod session;
#[cfg(test)]
mod tests;
mod visitor;

pub use session::{Inbound, Outbound};

use crate::auth::{check_origin, session};
use crate::client::ClientIp;
use crate::limits::Limit;
use crate::metrics::{Kind, Metrics};
use crate::serve::ConnectionSlot;
use crate::{AppError, AppState};
use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

/// Frames between `protocol::MAX_FRAME_BYTES` and this size are read whole and answered with a
/// `too_large` error; the connection stays usable. Past it, tungstenite stops reading mid-frame,
/// so the server sends `too_large` and Close 1009 and drops the connection: the unread rest of
/// the frame makes the kernel end it with a reset, which the peer may see before the Close.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;

fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    // Small buffers: an idle connection's read buffer is allocated up front (a larger frame
    // grows it while it is read); ~133 KB each with tungstenite's defaults (design.md).
    ws.read_buffer_size(1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
}

fn inbound(result: Result<Message, axum::Error>) -> Option<Inbound> {
    match result {
        Ok(Message::Text(text)) => Some(Inbound::Text(text.to_string())),
        Ok(Message::Binary(_)) => Some(Inbound::Binary),
        Ok(Message::Close(_)) => Some(Inbound::Closed),
        // Pings count against the frame limit (tungstenite answers each with a pong).
        Ok(Message::Ping(_)) => Some(Inbound::Ping),
        Ok(Message::Pong(_)) => None,
        Err(e) => {
            let text = e.to_string();
            if text.contains("Space limit exceeded") || text.contains("too long") {
                Some(Inbound::TooLarge)
            } else if text.starts_with("UTF-8 encoding error") {
                Some(Inbound::Malformed(1007, "a text frame is not valid UTF-8"))
            } else if text.starts_with("WebSocket protocol error") {
                Some(Inbound::Malformed(1002, "WebSocket protocol error"))
            } else {
                tracing::debug!(error = %text, "websocket read failed");
                Some(Inbound::Closed)
            }
        }
    }
}

fn outbound(out: Outbound) -> Message {
    match out {
        Outbound::Frame(frame) => Message::Text(frame.to_json().into()),
        Outbound::Close(code, reason) => Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
    }
}

fn split(
    socket: WebSocket,
    metrics: std::sync::Arc<Metrics>,
    kind: Kind,
) -> (
    impl futures_util::Stream<Item = Inbound> + Unpin + Send,
    impl futures_util::Sink<Outbound, Error = axum::Error> + Unpin + Send,
) {
    let (sink, stream) = socket.split();
    let counted = metrics.clone();
    let stream = stream.filter_map(move |r| {
        if matches!(
            r,
            Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_))
        ) {
            counted.frame_in(kind);
        }
        std::future::ready(inbound(r))
    });
    let sink = sink.with(move |o| {
        if matches!(o, Outbound::Frame(_)) {
            metrics.frame_out(kind);
        }
        std::future::ready(Ok::<_, axum::Error>(outbound(o)))
    });
    (stream, sink)
}

/// The connection's place in the per-address count: the one taken at accept, or, for a client
/// behind a trusted proxy, one taken now for its forwarded address.
fn connection_slot(
    state: &AppState,
    ip: std::net::IpAddr,
    slot: Option<Extension<ConnectionSlot>>,
) -> Result<Option<ConnectionSlot>, AppError> {
    if let Some(Extension(slot)) = slot {
        return Ok(Some(slot));
    }
    let max = state.settings.limits.connections_per_address;
    match state.connections.open(ip, max) {
        Some(guard) => Ok(Some(ConnectionSlot(std::sync::Arc::new(guard)))),
        None => {
            state.refusals.count(Limit::Connections);
            Err(AppError::RateLimited(5))
        }
    }
}

pub async fn visitor_upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    let slot = match connection_slot(&state, ip, slot) {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    configure(ws).on_upgrade(move |socket| async move {
        let _counted = state.metrics.connected(Kind::Visitor);
        let (stream, sink) = split(socket, state.metrics.clone(), Kind::Visitor);
        visitor::run(state, ip, stream, sink).await;
        drop(slot);
    })
}

pub async fn agent_upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_response();
    }
    let slot = match connection_slot(&state, ip, slot) {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    let (agent, token_hash) = match session(&state, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return AppError::Unauthenticated.into_response(),
        Err(e) => return e.into_response(),
    };
    configure(ws).on_upgrade(move |socket| async move {
        let _counted = state.metrics.connected(Kind::Agent);
        let (stream, sink) = split(socket, state.metrics.clone(), Kind::Agent);
        agent::run(state, agent, token_hash, stream, sink).await;
        drop(slot);
    })
}
