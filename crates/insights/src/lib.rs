//! The reports' definitions, as code: each figure of `docs/reports.md` is one function here,
//! computed from the facts the store keeps (one row per conversation, one per next response)
//! and a calendar for business time. Pure: no IO, no clock; tested on fixtures.

use protocol::Millis;
use protocol::reports::{DayFigure, Durations, Figures, HISTOGRAM_MINUTES, ReportRow, SlaFigure};
use std::collections::BTreeMap;

mod calendar;
pub use calendar::{Calendar, Utc};

/// One conversation as reports see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fact {
    pub id: i64,
    pub site: String,
    /// The handoff: the customer asked for a human (the conversation's creation).
    pub created_at: Millis,
    pub open: bool,
    pub priority: String,
    pub team: Option<String>,
    pub assignee_id: Option<i64>,
    pub locale: Option<String>,
    pub channel: String,
    pub labels: Vec<String>,
    pub contact_id: Option<i64>,
    /// The first human reply.
    pub first_response_at: Option<Millis>,
    pub first_resolved_at: Option<Millis>,
    /// The latest resolution (set while resolved).
    pub resolved_at: Option<Millis>,
    pub reopens: u64,
    pub agent_replies: u64,
    pub rating: Option<u8>,
    pub ces: Option<u8>,
    pub self_help_ms: Option<i64>,
    /// The first-response deadline, when an SLA applied.
    pub first_response_due: Option<Millis>,
    /// When the resolution clock started, when an SLA applied.
    pub resolution_from: Option<Millis>,
    /// SLA clocks breached (`first_response`, `next_response`, `resolution`), once per deadline.
    pub breaches: Vec<String>,
    /// The customer wrote last.
    pub waiting: bool,
    /// The contact matters more than most: it has an account manager, or the site's importance
    /// attribute has one of the important values (see `[reports]`).
    pub important: bool,
    pub preview: Option<String>,
}

/// One next response: the customer waited from `from_at` until an agent answered at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub site: String,
    pub priority: String,
    pub from_at: Millis,
    pub at: Millis,
    pub due: Option<Millis>,
}

/// The widget's self-service counts of a period (from the search rollups and deflections).
pub use protocol::reports::Funnel;

/// The primary language of a locale (`pt-BR` → `pt`).
pub fn language(locale: Option<&str>) -> Option<String> {
    let tag = locale?
        .split(['-', '_'])
        .next()?
        .trim()
        .to_ascii_lowercase();
    (!tag.is_empty()).then_some(tag)
}

/// Handoff → first human reply, in the site's business time. The self-help phase before the
/// handoff is never part of it (it is [`self_help_ms`]).
pub fn first_response_ms(f: &Fact, cal: &dyn Calendar) -> Option<i64> {
    Some(cal.business_ms(f.created_at, f.first_response_at?))
}

/// Handoff → first resolution, in business time.
pub fn first_resolution_ms(f: &Fact, cal: &dyn Calendar) -> Option<i64> {
    Some(cal.business_ms(f.created_at, f.first_resolved_at?))
}

/// Handoff → the latest resolution, for conversations resolved now, in business time.
pub fn full_resolution_ms(f: &Fact, cal: &dyn Calendar) -> Option<i64> {
    if f.open {
        return None;
    }
    Some(cal.business_ms(f.created_at, f.resolved_at?))
}

/// A customer's wait for the agent's next reply, in business time.
pub fn next_response_ms(r: &Reply, cal: &dyn Calendar) -> i64 {
    cal.business_ms(r.from_at, r.at)
}

/// Time the customer spent searching the knowledge base before asking for a human (wall clock:
/// self-help has no office hours).
pub fn self_help_ms(f: &Fact) -> Option<i64> {
    f.self_help_ms.filter(|ms| *ms >= 0)
}

/// Resolved at least once.
pub fn was_resolved(f: &Fact) -> bool {
    f.first_resolved_at.is_some()
}

/// Reopened after a resolution.
pub fn was_reopened(f: &Fact) -> bool {
    was_resolved(f) && f.reopens > 0
}

/// One-touch resolution: resolved now, never reopened, with fewer than 2 agent replies.
pub fn is_one_touch(f: &Fact) -> bool {
    !f.open && was_resolved(f) && f.reopens == 0 && f.agent_replies < 2
}

/// The first-response SLA of a conversation: `Some(true)` met, `Some(false)` breached, `None`
/// when no deadline applied or it is still running.
pub fn first_response_sla(f: &Fact) -> Option<bool> {
    let due = f.first_response_due?;
    if f.breaches.iter().any(|b| b == "first_response") {
        return Some(false);
    }
    let at = f.first_response_at?;
    Some(at <= due)
}

/// The resolution SLA: breached when its breach was recorded; met when resolved without one.
pub fn resolution_sla(f: &Fact) -> Option<bool> {
    f.resolution_from?;
    if f.breaches.iter().any(|b| b == "resolution") {
        return Some(false);
    }
    (!f.open && f.resolved_at.is_some()).then_some(true)
}

/// A next response against its deadline: `None` when none applied.
pub fn next_response_sla(r: &Reply) -> Option<bool> {
    Some(r.at <= r.due?)
}

/// The histogram bucket of a duration (see `HISTOGRAM_MINUTES`).
pub fn bucket(ms: i64) -> usize {
    HISTOGRAM_MINUTES
        .iter()
        .position(|&m| ms < m * 60_000)
        .unwrap_or(HISTOGRAM_MINUTES.len())
}

/// Mean, median, p90 (nearest rank) and histogram of durations.
pub fn durations(mut values: Vec<i64>) -> Durations {
    values.sort_unstable();
    let n = values.len();
    let mut histogram = vec![0u64; HISTOGRAM_MINUTES.len() + 1];
    for v in &values {
        histogram[bucket(*v)] += 1;
    }
    let rank = |p: usize| values[((n * p).div_ceil(100)).max(1) - 1];
    Durations {
        count: n as u64,
        mean_ms: (n > 0)
            .then(|| (values.iter().map(|v| *v as i128).sum::<i128>() / n as i128) as i64),
        median_ms: (n > 0).then(|| rank(50)),
        p90_ms: (n > 0).then(|| rank(90)),
        histogram,
    }
}

/// Business calendars per site, and the calendar days are counted in.
pub struct Calendars<'a> {
    pub by_site: &'a dyn Fn(&str) -> &'a dyn Calendar,
    pub days: &'a dyn Calendar,
}

/// Every figure of a set of conversations (created in the period) and of the next responses
/// given in the period. `funnel` comes from the widget's counts.
pub fn figures(facts: &[Fact], replies: &[Reply], funnel: Funnel, cals: &Calendars) -> Figures {
    let cal = |f: &Fact| (cals.by_site)(&f.site);
    let collect =
        |g: &dyn Fn(&Fact) -> Option<i64>| durations(facts.iter().filter_map(g).collect());
    let mut csat = [0u64; 5];
    let mut ces = [0u64; 7];
    for f in facts {
        if let Some(r) = f.rating.filter(|r| (1..=5).contains(r)) {
            csat[usize::from(r) - 1] += 1;
        }
        if let Some(c) = f.ces.filter(|c| (1..=7).contains(c)) {
            ces[usize::from(c) - 1] += 1;
        }
    }
    let mut sla: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    let mut count = |clock: &'static str, priority: &str, met: Option<bool>| {
        if let Some(met) = met {
            let e = sla.entry((clock, priority_key(priority))).or_default();
            if met {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    };
    for f in facts {
        count("first_response", &f.priority, first_response_sla(f));
        count("resolution", &f.priority, resolution_sla(f));
    }
    for r in replies {
        count("next_response", &r.priority, next_response_sla(r));
    }
    let handed_off = facts.iter().filter(|f| f.channel == "widget").count() as u64;
    Figures {
        conversations: facts.len() as u64,
        first_response: collect(&|f| first_response_ms(f, cal(f))),
        next_response: durations(
            replies
                .iter()
                .map(|r| next_response_ms(r, (cals.by_site)(&r.site)))
                .collect(),
        ),
        first_resolution: collect(&|f| first_resolution_ms(f, cal(f))),
        full_resolution: collect(&|f| full_resolution_ms(f, cal(f))),
        self_help: collect(&self_help_ms),
        resolved: facts.iter().filter(|f| was_resolved(f)).count() as u64,
        reopened: facts.iter().filter(|f| was_reopened(f)).count() as u64,
        one_touch: facts.iter().filter(|f| is_one_touch(f)).count() as u64,
        csat,
        ces,
        sla: sla
            .into_iter()
            .map(|((clock, priority), (met, breached))| SlaFigure {
                clock: clock.to_owned(),
                priority: priority.to_owned(),
                met,
                breached,
            })
            .collect(),
        funnel: Funnel {
            handed_off,
            ..funnel
        },
    }
}

/// Priorities in a fixed vocabulary (anything else is `normal`), so figures group cleanly.
fn priority_key(p: &str) -> &'static str {
    match p {
        "low" => "low",
        "high" => "high",
        "urgent" => "urgent",
        _ => "normal",
    }
}

/// Created and resolved per local day over `[since, until)`, every day listed (zeros too).
pub fn per_day(facts: &[Fact], since: Millis, until: Millis, cal: &dyn Calendar) -> Vec<DayFigure> {
    let mut days: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut at = since;
    // Every local day the period touches, even without conversations.
    while at < until {
        days.entry(cal.local_date(at)).or_default();
        at = cal.next_local_day(at);
    }
    for f in facts {
        if (since..until).contains(&f.created_at) {
            days.entry(cal.local_date(f.created_at)).or_default().0 += 1;
        }
        if let Some(r) = f
            .resolved_at
            .filter(|r| !f.open && (since..until).contains(r))
        {
            days.entry(cal.local_date(r)).or_default().1 += 1;
        }
    }
    days.into_iter()
        .map(|(date, (created, resolved))| DayFigure {
            date,
            created,
            resolved,
        })
        .collect()
}

/// Conversations created per local weekday (Monday = 0) × hour.
pub fn heatmap(facts: &[Fact], cal: &dyn Calendar) -> Vec<[u64; 24]> {
    let mut out = vec![[0u64; 24]; 7];
    for f in facts {
        let (weekday, hour) = cal.weekday_hour(f.created_at);
        out[weekday % 7][hour % 24] += 1;
    }
    out
}

/// The drill-down keys [`drills`] knows (the part before any `:`).
pub const DRILL_KEYS: [&str; 25] = [
    "created",
    "unanswered",
    "first_response",
    "first_resolution",
    "full_resolution",
    "self_help",
    "first_response_breached",
    "first_response_met",
    "resolution_breached",
    "resolution_met",
    "resolved",
    "reopened",
    "one_touch",
    "rated",
    "rating",
    "ces",
    "handed_off",
    "day",
    "heat",
    "frt",
    "label",
    "contact",
    "open",
    "aging",
    "matrix",
];

/// Whether a fact is behind a drill-down key (see the Reports API), for the list and the CSV.
pub fn drills(key: &str, f: &Fact, cals: &Calendars, now: Millis) -> bool {
    drill(key, f, cals, now).unwrap_or(false)
}

/// [`drills`], or `None` for a key it does not know.
fn drill(key: &str, f: &Fact, cals: &Calendars, now: Millis) -> Option<bool> {
    let cal = (cals.by_site)(&f.site);
    let (name, arg) = key.split_once(':').unwrap_or((key, ""));
    Some(match name {
        "created" => true,
        "unanswered" => f.first_response_at.is_none(),
        // The conversations behind a duration's count, mean, median and p90.
        "first_response" => first_response_ms(f, cal).is_some(),
        "first_resolution" => first_resolution_ms(f, cal).is_some(),
        "full_resolution" => full_resolution_ms(f, cal).is_some(),
        "self_help" => self_help_ms(f).is_some(),
        "first_response_breached" => first_response_sla(f) == Some(false),
        "first_response_met" => first_response_sla(f) == Some(true),
        "resolution_breached" => resolution_sla(f) == Some(false),
        "resolution_met" => resolution_sla(f) == Some(true),
        "rated" => f.rating.is_some_and(|r| (1..=5).contains(&r)),
        "handed_off" => f.channel == "widget",
        "resolved" => was_resolved(f),
        "reopened" => was_reopened(f),
        "one_touch" => is_one_touch(f),
        "rating" => arg.parse::<u8>().ok() == f.rating,
        "ces" => arg.parse::<u8>().ok() == f.ces,
        "day" => cals.days.local_date(f.created_at) == arg,
        "heat" => arg
            .split_once(':')
            .and_then(|(w, h)| Some((w.parse::<usize>().ok()?, h.parse::<usize>().ok()?)))
            .is_some_and(|wh| cals.days.weekday_hour(f.created_at) == wh),
        "frt" => first_response_ms(f, cal)
            .is_some_and(|ms| arg.parse::<usize>().ok() == Some(bucket(ms))),
        "label" => f.labels.iter().any(|l| l == arg),
        "contact" => arg
            .parse::<i64>()
            .ok()
            .is_some_and(|c| f.contact_id == Some(c)),
        "open" => f.open,
        "aging" => f.open && arg.parse::<usize>().ok() == Some(age_bucket(now - f.created_at)),
        "matrix" => {
            f.open && arg.parse::<usize>().ok() == Some(matrix_cell(f.important, is_urgent(f)))
        }
        _ => return None,
    })
}

/// Open conversations by age: 0 = under 24 h, 1 = 24–48 h, 2 = older.
pub fn age_bucket(age_ms: i64) -> usize {
    const HOUR: i64 = 3_600_000;
    if age_ms < 24 * HOUR {
        0
    } else if age_ms < 48 * HOUR {
        1
    } else {
        2
    }
}

/// Urgent: a high or urgent priority, or an SLA breached (the customer already waits too long).
pub fn is_urgent(f: &Fact) -> bool {
    matches!(f.priority.as_str(), "high" | "urgent") || !f.breaches.is_empty()
}

/// The importance × urgency cell of an open conversation: 0 important and urgent,
/// 1 important, 2 urgent, 3 neither.
pub fn matrix_cell(important: bool, urgent: bool) -> usize {
    match (important, urgent) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// The text a question is grouped by: lowercase, spaces collapsed, trailing punctuation
/// dropped, at most 80 characters.
pub fn question_key(text: &str) -> Option<String> {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let joined = words.join(" ");
    let trimmed =
        joined.trim_end_matches(|c: char| c.is_ascii_punctuation() || c == '¿' || c == '？');
    let key: String = trimmed.chars().take(80).collect();
    (!key.is_empty()).then_some(key)
}

/// A conversation as a report row.
pub fn row(f: &Fact, cal: &dyn Calendar) -> ReportRow {
    ReportRow {
        id: f.id,
        site: f.site.clone(),
        created_at: f.created_at,
        status: if f.open { "open" } else { "resolved" }.to_owned(),
        priority: f.priority.clone(),
        team: f.team.clone(),
        assignee_id: f.assignee_id,
        language: language(f.locale.as_deref()),
        channel: f.channel.clone(),
        labels: f.labels.clone(),
        contact_id: f.contact_id,
        first_response_ms: first_response_ms(f, cal),
        first_resolution_ms: first_resolution_ms(f, cal),
        full_resolution_ms: full_resolution_ms(f, cal),
        agent_replies: f.agent_replies,
        reopens: f.reopens,
        rating: f.rating,
        ces: f.ces,
        sla_breaches: f.breaches.clone(),
        preview: f.preview.clone(),
    }
}

/// The CSV of report rows: a header, then one line per conversation (RFC 4180 quoting; cells
/// that a spreadsheet would run as a formula are prefixed with `'`).
pub fn csv(rows: &[ReportRow]) -> String {
    let mut out = String::from(
        "id,site,created_at,status,priority,team,assignee_id,language,channel,labels,contact_id,\
         first_response_seconds,first_resolution_seconds,full_resolution_seconds,agent_replies,\
         reopens,rating,ces,sla_breaches,preview\r\n",
    );
    let secs = |ms: Option<i64>| ms.map(|m| (m / 1000).to_string()).unwrap_or_default();
    let num = |n: Option<i64>| n.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let cells = [
            r.id.to_string(),
            r.site.clone(),
            iso_utc(r.created_at),
            r.status.clone(),
            r.priority.clone(),
            r.team.clone().unwrap_or_default(),
            num(r.assignee_id),
            r.language.clone().unwrap_or_default(),
            r.channel.clone(),
            r.labels.join(";"),
            num(r.contact_id),
            secs(r.first_response_ms),
            secs(r.first_resolution_ms),
            secs(r.full_resolution_ms),
            r.agent_replies.to_string(),
            r.reopens.to_string(),
            num(r.rating.map(i64::from)),
            num(r.ces.map(i64::from)),
            r.sla_breaches.join(";"),
            r.preview.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err()
    {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso_utc(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let (date, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        ::calendar::LocalDate::from_days(date),
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests;
