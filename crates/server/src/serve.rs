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

/// How long stopping waits for connections and sessions to finish.
const SESSIONS_CLOSE_WITHIN: Duration = Duration::from_secs(10);

const OUT_OF_FILES: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
Content-Length: 0\r\nConnection: close\r\n\r\n";

fn is_out_of_files(e: &std::io::Error) -> bool {
    // EMFILE (this process) or ENFILE (the whole system).
    matches!(e.raw_os_error(), Some(24 | 23))
}

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
    // A descriptor kept in reserve: when the process runs out, it is released to accept the
    // waiting connection and refuse it with a 503, instead of leaving it hanging unaccepted.
    let mut reserve = std::fs::File::open("/dev/null").ok();
    // When running out was last logged: once a second at most, however many are refused.
    let mut logged = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_out_of_files(&e) => {
                    if logged.is_none_or(|t: std::time::Instant| t.elapsed() >= Duration::from_secs(1)) {
                        logged = Some(std::time::Instant::now());
                        tracing::error!(
                            error = %e,
                            "out of file descriptors: refusing new connections (raise the open \
                             files limit, or add a node)"
                        );
                    }
                    match reserve.take() {
                        Some(spare) => {
                            drop(spare);
                            // The waiting connection takes the released descriptor, unless
                            // another thread of the process opened a file in between.
                            let waiting = tokio::time::timeout(
                                Duration::from_secs(1),
                                listener.accept(),
                            );
                            if let Ok(Ok((stream, _))) = waiting.await {
                                let _ = stream.try_write(OUT_OF_FILES);
                            }
                        }
                        // The reserve was lost to such a thread: wait for a descriptor to be
                        // released rather than spin on the failing accept.
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                    reserve = std::fs::File::open("/dev/null").ok();
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
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
    // WebSocket sessions close with "service restart" so clients reconnect (to another node,
    // or to this one when it is back), before the caller closes the store under them.
    state.shutdown.send_replace(true);
    let _ = tokio::time::timeout(SESSIONS_CLOSE_WITHIN, async {
        tokio::join!(stop.closed(), state.shutdown.closed());
    })
    .await;
    Ok(())
}
