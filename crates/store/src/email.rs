//! Email continuity's records: which conversations owe their customer an email.

use crate::Millis;

/// A conversation with agent replies its customer has not read, quiet long enough to email
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDue {
    pub conversation_id: i64,
    /// The newest message (an agent's).
    pub last_seq: u64,
    /// The newest message an earlier email carried (0: none).
    pub emailed_seq: u64,
    /// The newest message the customer read.
    pub visitor_read: u64,
    pub updated_at: Millis,
}
