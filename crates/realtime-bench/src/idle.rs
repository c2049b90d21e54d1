//! Idle visitors: many widget connections that said hello and then only listen, and the `idle`
//! scenario (server memory per connection, sockets per connected visitor).

use crate::client::{self, Target};
use crate::cluster::{Deploy, Deployment};
use crate::report::{Table, count};
use crate::server::mib;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Connections held open, each on its own small task that reads (and drops) whatever the server
/// pushes until told to close.
pub struct Crowd {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    pub failed: usize,
    /// Failure reasons and how often each happened.
    pub reasons: BTreeMap<String, usize>,
}

impl Crowd {
    pub fn new() -> Crowd {
        Crowd {
            stop: watch::channel(false).0,
            tasks: Vec::new(),
            failed: 0,
            reasons: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Opens `n` more visitor connections (hello without a token, welcome awaited), at most
    /// `concurrency` at a time, spread over `targets` in turn.
    pub async fn grow(&mut self, targets: &[Target], n: usize, concurrency: usize) {
        let stop = &self.stop;
        let base = self.tasks.len() + self.failed;
        let results: Vec<anyhow::Result<JoinHandle<()>>> = futures_util::stream::iter(0..n)
            .map(|k| {
                let stop = stop.subscribe();
                let target = &targets[(base + k) % targets.len()];
                async move {
                    let mut ws = target.connect("/ws/visitor", None).await?;
                    client::visitor_hello(&mut ws, None, 0).await?;
                    Ok(tokio::spawn(hold(ws, stop)))
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for result in results {
            match result {
                Ok(task) => self.tasks.push(task),
                Err(e) => {
                    self.failed += 1;
                    let reason: String = format!("{e:#}").chars().take(120).collect();
                    *self.reasons.entry(reason).or_default() += 1;
                }
            }
        }
    }

    /// Closes every connection (close handshake, 5 s at most each), within 60 s in all.
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(Duration::from_secs(60), all).await;
    }

    /// The failure reasons as table notes.
    pub fn note_reasons(&self, table: &mut Table) {
        for (reason, n) in self.reasons.iter().take(5) {
            table.note(format!("{n} × {reason}"));
        }
    }
}

async fn hold(mut ws: client::Ws, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = stop.changed() => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// `idle`: N visitors connected and silent; the server's memory before and after (summed over
/// the nodes when there are several; visitors spread over them in turn).
pub async fn scenario(deploy: &Deploy, n: usize, concurrency: usize) -> anyhow::Result<()> {
    let dep = Deployment::start(deploy).await?;
    let targets = dep.targets();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = dep.rss_kib().unwrap_or(0);
    let files_before = dep.open_sockets().unwrap_or(0);
    let mut crowd = Crowd::new();
    let started = Instant::now();
    crowd.grow(&targets, n, concurrency).await;
    let opening = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = dep.rss_kib().unwrap_or(0);
    let files_after = dep.open_sockets().unwrap_or(0);
    let ok = crowd.len();

    let mut t = Table::new(format!(
        "idle: {} visitor connections, held{}",
        count(n as u64),
        match dep.len() {
            1 => String::new(),
            k => format!(" over {k} nodes (RSS and sockets summed over the nodes)"),
        }
    ));
    t.check(
        "connections OK",
        format!("{} / {}", count(ok as u64), count(n as u64)),
        "all",
        Some(ok == n),
    );
    t.check(
        "connections failed",
        count(crowd.failed as u64),
        "0",
        Some(crowd.failed == 0),
    );
    t.info(
        "opening time (hello → welcome, 200 at a time)",
        format!(
            "{:.1} s ({:.0} conn/s)",
            opening.as_secs_f64(),
            ok as f64 / opening.as_secs_f64().max(1e-9)
        ),
    );
    t.info("server RSS before", mib(rss_before));
    t.info("server RSS after", mib(rss_after));
    let per = (rss_after.saturating_sub(rss_before)) as f64 / ok.max(1) as f64;
    t.check(
        "server memory per connection",
        format!("{per:.2} KiB"),
        "≤ 10 KiB",
        (ok > 0).then_some(per <= 10.0),
    );
    let sockets = files_after.saturating_sub(files_before) as f64 / ok.max(1) as f64;
    t.check(
        "server sockets per connected visitor",
        format!(
            "{sockets:.2} ({} sockets for {} visitors)",
            count(files_after.saturating_sub(files_before) as u64),
            count(ok as u64)
        ),
        "1 per page view",
        (ok > 0).then_some(sockets <= 1.01),
    );
    crowd.note_reasons(&mut t);
    dep.server_log(&mut t);
    t.print();
    crowd.close().await;
    Ok(())
}
