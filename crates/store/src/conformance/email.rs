//! Email continuity: which conversations owe their customer an email.

use crate::{ConversationContext, NewMessage, ReadBy, Store};

/// Far from the other stories' times, so their conversations stay out of the windows.
const T: i64 = 4_000_000_000_000;
const MIN: i64 = 60_000;

async fn say(store: &dyn Store, conversation_id: i64, agent: Option<i64>, id: &str, at: i64) {
    store
        .append_message(NewMessage {
            conversation_id,
            client_id: id,
            agent_id: agent,
            body: "hello",
            at,
            attachments: &[],
        })
        .await
        .unwrap();
}

pub(super) async fn unread_replies_to_a_known_address_are_due_once(store: &dyn Store) {
    let agent = store.list_agents().await.unwrap()[0].id;
    let mut ids = Vec::new();
    for (i, email) in [Some("rita@example.com"), None].into_iter().enumerate() {
        let visitor = store
            .create_visitor(&format!("vt-email-{i}"), "demo", T)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&visitor, &ConversationContext::default(), T)
            .await
            .unwrap();
        if let Some(email) = email {
            store.set_contact(c.id, None, Some(email)).await.unwrap();
        }
        say(store, c.id, None, "q", T + MIN).await;
        ids.push(c.id);
    }
    let (rita, anonymous) = (ids[0], ids[1]);
    let due = |quiet_since: i64| async move {
        store
            .email_due(quiet_since, T, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.conversation_id, d.last_seq, d.emailed_seq, d.visitor_read))
            .collect::<Vec<_>>()
    };
    assert_eq!(due(T + 60 * MIN).await, [], "the customer wrote last");
    say(store, rita, Some(agent), "a1", T + 2 * MIN).await;
    say(store, anonymous, Some(agent), "a1", T + 2 * MIN).await;
    // Quiet since: the reply is newer than the quiet period's start.
    assert_eq!(due(T + MIN).await, []);
    // Quiet long enough: only the conversation with an address (read up to nothing yet).
    assert_eq!(due(T + 10 * MIN).await, [(rita, 2, 0, 0)]);
    // Read in the widget: nothing owed.
    store.mark_read(rita, ReadBy::Visitor, 2).await.unwrap();
    assert_eq!(due(T + 10 * MIN).await, []);
    // Two more replies while away: one email for both.
    say(store, rita, Some(agent), "a2", T + 3 * MIN).await;
    say(store, rita, Some(agent), "a3", T + 4 * MIN).await;
    assert_eq!(due(T + 10 * MIN).await, [(rita, 4, 0, 2)]);
    assert!(store.set_emailed(rita, 4).await.unwrap());
    assert!(
        !store.set_emailed(rita, 4).await.unwrap(),
        "another node: already done"
    );
    assert!(!store.set_emailed(rita, 3).await.unwrap(), "never lowered");
    assert!(
        !store.set_emailed(rita, 9).await.unwrap(),
        "never past the newest message"
    );
    assert_eq!(due(T + 10 * MIN).await, []);
    // The next reply is owed again, threaded to the first email.
    say(store, rita, Some(agent), "a4", T + 5 * MIN).await;
    assert_eq!(due(T + 10 * MIN).await, [(rita, 5, 4, 2)]);
    // Outside the window (changed before `not_before`): not looked at.
    assert_eq!(
        store
            .email_due(T + 10 * MIN, T + 6 * MIN, 100)
            .await
            .unwrap(),
        []
    );
    let c = store.conversation(rita).await.unwrap().unwrap();
    assert_eq!(c.last_seq, 5);
}
