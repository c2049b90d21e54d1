use super::*;

impl SqlStore {
    pub(super) async fn create_agent(&self, agent: NewAgent, now: Millis) -> Result<Agent> {
        let result = sqlx::query(&q("INSERT INTO agents (email, name, password_hash, is_admin, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING id, email, name, is_admin, is_lead, disabled, languages, teams"),
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

    pub(super) async fn agent_credentials(&self, email: &str) -> Result<Option<AgentCredentials>> {
        let row = sqlx::query(&q("SELECT id, email, name, is_admin, is_lead, disabled, languages, teams, password_hash FROM agents WHERE lower(email) = lower(?)"),
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| AgentCredentials {
            agent: agent_from_row(&row),
            password_hash: row.get("password_hash"),
        }))
    }

    pub(super) async fn agent(&self, id: i64) -> Result<Option<Agent>> {
        let row = sqlx::query(&q(
            "SELECT id, email, name, is_admin, is_lead, disabled, languages, teams FROM agents WHERE id = ?",
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(agent_from_row))
    }

    pub(super) async fn agent_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&q("SELECT count(*) FROM agents"))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    pub(super) async fn create_session(
        &self,
        token_hash: &str,
        agent_id: i64,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        sqlx::query(&q("INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)"),
        )
        .bind(token_hash)
        .bind(agent_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn session_agent(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<Agent>> {
        let row = sqlx::query(&q("SELECT a.id, a.email, a.name, a.is_admin, a.is_lead, a.disabled, a.languages, a.teams FROM agent_sessions s \
             JOIN agents a ON a.id = s.agent_id \
             WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0"),
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(agent_from_row))
    }

    pub(super) async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query(&q("DELETE FROM agent_sessions WHERE token_hash = ?"))
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn list_agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(&q(
            "SELECT id, email, name, is_admin, is_lead, disabled, languages, teams FROM agents ORDER BY id",
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(agent_from_row).collect())
    }

    pub(super) async fn set_agent_disabled(&self, agent_id: i64, disabled: bool) -> Result<Agent> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(&q("UPDATE agents SET disabled = ? WHERE id = ?"))
            .bind(disabled as i64)
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        if disabled {
            sqlx::query(&q("DELETE FROM agent_sessions WHERE agent_id = ?"))
                .bind(agent_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.agent(agent_id)
            .await?
            .ok_or(StoreError::NotFound { what: "agent" })
    }

    pub(super) async fn set_password_hash(&self, agent_id: i64, password_hash: &str) -> Result<()> {
        let r = sqlx::query(&q("UPDATE agents SET password_hash = ? WHERE id = ?"))
            .bind(password_hash)
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }

    pub(super) async fn set_agent_languages(
        &self,
        agent_id: i64,
        languages: &[String],
    ) -> Result<()> {
        let r = sqlx::query(&q("UPDATE agents SET languages = ? WHERE id = ?"))
            .bind(languages.join(","))
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }

    pub(super) async fn delete_sessions_of(&self, agent_id: i64) -> Result<u64> {
        let r = sqlx::query(&q("DELETE FROM agent_sessions WHERE agent_id = ?"))
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    pub(super) async fn set_agent_teams(&self, agent_id: i64, teams: &[String]) -> Result<()> {
        let r = sqlx::query(&q("UPDATE agents SET teams = ? WHERE id = ?"))
            .bind(teams.join(","))
            .bind(agent_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent" });
        }
        Ok(())
    }
}
