//! The chat load shared by `chat`, `fanout` and `durability`: visitors (each optionally with a
//! second tab), agent connections following every conversation, and open-loop phases at a
//! given rate measuring ack and delivery latencies and exactly-once delivery.

use crate::client::{self, Frame, Target, Ws};
use crate::report::Dist;
use crate::track::Tracker;
use anyhow::{Context, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use protocol::AgentFrame;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Conversations one agent connection may follow (the server's `MAX_OPEN`).
const FOLLOW_PER_AGENT: usize = 200;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub visitors: usize,
    pub second_tab: bool,
    pub agent: bool,
    /// Connections being opened at once.
    pub concurrency: usize,
}

/// A visitor of the world: its token and conversation.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub index: usize,
    /// The node its sending tab is connected to.
    pub node: usize,
    pub token: String,
    pub conversation: i64,
}

/// Who reads a connection, so its frames are booked in the right column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The tab that sends: acks.
    Sender,
    /// The visitor's second tab: deliveries.
    SecondTab,
    Agent,
}

pub struct World {
    pub opts: Options,
    pub tracker: Arc<Tracker>,
    pub visitors: Vec<Visitor>,
    writers: Vec<mpsc::UnboundedSender<String>>,
    tasks: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    /// Visitors whose setup failed, with the first reasons.
    pub setup_failed: usize,
    pub setup_errors: Vec<String>,
    pub setup_time: Duration,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl World {
    /// Connects the agents, then every visitor (with bounded parallelism): hello, a first message
    /// (which creates its conversation) acknowledged, the second tab, the agent's `open`.
    ///
    /// With several nodes (`targets`), visitor i writes on node i % N, its second tab is on node
    /// (i + 1) % N and the agents are on the last node: every message reaches the second tab
    /// through another node, and the agent through another node for visitors not on the last.
    pub async fn setup(targets: &[Target], opts: Options) -> anyhow::Result<World> {
        let started = Instant::now();
        let tracker = Arc::new(Tracker::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let mut agents = Vec::new();
        let nodes = targets.len();
        if opts.agent {
            let target = &targets[nodes - 1];
            let cookie = target.login().await.context("agent sign-in")?;
            for _ in 0..opts.visitors.div_ceil(FOLLOW_PER_AGENT).max(1) {
                let ws = target.agent(&cookie).await.context("agent connection")?;
                let (sink, stream) = ws.split();
                tasks.push(reader(
                    stream,
                    Role::Agent,
                    tracker.clone(),
                    stopping.clone(),
                ));
                let (tx, task) = writer(sink);
                tasks.push(task);
                agents.push(tx);
            }
        }
        let results: Vec<_> = futures_util::stream::iter(0..opts.visitors)
            .map(|i| {
                let agent = agents.get(i / FOLLOW_PER_AGENT).cloned();
                let (tracker, stopping) = (tracker.clone(), stopping.clone());
                if opts.agent && i % nodes != nodes - 1 {
                    tracker.cross_node(i);
                }
                let tabs = (&targets[i % nodes], &targets[(i + 1) % nodes]);
                async move { visitor(tabs, i % nodes, opts, i, agent, tracker, stopping).await }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        let mut world = World {
            opts,
            tracker,
            visitors: Vec::new(),
            writers: Vec::new(),
            tasks,
            stopping,
            setup_failed: 0,
            setup_errors: Vec::new(),
            setup_time: Duration::ZERO,
        };
        for result in results {
            match result {
                Ok((visitor, tx, mut visitor_tasks)) => {
                    world.visitors.push(visitor);
                    world.writers.push(tx);
                    world.tasks.append(&mut visitor_tasks);
                }
                Err(e) => {
                    world.setup_failed += 1;
                    if world.setup_errors.len() < 3 {
                        world.setup_errors.push(format!("{e:#}"));
                    }
                }
            }
        }
        if world.visitors.is_empty() {
            bail!(
                "no visitor could be set up: {}",
                world.setup_errors.join("; ")
            );
        }
        world.setup_time = started.elapsed();
        Ok(world)
    }

    /// Offers `rate` messages/s in total for `duration`, round-robin over the visitors, without
    /// waiting for acks (open loop); stops early when `halt` is set. Returns the phase number.
    pub async fn offer(&self, rate: f64, duration: Duration, halt: Option<&AtomicBool>) -> u32 {
        let phase = self.tracker.begin_phase();
        let start = Instant::now();
        let total = (rate * duration.as_secs_f64()).round() as u64;
        let n = self.writers.len() as u64;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut k = 0u64;
        let mut batch = Vec::new();
        while k < total {
            tick.tick().await;
            if halt.is_some_and(|h| h.load(Ordering::Relaxed)) {
                break;
            }
            let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
            while k < due {
                let v = (k % n) as usize;
                let visitor = self.visitors[v].index;
                batch.push((v, visitor, format!("p{phase}-v{visitor}-m{k}"), k));
                k += 1;
            }
            if batch.is_empty() {
                continue;
            }
            let now = Instant::now();
            self.tracker.sent(
                phase,
                now,
                batch
                    .iter()
                    .map(|(_, visitor, id, _)| (id.as_str(), *visitor)),
            );
            for (v, _, id, k) in batch.drain(..) {
                let body = format!("load message {k} at {rate} msg/s");
                let _ = self.writers[v].send(client::send_frame(&id, &body));
            }
        }
        phase
    }

    /// Waits (at most `limit`) until every message of `phase` is answered and delivered.
    pub async fn settle(&self, phase: u32, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self
                .tracker
                .settled(phase, self.opts.agent, self.opts.second_tab)
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One measured phase: offer, settle (up to 10 s + the phase's length), summarise.
    pub async fn phase(&self, rate: f64, duration: Duration) -> PhaseResult {
        let start = Instant::now();
        let phase = self.offer(rate, duration, None).await;
        let settled = self.settle(phase, Duration::from_secs(10) + duration).await;
        let mut result = self.tracker.result(phase, start);
        result.rate = rate;
        result.duration = duration;
        result.settled = settled;
        result
    }
}

/// What one phase measured.
#[derive(Debug, Default)]
pub struct PhaseResult {
    pub rate: f64,
    pub duration: Duration,
    pub settled: bool,
    pub sent: u64,
    pub acked: u64,
    pub ack: Dist,
    pub agent: Dist,
    /// Deliveries to the agent of messages written on another node.
    pub agent_cross: Dist,
    /// The same deliveries counted from the ack's arrival instead of the send: the hop between
    /// nodes once the message is stored (0 when the delivery came first).
    pub agent_cross_after_ack: Dist,
    pub tab: Dist,
    pub agent_missing: u64,
    pub agent_duplicates: u64,
    pub tab_missing: u64,
    pub tab_duplicates: u64,
    /// Acks per second from the phase's start to its last ack.
    pub achieved: f64,
    pub errors: std::collections::BTreeMap<String, u64>,
    pub disconnects: u64,
    /// When (seconds into the phase) the messages acked in over 20 ms were sent, sorted.
    pub slow_acks: Vec<f64>,
}

type Setup = (Visitor, mpsc::UnboundedSender<String>, Vec<JoinHandle<()>>);

async fn visitor(
    (target, second_target): (&Target, &Target),
    node: usize,
    opts: Options,
    index: usize,
    agent: Option<mpsc::UnboundedSender<String>>,
    tracker: Arc<Tracker>,
    stopping: Arc<AtomicBool>,
) -> anyhow::Result<Setup> {
    let mut tab = target.connect("/ws/visitor", None).await?;
    let welcome = client::visitor_hello(&mut tab, None, 0).await?;
    let token = welcome.token.context("no token for a new visitor")?;
    let first = format!("v{index}-m0");
    tracker.sent(0, Instant::now(), [(first.as_str(), index)]);
    client::send(&mut tab, client::send_frame(&first, "hello, I need help")).await?;
    let conversation = wait_ack(&mut tab, &first, &tracker).await?;
    let mut tasks = Vec::new();
    if opts.second_tab {
        let mut second = second_target.connect("/ws/visitor", None).await?;
        client::visitor_hello(&mut second, Some(&token), 0).await?;
        let (_sink, stream) = second.split();
        tasks.push(reader(
            stream,
            Role::SecondTab,
            tracker.clone(),
            stopping.clone(),
        ));
    }
    if let Some(agent) = agent {
        let open = AgentFrame::Open {
            conversation,
            after_seq: 0,
        };
        agent.send(open.to_json()).context("agent writer ended")?;
    }
    let (sink, stream) = tab.split();
    tasks.push(reader(stream, Role::Sender, tracker, stopping));
    let (tx, task) = writer(sink);
    tasks.push(task);
    let visitor = Visitor {
        index,
        node,
        token,
        conversation,
    };
    Ok((visitor, tx, tasks))
}

/// Reads `ws` until the ack of `id`; returns its conversation.
pub async fn wait_ack(ws: &mut Ws, id: &str, tracker: &Tracker) -> anyhow::Result<i64> {
    let work = async {
        while let Some(text) = client::next_text(ws).await? {
            let at = Instant::now();
            match client::read(&text) {
                Frame::Ack {
                    id: acked,
                    conversation,
                    seq,
                } if acked == id => {
                    tracker.acked(&acked, conversation, seq, at);
                    return Ok(conversation);
                }
                Frame::Error { code, id } => {
                    tracker.error(&code, id.as_deref());
                    bail!("error {code} before the first ack");
                }
                _ => {}
            }
        }
        bail!("closed before the first ack")
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .context("no ack for the first message in 30 s")?
}

fn reader(
    mut stream: SplitStream<Ws>,
    role: Role,
    tracker: Arc<Tracker>,
    stopping: Arc<AtomicBool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(message) = stream.next().await {
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(_) => continue,
                Err(_) => break,
            };
            let at = Instant::now();
            match (client::read(text.as_str()), role) {
                (
                    Frame::Ack {
                        id,
                        conversation,
                        seq,
                    },
                    Role::Sender,
                ) => tracker.acked(&id, conversation, seq, at),
                (Frame::Message { id, .. }, Role::SecondTab) => tracker.tab(&id, at),
                (Frame::Message { id, .. }, Role::Agent) => tracker.agent(&id, at),
                (Frame::Error { code, id }, _) => tracker.error(&code, id.as_deref()),
                _ => {}
            }
        }
        if !stopping.load(Ordering::Relaxed) {
            tracker.disconnected();
        }
    })
}

fn writer(mut sink: SplitSink<Ws, Message>) -> (mpsc::UnboundedSender<String>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    });
    (tx, task)
}
