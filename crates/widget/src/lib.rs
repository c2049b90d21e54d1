//! The customer's chat widget (Yew + wasm), mounted in an iframe served from the Frontdesk origin.
//!
//! *Architecture invariant*: all chat logic lives in `state` (a pure reducer, tested natively);
//! `app` only renders state and performs the effects the reducer asks for. Message text is
//! rendered as text nodes, never as HTML.

pub mod i18n;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    app::mount();
}
