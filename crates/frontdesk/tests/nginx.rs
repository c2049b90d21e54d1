//! Two real `frontdesk serve` processes on one PostgreSQL database and one Redis, behind nginx
//! started from the README's two-node configuration; 24 visitors connected through nginx (spread
//! over both nodes by its round robin, each from its own address as `X-Forwarded-For` says) send
//! messages continuously. Node A is killed with SIGKILL while its visitors have messages stored
//! but not acknowledged, and others not stored yet: nginx closes their sockets, they reconnect
//! through nginx (which passes them to B) with their token and last sequence number and resend
//! what was not acknowledged under the same client ids. In the end every visitor's conversation,
//! in the database and in the agent's view (through nginx, on B), holds each message exactly once
//! under gap-free sequence numbers, and every acknowledgement holds.
//!
//! Needs `FRONTDESK_TEST_DATABASE_URL`, `FRONTDESK_TEST_REDIS_URL` and `FRONTDESK_TEST_NGINX`
//! (`cargo xtask test`).

mod common;

use common::nginx::{Nginx, UPSTREAM_HEADER, served_by};
use futures_util::{SinkExt, StreamExt};
use protocol::ServerFrame;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Store as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PASSWORD: &str = "agent-password";
/// More than the 20 conversations an address may start in an hour: each visitor comes from its
/// own address, named in `X-Forwarded-For` (as a proxy in front of nginx would), which the nodes
/// believe only because nginx, which appends its peer, is in `trusted_proxies`.
const VISITORS: usize = 24;
/// Messages each visitor sends (the default limit is 60 a minute per visitor, resends included).
const MESSAGES: u64 = 30;
/// Node A is killed once every visitor has this many acknowledged.
const BEFORE_KILL: u64 = 8;
/// One new message per visitor every this often (the default frame limit is 40 per 4 s)...
const EVERY: Duration = Duration::from_millis(150);
/// ...with at most this many unacknowledged.
const WINDOW: usize = 4;
/// Messages in each of the two bursts A's visitors send before the kill.
const BURST: u64 = 2;
const DEADLINE: Duration = Duration::from_secs(90);

/// What a visitor knows, shared with the test for the kill and the checks.
#[derive(Default)]
struct Visitor {
    /// The node serving each of its connections, in order, and the nodes nginx tried for it
    /// (`x-frontdesk-upstream`: "A, B" when it tried A first and passed the request to B).
    nodes: Vec<String>,
    tried: Vec<String>,
    /// Connection attempts through nginx that failed (none should: nginx retries on the other).
    failed_connects: u32,
    /// Client id → sequence number, from the acks (every ack of an id must agree).
    acked: BTreeMap<String, u64>,
    conversation: Option<i64>,
    /// Connections lost (closed by nginx when the node died).
    disconnects: u32,
    /// Messages sent again after a reconnection, and how many of those were already stored
    /// (acknowledged under a sequence number the welcome already counted: deduplicated).
    resent: u32,
    resent_stored: u32,
    /// Asked by the test (1, then 2): send `BURST` messages at once, then stop reading the
    /// acknowledgements on this connection: they are lost, as if the node died before sending
    /// them. `burst_done` says which burst was sent.
    burst: u8,
    burst_done: u8,
    /// Acknowledgements that arrived and were ignored (id → sequence number).
    lost: BTreeMap<String, u64>,
    /// The ids of the first burst.
    first_burst: Vec<String>,
}

async fn connect(
    nginx: &str,
    path: &str,
    header: Option<(&'static str, &str)>,
) -> Option<(Ws, String)> {
    let mut req = format!("ws://{nginx}{path}").into_client_request().unwrap();
    req.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{nginx}")).unwrap(),
    );
    if let Some((name, value)) = header {
        req.headers_mut()
            .insert(name, HeaderValue::from_str(value).unwrap());
    }
    let (ws, response) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .ok()?
    .ok()?;
    let upstream = response.headers().get(UPSTREAM_HEADER)?.to_str().ok()?;
    Some((ws, upstream.to_owned()))
}

fn frame(msg: Message) -> Option<ServerFrame> {
    match msg {
        Message::Text(t) => Some(protocol::decode_server(&t).unwrap()),
        _ => None,
    }
}

/// The nodes nginx tried for a request, from `x-frontdesk-upstream`.
fn tried(upstreams: &str) -> Vec<String> {
    upstreams.split(',').map(|s| s.trim().to_owned()).collect()
}

/// A visitor's own state across its connections.
struct Local {
    n: usize,
    started: Instant,
    token: Option<String>,
    /// The highest sequence number acknowledged or received.
    last_seq: u64,
    /// Sent and not acknowledged (id, body), oldest first.
    unacked: VecDeque<(String, String)>,
    /// The number of the next new message.
    next: u64,
    /// This connection ignores acknowledgements (after a burst).
    deaf: bool,
    /// Resent on this connection, with the last sequence number stored at its welcome.
    resent: BTreeMap<String, u64>,
}

/// One visitor: sends `MESSAGES` messages through nginx, reconnecting (token, last sequence
/// number, unacknowledged messages resent with the same ids) whenever its socket closes.
async fn visitor(nginx: String, n: usize, shared: Arc<Mutex<Visitor>>) {
    let mut me = Local {
        n,
        started: Instant::now(),
        token: None,
        last_seq: 0,
        unacked: VecDeque::new(),
        next: 1,
        deaf: false,
        resent: BTreeMap::new(),
    };
    loop {
        assert!(me.started.elapsed() < DEADLINE, "visitor {n} is not done");
        let address = format!("198.51.100.{}", n + 1);
        let forwarded = Some(("x-forwarded-for", address.as_str()));
        let Some((mut ws, upstreams)) = connect(&nginx, "/ws/visitor", forwarded).await else {
            shared.lock().unwrap().failed_connects += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        {
            let mut v = shared.lock().unwrap();
            v.nodes.push(served_by(&upstreams));
            v.tried.push(upstreams);
        }
        if resume(&mut ws, &mut me, &shared).await.is_some() {
            let mut tick = tokio::time::interval(EVERY);
            loop {
                if me.next > MESSAGES && me.unacked.is_empty() {
                    let _ = ws.close(None).await;
                    return;
                }
                tokio::select! {
                    _ = tick.tick() => {
                        if send_due(&mut ws, &mut me, &shared).await.is_none() {
                            break;
                        }
                    }
                    msg = ws.next() => match msg {
                        Some(Ok(msg)) => received(frame(msg), &mut me, &shared),
                        Some(Err(_)) | None => break,
                    },
                }
            }
        }
        shared.lock().unwrap().disconnects += 1;
    }
}

/// Hello (token, last sequence number), welcome, then what was not acknowledged, again, in
/// order. `None` if the connection broke meanwhile.
async fn resume(ws: &mut Ws, me: &mut Local, shared: &Mutex<Visitor>) -> Option<()> {
    let n = me.n;
    let hello = serde_json::json!({
        "type": "hello", "v": 1, "site": "demo", "token": me.token, "last_seq": me.last_seq,
    });
    ws.send(Message::text(hello.to_string())).await.ok()?;
    loop {
        if let Some(ServerFrame::Welcome {
            token, last_seq, ..
        }) = frame(ws.next().await?.ok()?)
        {
            // Everything acknowledged before is still there.
            assert!(
                last_seq >= me.last_seq,
                "visitor {n}: {last_seq} < {}",
                me.last_seq
            );
            me.token = me.token.take().or(token);
            me.resent = me
                .unacked
                .iter()
                .map(|(id, _)| (id.clone(), last_seq))
                .collect();
            break;
        }
    }
    me.deaf = false;
    for (id, body) in &me.unacked {
        let send = serde_json::json!({ "type": "send", "id": id, "body": body });
        ws.send(Message::text(send.to_string())).await.ok()?;
        shared.lock().unwrap().resent += 1;
    }
    Some(())
}

/// A new message when one is due (a burst when the test asks for one). `None` if the
/// connection broke.
async fn send_due(ws: &mut Ws, me: &mut Local, shared: &Mutex<Visitor>) -> Option<()> {
    let n = me.n;
    assert!(
        me.started.elapsed() < DEADLINE,
        "visitor {n}: {:?} never acknowledged",
        me.unacked
    );
    let burst = {
        let v = shared.lock().unwrap();
        (v.burst > v.burst_done).then_some(v.burst)
    };
    let count = match burst {
        Some(_) => BURST,
        None if !me.deaf && me.unacked.len() < WINDOW => 1,
        None => 0,
    };
    for _ in 0..count.min(MESSAGES + 1 - me.next) {
        let i = me.next;
        let (id, body) = (format!("v{n}-m{i}"), format!("visitor {n} message {i}"));
        me.next += 1;
        me.unacked.push_back((id.clone(), body.clone()));
        if burst == Some(1) {
            shared.lock().unwrap().first_burst.push(id.clone());
        }
        let send = serde_json::json!({ "type": "send", "id": id, "body": body });
        ws.send(Message::text(send.to_string())).await.ok()?;
    }
    if let Some(burst) = burst {
        me.deaf = true;
        shared.lock().unwrap().burst_done = burst;
    }
    Some(())
}

fn received(frame: Option<ServerFrame>, me: &mut Local, shared: &Mutex<Visitor>) {
    let n = me.n;
    match frame {
        Some(ServerFrame::Ack { id, seq, .. }) if me.deaf => {
            shared.lock().unwrap().lost.insert(id, seq);
        }
        Some(ServerFrame::Ack {
            id,
            conversation,
            seq,
            ..
        }) => {
            me.unacked.retain(|(u, _)| *u != id);
            me.last_seq = me.last_seq.max(seq);
            let mut v = shared.lock().unwrap();
            if me.resent.get(&id).is_some_and(|&stored| seq <= stored) {
                v.resent_stored += 1;
            }
            let lost = v.lost.get(&id).copied();
            assert!(
                lost.is_none_or(|s| s == seq),
                "visitor {n}: {id} acked as {lost:?}, then {seq}"
            );
            let earlier = v.acked.insert(id.clone(), seq);
            assert!(
                earlier.is_none_or(|s| s == seq),
                "visitor {n}: {id} acked as {earlier:?} and {seq}"
            );
            assert!(v.conversation.is_none_or(|c| c == conversation));
            v.conversation = Some(conversation);
        }
        Some(ServerFrame::Message(m)) if !me.deaf => me.last_seq = me.last_seq.max(m.seq),
        Some(ServerFrame::Error { code, message, .. }) => {
            panic!("visitor {n}: error {code:?}: {message}")
        }
        _ => {}
    }
}

/// Asks `on` for burst `n` and waits until `done` holds for each of them.
async fn burst(
    visitors: &[Arc<Mutex<Visitor>>],
    on: &[usize],
    n: u8,
    done: impl Fn(&Visitor) -> bool,
) {
    for &v in on {
        visitors[v].lock().unwrap().burst = n;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !on.iter().all(|&v| done(&visitors[v].lock().unwrap())) {
        assert!(Instant::now() < deadline, "burst {n} was not sent");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_behind_nginx_lose_nothing_when_a_node_is_killed() {
    let Some(database) = store::conformance::postgres_database("bin_nginx").await else {
        return;
    };
    let Some(redis) = common::redis_url() else {
        return;
    };
    let Ok(nginx_bin) = std::env::var("FRONTDESK_TEST_NGINX") else {
        assert!(std::env::var_os("FRONTDESK_REQUIRE_SERVICES").is_none());
        eprintln!("skipped: FRONTDESK_TEST_NGINX is not set");
        return;
    };
    common::add_admin_ana(&database, PASSWORD);
    // As the README says for nodes behind a proxy: the public origin and the proxy's address.
    let listen = common::nginx::free_addr();
    let public_url = format!("http://{listen}");
    let env = [
        ("FRONTDESK_DATABASE", database.as_str()),
        ("FRONTDESK_REDIS", redis.as_str()),
        ("FRONTDESK_PUBLIC_URL", public_url.as_str()),
        ("FRONTDESK_TRUSTED_PROXIES", "127.0.0.1/32"),
    ];
    let mut a = common::start(&env);
    let b = common::start(&env);
    let nginx = Nginx::start(&nginx_bin, &listen, [&a.addr, &b.addr]);
    // The README's block keeps the nodes' figures off the internet.
    let metrics = reqwest::get(format!("{}/metrics", nginx.base()))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 404, "/metrics through nginx");

    let visitors: Vec<Arc<Mutex<Visitor>>> = (0..VISITORS).map(|_| Arc::default()).collect();
    let tasks: Vec<_> = visitors
        .iter()
        .enumerate()
        .map(|(n, v)| tokio::spawn(visitor(nginx.addr.clone(), n, v.clone())))
        .collect();

    // Every visitor is writing (acks coming back), then node A dies with its sockets open.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !visitors
        .iter()
        .all(|v| v.lock().unwrap().acked.len() as u64 >= BEFORE_KILL)
    {
        assert!(Instant::now() < deadline, "the visitors are not writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let on_a: Vec<usize> = (0..VISITORS)
        .filter(|&n| visitors[n].lock().unwrap().nodes.last() == Some(&a.addr))
        .collect();
    assert!(
        !on_a.is_empty() && on_a.len() < VISITORS,
        "nginx spread the visitors over both nodes: {} of {VISITORS} on A",
        on_a.len()
    );
    // A's visitors send a burst and ignore its acknowledgements once A stored it (as if A died
    // before sending them); then another burst, and A dies at once, most of it not stored.
    burst(&visitors, &on_a, 1, |v| {
        v.burst_done == 1 && v.first_burst.iter().all(|id| v.lost.contains_key(id))
    })
    .await;
    burst(&visitors, &on_a, 2, |v| v.burst_done == 2).await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed_at = Instant::now();
    for task in tasks {
        task.await.unwrap();
    }
    eprintln!(
        "{} visitors on node A when it was killed; all done {:.1} s later",
        on_a.len(),
        killed_at.elapsed().as_secs_f64()
    );

    // A's visitors lost their socket and came back through nginx to B; B's were not disturbed.
    for (n, v) in visitors.iter().enumerate() {
        let v = v.lock().unwrap();
        if on_a.contains(&n) {
            assert!(v.disconnects >= 1, "visitor {n} was on A: {:?}", v.nodes);
            assert_eq!(v.nodes.last(), Some(&b.addr), "visitor {n}: {:?}", v.nodes);
        } else {
            assert_eq!(v.disconnects, 0, "visitor {n} was on B: {:?}", v.nodes);
        }
        assert_eq!(v.acked.len() as u64, MESSAGES, "visitor {n}");
        // Acknowledged under gap-free sequence numbers, one each.
        let mut seqs: Vec<u64> = v.acked.values().copied().collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=MESSAGES).collect::<Vec<_>>(), "visitor {n}");
    }
    // Passive failover: no reconnection failed; nginx tried the dead node for some, and passed
    // them on to B (then left A out of the rotation).
    let failovers = visitors
        .iter()
        .flat_map(|v| v.lock().unwrap().tried.clone())
        .filter(|t| tried(t) == [a.addr.clone(), b.addr.clone()])
        .count();
    let failed: u32 = visitors
        .iter()
        .map(|v| v.lock().unwrap().failed_connects)
        .sum();
    eprintln!("{failovers} reconnections tried A, then went to B");
    assert!(
        failovers >= 1 && failed == 0,
        "{failovers} failovers, {failed} failed connections"
    );
    let resent: u32 = visitors.iter().map(|v| v.lock().unwrap().resent).sum();
    let stored: u32 = visitors
        .iter()
        .map(|v| v.lock().unwrap().resent_stored)
        .sum();
    eprintln!(
        "{resent} messages resent after the kill, {stored} of them already stored (deduplicated)"
    );
    for &n in &on_a {
        let v = visitors[n].lock().unwrap();
        // The first burst was stored on A, its acknowledgements lost: resent, stored once.
        assert!(
            v.resent as u64 >= 2 * BURST,
            "visitor {n} resent {}",
            v.resent
        );
        assert!(
            v.resent_stored as u64 >= BURST,
            "visitor {n}: {}",
            v.resent_stored
        );
    }

    // The database: each conversation holds exactly the acknowledged messages, once each.
    let db = store::PgStore::connect(&database).await.unwrap();
    for (n, v) in visitors.iter().enumerate() {
        let (conversation, acked) = {
            let v = v.lock().unwrap();
            (v.conversation.unwrap(), v.acked.clone())
        };
        let stored = db.messages_after(conversation, 0, 1000).await.unwrap();
        let stored: BTreeMap<u64, (String, String)> = stored
            .into_iter()
            .map(|m| (m.seq, (m.client_id, m.body)))
            .collect();
        assert_eq!(stored.len() as u64, MESSAGES, "visitor {n}: {stored:?}");
        for (id, seq) in &acked {
            let i = id.rsplit_once("-m").unwrap().1;
            assert_eq!(
                stored.get(seq),
                Some(&(id.clone(), format!("visitor {n} message {i}"))),
                "visitor {n}: {id} acked as {seq}"
            );
        }
    }

    // The agent's view, through nginx (on B now): every message of every conversation, once,
    // in order.
    let cookie = {
        let r = reqwest::Client::new()
            .post(format!("{}/api/login", nginx.base()))
            .header("origin", nginx.base())
            .json(&serde_json::json!({ "email": "ana@example.com", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    };
    let (mut agent, upstreams) = connect(&nginx.addr, "/ws/agent", Some(("cookie", &cookie)))
        .await
        .expect("the agent connects through nginx");
    assert_eq!(served_by(&upstreams), b.addr);
    agent
        .send(Message::text(r#"{"type":"hello","v":1}"#))
        .await
        .unwrap();
    let mut seen: BTreeMap<i64, Vec<(u64, String)>> = BTreeMap::new();
    for v in &visitors {
        let conversation = v.lock().unwrap().conversation.unwrap();
        seen.insert(conversation, Vec::new());
        let open =
            serde_json::json!({ "type": "open", "conversation": conversation, "after_seq": 0 });
        agent.send(Message::text(open.to_string())).await.unwrap();
    }
    let until = Instant::now() + Duration::from_secs(20);
    while seen.values().any(|m| (m.len() as u64) < MESSAGES) {
        let left = until.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, agent.next())
            .await
            .expect("the agent receives every message within 20 s")
            .expect("open")
            .expect("no error");
        if let Some(ServerFrame::Message(m)) = frame(msg) {
            seen.get_mut(&m.conversation)
                .expect("a followed conversation")
                .push((m.seq, m.id));
        }
    }
    // Nothing more comes (a duplicate would have a sequence number past the last).
    let extra = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(Ok(msg)) = agent.next().await {
            if let Some(ServerFrame::Message(m)) = frame(msg) {
                return Some(m);
            }
        }
        None
    })
    .await;
    assert!(matches!(extra, Err(_) | Ok(None)), "{extra:?}");
    for (n, v) in visitors.iter().enumerate() {
        let v = v.lock().unwrap();
        let got = &seen[&v.conversation.unwrap()];
        let want: Vec<(u64, String)> = {
            let mut w: Vec<(u64, String)> =
                v.acked.iter().map(|(id, s)| (*s, id.clone())).collect();
            w.sort_unstable();
            w
        };
        assert_eq!(got, &want, "visitor {n}: the agent's view");
    }

    // nginx's access log: A's visitors' sockets were served by A, then by B.
    drop(agent);
    let log = nginx.access_log();
    let by_a = log
        .iter()
        .filter(|(uri, up, status)| {
            uri == "/ws/visitor" && served_by(up) == a.addr && *status == 101
        })
        .count();
    assert_eq!(by_a, on_a.len(), "{log:?}");
}
