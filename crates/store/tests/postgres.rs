//! The storage conformance suite on PostgreSQL, plus what only several writers can show: two
//! stores (two nodes) appending to the same conversations at once keep sequence numbers
//! gap-free and unique, and two stores migrating one empty database at once both succeed.
//!
//! Needs a server: `FRONTDESK_TEST_DATABASE_URL` (set by `cargo xtask test`, which starts a
//! private PostgreSQL). Each test creates its own database there. Without the variable the
//! tests are skipped with a message, unless `FRONTDESK_REQUIRE_SERVICES` is set (as
//! `cargo xtask test` does), where they fail.

use std::sync::Arc;
use store::{ConversationContext, NewMessage, PgStore, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_passes_the_conformance_suite() {
    let Some(url) = store::conformance::postgres_database("conformance").await else {
        return;
    };
    let store = PgStore::connect(&url).await.unwrap();
    store::conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_booting_at_once_migrate_once_and_append_gap_free() {
    let Some(url) = store::conformance::postgres_database("nodes").await else {
        return;
    };
    // Two nodes start on one empty database at the same moment.
    let (a, b) = tokio::join!(PgStore::connect(&url), PgStore::connect(&url));
    let (a, b): (Arc<dyn Store>, Arc<dyn Store>) = (Arc::new(a.unwrap()), Arc::new(b.unwrap()));
    let mut conversations = Vec::new();
    for i in 0..4 {
        let v = a.create_visitor(&format!("t{i}"), "demo", 1).await.unwrap();
        let c = a
            .open_or_create_conversation(&v, &ConversationContext::default(), 1)
            .await
            .unwrap();
        conversations.push(c.id);
    }
    // Both nodes' group-commit writers append to the same conversations concurrently; every
    // client id is sent twice, once through each node.
    let mut tasks = Vec::new();
    for i in 0..200 {
        for node in [a.clone(), b.clone()] {
            let conversation = conversations[i % conversations.len()];
            tasks.push(tokio::spawn(async move {
                let id = format!("m{i}");
                node.append_message(NewMessage {
                    conversation_id: conversation,
                    client_id: &id,
                    agent_id: None,
                    body: "from both nodes",
                    at: 2,
                    attachments: &[],
                })
                .await
            }));
        }
    }
    let mut fresh = 0;
    for task in tasks {
        // The second copy waits for the first node's row lock, then finds it stored.
        if !task.await.unwrap().unwrap().duplicate {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 200, "each client id stored once across both nodes");
    for c in conversations {
        let seqs: Vec<u64> = a
            .messages_after(c, 0, 1000)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "gap-free"
        );
        let last = a.conversation(c).await.unwrap().unwrap().last_seq;
        assert_eq!(last, seqs.len() as u64, "the counter matches the messages");
    }
}

/// Appends `client_id` until it is stored (a resend after a failed group is what clients do).
async fn append_until_stored(store: &dyn Store, conversation: i64, client_id: &str) -> u64 {
    for _ in 0..100 {
        match store
            .append_message(NewMessage {
                conversation_id: conversation,
                client_id,
                agent_id: None,
                body: "through a broken connection",
                at: 3,
                attachments: &[],
            })
            .await
        {
            Ok(appended) => return appended.message.seq,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("{client_id} was never stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_writer_reconnects_after_the_server_ends_its_connection() {
    let Some(url) = store::conformance::postgres_database("reconnect").await else {
        return;
    };
    let store = PgStore::connect(&url).await.unwrap();
    let v = store.create_visitor("t", "demo", 1).await.unwrap();
    let c = store
        .open_or_create_conversation(&v, &ConversationContext::default(), 1)
        .await
        .unwrap();
    assert_eq!(append_until_stored(&store, c.id, "before").await, 1);
    // The server ends every connection of this database (as a restart or a failover would).
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        ended.len() >= 2,
        "the pool's and the writer's: {}",
        ended.len()
    );
    // Writes go on (after at most a failed group, which the client resends), gap-free and once.
    for (i, id) in ["after-1", "after-2", "after-3"].iter().enumerate() {
        assert_eq!(append_until_stored(&store, c.id, id).await, i as u64 + 2);
    }
    let seqs: Vec<u64> = store
        .messages_after(c.id, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_kept_in_memory_follow_every_change() {
    let Some(url) = store::conformance::postgres_database("report_days").await else {
        return;
    };
    let a = PgStore::connect(&url).await.unwrap();
    let b = PgStore::connect(&url).await.unwrap();
    let fresh = || async {
        let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
        store
    };
    store::conformance::reports_kept_in_memory_follow_every_change(&a, &b, fresh).await;
}
