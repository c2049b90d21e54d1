//! End-to-end tests of the WebSocket protocol against a real server on 127.0.0.1:0 with a real
//! SQLite file: send/ack/replay/dedupe, the agent side, and hostile input.

use futures_util::{SinkExt, StreamExt};
use protocol::{Author, ErrorCode, ServerFrame};
use std::sync::Arc;
use std::time::Duration;
use store::{NewAgent, SqliteStore, Store};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct TestServer {
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    let hash = server::hash_password("agent-password").unwrap();
    store
        .create_agent(
            NewAgent {
                email: "ana@example.com".into(),
                name: "Ana".into(),
                password_hash: hash,
                admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let settings = server::Settings {
        reassign_grace: Duration::from_millis(50),
        ..server::Settings::default()
    };
    let state = server::AppState::new(Arc::new(store), settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        _dir: dir,
        _shutdown: tx,
    }
}

async fn connect(server: &TestServer, path: &str, cookie: Option<&str>) -> Ws {
    let mut req = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    let origin = format!("http://{}", server.addr);
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&origin).unwrap());
    if let Some(cookie) = cookie {
        req.headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie).unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next frame, skipping availability updates (asserted by `recv_any` where they matter).
async fn recv(ws: &mut Ws) -> ServerFrame {
    loop {
        match recv_any(ws).await {
            ServerFrame::Availability(_) | ServerFrame::Agents { .. } => continue,
            frame => return frame,
        }
    }
}

async fn recv_any(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("connection open")
            .expect("no protocol error");
        match msg {
            Message::Text(t) => return protocol::decode_server(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn recv_error(ws: &mut Ws) -> ErrorCode {
    match recv(ws).await {
        ServerFrame::Error { code, .. } => code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

/// Says hello and returns (token, welcome's last_seq).
async fn hello(ws: &mut Ws, token: Option<&str>, last_seq: u64) -> (Option<String>, u64) {
    let token_json = token
        .map(|t| format!(r#","token":"{t}""#))
        .unwrap_or_default();
    send(
        ws,
        &format!(r#"{{"type":"hello","v":1,"site":"demo","last_seq":{last_seq}{token_json}}}"#),
    )
    .await;
    match recv(ws).await {
        ServerFrame::Welcome {
            token, last_seq, ..
        } => (token, last_seq),
        other => panic!("expected welcome, got {other:?}"),
    }
}

async fn login(server: &TestServer) -> String {
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{}/api/login", server.addr))
        .header("origin", format!("http://{}", server.addr))
        .json(&serde_json::json!({"email": "ana@example.com", "password": "agent-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn visitor_message_reaches_agent_and_reply_comes_back() {
    let server = start().await;
    let mut visitor = connect(&server, "/ws/visitor", None).await;
    let (token, last) = hello(&mut visitor, None, 0).await;
    let token = token.expect("a new visitor gets a token");
    assert_eq!(last, 0);

    send(
        &mut visitor,
        r#"{"type":"send","id":"v1","body":"Where is my invoice?"}"#,
    )
    .await;
    let conversation = match recv(&mut visitor).await {
        ServerFrame::Ack {
            id,
            seq,
            conversation,
            ..
        } => {
            assert_eq!((id.as_str(), seq), ("v1", 1));
            conversation
        }
        other => panic!("expected ack, got {other:?}"),
    };
    assert!(
        matches!(recv(&mut visitor).await, ServerFrame::Message(m) if m.seq == 1 && m.author == Author::Visitor)
    );

    let cookie = login(&server).await;
    let mut agent = connect(&server, "/ws/agent", Some(&cookie)).await;
    send(&mut agent, r#"{"type":"hello","v":1}"#).await;
    match recv(&mut agent).await {
        ServerFrame::AgentWelcome {
            agent,
            conversations,
            ..
        } => {
            assert_eq!(agent.name, "Ana");
            assert_eq!(conversations.len(), 1);
            assert_eq!(
                conversations[0].preview.as_deref(),
                Some("Where is my invoice?")
            );
        }
        other => panic!("expected agent welcome, got {other:?}"),
    }
    send(
        &mut agent,
        &format!(r#"{{"type":"open","conversation":{conversation}}}"#),
    )
    .await;
    // Summaries (assignment, SLA) may come first; then the replayed message.
    loop {
        match recv(&mut agent).await {
            ServerFrame::Conversation(c) if c.id == conversation => continue,
            ServerFrame::Message(m) => {
                assert_eq!(m.body, "Where is my invoice?");
                break;
            }
            other => panic!("expected the replayed message, got {other:?}"),
        }
    }

    send(
        &mut agent,
        &format!(
            r#"{{"type":"send","id":"a1","conversation":{conversation},"body":"Under Billing."}}"#
        ),
    )
    .await;
    assert!(matches!(
        recv(&mut agent).await,
        ServerFrame::Ack { seq: 2, .. }
    ));
    match recv(&mut visitor).await {
        ServerFrame::Message(m) => {
            assert_eq!(m.seq, 2);
            assert_eq!(m.body, "Under Billing.");
            assert!(matches!(m.author, Author::Agent { ref name, .. } if name == "Ana"));
        }
        other => panic!("expected the reply, got {other:?}"),
    }

    // A second tab (or a reload) with the same token resumes after its last seen sequence.
    let mut tab = connect(&server, "/ws/visitor", None).await;
    let (new_token, last) = hello(&mut tab, Some(&token), 1).await;
    assert_eq!(new_token, None, "a known token is kept");
    assert_eq!(last, 2);
    assert!(
        matches!(recv(&mut tab).await, ServerFrame::Message(m) if m.seq == 2),
        "only the missing message is replayed"
    );

    // A resend after a lost ack is deduplicated: same seq, no new message.
    send(
        &mut tab,
        r#"{"type":"send","id":"v1","body":"Where is my invoice?"}"#,
    )
    .await;
    assert!(matches!(
        recv(&mut tab).await,
        ServerFrame::Ack { seq: 1, .. }
    ));
    send(&mut tab, r#"{"type":"send","id":"v2","body":"Thanks!"}"#).await;
    assert!(matches!(
        recv(&mut tab).await,
        ServerFrame::Ack { seq: 3, .. }
    ));
    // Both tabs and the agent see seq 3 exactly once, and nothing in between.
    assert!(matches!(recv(&mut tab).await, ServerFrame::Message(m) if m.seq == 3));
    assert!(matches!(recv(&mut visitor).await, ServerFrame::Message(m) if m.seq == 3));

    // `/metrics` counts what just happened on this node.
    let metrics = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert_eq!(value("frontdesk_connections{kind=\"visitor\"}"), 2.0);
    assert_eq!(value("frontdesk_connections{kind=\"agent\"}"), 1.0);
    // v1, its resend (acknowledged again) and v2; the agent's a1.
    assert_eq!(
        value("frontdesk_ack_latency_seconds_count{kind=\"visitor\"}"),
        3.0
    );
    assert_eq!(
        value("frontdesk_ack_latency_seconds_count{kind=\"agent\"}"),
        1.0
    );
    // Hellos and sends: 2 + 3 from the visitors, hello, open and send from the agent.
    assert_eq!(
        value("frontdesk_frames_received_total{kind=\"visitor\"}"),
        5.0
    );
    assert_eq!(
        value("frontdesk_frames_received_total{kind=\"agent\"}"),
        3.0
    );
    assert!(value("frontdesk_frames_sent_total{kind=\"visitor\"}") >= 9.0);
    assert_eq!(value("frontdesk_queue_length"), 0.0, "Ana has it");
    assert_eq!(value("frontdesk_sla_breaches_total"), 0.0);
}

#[tokio::test]
async fn bad_frames_get_error_codes_and_the_connection_stays_usable() {
    let server = start().await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"send","id":"x","body":"before hello"}"#).await;
    assert_eq!(recv_error(&mut ws).await, ErrorCode::HelloRequired);
    send(&mut ws, r#"{"type":"hello","v":99,"site":"demo"}"#).await;
    assert_eq!(recv_error(&mut ws).await, ErrorCode::UnsupportedVersion);
    // Unsupported version closes cleanly.
    let close = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(matches!(close, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 1008));

    let mut ws = connect(&server, "/ws/visitor", None).await;
    hello(&mut ws, None, 0).await;
    for (input, code) in [
        ("not json", ErrorCode::BadFrame),
        ("[]", ErrorCode::BadFrame),
        ("{}", ErrorCode::BadFrame),
        (r#"{"type":"explode"}"#, ErrorCode::UnknownType),
        (r#"{"type":"send","id":"x"}"#, ErrorCode::InvalidField),
        (
            r#"{"type":"send","id":"x","body":42}"#,
            ErrorCode::InvalidField,
        ),
        (
            r#"{"type":"send","id":"","body":"hi"}"#,
            ErrorCode::InvalidField,
        ),
        (
            r#"{"type":"send","id":"x","body":"  "}"#,
            ErrorCode::InvalidField,
        ),
        // Text hygiene: nothing visible, or control characters other than newline and tab.
        (
            r#"{"type":"send","id":"x","body":"\u200b\u200b \u2060"}"#,
            ErrorCode::InvalidField,
        ),
        (
            r#"{"type":"send","id":"x","body":"a\u0000b"}"#,
            ErrorCode::InvalidField,
        ),
        (
            r#"{"type":"contact","email":"admin\u200b@example.com"}"#,
            ErrorCode::InvalidField,
        ),
    ] {
        send(&mut ws, input).await;
        assert_eq!(recv_error(&mut ws).await, code, "input {input}");
    }
    ws.send(Message::binary(vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    assert_eq!(recv_error(&mut ws).await, ErrorCode::BinaryNotSupported);
    let oversized = format!(
        r#"{{"type":"send","id":"x","body":"{}"}}"#,
        "a".repeat(20_000)
    );
    send(&mut ws, &oversized).await;
    assert_eq!(recv_error(&mut ws).await, ErrorCode::TooLarge);
    // Still usable after all of that; newlines and tabs are text.
    send(
        &mut ws,
        r#"{"type":"send","id":"ok1","body":"still\n\tworks"}"#,
    )
    .await;
    assert!(matches!(
        recv(&mut ws).await,
        ServerFrame::Ack { seq: 1, .. }
    ));
}

#[tokio::test]
async fn a_name_with_a_bidi_override_is_stored_as_it_shows() {
    let server = start().await;
    let mut agent = agent_socket(&server).await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    hello(&mut ws, None, 0).await;
    send(&mut ws, r#"{"type":"send","id":"m1","body":"hello"}"#).await;
    send(
        &mut ws,
        r#"{"type":"contact","name":"Mallory \u202eevil\u200b","email":"mallory@example.com"}"#,
    )
    .await;
    loop {
        if let ServerFrame::Conversation(c) = recv(&mut agent).await
            && c.contact_name.is_some()
        {
            assert_eq!(c.contact_name.as_deref(), Some("Mallory evil"));
            break;
        }
    }
}

#[tokio::test]
async fn a_200_kb_frame_gets_too_large_and_the_connection_stays_usable() {
    let server = start().await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    hello(&mut ws, None, 0).await;
    send(&mut ws, &"x".repeat(200_000)).await;
    assert_eq!(recv_error(&mut ws).await, ErrorCode::TooLarge);
    send(
        &mut ws,
        r#"{"type":"send","id":"after","body":"still here"}"#,
    )
    .await;
    assert!(matches!(
        recv(&mut ws).await,
        ServerFrame::Ack { seq: 1, .. }
    ));
}

#[tokio::test]
async fn a_frame_past_the_hard_limit_ends_the_connection_not_the_server() {
    let server = start().await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    hello(&mut ws, None, 0).await;
    let _ = ws.send(Message::text("x".repeat(3 * 1024 * 1024))).await;
    let mut ended = false;
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match next {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1009));
            }
            Some(Ok(Message::Text(t))) => {
                assert!(matches!(
                    protocol::decode_server(&t),
                    Ok(ServerFrame::Error {
                        code: ErrorCode::TooLarge,
                        ..
                    })
                ));
            }
            Some(Ok(_)) => {}
            // A reset is the documented outcome past the hard limit (see HARD_FRAME_LIMIT).
            None | Some(Err(_)) => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the connection ends within 10 s");
    let mut again = connect(&server, "/ws/visitor", None).await;
    hello(&mut again, None, 0).await;
}

#[tokio::test]
async fn random_garbage_never_takes_the_server_down() {
    let server = start().await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    hello(&mut ws, None, 0).await;
    // Deterministic pseudo-random frames: JSON fragments, control characters, deep nesting.
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        "\"type\"",
        ":",
        "\"send\"",
        ",",
        "\"id\"",
        "\"body\"",
        "null",
        "1e999",
        "\\u0000",
        "\u{202e}",
        "\"hello\"",
        "true",
        "-0",
        "\"\\ud800\"",
    ];
    let mut seed: u64 = 0x5eed;
    for _ in 0..30 {
        let mut frame = String::new();
        for _ in 0..20 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            frame.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        send(&mut ws, &frame).await;
        assert!(matches!(
            recv(&mut ws).await,
            ServerFrame::Error { .. } | ServerFrame::Ack { .. }
        ));
    }
    send(
        &mut ws,
        &format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
    )
    .await;
    assert_eq!(recv_error(&mut ws).await, ErrorCode::BadFrame);
    send(&mut ws, r#"{"type":"send","id":"fine","body":"alive"}"#).await;
    assert!(matches!(recv(&mut ws).await, ServerFrame::Ack { .. }));
}

#[tokio::test]
async fn cross_origin_upgrades_and_anonymous_agents_are_refused() {
    let server = start().await;
    let url = format!("ws://{}/ws/visitor", server.addr);
    let mut req = url.clone().into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", HeaderValue::from_static("https://evil.example"));
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");

    let req = format!("ws://{}/ws/agent", server.addr)
        .into_client_request()
        .unwrap();
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");

    let client = reqwest::Client::new();
    let wrong = client
        .post(format!("http://{}/api/login", server.addr))
        .json(&serde_json::json!({"email": "ana@example.com", "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let cross = client
        .post(format!("http://{}/api/login", server.addr))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"email": "ana@example.com", "password": "agent-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
}

#[tokio::test]
async fn unbuilt_or_missing_assets_are_explained() {
    let server = start().await;
    let response = reqwest::get(format!("http://{}/assets/nope-123.js", server.addr))
        .await
        .unwrap();
    assert!(matches!(response.status().as_u16(), 404 | 503));
    let traversal = reqwest::get(format!(
        "http://{}/assets/..%2f..%2fetc%2fpasswd",
        server.addr
    ))
    .await
    .unwrap();
    assert!(matches!(traversal.status().as_u16(), 404 | 503));
}

async fn agent_socket(server: &TestServer) -> Ws {
    let cookie = login(server).await;
    let mut agent = connect(server, "/ws/agent", Some(&cookie)).await;
    send(&mut agent, r#"{"type":"hello","v":1}"#).await;
    assert!(matches!(
        recv(&mut agent).await,
        ServerFrame::AgentWelcome { .. }
    ));
    agent
}

#[tokio::test]
async fn handoff_context_read_receipts_resolution_and_csat() {
    let server = start().await;
    let mut visitor = connect(&server, "/ws/visitor", None).await;
    send(&mut visitor, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    match recv_any(&mut visitor).await {
        ServerFrame::Welcome {
            availability,
            rate_pending,
            ..
        } => {
            assert!(!availability.agents_online, "no agent connected yet");
            assert!(!rate_pending);
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    let mut agent = agent_socket(&server).await;
    match recv_any(&mut visitor).await {
        ServerFrame::Availability(a) => assert!(a.agents_online && a.can_chat()),
        other => panic!("expected availability, got {other:?}"),
    }

    send(
        &mut visitor,
        r#"{"type":"send","id":"q1","body":"How do I refund a card payment?","context":{"query":"refund card","shown":[{"id":"en/refund-a-payment","title":"How do I refund a payment?"}],"opened":[{"id":"en/refund-a-payment","title":"How do I refund a payment?"}],"user_agent":"TestBrowser/1.0"}}"#,
    )
    .await;
    let conversation = match recv(&mut visitor).await {
        ServerFrame::Ack { conversation, .. } => conversation,
        other => panic!("expected ack, got {other:?}"),
    };
    // The agent sees the conversation appear with its context.
    let summary = loop {
        if let ServerFrame::Conversation(c) = recv(&mut agent).await {
            break c;
        }
    };
    let context = summary.context.expect("handoff context stored");
    assert_eq!(context.query.as_deref(), Some("refund card"));
    assert_eq!(context.opened[0].id, "en/refund-a-payment");
    assert_eq!(context.user_agent.as_deref(), Some("TestBrowser/1.0"));

    send(
        &mut visitor,
        r#"{"type":"contact","name":"Rita","email":"rita@example.com"}"#,
    )
    .await;
    loop {
        match recv(&mut visitor).await {
            ServerFrame::Saved {
                what: protocol::Saved::Contact,
            } => break,
            ServerFrame::Message(_) => continue,
            other => panic!("expected saved, got {other:?}"),
        }
    }

    send(
        &mut agent,
        &format!(r#"{{"type":"open","conversation":{conversation}}}"#),
    )
    .await;
    send(
        &mut agent,
        &format!(r#"{{"type":"read","conversation":{conversation},"seq":1}}"#),
    )
    .await;
    loop {
        match recv(&mut visitor).await {
            ServerFrame::Read {
                seq: 1,
                by: protocol::Reader::Agent,
                ..
            } => break,
            ServerFrame::Message(_) => continue,
            other => panic!("expected a read receipt, got {other:?}"),
        }
    }

    send(
        &mut agent,
        &format!(r#"{{"type":"resolve","conversation":{conversation}}}"#),
    )
    .await;
    loop {
        match recv(&mut visitor).await {
            ServerFrame::Status {
                status: protocol::ConversationStatus::Resolved,
                ..
            } => break,
            ServerFrame::Message(_) => continue,
            other => panic!("expected the resolution, got {other:?}"),
        }
    }
    send(
        &mut visitor,
        r#"{"type":"rate","score":5,"comment":"Fast and kind"}"#,
    )
    .await;
    assert!(matches!(
        recv(&mut visitor).await,
        ServerFrame::Saved {
            what: protocol::Saved::Rating
        }
    ));
    let rated = loop {
        if let ServerFrame::Conversation(c) = recv(&mut agent).await
            && c.rating.is_some()
        {
            break c;
        }
    };
    assert_eq!(rated.rating, Some(5));
    assert_eq!(rated.contact_email.as_deref(), Some("rita@example.com"));
    assert_eq!(rated.status, protocol::ConversationStatus::Resolved);

    send(
        &mut visitor,
        r#"{"type":"deflected","query":"vat","article":"en/configure-taxes-vat"}"#,
    )
    .await;
    assert!(matches!(
        recv(&mut visitor).await,
        ServerFrame::Saved {
            what: protocol::Saved::Deflection
        }
    ));

    // The agent leaves: visitors learn no one is available.
    drop(agent);
    loop {
        if let ServerFrame::Availability(a) = recv_any(&mut visitor).await {
            assert!(!a.agents_online);
            break;
        }
    }
}

#[tokio::test]
async fn a_resolved_conversation_asks_for_a_rating_after_reload() {
    let server = start().await;
    let mut visitor = connect(&server, "/ws/visitor", None).await;
    let (token, _) = hello(&mut visitor, None, 0).await;
    send(&mut visitor, r#"{"type":"send","id":"m1","body":"hi"}"#).await;
    assert!(matches!(recv(&mut visitor).await, ServerFrame::Ack { .. }));
    send(&mut visitor, r#"{"type":"resolve"}"#).await;
    loop {
        if let ServerFrame::Status { .. } = recv(&mut visitor).await {
            break;
        }
    }
    let mut again = connect(&server, "/ws/visitor", None).await;
    send(
        &mut again,
        &format!(
            r#"{{"type":"hello","v":1,"site":"demo","token":"{}"}}"#,
            token.unwrap()
        ),
    )
    .await;
    assert!(matches!(
        recv(&mut again).await,
        ServerFrame::Welcome {
            rate_pending: true,
            conversation: None,
            ..
        }
    ));
    send(&mut again, r#"{"type":"rate","score":9}"#).await;
    assert_eq!(recv_error(&mut again).await, ErrorCode::InvalidField);
}

#[tokio::test]
async fn unknown_sites_are_refused_and_site_config_is_served() {
    let server = start().await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"hello","v":1,"site":"nosuchsite"}"#).await;
    assert_eq!(recv_error(&mut ws).await, ErrorCode::UnknownSite);
    let config: protocol::SiteConfig =
        reqwest::get(format!("http://{}/api/sites/demo", server.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(config.site, "demo");
    assert!(config.greeting.contains_key("pt"));
    let missing = reqwest::get(format!("http://{}/api/sites/nope", server.addr))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn http_errors_are_json_and_every_response_says_nosniff() {
    let server = start().await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let bad_json = client
        .post(format!("{base}/api/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(bad_json.status().is_client_error());
    assert_eq!(bad_json.headers()["x-content-type-options"], "nosniff");
    assert_eq!(bad_json.headers()["content-type"], "application/json");
    let body: serde_json::Value = bad_json.json().await.unwrap();
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    let missing = reqwest::get(format!("{base}/no/such/page")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let ok = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_is_closed_with_1007_and_a_reason() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let server = start().await;
    let mut ws = connect(&server, "/ws/visitor", None).await;
    hello(&mut ws, None, 0).await;
    ws.send(Message::Frame(Frame::message(
        vec![b'{', 0xff, 0xfe, b'}'],
        OpCode::Data(Data::Text),
        true,
    )))
    .await
    .unwrap();
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
    assert_eq!(u16::from(frame.code), 1007);
    assert!(frame.reason.contains("UTF-8"), "{}", frame.reason);
}
