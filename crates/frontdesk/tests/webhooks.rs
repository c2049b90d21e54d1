//! Webhooks end to end: the real `frontdesk serve` on a SQLite file delivers to a receiver in
//! Python that verifies every request with the independent `standardwebhooks` package and fails
//! the first 3 tries of each. A customer and an agent make conversations over WebSocket; the
//! server is killed (SIGKILL) with deliveries pending and started again. Every event arrives,
//! verified, once (a second success only for a row in flight at the kill), in order per
//! conversation; an endpoint answering 410 is disabled; a replay from the delivery log arrives.
//!
//! Needs `FRONTDESK_TEST_PYTHON`: a Python with `standardwebhooks` (`cargo xtask test` makes
//! it); skipped without, failing instead under `FRONTDESK_REQUIRE_SERVICES`.

mod common;

use common::ws::{Ws, send, wait_for};
use protocol::ServerFrame;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PASSWORD: &str = "agent-password";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> Option<PathBuf> {
    match std::env::var_os("FRONTDESK_TEST_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            assert!(
                std::env::var_os("FRONTDESK_REQUIRE_SERVICES").is_none(),
                "FRONTDESK_TEST_PYTHON is not set"
            );
            eprintln!("skipped: FRONTDESK_TEST_PYTHON is not set (cargo xtask test sets it)");
            None
        }
    }
}

/// The receiver on a free port: (process, port).
fn receiver(python: &Path, log: &Path) -> (Killed, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/webhooks/receiver.py");
    let mut child = Command::new(python)
        .arg(script)
        .args([SECRET, log.to_str().unwrap(), "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("the receiver did not start: {line:?}"))
        .parse()
        .unwrap();
    (Killed(child), port)
}

/// `frontdesk serve` on the data folder `data` with `config`: (process, address).
fn serve(data: &Path, config: &Path) -> (Killed, String) {
    let (child, addr) = common::serve(data, &["--config".as_ref(), config.as_os_str()], &[]);
    (Killed(child), addr)
}

/// The receiver's log: one JSON object per request.
fn log_lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits until `done` holds for the log (30 s at most).
async fn wait_log(log: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let lines = log_lines(log);
        if done(&lines) {
            return lines;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn successes(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|l| l["path"] == "/hooks" && l["status"] == 204)
        .collect()
}

async fn agent(addr: &str, cookie: &str) -> Ws {
    let mut ws = common::ws::connect(addr, "/ws/agent", Some(cookie)).await;
    send(&mut ws, r#"{"type":"hello","v":1}"#).await;
    wait_for(&mut ws, "agent_welcome", |f| {
        matches!(f, ServerFrame::AgentWelcome { .. })
    })
    .await;
    ws
}

/// A customer on site `shop` (resuming with `token`): the socket and its token.
async fn customer(addr: &str, token: Option<&str>) -> (Ws, String) {
    let mut ws = common::ws::connect(addr, "/ws/visitor", None).await;
    let hello = match token {
        Some(t) => format!(r#"{{"type":"hello","v":1,"site":"shop","token":"{t}"}}"#),
        None => r#"{"type":"hello","v":1,"site":"shop"}"#.to_owned(),
    };
    send(&mut ws, &hello).await;
    let ServerFrame::Welcome { token: issued, .. } = wait_for(&mut ws, "welcome", |f| {
        matches!(f, ServerFrame::Welcome { .. })
    })
    .await
    else {
        unreachable!()
    };
    let token = issued.or(token.map(str::to_owned)).unwrap();
    (ws, token)
}

/// Sends a customer message; its conversation.
async fn say(ws: &mut Ws, id: &str, body: &str) -> i64 {
    send(
        ws,
        &format!(r#"{{"type":"send","id":"{id}","body":"{body}"}}"#),
    )
    .await;
    let ServerFrame::Ack { conversation, .. } =
        wait_for(ws, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    conversation
}

async fn admin_get(addr: &str, cookie: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_verified_once_and_in_order_across_a_restart() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("receiver.log");
    let (_receiver, port) = receiver(&python, &log);
    let config = dir.path().join("frontdesk.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[webhooks]
retry_schedule_ms = [100, 200, 300, 300, 300, 300]
timeout_seconds = 2
poll_ms = 50
allow_private_targets = true

[sla]
check_seconds = 0.1
first_response_minutes = {{ urgent = 0.0005 }}

[sites.shop]
name = "Shop"

[[sites.shop.webhooks]]
url = "http://127.0.0.1:{port}/hooks"
secret = "{SECRET}"
events = ["conversation.created", "message.created", "conversation.assigned",
          "conversation.resolved", "conversation.reopened", "csat.submitted",
          "sla.breached", "contact.updated"]

[[sites.shop.webhooks]]
url = "http://127.0.0.1:{port}/gone"
secret = "{SECRET}"
events = ["conversation.created"]
"#
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    common::cli(
        &[
            "agent",
            "add",
            "--data",
            data.to_str().unwrap(),
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );

    // Before the restart: a conversation with the customer's and the agent's messages and the
    // customer's contact details.
    let (server, addr) = serve(&data, &config);
    let (status, cookie) = common::ws::sign_in(&addr, "ana@example.com", PASSWORD).await;
    assert_eq!(status, 200);
    let cookie = cookie.unwrap();
    let mut ana = agent(&addr, &cookie).await;
    let (mut carla, token) = customer(&addr, None).await;
    let c1 = say(&mut carla, "c1", "my invoice is wrong").await;
    send(
        &mut ana,
        &format!(r#"{{"type":"send","id":"a1","conversation":{c1},"body":"let me check"}}"#),
    )
    .await;
    wait_for(
        &mut carla,
        "the agent's reply",
        |f| matches!(f, ServerFrame::Message(m) if m.seq == 2),
    )
    .await;
    say(&mut carla, "c2", "it says 40 instead of 20").await;
    send(
        &mut carla,
        r#"{"type":"contact","name":"Carla","email":"carla@example.com"}"#,
    )
    .await;
    wait_for(&mut carla, "saved", |f| {
        matches!(f, ServerFrame::Saved { .. })
    })
    .await;
    // The 410 endpoint had conversation.created: it is disabled, and gets nothing more.
    let gone = wait_log(&log, "the 410", |l| l.iter().any(|l| l["path"] == "/gone")).await;
    assert_eq!(gone.iter().filter(|l| l["path"] == "/gone").count(), 1);
    // Disabled (a kill before that is recorded may send it again: at least once).
    let start = Instant::now();
    loop {
        let endpoints = admin_get(&addr, &cookie, "/api/webhooks").await;
        let gone = endpoints
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"].as_str().unwrap().ends_with("/gone"));
        if gone.is_some_and(|g| g["disabled_at"].is_i64()) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{endpoints}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Killed with deliveries pending (each takes 4 tries).
    assert!(
        successes(&log_lines(&log)).len() < 5,
        "the restart comes mid-way"
    );
    drop(server);
    let before_restart = log_lines(&log).len();

    // After the restart: resolved, rated, reopened; a second conversation made urgent breaches
    // its first-response target.
    let (_server, addr) = serve(&data, &config);
    let mut ana = agent(&addr, &cookie).await;
    let (mut carla, _) = customer(&addr, Some(&token)).await;
    send(
        &mut ana,
        &format!(r#"{{"type":"resolve","conversation":{c1}}}"#),
    )
    .await;
    wait_for(&mut carla, "resolved", |f| {
        matches!(f, ServerFrame::Status { .. })
    })
    .await;
    send(&mut carla, r#"{"type":"rate","score":2,"comment":"slow"}"#).await;
    wait_for(&mut carla, "rated", |f| {
        matches!(f, ServerFrame::Saved { .. })
    })
    .await;
    send(
        &mut ana,
        &format!(r#"{{"type":"reopen","conversation":{c1}}}"#),
    )
    .await;
    let (mut dan, _) = customer(&addr, None).await;
    let c2 = say(&mut dan, "d1", "hello?").await;
    send(
        &mut ana,
        &format!(r#"{{"type":"set_priority","conversation":{c2},"priority":"urgent"}}"#),
    )
    .await;

    let mut expected: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    expected.insert(
        c1,
        vec![
            "conversation.created",
            "message.created",
            "conversation.assigned",
            "message.created",
            "message.created",
            "conversation.resolved",
            "csat.submitted",
            "conversation.reopened",
        ],
    );
    expected.insert(
        c2,
        vec![
            "conversation.created",
            "message.created",
            "conversation.assigned",
            "sla.breached",
        ],
    );
    let total = expected.values().map(Vec::len).sum::<usize>() + 1; // + contact.updated
    let lines = wait_log(&log, "every event delivered", |l| {
        let mut ids: Vec<&Value> = successes(l).iter().map(|s| &s["id"]).collect();
        ids.sort_by_key(|v| v.to_string());
        ids.dedup();
        ids.len() >= total
    })
    .await;

    // Every request verified; each success after 3 failures of the same id; once each (a
    // second success only for a row that was in flight when the server was killed).
    assert!(lines.iter().all(|l| l["verified"] == true), "{lines:#?}");
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if l["path"] == "/hooks" && l["status"] == 204 {
            assert!(l["attempt"].as_u64().unwrap() >= 4, "{l}");
            by_id.entry(l["id"].as_str().unwrap()).or_default().push(i);
        }
    }
    for (id, at) in &by_id {
        assert!(
            at.len() == 1 || (at.len() == 2 && at[0] < before_restart),
            "{id} delivered {} times",
            at.len()
        );
    }
    assert_eq!(by_id.len(), total);
    // In order per conversation: the first success of each event, by conversation.
    let mut got: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut seqs: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    let mut contacts = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let id = l["id"].as_str().unwrap_or_default();
        if by_id.get(id).is_none_or(|at| at[0] != i) {
            continue;
        }
        let payload = &l["payload"];
        let kind = payload["type"].as_str().unwrap().to_owned();
        assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
        if kind == "contact.updated" {
            contacts.push(payload["data"]["contact"]["email"].clone());
            continue;
        }
        let conversation = payload["data"]["conversation"]["id"].as_i64().unwrap();
        if let Some(seq) = payload["data"]["message"]["seq"].as_u64() {
            seqs.entry(conversation).or_default().push(seq);
        }
        got.entry(conversation).or_default().push(kind);
    }
    // The assignment and the first message are written by two independent steps (routing
    // follows the commit): either order is the server's order, kept.
    for (c, events) in &mut got {
        let want = &expected[c];
        let mut sorted_got = events.clone();
        let mut sorted_want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        sorted_got.sort();
        sorted_want.sort();
        assert_eq!(sorted_got, sorted_want, "conversation {c}: {events:?}");
        assert_eq!(events[0], "conversation.created", "{events:?}");
    }
    let at = |e: &str| got[&c1].iter().position(|g| g == e).unwrap();
    assert!(
        at("conversation.resolved") < at("csat.submitted")
            && at("csat.submitted") < at("conversation.reopened"),
        "{:?}",
        got[&c1]
    );
    assert_eq!(got[&c2].last().map(String::as_str), Some("sla.breached"));
    assert_eq!(seqs[&c1], [1, 2, 3], "messages in order");
    assert_eq!(seqs[&c2], [1]);
    assert_eq!(contacts, [Value::from("carla@example.com")]);

    // The delivery log: everything delivered; the 410 endpoint disabled with its reason.
    let endpoints = admin_get(&addr, &cookie, "/api/webhooks").await;
    let endpoints = endpoints.as_array().unwrap();
    let hooks = endpoints
        .iter()
        .find(|e| e["url"].as_str().unwrap().ends_with("/hooks"))
        .unwrap();
    let gone = endpoints
        .iter()
        .find(|e| e["url"].as_str().unwrap().ends_with("/gone"))
        .unwrap();
    assert!(hooks["disabled_at"].is_null());
    assert!(gone["disabled_at"].is_i64());
    assert!(gone["disabled_reason"].as_str().unwrap().contains("410"));
    assert_eq!(
        log_lines(&log)
            .iter()
            .filter(|l| l["path"] == "/gone")
            .count(),
        1
    );
    let deliveries = admin_get(
        &addr,
        &cookie,
        &format!("/api/webhooks/{}/deliveries", hooks["id"]),
    )
    .await;
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), total);
    for d in deliveries {
        assert_eq!(
            (d["status"].as_str(), d["last_response"].as_u64()),
            (Some("delivered"), Some(204)),
            "{d}"
        );
    }

    // A replay from the log arrives again, same id, verified.
    let replayed = &deliveries[0];
    let response = reqwest::Client::new()
        .post(format!(
            "http://{addr}/api/webhooks/deliveries/{}/replay",
            replayed["id"]
        ))
        .header("cookie", &cookie)
        .header("origin", format!("http://{addr}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let msg_id = format!("msg_{}", replayed["id"]);
    wait_log(&log, "the replay", |l| {
        successes(l)
            .iter()
            .filter(|s| s["id"] == msg_id.as_str())
            .count()
            > by_id[msg_id.as_str()].len()
    })
    .await;
}
