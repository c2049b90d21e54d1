//! The store's SQL, written once for every backend: this module is compiled once per backend
//! (`sqlite.rs`, `postgres.rs` mount it with `#[path]`), against that backend's concrete sqlx
//! types (`super::Db`), so nothing is generic at run time. What the dialects do differently
//! lives in the backend's `dialect` module: placeholders (`q`), how a write transaction starts,
//! row locks, and what follows an erasure. Statements are written in the SQL both accept
//! (`?` placeholders, rewritten to `$n` for PostgreSQL; `string_agg`; `CASE` for booleans,
//! which are integer columns in both schemas).
//!
//! Split by aggregate: `agents.rs`, `conversations.rs` (visitors, conversations, SLA clocks,
//! labels, teams, deflections), `contacts.rs`, `messages.rs` (appends through the group-commit
//! `writer.rs` and `batch.rs`, reads, notes), `privacy.rs` (export, erasure, retention),
//! `searches.rs` (widget searches, their daily rollups and the gaps lists; effort and
//! self-help time), `tokens.rs` (the public API's tokens), `escalations.rs` (conversations escalated to an
//! issue tracker), `attachments.rs` (uploaded files and their bytes).

use super::{Db, dialect, dialect::q};
use crate::{
    Agent, AgentCredentials, ApiToken, Appended, AssigneeFilter, Contact, ContactData,
    ContactUpdate, Conversation, ConversationContext, ConversationFilter, Erased, Erasure, Expiry,
    GapsQuery, Importance, MAX_CONTACT_ATTRIBUTES, MessageAuthor, Millis, NewAgent, NewApiToken,
    NewMessage, Overdue, ReadBy, ReportFilter, Result, SearchEvent, SearchGaps, SlaDues, SlaKind,
    Status, Store, StoreError, StoredMessage, StoredNote, Visitor,
};
use async_trait::async_trait;
use sqlx::{Database, Pool, Row as _, Transaction};

mod agents;
mod attachments;
mod batch;
mod contacts;
mod conversations;
mod email;
mod escalations;
mod messages;
mod privacy;
mod report_cache;
mod reports;
mod searches;
mod tokens;
mod webhooks;
mod writer;

pub(super) use writer::Connect;

type Row = <Db as Database>::Row;
type Conn = <Db as Database>::Connection;
type QueryResult = <Db as Database>::QueryResult;

/// Longest preview kept for the inbox list, in characters.
const PREVIEW_CHARS: usize = 140;

#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: Pool<Db>,
    /// The group-commit writer of the hot writes (messages, read receipts, SLA clocks).
    writer: writer::Writer,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    faults: writer::Faults,
    /// Which configured webhook endpoint wants which event (shared with the writer).
    hooks: webhooks::Hooks,
    /// The whole days reports read, checked against the database on every read.
    report_cache: std::sync::Arc<report_cache::ReportCache>,
}

impl SqlStore {
    /// A store over `pool` (migrated), with `writer` as the group-commit writer's own
    /// connection (outside the pool: readers never wait for it).
    pub(super) fn new(pool: Pool<Db>, writer: Conn, connect: writer::Connect) -> Self {
        let faults = writer::Faults::default();
        let hooks = webhooks::Hooks::default();
        let writer = writer::Writer::start(writer, connect, faults.clone(), hooks.clone());
        SqlStore {
            pool,
            writer,
            faults,
            hooks,
            report_cache: Default::default(),
        }
    }

    /// The conversation an `UPDATE … WHERE id = ?` just changed, or `NotFound` if it matched none.
    async fn changed_conversation(
        &self,
        result: QueryResult,
        conversation_id: i64,
    ) -> Result<Conversation> {
        let not_found = || StoreError::NotFound {
            what: "conversation",
        };
        if result.rows_affected() == 0 {
            return Err(not_found());
        }
        self.conversation(conversation_id)
            .await?
            .ok_or_else(not_found)
    }

    // Used by one backend only (SQLite's backup).
    #[allow(dead_code)]
    pub(super) fn pool(&self) -> &Pool<Db> {
        &self.pool
    }

    /// Makes the next group commit fail (tests of what a failed group does).
    #[cfg(feature = "fault-injection")]
    pub fn fail_next_commit(&self, reason: &str) {
        self.faults.fail_next_commit(reason);
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn agent_from_row(row: &Row) -> Agent {
    Agent {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        admin: row.get::<i64, _>("is_admin") != 0,
        lead: row.get::<i64, _>("is_lead") != 0,
        disabled: row.get::<i64, _>("disabled") != 0,
        languages: split_list(&row.get::<String, _>("languages")),
        teams: split_list(&row.get::<String, _>("teams")),
    }
}

/// A comma-separated column as a list (empty items dropped).
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn conversation_from_row(row: &Row) -> Conversation {
    Conversation {
        id: row.get("id"),
        visitor_id: row.get("visitor_id"),
        site: row.get("site"),
        status: if row.get::<String, _>("status") == "open" {
            Status::Open
        } else {
            Status::Resolved
        },
        last_seq: row.get::<i64, _>("last_seq") as u64,
        preview: row.get("preview"),
        page_url: row.get("page_url"),
        locale: row.get("locale"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        context: row.get("context"),
        contact_name: row
            .get::<Option<String>, _>("contact_name")
            .or_else(|| row.get("profile_name")),
        contact_email: row
            .get::<Option<String>, _>("contact_email")
            .or_else(|| row.get("profile_email")),
        rating: row.get::<Option<i64>, _>("rating").map(|r| r as u8),
        rating_comment: row.get("rating_comment"),
        resolved_at: row.get("resolved_at"),
        visitor_read: row.get::<i64, _>("visitor_read") as u64,
        agent_read: row.get::<i64, _>("agent_read") as u64,
        assignee: row.get::<Option<i64>, _>("assignee_id").map(|id| {
            (
                id,
                row.get::<Option<String>, _>("assignee_name")
                    .unwrap_or_default(),
            )
        }),
        priority: row.get("priority"),
        first_response_due: row.get("first_response_due"),
        first_response_at: row.get("first_response_at"),
        sla_breached_at: row.get("sla_breached_at"),
        last_author: row.get("last_author"),
        next_response_from: row.get("next_response_from"),
        next_response_due: row.get("next_response_due"),
        resolution_from: row.get("resolution_from"),
        resolution_due: row.get("resolution_due"),
        team: row.get("team"),
        labels: row
            .get::<Option<String>, _>("labels")
            .map(|l| split_list(&l))
            .unwrap_or_default(),
        contact_id: row.get("contact_id"),
        contact_verified: row
            .get::<Option<i64>, _>("contact_is_verified")
            .is_some_and(|v| v != 0),
        ces: row.get::<Option<i64>, _>("ces").map(|c| c as u8),
        self_help_ms: row.get("self_help_ms"),
    }
}

/// Note rows with their author's name.
const NOTE_SELECT: &str = "SELECT n.conversation_id, n.client_id, n.agent_id, a.name AS agent_name, \
     n.body, n.created_at FROM notes n JOIN agents a ON a.id = n.agent_id";
const NOTE_SELECT_WITH_ID: &str = "SELECT n.id AS note_id, n.conversation_id, n.client_id, \
     n.agent_id, a.name AS agent_name, n.body, n.created_at FROM notes n \
     JOIN agents a ON a.id = n.agent_id";

/// Conversation rows with the assignee's name and the labels (sorted, comma-separated: labels
/// never contain a comma).
/// The contact's name and email stand in for the conversation's own when it has none.
const CONVERSATION_SELECT: &str = "SELECT c.*, a.name AS assignee_name, \
     (SELECT string_agg(label, ',' ORDER BY label) FROM conversation_labels l \
      WHERE l.conversation_id = c.id) AS labels, \
     CASE WHEN ct.external_id IS NOT NULL AND v.verified_as = ct.external_id \
     THEN CAST(1 AS BIGINT) ELSE 0 END \
     AS contact_is_verified, \
     ct.name AS profile_name, ct.email AS profile_email \
     FROM conversations c LEFT JOIN agents a ON a.id = c.assignee_id \
     LEFT JOIN visitors v ON v.id = c.visitor_id LEFT JOIN contacts ct ON ct.id = c.contact_id";

/// Contact rows with the account manager's name.
const CONTACT_SELECT: &str = "SELECT ct.*, a.name AS manager_name FROM contacts ct \
     LEFT JOIN agents a ON a.id = ct.account_manager_id";

fn contact_from_row(row: &Row) -> Contact {
    Contact {
        id: row.get("id"),
        site: row.get("site"),
        external_id: row.get("external_id"),
        name: row.get("name"),
        email: row.get("email"),
        attributes: serde_json::from_str(&row.get::<String, _>("attributes")).unwrap_or_default(),
        account_manager: row.get::<Option<i64>, _>("account_manager_id").map(|id| {
            (
                id,
                row.get::<Option<String>, _>("manager_name")
                    .unwrap_or_default(),
            )
        }),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// `extra` added to `base` (same names replaced), keeping at most `MAX_CONTACT_ATTRIBUTES`.
fn merged_attributes(
    mut base: std::collections::BTreeMap<String, String>,
    extra: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    for (k, v) in extra {
        if base.len() < MAX_CONTACT_ATTRIBUTES || base.contains_key(k) {
            base.insert(k.clone(), v.clone());
        }
    }
    base
}

async fn contact_in(tx: &mut Transaction<'_, Db>, id: i64) -> Result<Contact> {
    let row = sqlx::query(&q(&format!("{CONTACT_SELECT} WHERE ct.id = ?")))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { what: "contact" })?;
    Ok(contact_from_row(&row))
}

/// Takes the write lock with a no-op write to the visitor (so the transaction never upgrades
/// from a read), then reads its site and current contact.
async fn lock_visitor(
    tx: &mut Transaction<'_, Db>,
    visitor_id: i64,
) -> Result<(String, Option<i64>)> {
    let r = sqlx::query(&q(
        "UPDATE visitors SET contact_id = contact_id WHERE id = ?",
    ))
    .bind(visitor_id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "visitor" });
    }
    Ok(
        sqlx::query_as(&q("SELECT site, contact_id FROM visitors WHERE id = ?"))
            .bind(visitor_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Creates a contact (anonymous without `external_id`) and makes it the visitor's.
async fn new_contact_for(
    tx: &mut Transaction<'_, Db>,
    visitor_id: i64,
    site: &str,
    external_id: Option<&str>,
    now: Millis,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(&q(
        "INSERT INTO contacts (site, external_id, created_at, updated_at) VALUES (?, ?, ?, ?) \
         RETURNING id",
    ))
    .bind(site)
    .bind(external_id)
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(&q("UPDATE visitors SET contact_id = ? WHERE id = ?"))
        .bind(id)
        .bind(visitor_id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Merges contact `from` into `into` inside `tx` (see `Store::merge_contacts`).
async fn merge_in(tx: &mut Transaction<'_, Db>, from: i64, into: i64, now: Millis) -> Result<()> {
    if from == into {
        return Ok(());
    }
    let a = contact_in(tx, from).await?;
    let b = contact_in(tx, into).await?;
    let retired: Option<i64> = sqlx::query_scalar(&q(
        "SELECT merged_into FROM contacts WHERE id IN (?, ?) AND merged_into IS NOT NULL",
    ))
    .bind(from)
    .bind(into)
    .fetch_optional(&mut **tx)
    .await?;
    if retired.is_some() {
        return Err(StoreError::Conflict {
            what: "a merge of an already merged contact",
        });
    }
    if a.site != b.site || matches!((&a.external_id, &b.external_id), (Some(x), Some(y)) if x != y)
    {
        return Err(StoreError::Conflict {
            what: "a different identity on the other contact",
        });
    }
    // A verified identity never moves onto a contact that did not prove it: anyone can type a
    // customer's email and be offered the merge. The verified contact must be the survivor.
    if a.external_id.is_some() && b.external_id.is_none() {
        return Err(StoreError::Conflict {
            what: "a verified contact can only be merged into the same identity; merge the unverified contact into the verified one instead",
        });
    }
    // The surviving contact's attributes win; the retired one's fill in what is missing.
    let mut attributes = b.attributes.clone();
    for (k, v) in &a.attributes {
        if attributes.len() < MAX_CONTACT_ATTRIBUTES && !attributes.contains_key(k) {
            attributes.insert(k.clone(), v.clone());
        }
    }
    for table in ["visitors", "conversations"] {
        sqlx::query(&q(&format!(
            "UPDATE {table} SET contact_id = ? WHERE contact_id = ?"
        )))
        .bind(into)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(&q(
        "UPDATE contacts SET merged_into = ?, external_id = NULL, updated_at = ? WHERE id = ?",
    ))
    .bind(into)
    .bind(now)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&q(
        "UPDATE contacts SET name = coalesce(name, ?), email = coalesce(email, ?), \
         external_id = coalesce(external_id, ?), \
         account_manager_id = coalesce(account_manager_id, ?), attributes = ?, updated_at = ? \
         WHERE id = ?",
    ))
    .bind(&a.name)
    .bind(&a.email)
    .bind(&a.external_id)
    .bind(a.account_manager.map(|(id, _)| id))
    .bind(serde_json::to_string(&attributes).expect("strings serialize"))
    .bind(now)
    .bind(into)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn note_from_row(row: &Row) -> StoredNote {
    StoredNote {
        conversation_id: row.get("conversation_id"),
        client_id: row.get("client_id"),
        agent_id: row.get("agent_id"),
        agent_name: row.get("agent_name"),
        body: row.get("body"),
        at: row.get("created_at"),
    }
}

fn message_from_row(row: &Row) -> StoredMessage {
    let author = match row.get::<Option<i64>, _>("agent_id") {
        None => MessageAuthor::Visitor,
        Some(id) => MessageAuthor::Agent {
            id,
            name: row
                .get::<Option<String>, _>("agent_name")
                .unwrap_or_default(),
        },
    };
    StoredMessage {
        conversation_id: row.get("conversation_id"),
        seq: row.get::<i64, _>("seq") as u64,
        client_id: row.get("client_id"),
        author,
        body: row.get("body"),
        at: row.get("created_at"),
        attachments: attachments::from_json(&row.get::<String, _>("attachments")),
    }
}

const MESSAGE_COLUMNS: &str = "m.conversation_id, m.seq, m.client_id, m.agent_id, m.body, \
     m.created_at, m.attachments, a.name AS agent_name FROM messages m LEFT JOIN agents a ON a.id = m.agent_id";

fn preview(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

async fn existing_message(
    conn: &mut Conn,
    conversation_id: i64,
    kind: &str,
    client_id: &str,
) -> Result<Option<StoredMessage>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? AND m.author_kind = ? AND m.client_id = ?"
    );
    let row = sqlx::query(&q(&sql))
        .bind(conversation_id)
        .bind(kind)
        .bind(client_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(message_from_row))
}

#[async_trait]
impl Store for SqlStore {
    async fn close(&self) {
        SqlStore::close(self).await
    }

    async fn assign_if(
        &self,
        conversation_id: i64,
        expected: Option<i64>,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        SqlStore::assign_if(self, conversation_id, expected, agent_id, now).await
    }

    async fn latest_erasure(&self) -> Result<i64> {
        SqlStore::latest_erasure(self).await
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> Result<bool> {
        let now = dialect::DB_NOW_MS;
        let sql = format!(
            "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, {now} + ?3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE leases.until < {now} OR leases.holder = excluded.holder \
             RETURNING holder"
        );
        let held: Option<String> = sqlx::query_scalar(&q(&sql))
            .bind(name)
            .bind(holder)
            .bind(ttl_ms)
            .fetch_optional(&self.pool)
            .await?;
        Ok(held.is_some())
    }

    async fn touched_since(&self, since: Millis, after_id: i64, limit: u32) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(&q("SELECT id FROM ( \
               SELECT id FROM conversations \
                 WHERE status IN ('open', 'resolved') AND updated_at >= ?1 \
               UNION \
               SELECT conversation_id AS id FROM notes WHERE created_at >= ?1 \
             ) AS touched WHERE id > ?2 ORDER BY id LIMIT ?3"))
        .bind(since)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn cluster_key(&self, proposed: &str) -> Result<String> {
        sqlx::query(&q(
            "INSERT INTO cluster (id, key) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
        ))
        .bind(proposed)
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar("SELECT key FROM cluster WHERE id = 1")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_agent(&self, agent: NewAgent, now: Millis) -> Result<Agent> {
        SqlStore::create_agent(self, agent, now).await
    }

    async fn agent_credentials(&self, email: &str) -> Result<Option<AgentCredentials>> {
        SqlStore::agent_credentials(self, email).await
    }

    async fn agent(&self, id: i64) -> Result<Option<Agent>> {
        SqlStore::agent(self, id).await
    }

    async fn agent_count(&self) -> Result<u64> {
        SqlStore::agent_count(self).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        agent_id: i64,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        SqlStore::create_session(self, token_hash, agent_id, now, expires_at).await
    }

    async fn session_agent(&self, token_hash: &str, now: Millis) -> Result<Option<Agent>> {
        SqlStore::session_agent(self, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        SqlStore::delete_session(self, token_hash).await
    }

    async fn create_visitor(&self, token_hash: &str, site: &str, now: Millis) -> Result<Visitor> {
        SqlStore::create_visitor(self, token_hash, site, now).await
    }

    async fn visitor(&self, token_hash: &str) -> Result<Option<Visitor>> {
        SqlStore::visitor(self, token_hash).await
    }

    async fn open_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>> {
        SqlStore::open_conversation(self, visitor_id).await
    }

    async fn open_or_create_conversation(
        &self,
        visitor: &Visitor,
        context: &ConversationContext,
        now: Millis,
    ) -> Result<Conversation> {
        SqlStore::open_or_create_conversation(self, visitor, context, now).await
    }

    async fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        SqlStore::conversation(self, id).await
    }

    async fn conversations(&self, ids: &[i64]) -> Result<Vec<Conversation>> {
        SqlStore::conversations(self, ids).await
    }

    async fn list_open_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        SqlStore::list_open_conversations(self, limit).await
    }

    async fn list_conversations(&self, filter: &ConversationFilter) -> Result<Vec<Conversation>> {
        SqlStore::list_conversations(self, filter).await
    }

    async fn create_api_token(&self, token: &NewApiToken<'_>, now: Millis) -> Result<ApiToken> {
        SqlStore::create_api_token(self, token, now).await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        SqlStore::api_tokens(self).await
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        SqlStore::api_token_by_hash(self, token_hash).await
    }

    async fn revoke_api_token(&self, id: i64, now: Millis) -> Result<ApiToken> {
        SqlStore::revoke_api_token(self, id, now).await
    }

    async fn touch_api_token(&self, id: i64, now: Millis) -> Result<()> {
        SqlStore::touch_api_token(self, id, now).await
    }

    async fn latest_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>> {
        SqlStore::latest_conversation(self, visitor_id).await
    }

    async fn set_context(
        &self,
        conversation_id: i64,
        context: &str,
        self_help_ms: Option<i64>,
    ) -> Result<()> {
        SqlStore::set_context(self, conversation_id, context, self_help_ms).await
    }

    async fn set_status(
        &self,
        conversation_id: i64,
        status: Status,
        now: Millis,
    ) -> Result<Conversation> {
        SqlStore::set_status(self, conversation_id, status, now).await
    }

    async fn rate(&self, conversation_id: i64, score: u8, comment: Option<&str>) -> Result<()> {
        SqlStore::rate(self, conversation_id, score, comment).await
    }

    async fn set_contact(
        &self,
        conversation_id: i64,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<()> {
        SqlStore::set_contact(self, conversation_id, name, email).await
    }

    async fn mark_read(&self, conversation_id: i64, by: ReadBy, seq: u64) -> Result<()> {
        SqlStore::mark_read(self, conversation_id, by, seq).await
    }

    async fn record_deflection(
        &self,
        site: &str,
        visitor_id: i64,
        query: &str,
        article: &str,
        now: Millis,
    ) -> Result<()> {
        SqlStore::record_deflection(self, site, visitor_id, query, article, now).await
    }

    async fn deflection_count(&self, site: &str) -> Result<u64> {
        SqlStore::deflection_count(self, site).await
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        SqlStore::list_agents(self).await
    }

    async fn set_agent_disabled(&self, agent_id: i64, disabled: bool) -> Result<Agent> {
        SqlStore::set_agent_disabled(self, agent_id, disabled).await
    }

    async fn set_password_hash(&self, agent_id: i64, password_hash: &str) -> Result<()> {
        SqlStore::set_password_hash(self, agent_id, password_hash).await
    }

    async fn set_agent_languages(&self, agent_id: i64, languages: &[String]) -> Result<()> {
        SqlStore::set_agent_languages(self, agent_id, languages).await
    }

    async fn conversations_of_visitor(
        &self,
        visitor_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        SqlStore::conversations_of_visitor(self, visitor_id, limit).await
    }

    async fn delete_sessions_of(&self, agent_id: i64) -> Result<u64> {
        SqlStore::delete_sessions_of(self, agent_id).await
    }

    async fn assign(
        &self,
        conversation_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Conversation> {
        SqlStore::assign(self, conversation_id, agent_id, now).await
    }

    async fn set_priority(
        &self,
        conversation_id: i64,
        priority: &str,
        dues: SlaDues,
    ) -> Result<Conversation> {
        SqlStore::set_priority(self, conversation_id, priority, dues).await
    }

    async fn begin_next_response(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<bool> {
        SqlStore::begin_next_response(self, conversation_id, from, due).await
    }

    async fn set_resolution_due(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<()> {
        SqlStore::set_resolution_due(self, conversation_id, from, due).await
    }

    async fn overdue(&self, now: Millis) -> Result<Vec<Overdue>> {
        SqlStore::overdue(self, now).await
    }

    async fn record_breach(
        &self,
        conversation_id: i64,
        kind: SlaKind,
        due_at: Millis,
        now: Millis,
    ) -> Result<bool> {
        SqlStore::record_breach(self, conversation_id, kind, due_at, now).await
    }

    async fn set_labels(&self, conversation_id: i64, labels: &[String]) -> Result<Conversation> {
        SqlStore::set_labels(self, conversation_id, labels).await
    }

    async fn set_team(&self, conversation_id: i64, team: Option<&str>) -> Result<Conversation> {
        SqlStore::set_team(self, conversation_id, team).await
    }

    async fn set_agent_teams(&self, agent_id: i64, teams: &[String]) -> Result<()> {
        SqlStore::set_agent_teams(self, agent_id, teams).await
    }

    async fn visitor_contact(&self, visitor_id: i64, now: Millis) -> Result<Contact> {
        SqlStore::visitor_contact(self, visitor_id, now).await
    }

    async fn identify_visitor(
        &self,
        visitor_id: i64,
        external_id: &str,
        now: Millis,
    ) -> Result<Contact> {
        SqlStore::identify_visitor(self, visitor_id, external_id, now).await
    }

    async fn update_contact(
        &self,
        contact_id: i64,
        update: &ContactUpdate,
        now: Millis,
    ) -> Result<Contact> {
        SqlStore::update_contact(self, contact_id, update, now).await
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        SqlStore::contact(self, id).await
    }

    async fn set_account_manager(
        &self,
        contact_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Contact> {
        SqlStore::set_account_manager(self, contact_id, agent_id, now).await
    }

    async fn contacts_with_email(
        &self,
        site: &str,
        email: &str,
        exclude: i64,
    ) -> Result<Vec<Contact>> {
        SqlStore::contacts_with_email(self, site, email, exclude).await
    }

    async fn merge_contacts(&self, from: i64, into: i64, now: Millis) -> Result<Contact> {
        SqlStore::merge_contacts(self, from, into, now).await
    }

    async fn conversations_of_contact(
        &self,
        contact_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        SqlStore::conversations_of_contact(self, contact_id, limit).await
    }

    async fn add_note(
        &self,
        conversation_id: i64,
        agent_id: i64,
        client_id: &str,
        body: &str,
        now: Millis,
    ) -> Result<StoredNote> {
        SqlStore::add_note(self, conversation_id, agent_id, client_id, body, now).await
    }

    async fn notes(&self, conversation_id: i64) -> Result<Vec<StoredNote>> {
        SqlStore::notes(self, conversation_id).await
    }

    async fn open_load(&self) -> Result<std::collections::HashMap<i64, u32>> {
        SqlStore::open_load(self).await
    }

    async fn assigned_open(&self, agent_id: i64) -> Result<Vec<Conversation>> {
        SqlStore::assigned_open(self, agent_id).await
    }

    async fn unassigned_open(&self, limit: u32) -> Result<Vec<Conversation>> {
        SqlStore::unassigned_open(self, limit).await
    }

    async fn unassigned_count(&self, limit: u32) -> Result<u64> {
        SqlStore::unassigned_count(self, limit).await
    }

    async fn report_facts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        details: bool,
    ) -> Result<Vec<insights::Fact>> {
        SqlStore::report_facts(self, filter, since, until, details).await
    }

    async fn report_replies(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<insights::Reply>> {
        SqlStore::report_replies(self, filter, since, until).await
    }

    async fn open_facts(
        &self,
        filter: &ReportFilter,
        importance: &Importance,
        details: bool,
    ) -> Result<Vec<insights::Fact>> {
        SqlStore::open_facts(self, filter, importance, details).await
    }

    async fn report_facts_of(&self, ids: &[i64]) -> Result<Vec<insights::Fact>> {
        SqlStore::report_facts_of(self, ids).await
    }

    async fn report_topics(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        limit: u32,
    ) -> Result<Vec<(String, u64)>> {
        SqlStore::report_topics(self, filter, since, until, limit).await
    }

    async fn report_openers(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<(i64, String)>> {
        SqlStore::report_openers(self, filter, since, until).await
    }

    async fn top_contacts(
        &self,
        filter: &ReportFilter,
        since: Millis,
        until: Millis,
        limit: u32,
    ) -> Result<Vec<protocol::reports::TopContact>> {
        SqlStore::top_contacts(self, filter, since, until, limit).await
    }

    async fn deflections_between(
        &self,
        site: Option<&str>,
        since: Millis,
        until: Millis,
    ) -> Result<u64> {
        SqlStore::deflections_between(self, site, since, until).await
    }

    async fn live_counts(&self) -> Result<(u64, u64, u64)> {
        SqlStore::live_counts(self).await
    }

    async fn set_lead(&self, agent_id: i64, lead: bool) -> Result<()> {
        SqlStore::set_lead(self, agent_id, lead).await
    }

    async fn append_message(&self, message: NewMessage<'_>) -> Result<Appended> {
        SqlStore::append_message(self, message).await
    }

    fn pending_writes(&self) -> usize {
        self.writer.queued()
    }

    async fn messages_since(&self, after: (i64, u64), limit: u32) -> Result<Vec<StoredMessage>> {
        SqlStore::messages_since(self, after, limit).await
    }

    async fn notes_since(&self, after_id: i64, limit: u32) -> Result<Vec<(i64, StoredNote)>> {
        SqlStore::notes_since(self, after_id, limit).await
    }

    async fn conversations_since(&self, after_id: i64, limit: u32) -> Result<Vec<Conversation>> {
        SqlStore::conversations_since(self, after_id, limit).await
    }

    async fn messages_after(
        &self,
        conversation_id: i64,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>> {
        SqlStore::messages_after(self, conversation_id, after_seq, limit).await
    }

    async fn contact_data(&self, contact_id: i64) -> Result<Option<ContactData>> {
        SqlStore::contact_data(self, contact_id).await
    }

    async fn erase_contact(&self, contact_id: i64, now: Millis) -> Result<Erased> {
        SqlStore::erase_contact(self, contact_id, now).await
    }

    async fn expire(
        &self,
        before: Millis,
        expiry: Expiry,
        limit: u32,
        now: Millis,
    ) -> Result<Vec<i64>> {
        SqlStore::expire(self, before, expiry, limit, now).await
    }

    async fn erasures_since(&self, after_id: i64, limit: u32) -> Result<Vec<Erasure>> {
        SqlStore::erasures_since(self, after_id, limit).await
    }

    async fn record_search(&self, search: &SearchEvent<'_>) -> Result<()> {
        SqlStore::record_search(self, search).await
    }

    async fn expire_searches(&self, before: Millis) -> Result<u64> {
        SqlStore::expire_searches(self, before).await
    }

    async fn search_gaps(&self, query: &GapsQuery<'_>) -> Result<SearchGaps> {
        SqlStore::search_gaps(self, query).await
    }

    async fn set_effort(&self, conversation_id: i64, score: u8) -> Result<()> {
        SqlStore::set_effort(self, conversation_id, score).await
    }

    async fn email_due(
        &self,
        quiet_since: Millis,
        not_before: Millis,
        limit: u32,
    ) -> Result<Vec<crate::EmailDue>> {
        SqlStore::email_due(self, quiet_since, not_before, limit).await
    }

    async fn set_emailed(&self, conversation_id: i64, seq: u64) -> Result<bool> {
        SqlStore::set_emailed(self, conversation_id, seq).await
    }

    async fn add_attachment(
        &self,
        attachment: &crate::NewAttachment<'_>,
    ) -> Result<protocol::Attachment> {
        SqlStore::add_attachment(self, attachment).await
    }

    async fn claim_attachments(
        &self,
        ids: &[String],
        conversation_id: i64,
        visitor_id: Option<i64>,
    ) -> Result<Vec<protocol::Attachment>> {
        SqlStore::claim_attachments(self, ids, conversation_id, visitor_id).await
    }

    async fn attachment(&self, id: &str) -> Result<Option<crate::StoredAttachment>> {
        SqlStore::attachment(self, id).await
    }

    async fn expire_unsent_attachments(&self, before: Millis) -> Result<u64> {
        SqlStore::expire_unsent_attachments(self, before).await
    }

    async fn escalate(&self, escalation: &crate::NewEscalation<'_>) -> Result<crate::Escalation> {
        SqlStore::escalate(self, escalation).await
    }

    async fn escalation(&self, conversation_id: i64) -> Result<Option<crate::Escalation>> {
        SqlStore::escalation(self, conversation_id).await
    }

    async fn escalations_of_issue(
        &self,
        tracker: &str,
        issue_key: &str,
    ) -> Result<Vec<crate::Escalation>> {
        SqlStore::escalations_of_issue(self, tracker, issue_key).await
    }

    async fn set_escalation_status(
        &self,
        conversation_id: i64,
        status: &str,
        done: bool,
        now: Millis,
    ) -> Result<bool> {
        SqlStore::set_escalation_status(self, conversation_id, status, done, now).await
    }

    async fn search_funnel(
        &self,
        site: Option<&str>,
        since: Millis,
        until: Millis,
        raw: bool,
    ) -> Result<(u64, u64)> {
        SqlStore::search_funnel(self, site, since, until, raw).await
    }

    async fn sync_webhook_endpoints(
        &self,
        specs: &[crate::EndpointSpec],
        now: Millis,
    ) -> Result<Vec<crate::WebhookEndpoint>> {
        SqlStore::sync_webhook_endpoints(self, specs, now).await
    }

    async fn webhook_endpoints(&self) -> Result<Vec<crate::WebhookEndpoint>> {
        SqlStore::webhook_endpoints(self).await
    }

    async fn set_webhook_endpoint_disabled(
        &self,
        id: i64,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<crate::WebhookEndpoint> {
        SqlStore::set_webhook_endpoint_disabled(self, id, reason, now).await
    }

    async fn due_webhooks(&self, now: Millis, limit: u32) -> Result<Vec<crate::WebhookDelivery>> {
        SqlStore::due_webhooks(self, now, limit).await
    }

    async fn claim_webhooks(&self, ids: &[i64], ttl_ms: i64) -> Result<Vec<i64>> {
        SqlStore::claim_webhooks(self, ids, ttl_ms).await
    }

    async fn finish_webhooks(&self, done: &[(i64, crate::Attempt)], now: Millis) -> Result<()> {
        SqlStore::finish_webhooks(self, done, now).await
    }

    async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::WebhookDelivery>> {
        SqlStore::webhook_deliveries(self, endpoint_id, before, limit).await
    }

    async fn webhook_delivery(&self, id: i64) -> Result<Option<crate::WebhookDelivery>> {
        SqlStore::webhook_delivery(self, id).await
    }

    async fn replay_webhook(&self, id: i64, now: Millis) -> Result<crate::WebhookDelivery> {
        SqlStore::replay_webhook(self, id, now).await
    }

    async fn prune_webhooks(&self, before: Millis) -> Result<u64> {
        SqlStore::prune_webhooks(self, before).await
    }

    async fn emit_webhook(
        &self,
        conversation_id: i64,
        kind: protocol::webhooks::EventType,
        csat: bool,
        at: Millis,
    ) -> Result<()> {
        SqlStore::emit_webhook(self, conversation_id, kind, csat, at).await
    }
}
