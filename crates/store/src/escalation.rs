//! Escalation's records: a conversation's issue in an issue tracker and its last known status.

use crate::Millis;

/// A conversation escalated to an issue (one issue per conversation; an issue may hold several
/// conversations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub conversation_id: i64,
    /// The tracker's name (`jira`).
    pub tracker: String,
    /// The issue's key in the tracker (`SUP-123`).
    pub issue_key: String,
    /// The issue's page, for people.
    pub url: String,
    /// The status's name as the tracker shows it (`In Progress`).
    pub status: String,
    /// Whether that status counts as finished (Jira's status category `done`).
    pub done: bool,
    /// The agent who escalated (the author of the notes the tracker's changes add).
    pub escalated_by: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What `Store::escalate` records.
#[derive(Debug, Clone, Copy)]
pub struct NewEscalation<'a> {
    pub conversation_id: i64,
    pub tracker: &'a str,
    pub issue_key: &'a str,
    pub url: &'a str,
    pub status: &'a str,
    pub done: bool,
    pub escalated_by: i64,
    pub at: Millis,
}
