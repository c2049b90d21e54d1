//! Size probe: the whole query path behind inputs the optimiser cannot see, built for wasm32 to
//! measure what the engine costs in the browser (`search-bench --wasm-size <file>` prints brotli).

use search_engine::{Engine, Query};

fn main() {
    // black_box: on wasm32-unknown-unknown `args()` is known to be empty, which would let the
    // optimiser delete the engine.
    let args: Vec<String> = std::hint::black_box(std::env::args().collect());
    let bytes = args
        .get(1)
        .map(|s| s.as_bytes().to_vec())
        .unwrap_or_default();
    let text = args.get(2).cloned().unwrap_or_default();
    let found = match Engine::from_bytes(&bytes) {
        Ok(engine) => {
            let hits = engine.search(&Query {
                text: &text,
                lang: args.get(3).map(String::as_str),
                tags: Vec::new(),
                limit: 10,
            });
            let plan = engine.plan(&text);
            hits.iter()
                .map(|h| {
                    engine.snippet(&plan, h.doc, 160).highlights.len()
                        + engine.title_highlights(&plan, h.doc).len()
                })
                .sum()
        }
        Err(e) => e.to_string().len(),
    };
    std::process::exit(found as i32);
}
