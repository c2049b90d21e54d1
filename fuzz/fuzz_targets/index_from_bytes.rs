//! The index loader every customer's browser runs on downloaded bytes: arbitrary (and mutated
//! real) bytes must load or fail with a typed error, never panic or allocate without bound;
//! what loads must answer a query.
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
    if let Ok(engine) = search_engine::Engine::from_bytes(bytes) {
        let _ = engine.search(&search_engine::Query {
            text: "refund inv",
            lang: None,
            tags: Vec::new(),
            limit: 5,
        });
    }
});
