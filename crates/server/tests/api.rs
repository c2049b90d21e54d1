//! The public REST API over real HTTP on 127.0.0.1:0, on SQLite and (when
//! `FRONTDESK_TEST_DATABASE_URL` is set) PostgreSQL: tokens refused without a scope, revoked,
//! or in a URL, and never in the logs; keyset pages that give every conversation once; the
//! per-token rate with `Retry-After`; problems as `application/problem+json`; a reply written
//! through the API reaching an open console; the OpenAPI document and its docs page.

mod common;

use common::{send, wait_for};
use protocol::ServerFrame;
use protocol::api::{ConversationPage, CreatedToken};
use reqwest::StatusCode;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use store::{ConversationContext, NewAgent, SqliteStore, Store, TokenScope};

/// Everything the server logs in this test process, at every level.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    store: Arc<dyn Store>,
    admin: i64,
    http: reqwest::Client,
}

async fn start(store: Arc<dyn Store>, limits: server::Limits) -> Server {
    let admin = store
        .create_agent(
            NewAgent {
                email: "ana@example.com".into(),
                name: "Ana".into(),
                password_hash: server::hash_password("agent-password").unwrap(),
                admin: true,
            },
            1,
        )
        .await
        .unwrap();
    let settings = server::Settings {
        limits,
        ..server::Settings::default()
    };
    let state = server::AppState::new(store.clone(), settings);
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    Server {
        base: format!("http://{addr}"),
        addr,
        store,
        admin: admin.id,
        http: reqwest::Client::new(),
    }
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

async fn token(server: &Server, scope: TokenScope) -> String {
    server::api::tokens::create_token(&*server.store, "test", scope, Some(server.admin))
        .await
        .unwrap()
        .secret
}

impl Server {
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// The response is a problem of this status; returns its `detail`.
async fn problem(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].as_str().unwrap().starts_with("/api/docs#"));
    assert!(body["title"].is_string());
    body["detail"].as_str().unwrap().to_owned()
}

/// `n` conversations of site `api`, each with one customer message.
async fn conversations(store: &dyn Store, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let visitor = store
            .create_visitor(&format!("api-visitor-{i}"), "demo", 10)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&visitor, &ConversationContext::default(), 10)
            .await
            .unwrap();
        ids.push(c.id);
    }
    ids
}

async fn tokens_scopes_and_pages(store: Arc<dyn Store>) {
    let log = logs();
    let server = start(store, server::Limits::default()).await;
    let reader = token(&server, TokenScope::Read).await;
    let writer = token(&server, TokenScope::Write).await;
    let ids = conversations(&*server.store, 7).await;

    // No token, a malformed one, an unknown one: 401 with a challenge.
    let none = server.get("/api/v1/conversations", None).await;
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"frontdesk\""
    );
    problem(none, StatusCode::UNAUTHORIZED).await;
    let garbage = server.get("/api/v1/conversations", Some("hello")).await;
    problem(garbage, StatusCode::UNAUTHORIZED).await;
    let unknown = format!("fdk_{}", "0".repeat(64));
    let unknown = server.get("/api/v1/conversations", Some(&unknown)).await;
    problem(unknown, StatusCode::UNAUTHORIZED).await;
    // A session cookie is not a token either.
    let cookie = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let with_cookie = server
        .http
        .get(format!("{}/api/v1/conversations", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    problem(with_cookie, StatusCode::UNAUTHORIZED).await;

    // A token in the URL is refused, even a valid one with a valid header beside it.
    let in_query = server
        .get(
            &format!("/api/v1/conversations?access_token={reader}"),
            None,
        )
        .await;
    let detail = problem(in_query, StatusCode::BAD_REQUEST).await;
    assert!(detail.contains("Authorization header"), "{detail}");
    let in_query = server
        .get(
            &format!("/api/v1/conversations?site={reader}"),
            Some(&reader),
        )
        .await;
    problem(in_query, StatusCode::BAD_REQUEST).await;

    // Keyset pages: every conversation exactly once, newest first.
    let mut seen = Vec::new();
    let mut path = "/api/v1/conversations?site=demo&limit=3".to_owned();
    loop {
        let page: ConversationPage = server.get(&path, Some(&reader)).await.json().await.unwrap();
        assert!(page.conversations.len() <= 3);
        seen.extend(page.conversations.iter().map(|c| c.id));
        match page.next_cursor {
            Some(cursor) => {
                path = format!("/api/v1/conversations?site=demo&limit=3&cursor={cursor}")
            }
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    let bad_cursor = server
        .get("/api/v1/conversations?cursor=zz", Some(&reader))
        .await;
    problem(bad_cursor, StatusCode::BAD_REQUEST).await;
    let bad_limit = server
        .get("/api/v1/conversations?limit=0", Some(&reader))
        .await;
    problem(bad_limit, StatusCode::BAD_REQUEST).await;

    // Scopes: a read token cannot write; a write token cannot manage tokens or erase.
    let labels = serde_json::json!({"labels": ["billing"]});
    let path = format!("/api/v1/conversations/{}/labels", ids[0]);
    let refused = server.post(&path, &reader, labels.clone()).await;
    let detail = problem(refused, StatusCode::FORBIDDEN).await;
    assert!(detail.contains("write"), "{detail}");
    let labelled = server.post(&path, &writer, labels).await;
    assert_eq!(labelled.status(), StatusCode::OK);
    let tokens = server.get("/api/v1/tokens", Some(&writer)).await;
    problem(tokens, StatusCode::FORBIDDEN).await;
    let erase = server
        .http
        .delete(format!("{}/api/v1/contacts/1", server.base))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    problem(erase, StatusCode::FORBIDDEN).await;
    // Invalid content: 422; malformed JSON: 400; not JSON: 415; all problems.
    let too_many = serde_json::json!({"labels": vec!["x"; 21]});
    problem(
        server.post(&path, &writer, too_many).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let blank = serde_json::json!({"body": "   "});
    let reply = format!("/api/v1/conversations/{}/messages", ids[0]);
    problem(
        server.post(&reply, &writer, blank).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let malformed = server
        .http
        .post(format!("{}{path}", server.base))
        .bearer_auth(&writer)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(malformed, StatusCode::BAD_REQUEST).await;
    let missing = server
        .get("/api/v1/conversations/999999", Some(&reader))
        .await;
    problem(missing, StatusCode::NOT_FOUND).await;

    // Revoked (by an admin token through the API): refused from the next request on.
    let admin = token(&server, TokenScope::Admin).await;
    let listed: Vec<protocol::api::ApiTokenInfo> = server
        .get("/api/v1/tokens", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let reader_info = listed
        .iter()
        .find(|t| reader.starts_with(&t.prefix) && t.scope == protocol::api::TokenScope::Read)
        .unwrap();
    assert!(reader_info.last_used_at.is_some());
    let revoked = server
        .http
        .delete(format!("{}/api/v1/tokens/{}", server.base, reader_info.id))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let after = server.get("/api/v1/conversations", Some(&reader)).await;
    let detail = problem(after, StatusCode::UNAUTHORIZED).await;
    assert!(detail.contains("revoked"), "{detail}");
    // A token made through the API is shown once and works.
    let made = server
        .post(
            "/api/v1/tokens",
            &admin,
            serde_json::json!({"name": "zapier", "scope": "read"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: CreatedToken = made.json().await.unwrap();
    assert!(made.secret.starts_with(&made.token.prefix));
    let ok = server.get("/api/v1/agents", Some(&made.secret)).await;
    assert_eq!(ok.status(), StatusCode::OK);

    // No secret was ever written to the logs (the refused URL included).
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    for secret in [&reader, &writer, &admin, &made.secret] {
        assert!(!text.contains(secret.as_str()), "a token was logged");
        assert!(!text.contains(&secret[4..]), "a token was logged");
    }
    assert!(text.contains("API token revoked"), "the log is captured");
}

#[tokio::test]
async fn tokens_scopes_and_pages_on_sqlite() {
    let (store, _dir) = sqlite().await;
    tokens_scopes_and_pages(store).await;
}

#[tokio::test]
async fn tokens_scopes_and_pages_on_postgres() {
    let Some(url) = store::conformance::postgres_database("api_tokens").await else {
        return;
    };
    let store = store::PgStore::connect(&url).await.unwrap();
    tokens_scopes_and_pages(Arc::new(store)).await;
}

#[tokio::test]
async fn a_token_past_its_burst_waits_for_retry_after() {
    let (store, _dir) = sqlite().await;
    let limits = server::Limits {
        api_requests_per_token: server::Rate::parse("5/minute").unwrap(),
        ..server::Limits::default()
    };
    let server = start(store, limits).await;
    let reader = token(&server, TokenScope::Read).await;
    let other = token(&server, TokenScope::Read).await;
    for _ in 0..5 {
        let ok = server.get("/api/v1/teams", Some(&reader)).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let refused = server.get("/api/v1/teams", Some(&reader)).await;
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    // Per token: another token is not slowed by it.
    let ok = server.get("/api/v1/teams", Some(&other)).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reply_through_the_api_reaches_the_open_console_and_is_attributed() {
    let (store, _dir) = sqlite().await;
    let server = start(store, server::Limits::default()).await;
    let writer = token(&server, TokenScope::Write).await;
    let id = conversations(&*server.store, 1).await[0];
    let cookie = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let mut console = common::connect(server.addr, "/ws/agent", Some(&cookie)).await;
    send(&mut console, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut console, "welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;
    send(
        &mut console,
        &format!(r#"{{"type":"open","conversation":{id},"after_seq":0}}"#),
    )
    .await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let body = serde_json::json!({"body": "Your refund is on its way", "id": "crm-1"});
    let sent = server.post(&path, &writer, body.clone()).await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let message: protocol::Message = sent.json().await.unwrap();
    assert_eq!(
        message.author,
        protocol::Author::Agent {
            id: server.admin,
            name: "Ana".into()
        }
    );
    let ServerFrame::Message(live) = wait_for(
        &mut console,
        "the reply",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "Your refund is on its way"),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(live.seq, message.seq);
    // The same id again: stored once.
    let again: protocol::Message = server
        .post(&path, &writer, body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.seq, message.seq);
    // Resolving through the API reaches the console as a conversation update.
    let resolved = server
        .post(
            &format!("/api/v1/conversations/{id}/resolve"),
            &writer,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(resolved.status(), StatusCode::OK);
    wait_for(&mut console, "the resolution", |f| {
        matches!(f, ServerFrame::Conversation(c)
            if c.id == id && c.status == protocol::ConversationStatus::Resolved)
    })
    .await;
}

#[tokio::test]
async fn the_spec_and_the_docs_page_describe_every_route() {
    let (store, _dir) = sqlite().await;
    let server = start(store, server::Limits::default()).await;
    let spec: serde_json::Value = server
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/api/v1/conversations",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/contacts/{id}",
        "/api/v1/reports",
        "/api/v1/kb/search",
        "/api/v1/tokens/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} is not in the spec");
    }
    let list = &paths["/api/v1/conversations"]["get"];
    assert!(list["responses"]["429"].is_object());
    assert_eq!(list["security"][0]["bearer"][0], "read");
    let docs = server.get("/api/docs", None).await;
    assert_eq!(
        docs.headers()["content-security-policy"],
        "default-src 'none'"
    );
    let html = docs.text().await.unwrap();
    assert!(html.contains("/api/v1/conversations/{id}/reopen"));
    assert!(html.contains("id=\"rate_limited\""));
}

/// Extreme periods (found by the contract test's boundary values) are refused, not overflowed.
#[tokio::test]
async fn reports_refuse_periods_that_would_overflow() {
    let (store, _dir) = sqlite().await;
    let server = start(store, server::Limits::default()).await;
    let reader = token(&server, TokenScope::Read).await;
    for query in [
        "until=-9223372036854775808",
        "since=-9223372036854775808&until=9223372036854775807",
        "since=9223372036854775807",
    ] {
        let refused = server
            .get(&format!("/api/v1/reports?{query}"), Some(&reader))
            .await;
        problem(refused, StatusCode::BAD_REQUEST).await;
    }
    let report = server
        .get("/api/v1/reports?tz=Europe/Lisbon", Some(&reader))
        .await;
    assert_eq!(report.status(), StatusCode::OK);
}

/// A conversation opened through the API with a contact: on the browser the customer last
/// chatted from (so the widget there shows it), or, for a contact that never chatted, on a
/// browser of the contact's that only the server knows; assigned to the agent, who wrote first.
#[tokio::test]
async fn a_conversation_is_opened_with_a_contact_on_their_browser() {
    let (store, _dir) = sqlite().await;
    let server = start(store, server::Limits::default()).await;
    let writer = token(&server, TokenScope::Write).await;
    let store = server.store.clone();
    let chatted = store
        .create_visitor("api-chatted", "demo", 10)
        .await
        .unwrap();
    let old = store
        .open_or_create_conversation(&chatted, &ConversationContext::default(), 10)
        .await
        .unwrap();
    store
        .set_status(old.id, store::Status::Resolved, 11)
        .await
        .unwrap();
    let known = store.visitor_contact(chatted.id, 12).await.unwrap();
    let silent = store
        .create_visitor("api-silent", "demo", 10)
        .await
        .unwrap();
    let never = store.visitor_contact(silent.id, 12).await.unwrap();

    for (contact, browser) in [(known.id, Some(chatted.id)), (never.id, None)] {
        let body = serde_json::json!({"contact": contact, "body": "About your invoice"});
        let made = server.post("/api/v1/conversations", &writer, body).await;
        assert_eq!(made.status(), StatusCode::CREATED);
        let made: protocol::ConversationSummary = made.json().await.unwrap();
        assert_eq!(made.contact_id, Some(contact));
        assert_eq!(made.assignee.map(|a| a.id), Some(server.admin));
        assert_eq!(made.last_seq, 1);
        let stored = store.conversation(made.id).await.unwrap().unwrap();
        match browser {
            Some(visitor) => assert_eq!(stored.visitor_id, visitor),
            None => assert_ne!(stored.visitor_id, silent.id),
        }
        let page: protocol::api::MessagePage = server
            .get(
                &format!("/api/v1/conversations/{}/messages", made.id),
                Some(&writer),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page.messages.len(), 1);
        assert_eq!(page.messages[0].body, "About your invoice");
        assert_eq!(page.next_after, None);
    }
    let nobody = serde_json::json!({"contact": 999_999, "body": "Hello"});
    problem(
        server.post("/api/v1/conversations", &writer, nobody).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// The console's token management: an admin's session makes, lists and revokes tokens (the
/// made token writes as that admin); another agent's session is refused.
#[tokio::test]
async fn an_admin_session_manages_tokens_for_the_console() {
    let (store, _dir) = sqlite().await;
    let server = start(store, server::Limits::default()).await;
    server
        .store
        .create_agent(
            NewAgent {
                email: "bo@example.com".into(),
                name: "Bo".into(),
                password_hash: server::hash_password("agent-password").unwrap(),
                admin: false,
            },
            1,
        )
        .await
        .unwrap();
    let admin = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let agent = common::cookie(&server.base, "bo@example.com", "agent-password").await;
    let post = |cookie: &str, path: &str, body: serde_json::Value| {
        server
            .http
            .post(format!("{}{path}", server.base))
            .header("cookie", cookie)
            .header("origin", &server.base)
            .json(&body)
            .send()
    };
    let body = serde_json::json!({"name": "n8n", "scope": "write"});
    let refused = post(&agent, "/api/tokens", body.clone()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let made = post(&admin, "/api/tokens", body).await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: CreatedToken = made.json().await.unwrap();
    assert_eq!(made.token.created_by, Some(server.admin));
    let listed: Vec<protocol::api::ApiTokenInfo> = server
        .http
        .get(format!("{}/api/tokens", server.base))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, vec![made.token.clone()]);
    let ok = server.get("/api/v1/agents", Some(&made.secret)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let revoke = format!("/api/tokens/{}/revoke", made.token.id);
    let refused = post(&agent, &revoke, serde_json::json!({})).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let revoked = post(&admin, &revoke, serde_json::json!({})).await.unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let after = server.get("/api/v1/agents", Some(&made.secret)).await;
    problem(after, StatusCode::UNAUTHORIZED).await;
    // From another site's page: refused before anything is made.
    let foreign = server
        .http
        .post(format!("{}/api/tokens", server.base))
        .header("cookie", &admin)
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"name": "x", "scope": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.store.api_tokens().await.unwrap().len(), 1);
}
