//! The public API against its own OpenAPI document: schemathesis (from PyPI, pinned, in a venv
//! under the target folder) drives a real `frontdesk serve` on 127.0.0.1 (a fresh SQLite data
//! folder, an admin agent and a write token made through the CLI, and a few customers who
//! chatted over the visitor WebSocket, whose conversation and contact ids schemathesis is given
//! most of the time, so the operations reach their success paths and their bodies are checked
//! too) with the token's header, and fails on any server error or any status code, content type
//! or body the document does not describe. The server is killed and its folder removed when the
//! run ends, however it ends.

use crate::util;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The schemathesis release the check is pinned to.
pub const VERSION: &str = "4.32.5";
/// Examples per operation and phase: enough to reach every documented answer, and the whole
/// run stays within a couple of minutes.
const MAX_EXAMPLES: &str = "50";
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance";

/// `schemathesis` in its venv, installed when missing or of another version.
fn ensure() -> anyhow::Result<PathBuf> {
    let venv = util::target_dir()?.join(format!("schemathesis-{VERSION}"));
    let bin = venv.join("bin/schemathesis");
    let installed = util::output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if installed.contains(VERSION) {
        return Ok(bin);
    }
    util::step(&format!(
        "pip install schemathesis=={VERSION} (a venv in the target folder, once)"
    ));
    let make_venv = || util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    if make_venv().is_err() {
        // Debian's python3 ships venv separately.
        util::apt_install(&["python3-venv"])?;
        let _ = std::fs::remove_dir_all(&venv);
        make_venv()?;
    }
    util::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("schemathesis=={VERSION}")),
    )?;
    Ok(bin)
}

/// A run's data folder and server: the server killed and the folder removed on drop, on
/// success, error or panic alike.
struct Run {
    data: PathBuf,
    server: Option<Child>,
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(child) = &mut self.server {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// `frontdesk ARGS…` on `data`, with `stdin` as its input; its standard output.
fn frontdesk(bin: &Path, data: &Path, args: &[&str], stdin: &str) -> anyhow::Result<String> {
    let mut child = Command::new(bin)
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "frontdesk {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts `frontdesk serve` on 127.0.0.1:0 in `run`'s folder; returns its base URL.
fn serve(bin: &Path, run: &mut Run) -> anyhow::Result<String> {
    let child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&run.data)
        // Every request of the run counts, not a bucket's worth (the rate is tested apart).
        .env("FRONTDESK_LIMITS_API_REQUESTS_PER_TOKEN", "0")
        .env("FRONTDESK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let child = run.server.insert(child);
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        // Read to the end so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && let Some(rest) = line.trim().strip_prefix("listening on ") {
                sent = tx.send(rest.to_owned()).is_ok();
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .context("frontdesk serve did not say where it listens within 60 s")
}

/// Customers who chatted (and left their details); the conversations and contacts get ids 1 to
/// `CUSTOMERS`.
const CUSTOMERS: usize = 3;

/// Reads frames until one of `kind` (`"type"`), or fails on an `error` frame.
fn wait_for(
    ws: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
    kind: &str,
) -> anyhow::Result<serde_json::Value> {
    loop {
        let text = match ws.read()? {
            tungstenite::Message::Text(t) => t,
            tungstenite::Message::Close(_) => bail!("the server closed the socket"),
            _ => continue,
        };
        let frame: serde_json::Value = serde_json::from_str(&text)?;
        match frame["type"].as_str() {
            Some(k) if k == kind => return Ok(frame),
            Some("error") => bail!("the server answered {text}"),
            _ => {}
        }
    }
}

/// Customers write and leave their name and email, as the widget does.
fn seed(base: &str) -> anyhow::Result<()> {
    let host = base.trim_start_matches("http://");
    for i in 1..=CUSTOMERS {
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{host}/ws/visitor"
        ))?;
        request
            .headers_mut()
            .insert("origin", base.parse().context("a header value")?);
        let (mut ws, _) = tungstenite::connect(request).context("the visitor WebSocket")?;
        let frames = [
            (
                r#"{"type":"hello","v":1,"site":"demo"}"#.to_owned(),
                "welcome",
            ),
            (
                format!(r#"{{"type":"send","id":"m{i}","body":"Order {i} has not arrived"}}"#),
                "ack",
            ),
            (
                format!(
                    r#"{{"type":"contact","name":"Customer {i}","email":"customer{i}@example.com"}}"#
                ),
                "saved",
            ),
        ];
        for (frame, answer) in frames {
            ws.send(tungstenite::Message::text(frame))?;
            wait_for(&mut ws, answer).with_context(|| format!("customer {i}: {answer}"))?;
        }
        let _ = ws.close(None);
    }
    Ok(())
}

/// Where schemathesis takes ids from, most of the time: the seeded customers' conversations
/// and contacts, and the admin agent (id 1).
fn config_text() -> String {
    let ids: Vec<String> = (1..=CUSTOMERS).map(|i| i.to_string()).collect();
    let ids = ids.join(", ");
    format!(
        "[dictionaries.ids]\nvalues = [{ids}]\n\n[dictionaries.agents]\nvalues = [1]\n\n\
         [parameters]\n\
         \"path.id\" = {{ dictionary = \"ids\", probability = 0.8 }}\n\
         \"body.contact\" = {{ dictionary = \"ids\", probability = 0.8 }}\n\
         \"body.into\" = {{ dictionary = \"ids\", probability = 0.8 }}\n\
         \"body.agent\" = {{ dictionary = \"agents\", probability = 0.8 }}\n"
    )
}

/// Runs the check against the `frontdesk` binary at `bin`.
pub fn run(bin: &Path) -> anyhow::Result<()> {
    let schemathesis = ensure()?;
    util::step(&format!("schemathesis {VERSION} against /api/openapi.json"));
    let data = util::target_dir()?.join(format!("schemathesis-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let mut run = Run { data, server: None };
    frontdesk(
        bin,
        &run.data,
        &[
            "agent",
            "add",
            "--email",
            "api@example.com",
            "--admin",
            "--password-stdin",
        ],
        "schemathesis-password\n",
    )?;
    let token = frontdesk(
        bin,
        &run.data,
        &[
            "token",
            "create",
            "--name",
            "schemathesis",
            "--scope",
            "write",
            "--agent",
            "api@example.com",
        ],
        "",
    )?;
    let token = token.trim().to_owned();
    if !token.starts_with("fdk_") {
        bail!("frontdesk token create printed no token");
    }
    let base = serve(bin, &mut run)?;
    seed(&base)?;
    let config = run.data.join("schemathesis.toml");
    std::fs::write(&config, config_text())?;
    let status = Command::new(&schemathesis)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--wait-for-schema", "30", "--request-timeout", "10"])
        // One worker: hypothesis parses sources with `ast` in each worker thread, which CPython
        // 3.11 before 3.11.9 can fail at ("AST constructor recursion depth mismatch").
        .args(["--workers", "1"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Its cache (`.schemathesis/`) goes with the run's folder.
        .current_dir(&run.data)
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1")
        .status()
        .with_context(|| format!("cannot run {}", schemathesis.display()))?;
    drop(run);
    if !status.success() {
        bail!("schemathesis found answers the API document does not allow ({status})");
    }
    Ok(())
}
