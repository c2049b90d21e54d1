//! Real servers for the tests: a private PostgreSQL and a private Redis, each on a free port of
//! 127.0.0.1 with its files in a fresh temp folder (never the system services), and the path of
//! Debian's nginx for the tests that start their own. Missing Debian packages are installed.
//!
//! [`start`] returns a guard: dropping it (end of `cargo xtask test`, an error, a panic) stops
//! PostgreSQL (`pg_ctl stop -m fast`, then SIGKILL) and Redis and removes the folder. A small
//! watchdog shell, reading a pipe only xtask holds, does the same if xtask dies without dropping
//! it (Ctrl-C, kill): the pipe closes with the process, whatever killed it.
//!
//! A variable already set (`FRONTDESK_TEST_DATABASE_URL`, `FRONTDESK_TEST_REDIS_URL`,
//! `FRONTDESK_TEST_NGINX`) is used as is: nothing is installed or started for that one.

use crate::util;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DATABASE_URL: &str = "FRONTDESK_TEST_DATABASE_URL";
pub const REDIS_URL: &str = "FRONTDESK_TEST_REDIS_URL";
pub const NGINX: &str = "FRONTDESK_TEST_NGINX";

/// How long a server may take to answer after it was started.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// Starts on a port another process took between our probe and the server's bind.
const PORT_ATTEMPTS: u32 = 5;
/// The role and database the tests get; the role may create more databases.
const ROLE: &str = "frontdesk";
const DATABASE: &str = "frontdesk_test";
/// PostgreSQL refuses to run as root: as root the cluster belongs to this user.
const PG_USER: &str = "postgres";

/// The running services; dropping it stops them.
pub struct Services {
    pub database_url: String,
    pub redis_url: String,
    pub nginx: PathBuf,
    dir: Option<PathBuf>,
    postgres: Option<Postgres>,
    redis: Option<Child>,
    watchdog: Option<Child>,
}

/// A cluster in the temp folder, run by `user` (None: by whoever runs xtask, when not root).
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    user: Option<&'static str>,
}

/// `cargo xtask services`: start them, print the exports, wait for Ctrl-C or the end of stdin.
pub fn command() -> anyhow::Result<()> {
    let services = start()?;
    for (name, value) in services.env() {
        println!("export {name}={}", shell_quote(&value));
    }
    // The tests' Python (the webhook receiver's verifier, the email tests' SMTP server).
    let python = crate::util::ensure_python_venv()?;
    println!(
        "export FRONTDESK_TEST_PYTHON={}",
        shell_quote(&python.display().to_string())
    );
    eprintln!("\nxtask: services running; Ctrl-C or end of input (Ctrl-D) stops them");
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
    drop(services);
    Ok(())
}

/// Installs what is missing, starts PostgreSQL and Redis (unless their variables are set),
/// waits until each answers and checks them with a query and a PING.
pub fn start() -> anyhow::Result<Services> {
    start_given(Given {
        database: given(DATABASE_URL),
        redis: given(REDIS_URL),
        nginx: given(NGINX),
        want_nginx: true,
    })
}

/// The value of the variable `name`, when set and not empty.
pub fn given(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// What is already there (used as is, nothing started for it), and whether nginx is wanted.
pub struct Given {
    pub database: Option<String>,
    pub redis: Option<String>,
    pub nginx: Option<String>,
    pub want_nginx: bool,
}

/// `start` with the given services instead of the variables' (`cargo xtask bench realtime`
/// passes its `--database` and `--redis`, and needs no nginx).
pub fn start_given(given: Given) -> anyhow::Result<Services> {
    let started = Instant::now();
    let Given {
        database: given_db,
        redis: given_redis,
        nginx: given_nginx,
        want_nginx,
    } = given;

    let mut missing = Vec::new();
    if given_db.is_none() && postgres_bin().is_none() {
        missing.push("postgresql");
    }
    if given_redis.is_none() && find_program("redis-server").is_none() {
        missing.push("redis-server");
    }
    if want_nginx && given_nginx.is_none() && find_program("nginx").is_none() {
        missing.push("nginx");
    }
    if !missing.is_empty() {
        util::apt_install(&missing)?;
    }

    let mut services = Services {
        database_url: String::new(),
        redis_url: String::new(),
        nginx: PathBuf::new(),
        dir: None,
        postgres: None,
        redis: None,
        watchdog: None,
    };
    if given_db.is_none() || given_redis.is_none() {
        let dir = temp_folder()?;
        services.dir = Some(dir.clone());
        services.watchdog = Some(watchdog(&dir)?);
    }

    services.database_url = match given_db {
        Some(url) => {
            util::step(&format!(
                "PostgreSQL: {} (from {DATABASE_URL})",
                redacted(&url)
            ));
            match postgres_bin()
                .map(|b| b.join("psql"))
                .or_else(|| find_program("psql"))
            {
                Some(psql) => check_database(&psql, &url)?,
                None => eprintln!("(no psql on this machine: not checked)"),
            }
            url
        }
        None => services.start_postgres()?,
    };

    services.redis_url = match given_redis {
        Some(url) => {
            util::step(&format!("Redis: {url} (from {REDIS_URL})"));
            redis_ping(&url, Duration::from_secs(5))
                .with_context(|| format!("{REDIS_URL}={url} does not answer PING"))?;
            url
        }
        None => services.start_redis()?,
    };

    if want_nginx {
        services.nginx = match given_nginx {
            Some(path) => PathBuf::from(path),
            None => find_program("nginx").context("nginx is still missing after installing it")?,
        };
        util::step(&format!(
            "nginx: {} (not started)",
            services.nginx.display()
        ));
    }
    eprintln!(
        "test services ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(services)
}

impl Services {
    /// The variables the test processes get.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (DATABASE_URL, self.database_url.clone()),
            (REDIS_URL, self.redis_url.clone()),
            (NGINX, self.nginx.display().to_string()),
        ]
    }

    fn dir(&self) -> &Path {
        self.dir.as_deref().expect("the temp folder exists")
    }

    fn start_postgres(&mut self) -> anyhow::Result<String> {
        let bin = postgres_bin().context("PostgreSQL is still missing after installing it")?;
        let dir = self.dir().to_path_buf();
        let user = if util::is_root() {
            let (uid, gid) = ensure_user(PG_USER)?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .with_context(|| format!("cannot chown {} to {PG_USER}", dir.display()))?;
            Some(PG_USER)
        } else {
            None
        };
        let pg = Postgres {
            data: dir.join("pg"),
            bin,
            user,
        };
        let version = pg
            .bin
            .parent()
            .and_then(Path::file_name)
            .map_or_else(|| "?".into(), |v| v.to_string_lossy().into_owned());
        util::step(&format!(
            "PostgreSQL {version}: initdb in {}",
            pg.data.display()
        ));
        // --no-sync only skips initdb's own flush of the fresh (throwaway) cluster; the server
        // runs with fsync on, as durability tests need.
        util::output(
            pg.command("initdb")
                .arg("-D")
                .arg(&pg.data)
                .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
                .args(["--auth-local=trust", "--auth-host=scram-sha-256"]),
        )
        .context("initdb failed")?;
        let conf = pg.data.join("postgresql.conf");
        let mut main = std::fs::OpenOptions::new().append(true).open(&conf)?;
        writeln!(main, "\ninclude 'frontdesk.conf'")?;
        self.postgres = Some(pg);
        let pg = self.postgres.as_ref().expect("just set");

        let log = dir.join("postgres.log");
        let mut port = 0;
        for attempt in 1..=PORT_ATTEMPTS {
            port = free_port()?;
            let settings = format!(
                "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
                 fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n\
                 max_connections = 200\n",
                dir.display()
            );
            let file = pg.data.join("frontdesk.conf");
            std::fs::write(&file, settings)?;
            if let Some(user) = pg.user {
                let (uid, gid) = ensure_user(user)?;
                std::os::unix::fs::chown(&file, Some(uid), Some(gid))?;
            }
            let wait = READY_WITHIN.as_secs().to_string();
            let started = pg
                .command("pg_ctl")
                .args(["start", "-w", "-t", &wait, "-D"])
                .arg(&pg.data)
                .arg("-l")
                .arg(&log)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("cannot run pg_ctl")?
                .success();
            if started {
                break;
            }
            let tail = log_tail(&log);
            if attempt < PORT_ATTEMPTS && port_taken(&tail) {
                eprintln!("port {port} was taken meanwhile, trying another");
                continue;
            }
            bail!(
                "PostgreSQL did not start (or answer within {} s); {} ends with:\n{tail}",
                READY_WITHIN.as_secs(),
                log.display()
            );
        }

        // As the superuser, over the unix socket (trust): the tests' role and database.
        let password = random_hex(16)?;
        util::output(
            Command::new(pg.bin.join("psql"))
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres"])
                .args(["-d", "postgres", "-p", &port.to_string(), "-h"])
                .arg(&dir)
                .arg("-c")
                .arg(format!(
                    "CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{password}'"
                ))
                .arg("-c")
                .arg(format!("CREATE DATABASE {DATABASE} OWNER {ROLE}")),
        )
        .context("cannot create the tests' role and database")?;
        let url = format!("postgres://{ROLE}:{password}@127.0.0.1:{port}/{DATABASE}");
        // What the tests will do: TCP, password (scram-sha-256), a query.
        check_database(&pg.bin.join("psql"), &url)?;
        util::step(&format!("PostgreSQL {version}: {}", redacted(&url)));
        Ok(url)
    }

    fn start_redis(&mut self) -> anyhow::Result<String> {
        let redis = find_program("redis-server").context("redis-server is missing")?;
        let dir = self.dir().to_path_buf();
        let log = dir.join("redis.log");
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port()?;
            let conf = dir.join("redis.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode yes\ndaemonize no\n\
                     supervised no\nsave \"\"\nappendonly no\ndir {dir}\nlogfile \"\"\n\
                     pidfile {pid}\n",
                    dir = dir.display(),
                    pid = dir.join("redis.pid").display(),
                ),
            )?;
            // Its log on stdout, with what it says before reading the config, in one file.
            let out = std::fs::File::create(&log)?;
            let mut child = Command::new(&redis)
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                // Its own process group: a Ctrl-C in the terminal is for xtask, which stops it.
                .process_group(0)
                .spawn()
                .with_context(|| format!("cannot run {}", redis.display()))?;
            let url = format!("redis://127.0.0.1:{port}");
            let deadline = Instant::now() + READY_WITHIN;
            let outcome = loop {
                if let Some(status) = child.try_wait()? {
                    break Err(format!("redis-server exited ({status})"));
                }
                if redis_ping(&url, Duration::from_secs(1)).is_ok() {
                    break Ok(());
                }
                if Instant::now() > deadline {
                    break Err(format!("no PONG within {} s", READY_WITHIN.as_secs()));
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            match outcome {
                Ok(()) => {
                    self.redis = Some(child);
                    util::step(&format!("Redis: {url}"));
                    return Ok(url);
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let tail = log_tail(&log);
                    if attempt < PORT_ATTEMPTS && port_taken(&tail) {
                        eprintln!("port {port} was taken meanwhile, trying another");
                        continue;
                    }
                    bail!(
                        "Redis did not start: {why}; {} ends with:\n{tail}",
                        log.display()
                    );
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let any = self.postgres.is_some() || self.redis.is_some();
        if let Some(pg) = self.postgres.take() {
            pg.stop();
        }
        if let Some(mut redis) = self.redis.take() {
            let _ = redis.kill();
            let _ = redis.wait();
        }
        if let Some(dir) = self.dir.take() {
            // A killed postmaster's children may still be leaving: one more try.
            if std::fs::remove_dir_all(&dir).is_err() {
                std::thread::sleep(Duration::from_millis(500));
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    eprintln!("xtask: cannot remove {}: {e}", dir.display());
                }
            }
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            // Its pipe closes: it finds the folder gone and exits.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
        if any {
            eprintln!("xtask: test services stopped");
        }
    }
}

impl Postgres {
    /// One of the cluster's programs, run as its owner, in its own process group (so the
    /// postmaster pg_ctl leaves behind gets no Ctrl-C meant for xtask).
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.stdin(Stdio::null()).process_group(0);
        if let Some(dir) = self.data.parent() {
            // Its owner may not be allowed into xtask's working directory.
            cmd.current_dir(dir);
        }
        cmd
    }

    fn stop(&self) {
        let stopped = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-t", "20", "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if stopped {
            return;
        }
        // Not running, or not stopping: the postmaster's pid is the first line of its pid file.
        let Some(pid) = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
        else {
            return;
        };
        eprintln!("xtask: PostgreSQL did not stop, killing it (pid {pid})");
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Connects with `url` (TCP, password) and runs `SELECT 1`.
fn check_database(psql: &Path, url: &str) -> anyhow::Result<()> {
    let out = util::output(
        Command::new(psql)
            .args(["-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1", url])
            .env("PGCONNECT_TIMEOUT", "10"),
    )
    .with_context(|| format!("`SELECT 1` on {url} failed"))?;
    if out.trim() != "1" {
        bail!("`SELECT 1` on {url} answered {out:?}");
    }
    Ok(())
}

/// Sends PING (after AUTH when the URL has a password) and expects `+PONG`.
/// `redis://[[user]:password@]host[:port][/db]`; no percent-decoding, no TLS.
fn redis_ping(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("redis://")
        .with_context(|| format!("{url:?} is not a redis:// URL"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (auth, host) = match authority.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, authority),
    };
    let host = if host.ends_with(']') || !host.contains(':') {
        format!("{host}:6379")
    } else {
        host.to_owned()
    };
    let addr = host
        .to_socket_addrs()?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut ask = |args: &[&str], expect: &str| -> anyhow::Result<()> {
        let mut frame = format!("*{}\r\n", args.len());
        for a in args {
            frame.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        (&stream).write_all(frame.as_bytes())?;
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim_end() != expect {
            bail!("{} answered {:?}", args[0], line.trim_end());
        }
        Ok(())
    };
    match auth.and_then(|a| a.split_once(':')) {
        Some(("", password)) => ask(&["AUTH", password], "+OK")?,
        Some((user, password)) => ask(&["AUTH", user, password], "+OK")?,
        None => {}
    }
    ask(&["PING"], "+PONG")
}

/// A free port on 127.0.0.1 (free when asked: the caller retries if it is taken meanwhile).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn port_taken(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("could not bind")
}

/// The newest `/usr/lib/postgresql/N/bin` that has the server programs.
fn postgres_bin() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            ["initdb", "pg_ctl", "postgres", "psql"]
                .iter()
                .all(|p| bin.join(p).is_file())
                .then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

/// A program on PATH or in the sbin folders (not always on root's PATH in containers).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The uid and gid of `user`, created (system user, no login) when missing.
fn ensure_user(user: &str) -> anyhow::Result<(u32, u32)> {
    let id = |flag: &str| {
        util::output(Command::new("id").args([flag, user]))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    if id("-u").is_none() {
        util::step(&format!("useradd --system {user}"));
        util::run(Command::new("useradd").args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            user,
        ]))?;
    }
    Ok((
        id("-u").with_context(|| format!("no uid for {user}"))?,
        id("-g").with_context(|| format!("no gid for {user}"))?,
    ))
}

fn temp_folder() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "frontdesk-services-{}-{nanos:08x}",
        std::process::id()
    ));
    std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Stops what is left in `dir` and removes it once xtask's end of the pipe closes, unless the
/// guard already did (then the folder is gone). Ignores the terminal's signals: Ctrl-C stops
/// xtask, and this cleans up after it.
fn watchdog(dir: &Path) -> anyhow::Result<Child> {
    const SCRIPT: &str = r#"
trap '' INT TERM HUP QUIT
cat >/dev/null
[ -d "$DIR" ] || exit 0
echo "xtask: stopping the test services left by xtask" >&2
if [ -f "$DIR/pg/postmaster.pid" ]; then
  if [ -n "$PG_USER" ]; then
    runuser -u "$PG_USER" -- "$PG_CTL" stop -m fast -w -t 20 -D "$DIR/pg" >/dev/null 2>&1
  else
    "$PG_CTL" stop -m fast -w -t 20 -D "$DIR/pg" >/dev/null 2>&1
  fi || kill -9 "$(head -n 1 "$DIR/pg/postmaster.pid")" 2>/dev/null
fi
[ -f "$DIR/redis.pid" ] && kill -9 "$(cat "$DIR/redis.pid")" 2>/dev/null
sleep 0.2
rm -rf "$DIR"
"#;
    let pg_ctl = postgres_bin().map(|b| b.join("pg_ctl")).unwrap_or_default();
    Command::new("sh")
        .args(["-c", SCRIPT])
        .env("DIR", dir)
        .env("PG_CTL", pg_ctl)
        .env("PG_USER", if util::is_root() { PG_USER } else { "" })
        .stdin(Stdio::piped())
        .process_group(0)
        .current_dir("/")
        .spawn()
        .context("cannot start the services' watchdog (sh)")
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(hex::encode(buf))
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| format!("({e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// `value` as one shell word.
fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// `url` with its password hidden, for logs (the export line of `cargo xtask services` keeps it:
/// that is what it is for).
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = url[scheme + 3..at].split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
