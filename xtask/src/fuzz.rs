//! `cargo xtask fuzz [SECONDS] [TARGET..]`: runs the cargo-fuzz targets of `fuzz/` (libFuzzer,
//! AddressSanitizer) on their corpora in `fuzz/corpus/`, each for SECONDS (default 600), and
//! stops at the first crash (its input is written under `fuzz/artifacts/`). `cargo xtask test`
//! replays every corpus (seconds, deterministic: no random mutation that could fail CI by
//! chance; finding new inputs is the long run's job).

use crate::util;
use std::process::Command;

/// Every target, in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 5] = [
    "visitor_frame",
    "agent_frame",
    "index_from_bytes",
    "query",
    "article",
];

/// cargo-fuzz from crates.io, installed once per machine.
fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        util::step("cargo install cargo-fuzz --locked (once per machine)");
        util::run(util::cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// How long each target runs.
pub enum Budget {
    /// Fuzz for this many seconds.
    Seconds(u64),
    /// Run the corpus once, no mutation.
    Replay,
}

/// Runs `targets`, each within `budget`.
pub fn run(budget: Budget, targets: &[&str]) -> anyhow::Result<()> {
    ensure_cargo_fuzz()?;
    let root = util::root();
    let target_dir = util::target_dir()?.join("fuzz");
    for target in targets {
        if !TARGETS.contains(target) {
            anyhow::bail!("unknown fuzz target {target:?}; the targets are {TARGETS:?}");
        }
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let limit = match budget {
            Budget::Seconds(seconds) => {
                util::step(&format!("fuzz {target} for {seconds} s"));
                format!("-max_total_time={seconds}")
            }
            Budget::Replay => {
                util::step(&format!("fuzz {target}: replay its corpus"));
                "-runs=0".to_owned()
            }
        };
        util::run(
            util::cargo()
                .args(["fuzz", "run", "-O", target])
                .arg(&corpus)
                .args([
                    "--",
                    &limit,
                    "-rss_limit_mb=2048",
                    "-timeout=10",
                    "-print_final_stats=1",
                ])
                // libFuzzer instrumentation needs `-Z` flags; the stable toolchain here allows
                // them with RUSTC_BOOTSTRAP (no other toolchain can be installed).
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_DIR", &target_dir)
                .current_dir(root.join("fuzz")),
        )?;
    }
    Ok(())
}

pub fn command(args: &[String]) -> anyhow::Result<()> {
    let seconds = match args.first().map(|a| a.parse::<u64>()) {
        Some(Ok(s)) => s,
        Some(Err(_)) => anyhow::bail!("usage: cargo xtask fuzz [SECONDS] [TARGET..]"),
        None => 600,
    };
    let named: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let targets = if named.is_empty() {
        &TARGETS[..]
    } else {
        &named
    };
    run(Budget::Seconds(seconds), targets)
}
