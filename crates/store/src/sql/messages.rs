use super::*;

impl SqlStore {
    pub(super) async fn mark_read(&self, conversation_id: i64, by: ReadBy, seq: u64) -> Result<()> {
        self.writer.mark_read(conversation_id, by, seq).await
    }

    pub(super) async fn add_note(
        &self,
        conversation_id: i64,
        agent_id: i64,
        client_id: &str,
        body: &str,
        now: Millis,
    ) -> Result<StoredNote> {
        let result = sqlx::query(&q("INSERT INTO notes (conversation_id, agent_id, client_id, body, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (conversation_id, agent_id, client_id) DO NOTHING"),
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
        let row = sqlx::query(&q(&format!(
            "{NOTE_SELECT} WHERE n.conversation_id = ? AND n.agent_id = ? AND n.client_id = ?"
        )))
        .bind(conversation_id)
        .bind(agent_id)
        .bind(client_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(note_from_row(&row))
    }

    pub(super) async fn notes(&self, conversation_id: i64) -> Result<Vec<StoredNote>> {
        let rows = sqlx::query(&q(&format!(
            "{NOTE_SELECT} WHERE n.conversation_id = ? ORDER BY n.id"
        )))
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(note_from_row).collect())
    }

    pub(super) async fn append_message(&self, message: NewMessage<'_>) -> Result<Appended> {
        self.writer
            .append(writer::Message {
                conversation_id: message.conversation_id,
                client_id: message.client_id.to_owned(),
                agent_id: message.agent_id,
                body: message.body.to_owned(),
                at: message.at,
                attachments: message.attachments.to_vec(),
            })
            .await
    }

    pub(super) async fn messages_since(
        &self,
        after: (i64, u64),
        limit: u32,
    ) -> Result<Vec<StoredMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} WHERE (m.conversation_id, m.seq) > (?, ?) \
             ORDER BY m.conversation_id, m.seq LIMIT ?"
        );
        let rows = sqlx::query(&q(&sql))
            .bind(after.0)
            .bind(after.1 as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(message_from_row).collect())
    }

    pub(super) async fn notes_since(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, StoredNote)>> {
        let rows = sqlx::query(&q(&format!(
            "{NOTE_SELECT_WITH_ID} WHERE n.id > ? ORDER BY n.id LIMIT ?"
        )))
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("note_id"), note_from_row(r)))
            .collect())
    }

    pub(super) async fn messages_after(
        &self,
        conversation_id: i64,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?"
        );
        let rows = sqlx::query(&q(&sql))
            .bind(conversation_id)
            .bind(after_seq as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(message_from_row).collect())
    }
}
