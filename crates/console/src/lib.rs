//! The agent console (Yew + wasm): sign in, see conversations arrive live, open one, reply.
//!
//! *Architecture invariant*: the inbox logic lives in `state` (a pure reducer, tested natively);
//! `app` renders it and performs its effects. Message text is rendered as text, never as HTML.

pub mod reports;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod webhooks;

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    app::mount();
}
