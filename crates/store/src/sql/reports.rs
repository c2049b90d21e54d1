//! What reports read: the facts of the conversations created in a period (one indexed range
//! scan of `conversations`, plus their labels and SLA breaches), the next responses given in
//! it, the open conversations, and a few counts. Figures are computed from them by the pure
//! `insights` crate, so business hours are applied when reports are read.

use super::dialect::q;
use super::{Row, SqlStore};
use crate::{Importance, Millis, ReportFilter, Result};
use insights::{Fact, Reply};
use protocol::reports::TopContact;
use sqlx::Row as _;
use std::collections::HashMap;

/// The filter as SQL conditions on `c` (a `conversations` row), with its parameters in order.
fn conditions(filter: &ReportFilter) -> (String, Vec<Param>) {
    let mut sql = String::new();
    let mut params = Vec::new();
    let mut text = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            params.push(Param::Text(v.clone()));
        }
    };
    text("c.site", &filter.site);
    text("c.team", &filter.team);
    text("c.priority", &filter.priority);
    text("c.channel", &filter.channel);
    if let Some(agent) = filter.agent {
        sql.push_str(" AND c.assignee_id = ?");
        params.push(Param::Int(agent));
    }
    if let Some(label) = &filter.label {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM conversation_labels fl \
             WHERE fl.conversation_id = c.id AND fl.label = ?)",
        );
        params.push(Param::Text(label.clone()));
    }
    (sql, params)
}

#[derive(Clone)]
enum Param {
    Int(i64),
    Text(String),
}

macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for p in $params {
            query = match p {
                Param::Int(v) => query.bind(*v),
                Param::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }};
}

const FACT_COLUMNS: &str = "c.id, c.site, c.created_at, c.status, c.priority, c.team, \
     c.assignee_id, c.locale, c.channel, c.contact_id, c.first_response_at, c.first_resolved_at, \
     c.resolved_at, c.reopens, c.agent_replies, c.rating, c.ces, c.self_help_ms, \
     c.first_response_due, c.resolution_from, c.last_author, c.preview";

fn fact_from_row(row: &Row) -> Fact {
    let small = |name: &str| {
        row.get::<Option<i64>, _>(name)
            .and_then(|v| u8::try_from(v).ok())
    };
    Fact {
        id: row.get("id"),
        site: row.get("site"),
        created_at: row.get("created_at"),
        open: row.get::<String, _>("status") == "open",
        priority: row.get("priority"),
        team: row.get("team"),
        assignee_id: row.get("assignee_id"),
        locale: row.get("locale"),
        channel: row.get("channel"),
        labels: Vec::new(),
        contact_id: row.get("contact_id"),
        first_response_at: row.get("first_response_at"),
        first_resolved_at: row.get("first_resolved_at"),
        resolved_at: row.get("resolved_at"),
        reopens: row.get::<i64, _>("reopens").max(0) as u64,
        agent_replies: row.get::<i64, _>("agent_replies").max(0) as u64,
        rating: small("rating"),
        ces: small("ces"),
        self_help_ms: row.get("self_help_ms"),
        first_response_due: row.get("first_response_due"),
        resolution_from: row.get("resolution_from"),
        breaches: Vec::new(),
        waiting: row.get::<Option<String>, _>("last_author").as_deref() == Some("visitor"),
        important: false,
        preview: row.get("preview"),
    }
}

impl SqlStore {
    /// The facts of conversations matching `scope` (conditions on `c` and their parameters),
    /// with their labels and breaches.
    async fn facts_where(&self, scope: &str, params: &[Param]) -> Result<Vec<Fact>> {
        let sql = format!("SELECT {FACT_COLUMNS} FROM conversations c WHERE {scope} ORDER BY c.id");
        let sql = q(&sql).into_owned();
        let rows = bind_all!(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        let mut facts: Vec<Fact> = rows.iter().map(fact_from_row).collect();
        if facts.is_empty() {
            return Ok(facts);
        }
        let index: HashMap<i64, usize> = facts.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
        let sql = format!(
            "SELECT l.conversation_id, l.label FROM conversation_labels l \
             JOIN conversations c ON c.id = l.conversation_id WHERE {scope} ORDER BY l.label"
        );
        let sql = q(&sql).into_owned();
        let labels: Vec<(i64, String)> = bind_all!(sqlx::query_as(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        for (id, label) in labels {
            if let Some(&i) = index.get(&id) {
                facts[i].labels.push(label);
            }
        }
        let sql = format!(
            "SELECT b.conversation_id, b.kind FROM sla_breaches b \
             JOIN conversations c ON c.id = b.conversation_id WHERE {scope} ORDER BY b.id"
        );
        let sql = q(&sql).into_owned();
        let breaches: Vec<(i64, String)> = bind_all!(sqlx::query_as(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        for (id, kind) in breaches {
            if let Some(&i) = index.get(&id) {
                facts[i].breaches.push(kind);
            }
        }
        Ok(facts)
    }

    pub(super) async fn report_facts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Fact>> {
        let (extra, mut params) = conditions(filter);
        let mut all = vec![Param::Int(since), Param::Int(until)];
        all.append(&mut params);
        self.facts_where(
            &format!("c.created_at >= ? AND c.created_at < ?{extra}"),
            &all,
        )
        .await
    }

    pub(super) async fn report_replies(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Reply>> {
        let (extra, params) = conditions(filter);
        let sql = format!(
            "SELECT r.conversation_id, c.site, c.priority, r.from_at, r.at, r.due \
             FROM response_times r JOIN conversations c ON c.id = r.conversation_id \
             WHERE r.at >= ? AND r.at < ?{extra} ORDER BY r.id"
        );
        let sql = q(&sql).into_owned();
        let query = sqlx::query_as::<_, (i64, String, String, i64, i64, Option<i64>)>(&sql)
            .bind(since)
            .bind(until);
        let rows = bind_all!(query, &params).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(
                |(conversation_id, site, priority, from_at, at, due)| Reply {
                    conversation_id,
                    site,
                    priority,
                    from_at,
                    at,
                    due,
                },
            )
            .collect())
    }

    /// Every open conversation matching the filter, oldest first, with whether its contact is
    /// important.
    pub(super) async fn open_facts(
        &self,
        filter: &ReportFilter,
        importance: &Importance,
    ) -> Result<Vec<Fact>> {
        let (extra, params) = conditions(filter);
        let mut facts = self
            .facts_where(&format!("c.status = 'open'{extra}"), &params)
            .await?;
        facts.sort_by_key(|f| (f.created_at, f.id));
        let mut contacts: Vec<i64> = facts.iter().filter_map(|f| f.contact_id).collect();
        contacts.sort_unstable();
        contacts.dedup();
        let mut important: HashMap<i64, bool> = HashMap::new();
        for chunk in contacts.chunks(500) {
            let sql = format!(
                "SELECT id, account_manager_id, attributes FROM contacts WHERE id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let sql = q(&sql).into_owned();
            let mut query = sqlx::query_as::<_, (i64, Option<i64>, String)>(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for (id, manager, attributes) in query.fetch_all(&self.pool).await? {
                important.insert(id, manager.is_some() || importance.matches(&attributes));
            }
        }
        for f in &mut facts {
            f.important = f
                .contact_id
                .and_then(|c| important.get(&c).copied())
                .unwrap_or(false);
        }
        Ok(facts)
    }

    /// The first message of each conversation created in the period, when the customer wrote
    /// it (what they opened the conversation with).
    pub(super) async fn report_openers(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<(i64, String)>> {
        let (extra, params) = conditions(filter);
        let sql = format!(
            "SELECT c.id, m.body FROM conversations c \
             JOIN messages m ON m.conversation_id = c.id AND m.seq = 1 \
             WHERE m.author_kind = 'visitor' AND c.created_at >= ? AND c.created_at < ?{extra}"
        );
        let sql = q(&sql).into_owned();
        let query = sqlx::query_as::<_, (i64, String)>(&sql)
            .bind(since)
            .bind(until);
        Ok(bind_all!(query, &params).fetch_all(&self.pool).await?)
    }

    pub(super) async fn top_contacts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        limit: u32,
    ) -> Result<Vec<TopContact>> {
        let (extra, params) = conditions(filter);
        let sql = format!(
            "SELECT t.contact_id, k.name, k.email, t.n FROM \
             (SELECT c.contact_id, count(*) AS n FROM conversations c \
              WHERE c.contact_id IS NOT NULL AND c.created_at >= ? AND c.created_at < ?{extra} \
              GROUP BY c.contact_id) t \
             JOIN contacts k ON k.id = t.contact_id ORDER BY t.n DESC, t.contact_id LIMIT ?"
        );
        let sql = q(&sql).into_owned();
        let query = sqlx::query_as::<_, (i64, Option<String>, Option<String>, i64)>(&sql)
            .bind(since)
            .bind(until);
        let rows = bind_all!(query, &params)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(contact_id, name, email, n)| TopContact {
                contact_id,
                name,
                email,
                conversations: n.max(0) as u64,
            })
            .collect())
    }

    /// "Yes, it answered" answers given in the widget in the period.
    pub(super) async fn deflections_between(
        &self,
        site: Option<&str>,
        since: Millis,
        until: Millis,
    ) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&q(
            "SELECT count(*) FROM deflections WHERE created_at >= ? AND created_at < ? \
             AND (CAST(? AS TEXT) IS NULL OR site = ?)",
        ))
        .bind(since)
        .bind(until)
        .bind(site)
        .bind(site)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// (open, unassigned, waiting for an agent) right now.
    pub(super) async fn live_counts(&self) -> Result<(u64, u64, u64)> {
        let (open, unassigned, waiting): (i64, i64, i64) = sqlx::query_as(&q("SELECT count(*), \
             coalesce(sum(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0), \
             coalesce(sum(CASE WHEN last_author = 'visitor' THEN 1 ELSE 0 END), 0) \
             FROM conversations WHERE status = 'open'"))
        .fetch_one(&self.pool)
        .await?;
        Ok((open as u64, unassigned as u64, waiting as u64))
    }

    pub(super) async fn set_lead(&self, agent_id: i64, lead: bool) -> Result<()> {
        let r = sqlx::query(&q("UPDATE agents SET is_lead = ? WHERE id = ?"))
            .bind(i64::from(lead))
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }
}
