//! Email continuity: the conversations that owe their customer an email (read through the
//! partial index `conversations_email_due`, whose condition the query repeats), and the mark
//! that an email carried them up to a message.

use super::*;
use crate::EmailDue;

impl SqlStore {
    pub(super) async fn email_due(
        &self,
        quiet_since: Millis,
        not_before: Millis,
        limit: u32,
    ) -> Result<Vec<EmailDue>> {
        let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(&q(
            "SELECT id, last_seq, emailed_seq, visitor_read, updated_at FROM conversations \
             WHERE contact_email IS NOT NULL AND last_author = 'agent' \
             AND last_seq > emailed_seq AND last_seq > visitor_read \
             AND updated_at <= ? AND updated_at >= ? ORDER BY updated_at LIMIT ?",
        ))
        .bind(quiet_since)
        .bind(not_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, last, emailed, read, updated_at)| EmailDue {
                conversation_id: id,
                last_seq: last.max(0) as u64,
                emailed_seq: emailed.max(0) as u64,
                visitor_read: read.max(0) as u64,
                updated_at,
            })
            .collect())
    }

    pub(super) async fn set_emailed(&self, conversation_id: i64, seq: u64) -> Result<bool> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let r = sqlx::query(&q(
            "UPDATE conversations SET emailed_seq = ? WHERE id = ? AND emailed_seq < ? \
             AND ? <= last_seq",
        ))
        .bind(seq)
        .bind(conversation_id)
        .bind(seq)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
