//! Server settings: defaults, then a TOML file, then `FRONTDESK_*` environment variables, then
//! command-line flags (clap reads the environment and the flags; this file merges the layers).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod email;
mod escalation;
mod rules;

/// The `[server]` table of `frontdesk.toml`. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    /// `postgres://…`: PostgreSQL instead of SQLite in the data folder.
    pub database: Option<String>,
    /// `redis://…`: live events between nodes.
    pub redis: Option<String>,
    pub public_url: Option<String>,
    /// Reverse proxies (CIDRs) whose forwarded client addresses are believed.
    pub trusted_proxies: Option<Vec<String>>,
    pub session_days: Option<u32>,
    /// Folder of Markdown articles (the knowledge base).
    pub knowledge_base: Option<PathBuf>,
    #[serde(skip)]
    pub sites: BTreeMap<String, server::Site>,
    #[serde(skip)]
    pub sla: Option<SlaToml>,
    #[serde(skip)]
    pub routing: Option<RoutingToml>,
    #[serde(skip)]
    pub canned: Vec<protocol::CannedResponse>,
    #[serde(skip)]
    pub limits: LimitsToml,
    /// `[demo] enabled`: the built-in `demo` site and `/demo` page. Unset: on when the file
    /// configures no site, off when it does.
    #[serde(skip)]
    pub demo_enabled: Option<bool>,
    /// `[retention]`, validated.
    #[serde(skip)]
    pub retention: Option<server::privacy::Retention>,
    /// `[reports]`: what makes a contact important.
    #[serde(skip)]
    pub importance: Option<store::Importance>,
    /// `[insights]`, validated.
    #[serde(skip)]
    pub insights: server::insights::Insights,
    /// `[email]`, validated.
    #[serde(skip)]
    pub email: Option<server::email::Email>,
    /// `[[rules]]`, validated.
    #[serde(skip)]
    pub rules: Vec<::rules::Rule>,
    /// `[webhooks]` with every site's `[[sites.KEY.webhooks]]`, validated.
    #[serde(skip)]
    pub webhooks: server::webhooks::Webhooks,
    /// `[escalation]`, validated.
    #[serde(skip)]
    pub escalation: Option<server::escalation::Escalation>,
}

/// `[reports]`: a contact is important (the importance × urgency view) when it has an account
/// manager, or when its custom attribute `importance_attribute` has one of `important_values`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportsToml {
    #[serde(default)]
    importance_attribute: Option<String>,
    #[serde(default)]
    important_values: Option<Vec<String>>,
}

fn importance(t: &ReportsToml) -> anyhow::Result<store::Importance> {
    let mut out = store::Importance::default();
    if let Some(a) = &t.importance_attribute {
        if !protocol::valid_attribute_key(a) {
            bail!(
                "reports.importance_attribute {a:?} must be 1 to 64 characters of [A-Za-z0-9_.-]"
            );
        }
        out.attribute = a.clone();
    }
    if let Some(values) = &t.important_values {
        if values.len() > 50 || values.iter().any(|v| v.trim().is_empty() || v.len() > 200) {
            bail!("reports.important_values: at most 50 non-empty values of up to 200 bytes");
        }
        out.values = values.iter().map(|v| v.trim().to_owned()).collect();
    }
    Ok(out)
}

/// `[insights]`: raw widget search events are kept `raw_search_days` (the daily rollups the
/// gaps report reads stay); a query is listed only when at least `min_visitors` distinct
/// visitors asked it in the period.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InsightsToml {
    raw_search_days: Option<u32>,
    min_visitors: Option<u64>,
}

fn insights(t: &InsightsToml) -> anyhow::Result<server::insights::Insights> {
    let defaults = server::insights::Insights::default();
    let raw_search_days = t.raw_search_days.unwrap_or(defaults.raw_search_days);
    if !(1..=3_650).contains(&raw_search_days) {
        bail!("insights.raw_search_days must be 1 to 3650 days");
    }
    let min_visitors = t.min_visitors.unwrap_or(defaults.min_visitors);
    if !(1..=1_000).contains(&min_visitors) {
        bail!(
            "insights.min_visitors must be 1 to 1000 (below 3, rare queries can identify the one customer who typed them)"
        );
    }
    Ok(server::insights::Insights {
        raw_search_days,
        min_visitors,
    })
}

/// `[retention]`: resolved conversations whose last activity is older than
/// `conversations_days` are deleted or anonymised (`action`) by a background job that runs
/// every `check_minutes`. Open conversations are never touched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionToml {
    conversations_days: u32,
    /// `delete` (default) or `anonymize`.
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    check_minutes: Option<f64>,
}

fn retention(t: &RetentionToml) -> anyhow::Result<server::privacy::Retention> {
    if t.conversations_days == 0 {
        bail!(
            "retention.conversations_days must be at least 1 (leave [retention] out to keep everything)"
        );
    }
    let expiry = match t.action.as_deref() {
        None | Some("delete") => store::Expiry::Delete,
        Some("anonymize" | "anonymise") => store::Expiry::Anonymize,
        Some(other) => bail!("retention.action must be \"delete\" or \"anonymize\", got {other:?}"),
    };
    let minutes = t.check_minutes.unwrap_or(60.0);
    if !(minutes > 0.0 && minutes.is_finite() && minutes <= 10_080.0) {
        bail!("retention.check_minutes must be a number of minutes between 0 and 10080 (a week)");
    }
    Ok(server::privacy::Retention {
        days: t.conversations_days,
        expiry,
        every: std::time::Duration::from_secs_f64(minutes * 60.0),
    })
}

/// `[demo]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoToml {
    enabled: Option<bool>,
}

/// `[limits]`: per-client limits. Rates are `"N/period"` (`"10/hour"`, `"40/4s"`) or `0` (off);
/// each can also be set by `FRONTDESK_LIMITS_<NAME>` (e.g. `FRONTDESK_LIMITS_MESSAGES_PER_VISITOR`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsToml {
    pub new_visitors_per_address: Option<RateToml>,
    pub new_conversations_per_address: Option<RateToml>,
    pub messages_per_visitor: Option<RateToml>,
    pub sign_ins_per_address: Option<RateToml>,
    pub frames_per_connection: Option<RateToml>,
    pub api_requests_per_token: Option<RateToml>,
    /// Files a visitor uploads (default `30/hour`).
    pub uploads_per_visitor: Option<RateToml>,
    /// Largest attachment in megabytes (default 10); a larger upload is refused as it arrives.
    pub attachment_max_mb: Option<f64>,
    pub connections_per_address: Option<u32>,
    pub header_timeout_seconds: Option<f64>,
    pub body_timeout_seconds: Option<f64>,
}

/// A rate as a string, or the number 0 (off).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RateToml {
    Text(String),
    Number(u32),
}

impl RateToml {
    fn parse(&self, name: &str) -> anyhow::Result<server::Rate> {
        let text = match self {
            RateToml::Text(t) => t.clone(),
            RateToml::Number(n) => n.to_string(),
        };
        server::Rate::parse(&text).with_context(|| format!("limits.{name}"))
    }
}

/// The limits: defaults, then `[limits]`, then `FRONTDESK_LIMITS_*` from `env`.
pub fn limits(
    file: &LimitsToml,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<server::Limits> {
    let mut limits = server::Limits::default();
    let rates: [(&str, &Option<RateToml>, &mut server::Rate); 7] = [
        (
            "new_visitors_per_address",
            &file.new_visitors_per_address,
            &mut limits.new_visitors_per_address,
        ),
        (
            "new_conversations_per_address",
            &file.new_conversations_per_address,
            &mut limits.new_conversations_per_address,
        ),
        (
            "messages_per_visitor",
            &file.messages_per_visitor,
            &mut limits.messages_per_visitor,
        ),
        (
            "sign_ins_per_address",
            &file.sign_ins_per_address,
            &mut limits.sign_ins_per_address,
        ),
        (
            "frames_per_connection",
            &file.frames_per_connection,
            &mut limits.frames_per_connection,
        ),
        (
            "api_requests_per_token",
            &file.api_requests_per_token,
            &mut limits.api_requests_per_token,
        ),
        (
            "uploads_per_visitor",
            &file.uploads_per_visitor,
            &mut limits.uploads_per_visitor,
        ),
    ];
    for (name, from_file, slot) in rates {
        let from_env = env(&format!("FRONTDESK_LIMITS_{}", name.to_uppercase()));
        match (from_env, from_file) {
            (Some(text), _) => *slot = RateToml::Text(text).parse(name)?,
            (None, Some(rate)) => *slot = rate.parse(name)?,
            (None, None) => {}
        }
    }
    let number = |name: &str, from_file: Option<f64>| -> anyhow::Result<Option<f64>> {
        match env(&format!("FRONTDESK_LIMITS_{}", name.to_uppercase())) {
            Some(text) => text.trim().parse::<f64>().map(Some).map_err(|_| {
                anyhow::anyhow!(
                    "FRONTDESK_LIMITS_{}: {text:?} is not a number",
                    name.to_uppercase()
                )
            }),
            None => Ok(from_file),
        }
    };
    if let Some(n) = number(
        "connections_per_address",
        file.connections_per_address.map(f64::from),
    )? {
        if !(0.0..=1e9).contains(&n) || n.fract() != 0.0 {
            bail!("limits.connections_per_address must be a whole number (0: no cap)");
        }
        limits.connections_per_address = n as u32;
    }
    if let Some(mb) = number("attachment_max_mb", file.attachment_max_mb)? {
        if !(mb > 0.0 && mb <= 1024.0) {
            bail!("limits.attachment_max_mb must be more than 0 and at most 1024");
        }
        limits.attachment_bytes = (mb * 1024.0 * 1024.0) as u64;
    }
    for (name, from_file, slot) in [
        (
            "header_timeout_seconds",
            file.header_timeout_seconds,
            &mut limits.header_timeout,
        ),
        (
            "body_timeout_seconds",
            file.body_timeout_seconds,
            &mut limits.body_timeout,
        ),
    ] {
        if let Some(s) = number(name, from_file)? {
            if !(s > 0.0 && s <= 3600.0) {
                bail!("limits.{name} must be more than 0 and at most 3600 seconds");
            }
            *slot = std::time::Duration::from_secs_f64(s);
        }
    }
    Ok(limits)
}

/// `[sla]`: first-response, next-response and resolution targets per priority, in minutes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaToml {
    #[serde(default)]
    pub first_response_minutes: BTreeMap<String, f64>,
    #[serde(default)]
    pub next_response_minutes: BTreeMap<String, f64>,
    #[serde(default)]
    pub resolution_minutes: BTreeMap<String, f64>,
    #[serde(default)]
    pub check_seconds: Option<f64>,
}

/// `[routing]`: how many open conversations an agent takes, and how long a disconnected agent
/// keeps its conversations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingToml {
    #[serde(default)]
    pub capacity: Option<u32>,
    /// `round_robin` (default) or `least_busy`.
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub reassign_after_seconds: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedToml {
    shortcut: String,
    title: String,
    body: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    #[serde(default)]
    server: FileConfig,
    #[serde(default)]
    sites: BTreeMap<String, SiteToml>,
    #[serde(default)]
    sla: Option<SlaToml>,
    #[serde(default)]
    routing: Option<RoutingToml>,
    #[serde(default)]
    canned: Vec<CannedToml>,
    #[serde(default)]
    limits: LimitsToml,
    #[serde(default)]
    demo: DemoToml,
    #[serde(default)]
    retention: Option<RetentionToml>,
    #[serde(default)]
    reports: Option<ReportsToml>,
    #[serde(default)]
    insights: InsightsToml,
    #[serde(default)]
    email: Option<email::EmailToml>,
    #[serde(default)]
    webhooks: server::webhooks::WebhooksToml,
    #[serde(default)]
    rules: Vec<::rules::Rule>,
    #[serde(default)]
    escalation: Option<escalation::EscalationToml>,
}

/// `[sites.KEY]`: what a site owner configures.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteToml {
    name: String,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    greeting: BTreeMap<String, String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    prechat_name: bool,
    #[serde(default)]
    prechat_email: bool,
    /// Ask the customer effort question after the rating.
    #[serde(default)]
    ask_effort: bool,
    #[serde(default)]
    office_hours: Option<HoursToml>,
    /// The team this site's conversations are routed to.
    #[serde(default)]
    team: Option<String>,
    /// Signs the site's user ids for identity verification; keep this file private.
    #[serde(default)]
    identity_secret: Option<String>,
    /// `[[sites.KEY.webhooks]]`: endpoints with their secret and events.
    #[serde(default)]
    webhooks: Vec<server::webhooks::EndpointToml>,
}

/// `[sites.KEY.office_hours]`: the zone (`timezone`, or `utc_offset` as before), the days'
/// ranges, the holidays. Unknown keys are caught by `Calendar::parse` (they must be day names),
/// so no `deny_unknown_fields` here: serde does not support it together with `flatten`.
#[derive(Debug, Deserialize)]
struct HoursToml {
    #[serde(default)]
    utc_offset: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(flatten)]
    days: BTreeMap<String, String>,
}

fn valid_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    })
}

fn site(key: &str, t: SiteToml) -> anyhow::Result<server::Site> {
    let key_ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !key_ok {
        bail!("site key {key:?} must be 1 to 64 characters of [A-Za-z0-9_-]");
    }
    let color = t.color.unwrap_or_else(|| "#2f5bea".into());
    let hex_ok = color.len() == 7
        && color.starts_with('#')
        && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_ok {
        bail!("sites.{key}.color must be #rrggbb, got {color:?}");
    }
    let position = t.position.unwrap_or_else(|| "right".into());
    if position != "right" && position != "left" {
        bail!("sites.{key}.position must be \"right\" or \"left\"");
    }
    for origin in &t.allowed_origins {
        if !valid_origin(origin) {
            bail!(
                "sites.{key}.allowed_origins: {origin:?} is not an origin like https://shop.example"
            );
        }
    }
    let office_hours = match t.office_hours {
        Some(h) => Some(
            server::Calendar::parse(
                h.utc_offset.as_deref(),
                h.timezone.as_deref(),
                h.days.iter().map(|(d, r)| (d.as_str(), r.as_str())),
                h.holidays.iter().map(String::as_str),
            )
            .map_err(|e| anyhow::anyhow!("sites.{key}.office_hours: {e}"))?,
        ),
        None => None,
    };
    let team = match t.team.as_deref() {
        None => None,
        Some(name) => Some(protocol::normalize_label(name).ok_or_else(|| {
            anyhow::anyhow!(
                "sites.{key}.team must be 1 to {} characters without commas",
                protocol::MAX_LABEL_CHARS
            )
        })?),
    };
    let identity_secret = match t.identity_secret {
        Some(s) if s.len() < 16 => {
            bail!(
                "sites.{key}.identity_secret must be at least 16 characters (use a random string)"
            )
        }
        other => other,
    };
    let languages = if t.languages.is_empty() {
        vec!["en".to_owned()]
    } else {
        t.languages
    };
    Ok(server::Site {
        config: protocol::SiteConfig {
            site: key.to_owned(),
            name: t.name,
            color,
            position,
            greeting: t.greeting,
            languages,
            prechat_name: t.prechat_name,
            prechat_email: t.prechat_email,
            ask_effort: t.ask_effort,
        },
        allowed_origins: t.allowed_origins,
        office_hours,
        team,
        identity_secret,
    })
}

pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    parse(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn parse(text: &str) -> anyhow::Result<FileConfig> {
    let mut root: Root = toml::from_str(text)?;
    let mut endpoints = Vec::new();
    for (key, mut t) in std::mem::take(&mut root.sites) {
        for (n, hook) in std::mem::take(&mut t.webhooks).into_iter().enumerate() {
            endpoints.push(hook.parse(&key, n).map_err(anyhow::Error::msg)?);
        }
        let site = site(&key, t)?;
        root.server.sites.insert(key, site);
    }
    root.server.webhooks = root.webhooks.parse(endpoints).map_err(anyhow::Error::msg)?;
    if let Some(sla) = &root.sla {
        for (table, map) in [
            ("first_response_minutes", &sla.first_response_minutes),
            ("next_response_minutes", &sla.next_response_minutes),
            ("resolution_minutes", &sla.resolution_minutes),
        ] {
            for (priority, minutes) in map {
                if protocol::Priority::parse(priority).is_none() {
                    bail!("sla.{table}: unknown priority {priority:?} (low, normal, high, urgent)");
                }
                if !(*minutes > 0.0 && minutes.is_finite()) {
                    bail!("sla.{table}.{priority} must be a positive number of minutes");
                }
            }
        }
    }
    for c in &root.canned {
        let ok = !c.shortcut.is_empty()
            && c.shortcut.len() <= 32
            && c.shortcut
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            bail!(
                "canned shortcut {:?} must be 1 to 32 characters of [A-Za-z0-9_-]",
                c.shortcut
            );
        }
    }
    // Validated here so a bad file fails at load, with the file's name.
    limits(&root.limits, |_| None)?;
    root.server.limits = std::mem::take(&mut root.limits);
    root.server.demo_enabled = root.demo.enabled;
    root.server.retention = root.retention.as_ref().map(retention).transpose()?;
    root.server.importance = root.reports.as_ref().map(importance).transpose()?;
    root.server.insights = insights(&root.insights)?;
    root.server.rules = rules::rules(std::mem::take(&mut root.rules))?;
    root.server.email = root
        .email
        .as_ref()
        .map(|t| email::email(t, |k| std::env::var(k).ok()))
        .transpose()?;
    root.server.escalation = root
        .escalation
        .as_ref()
        .map(|t| escalation::escalation(t, |k| std::env::var(k).ok()))
        .transpose()?;
    root.server.sla = root.sla.take();
    root.server.routing = root.routing.take();
    root.server.canned = std::mem::take(&mut root.canned)
        .into_iter()
        .map(|c| protocol::CannedResponse {
            shortcut: c.shortcut,
            title: c.title,
            body: c.body,
        })
        .collect();
    if let Some(url) = &root.server.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bail!("server.public_url must start with http:// or https://, got {url:?}");
    }
    if root.server.session_days == Some(0) {
        bail!("server.session_days must be at least 1");
    }
    Ok(root.server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let c = parse("[server]\nlisten = \"127.0.0.1:9000\"\nsession_days = 7\n").unwrap();
        assert_eq!(c.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(c.session_days, Some(7));
        assert!(
            parse("[server]\nlisen = \"x\"\n")
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
        assert!(parse("[server]\npublic_url = \"ftp://x\"\n").is_err());
        assert!(parse("").unwrap().listen.is_none());
    }

    #[test]
    fn sites_with_office_hours_and_origins() {
        let c = parse(
            r##"
[sites.shop]
name = "Shop"
color = "#112233"
allowed_origins = ["https://shop.example"]
prechat_email = true
greeting = { en = "Hi", pt = "Oi" }
[sites.shop.office_hours]
utc_offset = "-03:00"
mon = "09:00-18:00"
"##,
        )
        .unwrap();
        let shop = &c.sites["shop"];
        assert_eq!(shop.config.greeting["pt"], "Oi");
        assert!(shop.config.prechat_email);
        let hours = shop.office_hours.as_ref().unwrap();
        assert_eq!(hours.week()[0], vec![(540, 1080)]);
        assert_eq!(hours.zone().name(), "-03:00");
        let bad = |t: &str| parse(t).unwrap_err().to_string();
        assert!(bad("[sites.x]\nname = \"X\"\ncolor = \"red\"\n").contains("#rrggbb"));
        assert!(
            bad("[sites.x]\nname = \"X\"\nallowed_origins = [\"https://a.example/path\"]\n")
                .contains("not an origin")
        );
        assert!(bad("[sites.x]\nname = \"X\"\n[sites.x.office_hours]\nutc_offset = \"+01:00\"\nfunday = \"09:00-10:00\"\n").contains("funday"));
        assert!(bad("[sites.x]\nname = \"X\"\nteam = \"a,b\"\n").contains("team"));
    }

    #[test]
    fn office_hours_in_a_time_zone_with_split_shifts_and_holidays() {
        let c = parse(
            r##"
[sites.shop]
name = "Shop"
[sites.shop.office_hours]
timezone = "Europe/Istanbul"
mon = "09:00-12:30, 13:30-18:00"
Fri = "10:00-16:00"
holidays = ["2026-12-25", "2027-01-01"]
"##,
        )
        .unwrap();
        let hours = c.sites["shop"].office_hours.as_ref().unwrap();
        assert_eq!(hours.zone().name(), "Europe/Istanbul");
        assert_eq!(hours.week()[0], vec![(540, 750), (810, 1080)]);
        assert_eq!(hours.week()[4], vec![(600, 960)]);
        let holidays: Vec<String> = hours.holidays().iter().map(|d| d.to_string()).collect();
        assert_eq!(holidays, ["2026-12-25", "2027-01-01"]);
        // Friday 2026-12-25 12:00 in Istanbul (09:00 UTC) is a holiday.
        assert!(!hours.is_open(1_798_189_200_000));
        assert!(hours.is_open(1_798_189_200_000 - 7 * 86_400_000));

        let bad = |hours: &str| {
            parse(&format!(
                "[sites.x]\nname = \"X\"\n[sites.x.office_hours]\n{hours}"
            ))
            .unwrap_err()
            .to_string()
        };
        let message = bad("timezone = \"Europe/Atlantis\"\n");
        assert!(
            message.starts_with("sites.x.office_hours: unknown time zone \"Europe/Atlantis\""),
            "{message}"
        );
        assert!(bad("mon = \"09:00-10:00\"\n").contains("give the time zone"));
        assert!(bad("timezone = \"UTC\"\nutc_offset = \"+00:00\"\n").contains("not both"));
        assert!(
            bad("timezone = \"UTC\"\ntue = \"09:00-13:00, 12:00-18:00\"\n")
                .contains("tue: the hours 09:00-13:00 and 12:00-18:00 overlap")
        );
        assert!(bad("timezone = \"UTC\"\nwed = \"18:00-09:00\"\n").contains("wed: invalid hours"));
        assert!(
            bad("timezone = \"UTC\"\nholidays = [\"2026-02-30\"]\n")
                .contains("invalid holiday \"2026-02-30\"")
        );
        assert!(bad("timezone = \"UTC\"\nholidays = \"2026-12-25\"\n").contains("holidays"));
    }

    #[test]
    fn limits_from_the_file_and_the_environment() {
        let c = parse(
            "[limits]\nnew_conversations_per_address = \"6/12h\"\nmessages_per_visitor = 0\n\
             connections_per_address = 50\nheader_timeout_seconds = 5\n",
        )
        .unwrap();
        let l = limits(&c.limits, |_| None).unwrap();
        assert_eq!(
            l.new_conversations_per_address,
            server::Rate::new(6, std::time::Duration::from_secs(12 * 3600))
        );
        assert!(l.messages_per_visitor.is_off());
        assert_eq!(l.connections_per_address, 50);
        assert_eq!(l.header_timeout, std::time::Duration::from_secs(5));
        let env =
            |k: &str| (k == "FRONTDESK_LIMITS_MESSAGES_PER_VISITOR").then(|| "5/s".to_owned());
        let l = limits(&c.limits, env).unwrap();
        assert_eq!(l.messages_per_visitor.count, 5);
        let bad = |t: &str| format!("{:#}", parse(t).unwrap_err());
        assert!(
            bad("[limits]\nmessages_per_visitor = \"lots\"\n")
                .contains("limits.messages_per_visitor")
        );
        assert!(bad("[limits]\nheader_timeout_seconds = 0\n").contains("header_timeout"));
        assert!(bad("[limits]\npings = 3\n").contains("unknown field"));
        // Attachments: 10 MB and 30 an hour unless told otherwise.
        let l = limits(&parse("").unwrap().limits, |_| None).unwrap();
        assert_eq!(l.attachment_bytes, 10 * 1024 * 1024);
        assert_eq!(l.uploads_per_visitor.count, 30);
        let c =
            parse("[limits]\nattachment_max_mb = 2.5\nuploads_per_visitor = \"5/m\"\n").unwrap();
        let l = limits(&c.limits, |_| None).unwrap();
        assert_eq!(l.attachment_bytes, 2_621_440);
        assert_eq!(l.uploads_per_visitor.count, 5);
        assert!(bad("[limits]\nattachment_max_mb = 0\n").contains("attachment_max_mb"));
    }

    #[test]
    fn insights_and_the_effort_question() {
        let c = parse("").unwrap();
        assert_eq!(c.insights, server::insights::Insights::default());
        let c = parse("[insights]\nraw_search_days = 30\nmin_visitors = 5\n").unwrap();
        assert_eq!(
            (c.insights.raw_search_days, c.insights.min_visitors),
            (30, 5)
        );
        let bad = |text: &str| parse(text).unwrap_err().to_string();
        assert!(bad("[insights]\nraw_search_days = 0\n").contains("raw_search_days"));
        assert!(bad("[insights]\nmin_visitors = 0\n").contains("min_visitors"));
        assert!(bad("[insights]\nk = 3\n").contains("unknown field"));
        let c = parse("[sites.shop]\nname = \"Shop\"\nask_effort = true\n").unwrap();
        assert!(c.sites["shop"].config.ask_effort);
        let c = parse("[sites.shop]\nname = \"Shop\"\n").unwrap();
        assert!(!c.sites["shop"].config.ask_effort);
    }

    #[test]
    fn retention_rules() {
        let c = parse("[retention]\nconversations_days = 365\naction = \"anonymize\"\n").unwrap();
        let r = c.retention.unwrap();
        assert_eq!((r.days, r.expiry), (365, store::Expiry::Anonymize));
        assert_eq!(r.every, std::time::Duration::from_secs(3600));
        let c = parse("[retention]\nconversations_days = 30\ncheck_minutes = 0.5\n").unwrap();
        let r = c.retention.unwrap();
        assert_eq!((r.expiry, r.every.as_secs()), (store::Expiry::Delete, 30));
        assert!(
            parse("").unwrap().retention.is_none(),
            "kept forever by default"
        );
        let bad = |t: &str| format!("{:#}", parse(t).unwrap_err());
        assert!(bad("[retention]\nconversations_days = 0\n").contains("at least 1"));
        assert!(
            bad("[retention]\nconversations_days = 9\naction = \"shred\"\n").contains("anonymize")
        );
        assert!(bad("[retention]\naction = \"delete\"\n").contains("conversations_days"));
    }

    #[test]
    fn sla_tables_and_site_teams() {
        let c = parse(
            "[sla]\nnext_response_minutes = { urgent = 10 }\nresolution_minutes = { low = 600 }\n\
             [sites.shop]\nname = \"Shop\"\nteam = \" Billing \"\n",
        )
        .unwrap();
        let sla = c.sla.as_ref().unwrap();
        assert_eq!(sla.next_response_minutes["urgent"], 10.0);
        assert_eq!(sla.resolution_minutes["low"], 600.0);
        assert_eq!(c.sites["shop"].team.as_deref(), Some("billing"));
        let bad = |t: &str| parse(t).unwrap_err().to_string();
        assert!(
            bad("[sla]\nresolution_minutes = { soon = 1 }\n").contains("sla.resolution_minutes")
        );
        assert!(bad("[sla]\nnext_response_minutes = { high = 0 }\n").contains("positive"));
    }

    #[test]
    fn webhooks_per_site_and_their_settings() {
        let c = parse(
            "[webhooks]\nretry_schedule_ms = [10, 20]\nallow_private_targets = true\n\
             [sites.shop]\nname = \"Shop\"\n[[sites.shop.webhooks]]\n\
             url = \"https://crm.example/in\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
             events = [\"csat.submitted\"]\n",
        )
        .unwrap();
        let w = &c.webhooks;
        assert!(w.allow_private_targets);
        assert_eq!(w.retry_schedule.len(), 2);
        assert_eq!(w.endpoints.len(), 1);
        assert_eq!(
            (w.endpoints[0].site.as_str(), w.endpoints[0].url.as_str()),
            ("shop", "https://crm.example/in")
        );
        assert!(
            !parse("").unwrap().webhooks.allow_private_targets,
            "refused by default"
        );
        let bad = |t: &str| format!("{:#}", parse(t).unwrap_err());
        assert!(
            bad(
                "[sites.x]\nname = \"X\"\n[[sites.x.webhooks]]\nurl = \"https://a.example\"\n\
                     secret = \"nope\"\nevents = [\"csat.submitted\"]\n"
            )
            .contains("sites.x.webhooks[0].secret")
        );
        assert!(bad("[webhooks]\nretry = 1\n").contains("retry"));
    }
}
