//! `cargo xtask bench search-browser`: keystroke latency of the FAQ search in headless Chromium.
//!
//! For 2,500 and 20,000 articles: generates the index with search-bench's generator (in a temp
//! folder), whole and chunked (search-bench prints the bytes each costs a first suggestion:
//! the whole file, or the entry, the chunks of the first keystrokes and the document chunks of
//! the results shown, brotli), builds
//! `crates/search-wasm-bench` with the `wasm-release` profile, runs wasm-bindgen in-process,
//! serves the files from a tiny static server on 127.0.0.1 (cross-origin isolated, so
//! `performance.now()` has its fine resolution), and drives Debian's Chromium through node and
//! `playwright-core` (from `tests/e2e/node_modules`). Every keystroke prefix of the corpus title
//! queries is replayed once to warm up, then measured, on the single file and on the chunked
//! form (its chunks fetched before a keystroke is timed: the latency once they are loaded).
//! Figures are printed beside the budgets, never asserted.

use crate::util;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Articles in the generated indexes.
const ARTICLES: [usize; 2] = [2_500, 20_000];
/// The budget of bytes fetched before the first suggestion (brotli), in KB.
const BUDGET_KB: f64 = 100.0;
/// The acceptance target: p95 per keystroke, in microseconds.
const TARGET_P95_US: f64 = 1_000.0;

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>search-wasm-bench</title>
<script type="module">
import init, { load, run, load_chunked, missing, missing_docs, add, run_chunked } from "./search_wasm_bench.js";
async function main() {
  await init({ module_or_path: "./search_wasm_bench_bg.wasm" });
  const queries = await (await fetch("./queries.json")).json();
  const isolated = self.crossOriginIsolated === true;
  if (new URLSearchParams(location.search).get("mode") === "chunked") {
    const entry = new Uint8Array(await (await fetch("./entry.fdx")).arrayBuffer());
    const [docs, loadUs] = load_chunked(entry);
    let bytes = entry.length;
    const seen = new Set();
    const need = async (names) => {
      for (const n of names) {
        if (seen.has(n)) continue;
        seen.add(n);
        const b = new Uint8Array(await (await fetch("./" + n)).arrayBuffer());
        bytes += b.length;
        add(n, b);
      }
    };
    // Every keystroke's chunks, then its results' document chunks, before any timing.
    for (const q of queries) {
      await need(missing(q));
      await need(missing_docs(q));
    }
    run_chunked(queries); // warm-up: every keystroke once
    const us = Array.from(run_chunked(queries));
    window.__result = { docs, loadUs, bytes, files: seen.size + 1, us, isolated };
    return;
  }
  const index = new Uint8Array(await (await fetch("./index.fdx")).arrayBuffer());
  const [docs, loadUs] = load(index);
  run(queries); // warm-up: every keystroke once
  const us = Array.from(run(queries));
  window.__result = { docs, loadUs, bytes: index.length, files: 1, us, isolated };
}
main().catch((e) => { window.__result = { error: String(e && e.stack || e) }; });
</script>
"#;

const DRIVER: &str = r#"// Drives headless Chromium to the benchmark page and prints its result as JSON.
import { createRequire } from "node:module";
const [, , url, e2e] = process.argv;
const require = createRequire(e2e + "/package.json");
const { chromium } = require("playwright-core");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error("page:", m.text()));
  await page.goto(url);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 600000 });
  const result = await page.evaluate(() => window.__result);
  result.browser = browser.version();
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
"#;

/// Runs the browser benchmark.
pub fn search_browser(_extra: &[String]) -> anyhow::Result<()> {
    let root = util::root();
    let corpus = root.join("../shared/corpus");
    if !corpus.join("queries.jsonl").exists() {
        bail!(
            "{} has no queries.jsonl: the benchmark needs the shared corpus",
            corpus.display()
        );
    }
    let e2e = root.join("tests/e2e");
    if !e2e.join("node_modules/playwright-core").exists() {
        bail!(
            "{} is missing: run `cargo xtask test` once (it installs the e2e packages)",
            e2e.join("node_modules/playwright-core").display()
        );
    }
    util::ensure_chromium()?;
    util::ensure_wasm_target()?;
    let dir = std::env::temp_dir().join(format!("frontdesk-search-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(&root, &corpus, &e2e, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(root: &Path, corpus: &Path, e2e: &Path, dir: &Path) -> anyhow::Result<()> {
    util::step("cargo build (wasm32, profile wasm-release): search-wasm-bench");
    util::run(
        util::cargo()
            .args([
                "build",
                "--profile",
                "wasm-release",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "search-wasm-bench",
            ])
            .current_dir(root),
    )?;
    let wasm =
        util::target_dir()?.join("wasm32-unknown-unknown/wasm-release/search_wasm_bench.wasm");
    let mut summary = Vec::new();
    for n in ARTICLES {
        let dir = dir.join(n.to_string());
        std::fs::create_dir_all(&dir)?;
        util::step(&format!(
            "search-bench --generated {n}: index (whole and chunked) and keystrokes"
        ));
        let out = util::output(
            util::cargo()
                .args(["run", "--release", "--quiet", "-p", "search-bench", "--"])
                .arg("--corpus")
                .arg(corpus)
                .args(["--generated", &n.to_string()])
                .arg("--write-index")
                .arg(dir.join("index.fdx"))
                .arg("--write-chunked")
                .arg(&dir)
                .arg("--write-queries")
                .arg(dir.join("queries.json"))
                .current_dir(root),
        )?;
        print!("{out}");
        let first = |what: &str| {
            out.lines()
                .find(|l| l.starts_with("Bytes to the first suggestion") && l.contains(what))
                .and_then(|l| l.split_once(": ").map(|(_, v)| v.to_string()))
                .unwrap_or_else(|| "?".into())
        };
        util::step("wasm-bindgen (in-process)");
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&wasm)
            .web(true)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?
            .typescript(false)
            .generate(&dir)
            .map_err(|e| anyhow::anyhow!("wasm-bindgen failed for search-wasm-bench: {e:#}"))?;
        std::fs::write(dir.join("index.html"), PAGE)?;
        std::fs::write(dir.join("driver.mjs"), DRIVER)?;
        let wasm_len = std::fs::metadata(dir.join("search_wasm_bench_bg.wasm"))?.len();
        for (mode, bytes) in [
            ("single", first("single file")),
            ("chunked", first("chunked")),
        ] {
            util::step(&format!(
                "headless Chromium, {n} articles, {mode}: every keystroke of the title queries"
            ));
            let p95 = browser(&dir, e2e, mode, n, wasm_len)?;
            summary.push(format!(
                "{n:>6} articles, {mode:<7}: first suggestion {bytes}; keystroke p95 {p95:.0} us (budget <= {:.0} us: {})",
                TARGET_P95_US,
                if p95 <= TARGET_P95_US { "within" } else { "over" }
            ));
        }
    }
    println!();
    println!(
        "Summary (budgets: <= {BUDGET_KB:.0} KB brotli of index files before the first suggestion, keystroke p95 <= {TARGET_P95_US:.0} us once the chunks are loaded; printed, not asserted):"
    );
    for line in summary {
        println!("  {line}");
    }
    Ok(())
}

/// Serves `dir`, runs the page in one mode, prints its figures and returns the p95 (us).
fn browser(dir: &Path, e2e: &Path, mode: &str, n: usize, wasm_len: u64) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding the static server")?;
    let url = format!("http://{}/index.html?mode={mode}", listener.local_addr()?);
    let served = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = served.clone();
            std::thread::spawn(move || {
                let _ = serve(stream, &dir);
            });
        }
    });
    let out = Command::new("node")
        .arg(dir.join("driver.mjs"))
        .arg(&url)
        .arg(e2e)
        .output()
        .context("cannot run node")?;
    if !out.status.success() {
        bail!(
            "the browser driver failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .context("the driver printed nothing")?;
    let result: serde_json::Value = serde_json::from_str(line).context("driver output")?;
    if let Some(e) = result["error"].as_str() {
        bail!("the benchmark page failed: {e}");
    }
    let mut us: Vec<f64> = result["us"]
        .as_array()
        .context("no timings")?
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    if us.is_empty() {
        bail!("no timings");
    }
    us.sort_by(f64::total_cmp);
    let pct = |p: f64| us[((us.len() as f64 * p) as usize).min(us.len() - 1)];
    println!(
        "Browser ({}, wasm-release, {} bytes of wasm), {n} articles, {mode}: {} documents, {} index files fetched ({} bytes raw, over the whole run), loaded in {:.1} ms{}",
        result["browser"]
            .as_str()
            .map_or("Chromium".to_string(), |v| format!("Chromium {v}")),
        wasm_len,
        result["docs"],
        result["files"],
        result["bytes"],
        result["loadUs"].as_f64().unwrap_or(0.0) / 1000.0,
        if result["isolated"].as_bool() == Some(true) {
            ""
        } else {
            " (not cross-origin isolated: coarse timer)"
        }
    );
    let p95 = pct(0.95);
    println!(
        "Browser latency per keystroke, {n} articles, {mode}, over {} keystrokes: p50 {:.0} us, p95 {:.0} us, max {:.0} us (target p95 <= {:.0} us: {})",
        us.len(),
        pct(0.50),
        p95,
        us[us.len() - 1],
        TARGET_P95_US,
        if p95 <= TARGET_P95_US { "PASS" } else { "FAIL" }
    );
    Ok(p95)
}

/// Answers one GET with a file of `dir` (no listing, no paths outside it).
fn serve(stream: TcpStream, dir: &Path) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let name = path.trim_start_matches('/').split('?').next().unwrap_or("");
    let file: Option<PathBuf> =
        (!name.is_empty() && !name.contains("..") && !name.contains('/')).then(|| dir.join(name));
    let mut stream = stream;
    match file.and_then(|f| std::fs::read(&f).ok().map(|b| (f, b))) {
        Some((f, body)) => {
            let mime = match f.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js" | "mjs") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {mime}\r\nContent-Length: {}\r\n\
                 Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n\
                 Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        None => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    Ok(())
}
