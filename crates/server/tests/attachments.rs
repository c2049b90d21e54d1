//! Attachments over real HTTP and WebSockets, on SQLite and (when the test services run) on
//! PostgreSQL: the upload token from the socket, uploads by visitors and agents, the type
//! read from the content, the size cap while the body streams, the headers that keep a file
//! from running script in our origin, who may read a file, and a token in a URL refused.

mod common;

use common::{Ws, send, wait_for};
use protocol::{Attachment, ServerFrame};
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// A 2×1 PNG.
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\
\x00\x02\x00\x00\x00\x01\x08\x02\x00\x00\x00\x7b\x40\xe8\xdd\x00\x00\x00\x0d\x49\x44\x41\x54\
\x78\x9c\x63\xf8\xcf\x00\x04\xff\x01\x07\x00\x01\xff\xe2\x23\x9e\x59\x00\x00\x00\x00\x49\x45\
\x4e\x44\xae\x42\x60\x82";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const HTML: &[u8] = b"<!doctype html><title>x</title><script>fetch('/pwned')</script>";
const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"fetch('/pwned')\"/>";
/// Limit used by these tests, so the over-size upload stays small.
const MAX: u64 = 64 * 1024;

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    cookie: String,
    http: reqwest::Client,
}

async fn start(store: Arc<dyn Store>, uploads: server::Rate) -> Server {
    common::ensure_agent(&*store, "ana@example.com", "Ana", true).await;
    let mut settings = server::Settings::default();
    settings.limits.attachment_bytes = MAX;
    settings.limits.uploads_per_visitor = uploads;
    let state = server::AppState::new(store, settings)
        .with_message_search()
        .unwrap();
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    let base = format!("http://{addr}");
    let cookie = common::cookie(&base, "ana@example.com", "agent-password").await;
    Server {
        base,
        addr,
        cookie,
        http: reqwest::Client::new(),
    }
}

struct Visitor {
    ws: Ws,
    token: String,
}

async fn visitor(server: &Server) -> Visitor {
    let mut ws = common::connect(server.addr, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    let ServerFrame::Welcome { token, .. } = wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    Visitor {
        ws,
        token: token.expect("a new visitor gets a token"),
    }
}

async fn upload_token(v: &mut Visitor) -> String {
    send(&mut v.ws, r#"{"type":"upload"}"#).await;
    match wait_for(&mut v.ws, "upload token", |f| {
        matches!(f, ServerFrame::UploadToken { .. })
    })
    .await
    {
        ServerFrame::UploadToken {
            token, max_bytes, ..
        } => {
            assert_eq!(max_bytes, MAX);
            token
        }
        _ => unreachable!(),
    }
}

/// `POST /api/attachments` as the widget sends it.
async fn upload(server: &Server, token: &str, name: &str, body: &[u8]) -> reqwest::Response {
    server
        .http
        .post(format!("{}/api/attachments", server.base))
        .header("origin", &server.base)
        .header("x-frontdesk-upload", token)
        .header("x-filename", name)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn uploaded(response: reqwest::Response) -> Attachment {
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn get(server: &Server, id: &str) -> reqwest::RequestBuilder {
    server
        .http
        .get(format!("{}/api/attachments/{id}", server.base))
}

/// Uploads 160 KiB in chunks without a `Content-Length` (as a stream would), over a raw
/// socket: the server must refuse it once the cap is passed. Returns the status code.
async fn chunked_upload(server: &Server, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/attachments HTTP/1.1\r\nHost: {}\r\nx-frontdesk-upload: {token}\r\n\
         x-filename: stream.txt\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("2000\r\n{}\r\n", "b".repeat(0x2000));
    for _ in 0..20 {
        // The server may answer and close before the end: later writes may fail.
        if socket.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .strip_prefix("HTTP/1.1 ")
        .unwrap_or(&answer)
        .chars()
        .take(3)
        .collect()
}

async fn story(server: Server) {
    let mut alice = visitor(&server).await;
    let mut bob = visitor(&server).await;
    let token = upload_token(&mut alice).await;

    // The type comes from the bytes: a PNG named .txt is a PNG, a PDF named .png a PDF.
    let shot = uploaded(upload(&server, &token, "tela%201.txt", PNG).await).await;
    assert_eq!(
        (
            shot.content_type.as_str(),
            shot.name.as_str(),
            shot.size,
            shot.width,
            shot.height
        ),
        (
            "image/png",
            "tela 1.txt",
            PNG.len() as u64,
            Some(2),
            Some(1)
        )
    );
    let pdf = uploaded(upload(&server, &token, "fatura.png", PDF).await).await;
    assert_eq!(pdf.content_type, "application/pdf");
    // An executable is refused whatever its name.
    let (status, code) =
        error_code(upload(&server, &token, "x.png", b"MZ\x90\0\x03\0").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type")
    );

    // The message carries the files; the agent's console sees them.
    send(
        &mut alice.ws,
        &format!(
            r#"{{"type":"send","id":"m1","body":"","attachments":["{}","{}"]}}"#,
            shot.id, pdf.id
        ),
    )
    .await;
    let ServerFrame::Message(message) = wait_for(&mut alice.ws, "message", |f| {
        matches!(f, ServerFrame::Message(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(message.attachments, vec![shot.clone(), pdf.clone()]);
    let conversation = message.conversation;

    // Bob can neither send Alice's file nor read it.
    send(
        &mut bob.ws,
        &format!(
            r#"{{"type":"send","id":"b1","body":"mine","attachments":["{}"]}}"#,
            shot.id
        ),
    )
    .await;
    let refused = wait_for(&mut bob.ws, "error", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    assert!(matches!(
        refused,
        ServerFrame::Error { code: protocol::ErrorCode::InvalidField, id: Some(ref id), .. } if id == "b1"
    ));
    let response = get(&server, &shot.id)
        .header("x-frontdesk-visitor", &bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Nobody at all: 401. A token in the URL: refused, even Alice's own.
    let response = get(&server, &shot.id).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = server
        .http
        .get(format!(
            "{}/api/attachments/{}?visitor={}",
            server.base, shot.id, alice.token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = server
        .http
        .post(format!("{}/api/attachments?upload={token}", server.base))
        .header("x-filename", "a.png")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Alice reads her image: inline, its stored type, sandboxed, never sniffed.
    let response = get(&server, &shot.id)
        .header("x-frontdesk-visitor", &alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(
        h["content-disposition"],
        "inline; filename=\"tela 1.txt\"; filename*=UTF-8''tela%201.txt"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("sandbox;") && csp.contains("default-src 'none'"));
    assert_eq!(response.bytes().await.unwrap(), PNG);
    // The PDF is a download, for the agent too (cookie).
    let response = get(&server, &pdf.id)
        .header("cookie", &server.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    // Markup is kept as plain text and served as a sandboxed download: it cannot run.
    for (name, bytes) in [("page.html", HTML), ("logo.svg", SVG)] {
        let file = uploaded(upload(&server, &token, name, bytes).await).await;
        assert_eq!(file.content_type, "text/plain", "{name}");
        let response = get(&server, &file.id)
            .header("x-frontdesk-visitor", &alice.token)
            .send()
            .await
            .unwrap();
        let h = response.headers();
        assert_eq!(h["content-type"], "text/plain; charset=utf-8", "{name}");
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox;")
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
    }

    // The size cap: by the declared length, and while a body without one streams in.
    let big = vec![b'a'; MAX as usize + 1];
    let (status, code) = error_code(upload(&server, &token, "big.txt", &big).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    assert_eq!(chunked_upload(&server, &token).await, "413");
    // Exactly the limit is fine.
    let at_limit = vec![b'c'; MAX as usize];
    uploaded(upload(&server, &token, "full.txt", &at_limit).await).await;

    // Tokens: none, forged, or another's signature are refused.
    let (status, _) = error_code(
        server
            .http
            .post(format!("{}/api/attachments", server.base))
            .body(PNG.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let forged = format!("1{token}");
    let (status, _) = error_code(upload(&server, &forged, "a.png", PNG).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An agent uploads into the conversation (cookie and origin) and sends it: Alice sees it
    // and may read it; Bob may not.
    let agent_upload = |origin: String| {
        server
            .http
            .post(format!(
                "{}/api/conversations/{conversation}/attachments",
                server.base
            ))
            .header("cookie", &server.cookie)
            .header("origin", origin)
            .header("x-filename", "guia.pdf")
            .body(PDF.to_vec())
            .send()
    };
    let (status, _) = error_code(agent_upload("http://evil.example".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let guide = uploaded(agent_upload(server.base.clone()).await.unwrap()).await;
    let mut console = common::connect(server.addr, "/ws/agent", Some(&server.cookie)).await;
    send(&mut console, r#"{"type":"hello","v":1}"#).await;
    let welcome = wait_for(&mut console, "welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;
    assert!(matches!(
        welcome,
        ServerFrame::AgentWelcome {
            max_attachment_bytes: MAX,
            ..
        }
    ));
    send(
        &mut console,
        &format!(
            r#"{{"type":"send","id":"g1","conversation":{conversation},"body":"Aqui está","attachments":["{}"]}}"#,
            guide.id
        ),
    )
    .await;
    wait_for(&mut console, "ack", |f| {
        matches!(f, ServerFrame::Ack { .. })
    })
    .await;
    let ServerFrame::Message(reply) = wait_for(
        &mut alice.ws,
        "the agent's reply",
        |f| matches!(f, ServerFrame::Message(m) if m.id == "g1"),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(reply.attachments, vec![guide.clone()]);
    for (who, status) in [
        (&alice.token, StatusCode::OK),
        (&bob.token, StatusCode::NOT_FOUND),
    ] {
        let response = get(&server, &guide.id)
            .header("x-frontdesk-visitor", who)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
    }
    // An agent cannot send a visitor's unsent upload as its own.
    let loose = uploaded(upload(&server, &token, "x.txt", b"hello").await).await;
    send(
        &mut console,
        &format!(
            r#"{{"type":"send","id":"g2","conversation":{conversation},"body":"","attachments":["{}"]}}"#,
            loose.id
        ),
    )
    .await;
    let refused = wait_for(&mut console, "error", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    assert!(matches!(
        refused,
        ServerFrame::Error {
            code: protocol::ErrorCode::InvalidField,
            ..
        }
    ));

    // The file names are part of the agents' search text.
    let mut found = false;
    for _ in 0..100 {
        let hits: Vec<protocol::ConversationSummary> = server
            .http
            .get(format!("{}/api/conversations/search?q=fatura", server.base))
            .header("cookie", &server.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if hits.iter().any(|c| c.id == conversation) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "a search for a file's name finds its conversation");
}

#[tokio::test]
async fn attachments_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::SqliteStore::open(&dir.path().join("f.db"))
        .await
        .unwrap();
    story(start(Arc::new(store), server::Rate::OFF).await).await;
}

#[tokio::test]
async fn attachments_on_postgres() {
    let Some(url) = store::conformance::postgres_database("attachments").await else {
        return;
    };
    let store = store::PgStore::connect(&url).await.unwrap();
    story(start(Arc::new(store), server::Rate::OFF).await).await;
}

#[tokio::test]
async fn uploads_are_limited_per_visitor() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::SqliteStore::open(&dir.path().join("f.db"))
        .await
        .unwrap();
    let rate = server::Rate::new(2, Duration::from_secs(3_600));
    let server = start(Arc::new(store), rate).await;
    let mut alice = visitor(&server).await;
    let token = upload_token(&mut alice).await;
    for _ in 0..2 {
        uploaded(upload(&server, &token, "a.png", PNG).await).await;
    }
    let response = upload(&server, &token, "a.png", PNG).await;
    assert!(response.headers().get("retry-after").is_some());
    let (status, code) = error_code(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    // Another visitor has its own allowance.
    let mut bob = visitor(&server).await;
    let token = upload_token(&mut bob).await;
    uploaded(upload(&server, &token, "b.png", PNG).await).await;
}
