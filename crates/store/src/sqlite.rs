//! The SQLite backend: one WAL-mode file, `synchronous = FULL`, migrations run at open.

use crate::{
    Agent, AgentCredentials, Appended, Contact, ContactData, ContactUpdate, Conversation,
    ConversationContext, Erased, Erasure, Expiry, MAX_CONTACT_ATTRIBUTES, MessageAuthor, Millis,
    NewAgent, NewMessage, Overdue, ReadBy, Result, SlaDues, SlaKind, Status, Store, StoreError,
    StoredMessage, StoredNote, Visitor,
};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, Sqlite, SqliteConnection, Transaction};
use std::path::Path;
use std::time::Duration;

mod batch;
mod privacy;
mod writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Longest preview kept for the inbox list, in characters.
const PREVIEW_CHARS: usize = 140;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The group-commit writer of the hot writes (messages, read receipts, SLA clocks).
    writer: writer::Writer,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    faults: writer::Faults,
}

impl SqliteStore {
    /// The conversation an `UPDATE … WHERE id = ?` just changed, or `NotFound` if it matched none.
    async fn changed_conversation(
        &self,
        result: sqlx::sqlite::SqliteQueryResult,
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

    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted content is overwritten, not left in free pages: an erased customer's
            // data must not stay readable in the file.
            .pragma("secure_delete", "on")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        // The writer's own connection, outside the pool: readers never wait for it.
        let conn = options.connect().await.map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let faults = writer::Faults::default();
        let writer = writer::Writer::start(conn, faults.clone());
        Ok(SqliteStore {
            pool,
            writer,
            faults,
        })
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

fn agent_from_row(row: &SqliteRow) -> Agent {
    Agent {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        admin: row.get::<i64, _>("is_admin") != 0,
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

fn conversation_from_row(row: &SqliteRow) -> Conversation {
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
            .get::<Option<bool>, _>("contact_is_verified")
            .unwrap_or(false),
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
     (SELECT group_concat(label, ',') FROM (SELECT label FROM conversation_labels l \
      WHERE l.conversation_id = c.id ORDER BY label)) AS labels, \
     (ct.external_id IS NOT NULL AND v.verified_as IS ct.external_id) AS contact_is_verified, \
     ct.name AS profile_name, ct.email AS profile_email \
     FROM conversations c LEFT JOIN agents a ON a.id = c.assignee_id \
     LEFT JOIN visitors v ON v.id = c.visitor_id LEFT JOIN contacts ct ON ct.id = c.contact_id";

/// Contact rows with the account manager's name.
const CONTACT_SELECT: &str = "SELECT ct.*, a.name AS manager_name FROM contacts ct \
     LEFT JOIN agents a ON a.id = ct.account_manager_id";

fn contact_from_row(row: &SqliteRow) -> Contact {
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

async fn contact_in(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<Contact> {
    let row = sqlx::query(&format!("{CONTACT_SELECT} WHERE ct.id = ?"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { what: "contact" })?;
    Ok(contact_from_row(&row))
}

/// Takes the write lock with a no-op write to the visitor (so the transaction never upgrades
/// from a read), then reads its site and current contact.
async fn lock_visitor(
    tx: &mut Transaction<'_, Sqlite>,
    visitor_id: i64,
) -> Result<(String, Option<i64>)> {
    let r = sqlx::query("UPDATE visitors SET contact_id = contact_id WHERE id = ?")
        .bind(visitor_id)
        .execute(&mut **tx)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "visitor" });
    }
    Ok(
        sqlx::query_as("SELECT site, contact_id FROM visitors WHERE id = ?")
            .bind(visitor_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Creates a contact (anonymous without `external_id`) and makes it the visitor's.
async fn new_contact_for(
    tx: &mut Transaction<'_, Sqlite>,
    visitor_id: i64,
    site: &str,
    external_id: Option<&str>,
    now: Millis,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (site, external_id, created_at, updated_at) VALUES (?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(site)
    .bind(external_id)
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE visitors SET contact_id = ? WHERE id = ?")
        .bind(id)
        .bind(visitor_id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Merges contact `from` into `into` inside `tx` (see `Store::merge_contacts`).
async fn merge_in(
    tx: &mut Transaction<'_, Sqlite>,
    from: i64,
    into: i64,
    now: Millis,
) -> Result<()> {
    if from == into {
        return Ok(());
    }
    let a = contact_in(tx, from).await?;
    let b = contact_in(tx, into).await?;
    let retired: Option<i64> = sqlx::query_scalar(
        "SELECT merged_into FROM contacts WHERE id IN (?, ?) AND merged_into IS NOT NULL",
    )
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
        sqlx::query(&format!(
            "UPDATE {table} SET contact_id = ? WHERE contact_id = ?"
        ))
        .bind(into)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE contacts SET merged_into = ?, external_id = NULL, updated_at = ? WHERE id = ?",
    )
    .bind(into)
    .bind(now)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE contacts SET name = coalesce(name, ?), email = coalesce(email, ?), \
         external_id = coalesce(external_id, ?), \
         account_manager_id = coalesce(account_manager_id, ?), attributes = ?, updated_at = ? \
         WHERE id = ?",
    )
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

fn note_from_row(row: &SqliteRow) -> StoredNote {
    StoredNote {
        conversation_id: row.get("conversation_id"),
        client_id: row.get("client_id"),
        agent_id: row.get("agent_id"),
        agent_name: row.get("agent_name"),
        body: row.get("body"),
        at: row.get("created_at"),
    }
}

fn message_from_row(row: &SqliteRow) -> StoredMessage {
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
    }
}

const MESSAGE_COLUMNS: &str = "m.conversation_id, m.seq, m.client_id, m.agent_id, m.body, \
     m.created_at, a.name AS agent_name FROM messages m LEFT JOIN agents a ON a.id = m.agent_id";

fn preview(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

async fn existing_message(
    conn: &mut SqliteConnection,
    conversation_id: i64,
    kind: &str,
    client_id: &str,
) -> Result<Option<StoredMessage>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? AND m.author_kind = ? AND m.client_id = ?"
    );
    let row = sqlx::query(&sql)
        .bind(conversation_id)
        .bind(kind)
        .bind(client_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(message_from_row))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_agent(&self, agent: NewAgent, now: Millis) -> Result<Agent> {
        let result = sqlx::query(
            "INSERT INTO agents (email, name, password_hash, is_admin, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING id, email, name, is_admin, disabled, languages, teams",
        )
        .bind(&agent.email)
        .bind(&agent.name)
        .bind(&agent.password_hash)
        .bind(agent.admin as i64)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(agent_from_row(&row)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict { what: "agent" })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn agent_credentials(&self, email: &str) -> Result<Option<AgentCredentials>> {
        let row = sqlx::query(
            "SELECT id, email, name, is_admin, disabled, languages, teams, password_hash FROM agents WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| AgentCredentials {
            agent: agent_from_row(&row),
            password_hash: row.get("password_hash"),
        }))
    }

    async fn agent(&self, id: i64) -> Result<Option<Agent>> {
        let row = sqlx::query(
            "SELECT id, email, name, is_admin, disabled, languages, teams FROM agents WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(agent_from_row))
    }

    async fn agent_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM agents")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn create_session(
        &self,
        token_hash: &str,
        agent_id: i64,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(agent_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_agent(&self, token_hash: &str, now: Millis) -> Result<Option<Agent>> {
        let row = sqlx::query(
            "SELECT a.id, a.email, a.name, a.is_admin, a.disabled, a.languages, a.teams FROM agent_sessions s \
             JOIN agents a ON a.id = s.agent_id \
             WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(agent_from_row))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM agent_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_visitor(&self, token_hash: &str, site: &str, now: Millis) -> Result<Visitor> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO visitors (token_hash, site, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(token_hash)
        .bind(site)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(Visitor {
            id,
            site: site.to_owned(),
            verified_as: None,
        })
    }

    async fn visitor(&self, token_hash: &str) -> Result<Option<Visitor>> {
        let row = sqlx::query("SELECT id, site, verified_as FROM visitors WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| Visitor {
            id: row.get("id"),
            site: row.get("site"),
            verified_as: row.get("verified_as"),
        }))
    }

    async fn open_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.visitor_id = ? AND c.status = 'open'"
        ))
        .bind(visitor_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(conversation_from_row))
    }

    async fn open_or_create_conversation(
        &self,
        visitor: &Visitor,
        context: &ConversationContext,
        now: Millis,
    ) -> Result<Conversation> {
        // The partial unique index makes this atomic: a concurrent creator's insert is ignored.
        sqlx::query(
            "INSERT INTO conversations (visitor_id, site, page_url, locale, created_at, updated_at, \
             contact_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
             (SELECT contact_id FROM visitors WHERE id = ?1)) ON CONFLICT DO NOTHING",
        )
        .bind(visitor.id)
        .bind(&visitor.site)
        .bind(&context.page_url)
        .bind(&context.locale)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.open_conversation(visitor.id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "open conversation",
            })
    }

    async fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(&format!("{CONVERSATION_SELECT} WHERE c.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(conversation_from_row))
    }

    async fn conversations(&self, ids: &[i64]) -> Result<Vec<Conversation>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("{CONVERSATION_SELECT} WHERE c.id IN ({marks})");
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query.fetch_all(&self.pool).await?;
            out.extend(rows.iter().map(conversation_from_row));
        }
        Ok(out)
    }

    async fn list_open_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(
            &format!("{CONVERSATION_SELECT} WHERE c.status = 'open' ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"),
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    async fn latest_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.visitor_id = ? ORDER BY c.id DESC LIMIT 1"
        ))
        .bind(visitor_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(conversation_from_row))
    }

    async fn set_context(&self, conversation_id: i64, context: &str) -> Result<()> {
        sqlx::query("UPDATE conversations SET context = ? WHERE id = ? AND context IS NULL")
            .bind(context)
            .bind(conversation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        conversation_id: i64,
        status: Status,
        now: Millis,
    ) -> Result<Conversation> {
        let (status_text, resolved_at) = match status {
            Status::Open => ("open", None),
            Status::Resolved => ("resolved", Some(now)),
        };
        let result = sqlx::query(
            "UPDATE conversations SET status = ?1, resolved_at = ?2, updated_at = ?3, \
             next_response_from = CASE WHEN ?1 = 'open' THEN next_response_from END, \
             next_response_due = CASE WHEN ?1 = 'open' THEN next_response_due END, \
             resolution_due = CASE WHEN ?1 = 'open' THEN resolution_due END WHERE id = ?4",
        )
        .bind(status_text)
        .bind(resolved_at)
        .bind(now)
        .bind(conversation_id)
        .execute(&self.pool)
        .await;
        match result {
            Ok(r) => self.changed_conversation(r, conversation_id).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict {
                what: "an open conversation for this visitor",
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn rate(&self, conversation_id: i64, score: u8, comment: Option<&str>) -> Result<()> {
        let r = sqlx::query("UPDATE conversations SET rating = ?, rating_comment = ? WHERE id = ?")
            .bind(i64::from(score))
            .bind(comment)
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

    async fn set_contact(
        &self,
        conversation_id: i64,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE conversations SET contact_name = coalesce(?, contact_name), \
             contact_email = coalesce(?, contact_email) WHERE id = ?",
        )
        .bind(name)
        .bind(email)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_read(&self, conversation_id: i64, by: ReadBy, seq: u64) -> Result<()> {
        self.writer.mark_read(conversation_id, by, seq).await
    }

    async fn record_deflection(
        &self,
        site: &str,
        visitor_id: i64,
        query: &str,
        article: &str,
        now: Millis,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO deflections (site, visitor_id, query, article, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (visitor_id, query, article) DO NOTHING",
        )
        .bind(site)
        .bind(visitor_id)
        .bind(query)
        .bind(article)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn deflection_count(&self, site: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM deflections WHERE site = ?")
            .bind(site)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(
            "SELECT id, email, name, is_admin, disabled, languages, teams FROM agents ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(agent_from_row).collect())
    }

    async fn set_agent_disabled(&self, agent_id: i64, disabled: bool) -> Result<Agent> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE agents SET disabled = ? WHERE id = ?")
            .bind(disabled as i64)
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        if disabled {
            sqlx::query("DELETE FROM agent_sessions WHERE agent_id = ?")
                .bind(agent_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.agent(agent_id)
            .await?
            .ok_or(StoreError::NotFound { what: "agent" })
    }

    async fn set_password_hash(&self, agent_id: i64, password_hash: &str) -> Result<()> {
        let r = sqlx::query("UPDATE agents SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }

    async fn set_agent_languages(&self, agent_id: i64, languages: &[String]) -> Result<()> {
        let r = sqlx::query("UPDATE agents SET languages = ? WHERE id = ?")
            .bind(languages.join(","))
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }

    async fn conversations_of_visitor(
        &self,
        visitor_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.visitor_id = ? ORDER BY c.id DESC LIMIT ?"
        ))
        .bind(visitor_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    async fn delete_sessions_of(&self, agent_id: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM agent_sessions WHERE agent_id = ?")
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn assign(
        &self,
        conversation_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Conversation> {
        let r =
            sqlx::query("UPDATE conversations SET assignee_id = ?, updated_at = ? WHERE id = ?")
                .bind(agent_id)
                .bind(now)
                .bind(conversation_id)
                .execute(&self.pool)
                .await?;
        self.changed_conversation(r, conversation_id).await
    }

    async fn set_priority(
        &self,
        conversation_id: i64,
        priority: &str,
        dues: SlaDues,
    ) -> Result<Conversation> {
        let r = sqlx::query(
            "UPDATE conversations SET priority = ?, first_response_due = ?, \
             next_response_due = CASE WHEN next_response_from IS NOT NULL THEN ? END, \
             resolution_due = CASE WHEN status = 'open' THEN ? END WHERE id = ?",
        )
        .bind(priority)
        .bind(dues.first_response)
        .bind(dues.next_response)
        .bind(dues.resolution)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        self.changed_conversation(r, conversation_id).await
    }

    async fn begin_next_response(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<bool> {
        self.writer
            .begin_next_response(conversation_id, from, due)
            .await
    }

    async fn set_resolution_due(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE conversations SET resolution_from = ?, resolution_due = ? WHERE id = ?",
        )
        .bind(from)
        .bind(due)
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

    async fn overdue(&self, now: Millis) -> Result<Vec<Overdue>> {
        // One arm per deadline: pending, passed, and not yet in `sla_breaches`.
        let arm = |kind: SlaKind, column: &str, pending: &str| {
            format!(
                "SELECT * FROM ({CONVERSATION_SELECT}) x, (SELECT '{kind}' AS sla_kind) \
                 WHERE x.status = 'open' AND {pending} x.{column} IS NOT NULL AND x.{column} <= ?1 \
                 AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.conversation_id = x.id \
                 AND b.kind = '{kind}' AND b.due_at = x.{column})",
                kind = kind.as_str()
            )
        };
        let sql = format!(
            "{} UNION ALL {} UNION ALL {} LIMIT 500",
            arm(
                SlaKind::FirstResponse,
                "first_response_due",
                "x.first_response_at IS NULL AND"
            ),
            arm(SlaKind::NextResponse, "next_response_due", ""),
            arm(SlaKind::Resolution, "resolution_due", ""),
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&self.pool).await?;
        let mut out: Vec<Overdue> = rows
            .iter()
            .filter_map(|row| {
                let conversation = conversation_from_row(row);
                let kind = SlaKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == row.get::<String, _>("sla_kind"))?;
                let due = conversation.due(kind)?;
                Some(Overdue {
                    conversation,
                    kind,
                    due,
                })
            })
            .collect();
        out.sort_by_key(|o| o.due);
        Ok(out)
    }

    async fn record_breach(
        &self,
        conversation_id: i64,
        kind: SlaKind,
        due_at: Millis,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO sla_breaches (conversation_id, kind, due_at, breached_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (conversation_id, kind, due_at) DO NOTHING",
        )
        .bind(conversation_id)
        .bind(kind.as_str())
        .bind(due_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE conversations SET sla_breached_at = ? WHERE id = ?")
            .bind(now)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_labels(&self, conversation_id: i64, labels: &[String]) -> Result<Conversation> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE conversations SET updated_at = updated_at WHERE id = ?")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
            });
        }
        sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = ?")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        for label in labels {
            sqlx::query(
                "INSERT INTO conversation_labels (conversation_id, label) VALUES (?, ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(conversation_id)
            .bind(label)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.conversation(conversation_id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "conversation",
            })
    }

    async fn set_team(&self, conversation_id: i64, team: Option<&str>) -> Result<Conversation> {
        let r = sqlx::query("UPDATE conversations SET team = ? WHERE id = ?")
            .bind(team)
            .bind(conversation_id)
            .execute(&self.pool)
            .await?;
        self.changed_conversation(r, conversation_id).await
    }

    async fn set_agent_teams(&self, agent_id: i64, teams: &[String]) -> Result<()> {
        let r = sqlx::query("UPDATE agents SET teams = ? WHERE id = ?")
            .bind(teams.join(","))
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }

    async fn visitor_contact(&self, visitor_id: i64, now: Millis) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        let (site, existing) = lock_visitor(&mut tx, visitor_id).await?;
        let id = match existing {
            Some(id) => id,
            None => {
                let id = new_contact_for(&mut tx, visitor_id, &site, None, now).await?;
                sqlx::query(
                    "UPDATE conversations SET contact_id = ? WHERE visitor_id = ? AND contact_id IS NULL",
                )
                .bind(id)
                .bind(visitor_id)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        let contact = contact_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(contact)
    }

    async fn identify_visitor(
        &self,
        visitor_id: i64,
        external_id: &str,
        now: Millis,
    ) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        let (site, current) = lock_visitor(&mut tx, visitor_id).await?;
        let current_external: Option<String> = match current {
            Some(id) => {
                sqlx::query_scalar("SELECT external_id FROM contacts WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
            }
            None => None,
        };
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE site = ? AND external_id = ? AND merged_into IS NULL",
        )
        .bind(&site)
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await?;
        let target = match (known, current, current_external.as_deref()) {
            // Already identified as this user.
            (Some(k), Some(c), _) if k == c => k,
            // A returning user on a new browser: the anonymous contact joins the known one.
            (Some(k), Some(c), None) => {
                merge_in(&mut tx, c, k, now).await?;
                k
            }
            // Another account on this browser, or no contact yet: link to the known one.
            (Some(k), _, _) => {
                sqlx::query("UPDATE visitors SET contact_id = ? WHERE id = ?")
                    .bind(k)
                    .bind(visitor_id)
                    .execute(&mut *tx)
                    .await?;
                k
            }
            // First time this user is seen: the anonymous contact becomes theirs.
            (None, Some(c), None) => {
                sqlx::query("UPDATE contacts SET external_id = ?, updated_at = ? WHERE id = ?")
                    .bind(external_id)
                    .bind(now)
                    .bind(c)
                    .execute(&mut *tx)
                    .await?;
                c
            }
            (None, _, _) => {
                new_contact_for(&mut tx, visitor_id, &site, Some(external_id), now).await?
            }
        };
        sqlx::query("UPDATE visitors SET contact_id = ?, verified_as = ? WHERE id = ?")
            .bind(target)
            .bind(external_id)
            .bind(visitor_id)
            .execute(&mut *tx)
            .await?;
        // The conversation open now is the identified user's; earlier ones stay whose they were.
        sqlx::query(
            "UPDATE conversations SET contact_id = ? WHERE visitor_id = ? AND (status = 'open' OR contact_id IS NULL)",
        )
        .bind(target)
        .bind(visitor_id)
        .execute(&mut *tx)
        .await?;
        let contact = contact_in(&mut tx, target).await?;
        tx.commit().await?;
        Ok(contact)
    }

    async fn update_contact(
        &self,
        contact_id: i64,
        update: &ContactUpdate,
        now: Millis,
    ) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE contacts SET name = coalesce(?, name), email = coalesce(?, email), \
             updated_at = ? WHERE id = ?",
        )
        .bind(&update.name)
        .bind(&update.email)
        .bind(now)
        .bind(contact_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "contact" });
        }
        if !update.attributes.is_empty() {
            let current = contact_in(&mut tx, contact_id).await?;
            let attributes = merged_attributes(current.attributes, &update.attributes);
            sqlx::query("UPDATE contacts SET attributes = ? WHERE id = ?")
                .bind(serde_json::to_string(&attributes).expect("strings serialize"))
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
        }
        let contact = contact_in(&mut tx, contact_id).await?;
        tx.commit().await?;
        Ok(contact)
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let mut id = id;
        // Follow merges (a short chain: each merge retires one contact).
        for _ in 0..16 {
            let next: Option<Option<i64>> =
                sqlx::query_scalar("SELECT merged_into FROM contacts WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            match next {
                None => return Ok(None),
                Some(Some(into)) => id = into,
                Some(None) => break,
            }
        }
        let row = sqlx::query(&format!("{CONTACT_SELECT} WHERE ct.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(contact_from_row))
    }

    async fn set_account_manager(
        &self,
        contact_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Contact> {
        let result = sqlx::query(
            "UPDATE contacts SET account_manager_id = ?, updated_at = ? WHERE id = ? AND merged_into IS NULL",
        )
        .bind(agent_id)
        .bind(now)
        .bind(contact_id)
        .execute(&self.pool)
        .await;
        match result {
            Ok(r) if r.rows_affected() == 0 => Err(StoreError::NotFound { what: "contact" }),
            Ok(_) => self
                .contact(contact_id)
                .await?
                .ok_or(StoreError::NotFound { what: "contact" }),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(StoreError::NotFound { what: "agent" })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn contacts_with_email(
        &self,
        site: &str,
        email: &str,
        exclude: i64,
    ) -> Result<Vec<Contact>> {
        let rows = sqlx::query(&format!(
            "{CONTACT_SELECT} WHERE ct.site = ? AND ct.email = ? COLLATE NOCASE \
             AND ct.merged_into IS NULL AND ct.id != ? ORDER BY ct.id LIMIT 20"
        ))
        .bind(site)
        .bind(email)
        .bind(exclude)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(contact_from_row).collect())
    }

    async fn merge_contacts(&self, from: i64, into: i64, now: Millis) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        // Take the write lock first.
        sqlx::query("UPDATE contacts SET updated_at = updated_at WHERE id = ?")
            .bind(into)
            .execute(&mut *tx)
            .await?;
        merge_in(&mut tx, from, into, now).await?;
        let contact = contact_in(&mut tx, into).await?;
        tx.commit().await?;
        Ok(contact)
    }

    async fn conversations_of_contact(
        &self,
        contact_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.contact_id = ? ORDER BY c.id DESC LIMIT ?"
        ))
        .bind(contact_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    async fn add_note(
        &self,
        conversation_id: i64,
        agent_id: i64,
        client_id: &str,
        body: &str,
        now: Millis,
    ) -> Result<StoredNote> {
        let result = sqlx::query(
            "INSERT INTO notes (conversation_id, agent_id, client_id, body, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (conversation_id, agent_id, client_id) DO NOTHING",
        )
        .bind(conversation_id)
        .bind(agent_id)
        .bind(client_id)
        .bind(body)
        .bind(now)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(StoreError::NotFound {
                    what: "conversation",
                });
            }
            Err(e) => return Err(e.into()),
        }
        let row = sqlx::query(&format!(
            "{NOTE_SELECT} WHERE n.conversation_id = ? AND n.agent_id = ? AND n.client_id = ?"
        ))
        .bind(conversation_id)
        .bind(agent_id)
        .bind(client_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(note_from_row(&row))
    }

    async fn notes(&self, conversation_id: i64) -> Result<Vec<StoredNote>> {
        let rows = sqlx::query(&format!(
            "{NOTE_SELECT} WHERE n.conversation_id = ? ORDER BY n.id"
        ))
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(note_from_row).collect())
    }

    async fn open_load(&self) -> Result<std::collections::HashMap<i64, u32>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT assignee_id, count(*) FROM conversations \
             WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, n)| (id, n as u32)).collect())
    }

    async fn assigned_open(&self, agent_id: i64) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.status = 'open' AND c.assignee_id = ? ORDER BY c.id"
        ))
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    async fn unassigned_open(&self, limit: u32) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.status = 'open' AND c.assignee_id IS NULL ORDER BY c.id LIMIT ?"
        ))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    async fn append_message(&self, message: NewMessage<'_>) -> Result<Appended> {
        self.writer
            .append(writer::Message {
                conversation_id: message.conversation_id,
                client_id: message.client_id.to_owned(),
                agent_id: message.agent_id,
                body: message.body.to_owned(),
                at: message.at,
            })
            .await
    }

    fn pending_writes(&self) -> usize {
        self.writer.queued()
    }

    async fn messages_since(&self, after: (i64, u64), limit: u32) -> Result<Vec<StoredMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} WHERE (m.conversation_id, m.seq) > (?, ?) \
             ORDER BY m.conversation_id, m.seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(after.0)
            .bind(after.1 as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(message_from_row).collect())
    }

    async fn notes_since(&self, after_id: i64, limit: u32) -> Result<Vec<(i64, StoredNote)>> {
        let rows = sqlx::query(&format!(
            "{NOTE_SELECT_WITH_ID} WHERE n.id > ? ORDER BY n.id LIMIT ?"
        ))
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("note_id"), note_from_row(r)))
            .collect())
    }

    async fn conversations_since(&self, after_id: i64, limit: u32) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&format!(
            "{CONVERSATION_SELECT} WHERE c.id > ? ORDER BY c.id LIMIT ?"
        ))
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    async fn messages_after(
        &self,
        conversation_id: i64,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(after_seq as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(message_from_row).collect())
    }

    async fn contact_data(&self, contact_id: i64) -> Result<Option<ContactData>> {
        self.contact_data_impl(contact_id).await
    }

    async fn erase_contact(&self, contact_id: i64, now: Millis) -> Result<Erased> {
        self.erase_contact_impl(contact_id, now).await
    }

    async fn expire(
        &self,
        before: Millis,
        expiry: Expiry,
        limit: u32,
        now: Millis,
    ) -> Result<Vec<i64>> {
        self.expire_impl(before, expiry, limit, now).await
    }

    async fn erasures_since(&self, after_id: i64, limit: u32) -> Result<Vec<Erasure>> {
        self.erasures_since_impl(after_id, limit).await
    }
}
