//! Session logic over channels (no socket): a console whose socket stops draining lags behind
//! the hub, and must end with every summary current, rebuilt from the store.

use super::{Inbound, Outbound, agent};
use crate::hub::HubEvent;
use crate::{AppState, Settings, convert};
use futures_util::StreamExt;
use protocol::ServerFrame;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::{ConversationContext, SlaDues, SqliteStore, Store};

/// A store with one agent, and the state of a server using it with `settings`.
async fn one_agent(
    settings: Settings,
) -> (tempfile::TempDir, Arc<SqliteStore>, AppState, store::Agent) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).await.unwrap());
    let agent = store
        .create_agent(
            store::NewAgent {
                email: "ana@example.com".into(),
                name: "Ana".into(),
                password_hash: "unused".into(),
                admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let state = AppState::new(store.clone(), settings);
    (dir, store, state, agent)
}

/// A console session over channels: it says hello, and its "socket" holds one frame until the
/// returned receiver reads it (a peer that stops reading is a receiver never read).
fn console(
    state: &AppState,
    agent: store::Agent,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::Receiver<Outbound>,
) {
    let inbound = futures_util::stream::iter([Inbound::Text(r#"{"type":"hello","v":1}"#.into())])
        .chain(futures_util::stream::pending());
    let (tx, socket) = tokio::sync::mpsc::channel::<Outbound>(1);
    let sink = futures_util::sink::unfold(tx, |tx, item: Outbound| async move {
        tx.send(item).await.map(|()| tx)
    });
    let session = tokio::spawn(agent::run(
        state.clone(),
        agent,
        "hash".into(),
        Box::pin(inbound),
        Box::pin(sink),
    ));
    (session, socket)
}

#[tokio::test]
async fn a_lagging_console_ends_with_every_summary_current() {
    let (_dir, store, state, agent) = one_agent(Settings {
        agent_queue: 8,
        ..Settings::default()
    })
    .await;
    // The console says hello, then its socket stops draining.
    let (session, mut socket) = console(&state, agent);
    // The welcome (and whatever fits) is sent; then the session blocks on the socket.
    let first = tokio::time::timeout(Duration::from_secs(10), socket.recv())
        .await
        .unwrap();
    assert!(matches!(
        first,
        Some(Outbound::Frame(ServerFrame::AgentWelcome { .. }))
    ));
    // Meanwhile 40 conversations start and 20 change priority: far more than the queue holds.
    let mut ids = Vec::new();
    for i in 0..40 {
        let v = store
            .create_visitor(&format!("v{i}"), "demo", 2)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&v, &ConversationContext::default(), 3)
            .await
            .unwrap();
        ids.push(c.id);
        state
            .hub
            .publish(HubEvent::Conversation(Box::new(convert::summary(c))));
    }
    for id in &ids[..20] {
        let c = store
            .set_priority(*id, "urgent", SlaDues::default())
            .await
            .unwrap();
        state
            .hub
            .publish(HubEvent::Conversation(Box::new(convert::summary(c))));
    }
    // The socket drains again: replay what the console receives onto its inbox.
    let mut inbox: BTreeMap<i64, protocol::ConversationSummary> = BTreeMap::new();
    let mut welcomes = 1;
    while let Ok(Some(out)) = tokio::time::timeout(Duration::from_millis(500), socket.recv()).await
    {
        match out {
            Outbound::Frame(ServerFrame::AgentWelcome { conversations, .. }) => {
                welcomes += 1;
                inbox = conversations.into_iter().map(|c| (c.id, c)).collect();
            }
            Outbound::Frame(ServerFrame::Conversation(c)) => {
                inbox.insert(c.id, c);
            }
            _ => {}
        }
    }
    assert!(welcomes >= 2, "the console lagged and was rebuilt");
    let truth: BTreeMap<i64, protocol::ConversationSummary> = store
        .list_open_conversations(500)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, convert::summary(c)))
        .collect();
    assert_eq!(inbox.len(), 40, "every conversation is in the inbox");
    for (id, summary) in &truth {
        assert_eq!(
            inbox[id].priority, summary.priority,
            "conversation {id} is current"
        );
    }
    session.abort();
}

#[tokio::test]
async fn a_console_that_stops_reading_is_closed_instead_of_buffered_for() {
    let (_dir, _store, state, agent) = one_agent(Settings {
        send_timeout: Duration::from_millis(300),
        ..Settings::default()
    })
    .await;
    let (session, _never_read) = console(&state, agent);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..5 {
        state.hub.publish(HubEvent::Agents(Vec::new()));
    }
    tokio::time::timeout(Duration::from_secs(5), session)
        .await
        .expect("the session gave up on the slow consumer")
        .unwrap();
}
