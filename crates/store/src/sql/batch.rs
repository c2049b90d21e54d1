//! The messages of one group commit, written in a handful of statements whatever their number:
//! read the conversations' counters and which client ids are resends, number the new messages
//! in Rust (per conversation, in arrival order, with the same rules as one-by-one appends),
//! insert them in multi-row `INSERT`s and move every conversation forward in one `UPDATE`.
//! Each statement through sqlx costs a round trip to the connection's thread, so statements,
//! not rows, are what a message costs.

use super::Conn;
use super::dialect::{self, q};
use super::webhooks;
use super::writer::Message;
use super::{existing_message, preview};
use crate::{Appended, MessageAuthor, Result, StoreError, StoredMessage};
use protocol::webhooks::{EventType, HookConversation, HookMessage, WebhookData};
use sqlx::Row;
use std::collections::HashMap;

/// Rows per multi-row statement (7 parameters each; far below SQLite's limit).
const CHUNK: usize = 100;

fn kind(m: &Message) -> &'static str {
    if m.agent_id.is_some() {
        "agent"
    } else {
        "visitor"
    }
}

fn marks(n: usize, one: &str) -> String {
    vec![one; n].join(", ")
}

/// A conversation as the batch moves it forward.
struct Counter {
    last_seq: i64,
    site: String,
    priority: String,
    open: bool,
    first_response_at: Option<i64>,
    /// The running next-response clock: when the customer's wait began, and its deadline.
    next_response: Option<(i64, Option<i64>)>,
    /// What the batch changes.
    touched: Option<Touch>,
}

struct Touch {
    at: i64,
    preview: String,
    last_author: &'static str,
    /// An agent answered in this batch: the next-response clock stops.
    reset_clock: bool,
    /// Messages agents wrote in this batch.
    agent_replies: i64,
}

/// A next response this batch gave: the customer waited from `from_at`, `agent_id` answered
/// at `at`.
struct Response {
    conversation_id: i64,
    site: String,
    priority: String,
    agent_id: Option<i64>,
    from_at: i64,
    at: i64,
    due: Option<i64>,
}

/// Outcome of the batch: a result per message, in order, and whether the transaction may
/// still commit (`Err` with the reason when a write failed half-way).
pub(super) async fn append_batch(
    conn: &mut Conn,
    batch: &[Message],
    hooks: &[webhooks::Sub],
) -> (Vec<Result<Appended>>, std::result::Result<(), String>) {
    let (reason, state) = match run(conn, batch, hooks).await {
        Ok(results) => return (results, Ok(())),
        // Nothing written yet: the transaction may still commit the other jobs.
        Err(Failure::Clean(reason)) if !dialect::FAILED_STATEMENT_ABORTS => (reason, Ok(())),
        // PostgreSQL aborts the transaction on a failed statement: the group fails.
        Err(Failure::Clean(reason) | Failure::Fatal(reason)) => (reason.clone(), Err(reason)),
    };
    let failed = batch
        .iter()
        .map(|_| {
            Err(StoreError::GroupFailed {
                reason: reason.clone(),
            })
        })
        .collect();
    (failed, state)
}

enum Failure {
    Clean(String),
    Fatal(String),
}

async fn run(
    conn: &mut Conn,
    batch: &[Message],
    hooks: &[webhooks::Sub],
) -> std::result::Result<Vec<Result<Appended>>, Failure> {
    let clean = |e: sqlx::Error| Failure::Clean(e.to_string());
    let fatal = |e: sqlx::Error| Failure::Fatal(e.to_string());

    // 1. The conversations' counters, and which messages are resends of stored ones: one
    // statement for both (a group holds at most `MAX_GROUP` messages, so its parameters stay far
    // below SQLite's limit).
    let mut ids: Vec<i64> = batch.iter().map(|m| m.conversation_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(lock) = dialect::LOCK_CONVERSATIONS {
        let sql = format!(
            "SELECT id FROM conversations WHERE id IN ({}) ORDER BY id {lock}",
            marks(ids.len(), "?")
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for id in &ids {
            query = query.bind(id);
        }
        query.fetch_all(&mut *conn).await.map_err(clean)?;
    }
    let sql = format!(
        "SELECT CAST(0 AS BIGINT), id, last_seq, priority, site, \
         CASE WHEN status = 'open' THEN CAST(1 AS BIGINT) ELSE 0 END, first_response_at, \
         next_response_from, next_response_due, NULL, NULL \
         FROM conversations WHERE id IN ({}) \
         UNION ALL \
         SELECT CAST(1 AS BIGINT), conversation_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         author_kind, client_id \
         FROM messages WHERE (conversation_id, author_kind, client_id) IN (VALUES {})",
        marks(ids.len(), "?"),
        marks(
            batch.len(),
            "(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))"
        )
    );
    let sql = q(&sql);
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(id);
    }
    for m in batch {
        query = query
            .bind(m.conversation_id)
            .bind(kind(m))
            .bind(&m.client_id);
    }
    let rows = query.fetch_all(&mut *conn).await.map_err(clean)?;
    let mut counters: HashMap<i64, Counter> = HashMap::with_capacity(ids.len());
    let mut stored: HashMap<(i64, &'static str, &str), ()> = HashMap::new();
    for row in &rows {
        let id: i64 = row.try_get(1).map_err(clean)?;
        if row.try_get::<i64, _>(0).map_err(clean)? == 0 {
            counters.insert(
                id,
                Counter {
                    last_seq: row.try_get(2).map_err(clean)?,
                    priority: row.try_get(3).map_err(clean)?,
                    site: row.try_get(4).map_err(clean)?,
                    open: row.try_get::<i64, _>(5).map_err(clean)? != 0,
                    first_response_at: row.try_get(6).map_err(clean)?,
                    next_response: row
                        .try_get::<Option<i64>, _>(7)
                        .map_err(clean)?
                        .map(|from| Ok((from, row.try_get::<Option<i64>, _>(8)?)))
                        .transpose()
                        .map_err(clean)?,
                    touched: None,
                },
            );
        } else {
            let author_kind: String = row.try_get(9).map_err(clean)?;
            let client_id: String = row.try_get(10).map_err(clean)?;
            if let Some(m) = batch.iter().find(|m| {
                m.conversation_id == id && kind(m) == author_kind && m.client_id == client_id
            }) {
                stored.insert((m.conversation_id, kind(m), m.client_id.as_str()), ());
            }
        }
    }

    // 3. Number the new messages, in order; a resend within the batch is a duplicate of the
    // first copy.
    enum Plan {
        New { seq: i64, clock: Option<String> },
        Duplicate,
        Twin(usize),
        Missing,
    }
    let mut plans = Vec::with_capacity(batch.len());
    let mut responses: Vec<Response> = Vec::new();
    let mut first_copy: HashMap<(i64, &'static str, &str), usize> = HashMap::new();
    for (i, m) in batch.iter().enumerate() {
        let key = (m.conversation_id, kind(m), m.client_id.as_str());
        if stored.contains_key(&key) {
            plans.push(Plan::Duplicate);
            continue;
        }
        if let Some(&first) = first_copy.get(&key) {
            plans.push(Plan::Twin(first));
            continue;
        }
        let Some(c) = counters.get_mut(&m.conversation_id) else {
            plans.push(Plan::Missing);
            continue;
        };
        first_copy.insert(key, i);
        c.last_seq += 1;
        let touch = c.touched.get_or_insert(Touch {
            at: m.at,
            preview: String::new(),
            last_author: "visitor",
            reset_clock: false,
            agent_replies: 0,
        });
        touch.at = m.at;
        touch.preview = preview(&super::attachments::preview_text(&m.body, &m.attachments));
        touch.last_author = kind(m);
        let clock = if m.agent_id.is_some() {
            c.first_response_at.get_or_insert(m.at);
            if let Some((from_at, due)) = c.next_response.take() {
                responses.push(Response {
                    conversation_id: m.conversation_id,
                    site: c.site.clone(),
                    priority: c.priority.clone(),
                    agent_id: m.agent_id,
                    from_at,
                    at: m.at,
                    due,
                });
            }
            touch.reset_clock = true;
            touch.agent_replies += 1;
            None
        } else {
            // As one-by-one: the clock may start once an agent answered and none runs.
            (c.open && c.first_response_at.is_some() && c.next_response.is_none())
                .then(|| c.priority.clone())
        };
        plans.push(Plan::New {
            seq: c.last_seq,
            clock,
        });
    }

    // 4. Insert the new messages. From here on a failure is fatal to the group.
    let new: Vec<(usize, i64)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Plan::New { seq, .. } => Some((i, *seq)),
            _ => None,
        })
        .collect();
    for chunk in new.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO messages (conversation_id, seq, client_id, author_kind, agent_id, body, \
             created_at, attachments) VALUES {}",
            marks(chunk.len(), "(?, ?, ?, ?, ?, ?, ?, ?)")
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for &(i, seq) in chunk {
            let m = &batch[i];
            query = query
                .bind(m.conversation_id)
                .bind(seq)
                .bind(&m.client_id)
                .bind(kind(m))
                .bind(m.agent_id)
                .bind(&m.body)
                .bind(m.at)
                .bind(super::attachments::to_json(&m.attachments));
        }
        query.execute(&mut *conn).await.map_err(fatal)?;
    }
    // The webhooks' outbox, in this transaction: an acknowledged message is never without
    // its event (nothing at all when no endpoint subscribes).
    if webhooks::wanted(hooks, EventType::MessageCreated) {
        let mut rows = Vec::new();
        for &(i, seq) in &new {
            let m = &batch[i];
            let Some(c) = counters.get(&m.conversation_id) else {
                continue;
            };
            let endpoints = webhooks::targets(hooks, &c.site, EventType::MessageCreated);
            if endpoints.is_empty() {
                continue;
            }
            let data = WebhookData {
                conversation: Some(HookConversation {
                    id: m.conversation_id,
                    site: c.site.clone(),
                    ..HookConversation::default()
                }),
                message: Some(HookMessage {
                    seq: seq as u64,
                    author: kind(m).to_owned(),
                    agent_id: m.agent_id,
                    body: m.body.clone(),
                    created_at: m.at,
                    attachments: m.attachments.clone(),
                }),
                ..WebhookData::default()
            };
            let payload = webhooks::payload(EventType::MessageCreated, m.at, data);
            rows.extend(endpoints.into_iter().map(|endpoint_id| webhooks::Row {
                endpoint_id,
                event: EventType::MessageCreated,
                stream: format!("conversation:{}", m.conversation_id),
                payload: payload.clone(),
                at: m.at,
            }));
        }
        webhooks::insert(conn, &rows).await.map_err(fatal)?;
    }

    // 5. Move the conversations forward.
    let touched: Vec<(i64, &Counter, &Touch)> = counters
        .iter()
        .filter_map(|(id, c)| c.touched.as_ref().map(|t| (*id, c, t)))
        .collect();
    for chunk in touched.chunks(CHUNK) {
        let sql = format!(
            "WITH v (id, last_seq, at, preview, last_author, first_response_at, reset, replies) \
             AS (VALUES {}) \
             UPDATE conversations SET last_seq = v.last_seq, updated_at = v.at, \
             agent_replies = agent_replies + v.replies, \
             facts_rev = facts_rev + v.replies, \
             preview = v.preview, last_author = v.last_author, \
             first_response_at = coalesce(conversations.first_response_at, v.first_response_at), \
             next_response_from = CASE WHEN v.reset = 1 THEN NULL ELSE next_response_from END, \
             next_response_due = CASE WHEN v.reset = 1 THEN NULL ELSE next_response_due END \
             FROM v WHERE conversations.id = v.id",
            marks(
                chunk.len(),
                "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), \
                 CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))"
            )
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for (id, c, t) in chunk {
            query = query
                .bind(id)
                .bind(c.last_seq)
                .bind(t.at)
                .bind(&t.preview)
                .bind(t.last_author)
                .bind(c.first_response_at)
                .bind(i64::from(t.reset_clock))
                .bind(t.agent_replies);
        }
        query.execute(&mut *conn).await.map_err(fatal)?;
    }
    // The next responses given, for the reports.
    for chunk in responses.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO response_times (conversation_id, site, priority, agent_id, from_at, at, \
             due) VALUES {}",
            marks(chunk.len(), "(?, ?, ?, ?, ?, ?, ?)")
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.conversation_id)
                .bind(&r.site)
                .bind(&r.priority)
                .bind(r.agent_id)
                .bind(r.from_at)
                .bind(r.at)
                .bind(r.due);
        }
        query.execute(&mut *conn).await.map_err(fatal)?;
    }

    // 6. The agents' names, for their messages.
    let mut agent_ids: Vec<i64> = batch.iter().filter_map(|m| m.agent_id).collect();
    agent_ids.sort_unstable();
    agent_ids.dedup();
    let mut names: HashMap<i64, String> = HashMap::new();
    for chunk in agent_ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT id, name FROM agents WHERE id IN ({})",
            marks(chunk.len(), "?")
        );
        let sql = q(&sql);
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        names.extend(query.fetch_all(&mut *conn).await.map_err(fatal)?);
    }

    // 7. The results, in order.
    let mut results: Vec<Result<Appended>> = Vec::with_capacity(batch.len());
    for (i, (m, plan)) in batch.iter().zip(&plans).enumerate() {
        let result = match plan {
            Plan::New { seq, clock } => Ok(Appended {
                message: StoredMessage {
                    conversation_id: m.conversation_id,
                    seq: *seq as u64,
                    client_id: m.client_id.clone(),
                    author: match m.agent_id {
                        None => MessageAuthor::Visitor,
                        Some(id) => MessageAuthor::Agent {
                            id,
                            name: names.get(&id).cloned().unwrap_or_default(),
                        },
                    },
                    body: m.body.clone(),
                    at: m.at,
                    attachments: m.attachments.clone(),
                },
                duplicate: false,
                next_response_priority: clock.clone(),
            }),
            Plan::Twin(first) => match &results[*first] {
                Ok(a) => Ok(Appended {
                    message: a.message.clone(),
                    duplicate: true,
                    next_response_priority: None,
                }),
                Err(_) => Err(StoreError::NotFound {
                    what: "conversation",
                }),
            },
            Plan::Duplicate => {
                match existing_message(conn, m.conversation_id, kind(m), &m.client_id).await {
                    Ok(Some(existing)) => Ok(Appended {
                        message: existing,
                        duplicate: true,
                        next_response_priority: None,
                    }),
                    Ok(None) => Err(StoreError::NotFound { what: "message" }),
                    Err(e) => Err(e),
                }
            }
            Plan::Missing => Err(StoreError::NotFound {
                what: "conversation",
            }),
        };
        debug_assert_eq!(results.len(), i);
        results.push(result);
    }
    Ok(results)
}
