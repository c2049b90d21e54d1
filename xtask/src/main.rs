//! `cargo xtask`: the project's multi-step jobs (build the web assets, run the demo, run every test).

mod bench;
mod build;
mod fuzz;
mod realtime;
mod schemathesis;
mod services;
mod util;
mod wasm;

use anyhow::bail;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  build            build the widget and console to wasm, write dist/, print sizes, check budgets
  demo [ARGS..]    build everything and start the demo server (extra ARGS go to `frontdesk serve`)
  test             install what tests need, then run every test (Rust, end-to-end in Chromium,
                   each fuzz target's corpus replayed, schemathesis on the REST API) with a
                   private PostgreSQL and Redis running
  schemathesis     build frontdesk and check the public API against its OpenAPI document with
                   schemathesis (also the last step of `test`)
  services         start the tests' private PostgreSQL and Redis, print their `export`s, and keep
                   them until Ctrl-C or end of input (for running tests by hand)
  fuzz [SECONDS] [TARGET..]
                   run the cargo-fuzz targets of fuzz/ on their corpora, SECONDS each
                   (default 600): frame decoders, index loader, query engine, article loader
  bench search-browser
                   2,500 and 20,000 generated articles, whole index and chunked: bytes to the
                   first suggestion, per-keystroke latency of the wasm engine in headless Chromium
  bench messages   agent search over 100,000 stored messages (tantivy)
  bench realtime [ARGS..]
                   visitor and agent WebSocket load on a real server on 127.0.0.1: idle memory,
                   chat latency and throughput, fan-out, reconnect storm, kill -9 durability
                   (extra ARGS go to realtime-bench, e.g. `chat --rate 400 --duration 3`;
                   `--nodes 2` runs them on two nodes on PostgreSQL + Redis: private ones
                   unless `--database URL --redis URL` are given)
  bench reports    every report over 1,000,000 messages and 100,000 conversations, on SQLite
                   and on a private PostgreSQL (budget 200 ms each)
  bench widget     loader main-thread time, launcher and open-to-usable times in Chromium
  bench search     relevance, size and native latency of the FAQ search on ../shared/corpus,
                   beside the peers' figures (extra ARGS go to search-bench)
";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("build") => build::build(),
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("services") => services::command(),
        Some("schemathesis") => {
            util::run(
                util::cargo()
                    .args(["build", "-p", "frontdesk"])
                    .current_dir(util::root()),
            )?;
            schemathesis::run(&util::target_dir()?.join("debug/frontdesk"))
        }
        Some("fuzz") => fuzz::command(&args[1..]),
        Some("bench") if args.get(1).map(String::as_str) == Some("widget") => bench_widget(),
        Some("bench") if args.get(1).map(String::as_str) == Some("messages") => util::run(
            util::cargo()
                .args(["run", "--release", "--quiet", "-p", "server-search"])
                .args(["--bin", "search-messages-bench"])
                .current_dir(util::root()),
        ),
        Some("bench") if args.get(1).map(String::as_str) == Some("realtime") => {
            realtime::bench(&args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("search-browser") => {
            bench::search_browser(&args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("search") => {
            bench_search(&args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("reports") => bench_reports(),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn demo(extra: &[String]) -> anyhow::Result<()> {
    build::build()?;
    let root = util::root();
    let mut args: Vec<String> = ["run", "--quiet", "-p", "frontdesk", "--", "serve", "--demo"]
        .map(String::from)
        .to_vec();
    if !extra.iter().any(|a| a.starts_with("--data")) {
        args.extend(["--data".into(), root.join("data").display().to_string()]);
    }
    args.extend(extra.iter().cloned());
    util::run(util::cargo().args(&args).current_dir(&root))
}

/// The widget's speed budgets in headless Chromium (tests/e2e/bench-widget.mjs).
fn bench_widget() -> anyhow::Result<()> {
    let root = util::root();
    util::ensure_chromium()?;
    util::ensure_npm_packages(&root.join("tests/e2e"))?;
    build::build()?;
    util::run(
        util::cargo()
            .args(["build", "-p", "frontdesk"])
            .current_dir(&root),
    )?;
    util::run(
        std::process::Command::new("node")
            .arg("tests/e2e/bench-widget.mjs")
            .env("FRONTDESK_BIN", util::target_dir()?.join("debug/frontdesk"))
            .env("CHROMIUM", util::CHROMIUM)
            .current_dir(&root),
    )
}

/// The reports' timings on SQLite, then on the private PostgreSQL `services` starts.
fn bench_reports() -> anyhow::Result<()> {
    let root = util::root();
    let bench = || {
        let mut c = util::cargo();
        c.args(["run", "--release", "--quiet", "-p", "reports-bench", "--"])
            .current_dir(&root);
        c
    };
    util::run(&mut bench())?;
    let services = services::start_given(services::Given {
        database: services::given(services::DATABASE_URL),
        redis: None,
        nginx: None,
        want_nginx: false,
    })?;
    util::run(bench().args(["--database", &services.database_url]))
}

/// The search benchmark in browser mode (no query-time stemmer, as the widget runs it).
fn bench_search(extra: &[String]) -> anyhow::Result<()> {
    let root = util::root();
    let corpus = root.join("../shared/corpus");
    if !corpus.join("queries.jsonl").exists() {
        bail!(
            "{} has no queries.jsonl: the benchmark needs the shared corpus",
            corpus.display()
        );
    }
    let mut args: Vec<String> = ["run", "--release", "--quiet", "-p", "search-bench", "--"]
        .map(String::from)
        .to_vec();
    args.extend([
        "--corpus".into(),
        corpus.display().to_string(),
        "--typos".into(),
        "--browser".into(),
    ]);
    args.extend(extra.iter().cloned());
    util::run(util::cargo().args(&args).current_dir(&root))
}

fn test() -> anyhow::Result<()> {
    let root = util::root();
    util::ensure_chromium()?;
    util::ensure_npm_packages(&root.join("tests/e2e"))?;
    // Real PostgreSQL and Redis for the whole run; dropped (stopped, folder removed) when this
    // function returns, on success, error or panic alike.
    let services = services::start()?;
    let python = util::ensure_python_venv()?;
    // Tests that need a service fail instead of skipping when its variable is missing.
    let env = || {
        let mut env = services.env();
        env.push(("FRONTDESK_REQUIRE_SERVICES", "1".into()));
        env.push(("FRONTDESK_TEST_PYTHON", python.display().to_string()));
        env
    };
    build::build()?;
    util::step("cargo test --workspace");
    util::run(
        util::cargo()
            .args(["test", "--workspace"])
            .envs(env())
            .current_dir(&root),
    )?;
    util::ensure_wasm_test_runner()?;
    util::step("wasm tests (wasm32-unknown-unknown, wasm-bindgen-test-runner in Node)");
    util::run(
        util::cargo()
            .args(["test", "--target", "wasm32-unknown-unknown", "--lib"])
            .args(["-p", "protocol", "-p", "widget", "-p", "console"])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .envs(env())
            .current_dir(&root),
    )?;
    util::step("cargo build -p frontdesk");
    util::run(
        util::cargo()
            .args(["build", "-p", "frontdesk"])
            .current_dir(&root),
    )?;
    // The decoders that read untrusted bytes, on their fuzz corpora.
    fuzz::run(fuzz::Budget::Replay, &fuzz::TARGETS)?;
    let bin = util::target_dir()?.join("debug/frontdesk");
    util::step("browser end-to-end tests (node --test, headless Chromium)");
    util::run(
        std::process::Command::new("node")
            .args([
                "--test",
                "--test-concurrency=1",
                "--test-reporter=spec",
                "tests/e2e/",
            ])
            .env("FRONTDESK_BIN", &bin)
            .env("CHROMIUM", util::CHROMIUM)
            .envs(env())
            .current_dir(&root),
    )?;
    // The REST API against its own OpenAPI document.
    schemathesis::run(&bin)
}
