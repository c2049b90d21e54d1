//! The accept loop: one hyper HTTP/1.1 connection per socket, with a header read timeout, a
//! body read timeout, `TCP_NODELAY`, a cap on open connections per address, and graceful
//! shutdown (listening stops, idle keep-alive connections close, requests in flight finish).
//!
//! axum's own `serve` offers none of the limits, so this is the small part of it we need.

use crate::limits::{ConnectionGuard, Limit};
use crate::{AppState, router};
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_service::Service;

const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n\
Content-Type: application/json\r\nContent-Length: 75\r\nConnection: close\r\n\r\n\
{\"error\":\"rate_limited\",\"message\":\"too many connections from this address\"}";

/// The connection's slot in the per-address count, carried in each request's extensions so a
/// WebSocket keeps it for as long as it lives.
#[derive(Clone)]
pub(crate) struct ConnectionSlot(#[allow(dead_code)] pub Arc<ConnectionGuard>);

/// Serves `router(state)` on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        let _ = state.listen.set(addr);
    }
    let limits = state.settings.limits.clone();
    let app = router(state.clone()).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ));
    // Every connection task holds a receiver; shutdown is signalled through the channel and
    // finishes when the last receiver is gone.
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most often: say so and let others finish.
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = if state.is_trusted_proxy(peer.ip()) {
            None
        } else {
            match state
                .connections
                .open(peer.ip(), limits.connections_per_address)
            {
                Some(guard) => Some(ConnectionSlot(Arc::new(guard))),
                None => {
                    state.refusals.count(Limit::Connections);
                    // Best effort, without waiting: say why, then close.
                    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            if let Some(slot) = &slot {
                req.extensions_mut().insert(slot.clone());
            }
            let mut app = app.clone();
            async move { app.call(req).await }
        });
        let mut stopped = stopped.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stopped.changed() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    drop(stopped);
    let _ = stop.send(());
    stop.closed().await;
    Ok(())
}
