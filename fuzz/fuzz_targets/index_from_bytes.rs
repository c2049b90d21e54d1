//! The index loader every customer's browser runs on downloaded bytes: arbitrary (and mutated
//! real) bytes must load or fail with a typed error, never panic or allocate without bound;
//! what loads must answer a query.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(engine) = search_engine::Engine::from_bytes(bytes) {
        let _ = engine.search(&search_engine::Query {
            text: "refund inv",
            lang: None,
            tags: Vec::new(),
            limit: 5,
        });
    }
});
