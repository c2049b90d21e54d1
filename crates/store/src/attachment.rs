//! Attachments' records: a file uploaded by a visitor or an agent, kept in the database.

use crate::Millis;

/// What `Store::add_attachment` stores. The server has checked the type by content and
/// cleaned the name; `id` is random.
#[derive(Debug, Clone, Copy)]
pub struct NewAttachment<'a> {
    pub id: &'a str,
    /// The visitor who uploaded it (`None` for an agent's upload).
    pub visitor_id: Option<i64>,
    /// The agent who uploaded it.
    pub agent_id: Option<i64>,
    /// The conversation it belongs to: an agent uploads into one; a visitor's upload gets one
    /// when the message carrying it is sent (`Store::claim_attachments`).
    pub conversation_id: Option<i64>,
    pub name: &'a str,
    pub content_type: &'a str,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub data: &'a [u8],
    pub at: Millis,
}

/// A stored file with its bytes and who may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub info: protocol::Attachment,
    pub visitor_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// The visitor (browser) of its conversation, who may read it too.
    pub conversation_visitor: Option<i64>,
    pub data: Vec<u8>,
    pub created_at: Millis,
}
