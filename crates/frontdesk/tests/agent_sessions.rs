//! Ending an agent's session ends its live consoles at once, whichever way it ends: disabled
//! or given a new password from the CLI (another process, writing the database directly),
//! signed out from the console, disabled by an admin; and routing never gives a new
//! conversation to an agent whose session ended. Real binary, real CLI, real sockets.

mod common;

use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, ServerFrame};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PASSWORD: &str = "agent-password";

/// A server with Ana (admin) and Bo, made with the CLI before it starts.
fn server() -> common::Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    for (email, name, admin) in [
        ("ana@example.com", "Ana", true),
        ("bo@example.com", "Bo", false),
    ] {
        let mut args = vec![
            "agent",
            "add",
            "--data",
            &data,
            "--email",
            email,
            "--name",
            name,
            "--password-stdin",
        ];
        if admin {
            args.push("--admin");
        }
        common::cli(&args, &format!("{PASSWORD}\n"));
    }
    common::start_in(dir, &[])
}

/// Signs in; returns the session cookie (`fd_session=…`).
async fn sign_in(server: &common::Server, email: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/login", server.base()))
        .header("origin", server.base())
        .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "signing in as {email}");
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn connect(server: &common::Server, path: &str, cookie: Option<&str>) -> Ws {
    let mut req = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&server.base()).unwrap());
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// A console: connected, welcomed.
async fn console(server: &common::Server, cookie: &str) -> Ws {
    let mut ws = connect(server, "/ws/agent", Some(cookie)).await;
    ws.send(Message::text(r#"{"type":"hello","v":1}"#))
        .await
        .unwrap();
    loop {
        if let ServerFrame::AgentWelcome { .. } = next(&mut ws).await.expect("welcome") {
            return ws;
        }
    }
}

/// The next frame, or `None` once the socket closed.
async fn next(ws: &mut Ws) -> Option<ServerFrame> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("something within 20 s")
        {
            Some(Ok(Message::Text(t))) => return Some(protocol::decode_server(&t).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Waits until the console is told it was signed out and its socket closes; returns how long.
async fn ended(ws: &mut Ws) -> Duration {
    let started = std::time::Instant::now();
    let mut told = false;
    while let Some(frame) = next(ws).await {
        if let ServerFrame::Error {
            code: ErrorCode::NotAuthenticated,
            ..
        } = frame
        {
            told = true;
        }
    }
    assert!(told, "the console was told it was signed out");
    started.elapsed()
}

/// A new customer writes; returns the conversation's assignee as the agent console `watcher`
/// sees it once routing placed it.
async fn new_conversation_assignee(server: &common::Server, watcher: &mut Ws) -> Option<i64> {
    let mut visitor = connect(server, "/ws/visitor", None).await;
    visitor
        .send(Message::text(
            r#"{"type":"hello","v":1,"site":"demo","last_seq":0}"#,
        ))
        .await
        .unwrap();
    visitor
        .send(Message::text(
            r#"{"type":"send","id":"c1","body":"hello, anyone?"}"#,
        ))
        .await
        .unwrap();
    let conversation = loop {
        if let Some(ServerFrame::Ack { conversation, .. }) = next(&mut visitor).await {
            break conversation;
        }
    };
    // The summary after routing carries the assignee (or none: queued).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut assignee = None;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, next(watcher)).await {
            Ok(Some(ServerFrame::Conversation(c))) if c.id == conversation => {
                assignee = c.assignee.map(|a| a.id);
                if assignee.is_some() {
                    break;
                }
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    assignee
}

fn agent_id(server: &common::Server, email: &str) -> i64 {
    let data = server.data().to_str().unwrap();
    let list = common::cli(&["agent", "list", "--data", data], "");
    list.lines()
        .find(|l| l.contains(email))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{email} in {list}"))
}

#[tokio::test]
async fn disabling_an_agent_from_the_cli_ends_its_console_and_routing_skips_it() {
    let server = server();
    let bo_cookie = sign_in(&server, "bo@example.com").await;
    let mut bo = console(&server, &bo_cookie).await;
    let mut ana = console(&server, &sign_in(&server, "ana@example.com").await).await;
    let (ana_id, bo_id) = (
        agent_id(&server, "ana@example.com"),
        agent_id(&server, "bo@example.com"),
    );
    let data = server.data().to_str().unwrap().to_owned();
    common::cli(
        &[
            "agent",
            "disable",
            "--data",
            &data,
            "--email",
            "bo@example.com",
        ],
        "",
    );
    let took = ended(&mut bo).await;
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The old session can no longer open a console.
    let mut req = format!("ws://{}/ws/agent", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("cookie", HeaderValue::from_str(&bo_cookie).unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    // New conversations go to Ana only, never to the disabled agent.
    for _ in 0..3 {
        let assignee = new_conversation_assignee(&server, &mut ana).await;
        assert_ne!(assignee, Some(bo_id));
        assert_eq!(assignee, Some(ana_id));
    }
}

#[tokio::test]
async fn a_new_password_from_the_cli_ends_the_agents_consoles() {
    let server = server();
    let mut bo = console(&server, &sign_in(&server, "bo@example.com").await).await;
    let data = server.data().to_str().unwrap().to_owned();
    common::cli(
        &[
            "agent",
            "password",
            "--data",
            &data,
            "--email",
            "bo@example.com",
        ],
        "a brand new password\n",
    );
    ended(&mut bo).await;
}

#[tokio::test]
async fn signing_out_from_the_console_ends_that_sessions_consoles_at_once() {
    let server = server();
    let cookie = sign_in(&server, "bo@example.com").await;
    let mut bo = console(&server, &cookie).await;
    // Another session of the same agent (another browser) stays.
    let mut other = console(&server, &sign_in(&server, "bo@example.com").await).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/logout", server.base()))
        .header("origin", server.base())
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let took = ended(&mut bo).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    other
        .send(Message::text(r#"{"type":"presence","status":"online"}"#))
        .await
        .unwrap();
    let still_open = tokio::time::timeout(Duration::from_secs(2), other.next()).await;
    assert!(
        !matches!(still_open, Ok(None) | Ok(Some(Ok(Message::Close(_))))),
        "the other session is untouched"
    );
}

#[tokio::test]
async fn an_agent_disabled_by_an_admin_gets_no_conversation_in_the_grace_period() {
    let server = server();
    let mut bo = console(&server, &sign_in(&server, "bo@example.com").await).await;
    let ana_cookie = sign_in(&server, "ana@example.com").await;
    let mut ana = console(&server, &ana_cookie).await;
    let (ana_id, bo_id) = (
        agent_id(&server, "ana@example.com"),
        agent_id(&server, "bo@example.com"),
    );
    let r = reqwest::Client::new()
        .post(format!("{}/api/agents/{bo_id}/disable", server.base()))
        .header("origin", server.base())
        .header("cookie", &ana_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    ended(&mut bo).await;
    // The reassignment grace (30 s by default) is for reloads, not for a disabled agent.
    for _ in 0..3 {
        assert_eq!(
            new_conversation_assignee(&server, &mut ana).await,
            Some(ana_id)
        );
    }
}
