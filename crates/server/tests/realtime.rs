//! One node under load, over real sockets: a group commit that fails acknowledges none of its
//! messages and the client's resends are stored once, gap-free.

use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, ServerFrame};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use store::{SqliteStore, Store};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    addr: std::net::SocketAddr,
    store: SqliteStore,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(tune: impl FnOnce(&mut server::Settings)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    let mut settings = server::Settings {
        limits: server::Limits::off(),
        ..server::Settings::default()
    };
    tune(&mut settings);
    let state = server::AppState::new(Arc::new(store.clone()), settings);
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(server::serve(listener, state, async {
        let _ = stopping.await;
    }));
    Server {
        addr,
        store,
        stop: Some(stop),
        stopped,
        _dir: dir,
    }
}

/// A new visitor, welcomed.
async fn visitor(server: &Server) -> Ws {
    let mut ws = raw_visitor(server).await;
    hello(&mut ws, None).await;
    ws
}

async fn next(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return protocol::decode_server(&t).unwrap();
        }
    }
}

async fn send(ws: &mut Ws, id: &str) {
    ws.send(Message::text(format!(
        r#"{{"type":"send","id":"{id}","body":"message {id}"}}"#
    )))
    .await
    .unwrap();
}

/// Reads until every id in `ids` was acknowledged or refused; returns (acks, errors).
async fn answers(ws: &mut Ws, ids: &[&str]) -> (BTreeMap<String, u64>, BTreeSet<String>) {
    let mut acks = BTreeMap::new();
    let mut errors = BTreeSet::new();
    while acks.len() + errors.len() < ids.len() {
        match next(ws).await {
            ServerFrame::Ack { id, seq, .. } => {
                assert!(acks.insert(id, seq).is_none(), "one ack per send");
            }
            ServerFrame::Error {
                code: ErrorCode::Internal,
                id: Some(id),
                ..
            } => {
                errors.insert(id);
            }
            _ => {}
        }
    }
    (acks, errors)
}

#[tokio::test]
async fn a_failed_group_commit_acknowledges_none_of_its_messages_and_resends_are_stored_once() {
    let server = start(|_| {}).await;
    let mut ws = visitor(&server).await;
    send(&mut ws, "m0").await;
    let (acks, _) = answers(&mut ws, &["m0"]).await;
    let conversation = server
        .store
        .open_conversation(1)
        .await
        .unwrap()
        .map(|c| c.id)
        .unwrap();
    assert_eq!(acks["m0"], 1);
    // Let what the first message set in motion (routing, the inbox summary) settle.
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.store.fail_next_commit("the disk is gone");
    let ids = ["m1", "m2", "m3", "m4", "m5"];
    for id in ids {
        send(&mut ws, id).await;
    }
    let (acks, errors) = answers(&mut ws, &ids).await;
    assert!(!errors.is_empty(), "the first group failed");
    assert!(errors.iter().all(|id| !acks.contains_key(id)));
    let stored: Vec<String> = server
        .store
        .messages_after(conversation, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.client_id)
        .collect();
    for id in &errors {
        assert!(
            !stored.contains(id),
            "{id} was refused, so it must not be stored"
        );
    }
    // The client resends everything it has no ack for, and then everything once more.
    let unacked: Vec<&str> = errors.iter().map(String::as_str).collect();
    for id in &unacked {
        send(&mut ws, id).await;
    }
    let (resent, again) = answers(&mut ws, &unacked).await;
    assert!(again.is_empty());
    for id in ids {
        send(&mut ws, id).await;
    }
    let (duplicates, _) = answers(&mut ws, &ids).await;
    for id in ids {
        let first = acks.get(id).or(resent.get(id)).unwrap();
        assert_eq!(duplicates[id], *first, "a resend gets the first ack's seq");
    }
    let seqs: Vec<u64> = server
        .store
        .messages_after(conversation, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=6).collect::<Vec<u64>>(),
        "each stored once, gap-free"
    );
}

#[tokio::test]
async fn stopping_closes_every_socket_with_a_reconnect_code_first() {
    let mut server = start(|_| {}).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(visitor(&server).await);
    }
    server.stop.take().unwrap().send(()).unwrap();
    for ws in &mut sockets {
        let close = loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .expect("closed within 10 s")
            {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a Close frame, got {other:?}"),
            }
        };
        let frame = close.expect("a close code");
        assert_eq!(u16::from(frame.code), 1012, "service restart: reconnect");
    }
    // The server finishes stopping once the sessions are gone (the caller then closes the
    // store): the sockets said goodbye before that.
    drop(sockets);
    tokio::time::timeout(Duration::from_secs(15), &mut server.stopped)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_node_at_capacity_refuses_messages_with_a_wait_and_stores_none_of_them() {
    // Any pending write counts as "at capacity" here.
    let server = start(|s| s.max_pending_writes = 0).await;
    let mut ws = visitor(&server).await;
    send(&mut ws, "m1").await;
    loop {
        match next(&mut ws).await {
            ServerFrame::Error {
                code: ErrorCode::Overloaded,
                id,
                retry_after_ms,
                ..
            } => {
                assert_eq!(id.as_deref(), Some("m1"));
                assert!(retry_after_ms.is_some_and(|ms| ms > 0));
                break;
            }
            ServerFrame::Ack { .. } => panic!("acknowledged at capacity"),
            _ => {}
        }
    }
    assert!(server.store.open_conversation(1).await.unwrap().is_none());
}

/// The stored visitor of `token`, if any.
async fn stored_visitor(server: &Server, token: &str) -> Option<store::Visitor> {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    server.store.visitor(&hash).await.unwrap()
}

/// Says hello (with `token` when resuming) and returns the welcome.
async fn hello(ws: &mut Ws, token: Option<&str>) -> ServerFrame {
    let token = token
        .map(|t| format!(r#","token":"{t}""#))
        .unwrap_or_default();
    ws.send(Message::text(format!(
        r#"{{"type":"hello","v":1,"site":"demo","last_seq":0{token}}}"#
    )))
    .await
    .unwrap();
    loop {
        let frame = next(ws).await;
        if matches!(frame, ServerFrame::Welcome { .. }) {
            return frame;
        }
    }
}

async fn raw_visitor(server: &Server) -> Ws {
    let mut req = format!("ws://{}/ws/visitor", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{}", server.addr)).unwrap(),
    );
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

#[tokio::test]
async fn an_anonymous_hello_writes_nothing_and_the_first_message_stores_the_visitor() {
    let server = start(|_| {}).await;
    let mut first = raw_visitor(&server).await;
    let token = match hello(&mut first, None).await {
        ServerFrame::Welcome { token, .. } => token.expect("a new visitor gets a token"),
        _ => unreachable!(),
    };
    assert!(
        stored_visitor(&server, &token).await.is_none(),
        "no row for a hello"
    );
    // A second tab (or a reload) with the token keeps it, still without a row.
    let mut second = raw_visitor(&server).await;
    match hello(&mut second, Some(&token)).await {
        ServerFrame::Welcome {
            token: again,
            conversation,
            ..
        } => {
            assert_eq!(again, None, "the same identity, no new token");
            assert_eq!(conversation, None);
        }
        _ => unreachable!(),
    }
    assert!(stored_visitor(&server, &token).await.is_none());
    // The first message stores the visitor, and the other tab follows the conversation live.
    send(&mut first, "m1").await;
    let (acks, _) = answers(&mut first, &["m1"]).await;
    assert_eq!(acks["m1"], 1);
    assert!(stored_visitor(&server, &token).await.is_some());
    loop {
        if let ServerFrame::Message(m) = next(&mut second).await {
            assert_eq!(m.id, "m1");
            break;
        }
    }
}
