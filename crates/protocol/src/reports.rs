//! The reports' wire types: what `/api/reports/*` answers and the console draws. The definitions
//! of the figures are in `docs/reports.md` and, as code, in the `insights` crate.

use crate::{ConversationId, Millis};
use serde::{Deserialize, Serialize};

/// Upper bounds (exclusive, in minutes) of the time histograms' buckets; the last bucket holds
/// everything longer.
pub const HISTOGRAM_MINUTES: [i64; 9] = [1, 5, 15, 30, 60, 120, 240, 480, 1440];

/// Distribution of a duration (business milliseconds) over conversations or replies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: u64,
    pub mean_ms: Option<i64>,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    /// `HISTOGRAM_MINUTES.len() + 1` counts.
    pub histogram: Vec<u64>,
}

/// SLA achievement of one clock at one priority: deadlines that came due in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaFigure {
    /// `first_response`, `next_response` or `resolution`.
    pub clock: String,
    pub priority: String,
    pub met: u64,
    pub breached: u64,
}

/// The widget's self-service funnel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Funnel {
    /// Settled searches in the widget (the question a customer stopped at).
    pub searched: u64,
    /// Of those, searches where an article was opened.
    pub read: u64,
    /// Articles answered "yes, it answered my question".
    pub answered: u64,
    /// Conversations handed off to a human from the widget.
    pub handed_off: u64,
}

/// Every figure of a period, under the filters asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Conversations created (handed off) in the period.
    pub conversations: u64,
    /// Handoff → first human reply, in business time.
    pub first_response: Durations,
    /// Customer's message → the agent's next reply (each time an agent answers a waiting
    /// customer after the first response), in business time.
    pub next_response: Durations,
    /// Handoff → first resolution, in business time.
    pub first_resolution: Durations,
    /// Handoff → last resolution, for conversations resolved now, in business time.
    pub full_resolution: Durations,
    /// Time spent in self-help (first keystroke in the search box → handoff), wall clock.
    pub self_help: Durations,
    /// Conversations of the period resolved at least once.
    pub resolved: u64,
    /// Of those, reopened at least once.
    pub reopened: u64,
    /// Resolved with fewer than 2 agent replies.
    pub one_touch: u64,
    /// Ratings 1..=5 (index 0 = score 1).
    pub csat: [u64; 5],
    /// Customer effort answers 1..=7 (index 0 = score 1).
    pub ces: [u64; 7],
    pub sla: Vec<SlaFigure>,
    pub funnel: Funnel,
}

impl Figures {
    /// CSAT: ratings 4–5 ÷ all ratings, in per mille; `None` without ratings.
    pub fn csat_per_mille(&self) -> Option<u64> {
        let all: u64 = self.csat.iter().sum();
        (all > 0).then(|| (self.csat[3] + self.csat[4]) * 1000 / all)
    }
}

/// One day of the period, in the report's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayFigure {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub created: u64,
    pub resolved: u64,
}

/// A report: the period's figures beside the previous period of the same length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub since: Millis,
    pub until: Millis,
    /// The IANA time zone days and hours are counted in.
    pub timezone: String,
    pub current: Figures,
    pub previous: Figures,
    pub days: Vec<DayFigure>,
    /// Conversations created per local weekday (Monday = 0) × hour.
    pub heatmap: Vec<[u64; 24]>,
}

/// A count with the conversations behind it (the first few, newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    pub key: String,
    pub count: u64,
}

/// The lists a support lead works from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lists {
    /// Topics (labels) of the period's conversations, most frequent first.
    pub top_topics: Vec<Counted>,
    /// The questions customers opened conversations with, grouped by their normalized text.
    pub top_questions: Vec<Counted>,
    /// The contacts with the most conversations (key = contact id, name in `names`).
    pub top_contacts: Vec<TopContact>,
    /// Open conversations by age: under 24 h, 24–48 h, older.
    pub aging: [u64; 3],
    /// The oldest open conversations, oldest first.
    pub oldest_open: Vec<ReportRow>,
    /// Open conversations by importance × urgency: [important & urgent, important,
    /// urgent, neither].
    pub matrix: [u64; 4],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopContact {
    pub contact_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub conversations: u64,
}

/// One conversation as a report row (drill-down and CSV export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub id: ConversationId,
    pub site: String,
    pub created_at: Millis,
    pub status: String,
    pub priority: String,
    pub team: Option<String>,
    pub assignee_id: Option<i64>,
    pub language: Option<String>,
    pub channel: String,
    pub labels: Vec<String>,
    pub contact_id: Option<i64>,
    pub first_response_ms: Option<i64>,
    pub first_resolution_ms: Option<i64>,
    pub full_resolution_ms: Option<i64>,
    pub agent_replies: u64,
    pub reopens: u64,
    pub rating: Option<u8>,
    pub ces: Option<u8>,
    pub sla_breaches: Vec<String>,
    pub preview: Option<String>,
}

/// What is open right now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    pub open: u64,
    pub unassigned: u64,
    /// Open conversations whose customer wrote last.
    pub waiting: u64,
    pub agents_online: u64,
}

/// The content team's lists of what customers searched for in the widget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gaps {
    pub since: Millis,
    /// Queries shown only when at least this many distinct visitors asked them.
    pub min_visitors: u64,
    pub top_searches: Vec<GapQuery>,
    pub no_result: Vec<GapQuery>,
    pub handed_off: Vec<GapQuery>,
    /// Articles answered "no, it did not answer my question".
    pub unhelpful_articles: Vec<Counted>,
    /// Articles of the knowledge base no search showed in the period.
    pub never_shown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapQuery {
    pub query: String,
    pub language: String,
    pub searches: u64,
    pub visitors: u64,
}
