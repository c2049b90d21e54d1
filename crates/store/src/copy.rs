//! Moving a node's SQLite database to PostgreSQL (`frontdesk migrate`), written once for every
//! table: the table list, the columns and their types, the order (foreign keys) and the
//! sequences are read from the PostgreSQL schema the migrations create, so a migration adding a
//! table or a column is copied without touching this file, and a table or column only one side
//! has stops the copy before anything is kept.
//!
//! The source is read in one read transaction (one snapshot, counts included); the target is
//! written in one transaction (migrations, rows, sequences): it commits only when every table's
//! rows, largest ids and per-conversation sequence numbers match the source's, else nothing of
//! it is kept.

use crate::postgres::{MIGRATOR as PG_MIGRATOR, redact};
use crate::sqlite::MIGRATOR as SQLITE_MIGRATOR;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Rows per read from SQLite and per multi-row `INSERT` (fewer for wide tables: PostgreSQL
/// takes at most 65,535 parameters per statement). Bounds the memory the copy uses.
const BATCH_ROWS: usize = 500;
const MAX_PARAMETERS: usize = 65_535;
/// Rows between two progress reports within a table.
const PROGRESS_ROWS: i64 = 100_000;
/// The migrations' own bookkeeping: each database keeps its own.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("no SQLite database at {0}")]
    NoSource(String),
    #[error("cannot open the SQLite database at {path}: {error}")]
    Source { path: String, error: sqlx::Error },
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(
        "the target database already holds data (in {0}): migrate only into a new, empty \
         database; nothing was written"
    )]
    TargetNotEmpty(String),
    #[error("the SQLite and PostgreSQL schemas differ: {0}; nothing was written")]
    Schema(String),
    /// `rows` says where: the SQLite rowids of the batch that failed.
    #[error("copying {table} ({rows}): {error}; nothing was written")]
    Table {
        table: String,
        rows: String,
        error: sqlx::Error,
    },
    #[error("the copy does not match the source ({0}); nothing was written")]
    Mismatch(String, Vec<TableCopy>),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// One figure compared between the source and the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `rows`, `max(id)`, or `max(seq) per conversation_id (sum)`.
    pub what: String,
    pub sqlite: i64,
    pub postgres: i64,
}

/// How far the copy is: `rows` of `table` written so far, `done` once the table is complete
/// (a large table reports every 100,000 rows on the way).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub rows: i64,
    pub done: bool,
}

/// What was copied of one table: its checks, `rows` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: String,
    pub checks: Vec<Check>,
}

impl TableCopy {
    pub fn rows(&self) -> i64 {
        self.checks.first().map_or(0, |c| c.postgres)
    }

    pub fn matches(&self) -> bool {
        self.checks.iter().all(|c| c.sqlite == c.postgres)
    }
}

/// Copies every table of the SQLite database at `sqlite` into the empty PostgreSQL database at
/// `postgres_url` (whose migrations it runs), then checks the copy; `progress` is told how far
/// each table is. Returns the checks of every table, in copy order.
pub async fn sqlite_to_postgres(
    sqlite: &Path,
    postgres_url: &str,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Vec<TableCopy>, CopyError> {
    let mut source = open_source(sqlite).await?;
    let mut target = connect_target(postgres_url).await?;
    // Before any write, even the migrations' (which would change an older schema's data).
    refuse_data(&mut target, None).await?;

    let mut source_tx = source.begin().await?;
    let mut tx = target.begin().await?;
    // DDL is transactional on PostgreSQL: a failed copy leaves not even the tables.
    PG_MIGRATOR.run(&mut tx).await?;
    let schema = Schema::read(&mut tx).await?;
    schema.check_source(&mut source_tx).await?;
    // No other writer (a node started too early) until the copy commits or rolls back.
    let all = schema
        .tables
        .iter()
        .map(|t| ident(&t.name))
        .collect::<Vec<_>>();
    sqlx::query(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", all.join(", ")))
        .execute(&mut *tx)
        .await?;
    refuse_data(&mut tx, Some(&schema)).await?;

    for table in &schema.tables {
        let rows = copy_table(&mut source_tx, &mut tx, table, &mut progress).await?;
        progress(Progress {
            table: &table.name,
            rows,
            done: true,
        });
    }
    let mut report = Vec::new();
    for table in &schema.tables {
        report.push(verify(&mut source_tx, &mut tx, table).await?);
    }
    let wrong: Vec<_> = report.iter().filter(|t| !t.matches()).collect();
    if !wrong.is_empty() {
        let names = wrong.iter().map(|t| t.table.as_str()).collect::<Vec<_>>();
        let names = names.join(", ");
        tx.rollback().await?;
        return Err(CopyError::Mismatch(names, report));
    }
    for table in &schema.tables {
        advance_sequences(&mut tx, table).await?;
    }
    tx.commit().await?;
    source_tx.rollback().await?;
    let _ = source.close().await;
    let _ = target.close().await;
    Ok(report)
}

/// The SQLite database, its schema brought up to date like `frontdesk serve` and `backup` do
/// (a no-op for a database this version already served); never creates a file.
async fn open_source(path: &Path) -> Result<SqliteConnection, CopyError> {
    let failed = |error| CopyError::Source {
        path: path.display().to_string(),
        error,
    };
    if !path.is_file() {
        return Err(CopyError::NoSource(path.display().to_string()));
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(failed)?;
    SQLITE_MIGRATOR.run(&mut conn).await?;
    Ok(conn)
}

async fn connect_target(url: &str) -> Result<PgConnection, CopyError> {
    let failed = |reason: String| CopyError::Connect {
        url: redact(url),
        reason,
    };
    let options = PgConnectOptions::from_str(url).map_err(|e| failed(e.to_string()))?;
    match tokio::time::timeout(
        Duration::from_secs(15),
        PgConnection::connect_with(&options),
    )
    .await
    {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(failed("no answer within 15 s".into())),
    }
}

/// Refuses a target with a row in any table (the migrations' bookkeeping aside): those of
/// `schema`, or before the migrations every table of the current schema.
async fn refuse_data(conn: &mut PgConnection, schema: Option<&Schema>) -> Result<(), CopyError> {
    let tables: Vec<String> = match schema {
        Some(s) => s.tables.iter().map(|t| t.name.clone()).collect(),
        None => {
            sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> $1 ORDER BY 1",
            )
            .bind(MIGRATIONS_TABLE)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut holding = Vec::new();
    for table in tables {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", ident(&table));
        if sqlx::query_scalar::<_, bool>(&sql)
            .fetch_one(&mut *conn)
            .await?
        {
            holding.push(table);
        }
    }
    if holding.is_empty() {
        Ok(())
    } else {
        Err(CopyError::TargetNotEmpty(holding.join(", ")))
    }
}

/// How a column's values are read from SQLite and bound for PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Text,
    Boolean,
    Float,
    Bytes,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "bigint" | "integer" | "smallint" => Kind::Integer,
            "text" | "character varying" | "character" => Kind::Text,
            "boolean" => Kind::Boolean,
            "double precision" | "real" => Kind::Float,
            "bytea" => Kind::Bytes,
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
    /// The PostgreSQL type, for casts (`$1::bigint`).
    data_type: String,
    /// An identity or serial column: its sequence is advanced past the copied values.
    sequence: bool,
    /// References its own table (`contacts.merged_into`): written in a second pass, once
    /// every row it may point at is in.
    self_reference: bool,
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<Column>,
    primary_key: Vec<String>,
    identity: bool,
}

/// The target's tables in foreign-key order (a table after those it references).
#[derive(Debug)]
struct Schema {
    tables: Vec<Table>,
}

impl Schema {
    async fn read(conn: &mut PgConnection) -> Result<Schema, CopyError> {
        let rows = sqlx::query(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text, \
                    (c.is_identity = 'YES' OR coalesce(c.column_default, '') LIKE 'nextval(%') \
             FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
               AND c.table_name <> $1 \
             ORDER BY c.table_name, c.ordinal_position",
        )
        .bind(MIGRATIONS_TABLE)
        .fetch_all(&mut *conn)
        .await?;
        let mut tables: BTreeMap<String, Table> = BTreeMap::new();
        for row in rows {
            let (table, name, data_type): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let Some(kind) = Kind::of(&data_type) else {
                return Err(CopyError::Schema(format!(
                    "{table}.{name} is of type {data_type}, which the copy does not know"
                )));
            };
            let entry = tables.entry(table.clone()).or_insert_with(|| Table {
                name: table,
                columns: Vec::new(),
                primary_key: Vec::new(),
                identity: false,
            });
            let sequence: bool = row.get(3);
            entry.identity |= sequence;
            entry.columns.push(Column {
                name,
                kind,
                data_type,
                sequence,
                self_reference: false,
            });
        }
        let keys = sqlx::query(
            "SELECT t.relname::text, a.attname::text, c.contype::text, \
                    array_position(c.conkey, a.attnum), r.relname::text \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
             LEFT JOIN pg_class r ON r.oid = c.confrelid \
             WHERE c.contype IN ('p', 'f') \
               AND t.relnamespace = (SELECT oid FROM pg_namespace \
                                     WHERE nspname = current_schema()) \
             ORDER BY 1, 3, 4",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut references: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in keys {
            let (table, column, kind): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let Some(t) = tables.get_mut(&table) else {
                continue;
            };
            if kind == "p" {
                t.primary_key.push(column);
                continue;
            }
            let referenced: String = row.get(4);
            if referenced == table {
                if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                    c.self_reference = true;
                }
            } else {
                references.entry(table).or_default().insert(referenced);
            }
        }
        if let Some(t) = tables
            .values()
            .find(|t| t.primary_key.is_empty() && t.columns.iter().any(|c| c.self_reference))
        {
            return Err(CopyError::Schema(format!(
                "{} references itself but has no primary key",
                t.name
            )));
        }
        // Topological order, ties by name (a stable, readable order).
        let mut ordered = Vec::new();
        while !tables.is_empty() {
            let ready = tables
                .keys()
                .find(|name| {
                    references
                        .get(*name)
                        .is_none_or(|refs| refs.iter().all(|r| !tables.contains_key(r)))
                })
                .cloned();
            let Some(name) = ready else {
                let rest = tables.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(CopyError::Schema(format!(
                    "the foreign keys of {rest} form a cycle"
                )));
            };
            ordered.extend(tables.remove(&name));
        }
        Ok(Schema { tables: ordered })
    }

    /// Every table and column on one side is on the other (the migrations' bookkeeping aside):
    /// nothing is silently left behind.
    async fn check_source(&self, source: &mut SqliteConnection) -> Result<(), CopyError> {
        let source_tables: BTreeSet<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?",
        )
        .bind(MIGRATIONS_TABLE)
        .fetch_all(&mut *source)
        .await?
        .into_iter()
        .collect();
        let target_tables: BTreeSet<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        let differ = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            a.difference(b).cloned().collect::<Vec<_>>().join(", ")
        };
        let only_source = differ(&source_tables, &target_tables);
        if !only_source.is_empty() {
            return Err(CopyError::Schema(format!(
                "tables only SQLite has: {only_source}"
            )));
        }
        let only_target = differ(&target_tables, &source_tables);
        if !only_target.is_empty() {
            return Err(CopyError::Schema(format!(
                "tables only PostgreSQL has: {only_target}"
            )));
        }
        for table in &self.tables {
            let source_columns: BTreeSet<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                    .bind(&table.name)
                    .fetch_all(&mut *source)
                    .await?
                    .into_iter()
                    .collect();
            let target_columns: BTreeSet<String> =
                table.columns.iter().map(|c| c.name.clone()).collect();
            for (only, which) in [
                (differ(&source_columns, &target_columns), "SQLite"),
                (differ(&target_columns, &source_columns), "PostgreSQL"),
            ] {
                if !only.is_empty() {
                    return Err(CopyError::Schema(format!(
                        "columns of {} only {which} has: {only}",
                        table.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A value read from SQLite, typed by its PostgreSQL column.
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
    Boolean(Option<bool>),
    Float(Option<f64>),
    Bytes(Option<Vec<u8>>),
}

impl Value {
    fn read(row: &sqlx::sqlite::SqliteRow, index: usize, kind: Kind) -> sqlx::Result<Value> {
        Ok(match kind {
            Kind::Integer => Value::Integer(row.try_get(index)?),
            Kind::Text => Value::Text(row.try_get(index)?),
            Kind::Boolean => Value::Boolean(row.try_get(index)?),
            Kind::Float => Value::Float(row.try_get(index)?),
            Kind::Bytes => Value::Bytes(row.try_get(index)?),
        })
    }

    fn null(kind: Kind) -> Value {
        match kind {
            Kind::Integer => Value::Integer(None),
            Kind::Text => Value::Text(None),
            Kind::Boolean => Value::Boolean(None),
            Kind::Float => Value::Float(None),
            Kind::Bytes => Value::Bytes(None),
        }
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, PgArguments> {
        match self {
            Value::Integer(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Boolean(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
        }
    }
}

/// `"name"`, quoted for both SQLite and PostgreSQL.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn idents<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(ident).collect::<Vec<_>>().join(", ")
}

/// `($1, $2), ($3, $4)`: `rows` tuples of `width` placeholders, each cast when `casts` is given.
fn placeholders(rows: usize, width: usize, casts: Option<&[&str]>) -> String {
    let mut out = String::with_capacity(rows * width * 6);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", r * width + c + 1));
            if let Some(casts) = casts {
                out.push_str("::");
                out.push_str(casts[c]);
            }
        }
        out.push(')');
    }
    out
}

/// Reads `columns` of `table` from SQLite in pages of `limit` rows after `after` (rowid
/// order), with each page's last rowid.
async fn read_page(
    source: &mut SqliteConnection,
    table: &Table,
    columns: &[&Column],
    filter: &str,
    after: i64,
    limit: usize,
) -> sqlx::Result<(Vec<Vec<Value>>, i64)> {
    let sql = format!(
        "SELECT rowid, {} FROM {} WHERE rowid > ? {filter} ORDER BY rowid LIMIT {limit}",
        idents(columns.iter().map(|c| c.name.as_str())),
        ident(&table.name)
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .fetch_all(&mut *source)
        .await?;
    let mut last = after;
    let mut values = Vec::with_capacity(rows.len());
    for row in rows {
        last = row.try_get(0)?;
        let mut out = Vec::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            out.push(Value::read(&row, i + 1, c.kind)?);
        }
        values.push(out);
    }
    Ok((values, last))
}

/// Copies one table in batches (multi-row `INSERT`); returns the rows written.
async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &Table,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<i64, CopyError> {
    let failed = |rows: String| {
        let table = table.name.clone();
        move |error| CopyError::Table { table, rows, error }
    };
    let columns: Vec<&Column> = table.columns.iter().collect();
    let per_insert = (MAX_PARAMETERS / columns.len()).clamp(1, BATCH_ROWS);
    let head = format!(
        "INSERT INTO {} ({}){} VALUES ",
        ident(&table.name),
        idents(columns.iter().map(|c| c.name.as_str())),
        if table.identity {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        }
    );
    let mut written = 0i64;
    let mut after = i64::MIN;
    loop {
        let (rows, last) = read_page(source, table, &columns, "", after, per_insert)
            .await
            .map_err(failed(format!(
                "reading the batch of rows after rowid {after}"
            )))?;
        if rows.is_empty() {
            break;
        }
        let place = format!("writing the batch of rows ending at rowid {last}");
        after = last;
        let rows_in_batch = rows.len() as i64;
        let sql = format!("{head}{}", placeholders(rows.len(), columns.len(), None));
        let mut query = sqlx::query(&sql);
        for row in rows {
            for (value, column) in row.into_iter().zip(&columns) {
                // Self-references are set in the second pass.
                let value = if column.self_reference {
                    Value::null(column.kind)
                } else {
                    value
                };
                query = value.bind(query);
            }
        }
        written += query
            .execute(&mut *target)
            .await
            .map_err(failed(place))?
            .rows_affected() as i64;
        if written / PROGRESS_ROWS > (written - rows_in_batch) / PROGRESS_ROWS {
            progress(Progress {
                table: &table.name,
                rows: written,
                done: false,
            });
        }
    }
    let references: Vec<&Column> = table.columns.iter().filter(|c| c.self_reference).collect();
    if !references.is_empty() {
        set_self_references(source, target, table, &references)
            .await
            .map_err(failed("setting its references to itself".into()))?;
    }
    Ok(written)
}

/// The second pass: `UPDATE … FROM (VALUES …)` by primary key for the rows whose
/// self-references are set.
async fn set_self_references(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &Table,
    references: &[&Column],
) -> sqlx::Result<()> {
    let key: Vec<&Column> = table
        .primary_key
        .iter()
        .filter_map(|k| table.columns.iter().find(|c| &c.name == k))
        .collect();
    let columns: Vec<&Column> = key.iter().chain(references).copied().collect();
    let casts: Vec<&str> = columns.iter().map(|c| c.data_type.as_str()).collect();
    let per_update = (MAX_PARAMETERS / columns.len()).clamp(1, BATCH_ROWS);
    let filter = format!(
        "AND ({})",
        references
            .iter()
            .map(|c| format!("{} IS NOT NULL", ident(&c.name)))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let set = references
        .iter()
        .map(|c| format!("{0} = v.{0}", ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    let matches = key
        .iter()
        .map(|c| format!("t.{0} = v.{0}", ident(&c.name)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut after = i64::MIN;
    loop {
        let (rows, last) = read_page(source, table, &columns, &filter, after, per_update).await?;
        if rows.is_empty() {
            return Ok(());
        }
        after = last;
        let sql = format!(
            "UPDATE {} AS t SET {set} FROM (VALUES {}) AS v ({}) WHERE {matches}",
            ident(&table.name),
            placeholders(rows.len(), columns.len(), Some(&casts)),
            idents(columns.iter().map(|c| c.name.as_str())),
        );
        let mut query = sqlx::query(&sql);
        for value in rows.into_iter().flatten() {
            query = value.bind(query);
        }
        query.execute(&mut *target).await?;
    }
}

/// The figures of one table on both sides: rows; the largest value of each identity column;
/// for a key like `(conversation_id, seq)`, the number of conversations and the sum of their
/// largest sequence numbers.
async fn verify(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &Table,
) -> Result<TableCopy, CopyError> {
    let name = ident(&table.name);
    let mut figures = vec![("rows".to_owned(), format!("SELECT count(*) FROM {name}"))];
    for c in table.columns.iter().filter(|c| c.sequence) {
        figures.push((
            format!("max({})", c.name),
            format!("SELECT coalesce(max({}), 0) FROM {name}", ident(&c.name)),
        ));
    }
    let last_key = table
        .primary_key
        .last()
        .and_then(|k| table.columns.iter().find(|c| &c.name == k));
    if let Some(last) = last_key.filter(|c| c.kind == Kind::Integer && table.primary_key.len() > 1)
    {
        let group = &table.primary_key[..table.primary_key.len() - 1];
        let by = idents(group.iter().map(String::as_str));
        let per = format!(
            "SELECT max({}) AS m FROM {name} GROUP BY {by}",
            ident(&last.name)
        );
        figures.push((
            format!("groups by {}", group.join(", ")),
            format!("SELECT count(*) FROM ({per}) AS g"),
        ));
        figures.push((
            format!("sum of max({}) per {}", last.name, group.join(", ")),
            format!("SELECT CAST(coalesce(sum(m), 0) AS BIGINT) FROM ({per}) AS g"),
        ));
    }
    let mut checks = Vec::new();
    for (what, sql) in figures {
        let sqlite: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *source).await?;
        let postgres: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *target).await?;
        checks.push(Check {
            what,
            sqlite,
            postgres,
        });
    }
    Ok(TableCopy {
        table: table.name.clone(),
        checks,
    })
}

/// Sets each identity (or serial) sequence of `table` so the next id is the largest copied
/// plus one (1 for an empty table).
async fn advance_sequences(target: &mut PgConnection, table: &Table) -> Result<(), CopyError> {
    for c in table.columns.iter().filter(|c| c.sequence) {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({0}), 1), \
             max({0}) IS NOT NULL) FROM {1}",
            ident(&c.name),
            ident(&table.name)
        );
        sqlx::query(&sql)
            .bind(ident(&table.name))
            .bind(&c.name)
            .execute(&mut *target)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ident, placeholders};

    #[test]
    fn statements_are_built_for_any_width() {
        assert_eq!(placeholders(2, 2, None), "($1, $2), ($3, $4)");
        assert_eq!(
            placeholders(1, 2, Some(&["bigint", "text"])),
            "($1::bigint, $2::text)"
        );
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
