//! `[escalation]`: conversations escalated to Jira issues, and Jira's webhook back.
//!
//! ```toml
//! [escalation]
//! jira_url = "https://acme.atlassian.net"
//! jira_email = "support-bot@acme.example"   # the Jira account issues are created as
//! jira_token = "…"                          # or FRONTDESK_JIRA_TOKEN (its API token)
//! jira_project = "SUP"
//! jira_issue_type = "Task"                  # the default
//! webhook_secret = "…"                      # or FRONTDESK_JIRA_WEBHOOK_SECRET
//! console_url = "https://support.acme.example"  # the issues' link back; default public_url
//! ```

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EscalationToml {
    jira_url: Option<String>,
    jira_email: Option<String>,
    jira_token: Option<String>,
    jira_project: Option<String>,
    jira_issue_type: Option<String>,
    webhook_secret: Option<String>,
    console_url: Option<String>,
}

/// The validated settings, the environment's secrets taking precedence over the file's.
pub(super) fn escalation(
    t: &EscalationToml,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<server::escalation::Escalation> {
    let jira_url = t
        .jira_url
        .clone()
        .context("escalation.jira_url is required, e.g. https://acme.atlassian.net")?
        .trim_end_matches('/')
        .to_owned();
    let jira_email = t
        .jira_email
        .clone()
        .context("escalation.jira_email is required (the Jira account issues are created as)")?;
    let jira_token = env("FRONTDESK_JIRA_TOKEN")
        .or_else(|| t.jira_token.clone())
        .context("escalation.jira_token (or FRONTDESK_JIRA_TOKEN) is required: an API token of jira_email")?;
    let jira_project = t
        .jira_project
        .clone()
        .context("escalation.jira_project is required: the key of the project, e.g. SUP")?;
    let webhook_secret = env("FRONTDESK_JIRA_WEBHOOK_SECRET")
        .or_else(|| t.webhook_secret.clone())
        .context(
            "escalation.webhook_secret (or FRONTDESK_JIRA_WEBHOOK_SECRET) is required: what Jira's webhook sends back",
        )?;
    let settings = server::escalation::Escalation {
        jira_url,
        jira_email,
        jira_token,
        jira_project,
        jira_issue_type: t.jira_issue_type.clone().unwrap_or_else(|| "Task".into()),
        webhook_secret,
        console_url: t
            .console_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_owned()),
    };
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("escalation: {e}"))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<server::escalation::Escalation> {
        escalation(&toml::from_str(text)?, |_| None)
    }

    const GOOD: &str = "jira_url = \"https://acme.atlassian.net/\"\njira_email = \"bot@acme.example\"\njira_token = \"token-from-the-file\"\njira_project = \"SUP\"\nwebhook_secret = \"0123456789abcdef0123\"\n";

    #[test]
    fn escalation_settings_are_checked_and_secrets_stay_out_of_debug() {
        let e = parse(GOOD).unwrap();
        assert_eq!(e.jira_url, "https://acme.atlassian.net");
        assert_eq!(e.jira_issue_type, "Task");
        assert_eq!(e.console_url, None);
        let shown = format!("{e:?}");
        assert!(shown.contains("acme.atlassian.net"), "{shown}");
        assert!(
            !shown.contains("token-from-the-file") && !shown.contains("0123456789abcdef"),
            "{shown}"
        );
        let from_env = escalation(&toml::from_str(GOOD).unwrap(), |k| {
            (k == "FRONTDESK_JIRA_TOKEN").then(|| "token-from-the-environment".into())
        })
        .unwrap();
        assert_eq!(from_env.jira_token, "token-from-the-environment");
        let bad = |replace: &str, with: &str| {
            parse(&GOOD.replace(replace, with)).unwrap_err().to_string()
        };
        assert!(bad("https://acme.atlassian.net/", "acme.atlassian.net").contains("jira_url"));
        assert!(
            bad("https://acme.atlassian.net/", "ftp://acme.atlassian.net").contains("jira_url")
        );
        assert!(
            bad(
                "https://acme.atlassian.net/",
                "https://bot:pw@acme.atlassian.net"
            )
            .contains("credentials")
        );
        assert!(bad("\"SUP\"", "\"sup project\"").contains("jira_project"));
        assert!(bad("bot@acme.example", "bot").contains("jira_email"));
        assert!(bad("0123456789abcdef0123", "short").contains("16 characters"));
        assert!(
            parse(&format!("{GOOD}console_url = \"support\"\n"))
                .unwrap_err()
                .to_string()
                .contains("console_url")
        );
        assert!(
            parse(&format!("{GOOD}jira_password = \"x\"\n"))
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
        let missing = parse("jira_url = \"https://acme.atlassian.net\"\n")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("jira_email"), "{missing}");
    }
}
