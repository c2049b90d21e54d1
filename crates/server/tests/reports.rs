//! The Reports API over HTTP: who may read it, the figures of conversations written through
//! the store, the conversations behind a number, the CSV (one row per conversation), the
//! live counts, and clear refusals of bad parameters.

mod common;

use std::sync::Arc;
use store::{ConversationContext, NewAgent, NewMessage, SqliteStore, Status, Store};

const HOUR: i64 = 3_600_000;

async fn start() -> (String, Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("f.db")).await.unwrap());
    for (email, admin) in [
        ("ana@example.com", true),
        ("bo@example.com", false),
        ("lea@example.com", false),
    ] {
        store
            .create_agent(
                NewAgent {
                    email: email.into(),
                    name: email.split('@').next().unwrap().into(),
                    password_hash: server::hash_password("agent-password").unwrap(),
                    admin,
                },
                1,
            )
            .await
            .unwrap();
    }
    let lea = store
        .agent_credentials("lea@example.com")
        .await
        .unwrap()
        .unwrap();
    store.set_lead(lea.agent.id, true).await.unwrap();
    let state = server::AppState::new(store.clone(), server::Settings::default());
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    (format!("http://{addr}"), store, dir)
}

/// A conversation handed off `ago` ago, answered after `answer` (if any), resolved and rated.
async fn conversation(
    store: &SqliteStore,
    n: u32,
    now: i64,
    ago: i64,
    answer: Option<i64>,
    rating: Option<u8>,
) -> i64 {
    let t = now - ago;
    let v = store
        .create_visitor(&format!("vt-{n}"), "demo", t)
        .await
        .unwrap();
    let c = store
        .open_or_create_conversation(&v, &ConversationContext::default(), t)
        .await
        .unwrap();
    let agent = store.list_agents().await.unwrap()[0].id;
    let say = |agent_id: Option<i64>, at: i64, id: &'static str| NewMessage {
        conversation_id: c.id,
        client_id: id,
        agent_id,
        body: "Where is my parcel?",
        at,
        attachments: &[],
    };
    store.append_message(say(None, t, "q")).await.unwrap();
    if let Some(after) = answer {
        store
            .append_message(say(Some(agent), t + after, "a"))
            .await
            .unwrap();
    }
    if let Some(score) = rating {
        store
            .set_status(c.id, Status::Resolved, t + HOUR)
            .await
            .unwrap();
        store.rate(c.id, score, None).await.unwrap();
    }
    c.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_leads_read_the_figures_and_the_conversations_behind_them() {
    let (base, store, _dir) = start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let a = conversation(&store, 1, now, 3 * HOUR, Some(4 * 60_000), Some(5)).await;
    let b = conversation(&store, 2, now, 2 * HOUR, Some(20 * 60_000), Some(1)).await;
    let c = conversation(&store, 3, now, HOUR, None, None).await;
    // Forty days ago: the previous period only.
    conversation(&store, 4, now, 40 * 24 * HOUR, Some(60_000), None).await;
    let client = reqwest::Client::new();
    let get = |cookie: String, path: &str| {
        client
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
    };
    let ana = common::cookie(&base, "ana@example.com", "agent-password").await;
    let bo = common::cookie(&base, "bo@example.com", "agent-password").await;
    let lea = common::cookie(&base, "lea@example.com", "agent-password").await;

    // A plain agent is refused; signed out is refused.
    assert_eq!(get(bo.clone(), "/api/reports").await.unwrap().status(), 403);
    assert_eq!(
        get(String::new(), "/api/reports").await.unwrap().status(),
        401
    );
    let me: protocol::AgentInfo = get(lea.clone(), "/api/me")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me.lead && !me.admin);

    for who in [&ana, &lea] {
        let r: protocol::reports::Report = get(who.clone(), "/api/reports?tz=Europe/Istanbul")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r.timezone, "Europe/Istanbul");
        assert_eq!(r.current.conversations, 3);
        assert_eq!(r.previous.conversations, 1);
        assert_eq!(r.current.first_response.count, 2);
        assert_eq!(r.current.first_response.median_ms, Some(4 * 60_000));
        assert_eq!(r.current.first_response.p90_ms, Some(20 * 60_000));
        assert_eq!(r.current.csat, [1, 0, 0, 0, 1]);
        assert_eq!(r.current.csat_per_mille(), Some(500));
        assert_eq!((r.current.resolved, r.current.one_touch), (2, 2));
        assert_eq!(
            r.days.len(),
            31,
            "30 days in Istanbul's days, both ends touched"
        );
        assert_eq!(r.heatmap.iter().flatten().sum::<u64>(), 3);
    }

    // The conversations behind a number, and the same as CSV.
    let rows: Vec<protocol::reports::ReportRow> =
        get(ana.clone(), "/api/reports/conversations?drill=unanswered")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [c]);
    let rows: Vec<protocol::reports::ReportRow> =
        get(ana.clone(), "/api/reports/conversations?drill=rating:1")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [b]);
    let response = get(ana.clone(), "/api/reports/conversations.csv")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "a header and one row per conversation: {csv}"
    );
    assert!(lines[0].starts_with("id,site,created_at"));
    assert!(lines.iter().any(|l| l.starts_with(&format!("{a},demo,"))));

    // Lists and the live overview.
    let lists: protocol::reports::Lists = get(ana.clone(), "/api/reports/lists")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lists.top_questions[0].key, "where is my parcel");
    assert_eq!(lists.top_questions[0].count, 3);
    assert_eq!(
        lists.aging,
        [1, 0, 1],
        "c, and the one of forty days ago, still open"
    );
    let live: protocol::reports::Live = get(ana.clone(), "/api/reports/live")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((live.open, live.unassigned, live.waiting), (2, 2, 1));

    // Bad parameters: a clear 400.
    for bad in [
        "/api/reports?tz=Mars/Olympus",
        "/api/reports?since=10&until=5",
        "/api/reports?priority=whenever",
        "/api/reports?since=0",
        "/api/reports?nonsense=1",
        "/api/reports/conversations?drill=everything",
        "/api/reports/conversations.csv?drill=ratings:1",
    ] {
        let response = get(ana.clone(), bad).await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}
