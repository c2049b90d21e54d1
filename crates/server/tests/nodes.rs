//! Two nodes on one PostgreSQL database and one Redis, over real sockets: the customer on node
//! A, the agent on node B. Messages, typing, read receipts and the inbox cross nodes; when the
//! Redis subscription is killed (`CLIENT KILL TYPE pubsub`) mid-conversation, `/readyz` turns
//! red, nothing is lost, and delivery resumes by itself.
//!
//! Needs `FRONTDESK_TEST_DATABASE_URL` and `FRONTDESK_TEST_REDIS_URL` (set by `cargo xtask
//! test`); skipped without them unless `FRONTDESK_REQUIRE_SERVICES` is set.

mod common;

use common::{send, wait_for};
use protocol::ServerFrame;
use std::sync::Arc;
use std::time::Duration;
use store::{NewAgent, PgStore, Store};

/// A fresh database on the test PostgreSQL and the test Redis, or `None` to skip.
async fn services(name: &str) -> Option<(String, String)> {
    let database = store::conformance::postgres_database(name).await?;
    match std::env::var("FRONTDESK_TEST_REDIS_URL") {
        Ok(redis) => Some((database, redis)),
        Err(_) => {
            assert!(
                std::env::var_os("FRONTDESK_REQUIRE_SERVICES").is_none(),
                "FRONTDESK_TEST_REDIS_URL is not set"
            );
            eprintln!("skipped: FRONTDESK_TEST_REDIS_URL is not set (cargo xtask test sets it)");
            None
        }
    }
}

struct Node {
    base: String,
    addr: std::net::SocketAddr,
}

async fn node(database: &str, redis: &str) -> Node {
    node_with(database, redis, |_| {}).await
}

async fn node_with(database: &str, redis: &str, tune: impl FnOnce(&mut server::Settings)) -> Node {
    let store = PgStore::connect(database).await.unwrap();
    let mut settings = server::Settings {
        redis: Some(redis.to_owned()),
        session_check: Duration::from_millis(200),
        ..server::Settings::default()
    };
    tune(&mut settings);
    let state = server::AppState::new(Arc::new(store), settings)
        .with_message_search()
        .unwrap();
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    Node {
        base: format!("http://{addr}"),
        addr,
    }
}

async fn ready(node: &Node) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{}/readyz", node.base)).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn eventually_ready(node: &Node, want: bool) {
    for _ in 0..100 {
        if (ready(node).await.0 == 200) == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz never became {want}: {:?}", ready(node).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_on_one_node_and_an_agent_on_another() {
    let Some((database, redis_url)) = services("nodes").await else {
        return;
    };
    add_ana(&database).await;
    let (a, b) = (
        node(&database, &redis_url).await,
        node(&database, &redis_url).await,
    );
    eventually_ready(&a, true).await;
    eventually_ready(&b, true).await;
    assert_eq!(ready(&a).await.1["pubsub"], "ok");

    // The agent signs in on node B.
    let cookie = common::cookie(&b.base, "ana@example.com", "agent-password").await;
    let mut agent = common::connect(b.addr, "/ws/agent", Some(&cookie)).await;
    send(&mut agent, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut agent, "agent_welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;

    // The customer on node A learns that an agent (connected to node B) answers.
    let mut customer = None;
    for _ in 0..50 {
        let mut ws = common::connect(a.addr, "/ws/visitor", None).await;
        send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
        let ServerFrame::Welcome { availability, .. } = wait_for(&mut ws, "welcome", |f| {
            matches!(f, ServerFrame::Welcome { .. })
        })
        .await
        else {
            unreachable!()
        };
        if availability.agents_online {
            customer = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut customer = customer.expect("node A sees the agent of node B online within 5 s");
    // The customer writes on node A; node A routes it to the agent on node B, who sees it live.
    send(
        &mut customer,
        r#"{"type":"send","id":"c1","body":"hello from node A"}"#,
    )
    .await;
    let ServerFrame::Ack { conversation, .. } = wait_for(&mut customer, "ack", |f| {
        matches!(f, ServerFrame::Ack { .. })
    })
    .await
    else {
        unreachable!()
    };
    wait_for(
        &mut agent,
        "the conversation routed to the agent of node B",
        |f| {
            matches!(f, ServerFrame::Conversation(c)
            if c.id == conversation && c.assignee.as_ref().is_some_and(|a| a.name == "Ana"))
        },
    )
    .await;
    send(
        &mut agent,
        &format!(r#"{{"type":"open","conversation":{conversation},"after_seq":0}}"#),
    )
    .await;
    wait_for(
        &mut agent,
        "the customer's message",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "hello from node A"),
    )
    .await;

    // What the customer wrote on node A is found by the agents' search on node B.
    let mut found = Vec::new();
    for _ in 0..50 {
        found = reqwest::Client::new()
            .get(format!("{}/api/conversations/search", b.base))
            .query(&[("q", "hello node")])
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json::<Vec<protocol::ConversationSummary>>()
            .await
            .unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        found.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![conversation],
        "the search on node B finds the message written on node A"
    );

    // Typing and the reply cross back to node A.
    send(
        &mut agent,
        &format!(r#"{{"type":"typing","conversation":{conversation},"on":true}}"#),
    )
    .await;
    wait_for(&mut customer, "the agent typing", |f| {
        matches!(f, ServerFrame::Typing { on: true, .. })
    })
    .await;
    send(
        &mut agent,
        &format!(
            r#"{{"type":"send","id":"a1","conversation":{conversation},"body":"hi from node B"}}"#
        ),
    )
    .await;
    wait_for(
        &mut customer,
        "the agent's reply",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "hi from node B"),
    )
    .await;
    // The customer's read receipt reaches the agent.
    send(&mut customer, r#"{"type":"read","seq":2}"#).await;
    wait_for(&mut agent, "the read receipt", |f| {
        matches!(f, ServerFrame::Read { seq: 2, .. })
    })
    .await;

    // Redis drops every subscription: the nodes turn not-ready, resubscribe by themselves,
    // and what was sent meanwhile arrives (from the database).
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(killed >= 2, "both nodes' subscriptions: {killed}");
    send(
        &mut customer,
        r#"{"type":"send","id":"c2","body":"sent while Redis was away"}"#,
    )
    .await;
    wait_for(
        &mut agent,
        "the message sent during the outage",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "sent while Redis was away"),
    )
    .await;
    eventually_ready(&a, true).await;
    eventually_ready(&b, true).await;
    send(
        &mut customer,
        r#"{"type":"send","id":"c3","body":"and after"}"#,
    )
    .await;
    wait_for(
        &mut agent,
        "the next message",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "and after"),
    )
    .await;
}

/// A Redis of this test's own, on a free port, that it can stop and start again.
struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis { port, child: None };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (cargo xtask test installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_conversation_loses_nothing_and_readyz_is_red_meanwhile() {
    let Some((database, _)) = services("redis_restart").await else {
        return;
    };
    add_ana(&database).await;
    let mut redis = OwnRedis::start();
    let (a, b) = (
        node(&database, &redis.url()).await,
        node(&database, &redis.url()).await,
    );
    eventually_ready(&a, true).await;
    eventually_ready(&b, true).await;
    // Two browsers of the same visitor: one tab on each node.
    let mut tab_a = common::connect(a.addr, "/ws/visitor", None).await;
    send(&mut tab_a, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    let ServerFrame::Welcome { token, .. } = wait_for(&mut tab_a, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    let token = token.unwrap();
    send(&mut tab_a, r#"{"type":"send","id":"m1","body":"first"}"#).await;
    wait_for(&mut tab_a, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
    let mut tab_b = common::connect(b.addr, "/ws/visitor", None).await;
    send(
        &mut tab_b,
        &format!(r#"{{"type":"hello","v":1,"site":"demo","token":"{token}"}}"#),
    )
    .await;
    wait_for(&mut tab_b, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await;

    redis.stop();
    eventually_ready(&a, false).await;
    eventually_ready(&b, false).await;
    assert_eq!(ready(&a).await.1["pubsub"], "deaf");
    // Written while the nodes cannot hear each other: stored and acknowledged all the same.
    send(
        &mut tab_a,
        r#"{"type":"send","id":"m2","body":"while Redis is down, quokka"}"#,
    )
    .await;
    wait_for(&mut tab_a, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;

    redis.restart();
    eventually_ready(&a, true).await;
    eventually_ready(&b, true).await;
    // The other tab gets it once its node hears Redis again (it rebuilds from the database).
    wait_for(
        &mut tab_b,
        "the message written during the outage",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "while Redis is down, quokka"),
    )
    .await;
    // Node B never heard of it, yet its agents' search finds it: the node caught its index up
    // from the database when it heard Redis again.
    let cookie = common::cookie(&b.base, "ana@example.com", "agent-password").await;
    let mut found = false;
    for _ in 0..100 {
        let hits: Vec<serde_json::Value> = reqwest::Client::new()
            .get(format!("{}/api/conversations/search?q=quokka", b.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !hits.is_empty() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        found,
        "node B's search finds what node A stored during the outage"
    );
    send(&mut tab_a, r#"{"type":"send","id":"m3","body":"after"}"#).await;
    wait_for(
        &mut tab_b,
        "the next message",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "after"),
    )
    .await;
}

async fn add_ana(database: &str) {
    let store = PgStore::connect(database).await.unwrap();
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
    store.close().await;
}

/// Whether a visitor without a token is welcomed (a new visitor) by `node`.
async fn welcomed(node: &Node) -> bool {
    let mut ws = common::connect(node.addr, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    loop {
        match common::next(&mut ws).await {
            Ok(ServerFrame::Welcome { .. }) => return true,
            Ok(ServerFrame::Error { .. }) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

async fn sign_in(node: &Node, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/login", node.base))
        .header("origin", &node.base)
        .json(&serde_json::json!({"email": "ana@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_the_sign_in_throttle_count_across_nodes_and_only_within_their_cluster() {
    let Some((database, redis_url)) = services("nodes_limits").await else {
        return;
    };
    let Some(other_database) = store::conformance::postgres_database("nodes_limits_other").await
    else {
        return;
    };
    add_ana(&database).await;
    add_ana(&other_database).await;
    let four = |s: &mut server::Settings| {
        s.limits.new_visitors_per_address = server::Rate::new(4, Duration::from_secs(3600));
    };
    let a = node_with(&database, &redis_url, four).await;
    let b = node_with(&database, &redis_url, four).await;
    // Another deployment on the same Redis (its own database).
    let other = node_with(&other_database, &redis_url, four).await;
    for n in [&a, &b, &other] {
        eventually_ready(n, true).await;
    }

    // New visitors from one address, alternating between the nodes: 4 in all, not 4 per node.
    let mut welcomes = 0;
    for i in 0..10 {
        if welcomed(if i % 2 == 0 { &a } else { &b }).await {
            welcomes += 1;
        }
    }
    assert_eq!(welcomes, 4, "the limit is the cluster's");
    assert!(welcomed(&other).await, "another cluster counts apart");

    // Five wrong passwords spread over both nodes (three on A, two on B): the pair has used
    // its free failures, so even the right password waits, on either node.
    for i in 0..5 {
        let n = if i % 2 == 0 { &a } else { &b };
        assert_eq!(sign_in(n, "wrong-password").await, 401);
    }
    assert_eq!(sign_in(&b, "agent-password").await, 429);
    assert_eq!(sign_in(&a, "agent-password").await, 429);
    assert_eq!(
        sign_in(&other, "agent-password").await,
        200,
        "another cluster's Ana is not slowed"
    );
    let metrics = reqwest::get(format!("{}/metrics", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("frontdesk_limited_total{limit=\"new_visitors_per_address\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_event_was_never_published_still_reaches_its_followers() {
    let Some((database, redis_url)) = services("nodes_safety_net").await else {
        return;
    };
    let b = node_with(&database, &redis_url, |s| {
        s.missed_check = Duration::from_millis(300);
    })
    .await;
    eventually_ready(&b, true).await;
    let mut tab = common::connect(b.addr, "/ws/visitor", None).await;
    send(&mut tab, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    send(&mut tab, r#"{"type":"send","id":"m1","body":"first"}"#).await;
    let ServerFrame::Ack { conversation, .. } =
        wait_for(&mut tab, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    // Another node commits a message and dies before publishing its event.
    let store = PgStore::connect(&database).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    store
        .append_message(store::NewMessage {
            conversation_id: conversation,
            client_id: "never-published",
            agent_id: None,
            body: "committed by a node that died before publishing",
            at: now,
            attachments: &[],
        })
        .await
        .unwrap();
    store.close().await;
    // Node B's safety net finds it in the database and the tab reads it.
    wait_for(
        &mut tab,
        "the unannounced message",
        |f| matches!(f, ServerFrame::Message(m) if m.seq == 2 && m.id == "never-published"),
    )
    .await;
}

/// The manifest's version a node serves.
async fn manifest_version(node: &Node) -> String {
    let manifest: serde_json::Value = reqwest::get(format!("{}/index/manifest.json", node.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    manifest["version"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knowledge_base_rebuild_reaches_the_widgets_of_every_node() {
    let Some((database, redis_url)) = services("nodes_kb").await else {
        return;
    };
    // The folder every node reads (a shared volume, or the same deploy on each machine).
    let kb = tempfile::tempdir().unwrap();
    let article =
        |body: &str| format!("---\ntitle: How do I refund a payment?\nlang: en\n---\n{body}\n");
    std::fs::create_dir_all(kb.path().join("en")).unwrap();
    std::fs::write(kb.path().join("en/refunds.md"), article("Open Payments.")).unwrap();
    let with_kb = |s: &mut server::Settings| s.knowledge_base = Some(kb.path().to_path_buf());
    let a = node_with(&database, &redis_url, with_kb).await;
    let b = node_with(&database, &redis_url, with_kb).await;
    let before = manifest_version(&a).await;
    assert_eq!(manifest_version(&b).await, before, "one build, one version");
    let mut widgets = Vec::new();
    for node in [&a, &b] {
        let mut ws = common::connect(node.addr, "/ws/visitor", None).await;
        send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
        wait_for(&mut ws, "welcome", |f| {
            matches!(f, ServerFrame::Welcome { .. })
        })
        .await;
        widgets.push(ws);
    }
    // The content team publishes a change.
    std::fs::write(
        kb.path().join("en/refunds.md"),
        article("Open Payments, pick the payment and click Refund."),
    )
    .unwrap();
    let mut versions = Vec::new();
    for ws in &mut widgets {
        let ServerFrame::IndexChanged { version } = wait_for(ws, "index_changed", |f| {
            matches!(f, ServerFrame::IndexChanged { .. })
        })
        .await
        else {
            unreachable!()
        };
        versions.push(version);
    }
    assert_ne!(versions[0], before);
    assert_eq!(
        versions[0], versions[1],
        "both nodes built the same version"
    );
    assert_eq!(manifest_version(&a).await, versions[0]);
    assert_eq!(manifest_version(&b).await, versions[0]);
}
