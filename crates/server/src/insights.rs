//! Content gaps: what customers searched for in the widget and no article answered. The
//! visitor session records each settled search (`searched` frames) through the store, keyed
//! by a visitor key that nothing stored can link back to a visitor; a daily job (one node, by
//! lease) deletes the raw events past `[insights] raw_search_days`; `GET /api/reports/gaps`
//! (admins and leads) and `frontdesk insights gaps` read the lists.

use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use protocol::reports::{Counted, GapQuery, Gaps};
use std::time::Duration;
use store::{GapsQuery, Store};

/// `[insights]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insights {
    /// Raw search events older than this many days are deleted (the daily rollups stay).
    pub raw_search_days: u32,
    /// A query is listed only when at least this many distinct visitors asked it (k-anonymity).
    pub min_visitors: u64,
}

impl Default for Insights {
    fn default() -> Self {
        Insights {
            raw_search_days: 90,
            min_visitors: 3,
        }
    }
}

/// Longest list in a gaps report.
pub const GAPS_LIMIT: u32 = 50;
/// How often the node holding the lease deletes old raw search events.
const EXPIRY_EVERY: Duration = Duration::from_secs(24 * 3_600);

/// The key a visitor's searches are counted under: HMAC-SHA256 of the browser's token itself
/// under the deployment's secret, truncated to 128 bits. The database keeps only the token's
/// SHA-256, so neither it nor the secret alone links a search back to a visitor.
pub fn visitor_key(secret: &[u8], token: &str) -> [u8; 16] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"frontdesk search visitor\0");
    mac.update(token.as_bytes());
    let full = mac.finalize().into_bytes();
    full[..16].try_into().expect("32 bytes")
}

/// The lists since `since` for `site` (or every site), with the knowledge base's articles no
/// search showed (`articles`: every article id of the current knowledge base).
pub async fn gaps(
    store: &dyn Store,
    articles: &[String],
    since: i64,
    site: Option<&str>,
    min_visitors: u64,
) -> Result<Gaps, store::StoreError> {
    let found = store
        .search_gaps(&GapsQuery {
            since,
            site,
            min_visitors,
            limit: GAPS_LIMIT,
        })
        .await?;
    let queries = |list: Vec<store::QueryFigure>| {
        list.into_iter()
            .map(|f| GapQuery {
                query: f.query,
                language: f.language,
                searches: f.searches,
                visitors: f.visitors,
            })
            .collect()
    };
    let mut never_shown: Vec<String> = articles
        .iter()
        .filter(|a| !found.shown_articles.contains(*a))
        .cloned()
        .collect();
    never_shown.sort();
    Ok(Gaps {
        since,
        min_visitors,
        top_searches: queries(found.top_searches),
        no_result: queries(found.no_result),
        handed_off: queries(found.handed_off),
        unhelpful_articles: found
            .unhelpful_articles
            .into_iter()
            .map(|(key, count)| Counted { key, count })
            .collect(),
        never_shown,
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapsParams {
    /// Milliseconds since the epoch.
    since: i64,
    site: Option<String>,
}

/// `GET /api/reports/gaps?since=<ms>&site=<key>`: admins and leads.
pub async fn gaps_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<GapsParams>,
) -> Result<Json<Gaps>, AppError> {
    crate::reports::require_lead(&state, &headers).await?;
    if !(0..=now_millis()).contains(&params.since) {
        return Err(AppError::BadRequest(
            "since must be a moment in the past, in milliseconds since the epoch".into(),
        ));
    }
    if let Some(site) = &params.site
        && state.site(site).is_none()
    {
        return Err(AppError::NotFound(format!(
            "no site {site:?} on this server"
        )));
    }
    let report = gaps(
        &*state.store,
        &state.kb.article_ids(),
        params.since,
        params.site.as_deref(),
        state.settings.insights.min_visitors,
    )
    .await?;
    Ok(Json(report))
}

/// Deletes the raw search events past `[insights] raw_search_days` now; returns how many.
pub async fn expire_searches(state: &AppState) -> Result<u64, store::StoreError> {
    let days = i64::from(state.settings.insights.raw_search_days);
    state
        .store
        .expire_searches(now_millis() - days * 86_400_000)
        .await
}

/// The daily expiry of raw search events, on the node holding the `insights` lease.
pub fn start(state: AppState) {
    tokio::spawn(async move {
        // Not in the way of start-up.
        tokio::time::sleep(Duration::from_secs(30)).await;
        loop {
            let ttl = (EXPIRY_EVERY * 2).as_millis() as i64;
            if matches!(
                state.store.try_lease("insights", &state.node, ttl).await,
                Ok(true)
            ) {
                match expire_searches(&state).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "old search events deleted"),
                    Err(e) => tracing::error!(error = %e, "deleting old search events failed"),
                }
            }
            tokio::time::sleep(EXPIRY_EVERY).await;
        }
    });
}
