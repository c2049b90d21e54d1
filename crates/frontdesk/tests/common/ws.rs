//! WebSocket and sign-in helpers for the tests that talk to a real `frontdesk serve`.

use futures_util::{SinkExt, StreamExt};
use protocol::ServerFrame;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to `path` on the server at `addr` (`host:port`), from its own origin, with the
/// session `cookie` if given.
pub async fn connect(addr: &str, path: &str, cookie: Option<&str>) -> Ws {
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

/// The next frame matching `pred` (others skipped), within 20 s.
pub async fn wait_for(ws: &mut Ws, what: &str, pred: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 20 s"))
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            let f = protocol::decode_server(&t).unwrap();
            if pred(&f) {
                return f;
            }
        }
    }
}

/// `POST /api/login` on the server at `addr`: its status code and session cookie (`name=value`).
pub async fn sign_in(addr: &str, email: &str, password: &str) -> (u16, Option<String>) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/login"))
        .header("origin", format!("http://{addr}"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    (response.status().as_u16(), cookie)
}
