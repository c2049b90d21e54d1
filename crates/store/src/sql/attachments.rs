//! Uploaded files: stored with their bytes, claimed by the message that sends them, read back
//! with who may see them. A message keeps its files' descriptions as JSON in
//! `messages.attachments` (`to_json`, `from_json`), so reading messages never reads bytes.

use super::*;
use crate::{NewAttachment, StoredAttachment};
use protocol::Attachment;

const INFO: &str = "a.id, a.name, a.content_type, a.size, a.width, a.height";

fn info_from_row(row: &Row) -> Attachment {
    let pixels = |name: &str| {
        row.get::<Option<i64>, _>(name)
            .and_then(|v| u32::try_from(v).ok())
    };
    Attachment {
        id: row.get("id"),
        name: row.get("name"),
        content_type: row.get("content_type"),
        size: row.get::<i64, _>("size") as u64,
        width: pixels("width"),
        height: pixels("height"),
    }
}

/// The `messages.attachments` column: empty for none, else a JSON array.
pub(super) fn to_json(attachments: &[Attachment]) -> String {
    if attachments.is_empty() {
        return String::new();
    }
    serde_json::to_string(attachments).expect("attachments serialize")
}

pub(super) fn from_json(text: &str) -> Vec<Attachment> {
    if text.is_empty() {
        return Vec::new();
    }
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a message's attachments column is not valid JSON");
        Vec::new()
    })
}

/// What the inbox shows of a message: its text, or its files' names when it has no text.
pub(super) fn preview_text(body: &str, attachments: &[Attachment]) -> String {
    if !body.trim().is_empty() || attachments.is_empty() {
        return body.to_owned();
    }
    let names: Vec<&str> = attachments.iter().map(|a| a.name.as_str()).collect();
    format!("📎 {}", names.join(", "))
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl SqlStore {
    pub(super) async fn add_attachment(&self, a: &NewAttachment<'_>) -> Result<Attachment> {
        let result = sqlx::query(&q(
            "INSERT INTO attachments (id, visitor_id, agent_id, conversation_id, name, \
             content_type, size, width, height, data, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(a.id)
        .bind(a.visitor_id)
        .bind(a.agent_id)
        .bind(a.conversation_id)
        .bind(a.name)
        .bind(a.content_type)
        .bind(a.data.len() as i64)
        .bind(a.width.map(i64::from))
        .bind(a.height.map(i64::from))
        .bind(a.data)
        .bind(a.at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(Attachment {
                id: a.id.to_owned(),
                name: a.name.to_owned(),
                content_type: a.content_type.to_owned(),
                size: a.data.len() as u64,
                width: a.width,
                height: a.height,
            }),
            Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => {
                Err(StoreError::NotFound {
                    what: "visitor, agent or conversation",
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn claim_attachments(
        &self,
        ids: &[String],
        conversation_id: i64,
        visitor_id: Option<i64>,
    ) -> Result<Vec<Attachment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        if let Some(visitor_id) = visitor_id {
            let sql = format!(
                "UPDATE attachments SET conversation_id = ? WHERE id IN ({}) \
                 AND conversation_id IS NULL AND visitor_id = ?",
                marks(ids.len())
            );
            let sql = q(&sql);
            let mut query = sqlx::query(&sql).bind(conversation_id);
            for id in ids {
                query = query.bind(id);
            }
            query.bind(visitor_id).execute(&mut *tx).await?;
        }
        // A visitor sends only its own uploads; an agent only those made for this conversation.
        let sql = format!(
            "SELECT {INFO} FROM attachments a WHERE a.id IN ({}) AND a.conversation_id = ? \
             AND {}",
            marks(ids.len()),
            if visitor_id.is_some() {
                "a.visitor_id = ?"
            } else {
                "a.agent_id IS NOT NULL"
            }
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id);
        }
        query = query.bind(conversation_id);
        if let Some(visitor_id) = visitor_id {
            query = query.bind(visitor_id);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let found: Vec<Attachment> = rows.iter().map(info_from_row).collect();
        let mut ordered = Vec::with_capacity(ids.len());
        for id in ids {
            match found.iter().find(|a| &a.id == id) {
                Some(a) if !ordered.contains(a) => ordered.push(a.clone()),
                Some(_) => {}
                None => return Err(StoreError::NotFound { what: "attachment" }),
            }
        }
        tx.commit().await?;
        Ok(ordered)
    }

    pub(super) async fn expire_unsent_attachments(&self, before: Millis) -> Result<u64> {
        let done = sqlx::query(&q(
            "DELETE FROM attachments WHERE conversation_id IS NULL AND created_at < ?",
        ))
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn attachment(&self, id: &str) -> Result<Option<StoredAttachment>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {INFO}, a.visitor_id, a.conversation_id, a.data, a.created_at, \
             c.visitor_id AS conversation_visitor FROM attachments a \
             LEFT JOIN conversations c ON c.id = a.conversation_id WHERE a.id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| StoredAttachment {
            info: info_from_row(&row),
            visitor_id: row.get("visitor_id"),
            conversation_id: row.get("conversation_id"),
            conversation_visitor: row.get("conversation_visitor"),
            data: row.get("data"),
            created_at: row.get("created_at"),
        }))
    }
}
