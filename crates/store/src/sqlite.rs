//! The SQLite backend: one WAL-mode file, `synchronous = FULL`, migrations run at open. The
//! statements are the shared ones of `sql/`; this file holds only what SQLite does its own way.

use crate::{Result, StoreError};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

type Db = sqlx::Sqlite;

// The same statements, compiled for this backend's types (mounted by both backends).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

/// The store on SQLite.
pub use sql::SqlStore as SqliteStore;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// What SQLite says its own way.
mod dialect {
    use std::borrow::Cow;

    /// The statement as SQLite takes it (`?` and `?N` placeholders are SQLite's own).
    pub fn q(sql: &str) -> Cow<'_, str> {
        Cow::Borrowed(sql)
    }

    /// Starts the group commit's transaction with the write lock taken at once.
    pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    /// Locks the conversations a batch appends to: the write lock of `BEGIN IMMEDIATE` already
    /// serialises writers.
    pub const LOCK_CONVERSATIONS: Option<&str> = None;
    /// A failed statement leaves the transaction usable (PostgreSQL aborts it).
    pub const FAILED_STATEMENT_ABORTS: bool = false;
    /// After an erasure: copy the WAL into the database and truncate it, so no old page
    /// survives in the log (freed pages are already zeroed by `secure_delete`).
    /// The database's clock in milliseconds since the epoch.
    pub const DB_NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
    pub const AFTER_ERASURE: Option<&str> = Some("PRAGMA wal_checkpoint(TRUNCATE)");
    /// Reports read a conversation's breaches in the same statement (a lookup per row): a
    /// second statement joining the period again costs SQLite more (filtered figures: 295 →
    /// 192 ms in reports-bench).
    pub const BREACHES_INLINE: bool = true;
    /// Reports pack every row whole: grouping by the text columns costs SQLite a sort that
    /// outweighs the text it saves (reports-bench: more CPU time for the same reports).
    pub const PACK_BY_GROUP: bool = false;
}

/// What a backup holds, read back from the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    pub conversations: i64,
    pub messages: i64,
    pub contacts: i64,
}

impl SqliteStore {
    /// Writes a consistent copy of the database to `to` (a new file) while it is in use
    /// (`VACUUM INTO`: one read transaction, so writers go on and the copy is a snapshot),
    /// then checks the copy (`integrity_check`) and counts what it holds.
    pub async fn backup(&self, to: &Path) -> Result<BackupSummary> {
        use sqlx::Row;
        let target = to.to_string_lossy().into_owned();
        sqlx::query("VACUUM INTO ?")
            .bind(&target)
            .execute(self.pool())
            .await?;
        let mut copy = SqliteConnectOptions::new()
            .filename(to)
            .read_only(true)
            .connect()
            .await?;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut copy)
            .await?;
        if check != "ok" {
            return Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "the backup failed its integrity check: {check}"
            ))));
        }
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages), \
             (SELECT count(*) FROM contacts)",
        )
        .fetch_one(&mut copy)
        .await?;
        Ok(BackupSummary {
            conversations: row.get(0),
            messages: row.get(1),
            contacts: row.get(2),
        })
    }

    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted content is overwritten, not left in free pages: an erased customer's
            // data must not stay readable in the file.
            .pragma("secure_delete", "on")
            .busy_timeout(Duration::from_secs(10));
        let open_failed = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(open_failed)?;
        MIGRATOR.run(&pool).await?;
        let writer = options.connect().await.map_err(open_failed)?;
        let connect: sql::Connect = std::sync::Arc::new(move || {
            let options = options.clone();
            Box::pin(async move { options.connect().await })
        });
        Ok(SqliteStore::new(pool, writer, connect))
    }
}
