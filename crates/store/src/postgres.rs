//! The PostgreSQL backend: the shared statements of `sql/` with `$n` placeholders, a row lock
//! on the conversations a batch appends to (writers on several nodes), and migrations that take
//! PostgreSQL's advisory lock (two nodes booting at once migrate once).

use crate::{Result, StoreError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Postgres;

// The same statements, compiled for this backend's types (mounted by both backends).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

/// The store on PostgreSQL.
pub use sql::SqlStore as PgStore;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// What PostgreSQL says its own way.
mod dialect {
    use std::borrow::Cow;

    /// The statement with SQLite's placeholders (`?`, `?N`) written as PostgreSQL's (`$N`):
    /// a bare `?` takes the number after the largest one so far, as in SQLite. Quoted text is
    /// left alone.
    pub fn q(sql: &str) -> Cow<'_, str> {
        if !sql.contains('?') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let mut largest = 0u32;
        let mut chars = sql.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if c == '\'' {
                quoted = !quoted;
                out.push(c);
                continue;
            }
            if c != '?' || quoted {
                out.push(c);
                continue;
            }
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            let n = if digits.is_empty() {
                largest + 1
            } else {
                digits.parse().unwrap_or(largest + 1)
            };
            largest = largest.max(n);
            out.push('$');
            out.push_str(&n.to_string());
        }
        Cow::Owned(out)
    }

    pub const BEGIN_WRITE: &str = "BEGIN";
    /// Locks the conversations a batch appends to, in id order (no deadlock between nodes):
    /// writers on several nodes take turns per conversation, so sequence numbers stay
    /// gap-free and unique.
    pub const LOCK_CONVERSATIONS: Option<&str> = Some("FOR UPDATE");
    /// A failed statement aborts the whole transaction.
    pub const FAILED_STATEMENT_ABORTS: bool = true;
    /// Deleted rows are gone for every reader at commit; VACUUM reclaims their space later.
    /// The database's clock in milliseconds since the epoch (one clock for every node).
    pub const DB_NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
    pub const AFTER_ERASURE: Option<&str> = None;
    /// Reports read breaches in a second statement: PostgreSQL joins them faster than it runs
    /// a subquery per conversation (facts of a month: 64 ms against 107 ms in reports-bench).
    pub const BREACHES_INLINE: bool = false;
    /// Reports pack rows grouped by their text columns with few values (site, status,
    /// priority…), each group's values written once: PostgreSQL formats a month's facts and
    /// next responses ~35 % faster so (reports-bench).
    pub const PACK_BY_GROUP: bool = true;

    #[cfg(test)]
    mod tests {
        use super::q;

        #[test]
        fn placeholders_are_numbered_as_sqlite_numbers_them() {
            assert_eq!(q("SELECT 1"), "SELECT 1");
            assert_eq!(q("a = ? AND b = ?"), "a = $1 AND b = $2");
            assert_eq!(
                q("a = ?1 OR b = ?1 AND c = ?"),
                "a = $1 OR b = $1 AND c = $2"
            );
            assert_eq!(q("x = ?3, y = ?"), "x = $3, y = $4");
            assert_eq!(q("s = '?' AND t = ?"), "s = '?' AND t = $1");
            assert_eq!(q("it''s ? here"), "it''s $1 here");
        }
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and brings the
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let open_failed = |source| StoreError::Open {
            path: redact(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(open_failed)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(open_failed)?;
        MIGRATOR.run(&pool).await?;
        let writer = PgConnection::connect_with(&options)
            .await
            .map_err(open_failed)?;
        let connect: sql::Connect = std::sync::Arc::new(move || {
            let options = options.clone();
            Box::pin(async move { PgConnection::connect_with(&options).await })
        });
        Ok(PgStore::new(pool, writer, connect))
    }
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
