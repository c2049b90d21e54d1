//! Escalation to an issue tracker: a conversation's issue, the conversations of an issue, the
//! status the tracker reports (only real changes count), and erasure taking the link along.

use crate::{NewEscalation, Store, StoreError};

const T: i64 = 5_000_000_000_000;

pub(super) async fn conversations_are_escalated_to_issues_whose_status_follows(store: &dyn Store) {
    let agent = store.list_agents().await.unwrap()[0].id;
    let mut ids = Vec::new();
    for i in 0..2 {
        let token = format!("vt-escalation-{i}");
        ids.push(super::visitor_with_conversation(store, &token, "demo", None, T).await);
    }
    let (first, second) = (ids[0].1, ids[1].1);
    let new = |conversation_id: i64, key: &'static str| NewEscalation {
        conversation_id,
        tracker: "jira",
        issue_key: key,
        url: "https://acme.atlassian.net/browse/SUP-7",
        status: "To Do",
        done: false,
        escalated_by: agent,
        at: T + 1,
    };
    assert_eq!(store.escalation(first).await.unwrap(), None);
    let e = store.escalate(&new(first, "SUP-7")).await.unwrap();
    assert_eq!(
        (e.conversation_id, e.tracker.as_str(), e.issue_key.as_str()),
        (first, "jira", "SUP-7")
    );
    assert_eq!(
        (
            e.status.as_str(),
            e.done,
            e.escalated_by,
            e.created_at,
            e.updated_at
        ),
        ("To Do", false, agent, T + 1, T + 1)
    );
    assert_eq!(e.url, "https://acme.atlassian.net/browse/SUP-7");
    assert_eq!(store.escalation(first).await.unwrap(), Some(e.clone()));
    assert_eq!(store.escalation(second).await.unwrap(), None);
    assert!(matches!(
        store.escalate(&new(first, "SUP-8")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.escalation(first).await.unwrap().unwrap().issue_key,
        "SUP-7",
        "a second escalation leaves the first as it was"
    );
    assert!(matches!(
        store.escalate(&new(first + 1_000_000, "SUP-7")).await,
        Err(StoreError::NotFound { .. })
    ));
    // Another customer hit the same bug: linked to the same issue.
    store.escalate(&new(second, "SUP-7")).await.unwrap();
    let of_issue = |tracker: &'static str, key: &'static str| async move {
        store
            .escalations_of_issue(tracker, key)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.conversation_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(of_issue("jira", "SUP-7").await, [first, second]);
    assert_eq!(of_issue("jira", "SUP-70").await, [0i64; 0]);
    assert_eq!(of_issue("github", "SUP-7").await, [0i64; 0]);
    // The tracker says it is done: changed once; the same news again changes nothing.
    assert!(
        store
            .set_escalation_status(first, "Done", true, T + 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_escalation_status(first, "Done", true, T + 6)
            .await
            .unwrap()
    );
    let done = store.escalation(first).await.unwrap().unwrap();
    assert_eq!(
        (
            done.status.as_str(),
            done.done,
            done.created_at,
            done.updated_at
        ),
        ("Done", true, T + 1, T + 5)
    );
    let other = store.escalation(second).await.unwrap().unwrap();
    assert_eq!((other.status.as_str(), other.done), ("To Do", false));
    // Reopened in the tracker: not done any more.
    assert!(
        store
            .set_escalation_status(first, "Reopened", false, T + 7)
            .await
            .unwrap()
    );
    assert!(!store.escalation(first).await.unwrap().unwrap().done);
    assert!(
        !store
            .set_escalation_status(first + 1_000_000, "Done", true, T + 8)
            .await
            .unwrap()
    );
    // Erasing the customer takes the link along; the other conversation keeps its own.
    let contact = store.visitor_contact(ids[0].0, T + 9).await.unwrap();
    store.erase_contact(contact.id, T + 10).await.unwrap();
    assert_eq!(store.escalation(first).await.unwrap(), None);
    assert_eq!(of_issue("jira", "SUP-7").await, [second]);
}
