//! Limits per client against a real server on 127.0.0.1:0: a flood of new visitors from one
//! address is cut, the same flood through a trusted proxy (distinct forwarded addresses) is not,
//! an untrusted peer's `X-Forwarded-For` is ignored, a visitor's messages over the limit are
//! refused with their id and a wait (and stored when resent), a flood of conversations leaves
//! the real customer in the agents' inbox, a half-sent request is dropped after the header
//! timeout, and the connection cap answers 429.

use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, ServerFrame};
use std::sync::Arc;
use std::time::Duration;
use store::{NewAgent, SqliteStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    addr: std::net::SocketAddr,
    base: String,
    _dir: tempfile::TempDir,
}

async fn start(tune: impl FnOnce(&mut server::Settings)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    store
        .create_agent(
            NewAgent {
                email: "ana@example.com".into(),
                name: "Ana".into(),
                password_hash: server::hash_password("agent-password").unwrap(),
                admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut settings = server::Settings::default();
    tune(&mut settings);
    if !settings.trusted_proxies.is_empty() {
        settings.public_url = Some(base.clone());
    }
    let state = server::AppState::new(Arc::new(store), settings);
    state.start();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    Server {
        addr,
        base,
        _dir: dir,
    }
}

async fn connect_with(server: &Server, path: &str, headers: &[(&'static str, String)]) -> Ws {
    let mut req = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&server.base).unwrap());
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn recv(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            match protocol::decode_server(&t).unwrap() {
                ServerFrame::Availability(_) => continue,
                frame => return frame,
            }
        }
    }
}

/// A new visitor's hello: `Ok(token)` on welcome, `Err(retry_after_ms)` when refused.
async fn new_visitor(ws: &mut Ws) -> Result<String, u32> {
    ws.send(Message::text(
        r#"{"type":"hello","v":1,"site":"demo","last_seq":0}"#,
    ))
    .await
    .unwrap();
    match recv(ws).await {
        ServerFrame::Welcome { token, .. } => Ok(token.unwrap()),
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms: Some(ms),
            ..
        } => Err(ms),
        other => panic!("unexpected {other:?}"),
    }
}

/// Opens `n` new visitors one after another (each closed after its answer); counts welcomes.
async fn flood(server: &Server, n: u32, forwarded: bool) -> u32 {
    let mut welcomed = 0;
    for i in 0..n {
        let headers = if forwarded {
            vec![(
                "x-forwarded-for",
                format!("198.51.{}.{}", i / 250, i % 250 + 1),
            )]
        } else {
            Vec::new()
        };
        let mut ws = connect_with(server, "/ws/visitor", &headers).await;
        if new_visitor(&mut ws).await.is_ok() {
            welcomed += 1;
        }
        let _ = ws.close(None).await;
    }
    welcomed
}

fn few_new_visitors(s: &mut server::Settings) {
    s.limits.new_visitors_per_address = server::Rate::new(20, Duration::from_secs(3600));
}

#[tokio::test]
async fn a_flood_of_new_visitors_from_one_address_is_cut_at_the_limit() {
    let server = start(few_new_visitors).await;
    assert_eq!(flood(&server, 1_000, false).await, 20);
    // The refusal says how long to wait (20 an hour: one more in about three minutes).
    let mut ws = connect_with(&server, "/ws/visitor", &[]).await;
    let wait = new_visitor(&mut ws).await.unwrap_err();
    assert!((60_000..=180_000).contains(&wait), "{wait} ms");
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("frontdesk_limited_total{limit=\"new_visitors_per_address\"} 981"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_same_flood_through_a_trusted_proxy_with_distinct_addresses_is_not_cut() {
    let server = start(|s| {
        few_new_visitors(s);
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    assert_eq!(flood(&server, 1_000, true).await, 1_000);
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_address_is_ignored() {
    // 127.0.0.1 is not a trusted proxy here: every forwarded address is the same client.
    let server = start(|s| {
        few_new_visitors(s);
        s.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    assert_eq!(flood(&server, 100, true).await, 20);
}

#[tokio::test]
async fn messages_over_the_limit_are_refused_with_their_id_and_stored_when_resent() {
    let server = start(|s| {
        s.limits.messages_per_visitor = server::Rate::new(3, Duration::from_secs(2));
    })
    .await;
    let mut ws = connect_with(&server, "/ws/visitor", &[]).await;
    let token = new_visitor(&mut ws).await.unwrap();
    let send = |id: &str| format!(r#"{{"type":"send","id":"{id}","body":"message {id}"}}"#);
    for id in ["m1", "m2", "m3", "m4"] {
        ws.send(Message::text(send(id))).await.unwrap();
    }
    let mut acked = Vec::new();
    let mut refused = None;
    while acked.len() + usize::from(refused.is_some()) < 4 {
        match recv(&mut ws).await {
            ServerFrame::Ack { id, .. } => acked.push(id),
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                id: Some(id),
                retry_after_ms: Some(ms),
                ..
            } => refused = Some((id, ms)),
            _ => {}
        }
    }
    assert_eq!(acked, ["m1", "m2", "m3"]);
    let (id, wait) = refused.expect("the fourth is refused");
    assert_eq!(id, "m4");
    assert!(wait > 0 && wait <= 1_000, "{wait} ms");
    // The limit is per visitor, not per connection: a second tab is refused too.
    let mut tab = connect_with(&server, "/ws/visitor", &[]).await;
    tab.send(Message::text(format!(
        r#"{{"type":"hello","v":1,"site":"demo","last_seq":0,"token":"{token}"}}"#
    )))
    .await
    .unwrap();
    assert!(matches!(recv(&mut tab).await, ServerFrame::Welcome { .. }));
    tab.send(Message::text(send("m4"))).await.unwrap();
    loop {
        match recv(&mut tab).await {
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                id: Some(id),
                ..
            } if id == "m4" => break,
            ServerFrame::Message(_) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // After the wait, the resend is stored and acknowledged.
    tokio::time::sleep(Duration::from_millis(u64::from(wait) + 50)).await;
    ws.send(Message::text(send("m4"))).await.unwrap();
    loop {
        if let ServerFrame::Ack { id, seq, .. } = recv(&mut ws).await {
            assert_eq!((id.as_str(), seq), ("m4", 4));
            break;
        }
    }
}

#[tokio::test]
async fn a_conversation_flood_from_one_address_leaves_the_real_customer_in_the_inbox() {
    let server = start(|_| {}).await;
    // A real customer, from 127.0.0.1.
    let mut customer = connect_with(&server, "/ws/visitor", &[]).await;
    new_visitor(&mut customer).await.unwrap();
    customer
        .send(Message::text(
            r#"{"type":"send","id":"real","body":"I need help with my invoice"}"#,
        ))
        .await
        .unwrap();
    let conversation = loop {
        if let ServerFrame::Ack { conversation, .. } = recv(&mut customer).await {
            break conversation;
        }
    };
    // The spammer, on another address of the loopback range, opens visitor after visitor and
    // writes from each.
    let mut started = 0;
    for i in 0..100 {
        let mut req = format!("ws://{}/ws/visitor", server.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(&server.base).unwrap());
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.9:0".parse().unwrap()).unwrap();
        let stream = socket.connect(server.addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
        ws.send(Message::text(
            r#"{"type":"hello","v":1,"site":"demo","last_seq":0}"#,
        ))
        .await
        .unwrap();
        let welcomed = loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => match protocol::decode_server(&t).unwrap() {
                    ServerFrame::Welcome { .. } => break true,
                    ServerFrame::Error { .. } => break false,
                    _ => {}
                },
                _ => break false,
            }
        };
        if welcomed {
            ws.send(Message::text(format!(
                r#"{{"type":"send","id":"s{i}","body":"buy now"}}"#
            )))
            .await
            .unwrap();
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                match protocol::decode_server(&t).unwrap() {
                    ServerFrame::Ack { .. } => {
                        started += 1;
                        break;
                    }
                    ServerFrame::Error { .. } => break,
                    _ => {}
                }
            }
        }
        let _ = ws.close(None).await;
    }
    let defaults = server::Limits::default();
    assert_eq!(started, defaults.new_conversations_per_address.count);
    // The agent's inbox still holds the real customer's conversation.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = client
        .post(format!("{}/api/login", server.base))
        .header("origin", &server.base)
        .json(&serde_json::json!({"email": "ana@example.com", "password": "agent-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut agent = connect_with(&server, "/ws/agent", &[("cookie", cookie)]).await;
    agent
        .send(Message::text(r#"{"type":"hello","v":1}"#))
        .await
        .unwrap();
    loop {
        if let ServerFrame::AgentWelcome { conversations, .. } = recv(&mut agent).await {
            assert!(conversations.iter().any(|c| c.id == conversation));
            assert_eq!(conversations.len() as u32, started + 1);
            break;
        }
    }
}

#[tokio::test]
async fn a_half_sent_request_is_dropped_after_the_header_timeout() {
    let server = start(|s| s.limits.header_timeout = Duration::from_millis(500)).await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(started.elapsed() >= Duration::from_millis(400));
    // A complete request on a fresh connection is still served.
    let ok = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn connections_past_the_cap_get_429() {
    let server = start(|s| s.limits.connections_per_address = 5).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_with(&server, "/ws/visitor", &[]).await);
    }
    let mut extra = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 429"), "{text}");
    assert!(text.contains("Retry-After"));
    drop(held.pop());
    // A slot is free again once a connection closes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ok = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
