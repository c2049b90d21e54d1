//! Serves the embedded web assets with the right MIME type, cache policy and security headers:
//! content-hashed files are immutable, the loader and pages are short-lived.

use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const LOADER_CACHE: &str = "public, max-age=300";
const NO_CACHE: &str = "no-cache";

/// The widget frame may be embedded by any site (site-level origin lists come with site
/// configuration); the console may not be framed at all.
const WIDGET_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors";
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";
/// The demo host page runs under a strict CSP, like a careful customer's site would.
const DEMO_CSP: &str = "default-src 'self'; script-src 'self'; frame-src 'self'; \
    style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

fn mime(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `Accept-Encoding` lists `coding` (without `q=0`). Shared with the knowledge base's
/// files (`kb.rs`).
pub(crate) fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|e| {
                let mut parts = e.split(';');
                parts
                    .next()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case(coding))
                    && !parts.any(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.trim().parse::<f32>().ok())
                            == Some(0.0)
                    })
            })
        })
}

fn serve(name: &str, headers: &HeaderMap, cache: &'static str, csp: Option<&str>) -> Response {
    let Some(asset) = assets::get(name) else {
        if !assets::built() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The web assets are not built into this binary: run `cargo xtask build`, then rebuild.\n",
            )
                .into_response();
        }
        return not_found_response();
    };
    let (body, encoded) = match asset.brotli {
        Some(br) if accepts(headers, "br") => (br, true),
        _ => (asset.bytes, false),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(mime(name)));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if asset.brotli.is_some() {
        h.insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    if encoded {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert(CONTENT_SECURITY_POLICY, csp);
    }
    response
}

fn not_found_response() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

pub async fn root() -> Redirect {
    Redirect::to("/demo")
}

pub async fn loader(headers: HeaderMap) -> Response {
    serve("widget.js", &headers, LOADER_CACHE, None)
}

pub async fn demo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.settings.demo_page {
        return not_found_response();
    }
    serve("demo.html", &headers, NO_CACHE, Some(DEMO_CSP))
}

pub async fn console(headers: HeaderMap) -> Response {
    serve("console.html", &headers, NO_CACHE, Some(CONSOLE_CSP))
}

#[derive(serde::Deserialize)]
pub struct FrameQuery {
    site: Option<String>,
}

/// The widget frame; a site with allowed origins may only be embedded by those origins.
pub async fn widget_frame(
    State(state): State<AppState>,
    Query(query): Query<FrameQuery>,
    headers: HeaderMap,
) -> Response {
    let site = query.site.as_deref().and_then(|s| state.site(s));
    let Some(site) = site else {
        return (StatusCode::NOT_FOUND, "unknown site\n").into_response();
    };
    let ancestors = if site.allowed_origins.is_empty() {
        "*".to_owned()
    } else {
        // Origins were validated at config load; anything else is dropped here too.
        site.allowed_origins
            .iter()
            .filter(|o| {
                o.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
            })
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let csp = format!("{WIDGET_CSP} {ancestors}");
    serve("widget.html", &headers, NO_CACHE, Some(&csp))
}

pub async fn hashed_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if name.contains("..") || name.starts_with('/') {
        return not_found_response();
    }
    serve(&format!("assets/{name}"), &headers, IMMUTABLE, None)
}

pub async fn not_found() -> Response {
    not_found_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types() {
        assert_eq!(mime("assets/widget-1a.wasm"), "application/wasm");
        assert_eq!(mime("widget.js"), "text/javascript; charset=utf-8");
        assert_eq!(mime("x"), "application/octet-stream");
    }

    #[test]
    fn brotli_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts(&h, "br"));
        h.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br;q=0.9"),
        );
        assert!(accepts(&h, "br") && accepts(&h, "gzip"));
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("brotli-ish"));
        assert!(!accepts(&h, "br"));
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("br;q=0, gzip"));
        assert!(!accepts(&h, "br") && accepts(&h, "gzip"));
    }
}
