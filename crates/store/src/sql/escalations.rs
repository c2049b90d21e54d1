//! Escalation to an issue tracker: a conversation's issue, the conversations of an issue, and
//! the status the tracker reports.

use super::*;
use crate::{Escalation, NewEscalation};

const COLUMNS: &str = "conversation_id, tracker, issue_key, url, status, done, escalated_by, \
                       created_at, updated_at";

fn escalation_from_row(row: &Row) -> Escalation {
    Escalation {
        conversation_id: row.get("conversation_id"),
        tracker: row.get("tracker"),
        issue_key: row.get("issue_key"),
        url: row.get("url"),
        status: row.get("status"),
        done: row.get::<i64, _>("done") != 0,
        escalated_by: row.get("escalated_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

impl SqlStore {
    pub(super) async fn escalate(&self, e: &NewEscalation<'_>) -> Result<Escalation> {
        let result = sqlx::query(&q(
            "INSERT INTO escalations (conversation_id, tracker, issue_key, url, status, done, \
             escalated_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (conversation_id) DO NOTHING",
        ))
        .bind(e.conversation_id)
        .bind(e.tracker)
        .bind(e.issue_key)
        .bind(e.url)
        .bind(e.status)
        .bind(i64::from(e.done))
        .bind(e.escalated_by)
        .bind(e.at)
        .bind(e.at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(r) if r.rows_affected() == 0 => Err(StoreError::Conflict {
                what: "an escalation of this conversation",
            }),
            Ok(_) => self
                .escalation(e.conversation_id)
                .await?
                .ok_or(StoreError::NotFound { what: "escalation" }),
            Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => {
                Err(StoreError::NotFound {
                    what: "conversation or agent",
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn escalation(&self, conversation_id: i64) -> Result<Option<Escalation>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {COLUMNS} FROM escalations WHERE conversation_id = ?"
        )))
        .bind(conversation_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(escalation_from_row))
    }

    pub(super) async fn escalations_of_issue(
        &self,
        tracker: &str,
        issue_key: &str,
    ) -> Result<Vec<Escalation>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {COLUMNS} FROM escalations WHERE tracker = ? AND issue_key = ? \
             ORDER BY conversation_id"
        )))
        .bind(tracker)
        .bind(issue_key)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(escalation_from_row).collect())
    }

    pub(super) async fn set_escalation_status(
        &self,
        conversation_id: i64,
        status: &str,
        done: bool,
        now: Millis,
    ) -> Result<bool> {
        let done = i64::from(done);
        let r = sqlx::query(&q(
            "UPDATE escalations SET status = ?, done = ?, updated_at = ? \
             WHERE conversation_id = ? AND (status <> ? OR done <> ?)",
        ))
        .bind(status)
        .bind(done)
        .bind(now)
        .bind(conversation_id)
        .bind(status)
        .bind(done)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
