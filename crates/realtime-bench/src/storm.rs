//! The `storm` scenario: many visitors with a short conversation each disconnect, then all
//! reconnect within a few seconds with `last_seq: 0`; failures and time to a complete replay.

use crate::client::{self, Frame, Target, Ws};
use crate::cluster::{Deploy, Deployment};
use crate::report::{Dist, Table, count, ms, within};
use crate::server::mib;
use anyhow::{Context, bail};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub struct StormArgs {
    pub visitors: usize,
    pub window: Duration,
    pub messages: usize,
    pub concurrency: usize,
}

/// A visitor with a stored conversation: `ids[k]` was stored under seq k + 1.
struct Created {
    index: usize,
    token: String,
    ids: Vec<String>,
}

/// A visitor's reconnect.
struct Outcome {
    connect: Option<Duration>,
    replay: Result<Duration, String>,
    _ws: Option<Ws>,
}

/// Per visitor: hello, `messages` messages each acknowledged in turn, close.
async fn create(target: &Target, index: usize, messages: usize) -> anyhow::Result<Created> {
    let work = async {
        let mut ws = target.connect("/ws/visitor", None).await?;
        let welcome = client::visitor_hello(&mut ws, None, 0).await?;
        let token = welcome.token.context("no token for a new visitor")?;
        let mut ids = Vec::new();
        for k in 0..messages {
            let id = format!("s{index}-m{k}");
            client::send(&mut ws, client::send_frame(&id, "storm history")).await?;
            loop {
                let text = client::next_text(&mut ws)
                    .await?
                    .context("closed before ack")?;
                match client::read(&text) {
                    Frame::Ack { id: acked, seq, .. } if acked == id => {
                        if seq != k as u64 + 1 {
                            bail!("{id} acked as seq {seq}, expected {}", k + 1);
                        }
                        break;
                    }
                    Frame::Error { code, .. } => bail!("error {code}"),
                    _ => {}
                }
            }
            ids.push(id);
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = ws.close(None).await;
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        anyhow::Ok(Created { index, token, ids })
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .context("creating the conversation took over 60 s")?
}

/// Reconnects at `at`: connect, hello with the token and `last_seq: 0`, read until every stored
/// message arrived (30 s at most).
async fn reconnect(target: Target, visitor: Created, at: tokio::time::Instant) -> Outcome {
    tokio::time::sleep_until(at).await;
    let started = Instant::now();
    let mut ws = match target.connect("/ws/visitor", None).await {
        Ok(ws) => ws,
        Err(e) => {
            return Outcome {
                connect: None,
                replay: Err(format!("connect: {e:#}")),
                _ws: None,
            };
        }
    };
    let connect = started.elapsed();
    let hello_at = Instant::now();
    let expected = visitor.ids.len();
    let work = async {
        client::send(&mut ws, client::hello(Some(&visitor.token), 0))
            .await
            .map_err(|e| format!("{e:#}"))?;
        let welcome = client::wait_welcome(&mut ws)
            .await
            .map_err(|e| format!("welcome: {e:#}"))?;
        if welcome.token.is_some() {
            return Err("the token was not recognised (a new visitor was issued)".to_owned());
        }
        let mut seen = vec![false; expected];
        let mut got = 0;
        while got < expected {
            let text = match client::next_text(&mut ws).await {
                Ok(Some(text)) => text,
                Ok(None) => return Err("closed during replay".into()),
                Err(e) => return Err(format!("read: {e:#}")),
            };
            match client::read(&text) {
                Frame::Message { id, seq, .. } => {
                    let k = (seq as usize).wrapping_sub(1);
                    if k >= expected || visitor.ids[k] != id {
                        return Err(format!("unexpected message {id} at seq {seq}"));
                    }
                    if seen[k] {
                        return Err(format!("seq {seq} replayed twice"));
                    }
                    seen[k] = true;
                    got += 1;
                }
                Frame::Error { code, .. } => return Err(format!("error frame {code}")),
                _ => {}
            }
        }
        Ok(hello_at.elapsed())
    };
    let replay = match tokio::time::timeout(Duration::from_secs(30), work).await {
        Ok(result) => result,
        Err(_) => Err("replay incomplete after 30 s".into()),
    };
    Outcome {
        connect: Some(connect),
        replay,
        _ws: Some(ws),
    }
}

/// With several nodes, visitor i creates its conversation on node i % N and reconnects to node
/// (i + 1) % N: every replay comes from another node than the one that stored it.
pub async fn scenario(deploy: &Deploy, args: &StormArgs) -> anyhow::Result<()> {
    let dep = Deployment::start(deploy).await?;
    let targets = dep.targets();
    let nodes = targets.len();
    let n = args.visitors;
    let started = Instant::now();
    let results: Vec<_> = futures_util::stream::iter(0..n)
        .map(|i| create(&targets[i % nodes], i, args.messages))
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let creating = started.elapsed();
    let mut visitors = Vec::new();
    let mut create_failures: BTreeMap<String, usize> = BTreeMap::new();
    for r in results {
        match r {
            Ok(v) => visitors.push(v),
            Err(e) => {
                let reason: String = format!("{e:#}").chars().take(120).collect();
                *create_failures.entry(reason).or_default() += 1;
            }
        }
    }
    visitors.sort_by_key(|v| v.index);
    let ready = visitors.len();
    println!(
        "\nstorm: {} visitors with {} messages each created in {:.1} s ({} failed); server RSS {}",
        count(ready as u64),
        args.messages,
        creating.as_secs_f64(),
        n - ready,
        mib(dep.rss_kib().unwrap_or(0))
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    let spacing = args.window.div_f64(ready.max(1) as f64);
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let tasks: Vec<_> = visitors
        .into_iter()
        .enumerate()
        .map(|(k, v)| {
            let at = t0 + spacing.mul_f64(k as f64);
            let target = targets[(v.index + 1) % nodes].clone();
            tokio::spawn(reconnect(target, v, at))
        })
        .collect();
    let storm_started = Instant::now();
    let outcomes = futures_util::future::join_all(tasks).await;
    let storm_time = storm_started.elapsed();
    let rss = dep.rss_kib().unwrap_or(0);

    let (mut replay, mut connect) = (Vec::new(), Vec::new());
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in &outcomes {
        let Ok(outcome) = outcome else {
            *failures.entry("task panicked".into()).or_default() += 1;
            continue;
        };
        connect.extend(outcome.connect);
        match &outcome.replay {
            Ok(d) => replay.push(*d),
            Err(reason) => {
                let reason: String = reason.chars().take(120).collect();
                *failures.entry(reason).or_default() += 1;
            }
        }
    }
    drop(outcomes);
    let (replay, connect) = (Dist::new(replay), Dist::new(connect));
    let failed: usize = failures.values().sum::<usize>() + (n - ready);

    let mut t = Table::new(format!(
        "storm: {} visitors reconnect within {} s with last_seq 0 ({} messages each){}",
        count(n as u64),
        args.window.as_secs_f64(),
        args.messages,
        match nodes {
            1 => String::new(),
            k => format!(", each to another of {k} nodes than the one it wrote on"),
        }
    ));
    t.check(
        "failures (setup + reconnect)",
        format!(
            "{} ({} setup, {} reconnect)",
            failed,
            n - ready,
            failed - (n - ready)
        ),
        "0",
        Some(failed == 0),
    );
    t.info("replays complete", count(replay.len() as u64));
    t.info("replay p50 (hello → every message)", ms(replay.p(0.5)));
    t.info("replay p95", ms(replay.p(0.95)));
    t.check(
        "replay p99",
        ms(replay.p(0.99)),
        "≤ 100 ms",
        within(replay.p(0.99), 100.0),
    );
    t.info("replay max", ms(replay.max()));
    t.info("connect (TCP + upgrade) p50/p95/p99/max", connect.summary());
    t.info(
        "storm time (first connect → last replay)",
        format!("{:.1} s", storm_time.as_secs_f64()),
    );
    t.info(
        "setup (create the conversations)",
        format!("{:.1} s", creating.as_secs_f64()),
    );
    t.info(
        if nodes > 1 {
            "servers' RSS after the storm (summed)"
        } else {
            "server RSS after the storm"
        },
        mib(rss),
    );
    for (reason, k) in create_failures.iter().chain(failures.iter()).take(6) {
        t.note(format!("{k} × {reason}"));
    }
    dep.server_log(&mut t);
    t.print();
    Ok(())
}
