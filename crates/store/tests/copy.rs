//! `store::copy::sqlite_to_postgres` past one batch: a table larger than a batch, a
//! self-reference pointing to a row of a later batch (`contacts.merged_into`), and messages of
//! several conversations; then the copy works as a store (merged contacts resolve, new ids
//! follow the copied ones, the next message gets the next sequence number).
//!
//! Needs `FRONTDESK_TEST_DATABASE_URL` (`cargo xtask test`).

use sqlx::Connection;
use store::{NewMessage, PgStore, SqliteStore, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_larger_than_a_batch_copy_with_forward_self_references() {
    let Some(url) = store::conformance::postgres_database("copy").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("frontdesk.db");
    SqliteStore::open(&db).await.unwrap().close().await;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    // Contacts 1..=1200; each of the first 600 merged into one 600 ids later (another batch).
    for sql in [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
         INSERT INTO contacts (id, site, name, created_at, updated_at, merged_into) \
         SELECT i, 'demo', 'contact ' || i, i, i, CASE WHEN i <= 600 THEN i + 600 END FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) \
         INSERT INTO visitors (id, token_hash, site, created_at, contact_id) \
         SELECT i, 'token-' || i, 'demo', 1, 600 + i FROM n",
        "INSERT INTO conversations (id, visitor_id, site, last_seq, created_at, updated_at, \
         contact_id) SELECT id, id, 'demo', 400 + id, 1, 1, contact_id FROM visitors",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 403) \
         INSERT INTO messages (conversation_id, seq, client_id, author_kind, body, created_at) \
         SELECT c.id, n.i, 'm' || n.i, 'visitor', 'message ' || n.i, n.i \
         FROM conversations c JOIN n ON n.i <= c.last_seq",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let mut tables = Vec::new();
    let report = store::copy::sqlite_to_postgres(&db, &url, |p| {
        if p.done {
            tables.push((p.table.to_owned(), p.rows))
        }
    })
    .await
    .unwrap();
    assert!(report.iter().all(|t| t.matches()), "{report:#?}");
    let position = |name: &str| tables.iter().position(|(t, _)| t == name).unwrap();
    assert!(position("agents") < position("contacts"));
    assert!(position("contacts") < position("visitors"));
    assert!(position("conversations") < position("messages"));
    let rows = |name: &str| tables[position(name)].1;
    assert_eq!(
        (rows("contacts"), rows("messages")),
        (1200, 401 + 402 + 403)
    );
    let messages = report.iter().find(|t| t.table == "messages").unwrap();
    let sums: Vec<_> = messages
        .checks
        .iter()
        .map(|c| (c.what.as_str(), c.postgres))
        .collect();
    assert_eq!(
        sums,
        [
            ("rows", 1206),
            ("groups by conversation_id", 3),
            ("sum of max(seq) per conversation_id", 1206)
        ]
    );

    let store = PgStore::connect(&url).await.unwrap();
    // Merged contacts resolve to the one they went into.
    assert_eq!(store.contact(1).await.unwrap().unwrap().id, 601);
    assert_eq!(store.contact(600).await.unwrap().unwrap().id, 1200);
    // New ids follow the copied ones; the next message gets the next sequence number.
    let visitor = store.create_visitor("new", "demo", 5).await.unwrap();
    assert_eq!(visitor.id, 4);
    assert_eq!(store.visitor_contact(visitor.id, 5).await.unwrap().id, 1201);
    let next = store
        .append_message(NewMessage {
            conversation_id: 3,
            client_id: "after",
            agent_id: None,
            body: "after the move",
            at: 5,
            attachments: &[],
        })
        .await
        .unwrap();
    assert_eq!(next.message.seq, 404);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_data_is_refused_before_any_write() {
    let Some(url) = store::conformance::postgres_database("copy_refused").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("frontdesk.db");
    SqliteStore::open(&db).await.unwrap().close().await;
    // Someone else's table, with a row: not ours to migrate into.
    let mut pg = sqlx::PgConnection::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE other_app (x BIGINT)",
        "INSERT INTO other_app VALUES (1)",
    ] {
        sqlx::query(sql).execute(&mut pg).await.unwrap();
    }
    let err = store::copy::sqlite_to_postgres(&db, &url, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, store::copy::CopyError::TargetNotEmpty(t) if t == "other_app"),
        "{err}"
    );
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    assert_eq!(tables, ["other_app"], "no migration ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copy_is_one_snapshot_while_a_node_still_writes() {
    let Some(url) = store::conformance::postgres_database("copy_snapshot").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("frontdesk.db");
    SqliteStore::open(&db).await.unwrap().close().await;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    // Two conversations of 10,000 messages each: the copy takes a while.
    for sql in [
        "INSERT INTO visitors (id, token_hash, site, created_at) VALUES (1, 'a', 'demo', 1), \
         (2, 'b', 'demo', 1)",
        "INSERT INTO conversations (id, visitor_id, site, last_seq, created_at, updated_at) \
         VALUES (1, 1, 'demo', 10000, 1, 1), (2, 2, 'demo', 10000, 1, 1)",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         INSERT INTO messages (conversation_id, seq, client_id, author_kind, body, created_at) \
         SELECT c.id, n.i, 'm' || n.i, 'visitor', 'message ' || n.i, n.i \
         FROM conversations c CROSS JOIN n",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    // The node goes on writing to both conversations during the copy.
    let node = std::sync::Arc::new(SqliteStore::open(&db).await.unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (node, stop) = (node.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let id = format!("late{i}");
                node.append_message(NewMessage {
                    conversation_id: 1 + (i % 2) as i64,
                    client_id: &id,
                    agent_id: None,
                    body: "written during the copy",
                    at: 2,
                    attachments: &[],
                })
                .await
                .unwrap();
            }
            i
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let report = store::copy::sqlite_to_postgres(&db, &url, |_| {})
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    node.close().await;
    let copied = report
        .iter()
        .find(|t| t.table == "messages")
        .unwrap()
        .rows();
    assert!(copied >= 20_000, "{copied}");
    assert!(
        copied < 20_000 + written as i64,
        "the node wrote during the copy ({written} messages, {copied} copied)"
    );

    // The copy is one moment of the source: each conversation's counter is its messages.
    let mut pg = sqlx::PgConnection::connect(&url).await.unwrap();
    let counters: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT c.last_seq, count(m.seq), coalesce(max(m.seq), 0) FROM conversations c \
         LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY c.id",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    for (last_seq, count, max) in &counters {
        assert_eq!((last_seq, last_seq), (count, max), "{counters:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_or_column_only_sqlite_has_stops_the_copy_before_anything_is_kept() {
    let Some(url) = store::conformance::postgres_database("copy_schema").await else {
        return;
    };
    for (change, expected) in [
        (
            "CREATE TABLE macros (id INTEGER PRIMARY KEY, body TEXT)",
            "tables only SQLite has: macros",
        ),
        (
            "ALTER TABLE agents ADD COLUMN signature TEXT",
            "columns of agents only SQLite has: signature",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("frontdesk.db");
        SqliteStore::open(&db).await.unwrap().close().await;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(change).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let err = store::copy::sqlite_to_postgres(&db, &url, |_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
        let mut pg = sqlx::PgConnection::connect(&url).await.unwrap();
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
        .fetch_one(&mut pg)
        .await
        .unwrap();
        assert_eq!(tables, 0, "not even the migrations' tables are kept");
    }
}
