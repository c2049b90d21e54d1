//! Webhooks: the endpoints the settings define, the outbox rows events write in the
//! transaction of their change, and what the delivery worker and the delivery log read.
//!
//! Which endpoint wants which event is kept in memory (`Hooks`, set by
//! `sync_webhook_endpoints`), so a change no endpoint subscribes to costs no statement and a
//! message batch writes its outbox rows in one multi-row `INSERT` inside its own transaction.

use super::dialect::{self, q};
use super::{CONVERSATION_SELECT, Conn, SqlStore, conversation_from_row};
use crate::webhooks::{Attempt, DeliveryState, EndpointSpec, WebhookDelivery, WebhookEndpoint};
use crate::{Contact, Conversation, Millis, Result, StoreError};
use protocol::webhooks::{
    EventType, HookAgent, HookContact, HookConversation, HookCsat, WebhookData, WebhookPayload,
};
use sqlx::Row as _;
use std::sync::{Arc, RwLock};

/// Rows per multi-row `INSERT` (7 parameters each).
const CHUNK: usize = 100;

/// A configured endpoint, as the enqueuing code needs it.
#[derive(Debug, Clone)]
pub(super) struct Sub {
    id: i64,
    site: String,
    events: Vec<EventType>,
    enabled: bool,
}

/// The subscriptions of the endpoints configured on this node (shared by the store's clones and
/// its writer task).
#[derive(Debug, Clone, Default)]
pub(super) struct Hooks(Arc<RwLock<Arc<Vec<Sub>>>>);

impl Hooks {
    pub fn snapshot(&self) -> Arc<Vec<Sub>> {
        self.0.read().expect("hooks lock").clone()
    }

    fn set(&self, subs: Vec<Sub>) {
        *self.0.write().expect("hooks lock") = Arc::new(subs);
    }

    fn set_enabled(&self, id: i64, enabled: bool) {
        let mut subs = (*self.snapshot()).clone();
        for s in subs.iter_mut().filter(|s| s.id == id) {
            s.enabled = enabled;
        }
        self.set(subs);
    }
}

/// Whether any enabled endpoint subscribes to `kind`.
pub(super) fn wanted(subs: &[Sub], kind: EventType) -> bool {
    subs.iter().any(|s| s.enabled && s.events.contains(&kind))
}

/// The enabled endpoints of `site` subscribed to `kind`.
pub(super) fn targets(subs: &[Sub], site: &str, kind: EventType) -> Vec<i64> {
    subs.iter()
        .filter(|s| s.enabled && s.site == site && s.events.contains(&kind))
        .map(|s| s.id)
        .collect()
}

/// One outbox row to write.
pub(super) struct Row {
    pub endpoint_id: i64,
    pub event: EventType,
    pub stream: String,
    pub payload: Arc<str>,
    pub at: Millis,
}

/// Writes outbox rows on `conn` (inside the caller's transaction).
pub(super) async fn insert(conn: &mut Conn, rows: &[Row]) -> std::result::Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO webhook_deliveries (endpoint_id, event, stream, payload, next_at, \
             created_at, updated_at) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(r.endpoint_id)
                .bind(r.event.as_str())
                .bind(&r.stream)
                .bind(&*r.payload)
                .bind(r.at)
                .bind(r.at)
                .bind(r.at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) fn hook_conversation(c: &Conversation) -> HookConversation {
    HookConversation {
        id: c.id,
        site: c.site.clone(),
        status: Some(
            match c.status {
                crate::Status::Open => "open",
                crate::Status::Resolved => "resolved",
            }
            .to_owned(),
        ),
        priority: Some(c.priority.clone()),
        assignee: c.assignee.as_ref().map(|(id, name)| HookAgent {
            id: *id,
            name: name.clone(),
        }),
        contact_id: c.contact_id,
        created_at: Some(c.created_at),
    }
}

/// Enqueues `kind` about conversation `id` for its site's subscribed endpoints, read on `conn`
/// (the caller's transaction, after its change). `fill` adds the event's own fields.
pub(super) async fn conversation_event(
    conn: &mut Conn,
    hooks: &Hooks,
    id: i64,
    kind: EventType,
    at: Millis,
    fill: impl FnOnce(&mut WebhookData),
) -> Result<()> {
    let subs = hooks.snapshot();
    if !wanted(&subs, kind) {
        return Ok(());
    }
    let row = sqlx::query(&q(&format!("{CONVERSATION_SELECT} WHERE c.id = ?")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(()) };
    let conversation = conversation_from_row(&row);
    let endpoints = targets(&subs, &conversation.site, kind);
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut data = WebhookData {
        conversation: Some(hook_conversation(&conversation)),
        ..WebhookData::default()
    };
    fill(&mut data);
    let payload = payload(kind, at, data);
    let rows: Vec<Row> = endpoints
        .into_iter()
        .map(|endpoint_id| Row {
            endpoint_id,
            event: kind,
            stream: format!("conversation:{id}"),
            payload: payload.clone(),
            at,
        })
        .collect();
    insert(conn, &rows).await?;
    Ok(())
}

/// Enqueues `contact.updated` for the contact's site's subscribed endpoints.
pub(super) async fn contact_event(
    conn: &mut Conn,
    hooks: &Hooks,
    contact: &Contact,
    at: Millis,
) -> Result<()> {
    let kind = EventType::ContactUpdated;
    let endpoints = targets(&hooks.snapshot(), &contact.site, kind);
    if endpoints.is_empty() {
        return Ok(());
    }
    let data = WebhookData {
        contact: Some(HookContact {
            id: contact.id,
            site: contact.site.clone(),
            external_id: contact.external_id.clone(),
            name: contact.name.clone(),
            email: contact.email.clone(),
            attributes: contact.attributes.clone(),
            updated_at: contact.updated_at,
        }),
        ..WebhookData::default()
    };
    let payload = payload(kind, at, data);
    let rows: Vec<Row> = endpoints
        .into_iter()
        .map(|endpoint_id| Row {
            endpoint_id,
            event: kind,
            stream: format!("contact:{}", contact.id),
            payload: payload.clone(),
            at,
        })
        .collect();
    insert(conn, &rows).await?;
    Ok(())
}

pub(super) fn payload(kind: EventType, at: Millis, data: WebhookData) -> Arc<str> {
    serde_json::to_string(&WebhookPayload::new(kind, at, data))
        .expect("payloads serialize")
        .into()
}

const ENDPOINT_COLUMNS: &str =
    "id, site, url, events, disabled_at, disabled_reason, last_success_at";
const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.event, d.stream, d.payload, d.state, \
     d.attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.updated_at";

fn endpoint_from_row(row: &super::Row) -> WebhookEndpoint {
    WebhookEndpoint {
        id: row.get("id"),
        site: row.get("site"),
        url: row.get("url"),
        events: row
            .get::<String, _>("events")
            .split(',')
            .filter_map(EventType::parse)
            .collect(),
        disabled_at: row.get("disabled_at"),
        disabled_reason: row.get("disabled_reason"),
        last_success_at: row.get("last_success_at"),
    }
}

fn delivery_from_row(row: &super::Row) -> WebhookDelivery {
    WebhookDelivery {
        id: row.get("id"),
        endpoint_id: row.get("endpoint_id"),
        event: row.get("event"),
        stream: row.get("stream"),
        payload: row.get("payload"),
        state: DeliveryState::parse(&row.get::<String, _>("state")),
        attempts: row.get::<i64, _>("attempts") as u32,
        next_at: row.get("next_at"),
        last_status: row.get::<Option<i64>, _>("last_status").map(|s| s as u16),
        last_error: row.get("last_error"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

impl SqlStore {
    pub(super) async fn sync_webhook_endpoints(
        &self,
        specs: &[EndpointSpec],
        now: Millis,
    ) -> Result<Vec<WebhookEndpoint>> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let events: Vec<&str> = spec.events.iter().map(|e| e.as_str()).collect();
            let row = sqlx::query(&q(&format!(
                "INSERT INTO webhook_endpoints (site, url, events, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (site, url) DO UPDATE SET events = excluded.events \
                 RETURNING {ENDPOINT_COLUMNS}"
            )))
            .bind(&spec.site)
            .bind(&spec.url)
            .bind(events.join(","))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            out.push(endpoint_from_row(&row));
        }
        tx.commit().await?;
        self.hooks.set(
            out.iter()
                .map(|e| Sub {
                    id: e.id,
                    site: e.site.clone(),
                    events: e.events.clone(),
                    enabled: e.disabled_at.is_none(),
                })
                .collect(),
        );
        Ok(out)
    }

    pub(super) async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        let rows = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(endpoint_from_row).collect())
    }

    pub(super) async fn set_webhook_endpoint_disabled(
        &self,
        id: i64,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<WebhookEndpoint> {
        let row = sqlx::query(&q(&format!(
            "UPDATE webhook_endpoints SET \
             disabled_at = CASE WHEN CAST(?1 AS TEXT) IS NULL THEN NULL \
             ELSE coalesce(disabled_at, ?2) END, \
             disabled_reason = CAST(?1 AS TEXT) WHERE id = ?3 RETURNING {ENDPOINT_COLUMNS}"
        )))
        .bind(reason)
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound {
            what: "webhook endpoint",
        })?;
        self.hooks.set_enabled(id, reason.is_none());
        Ok(endpoint_from_row(&row))
    }

    pub(super) async fn due_webhooks(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        // Only endpoints configured here: no other node knows a secret this one lacks, and
        // rows of an endpoint removed from the settings wait (it may come back).
        let ids: Vec<String> = self
            .hooks
            .snapshot()
            .iter()
            .map(|s| s.id.to_string())
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.join(", ");
        let db_now = dialect::DB_NOW_MS;
        let rows = sqlx::query(&q(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.state = 'pending' AND d.next_at <= ?1 AND e.disabled_at IS NULL \
             AND d.endpoint_id IN ({ids}) \
             AND (d.locked_until IS NULL OR d.locked_until < {db_now}) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.state = 'pending' \
               AND p.endpoint_id = d.endpoint_id AND p.stream = d.stream AND p.id < d.id) \
             ORDER BY d.next_at, d.id LIMIT ?2"
        )))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery_from_row).collect())
    }

    pub(super) async fn claim_webhooks(&self, ids: &[i64], ttl_ms: i64) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let db_now = dialect::DB_NOW_MS;
        // Numbered placeholders: the ids, then the time to hold them.
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "UPDATE webhook_deliveries SET locked_until = {db_now} + ?{} \
             WHERE id IN ({}) AND state = 'pending' \
             AND (locked_until IS NULL OR locked_until < {db_now}) RETURNING id",
            ids.len() + 1,
            marks.join(", ")
        );
        let sql = q(&sql);
        let mut query = sqlx::query_scalar(&sql);
        for id in ids {
            query = query.bind(id);
        }
        let query = query.bind(ttl_ms);
        let mut taken: Vec<i64> = query.fetch_all(&self.pool).await?;
        taken.sort_unstable();
        Ok(taken)
    }

    pub(super) async fn finish_webhooks(&self, done: &[(i64, Attempt)], now: Millis) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        // One transaction for the round: one commit (one fsync on SQLite) however many rows.
        let mut tx = self.pool.begin().await?;
        let mut reached = Vec::new();
        for (id, attempt) in done {
            let (state, status, error, next_at) = match attempt {
                Attempt::Delivered { status } => {
                    (DeliveryState::Delivered, Some(*status), None, None)
                }
                Attempt::Retry {
                    status,
                    error,
                    next_at,
                } => (
                    DeliveryState::Pending,
                    *status,
                    error.as_deref(),
                    Some(*next_at),
                ),
                Attempt::GiveUp { status, error } => {
                    (DeliveryState::Failed, *status, error.as_deref(), None)
                }
            };
            let endpoint: Option<i64> = sqlx::query_scalar(&q(
                "UPDATE webhook_deliveries SET state = ?1, attempts = attempts + 1, \
                 last_status = ?2, last_error = ?3, next_at = coalesce(?4, next_at), \
                 locked_until = NULL, updated_at = ?5 WHERE id = ?6 RETURNING endpoint_id",
            ))
            .bind(state.as_str())
            .bind(status.map(i64::from))
            .bind(error)
            .bind(next_at)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(endpoint) = endpoint.filter(|_| state == DeliveryState::Delivered) {
                reached.push(endpoint);
            }
        }
        reached.sort_unstable();
        reached.dedup();
        for endpoint in reached {
            sqlx::query(&q(
                "UPDATE webhook_endpoints SET last_success_at = ? WHERE id = ?",
            ))
            .bind(now)
            .bind(endpoint)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.endpoint_id = ? \
             AND d.id < ? ORDER BY d.id DESC LIMIT ?"
        )))
        .bind(endpoint_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery_from_row).collect())
    }

    pub(super) async fn webhook_delivery(&self, id: i64) -> Result<Option<WebhookDelivery>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(delivery_from_row))
    }

    pub(super) async fn replay_webhook(&self, id: i64, now: Millis) -> Result<WebhookDelivery> {
        let r = sqlx::query(&q(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_at = ?1, \
             locked_until = NULL, updated_at = ?1 WHERE id = ?2",
        ))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        let not_found = StoreError::NotFound {
            what: "webhook delivery",
        };
        if r.rows_affected() == 0 {
            return Err(not_found);
        }
        self.webhook_delivery(id).await?.ok_or(not_found)
    }

    pub(super) async fn emit_webhook(
        &self,
        conversation_id: i64,
        kind: EventType,
        csat: bool,
        at: Millis,
    ) -> Result<()> {
        let rating = if csat {
            let row: Option<(Option<i64>, Option<String>)> = sqlx::query_as(&q(
                "SELECT rating, rating_comment FROM conversations WHERE id = ?",
            ))
            .bind(conversation_id)
            .fetch_optional(&self.pool)
            .await?;
            row.and_then(|(r, comment)| {
                Some(HookCsat {
                    rating: u8::try_from(r?).ok()?,
                    comment,
                })
            })
        } else {
            None
        };
        let mut tx = self.pool.begin().await?;
        conversation_event(&mut tx, &self.hooks, conversation_id, kind, at, |d| {
            d.csat = rating
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn prune_webhooks(&self, before: Millis) -> Result<u64> {
        let r = sqlx::query(&q(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < ?",
        ))
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}
