//! `frontdesk contact find | export | delete` against a running server's data folder: the real
//! binary and CLI, a real customer socket. The CLI's erasure reaches the running server (the
//! customer's socket is closed, the search forgets), and the export file is owner-only.

mod common;

use futures_util::{SinkExt, StreamExt};
use protocol::{ContactExport, ServerFrame};
use std::process::Command;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next frame, or the close code.
async fn next(ws: &mut Ws) -> Result<ServerFrame, Option<u16>> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a frame within 20 s")
        {
            Some(Ok(Message::Text(t))) => return Ok(protocol::decode_server(&t).unwrap()),
            Some(Ok(Message::Close(f))) => return Err(f.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            _ => return Err(None),
        }
    }
}

async fn wait_for(ws: &mut Ws, pred: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let f = next(ws).await.expect("open");
        if pred(&f) {
            return f;
        }
    }
}

/// Runs the CLI and returns (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_export_and_delete_a_contact_from_the_cli_while_the_server_runs() {
    let server = common::start(&[]);
    let data = server.data().to_str().unwrap().to_owned();
    let mut req = format!("ws://{}/ws/visitor", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&server.base()).unwrap());
    let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
    ws.send(Message::text(r#"{"type":"hello","v":1,"site":"demo"}"#))
        .await
        .unwrap();
    wait_for(&mut ws, |f| matches!(f, ServerFrame::Welcome { .. })).await;
    ws.send(Message::text(
        r#"{"type":"send","id":"m1","body":"my parcel 77-CLI-SECRET is lost"}"#,
    ))
    .await
    .unwrap();
    wait_for(&mut ws, |f| matches!(f, ServerFrame::Ack { .. })).await;
    ws.send(Message::text(
        r#"{"type":"contact","name":"Clia Cli","email":"Clia@Example.org"}"#,
    ))
    .await
    .unwrap();
    wait_for(&mut ws, |f| matches!(f, ServerFrame::Saved { .. })).await;

    // Found by email, whatever its case.
    let (ok, out, err) = run(&[
        "contact",
        "find",
        "--data",
        &data,
        "--site",
        "demo",
        "--email",
        "clia@example.org",
    ]);
    assert!(ok, "{err}");
    let id: i64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(out.contains("Clia Cli"), "{out}");
    let (ok, _, err) = run(&[
        "contact",
        "find",
        "--data",
        &data,
        "--site",
        "demo",
        "--email",
        "nobody@example.org",
    ]);
    assert!(!ok && err.contains("no contact"), "{err}");

    // Exported to a file only its owner can read.
    let file = server.data().join("clia.json");
    let (ok, _, err) = run(&[
        "contact",
        "export",
        "--data",
        &data,
        &id.to_string(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let export: ContactExport =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(export.contact.name.as_deref(), Some("Clia Cli"));
    assert_eq!(
        export.conversations[0].messages[0].body,
        "my parcel 77-CLI-SECRET is lost"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (ok, stdout, _) = run(&["contact", "export", "--data", &data, &id.to_string()]);
    assert!(ok && stdout.contains("77-CLI-SECRET"));

    // Deleting asks for --yes, then erases; the running server closes the customer's socket.
    let (ok, _, err) = run(&["contact", "delete", "--data", &data, &id.to_string()]);
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, out, err) = run(&[
        "contact",
        "delete",
        "--data",
        &data,
        &id.to_string(),
        "--yes",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("1 conversations"), "{out}");
    loop {
        match next(&mut ws).await {
            Ok(_) => continue,
            Err(code) => {
                assert_eq!(code, Some(1012), "closed with reconnect");
                break;
            }
        }
    }
    let (ok, _, err) = run(&["contact", "export", "--data", &data, &id.to_string()]);
    assert!(!ok && err.contains(&format!("no contact {id}")), "{err}");
    let (ok, _, err) = run(&[
        "contact",
        "delete",
        "--data",
        &data,
        &id.to_string(),
        "--yes",
    ]);
    assert!(!ok && err.contains("no contact"), "{err}");
}
