use super::*;
use protocol::webhooks::{EventType, HookBreach, HookCsat};

impl SqlStore {
    pub(super) async fn create_visitor(
        &self,
        token_hash: &str,
        site: &str,
        now: Millis,
    ) -> Result<Visitor> {
        let id: i64 = sqlx::query_scalar(&q(
            "INSERT INTO visitors (token_hash, site, created_at) VALUES (?, ?, ?) RETURNING id",
        ))
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

    pub(super) async fn visitor(&self, token_hash: &str) -> Result<Option<Visitor>> {
        let row = sqlx::query(&q(
            "SELECT id, site, verified_as FROM visitors WHERE token_hash = ?",
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| Visitor {
            id: row.get("id"),
            site: row.get("site"),
            verified_as: row.get("verified_as"),
        }))
    }

    pub(super) async fn open_conversation(&self, visitor_id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.visitor_id = ? AND c.status = 'open'"
        )))
        .bind(visitor_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(conversation_from_row))
    }

    pub(super) async fn open_or_create_conversation(
        &self,
        visitor: &Visitor,
        context: &ConversationContext,
        now: Millis,
    ) -> Result<Conversation> {
        // The partial unique index makes this atomic: a concurrent creator's insert is ignored.
        let mut tx = self.pool.begin().await?;
        let created: Option<i64> = sqlx::query_scalar(&q("INSERT INTO conversations (visitor_id, site, page_url, locale, created_at, updated_at, \
             contact_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
             (SELECT contact_id FROM visitors WHERE id = ?1)) ON CONFLICT DO NOTHING RETURNING id"),
        )
        .bind(visitor.id)
        .bind(&visitor.site)
        .bind(&context.page_url)
        .bind(&context.locale)
        .bind(now)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = created {
            let kind = EventType::ConversationCreated;
            webhooks::conversation_event(&mut tx, &self.hooks, id, kind, now, |_| {}).await?;
        }
        tx.commit().await?;
        self.open_conversation(visitor.id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "open conversation",
            })
    }

    pub(super) async fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(&q(&format!("{CONVERSATION_SELECT} WHERE c.id = ?")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(conversation_from_row))
    }

    pub(super) async fn conversations(&self, ids: &[i64]) -> Result<Vec<Conversation>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("{CONVERSATION_SELECT} WHERE c.id IN ({marks})");
            let sql = q(&sql);
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query.fetch_all(&self.pool).await?;
            out.extend(rows.iter().map(conversation_from_row));
        }
        Ok(out)
    }

    pub(super) async fn list_open_conversations(&self, limit: u32) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!("{CONVERSATION_SELECT} WHERE c.status = 'open' ORDER BY c.updated_at DESC, c.id DESC LIMIT ?")),
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    pub(super) async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>> {
        let mut sql = format!("{CONVERSATION_SELECT} WHERE 1 = 1");
        if filter.status.is_some() {
            sql.push_str(" AND c.status = ?");
        }
        if filter.site.is_some() {
            sql.push_str(" AND c.site = ?");
        }
        match filter.assignee {
            Some(AssigneeFilter::Agent(_)) => sql.push_str(" AND c.assignee_id = ?"),
            Some(AssigneeFilter::Nobody) => sql.push_str(" AND c.assignee_id IS NULL"),
            None => {}
        }
        if filter.label.is_some() {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM conversation_labels fl \
                 WHERE fl.conversation_id = c.id AND fl.label = ?)",
            );
        }
        if filter.priority.is_some() {
            sql.push_str(" AND c.priority = ?");
        }
        if filter.before.is_some() {
            sql.push_str(" AND c.id < ?");
        }
        sql.push_str(" ORDER BY c.id DESC LIMIT ?");
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        if let Some(status) = filter.status {
            query = query.bind(match status {
                Status::Open => "open",
                Status::Resolved => "resolved",
            });
        }
        if let Some(site) = &filter.site {
            query = query.bind(site);
        }
        if let Some(AssigneeFilter::Agent(id)) = filter.assignee {
            query = query.bind(id);
        }
        if let Some(label) = &filter.label {
            query = query.bind(label);
        }
        if let Some(priority) = &filter.priority {
            query = query.bind(priority);
        }
        if let Some(before) = filter.before {
            query = query.bind(before);
        }
        let rows = query
            .bind(i64::from(filter.limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    pub(super) async fn latest_conversation(
        &self,
        visitor_id: i64,
    ) -> Result<Option<Conversation>> {
        let row = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.visitor_id = ? ORDER BY c.id DESC LIMIT 1"
        )))
        .bind(visitor_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(conversation_from_row))
    }

    pub(super) async fn set_context(
        &self,
        conversation_id: i64,
        context: &str,
        self_help_ms: Option<i64>,
    ) -> Result<()> {
        sqlx::query(&q(
            "UPDATE conversations SET context = ?, self_help_ms = ?, facts_rev = facts_rev + 1 \
             WHERE id = ? AND context IS NULL",
        ))
        .bind(context)
        .bind(self_help_ms)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn set_status(
        &self,
        conversation_id: i64,
        status: Status,
        now: Millis,
    ) -> Result<Conversation> {
        let (status_text, resolved_at) = match status {
            Status::Open => ("open", None),
            Status::Resolved => ("resolved", Some(now)),
        };
        let mut tx = self.pool.begin().await?;
        // A no-op write first: it takes the write lock (SQLite) or the row lock (PostgreSQL),
        // and says what the status was, so the event names the real change.
        let before: Option<String> = sqlx::query_scalar(&q(
            "UPDATE conversations SET status = status WHERE id = ? RETURNING status",
        ))
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let result = sqlx::query(&q(
            "UPDATE conversations SET resolved_at = ?2, updated_at = ?3, facts_rev = facts_rev + 1, \
             first_resolved_at = coalesce(first_resolved_at, ?2), \
             reopens = reopens + CASE WHEN ?1 = 'open' AND status = 'resolved' THEN 1 ELSE 0 END, \
             status = ?1, \
             next_response_from = CASE WHEN ?1 = 'open' THEN next_response_from END, \
             next_response_due = CASE WHEN ?1 = 'open' THEN next_response_due END, \
             resolution_due = CASE WHEN ?1 = 'open' THEN resolution_due END WHERE id = ?4",
        ))
        .bind(status_text)
        .bind(resolved_at)
        .bind(now)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await;
        let event = match (before.as_deref(), status) {
            (Some("open"), Status::Resolved) => Some(EventType::ConversationResolved),
            (Some("resolved"), Status::Open) => Some(EventType::ConversationReopened),
            _ => None,
        };
        match result {
            Ok(r) => {
                if let Some(kind) = event {
                    let id = conversation_id;
                    webhooks::conversation_event(&mut tx, &self.hooks, id, kind, now, |_| {})
                        .await?;
                }
                tx.commit().await?;
                self.changed_conversation(r, conversation_id).await
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict {
                what: "an open conversation for this visitor",
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn rate(
        &self,
        conversation_id: i64,
        score: u8,
        comment: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(&q(
            "UPDATE conversations SET rating = ?, rating_comment = ?, facts_rev = facts_rev + 1 \
             WHERE id = ?",
        ))
        .bind(i64::from(score))
        .bind(comment)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
            });
        }
        let kind = EventType::CsatSubmitted;
        let csat = HookCsat {
            rating: score,
            comment: comment.map(str::to_owned),
        };
        // The trait gives no instant here; the event's time is the wall clock's.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        webhooks::conversation_event(&mut tx, &self.hooks, conversation_id, kind, now, |d| {
            d.csat = Some(csat)
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn set_contact(
        &self,
        conversation_id: i64,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<()> {
        sqlx::query(&q(
            "UPDATE conversations SET contact_name = coalesce(?, contact_name), \
             contact_email = coalesce(?, contact_email) WHERE id = ?",
        ))
        .bind(name)
        .bind(email)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn record_deflection(
        &self,
        site: &str,
        visitor_id: i64,
        query: &str,
        article: &str,
        now: Millis,
    ) -> Result<()> {
        sqlx::query(&q("INSERT INTO deflections (site, visitor_id, query, article, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (visitor_id, query, article) DO NOTHING"),
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

    pub(super) async fn deflection_count(&self, site: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&q("SELECT count(*) FROM deflections WHERE site = ?"))
            .bind(site)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    pub(super) async fn conversations_of_visitor(
        &self,
        visitor_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.visitor_id = ? ORDER BY c.id DESC LIMIT ?"
        )))
        .bind(visitor_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    pub(super) async fn assign(
        &self,
        conversation_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Conversation> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(&q(
            "UPDATE conversations SET assignee_id = ?, updated_at = ?, facts_rev = facts_rev + 1 \
             WHERE id = ?",
        ))
        .bind(agent_id)
        .bind(now)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        if agent_id.is_some() && r.rows_affected() == 1 {
            let kind = EventType::ConversationAssigned;
            webhooks::conversation_event(&mut tx, &self.hooks, conversation_id, kind, now, |_| {})
                .await?;
        }
        tx.commit().await?;
        self.changed_conversation(r, conversation_id).await
    }

    pub(super) async fn assign_if(
        &self,
        conversation_id: i64,
        expected: Option<i64>,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Option<Conversation>> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(&q(
            "UPDATE conversations SET assignee_id = ?1, updated_at = ?2, facts_rev = facts_rev + 1 \
             WHERE id = ?3 AND assignee_id IS NOT DISTINCT FROM CAST(?4 AS BIGINT)",
        ))
        .bind(agent_id)
        .bind(now)
        .bind(conversation_id)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        if agent_id.is_some() && r.rows_affected() == 1 {
            let kind = EventType::ConversationAssigned;
            webhooks::conversation_event(&mut tx, &self.hooks, conversation_id, kind, now, |_| {})
                .await?;
        }
        tx.commit().await?;
        if r.rows_affected() == 1 {
            return self.conversation(conversation_id).await;
        }
        match self.conversation(conversation_id).await? {
            Some(_) => Ok(None),
            None => Err(StoreError::NotFound {
                what: "conversation",
            }),
        }
    }

    pub(super) async fn set_priority(
        &self,
        conversation_id: i64,
        priority: &str,
        dues: SlaDues,
    ) -> Result<Conversation> {
        let r = sqlx::query(&q(
            "UPDATE conversations SET priority = ?, first_response_due = ?, facts_rev = facts_rev + 1, \
             next_response_due = CASE WHEN next_response_from IS NOT NULL THEN ? END, \
             resolution_due = CASE WHEN status = 'open' THEN ? END WHERE id = ?",
        ))
        .bind(priority)
        .bind(dues.first_response)
        .bind(dues.next_response)
        .bind(dues.resolution)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        self.changed_conversation(r, conversation_id).await
    }

    pub(super) async fn begin_next_response(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<bool> {
        self.writer
            .begin_next_response(conversation_id, from, due)
            .await
    }

    pub(super) async fn set_resolution_due(
        &self,
        conversation_id: i64,
        from: Millis,
        due: Option<Millis>,
    ) -> Result<()> {
        let r = sqlx::query(&q(
            "UPDATE conversations SET resolution_from = ?, resolution_due = ?, facts_rev = facts_rev + 1 \
             WHERE id = ?",
        ))
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

    pub(super) async fn overdue(&self, now: Millis) -> Result<Vec<Overdue>> {
        // One arm per deadline: pending, passed, and not yet in `sla_breaches`.
        let arm = |kind: SlaKind, column: &str, pending: &str| {
            format!(
                "SELECT * FROM ({CONVERSATION_SELECT}) x, (SELECT '{kind}' AS sla_kind) k \
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
        let rows = sqlx::query(&q(&sql))
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
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

    pub(super) async fn record_breach(
        &self,
        conversation_id: i64,
        kind: SlaKind,
        due_at: Millis,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(&q("INSERT INTO sla_breaches (conversation_id, kind, due_at, breached_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (conversation_id, kind, due_at) DO NOTHING"),
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
        sqlx::query(&q(
            "UPDATE conversations SET sla_breached_at = ?, facts_rev = facts_rev + 1 WHERE id = ?",
        ))
        .bind(now)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        let breach = HookBreach {
            kind: kind.as_str().to_owned(),
            due_at,
            breached_at: now,
        };
        let event = EventType::SlaBreached;
        webhooks::conversation_event(&mut tx, &self.hooks, conversation_id, event, now, |d| {
            d.breach = Some(breach)
        })
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn set_labels(
        &self,
        conversation_id: i64,
        labels: &[String],
    ) -> Result<Conversation> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(&q(
            "UPDATE conversations SET facts_rev = facts_rev + 1 WHERE id = ?",
        ))
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
            });
        }
        sqlx::query(&q(
            "DELETE FROM conversation_labels WHERE conversation_id = ?",
        ))
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        for label in labels {
            sqlx::query(&q(
                "INSERT INTO conversation_labels (conversation_id, label) VALUES (?, ?) \
                 ON CONFLICT DO NOTHING",
            ))
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

    pub(super) async fn set_team(
        &self,
        conversation_id: i64,
        team: Option<&str>,
    ) -> Result<Conversation> {
        let r = sqlx::query(&q(
            "UPDATE conversations SET team = ?, facts_rev = facts_rev + 1 WHERE id = ?",
        ))
        .bind(team)
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        self.changed_conversation(r, conversation_id).await
    }

    pub(super) async fn open_load(&self) -> Result<std::collections::HashMap<i64, u32>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as(&q("SELECT assignee_id, count(*) FROM conversations \
             WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id, n)| (id, n as u32)).collect())
    }

    pub(super) async fn assigned_open(&self, agent_id: i64) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.status = 'open' AND c.assignee_id = ? ORDER BY c.id"
        )))
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    pub(super) async fn unassigned_open(&self, limit: u32) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.status = 'open' AND c.assignee_id IS NULL ORDER BY c.id LIMIT ?"
        )))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }

    pub(super) async fn unassigned_count(&self, limit: u32) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&q("SELECT count(*) FROM (SELECT 1 FROM conversations \
             WHERE status = 'open' AND assignee_id IS NULL LIMIT ?) AS waiting"))
        .bind(limit as i64)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    pub(super) async fn conversations_since(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.id > ? ORDER BY c.id LIMIT ?"
        )))
        .bind(after_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }
}
