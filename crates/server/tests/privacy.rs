//! A customer's data over real sockets: the export an agent downloads, the erasure an admin
//! makes (over HTTP, or by another process on the same database, as `frontdesk contact delete`
//! does) reaching the search index, the open consoles and the customer's browser, and the
//! retention job.

mod common;

use common::{Ws, closed_with, send, wait_for};
use protocol::{ContactErased, ContactExport, ServerFrame};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::{ConversationContext, NewAgent, NewMessage, SqliteStore, Status, Store};

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    db: PathBuf,
    search: PathBuf,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn start_with(
    dir: tempfile::TempDir,
    retention: Option<server::privacy::Retention>,
) -> Server {
    let db = dir.path().join("frontdesk.db");
    let store = Arc::new(SqliteStore::open(&db).await.unwrap());
    for (email, name, admin) in [
        ("ana@example.com", "Ana", true),
        ("bo@example.com", "Bo", false),
    ] {
        if store.agent_credentials(email).await.unwrap().is_none() {
            store
                .create_agent(
                    NewAgent {
                        email: email.into(),
                        name: name.into(),
                        password_hash: server::hash_password("agent-password").unwrap(),
                        admin,
                    },
                    1,
                )
                .await
                .unwrap();
        }
    }
    let search = dir.path().join("search");
    let settings = server::Settings {
        search_dir: Some(search.clone()),
        session_check: Duration::from_millis(200),
        retention,
        ..server::Settings::default()
    };
    let state = server::AppState::new(store.clone(), settings)
        .with_message_search()
        .unwrap();
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    Server {
        base: format!("http://{addr}"),
        addr,
        db,
        search,
        store,
        _dir: dir,
    }
}

async fn console(server: &Server, cookie: &str) -> Ws {
    let mut ws = common::connect(server.addr, "/ws/agent", Some(cookie)).await;
    send(&mut ws, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;
    ws
}

/// A customer who leaves their details and writes; returns the socket, its token, the
/// conversation and the contact.
async fn customer(server: &Server, name: &str, email: &str, text: &str) -> (Ws, String, i64, i64) {
    let mut ws = common::connect(server.addr, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    let ServerFrame::Welcome { token, .. } = wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    let token = token.expect("a new visitor gets a token");
    send(
        &mut ws,
        &format!(r#"{{"type":"send","id":"m1","body":"{text}"}}"#),
    )
    .await;
    let ServerFrame::Ack { conversation, .. } =
        wait_for(&mut ws, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    send(
        &mut ws,
        &format!(r#"{{"type":"contact","name":"{name}","email":"{email}"}}"#),
    )
    .await;
    wait_for(&mut ws, "saved", |f| matches!(f, ServerFrame::Saved { .. })).await;
    let contact = server
        .store
        .conversation(conversation)
        .await
        .unwrap()
        .unwrap()
        .contact_id
        .expect("a conversation has a contact");
    (ws, token, conversation, contact)
}

/// Conversations the agents' search finds for `q`.
async fn search(server: &Server, cookie: &str, q: &str) -> Vec<i64> {
    let hits: Vec<protocol::ConversationSummary> = reqwest::Client::new()
        .get(format!("{}/api/conversations/search", server.base))
        .query(&[("q", q)])
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    hits.iter().map(|c| c.id).collect()
}

/// Asks `check` every 100 ms for up to 10 s.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within 10 s: {what}");
}

fn bytes_of(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(path).unwrap());
        }
    }
    all
}

fn has(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_exports_and_an_admin_erases_a_contact_everywhere() {
    let server = start_with(tempfile::tempdir().unwrap(), None).await;
    let ana = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let bo = common::cookie(&server.base, "bo@example.com", "agent-password").await;
    let (mut petra, token, conversation, contact) = customer(
        &server,
        "Petra Privacy",
        "petra.privacy@example.org",
        "my petrasecret zebra order never came",
    )
    .await;
    let (_olga, _, kept, _) =
        customer(&server, "Olga Other", "olga@example.org", "olga zebra too").await;
    let mut ana_console = console(&server, &ana).await;
    eventually("the search finds both", || async {
        search(&server, &ana, "zebra").await.len() == 2
    })
    .await;
    let client = reqwest::Client::new();

    // Any agent downloads the export.
    let response = client
        .get(format!("{}/api/contacts/{contact}/export", server.base))
        .header("cookie", &bo)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: ContactExport = response.json().await.unwrap();
    assert_eq!(export.format, protocol::CONTACT_EXPORT_FORMAT);
    assert_eq!(export.contact.name.as_deref(), Some("Petra Privacy"));
    assert_eq!(
        export.contact.email.as_deref(),
        Some("petra.privacy@example.org")
    );
    assert_eq!(export.conversations.len(), 1);
    assert_eq!(
        export.conversations[0].messages[0].body,
        "my petrasecret zebra order never came"
    );
    assert_eq!(export.conversations[0].messages[0].from, "customer");
    let anonymous = client
        .get(format!("{}/api/contacts/{contact}/export", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "not without a session");

    // Only an admin erases, from the console's origin.
    let erase = |cookie: &str, origin: Option<&str>| {
        let mut request = client
            .delete(format!("{}/api/contacts/{contact}", server.base))
            .header("cookie", cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(erase(&bo, Some(&server.base)).await.unwrap().status(), 403);
    assert_eq!(
        erase(&ana, Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert!(
        has(&bytes_of(server.db.parent().unwrap()), "petrasecret"),
        "in the database before"
    );
    let response = erase(&ana, Some(&server.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    let erased: ContactErased = response.json().await.unwrap();
    assert_eq!(erased.conversations, vec![conversation]);

    // The customer's socket closes with "reconnect"; the console rebuilds without it.
    assert_eq!(closed_with(&mut petra).await, Some(1012));
    let ServerFrame::AgentWelcome { conversations, .. } =
        wait_for(&mut ana_console, "a rebuilt inbox", |f| {
            matches!(f, ServerFrame::AgentWelcome { .. })
        })
        .await
    else {
        unreachable!()
    };
    let ids: Vec<i64> = conversations.iter().map(|c| c.id).collect();
    assert!(
        !ids.contains(&conversation) && ids.contains(&kept),
        "{ids:?}"
    );

    // No trace: the API, the search (results and index files), the database files.
    for path in [
        format!("/api/contacts/{contact}"),
        format!("/api/contacts/{contact}/export"),
        format!("/api/conversations/{conversation}/history"),
    ] {
        let status = client
            .get(format!("{}{path}", server.base))
            .header("cookie", &ana)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(search(&server, &ana, "zebra").await, vec![kept]);
    assert!(search(&server, &ana, "petrasecret").await.is_empty());
    assert!(
        search(&server, &ana, "petra.privacy@example.org")
            .await
            .is_empty()
    );
    assert_eq!(
        server_search::messages::MessageSearch::documents_with_in(&server.search, "petrasecret")
            .unwrap(),
        0,
        "no deleted copy left in the index files"
    );
    let files = bytes_of(server.db.parent().unwrap());
    for marker in ["petrasecret", "Petra Privacy", "petra.privacy@"] {
        assert!(!has(&files, marker), "{marker} left in the database files");
    }
    assert!(has(&files, "olga zebra"), "the other customer stays");
    let again = erase(&ana, Some(&server.base)).await.unwrap();
    assert_eq!(again.status(), 404);

    // The browser comes back as a new customer, with nothing of before.
    let mut ws = common::connect(server.addr, "/ws/visitor", None).await;
    send(
        &mut ws,
        &format!(r#"{{"type":"hello","v":1,"site":"demo","token":"{token}"}}"#),
    )
    .await;
    let welcome = wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await;
    let ServerFrame::Welcome { conversation, .. } = welcome else {
        unreachable!()
    };
    assert!(conversation.is_none(), "{conversation:?}");
    send(&mut ws, r#"{"type":"send","id":"m1","body":"hello again"}"#).await;
    wait_for(&mut ws, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_by_another_process_reaches_the_running_server() {
    let server = start_with(tempfile::tempdir().unwrap(), None).await;
    let ana = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let (mut quinn, _, conversation, contact) = customer(
        &server,
        "Quinn",
        "quinn@example.org",
        "quinnsecret about my invoice",
    )
    .await;
    let mut ana_console = console(&server, &ana).await;
    eventually("the search finds it", || async {
        search(&server, &ana, "quinnsecret").await == vec![conversation]
    })
    .await;
    // What `frontdesk contact delete` does: its own connection to the same file.
    let cli = SqliteStore::open(&server.db).await.unwrap();
    cli.erase_contact(contact, 5).await.unwrap();
    cli.close().await;
    assert_eq!(closed_with(&mut quinn).await, Some(1012));
    wait_for(&mut ana_console, "a rebuilt inbox", |f| {
        matches!(f, ServerFrame::AgentWelcome { conversations, .. }
            if !conversations.iter().any(|c| c.id == conversation))
    })
    .await;
    eventually("the search forgets it", || async {
        search(&server, &ana, "quinnsecret").await.is_empty()
    })
    .await;
    assert_eq!(
        server_search::messages::MessageSearch::documents_with_in(&server.search, "quinnsecret")
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_resolved_conversations_in_the_background() {
    const DAY: i64 = 86_400_000;
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Written before the server starts, with their real ages.
    let ids = {
        let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (token, age_days, resolved, body) in [
            ("old-resolved", 40, true, "ancientwalrus resolved long ago"),
            ("old-open", 40, false, "ancientwalrus still open"),
            ("recent", 10, true, "recentwalrus resolved lately"),
        ] {
            let at = now - age_days * DAY;
            let v = store.create_visitor(token, "demo", at).await.unwrap();
            let c = store
                .open_or_create_conversation(&v, &ConversationContext::default(), at)
                .await
                .unwrap();
            store
                .append_message(NewMessage {
                    conversation_id: c.id,
                    client_id: "m",
                    agent_id: None,
                    body,
                    at,
                    attachments: &[],
                })
                .await
                .unwrap();
            if resolved {
                store.set_status(c.id, Status::Resolved, at).await.unwrap();
            }
            ids.push(c.id);
        }
        store.close().await;
        ids
    };
    let retention = server::privacy::Retention {
        days: 30,
        expiry: store::Expiry::Delete,
        every: Duration::from_millis(200),
    };
    let server = start_with(dir, Some(retention)).await;
    let ana = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    eventually(
        "retention removes the old resolved conversation",
        || async { server.store.conversation(ids[0]).await.unwrap().is_none() },
    )
    .await;
    assert!(
        server.store.conversation(ids[1]).await.unwrap().is_some(),
        "open: kept"
    );
    assert!(
        server.store.conversation(ids[2]).await.unwrap().is_some(),
        "recent: kept"
    );
    eventually("the search forgets it too", || async {
        let mut hits = search(&server, &ana, "ancientwalrus").await;
        hits.sort();
        hits == vec![ids[1]]
    })
    .await;
    assert_eq!(search(&server, &ana, "recentwalrus").await, vec![ids[2]]);
}
