//! `cargo xtask bench search-browser`: keystroke latency of the FAQ search in headless Chromium.
//!
//! Generates a 2,500-article index with search-bench's generator (in a temp folder), builds
//! `crates/search-wasm-bench` with the `wasm-release` profile, runs wasm-bindgen in-process,
//! serves the files from a tiny static server on 127.0.0.1 (cross-origin isolated, so
//! `performance.now()` has its fine resolution), and drives Debian's Chromium through node and
//! `playwright-core` (from `tests/e2e/node_modules`). Every keystroke prefix of the corpus title
//! queries is replayed once to warm up, then measured.

use crate::util;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Articles in the generated index.
const ARTICLES: usize = 2_500;
/// The acceptance target: p95 per keystroke, in microseconds.
const TARGET_P95_US: f64 = 1_000.0;

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>search-wasm-bench</title>
<script type="module">
import init, { load, run } from "./search_wasm_bench.js";
async function main() {
  await init({ module_or_path: "./search_wasm_bench_bg.wasm" });
  const index = new Uint8Array(await (await fetch("./index.fdx")).arrayBuffer());
  const queries = await (await fetch("./queries.json")).json();
  const [docs, loadUs] = load(index);
  run(queries); // warm-up: every keystroke once
  const us = Array.from(run(queries));
  window.__result = { docs, loadUs, bytes: index.length, us,
    isolated: self.crossOriginIsolated === true };
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
    util::step(&format!(
        "search-bench --generated {ARTICLES}: index and keystrokes"
    ));
    util::run(
        util::cargo()
            .args(["run", "--release", "--quiet", "-p", "search-bench", "--"])
            .arg("--corpus")
            .arg(corpus)
            .args(["--generated", &ARTICLES.to_string()])
            .arg("--write-index")
            .arg(dir.join("index.fdx"))
            .arg("--write-queries")
            .arg(dir.join("queries.json"))
            .current_dir(root),
    )?;

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
    util::step("wasm-bindgen (in-process)");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .typescript(false)
        .generate(dir)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed for search-wasm-bench: {e:#}"))?;
    std::fs::write(dir.join("index.html"), PAGE)?;
    std::fs::write(dir.join("driver.mjs"), DRIVER)?;

    let listener = TcpListener::bind("127.0.0.1:0").context("binding the static server")?;
    let url = format!("http://{}/index.html", listener.local_addr()?);
    let served = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = served.clone();
            std::thread::spawn(move || {
                let _ = serve(stream, &dir);
            });
        }
    });

    util::step("headless Chromium: every keystroke of the title queries");
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
    let wasm_len = std::fs::metadata(dir.join("search_wasm_bench_bg.wasm"))?.len();
    println!();
    println!(
        "Browser latency ({}, wasm-release, {} bytes of wasm): {} documents, index {} bytes, loaded in {:.1} ms{}",
        result["browser"]
            .as_str()
            .map_or("Chromium".to_string(), |v| format!("Chromium {v}")),
        wasm_len,
        result["docs"],
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
        "Browser latency per keystroke over {} keystrokes: p50 {:.0} us, p95 {:.0} us, max {:.0} us (target p95 <= {:.0} us: {})",
        us.len(),
        pct(0.50),
        p95,
        us[us.len() - 1],
        TARGET_P95_US,
        if p95 <= TARGET_P95_US { "PASS" } else { "FAIL" }
    );
    Ok(())
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
