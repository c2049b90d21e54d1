//! The FAQ search engine in the browser, for `cargo xtask bench search-browser`: `load(index)`
//! then `run(queries)`, which times each query as one keystroke of the widget (plan, top 5
//! suggestions, a snippet for each) with `performance.now()`.
//!
//! `std::time::Instant` traps on `wasm32-unknown-unknown`, hence the browser clock.

use search_engine::{Engine, Query};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// Suggestions per keystroke, as in the widget.
const SUGGESTIONS: usize = 5;
/// Snippet window per suggestion, in bytes, as in the widget.
const SNIPPET_BYTES: usize = 140;

thread_local! {
    static ENGINE: RefCell<Option<Engine<'static>>> = const { RefCell::new(None) };
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
