//! Customer data: a contact's export, its erasure, retention, and the erasure log.
//!
//! The statements are written over the contact's "family" (the contact and every contact
//! merged into it, followed with a recursive CTE) and over explicit id lists, in SQL that
//! PostgreSQL reads the same way.

use super::Db;
use super::dialect::{self, q};
use super::{
    CONTACT_SELECT, CONVERSATION_SELECT, MESSAGE_COLUMNS, NOTE_SELECT, SqlStore, contact_from_row,
    conversation_from_row, message_from_row, note_from_row,
};
use crate::{
    ContactData, ConversationData, Deflection, Erased, Erasure, Expiry, Millis, Result, StoreError,
};
use sqlx::{Row, Transaction};

/// The contact `?1` and every contact merged into it, at any depth.
const FAMILY: &str = "WITH RECURSIVE family(id) AS (SELECT CAST(?1 AS BIGINT) UNION \
     SELECT ct.id FROM contacts ct JOIN family f ON ct.merged_into = f.id)";

/// The conversations of the family: its own, and those of its browsers that predate contacts.
const FAMILY_CONVERSATIONS: &str = "SELECT c.id FROM conversations c \
     WHERE c.contact_id IN (SELECT id FROM family) \
     OR (c.contact_id IS NULL AND c.visitor_id IN \
         (SELECT v.id FROM visitors v WHERE v.contact_id IN (SELECT id FROM family)))";

/// Ids per statement in `IN (…)` lists (SQLite binds at most 32,766 parameters).
const CHUNK: usize = 500;

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Runs `sql` (with one `{ids}` hole) for every chunk of `ids`.
async fn for_ids(tx: &mut Transaction<'_, Db>, sql: &str, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let sql = sql.replace("{ids}", &marks(chunk.len()));
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Removes the webhook outbox rows (pending or sent) of the streams `{kind}:{id}`: their
/// payloads hold what was erased.
async fn delete_deliveries(tx: &mut Transaction<'_, Db>, kind: &str, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM webhook_deliveries WHERE stream IN ({})",
            marks(chunk.len())
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(format!("{kind}:{id}"));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Removes conversations with everything that hangs off them.
async fn delete_conversations(tx: &mut Transaction<'_, Db>, ids: &[i64]) -> Result<()> {
    delete_deliveries(tx, "conversation", ids).await?;
    for table in [
        "attachments",
        "messages",
        "notes",
        "conversation_labels",
        "sla_breaches",
        "response_times",
        "escalations",
    ] {
        for_ids(
            tx,
            &format!("DELETE FROM {table} WHERE conversation_id IN ({{ids}})"),
            ids,
        )
        .await?;
    }
    for_ids(tx, "DELETE FROM conversations WHERE id IN ({ids})", ids).await
}

async fn log_erasures(
    tx: &mut Transaction<'_, Db>,
    conversations: &[i64],
    visitors: &[i64],
    now: Millis,
) -> Result<()> {
    for &id in conversations {
        sqlx::query(&q(
            "INSERT INTO erasures (conversation_id, erased_at) VALUES (?, ?)",
        ))
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for &id in visitors {
        sqlx::query(&q(
            "INSERT INTO erasures (visitor_id, erased_at) VALUES (?, ?)",
        ))
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl SqlStore {
    /// The surviving contact a (possibly merged) id resolves to.
    async fn survivor(&self, id: i64) -> Result<Option<crate::Contact>> {
        crate::Store::contact(self, id).await
    }

    /// What the backend does after an erasure so that no copy of the erased rows stays in its
    /// files (`dialect::AFTER_ERASURE`). Best effort: on SQLite a reader holding an old snapshot
    /// delays the WAL's truncation to a later checkpoint.
    async fn scrub_wal(&self) {
        let Some(sql) = dialect::AFTER_ERASURE else {
            return;
        };
        if let Err(e) = sqlx::query(sql).execute(&self.pool).await {
            tracing::warn!(error = %e, "scrubbing after an erasure failed");
        }
    }

    pub(super) async fn contact_data(&self, contact_id: i64) -> Result<Option<ContactData>> {
        let Some(contact) = self.survivor(contact_id).await? else {
            return Ok(None);
        };
        let mut tx = self.pool.begin().await?;
        let merged = sqlx::query(&q(&format!(
            "{FAMILY} {CONTACT_SELECT} WHERE ct.id IN (SELECT id FROM family) AND ct.id != ?1 \
             ORDER BY ct.id"
        )))
        .bind(contact.id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(contact_from_row)
        .collect();
        let conversations: Vec<_> = sqlx::query(&q(&format!(
            "{FAMILY} {CONVERSATION_SELECT} WHERE c.id IN ({FAMILY_CONVERSATIONS}) ORDER BY c.id"
        )))
        .bind(contact.id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(conversation_from_row)
        .collect();
        let mut out = Vec::with_capacity(conversations.len());
        for conversation in conversations {
            let messages = sqlx::query(&q(&format!(
                "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? ORDER BY m.seq"
            )))
            .bind(conversation.id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(message_from_row)
            .collect();
            let notes = sqlx::query(&q(&format!(
                "{NOTE_SELECT} WHERE n.conversation_id = ? ORDER BY n.id"
            )))
            .bind(conversation.id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(note_from_row)
            .collect();
            out.push(ConversationData {
                conversation,
                messages,
                notes,
            });
        }
        let deflections = sqlx::query(&q(&format!(
            "{FAMILY} SELECT d.query, d.article, d.created_at FROM deflections d \
             WHERE d.visitor_id IN (SELECT v.id FROM visitors v \
                                    WHERE v.contact_id IN (SELECT id FROM family)) \
             ORDER BY d.id"
        )))
        .bind(contact.id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Deflection {
            query: row.get("query"),
            article: row.get("article"),
            at: row.get("created_at"),
        })
        .collect();
        tx.commit().await?;
        Ok(Some(ContactData {
            contact,
            merged,
            conversations: out,
            deflections,
        }))
    }

    // Widget searches (`searches.rs`) are left alone: they hold no personal data, and their
    // visitor key is an HMAC of the browser's token, which the database never stores (only the
    // token's SHA-256), so nothing here could even find this contact's searches.
    pub(super) async fn erase_contact(&self, contact_id: i64, now: Millis) -> Result<Erased> {
        let contact = self
            .survivor(contact_id)
            .await?
            .ok_or(StoreError::NotFound { what: "contact" })?;
        let mut tx = self.pool.begin().await?;
        // Take the write lock first (the transaction never upgrades from a read).
        sqlx::query(&q(
            "UPDATE contacts SET updated_at = updated_at WHERE id = ?",
        ))
        .bind(contact.id)
        .execute(&mut *tx)
        .await?;
        let mut ids = async |sql: String| -> Result<Vec<i64>> {
            Ok(sqlx::query_scalar(&q(&sql))
                .bind(contact.id)
                .fetch_all(&mut *tx)
                .await?)
        };
        let contacts = ids(format!("{FAMILY} SELECT id FROM family ORDER BY id")).await?;
        let conversations = ids(format!("{FAMILY} {FAMILY_CONVERSATIONS} ORDER BY c.id")).await?;
        let visitors = ids(format!(
            "{FAMILY} SELECT v.id FROM visitors v WHERE v.contact_id IN (SELECT id FROM family) \
             ORDER BY v.id"
        ))
        .await?;
        delete_conversations(&mut tx, &conversations).await?;
        for_ids(
            &mut tx,
            "DELETE FROM deflections WHERE visitor_id IN ({ids})",
            &visitors,
        )
        .await?;
        // Files its browsers uploaded but never sent.
        for_ids(
            &mut tx,
            "DELETE FROM attachments WHERE visitor_id IN ({ids}) AND conversation_id IS NULL",
            &visitors,
        )
        .await?;
        // A browser that still holds another contact's conversation (another account used it)
        // stays for that one, unlinked from this contact; the others go.
        for_ids(
            &mut tx,
            "UPDATE visitors SET contact_id = NULL, verified_as = NULL WHERE id IN ({ids})",
            &visitors,
        )
        .await?;
        for_ids(
            &mut tx,
            "DELETE FROM visitors WHERE id IN ({ids}) AND NOT EXISTS \
             (SELECT 1 FROM conversations c WHERE c.visitor_id = visitors.id)",
            &visitors,
        )
        .await?;
        delete_deliveries(&mut tx, "contact", &contacts).await?;
        for_ids(
            &mut tx,
            "DELETE FROM contacts WHERE id IN ({ids})",
            &contacts,
        )
        .await?;
        log_erasures(&mut tx, &conversations, &visitors, now).await?;
        tx.commit().await?;
        self.scrub_wal().await;
        Ok(Erased {
            contacts,
            conversations,
            visitors,
        })
    }

    pub(super) async fn expire(
        &self,
        before: Millis,
        expiry: Expiry,
        limit: u32,
        now: Millis,
    ) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        // Take the write lock first.
        sqlx::query(&q("UPDATE erasures SET id = id WHERE 1 = 0"))
            .execute(&mut *tx)
            .await?;
        let due: Vec<i64> = sqlx::query_scalar(&q(
            "SELECT id FROM conversations WHERE status = 'resolved' AND updated_at < ? \
             AND anonymized_at IS NULL ORDER BY updated_at, id LIMIT ?",
        ))
        .bind(before)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        match expiry {
            Expiry::Delete => {
                delete_conversations(&mut tx, &due).await?;
                sqlx::query(&q("DELETE FROM deflections WHERE created_at < ?"))
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
            }
            Expiry::Anonymize => {
                delete_deliveries(&mut tx, "conversation", &due).await?;
                for_ids(
                    &mut tx,
                    "UPDATE messages SET body = '', attachments = '' WHERE conversation_id IN ({ids})",
                    &due,
                )
                .await?;
                // A file is words too: it goes with them.
                for_ids(
                    &mut tx,
                    "DELETE FROM attachments WHERE conversation_id IN ({ids})",
                    &due,
                )
                .await?;
                for_ids(
                    &mut tx,
                    "DELETE FROM notes WHERE conversation_id IN ({ids})",
                    &due,
                )
                .await?;
                let sql = format!(
                    "UPDATE conversations SET preview = NULL, page_url = NULL, context = NULL, \
                     contact_name = NULL, contact_email = NULL, rating_comment = NULL, \
                     contact_id = NULL, anonymized_at = {now}, facts_rev = facts_rev + 1 \
                     WHERE id IN ({{ids}})"
                );
                for_ids(&mut tx, &sql, &due).await?;
                sqlx::query(&q("UPDATE deflections SET visitor_id = NULL \
                     WHERE created_at < ? AND visitor_id IS NOT NULL"))
                .bind(before)
                .execute(&mut *tx)
                .await?;
            }
        }
        log_erasures(&mut tx, &due, &[], now).await?;
        tx.commit().await?;
        if !due.is_empty() {
            self.scrub_wal().await;
        }
        Ok(due)
    }

    pub(super) async fn latest_erasure(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(&q(
            "SELECT CAST(coalesce(max(id), 0) AS BIGINT) FROM erasures",
        ))
        .fetch_one(&self.pool)
        .await?)
    }

    pub(super) async fn erasures_since(&self, after_id: i64, limit: u32) -> Result<Vec<Erasure>> {
        let rows = sqlx::query(&q(
            "SELECT id, conversation_id, visitor_id FROM erasures WHERE id > ? ORDER BY id LIMIT ?",
        ))
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| Erasure {
                id: row.get("id"),
                conversation: row.get("conversation_id"),
                visitor: row.get("visitor_id"),
            })
            .collect())
    }
}
