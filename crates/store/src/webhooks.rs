//! The records of webhooks: endpoints (configured in the settings, kept in the database so a
//! delivery log can refer to them and a disabled endpoint stays disabled) and deliveries (the
//! durable outbox: one row per event and subscribed endpoint, written in the transaction of the
//! change that caused it, read by the delivery worker).

use crate::Millis;
use protocol::webhooks::EventType;

/// An endpoint as the settings define it (its secret stays in the settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    pub site: String,
    pub url: String,
    pub events: Vec<EventType>,
}

/// An endpoint as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub site: String,
    pub url: String,
    pub events: Vec<EventType>,
    /// Disabled endpoints get no new deliveries and their pending ones wait until re-enabled.
    pub disabled_at: Option<Millis>,
    pub disabled_reason: Option<String>,
    pub last_success_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after the whole retry schedule.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> DeliveryState {
        match s {
            "delivered" => DeliveryState::Delivered,
            "failed" => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        }
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` (`msg_<id>`): the same on every attempt and replay.
    pub id: i64,
    pub endpoint_id: i64,
    pub event: String,
    /// The order is kept within a stream: `conversation:ID` or `contact:ID`.
    pub stream: String,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When the next attempt is due (pending rows).
    pub next_at: Millis,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Failed; tried again at `next_at`.
    Retry {
        status: Option<u16>,
        error: Option<String>,
        next_at: Millis,
    },
    /// Failed for the last time of the schedule: the stream moves on.
    GiveUp {
        status: Option<u16>,
        error: Option<String>,
    },
}
