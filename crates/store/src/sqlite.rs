//! The SQLite backend: one WAL-mode file, `synchronous = FULL`, migrations run at open.

use crate::{
    Agent, AgentCredentials, Appended, Conversation, ConversationContext, MessageAuthor, Millis,
    NewAgent, NewMessage, Overdue, ReadBy, Result, SlaDues, SlaKind, Status, Store, StoreError,
    StoredMessage, StoredNote, Visitor,
};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Longest preview kept for the inbox list, in characters.
const PREVIEW_CHARS: usize = 140;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
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
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
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
        contact_name: row.get("contact_name"),
        contact_email: row.get("contact_email"),
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
    }
}

/// Note rows with their author's name.
const NOTE_SELECT: &str = "SELECT n.conversation_id, n.client_id, n.agent_id, a.name AS agent_name, \
     n.body, n.created_at FROM notes n JOIN agents a ON a.id = n.agent_id";

/// Conversation rows with the assignee's name and the labels (sorted, comma-separated: labels
/// never contain a comma).
const CONVERSATION_SELECT: &str = "SELECT c.*, a.name AS assignee_name, \
     (SELECT group_concat(label, ',') FROM (SELECT label FROM conversation_labels l \
      WHERE l.conversation_id = c.id ORDER BY label)) AS labels \
     FROM conversations c LEFT JOIN agents a ON a.id = c.assignee_id";

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
    tx: &mut Transaction<'_, Sqlite>,
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
        .fetch_optional(&mut **tx)
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
        })
    }

    async fn visitor(&self, token_hash: &str) -> Result<Option<Visitor>> {
        let row = sqlx::query("SELECT id, site FROM visitors WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| Visitor {
            id: row.get("id"),
            site: row.get("site"),
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
            "INSERT INTO conversations (visitor_id, site, page_url, locale, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
        let column = match by {
            ReadBy::Visitor => "visitor_read",
            ReadBy::Agent => "agent_read",
        };
        let sql = format!(
            "UPDATE conversations SET {column} = min(max({column}, ?), last_seq) WHERE id = ?"
        );
        sqlx::query(&sql)
            .bind(seq as i64)
            .bind(conversation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
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
            "INSERT INTO deflections (site, visitor_id, query, article, created_at) VALUES (?, ?, ?, ?, ?)",
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
        let r = sqlx::query(
            "UPDATE conversations SET next_response_from = ?, next_response_due = ? \
             WHERE id = ? AND status = 'open' AND next_response_from IS NULL \
             AND last_author = 'visitor' AND first_response_at IS NOT NULL",
        )
        .bind(from)
        .bind(due)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
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
        let kind = if message.agent_id.is_some() {
            "agent"
        } else {
            "visitor"
        };
        let mut tx = self.pool.begin().await?;
        // Write first, so this transaction holds SQLite's write lock from its first statement
        // and the busy timeout (not a snapshot conflict) governs concurrent writers.
        let seq: Option<i64> = sqlx::query_scalar(
            // Numbered parameters only: sqlx counts unnumbered ones on its own, so mixing the
            // two forms binds the wrong values.
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ?1, preview = ?2, \
             last_author = ?3, first_response_at = CASE WHEN ?3 = 'agent' \
             THEN coalesce(first_response_at, ?1) ELSE first_response_at END, \
             next_response_from = CASE WHEN ?3 = 'agent' THEN NULL ELSE next_response_from END, \
             next_response_due = CASE WHEN ?3 = 'agent' THEN NULL ELSE next_response_due END \
             WHERE id = ?4 RETURNING last_seq",
        )
        .bind(message.at)
        .bind(preview(message.body))
        .bind(kind)
        .bind(message.conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else {
            return Err(StoreError::NotFound {
                what: "conversation",
            });
        };
        if let Some(existing) =
            existing_message(&mut tx, message.conversation_id, kind, message.client_id).await?
        {
            tx.rollback().await?;
            return Ok(Appended {
                message: existing,
                duplicate: true,
            });
        }
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, client_id, author_kind, agent_id, body, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(message.conversation_id)
        .bind(seq)
        .bind(message.client_id)
        .bind(kind)
        .bind(message.agent_id)
        .bind(message.body)
        .bind(message.at)
        .execute(&mut *tx)
        .await?;
        let stored = existing_message(&mut tx, message.conversation_id, kind, message.client_id)
            .await?
            .ok_or(StoreError::NotFound { what: "message" })?;
        tx.commit().await?;
        Ok(Appended {
            message: stored,
            duplicate: false,
        })
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
}
