//! Webhook wire types: the event names an endpoint subscribes to and the JSON each delivery
//! carries, `{type, timestamp, data}` as the Standard Webhooks specification shapes it
//! (<https://www.standardwebhooks.com/>). Times inside `data` are milliseconds since the epoch,
//! as everywhere else in Frontdesk; `timestamp` is RFC 3339 as the specification asks.

use serde::{Deserialize, Serialize};

/// What happened. The string form (`conversation.created`, …) is what endpoints subscribe to
/// and what `type` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.resolved")]
    ConversationResolved,
    #[serde(rename = "conversation.reopened")]
    ConversationReopened,
    #[serde(rename = "csat.submitted")]
    CsatSubmitted,
    #[serde(rename = "sla.breached")]
    SlaBreached,
    #[serde(rename = "contact.updated")]
    ContactUpdated,
    /// Sent by a rule (`{ webhook = "csat.low" }`), e.g. for a low rating, with the rating.
    #[serde(rename = "csat.low")]
    CsatLow,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::ConversationCreated,
        EventType::MessageCreated,
        EventType::ConversationAssigned,
        EventType::ConversationResolved,
        EventType::ConversationReopened,
        EventType::CsatSubmitted,
        EventType::SlaBreached,
        EventType::ContactUpdated,
        EventType::CsatLow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationCreated => "conversation.created",
            EventType::MessageCreated => "message.created",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::ConversationResolved => "conversation.resolved",
            EventType::ConversationReopened => "conversation.reopened",
            EventType::CsatSubmitted => "csat.submitted",
            EventType::SlaBreached => "sla.breached",
            EventType::ContactUpdated => "contact.updated",
            EventType::CsatLow => "csat.low",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// One delivery's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the event happened, RFC 3339 in UTC with milliseconds.
    pub timestamp: String,
    pub data: WebhookData,
}

impl WebhookPayload {
    pub fn new(kind: EventType, at_ms: i64, data: WebhookData) -> Self {
        WebhookPayload {
            kind,
            timestamp: rfc3339(at_ms),
            data,
        }
    }
}

/// What an event is about; which fields are set depends on the event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookData {
    /// Every event about a conversation (all but `contact.updated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<HookConversation>,
    /// `message.created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<HookMessage>,
    /// `csat.submitted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat: Option<HookCsat>,
    /// `sla.breached`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<HookBreach>,
    /// `contact.updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<HookContact>,
}

/// A conversation as webhooks describe it. `message.created` carries only `id` and `site`
/// (it is written on the hot path, which does not read the rest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookConversation {
    pub id: i64,
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<HookAgent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookAgent {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookMessage {
    /// The message's gap-free number in its conversation.
    pub seq: u64,
    /// `visitor` or `agent`.
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<i64>,
    pub body: String,
    pub created_at: i64,
    /// The files sent with it (id, name, type, size); their bytes are not in the event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookCsat {
    /// 1 to 5.
    pub rating: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookBreach {
    /// `first_response`, `next_response` or `resolution`.
    pub kind: String,
    pub due_at: i64,
    pub breached_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookContact {
    pub id: i64,
    pub site: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub attributes: std::collections::BTreeMap<String, String>,
    pub updated_at: i64,
}

/// `ms` since the epoch as RFC 3339 in UTC (`2026-12-01T03:04:05.678Z`), proleptic Gregorian.
pub fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_558_245_678), "2025-12-01T03:04:05.678Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn event_names_round_trip_and_payloads_have_the_spec_shape() {
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::json!(e.as_str())
            );
        }
        assert_eq!(EventType::parse("message.deleted"), None);
        let payload = WebhookPayload::new(
            EventType::CsatSubmitted,
            0,
            WebhookData {
                conversation: Some(HookConversation {
                    id: 7,
                    site: "shop".into(),
                    ..HookConversation::default()
                }),
                csat: Some(HookCsat {
                    rating: 2,
                    comment: None,
                }),
                ..WebhookData::default()
            },
        );
        assert_eq!(
            serde_json::to_value(&payload).unwrap(),
            serde_json::json!({
                "type": "csat.submitted",
                "timestamp": "1970-01-01T00:00:00.000Z",
                "data": {"conversation": {"id": 7, "site": "shop"}, "csat": {"rating": 2}}
            })
        );
    }
}

/// An endpoint in the admins' webhook API (`GET /api/webhooks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointInfo {
    pub id: i64,
    pub site: String,
    pub url: String,
    pub events: Vec<EventType>,
    /// In the settings now (an endpoint removed from them keeps its log, and its pending
    /// deliveries wait).
    pub configured: bool,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub last_success_at: Option<i64>,
}

/// One delivery in the log (`GET /api/webhooks/{id}/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryInfo {
    /// Its `webhook-id` is `msg_{id}`.
    pub id: i64,
    pub endpoint_id: i64,
    pub event: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: u32,
    /// The HTTP status of the last attempt, if one answered.
    pub last_response: Option<u16>,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The body sent, exactly as signed.
    pub payload: String,
}
