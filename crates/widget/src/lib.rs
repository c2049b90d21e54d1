//! The customer's chat widget (Yew + wasm), mounted in an iframe served from the Frontdesk origin.
//!
//! *Architecture invariant*: all chat logic lives in `state` (a pure reducer, tested natively);
//! `app` only renders state and performs the effects the reducer asks for. Message text is
//! rendered as text nodes, never as HTML.

pub mod i18n;
pub mod markdown;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod js_value;
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
    T::deserialize(js_value::Deserializer(value)).ok()
}

/// Parses a server frame. `JSON.parse`, then the object is wrapped as `{"<type>": frame}` and read
/// as an externally tagged enum (`ServerFrame::deserialize_by_variant`): serde's path for
/// internally tagged enums buffers every frame through a generic tree first, and its code was the
/// largest single part of the wasm (measured: 7.6 KB brotli less, console-only frames left out).
#[cfg(target_arch = "wasm32")]
pub(crate) fn server_frame_from_json(text: &str) -> Option<protocol::ServerFrame> {
    let frame = js_sys::JSON::parse(text).ok()?;
    let tag = js_sys::Reflect::get(&frame, &"type".into()).ok()?;
    let wrapped = js_sys::Object::new();
    js_sys::Reflect::set(&wrapped, &tag, &frame).ok()?;
    protocol::ServerFrame::deserialize_by_variant(js_value::Deserializer(wrapped.into())).ok()
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
