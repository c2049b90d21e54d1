//! The `chat` scenario (a sweep of offered rates: ack and delivery latency, throughput,
//! exactly-once) and the `fanout` scenario (chat at 200 msg/s beside many idle visitors).

use crate::client::Target;
use crate::cluster::{Deploy, Deployment};
use crate::idle::Crowd;
use crate::load::{Options, PhaseResult, World};
use crate::report::{Table, count, millis, ms, within};
use crate::server::cpu_seconds;
use std::time::{Duration, Instant};

pub struct ChatArgs {
    pub visitors: usize,
    pub rates: Vec<f64>,
    pub duration: Duration,
    pub concurrency: usize,
}

/// A deployment with the chat world set up on it.
struct Stage {
    world: World,
    targets: Vec<Target>,
    dep: Deployment,
}

/// Cross-node delivery budget: p99 ≤ 50 ms at up to 2,000 msg/s.
const CROSS_NODE_P99_MS: f64 = 50.0;
const CROSS_NODE_RATE: f64 = 2000.0;

async fn stage(deploy: &Deploy, visitors: usize, concurrency: usize) -> anyhow::Result<Stage> {
    let dep = Deployment::start(deploy).await?;
    let targets = dep.targets();
    let opts = Options {
        visitors,
        second_tab: true,
        agent: true,
        concurrency,
    };
    let world = World::setup(&targets, opts).await?;
    let spread = match dep.len() {
        1 => String::new(),
        n => format!(
            " over {n} nodes (visitor i on node i % {n}, its second tab on the next node, \
             the agent on node {n})"
        ),
    };
    println!(
        "\nset up {} visitors (+ a second tab each) and {} agent connection(s){spread} in {:.1} s{}",
        count(world.visitors.len() as u64),
        visitors.div_ceil(200).max(1),
        world.setup_time.as_secs_f64(),
        match world.setup_failed {
            0 => String::new(),
            n => format!("; {n} failed: {}", world.setup_errors.join("; ")),
        }
    );
    Ok(Stage {
        world,
        targets,
        dep,
    })
}

/// One phase with the CPU time the server(s) and the bench used during it.
async fn measured(stage: &Stage, rate: f64, duration: Duration) -> (PhaseResult, String) {
    let (s0, b0, t0) = (
        stage.dep.cpu(),
        cpu_seconds(std::process::id()),
        Instant::now(),
    );
    let result = stage.world.phase(rate, duration).await;
    let wall = t0.elapsed().as_secs_f64();
    let servers = Deployment::cpu_share(&s0, &stage.dep.cpu(), wall);
    let cpu = match (servers, b0, cpu_seconds(std::process::id())) {
        (Some(servers), Some(b0), Some(b1)) => format!(
            "{servers}, bench {:.0} % of one core",
            (b1 - b0) / wall * 100.0
        ),
        _ => "-".into(),
    };
    (result, cpu)
}

/// The rows every chat phase prints (`nodes` > 1: the cross-node delivery too).
fn phase_rows(t: &mut Table, r: &PhaseResult, cpu: &str, nodes: usize) {
    t.info(
        "messages sent / acked",
        format!("{} / {}", count(r.sent), count(r.acked)),
    );
    t.info(
        "achieved (acked per second)",
        format!("{:.0} msg/s", r.achieved),
    );
    t.check(
        "ack p50",
        ms(r.ack.p(0.5)),
        "≤ 2 ms",
        within(r.ack.p(0.5), 2.0),
    );
    t.info("ack p95", ms(r.ack.p(0.95)));
    t.check(
        "ack p99",
        ms(r.ack.p(0.99)),
        "≤ 20 ms",
        within(r.ack.p(0.99), 20.0),
    );
    t.info("ack max", ms(r.ack.max()));
    if let (Some(first), Some(last)) = (r.slow_acks.first(), r.slow_acks.last()) {
        t.info(
            "acks over 20 ms: sent at",
            format!(
                "{} message(s), {first:.1} s to {last:.1} s into the phase",
                count(r.slow_acks.len() as u64)
            ),
        );
    }
    t.info("to agent p50/p95/p99/max", r.agent.summary());
    if nodes > 1 {
        cross_node_rows(t, r);
        t.info(
            "to second tab (another node) p50/p95/p99/max",
            r.tab.summary(),
        );
    } else {
        t.info("to second tab p50/p95/p99/max", r.tab.summary());
    }
    let exactly = |missing: u64, dups: u64| {
        (
            format!("{missing} missing, {dups} duplicates"),
            Some(missing == 0 && dups == 0),
        )
    };
    let (v, ok) = exactly(r.agent_missing, r.agent_duplicates);
    t.check("exactly once to agent", v, "0 / 0", ok);
    let (v, ok) = exactly(r.tab_missing, r.tab_duplicates);
    t.check("exactly once to second tab", v, "0 / 0", ok);
    t.check(
        "unacknowledged",
        count(r.sent - r.acked),
        "0",
        Some(r.sent == r.acked),
    );
    let errors: u64 = r.errors.values().sum();
    let listed = r
        .errors
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    t.check(
        "error frames",
        if errors == 0 { "none".into() } else { listed },
        "0",
        Some(errors == 0),
    );
    t.check(
        "connections lost",
        count(r.disconnects),
        "0",
        Some(r.disconnects == 0),
    );
    if !r.settled {
        t.note("gave up waiting for the last acks/deliveries (10 s + the phase's length)");
    }
    t.info("CPU during the phase", cpu);
}

/// Send → the agent on another node received it (visitors who write on another node than the
/// agent's), beside the budget when the offered rate is within the budget's rate.
fn cross_node_rows(t: &mut Table, r: &PhaseResult) {
    let d = &r.agent_cross;
    t.info(
        "cross-node: to agent on another node p50/p95/p99/max",
        d.summary(),
    );
    t.info(
        "cross-node: same, from the ack's arrival p50/p95/p99/max",
        r.agent_cross_after_ack.summary(),
    );
    let budget = format!("≤ {CROSS_NODE_P99_MS:.0} ms at 2,000 msg/s");
    let ok = (r.rate <= CROSS_NODE_RATE)
        .then(|| within(d.p(0.99), CROSS_NODE_P99_MS))
        .flatten();
    t.check(
        format!(
            "cross-node delivery p99 ({} messages)",
            count(d.len() as u64)
        ),
        ms(d.p(0.99)),
        budget,
        ok,
    );
}

/// `chat`: the sweep of offered rates on one deployment.
pub async fn scenario(deploy: &Deploy, args: &ChatArgs) -> anyhow::Result<()> {
    let stage = stage(deploy, args.visitors, args.concurrency).await?;
    let nodes = stage.dep.len();
    let mut summary = Table::new(format!(
        "chat summary: {} visitors, {} s per rate{}",
        count(stage.world.visitors.len() as u64),
        args.duration.as_secs_f64(),
        on_nodes(nodes)
    ));
    let mut best: f64 = 0.0;
    let mut cross = Vec::new();
    for &rate in &args.rates {
        let (r, cpu) = measured(&stage, rate, args.duration).await;
        let mut t = Table::new(format!(
            "chat: {} msg/s offered for {} s over {} visitors (+ second tabs, agent following all){}",
            rate,
            args.duration.as_secs_f64(),
            count(stage.world.visitors.len() as u64),
            on_nodes(nodes)
        ));
        phase_rows(&mut t, &r, &cpu, nodes);
        t.print();
        best = best.max(r.achieved);
        if nodes > 1 {
            cross.push((rate, r.agent_cross.p(0.99)));
        }
        summary.info(
            format!("{rate} msg/s offered"),
            format!(
                "{:.0} acked/s, ack p50 {}, p99 {}",
                r.achieved,
                ms(r.ack.p(0.5)),
                ms(r.ack.p(0.99))
            ),
        );
    }
    summary.check(
        "highest achieved acked rate",
        format!("{best:.0} msg/s"),
        "≥ 5,000 msg/s",
        Some(best >= 5000.0),
    );
    for (rate, p99) in cross {
        let ok = (rate <= CROSS_NODE_RATE)
            .then(|| within(p99, CROSS_NODE_P99_MS))
            .flatten();
        summary.check(
            format!("cross-node delivery p99 at {rate} msg/s"),
            ms(p99),
            format!("≤ {CROSS_NODE_P99_MS:.0} ms at 2,000 msg/s"),
            ok,
        );
    }
    if stage.world.tracker.unknown() > 0 {
        summary.note(format!(
            "{} acks/messages named ids this bench never sent",
            stage.world.tracker.unknown()
        ));
    }
    stage.dep.server_log(&mut summary);
    summary.print();
    Ok(())
}

/// " on N nodes" in titles when there are several.
fn on_nodes(nodes: usize) -> String {
    match nodes {
        1 => String::new(),
        n => format!(" on {n} nodes"),
    }
}

/// Pause between connecting idle visitors and measuring: the server finishes the work of the
/// connection burst (visitor rows, WAL checkpoint) first.
const SETTLE: Duration = Duration::from_secs(3);

pub struct FanoutArgs {
    pub visitors: usize,
    pub rate: f64,
    pub idle: Vec<usize>,
    pub duration: Duration,
    pub concurrency: usize,
}

/// `fanout`: chat at a low rate alone, then beside growing crowds of idle visitors.
pub async fn fanout(deploy: &Deploy, args: &FanoutArgs) -> anyhow::Result<()> {
    let stage = stage(deploy, args.visitors, args.concurrency).await?;
    let nodes = stage.dep.len();
    let mut summary = Table::new(format!(
        "fanout: chat at {} msg/s with idle visitors connected{}",
        args.rate,
        on_nodes(nodes)
    ));
    let (alone, cpu) = measured(&stage, args.rate, args.duration).await;
    let mut t = Table::new(format!("fanout: chat alone at {} msg/s", args.rate));
    phase_rows(&mut t, &alone, &cpu, nodes);
    t.print();
    let alone_p99 = alone.ack.p(0.99);
    summary.info("ack p99, chat alone", ms(alone_p99));
    let mut crowd = Crowd::new();
    for (i, &level) in args.idle.iter().enumerate() {
        let started = Instant::now();
        let wanted = level.saturating_sub(crowd.len());
        crowd.grow(&stage.targets, wanted, args.concurrency).await;
        println!(
            "\n{} idle visitors connected ({} failed) in {:.1} s; server RSS {}; \
             measuring after a {} s pause",
            count(crowd.len() as u64),
            crowd.failed,
            started.elapsed().as_secs_f64(),
            crate::server::mib(stage.dep.rss_kib().unwrap_or(0)),
            SETTLE.as_secs()
        );
        tokio::time::sleep(SETTLE).await;
        let (r, cpu) = measured(&stage, args.rate, args.duration).await;
        let mut t = Table::new(format!(
            "fanout: chat at {} msg/s beside {} idle visitors",
            args.rate,
            count(crowd.len() as u64)
        ));
        phase_rows(&mut t, &r, &cpu, nodes);
        t.print();
        let p99 = r.ack.p(0.99);
        let (budget, ok) = match (i, alone_p99) {
            (0, _) => ("≤ 20 ms".to_owned(), within(p99, 20.0)),
            (_, Some(a)) => (
                format!("≤ 2× alone ({:.2} ms)", 2.0 * millis(a)),
                within(p99, 2.0 * millis(a)),
            ),
            (_, None) => ("≤ 2× alone".to_owned(), None),
        };
        summary.check(
            format!("ack p99 with {} idle", count(crowd.len() as u64)),
            ms(p99),
            budget,
            ok,
        );
        summary.check(
            format!("idle connections failed (of {})", count(level as u64)),
            count(crowd.failed as u64),
            "0",
            Some(crowd.failed == 0),
        );
    }
    crowd.note_reasons(&mut summary);
    stage.dep.server_log(&mut summary);
    summary.print();
    crowd.close().await;
    Ok(())
}
