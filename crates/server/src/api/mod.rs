//! The public REST API, `/api/v1` (`docs/api.md`): bearer tokens with scopes
//! (`tokens.rs`), conversations and messages (`conversations.rs`), contacts, agents, teams,
//! reports and the knowledge base (`people.rs`), its OpenAPI 3.1 spec and docs page
//! (`spec.rs`). Errors are RFC 9457 problems (`problem.rs`).
//!
//! *Architecture invariant*: the API stores nothing its own way. Writes go through
//! `crate::actions` (what the console's WebSocket session calls) and the console's HTTP
//! handlers' own functions, so open consoles and widgets hear of them the same way.
//! *Architecture invariant*: a token is read from `Authorization: Bearer` only, never from the
//! URL, and never logged (only its id is).

mod conversations;
mod people;
mod problem;
mod spec;
pub mod tokens;

pub use problem::ApiError;
pub(crate) use tokens::Caller;

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};

/// Routes under `/api/v1`.
pub fn v1() -> Router<AppState> {
    Router::new()
        .route(
            "/conversations",
            get(conversations::list).post(conversations::create),
        )
        .route("/conversations/{id}", get(conversations::get))
        .route(
            "/conversations/{id}/messages",
            get(conversations::messages).post(conversations::reply),
        )
        .route(
            "/conversations/{id}/notes",
            get(conversations::notes).post(conversations::add_note),
        )
        .route("/conversations/{id}/assign", post(conversations::assign))
        .route(
            "/conversations/{id}/priority",
            post(conversations::set_priority),
        )
        .route(
            "/conversations/{id}/labels",
            post(conversations::set_labels),
        )
        .route("/conversations/{id}/team", post(conversations::set_team))
        .route("/conversations/{id}/resolve", post(conversations::resolve))
        .route("/conversations/{id}/reopen", post(conversations::reopen))
        .route("/contacts", get(people::search_contacts))
        .route(
            "/contacts/{id}",
            get(people::contact)
                .patch(people::update_contact)
                .delete(people::erase_contact),
        )
        .route("/contacts/{id}/merge", post(people::merge_contacts))
        .route("/agents", get(people::agents))
        .route("/teams", get(people::teams))
        .route("/reports", get(people::report))
        .route("/kb/search", get(people::search_articles))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .fallback(problem::not_found)
        .layer(axum::middleware::map_response(problem::problems))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
}

/// `/api/openapi.json` and `/api/docs`, public (the spec holds no data).
pub fn docs() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(spec::openapi_json))
        .route("/docs", get(spec::docs_page))
}

/// The console's token management (session of an admin): `GET`/`POST /api/tokens`,
/// `POST /api/tokens/{id}/revoke`.
pub fn console() -> Router<AppState> {
    Router::new()
        .route(
            "/tokens",
            get(tokens::console_list).post(tokens::console_create),
        )
        .route("/tokens/{id}/revoke", post(tokens::console_revoke))
}
