//! `search-bench`: relevance, size and speed of the FAQ search on the evaluation corpus.
//!
//! Follows /work/shared/corpus/README.md: whole-question (`full`) and `desc` queries run on an index
//! without titles (and without descriptions); prefix and `anchor` queries on an index with titles.

mod chunked;
mod corpus;
mod eval;
mod generate;
mod peers;
mod typos;
mod wasm_size;

use anyhow::{Context, Result};
use eval::Stats;
use flate2::{Compression, write::GzEncoder};
use search_engine::{Engine, Params};
use search_index::{DocInput, IndexBuilder};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const KINDS: [&str; 8] = [
    "full", "desc", "anchor", "words_2", "words_3", "words_4", "chars_10", "chars_20",
];
const PREFIX_KINDS: [&str; 5] = ["words_2", "words_3", "words_4", "chars_10", "chars_20"];

struct Args {
    corpus: PathBuf,
    typos: bool,
    browser: bool,
    per_suite: bool,
    set: Vec<String>,
    suite: Option<String>,
    query: Option<String>,
    wasm: Option<PathBuf>,
    misses: Option<String>,
    full_vocabulary: bool,
    generated: Option<usize>,
    lang: String,
    write_index: Option<PathBuf>,
    write_queries: Option<PathBuf>,
    show_slowest: usize,
    read_index: Option<PathBuf>,
    write_chunked: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        corpus: PathBuf::from("/work/shared/corpus"),
        typos: false,
        browser: false,
        per_suite: true,
        set: Vec::new(),
        suite: None,
        query: None,
        wasm: None,
        misses: None,
        full_vocabulary: false,
        generated: None,
        lang: "en".into(),
        write_index: None,
        write_queries: None,
        show_slowest: 0,
        read_index: None,
        write_chunked: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--corpus" => args.corpus = it.next().context("--corpus needs a path")?.into(),
            "--typos" => args.typos = true,
            "--misses" => args.misses = Some(it.next().context("--misses needs a query kind")?),
            "--wasm-size" => {
                args.wasm = Some(it.next().context("--wasm-size needs a .wasm path")?.into())
            }
            "--browser" => args.browser = true,
            "--generated" => {
                let n = it
                    .next()
                    .context("--generated needs a number of articles")?;
                args.generated = Some(n.parse().context("--generated needs a number")?);
            }
            "--slowest" => {
                let n = it.next().context("--slowest needs a number")?;
                args.show_slowest = n.parse().context("--slowest needs a number")?;
            }
            "--lang" => args.lang = it.next().context("--lang needs a language tag")?,
            "--read-index" => {
                args.read_index = Some(it.next().context("--read-index needs a path")?.into())
            }
            "--write-index" => {
                args.write_index = Some(it.next().context("--write-index needs a path")?.into())
            }
            "--write-chunked" => {
                args.write_chunked =
                    Some(it.next().context("--write-chunked needs a folder")?.into())
            }
            "--write-queries" => {
                args.write_queries = Some(it.next().context("--write-queries needs a path")?.into())
            }
            "--full-vocabulary" => args.full_vocabulary = true,
            "--no-per-suite" => args.per_suite = false,
            "--query" => {
                args.suite = Some(it.next().context("--query needs SUITE TEXT")?);
                args.query = Some(it.next().context("--query needs SUITE TEXT")?);
            }
            "--set" => args.set.push(it.next().context("--set needs name=value")?),
            "-h" | "--help" => {
                println!(
                    "usage: search-bench [--corpus DIR] [--typos] [--browser] [--full-vocabulary] [--no-per-suite] [--set NAME=VALUE]... [--query SUITE TEXT] [--misses KIND] [--wasm-size FILE]\n       search-bench --generated N [--lang TAG] [--write-index FILE] [--write-chunked DIR] [--write-queries FILE] [--slowest N]\n  --browser: no query-time stemmer (as in the wasm build)\n  --generated N: latency, build time and size on N generated articles (words from the corpus)"
                );
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument `{other}` (try --help)"),
        }
    }
    Ok(args)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("search-bench: {e:#}");
        std::process::exit(2);
    }
}

/// The widget's own mapping from article to index document (urls are not stored).
fn doc_input(a: &kb_content::Article, with_title: bool) -> DocInput {
    kb_build::doc_input(a, with_title)
}

/// Overrides one ranking parameter (`--set k1=1.0`), for tuning experiments.
fn set_param(p: &mut Params, kv: &str) -> Result<()> {
    let (k, v) = kv.split_once('=').context("--set wants name=value")?;
    let x: f32 = v.parse().with_context(|| format!("bad number in `{kv}`"))?;
    match k {
        "k1" => p.k1 = x,
        "b_title" => p.b[0] = x,
        "b_headings" => p.b[1] = x,
        "b_body" => p.b[2] = x,
        "b_tags" => p.b[3] = x,
        "boost_title" => p.boost[0] = x,
        "boost_headings" => p.boost[1] = x,
        "boost_body" => p.boost[2] = x,
        "boost_tags" => p.boost[3] = x,
        "boost_lead" => p.boost[4] = x,
        "b_lead" => p.b[4] = x,
        "prefix_weight" => p.prefix_weight = x,
        "typo_weight" => p.typo_weight = x,
        "stop_weight" => p.stop_weight = x,
        "stem_guess_weight" => p.stem_guess_weight = x,
        "coordination" => p.coordination = x,
        "phrase_boost" => p.phrase_boost = x,
        "typos" => p.typos = x != 0.0,
        "max_expansions" => p.max_expansions = x as usize,
        "max_expansion_postings" => p.max_expansion_postings = x as u64,
        _ => anyhow::bail!("unknown parameter `{k}`"),
    }
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory gzip").len()
}

fn run() -> Result<()> {
    let args = parse_args()?;
    if let Some(wasm) = &args.wasm {
        return wasm_size::report(wasm);
    }
    let suites = corpus::load(&args.corpus)?;
    if let Some(n) = args.generated {
        return run_generated(&args, &suites, n);
    }
    let mut params = Params {
        query_stemming: !args.browser,
        ..Params::default()
    };
    for kv in &args.set {
        set_param(&mut params, kv)?;
    }
    let mut per_suite: Vec<(String, BTreeMap<String, Stats>)> = Vec::new();
    let mut typo_suite: Vec<(String, BTreeMap<String, Stats>)> = Vec::new();
    // The same evaluation through the chunked form with every chunk loaded (what the widget runs).
    let mut chunked_suite: Vec<(String, BTreeMap<String, Stats>)> = Vec::new();
    let mut chunked_typo_suite: Vec<(String, BTreeMap<String, Stats>)> = Vec::new();
    let mut chunked_rng = typos::SplitMix::new(0x5EED_F00D);
    let mut ceilings: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut build_time = Duration::ZERO;
    let (mut n_docs, mut raw_bytes, mut gz_bytes, mut gz_search_bytes) =
        (0usize, 0usize, 0usize, 0usize);
    let (mut section_gz, mut section_raw) = ([0usize; 4], [0usize; 4]);
    let mut rng = typos::SplitMix::new(0x5EED_F00D);

    if let (Some(name), Some(text)) = (&args.suite, &args.query) {
        let suite = suites
            .iter()
            .find(|s| &s.name == name)
            .context("no such suite")?;
        let mut b = IndexBuilder::new(&suite.lang);
        for a in &suite.articles {
            b.add(doc_input(a, true));
        }
        let bytes = b.build();
        let engine = Engine::from_bytes(&bytes)?.with_params(params.clone());
        let plan = engine.plan(text);
        for t in &plan.tokens {
            println!(
                "token {:?} stop={} open={} exact={:?} alts={} corrections={:?}",
                t.surface,
                t.is_stop,
                t.open,
                t.exact,
                t.alternatives.len(),
                t.corrections
            );
        }
        for h in engine.search(&search_engine::Query {
            text,
            limit: 10,
            ..Default::default()
        }) {
            let d = engine.index().doc(h.doc);
            println!("{} {:.3} {} | {}", h.tier, h.score, d.id, d.title);
        }
        return Ok(());
    }
    for suite in &suites {
        let started = Instant::now();
        let new_builder = || {
            let b = IndexBuilder::new(&suite.lang);
            if args.full_vocabulary {
                b.keep_full_vocabulary()
            } else {
                b
            }
        };
        let mut held_out = new_builder();
        let mut with_titles = new_builder();
        for a in &suite.articles {
            held_out.add(doc_input(a, false));
            with_titles.add(doc_input(a, true));
        }
        let c_held = chunked::fully_loaded(&held_out, &params)?;
        let c_title = chunked::fully_loaded(&with_titles, &params)?;
        let held_out = held_out.build();
        let with_titles = with_titles.build();
        build_time += started.elapsed();

        let e_held = Engine::from_bytes(&held_out)?.with_params(params.clone());
        let e_title = Engine::from_bytes(&with_titles)?.with_params(params.clone());
        n_docs += suite.articles.len();
        raw_bytes += with_titles.len();
        gz_bytes += gzip_len(&with_titles);
        let sections = e_title.index().section_lengths();
        gz_search_bytes += gzip_len(&with_titles[..with_titles.len() - sections[3]]);
        let mut at = with_titles.len() - sections.iter().sum::<usize>();
        for (i, len) in sections.iter().enumerate() {
            section_gz[i] += gzip_len(&with_titles[at..at + len]);
            section_raw[i] += len;
            at += len;
        }

        let mut stats = BTreeMap::new();
        let held_kinds = |q: &&corpus::QueryRow| matches!(q.kind_name().as_str(), "full" | "desc");
        eval::run(
            &e_held,
            suite.queries.iter().filter(held_kinds),
            str::to_string,
            &mut stats,
            &mut latencies,
            args.misses.as_deref(),
        );
        eval::run(
            &e_title,
            suite.queries.iter().filter(|q| !held_kinds(q)),
            str::to_string,
            &mut stats,
            &mut latencies,
            args.misses.as_deref(),
        );
        per_suite.push((suite.name.clone(), stats));
        let mut stats = BTreeMap::new();
        let mut ignore = Vec::new();
        eval::run(
            &c_held,
            suite.queries.iter().filter(held_kinds),
            str::to_string,
            &mut stats,
            &mut ignore,
            None,
        );
        eval::run(
            &c_title,
            suite.queries.iter().filter(|q| !held_kinds(q)),
            str::to_string,
            &mut stats,
            &mut ignore,
            None,
        );
        chunked_suite.push((suite.name.clone(), stats));

        for kind in PREFIX_KINDS {
            let of_kind = || suite.queries.iter().filter(move |q| q.kind_name() == kind);
            let (h1, t) = eval::ceiling(of_kind(), 1);
            let (h5, _) = eval::ceiling(of_kind(), 5);
            let t = t.max(1) as f64;
            ceilings
                .entry(kind.to_string())
                .or_default()
                .push((100.0 * h1 as f64 / t, 100.0 * h5 as f64 / t));
        }

        if args.typos {
            let mut stats = BTreeMap::new();
            let mut ignore = Vec::new();
            eval::run(
                &e_held,
                suite.queries.iter().filter(|q| q.kind_name() == "full"),
                |s| typos::inject(s, &mut rng),
                &mut stats,
                &mut ignore,
                args.misses.as_deref(),
            );
            eval::run(
                &e_title,
                suite.queries.iter().filter(|q| q.kind_name() == "words_2"),
                |s| typos::inject(s, &mut rng),
                &mut stats,
                &mut ignore,
                args.misses.as_deref(),
            );
            typo_suite.push((suite.name.clone(), stats));
            let mut stats = BTreeMap::new();
            eval::run(
                &c_held,
                suite.queries.iter().filter(|q| q.kind_name() == "full"),
                |s| typos::inject(s, &mut chunked_rng),
                &mut stats,
                &mut ignore,
                None,
            );
            eval::run(
                &c_title,
                suite.queries.iter().filter(|q| q.kind_name() == "words_2"),
                |s| typos::inject(s, &mut chunked_rng),
                &mut stats,
                &mut ignore,
                None,
            );
            chunked_typo_suite.push((suite.name.clone(), stats));
        }
    }

    let macro_avg =
        |runs: &[(String, BTreeMap<String, Stats>)], kind: &str| -> Option<(f64, f64, f64)> {
            let v: Vec<(f64, f64, f64)> = runs
                .iter()
                .filter_map(|(_, s)| s.get(kind).map(Stats::pct))
                .collect();
            (!v.is_empty()).then(|| {
                let n = v.len() as f64;
                (
                    v.iter().map(|x| x.0).sum::<f64>() / n,
                    v.iter().map(|x| x.1).sum::<f64>() / n,
                    v.iter().map(|x| x.2).sum::<f64>() / n,
                )
            })
        };

    println!(
        "search-bench on {} ({} suites, {} documents){}",
        args.corpus.display(),
        suites.len(),
        n_docs,
        if args.browser {
            ", browser mode (no query stemmer)"
        } else {
            ""
        }
    );
    println!();
    if args.per_suite {
        println!("Per suite (R@1 / R@5 / MRR@10, percent)");
        print!("{:<20}", "suite");
        for k in KINDS {
            print!(" {k:>17}");
        }
        println!();
        for (name, stats) in &per_suite {
            print!("{name:<20}");
            for k in KINDS {
                match stats.get(k).map(Stats::pct) {
                    Some((a, b, c)) => print!(" {a:>5.1}/{b:>5.1}/{c:>5.1}"),
                    None => print!(" {:>17}", "-"),
                }
            }
            println!();
        }
        println!();
    }
    println!("Macro average over suites (percent)      ceiling (best deterministic ranking)");
    println!(
        "{:<10} {:>6} {:>6} {:>7} {:>6}   {:>6} {:>6}   {:>6} {:>6}",
        "kind", "R@1", "R@5", "MRR@10", "suites", "ceil@1", "ceil@5", "gap@1", "gap@5"
    );
    for k in KINDS {
        let Some((r1, r5, mrr)) = macro_avg(&per_suite, k) else {
            continue;
        };
        let n = per_suite.iter().filter(|(_, s)| s.contains_key(k)).count();
        match ceilings.get(k) {
            Some(c) => {
                let c1 = c.iter().map(|x| x.0).sum::<f64>() / c.len() as f64;
                let c5 = c.iter().map(|x| x.1).sum::<f64>() / c.len() as f64;
                println!(
                    "{k:<10} {r1:>6.1} {r5:>6.1} {mrr:>7.1} {n:>6}   {c1:>6.1} {c5:>6.1}   {:>6.1} {:>6.1}",
                    c1 - r1,
                    c5 - r5
                );
            }
            None => println!("{k:<10} {r1:>6.1} {r5:>6.1} {mrr:>7.1} {n:>6}"),
        }
    }
    println!();
    let ours = |k: &str| macro_avg(&per_suite, k).unwrap_or_default();
    println!("Against peers (peer figures hard-coded from corpus/README.md, 2026-11)");
    println!(
        "{:<16} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8} {:>10} {:>9}",
        "engine",
        "full MRR",
        "full R@5",
        "w2 R@1",
        "w2 R@5",
        "c10 R@1",
        "c10 R@5",
        "desc MRR",
        "anchor MRR",
        "gz B/doc"
    );
    let gz_per_doc = gz_bytes as f64 / n_docs.max(1) as f64;
    println!(
        "{:<16} {:>8.1} {:>8.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>10.1} {:>9.0}",
        "frontdesk (ours)",
        ours("full").2,
        ours("full").1,
        ours("words_2").0,
        ours("words_2").1,
        ours("chars_10").0,
        ours("chars_10").1,
        ours("desc").2,
        ours("anchor").2,
        gz_per_doc
    );
    for p in peers::PEERS {
        println!(
            "{:<16} {:>8.0} {:>8.0} {:>7.0} {:>7.0} {:>7.0} {:>7.0} {:>8.0} {:>10.0} {:>9.0}",
            p.name,
            p.full_mrr,
            p.full_r5,
            p.words2_r1,
            p.words2_r5,
            p.chars10_r1,
            p.chars10_r5,
            p.desc_mrr,
            p.anchor_mrr,
            p.gzip_bytes_per_doc
        );
    }
    println!();
    if args.typos {
        let clean_w2 = ours("words_2").1;
        let clean_full = ours("full").1;
        let t_w2 = macro_avg(&typo_suite, "words_2").unwrap_or_default().1;
        let t_full = macro_avg(&typo_suite, "full").unwrap_or_default().1;
        println!("With one typo (seeded; one edit in one word of >= 5 letters)");
        println!(
            "  words_2 R@5: {clean_w2:.1} -> {t_w2:.1} (drop {:.1})",
            clean_w2 - t_w2
        );
        println!(
            "  full    R@5: {clean_full:.1} -> {t_full:.1} (drop {:.1})",
            clean_full - t_full
        );
        println!();
    }
    println!(
        "Whole index and chunked form (every chunk loaded: what the widget runs), macro average"
    );
    println!(
        "{:<10} {:>17} {:>17}",
        "kind", "whole R@1/R@5/MRR", "chunked R@1/R@5/MRR"
    );
    let mut differ = 0;
    for k in KINDS {
        let (Some(w), Some(c)) = (macro_avg(&per_suite, k), macro_avg(&chunked_suite, k)) else {
            continue;
        };
        let row = |x: (f64, f64, f64)| format!("{:.1}/{:.1}/{:.1}", x.0, x.1, x.2);
        let same = row(w) == row(c);
        differ += usize::from(!same);
        println!(
            "{k:<10} {:>17} {:>17}{}",
            row(w),
            row(c),
            if same { "" } else { "  DIFFERS" }
        );
    }
    if args.typos {
        for k in ["full", "words_2"] {
            let w = macro_avg(&typo_suite, k).unwrap_or_default().1;
            let c = macro_avg(&chunked_typo_suite, k).unwrap_or_default().1;
            let same = format!("{w:.1}") == format!("{c:.1}");
            differ += usize::from(!same);
            println!(
                "typo {k:<5} R@5 {w:>13.1} {c:>17.1}{}",
                if same { "" } else { "  DIFFERS" }
            );
        }
    }
    println!(
        "{}",
        if differ == 0 {
            "the chunked form ranks as the whole index does".to_string()
        } else {
            format!("{differ} row(s) DIFFER between the whole index and the chunked form")
        }
    );
    println!();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "Index size (with titles): {:.0} bytes/doc raw, {:.0} bytes/doc gzip ({:.0} gzip without the stored documents)",
        raw_bytes as f64 / n_docs as f64,
        gz_per_doc,
        gz_search_bytes as f64 / n_docs as f64
    );
    let per = |x: usize| x as f64 / n_docs as f64;
    println!(
        "  per section, bytes/doc raw (gzip alone): terms {:.0} ({:.0}), postings {:.0} ({:.0}), field lengths {:.0} ({:.0}), stored docs {:.0} ({:.0})",
        per(section_raw[0]),
        per(section_gz[0]),
        per(section_raw[1]),
        per(section_gz[1]),
        per(section_raw[2]),
        per(section_gz[2]),
        per(section_raw[3]),
        per(section_gz[3])
    );
    println!(
        "Build time: {:.0} ms for {} indexes ({} documents each twice)",
        build_time.as_secs_f64() * 1000.0,
        suites.len() * 2,
        n_docs
    );
    println!(
        "Native query latency over {} queries: p50 {:.0} us, p95 {:.0} us",
        latencies.len(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.95).as_secs_f64() * 1e6
    );

    // The search issue's acceptance table, in one place.
    let ceiling = |k: &str, at5: bool| -> f64 {
        ceilings.get(k).map_or(0.0, |c| {
            c.iter().map(|x| if at5 { x.1 } else { x.0 }).sum::<f64>() / c.len().max(1) as f64
        })
    };
    let best = |f: fn(&peers::Peer) -> f64| peers::PEERS.iter().map(f).fold(f64::MIN, f64::max);
    let mut rows: Vec<Row> = vec![
        Row::min(
            "full MRR@10",
            69.0,
            Some(best(|p| p.full_mrr)),
            ours("full").2,
        ),
        Row::min("full R@5", 83.0, Some(best(|p| p.full_r5)), ours("full").1),
        Row::min(
            "desc MRR@10",
            83.0,
            Some(best(|p| p.desc_mrr)),
            ours("desc").2,
        ),
        Row::min(
            "anchor MRR@10",
            66.0,
            Some(best(|p| p.anchor_mrr)),
            ours("anchor").2,
        ),
    ];
    for (k, peer1, peer5) in [
        (
            "words_2",
            Some(best(|p| p.words2_r1)),
            Some(best(|p| p.words2_r5)),
        ),
        ("words_3", None, None),
        (
            "chars_10",
            Some(best(|p| p.chars10_r1)),
            Some(best(|p| p.chars10_r5)),
        ),
    ] {
        rows.push(Row::min(
            &format!("{k} R@1 (ceil-1)"),
            ceiling(k, false) - 1.0,
            peer1,
            ours(k).0,
        ));
        rows.push(Row::min(
            &format!("{k} R@5 (ceil-1)"),
            ceiling(k, true) - 1.0,
            peer5,
            ours(k).1,
        ));
    }
    if args.typos {
        for k in ["full", "words_2"] {
            let drop = ours(k).1 - macro_avg(&typo_suite, k).unwrap_or_default().1;
            rows.push(Row::max(&format!("typo drop {k} R@5"), 8.0, None, drop));
        }
    }
    let best_size = peers::PEERS
        .iter()
        .map(|p| p.gzip_bytes_per_doc)
        .fold(f64::MAX, f64::min);
    rows.push(Row::max(
        "gzip bytes/doc",
        250.0,
        Some(best_size),
        gz_per_doc,
    ));
    println!();
    println!("Acceptance (search issue)");
    println!(
        "{:<22} {:>9} {:>9} {:>8}  result",
        "column", "floor", "best peer", "ours"
    );
    for r in &rows {
        println!(
            "{:<22} {:>3}{:>6.1} {:>9} {:>8.1}  {}",
            r.name,
            if r.at_most { "<=" } else { ">=" },
            r.bound,
            r.peer.map_or("-".to_string(), |p| format!("{p:.0}")),
            r.ours,
            if r.pass() { "PASS" } else { "FAIL" }
        );
    }
    let failed = rows.iter().filter(|r| !r.pass()).count();
    println!(
        "{}",
        if failed == 0 {
            "all acceptance columns PASS".to_string()
        } else {
            format!("{failed} acceptance column(s) FAIL")
        }
    );
    Ok(())
}

/// One acceptance column: a bound (floor or ceiling), the best peer's figure, ours.
struct Row {
    name: String,
    bound: f64,
    at_most: bool,
    peer: Option<f64>,
    ours: f64,
}

impl Row {
    fn min(name: &str, floor: f64, peer: Option<f64>, ours: f64) -> Row {
        Row {
            name: name.to_string(),
            bound: floor,
            at_most: false,
            peer,
            ours,
        }
    }
    fn max(name: &str, ceiling: f64, peer: Option<f64>, ours: f64) -> Row {
        Row {
            at_most: true,
            ..Row::min(name, ceiling, peer, ours)
        }
    }
    /// Compared at the printed precision (one decimal), so what is shown is what is judged.
    fn pass(&self) -> bool {
        let (ours, bound) = (
            (self.ours * 10.0).round() / 10.0,
            (self.bound * 10.0).round() / 10.0,
        );
        if self.at_most {
            ours <= bound
        } else {
            ours >= bound
        }
    }
}

/// One keystroke as the widget runs it: plan, top suggestions, a snippet for each.
fn keystroke(engine: &Engine<'_>, text: &str) -> usize {
    let plan = engine.plan(text);
    let hits = engine.search_plan(
        &plan,
        &search_engine::Query {
            text,
            limit: 5,
            ..Default::default()
        },
    );
    hits.iter()
        .map(|h| engine.snippet(&plan, h.doc, 140).highlights.len())
        .sum()
}

/// Percentile of sorted durations, in microseconds.
pub(crate) fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// `--generated N`: builds an index of N generated articles and replays the corpus queries of the
/// language and every keystroke prefix of its title queries against it.
fn run_generated(args: &Args, suites: &[corpus::Suite], n: usize) -> Result<()> {
    let vocab = generate::Vocabulary::from_suites(suites, &args.lang);
    anyhow::ensure!(
        !vocab.is_empty(),
        "the corpus has no articles in `{}` to draw words from",
        args.lang
    );
    let started = Instant::now();
    let articles = generate::articles(&vocab, n, 0x6E4E_2A7E);
    let gen_time = started.elapsed();
    let started = Instant::now();
    let mut builder = None;
    let bytes = match &args.read_index {
        // `--read-index FILE`: an index written by an earlier `--write-index` (saves the build).
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => {
            let b = builder.insert(IndexBuilder::new(&args.lang));
            for a in &articles {
                b.add(doc_input(a, true));
            }
            b.build()
        }
    };
    let build_time = started.elapsed();
    drop(articles);
    let started = Instant::now();
    let engine = Engine::from_bytes(&bytes)?.with_params(Params::browser());
    let load_time = started.elapsed();

    let queries: Vec<&corpus::QueryRow> = suites
        .iter()
        .filter(|s| s.lang.split('-').next() == Some(args.lang.as_str()))
        .flat_map(|s| &s.queries)
        .collect();
    let titles: Vec<&str> = queries
        .iter()
        .filter(|q| q.field == "title" && q.kind == "full")
        .map(|q| q.query.as_str())
        .collect();
    let prefixes: Vec<&str> = titles
        .iter()
        .flat_map(|t| generate::keystrokes(t))
        .collect();
    if let Some(path) = &args.write_index {
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.write_queries {
        std::fs::write(path, serde_json::to_vec(&prefixes)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }

    println!(
        "search-bench --generated {n}: words from the `{}` corpus articles, browser parameters",
        args.lang
    );
    println!(
        "Index: {} bytes raw, {:.0} bytes/doc raw, {:.0} bytes/doc gzip; generated in {:.0} ms, built in {:.0} ms, loaded in {:.1} ms",
        bytes.len(),
        bytes.len() as f64 / n.max(1) as f64,
        gzip_len(&bytes) as f64 / n.max(1) as f64,
        gen_time.as_secs_f64() * 1e3,
        build_time.as_secs_f64() * 1e3,
        load_time.as_secs_f64() * 1e3
    );
    if let Some(b) = &builder {
        let c = chunked::report(b, &bytes, &titles, &prefixes)?;
        if let Some(dir) = &args.write_chunked {
            chunked::write(&c, dir)?;
        }
    }
    if let Some(text) = &args.query {
        // `--generated N --query - TEXT`: one keystroke, repeated (for profiling).
        let t = Instant::now();
        for _ in 0..100 {
            std::hint::black_box(keystroke(&engine, text));
        }
        println!("{text:?}: {:.0} us", t.elapsed().as_secs_f64() * 1e4);
        return Ok(());
    }
    // One warm-up pass, then the measured one.
    let mut sink = 0usize;
    for q in prefixes.iter().take(200) {
        sink += keystroke(&engine, q);
    }
    let mut all: Vec<Duration> = Vec::new();
    for (name, texts) in [
        (
            "corpus queries",
            queries.iter().map(|q| q.query.as_str()).collect::<Vec<_>>(),
        ),
        ("title keystrokes", prefixes.clone()),
    ] {
        let mut lat: Vec<Duration> = Vec::with_capacity(texts.len());
        let mut slowest: Vec<(Duration, &str)> = Vec::new();
        for q in &texts {
            let t = Instant::now();
            sink += keystroke(&engine, q);
            lat.push(t.elapsed());
            slowest.push((t.elapsed(), q));
        }
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (d, q) in slowest.iter().take(args.show_slowest) {
            println!("  slow: {:>8.0} us {q:?}", d.as_secs_f64() * 1e6);
        }
        all.extend_from_slice(&lat);
        lat.sort();
        println!(
            "Native latency, {name} ({} runs, plan + top 5 + snippets): p50 {:.0} us, p95 {:.0} us, max {:.0} us",
            lat.len(),
            percentile_us(&lat, 0.50),
            percentile_us(&lat, 0.95),
            lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
        );
    }
    all.sort();
    println!(
        "Native latency, all ({} runs): p50 {:.0} us, p95 {:.0} us, max {:.0} us (target p95 <= 5000 us: {})",
        all.len(),
        percentile_us(&all, 0.50),
        percentile_us(&all, 0.95),
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        if percentile_us(&all, 0.95) <= 5000.0 {
            "PASS"
        } else {
            "FAIL"
        }
    );
    std::hint::black_box(sink);
    Ok(())
}
