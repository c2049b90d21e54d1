//! The knowledge base as served to widgets: built in memory from the Markdown folder at start,
//! rebuilt when the folder changes (polled), served under `/index/` with a short-lived manifest
//! and immutable content-hashed files, each compressed once per build (brotli, gzip) and sent by
//! `Accept-Encoding`. Open widgets hear `index_changed` and reload.

use crate::AppState;
use crate::hub::HubEvent;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::api::ArticleHit;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

const POLL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Builds {
    /// Server-side (tantivy) search over the same articles.
    search: Option<Arc<server_search::ArticleSearch>>,
    current: Option<Arc<Served>>,
    /// The build before, so widgets holding the previous manifest can still fetch its files.
    previous: Option<Arc<Served>>,
    /// Each article's tags, by article id: the topics of a conversation about it.
    tags: Arc<std::collections::HashMap<String, Vec<String>>>,
}

/// A build with each file also compressed once (brotli and gzip, kept when smaller), since
/// every widget fetches the same immutable files.
struct Served {
    output: kb_build::Output,
    brotli: std::collections::HashMap<String, Vec<u8>>,
    gzip: std::collections::HashMap<String, Vec<u8>>,
}

/// A file's bytes as sent, and its `Content-Encoding` if any.
type Encoded = (Vec<u8>, Option<&'static str>);

impl Served {
    /// Compresses what `before` (the build served until now) does not have already: file names
    /// are content hashes, so a name seen before has the same bytes.
    fn new(output: kb_build::Output, before: Option<&Served>) -> Served {
        use std::io::Write;
        let mut brotli = std::collections::HashMap::new();
        let mut gzip = std::collections::HashMap::new();
        for (name, bytes) in &output.files {
            if let Some(before) = before.filter(|b| b.output.files.contains_key(name)) {
                if let Some(br) = before.brotli.get(name) {
                    brotli.insert(name.clone(), br.clone());
                }
                if let Some(gz) = before.gzip.get(name) {
                    gzip.insert(name.clone(), gz.clone());
                }
                continue;
            }
            // Best compression for what most knowledge bases are; a quicker level past 1 MB,
            // where the best one costs seconds per build.
            let quality = if bytes.len() > 1 << 20 { 9 } else { 11 };
            let mut br = Vec::new();
            {
                let mut w = ::brotli::CompressorWriter::new(&mut br, 4096, quality, 22);
                let _ = w.write_all(bytes);
            }
            if br.len() < bytes.len() {
                brotli.insert(name.clone(), br);
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            if gz.write_all(bytes).is_ok()
                && let Ok(gz) = gz.finish()
                && gz.len() < bytes.len()
            {
                gzip.insert(name.clone(), gz);
            }
        }
        Served {
            output,
            brotli,
            gzip,
        }
    }

    /// `name` in the best encoding the client accepts.
    fn file(&self, name: &str, headers: &axum::http::HeaderMap) -> Option<Encoded> {
        let raw = self.output.files.get(name)?;
        if let Some(br) = self
            .brotli
            .get(name)
            .filter(|_| crate::static_files::accepts(headers, "br"))
        {
            return Some((br.clone(), Some("br")));
        }
        if let Some(gz) = self
            .gzip
            .get(name)
            .filter(|_| crate::static_files::accepts(headers, "gzip"))
        {
            return Some((gz.clone(), Some("gzip")));
        }
        Some((raw.clone(), None))
    }
}

#[derive(Clone, Default)]
pub struct KnowledgeBase {
    builds: Arc<RwLock<Builds>>,
}

/// A cheap fingerprint of the folder: every Markdown file's path, size and mtime.
fn fingerprint(dir: &FsPath) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    fn walk(dir: &FsPath, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md")
                && let Ok(meta) = entry.metadata()
            {
                out.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

impl KnowledgeBase {
    /// Builds from `source` now; errors in articles are logged with file and line, and the
    /// articles without errors are served.
    pub fn build(&self, source: &FsPath) -> Option<String> {
        let loaded = kb_content::load_dir(source);
        for e in &loaded.errors {
            tracing::warn!("{}:{}: {}", e.path.display(), e.line, e.kind);
        }
        let output = kb_build::build(&loaded.articles);
        let version = output.manifest.version.clone();
        if self
            .builds
            .read()
            .expect("lock")
            .current
            .as_ref()
            .is_some_and(|c| c.output.manifest.version == version)
        {
            return None;
        }
        // Built outside the lock: readers keep serving the previous build meanwhile.
        let search = match server_search::ArticleSearch::build(&loaded.articles, true) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                tracing::error!(error = %e, "building the server-side article search failed");
                None
            }
        };
        let current = self.builds.read().expect("lock").current.clone();
        let served = Arc::new(Served::new(output, current.as_deref()));
        let tags = loaded
            .articles
            .iter()
            .map(|a| (a.id.clone(), a.tags.clone()))
            .collect();
        let mut builds = self.builds.write().expect("lock");
        builds.tags = Arc::new(tags);
        builds.previous = builds.current.take();
        builds.current = Some(served);
        builds.search = search;
        tracing::info!(
            articles = loaded.articles.len(),
            version,
            "knowledge base built"
        );
        Some(version)
    }

    /// The best article for `query` by the server-side search, in `lang` when it has one.
    pub async fn best_match(&self, lang: Option<String>, query: String) -> Option<String> {
        let search = self.builds.read().expect("lock").search.clone()?;
        tokio::task::spawn_blocking(move || {
            search
                .search(lang.as_deref(), &query, 1, server_search::Boosts::default())
                .ok()?
                .into_iter()
                .next()
                .map(|h| h.id)
        })
        .await
        .ok()
        .flatten()
    }

    /// The topics of a conversation about these articles: their tags, first seen first.
    pub fn topics<'a>(&self, articles: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let tags = self.builds.read().expect("lock").tags.clone();
        let mut out: Vec<String> = Vec::new();
        for tag in articles.into_iter().filter_map(|id| tags.get(id)).flatten() {
            if let Some(t) = protocol::normalize_label(tag)
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        out
    }

    /// The id of every article of the current knowledge base, sorted.
    pub fn article_ids(&self) -> Vec<String> {
        let tags = self.builds.read().expect("lock").tags.clone();
        let mut ids: Vec<String> = tags.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn file(&self, name: &str, headers: &axum::http::HeaderMap) -> Option<Encoded> {
        let builds = self.builds.read().expect("lock");
        [&builds.current, &builds.previous]
            .into_iter()
            .flatten()
            .find_map(|b| b.file(name, headers))
    }

    fn manifest(&self) -> Option<protocol::IndexManifest> {
        let builds = self.builds.read().expect("lock");
        builds.current.as_ref().map(|b| b.output.manifest.clone())
    }
}

/// Polls `source` and rebuilds on change, telling every connected widget.
pub fn watch(state: AppState, source: PathBuf) {
    tokio::spawn(async move {
        let mut last = fingerprint(&source);
        loop {
            tokio::time::sleep(POLL).await;
            let now = fingerprint(&source);
            if now == last {
                continue;
            }
            last = now;
            let kb = state.kb.clone();
            let src = source.clone();
            if let Ok(Some(version)) = tokio::task::spawn_blocking(move || kb.build(&src)).await {
                state.hub.publish(HubEvent::IndexChanged { version });
            }
        }
    });
}

#[derive(serde::Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/search?q=…&lang=…&limit=…`: the knowledge base searched on the server (tantivy),
/// for agents and for knowledge bases too large to ship to the browser whole.
pub async fn search(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<SearchQuery>,
) -> Result<axum::Json<Vec<ArticleHit>>, crate::AppError> {
    let limit = query.limit.unwrap_or(5).clamp(1, 20);
    Ok(axum::Json(
        search_articles(&state, &query.q, query.lang.as_deref(), limit).await?,
    ))
}

/// The best `limit` articles for `q` (the console's search and the public API's).
pub(crate) async fn search_articles(
    state: &AppState,
    q: &str,
    lang: Option<&str>,
    limit: usize,
) -> Result<Vec<ArticleHit>, crate::AppError> {
    if q.chars().count() > 200 {
        return Err(crate::AppError::BadRequest(
            "q is limited to 200 characters".into(),
        ));
    }
    if lang.is_some_and(|l| l.len() > 35) {
        return Err(crate::AppError::BadRequest(
            "lang is not a language tag".into(),
        ));
    }
    let search = state.kb.builds.read().expect("lock").search.clone();
    let Some(search) = search else {
        return Err(crate::AppError::NotFound(
            "no knowledge base is configured".into(),
        ));
    };
    let (q, lang) = (q.to_owned(), lang.map(str::to_owned));
    let hits = tokio::task::spawn_blocking(move || {
        search.search(lang.as_deref(), &q, limit, server_search::Boosts::default())
    })
    .await
    .map_err(|e| crate::AppError::Internal(e.into()))?
    .map_err(|e| crate::AppError::Internal(e.into()))?;
    Ok(hits
        .into_iter()
        .map(|h| ArticleHit {
            id: h.id,
            title: h.title,
            url: h.url,
            score: h.score,
        })
        .collect())
}

pub async fn manifest(State(state): State<AppState>) -> Response {
    match state.kb.manifest() {
        Some(m) => {
            let mut r = axum::Json(m).into_response();
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        None => (StatusCode::NOT_FOUND, "no knowledge base is configured\n").into_response(),
    }
}

pub async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some((bytes, encoding)) = state.kb.file(&name, &headers) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let mime = if name.ends_with(".html") {
        "text/html; charset=utf-8"
    } else if name.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(encoding) = encoding {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    if name.ends_with(".html") {
        // Sanitized at build time, and still locked down if opened on its own: no script, no
        // plugin, nothing from elsewhere, not framed by other sites, a sandboxed document.
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(ARTICLE_CSP),
        );
    }
    r
}

/// The policy of a rendered article opened as a page.
pub const ARTICLE_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox";
