use super::*;
use protocol::webhooks::EventType;

impl SqlStore {
    pub(super) async fn visitor_contact(&self, visitor_id: i64, now: Millis) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        let (site, existing) = lock_visitor(&mut tx, visitor_id).await?;
        let id = match existing {
            Some(id) => id,
            None => {
                let id = new_contact_for(&mut tx, visitor_id, &site, None, now).await?;
                sqlx::query(&q(
                    "UPDATE conversations SET contact_id = ?, facts_rev = facts_rev + 1 \
                     WHERE visitor_id = ? AND contact_id IS NULL",
                ))
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

    pub(super) async fn identify_visitor(
        &self,
        visitor_id: i64,
        external_id: &str,
        now: Millis,
    ) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        let (site, current) = lock_visitor(&mut tx, visitor_id).await?;
        let current_external: Option<String> = match current {
            Some(id) => {
                sqlx::query_scalar(&q("SELECT external_id FROM contacts WHERE id = ?"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
            }
            None => None,
        };
        let known: Option<i64> = sqlx::query_scalar(&q(
            "SELECT id FROM contacts WHERE site = ? AND external_id = ? AND merged_into IS NULL",
        ))
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
                sqlx::query(&q("UPDATE visitors SET contact_id = ? WHERE id = ?"))
                    .bind(k)
                    .bind(visitor_id)
                    .execute(&mut *tx)
                    .await?;
                k
            }
            // First time this user is seen: the anonymous contact becomes theirs.
            (None, Some(c), None) => {
                sqlx::query(&q(
                    "UPDATE contacts SET external_id = ?, updated_at = ? WHERE id = ?",
                ))
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
        sqlx::query(&q(
            "UPDATE visitors SET contact_id = ?, verified_as = ? WHERE id = ?",
        ))
        .bind(target)
        .bind(external_id)
        .bind(visitor_id)
        .execute(&mut *tx)
        .await?;
        // The conversation open now is the identified user's; earlier ones stay whose they were.
        sqlx::query(&q(
            "UPDATE conversations SET contact_id = ?, facts_rev = facts_rev + 1 \
             WHERE visitor_id = ? AND (status = 'open' OR contact_id IS NULL)",
        ))
        .bind(target)
        .bind(visitor_id)
        .execute(&mut *tx)
        .await?;
        let contact = contact_in(&mut tx, target).await?;
        tx.commit().await?;
        Ok(contact)
    }

    pub(super) async fn update_contact(
        &self,
        contact_id: i64,
        update: &ContactUpdate,
        now: Millis,
    ) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        // For `contact.updated`, when an endpoint wants it: the contact before (the write lock
        // taken first), so an update that changes nothing (a page identifying its user again)
        // sends nothing.
        let before = if webhooks::wanted(&self.hooks.snapshot(), EventType::ContactUpdated) {
            sqlx::query(&q(
                "UPDATE contacts SET updated_at = updated_at WHERE id = ?",
            ))
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
            Some(contact_in(&mut tx, contact_id).await?)
        } else {
            None
        };
        let r = sqlx::query(&q(
            "UPDATE contacts SET name = coalesce(?, name), email = coalesce(?, email), \
             updated_at = ? WHERE id = ?",
        ))
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
            sqlx::query(&q("UPDATE contacts SET attributes = ? WHERE id = ?"))
                .bind(serde_json::to_string(&attributes).expect("strings serialize"))
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
        }
        let contact = contact_in(&mut tx, contact_id).await?;
        if let Some(before) = before
            && (before.name, before.email, before.attributes)
                != (
                    contact.name.clone(),
                    contact.email.clone(),
                    contact.attributes.clone(),
                )
        {
            webhooks::contact_event(&mut tx, &self.hooks, &contact, now).await?;
        }
        tx.commit().await?;
        Ok(contact)
    }

    pub(super) async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let mut id = id;
        // Follow merges (a short chain: each merge retires one contact).
        for _ in 0..16 {
            let next: Option<Option<i64>> =
                sqlx::query_scalar(&q("SELECT merged_into FROM contacts WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            match next {
                None => return Ok(None),
                Some(Some(into)) => id = into,
                Some(None) => break,
            }
        }
        let row = sqlx::query(&q(&format!("{CONTACT_SELECT} WHERE ct.id = ?")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(contact_from_row))
    }

    pub(super) async fn set_account_manager(
        &self,
        contact_id: i64,
        agent_id: Option<i64>,
        now: Millis,
    ) -> Result<Contact> {
        let result = sqlx::query(&q("UPDATE contacts SET account_manager_id = ?, updated_at = ? WHERE id = ? AND merged_into IS NULL"),
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

    pub(super) async fn contacts_with_email(
        &self,
        site: &str,
        email: &str,
        exclude: i64,
    ) -> Result<Vec<Contact>> {
        let rows = sqlx::query(&q(&format!(
            "{CONTACT_SELECT} WHERE ct.site = ? AND lower(ct.email) = lower(?) \
             AND ct.merged_into IS NULL AND ct.id != ? ORDER BY ct.id LIMIT 20"
        )))
        .bind(site)
        .bind(email)
        .bind(exclude)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(contact_from_row).collect())
    }

    pub(super) async fn merge_contacts(
        &self,
        from: i64,
        into: i64,
        now: Millis,
    ) -> Result<Contact> {
        let mut tx = self.pool.begin().await?;
        // Take the write lock first.
        sqlx::query(&q(
            "UPDATE contacts SET updated_at = updated_at WHERE id = ?",
        ))
        .bind(into)
        .execute(&mut *tx)
        .await?;
        merge_in(&mut tx, from, into, now).await?;
        let contact = contact_in(&mut tx, into).await?;
        tx.commit().await?;
        Ok(contact)
    }

    pub(super) async fn conversations_of_contact(
        &self,
        contact_id: i64,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let rows = sqlx::query(&q(&format!(
            "{CONVERSATION_SELECT} WHERE c.contact_id = ? ORDER BY c.id DESC LIMIT ?"
        )))
        .bind(contact_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(conversation_from_row).collect())
    }
}
