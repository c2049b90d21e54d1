//! The deployment under test: one `frontdesk serve` on a temporary SQLite data folder (the
//! default), or N nodes on a fresh PostgreSQL database and one Redis (`--nodes N --database URL
//! --redis URL`). Each scenario (and each durability run) gets its own deployment; dropping it
//! kills every node, then drops the database, then removes the folders, even when the scenario
//! failed.

use crate::client::Target;
use crate::report::Table;
use crate::server::{DataDir, Server, cpu_seconds};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What to deploy (from the command line).
#[derive(Debug, Clone)]
pub struct Deploy {
    pub bin: PathBuf,
    pub nodes: usize,
    /// A PostgreSQL URL whose role may create databases: each deployment gets a fresh one on
    /// that server. `None`: SQLite in the data folder (one node).
    pub database: Option<String>,
    pub redis: Option<String>,
}

impl Deploy {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.nodes == 0 {
            bail!("--nodes must be at least 1");
        }
        if self.nodes > 1 && (self.database.is_none() || self.redis.is_none()) {
            bail!(
                "--nodes {} needs --database postgres://… and --redis redis://… \
                 (cargo xtask bench realtime starts private ones when they are not given)",
                self.nodes
            );
        }
        if self.redis.is_some() && self.database.is_none() {
            bail!("--redis needs --database (nodes share PostgreSQL; SQLite has one node)");
        }
        if let Some(url) = &self.database
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!("--database takes a postgres:// URL");
        }
        Ok(())
    }

    /// One line saying what runs.
    pub fn describe(&self) -> String {
        match (&self.database, &self.redis) {
            (None, _) => "1 node on SQLite".into(),
            (Some(_), None) => "1 node on PostgreSQL (a fresh database per scenario)".into(),
            (Some(_), Some(_)) => format!(
                "{} node(s) on PostgreSQL (a fresh database per scenario and per durability run) \
                 and Redis",
                self.nodes
            ),
        }
    }
}

/// A database of its own on the PostgreSQL server of a given URL, dropped on drop.
pub struct FreshDatabase {
    admin: String,
    name: String,
    pub url: String,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl FreshDatabase {
    pub async fn create(admin: &str) -> anyhow::Result<FreshDatabase> {
        use sqlx::Connection;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let name = format!(
            "realtime_bench_{}_{}_{nanos}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn =
            tokio::time::timeout(Duration::from_secs(30), sqlx::PgConnection::connect(admin))
                .await
                .context("connecting to PostgreSQL took over 30 s")?
                .context("cannot connect to the --database URL")?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let _ = conn.close().await;
        Ok(FreshDatabase {
            url: with_database(admin, &name)?,
            admin: admin.to_owned(),
            name,
        })
    }
}

impl Drop for FreshDatabase {
    /// `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+) on a thread of its own, with its own
    /// runtime (drop may run inside the bench's runtime): 3 attempts, 10 s each at most.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut last = String::new();
                for attempt in 0..3 {
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    let work = async {
                        let mut conn = sqlx::PgConnection::connect(&admin).await?;
                        let dropped =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                        let _ = conn.close().await;
                        dropped
                    };
                    match tokio::time::timeout(Duration::from_secs(10), work).await {
                        Ok(Ok(_)) => return Ok(()),
                        Ok(Err(e)) => last = e.to_string(),
                        Err(_) => last = "no answer within 10 s".into(),
                    }
                }
                Err(last)
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the thread panicked".into()));
        if let Err(e) = dropped {
            eprintln!(
                "realtime-bench: could not drop the database {}: {e}",
                self.name
            );
        }
    }
}

/// `url` naming the database `name` instead of its own (query parameters kept).
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (url, query) = match url.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (url, None),
    };
    let scheme = url.find("://").context("no scheme in the database URL")? + 3;
    let base = match url[scheme..].find('/') {
        Some(slash) => &url[..scheme + slash],
        None => url,
    };
    Ok(match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    })
}

/// The running nodes. Fields drop in order: nodes (killed), database (dropped), folders.
pub struct Deployment {
    pub nodes: Vec<Server>,
    database: Option<FreshDatabase>,
    dirs: Vec<DataDir>,
    deploy: Deploy,
}

impl Deployment {
    /// A fresh deployment: a data folder per node, the bench agent (in SQLite, or in a fresh
    /// PostgreSQL database with `agent add --database`), every node started and ready.
    pub async fn start(deploy: &Deploy) -> anyhow::Result<Deployment> {
        let mut dep = Deployment {
            nodes: Vec::new(),
            database: None,
            dirs: Vec::new(),
            deploy: deploy.clone(),
        };
        let nodes = if deploy.database.is_some() {
            deploy.nodes
        } else {
            1
        };
        for _ in 0..nodes {
            dep.dirs.push(DataDir::empty()?);
        }
        if let Some(admin) = &deploy.database {
            dep.database = Some(FreshDatabase::create(admin).await?);
        }
        let url = dep.database.as_ref().map(|d| d.url.clone());
        dep.dirs[0].add_agent(&deploy.bin, url.as_deref())?;
        for i in 0..nodes {
            let server = Server::start(&deploy.bin, &dep.dirs[i], &dep.flags())?;
            dep.nodes.push(server);
        }
        for i in 0..nodes {
            dep.ready(i).await?;
        }
        Ok(dep)
    }

    fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(db) = &self.database {
            flags.extend(["--database".into(), db.url.clone()]);
        }
        if let Some(redis) = &self.deploy.redis {
            flags.extend(["--redis".into(), redis.clone()]);
        }
        flags
    }

    /// Waits (30 s at most) until node `i` answers `/readyz` with 200: its database answers and,
    /// with Redis, its own canary came back (it hears the other nodes). Nothing to wait for on
    /// SQLite, as before.
    async fn ready(&self, i: usize) -> anyhow::Result<()> {
        if self.database.is_none() {
            return Ok(());
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        let url = format!("http://127.0.0.1:{}/readyz", self.nodes[i].port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let last = match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                Err(e) => format!("{e}"),
            };
            if Instant::now() >= deadline {
                bail!("node {} was not ready within 30 s ({last})", i + 1);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn target(&self, i: usize) -> Target {
        Target::new(self.nodes[i].port)
    }

    pub fn targets(&self) -> Vec<Target> {
        (0..self.len()).map(|i| self.target(i)).collect()
    }

    /// The fresh database's URL (PostgreSQL only).
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|d| d.url.as_str())
    }

    /// `kill -9` of node `i`.
    pub fn kill9(&mut self, i: usize) {
        self.nodes[i].kill9();
    }

    /// Starts node `i` again on the same data folder and database, and waits until it is ready.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.nodes[i].kill9();
        self.nodes[i] = Server::start(&self.deploy.bin, &self.dirs[i], &self.flags())?;
        self.ready(i).await
    }

    /// Resident memory of every node, summed (KiB).
    pub fn rss_kib(&self) -> Option<u64> {
        self.nodes.iter().map(Server::rss_kib).sum()
    }

    /// Open sockets of every node, summed.
    pub fn open_sockets(&self) -> Option<usize> {
        self.nodes.iter().map(Server::open_sockets).sum()
    }

    /// CPU seconds used so far by each node.
    pub fn cpu(&self) -> Vec<Option<f64>> {
        self.nodes.iter().map(|n| cpu_seconds(n.pid())).collect()
    }

    /// The nodes' share of one core between two readings of `cpu`: "server 80 %" on one node,
    /// "servers 150 % (70 + 80)" on several.
    pub fn cpu_share(before: &[Option<f64>], after: &[Option<f64>], wall: f64) -> Option<String> {
        let shares: Option<Vec<f64>> = before
            .iter()
            .zip(after)
            .map(|(b, a)| Some((a.as_ref()? - b.as_ref()?) / wall * 100.0))
            .collect();
        let shares = shares?;
        Some(match shares.as_slice() {
            [one] => format!("server {one:.0} %"),
            many => format!(
                "servers {:.0} % ({})",
                many.iter().sum::<f64>(),
                many.iter()
                    .map(|s| format!("{s:.0}"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        })
    }

    /// Adds the nodes' log summaries (warnings and errors) to `table`.
    pub fn server_log(&self, table: &mut Table) {
        if let [one] = self.nodes.as_slice() {
            crate::report::server_log(table, one);
            return;
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let (lines, distinct) = node.log_summary(3);
            table.info(
                format!("node {} log lines (warn/error)", i + 1),
                crate::report::count(lines as u64),
            );
            for line in distinct {
                table.note(format!("node {} log: {line}", i + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        let url = |u| with_database(u, "fresh").unwrap();
        assert_eq!(url("postgres://u:p@h:5/db"), "postgres://u:p@h:5/fresh");
        assert_eq!(url("postgres://u:p@h:5"), "postgres://u:p@h:5/fresh");
        assert_eq!(
            url("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/fresh?sslmode=disable"
        );
    }
}
