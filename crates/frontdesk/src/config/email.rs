//! `[email]`: replies emailed to customers who left, and their answers by email.
//!
//! ```toml
//! [email]
//! smtp_url = "smtp://127.0.0.1:25"          # or FRONTDESK_SMTP_URL (it may hold a password)
//! from = "Brightbill Support <support@brightbill.example>"
//! reply_domain = "reply.brightbill.example" # its mail is piped to POST /api/email/inbound
//! inbound_secret = "…"                      # or FRONTDESK_EMAIL_INBOUND_SECRET
//! away_seconds = 300                        # an agent reply unread this long is emailed
//! check_seconds = 30
//! ```

use anyhow::{Context, bail};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailToml {
    smtp_url: Option<String>,
    from: Option<String>,
    reply_domain: Option<String>,
    inbound_secret: Option<String>,
    away_seconds: Option<u64>,
    check_seconds: Option<u64>,
}

/// The validated settings, the environment's secrets taking precedence over the file's.
pub(super) fn email(
    t: &EmailToml,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<server::email::Email> {
    let smtp_url = env("FRONTDESK_SMTP_URL")
        .or_else(|| t.smtp_url.clone())
        .context("email.smtp_url (or FRONTDESK_SMTP_URL) is required, e.g. smtp://127.0.0.1:25")?;
    let from = t
        .from
        .clone()
        .context("email.from is required, e.g. \"Support <support@example.com>\"")?;
    let reply_domain = t.reply_domain.clone().context(
        "email.reply_domain is required (the domain whose mail reaches /api/email/inbound)",
    )?;
    let inbound_secret = env("FRONTDESK_EMAIL_INBOUND_SECRET")
        .or_else(|| t.inbound_secret.clone())
        .context("email.inbound_secret (or FRONTDESK_EMAIL_INBOUND_SECRET) is required")?;
    if inbound_secret.len() < 16 {
        bail!("email.inbound_secret must be at least 16 characters (use a random string)");
    }
    let away = t.away_seconds.unwrap_or(300);
    if !(1..=7 * 86_400).contains(&away) {
        bail!("email.away_seconds must be 1 to 604800 (a week)");
    }
    let every = t.check_seconds.unwrap_or(30);
    if !(1..=3_600).contains(&every) {
        bail!("email.check_seconds must be 1 to 3600");
    }
    let settings = server::email::Email {
        smtp_url,
        from,
        reply_domain,
        inbound_secret,
        away: Duration::from_secs(away),
        every: Duration::from_secs(every),
    };
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("email: {e}"))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<server::email::Email> {
        email(&toml::from_str(text)?, |_| None)
    }

    const GOOD: &str = "smtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"Shop <help@shop.example>\"\nreply_domain = \"reply.shop.example\"\ninbound_secret = \"0123456789abcdef0123\"\n";

    #[test]
    fn email_settings_are_checked() {
        let e = parse(GOOD).unwrap();
        assert_eq!(e.away, Duration::from_secs(300));
        assert_eq!(e.reply_domain, "reply.shop.example");
        let from_env = email(&toml::from_str(GOOD).unwrap(), |k| {
            (k == "FRONTDESK_EMAIL_INBOUND_SECRET").then(|| "from the environment!".into())
        })
        .unwrap();
        assert_eq!(from_env.inbound_secret, "from the environment!");
        let bad = |replace: &str, with: &str| {
            parse(&GOOD.replace(replace, with)).unwrap_err().to_string()
        };
        assert!(bad("0123456789abcdef0123", "short").contains("16 characters"));
        assert!(bad("Shop <help@shop.example>", "not an address").contains("from"));
        assert!(bad("reply.shop.example", "reply shop").contains("reply_domain"));
        assert!(bad("smtp://127.0.0.1:2525", "ftp://x").contains("smtp_url"));
        assert!(parse(&format!("{GOOD}away_seconds = 0\n")).is_err());
        assert!(
            parse(&format!("{GOOD}pop3 = true\n"))
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
        assert!(
            parse("from = \"a@b.c\"\n")
                .unwrap_err()
                .to_string()
                .contains("smtp_url")
        );
    }
}
