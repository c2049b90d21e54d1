//! The customer's chat widget (Yew + wasm), mounted in an iframe served from the Frontdesk origin.
//!
//! *Architecture invariant*: all chat logic lives in `state` (a pure reducer, tested natively);
//! `app` only renders state and performs the effects the reducer asks for. Message text is
//! rendered as text nodes, never as HTML.

pub mod i18n;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(all(target_arch = "wasm32", feature = "search"))]
mod search;
#[cfg(all(target_arch = "wasm32", not(feature = "search")))]
#[path = "no_search.rs"]
mod search;

/// Parses JSON with the browser's `JSON.parse` and deserializes the resulting JS value. It keeps
/// serde_json's parser out of the wasm binary (measured: about 10 KB brotli).
#[cfg(target_arch = "wasm32")]
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    app::mount();
}

/// Serializes through a JS value and `JSON.stringify` (no serde_json in the wasm binary).
#[cfg(target_arch = "wasm32")]
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Option<String> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let js = value.serialize(&serializer).ok()?;
    js_sys::JSON::stringify(&js).ok()?.as_string()
}
