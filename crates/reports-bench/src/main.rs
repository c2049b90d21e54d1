//! `cargo xtask bench reports`: fills a database with 100,000 conversations and 1,000,000
//! messages spread over 90 days (labels, next responses, breaches, ratings), then times every
//! report the Reports page and the CLI ask for, over the last 30 days (and the 30 before, for
//! the comparison), through the same functions the server answers with. Prints the median of
//! 5 runs beside the budget (200 ms); never fails on a time.
//!
//! `reports-bench` runs on a temporary SQLite file; `reports-bench --database postgres://…` on
//! a new database it creates on that PostgreSQL server.

use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;

const CONVERSATIONS: i64 = 100_000;
const MESSAGES_PER: i64 = 10;
const DAY: i64 = 86_400_000;
const SPAN_DAYS: i64 = 90;
const BUDGET_MS: f64 = 200.0;

/// One statement per table, in the SQL both backends accept (a recursive counter).
fn fill_statements(now: i64) -> Vec<String> {
    let n = |max: i64| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {max})"
        )
    };
    let step = SPAN_DAYS * DAY / CONVERSATIONS;
    let start = now - SPAN_DAYS * DAY;
    vec![
        format!(
            "{} INSERT INTO visitors (id, token_hash, site, created_at) \
             SELECT i, 'bench-' || i, 'demo', {start} + i * {step} FROM n",
            n(CONVERSATIONS)
        ),
        format!(
            "{} INSERT INTO conversations (id, visitor_id, site, status, last_seq, preview, \
             locale, created_at, updated_at, priority, first_response_at, first_resolved_at, \
             resolved_at, reopens, agent_replies, rating, last_author, channel, team, \
             first_response_due) \
             SELECT i, i, 'demo', CASE WHEN i % 10 < 8 THEN 'resolved' ELSE 'open' END, {MESSAGES_PER}, \
             'Where is my order ' || (i % 50), \
             CASE i % 4 WHEN 0 THEN 'en' WHEN 1 THEN 'pt-BR' WHEN 2 THEN 'tr' ELSE 'ru' END, \
             {start} + i * {step}, {start} + i * {step} + 3600000, \
             CASE i % 7 WHEN 0 THEN 'high' WHEN 1 THEN 'urgent' ELSE 'normal' END, \
             {start} + i * {step} + (i * 7919 % 7200) * 1000, \
             CASE WHEN i % 10 < 8 THEN {start} + i * {step} + 3600000 END, \
             CASE WHEN i % 10 < 8 THEN {start} + i * {step} + 3600000 + (i % 3) * 60000 END, \
             CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END, {}, \
             CASE WHEN i % 3 = 0 THEN 1 + i % 5 END, \
             CASE WHEN i % 2 = 0 THEN 'visitor' ELSE 'agent' END, 'widget', \
             CASE WHEN i % 5 = 0 THEN 'billing' END, {start} + i * {step} + 1800000 FROM n",
            n(CONVERSATIONS),
            MESSAGES_PER / 2
        ),
        format!(
            "{} INSERT INTO messages (conversation_id, seq, client_id, author_kind, body, \
             created_at) \
             SELECT (i - 1) / {MESSAGES_PER} + 1, (i - 1) % {MESSAGES_PER} + 1, 'm' || i, \
             CASE WHEN i % 2 = 1 THEN 'visitor' ELSE 'agent' END, \
             'Hello, where is my order number ' || i || '? It should have arrived by now.', \
             {start} + ((i - 1) / {MESSAGES_PER} + 1) * {step} + ((i - 1) % {MESSAGES_PER}) * 60000 FROM n",
            n(CONVERSATIONS * MESSAGES_PER)
        ),
        format!(
            "{} INSERT INTO conversation_labels (conversation_id, label) \
             SELECT i, CASE i % 3 WHEN 0 THEN 'billing' WHEN 1 THEN 'shipping' ELSE 'returns' END \
             FROM n",
            n(CONVERSATIONS)
        ),
        format!(
            "{} INSERT INTO response_times (conversation_id, site, priority, from_at, at, due) \
             SELECT (i + 1) / 2, 'demo', CASE i % 7 WHEN 0 THEN 'high' ELSE 'normal' END, {start} + ((i + 1) / 2) * {step} + 600000, \
             {start} + ((i + 1) / 2) * {step} + 600000 + (i * 104729 % 3600) * 1000, \
             {start} + ((i + 1) / 2) * {step} + 600000 + 1800000 FROM n",
            n(CONVERSATIONS * 2)
        ),
        format!(
            "{} INSERT INTO sla_breaches (conversation_id, kind, due_at, breached_at) \
             SELECT i * 10, 'first_response', {start} + i * 10 * {step} + 1800000, \
             {start} + i * 10 * {step} + 1800001 FROM n",
            n(CONVERSATIONS / 10)
        ),
    ]
}

async fn time<T, F: std::future::Future<Output = T>>(mut run: impl FnMut() -> F) -> Duration {
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(run().await);
        times.push(t.elapsed());
    }
    times.sort();
    times[2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let database = args
        .iter()
        .position(|a| a == "--database")
        .and_then(|i| args.get(i + 1).cloned());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let dir = tempfile::tempdir()?;
    let filled = Instant::now();
    let (store, backend): (Arc<dyn Store>, &str) = match &database {
        Some(server_url) => {
            // A fresh database on that server.
            let url = &fresh_database(server_url).await?;
            let store = store::PgStore::connect(url).await?;
            let pool = sqlx::PgPool::connect(url).await?;
            for sql in fill_statements(now) {
                sqlx::query(&sql).execute(&pool).await?;
            }
            // The state autovacuum keeps a table in (a minute after a bulk insert): statistics
            // and the visibility map, which index-only scans need.
            sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
            pool.close().await;
            (Arc::new(store), "PostgreSQL")
        }
        None => {
            let path = dir.path().join("bench.db");
            let store = store::SqliteStore::open(&path).await?;
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await?;
            for sql in fill_statements(now) {
                sqlx::query(&sql).execute(&pool).await?;
            }
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
            (Arc::new(store), "SQLite")
        }
    };
    if std::env::var_os("REPORTS_BENCH_KEEP").is_some() {
        eprintln!("kept {}", dir.keep().display());
        return Ok(());
    }
    println!(
        "reports on {backend}: {CONVERSATIONS} conversations, {} messages over {SPAN_DAYS} days \
         (filled in {:.1} s); median of 5 runs, budget {BUDGET_MS:.0} ms each",
        CONVERSATIONS * MESSAGES_PER,
        filled.elapsed().as_secs_f64()
    );
    let settings = server::Settings::default();
    let scope = |drill: &str, tz: &str| {
        server::reports::Params {
            since: Some(now - 30 * DAY),
            until: Some(now),
            tz: Some(tz.into()),
            drill: Some(drill.into()),
            ..Default::default()
        }
        .scope(now)
        .expect("valid parameters")
    };
    let month = scope("created", "Europe/Lisbon");
    // The first read after a start finds no day in memory: every day comes from the database.
    let cold = Instant::now();
    let report = server::reports::build_report(&*store, &settings, &month)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cold = cold.elapsed();
    println!(
        "  (the last 30 days: {} conversations, {} next responses' median {:?} ms)",
        report.current.conversations,
        report.current.next_response.count,
        report.current.next_response.median_ms
    );
    let billing = server::reports::Params {
        since: Some(now - 30 * DAY),
        until: Some(now),
        label: Some("billing".into()),
        language: Some("pt".into()),
        ..Default::default()
    }
    .scope(now)
    .expect("valid parameters");
    // `--profile N [filtered]`: the month's figures (or the filtered ones) N times and
    // nothing else, for a profiler.
    if let Some(n) = args
        .iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1))
    {
        let n: u32 = n.parse()?;
        let scope = if args.iter().any(|a| a == "filtered") {
            &billing
        } else {
            &month
        };
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(
                server::reports::build_report(&*store, &settings, scope)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
        }
        println!(
            "  figures, 30 days + previous 30 ({}), {n} times: {:.1} ms each",
            if std::ptr::eq(scope, &billing) {
                "filtered"
            } else {
                "all"
            },
            started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
        );
        store.close().await;
        return Ok(());
    }
    let rating = scope("rating:1", "UTC");
    let mut rows = Vec::new();
    rows.push((
        "figures, 30 days + previous 30",
        time(|| server::reports::build_report(&*store, &settings, &month)).await,
    ));
    rows.push((
        "figures, filtered (label, language)",
        time(|| server::reports::build_report(&*store, &settings, &billing)).await,
    ));
    rows.push((
        "lists (topics, questions, contacts, aging)",
        time(|| server::reports::build_lists(&*store, &settings, &month, now)).await,
    ));
    rows.push((
        "drill-down (rating 1)",
        time(|| server::reports::drill_rows(&*store, &settings, &rating, now)).await,
    ));
    rows.push((
        "CSV of the month (one row each)",
        time(|| async {
            let rows = server::reports::drill_rows(&*store, &settings, &month, now)
                .await
                .map(|r| insights::csv(&r).len());
            rows.ok()
        })
        .await,
    ));
    rows.push(("live overview", time(|| store.live_counts()).await));
    // Where the figures' time goes.
    let filter = store::ReportFilter::default();
    rows.push((
        "  of which: facts of 30 days (store)",
        time(|| store.report_facts(&filter, now - 30 * DAY, now, false)).await,
    ));
    rows.push((
        "  of which: next responses of 30 days (store)",
        time(|| store.report_replies(&filter, now - 30 * DAY, now)).await,
    ));
    let facts = store
        .report_facts(&filter, now - 30 * DAY, now, false)
        .await?;
    let replies = store.report_replies(&filter, now - 30 * DAY, now).await?;
    let calendar = server::Calendar::default();
    let by_site = |_: &str| -> &dyn insights::Calendar { &calendar };
    let cals = insights::Calendars {
        by_site: &by_site,
        days: &calendar,
    };
    rows.push((
        "  of which: figures of 30 days (insights)",
        time(|| async {
            insights::figures(&facts, &replies, Default::default(), &cals).conversations
        })
        .await,
    ));
    println!(
        "  {:<44} {:>8.1} ms   (once per start: no day in memory yet)",
        "figures, 30 + 30 days, first read",
        cold.as_secs_f64() * 1000.0
    );
    for (name, took) in rows {
        let ms = took.as_secs_f64() * 1000.0;
        println!(
            "  {name:<44} {ms:>8.1} ms   budget {BUDGET_MS:.0} ms   {}",
            if ms <= BUDGET_MS { "ok" } else { "OVER" }
        );
    }
    store.close().await;
    Ok(())
}

/// Creates an empty database next to the one `url` names; returns its URL.
async fn fresh_database(url: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url).await?;
    let name = format!("fd_reports_bench_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let (base, _) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("a database URL ends with /name"))?;
    Ok(format!("{base}/{name}"))
}
