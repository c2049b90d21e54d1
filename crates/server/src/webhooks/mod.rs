//! Webhooks: endpoints per site with a secret and chosen events (`[[sites.KEY.webhooks]]`),
//! delivered from the store's durable outbox by `worker`, signed per Standard Webhooks
//! (`sign`), over HTTP with an SSRF guard (`deliver`); the delivery log and replay for admins
//! (`http`).
//!
//! *Architecture invariant*: an event is written to the outbox in the transaction of the change
//! that caused it (the store does it); nothing here queues events in memory.

mod deliver;
pub(crate) mod http;
mod sign;
mod worker;

pub use deliver::forbidden;
pub use sign::Secret;
pub use worker::register;
pub(crate) use worker::start;

use protocol::webhooks::EventType;
use serde::Deserialize;
use std::time::Duration;

/// One configured endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub site: String,
    pub url: String,
    pub secret: Secret,
    pub events: Vec<EventType>,
}

/// `[webhooks]` and the sites' endpoints.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub endpoints: Vec<Endpoint>,
    /// The wait after each failed attempt; after the last, the delivery is given up (and the
    /// endpoint disabled if nothing reached it meanwhile).
    pub retry_schedule: Vec<Duration>,
    /// For one attempt: connecting, sending and the answer's head.
    pub timeout: Duration,
    /// Deliver to loopback and private addresses too (tests, an intranet CRM).
    pub allow_private_targets: bool,
    /// How often the node holding the `webhooks` lease looks for due deliveries.
    pub poll: Duration,
    /// Delivered and given-up rows are kept this long for the log.
    pub keep: Duration,
}

const HOUR: u64 = 3_600;

impl Default for Webhooks {
    fn default() -> Self {
        // Svix's schedule, with 10 h steps until ~3 days have passed.
        let mut retry_schedule = vec![
            Duration::from_secs(5),
            Duration::from_secs(5 * 60),
            Duration::from_secs(30 * 60),
            Duration::from_secs(2 * HOUR),
            Duration::from_secs(5 * HOUR),
        ];
        retry_schedule.extend([Duration::from_secs(10 * HOUR); 6]);
        Webhooks {
            endpoints: Vec::new(),
            retry_schedule,
            timeout: Duration::from_secs(15),
            allow_private_targets: false,
            poll: Duration::from_secs(1),
            keep: Duration::from_secs(30 * 24 * HOUR),
        }
    }
}

/// `[[sites.KEY.webhooks]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointToml {
    url: String,
    /// `whsec_` + base64 of a random key.
    secret: String,
    events: Vec<String>,
}

/// `[webhooks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksToml {
    #[serde(default)]
    retry_schedule_ms: Option<Vec<u64>>,
    #[serde(default)]
    timeout_seconds: Option<f64>,
    #[serde(default)]
    allow_private_targets: bool,
    #[serde(default)]
    poll_ms: Option<u64>,
    #[serde(default)]
    keep_days: Option<u32>,
}

impl EndpointToml {
    /// The endpoint of site `site`, validated; errors name the setting.
    pub fn parse(self, site: &str, n: usize) -> Result<Endpoint, String> {
        let at = format!("sites.{site}.webhooks[{n}]");
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("{at}.url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "{at}.url must be an http:// or https:// URL with a host"
            ));
        }
        let secret = Secret::parse(&self.secret).map_err(|e| format!("{at}.secret {e}"))?;
        let mut events = Vec::new();
        for name in &self.events {
            let event = EventType::parse(name).ok_or_else(|| {
                let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "{at}.events: unknown event {name:?} (known: {})",
                    known.join(", ")
                )
            })?;
            if !events.contains(&event) {
                events.push(event);
            }
        }
        if events.is_empty() {
            return Err(format!("{at}.events must name at least one event"));
        }
        Ok(Endpoint {
            site: site.to_owned(),
            url: self.url,
            secret,
            events,
        })
    }
}

impl WebhooksToml {
    /// The settings with `endpoints`; errors name the setting.
    pub fn parse(&self, endpoints: Vec<Endpoint>) -> Result<Webhooks, String> {
        let mut w = Webhooks {
            endpoints,
            allow_private_targets: self.allow_private_targets,
            ..Webhooks::default()
        };
        if let Some(schedule) = &self.retry_schedule_ms {
            w.retry_schedule = schedule
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect();
        }
        if let Some(s) = self.timeout_seconds {
            if !(s > 0.0 && s <= 300.0) {
                return Err("webhooks.timeout_seconds must be between 0 and 300".into());
            }
            w.timeout = Duration::from_secs_f64(s);
        }
        if let Some(ms) = self.poll_ms {
            if ms == 0 {
                return Err("webhooks.poll_ms must be at least 1".into());
            }
            w.poll = Duration::from_millis(ms);
        }
        if let Some(days) = self.keep_days {
            w.keep = Duration::from_secs(u64::from(days.max(1)) * 24 * HOUR);
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(toml: &str) -> Result<Endpoint, String> {
        toml::from_str::<EndpointToml>(toml)
            .map_err(|e| e.to_string())?
            .parse("shop", 0)
    }

    #[test]
    fn endpoints_are_validated_with_the_setting_named() {
        let ok = endpoint(
            "url = \"https://crm.example/hooks\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
             events = [\"message.created\", \"csat.submitted\", \"message.created\"]",
        )
        .unwrap();
        assert_eq!(
            ok.events,
            [EventType::MessageCreated, EventType::CsatSubmitted]
        );
        let bad_event = endpoint(
            "url = \"https://crm.example\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
             events = [\"message.deleted\"]",
        )
        .unwrap_err();
        assert!(
            bad_event
                .starts_with("sites.shop.webhooks[0].events: unknown event \"message.deleted\""),
            "{bad_event}"
        );
        let bad_url = endpoint(
            "url = \"ftp://crm.example\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n\
             events = [\"message.created\"]",
        )
        .unwrap_err();
        assert!(bad_url.contains("http:// or https://"), "{bad_url}");
        let bad_secret = endpoint(
            "url = \"https://crm.example\"\nsecret = \"hunter2\"\nevents = [\"message.created\"]",
        )
        .unwrap_err();
        assert!(bad_secret.contains("whsec_"), "{bad_secret}");
    }

    #[test]
    fn the_default_schedule_spans_about_three_days() {
        let total: Duration = Webhooks::default().retry_schedule.iter().sum();
        let hours = total.as_secs_f64() / 3_600.0;
        assert!((60.0..80.0).contains(&hours), "{hours} h");
        let w = WebhooksToml {
            retry_schedule_ms: Some(vec![50, 100]),
            ..WebhooksToml::default()
        }
        .parse(Vec::new())
        .unwrap();
        assert_eq!(
            w.retry_schedule,
            [Duration::from_millis(50), Duration::from_millis(100)]
        );
    }
}
