//! The chunked engine against the whole-index engine on the same documents: same results once
//! the chunks a query names are loaded, nothing before, documents only from loaded chunks.

use super::*;
use search_index::{DocInput, IndexBuilder};

fn kb(n: usize) -> IndexBuilder {
    let words = [
        "password", "reset", "invoice", "billing", "account", "login", "email", "refund",
        "payment", "export", "import", "team", "member", "invite", "delete", "archive", "search",
        "widget", "language", "mobile", "sync", "backup", "restore", "token", "webhook", "printer",
        "passport", "pastel", "patch", "path",
    ];
    let mut b = IndexBuilder::new("en");
    for i in 0..n {
        let w = |k: usize| words[(i * 7 + k * 3 + i / 5) % words.len()];
        b.add(DocInput {
            id: format!("doc-{i}"),
            title: format!("How do I {} my {} {}?", w(0), w(1), w(9)),
            body: format!(
                "To {} the {}, open {} settings. {} and {} work with {}.",
                w(2),
                w(3),
                w(4),
                w(5),
                w(6),
                w(7)
            ),
            tags: vec![w(8).into()],
            snippet: format!("Open {} settings.", w(4)),
            weight: if i % 50 == 0 { 2.0 } else { 1.0 },
            ..DocInput::default()
        });
    }
    b
}

fn query(text: &str) -> Query<'_> {
    Query {
        text,
        limit: 5,
        ..Query::default()
    }
}

/// Loads what `text` needs, as the widget does, and returns the hits.
fn load_and_run(
    engine: &mut ChunkedEngine,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    text: &str,
) -> Vec<Hit> {
    for c in engine.missing_for(text) {
        engine.add(&c, files[&c.name].clone()).unwrap();
    }
    engine.search(&query(text))
}

const QUERIES: [&str; 10] = [
    "password",
    "how do i reset my password",
    "How do I reset my pas",
    "invoice billing",
    "export team",
    "webhook token",
    "restoring backups",
    "how do i",
    "p",
    "mobile sync language",
];

#[test]
fn with_the_chunks_it_names_a_query_finds_what_the_whole_index_finds() {
    let b = kb(600);
    let whole_bytes = b.build();
    let whole = Engine::from_bytes(&whole_bytes).unwrap();
    let c = b.build_chunked(1024);
    assert!(c.chunks.len() > 20, "{} chunks", c.chunks.len());
    let mut engine = ChunkedEngine::from_bytes(&c.entry).unwrap();
    for text in QUERIES {
        let got = load_and_run(&mut engine, &c.chunks, text);
        let want = whole.search(&query(text));
        let ids = |h: &[Hit]| h.iter().map(|h| (h.doc, h.tier)).collect::<Vec<_>>();
        if text == "p" {
            // A one-letter prefix spans too many chunks: completions from what is loaded.
            assert!(!got.is_empty());
            continue;
        }
        assert_eq!(ids(&got), ids(&want), "{text}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g.score - w.score).abs() <= 1e-4 * w.score.abs(), "{text}");
        }
    }
}

#[test]
fn nothing_is_found_before_the_chunks_arrive_and_a_query_names_only_what_it_needs() {
    let b = kb(600);
    let c = b.build_chunked(1024);
    let mut engine = ChunkedEngine::from_bytes(&c.entry).unwrap();
    assert!(engine.search(&query("invoice")).is_empty());
    let needed = engine.missing_for("invoice");
    assert!(!needed.is_empty() && needed.len() <= 3, "{needed:?}");
    assert!(needed.iter().all(|n| !n.docs));
    let hits = load_and_run(&mut engine, &c.chunks, "invoice");
    assert!(!hits.is_empty());
    assert!(engine.missing_for("invoice").is_empty(), "loaded once");
    assert!(
        engine.doc(hits[0].doc).is_none(),
        "documents come with their chunk"
    );
    let docs = engine.missing_docs(&hits);
    assert!(!docs.is_empty() && docs.iter().all(|d| d.docs));
    for d in &docs {
        engine.add(d, c.chunks[&d.name].clone()).unwrap();
    }
    assert!(engine.missing_docs(&hits).is_empty());
    let plan = engine.plan("invoice");
    for h in &hits {
        let doc = engine.doc(h.doc).unwrap();
        assert_eq!(doc.id, format!("doc-{}", h.doc));
        assert!(engine.snippet(&plan, h.doc, 140).is_some());
    }
    // A word in the same chunk needs nothing more; a word elsewhere names its own chunk.
    let other = engine.missing_for("webhook");
    assert!(!other.is_empty());
    assert!(other.iter().all(|o| !needed.contains(o)));
    // A chunk of another entry (a rebuilt index) is refused, not misfiled.
    let mut stranger = other[0].clone();
    stranger.index = engine.entry().n_term_chunks();
    assert!(
        engine
            .add(&stranger, c.chunks[&other[0].name].clone())
            .is_err()
    );
    stranger.index = 0;
    assert!(
        engine
            .add(&stranger, c.chunks[&other[0].name].clone())
            .is_err()
    );
}

#[test]
fn a_short_prefix_spanning_many_chunks_loads_only_the_chunk_where_it_sorts() {
    let c = kb(600).build_chunked(256);
    let engine = ChunkedEngine::from_bytes(&c.entry).unwrap();
    let all_p = engine.entry().term_chunks_for_prefix("p");
    assert!(all_p.len() > MAX_PREFIX_CHUNKS, "{all_p:?}");
    assert_eq!(engine.chunks_for("p").len(), 1);
}

/// What a visitor types, keystroke by keystroke: words finished and continued, a word taken
/// back, an edit in the middle, a query started over.
fn typing() -> Vec<String> {
    let mut out = Vec::new();
    let mut type_out = |text: &str| {
        for (i, _) in text.char_indices().skip(1) {
            out.push(text[..i].to_owned());
        }
        out.push(text.to_owned());
    };
    type_out("how do i reset my password now");
    type_out("how do i reset my pass");
    type_out("how do i reset my");
    type_out("how do we reset my password");
    type_out("invoice billing export");
    type_out("invoice");
    type_out("p");
    out
}

#[test]
fn a_query_kept_from_the_last_keystroke_ranks_as_a_fresh_one() {
    // Sums carried between keystrokes and lists decoded once must change nothing, on both
    // engines, down to the last bit of the scores.
    let b = kb(600);
    let whole_bytes = b.build();
    let whole = Engine::from_bytes(&whole_bytes).unwrap();
    let c = b.build_chunked(4096);
    // Titles from the postings' positions (no document chunk), and from the stored titles.
    let terms_only = || {
        let mut e = ChunkedEngine::from_bytes(&c.entry).unwrap();
        for i in 0..e.entry().n_term_chunks() {
            let chunk = e.entry().term_chunk(i);
            e.add(&chunk, c.chunks[&chunk.name].clone()).unwrap();
        }
        e
    };
    let bundle = c.bundle();
    let (chunked, loaded) = (terms_only(), ChunkedEngine::from_bytes(&bundle).unwrap());
    let bits = |h: Vec<Hit>| {
        h.into_iter()
            .map(|h| (h.doc, h.tier, h.score.to_bits()))
            .collect::<Vec<_>>()
    };
    for text in typing() {
        let q = query(&text);
        let fresh_whole = Engine::from_bytes(&whole_bytes).unwrap();
        let want = bits(fresh_whole.search(&q));
        assert_eq!(bits(whole.search(&q)), want, "{text:?}");
        assert_eq!(
            bits(chunked.search(&q)),
            bits(terms_only().search(&q)),
            "{text:?}"
        );
        let fresh = ChunkedEngine::from_bytes(&bundle).unwrap();
        assert_eq!(bits(loaded.search(&q)), bits(fresh.search(&q)), "{text:?}");
        assert_eq!(bits(loaded.search(&q)), want, "{text:?}");
    }
}

#[test]
fn a_bundle_ranks_exactly_as_the_whole_index() {
    // Long bodies (field lengths past 127 tokens), typos in the first letter, short prefixes:
    // what the chunked form once approximated.
    let mut b = kb(300);
    for i in 0..40 {
        b.add(DocInput {
            id: format!("long-{i}"),
            title: format!("Installing the printer driver {i}"),
            body: "install printer driver cable settings ".repeat(40 + i),
            ..DocInput::default()
        });
    }
    let whole_bytes = b.build();
    let whole = Engine::from_bytes(&whole_bytes).unwrap();
    let c = b.build_chunked(1024);
    assert!(c.chunks.len() > 20, "{} chunks", c.chunks.len());
    let engine = ChunkedEngine::from_bytes(&c.bundle()).unwrap();
    let mut texts: Vec<&str> = QUERIES.to_vec();
    texts.extend([
        "installing printer",
        "oinvoice",
        "xassword",
        "install",
        "p",
        "pa",
        "dr",
    ]);
    for text in texts {
        let got = engine.search(&query(text));
        let want = whole.search(&query(text));
        assert!(!want.is_empty() || text == "xassword", "{text}");
        assert_eq!(got, want, "{text}: same documents, tiers and scores");
        for h in &got {
            assert_eq!(engine.doc(h.doc).unwrap(), *whole.index().doc(h.doc));
        }
    }
    assert!(engine.missing_for("anything at all").is_empty());
}
