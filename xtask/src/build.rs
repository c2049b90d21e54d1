//! `cargo xtask build`: wasm apps → wasm-bindgen (in-process) → content-hashed files in
//! `dist/files`, brotli twins, a manifest, a size table, and budgets that fail the build.

use crate::{util, wasm};
use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Size budgets in brotli bytes (issue #2; tightened as features land).
const LOADER_BUDGET: usize = 5 * 1024;
/// The widget issue's budget with the in-browser search included (the shipped variant).
const WIDGET_BUDGET: usize = 150 * 1024;
const CONSOLE_BUDGET: usize = 400 * 1024;

const APPS: [&str; 2] = ["widget", "console"];

/// Features of the shipped widget: the in-browser article search fits the widget budget since the
/// size work of 2026-11 (about 142 KB brotli of 150), so it ships; since 2026-12-01 it reads the
/// chunked form only (a bundle or an entry and chunks: 150.0 KB of 150).
const WIDGET_FEATURES: &str = "widget/search";

/// Flags of `cargo xtask build` (`demo` builds with none).
#[derive(Default)]
struct Flags {
    /// Also build the widget without the search feature and print its size (informational).
    without_search: bool,
}

fn flags() -> anyhow::Result<Flags> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut flags = Flags::default();
    if args.first().map(String::as_str) != Some("build") {
        return Ok(flags);
    }
    for arg in &args[1..] {
        match arg.as_str() {
            // The shipped widget includes search; the flag stays accepted for scripts that used
            // it to measure the search variant before it shipped.
            "--with-search" => {}
            "--without-search" => flags.without_search = true,
            other => bail!(
                "unknown flag {other:?} (cargo xtask build [--with-search | --without-search])"
            ),
        }
    }
    Ok(flags)
}

/// Runs wasm-bindgen (in-process) on `input` into a fresh `out`; returns (wasm, JS glue).
fn bindgen(input: &Path, app: &str, out: &Path) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(input)
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .remove_name_section(true)
        .remove_producers_section(true)
        .typescript(false)
        .generate(out)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed for {app}: {e:#}"))?;
    let wasm = wasm::strip_target_features(&std::fs::read(out.join(format!("{app}_bg.wasm")))?)?;
    let glue = std::fs::read_to_string(out.join(format!("{app}.js")))?;
    let (wasm, glue) = wasm::shorten_imports(&wasm, &glue, &format!("./{app}_bg.js"))?;
    Ok((wasm, wasm::tidy_glue(&glue).into_bytes()))
}

/// `--config` for the wasm build that remaps the crates.io sources' folders (each registry's
/// `…/registry/src/index.crates.io-…/`) to nothing: panic locations name their files, and the
/// machine's path there costs bytes (measured: see the commit) and makes the build differ by
/// machine. Empty when the registry is not found.
fn remap_registry() -> Vec<String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(Ok(entries)) = home.map(|h| std::fs::read_dir(h.join("registry/src"))) else {
        return Vec::new();
    };
    let flags: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            e.path()
                .to_str()
                .map(|p| format!("\"--remap-path-prefix={p}/=\""))
        })
        .filter(|f| !f.contains('\\'))
        .collect();
    if flags.is_empty() {
        return Vec::new();
    }
    vec![
        "--config".into(),
        format!(
            "target.wasm32-unknown-unknown.rustflags=[{}]",
            flags.join(",")
        ),
    ]
}

fn hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..6])
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(bytes).expect("in-memory write");
    }
    out
}

fn gzip(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory write").len()
}

struct Dist {
    files: PathBuf,
    manifest: BTreeMap<String, String>,
    /// (file, raw, gzip, brotli)
    sizes: Vec<(String, usize, usize, usize)>,
}

impl Dist {
    /// Writes `bytes` under `files/<name>` with its brotli twin, and records its sizes.
    fn write(&mut self, name: &str, bytes: &[u8]) -> anyhow::Result<usize> {
        let path = self.files.join(name);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        let br = brotli(bytes);
        std::fs::write(self.files.join(format!("{name}.br")), &br)?;
        self.sizes
            .push((name.to_owned(), bytes.len(), gzip(bytes), br.len()));
        Ok(br.len())
    }

    /// Writes `bytes` as `assets/<stem>-<hash>.<ext>` and records `logical` → URL path.
    fn write_hashed(&mut self, logical: &str, bytes: &[u8]) -> anyhow::Result<(String, usize)> {
        let (stem, ext) = logical
            .rsplit_once('.')
            .context("asset name needs an extension")?;
        let name = format!("assets/{stem}-{}.{ext}", hash(bytes));
        let br = self.write(&name, bytes)?;
        self.manifest.insert(logical.to_owned(), format!("/{name}"));
        Ok((format!("/{name}"), br))
    }

    fn template(&self, text: &str) -> anyhow::Result<String> {
        let mut out = text.to_owned();
        for (logical, url) in &self.manifest {
            out = out.replace(&format!("{{{{{logical}}}}}"), url);
        }
        if let Some(start) = out.find("{{") {
            let end = out[start..].find("}}").map_or(out.len(), |e| start + e + 2);
            bail!("unknown asset placeholder {}", &out[start..end]);
        }
        Ok(out)
    }
}

pub fn build() -> anyhow::Result<()> {
    let flags = flags()?;
    let root = util::root();
    util::ensure_wasm_target()?;
    util::step(&format!(
        "cargo build (wasm32, profile wasm-release): widget (features {WIDGET_FEATURES}), console"
    ));
    let mut cmd = util::cargo();
    cmd.args([
        "build",
        "--profile",
        "wasm-release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "widget",
        "-p",
        "console",
        "--features",
        WIDGET_FEATURES,
    ])
    .args(remap_registry())
    .current_dir(&root);
    util::run(&mut cmd)?;
    let wasm_dir = util::target_dir()?.join("wasm32-unknown-unknown/wasm-release");

    let dist_dir = root.join("dist");
    let files = dist_dir.join("files");
    if files.exists() {
        std::fs::remove_dir_all(&files).context("cannot clear dist/files")?;
    }
    std::fs::create_dir_all(&files)?;
    let mut dist = Dist {
        files,
        manifest: BTreeMap::new(),
        sizes: Vec::new(),
    };

    util::step("wasm-bindgen (in-process) and content hashing");
    let www = root.join("www");
    let mut app_sizes = BTreeMap::new();
    for app in APPS {
        let out = tempdir(&dist_dir, app)?;
        let (wasm, glue) = bindgen(&wasm_dir.join(format!("{app}.wasm")), app, &out)?;
        let (wasm_url, wasm_br) = dist.write_hashed(&format!("{app}_bg.wasm"), &wasm)?;
        let (glue_url, glue_br) = dist.write_hashed(&format!("{app}.js"), &glue)?;
        let boot = format!(
            "import init from \"{glue_url}\";\ninit({{ module_or_path: \"{wasm_url}\" }});\n"
        );
        let (_, boot_br) = dist.write_hashed(&format!("{app}-boot.js"), boot.as_bytes())?;
        let css = std::fs::read(www.join(format!("{app}.css")))?;
        let (_, css_br) = dist.write_hashed(&format!("{app}.css"), &css)?;
        app_sizes.insert(app, wasm_br + glue_br + boot_br + css_br);
        std::fs::remove_dir_all(&out)?;
    }
    let demo_css = std::fs::read(www.join("demo.css"))?;
    dist.write_hashed("demo.css", &demo_css)?;
    let demo_js = std::fs::read(www.join("demo.js"))?;
    dist.write_hashed("demo.js", &demo_js)?;

    let loader = std::fs::read(www.join("loader.js"))?;
    let loader_br = dist.write("widget.js", &loader)?;
    for page in ["widget.html", "console.html", "demo.html"] {
        let text = std::fs::read_to_string(www.join(page))
            .with_context(|| format!("cannot read www/{page}"))?;
        let html = dist
            .template(&text)
            .with_context(|| format!("in www/{page}"))?;
        dist.write(page, html.as_bytes())?;
    }

    let manifest = serde_json::to_string_pretty(&dist.manifest)?;
    std::fs::write(dist_dir.join("manifest.json"), manifest)?;
    // Tells the assets crate's build script to re-embed. Written as soon as dist/files changed,
    // even if a budget check fails below, or the next cargo build would embed stale names.
    std::fs::write(
        dist_dir.join("stamp"),
        format!("{:?}\n", std::time::SystemTime::now()),
    )?;

    print_sizes(&dist.sizes);
    if flags.without_search {
        let size = widget_without_search(&root, &dist_dir, &wasm_dir)?;
        eprintln!(
            "\nwidget app without search (informational, not shipped): {:.1} KB brotli",
            size as f64 / 1024.0
        );
    }
    let checks = [
        ("loader (widget.js)", loader_br, LOADER_BUDGET),
        (
            "widget app with search (wasm+js+css)",
            app_sizes["widget"],
            WIDGET_BUDGET,
        ),
        (
            "console app (wasm + js + css)",
            app_sizes["console"],
            CONSOLE_BUDGET,
        ),
    ];
    let mut over = Vec::new();
    eprintln!("\nbudgets (brotli):");
    for (what, size, budget) in checks {
        let ok = size <= budget;
        eprintln!(
            "  {what:<38} {:>8.1} KB of {:>6.1} KB  {}",
            size as f64 / 1024.0,
            budget as f64 / 1024.0,
            if ok { "ok" } else { "OVER BUDGET" }
        );
        if !ok {
            over.push(what);
        }
    }
    if !over.is_empty() {
        bail!("over size budget: {}", over.join(", "));
    }
    Ok(())
}

/// Builds the widget without its search feature into a separate bindgen output and returns the
/// brotli size of wasm + JS glue + CSS, as the budget counts the shipped app (boot script aside,
/// ~100 bytes). Nothing of it goes to `dist/files`.
fn widget_without_search(root: &Path, dist_dir: &Path, wasm_dir: &Path) -> anyhow::Result<usize> {
    util::step("cargo build (wasm32, profile wasm-release): widget without search");
    let mut cmd = util::cargo();
    cmd.args([
        "build",
        "--profile",
        "wasm-release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "widget",
    ])
    .args(remap_registry())
    .current_dir(root);
    util::run(&mut cmd)?;
    let out = tempdir(dist_dir, "widget-without-search")?;
    let (wasm, glue) = bindgen(&wasm_dir.join("widget.wasm"), "widget", &out)?;
    std::fs::remove_dir_all(&out)?;
    let css = std::fs::read(root.join("www/widget.css"))?;
    Ok(brotli(&wasm).len() + brotli(&glue).len() + brotli(&css).len())
}

fn tempdir(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = parent.join(format!(".bindgen-{name}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_sizes(sizes: &[(String, usize, usize, usize)]) {
    eprintln!(
        "\n{:<44} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip", "brotli"
    );
    for (name, raw, gz, br) in sizes {
        eprintln!("{name:<44} {raw:>10} {gz:>10} {br:>10}");
    }
}
