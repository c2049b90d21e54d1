//! `frontdesk migrate --to postgres://…` with the real binary, a real SQLite data folder and a
//! real PostgreSQL: every table of a node's folder (filled through the real server, CLI and
//! store, each table checked non-empty so a table the copy skipped would fail here) arrives
//! with the same counts, and `frontdesk serve --database` goes on from it: the customer resumes
//! its conversation with the next sequence number, the old agents sign in with their passwords,
//! and new rows get new ids. A non-empty target is refused untouched; a copy that fails midway
//! leaves the target without a table; bad input is refused before anything is written.
//!
//! The PostgreSQL tests need `FRONTDESK_TEST_DATABASE_URL` (`cargo xtask test`).

mod common;

use common::ws::{send, wait_for};

use protocol::ServerFrame;
use sqlx::Connection;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use store::{ContactUpdate, ConversationContext, NewMessage, SlaKind, SqliteStore, Status, Store};

const PASSWORD: &str = "old-sqlite-password";
const NOW: i64 = 1_700_000_000_000;

/// `frontdesk ARGS…`, success or not.
fn frontdesk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The customer says hello (with `token` and `last_seq` to resume) and sends `bodies`; returns
/// its token, the welcome's (conversation, last_seq) and the acks' (conversation, seq).
async fn customer(
    node: &common::Server,
    resume: Option<(&str, u64)>,
    bodies: &[&str],
) -> (String, (Option<i64>, u64), Vec<(i64, u64)>) {
    let mut ws = common::ws::connect(&node.addr, "/ws/visitor", None).await;
    let hello = match resume {
        Some((token, last_seq)) => format!(
            r#"{{"type":"hello","v":1,"site":"demo","token":"{token}","last_seq":{last_seq}}}"#
        ),
        None => r#"{"type":"hello","v":1,"site":"demo"}"#.to_owned(),
    };
    send(&mut ws, &hello).await;
    let ServerFrame::Welcome {
        token,
        conversation,
        last_seq,
        ..
    } = wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    let token = token.or(resume.map(|(t, _)| t.to_owned())).unwrap();
    let mut acks = Vec::new();
    for body in bodies {
        // Bodies differ across calls: a client id reused would be a resend.
        let id: String = body
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        send(
            &mut ws,
            &format!(r#"{{"type":"send","id":"{id}","body":"{body}"}}"#),
        )
        .await;
        let ServerFrame::Ack {
            conversation, seq, ..
        } = wait_for(&mut ws, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
        else {
            unreachable!()
        };
        acks.push((conversation, seq));
    }
    (token, (conversation, last_seq), acks)
}

fn add_agent(data_or_database: &[&str], email: &str, admin: bool) -> i64 {
    let mut args = vec!["agent", "add"];
    args.extend_from_slice(data_or_database);
    args.extend_from_slice(&["--email", email, "--password-stdin"]);
    if admin {
        args.push("--admin");
    }
    let out = common::cli(&args, &format!("{PASSWORD}\n"));
    let id = out
        .rsplit("(id ")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches(')');
    id.parse().unwrap()
}

/// Every table of the SQLite file (its migrations' bookkeeping aside) with its row count.
async fn sqlite_counts(db: &Path) -> Vec<(String, i64)> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut counts = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{t}\""))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push((t, n));
    }
    conn.close().await.unwrap();
    counts
}

async fn postgres_counts(url: &str, tables: &[(String, i64)]) -> Vec<(String, i64)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut counts = Vec::new();
    for (t, _) in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{t}\""))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push((t.clone(), n));
    }
    conn.close().await.unwrap();
    counts
}

/// A node's data folder as it looks after some use: the customer's conversation written
/// through the real server, agents through the CLI, everything else through the store.
/// Returns the customer's token, its conversation and that conversation's last sequence number.
async fn fill(dir: tempfile::TempDir) -> (tempfile::TempDir, String, i64, u64) {
    let data = dir.path().to_str().unwrap().to_owned();
    let ana = add_agent(&["--data", &data], "ana@example.com", true);
    let bo = add_agent(&["--data", &data], "bo@example.com", false);

    let mut node = common::start_in(dir, &[]);
    let (token, _, acks) = customer(&node, None, &["hello", "my order", "is late"]).await;
    assert_eq!(acks.iter().map(|a| a.1).collect::<Vec<_>>(), [1, 2, 3]);
    let conversation = acks[0].0;
    // The node stops (killed: what it acknowledged is committed).
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        node.data().join("frontdesk.db"),
        dir.path().join("frontdesk.db"),
    )
    .unwrap();
    for side in ["-wal", "-shm"] {
        let from = node.data().join(format!("frontdesk.db{side}"));
        if from.exists() {
            std::fs::copy(from, dir.path().join(format!("frontdesk.db{side}"))).unwrap();
        }
    }
    drop(node);

    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    // A file the agent sends, bytes that are not text included.
    let label = store
        .add_attachment(&store::NewAttachment {
            id: "att-label",
            visitor_id: None,
            agent_id: Some(ana),
            conversation_id: Some(conversation),
            name: "label.pdf",
            content_type: "application/pdf",
            width: None,
            height: None,
            data: b"%PDF-1.4\n\x00\xff\xfe binary",
            at: NOW,
        })
        .await
        .unwrap();
    let reply = store
        .append_message(NewMessage {
            conversation_id: conversation,
            client_id: "a1",
            agent_id: Some(ana),
            body: "on its way",
            at: NOW,
            attachments: std::slice::from_ref(&label),
        })
        .await
        .unwrap();
    assert_eq!(reply.message.seq, 4);
    // The customer writes again and the agent answers: a next response for the reports.
    let again = |client_id: &'static str, agent_id, at| NewMessage {
        conversation_id: conversation,
        client_id,
        agent_id,
        body: "thanks, and the invoice?",
        at,
        attachments: &[],
    };
    store
        .append_message(again("c4", None, NOW + 1))
        .await
        .unwrap();
    assert!(
        store
            .begin_next_response(conversation, NOW + 1, Some(NOW + 60_000))
            .await
            .unwrap()
    );
    let answer = store
        .append_message(again("a2", Some(ana), NOW + 2))
        .await
        .unwrap();
    assert_eq!(answer.message.seq, 6);
    store.assign(conversation, Some(ana), NOW).await.unwrap();
    store
        .add_note(conversation, bo, "n1", "refund if late again", NOW)
        .await
        .unwrap();
    store
        .escalate(&store::NewEscalation {
            conversation_id: conversation,
            tracker: "jira",
            issue_key: "SUP-1",
            url: "https://acme.atlassian.net/browse/SUP-1",
            status: "To Do",
            done: false,
            escalated_by: bo,
            at: NOW,
        })
        .await
        .unwrap();
    store
        .set_labels(conversation, &["shipping".into(), "vip".into()])
        .await
        .unwrap();
    store
        .record_breach(conversation, SlaKind::FirstResponse, NOW - 60_000, NOW)
        .await
        .unwrap();
    store
        .create_session("a-session-hash", bo, NOW, NOW + 86_400_000)
        .await
        .unwrap();
    store.try_lease("sla", "the-old-node", 1_000).await.unwrap();
    // The deployment's key in Redis (a node on SQLite with --redis has one).
    store.cluster_key("the-old-deployment").await.unwrap();

    // A second customer: anonymous contact first, then a verified one (a later id) it is
    // merged into: `contacts.merged_into` points forward.
    let v2 = store
        .create_visitor("visitor-2-hash", "demo", NOW)
        .await
        .unwrap();
    let anonymous = store.visitor_contact(v2.id, NOW).await.unwrap();
    store
        .update_contact(
            anonymous.id,
            &ContactUpdate {
                email: Some("kim@example.com".into()),
                ..ContactUpdate::default()
            },
            NOW,
        )
        .await
        .unwrap();
    // A webhook endpoint: its row, and the outbox row of the message below.
    store
        .sync_webhook_endpoints(
            &[store::EndpointSpec {
                site: "demo".into(),
                url: "https://crm.example/hooks".into(),
                events: vec![protocol::webhooks::EventType::MessageCreated],
            }],
            NOW,
        )
        .await
        .unwrap();
    let c2 = store
        .open_or_create_conversation(&v2, &ConversationContext::default(), NOW)
        .await
        .unwrap();
    store
        .append_message(NewMessage {
            conversation_id: c2.id,
            client_id: "k1",
            agent_id: None,
            body: "how do refunds work?",
            at: NOW,
            attachments: &[],
        })
        .await
        .unwrap();
    store
        .set_status(c2.id, Status::Resolved, NOW)
        .await
        .unwrap();
    store.rate(c2.id, 5, Some("quick")).await.unwrap();
    store
        .record_deflection("demo", v2.id, "refund", "refunds.md", NOW)
        .await
        .unwrap();
    let v3 = store
        .create_visitor("visitor-3-hash", "demo", NOW)
        .await
        .unwrap();
    let verified = store.identify_visitor(v3.id, "user-7", NOW).await.unwrap();
    assert!(verified.id > anonymous.id);
    store
        .merge_contacts(anonymous.id, verified.id, NOW)
        .await
        .unwrap();
    store
        .set_account_manager(verified.id, Some(ana), NOW)
        .await
        .unwrap();

    // A third customer, erased: the erasure log has a row.
    let v4 = store
        .create_visitor("visitor-4-hash", "demo", NOW)
        .await
        .unwrap();
    let gone = store.visitor_contact(v4.id, NOW).await.unwrap();
    store
        .open_or_create_conversation(&v4, &ConversationContext::default(), NOW)
        .await
        .unwrap();
    store.erase_contact(gone.id, NOW).await.unwrap();
    // A settled widget search: its raw event, visitor key and daily rollups.
    store
        .record_search(&store::SearchEvent {
            site: "demo",
            language: "en",
            query: "refund policy",
            visitor_key: "0123456789abcdef0123456789abcdef",
            results: 1,
            shown: &["en/refund-a-payment".to_owned()],
            opened: Some("en/refund-a-payment"),
            helpful: Some(false),
            handoff: true,
            at: NOW,
        })
        .await
        .unwrap();
    // An API token of Ana's (only its hash is stored).
    store
        .create_api_token(
            &store::NewApiToken {
                name: "CRM sync",
                prefix: "fdk_01234567",
                token_hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                scope: store::TokenScope::Write,
                created_by: Some(ana),
            },
            NOW,
        )
        .await
        .unwrap();
    store.close().await;

    let counts = sqlite_counts(&dir.path().join("frontdesk.db")).await;
    assert!(counts.len() >= 12, "{counts:?}");
    for (table, rows) in &counts {
        assert!(*rows > 0, "fill() leaves {table} empty: add a row of it");
    }
    (dir, token, conversation, 6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_moves_to_postgresql_and_goes_on_where_it_was() {
    let Some(url) = store::conformance::postgres_database("migrate").await else {
        return;
    };
    let (dir, token, conversation, last_seq) = fill(tempfile::tempdir().unwrap()).await;
    let data = dir.path().to_str().unwrap();
    let sqlite = sqlite_counts(&dir.path().join("frontdesk.db")).await;

    let out = frontdesk(&["migrate", "--data", data, "--to", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", stderr(&out));
    assert!(stdout.contains("every count matches"), "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    for (table, rows) in &sqlite {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()
                    == [table.as_str(), &rows.to_string(), &rows.to_string()]),
            "{table} {rows} in\n{stdout}"
        );
    }
    assert_eq!(postgres_counts(&url, &sqlite).await, sqlite);

    // Again into the same (now non-empty) database: refused, nothing changes.
    let again = frontdesk(&["migrate", "--data", data, "--to", &url]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already holds data"),
        "{}",
        stderr(&again)
    );
    assert_eq!(postgres_counts(&url, &sqlite).await, sqlite);

    // The server on PostgreSQL goes on from the copy.
    let node = common::start(&[("FRONTDESK_DATABASE", url.as_str())]);
    let (_, welcome, acks) = customer(
        &node,
        Some((&token, last_seq)),
        &["still waiting", "any news?"],
    )
    .await;
    assert_eq!(welcome, (Some(conversation), last_seq), "resumed");
    assert_eq!(
        acks,
        [(conversation, last_seq + 1), (conversation, last_seq + 2)],
        "the next sequence numbers, gap-free"
    );
    assert_eq!(
        common::ws::sign_in(&node.addr, "ana@example.com", PASSWORD)
            .await
            .0,
        200
    );
    assert_eq!(
        common::ws::sign_in(&node.addr, "bo@example.com", PASSWORD)
            .await
            .0,
        200
    );
    assert_eq!(
        common::ws::sign_in(&node.addr, "ana@example.com", "not-it")
            .await
            .0,
        401
    );

    // New rows take new ids: the identity sequences were moved past the copied ones.
    let carol = add_agent(&["--database", &url], "carol@example.com", false);
    assert_eq!(carol, 3, "the next agent id after 1 and 2");
    let (_, _, fresh) = customer(&node, None, &["a new customer"]).await;
    let old_max = sqlite_max(&dir.path().join("frontdesk.db"), "conversations").await;
    assert_eq!(fresh, [(old_max + 1, 1)]);
}

async fn sqlite_max(db: &Path, table: &str) -> i64 {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query_scalar(&format!("SELECT max(id) FROM {table}"))
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_fails_midway_leaves_the_target_without_a_table() {
    let Some(url) = store::conformance::postgres_database("migrate_fail").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("frontdesk.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let v = store.create_visitor("hash", "demo", NOW).await.unwrap();
    let c = store
        .open_or_create_conversation(&v, &ConversationContext::default(), NOW)
        .await
        .unwrap();
    for (i, body) in ["first", "second"].iter().enumerate() {
        store
            .append_message(NewMessage {
                conversation_id: c.id,
                client_id: &format!("m{i}"),
                agent_id: None,
                body,
                at: NOW,
                attachments: &[],
            })
            .await
            .unwrap();
    }
    store.close().await;
    // SQLite keeps a NUL character in text; PostgreSQL refuses it. The messages come after
    // visitors and conversations, which were already written when the copy fails.
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE messages SET body = 'sec' || char(0) || 'ond' WHERE seq = 2")
        .execute(&mut conn)
        .await
        .unwrap();

    let data = dir.path().to_str().unwrap();
    let out = frontdesk(&["migrate", "--data", data, "--to", &url]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("copying messages (writing the batch of rows ending at rowid 2)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    let mut pg = sqlx::PgConnection::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut pg)
    .await
    .unwrap();
    assert_eq!(tables, 0, "not even the migrations' tables are left");

    // Mended, the same command succeeds on the same target.
    sqlx::query("UPDATE messages SET body = 'second' WHERE seq = 2")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let out = frontdesk(&["migrate", "--data", data, "--to", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM messages ORDER BY seq")
        .fetch_all(&mut pg)
        .await
        .unwrap();
    assert_eq!(bodies, ["first", "second"]);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    let empty = tempfile::tempdir().unwrap();
    let data = empty.path().to_str().unwrap();

    let out = frontdesk(&["migrate", "--data", data, "--to", "mysql://db/frontdesk"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("postgres:// URL"), "{}", stderr(&out));

    let out = frontdesk(&[
        "migrate",
        "--data",
        data,
        "--to",
        "postgres://127.0.0.1:1/x",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no SQLite database"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_dir(empty.path()).unwrap().next().is_none(),
        "no file created"
    );

    let store = SqliteStore::open(&empty.path().join("frontdesk.db"))
        .await
        .unwrap();
    store.close().await;
    let out = frontdesk(&[
        "migrate",
        "--data",
        data,
        "--to",
        "postgres://fd:secret-password@127.0.0.1:1/x",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(
        !err.contains("secret-password"),
        "the password is not shown: {err}"
    );
}
