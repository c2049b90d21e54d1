//! `frontdesk report`: the Reports page's figures from the terminal, read from the database
//! directly (a server may be running): a text summary, the report as JSON, or the conversations
//! behind it as CSV (one row per conversation, filters applied).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

#[derive(Args)]
pub struct ReportArgs {
    #[arg(long, env = "FRONTDESK_DATA", default_value = "data")]
    data: PathBuf,
    /// PostgreSQL instead of SQLite in the data folder
    #[arg(long, env = "FRONTDESK_DATABASE")]
    database: Option<String>,
    /// The config file, for the sites' office hours (business time) and `[reports]`
    #[arg(long, env = "FRONTDESK_CONFIG")]
    config: Option<PathBuf>,
    /// How far back: `30d`, `12h`, `90m`, `2w`
    #[arg(long, default_value = "30d", value_parser = crate::insights_cmd::parse_duration)]
    since: i64,
    /// Days are counted in this IANA time zone (default UTC)
    #[arg(long)]
    tz: Option<String>,
    #[arg(long)]
    site: Option<String>,
    #[arg(long)]
    team: Option<String>,
    #[arg(long)]
    label: Option<String>,
    #[arg(long)]
    priority: Option<String>,
    #[arg(long)]
    language: Option<String>,
    /// Only the conversations behind one number (`unanswered`, `rating:1`, `day:2026-11-02`…)
    #[arg(long)]
    drill: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let now = crate::cli::now_millis();
    let since = now - args.since;
    let mut settings = server::Settings::default();
    if let Some(path) = &args.config {
        let file = crate::config::load(path)?;
        settings.sites = file.sites;
        if let Some(importance) = file.importance {
            settings.importance = importance;
        }
    }
    let params = server::reports::Params {
        since: Some(since),
        until: Some(now),
        tz: args.tz,
        site: args.site,
        team: args.team,
        label: args.label,
        priority: args.priority,
        language: args.language,
        drill: args.drill,
        ..Default::default()
    };
    let scope = params.scope(now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = crate::cli::open_store(&args.data, args.database.as_deref()).await?;
    let result = print(&*store, &settings, &scope, args.format, now).await;
    store.close().await;
    result
}

async fn print(
    store: &dyn store::Store,
    settings: &server::Settings,
    scope: &server::reports::Scope,
    format: Format,
    now: i64,
) -> anyhow::Result<()> {
    let fail = |e: server::AppError| anyhow::anyhow!("{e}");
    match format {
        Format::Csv => {
            let rows = server::reports::drill_rows(store, settings, scope, now)
                .await
                .map_err(fail)?;
            say!("{}", insights::csv(&rows).trim_end());
        }
        Format::Json => {
            let report = server::reports::build_report(store, settings, scope)
                .await
                .map_err(fail)?;
            let lists = server::reports::build_lists(store, settings, scope, now)
                .await
                .map_err(fail)?;
            let both = serde_json::json!({ "report": report, "lists": lists });
            say!("{}", serde_json::to_string_pretty(&both)?);
        }
        Format::Text => {
            let r = server::reports::build_report(store, settings, scope)
                .await
                .map_err(fail)?;
            for line in summary(&r) {
                say!("{line}");
            }
        }
    }
    Ok(())
}

fn minutes(ms: Option<i64>) -> String {
    match ms {
        None => "–".into(),
        Some(ms) if ms < 3_600_000 => format!("{} min", ms / 60_000),
        Some(ms) => format!("{} h {:02} min", ms / 3_600_000, ms / 60_000 % 60),
    }
}

fn ratio(part: u64, all: u64) -> String {
    if all == 0 {
        "–".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / all as f64)
    }
}

/// The report as lines of text, this period beside the previous one.
fn summary(r: &protocol::reports::Report) -> Vec<String> {
    let (c, p) = (&r.current, &r.previous);
    let csat = |f: &protocol::reports::Figures| {
        f.csat_per_mille()
            .map_or("–".into(), |m| format!("{:.1} %", m as f64 / 10.0))
    };
    let row =
        |name: &str, now: String, before: String| format!("{name:<28} {now:>14}   {before:>14}");
    vec![
        format!(
            "{} to {} ({})",
            insights::iso_utc(r.since),
            insights::iso_utc(r.until),
            r.timezone
        ),
        row("", "this period".into(), "previous".into()),
        row(
            "conversations",
            c.conversations.to_string(),
            p.conversations.to_string(),
        ),
        row(
            "first response, median",
            minutes(c.first_response.median_ms),
            minutes(p.first_response.median_ms),
        ),
        row(
            "first response, p90",
            minutes(c.first_response.p90_ms),
            minutes(p.first_response.p90_ms),
        ),
        row(
            "first response, mean",
            minutes(c.first_response.mean_ms),
            minutes(p.first_response.mean_ms),
        ),
        row(
            "next response, median",
            minutes(c.next_response.median_ms),
            minutes(p.next_response.median_ms),
        ),
        row(
            "first resolution, median",
            minutes(c.first_resolution.median_ms),
            minutes(p.first_resolution.median_ms),
        ),
        row(
            "full resolution, median",
            minutes(c.full_resolution.median_ms),
            minutes(p.full_resolution.median_ms),
        ),
        row("CSAT", csat(c), csat(p)),
        row(
            "one-touch resolution",
            ratio(c.one_touch, c.resolved),
            ratio(p.one_touch, p.resolved),
        ),
        row(
            "reopen rate",
            ratio(c.reopened, c.resolved),
            ratio(p.reopened, p.resolved),
        ),
        row(
            "self-service rate",
            ratio(c.funnel.answered, c.funnel.answered + c.funnel.handed_off),
            ratio(p.funnel.answered, p.funnel.answered + p.funnel.handed_off),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_like_people_write_them() {
        assert_eq!(minutes(Some(65 * 60_000)), "1 h 05 min");
        assert_eq!(ratio(1, 3), "33.3 %");
        assert_eq!(ratio(1, 0), "–");
    }
}
