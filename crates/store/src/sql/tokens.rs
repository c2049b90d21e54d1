//! Tokens of the public REST API: stored as the SHA-256 of their secret with a short
//! non-secret prefix, scoped, revocable, their last use kept to the minute.

use super::*;
use crate::{ApiToken, NewApiToken, TokenScope};

const TOKEN_COLUMNS: &str =
    "id, name, prefix, scope, created_by, created_at, last_used_at, revoked_at";

/// A use within this long of the recorded one is not written (one write a minute at most).
const TOUCH_EVERY_MS: Millis = 60_000;

fn token_from_row(row: &Row) -> ApiToken {
    ApiToken {
        id: row.get("id"),
        name: row.get("name"),
        prefix: row.get("prefix"),
        // Written only from `TokenScope::as_str`; an unknown value reads as the least.
        scope: TokenScope::parse(&row.get::<String, _>("scope")).unwrap_or(TokenScope::Read),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        last_used_at: row.get("last_used_at"),
        revoked_at: row.get("revoked_at"),
    }
}

impl SqlStore {
    pub(super) async fn create_api_token(
        &self,
        token: &NewApiToken<'_>,
        now: Millis,
    ) -> Result<ApiToken> {
        let row = sqlx::query(&q(&format!(
            "INSERT INTO api_tokens (name, prefix, token_hash, scope, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(token.name)
        .bind(token.prefix)
        .bind(token.token_hash)
        .bind(token.scope.as_str())
        .bind(token.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict {
                what: "a token with this secret",
            },
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                StoreError::NotFound { what: "agent" }
            }
            _ => e.into(),
        })?;
        Ok(token_from_row(&row))
    }

    pub(super) async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(token_from_row).collect())
    }

    pub(super) async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(&q(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(token_from_row))
    }

    pub(super) async fn revoke_api_token(&self, id: i64, now: Millis) -> Result<ApiToken> {
        let row = sqlx::query(&q(&format!(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? \
             RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { what: "token" })?;
        Ok(token_from_row(&row))
    }

    pub(super) async fn touch_api_token(&self, id: i64, now: Millis) -> Result<()> {
        sqlx::query(&q("UPDATE api_tokens SET last_used_at = ? WHERE id = ? \
             AND (last_used_at IS NULL OR last_used_at <= ?)"))
        .bind(now)
        .bind(id)
        .bind(now - TOUCH_EVERY_MS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
