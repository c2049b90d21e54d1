//! Shared by the server's newer integration tests: a WebSocket client on a running server,
//! frames read until one matches, an agent account, the agent's session cookie.
#![allow(dead_code)] // each test file uses a part

use futures_util::{SinkExt, StreamExt};
use protocol::ServerFrame;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to `path` on the server at `addr`, from its own origin.
pub async fn connect(addr: std::net::SocketAddr, path: &str, cookie: Option<&str>) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{addr}")).unwrap(),
    );
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next frame, or the close code when the server closed the socket.
pub async fn next(ws: &mut Ws) -> Result<ServerFrame, Option<u16>> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a frame within 20 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Ok(protocol::decode_server(&t).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return Err(None),
        }
    }
}

/// The first frame matching `pred`, skipping others; panics if the socket closes first.
pub async fn wait_for(ws: &mut Ws, what: &str, pred: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let f = next(ws)
            .await
            .unwrap_or_else(|code| panic!("closed ({code:?}) while waiting for {what}"));
        if pred(&f) {
            return f;
        }
    }
}

/// The close code the server ends the socket with (skipping frames before it).
pub async fn closed_with(ws: &mut Ws) -> Option<u16> {
    loop {
        if let Err(code) = next(ws).await {
            return code;
        }
    }
}

/// Signs in over HTTP and returns the session cookie (`name=value`).
pub async fn cookie(base: &str, email: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Creates the agent `email` with the password `agent-password`, unless it exists.
pub async fn ensure_agent(store: &dyn store::Store, email: &str, name: &str, admin: bool) {
    if store.agent_credentials(email).await.unwrap().is_some() {
        return;
    }
    let agent = store::NewAgent {
        email: email.into(),
        name: name.into(),
        password_hash: server::hash_password("agent-password").unwrap(),
        admin,
    };
    store.create_agent(agent, 1).await.unwrap();
}
