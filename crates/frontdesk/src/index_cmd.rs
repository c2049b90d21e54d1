//! `frontdesk index …`: build, check, search, stats and query the knowledge-base index.

use anyhow::{Context, bail};
use clap::Subcommand;
use protocol::IndexManifest;
use search_engine::{Engine, Params, Query};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Build the index files from Markdown articles.
    Build {
        #[arg(long, default_value = "index")]
        source: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Validate the articles without writing anything.
    Check {
        #[arg(long, default_value = "index")]
        source: PathBuf,
    },
    /// Preview a query: ranked results with scores and highlighted snippets.
    Search {
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        lang: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        text: String,
    },
    /// Documents, bytes, gzip and brotli sizes per language.
    Stats {
        #[arg(long)]
        index: PathBuf,
    },
    /// Answer JSON lines `{"q": "...", "lang": "xx", "k": 10}` from standard input with
    /// `{"hits": ["id", ...]}` lines, in order, with the widget's engine and files.
    Query {
        #[arg(long)]
        index: PathBuf,
        #[arg(long, required = true)]
        jsonl: bool,
    },
}

pub fn run(command: IndexCommand) -> anyhow::Result<()> {
    match command {
        IndexCommand::Build { source, out } => build(&source, &out),
        IndexCommand::Check { source } => check(&source),
        IndexCommand::Search {
            index,
            lang,
            limit,
            text,
        } => search(&index, lang.as_deref(), limit, &text),
        IndexCommand::Stats { index } => stats(&index),
        IndexCommand::Query { index, .. } => query(&index),
    }
}

/// Loads the articles and prints every error as `path:line: message` on standard error.
pub fn load(source: &Path) -> anyhow::Result<(Vec<kb_content::Article>, usize)> {
    if !source.is_dir() {
        bail!("{} is not a folder of Markdown articles", source.display());
    }
    let loaded = kb_content::load_dir(source);
    for e in &loaded.errors {
        eprintln!("{}:{}: {}", e.path.display(), e.line, e.kind);
    }
    Ok((loaded.articles, loaded.errors.len()))
}

fn build(source: &Path, out: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (articles, errors) = load(source)?;
    let output = kb_build::build(&articles);
    kb_build::write(&output, out).with_context(|| format!("cannot write {}", out.display()))?;
    for (lang, l) in &output.manifest.languages {
        say!(
            "{lang}: {} articles, index {} bytes ({})",
            l.documents,
            l.bytes,
            l.index
        );
    }
    say!(
        "built {} articles into {} in {} ms (version {})",
        articles.len(),
        out.display(),
        started.elapsed().as_millis(),
        output.manifest.version
    );
    if errors > 0 {
        bail!("{errors} article(s) skipped because of the errors above; the others were built");
    }
    Ok(())
}

fn check(source: &Path) -> anyhow::Result<()> {
    let (articles, errors) = load(source)?;
    if errors > 0 {
        bail!(
            "{errors} article(s) have errors ({} are fine)",
            articles.len()
        );
    }
    say!("{} articles, no errors", articles.len());
    Ok(())
}

fn read_manifest(dir: &Path) -> anyhow::Result<IndexManifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (build it with `frontdesk index build`)",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid manifest", path.display()))
}

/// Index bytes per language, read once.
struct Indexes {
    manifest: IndexManifest,
    bytes: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Indexes {
    fn open(dir: &Path) -> anyhow::Result<Self> {
        let manifest = read_manifest(dir)?;
        let mut bytes = std::collections::BTreeMap::new();
        for (lang, l) in &manifest.languages {
            let path = dir.join(&l.index);
            let data =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            // Fail early, with the format's typed error, rather than on the first query.
            search_engine::Engine::from_bytes(&data)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            bytes.insert(lang.clone(), data);
        }
        Ok(Indexes { manifest, bytes })
    }

    fn engine(&self, lang: Option<&str>) -> anyhow::Result<Engine<'_>> {
        let key = lang
            .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase())
            .filter(|l| self.bytes.contains_key(l))
            .unwrap_or_else(|| self.manifest.default_language.clone());
        let data = self.bytes.get(&key).context("the index has no languages")?;
        Ok(Engine::from_bytes(data)?.with_params(Params::browser()))
    }
}

fn search(dir: &Path, lang: Option<&str>, limit: usize, text: &str) -> anyhow::Result<()> {
    let indexes = Indexes::open(dir)?;
    let engine = indexes.engine(lang)?;
    let plan = engine.plan(text);
    let hits = engine.search_plan(
        &plan,
        &Query {
            text,
            lang: None,
            tags: Vec::new(),
            limit,
        },
    );
    if hits.is_empty() {
        say!("no results for {text:?}");
    }
    for (rank, hit) in hits.iter().enumerate() {
        let doc = engine.index().doc(hit.doc);
        let snippet = engine.snippet(&plan, hit.doc, 160);
        let mut shown = String::new();
        let mut at = snippet.window.start;
        for h in &snippet.highlights {
            shown.push_str(&doc.snippet[at..h.start]);
            shown.push('[');
            shown.push_str(&doc.snippet[h.start..h.end]);
            shown.push(']');
            at = h.end;
        }
        shown.push_str(&doc.snippet[at..snippet.window.end]);
        say!(
            "{:>2}. {:>7.3} {}  {}",
            rank + 1,
            hit.score + f32::from(hit.tier) * 1000.0,
            doc.id,
            doc.title
        );
        say!("             {shown}");
    }
    Ok(())
}

fn stats(dir: &Path) -> anyhow::Result<()> {
    let manifest = read_manifest(dir)?;
    say!(
        "{:<6} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "lang",
        "documents",
        "bytes",
        "gzip",
        "brotli",
        "gzip/doc"
    );
    for (lang, l) in &manifest.languages {
        let data = std::fs::read(dir.join(&l.index))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data)?;
        let gz = gz.finish()?.len();
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            w.write_all(&data)?;
        }
        say!(
            "{lang:<6} {:>9} {:>10} {:>10} {:>10} {:>10.0}",
            l.documents,
            data.len(),
            gz,
            br.len(),
            gz as f64 / f64::from(l.documents.max(1))
        );
    }
    say!("version {} (format {})", manifest.version, manifest.format);
    Ok(())
}

#[derive(serde::Deserialize)]
struct QueryLine {
    q: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    k: Option<usize>,
}

fn query(dir: &Path) -> anyhow::Result<()> {
    let indexes = Indexes::open(dir)?;
    let mut engines = std::collections::BTreeMap::new();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.context("cannot read standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<QueryLine>(&line) {
            Ok(q) => {
                let key = q.lang.clone().unwrap_or_default();
                if !engines.contains_key(&key) {
                    engines.insert(key.clone(), indexes.engine(q.lang.as_deref())?);
                }
                let engine = &engines[&key];
                let k = q.k.unwrap_or(10).clamp(1, 100);
                let hits = engine.search(&Query {
                    text: &q.q,
                    lang: None,
                    tags: Vec::new(),
                    limit: k,
                });
                let ids: Vec<&str> = hits.iter().map(|h| engine.index().doc(h.doc).id).collect();
                serde_json::json!({ "hits": ids })
            }
            Err(e) => serde_json::json!({ "error": format!("invalid query line: {e}") }),
        };
        if let Err(e) = writeln!(out, "{answer}") {
            crate::output_failed(e);
        }
    }
    if let Err(e) = out.flush() {
        crate::output_failed(e);
    }
    Ok(())
}
