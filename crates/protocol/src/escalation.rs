//! Escalation to an issue tracker, as the console sees it (`/api/conversations/{id}/escalate`
//! and `/escalation`). Used by the server and the console only; the widget never names it.

use serde::{Deserialize, Serialize};

/// The longest summary an issue gets (Jira's own limit).
pub const MAX_ESCALATION_SUMMARY_CHARS: usize = 255;

/// A conversation's issue in the tracker and its status as the tracker last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// `jira`.
    pub tracker: String,
    /// `SUP-123`.
    pub key: String,
    /// The issue's page.
    pub url: String,
    /// The status's name (`In Progress`).
    pub status: String,
    /// The status counts as finished.
    pub done: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `POST /api/conversations/{id}/escalate`: a new issue with this summary, or a link to an
/// existing issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EscalateRequest {
    Summary(String),
    Link(String),
}

impl EscalateRequest {
    /// The console's form: a typed key links that issue, else the summary makes a new one.
    pub fn from_form(summary: &str, key: &str) -> Self {
        match key.trim() {
            "" => EscalateRequest::Summary(summary.trim().to_owned()),
            key => EscalateRequest::Link(key.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_of_summary_or_link() {
        let r: EscalateRequest = serde_json::from_str(r#"{"summary":"Refund stuck"}"#).unwrap();
        assert_eq!(r, EscalateRequest::Summary("Refund stuck".into()));
        let r: EscalateRequest = serde_json::from_str(r#"{"link":"SUP-1"}"#).unwrap();
        assert_eq!(r, EscalateRequest::Link("SUP-1".into()));
        assert!(serde_json::from_str::<EscalateRequest>(r#"{"title":"x"}"#).is_err());
        assert_eq!(
            EscalateRequest::from_form(" Refund stuck ", " "),
            EscalateRequest::Summary("Refund stuck".into())
        );
        assert_eq!(
            EscalateRequest::from_form("Refund stuck", " sup-4 "),
            EscalateRequest::Link("sup-4".into())
        );
    }
}
