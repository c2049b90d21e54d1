//! The Reports API for admins and leads: figures of a period beside the previous one, the
//! lists a support lead works from, what is open right now, and the conversations behind any
//! number (JSON, or CSV with one row per conversation). Facts come from the store's indexed
//! columns; figures are computed by `insights` with each site's calendar, so business hours
//! apply as configured now.

use crate::auth::require_agent;
use crate::{AppError, AppState, Settings, now_millis};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use calendar::{Calendar, Zone};
use insights::{Calendars, Fact};
use protocol::Millis;
use protocol::reports::{Counted, Figures, Lists, Live, Report, ReportRow};
use serde::Deserialize;
use std::collections::HashMap;
use store::{ReportFilter, Store};

const DAY: Millis = 24 * 3_600_000;
/// The longest period a report covers.
const MAX_DAYS: i64 = 400;
/// Rows a drill-down answers with at most (the CSV has them all).
const MAX_ROWS: u32 = 500;
const MAX_FILTER_CHARS: usize = 100;

/// Query parameters shared by every report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub tz: Option<String>,
    pub site: Option<String>,
    pub team: Option<String>,
    pub agent: Option<i64>,
    pub label: Option<String>,
    pub priority: Option<String>,
    pub language: Option<String>,
    pub channel: Option<String>,
    pub drill: Option<String>,
    pub limit: Option<u32>,
}

/// A validated report request.
pub struct Scope {
    pub since: Millis,
    pub until: Millis,
    pub zone: Zone,
    pub filter: ReportFilter,
    pub drill: String,
    pub limit: u32,
}

impl Params {
    pub fn scope(self, now: Millis) -> Result<Scope, AppError> {
        let bad = |m: String| AppError::BadRequest(m);
        // Checked before any arithmetic on them (an extreme value must not overflow).
        let plausible = |t: Option<Millis>| t.is_none_or(|t| (0..=now + 366 * DAY).contains(&t));
        if !plausible(self.since) || !plausible(self.until) {
            return Err(bad("since and until are milliseconds since 1970".into()));
        }
        let until = self.until.unwrap_or(now);
        let since = self.since.unwrap_or(until - 30 * DAY);
        if since >= until {
            return Err(bad("since must be before until".into()));
        }
        if until - since > MAX_DAYS * DAY {
            return Err(bad(format!("a report covers at most {MAX_DAYS} days")));
        }
        if since < 0 || until > now + 366 * DAY {
            return Err(bad("since and until are milliseconds since 1970".into()));
        }
        let zone = match self.tz.as_deref().map(str::trim) {
            None | Some("") => Zone::utc(),
            Some(name) => Zone::named(name).map_err(|e| bad(format!("tz: {e}")))?,
        };
        let text = |name: &str, v: Option<String>| -> Result<Option<String>, AppError> {
            match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
                Some(s) if s.chars().count() > MAX_FILTER_CHARS => Err(bad(format!(
                    "{name} is longer than {MAX_FILTER_CHARS} characters"
                ))),
                other => Ok(other),
            }
        };
        let priority = text("priority", self.priority)?;
        if let Some(p) = &priority
            && !["low", "normal", "high", "urgent"].contains(&p.as_str())
        {
            return Err(bad("priority must be low, normal, high or urgent".into()));
        }
        let label = text("label", self.label)?
            .map(|l| protocol::normalize_label(&l).ok_or_else(|| bad("invalid label".into())))
            .transpose()?;
        let team = text("team", self.team)?
            .map(|l| protocol::normalize_label(&l).ok_or_else(|| bad("invalid team".into())))
            .transpose()?;
        let language = text("language", self.language)?
            .map(|l| {
                protocol::primary_language(&l)
                    .ok_or_else(|| bad(format!("{l:?} is not a language tag like en or pt-BR")))
            })
            .transpose()?;
        Ok(Scope {
            since,
            until,
            zone,
            filter: ReportFilter {
                site: text("site", self.site)?,
                team,
                agent: self.agent,
                label,
                priority,
                channel: text("channel", self.channel)?,
                language,
            },
            drill: match text("drill", self.drill)? {
                None => "created".into(),
                Some(d) if insights::DRILL_KEYS.contains(&d.split(':').next().unwrap_or("")) => d,
                Some(d) => return Err(bad(format!("{d:?} is not a drill-down key"))),
            },
            limit: self.limit.unwrap_or(MAX_ROWS).clamp(1, MAX_ROWS),
        })
    }
}

/// Admins and leads see reports.
pub(crate) async fn require_lead(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<store::Agent, AppError> {
    let agent = require_agent(state, headers).await?;
    if !agent.admin && !agent.lead {
        return Err(AppError::Forbidden(
            "reports are for admins and leads".into(),
        ));
    }
    Ok(agent)
}

/// Each site's business calendar (its office hours, else always open), and the days' zone.
pub struct Cals {
    sites: HashMap<String, Calendar>,
    always: Calendar,
    days: Calendar,
}

impl Cals {
    pub fn new(settings: &Settings, zone: Zone) -> Cals {
        let sites = settings
            .sites
            .iter()
            .filter_map(|(k, s)| Some((k.clone(), s.office_hours.clone()?)))
            .collect();
        Cals {
            sites,
            always: Calendar::always_open(Zone::utc()),
            days: Calendar::always_open(zone),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&Calendars) -> T) -> T {
        let by_site = |site: &str| -> &dyn insights::Calendar {
            self.sites.get(site).unwrap_or(&self.always)
        };
        f(&Calendars {
            by_site: &by_site,
            days: &self.days,
        })
    }
}

/// Reads the last two months' facts and next responses once, in the background, so that the
/// first report after a start finds their days in the store's memory
/// (`store/src/sql/report_cache.rs`) instead of reading them all.
pub(crate) fn warm(state: AppState) {
    tokio::spawn(async move {
        let now = now_millis();
        let since = now - 62 * DAY;
        let filter = store::ReportFilter::default();
        let warmed = tokio::try_join!(
            state.store.report_facts(&filter, since, now, false),
            state.store.report_replies(&filter, since, now),
        );
        if let Err(e) = warmed {
            tracing::warn!(error = %e, "could not read the reports' recent days at start");
        }
    });
}

/// The facts and figures of one period.
async fn period(
    store: &dyn Store,
    settings: &Settings,
    scope: &Scope,
    cals: &Cals,
    since: Millis,
    until: Millis,
) -> Result<(Vec<Fact>, Figures), AppError> {
    // Searches are counted from the raw events while they are kept (exact), else from the
    // daily rollups (whole UTC days).
    let kept_since = now_millis() - i64::from(settings.insights.raw_search_days) * DAY;
    let site = scope.filter.site.as_deref();
    let (facts, replies, answered, (searched, read)) = tokio::try_join!(
        store.report_facts(&scope.filter, since, until, false),
        store.report_replies(&scope.filter, since, until),
        store.deflections_between(site, since, until),
        store.search_funnel(site, since, until, since >= kept_since),
    )?;
    let funnel = protocol::reports::Funnel {
        searched,
        read,
        answered,
        handed_off: 0,
    };
    let figures = cals.with(|c| insights::figures(&facts, &replies, funnel, c));
    Ok((facts, figures))
}

/// `GET /api/reports`: the period's figures beside the previous period of the same length.
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Json<Report>, AppError> {
    require_lead(&state, &headers).await?;
    let scope = params.scope(now_millis())?;
    Ok(Json(
        build_report(&*state.store, &state.settings, &scope).await?,
    ))
}

pub async fn build_report(
    store: &dyn Store,
    settings: &Settings,
    scope: &Scope,
) -> Result<Report, AppError> {
    let cals = Cals::new(settings, scope.zone.clone());
    let length = scope.until - scope.since;
    let ((facts, current), (_, previous)) = tokio::try_join!(
        period(store, settings, scope, &cals, scope.since, scope.until),
        period(
            store,
            settings,
            scope,
            &cals,
            scope.since - length,
            scope.since
        ),
    )?;
    let (days, heatmap) = cals.with(|c| {
        (
            insights::per_day(&facts, scope.since, scope.until, c.days),
            insights::heatmap(&facts, c.days),
        )
    });
    Ok(Report {
        since: scope.since,
        until: scope.until,
        timezone: scope.zone.name().to_owned(),
        current,
        previous,
        days,
        heatmap,
    })
}

/// `GET /api/reports/lists`.
pub async fn lists(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Json<Lists>, AppError> {
    require_lead(&state, &headers).await?;
    let scope = params.scope(now_millis())?;
    Ok(Json(
        build_lists(&*state.store, &state.settings, &scope, now_millis()).await?,
    ))
}

pub async fn build_lists(
    store: &dyn Store,
    settings: &Settings,
    scope: &Scope,
    now: Millis,
) -> Result<Lists, AppError> {
    let (topics, openers, top_contacts, open) = tokio::try_join!(
        store.report_topics(&scope.filter, scope.since, scope.until, 20),
        store.report_openers(&scope.filter, scope.since, scope.until),
        store.top_contacts(&scope.filter, scope.since, scope.until, 20),
        store.open_facts(&scope.filter, &settings.importance, false),
    )?;
    let mut questions: HashMap<String, u64> = HashMap::new();
    for (_, body) in &openers {
        if let Some(key) = insights::question_key(body) {
            *questions.entry(key).or_default() += 1;
        }
    }
    let mut aging = [0u64; 3];
    let mut matrix = [0u64; 4];
    for f in &open {
        aging[insights::age_bucket(now - f.created_at)] += 1;
        matrix[insights::matrix_cell(f.important, insights::is_urgent(f))] += 1;
    }
    // The oldest twenty, with their labels and previews.
    let oldest: Vec<i64> = open.iter().take(20).map(|f| f.id).collect();
    let mut detailed = store.report_facts_of(&oldest).await?;
    detailed.sort_by_key(|f| (f.created_at, f.id));
    let cals = Cals::new(settings, scope.zone.clone());
    let oldest_open = cals.with(|c| {
        detailed
            .iter()
            .map(|f| insights::row(f, (c.by_site)(&f.site)))
            .collect()
    });
    Ok(Lists {
        top_topics: topics
            .into_iter()
            .map(|(key, count)| Counted { key, count })
            .collect(),
        top_questions: ranked(questions, 20),
        top_contacts,
        aging,
        oldest_open,
        matrix,
    })
}

/// Most frequent first (ties by key), at most `n`.
fn ranked(counts: HashMap<String, u64>, n: usize) -> Vec<Counted> {
    let mut out: Vec<Counted> = counts
        .into_iter()
        .map(|(key, count)| Counted { key, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out.truncate(n);
    out
}

/// `GET /api/reports/live`.
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Live>, AppError> {
    require_lead(&state, &headers).await?;
    let (open, unassigned, waiting) = state.store.live_counts().await?;
    Ok(Json(Live {
        open,
        unassigned,
        waiting,
        agents_online: state.presence.online_count(),
    }))
}

/// The conversations behind a drill-down key, newest first.
pub async fn drill_rows(
    store: &dyn Store,
    settings: &Settings,
    scope: &Scope,
    now: Millis,
) -> Result<Vec<ReportRow>, AppError> {
    let drill = scope.drill.as_str();
    // Open-conversation drills cover every open conversation, not the period's.
    let open_drill = matches!(drill.split(':').next(), Some("open" | "aging" | "matrix"));
    let facts = if open_drill {
        store
            .open_facts(&scope.filter, &settings.importance, true)
            .await?
    } else {
        store
            .report_facts(&scope.filter, scope.since, scope.until, true)
            .await?
    };
    let cals = Cals::new(settings, scope.zone.clone());
    let mut rows: Vec<ReportRow> = cals.with(|c| {
        facts
            .iter()
            .filter(|f| insights::drills(drill, f, c, now))
            .map(|f| insights::row(f, (c.by_site)(&f.site)))
            .collect()
    });
    rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(rows)
}

/// `GET /api/reports/conversations`: the conversations behind a number.
pub async fn conversations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Json<Vec<ReportRow>>, AppError> {
    require_lead(&state, &headers).await?;
    let now = now_millis();
    let scope = params.scope(now)?;
    let mut rows = drill_rows(&*state.store, &state.settings, &scope, now).await?;
    rows.truncate(scope.limit as usize);
    Ok(Json(rows))
}

/// `GET /api/reports/conversations.csv`: the same rows, all of them, one per conversation.
pub async fn conversations_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Response, AppError> {
    require_lead(&state, &headers).await?;
    let now = now_millis();
    let scope = params.scope(now)?;
    let rows = drill_rows(&*state.store, &state.settings, &scope, now).await?;
    let body = insights::csv(&rows);
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"frontdesk-conversations.csv\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
