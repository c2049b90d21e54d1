//! Runs the storage conformance suite on a temporary SQLite file, plus SQLite-specific checks.

use std::sync::Arc;
use store::{ConversationContext, NewMessage, SqliteStore, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    store::conformance::run_all(Arc::new(store)).await;
}

#[tokio::test]
async fn messages_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frontdesk.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let visitor = store.create_visitor("t", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
    store
        .append_message(NewMessage {
            conversation_id: conv.id,
            client_id: "a",
            agent_id: None,
            body: "still here?",
            at: 1,
        })
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let reopened = SqliteStore::open(&path).await.unwrap();
    let messages = reopened.messages_after(conv.id, 0, 10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body, "still here?");
}

#[tokio::test]
async fn opening_a_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path()).await.unwrap_err().to_string();
    assert!(err.contains("cannot open the database at"), "{err}");
}
