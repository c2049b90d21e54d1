//! `realtime-bench` (`cargo xtask bench realtime`): a load generator for Frontdesk's real-time
//! path. It starts the real `frontdesk serve` on 127.0.0.1 with every per-client limit off, speaks
//! the visitor and agent WebSocket protocol to it, and prints figures beside their budgets. It
//! never asserts on a budget: it exits non-zero only when something is broken (the server does
//! not start, nothing can connect). All traffic stays on loopback addresses; every loop is
//! bounded in count and time.

mod chat;
mod client;
mod cluster;
mod durability;
mod failover;
mod idle;
mod load;
mod report;
mod server;
mod storm;
mod track;

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "realtime-bench",
    about = "Load on the real-time path of a real `frontdesk serve` (127.0.0.1 only); prints figures beside budgets, never asserts."
)]
struct Args {
    /// The scenario to run
    #[arg(value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Path of the `frontdesk` binary to start
    #[arg(long)]
    frontdesk: PathBuf,
    /// Nodes to start (more than one needs --database and --redis); clients are spread over
    /// them so that messages cross nodes
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// PostgreSQL instead of SQLite: a URL whose role may create databases (each scenario and
    /// each durability run gets a fresh database on that server, dropped afterwards)
    #[arg(long)]
    database: Option<String>,
    /// Redis carrying events between the nodes
    #[arg(long)]
    redis: Option<String>,
    /// idle: visitor connections held
    #[arg(long, default_value_t = 15_000)]
    idle: usize,
    /// chat and fanout: chatting visitors (each with a second tab)
    #[arg(long, default_value_t = 200)]
    chat_visitors: usize,
    /// chat: offered rates in messages per second, in total (comma-separated sweep)
    #[arg(long, value_delimiter = ',', default_values_t = [400.0, 1000.0, 2000.0, 5000.0])]
    rate: Vec<f64>,
    /// chat and fanout: seconds per offered rate
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// fanout: offered chat rate, messages per second
    #[arg(long, default_value_t = 200.0)]
    fanout_rate: f64,
    /// fanout: idle visitors connected beside the chat, one level after another
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 15_000])]
    fanout: Vec<usize>,
    /// storm: visitors that disconnect and reconnect
    #[arg(long, default_value_t = 10_000)]
    storm: usize,
    /// storm: seconds over which they reconnect
    #[arg(long, default_value_t = 10.0)]
    storm_window: f64,
    /// storm: messages in each visitor's conversation
    #[arg(long, default_value_t = 3)]
    storm_messages: usize,
    /// durability: kill -9 runs
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// durability: chatting visitors
    #[arg(long, default_value_t = 50)]
    durability_visitors: usize,
    /// durability: offered rate, messages per second
    #[arg(long, default_value_t = 500.0)]
    durability_rate: f64,
    /// Connections opened at once
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Idle,
    Chat,
    Fanout,
    Storm,
    Durability,
}

fn main() {
    let args = Args::parse();
    let deploy = cluster::Deploy {
        bin: args.frontdesk.clone(),
        nodes: args.nodes,
        database: args.database.clone(),
        redis: args.redis.clone(),
    };
    if let Err(e) = deploy.check() {
        eprintln!("realtime-bench: {e}");
        std::process::exit(2);
    }
    let files = raise_open_files();
    println!(
        "realtime-bench: open files limit {files}; server {}",
        args.frontdesk.display()
    );
    if deploy.database.is_some() {
        println!("realtime-bench: {}", deploy.describe());
    }
    warn_about_files(&args, files);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let broken = runtime.block_on(run(&args, &deploy));
    // Held connections and their tasks go with the runtime; do not wait for them.
    runtime.shutdown_timeout(Duration::from_secs(5));
    if broken > 0 {
        eprintln!("realtime-bench: {broken} scenario(s) could not run");
        std::process::exit(1);
    }
}

/// Runs the chosen scenarios; returns how many could not run.
async fn run(args: &Args, deploy: &cluster::Deploy) -> usize {
    let all = args.scenario == Scenario::All;
    let wants = |s: Scenario| all || args.scenario == s;
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    let mut broken = 0;
    let mut outcome = |name: &str, result: anyhow::Result<()>| {
        if let Err(e) = result {
            eprintln!("\nrealtime-bench: {name} could not run: {e:#}");
            broken += 1;
        }
    };
    if wants(Scenario::Idle) {
        outcome(
            "idle",
            idle::scenario(deploy, args.idle, args.concurrency).await,
        );
    }
    if wants(Scenario::Chat) {
        let chat = chat::ChatArgs {
            visitors: args.chat_visitors,
            rates: args.rate.clone(),
            duration,
            concurrency: args.concurrency,
        };
        outcome("chat", chat::scenario(deploy, &chat).await);
    }
    if wants(Scenario::Fanout) {
        let fanout = chat::FanoutArgs {
            visitors: args.chat_visitors,
            rate: args.fanout_rate,
            idle: args.fanout.clone(),
            duration,
            concurrency: args.concurrency,
        };
        outcome("fanout", chat::fanout(deploy, &fanout).await);
    }
    if wants(Scenario::Storm) {
        let storm = storm::StormArgs {
            visitors: args.storm,
            window: Duration::from_secs_f64(args.storm_window.max(0.0)),
            messages: args.storm_messages.max(1),
            concurrency: args.concurrency,
        };
        outcome("storm", storm::scenario(deploy, &storm).await);
    }
    if wants(Scenario::Durability) {
        let durability = durability::DurabilityArgs {
            runs: args.runs,
            visitors: args.durability_visitors,
            rate: args.durability_rate,
            concurrency: args.concurrency,
        };
        let result = if deploy.nodes > 1 {
            failover::scenario(deploy, &durability).await
        } else {
            durability::scenario(deploy, &durability).await
        };
        outcome("durability", result);
    }
    broken
}

/// Raises the soft limit on open files to the hard limit; returns the limit in force.
fn raise_open_files() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// One process holds every client connection (and the server, its own limit inherited from
/// this one, holds as many): past the limit, connections fail and are reported as failures.
fn warn_about_files(args: &Args, files: u64) {
    let all = args.scenario == Scenario::All;
    let fanout = args.fanout.iter().max().copied().unwrap_or(0) + 2 * args.chat_visitors;
    let needed = [
        (Scenario::Idle, args.idle),
        (Scenario::Fanout, fanout),
        (Scenario::Storm, args.storm),
        (Scenario::Chat, 2 * args.chat_visitors),
    ]
    .into_iter()
    .filter(|(s, _)| all || args.scenario == *s)
    .map(|(_, n)| n as u64)
    .max()
    .unwrap_or(0);
    if needed + 200 > files {
        println!(
            "warning: up to {needed} connections at once, but a process may open {files} files: \
             connections past the limit will fail"
        );
    }
}
