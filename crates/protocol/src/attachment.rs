//! Files attached to messages: what a message carries about each one, and the headers the
//! upload and download endpoints read (tokens travel in headers, never in a URL).

use serde::{Deserialize, Serialize};

/// Most files on one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest attachment id, in bytes.
pub const MAX_ATTACHMENT_ID_LEN: usize = 64;
/// Header of `POST /api/attachments` carrying the visitor's short-lived upload token.
pub const ATTACHMENT_TOKEN_HEADER: &str = "x-frontdesk-upload";
/// Header of `GET /api/attachments/{id}` carrying the visitor's own token (the widget's).
pub const VISITOR_TOKEN_HEADER: &str = "x-frontdesk-visitor";

/// A stored file, as a message carries it. Its bytes are at `/api/attachments/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// Random and unguessable; the URL's last segment.
    pub id: String,
    /// The file's name as uploaded (cleaned: no path, no control characters).
    pub name: String,
    /// The type found in the file's first bytes (never taken from the name): `image/png`,
    /// `image/jpeg`, `image/webp`, `image/gif`, `application/pdf`, `application/zip`,
    /// `text/csv` or `text/plain`.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// Pixels, for images whose header says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Attachment {
    /// Shown inline (a preview) rather than as a download.
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}
