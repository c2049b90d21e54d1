//! Insights over real sockets: settled searches from several visitors reach the gaps report
//! (admins only here: plain agents are refused), rare queries stay hidden, a repeating visitor
//! counts once; the customer effort score and the self-help time land on the conversation.

mod common;

use common::{Ws, send, wait_for};
use protocol::ServerFrame;
use protocol::reports::{Counted, GapQuery, Gaps};
use std::sync::Arc;
use store::{NewAgent, SqliteStore, Store};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    store: Arc<SqliteStore>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let kb = tempfile::tempdir().unwrap();
    for (id, title) in [("refunds", "How do I refund a payment?"), ("pix", "PIX")] {
        write(
            kb.path(),
            &format!("en/{id}.md"),
            &format!("---\nid: en/{id}\ntitle: {title}\nlang: en\n---\nText.\n"),
        );
    }
    let store = Arc::new(
        SqliteStore::open(&data.path().join("frontdesk.db"))
            .await
            .unwrap(),
    );
    for (email, name, admin) in [
        ("ana@example.com", "Ana", true),
        ("bo@example.com", "Bo", false),
    ] {
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
    let settings = server::Settings {
        knowledge_base: Some(kb.path().to_path_buf()),
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
        _dirs: (data, kb),
    }
}

/// A new visitor of the demo site, welcomed.
async fn visitor(server: &Server) -> Ws {
    let mut ws = common::connect(server.addr, "/ws/visitor", None).await;
    send(
        &mut ws,
        r#"{"type":"hello","v":1,"site":"demo","locale":"en-GB"}"#,
    )
    .await;
    wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await;
    ws
}

/// Frames of a connection are handled in order and `searched` has no answer: a frame with an
/// answer after it proves it was handled.
async fn barrier(ws: &mut Ws) {
    send(ws, r#"{"type":"resolve"}"#).await;
    wait_for(ws, "the barrier's error", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
}

async fn gaps(server: &Server, cookie: Option<&str>, query: &str) -> reqwest::Response {
    let mut request =
        reqwest::Client::new().get(format!("{}/api/reports/gaps?{query}", server.base));
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_from_several_visitors_reach_the_gaps_report() {
    let server = start().await;
    for i in 0..3 {
        let mut ws = visitor(&server).await;
        // Three visitors ask the same unanswered question (one twice, typed differently).
        send(
            &mut ws,
            r#"{"type":"searched","query":"  Refund  Policy ","results":0,"handoff":true}"#,
        )
        .await;
        if i == 0 {
            send(
                &mut ws,
                r#"{"type":"searched","query":"refund policy","results":0}"#,
            )
            .await;
            // Asked by one visitor only, however often: never listed.
            for _ in 0..4 {
                send(
                    &mut ws,
                    r#"{"type":"searched","query":"order 5531 for ana","results":0}"#,
                )
                .await;
            }
        }
        send(
            &mut ws,
            r#"{"type":"searched","query":"refund","results":1,"shown":["en/refunds"],"opened":"en/refunds","helpful":false}"#,
        )
        .await;
        // Refused by the decoder with a clear error (and nothing stored).
        send(&mut ws, r#"{"type":"searched","query":"   ","results":0}"#).await;
        let error = wait_for(&mut ws, "invalid_field", |f| {
            matches!(f, ServerFrame::Error { .. })
        })
        .await;
        assert!(
            matches!(&error, ServerFrame::Error { code: protocol::ErrorCode::InvalidField, message, .. } if message.contains("query is empty")),
            "{error:?}"
        );
        barrier(&mut ws).await;
    }

    let ana = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let bo = common::cookie(&server.base, "bo@example.com", "agent-password").await;
    let response = gaps(&server, Some(&ana), "since=0&site=demo").await;
    assert_eq!(response.status(), 200);
    let report: Gaps = response.json().await.unwrap();
    let query = |query: &str, searches: u64, visitors: u64| GapQuery {
        query: query.into(),
        language: "en".into(),
        searches,
        visitors,
    };
    assert_eq!(report.min_visitors, 3);
    assert_eq!(
        report.top_searches,
        [query("refund policy", 4, 3), query("refund", 3, 3)]
    );
    assert_eq!(report.no_result, [query("refund policy", 4, 3)]);
    assert_eq!(report.handed_off, [query("refund policy", 3, 3)]);
    assert_eq!(
        report.unhelpful_articles,
        [Counted {
            key: "en/refunds".into(),
            count: 3
        }]
    );
    assert_eq!(report.never_shown, ["en/pix"]);
    // Reporting searches starts no conversation.
    assert!(
        server
            .store
            .conversations_since(0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Every site; a plain agent is refused; nobody signed in is refused; bad input is explained.
    let all: Gaps = gaps(&server, Some(&ana), "since=0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.no_result, report.no_result);
    assert_eq!(gaps(&server, Some(&bo), "since=0").await.status(), 403);
    assert_eq!(gaps(&server, None, "since=0").await.status(), 401);
    assert_eq!(gaps(&server, Some(&ana), "since=-5").await.status(), 400);
    assert_eq!(gaps(&server, Some(&ana), "since=soon").await.status(), 400);
    assert_eq!(
        gaps(&server, Some(&ana), "since=0&site=nope")
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_effort_score_and_the_self_help_time_are_stored() {
    let server = start().await;
    let mut ws = visitor(&server).await;
    // No conversation yet: nothing to score.
    send(&mut ws, r#"{"type":"effort","score":6}"#).await;
    let error = wait_for(&mut ws, "not_found", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    assert!(
        matches!(
            error,
            ServerFrame::Error {
                code: protocol::ErrorCode::NotFound,
                ..
            }
        ),
        "{error:?}"
    );
    send(
        &mut ws,
        r#"{"type":"send","id":"m1","body":"help","context":{"query":"refund","searching_ms":42000}}"#,
    )
    .await;
    let ServerFrame::Ack { conversation, .. } =
        wait_for(&mut ws, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    send(&mut ws, r#"{"type":"resolve"}"#).await;
    wait_for(&mut ws, "resolved", |f| {
        matches!(f, ServerFrame::Status { .. })
    })
    .await;
    send(&mut ws, r#"{"type":"rate","score":5}"#).await;
    wait_for(&mut ws, "rating saved", |f| {
        matches!(f, ServerFrame::Saved { .. })
    })
    .await;
    send(&mut ws, r#"{"type":"effort","score":8}"#).await;
    wait_for(&mut ws, "invalid score", |f| {
        matches!(
            f,
            ServerFrame::Error {
                code: protocol::ErrorCode::InvalidField,
                ..
            }
        )
    })
    .await;
    send(&mut ws, r#"{"type":"effort","score":6}"#).await;
    wait_for(&mut ws, "effort saved", |f| {
        matches!(f, ServerFrame::Saved { .. })
    })
    .await;
    let c = server
        .store
        .conversation(conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.rating, c.ces, c.self_help_ms),
        (Some(5), Some(6), Some(42_000))
    );
    // Both are the customer's data: they are in the contact's export.
    send(
        &mut ws,
        r#"{"type":"contact","name":"Ines","email":"ines@example.org"}"#,
    )
    .await;
    wait_for(&mut ws, "contact saved", |f| {
        matches!(f, ServerFrame::Saved { .. })
    })
    .await;
    let contact = server
        .store
        .conversation(conversation)
        .await
        .unwrap()
        .unwrap()
        .contact_id
        .expect("a conversation has a contact once the customer said who they are");
    let ana = common::cookie(&server.base, "ana@example.com", "agent-password").await;
    let export: protocol::ContactExport = reqwest::Client::new()
        .get(format!("{}/api/contacts/{contact}/export", server.base))
        .header("cookie", ana)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exported = &export.conversations[0];
    assert_eq!(
        (exported.rating, exported.effort, exported.self_help_ms),
        (Some(5), Some(6), Some(42_000))
    );

    // A self-help time past a day is dropped; the message is still stored.
    let mut other = visitor(&server).await;
    send(
        &mut other,
        r#"{"type":"send","id":"m1","body":"hi","context":{"searching_ms":86400001}}"#,
    )
    .await;
    let ServerFrame::Ack { conversation, .. } =
        wait_for(&mut other, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    let c = server
        .store
        .conversation(conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.self_help_ms, None);
}
