//! The widget built without the `search` feature: no suggestions; the home screen offers the
//! chat directly (the view checks `Search::ENABLED`).

use crate::state::Suggestion;
use yew::Callback;

#[derive(Clone, Default)]
pub struct Search;

impl Search {
    pub const ENABLED: bool = false;

    pub fn new() -> Self {
        Search
    }

    pub fn ready(&self) -> bool {
        false
    }

    pub fn set_language(&mut self, _lang: &str, _on_ready: Callback<()>) {}

    pub fn refresh(&mut self, _on_ready: Callback<()>) {}

    pub fn run(&self, _text: &str) -> Vec<Suggestion> {
        Vec::new()
    }

    pub async fn article(&self, _id: &str) -> Option<String> {
        None
    }
}
