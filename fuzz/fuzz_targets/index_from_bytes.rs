//! The index loaders: arbitrary (and mutated real) bytes must load or fail with a typed error,
//! never panic or allocate without bound; what loads must answer a query. The same bytes go
//! to the whole-index loader (the CLI, the server) and to what every customer's browser runs
//! on downloaded files: `ChunkedEngine` on an entry or a bundle, and the term and document
//! chunk readers (the corpus holds version 4 files of each kind).
//!
//! Natively, the loader turns a panic inside `fst` (a damaged term dictionary whose checksum
//! the fuzzer forged) into a `Corrupt` error with `catch_unwind` (`read_terms_guarded`, with
//! its regression tests). libFuzzer's panic hook aborts on every panic, caught or not, so this
//! target replaces it with a silent one: a panic that escapes `from_bytes` or `search` still
//! reaches libfuzzer-sys's own `catch_unwind` and aborts as a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let query = search_engine::Query {
        text: "refund inv",
        lang: None,
        tags: Vec::new(),
        limit: 5,
    };
    if let Ok(engine) = search_engine::Engine::from_bytes(bytes) {
        let _ = engine.search(&query);
    }
    if let Ok(engine) = search_engine::ChunkedEngine::from_bytes(bytes) {
        let plan = engine.plan(query.text);
        for hit in engine.search_plan(&plan, &query) {
            let _ = engine.snippet(&plan, hit.doc, 140);
        }
        let _ = engine.missing_for(query.text);
    }
    if let Ok(chunk) = search_index::TermChunk::from_bytes(bytes.to_vec()) {
        for list in chunk.lists() {
            let _ = chunk.doc_freq(list);
        }
    }
    if let Ok(chunk) = search_index::DocChunk::from_bytes(bytes) {
        for doc in chunk.range() {
            let _ = chunk.doc(doc);
        }
    }
});
