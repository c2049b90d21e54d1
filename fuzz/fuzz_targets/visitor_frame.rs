//! The visitor frame decoder (every widget's WebSocket frames) and the server-frame decoder the
//! apps run, on arbitrary text: no panic, and what decodes re-encodes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(frame) = protocol::decode_visitor(text) {
        let again = frame.to_json();
        assert!(protocol::decode_visitor(&again).is_ok(), "{again}");
    }
    let _ = protocol::decode_server(text);
});
