//! The agent frame decoder on arbitrary text: no panic, and what decodes re-encodes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(frame) = protocol::decode_agent(text) {
        let again = frame.to_json();
        assert!(protocol::decode_agent(&again).is_ok(), "{again}");
    }
});
