//! The `durability` scenario on several nodes (PostgreSQL + Redis): visitors chat through every
//! node while the agent follows them all on the last node; node 1 is killed with SIGKILL at a
//! random moment; its visitors reconnect to the next node that answers with their token and last
//! sequence number and resend what was not acknowledged (same client ids), then go on chatting.
//! After each run, every acknowledged message must be in the database exactly once, under the
//! conversation and sequence number of its ack, in gap-free conversations; the same is checked
//! through a surviving node (each conversation replayed from `last_seq` 0), and the agent must
//! have received every acknowledged message exactly once. Each run is a fresh deployment (new
//! database, new nodes), so runs are independent.

use crate::client::{self, Frame, Target, Ws};
use crate::cluster::{Deploy, Deployment};
use crate::durability::{DurabilityArgs, Replayed, RunResult, replay_all, tally};
use crate::load::{Visitor, wait_ack};
use crate::report::{Dist, Table, count, ms};
use crate::track::Tracker;
use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use protocol::AgentFrame;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// The node killed in every run (the agent is on the last one, which survives).
const VICTIM: usize = 0;
/// Traffic goes on this long after the kill (the moved visitors' resends and new messages).
const AFTER_KILL: Duration = Duration::from_secs(3);
/// After the traffic, how long visitors may take to get every message acknowledged.
const DRAIN: Duration = Duration::from_secs(30);
/// Conversations one agent connection follows.
const FOLLOW_PER_AGENT: usize = 200;

/// One run's figures.
#[derive(Debug, Default)]
struct Run {
    /// Checked in the database.
    db: RunResult,
    /// Checked by replaying every conversation through a surviving node.
    replay: RunResult,
    /// Messages sent again after a reconnect (same client id).
    resent: u64,
    /// Resends the database already held (stored before the kill, their ack lost with the
    /// node): acknowledged again under their first seq, not stored twice.
    deduplicated: u64,
    /// Visitors that lost their node and resumed on another.
    moved: u64,
    /// Sent but still unacknowledged when the run ended.
    unacked: u64,
    agent_missing: u64,
    agent_duplicates: u64,
    /// Visitors that gave up (could not reconnect, or were refused).
    failed: u64,
    /// Connection lost → welcome on another node, per moved visitor.
    reconnect: Vec<Duration>,
}

/// What one visitor's task reports.
struct Outcome {
    resent: u64,
    deduplicated: u64,
    reconnects: Vec<Duration>,
    failed: Option<String>,
}

/// The schedule shared by every visitor of a run.
#[derive(Clone, Copy)]
struct Plan {
    run: usize,
    period: Duration,
    start: Instant,
    send_until: Instant,
    give_up: Instant,
}

/// One visitor: connected to one node, its unacknowledged messages, the highest seq it saw.
struct Mover {
    visitor: Visitor,
    ws: Option<Ws>,
    outbox: Vec<String>,
    last_seq: u64,
    tracker: Arc<Tracker>,
    /// Resent ids, and the conversation's last seq the welcome announced when they were resent:
    /// an ack at or below it names a message stored before the kill.
    resent: HashMap<String, u64>,
    deduplicated: u64,
}

fn body(id: &str) -> String {
    format!("failover message {id}")
}

impl Mover {
    /// Sends `id` on the current connection; a failed write drops the connection.
    async fn push(&mut self, id: &str) {
        if let Some(ws) = &mut self.ws
            && ws
                .send(Message::text(client::send_frame(id, &body(id))))
                .await
                .is_err()
        {
            self.ws = None;
        }
    }

    /// Books one frame from the server.
    fn read(&mut self, text: &str) {
        let at = std::time::Instant::now();
        match client::read(text) {
            Frame::Ack {
                id,
                conversation,
                seq,
            } => {
                self.tracker.acked(&id, conversation, seq, at);
                if let Some(stored) = self.resent.remove(&id)
                    && seq <= stored
                {
                    self.deduplicated += 1;
                }
                self.outbox.retain(|o| *o != id);
                self.last_seq = self.last_seq.max(seq);
            }
            Frame::Message { seq, .. } => self.last_seq = self.last_seq.max(seq),
            Frame::Error { code, id } => {
                self.tracker.error(&code, id.as_deref());
                if let Some(id) = id {
                    // Refused: not resent (and reported as an error frame).
                    self.outbox.retain(|o| *o != id);
                }
            }
            _ => {}
        }
    }

    /// Connects to the next node that answers (in turn after the current one), says hello with
    /// the token and the last seq, and resends every unacknowledged message in order.
    async fn reconnect(&mut self, targets: &[Target], plan: Plan) -> anyhow::Result<Duration> {
        let lost = Instant::now();
        let mut wait = Duration::from_millis(20);
        let mut last_error = String::new();
        while Instant::now() < plan.give_up {
            self.visitor.node = (self.visitor.node + 1) % targets.len();
            let target = &targets[self.visitor.node];
            let attempt = tokio::time::timeout(Duration::from_secs(5), async {
                let mut ws = target.connect("/ws/visitor", None).await?;
                let welcome =
                    client::visitor_hello(&mut ws, Some(&self.visitor.token), self.last_seq)
                        .await?;
                if welcome.token.is_some() {
                    bail!("the token was not recognised (a new visitor was issued)");
                }
                anyhow::Ok((ws, welcome.last_seq))
            })
            .await;
            match attempt {
                Ok(Ok((ws, stored))) => {
                    let took = lost.elapsed();
                    self.ws = Some(ws);
                    for id in self.outbox.clone() {
                        self.resent.insert(id.clone(), stored);
                        self.push(&id).await;
                    }
                    return Ok(took);
                }
                Ok(Err(e)) => last_error = format!("{e:#}"),
                Err(_) => last_error = "no welcome within 5 s".into(),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(500));
        }
        bail!("could not reconnect to any node: {last_error}")
    }
}

enum Event {
    Tick,
    Text(String),
    Lost,
    Wake,
}

/// Chats at one message per `plan.period` until `send_until`, then waits for the last acks;
/// reconnects whenever its connection is lost.
async fn drive(mut m: Mover, targets: Arc<Vec<Target>>, plan: Plan, offset: Duration) -> Outcome {
    let mut outcome = Outcome {
        resent: 0,
        deduplicated: 0,
        reconnects: Vec::new(),
        failed: None,
    };
    let mut tick = tokio::time::interval_at(plan.start + offset, plan.period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut k = 1u64;
    loop {
        let now = Instant::now();
        let sending = now < plan.send_until;
        if now >= plan.give_up || (!sending && m.outbox.is_empty()) {
            break;
        }
        let Some(ws) = &mut m.ws else {
            let pending = m.outbox.len() as u64;
            match m.reconnect(&targets, plan).await {
                Ok(took) => {
                    outcome.resent += pending;
                    outcome.reconnects.push(took);
                }
                Err(e) => {
                    outcome.failed = Some(format!("visitor {}: {e:#}", m.visitor.index));
                    break;
                }
            }
            continue;
        };
        let wake = if sending {
            plan.send_until
        } else {
            plan.give_up
        };
        let event = tokio::select! {
            _ = tick.tick(), if sending => Event::Tick,
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => Event::Text(text.as_str().to_owned()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Event::Lost,
                Some(Ok(_)) => Event::Wake,
            },
            _ = tokio::time::sleep_until(wake) => Event::Wake,
        };
        match event {
            Event::Tick => {
                let id = format!("r{}-v{}-m{k}", plan.run, m.visitor.index);
                k += 1;
                m.tracker.sent(
                    1,
                    std::time::Instant::now(),
                    [(id.as_str(), m.visitor.index)],
                );
                m.outbox.push(id.clone());
                m.push(&id).await;
            }
            Event::Text(text) => m.read(&text),
            Event::Lost => m.ws = None,
            Event::Wake => {}
        }
    }
    if let Some(mut ws) = m.ws.take() {
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    }
    outcome.deduplicated = m.deduplicated;
    outcome
}

/// A visitor on `target`: hello, a first message acknowledged (its conversation).
async fn arrive(
    target: &Target,
    node: usize,
    index: usize,
    tracker: &Tracker,
) -> anyhow::Result<(Visitor, Ws)> {
    let mut ws = target.connect("/ws/visitor", None).await?;
    let welcome = client::visitor_hello(&mut ws, None, 0).await?;
    let token = welcome.token.context("no token for a new visitor")?;
    let first = format!("v{index}-m0");
    tracker.sent(0, std::time::Instant::now(), [(first.as_str(), index)]);
    client::send(&mut ws, client::send_frame(&first, "hello, I need help")).await?;
    let conversation = wait_ack(&mut ws, &first, tracker).await?;
    let visitor = Visitor {
        index,
        node,
        token,
        conversation,
    };
    Ok((visitor, ws))
}

/// Agent connections on `target` following every conversation; their readers book deliveries.
async fn agents(
    target: &Target,
    visitors: &[Visitor],
    tracker: &Arc<Tracker>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let cookie = target.login().await.context("agent sign-in")?;
    let mut readers = Vec::new();
    for chunk in visitors.chunks(FOLLOW_PER_AGENT) {
        let mut ws = target.agent(&cookie).await.context("agent connection")?;
        for v in chunk {
            let open = AgentFrame::Open {
                conversation: v.conversation,
                after_seq: 0,
            };
            client::send(&mut ws, open.to_json()).await?;
        }
        let tracker = tracker.clone();
        readers.push(tokio::spawn(async move {
            while let Ok(Some(text)) = client::next_text(&mut ws).await {
                if let Frame::Message { id, .. } = client::read(&text) {
                    tracker.agent(&id, std::time::Instant::now());
                }
            }
        }));
    }
    Ok(readers)
}

/// Every message stored in the run's database, by visitor index: (client id, seq) in seq order.
async fn stored_in_database(
    url: &str,
    visitors: &[Visitor],
) -> anyhow::Result<HashMap<usize, Replayed>> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT conversation_id, seq, client_id FROM messages ORDER BY conversation_id, seq",
    )
    .fetch_all(&mut conn)
    .await?;
    let _ = conn.close().await;
    let by_conversation: HashMap<i64, usize> =
        visitors.iter().map(|v| (v.conversation, v.index)).collect();
    let mut stored: HashMap<usize, Replayed> = HashMap::new();
    for v in visitors {
        stored.insert(v.index, Vec::new());
    }
    for (conversation, seq, id) in rows {
        if let Some(index) = by_conversation.get(&conversation) {
            let seq = u64::try_from(seq).unwrap_or(0);
            stored.entry(*index).or_default().push((id, seq));
        }
    }
    Ok(stored)
}

async fn run(
    deploy: &Deploy,
    args: &DurabilityArgs,
    number: usize,
    kill_at: Duration,
) -> anyhow::Result<Run> {
    let mut dep = Deployment::start(deploy).await?;
    let targets = Arc::new(dep.targets());
    let n = targets.len();
    let tracker = Arc::new(Tracker::default());

    let arrivals: Vec<anyhow::Result<(Visitor, Ws)>> = futures_util::stream::iter(0..args.visitors)
        .map(|i| {
            let (targets, tracker) = (targets.clone(), tracker.clone());
            async move { arrive(&targets[i % n], i % n, i, &tracker).await }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let mut movers = Vec::new();
    for arrival in arrivals {
        let (visitor, ws) = arrival.context("a visitor could not start")?;
        movers.push(Mover {
            visitor,
            ws: Some(ws),
            outbox: Vec::new(),
            last_seq: 1,
            tracker: tracker.clone(),
            resent: HashMap::new(),
            deduplicated: 0,
        });
    }
    movers.sort_by_key(|m| m.visitor.index);
    let visitors: Vec<Visitor> = movers.iter().map(|m| m.visitor.clone()).collect();
    let readers = agents(&targets[n - 1], &visitors, &tracker).await?;

    let start = Instant::now() + Duration::from_millis(50);
    let plan = Plan {
        run: number,
        period: Duration::from_secs_f64(args.visitors as f64 / args.rate.max(1.0)),
        start,
        send_until: start + kill_at + AFTER_KILL,
        give_up: start + kill_at + AFTER_KILL + DRAIN,
    };
    let moving = movers.len() as u32;
    let tasks: Vec<_> = movers
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            // Visitors' sends spread evenly over the period.
            let offset = plan.period * i as u32 / moving.max(1);
            tokio::spawn(drive(m, targets.clone(), plan, offset))
        })
        .collect();
    tokio::time::sleep_until(start + kill_at).await;
    dep.kill9(VICTIM);
    let outcomes = futures_util::future::join_all(tasks).await;

    let mut r = Run::default();
    for outcome in outcomes {
        let outcome = outcome.context("a visitor's task panicked")?;
        r.resent += outcome.resent;
        r.deduplicated += outcome.deduplicated;
        r.moved += u64::from(!outcome.reconnects.is_empty());
        r.reconnect.extend(outcome.reconnects);
        if let Some(why) = outcome.failed {
            r.failed += 1;
            if r.failed <= 3 {
                eprintln!("durability: {why}");
            }
        }
    }
    // The agent's last deliveries (10 s at most).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tracker.settled(1, true, false) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for reader in &readers {
        reader.abort();
    }
    let phase = tracker.result(1, std::time::Instant::now());
    r.unacked = phase.sent - phase.acked;
    r.agent_missing = phase.agent_missing;
    r.agent_duplicates = phase.agent_duplicates;

    let acked = tracker.acked_messages();
    let sent = tracker.sent_total();
    let url = dep.database_url().context("no database")?.to_owned();
    let stored = stored_in_database(&url, &visitors)
        .await
        .context("reading the messages from the database")?;
    r.db = RunResult {
        sent,
        acked: acked.len() as u64,
        ..RunResult::default()
    };
    tally(&acked, &visitors, &stored, &mut r.db);
    r.replay = RunResult {
        sent,
        acked: acked.len() as u64,
        ..RunResult::default()
    };
    let survivor = &targets[n - 1];
    let replayed = replay_all(survivor, &visitors, args.concurrency, &mut r.replay).await;
    tally(&acked, &visitors, &replayed, &mut r.replay);
    Ok(r)
}

/// Missing, duplicated, gaps and moved together (what must be 0).
fn wrong(r: &RunResult) -> u64 {
    r.missing + r.duplicates + r.gaps + r.moved
}

pub async fn scenario(deploy: &Deploy, args: &DurabilityArgs) -> anyhow::Result<()> {
    if deploy.nodes < 2 {
        bail!("the failover loop needs at least 2 nodes");
    }
    let kills = crate::durability::kill_times(args.runs);
    println!(
        "\ndurability on {} nodes (PostgreSQL + Redis; a fresh database and fresh nodes per run): \
         {} runs, {} visitors at {} msg/s spread over the nodes (agent following all on node {}), \
         node {} killed with SIGKILL between 1 and 3 s; its visitors resume on another node \
         (token + last seq) and resend what was not acknowledged; traffic goes on {} s after \
         the kill",
        deploy.nodes,
        args.runs,
        args.visitors,
        args.rate,
        deploy.nodes,
        VICTIM + 1,
        AFTER_KILL.as_secs()
    );
    println!(
        "{:>4}  {:>8}  {:>6}  {:>6}  {:>5}  {:>6}  {:>5}  {:>6}  {:>4}  {:>4}  {:>4}  {:>5}  {:>7}  {:>12}  {:>11}  {:>9}",
        "run",
        "kill at",
        "sent",
        "acked",
        "moved",
        "resent",
        "dedup",
        "stored",
        "lost",
        "dups",
        "gaps",
        "seq≠",
        "unacked",
        "replay wrong",
        "agent m/d",
        "reconnect"
    );
    let mut total = Run::default();
    for (i, kill_at) in kills.iter().enumerate() {
        let r = run(deploy, args, i + 1, *kill_at)
            .await
            .with_context(|| format!("durability run {}", i + 1))?;
        let reconnect = Dist::new(r.reconnect.clone());
        println!(
            "{:>4}  {:>6.2} s  {:>6}  {:>6}  {:>5}  {:>6}  {:>5}  {:>6}  {:>4}  {:>4}  {:>4}  {:>5}  {:>7}  {:>12}  {:>11}  {:>9}",
            i + 1,
            kill_at.as_secs_f64(),
            r.db.sent,
            r.db.acked,
            r.moved,
            r.resent,
            r.deduplicated,
            r.db.stored,
            r.db.missing,
            r.db.duplicates,
            r.db.gaps,
            r.db.moved,
            r.unacked,
            wrong(&r.replay) + r.replay.unreplayed,
            format!("{} / {}", r.agent_missing, r.agent_duplicates),
            ms(reconnect.max()),
        );
        total.db += r.db;
        total.replay += r.replay;
        total.resent += r.resent;
        total.deduplicated += r.deduplicated;
        total.moved += r.moved;
        total.unacked += r.unacked;
        total.failed += r.failed;
        total.agent_missing += r.agent_missing;
        total.agent_duplicates += r.agent_duplicates;
        total.reconnect.extend(r.reconnect);
    }
    let mut t = Table::new(format!(
        "durability: {} kill -9 runs on {} nodes, totals",
        args.runs, deploy.nodes
    ));
    let checked = |t: &mut Table, figure: &str, n: u64| {
        t.check(figure, count(n), "0", Some(n == 0));
    };
    t.info("messages sent", count(total.db.sent));
    t.info("acknowledged", count(total.db.acked));
    t.info("in the database after the runs", count(total.db.stored));
    t.info(
        "visitors moved to another node / messages resent",
        format!("{} / {}", count(total.moved), count(total.resent)),
    );
    checked(&mut t, "acknowledged but lost (database)", total.db.missing);
    checked(
        &mut t,
        "duplicated (same client id stored twice)",
        total.db.duplicates,
    );
    checked(
        &mut t,
        "conversations with gaps (seq not 1..n)",
        total.db.gaps,
    );
    checked(
        &mut t,
        "acked under one seq, stored under another",
        total.db.moved,
    );
    checked(
        &mut t,
        "replayed through a surviving node: lost/dups/gaps/moved",
        wrong(&total.replay),
    );
    checked(
        &mut t,
        "visitors whose replay failed",
        total.replay.unreplayed,
    );
    checked(&mut t, "sent but never acknowledged", total.unacked);
    checked(&mut t, "visitors that could not resume", total.failed);
    t.check(
        "agent (surviving node): missing / duplicates",
        format!(
            "{} / {}",
            count(total.agent_missing),
            count(total.agent_duplicates)
        ),
        "0 / 0",
        Some(total.agent_missing == 0 && total.agent_duplicates == 0),
    );
    t.info(
        "resends already stored before the kill (acked again, stored once)",
        count(total.deduplicated),
    );
    t.info(
        "stored but never acknowledged (allowed)",
        count(total.db.stored_unacked),
    );
    t.info(
        "reconnect (connection lost → welcome on another node) p50/p95/p99/max",
        Dist::new(total.reconnect).summary(),
    );
    t.print();
    Ok(())
}
