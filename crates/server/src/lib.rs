//! The Frontdesk server as a library: `router(state)` builds every route, `serve` runs it.
//!
//! *API boundary*: `frontdesk serve` and the tests use only `Settings`, `AppState::new`,
//! `router` and `serve`; `main.rs` stays tiny.
//! *Architecture invariant*: storage goes through `dyn store::Store`; wire types come from
//! `protocol`. The server never builds HTML from user input.

mod auth;
mod convert;
mod error;
mod hub;
mod static_files;
mod ws;

pub use auth::{PasswordError, hash_password};
pub use error::AppError;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use store::Store;
use tokio::net::TcpListener;

/// What the server needs to know beyond its storage.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public origin (`https://support.example.com`) when behind a proxy; `None` trusts
    /// the `Host` header, which is right for direct serving.
    pub public_url: Option<String>,
    /// How long an agent session lasts.
    pub session_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: None,
            session_days: 30,
        }
    }
}

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hub: hub::Hub,
    pub(crate) settings: Arc<Settings>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        AppState {
            store,
            hub: hub::Hub::new(),
            settings: Arc::new(settings),
        }
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .layer(DefaultBodyLimit::max(16 * 1024));
    Router::new()
        .route("/", get(static_files::root))
        .route("/healthz", get(|| async { "ok" }))
        .route("/widget.js", get(static_files::loader))
        .route("/demo", get(static_files::demo))
        .route("/console", get(static_files::console))
        .route("/frame/widget", get(static_files::widget_frame))
        .route("/assets/{*name}", get(static_files::hashed_asset))
        .route("/ws/visitor", get(ws::visitor_upgrade))
        .route("/ws/agent", get(ws::agent_upgrade))
        .nest("/api", api)
        .fallback(static_files::not_found)
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// True when `cargo xtask build` ran before this binary was compiled.
pub fn assets_built() -> bool {
    assets::built()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
