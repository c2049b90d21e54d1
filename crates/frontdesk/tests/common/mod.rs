//! Shared by the binary's integration tests: the real `frontdesk` binary, started on
//! 127.0.0.1:0 with a fresh data folder, and its CLI.
#![allow(dead_code)] // each test file uses a part

pub mod nginx;
pub mod ws;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }
}

/// `frontdesk serve` on a free port, with `env` set; returns once it prints its address.
pub fn start(env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, env)
}

pub fn start_in(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
    let (child, addr) = serve(dir.path(), &[], env);
    Server { child, addr, dir }
}

/// `frontdesk serve` on a free port over the data folder `data` (which the caller keeps, e.g.
/// across a restart), with `args` after it and `env` set; returns the child (the caller stops
/// it) and its address once it prints it.
pub fn serve(data: &Path, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// Runs the CLI (`frontdesk ARGS…`) with `stdin`, and panics unless it succeeds.
pub fn cli(args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "frontdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends one raw HTTP/1.1 request (`head` without the `Host` and `Connection` lines, then
/// `body`) to `addr` and returns the response's status code (0 if none came).
pub fn http_status(addr: &str, head: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    // One write of the whole request (formatting straight into the socket writes it piece by
    // piece); a server that answers and closes before reading everything (a refusal) may make
    // the write fail, and its answer is still read.
    let request = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let written = s.write_all(request.as_bytes());
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    if response.is_empty() {
        written.unwrap();
    }
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// `FRONTDESK_TEST_REDIS_URL`, or `None` to skip (failing instead under
/// `FRONTDESK_REQUIRE_SERVICES`).
pub fn redis_url() -> Option<String> {
    match std::env::var("FRONTDESK_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("FRONTDESK_REQUIRE_SERVICES").is_none(),
                "FRONTDESK_TEST_REDIS_URL is not set"
            );
            eprintln!("skipped: FRONTDESK_TEST_REDIS_URL is not set");
            None
        }
    }
}

/// `frontdesk agent add --database URL` for Ana (an admin), password on standard input.
pub fn add_admin_ana(database: &str, password: &str) {
    cli(
        &[
            "agent",
            "add",
            "--database",
            database,
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--admin",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
}
