//! Widget searches: the raw events, the daily rollups kept as they arrive (one upsert each,
//! the same statement on both backends), retention of the raw events, and the content team's
//! gaps lists read from the rollups. Also the two report figures a conversation gets from the
//! widget: the customer effort score and the self-help time.
//!
//! Erasing a contact (`privacy.rs`) does not touch these tables: they hold no personal data
//! (see the migration: the visitor key is a keyed hash of a token the database never holds).

use super::*;
use crate::QueryFigure;
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: Millis = 86_400_000;

/// The UTC day of `at`, in days since the epoch.
fn day_of(at: Millis) -> i64 {
    at.div_euclid(DAY_MS)
}

/// A query's sums over a period, by (language, query).
#[derive(Default)]
struct Sums {
    searches: i64,
    no_result: i64,
    handoffs: i64,
    visitors: i64,
}

impl SqlStore {
    pub(super) async fn record_search(&self, s: &SearchEvent<'_>) -> Result<()> {
        let day = day_of(s.at);
        let shown = serde_json::to_string(s.shown).expect("strings serialize");
        let helpful = s.helpful.map(i64::from);
        let mut tx = self.pool.begin().await?;
        sqlx::query(&q(
            "INSERT INTO search_events (site, language, query, visitor_key, results, shown, \
             opened, helpful, handoff, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(s.site)
        .bind(s.language)
        .bind(s.query)
        .bind(s.visitor_key)
        .bind(i64::from(s.results))
        .bind(&shown)
        .bind(s.opened)
        .bind(helpful)
        .bind(i64::from(s.handoff))
        .bind(s.at)
        .execute(&mut *tx)
        .await?;
        // The first report of this visitor for this query today counts toward `visitors`.
        let first = sqlx::query(&q(
            "INSERT INTO search_visitors (day, site, language, query, visitor_key) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        ))
        .bind(day)
        .bind(s.site)
        .bind(s.language)
        .bind(s.query)
        .bind(s.visitor_key)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        sqlx::query(&q(
            "INSERT INTO search_queries_daily (site, day, language, query, searches, visitors, \
             no_result, opened, helpful, unhelpful, handoffs) \
             VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (site, day, language, query) DO UPDATE SET \
             searches = search_queries_daily.searches + 1, \
             visitors = search_queries_daily.visitors + excluded.visitors, \
             no_result = search_queries_daily.no_result + excluded.no_result, \
             opened = search_queries_daily.opened + excluded.opened, \
             helpful = search_queries_daily.helpful + excluded.helpful, \
             unhelpful = search_queries_daily.unhelpful + excluded.unhelpful, \
             handoffs = search_queries_daily.handoffs + excluded.handoffs",
        ))
        .bind(s.site)
        .bind(day)
        .bind(s.language)
        .bind(s.query)
        .bind(i64::from(first))
        .bind(i64::from(s.results == 0))
        .bind(i64::from(s.opened.is_some()))
        .bind(i64::from(s.helpful == Some(true)))
        .bind(i64::from(s.helpful == Some(false)))
        .bind(i64::from(s.handoff))
        .execute(&mut *tx)
        .await?;
        // Each article once per report: shown, and the one opened with its answer.
        let mut articles: Vec<&str> = Vec::new();
        for id in s.shown.iter().map(String::as_str).chain(s.opened) {
            if !articles.contains(&id) {
                articles.push(id);
            }
        }
        for id in articles {
            let opened = s.opened == Some(id);
            sqlx::query(&q(
                "INSERT INTO search_articles_daily (site, day, article, shown, opened, helpful, \
                 unhelpful) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (site, day, article) DO UPDATE SET \
                 shown = search_articles_daily.shown + excluded.shown, \
                 opened = search_articles_daily.opened + excluded.opened, \
                 helpful = search_articles_daily.helpful + excluded.helpful, \
                 unhelpful = search_articles_daily.unhelpful + excluded.unhelpful",
            ))
            .bind(s.site)
            .bind(day)
            .bind(id)
            .bind(i64::from(s.shown.iter().any(|a| a == id)))
            .bind(i64::from(opened))
            .bind(i64::from(opened && s.helpful == Some(true)))
            .bind(i64::from(opened && s.helpful == Some(false)))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn expire_searches(&self, before: Millis) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let events = sqlx::query(&q("DELETE FROM search_events WHERE created_at < ?"))
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Whole days only: a day is either all there or gone, which `search_gaps` relies on.
        sqlx::query(&q("DELETE FROM search_visitors WHERE day < ?"))
            .bind(day_of(before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(events)
    }

    pub(super) async fn search_gaps(&self, g: &GapsQuery<'_>) -> Result<SearchGaps> {
        let since_day = day_of(g.since);
        let site_filter = "(?2 IS NULL OR site = ?2)";
        let mut sums: BTreeMap<(String, String), Sums> = BTreeMap::new();
        let rows = sqlx::query(&q(&format!(
            "SELECT language, query, CAST(sum(searches) AS BIGINT) AS searches, \
             CAST(sum(no_result) AS BIGINT) AS no_result, \
             CAST(sum(handoffs) AS BIGINT) AS handoffs \
             FROM search_queries_daily WHERE day >= ?1 AND {site_filter} GROUP BY language, query"
        )))
        .bind(since_day)
        .bind(g.site)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let sum = sums
                .entry((row.get("language"), row.get("query")))
                .or_default();
            sum.searches = row.get("searches");
            sum.no_result = row.get("no_result");
            sum.handoffs = row.get("handoffs");
        }
        // Distinct visitors: exact over the days whose visitor keys are still kept (tokens are
        // per site, so keys never collide across sites)…
        let exact = sqlx::query(&q(&format!(
            "SELECT language, query, count(DISTINCT visitor_key) AS visitors \
             FROM search_visitors WHERE day >= ?1 AND {site_filter} GROUP BY language, query"
        )))
        .bind(since_day)
        .bind(g.site)
        .fetch_all(&self.pool)
        .await?;
        // …plus the daily distinct counts of the days retention has already emptied (a day with
        // searches keeps at least one key until then).
        let summed = sqlx::query(&q(
            "SELECT d.language, d.query, CAST(sum(d.visitors) AS BIGINT) AS visitors \
             FROM search_queries_daily d WHERE d.day >= ?1 AND (?2 IS NULL OR d.site = ?2) \
             AND NOT EXISTS (SELECT 1 FROM search_visitors v WHERE v.day = d.day \
             AND v.site = d.site AND v.language = d.language AND v.query = d.query) \
             GROUP BY d.language, d.query",
        ))
        .bind(since_day)
        .bind(g.site)
        .fetch_all(&self.pool)
        .await?;
        for row in exact.iter().chain(&summed) {
            if let Some(sum) = sums.get_mut(&(row.get("language"), row.get("query"))) {
                sum.visitors += row.get::<i64, _>("visitors");
            }
        }
        let min_visitors = i64::try_from(g.min_visitors).unwrap_or(i64::MAX);
        let list = |count: fn(&Sums) -> i64| {
            let mut list: Vec<QueryFigure> = sums
                .iter()
                .filter(|(_, s)| s.visitors >= min_visitors && count(s) > 0)
                .map(|((language, query), s)| QueryFigure {
                    language: language.clone(),
                    query: query.clone(),
                    searches: count(s) as u64,
                    visitors: s.visitors as u64,
                })
                .collect();
            // By visitors first: one visitor repeating a query cannot lift it.
            list.sort_by(|a, b| {
                (b.visitors, b.searches)
                    .cmp(&(a.visitors, a.searches))
                    .then_with(|| (&a.query, &a.language).cmp(&(&b.query, &b.language)))
            });
            list.truncate(g.limit as usize);
            list
        };
        let top_searches = list(|s| s.searches);
        let no_result = list(|s| s.no_result);
        let handed_off = list(|s| s.handoffs);

        let rows = sqlx::query(&q(&format!(
            "SELECT article, CAST(sum(shown) AS BIGINT) AS shown, \
             CAST(sum(unhelpful) AS BIGINT) AS unhelpful \
             FROM search_articles_daily WHERE day >= ?1 AND {site_filter} GROUP BY article"
        )))
        .bind(since_day)
        .bind(g.site)
        .fetch_all(&self.pool)
        .await?;
        let mut shown_articles = BTreeSet::new();
        let mut unhelpful_articles = Vec::new();
        for row in &rows {
            let article: String = row.get("article");
            let unhelpful: i64 = row.get("unhelpful");
            if unhelpful > 0 {
                unhelpful_articles.push((article.clone(), unhelpful as u64));
            }
            if row.get::<i64, _>("shown") > 0 {
                shown_articles.insert(article);
            }
        }
        unhelpful_articles.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        unhelpful_articles.truncate(g.limit as usize);
        Ok(SearchGaps {
            top_searches,
            no_result,
            handed_off,
            unhelpful_articles,
            shown_articles,
        })
    }

    pub(super) async fn set_effort(&self, conversation_id: i64, score: u8) -> Result<()> {
        let r = sqlx::query(&q(
            "UPDATE conversations SET ces = ?, facts_rev = facts_rev + 1 WHERE id = ?",
        ))
        .bind(i64::from(score))
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
            });
        }
        Ok(())
    }

    pub(super) async fn search_funnel(
        &self,
        site: Option<&str>,
        since: Millis,
        until: Millis,
        raw: bool,
    ) -> Result<(u64, u64)> {
        let (searched, read): (i64, i64) = if raw {
            sqlx::query_as(&q(
                "SELECT count(*), coalesce(sum(CASE WHEN opened IS NOT NULL THEN 1 ELSE 0 END), 0) \
                 FROM search_events WHERE created_at >= ? AND created_at < ? \
                 AND (CAST(? AS TEXT) IS NULL OR site = ?)",
            ))
            .bind(since)
            .bind(until)
            .bind(site)
            .bind(site)
            .fetch_one(&self.pool)
            .await?
        } else {
            sqlx::query_as(&q("SELECT CAST(coalesce(sum(searches), 0) AS BIGINT), \
                 CAST(coalesce(sum(opened), 0) AS BIGINT) FROM search_queries_daily \
                 WHERE day >= ? AND day <= ? AND (CAST(? AS TEXT) IS NULL OR site = ?)"))
            .bind(day_of(since))
            .bind(day_of(until - 1))
            .bind(site)
            .bind(site)
            .fetch_one(&self.pool)
            .await?
        };
        Ok((searched.max(0) as u64, read.max(0) as u64))
    }
}
