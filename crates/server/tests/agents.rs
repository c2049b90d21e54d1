//! The agent side over real sockets: round-robin routing, reassignment when an agent goes
//! offline, transfer, private notes that never reach a visitor connection, and an SLA breach
//! under a shortened policy.

use futures_util::{SinkExt, StreamExt};
use protocol::{Priority, ServerFrame};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::{NewAgent, SqliteStore, Store};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    ids: BTreeMap<&'static str, i64>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    start_with(|_| {}).await
}

/// Starts a server with the test settings, changed by `tune`; Bo is in the `billing` team.
async fn start_with(tune: impl FnOnce(&mut server::Settings)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    let mut ids = BTreeMap::new();
    for (email, name) in [("ana@example.com", "Ana"), ("bo@example.com", "Bo")] {
        let a = store
            .create_agent(
                NewAgent {
                    email: email.into(),
                    name: name.into(),
                    password_hash: server::hash_password("agent-password").unwrap(),
                    admin: name == "Ana",
                },
                1,
            )
            .await
            .unwrap();
        ids.insert(name, a.id);
    }
    store
        .set_agent_teams(ids["Bo"], &["billing".to_owned()])
        .await
        .unwrap();
    let mut settings = server::Settings {
        reassign_grace: Duration::from_millis(100),
        sla_tick: Duration::from_millis(50),
        // Urgent: 0.5 s to first reply, so a breach happens during the test.
        sla_first_response: BTreeMap::from([
            (Priority::Urgent, 0.5 / 60.0),
            (Priority::High, 60.0),
            (Priority::Normal, 60.0),
            (Priority::Low, 60.0),
        ]),
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
    Server {
        base: format!("http://{addr}"),
        addr,
        ids,
        _dir: dir,
    }
}

async fn connect(server: &Server, path: &str, cookie: Option<&str>) -> Ws {
    let mut req = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&server.base).unwrap());
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

async fn next(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("a frame within 60 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return protocol::decode_server(&t).unwrap();
        }
    }
}

/// Waits for a frame matching `pred`, skipping others.
async fn wait_for(ws: &mut Ws, what: &str, pred: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let f = tokio::time::timeout(Duration::from_secs(20), next(ws))
            .await
            .unwrap_or_else(|_| panic!("no frame for 20 s while waiting for {what}"));
        if pred(&f) {
            return f;
        }
    }
}

async fn cookie(server: &Server, email: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/api/login", server.base))
        .json(&serde_json::json!({"email": email, "password": "agent-password"}))
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

async fn agent(server: &Server, email: &str) -> Ws {
    let response = reqwest::Client::new()
        .post(format!("{}/api/login", server.base))
        .json(&serde_json::json!({"email": email, "password": "agent-password"}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut ws = connect(server, "/ws/agent", Some(&cookie)).await;
    send(&mut ws, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;
    ws
}

/// A new visitor who sends one message; returns its socket and conversation id.
async fn customer(server: &Server, text: &str) -> (Ws, i64) {
    let mut ws = connect(server, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await;
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
    (ws, conversation)
}

/// The conversations an agent's search finds for `q`, asked again every 100 ms for up to 10 s
/// while it finds nothing (search sees new text after its next commit).
async fn search_until_found(server: &Server, cookie: &str, q: &str) -> Vec<i64> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let hits: Vec<protocol::ConversationSummary> = client
            .get(format!("{}/api/conversations/search", server.base))
            .query(&[("q", q)])
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !hits.is_empty() {
            return hits.iter().map(|c| c.id).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

async fn assignee_of(ws: &mut Ws, conversation: i64, what: &str) -> Option<i64> {
    match wait_for(
        ws,
        what,
        |f| matches!(f, ServerFrame::Conversation(c) if c.id == conversation),
    )
    .await
    {
        ServerFrame::Conversation(c) => c.assignee.map(|a| a.id),
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_offline_reassignment_transfer_notes_and_sla() {
    let server = start().await;
    let (ana_id, bo_id) = (server.ids["Ana"], server.ids["Bo"]);
    let mut ana = agent(&server, "ana@example.com").await;
    let mut bo = agent(&server, "bo@example.com").await;

    // Round-robin: three customers go Ana, Bo, Ana (or Bo, Ana, Bo), never twice in a row.
    let mut owners = Vec::new();
    let mut customers = Vec::new();
    for text in ["First customer", "Second customer", "Third customer"] {
        let (ws, conversation) = customer(&server, text).await;
        let mut owner = None;
        while owner.is_none() {
            owner = assignee_of(&mut ana, conversation, "an assignment").await;
        }
        owners.push(owner.unwrap());
        customers.push((ws, conversation));
    }
    assert_ne!(owners[0], owners[1], "round-robin: {owners:?}");
    assert_eq!(owners[0], owners[2], "round-robin: {owners:?}");

    // A private note: other agents see it; the visitor's connection never does.
    let (ref mut visitor, conversation) = customers[0];
    send(
        &mut bo,
        &format!(r#"{{"type":"open","conversation":{conversation}}}"#),
    )
    .await;
    send(
        &mut ana,
        &format!(r#"{{"type":"open","conversation":{conversation}}}"#),
    )
    .await;
    send(&mut ana, &format!(r#"{{"type":"note","id":"n1","conversation":{conversation},"body":"VIP: refund without asking"}}"#)).await;
    // The author's other tabs see it too.
    wait_for(&mut ana, "the note (own)", |f| {
        matches!(f, ServerFrame::Note(_))
    })
    .await;
    let note = wait_for(&mut bo, "the note", |f| matches!(f, ServerFrame::Note(_))).await;
    assert!(
        matches!(note, ServerFrame::Note(n) if n.body == "VIP: refund without asking" && n.agent.name == "Ana")
    );
    send(
        &mut ana,
        &format!(r#"{{"type":"send","id":"r1","conversation":{conversation},"body":"Done!"}}"#),
    )
    .await;
    loop {
        match next(visitor).await {
            ServerFrame::Message(m) if m.body == "Done!" => break,
            other => {
                let json = other.to_json();
                assert!(!json.contains("VIP"), "a note reached the visitor: {json}");
            }
        }
    }

    // Transfer: Ana hands the conversation to Bo.
    send(
        &mut ana,
        &format!(r#"{{"type":"assign","conversation":{conversation},"agent":{bo_id}}}"#),
    )
    .await;
    let mut owner = None;
    while owner != Some(bo_id) {
        owner = assignee_of(&mut bo, conversation, "the transfer").await;
    }

    // Bo goes offline: his open conversations go to Ana, the only one online.
    drop(bo);
    let mut moved = 0;
    while moved < 2 {
        if let ServerFrame::Conversation(c) = wait_for(&mut ana, "reassignment", |f| {
            matches!(f, ServerFrame::Conversation(_))
        })
        .await
            && c.assignee.as_ref().map(|a| a.id) == Some(ana_id)
            && (owners.contains(&bo_id) || c.id == conversation)
        {
            moved += 1;
        }
    }

    // SLA: make one conversation urgent (0.5 s to first reply) and let it breach.
    let (_, late) = customer(&server, "Urgent: my site is down").await;
    send(
        &mut ana,
        &format!(r#"{{"type":"set_priority","conversation":{late},"priority":"urgent"}}"#),
    )
    .await;
    let breached = wait_for(&mut ana, "the breach", |f| {
        matches!(f, ServerFrame::Conversation(c) if c.id == late && c.sla_breached_at.is_some())
    })
    .await;
    let ServerFrame::Conversation(c) = breached else {
        unreachable!()
    };
    assert_eq!(c.priority, Priority::Urgent);
    assert!(c.first_response_due.unwrap() <= c.sla_breached_at.unwrap());
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nfrontdesk_sla_breaches_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_response_and_resolution_slas_labels_and_a_transfer_to_a_team() {
    let server = start_with(|s| {
        // Urgent: the next reply within 0.4 s, resolution within 2 s.
        s.sla_next_response.insert(Priority::Urgent, 0.4 / 60.0);
        s.sla_resolution.insert(Priority::Urgent, 2.0 / 60.0);
    })
    .await;
    let bo_id = server.ids["Bo"];
    let mut ana = agent(&server, "ana@example.com").await;
    let _bo = agent(&server, "bo@example.com").await;
    let (mut visitor, id) = customer(&server, "My invoice is wrong").await;
    let is = |f: &ServerFrame, pred: &dyn Fn(&protocol::ConversationSummary) -> bool| matches!(f, ServerFrame::Conversation(c) if c.id == id && pred(c));
    let summary = |f: ServerFrame| match f {
        ServerFrame::Conversation(c) => c,
        _ => unreachable!(),
    };

    send(
        &mut ana,
        &format!(r#"{{"type":"set_priority","conversation":{id},"priority":"urgent"}}"#),
    )
    .await;
    let c = summary(
        wait_for(&mut ana, "urgent", |f| {
            is(f, &|c| c.priority == Priority::Urgent)
        })
        .await,
    );
    assert!(c.resolution_due.unwrap() <= c.created_at + 2_000);
    assert_eq!(c.next_response_due, None, "nobody has answered yet");

    // Ana answers; the customer writes again: the next-response clock starts, then breaches.
    send(
        &mut ana,
        &format!(r#"{{"type":"send","id":"r1","conversation":{id},"body":"Let me look"}}"#),
    )
    .await;
    wait_for(
        &mut visitor,
        "the reply",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "Let me look"),
    )
    .await;
    send(
        &mut visitor,
        r#"{"type":"send","id":"m2","body":"Any news?"}"#,
    )
    .await;
    let c = summary(
        wait_for(&mut ana, "the next-response deadline", |f| {
            is(f, &|c| c.next_response_due.is_some())
        })
        .await,
    );
    assert_eq!(
        c.next_deadline().map(|(k, _)| k),
        Some(protocol::SlaKind::NextResponse)
    );
    let next_due = c.next_response_due.unwrap();
    let c = summary(
        wait_for(&mut ana, "the next-response breach", |f| {
            is(f, &|c| c.sla_breached_at.is_some())
        })
        .await,
    );
    let first_breach = c.sla_breached_at.unwrap();
    assert!(next_due <= first_breach);
    // Then the resolution deadline passes too: a second breach is recorded.
    let c = summary(
        wait_for(&mut ana, "the resolution breach", |f| {
            is(f, &|c| c.sla_breached_at.is_some_and(|b| b > first_breach))
        })
        .await,
    );
    assert!(c.resolution_due.unwrap() <= c.sla_breached_at.unwrap());

    // Labels are normalized, deduplicated and sorted; bad ones are refused.
    send(
        &mut ana,
        &format!(
            r#"{{"type":"set_labels","conversation":{id},"labels":["Refund"," billing ","refund"]}}"#
        ),
    )
    .await;
    wait_for(&mut ana, "labels", |f| {
        is(f, &|c| c.labels == ["billing", "refund"])
    })
    .await;
    send(
        &mut ana,
        &format!(r#"{{"type":"set_labels","conversation":{id},"labels":["a,b"]}}"#),
    )
    .await;
    wait_for(&mut ana, "the refusal", |f| {
        matches!(
            f,
            ServerFrame::Error {
                code: protocol::ErrorCode::InvalidField,
                ..
            }
        )
    })
    .await;

    // A transfer to the billing team goes to its only member, Bo; unknown teams are refused.
    send(
        &mut ana,
        &format!(r#"{{"type":"set_team","conversation":{id},"team":"Billing"}}"#),
    )
    .await;
    wait_for(&mut ana, "the team's member", |f| {
        is(f, &|c| {
            c.team.as_deref() == Some("billing") && c.assignee.as_ref().map(|a| a.id) == Some(bo_id)
        })
    })
    .await;
    send(
        &mut ana,
        &format!(r#"{{"type":"set_team","conversation":{id},"team":"nobody"}}"#),
    )
    .await;
    let ServerFrame::Error { message, .. } = wait_for(&mut ana, "the refusal", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(message.contains("no team"), "{message}");

    // Resolving stops every clock.
    send(
        &mut ana,
        &format!(r#"{{"type":"resolve","conversation":{id}}}"#),
    )
    .await;
    let c = summary(
        wait_for(&mut ana, "resolved", |f| {
            is(f, &|c| c.status == protocol::ConversationStatus::Resolved)
        })
        .await,
    );
    assert_eq!(c.next_deadline(), None);

    // Reopening starts a new resolution clock; a second "reopen" of the open conversation (a
    // stale console) must not push it back.
    let reopen = format!(r#"{{"type":"reopen","conversation":{id}}}"#);
    send(&mut ana, &reopen).await;
    let reopened = summary(
        wait_for(&mut ana, "reopened", |f| {
            is(f, &|c| {
                c.status == protocol::ConversationStatus::Open && c.resolution_due.is_some()
            })
        })
        .await,
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    send(&mut ana, &reopen).await;
    let again = summary(
        wait_for(&mut ana, "the second reopen", |f| {
            is(f, &|c| c.updated_at > reopened.updated_at)
        })
        .await,
    );
    assert_eq!(again.resolution_due, reopened.resolution_due);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_routes_past_a_team_conversation_nobody_can_take() {
    // Demo's conversations go to the billing team (Bo, offline); the shop's to anyone.
    let server = start_with(|s| {
        let mut shop = server::demo_site();
        shop.config.site = "shop".into();
        s.sites.insert("shop".into(), shop);
        s.sites.get_mut("demo").unwrap().team = Some("billing".into());
    })
    .await;
    let (_billing_customer, billing) = customer(&server, "A billing question").await;
    let mut shop_customer = connect(&server, "/ws/visitor", None).await;
    send(
        &mut shop_customer,
        r#"{"type":"hello","v":1,"site":"shop"}"#,
    )
    .await;
    send(
        &mut shop_customer,
        r#"{"type":"send","id":"m1","body":"A shop question"}"#,
    )
    .await;
    let ServerFrame::Ack {
        conversation: shop, ..
    } = wait_for(&mut shop_customer, "ack", |f| {
        matches!(f, ServerFrame::Ack { .. })
    })
    .await
    else {
        unreachable!()
    };
    // Ana comes online: the queue is drained before her inbox is sent.
    let cookie = cookie(&server, "ana@example.com").await;
    let mut ana = connect(&server, "/ws/agent", Some(&cookie)).await;
    send(&mut ana, r#"{"type":"hello","v":1}"#).await;
    let ServerFrame::AgentWelcome { conversations, .. } = wait_for(&mut ana, "welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    let owner = |id: i64| {
        conversations
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.assignee.as_ref().map(|a| a.id))
    };
    assert_eq!(owner(billing), None, "waits for the billing team");
    assert_eq!(
        owner(shop),
        Some(server.ids["Ana"]),
        "placed although queued behind it"
    );
}

#[tokio::test]
async fn agents_search_messages_notes_and_contacts() {
    let server = start().await;
    let (_c1, first) = customer(&server, "My invoice INV-0042 shows the wrong total").await;
    let (_c2, _second) = customer(&server, "How do I add a team member").await;
    let cookie = cookie(&server, "ana@example.com").await;
    let client = reqwest::Client::new();
    let search = |q: &'static str, cookie: Option<String>| {
        let mut req = client
            .get(format!("{}/api/conversations/search", server.base))
            .query(&[("q", q)]);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    // Indexed text becomes searchable within about a second.
    assert_eq!(
        search_until_found(&server, &cookie, "inv-0042 total").await,
        [first]
    );
    assert_eq!(search("anything", None).await.unwrap().status(), 401);
}

#[tokio::test]
async fn admins_manage_agents_and_sign_outs_reach_live_consoles() {
    let server = start().await;
    let client = reqwest::Client::new();
    let ana = cookie(&server, "ana@example.com").await;
    let bo = cookie(&server, "bo@example.com").await;
    let get = |c: &str| {
        client
            .get(format!("{}/api/agents", server.base))
            .header("cookie", c.to_owned())
            .send()
    };
    assert_eq!(
        get(&bo).await.unwrap().status(),
        403,
        "agents are not admins"
    );
    let list: Vec<protocol::AgentAccount> = get(&ana).await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 2);

    // Routing skills, edited by an admin: normalized, validated, admins only, same origin only.
    let bo_id = server.ids["Bo"];
    let skills = |cookie: &str, origin: &str, body: serde_json::Value| {
        client
            .post(format!("{}/api/agents/{bo_id}/skills", server.base))
            .header("cookie", cookie.to_owned())
            .header("origin", origin.to_owned())
            .json(&body)
            .send()
    };
    let r = skills(
        &ana,
        &server.base,
        serde_json::json!({"languages": ["pt-BR", " en", "pt"], "teams": ["Billing", " VIP "]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let account: protocol::AgentAccount = r.json().await.unwrap();
    assert_eq!(
        (account.languages, account.teams),
        (
            vec!["pt".to_owned(), "en".to_owned()],
            vec!["billing".to_owned(), "vip".to_owned()]
        )
    );
    let bad = skills(
        &ana,
        &server.base,
        serde_json::json!({"languages": ["portuguese"], "teams": []}),
    );
    assert_eq!(bad.await.unwrap().status(), 400);
    let by_agent = skills(
        &bo,
        &server.base,
        serde_json::json!({"languages": [], "teams": []}),
    );
    assert_eq!(by_agent.await.unwrap().status(), 403);
    let cross_site = skills(
        &ana,
        "https://evil.example",
        serde_json::json!({"languages": [], "teams": []}),
    );
    assert_eq!(cross_site.await.unwrap().status(), 403);

    let create = |body: serde_json::Value| {
        client
            .post(format!("{}/api/agents", server.base))
            .header("cookie", ana.clone())
            .header("origin", server.base.clone())
            .json(&body)
            .send()
    };
    let created = create(
        serde_json::json!({"email": "cy@example.com", "name": "Cy", "password": "a long password"}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let dup = create(
        serde_json::json!({"email": "CY@example.com", "name": "Cy", "password": "a long password"}),
    )
    .await
    .unwrap();
    assert_eq!(dup.status(), 409);
    let bad = create(
        serde_json::json!({"email": "not-an-email", "name": "X", "password": "a long password"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    let short =
        create(serde_json::json!({"email": "dee@example.com", "name": "Dee", "password": "short"}))
            .await
            .unwrap();
    assert_eq!(short.status(), 400);
    let cross = client
        .post(format!("{}/api/agents", server.base))
        .header("cookie", ana.clone())
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"email": "eve@example.com", "name": "Eve", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross.status(),
        403,
        "cross-site requests are refused (CSRF)"
    );

    // Disabling Bo closes his open console and ends his sessions.
    let mut bo_ws = connect(&server, "/ws/agent", Some(&bo)).await;
    send(&mut bo_ws, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut bo_ws, "welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;
    let bo_id = server.ids["Bo"];
    let disabled = client
        .post(format!("{}/api/agents/{bo_id}/disable", server.base))
        .header("cookie", ana.clone())
        .header("origin", server.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    wait_for(&mut bo_ws, "the sign-out", |f| {
        matches!(
            f,
            ServerFrame::Error {
                code: protocol::ErrorCode::NotAuthenticated,
                ..
            }
        )
    })
    .await;
    let me = client
        .get(format!("{}/api/me", server.base))
        .header("cookie", bo.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let login = client
        .post(format!("{}/api/login", server.base))
        .json(&serde_json::json!({"email": "bo@example.com", "password": "agent-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401, "a disabled agent cannot sign in");

    // Log out everywhere: every session of Ana ends.
    let ana2 = cookie(&server, "ana@example.com").await;
    let out = client
        .post(format!("{}/api/logout-all", server.base))
        .header("cookie", ana.clone())
        .header("origin", server.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    for c in [ana, ana2] {
        let me = client
            .get(format!("{}/api/me", server.base))
            .header("cookie", c)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 401);
    }
}

#[tokio::test]
async fn a_customers_earlier_conversations_are_listed_for_agents() {
    let server = start().await;
    let mut visitor = connect(&server, "/ws/visitor", None).await;
    send(&mut visitor, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    wait_for(&mut visitor, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await;
    let mut ids = Vec::new();
    for (i, text) in ["first visit", "second visit"].into_iter().enumerate() {
        send(
            &mut visitor,
            &format!(r#"{{"type":"send","id":"m{i}","body":"{text}"}}"#),
        )
        .await;
        let ServerFrame::Ack { conversation, .. } = wait_for(&mut visitor, "ack", |f| {
            matches!(f, ServerFrame::Ack { .. })
        })
        .await
        else {
            unreachable!()
        };
        ids.push(conversation);
        send(&mut visitor, r#"{"type":"resolve"}"#).await;
        wait_for(&mut visitor, "resolution", |f| {
            matches!(f, ServerFrame::Status { .. })
        })
        .await;
    }
    assert_ne!(ids[0], ids[1], "a new conversation after resolving");
    let cookie = cookie(&server, "ana@example.com").await;
    let client = reqwest::Client::new();
    let history: Vec<protocol::ConversationSummary> = client
        .get(format!(
            "{}/api/conversations/{}/history",
            server.base, ids[1]
        ))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[0]]);
    let anonymous = client
        .get(format!(
            "{}/api/conversations/{}/history",
            server.base, ids[1]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let missing = client
        .get(format!("{}/api/conversations/999999/history", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// A visitor on a new browser that says who it is, then writes; returns the socket, the
/// conversation and the frames seen before the ack (errors included).
async fn identified_customer(
    server: &Server,
    contact: &str,
    text: &str,
) -> (Ws, i64, Vec<ServerFrame>) {
    let mut ws = connect(server, "/ws/visitor", None).await;
    send(&mut ws, r#"{"type":"hello","v":1,"site":"demo"}"#).await;
    wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await;
    send(&mut ws, &format!(r#"{{"type":"contact",{contact}}}"#)).await;
    let mut seen = Vec::new();
    loop {
        let f = next(&mut ws).await;
        let saved = matches!(f, ServerFrame::Saved { .. });
        seen.push(f);
        if saved {
            break;
        }
    }
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
    (ws, conversation, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_contacts_attributes_sticky_account_manager_and_merging() {
    const SECRET: &str = "a site secret, 16+ chars";
    // HMAC-SHA256(SECRET, "user-42"), computed independently.
    const HASH: &str = "d5d10f16a9b2aeb6791ff7147c394716b848e3a3e225d6ea1838aedb0b801ddb";
    let server = start_with(|s| {
        s.sites.get_mut("demo").unwrap().identity_secret = Some(SECRET.into());
    })
    .await;
    let bo_id = server.ids["Bo"];
    let mut ana = agent(&server, "ana@example.com").await;
    let _bo = agent(&server, "bo@example.com").await;
    let cookie = cookie(&server, "ana@example.com").await;
    let client = reqwest::Client::new();
    let get_profile = |id: i64| {
        let request = client
            .get(format!("{}/api/contacts/{id}", server.base))
            .header("cookie", cookie.clone());
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<protocol::ContactProfile>().await.unwrap()
        }
    };
    let post = |path: String, body: serde_json::Value| {
        client
            .post(format!("{}{path}", server.base))
            .header("cookie", cookie.clone())
            .header("origin", server.base.clone())
            .json(&body)
            .send()
    };
    let summary_of = |f: ServerFrame| match f {
        ServerFrame::Conversation(c) => c,
        _ => unreachable!(),
    };

    // A verified user with custom attributes.
    let identity = format!(
        r#""name":"Rita","email":"rita@example.com","user_id":"user-42","user_hash":"{HASH}","attributes":{{"plan":"pro"}}"#
    );
    let (_laptop, first, seen) =
        identified_customer(&server, &identity, "Hello from the laptop").await;
    assert!(
        !seen.iter().any(|f| matches!(f, ServerFrame::Error { .. })),
        "{seen:?}"
    );
    let c = summary_of(
        wait_for(&mut ana, "the first conversation", |f| {
            matches!(f, ServerFrame::Conversation(c) if c.id == first && c.contact_id.is_some())
        })
        .await,
    );
    assert!(c.contact_verified);
    let contact = c.contact_id.unwrap();
    let p = get_profile(contact).await;
    assert_eq!(p.contact.external_id.as_deref(), Some("user-42"));
    assert_eq!(p.attributes["plan"], "pro");

    // Bo becomes her account manager: her next conversations go to him, whatever the turn.
    let r = post(
        format!("/api/contacts/{contact}/account-manager"),
        serde_json::json!({ "agent": bo_id }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let mut on_other_browsers = Vec::new();
    for device in ["phone", "tablet"] {
        let (ws, id, _) =
            identified_customer(&server, &identity, &format!("Hello from the {device}")).await;
        let mut owner = None;
        while owner != Some(bo_id) {
            owner = assignee_of(&mut ana, id, "sticky assignment").await;
        }
        on_other_browsers.push((ws, id));
    }
    let history: Vec<protocol::ConversationSummary> = client
        .get(format!("{}/api/conversations/{first}/history", server.base))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids: Vec<i64> = history.iter().map(|c| c.id).collect();
    ids.sort();
    assert_eq!(
        ids,
        [on_other_browsers[0].1, on_other_browsers[1].1],
        "earlier conversations span the contact's browsers"
    );

    // A forged identity is refused (and not linked); the same email shows up as a duplicate,
    // which an agent merges.
    let forged = r#""email":"RITA@example.com","user_id":"user-42","user_hash":"00""#;
    let (mut kiosk, kiosk_conv, seen) = identified_customer(&server, forged, "Hi, it is me").await;
    assert!(
        seen.iter().any(|f| matches!(f, ServerFrame::Error { code: protocol::ErrorCode::IdentityNotVerified, message, .. } if message.contains("verified"))),
        "{seen:?}"
    );
    let k = summary_of(
        wait_for(&mut ana, "the kiosk conversation", |f| {
            matches!(f, ServerFrame::Conversation(c) if c.id == kiosk_conv && c.contact_id.is_some())
        })
        .await,
    );
    assert!(!k.contact_verified);
    let duplicate = k.contact_id.unwrap();
    assert_ne!(duplicate, contact);
    let p = get_profile(contact).await;
    assert_eq!(
        p.duplicates.iter().map(|d| d.id).collect::<Vec<_>>(),
        [duplicate]
    );
    // The attacker's contact is offered the verified one as a duplicate too; merging the
    // verified contact into it would hand it the verified identity and her history. Refused.
    let wrong_way = post(
        format!("/api/contacts/{contact}/merge"),
        serde_json::json!({ "into": duplicate }),
    )
    .await
    .unwrap();
    assert_eq!(wrong_way.status(), 409);
    let body: serde_json::Value = wrong_way.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("verified"),
        "{body}"
    );
    let attacker = get_profile(duplicate).await;
    assert_eq!(attacker.contact.id, duplicate, "not merged");
    assert_eq!(attacker.contact.external_id, None, "still unverified");
    assert!(!attacker.conversations.iter().any(|c| c.id == first));
    let r = post(
        format!("/api/contacts/{duplicate}/merge"),
        serde_json::json!({ "into": contact }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let merged: protocol::ContactProfile = r.json().await.unwrap();
    assert!(merged.duplicates.is_empty());
    assert!(merged.conversations.iter().any(|c| c.id == kiosk_conv));
    assert_eq!(
        get_profile(duplicate).await.contact.id,
        contact,
        "the old id resolves"
    );
    let again = post(
        format!("/api/contacts/{duplicate}/merge"),
        serde_json::json!({ "into": contact }),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 409, "already merged");

    // Merged in by an agent, the kiosk browser still has not proved who it is: its
    // conversation is not verified, and it cannot rewrite the verified profile.
    send(
        &mut kiosk,
        r#"{"type":"contact","name":"Mallory","attributes":{"plan":"free"}}"#,
    )
    .await;
    wait_for(&mut kiosk, "saved", |f| {
        matches!(f, ServerFrame::Saved { .. })
    })
    .await;
    let p = get_profile(contact).await;
    assert_eq!(p.contact.name.as_deref(), Some("Rita"));
    assert_eq!(p.attributes["plan"], "pro");
    let kiosk_summary = p.conversations.iter().find(|c| c.id == kiosk_conv).unwrap();
    assert!(!kiosk_summary.contact_verified);
    assert!(
        p.conversations
            .iter()
            .any(|c| c.id == first && c.contact_verified)
    );

    // Without a session or from another origin: refused.
    let anonymous = reqwest::Client::new()
        .get(format!("{}/api/contacts/{contact}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let cross_site = client
        .post(format!(
            "{}/api/contacts/{contact}/account-manager",
            server.base
        ))
        .header("cookie", cookie.clone())
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({ "agent": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
}

#[tokio::test]
async fn a_search_index_lost_new_or_unfinished_is_rebuilt_from_the_database() {
    // Conversations written before the server (and its in-memory search index) existed.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
    let ana = store
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
    let visitor = store.create_visitor("vt-old", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &store::ConversationContext::default(), 1)
        .await
        .unwrap();
    for (i, (agent, body)) in [
        (None, "my zanzibar invoice is wrong"),
        (Some(ana.id), "checking"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .append_message(store::NewMessage {
                conversation_id: conv.id,
                client_id: &format!("m{i}"),
                agent_id: agent,
                body,
                at: 2,
                attachments: &[],
            })
            .await
            .unwrap();
    }
    store
        .add_note(conv.id, ana.id, "n1", "quokka account, handle with care", 3)
        .await
        .unwrap();
    store
        .set_contact(conv.id, Some("Olga Petrova"), None)
        .await
        .unwrap();
    // A search folder left by an older version (or a rebuild cut short): documents but no
    // completion marker. It must be cleared and rebuilt, not trusted.
    let search_dir = dir.path().join("search");
    {
        let stale = server_search::messages::MessageSearch::open(&search_dir).unwrap();
        stale
            .add(
                conv.id,
                server_search::messages::Kind::Message,
                "obsolete wombat",
            )
            .unwrap();
        stale.commit().unwrap();
    }
    let settings = server::Settings {
        search_dir: Some(search_dir.clone()),
        ..server::Settings::default()
    };
    let state = server::AppState::new(Arc::new(store), settings)
        .with_message_search()
        .unwrap();
    // Starting finds the index empty and rebuilds it in the background.
    state.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    let server = Server {
        base: format!("http://{addr}"),
        addr,
        ids: BTreeMap::new(),
        _dir: dir,
    };
    let cookie = cookie(&server, "ana@example.com").await;
    for q in ["zanzibar", "quokka", "petrova"] {
        assert_eq!(
            search_until_found(&server, &cookie, q).await,
            [conv.id],
            "{q}"
        );
    }
    let stale: Vec<protocol::ConversationSummary> = reqwest::Client::new()
        .get(format!("{}/api/conversations/search?q=wombat", server.base))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stale.is_empty(), "the old index was cleared");
    // The rebuild finished: marked, so the next start does not redo it.
    for _ in 0..50 {
        if search_dir.join("rebuilt-from-database").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(search_dir.join("rebuilt-from-database").exists());
}

/// A sign-in client whose connections come from `ip` (any 127.x address reaches the server).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn sign_in(
    server: &Server,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/api/login", server.base))
        .header("origin", server.base.clone())
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_keep_the_agent_out_from_another() {
    let server = start().await;
    let attacker = client_from("127.0.0.2");
    let mut slowed = None;
    for _ in 0..10 {
        let r = sign_in(&server, &attacker, "ana@example.com", "guess").await;
        match r.status().as_u16() {
            401 => {}
            429 => {
                slowed = Some(r);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let slowed = slowed.expect("the guessing address is slowed down");
    let wait: u64 = slowed.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 15 * 60);
    let body: serde_json::Value = slowed.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(
        sign_in(&server, &attacker, "ANA@example.com", "agent-password")
            .await
            .status(),
        429,
        "the same email, whatever its case, waits on the guessing address"
    );
    // The agent, from its own address, is not affected: no lock a stranger can impose.
    assert_eq!(
        sign_in(
            &server,
            &client_from("127.0.0.3"),
            "ana@example.com",
            "agent-password"
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        sign_in(&server, &attacker, "bo@example.com", "agent-password")
            .await
            .status(),
        200,
        "other accounts are not affected on that address"
    );
}

#[tokio::test]
async fn the_delay_of_a_guessing_address_grows_and_then_lets_it_try_again() {
    let server = start().await;
    let client = client_from("127.0.0.4");
    let mut waits = Vec::new();
    while waits.len() < 2 {
        let r = sign_in(&server, &client, "bo@example.com", "guess").await;
        if r.status() == 429 {
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            waits.push(wait);
            tokio::time::sleep(Duration::from_millis(wait * 1000 + 50)).await;
        }
    }
    assert!(waits[1] > waits[0], "the delay grows: {waits:?}");
    assert_eq!(
        sign_in(&server, &client, "bo@example.com", "agent-password")
            .await
            .status(),
        200,
        "after the wait the right password works"
    );
}
