//! The agents' search index catches up at start with what the database gained while the node
//! was down (another node wrote it, or this one was killed before committing its index): the
//! real binary on a SQLite file is killed with SIGKILL, a message is written to its database
//! as another node would, and after a restart the agents' search finds it.

mod common;

use futures_util::{SinkExt, StreamExt};
use std::process::Child;
use std::time::Duration;
use store::{NewMessage, Store};
use tokio_tungstenite::tungstenite::protocol::Message;

const PASSWORD: &str = "agent-password";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn sign_in(addr: &str) -> String {
    let (status, cookie) = common::ws::sign_in(addr, "ana@example.com", PASSWORD).await;
    assert_eq!(status, 200);
    cookie.unwrap()
}

/// Waits (up to 10 s) until the agents' search finds `word`.
async fn eventually_found(addr: &str, cookie: &str, word: &str) -> bool {
    for _ in 0..100 {
        let hits: Vec<serde_json::Value> = reqwest::Client::new()
            .get(format!("http://{addr}/api/conversations/search?q={word}"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !hits.is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_database_gained_while_the_node_was_down_is_searchable_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    common::cli(
        &[
            "agent",
            "add",
            "--data",
            &data,
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--password-stdin",
        ],
        PASSWORD,
    );
    let (child, addr) = common::serve(dir.path(), &[], &[]);
    let server = Killed(child);

    // A customer writes; the agents' search finds it (indexed and committed).
    let mut ws = common::ws::connect(&addr, "/ws/visitor", None).await;
    ws.send(Message::text(r#"{"type":"hello","v":1,"site":"demo"}"#))
        .await
        .unwrap();
    ws.send(Message::text(
        r#"{"type":"send","id":"c1","body":"my parcel is lost, alpaca"}"#,
    ))
    .await
    .unwrap();
    let conversation = loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("the socket ended before the ack")
        };
        if let protocol::ServerFrame::Ack { conversation, .. } =
            protocol::decode_server(&t).unwrap()
        {
            break conversation;
        }
    };
    let cookie = sign_in(&addr).await;
    assert!(eventually_found(&addr, &cookie, "alpaca").await);
    // Past the first commit, so the index has its mark on disk.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(ws);
    drop(server); // SIGKILL

    // Meanwhile another node writes to the conversation.
    let store = store::SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    store
        .append_message(NewMessage {
            conversation_id: conversation,
            client_id: "from-another-node",
            agent_id: None,
            body: "still waiting for it, wombat",
            at: now,
            attachments: &[],
        })
        .await
        .unwrap();
    store.close().await;

    let (child, addr) = common::serve(dir.path(), &[], &[]);
    let _server = Killed(child);
    let cookie = sign_in(&addr).await;
    assert!(
        eventually_found(&addr, &cookie, "wombat").await,
        "the restarted node's search finds what was written while it was down"
    );
    assert!(eventually_found(&addr, &cookie, "alpaca").await);
}
