//! The `frontdesk` server under test: a data folder with one agent (created with the CLI), `serve`
//! on 127.0.0.1:0 with every per-client limit off, its memory and open files, and `kill -9`.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub const AGENT_EMAIL: &str = "bench@example.com";
pub const AGENT_PASSWORD: &str = "realtime-bench-password";

/// Every per-client limit off, quiet logs.
const ENV: [(&str, &str); 7] = [
    ("FRONTDESK_LIMITS_NEW_VISITORS_PER_ADDRESS", "0"),
    ("FRONTDESK_LIMITS_NEW_CONVERSATIONS_PER_ADDRESS", "0"),
    ("FRONTDESK_LIMITS_MESSAGES_PER_VISITOR", "0"),
    ("FRONTDESK_LIMITS_SIGN_INS_PER_ADDRESS", "0"),
    ("FRONTDESK_LIMITS_FRAMES_PER_CONNECTION", "0"),
    ("FRONTDESK_LIMITS_CONNECTIONS_PER_ADDRESS", "0"),
    ("FRONTDESK_LOG", "warn"),
];

/// Most log lines kept per server (the rest are only counted).
const KEEP_LOG_LINES: usize = 200;

/// A temporary folder: `data/` for the server, and the folder itself as its working directory
/// (it has no `index/`, so the server builds no knowledge base).
pub struct DataDir {
    root: tempfile::TempDir,
}

impl DataDir {
    /// A fresh, empty data folder.
    pub fn empty() -> anyhow::Result<DataDir> {
        let root = tempfile::Builder::new()
            .prefix("realtime-bench-")
            .tempdir()
            .context("cannot create a temporary folder")?;
        let dir = DataDir { root };
        std::fs::create_dir_all(dir.data())?;
        Ok(dir)
    }

    /// Creates the bench agent with `frontdesk agent add`: in this folder's SQLite database, or
    /// in the PostgreSQL `database`.
    pub fn add_agent(&self, bin: &Path, database: Option<&str>) -> anyhow::Result<()> {
        let mut command = Command::new(bin);
        command.args(["agent", "add", "--data"]).arg(self.data());
        if let Some(url) = database {
            command.args(["--database", url]);
        }
        let mut child = command
            .args([
                "--email",
                AGENT_EMAIL,
                "--name",
                "Bench",
                "--password-stdin",
            ])
            .current_dir(self.root.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        child
            .stdin
            .take()
            .context("no stdin")?
            .write_all(AGENT_PASSWORD.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "`frontdesk agent add` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    pub fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }
}

/// A running `frontdesk serve`. Dropping it kills the process.
pub struct Server {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Log {
    lines: Vec<String>,
    count: usize,
}

impl Server {
    /// Starts the server on a free port of 127.0.0.1 and waits (at most 60 s) for its address.
    /// `flags` go to `serve` after the data folder (`--database URL --redis URL`).
    pub fn start(bin: &Path, dir: &DataDir, flags: &[String]) -> anyhow::Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.data())
            .args(flags)
            .current_dir(dir.root.path())
            .envs(ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        drain(stdout, log.clone(), Some(tx));
        drain(stderr, log.clone(), None);
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = log.lock().expect("log lock");
                bail!(
                    "the server did not print its address within 60 s; its output:\n{}",
                    log.lines.join("\n")
                );
            }
        };
        Ok(Server { child, port, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    }

    /// Open sockets of the server process (its descriptors that are sockets).
    pub fn open_sockets(&self) -> Option<usize> {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid())).ok()?;
        let sockets = fds
            .filter_map(Result::ok)
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count();
        Some(sockets)
    }

    /// `kill -9`: no shutdown, no flush, nothing.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Log lines (warnings and errors, FRONTDESK_LOG=warn) written so far: how many, and the
    /// first few distinct ones.
    pub fn log_summary(&self, distinct: usize) -> (usize, Vec<String>) {
        let log = self.log.lock().expect("log lock");
        let mut seen: Vec<String> = Vec::new();
        for line in &log.lines {
            // Lines differ by timestamp: compare what follows the level.
            let key = line.split_once(' ').map_or(line.as_str(), |(_, rest)| rest);
            let mut key: String = key.chars().take(160).collect();
            // sqlx's slow-statement warnings say how slow at the end of a long line.
            if let Some(elapsed) = line.split_whitespace().find(|w| w.starts_with("elapsed=")) {
                key = format!("{key} … {elapsed}");
            }
            if !seen.iter().any(|s| s == &key) && seen.len() < distinct {
                seen.push(key);
            }
        }
        (log.count, seen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Reads one of the server's output streams to its end on a thread, so the server never blocks
/// on a full pipe. The first `listening on http://127.0.0.1:PORT` line sends PORT on `port`;
/// the startup banner is skipped and every other line is kept in `log`.
fn drain(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<Log>>,
    port: Option<mpsc::Sender<u16>>,
) {
    std::thread::spawn(move || {
        let mut port = port;
        let mut banner = port.is_some();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = strip_ansi(&line);
            if let Some(tx) = &port
                && let Some(rest) = line.trim().strip_prefix("listening on http://")
            {
                if let Some(p) = rest.rsplit(':').next().and_then(|p| p.parse().ok()) {
                    let _ = tx.send(p);
                }
                port = None;
                continue;
            }
            if banner && (line.starts_with("  ") || line.trim().is_empty()) {
                continue;
            }
            banner = false;
            let mut log = log.lock().expect("log lock");
            log.count += 1;
            if log.lines.len() < KEEP_LOG_LINES {
                log.lines.push(line);
            }
        }
    });
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ … final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `n` KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// User plus system CPU time of a process so far, in seconds (`/proc/PID/stat`, 100 ticks/s).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')' (0-based 11, 12).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
