//! The public REST API's own wire types (`/api/v1`, `docs/api.md`): request bodies, query
//! parameters, pages, tokens and the RFC 9457 problem. The responses also reuse the console's
//! types (`ConversationSummary`, `Message`, `Note`, `ContactProfile`, …). With the `openapi`
//! feature (the server's only) they describe themselves to `utoipa`; the browser apps build
//! without it.

use crate::{ConversationSummary, Message, Millis, Priority, Seq};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most conversations or messages one page holds.
pub const MAX_PAGE: u32 = 100;
/// Longest token name, in characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;

/// An error, as RFC 9457 `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/api/docs#not_found`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind in words; the same for every problem of that kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// This occurrence, explained.
    pub detail: String,
}

/// `GET /api/v1/conversations`: filters and the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ConversationListQuery {
    /// `open` or `resolved`.
    pub status: Option<String>,
    /// A site key.
    pub site: Option<String>,
    /// An agent id, or `none` for unassigned conversations.
    pub assignee: Option<String>,
    /// Conversations carrying this label.
    pub label: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Conversations per page, 1 to 100 (default 50).
    pub limit: Option<u32>,
}

/// A page of conversations, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationPage {
    pub conversations: Vec<ConversationSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/conversations/{id}/messages`: messages after a sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct MessageListQuery {
    /// Messages with a higher sequence number (default 0: from the first).
    pub after: Option<Seq>,
    /// Messages per page, 1 to 100 (default 100).
    pub limit: Option<u32>,
}

/// A page of messages, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Seq>,
}

/// A reply or a private note written through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAgentText {
    /// 1 to 4,000 characters. (The pattern only guides generators: something visible, no
    /// control characters but newline and tab; `check_body` is the rule.)
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 4000,
            pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"
        )
    )]
    pub body: String,
    /// The author: an enabled agent; by default the agent who made the token.
    #[serde(default)]
    pub agent: Option<i64>,
    /// Your id for this text (1 to 64 characters): sending again with the same id stores it
    /// once. Generated when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,64}$"))]
    pub id: Option<String>,
}

/// `POST /api/v1/conversations`: a conversation with a contact, opened by an agent's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    pub contact: i64,
    /// The first message, from the agent.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 4000,
            pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"
        )
    )]
    pub body: String,
    /// The agent it is assigned to and written by; by default the agent who made the token.
    #[serde(default)]
    pub agent: Option<i64>,
}

/// `POST /api/v1/conversations/{id}/assign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// An enabled agent, or `null` to unassign.
    pub agent: Option<i64>,
}

/// `POST /api/v1/conversations/{id}/priority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PriorityRequest {
    pub priority: Priority,
}

/// `POST /api/v1/conversations/{id}/labels`: replaces the labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LabelsRequest {
    /// At most 20, each 1 to 40 characters without commas.
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub labels: Vec<String>,
}

/// `POST /api/v1/conversations/{id}/team`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    /// A team some agent belongs to, or `null` for none.
    pub team: Option<String>,
}

/// `GET /api/v1/contacts`: the contacts of a site with an email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ContactSearchQuery {
    #[cfg_attr(feature = "openapi", param(min_length = 1, max_length = 64))]
    pub site: String,
    /// Compared without case.
    #[cfg_attr(feature = "openapi", param(format = Email, max_length = 254))]
    pub email: String,
}

/// `PATCH /api/v1/contacts/{id}`: what is given is recorded; the rest stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    /// 1 to 100 visible characters.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: Option<String>,
    /// Added to (and replacing same-named) attributes; names 1 to 40 characters, values at
    /// most 200, at most 50 attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// `POST /api/v1/contacts/{id}/merge`: this contact is merged into `into`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub into: i64,
}

/// `GET /api/v1/kb/search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ArticleSearchQuery {
    /// At most 200 characters.
    pub q: String,
    /// A language tag (`en`, `pt-BR`).
    pub lang: Option<String>,
    /// Hits, 1 to 20 (default 5).
    pub limit: Option<u32>,
}

/// A knowledge-base article found by the server's search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleHit {
    pub id: String,
    pub title: String,
    pub url: String,
    pub score: f32,
}

/// What an API token may do; each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    Write,
    Admin,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub scope: TokenScope,
    /// The agent who made it (writes default to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<i64>,
    pub created_at: Millis,
    /// To the minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Millis>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// 1 to 100 visible characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub name: String,
    pub scope: TokenScope,
}

/// A token just made: the secret is shown this once and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    pub token: ApiTokenInfo,
    /// Send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// `GET /api/v1/reports`: the period (default: the last 30 days) and the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Milliseconds since 1970 (default: 30 days before `until`).
    pub since: Option<Millis>,
    /// Milliseconds since 1970 (default: now); at most 400 days after `since`.
    pub until: Option<Millis>,
    /// The IANA time zone days are counted in (default UTC).
    pub tz: Option<String>,
    pub site: Option<String>,
    pub team: Option<String>,
    pub agent: Option<i64>,
    pub label: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<String>,
    /// A language tag (`pt` counts `pt-BR` too).
    pub language: Option<String>,
    pub channel: Option<String>,
}
