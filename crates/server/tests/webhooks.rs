//! The webhook worker against endpoints that fail: one that answers 500 to every try is given
//! up after the whole schedule and disabled (nothing ever reached it); with the SSRF guard on,
//! an endpoint on a loopback address is refused without any connection, and the refusal is in
//! the log. Two nodes on one PostgreSQL database deliver every event once, in order per
//! conversation. (A restart and an independent verifier: the binary's tests/webhooks.rs.)

use protocol::webhooks::EventType;
use server::webhooks::{Endpoint, Secret, Webhooks};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use store::{
    ConversationContext, DeliveryState, NewMessage, PgStore, SqliteStore, Store, WebhookDelivery,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP server on loopback answering 500 to every request; counts the connections.
async fn failing_receiver() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\
                          connection: close\r\n\r\noops",
                    )
                    .await;
            });
        }
    });
    (port, count)
}

/// A server state on a fresh SQLite file with `webhooks`, its endpoints registered and the
/// worker started.
async fn start(dir: &tempfile::TempDir, webhooks: Webhooks) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("frontdesk.db"))
            .await
            .unwrap(),
    );
    server::webhooks::register(&*store, &webhooks)
        .await
        .unwrap();
    let settings = server::Settings {
        webhooks,
        ..server::Settings::default()
    };
    server::AppState::new(store.clone(), settings).start();
    store
}

fn endpoint(url: String) -> Endpoint {
    Endpoint {
        site: "shop".into(),
        url,
        secret: Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        events: vec![EventType::ConversationCreated],
    }
}

/// A conversation on site `shop` (one `conversation.created`).
async fn conversation(store: &dyn Store, token: &str) {
    let visitor = store.create_visitor(token, "shop", 1).await.unwrap();
    store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
}

/// The endpoint's only delivery, once it is no longer pending (10 s at most).
async fn settled(store: &dyn Store, endpoint: i64) -> WebhookDelivery {
    let start = Instant::now();
    loop {
        let rows = store.webhook_deliveries(endpoint, None, 10).await.unwrap();
        if let [row] = rows.as_slice()
            && row.state != DeliveryState::Pending
        {
            return row.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_the_whole_schedule_is_given_up_and_disabled() {
    let (port, requests) = failing_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let store = start(
        &dir,
        Webhooks {
            endpoints: vec![endpoint(format!("http://127.0.0.1:{port}/hooks"))],
            retry_schedule: vec![Duration::from_millis(20), Duration::from_millis(40)],
            allow_private_targets: true,
            poll: Duration::from_millis(10),
            ..Webhooks::default()
        },
    )
    .await;
    conversation(&*store, "t1").await;
    let id = store.webhook_endpoints().await.unwrap()[0].id;
    let row = settled(&*store, id).await;
    assert_eq!(row.state, DeliveryState::Failed);
    assert_eq!((row.attempts, row.last_status), (3, Some(500)));
    assert_eq!(row.last_error.as_deref(), Some("oops"));
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "the first try and two retries"
    );
    let endpoint = &store.webhook_endpoints().await.unwrap()[0];
    assert!(endpoint.disabled_at.is_some());
    assert_eq!(
        endpoint.disabled_reason.as_deref(),
        Some("failing for the whole retry schedule")
    );
    // Disabled: a new event is not even enqueued.
    conversation(&*store, "t2").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        store.webhook_deliveries(id, None, 10).await.unwrap().len(),
        1
    );
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ssrf_guard_refuses_loopback_targets_without_connecting() {
    let (port, requests) = failing_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let store = start(
        &dir,
        Webhooks {
            endpoints: vec![
                endpoint(format!("http://127.0.0.1:{port}/hooks")),
                endpoint(format!("http://localhost:{port}/hooks")),
            ],
            retry_schedule: Vec::new(),
            poll: Duration::from_millis(10),
            ..Webhooks::default()
        },
    )
    .await;
    assert!(
        !Webhooks::default().allow_private_targets,
        "refused by default"
    );
    conversation(&*store, "t1").await;
    for endpoint in store.webhook_endpoints().await.unwrap() {
        let row = settled(&*store, endpoint.id).await;
        assert_eq!((row.state, row.last_status), (DeliveryState::Failed, None));
        let error = row.last_error.unwrap();
        assert!(error.contains("refused"), "{}: {error}", endpoint.url);
        assert!(error.contains("allow_private_targets"), "{error}");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 0, "nothing connected");
}

/// What the recording receiver kept of a request: its `webhook-id`, its body, when it arrived
/// and when it was answered.
type Received = (String, String, Instant, Instant);

/// An HTTP server on loopback answering 204 after 20 ms, keeping every request.
async fn recording_receiver() -> (u16, Arc<std::sync::Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let arrived = Instant::now();
                let mut buf = vec![0; 16 * 1024];
                // Headers, then the body its content-length announces.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                            })
                            .unwrap_or_default()
                    };
                    let length: usize = header("content-length").parse().unwrap_or(0);
                    if body.len() < length {
                        continue;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let answered = Instant::now();
                    kept.lock().unwrap().push((
                        header("webhook-id"),
                        body.to_owned(),
                        arrived,
                        answered,
                    ));
                    let _ = socket
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await;
                    return;
                }
            });
        }
    });
    (port, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_deliver_every_event_once_in_order() {
    let Some(database) = store::conformance::postgres_database("webhook_nodes").await else {
        return;
    };
    let (port, got) = recording_receiver().await;
    let webhooks = || Webhooks {
        endpoints: vec![Endpoint {
            events: vec![EventType::ConversationCreated, EventType::MessageCreated],
            ..endpoint(format!("http://127.0.0.1:{port}/hooks"))
        }],
        allow_private_targets: true,
        poll: Duration::from_millis(10),
        ..Webhooks::default()
    };
    let mut nodes: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(PgStore::connect(&database).await.unwrap());
        server::webhooks::register(&*store, &webhooks())
            .await
            .unwrap();
        let settings = server::Settings {
            webhooks: webhooks(),
            ..server::Settings::default()
        };
        server::AppState::new(store.clone(), settings).start();
        nodes.push(store);
    }
    // Six conversations of five messages, written on both nodes in turns.
    let mut conversations = Vec::new();
    for c in 0..6 {
        let node = &nodes[c % 2];
        let visitor = node
            .create_visitor(&format!("t{c}"), "shop", 1)
            .await
            .unwrap();
        let conversation = node
            .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
            .await
            .unwrap();
        conversations.push(conversation.id);
    }
    for i in 1..=5 {
        for (c, id) in conversations.iter().enumerate() {
            nodes[(c + i) % 2]
                .append_message(NewMessage {
                    conversation_id: *id,
                    client_id: &format!("m{i}"),
                    agent_id: None,
                    body: &format!("message {i}"),
                    at: 2,
                    attachments: &[],
                })
                .await
                .unwrap();
        }
    }
    let total = conversations.len() * 6;
    let start = Instant::now();
    while got.lock().unwrap().len() < total {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} of {total}",
            got.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    let mut ids: Vec<&str> = got.iter().map(|(id, ..)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((ids.len(), got.len()), (total, total), "each event once");
    // In order per conversation: created, then messages 1 to 5, each sent only after the
    // previous one was answered.
    let mut seen: std::collections::HashMap<i64, Vec<(i64, Instant, Instant)>> = Default::default();
    for (_, body, arrived, answered) in &got {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let c = v["data"]["conversation"]["id"].as_i64().unwrap();
        let seq = v["data"]["message"]["seq"].as_i64().unwrap_or(0);
        seen.entry(c).or_default().push((seq, *arrived, *answered));
    }
    for c in &conversations {
        let mut events = seen[c].clone();
        events.sort_by_key(|(_, arrived, _)| *arrived);
        let seqs: Vec<i64> = events.iter().map(|e| e.0).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4, 5], "conversation {c}");
        for pair in events.windows(2) {
            assert!(
                pair[1].1 >= pair[0].2,
                "conversation {c}: {seqs:?} overlapped"
            );
        }
    }
}
