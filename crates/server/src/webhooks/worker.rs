//! The delivery worker. On the node holding the `webhooks` lease it reads the due deliveries
//! (the oldest pending one of each stream: a conversation's next event waits until the previous
//! one is delivered or given up), takes them (`claim_webhooks`: one node delivers a row at a
//! time, even if the lease moves meanwhile), sends them at once, and records the attempts in one
//! transaction: delivered, a retry at the schedule's next step, or given up after the last. A
//! `410 Gone` disables the endpoint at once, and so does a delivery given up while nothing else
//! reached the endpoint.
//! Rows live in the database, so what is pending when a node stops goes out after a restart
//! (or from another node).

use super::deliver::{Answer, Client};
use super::{Endpoint, Webhooks};
use crate::{AppState, now_millis};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use store::{Attempt, EndpointSpec, Store, WebhookDelivery};

/// Rows sent at once (different streams; each stream has one row in flight at most).
const PARALLEL: usize = 16;
/// How often endpoints are read again (disabled or enabled on another node).
const REFRESH: Duration = Duration::from_secs(10);
/// How often the lease holder deletes rows past `keep`.
const PRUNE: Duration = Duration::from_secs(3_600);

fn specs(settings: &Webhooks) -> Vec<EndpointSpec> {
    settings
        .endpoints
        .iter()
        .map(|e| EndpointSpec {
            site: e.site.clone(),
            url: e.url.clone(),
            events: e.events.clone(),
        })
        .collect()
}

/// Registers the configured endpoints with the store: events are enqueued from then on. Call
/// before serving (the worker repeats it every few seconds).
pub async fn register(store: &dyn Store, settings: &Webhooks) -> store::Result<()> {
    store
        .sync_webhook_endpoints(&specs(settings), now_millis())
        .await
        .map(drop)
}

/// Starts the worker. Call once, inside the runtime.
pub(crate) fn start(state: AppState) {
    let settings = state.settings.webhooks.clone();
    if settings.endpoints.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.subscribe();
        let client = Client::new(settings.timeout, settings.allow_private_targets);
        let ttl = (settings.timeout * 2 + Duration::from_secs(5)).as_millis() as i64;
        let lease = (settings.poll * 3).max(Duration::from_secs(10));
        let (lease_ttl, renew) = (lease.as_millis() as i64, lease / 3);
        let mut leased: Option<tokio::time::Instant> = None;
        let mut endpoints: Arc<HashMap<i64, Endpoint>> = Arc::default();
        let mut refreshed: Option<tokio::time::Instant> = None;
        let mut pruned: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if refreshed.is_none_or(|t| t.elapsed() >= REFRESH) {
                match refresh(&*state.store, &settings).await {
                    Ok(map) => {
                        endpoints = Arc::new(map);
                        refreshed = Some(tokio::time::Instant::now());
                    }
                    Err(e) => tracing::warn!(error = %e, "reading the webhook endpoints failed"),
                }
            }
            let busy = if endpoints.is_empty() {
                false
            } else {
                // The lease is renewed a third of the way through, not on every round (each
                // renewal is a write).
                let held = match leased {
                    Some(at) if at.elapsed() < renew => Ok(true),
                    _ => {
                        state
                            .store
                            .try_lease("webhooks", &state.node, lease_ttl)
                            .await
                    }
                };
                leased = match &held {
                    Ok(true) => leased
                        .filter(|at| at.elapsed() < renew)
                        .or(Some(tokio::time::Instant::now())),
                    _ => None,
                };
                match held {
                    Ok(true) => {
                        if pruned.is_none_or(|t| t.elapsed() >= PRUNE) {
                            pruned = Some(tokio::time::Instant::now());
                            let before = now_millis() - settings.keep.as_millis() as i64;
                            if let Err(e) = state.store.prune_webhooks(before).await {
                                tracing::warn!(error = %e, "pruning old webhook deliveries failed");
                            }
                        }
                        round(&state, &client, &settings, &endpoints, ttl).await
                    }
                    Ok(false) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "the webhooks lease failed");
                        false
                    }
                }
            };
            // Something was sent: the streams' next rows may be due now.
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    });
}

/// Syncs the settings' endpoints into the store (which also refreshes what it enqueues for,
/// with what other nodes disabled or enabled); the endpoints by id.
async fn refresh(store: &dyn Store, settings: &Webhooks) -> store::Result<HashMap<i64, Endpoint>> {
    let synced = store
        .sync_webhook_endpoints(&specs(settings), now_millis())
        .await?;
    Ok(synced
        .into_iter()
        .zip(settings.endpoints.iter().cloned())
        .map(|(stored, configured)| (stored.id, configured))
        .collect())
}

/// Sends what is due: the rows taken in one statement, sent at once (each of another
/// stream), their attempts recorded in one transaction. Whether anything was sent.
async fn round(
    state: &AppState,
    client: &Client,
    settings: &Webhooks,
    endpoints: &HashMap<i64, Endpoint>,
    ttl: i64,
) -> bool {
    let store = &*state.store;
    let due = match store.due_webhooks(now_millis(), PARALLEL as u32).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "reading due webhooks failed");
            return false;
        }
    };
    let due: Vec<(WebhookDelivery, &Endpoint)> = due
        .into_iter()
        .filter_map(|d| endpoints.get(&d.endpoint_id).map(|e| (d, e)))
        .collect();
    if due.is_empty() {
        return false;
    }
    let ids: Vec<i64> = due.iter().map(|(d, _)| d.id).collect();
    let taken = match store.claim_webhooks(&ids, ttl).await {
        Ok(taken) => taken,
        Err(e) => {
            tracing::warn!(error = %e, "taking webhook deliveries failed");
            return false;
        }
    };
    let sends = due
        .into_iter()
        .filter(|(d, _)| taken.binary_search(&d.id).is_ok())
        .map(|(d, endpoint)| async move {
            let id = format!("msg_{}", d.id);
            let timestamp = now_millis() / 1000;
            let answer = client
                .send(&endpoint.url, &endpoint.secret, &id, timestamp, &d.payload)
                .await;
            (d, endpoint, answer)
        });
    let answers = futures_util::future::join_all(sends).await;
    if answers.is_empty() {
        return false;
    }
    let now = now_millis();
    // Endpoints something reached in this round (not recorded yet when the others are judged).
    let reached: HashSet<i64> = answers
        .iter()
        .filter(|(_, _, a)| a.ok())
        .map(|(d, ..)| d.endpoint_id)
        .collect();
    let mut last_success: Option<HashMap<i64, Option<i64>>> = None;
    let mut done = Vec::with_capacity(answers.len());
    let mut disable: Vec<(i64, String, &str)> = Vec::new();
    for (d, endpoint, answer) in &answers {
        let (attempt, gone) = judge(answer, d, &settings.retry_schedule, now);
        let reason = match gone {
            Some(reason) => Some(reason),
            // Given up: disabled too when nothing reached the endpoint since this row was
            // written.
            None if matches!(attempt, Attempt::GiveUp { .. })
                && !reached.contains(&d.endpoint_id) =>
            {
                if last_success.is_none() {
                    let all = store.webhook_endpoints().await.unwrap_or_default();
                    last_success =
                        Some(all.into_iter().map(|e| (e.id, e.last_success_at)).collect());
                }
                let at = last_success
                    .as_ref()
                    .and_then(|m| m.get(&d.endpoint_id).copied().flatten());
                at.is_none_or(|at| at < d.created_at)
                    .then(|| "failing for the whole retry schedule".to_owned())
            }
            None => None,
        };
        if let Some(reason) = reason
            && !disable.iter().any(|(id, ..)| *id == d.endpoint_id)
        {
            disable.push((d.endpoint_id, reason, endpoint.url.as_str()));
        }
        done.push((d.id, attempt));
    }
    // Disabled first: stopped here, a row that got 410 is not sent again after a restart.
    for (id, reason, url) in disable {
        tracing::warn!(endpoint = %url, %reason, "webhook endpoint disabled");
        if let Err(e) = store
            .set_webhook_endpoint_disabled(id, Some(&reason), now)
            .await
        {
            tracing::warn!(error = %e, "disabling a webhook endpoint failed");
        }
    }
    if let Err(e) = store.finish_webhooks(&done, now).await {
        tracing::warn!(error = %e, "recording webhook attempts failed");
    }
    true
}

/// What an answer means for the row, and whether it disables the endpoint.
fn judge(
    answer: &Answer,
    d: &WebhookDelivery,
    schedule: &[Duration],
    now: i64,
) -> (Attempt, Option<String>) {
    if let Some(status) = answer.status.filter(|_| answer.ok()) {
        return (Attempt::Delivered { status }, None);
    }
    let (status, error) = (answer.status, answer.error.clone());
    // Gone: the endpoint is disabled, the row stays pending for when it is enabled again.
    if status == Some(410) {
        let retry = Attempt::Retry {
            status,
            error,
            next_at: now,
        };
        return (retry, Some("the endpoint answered 410 Gone".into()));
    }
    match schedule.get(d.attempts as usize) {
        Some(wait) => (
            Attempt::Retry {
                status,
                error,
                next_at: now + wait.as_millis() as i64,
            },
            None,
        ),
        None => (Attempt::GiveUp { status, error }, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::DeliveryState;

    fn row(attempts: u32) -> WebhookDelivery {
        WebhookDelivery {
            id: 1,
            endpoint_id: 1,
            event: "message.created".into(),
            stream: "conversation:1".into(),
            payload: "{}".into(),
            state: DeliveryState::Pending,
            attempts,
            next_at: 0,
            last_status: None,
            last_error: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn answer(status: Option<u16>) -> Answer {
        Answer {
            status,
            error: None,
        }
    }

    #[test]
    fn failures_follow_the_schedule_then_give_up_and_410_disables() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(300)];
        let (a, off) = judge(&answer(Some(204)), &row(0), &schedule, 1_000);
        assert_eq!((a, off), (Attempt::Delivered { status: 204 }, None));
        let (a, _) = judge(&answer(Some(500)), &row(0), &schedule, 1_000);
        assert!(matches!(a, Attempt::Retry { next_at: 6_000, .. }));
        let (a, _) = judge(&answer(None), &row(1), &schedule, 1_000);
        assert!(matches!(
            a,
            Attempt::Retry {
                next_at: 301_000,
                ..
            }
        ));
        let (a, off) = judge(&answer(Some(503)), &row(2), &schedule, 1_000);
        assert!(matches!(
            a,
            Attempt::GiveUp {
                status: Some(503),
                ..
            }
        ));
        assert_eq!(off, None);
        let (a, off) = judge(&answer(Some(410)), &row(0), &schedule, 1_000);
        assert!(matches!(
            a,
            Attempt::Retry {
                status: Some(410),
                ..
            }
        ));
        assert!(off.unwrap().contains("410"));
        // A redirect is not a delivery (redirects are not followed).
        let (a, _) = judge(&answer(Some(301)), &row(0), &schedule, 1_000);
        assert!(matches!(a, Attempt::Retry { .. }));
    }
}
