//! The webhook worker against endpoints that fail: one that answers 500 to every try is given
//! up after the whole schedule and disabled (nothing ever reached it); with the SSRF guard on,
//! an endpoint on a loopback address is refused without any connection, and the refusal is in
//! the log. (The happy path, a restart and an independent verifier: the binary's
//! tests/webhooks.rs.)

use protocol::webhooks::EventType;
use server::webhooks::{Endpoint, Secret, Webhooks};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use store::{ConversationContext, DeliveryState, SqliteStore, Store, WebhookDelivery};
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
