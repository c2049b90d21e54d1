//! Debian's nginx (`FRONTDESK_TEST_NGINX`) in front of test nodes, run from the README's two-node
//! configuration (the block between the `nginx-two-nodes` markers), so the configuration the
//! README ships is the one tested. The same substitutions as `tests/e2e/cluster.mjs`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The response header the tests' nginx adds: the node(s) it tried, the serving one last.
pub const UPSTREAM_HEADER: &str = "x-frontdesk-upstream";

/// nginx running in the foreground in its own process group; dropping it stops the group.
pub struct Nginx {
    child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

/// The README's nginx block, as shipped.
pub fn readme_block() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let begin = "<!-- nginx-two-nodes:begin -->\n```nginx\n";
    let start = readme
        .find(begin)
        .expect("README.md has the nginx-two-nodes block")
        + begin.len();
    let end = start
        + readme[start..]
            .find("```\n<!-- nginx-two-nodes:end -->")
            .expect("the block ends");
    readme[start..end].to_owned()
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    let n = text.matches(from).count();
    assert_eq!(n, 1, "the README's nginx block should have {from:?} once");
    text.replacen(from, to, 1)
}

/// The README's block for this machine (the nodes' addresses instead of the examples, plain
/// HTTP on `listen` instead of TLS, the certificate lines dropped) inside a main configuration
/// whose files all live in `dir`, with an access log of which node served each request and the
/// same in a response header (the access log is written only when a WebSocket closes).
pub fn config(dir: &Path, listen: &str, nodes: [&str; 2]) -> String {
    let block = readme_block();
    let block = replace_once(&block, "10.0.0.11:8080", nodes[0]);
    let block = replace_once(&block, "10.0.0.12:8080", nodes[1]);
    let block = replace_once(&block, "listen 443 ssl;", &format!("listen {listen};"));
    let is_tls = |l: &str| {
        let l = l.trim_start();
        l.starts_with("ssl_certificate ") || l.starts_with("ssl_certificate_key ")
    };
    assert_eq!(block.lines().filter(|l| is_tls(l)).count(), 2);
    let block: Vec<&str> = block.lines().filter(|l| !is_tls(l)).collect();
    let dir = dir.display();
    format!(
        "# Test-only main configuration around the README's block.
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format upstreams '$request_uri|$upstream_addr|$status';
    access_log {dir}/access.log upstreams;
    add_header X-Frontdesk-Upstream $upstream_addr always;

    # ---- README.md, nginx-two-nodes ----
{}
}}
",
        block.join("\n")
    )
}

impl Nginx {
    /// Starts `bin` on a free port of 127.0.0.1 in front of `nodes`; returns once it accepts.
    pub fn start(bin: &str, listen: &str, nodes: [&str; 2]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        // Run as root, nginx's workers (nobody) use the temp folders inside.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), listen, nodes)).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        let mut nginx = Nginx {
            child,
            addr: listen.to_owned(),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(listen).is_err() {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                panic!("nginx exited ({status}): {}", nginx.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx does not accept on {listen}: {}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// `(request_uri, upstream_addr, status)` of each finished request, oldest first.
    pub fn access_log(&self) -> Vec<(String, String, u16)> {
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut parts = l.split('|');
                let (uri, upstream, status) = (parts.next()?, parts.next()?, parts.next()?);
                Some((uri.into(), upstream.into(), status.parse().ok()?))
            })
            .collect()
    }
}

use std::os::unix::process::CommandExt as _;

impl Drop for Nginx {
    fn drop(&mut self) {
        // The master and its workers: the whole process group.
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }
}

/// The node that served a response, from the `x-frontdesk-upstream` value ("a, b": tried a,
/// then b).
pub fn served_by(upstreams: &str) -> String {
    upstreams
        .rsplit(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A port free on 127.0.0.1 when asked.
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}
