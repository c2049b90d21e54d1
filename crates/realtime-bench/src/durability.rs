//! The `durability` scenario on one node: chat load, `kill -9` of the server at a random moment,
//! restart on the same data folder (and database), replay every conversation, and compare with
//! what was acknowledged. (Several nodes: `failover.rs`.)

use crate::client::{self, Frame, Target};
use crate::cluster::{Deploy, Deployment};
use crate::load::{Options, Visitor, World};
use crate::report::{Table, count};
use crate::track::Acked;
use anyhow::{Context, bail};
use futures_util::StreamExt;
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct DurabilityArgs {
    pub runs: usize,
    pub visitors: usize,
    pub rate: f64,
    pub concurrency: usize,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct RunResult {
    pub sent: u64,
    pub acked: u64,
    pub stored: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub gaps: u64,
    /// Acknowledged under one seq, replayed under another.
    pub moved: u64,
    /// Stored although its ack never arrived (in flight at the kill): allowed.
    pub stored_unacked: u64,
    /// Visitors whose replay failed.
    pub unreplayed: u64,
}

impl std::ops::AddAssign for RunResult {
    fn add_assign(&mut self, r: RunResult) {
        self.sent += r.sent;
        self.acked += r.acked;
        self.stored += r.stored;
        self.missing += r.missing;
        self.duplicates += r.duplicates;
        self.gaps += r.gaps;
        self.moved += r.moved;
        self.stored_unacked += r.stored_unacked;
        self.unreplayed += r.unreplayed;
    }
}

/// When each of `runs` runs kills its node: between 1 and 3 s into the traffic.
pub fn kill_times(runs: usize) -> Vec<Duration> {
    let mut rng = rand::thread_rng();
    (0..runs)
        .map(|_| Duration::from_millis(rng.gen_range(1000..=3000)))
        .collect()
}

/// One conversation as replayed: (client id, seq) in arrival order.
pub type Replayed = Vec<(String, u64)>;

pub async fn replay(target: &Target, visitor: &Visitor) -> anyhow::Result<Replayed> {
    let work = async {
        let mut ws = target.connect("/ws/visitor", None).await?;
        let welcome = client::visitor_hello(&mut ws, Some(&visitor.token), 0).await?;
        if welcome.token.is_some() {
            bail!("the token was not recognised after the restart");
        }
        if welcome.conversation != Some(visitor.conversation) {
            bail!(
                "welcome names conversation {:?}, not {}",
                welcome.conversation,
                visitor.conversation
            );
        }
        let mut out = Vec::new();
        let mut highest = 0;
        while highest < welcome.last_seq {
            let text = client::next_text(&mut ws)
                .await?
                .context("closed during replay")?;
            match client::read(&text) {
                Frame::Message {
                    id,
                    seq,
                    conversation,
                } => {
                    if conversation != visitor.conversation {
                        bail!("a message of conversation {conversation} in the replay");
                    }
                    highest = highest.max(seq);
                    out.push((id, seq));
                }
                Frame::Error { code, .. } => bail!("error frame {code} during replay"),
                _ => {}
            }
        }
        let _ = ws.close(None).await;
        Ok(out)
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .context("replay took over 30 s")?
}

async fn run(
    deploy: &Deploy,
    args: &DurabilityArgs,
    kill_at: Duration,
) -> anyhow::Result<RunResult> {
    let mut dep = Deployment::start(deploy).await?;
    let target = dep.target(0);
    let opts = Options {
        visitors: args.visitors,
        second_tab: false,
        agent: true,
        concurrency: args.concurrency,
    };
    let world = World::setup(std::slice::from_ref(&target), opts).await?;
    let halt = AtomicBool::new(false);
    let offer = world.offer(args.rate, Duration::from_secs(30), Some(&halt));
    let kill = async {
        tokio::time::sleep(kill_at).await;
        dep.kill9(0);
        halt.store(true, Ordering::Relaxed);
    };
    tokio::join!(offer, kill);
    // Acks written before the kill are still in the sockets: let the readers take them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked = world.tracker.acked_messages();
    let mut r = RunResult {
        sent: world.tracker.sent_total(),
        acked: acked.len() as u64,
        ..RunResult::default()
    };
    let visitors = world.visitors.clone();
    drop(world);

    dep.restart(0)
        .await
        .context("the server did not restart after kill -9")?;
    let target = dep.target(0);
    let stored = replay_all(&target, &visitors, args.concurrency, &mut r).await;
    tally(&acked, &visitors, &stored, &mut r);
    Ok(r)
}

/// Replays every visitor's conversation through `target` (by visitor index); failures are
/// counted in `r.unreplayed` (the first three printed).
pub async fn replay_all(
    target: &Target,
    visitors: &[Visitor],
    concurrency: usize,
    r: &mut RunResult,
) -> HashMap<usize, Replayed> {
    let replays: Vec<(usize, anyhow::Result<Replayed>)> = futures_util::stream::iter(visitors)
        .map(|v| async move { (v.index, replay(target, v).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut stored: HashMap<usize, Replayed> = HashMap::new();
    for (index, result) in replays {
        match result {
            Ok(messages) => {
                stored.insert(index, messages);
            }
            Err(e) => {
                r.unreplayed += 1;
                if r.unreplayed <= 3 {
                    eprintln!("durability: visitor {index}: {e:#}");
                }
            }
        }
    }
    stored
}

/// Compares what was stored (per visitor index) with what was acknowledged: stored, duplicates,
/// conversations with gaps, stored without an ack, acknowledged but missing, moved.
pub fn tally(
    acked: &[Acked],
    visitors: &[Visitor],
    stored: &HashMap<usize, Replayed>,
    r: &mut RunResult,
) {
    let acked_ids: HashSet<&str> = acked.iter().map(|a| a.id.as_str()).collect();
    for messages in stored.values() {
        r.stored += messages.len() as u64;
        let mut ids: HashMap<&str, u32> = HashMap::new();
        for (id, _) in messages {
            *ids.entry(id).or_default() += 1;
        }
        r.duplicates += ids.values().map(|&n| u64::from(n - 1)).sum::<u64>();
        r.stored_unacked += ids.keys().filter(|id| !acked_ids.contains(*id)).count() as u64;
        let mut seqs: Vec<u64> = messages.iter().map(|(_, s)| *s).collect();
        seqs.sort_unstable();
        if seqs.iter().enumerate().any(|(i, &s)| s != i as u64 + 1) {
            r.gaps += 1;
        }
    }
    let conversations: HashMap<usize, i64> =
        visitors.iter().map(|v| (v.index, v.conversation)).collect();
    for a in acked {
        let Some(messages) = stored.get(&a.visitor) else {
            continue;
        };
        let same_conversation = conversations.get(&a.visitor) == Some(&a.conversation);
        match messages.iter().find(|(id, _)| *id == a.id) {
            None => r.missing += 1,
            Some((_, seq)) if *seq != a.seq || !same_conversation => r.moved += 1,
            Some(_) => {}
        }
    }
}

pub async fn scenario(deploy: &Deploy, args: &DurabilityArgs) -> anyhow::Result<()> {
    let kills = kill_times(args.runs);
    println!(
        "\ndurability: {} runs, {} visitors at {} msg/s (agent following all), kill -9 between 1 and 3 s",
        args.runs, args.visitors, args.rate
    );
    println!(
        "{:>4}  {:>8}  {:>7}  {:>7}  {:>7}  {:>7}  {:>5}  {:>5}  {:>5}  {:>14}  {:>10}",
        "run",
        "kill at",
        "sent",
        "acked",
        "stored",
        "missing",
        "dups",
        "gaps",
        "moved",
        "stored unacked",
        "unreplayed"
    );
    let mut total = RunResult::default();
    for (i, kill_at) in kills.iter().enumerate() {
        let r = run(deploy, args, *kill_at)
            .await
            .with_context(|| format!("durability run {}", i + 1))?;
        println!(
            "{:>4}  {:>6.2} s  {:>7}  {:>7}  {:>7}  {:>7}  {:>5}  {:>5}  {:>5}  {:>14}  {:>10}",
            i + 1,
            kill_at.as_secs_f64(),
            r.sent,
            r.acked,
            r.stored,
            r.missing,
            r.duplicates,
            r.gaps,
            r.moved,
            r.stored_unacked,
            r.unreplayed
        );
        total += r;
    }
    let mut t = Table::new(format!("durability: {} kill -9 runs, totals", args.runs));
    t.info("messages sent", count(total.sent));
    t.info("acknowledged", count(total.acked));
    t.info("replayed after restart", count(total.stored));
    t.check(
        "acknowledged but missing",
        count(total.missing),
        "0",
        Some(total.missing == 0),
    );
    t.check(
        "duplicates (same client id stored twice)",
        count(total.duplicates),
        "0",
        Some(total.duplicates == 0),
    );
    t.check(
        "conversations with gaps (seq not 1..n)",
        count(total.gaps),
        "0",
        Some(total.gaps == 0),
    );
    t.check(
        "acked under one seq, stored under another",
        count(total.moved),
        "0",
        Some(total.moved == 0),
    );
    t.check(
        "visitors whose replay failed",
        count(total.unreplayed),
        "0",
        Some(total.unreplayed == 0),
    );
    t.info(
        "stored without an ack (in flight at the kill; allowed)",
        count(total.stored_unacked),
    );
    t.print();
    Ok(())
}
