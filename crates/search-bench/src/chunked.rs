//! `--generated N`: what the chunked form costs a first suggestion, beside the single file.
//!
//! Counting (index files only, brotli quality 11 as a server precompresses them): for each title
//! query of the corpus, from a fresh engine, the entry, then keystroke by keystroke the term
//! chunks the prefix typed so far needs (`ChunkedEngine::missing_for`), until a keystroke finds
//! results with what is loaded; then the document chunks of its top 5 results. Every file is
//! counted once per query (a browser fetches each once). The single file's figure is the whole
//! index, which the widget fetches before its first suggestion.

use anyhow::{Context, Result};
use search_engine::{ChunkedEngine, Params, Query};
use search_index::{Chunked, IndexBuilder};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The budget of the bytes fetched before the first suggestion, brotli.
const BUDGET_BYTES: usize = 100 * 1024;

pub(crate) fn brotli_len(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        std::io::Write::write_all(&mut w, bytes).expect("in-memory write");
    }
    out.len()
}

/// Writes the entry (`entry.fdx`) and every chunk under their names into `dir`.
pub(crate) fn write(chunked: &Chunked, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("entry.fdx"), &chunked.entry)?;
    for (name, bytes) in &chunked.chunks {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

fn keystroke(engine: &ChunkedEngine, text: &str) -> (usize, Vec<search_engine::Hit>) {
    let plan = engine.plan(text);
    let hits = engine.search_plan(
        &plan,
        &Query {
            text,
            limit: 5,
            ..Query::default()
        },
    );
    let marks = hits
        .iter()
        .filter_map(|h| engine.snippet(&plan, h.doc, 140))
        .map(|s| s.highlights.len())
        .sum();
    (marks, hits)
}

/// A chunked engine over `builder`'s index with every chunk loaded (read from a bundle, as the
/// widget reads a small knowledge base), for the relevance evaluation.
pub(crate) fn fully_loaded(builder: &IndexBuilder, params: &Params) -> Result<ChunkedEngine> {
    let bundle = builder.build_chunked(kb_build::CHUNK_BYTES).bundle();
    Ok(ChunkedEngine::from_bytes(&bundle)?.with_params(params.clone()))
}

fn percentile(sorted: &[usize], p: f64) -> usize {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(0)
}

/// Prints the single file's and the chunked form's bytes to the first suggestion and the
/// chunked form's native keystroke latency once the chunks are loaded.
pub(crate) fn report(
    builder: &IndexBuilder,
    single: &[u8],
    titles: &[&str],
    prefixes: &[&str],
) -> Result<Chunked> {
    let chunked = builder.build_chunked(kb_build::CHUNK_BYTES);
    let bundled = kb_build::index_files(builder).chunks.is_empty();
    let single_br = brotli_len(single);
    let mut br: HashMap<&str, usize> = HashMap::new();
    let mut size = |name: &str| -> usize {
        let name = chunked.chunks.get_key_value(name).map(|(k, _)| k.as_str());
        match name {
            Some(n) => *br
                .entry(n)
                .or_insert_with(|| brotli_len(&chunked.chunks[n])),
            None => 0,
        }
    };
    let entry_br = brotli_len(&chunked.entry);
    let entry = search_index::Entry::from_bytes(&chunked.entry)?;
    let mut firsts: Vec<usize> = Vec::new();
    let mut keystrokes_to_first: Vec<usize> = Vec::new();
    let mut none = 0;
    for title in titles {
        let mut engine = ChunkedEngine::from_bytes(&chunked.entry)?.with_params(Params::browser());
        let mut total = entry_br;
        let mut found = false;
        for (k, prefix) in crate::generate::keystrokes(title).enumerate() {
            for c in engine.missing_for(prefix) {
                total += size(&c.name);
                engine.add(&c, chunked.chunks[&c.name].clone())?;
            }
            let (_, hits) = keystroke(&engine, prefix);
            if hits.is_empty() {
                continue;
            }
            for c in engine.missing_docs(&hits) {
                total += size(&c.name);
                engine.add(&c, chunked.chunks[&c.name].clone())?;
            }
            firsts.push(total);
            keystrokes_to_first.push(k + 1);
            found = true;
            break;
        }
        if !found {
            none += 1;
        }
    }
    firsts.sort_unstable();
    keystrokes_to_first.sort_unstable();

    // Native latency once every chunk a keystroke needs is loaded (the browser figure is
    // measured by `cargo xtask bench search-browser`).
    let mut engine = ChunkedEngine::from_bytes(&chunked.entry)?.with_params(Params::browser());
    for p in prefixes {
        for c in engine.missing_for(p) {
            engine.add(&c, chunked.chunks[&c.name].clone())?;
        }
        let (_, hits) = keystroke(&engine, p);
        for c in engine.missing_docs(&hits) {
            engine.add(&c, chunked.chunks[&c.name].clone())?;
        }
    }
    let mut lat: Vec<Duration> = prefixes
        .iter()
        .map(|p| {
            let t = Instant::now();
            std::hint::black_box(keystroke(&engine, p).0);
            t.elapsed()
        })
        .collect();
    lat.sort();
    let sizes: Vec<usize> = chunked.chunks.values().map(Vec::len).collect();
    println!(
        "Chunked form: entry {} bytes ({} brotli), {} term chunks and {} document chunks, {} bytes in all (largest chunk {} bytes); kb-build ships {}",
        chunked.entry.len(),
        entry_br,
        entry.n_term_chunks(),
        entry.n_doc_chunks(),
        chunked.len(),
        sizes.iter().max().copied().unwrap_or(0),
        if bundled {
            "the single file and one bundle (the widget fetches the bundle)"
        } else {
            "the single file and the entry with its chunks (the widget fetches these)"
        }
    );
    let kb = |b: usize| b as f64 / 1024.0;
    println!(
        "Bytes to the first suggestion (index files, brotli), single file: {:.1} KB (the whole index) (budget {:.0} KB: {})",
        kb(single_br),
        kb(BUDGET_BYTES),
        if single_br <= BUDGET_BYTES {
            "within"
        } else {
            "over"
        }
    );
    println!(
        "Bytes to the first suggestion (index files, brotli), chunked, over {} title queries: median {:.1} KB, p95 {:.1} KB, max {:.1} KB after median {} keystrokes ({} queries found nothing) (budget {:.0} KB: {})",
        firsts.len(),
        kb(percentile(&firsts, 0.5)),
        kb(percentile(&firsts, 0.95)),
        kb(firsts.last().copied().unwrap_or(0)),
        percentile(&keystrokes_to_first, 0.5),
        none,
        kb(BUDGET_BYTES),
        if firsts.last().copied().unwrap_or(0) <= BUDGET_BYTES {
            "max within"
        } else {
            "max over"
        }
    );
    println!(
        "Native latency, chunked, title keystrokes with their chunks loaded ({} runs): p50 {:.0} us, p95 {:.0} us, max {:.0} us",
        lat.len(),
        crate::percentile_us(&lat, 0.50),
        crate::percentile_us(&lat, 0.95),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    );
    Ok(chunked)
}
