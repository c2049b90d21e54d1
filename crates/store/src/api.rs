//! Records of the public REST API: its tokens (stored as hashes, scoped, revocable) and the
//! filtered, keyset-paged conversation list it reads.

use crate::{Millis, Status};

/// What a token may do; each scope includes the ones before it (`Read < Write < Admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenScope {
    /// Reads only (`GET`).
    Read,
    /// Reads and changes conversations, messages and contacts.
    Write,
    /// Everything, including token management and erasing a contact's data.
    Admin,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
            TokenScope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<TokenScope> {
        match text {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            "admin" => Some(TokenScope::Admin),
            _ => None,
        }
    }
}

/// A token to store: only the hash of its secret, and a short non-secret prefix.
#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub token_hash: &'a str,
    pub scope: TokenScope,
    /// The agent writes are attributed to when they name none.
    pub created_by: Option<i64>,
}

/// A stored token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scope: TokenScope,
    pub created_by: Option<i64>,
    pub created_at: Millis,
    /// To the minute: a use within a minute of the last recorded one is not written.
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// Whose conversations a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Agent(i64),
    Nobody,
}

/// A page of conversations, newest (highest id) first, every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    pub status: Option<Status>,
    pub site: Option<String>,
    pub assignee: Option<AssigneeFilter>,
    pub label: Option<String>,
    pub priority: Option<String>,
    /// Keyset pagination: only conversations with an id below this one.
    pub before: Option<i64>,
    pub limit: u32,
}
