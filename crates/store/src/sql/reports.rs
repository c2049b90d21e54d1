//! What reports read: the facts of the conversations created in a period (one indexed range
//! scan of `conversations`, plus their labels and SLA breaches), the next responses given in
//! it, the open conversations, and a few counts. Figures are computed from them by the pure
//! `insights` crate, so business hours are applied when reports are read.

use super::SqlStore;
use super::dialect::q;
use super::report_cache;
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
    if let Some(language) = &filter.language {
        let language = language.to_lowercase();
        sql.push_str(" AND (lower(c.locale) = ? OR lower(c.locale) LIKE ?)");
        params.push(Param::Text(language.clone()));
        params.push(Param::Text(format!("{language}-%")));
    }
    if let Some(agent) = filter.agent {
        sql.push_str(" AND c.assignee_id = ?");
        params.push(Param::Int(agent));
    }
    if let Some(label) = &filter.label {
        // A set built once from the label's index, not a lookup per conversation.
        sql.push_str(" AND c.id IN (SELECT fl.conversation_id FROM conversation_labels fl WHERE fl.label = ?)");
        params.push(Param::Text(label.clone()));
    }
    (sql, params)
}

#[derive(Clone)]
pub(super) enum Param {
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

/// Rows are fetched packed into one string per statement (fields joined by U+001F, rows by
/// U+001E, which no stored text of these columns contains: site keys, labels, teams, locales
/// and the fixed vocabularies refuse control characters; previews have them replaced):
/// through sqlx each row costs a message between threads and a decode per column (~10 µs on
/// SQLite), so 33,000 conversations took 380 ms as rows.
const FIELD: char = '\u{1f}';
const RECORD: char = '\u{1e}';

/// `string_agg` of the expressions as text, one record per row: `format` (SQLite's printf and
/// PostgreSQL's format alike; `%s` writes NULL as nothing) builds each record in one call.
fn packed(expressions: &[&str]) -> String {
    let pattern = vec!["%s"; expressions.len()].join(&FIELD.to_string());
    format!(
        "string_agg(format('{pattern}', {}), '{RECORD}')",
        expressions.join(", ")
    )
}

/// The records of a packed answer, each split into its fields.
fn unpack(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.split(RECORD)
        .filter(|r| !r.is_empty())
        .map(|r| r.split(FIELD).collect())
}

/// What facts carry besides their fields.
#[derive(Clone, Copy)]
pub(super) struct Detail {
    pub labels: bool,
    pub previews: bool,
}

impl Detail {
    fn all(on: bool) -> Self {
        Detail {
            labels: on,
            previews: on,
        }
    }
}

fn int(field: &str) -> Option<i64> {
    field.parse().ok()
}

fn text(field: &str) -> Option<String> {
    (!field.is_empty()).then(|| field.to_owned())
}

/// The facts' low-cardinality text columns, by which a statement groups its rows: each
/// group's values travel once instead of once per conversation.
const FACT_KEYS: [&str; 7] = [
    "c.site",
    "c.status",
    "c.priority",
    "c.team",
    "c.locale",
    "c.channel",
    "c.last_author",
];

/// The facts' per-conversation fields; times are relative to `created_at` (shorter to write
/// and to read).
const FACT_FIELDS: [&str; 15] = [
    "c.id",
    "c.created_at",
    "c.assignee_id",
    "c.contact_id",
    "c.first_response_at - c.created_at",
    "c.first_resolved_at - c.created_at",
    "c.resolved_at - c.created_at",
    "c.reopens",
    "c.agent_replies",
    "c.rating",
    "c.ces",
    "c.self_help_ms",
    "c.first_response_due - c.created_at",
    "c.resolution_from - c.created_at",
    // The clocks breached: see `dialect::BREACHES_INLINE`.
    BREACHES,
];

/// The clocks a conversation breached, by an index lookup per conversation.
const BREACHES: &str = "(SELECT string_agg(b.kind, ',' ORDER BY b.id) FROM sla_breaches b \
     WHERE b.conversation_id = c.id)";

/// One group of a grouped answer: its key columns and its packed rows.
struct Group {
    keys: Vec<Option<String>>,
    packed: String,
}

/// The most key columns a grouped answer has.
const MAX_KEYS: usize = 8;

/// A record's key columns (an empty text is no value).
type Keys<'a> = [Option<&'a str>; MAX_KEYS];

/// Every record of a grouped answer with `n` keys: its keys (its group's, or its own first
/// fields when the answer was not grouped) and its other fields.
fn records(groups: &[Group], n: usize) -> impl Iterator<Item = (Keys<'_>, Vec<&str>)> {
    groups.iter().flat_map(move |g| {
        unpack(&g.packed).map(move |mut f| {
            let mut keys: Keys = [None; MAX_KEYS];
            if g.keys.is_empty() {
                let n = n.min(f.len());
                for (k, v) in keys.iter_mut().zip(f.drain(..n)) {
                    *k = Some(v).filter(|v| !v.is_empty());
                }
            } else {
                for (k, v) in keys.iter_mut().zip(&g.keys) {
                    *k = v.as_deref().filter(|v| !v.is_empty());
                }
            }
            (keys, f)
        })
    })
}

fn fact_from_fields(keys: &Keys, f: &[&str]) -> Option<Fact> {
    if f.len() != FACT_FIELDS.len() {
        return None;
    }
    let small = |i: usize| int(f[i]).and_then(|v| u8::try_from(v).ok());
    let created_at = int(f[1])?;
    let at = |i: usize| int(f[i]).map(|d| created_at + d);
    let key = |i: usize| keys[i].map(str::to_owned);
    Some(Fact {
        id: int(f[0])?,
        site: key(0).unwrap_or_default(),
        created_at,
        open: keys[1] == Some("open"),
        priority: key(2).unwrap_or_default(),
        team: key(3),
        assignee_id: int(f[2]),
        locale: key(4),
        channel: key(5).unwrap_or_default(),
        labels: Vec::new(),
        contact_id: int(f[3]),
        first_response_at: at(4),
        first_resolved_at: at(5),
        resolved_at: at(6),
        reopens: int(f[7]).unwrap_or(0).max(0) as u64,
        agent_replies: int(f[8]).unwrap_or(0).max(0) as u64,
        rating: small(9),
        ces: small(10),
        self_help_ms: int(f[11]),
        first_response_due: at(12),
        resolution_from: at(13),
        breaches: f[14]
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        waiting: keys[6] == Some("visitor"),
        important: false,
        preview: None,
    })
}

impl SqlStore {
    /// One packed answer (see [`FIELD`]).
    async fn packed_answer(&self, sql: &str, params: &[Param]) -> Result<String> {
        let sql = q(sql).into_owned();
        let text: Option<String> = bind_all!(sqlx::query_scalar(&sql), params)
            .fetch_one(&self.pool)
            .await?;
        Ok(text.unwrap_or_default())
    }

    /// A packed answer grouped by `keys` (text columns with few distinct values) where the
    /// dialect packs by group (`dialect::PACK_BY_GROUP`): `SELECT keys, packed(fields) FROM …
    /// GROUP BY keys`; elsewhere one group with no keys whose records start with the keys.
    /// Read it with [`records`].
    async fn grouped_answer(
        &self,
        keys: &[&str],
        fields: &[&str],
        from_where: &str,
        params: &[Param],
    ) -> Result<Vec<Group>> {
        if !super::dialect::PACK_BY_GROUP {
            let all: Vec<&str> = keys.iter().chain(fields).copied().collect();
            let sql = format!("SELECT {} FROM {from_where}", packed(&all));
            let packed = self.packed_answer(&sql, params).await?;
            return Ok(vec![Group {
                keys: Vec::new(),
                packed,
            }]);
        }
        let positions: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
        let sql = format!(
            "SELECT {}, {} FROM {from_where} GROUP BY {}",
            keys.join(", "),
            packed(fields),
            positions.join(", ")
        );
        let sql = q(&sql).into_owned();
        let rows = bind_all!(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        let n = keys.len();
        rows.iter()
            .map(|row| {
                let keys = (0..n)
                    .map(|i| row.try_get::<Option<String>, _>(i))
                    .collect::<std::result::Result<_, _>>()?;
                let packed: Option<String> = row.try_get(n)?;
                Ok(Group {
                    keys,
                    packed: packed.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The facts of conversations matching `scope` (conditions on `c` and their parameters),
    /// with the clocks they breached, and their labels and previews as `detail` says, by id.
    pub(super) async fn facts_where(
        &self,
        scope: &str,
        params: &[Param],
        detail: Detail,
    ) -> Result<Vec<Fact>> {
        let preview = format!("replace(replace(c.preview, '{FIELD}', ' '), '{RECORD}', ' ')");
        let mut fields = FACT_FIELDS;
        if !super::dialect::BREACHES_INLINE {
            fields[14] = "''";
        }
        let from_where = format!("conversations c WHERE {scope}");
        let sql_breaches = format!(
            "SELECT {} FROM sla_breaches b \
             JOIN conversations c ON c.id = b.conversation_id WHERE {scope}",
            packed(&["b.conversation_id", "b.kind", "b.id"])
        );
        let sql_labels = format!(
            "SELECT {} FROM conversation_labels l \
             JOIN conversations c ON c.id = l.conversation_id WHERE {scope}",
            packed(&["l.conversation_id", "l.label"])
        );
        let sql_previews = format!(
            "SELECT {} FROM conversations c WHERE {scope}",
            packed(&["c.id", &preview])
        );
        let optional = |sql: String, wanted: bool| async move {
            if wanted {
                self.packed_answer(&sql, params).await
            } else {
                Ok(String::new())
            }
        };
        let separate_breaches = async {
            if super::dialect::BREACHES_INLINE {
                Ok(String::new())
            } else {
                self.packed_answer(&sql_breaches, params).await
            }
        };
        let (facts, labels, previews, breaches) = tokio::try_join!(
            self.grouped_answer(&FACT_KEYS, &fields, &from_where, params),
            optional(sql_labels, detail.labels),
            optional(sql_previews, detail.previews),
            separate_breaches,
        )?;
        let mut facts: Vec<Fact> = records(&facts, FACT_KEYS.len())
            .filter_map(|(keys, f)| fact_from_fields(&keys, &f))
            .collect();
        facts.sort_unstable_by_key(|f| f.id);
        let at = |id: &str| {
            let id = int(id)?;
            facts.binary_search_by_key(&id, |f| f.id).ok()
        };
        let mut labels: Vec<(usize, &str)> = unpack(&labels)
            .filter_map(|f| Some((at(f.first()?)?, *f.get(1)?)))
            .collect();
        labels.sort_unstable();
        let mut breaches: Vec<(usize, i64, &str)> = unpack(&breaches)
            .filter_map(|f| Some((at(f.first()?)?, int(f.get(2)?)?, *f.get(1)?)))
            .collect();
        breaches.sort_unstable();
        let previews: Vec<(usize, &str)> = unpack(&previews)
            .filter_map(|f| Some((at(f.first()?)?, *f.get(1)?)))
            .collect();
        for (i, label) in labels {
            facts[i].labels.push(label.to_owned());
        }
        for (i, _, kind) in breaches {
            facts[i].breaches.push(kind.to_owned());
        }
        for (i, preview) in previews {
            facts[i].preview = text(preview);
        }
        Ok(facts)
    }

    /// The facts of the conversations created in `[since, until)` that pass the filter, by id:
    /// whole days from memory when their stamps match (`report_cache.rs`), the partial days at
    /// either end from the database.
    pub(super) async fn report_facts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        details: bool,
    ) -> Result<Vec<Fact>> {
        let Some((first, end)) = report_cache::whole_days(since, until) else {
            let mut facts = self.live_facts(filter, since, until, details).await?;
            for f in &mut facts {
                f.waiting = false;
            }
            return Ok(facts);
        };
        let (before, mut days, after) = tokio::try_join!(
            self.live_facts(filter, since, first, details),
            self.cached_facts(filter, first, end, details),
            self.live_facts(filter, end, until, details),
        )?;
        days.extend(before);
        days.extend(after);
        days.sort_unstable_by_key(|f| f.id);
        // Who wrote last changes with every message and is no report's business over a
        // period (the open conversations' lists read it live): not kept with the days.
        for f in &mut days {
            f.waiting = false;
        }
        Ok(days)
    }

    /// The facts of `[since, until)` read from the database.
    async fn live_facts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        details: bool,
    ) -> Result<Vec<Fact>> {
        if since >= until {
            return Ok(Vec::new());
        }
        let (extra, mut params) = conditions(filter);
        let mut all = vec![Param::Int(since), Param::Int(until)];
        all.append(&mut params);
        self.facts_where(
            &format!("c.created_at >= ? AND c.created_at < ?{extra}"),
            &all,
            Detail::all(details),
        )
        .await
    }

    /// The previews of the conversations created in `[since, until)`, set on `facts` (by id).
    pub(super) async fn attach_previews(
        &self,
        facts: &mut [Fact],
        since: Millis,
        until: Millis,
    ) -> Result<()> {
        let preview = format!("replace(replace(c.preview, '{FIELD}', ' '), '{RECORD}', ' ')");
        let sql = format!(
            "SELECT {} FROM conversations c WHERE c.created_at >= ? AND c.created_at < ?",
            packed(&["c.id", &preview])
        );
        let packed = self
            .packed_answer(&sql, &[Param::Int(since), Param::Int(until)])
            .await?;
        for f in unpack(&packed) {
            let (Some(id), Some(preview)) = (f.first().and_then(|i| int(i)), f.get(1)) else {
                continue;
            };
            if let Ok(i) = facts.binary_search_by_key(&id, |f| f.id) {
                facts[i].preview = text(preview);
            }
        }
        Ok(())
    }

    /// The next responses given in `[since, until)` under the filter, by start: whole days
    /// from memory (`report_cache.rs`), the partial days at either end from the database. The
    /// rows carry their site and priority; the other conditions are the conversations', asked
    /// of the database once for the range of conversations the responses belong to.
    pub(super) async fn report_replies(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Reply>> {
        let mut rows = match report_cache::whole_days(since, until) {
            None => self.replies_where(since, until).await?,
            Some((first, end)) => {
                let (before, mut days, after) = tokio::try_join!(
                    self.replies_where(since, first),
                    self.cached_replies(first, end),
                    self.replies_where(end, until),
                )?;
                days.extend(before);
                days.extend(after);
                days
            }
        };
        rows.retain(|(_, r)| {
            filter.site.as_deref().is_none_or(|s| r.site == s)
                && filter.priority.as_deref().is_none_or(|p| r.priority == p)
        });
        if !report_cache::replies_carry(filter) && !rows.is_empty() {
            let mut ids: Vec<i64> = rows.iter().map(|(c, _)| *c).collect();
            ids.sort_unstable();
            ids.dedup();
            let (mut matching, unknown) = self.sort_by_facts(filter, &ids, until).await?;
            matching.extend(self.matching_conversations(filter, &unknown).await?);
            matching.sort_unstable();
            rows.retain(|(c, _)| matching.binary_search(c).is_ok());
        }
        let mut replies: Vec<Reply> = rows.into_iter().map(|(_, r)| r).collect();
        replies.sort_unstable_by_key(|r| (r.from_at, r.at));
        Ok(replies)
    }

    /// Which of `ids` (sorted) are conversations passing the filter's conditions on the
    /// conversation (not its site and priority: a next response's own decide those), asked of
    /// the database: by id when they are few, else over the range they span.
    async fn matching_conversations(&self, filter: &ReportFilter, ids: &[i64]) -> Result<Vec<i64>> {
        let (Some(&low), Some(&high)) = (ids.first(), ids.last()) else {
            return Ok(Vec::new());
        };
        let (extra, params) = conditions(&ReportFilter {
            site: None,
            priority: None,
            ..filter.clone()
        });
        let mut found = Vec::new();
        let ranges: Vec<Vec<Param>> = if ids.len() <= 2_000 {
            ids.chunks(500)
                .map(|c| c.iter().map(|id| Param::Int(*id)).collect())
                .collect()
        } else {
            vec![vec![Param::Int(low), Param::Int(high)]]
        };
        for mut all in ranges {
            let which = if ids.len() <= 2_000 {
                format!("c.id IN ({})", vec!["?"; all.len()].join(", "))
            } else {
                "c.id >= ? AND c.id <= ?".to_owned()
            };
            all.extend(params.iter().cloned());
            let sql = format!(
                "SELECT {} FROM conversations c WHERE {which}{extra}",
                packed(&["c.id"])
            );
            let packed = self.packed_answer(&sql, &all).await?;
            found.extend(unpack(&packed).filter_map(|f| int(f.first()?)));
        }
        found.retain(|id| ids.binary_search(id).is_ok());
        Ok(found)
    }

    /// Every next response given in `[since, until)`, with its conversation, from the database.
    pub(super) async fn replies_where(
        &self,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<(i64, Reply)>> {
        if since >= until {
            return Ok(Vec::new());
        }
        // Grouped by site and priority; the response and its due time relative to the wait's
        // start.
        let groups = self
            .grouped_answer(
                &["r.site", "r.priority"],
                &[
                    "r.conversation_id",
                    "r.from_at",
                    "r.at - r.from_at",
                    "r.due - r.from_at",
                ],
                "response_times r WHERE r.at >= ? AND r.at < ?",
                &[Param::Int(since), Param::Int(until)],
            )
            .await?;
        let replies = records(&groups, 2)
            .filter_map(|(keys, f)| {
                let [conversation_id, from_at, waited, due] = f[..] else {
                    return None;
                };
                let from_at = int(from_at)?;
                let reply = Reply {
                    site: keys[0].unwrap_or_default().to_owned(),
                    priority: keys[1].unwrap_or_default().to_owned(),
                    from_at,
                    at: from_at + int(waited)?,
                    due: int(due).map(|d| from_at + d),
                };
                Some((int(conversation_id)?, reply))
            })
            .collect();
        Ok(replies)
    }

    /// Every open conversation matching the filter, oldest first, with whether its contact is
    /// important.
    pub(super) async fn open_facts(
        &self,
        filter: &ReportFilter,
        importance: &Importance,
        details: bool,
    ) -> Result<Vec<Fact>> {
        let (extra, params) = conditions(filter);
        let mut facts = self
            .facts_where(
                &format!("c.status = 'open'{extra}"),
                &params,
                Detail::all(details),
            )
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

    pub(super) async fn report_facts_of(&self, ids: &[i64]) -> Result<Vec<Fact>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let params: Vec<Param> = chunk.iter().map(|id| Param::Int(*id)).collect();
            out.extend(
                self.facts_where(&format!("c.id IN ({marks})"), &params, Detail::all(true))
                    .await?,
            );
        }
        Ok(out)
    }

    pub(super) async fn report_topics(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        limit: u32,
    ) -> Result<Vec<(String, u64)>> {
        let (extra, params) = conditions(filter);
        let sql = format!(
            "SELECT l.label, count(*) FROM conversation_labels l \
             JOIN conversations c ON c.id = l.conversation_id \
             WHERE c.created_at >= ? AND c.created_at < ?{extra} \
             GROUP BY l.label ORDER BY count(*) DESC, l.label LIMIT ?"
        );
        let sql = q(&sql).into_owned();
        let query = sqlx::query_as::<_, (String, i64)>(&sql)
            .bind(since)
            .bind(until);
        let rows = bind_all!(query, &params)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(l, n)| (l, n.max(0) as u64))
            .collect())
    }

    /// The first message of each conversation created in the period, when the customer wrote
    /// it (what they opened the conversation with).
    pub(super) async fn report_openers(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<(i64, String)>> {
        let (extra, mut params) = conditions(filter);
        let mut all = vec![Param::Int(since), Param::Int(until)];
        all.append(&mut params);
        // The first 200 characters are enough to group questions by (80 are kept).
        let body =
            format!("replace(replace(substr(m.body, 1, 200), '{FIELD}', ' '), '{RECORD}', ' ')");
        let sql = format!(
            "SELECT {} FROM conversations c \
             JOIN messages m ON m.conversation_id = c.id AND m.seq = 1 \
             WHERE c.created_at >= ? AND c.created_at < ?{extra} AND m.author_kind = 'visitor'",
            packed(&["c.id", &body])
        );
        let text = self.packed_answer(&sql, &all).await?;
        let mut openers: Vec<(i64, String)> = unpack(&text)
            .filter_map(|f| Some((int(f.first()?)?, (*f.get(1)?).to_owned())))
            .collect();
        openers.sort_unstable_by_key(|(id, _)| *id);
        Ok(openers)
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
