//! The binary as an operator runs it: it logs (a workspace build once compiled logging out of
//! the server through the widget's size features), and it raises its open-files limit.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_server_logs_info_lines_and_raises_its_open_files_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("FRONTDESK_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let found = loop {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break None;
        };
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("INFO") && line.contains("open files limit") => {
                break Some(line);
            }
            Ok(line) => seen.push(line),
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let line =
        found.unwrap_or_else(|| panic!("no INFO line about the open files limit in {seen:?}"));
    assert!(!line.contains("could not"), "{line}");
}

#[test]
fn out_of_file_descriptors_is_logged_and_refused_not_left_hanging() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    // A hard limit of 64 open files, which the server cannot raise.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec '{}' serve --listen 127.0.0.1:0 --data '{}'",
            env!("CARGO_BIN_EXE_frontdesk"),
            dir.path().display()
        ))
        .env("FRONTDESK_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = out.next().expect("the address").unwrap();
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in out {});
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // A server that has started: its start-up work (the search index's first build) is done.
    let ready = std::time::Instant::now();
    while !get(&addr, "/readyz").starts_with("HTTP/1.1 200")
        || !dir.path().join("search/rebuilt-from-database").exists()
    {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "the server never became ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Hold more connections than the server has descriptors for.
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(s) = std::net::TcpStream::connect(&addr) {
            held.push(s);
        }
    }
    // One more: answered with 503 at once, not left hanging until the held connections' header
    // timeout (10 s) frees descriptors.
    let asked = std::time::Instant::now();
    let mut late = std::net::TcpStream::connect(&addr).unwrap();
    late.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = late.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = String::new();
    let _ = late.read_to_string(&mut answer);
    let waited = asked.elapsed();
    let mut lines = Vec::new();
    let logged = (0..50).find_map(|_| {
        rx.recv_timeout(Duration::from_millis(200))
            .ok()
            .inspect(|l| lines.push(l.clone()))
            .filter(|l| l.contains("out of file descriptors"))
    });
    let _ = child.kill();
    let _ = child.wait();
    lines.extend(rx.try_iter());
    assert!(
        answer.starts_with("HTTP/1.1 503") && waited < Duration::from_secs(5),
        "refused with 503 at once, got {answer:?} after {waited:?}; the server said {lines:#?}"
    );
    assert!(logged.is_some(), "a clear log line");
}

/// The raw answer to `GET path` on a fresh connection ("" when it fails).
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

/// `frontdesk serve --config FILE`; returns the server's base URL and the child.
fn serve_with_config(dir: &std::path::Path, config: &str) -> (String, std::process::Child) {
    let file = dir.join("frontdesk.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .arg("--config")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the address").unwrap();
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (base, child)
}

/// The status of a GET.
fn status(url: &str) -> u16 {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    common::http_status(host, &format!("GET /{path} HTTP/1.1"), "")
}

#[test]
fn the_demo_site_and_page_are_off_once_real_sites_are_configured() {
    let site = "[sites.shop]\nname = \"Shop\"\n";
    let dir = tempfile::tempdir().unwrap();
    let (base, mut child) = serve_with_config(dir.path(), site);
    let (demo_page, demo_site, shop) = (
        status(&format!("{base}/demo")),
        status(&format!("{base}/api/sites/demo")),
        status(&format!("{base}/api/sites/shop")),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((demo_page, demo_site, shop), (404, 404, 200));

    let dir = tempfile::tempdir().unwrap();
    let (base, mut child) =
        serve_with_config(dir.path(), &format!("{site}[demo]\nenabled = true\n"));
    let demo_site = status(&format!("{base}/api/sites/demo"));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(demo_site, 200, "switched on explicitly");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("FRONTDESK_LOG", "info")
        .env("FRONTDESK_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let first = BufReader::new(stderr).lines().next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let line: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("not JSON ({e}): {first}"));
    assert_eq!(line["level"], "INFO", "{line}");
    assert!(
        line["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{line}"
    );
    assert!(line["timestamp"].is_string(), "{line}");
    let bad = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("FRONTDESK_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("json or text"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_customers_write_is_consistent() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::protocol::Message;
    // Per-visitor and per-connection limits off: this one customer writes fast on purpose.
    let server = common::start(&[
        ("FRONTDESK_LIMITS_MESSAGES_PER_VISITOR", "0"),
        ("FRONTDESK_LIMITS_FRAMES_PER_CONNECTION", "0"),
    ]);
    // Customers keep writing while the backup runs.
    let addr = server.addr.clone();
    let writer = tokio::spawn(async move {
        let mut req = format!("ws://{addr}/ws/visitor")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("origin", format!("http://{addr}").parse().unwrap());
        let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
        ws.send(Message::text(r#"{"type":"hello","v":1,"site":"demo"}"#))
            .await
            .unwrap();
        for i in 0..2000 {
            ws.send(Message::text(format!(
                r#"{{"type":"send","id":"m{i}","body":"message {i}"}}"#
            )))
            .await
            .unwrap();
        }
        let mut acks = 0;
        while acks < 2000 {
            let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .expect("acks keep coming");
            if let Some(Ok(Message::Text(t))) = frame {
                assert!(!t.contains("\"error\""), "{t}");
                if t.contains("\"ack\"") {
                    acks += 1;
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let copy = server.data().join("copy.db");
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["backup", "--data"])
        .arg(server.data())
        .arg("--to")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("integrity ok"), "{said}");
    writer.await.unwrap();
    // The copy is one snapshot: its conversation's counter and messages agree, gap-free (a
    // copy made page by page while the group commit writes would tear them apart).
    let messages: u64 = said
        .split(", ")
        .find_map(|p| p.strip_suffix(" messages").and_then(|n| n.parse().ok()))
        .unwrap();
    use store::Store;
    let copied = store::SqliteStore::open(&copy).await.unwrap();
    let conversations = copied.conversations_since(0, 10).await.unwrap();
    let mut total = 0;
    for c in &conversations {
        let seqs: Vec<u64> = copied
            .messages_after(c.id, 0, 10_000)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, (1..=c.last_seq).collect::<Vec<u64>>(), "{said}");
        total += seqs.len() as u64;
    }
    assert_eq!(total, messages, "{said}");
    assert!(messages <= 2000, "{said}");
    copied.close().await;
    let again = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["backup", "--data"])
        .arg(server.data())
        .arg("--to")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success(), "never overwrites");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}

#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    // `frontdesk index check … | head -0`: the reader is gone before the command writes.
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../../index");
    let built = tempfile::tempdir().unwrap();
    let built = built.path().to_str().unwrap();
    common::cli(&["index", "build", "--source", source, "--out", built], "");
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    for args in [
        vec!["index", "check", "--source", source],
        vec!["index", "search", "--index", built, "refund"],
        vec!["insights", "gaps", "--data", data, "--kb", source],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
    }
}

/// `frontdesk insights gaps` reads the searches from the database: queries enough visitors
/// asked, as text and JSON; rare ones hidden; the knowledge base's articles no search showed.
#[tokio::test]
async fn insights_gaps_lists_what_enough_visitors_asked() {
    use store::{SearchEvent, SqliteStore, Store};
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    let shown = ["en/reset-password".to_owned()];
    let event = |key: &'static str, query: &'static str, at: i64| SearchEvent {
        site: "demo",
        language: "en",
        query,
        visitor_key: key,
        results: 0,
        shown: &[],
        opened: None,
        helpful: None,
        handoff: false,
        at,
    };
    for key in ["a", "b", "c"] {
        store
            .record_search(&event(key, "cancel my plan", now - 1_000))
            .await
            .unwrap();
        store
            .record_search(&SearchEvent {
                results: 1,
                shown: &shown,
                ..event(key, "forgot password", now - 1_000)
            })
            .await
            .unwrap();
    }
    store
        .record_search(&event("a", "only me", now - 1_000))
        .await
        .unwrap();
    // Asked long ago by three more visitors: outside a 12-hour period, inside 30 days.
    for key in ["d", "e", "f"] {
        store
            .record_search(&event(key, "vat rates", now - 5 * 86_400_000))
            .await
            .unwrap();
    }
    store.close().await;
    let data = dir.path().to_str().unwrap();
    let kb = concat!(env!("CARGO_MANIFEST_DIR"), "/../../index");

    let json = common::cli(
        &[
            "insights", "gaps", "--data", data, "--kb", kb, "--format", "json",
        ],
        "",
    );
    let report: protocol::reports::Gaps = serde_json::from_str(&json).unwrap();
    let queries = |list: &[protocol::reports::GapQuery]| {
        list.iter()
            .map(|q| format!("{} {}/{}", q.query, q.searches, q.visitors))
            .collect::<Vec<_>>()
    };
    assert_eq!(report.min_visitors, 3);
    assert_eq!(
        queries(&report.no_result),
        ["cancel my plan 3/3", "vat rates 3/3"]
    );
    assert_eq!(queries(&report.top_searches).len(), 3, "{json}");
    assert!(!json.contains("only me"), "{json}");
    assert!(
        report
            .never_shown
            .contains(&"en/cancel-subscription".to_owned())
            && !report.never_shown.contains(&"en/reset-password".to_owned()),
        "{:?}",
        report.never_shown
    );

    let text = common::cli(
        &[
            "insights", "gaps", "--data", data, "--since", "12h", "--site", "demo",
        ],
        "",
    );
    assert!(
        text.contains("site demo; queries asked by at least 3 visitors"),
        "{text}"
    );
    assert!(text.contains("cancel my plan"), "{text}");
    assert!(!text.contains("vat rates"), "12 hours leave it out: {text}");
    assert!(!text.contains("only me"), "{text}");

    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["insights", "gaps", "--data", data, "--since", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a duration like 30d"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `frontdesk report` reads the database directly: a summary, the JSON report and one CSV row
/// per conversation; bad input is a clear error; a closed pipe ends it quietly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_printed_from_the_database() {
    use store::{ConversationContext, NewMessage, SqliteStore, Status, Store};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    common::cli(
        &[
            "agent",
            "add",
            "--data",
            &data,
            "--email",
            "ana@example.com",
            "--password-stdin",
        ],
        "a-long-password\n",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let store = SqliteStore::open(&dir.path().join("frontdesk.db"))
        .await
        .unwrap();
    let ana = store.list_agents().await.unwrap()[0].id;
    for (i, rating) in [(1, 5u8), (2, 1)] {
        let t = now - 3_600_000 * i;
        let v = store
            .create_visitor(&format!("v{i}"), "demo", t)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&v, &ConversationContext::default(), t)
            .await
            .unwrap();
        for (client_id, agent_id, at) in [("q", None, t), ("a", Some(ana), t + 120_000)] {
            store
                .append_message(NewMessage {
                    conversation_id: c.id,
                    client_id,
                    agent_id,
                    body: "Where, \"exactly\", is my parcel?",
                    at,
                    attachments: &[],
                })
                .await
                .unwrap();
        }
        store
            .set_status(c.id, Status::Resolved, t + 600_000)
            .await
            .unwrap();
        store.rate(c.id, rating, None).await.unwrap();
    }
    store.close().await;

    let text = common::cli(&["report", "--data", &data, "--since", "7d"], "");
    assert!(text.contains("conversations"), "{text}");
    assert!(
        text.contains("first response, median") && text.contains("2 min"),
        "{text}"
    );
    assert!(text.contains("50.0 %"), "CSAT: {text}");
    let csv = common::cli(&["report", "--data", &data, "--format", "csv"], "");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].ends_with(",\"Where, \"\"exactly\"\", is my parcel?\""),
        "{csv}"
    );
    let json = common::cli(&["report", "--data", &data, "--format", "json"], "");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["report"]["current"]["conversations"], 2);
    assert_eq!(value["lists"]["top_questions"][0]["count"], 2);
    let rated = common::cli(
        &[
            "report", "--data", &data, "--drill", "rating:1", "--format", "csv",
        ],
        "",
    );
    assert_eq!(rated.lines().count(), 2, "{rated}");

    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["report", "--data", &data, "--since", "3y"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["report", "--data", &data, "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.success(),
        "{stderr}"
    );
}
