//! `frontdesk insights gaps`: the content team's lists (what customers searched for in the
//! widget and no article answered), read from the database directly, like `/api/reports/gaps`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use protocol::reports::{GapQuery, Gaps};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum InsightsCommand {
    /// Top searches, searches without a result, searches that ended with a human, articles
    /// answered "no" and articles no search showed. A query is listed only when at least
    /// `[insights] min_visitors` distinct visitors asked it.
    Gaps(GapsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Args)]
pub struct GapsArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// TOML config file (`[insights] min_visitors`, `[server] knowledge_base`)
    #[arg(long, env = "FRONTDESK_CONFIG")]
    config: Option<PathBuf>,
    /// The period: this long until now, like 30d, 12h or 90m.
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    since: i64,
    /// One site (default: every site).
    #[arg(long)]
    site: Option<String>,
    /// Folder of Markdown articles, for the articles never shown [default: the config's
    /// knowledge_base, else ./index if present]
    #[arg(long, env = "FRONTDESK_KB")]
    kb: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// `30d`, `12h`, `90m`, `45s`, `2w` as milliseconds; at most ten years.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration like 30d, 12h or 90m");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(bad()),
    };
    let ms = n.checked_mul(unit_ms).ok_or_else(bad)?;
    if n == 0 || ms > 3_650 * 86_400_000 {
        return Err(format!(
            "{text:?}: the period must be more than 0 and at most 3650d"
        ));
    }
    Ok(ms)
}

/// `YYYY-MM-DD` of a UTC day number (days since 1970-01-01).
fn date_of_day(days: i64) -> String {
    calendar::LocalDate::from_days(days).to_string()
}

pub async fn run(command: InsightsCommand) -> anyhow::Result<()> {
    let InsightsCommand::Gaps(args) = command;
    let file = match &args.config {
        Some(path) => crate::config::load(path)?,
        None => crate::config::FileConfig::default(),
    };
    if let Some(site) = &args.site
        && (site.is_empty() || site.len() > protocol::MAX_SITE_LEN)
    {
        bail!("--site takes a site key, not {site:?}");
    }
    let kb = args
        .kb
        .clone()
        .or(file.knowledge_base.clone())
        .or_else(|| Some(PathBuf::from("index")).filter(|p| p.is_dir()));
    let articles: Option<Vec<String>> = match &kb {
        Some(dir) if !dir.is_dir() => bail!("no knowledge base folder at {}", dir.display()),
        Some(dir) => Some(
            kb_content::load_dir(dir)
                .articles
                .into_iter()
                .map(|a| a.id)
                .collect(),
        ),
        None => None,
    };
    let since = crate::cli::now_millis() - args.since;
    let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
    let report = server::insights::gaps(
        &*store,
        articles.as_deref().unwrap_or_default(),
        since,
        args.site.as_deref(),
        file.insights.min_visitors,
    )
    .await;
    store.close().await;
    let report = report.context("cannot read the searches")?;
    match args.format {
        Format::Json => say!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print_text(&report, args.site.as_deref(), articles.is_some()),
    }
    Ok(())
}

fn print_text(report: &Gaps, site: Option<&str>, with_articles: bool) {
    say!(
        "Widget searches since {} (UTC), {}; queries asked by at least {} visitors",
        date_of_day(report.since.div_euclid(86_400_000)),
        site.map_or("every site".to_owned(), |s| format!("site {s}")),
        report.min_visitors
    );
    for (title, list, what) in [
        ("Top searches", &report.top_searches, "searches"),
        ("Searches with no result", &report.no_result, "no result"),
        (
            "Searches that ended with a human",
            &report.handed_off,
            "handoffs",
        ),
    ] {
        say!("");
        say!("{title}");
        print_queries(list, what);
    }
    say!("");
    say!("Articles answered \"no\"");
    if report.unhelpful_articles.is_empty() {
        say!("  (none)");
    }
    for a in &report.unhelpful_articles {
        say!("  {:>8}  {}", a.count, a.key);
    }
    say!("");
    say!("Articles no search showed");
    if !with_articles {
        say!("  (no knowledge base: pass --kb DIR)");
    } else if report.never_shown.is_empty() {
        say!("  (none)");
    }
    for id in &report.never_shown {
        say!("  {id}");
    }
}

fn print_queries(list: &[GapQuery], what: &str) {
    if list.is_empty() {
        say!("  (none)");
        return;
    }
    say!("  {what:>9}  {:>8}  lang  query", "visitors");
    for q in list {
        say!(
            "  {:>9}  {:>8}  {:<4}  {}",
            q.searches,
            q.visitors,
            q.language,
            q.query
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dates() {
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_duration("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_duration("90m"), Ok(90 * 60_000));
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-1d",
            "0d",
            "3651d",
            "99999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(20_000), "2024-10-04");
        assert_eq!(date_of_day(11_016), "2000-02-29");
    }
}
