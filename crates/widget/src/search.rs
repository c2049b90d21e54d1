//! The in-browser knowledge-base search: loads `/index/manifest.json` and the chunked form of
//! the visitor's language index, runs the query engine on each keystroke, fetches opened
//! articles. A small knowledge base is one bundle (every chunk in one fetch); a big one loads
//! its entry first, then the term chunks the words being typed need and the document chunks of
//! the results shown, each fetched once; a keystroke runs on what is loaded and runs again when a
//! chunk it needed arrives.

use crate::state::Suggestion;
use protocol::IndexManifest;
use search_engine::{ChunkRef, ChunkedEngine, IndexError, Query, Snippet, StoredDoc};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::Callback;

/// Longest snippet shown under a suggestion, in bytes.
const SNIPPET_BYTES: usize = 140;

#[derive(Default)]
struct Inner {
    wanted: String,
    lang: Option<String>,
    version: Option<String>,
    manifest: Option<IndexManifest>,
    /// The entry and the chunks loaded so far (all of them for a bundle).
    engine: Option<ChunkedEngine>,
    articles: Option<Rc<BTreeMap<String, String>>>,
    /// Re-runs the current query (a chunk it needed arrived).
    on_ready: Option<Callback<()>>,
    /// Chunks asked for, so each is fetched once (a few dozen at most: a vector, no set code).
    asked: Vec<String>,
}

#[derive(Clone, Default)]
pub struct Search {
    inner: Rc<RefCell<Inner>>,
}

async fn fetch(url: &str, no_cache: bool) -> Option<web_sys::Response> {
    let init = web_sys::RequestInit::new();
    if no_cache {
        init.set_cache(web_sys::RequestCache::NoCache);
    }
    let window = web_sys::window()?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .ok()?
            .unchecked_into();
    response.ok().then_some(response)
}

async fn fetch_text(url: &str, no_cache: bool) -> Option<String> {
    let response = fetch(url, no_cache).await?;
    wasm_bindgen_futures::JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()
}

async fn fetch_bytes(url: &str) -> Option<Vec<u8>> {
    let response = fetch(url, false).await?;
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().ok()?)
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

impl Search {
    pub const ENABLED: bool = true;

    pub fn new() -> Self {
        Search::default()
    }

    pub fn ready(&self) -> bool {
        self.inner.borrow().engine.is_some()
    }

    /// Loads the index for `lang` (or the default language), then calls `on_ready`.
    pub fn set_language(&mut self, lang: &str, on_ready: Callback<()>) {
        self.inner.borrow_mut().wanted = lang.to_owned();
        self.load(false, on_ready);
    }

    /// Re-reads the manifest (after the server said the index changed) and reloads if needed.
    pub fn refresh(&mut self, on_ready: Callback<()>) {
        self.load(true, on_ready);
    }

    fn load(&self, refresh: bool, on_ready: Callback<()>) {
        let inner = self.inner.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let cached = inner.borrow().manifest.clone().filter(|_| !refresh);
            let manifest = match cached {
                Some(m) => m,
                None => match fetch_text("/index/manifest.json", true)
                    .await
                    .and_then(|t| crate::from_json::<IndexManifest>(&t))
                {
                    Some(m) => m,
                    None => return,
                },
            };
            let wanted = inner.borrow().wanted.clone();
            let lang = if manifest.languages.contains_key(&wanted) {
                wanted
            } else {
                manifest.default_language.clone()
            };
            let Some(files) = manifest.languages.get(&lang).cloned() else {
                return;
            };
            {
                let current = inner.borrow();
                if current.lang.as_deref() == Some(lang.as_str())
                    && current.version.as_deref() == Some(manifest.version.as_str())
                    && current.engine.is_some()
                {
                    return;
                }
            }
            let Some(bytes) = fetch_bytes(&format!("/index/{}", files.chunked)).await else {
                return;
            };
            let engine = ChunkedEngine::from_bytes(&bytes);
            let engine = match engine {
                Ok(engine) => engine,
                Err(e) => {
                    // Visible to whoever debugs the site; the widget falls back to chat only. Not
                    // the error's Display: its messages and formatting cost the widget bytes.
                    let why = if matches!(e, IndexError::IncompatibleVersion { .. }) {
                        "it was built by another Frontdesk release (rebuild it, or reload the page)"
                    } else {
                        "it is damaged or not a search index (rebuild it)"
                    };
                    let mut warning =
                        String::from("Frontdesk: the help-center index could not be loaded: ");
                    warning.push_str(why);
                    web_sys::console::warn_1(&warning.into());
                    return;
                }
            };
            {
                let mut state = inner.borrow_mut();
                state.engine = Some(engine);
                state.lang = Some(lang);
                state.version = Some(manifest.version.clone());
                state.manifest = Some(manifest);
                state.articles = None;
                state.asked.clear();
                state.on_ready = Some(on_ready.clone());
            }
            on_ready.emit(());
        });
    }

    /// The top suggestions for what the visitor typed so far (with a chunked index, from the
    /// chunks loaded; the missing ones are fetched and the query runs again when they arrive).
    pub fn run(&self, text: &str) -> Vec<Suggestion> {
        let inner = self.inner.borrow();
        let query = Query {
            text,
            lang: None,
            tags: Vec::new(),
            limit: crate::state::MAX_SUGGESTIONS,
        };
        let Some(engine) = &inner.engine else {
            return Vec::new();
        };
        let plan = engine.plan(text);
        let hits = engine.search_plan(&plan, &query);
        let mut missing = engine.missing_for(text);
        missing.extend(engine.missing_docs(&hits));
        let out = hits
            .into_iter()
            .filter_map(|hit| {
                let doc = engine.doc(hit.doc)?;
                Some(suggestion(
                    &doc,
                    engine.snippet(&plan, hit.doc, SNIPPET_BYTES)?,
                ))
            })
            .collect();
        drop(inner);
        self.fetch_chunks(missing);
        out
    }

    /// Fetches chunks not asked for yet; each one that arrives re-runs the current query.
    fn fetch_chunks(&self, chunks: Vec<ChunkRef>) {
        for chunk in chunks {
            {
                let asked = &mut self.inner.borrow_mut().asked;
                if asked.contains(&chunk.name) {
                    continue;
                }
                asked.push(chunk.name.clone());
            }
            let inner = self.inner.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let bytes = fetch_bytes(&format!("/index/{}", chunk.name)).await;
                let mut state = inner.borrow_mut();
                // The engine checks the chunk's content hash against its entry: a chunk of an
                // index rebuilt meanwhile is refused.
                if let (Some(bytes), Some(engine)) = (bytes, state.engine.as_mut())
                    && engine.add(&chunk, bytes).is_ok()
                {
                    let on_ready = state.on_ready.clone();
                    drop(state);
                    if let Some(on_ready) = on_ready {
                        on_ready.emit(());
                    }
                }
            });
        }
    }

    /// The sanitized HTML of an article, rendered at index-build time.
    pub async fn article(&self, id: &str) -> Option<String> {
        let articles = self.inner.borrow().articles.clone();
        let articles = match articles {
            Some(a) => a,
            None => {
                let (lang, manifest) = {
                    let inner = self.inner.borrow();
                    (inner.lang.clone()?, inner.manifest.clone()?)
                };
                let file = &manifest.languages.get(&lang)?.articles;
                let map: BTreeMap<String, String> =
                    crate::from_json(&fetch_text(&format!("/index/{file}"), false).await?)?;
                let map = Rc::new(map);
                self.inner.borrow_mut().articles = Some(map.clone());
                map
            }
        };
        fetch_text(&format!("/index/{}", articles.get(id)?), false).await
    }
}

/// A suggestion: the stored document and its highlighted snippet as text parts.
fn suggestion(doc: &StoredDoc<'_>, snippet: Snippet) -> Suggestion {
    let text = doc.snippet;
    let mut parts = Vec::new();
    let mut at = snippet.window.start;
    for h in &snippet.highlights {
        if h.start > at {
            parts.push((text[at..h.start].to_owned(), false));
        }
        parts.push((text[h.start..h.end].to_owned(), true));
        at = h.end;
    }
    if at < snippet.window.end {
        parts.push((text[at..snippet.window.end].to_owned(), false));
    }
    if snippet.window.end < text.len() {
        parts.push(("…".to_owned(), false));
    }
    Suggestion {
        id: doc.id.to_owned(),
        title: doc.title.to_owned(),
        url: (!doc.url.is_empty()).then(|| doc.url.to_owned()),
        snippet: parts,
    }
}
