//! A customer's copy of their data (`GET /api/contacts/{id}/export`, `frontdesk contact
//! export`): one JSON document with the profile, every conversation with its messages and
//! notes, ratings, and the searches the customer said an article answered.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The format's name and version, the document's first field.
pub const CONTACT_EXPORT_FORMAT: &str = "frontdesk.contact-export.v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactExport {
    /// `CONTACT_EXPORT_FORMAT`.
    pub format: String,
    /// When the export was made (milliseconds since the Unix epoch).
    pub exported_at: i64,
    pub contact: ExportedContact,
    /// Duplicate records merged into this contact, as they were when merged.
    pub merged: Vec<ExportedContact>,
    /// Oldest first.
    pub conversations: Vec<ExportedConversation>,
    /// "This article answered my question", with what was searched.
    pub answered_by_articles: Vec<ExportedDeflection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedContact {
    pub id: i64,
    pub site: String,
    /// The site's own user id, when the site verified it.
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub account_manager: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedConversation {
    pub id: i64,
    /// `open` or `resolved`.
    pub status: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    pub page_url: Option<String>,
    pub locale: Option<String>,
    /// What the customer searched and read before asking (JSON, as recorded at handoff).
    pub context: Option<String>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    /// The customer's answer to "how easy was it?" (1–7), when the site asked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<u8>,
    /// Milliseconds the customer spent searching the help articles before asking for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_help_ms: Option<i64>,
    pub priority: String,
    pub team: Option<String>,
    pub labels: Vec<String>,
    pub messages: Vec<ExportedMessage>,
    /// Agents' private notes about the conversation.
    pub notes: Vec<ExportedNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedMessage {
    pub seq: u64,
    /// `customer` or `agent`.
    pub from: String,
    /// The agent's name, for agents' messages.
    pub agent: Option<String>,
    pub body: String,
    pub at: i64,
    /// The files sent with the message (their bytes are at `/api/attachments/{id}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedNote {
    pub agent: String,
    pub body: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedDeflection {
    pub query: String,
    pub article: String,
    pub at: i64,
}

/// What erasing a contact removed (`DELETE /api/contacts/{id}`, `frontdesk contact delete`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactErased {
    pub contacts: Vec<i64>,
    pub conversations: Vec<i64>,
    pub browsers: Vec<i64>,
}
