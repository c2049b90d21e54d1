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
            attachments: &[],
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

/// Every byte of the database's files (the database, its WAL and shared memory).
fn file_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn an_erased_contact_leaves_no_bytes_in_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    let visitor = store.create_visitor("t-erase", "demo", 1).await.unwrap();
    let contact = store.visitor_contact(visitor.id, 1).await.unwrap();
    let update = store::ContactUpdate {
        name: Some("Zelda Qwertyuiop".into()),
        email: Some("zelda.qwertyuiop@example.org".into()),
        attributes: [("iban".to_owned(), "ZQ77-SECRET-IBAN".to_owned())].into(),
    };
    store.update_contact(contact.id, &update, 2).await.unwrap();
    // An older name, replaced: its bytes must not linger in a free slot either.
    let rename = store::ContactUpdate {
        name: Some("Zelda Q.".into()),
        ..Default::default()
    };
    store.update_contact(contact.id, &rename, 3).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 3)
        .await
        .unwrap();
    for i in 0..50 {
        store
            .append_message(NewMessage {
                conversation_id: conv.id,
                client_id: &format!("m{i}"),
                agent_id: None,
                body: &format!("my card is XQ-CARD-{i:04} and my address 1 Qwertyuiop Street"),
                at: 4,
                attachments: &[],
            })
            .await
            .unwrap();
    }
    let markers = [
        "Qwertyuiop",
        "qwertyuiop@",
        "ZQ77-SECRET-IBAN",
        "XQ-CARD-00",
    ];
    let bytes = file_bytes(dir.path());
    assert!(
        markers.iter().all(|m| contains(&bytes, m)),
        "the markers are in the files before the erasure"
    );
    store.erase_contact(contact.id, 5).await.unwrap();
    store.close().await;
    drop(store);
    let bytes = file_bytes(dir.path());
    for marker in markers {
        assert!(
            !contains(&bytes, marker),
            "{marker} is still in the database files"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_kept_in_memory_follow_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frontdesk.db");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    let fresh = || async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
        store
    };
    store::conformance::reports_kept_in_memory_follow_every_change(&a, &b, fresh).await;
}
