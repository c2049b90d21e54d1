//! The webhook outbox: events are enqueued with the change that caused them, only for the
//! endpoints of the change's site that subscribe to them; the worker sees only the oldest
//! pending row of each stream, takes it alone, and the log and replay read it back.

use crate::{
    Attempt, ContactUpdate, ConversationContext, DeliveryState, EndpointSpec, NewAgent, NewMessage,
    SlaKind, Status, Store, WebhookDelivery,
};
use protocol::webhooks::{EventType, WebhookPayload};

const T: i64 = 7_000_000_000_000;

fn spec(site: &str, url: &str, events: &[EventType]) -> EndpointSpec {
    EndpointSpec {
        site: site.into(),
        url: url.into(),
        events: events.to_vec(),
    }
}

fn payload(d: &WebhookDelivery) -> WebhookPayload {
    serde_json::from_str(&d.payload).expect("a delivery's payload is a webhook payload")
}

/// Delivers the due rows of `endpoint` one round at a time until none is due; returns them in
/// the order delivered.
async fn drain(store: &dyn Store, endpoint: i64, now: i64) -> Vec<WebhookDelivery> {
    let mut out = Vec::new();
    loop {
        let due: Vec<_> = store
            .due_webhooks(now, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.endpoint_id == endpoint)
            .collect();
        if due.is_empty() {
            return out;
        }
        let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
        assert_eq!(store.claim_webhooks(&ids, 60_000).await.unwrap(), ids);
        let done: Vec<_> = ids
            .iter()
            .map(|id| (*id, Attempt::Delivered { status: 204 }))
            .collect();
        store.finish_webhooks(&done, now).await.unwrap();
        out.extend(due);
    }
}

pub(super) async fn the_outbox_keeps_every_event_in_order_per_stream(store: &dyn Store) {
    let all = EventType::ALL;
    let endpoints = store
        .sync_webhook_endpoints(
            &[
                spec("hooks", "https://crm.example/a", &all),
                spec(
                    "hooks",
                    "https://crm.example/b",
                    &[EventType::ConversationResolved],
                ),
                spec("hooks-other", "https://crm.example/a", &all),
            ],
            T,
        )
        .await
        .unwrap();
    let (a, b, other) = (endpoints[0].id, endpoints[1].id, endpoints[2].id);
    assert_eq!(endpoints[0].events, all.to_vec());
    assert_eq!(endpoints[1].disabled_at, None);

    let agent = store
        .create_agent(
            NewAgent {
                email: "hooks-bia@example.com".into(),
                name: "Bia".into(),
                password_hash: "$argon2id$fake".into(),
                admin: false,
            },
            T,
        )
        .await
        .unwrap();
    let visitor = store
        .create_visitor("hooks-token", "hooks", T)
        .await
        .unwrap();
    let conversation = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), T + 1)
        .await
        .unwrap();
    let c = conversation.id;
    // The same open conversation again: nothing new happened.
    store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), T + 2)
        .await
        .unwrap();
    // The customer's first message carries a screenshot: the event describes it.
    let shot = [protocol::Attachment {
        id: "hook-shot".into(),
        name: "shot.png".into(),
        content_type: "image/png".into(),
        size: 2_048,
        width: Some(640),
        height: Some(480),
    }];
    for (i, (by, body)) in [(None, "hello"), (Some(agent.id), "hi, how can I help?")]
        .into_iter()
        .enumerate()
    {
        let client_id = format!("hook-m{i}");
        let attachments: &[protocol::Attachment] = if i == 0 { &shot } else { &[] };
        let appended = store
            .append_message(NewMessage {
                conversation_id: c,
                client_id: &client_id,
                agent_id: by,
                body,
                at: T + 10 + i as i64,
                attachments,
            })
            .await
            .unwrap();
        // A resend is deduplicated: no second event.
        let again = store
            .append_message(NewMessage {
                conversation_id: c,
                client_id: &client_id,
                agent_id: by,
                body,
                at: T + 10 + i as i64,
                attachments,
            })
            .await
            .unwrap();
        assert!(!appended.duplicate && again.duplicate);
    }
    store.assign(c, Some(agent.id), T + 20).await.unwrap();
    store.set_status(c, Status::Resolved, T + 21).await.unwrap();
    // Resolving a resolved conversation changes nothing: no event.
    store.set_status(c, Status::Resolved, T + 22).await.unwrap();
    store.rate(c, 2, Some("slow")).await.unwrap();
    store.set_status(c, Status::Open, T + 23).await.unwrap();
    assert!(
        store
            .record_breach(c, SlaKind::FirstResponse, T + 5, T + 24)
            .await
            .unwrap()
    );
    let contact = store.visitor_contact(visitor.id, T + 25).await.unwrap();
    for at in [T + 26, T + 27] {
        // The second changes nothing: no second event.
        store
            .update_contact(
                contact.id,
                &ContactUpdate {
                    name: Some("Carla".into()),
                    ..ContactUpdate::default()
                },
                at,
            )
            .await
            .unwrap();
    }

    // Due now: the head of each stream only (A's conversation and contact, B's conversation);
    // nothing for the other site's endpoint.
    let due = store.due_webhooks(T + 100, 100).await.unwrap();
    let heads: Vec<(i64, &str)> = due
        .iter()
        .map(|d| (d.endpoint_id, d.event.as_str()))
        .collect();
    assert_eq!(
        heads,
        [
            (a, "conversation.created"),
            (b, "conversation.resolved"),
            (a, "contact.updated"),
        ]
    );
    assert!(
        due.iter()
            .all(|d| d.state == DeliveryState::Pending && d.attempts == 0)
    );
    let contact_row = payload(&due[2]);
    assert_eq!(
        contact_row.data.contact.unwrap().name.as_deref(),
        Some("Carla")
    );
    assert_eq!(due[2].stream, format!("contact:{}", contact.id));

    // One node at a time: a taken row is neither taken again nor due until released.
    let head = due[0].clone();
    assert_eq!(
        store.claim_webhooks(&[head.id], 60_000).await.unwrap(),
        [head.id]
    );
    // Several at once: all but the one already taken (these for no time, so they are free
    // again below).
    let others: Vec<i64> = due.iter().map(|d| d.id).collect();
    assert_eq!(
        store.claim_webhooks(&others, 0).await.unwrap(),
        others[1..].to_vec(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let due = store.due_webhooks(T + 100, 100).await.unwrap();
    assert!(due.iter().all(|d| d.id != head.id));
    // A failed attempt: retried at its time, and the stream waits for it.
    let retry = Attempt::Retry {
        status: Some(500),
        error: None,
        next_at: T + 1_000,
    };
    store
        .finish_webhooks(&[(head.id, retry)], T + 101)
        .await
        .unwrap();
    let due = store.due_webhooks(T + 999, 100).await.unwrap();
    assert!(
        due.iter()
            .all(|d| d.endpoint_id != a || d.stream != head.stream)
    );
    let due = store.due_webhooks(T + 1_000, 100).await.unwrap();
    let retried = due.iter().find(|d| d.id == head.id).unwrap();
    assert_eq!((retried.attempts, retried.last_status), (1, Some(500)));
    // Given up: the stream moves on.
    let give_up = Attempt::GiveUp {
        status: None,
        error: Some("connection refused".into()),
    };
    assert_eq!(
        store.claim_webhooks(&[head.id], 60_000).await.unwrap(),
        [head.id]
    );
    store
        .finish_webhooks(&[(head.id, give_up)], T + 1_001)
        .await
        .unwrap();

    let delivered = drain(store, a, T + 2_000).await;
    let events: Vec<&str> = delivered.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "message.created",
            "contact.updated",
            "message.created",
            "conversation.assigned",
            "conversation.resolved",
            "csat.submitted",
            "conversation.reopened",
            "sla.breached",
        ]
    );
    let first = payload(&delivered[0]);
    assert_eq!(first.kind, EventType::MessageCreated);
    let message = first.data.message.unwrap();
    assert_eq!((message.seq, message.author.as_str()), (1, "visitor"));
    assert_eq!(message.body, "hello");
    assert_eq!(message.attachments, shot);
    let reply = payload(&delivered[2]).data.message.unwrap();
    assert!(reply.attachments.is_empty(), "{reply:?}");
    assert_eq!(first.data.conversation.unwrap().id, c);
    let assigned = payload(&delivered[3]).data.conversation.unwrap();
    assert_eq!(assigned.assignee.unwrap().id, agent.id);
    let csat = payload(&delivered[5]).data.csat.unwrap();
    assert_eq!((csat.rating, csat.comment.as_deref()), (2, Some("slow")));
    let breach = payload(&delivered[7]).data.breach.unwrap();
    assert_eq!(
        (breach.kind.as_str(), breach.due_at),
        ("first_response", T + 5)
    );
    assert!(drain(store, other, T + 2_000).await.is_empty());
    assert_eq!(drain(store, b, T + 2_000).await.len(), 1);

    // The log, newest first, and a replay: same row, pending again from zero attempts.
    let log = store.webhook_deliveries(a, None, 100).await.unwrap();
    assert_eq!(log.len(), 9);
    assert!(log.windows(2).all(|w| w[0].id > w[1].id));
    let given_up = log.iter().find(|d| d.id == head.id).unwrap();
    assert_eq!(given_up.state, DeliveryState::Failed);
    assert_eq!(given_up.attempts, 2);
    assert_eq!(given_up.last_error.as_deref(), Some("connection refused"));
    let page = store
        .webhook_deliveries(a, Some(log[3].id), 2)
        .await
        .unwrap();
    assert_eq!(page, log[4..6].to_vec());
    let replayed = store.replay_webhook(head.id, T + 3_000).await.unwrap();
    assert_eq!(
        (replayed.state, replayed.attempts),
        (DeliveryState::Pending, 0)
    );
    assert_eq!(replayed.payload, head.payload);
    assert_eq!(drain(store, a, T + 3_000).await.len(), 1);

    // A disabled endpoint gets no new events and sends nothing, even after a restart (sync);
    // enabled again, what was pending goes out.
    let disabled = store
        .set_webhook_endpoint_disabled(a, Some("410 Gone"), T + 4_000)
        .await
        .unwrap();
    assert_eq!(disabled.disabled_at, Some(T + 4_000));
    store
        .set_status(c, Status::Resolved, T + 4_001)
        .await
        .unwrap();
    let again = store
        .sync_webhook_endpoints(&[spec("hooks", "https://crm.example/a", &all)], T + 4_002)
        .await
        .unwrap();
    assert_eq!(again[0].id, a);
    assert_eq!(again[0].disabled_reason.as_deref(), Some("410 Gone"));
    store
        .append_message(NewMessage {
            conversation_id: c,
            client_id: "hook-m9",
            agent_id: None,
            body: "anyone?",
            at: T + 4_003,
            attachments: &[],
        })
        .await
        .unwrap();
    assert_eq!(
        store.webhook_deliveries(a, None, 100).await.unwrap().len(),
        9
    );
    // B had the second resolution, then left the settings: nothing more is enqueued for it,
    // and what it has pending is not due (no node knows its secret).
    assert_eq!(
        store.webhook_deliveries(b, None, 100).await.unwrap().len(),
        2
    );
    let enabled = store
        .set_webhook_endpoint_disabled(a, None, T + 4_004)
        .await
        .unwrap();
    assert_eq!((enabled.disabled_at, enabled.disabled_reason), (None, None));
    store.set_status(c, Status::Open, T + 4_005).await.unwrap();
    assert_eq!(drain(store, a, T + 5_000).await.len(), 1);
    assert!(store.due_webhooks(T + 5_000, 100).await.unwrap().is_empty());
    assert_eq!(store.webhook_endpoints().await.unwrap().len(), 3);

    // Finished rows are pruned after a while; an erasure takes the pending ones too.
    assert_eq!(store.prune_webhooks(T + 2_500).await.unwrap(), 9);
    store
        .append_message(NewMessage {
            conversation_id: c,
            client_id: "hook-m10",
            agent_id: None,
            body: "my card number is …",
            at: T + 6_000,
            attachments: &[],
        })
        .await
        .unwrap();
    assert_eq!(store.due_webhooks(T + 6_000, 100).await.unwrap().len(), 1);
    store.erase_contact(contact.id, T + 6_001).await.unwrap();
    assert!(
        store
            .webhook_deliveries(a, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    store.sync_webhook_endpoints(&[], T + 7_000).await.unwrap();
}
