//! Attachments over HTTP: uploads by visitors (a short-lived token from their socket, in a
//! header) and agents (session cookie and origin check), the size cap enforced while the body
//! is read, the type found in the content (`sniff.rs`), and downloads for the conversation's
//! visitor (its token in a header) or any signed-in agent, served so that no file can run
//! script in our origin.
//!
//! *Architecture invariant*: a token is never read from a URL: a request to an attachment with
//! a query string is refused.

mod sniff;

use crate::auth::{check_origin, require_agent, session_agent, token_hash};
use crate::limits::{Key, Limit};
use crate::{AppError, AppState, now_millis};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use protocol::{ATTACHMENT_TOKEN_HEADER, Attachment, VISITOR_TOKEN_HEADER};
use std::borrow::Cow;
use std::time::Duration;

pub use sniff::{Sniffed, sniff};

/// How long an upload token lasts.
pub const UPLOAD_TOKEN_MS: i64 = 10 * 60 * 1000;
/// Header carrying the file's name, percent-encoded (`encodeURIComponent`).
pub const NAME_HEADER: &str = "x-filename";
/// Longest name kept, in characters.
const MAX_NAME_CHARS: usize = 200;
/// What every attachment response says: never sniffed, never a document that runs anything.
pub const CSP: &str = "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; \
                       frame-ancestors 'self'";

fn mac(secret: &[u8], visitor: i64, expires: i64) -> Hmac<sha2::Sha256> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(format!("frontdesk-upload\0{visitor}\0{expires}").as_bytes());
    mac
}

/// A token letting `visitor` upload until the returned instant: `visitor.expires.signature`,
/// signed with the cluster key, so any node checks it without a lookup.
pub fn upload_token(secret: &[u8], visitor: i64, now: i64) -> (String, i64) {
    let expires = now + UPLOAD_TOKEN_MS;
    let signature = mac(secret, visitor, expires).finalize().into_bytes();
    (
        format!("{visitor}.{expires}.{}", hex::encode(&signature[..16])),
        expires,
    )
}

/// The visitor an upload token was made for, if it is genuine and not expired.
pub fn check_upload_token(secret: &[u8], token: &str, now: i64) -> Result<i64, &'static str> {
    let bad = "the upload token is not valid";
    let mut parts = token.splitn(3, '.');
    let (Some(visitor), Some(expires), Some(signature)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad);
    };
    let (Ok(visitor), Ok(expires), Ok(signature)) = (
        visitor.parse::<i64>(),
        expires.parse::<i64>(),
        hex::decode(signature),
    ) else {
        return Err(bad);
    };
    // Exactly the 16 bytes issued: a shorter prefix would be easier to guess.
    if signature.len() != 16 {
        return Err(bad);
    }
    mac(secret, visitor, expires)
        .verify_truncated_left(&signature)
        .map_err(|_| bad)?;
    if expires < now {
        return Err("the upload token expired; ask the socket for another");
    }
    Ok(visitor)
}

/// A message's text for the agents' search: its words and its files' names, whole and in
/// parts (word segmentation keeps `fatura.png` as one word; `fatura` should find it too).
pub fn search_text<'a>(body: &'a str, files: &[Attachment]) -> Cow<'a, str> {
    if files.is_empty() {
        return Cow::Borrowed(body);
    }
    let mut text = body.to_owned();
    for file in files {
        text.push('\n');
        text.push_str(&file.name);
        text.push(' ');
        text.extend(
            file.name
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { ' ' }),
        );
    }
    Cow::Owned(text)
}

/// A message's text with a line per file (`📎 name`), for where files cannot go (email).
pub fn named_files(body: &str, files: &[Attachment]) -> String {
    let mut text = body.trim().to_owned();
    for file in files {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("📎 ");
        text.push_str(&file.name);
    }
    text
}

/// The name as sent (percent-encoded), without any path, control or invisible characters.
fn file_name(headers: &HeaderMap) -> String {
    let raw = headers
        .get(NAME_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let decoded = percent_decode(raw);
    let last = decoded.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = protocol::clean_name(last)
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".to_owned()
    } else {
        clean
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn too_large(max: u64) -> AppError {
    AppError::TooLarge(format!(
        "the file is larger than {} MB",
        max.div_ceil(1024 * 1024)
    ))
}

/// The body, refused as soon as it passes `max` bytes (by its `Content-Length`, else while
/// it arrives): a large upload is never buffered whole.
async fn read_capped(headers: &HeaderMap, body: Body, max: u64) -> Result<Vec<u8>, AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let mut data = Vec::with_capacity(declared.unwrap_or(0) as usize);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("the upload was interrupted".into()))?;
        if (data.len() + chunk.len()) as u64 > max {
            return Err(too_large(max));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

fn unsupported() -> AppError {
    AppError::UnsupportedType(
        "this type of file is not accepted: send an image (PNG, JPEG, WebP, GIF), a PDF, a \
         text or CSV file, or a ZIP archive"
            .into(),
    )
}

/// Reads, checks and stores one upload.
async fn store_upload(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    visitor_id: Option<i64>,
    agent_id: Option<i64>,
    conversation_id: Option<i64>,
) -> Result<Response, AppError> {
    let max = state.settings.limits.attachment_bytes;
    let data = read_capped(headers, body, max).await?;
    if data.is_empty() {
        return Err(AppError::BadRequest("the file is empty".into()));
    }
    let name = file_name(headers);
    let Some(kind) = sniff(&data, &name) else {
        return Err(unsupported());
    };
    let id = crate::auth::new_token()[..32].to_owned();
    let stored = state
        .store
        .add_attachment(&store::NewAttachment {
            id: &id,
            visitor_id,
            agent_id,
            conversation_id,
            name: &name,
            content_type: kind.content_type,
            width: kind.width,
            height: kind.height,
            data: &data,
            at: now_millis(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// `POST /api/attachments`: a visitor's upload, with the token its socket gave it in
/// `X-Frontdesk-Upload`, the name in `X-Filename`, the bytes as the body.
pub async fn upload(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    refuse_query(query.as_deref())?;
    check_origin(&state, &headers)?;
    let token = headers
        .get(ATTACHMENT_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthenticated)?;
    let secret = state
        .cluster_secret()
        .await
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the cluster key is unavailable")))?;
    let visitor = check_upload_token(secret.as_bytes(), token, now_millis())
        .map_err(|m| AppError::Forbidden(m.into()))?;
    if let Err(wait) = state.limit(Limit::Uploads, Key::Visitor(visitor)) {
        return Err(AppError::RateLimited(wait.seconds()));
    }
    store_upload(&state, &headers, body, Some(visitor), None, None).await
}

/// `POST /api/conversations/{id}/attachments`: an agent's upload into a conversation.
pub async fn agent_upload(
    State(state): State<AppState>,
    Path(conversation): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    check_origin(&state, &headers)?;
    let agent = require_agent(&state, &headers).await?;
    if state.store.conversation(conversation).await?.is_none() {
        return Err(AppError::NotFound(format!(
            "no conversation {conversation}"
        )));
    }
    store_upload(
        &state,
        &headers,
        body,
        None,
        Some(agent.id),
        Some(conversation),
    )
    .await
}

/// How long an upload may wait for the message that sends it.
const UNSENT_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How often the node holding the `attachments` lease deletes expired unsent uploads.
const EXPIRY_EVERY: Duration = Duration::from_secs(3600);

/// The hourly deletion of uploads no message sent within a day (a page closed mid-way, or
/// uploads made only to fill the disk), on the node holding the `attachments` lease.
pub fn start(state: AppState) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(45)).await;
        loop {
            let ttl = (EXPIRY_EVERY * 2).as_millis() as i64;
            if matches!(
                state.store.try_lease("attachments", &state.node, ttl).await,
                Ok(true)
            ) {
                let before = now_millis() - UNSENT_KEPT.as_millis() as i64;
                match state.store.expire_unsent_attachments(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(files = n, "unsent uploads deleted"),
                    Err(e) => tracing::error!(error = %e, "deleting unsent uploads failed"),
                }
            }
            tokio::time::sleep(EXPIRY_EVERY).await;
        }
    });
}

fn refuse_query(query: Option<&str>) -> Result<(), AppError> {
    match query {
        Some(q) if !q.is_empty() => Err(AppError::BadRequest(
            "attachments take no query parameters: send tokens in headers, never in a URL".into(),
        )),
        _ => Ok(()),
    }
}

/// `Content-Disposition`: inline for the four image types, a download for everything else,
/// with the name as sent (RFC 6266 / 5987) and a plain-ASCII fallback.
fn disposition(info: &Attachment) -> HeaderValue {
    const IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];
    let kind = if IMAGES.contains(&info.content_type.as_str()) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = info
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in info.name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .expect("only ASCII")
}

/// `GET /api/attachments/{id}`: for the visitor of its conversation (or who uploaded it),
/// with its token in `X-Frontdesk-Visitor`, or for a signed-in agent.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    refuse_query(query.as_deref())?;
    let visitor_token = headers
        .get(VISITOR_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    let visitor = match visitor_token {
        Some(t) if t.len() <= protocol::MAX_TOKEN_LEN => {
            state.store.visitor(&token_hash(t)).await?.map(|v| v.id)
        }
        _ => None,
    };
    let agent = if visitor.is_none() {
        session_agent(&state, &headers).await?
    } else {
        None
    };
    if visitor.is_none() && agent.is_none() {
        return Err(AppError::Unauthenticated);
    }
    let not_found = || AppError::NotFound("no such attachment".into());
    if id.len() > protocol::MAX_ATTACHMENT_ID_LEN {
        return Err(not_found());
    }
    let Some(file) = state.store.attachment(&id).await? else {
        return Err(not_found());
    };
    let allowed = agent.is_some()
        || (visitor.is_some()
            && (file.visitor_id == visitor || file.conversation_visitor == visitor));
    if !allowed {
        return Err(not_found());
    }
    let content_type = if file.info.content_type.starts_with("text/") {
        format!("{}; charset=utf-8", file.info.content_type)
    } else {
        file.info.content_type.clone()
    };
    let mut response = Response::new(Body::from(file.data));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).expect("a stored type is ASCII"),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(&file.info));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Cookie, X-Frontdesk-Visitor"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_tokens_are_signed_bound_to_a_visitor_and_expire() {
        let (token, expires) = upload_token(b"key", 42, 1_000);
        assert_eq!(expires, 1_000 + UPLOAD_TOKEN_MS);
        assert_eq!(check_upload_token(b"key", &token, 2_000), Ok(42));
        assert!(check_upload_token(b"other key", &token, 2_000).is_err());
        assert!(check_upload_token(b"key", &token, expires + 1).is_err());
        let forged = token.replacen("42.", "43.", 1);
        assert!(check_upload_token(b"key", &forged, 2_000).is_err());
        let short = &token[..token.len() - 2];
        assert!(check_upload_token(b"key", short, 2_000).is_err());
        assert!(check_upload_token(b"key", "", 2_000).is_err());
    }

    #[test]
    fn files_are_named_where_they_cannot_go() {
        let file = |name: &str| Attachment {
            id: "x".into(),
            name: name.into(),
            content_type: "application/pdf".into(),
            size: 1,
            width: None,
            height: None,
        };
        assert_eq!(named_files("Here ", &[file("a.pdf")]), "Here\n📎 a.pdf");
        assert_eq!(
            named_files("", &[file("a.pdf"), file("b.png")]),
            "📎 a.pdf\n📎 b.png"
        );
        assert_eq!(named_files("Hi", &[]), "Hi");
        let text = search_text("see", &[file("fatura-março.pdf")]);
        assert_eq!(text, "see\nfatura-março.pdf fatura março pdf");
    }

    #[test]
    fn names_lose_paths_and_controls() {
        let name = |raw: &str| {
            let mut h = HeaderMap::new();
            h.insert(NAME_HEADER, HeaderValue::from_str(raw).unwrap());
            file_name(&h)
        };
        assert_eq!(name("Relat%C3%B3rio%20final.pdf"), "Relatório final.pdf");
        assert_eq!(name("..%2F..%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(name("C%3A%5Cx%5Cshot.png"), "shot.png");
        assert_eq!(name("a%0Ab%E2%80%AEgnp.exe"), "a bgnp.exe");
        assert_eq!(name(""), "file");
    }

    #[test]
    fn only_images_are_inline() {
        let info = |t: &str, n: &str| Attachment {
            id: "x".into(),
            name: n.into(),
            content_type: t.into(),
            size: 1,
            width: None,
            height: None,
        };
        assert_eq!(
            disposition(&info("image/png", "tela ç.png")),
            "inline; filename=\"tela _.png\"; filename*=UTF-8''tela%20%C3%A7.png"
        );
        assert_eq!(
            disposition(&info("text/plain", "x\".html")),
            "attachment; filename=\"x_.html\"; filename*=UTF-8''x%22.html"
        );
    }
}
