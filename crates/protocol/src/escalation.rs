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

/// An issue key as trackers write it (`ABC-123`), upper-cased; `None` when it is not one.
pub fn normalize_issue_key(key: &str) -> Option<String> {
    let key = key.trim().to_ascii_uppercase();
    let (project, number) = key.rsplit_once('-')?;
    let project_ok = project.len() <= 50
        && project.starts_with(|c: char| c.is_ascii_uppercase())
        && project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let number_ok = (1..=12).contains(&number.len())
        && number.chars().all(|c| c.is_ascii_digit())
        && !number.starts_with('0');
    (project_ok && number_ok).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_keys_are_recognized() {
        assert_eq!(normalize_issue_key(" sup-12 ").as_deref(), Some("SUP-12"));
        assert_eq!(normalize_issue_key("A_B2-7").as_deref(), Some("A_B2-7"));
        for bad in [
            "SUP", "SUP-", "-12", "SUP-012", "1SUP-3", "SUP-1x", "S P-1", "",
        ] {
            assert_eq!(normalize_issue_key(bad), None, "{bad}");
        }
    }

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
