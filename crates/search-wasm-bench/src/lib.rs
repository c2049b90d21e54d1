//! The FAQ search engine in the browser, for `cargo xtask bench search-browser`: `load(index)`
//! then `run(queries)`, which times each query as one keystroke of the widget (plan, top 5
//! suggestions, a snippet for each) with `performance.now()`. A chunked index: `load_chunked`
//! (the entry), then per query `missing(text)` (term chunks to fetch), `add(name, bytes)`,
//! `missing_docs(text)` (document chunks of its results), and `run_chunked(queries)`.
//!
//! `std::time::Instant` traps on `wasm32-unknown-unknown`, hence the browser clock.

use search_engine::{ChunkedEngine, Engine, Query};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

/// Suggestions per keystroke, as in the widget.
const SUGGESTIONS: usize = 5;
/// Snippet window per suggestion, in bytes, as in the widget.
const SNIPPET_BYTES: usize = 140;

thread_local! {
    static ENGINE: RefCell<Option<Engine<'static>>> = const { RefCell::new(None) };
    static CHUNKED: RefCell<Option<ChunkedEngine>> = const { RefCell::new(None) };
    /// Chunks named by `missing` or `missing_docs`, by file name, until they are added.
    static NAMED: RefCell<HashMap<String, search_engine::ChunkRef>> = RefCell::new(HashMap::new());
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Reads an index (kept for the page's lifetime); returns its number of documents and the time
/// the engine took to load it, in microseconds.
#[wasm_bindgen]
pub fn load(index: Vec<u8>) -> Result<Vec<f64>, JsError> {
    let bytes: &'static [u8] = Box::leak(index.into_boxed_slice());
    let started = now_ms();
    let engine = Engine::from_bytes(bytes)
        .map_err(|e| JsError::new(&e.to_string()))?
        .with_params(search_engine::Params::browser());
    let took = (now_ms() - started) * 1000.0;
    let n = engine.index().len() as f64;
    ENGINE.with(|e| *e.borrow_mut() = Some(engine));
    Ok(vec![n, took])
}

/// One keystroke: plan, top suggestions, snippets. Returns the number of highlights (so the work
/// cannot be optimised away).
pub fn keystroke(engine: &Engine<'_>, text: &str) -> usize {
    let plan = engine.plan(text);
    let hits = engine.search_plan(
        &plan,
        &Query {
            text,
            limit: SUGGESTIONS,
            ..Query::default()
        },
    );
    hits.iter()
        .map(|h| engine.snippet(&plan, h.doc, SNIPPET_BYTES).highlights.len())
        .sum()
}

/// Runs every query (an array of strings) and returns the microseconds each took.
#[wasm_bindgen]
pub fn run(queries: js_sys::Array) -> Result<Vec<f64>, JsError> {
    ENGINE.with(|e| {
        let engine = e.borrow();
        let engine = engine
            .as_ref()
            .ok_or_else(|| JsError::new("call load(index) first"))?;
        let mut out = Vec::with_capacity(queries.length() as usize);
        let mut sink = 0usize;
        for q in queries.iter() {
            let text = q.as_string().unwrap_or_default();
            let started = now_ms();
            sink += keystroke(engine, &text);
            out.push((now_ms() - started) * 1000.0);
        }
        std::hint::black_box(sink);
        Ok(out)
    })
}

/// Reads the entry of a chunked index; returns its number of documents and the load time (us).
#[wasm_bindgen]
pub fn load_chunked(entry: Vec<u8>) -> Result<Vec<f64>, JsError> {
    let started = now_ms();
    let engine = ChunkedEngine::from_bytes(&entry)
        .map_err(|e| JsError::new(&e.to_string()))?
        .with_params(search_engine::Params::browser());
    let took = (now_ms() - started) * 1000.0;
    let n = engine.entry().len() as f64;
    CHUNKED.with(|e| *e.borrow_mut() = Some(engine));
    Ok(vec![n, took])
}

fn with_chunked<T>(f: impl FnOnce(&mut ChunkedEngine) -> Result<T, JsError>) -> Result<T, JsError> {
    CHUNKED.with(|e| {
        let mut engine = e.borrow_mut();
        f(engine
            .as_mut()
            .ok_or_else(|| JsError::new("call load_chunked(entry) first"))?)
    })
}

fn names(chunks: Vec<search_engine::ChunkRef>) -> Vec<String> {
    NAMED.with(|n| {
        let mut named = n.borrow_mut();
        chunks
            .into_iter()
            .map(|c| {
                let name = c.name.clone();
                named.insert(name.clone(), c);
                name
            })
            .collect()
    })
}

/// The term chunks a query needs that are not loaded yet, by file name.
#[wasm_bindgen]
pub fn missing(text: String) -> Result<Vec<String>, JsError> {
    with_chunked(|e| Ok(names(e.missing_for(&text))))
}

/// The document chunks of a query's results (with what is loaded) that are not loaded yet.
#[wasm_bindgen]
pub fn missing_docs(text: String) -> Result<Vec<String>, JsError> {
    with_chunked(|e| {
        let hits = e.search(&Query {
            text: &text,
            limit: SUGGESTIONS,
            ..Query::default()
        });
        Ok(names(e.missing_docs(&hits)))
    })
}

/// Adds a fetched chunk named by `missing` or `missing_docs`.
#[wasm_bindgen]
pub fn add(name: String, bytes: Vec<u8>) -> Result<(), JsError> {
    let chunk = NAMED
        .with(|n| n.borrow_mut().remove(&name))
        .ok_or_else(|| JsError::new("add a chunk named by missing() or missing_docs()"))?;
    with_chunked(|e| {
        e.add(&chunk, bytes)
            .map_err(|err| JsError::new(&err.to_string()))
    })
}

/// One keystroke on the chunks loaded: plan, top suggestions, snippets of those whose document
/// chunk is loaded.
pub fn keystroke_chunked(engine: &ChunkedEngine, text: &str) -> usize {
    let plan = engine.plan(text);
    let hits = engine.search_plan(
        &plan,
        &Query {
            text,
            limit: SUGGESTIONS,
            ..Query::default()
        },
    );
    hits.iter()
        .filter_map(|h| engine.snippet(&plan, h.doc, SNIPPET_BYTES))
        .map(|s| s.highlights.len())
        .sum()
}

/// Runs every query on the chunks loaded and returns the microseconds each took.
#[wasm_bindgen]
pub fn run_chunked(queries: js_sys::Array) -> Result<Vec<f64>, JsError> {
    with_chunked(|engine| {
        let mut out = Vec::with_capacity(queries.length() as usize);
        let mut sink = 0usize;
        for q in queries.iter() {
            let text = q.as_string().unwrap_or_default();
            let started = now_ms();
            sink += keystroke_chunked(engine, &text);
            out.push((now_ms() - started) * 1000.0);
        }
        std::hint::black_box(sink);
        Ok(out)
    })
}
