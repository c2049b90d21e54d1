//! Attachments: a visitor's upload waits for the message that sends it and joins only that
//! visitor's conversation; an agent's belongs to its conversation from the start; a message
//! keeps its files' descriptions; the export carries them; erasure takes the bytes along.

use crate::{ConversationContext, NewAttachment, NewMessage, Store, StoreError};

const T: i64 = 6_000_000_000_000;

fn upload<'a>(id: &'a str, visitor: Option<i64>, agent: Option<i64>) -> NewAttachment<'a> {
    NewAttachment {
        id,
        visitor_id: visitor,
        agent_id: agent,
        conversation_id: None,
        name: "shot.png",
        content_type: "image/png",
        width: Some(640),
        height: Some(480),
        data: b"\x89PNG\r\n\x1a\n-and-some-bytes",
        at: T,
    }
}

pub(super) async fn uploads_join_their_senders_conversation_and_go_with_it(store: &dyn Store) {
    let agent = store.list_agents().await.unwrap()[0].id;
    let mut people = Vec::new();
    for i in 0..2 {
        let token = format!("vt-attachments-{i}");
        people.push(super::visitor_with_conversation(store, &token, "demo", None, T).await);
    }
    let [(alice, alice_c), (bob, bob_c)] = people[..] else {
        unreachable!()
    };

    // Stored with its bytes, in no conversation yet.
    let info = store
        .add_attachment(&upload("att-a1", Some(alice), None))
        .await
        .unwrap();
    assert_eq!(
        (info.size, info.width, info.content_type.as_str()),
        (23, Some(640), "image/png")
    );
    let stored = store.attachment("att-a1").await.unwrap().unwrap();
    assert_eq!(stored.info, info);
    assert_eq!(stored.data, b"\x89PNG\r\n\x1a\n-and-some-bytes");
    assert_eq!(
        (
            stored.visitor_id,
            stored.conversation_id,
            stored.conversation_visitor
        ),
        (Some(alice), None, None)
    );
    assert_eq!(store.attachment("att-none").await.unwrap(), None);
    // An unknown uploader is refused.
    assert!(matches!(
        store.add_attachment(&upload("att-x", Some(-5), None)).await,
        Err(StoreError::NotFound { .. })
    ));

    // Someone else cannot send it, not even into their own conversation.
    let ids = vec!["att-a1".to_owned()];
    assert!(matches!(
        store.claim_attachments(&ids, bob_c, Some(bob)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.claim_attachments(&ids, bob_c, None).await,
        Err(StoreError::NotFound { .. })
    ));
    // Its uploader can, and again (a resend after a lost ack), but only into that conversation.
    let claimed = store
        .claim_attachments(&ids, alice_c, Some(alice))
        .await
        .unwrap();
    assert_eq!(claimed, vec![info.clone()]);
    assert_eq!(
        store
            .claim_attachments(&ids, alice_c, Some(alice))
            .await
            .unwrap(),
        vec![info.clone()]
    );
    let other = store
        .open_or_create_conversation(
            &store.visitor("vt-attachments-0").await.unwrap().unwrap(),
            &ConversationContext::default(),
            T,
        )
        .await
        .unwrap();
    assert_eq!(other.id, alice_c, "one open conversation per visitor");
    let stored = store.attachment("att-a1").await.unwrap().unwrap();
    assert_eq!(
        (stored.conversation_id, stored.conversation_visitor),
        (Some(alice_c), Some(alice))
    );

    // A message with no words but a file: kept with its description, previewed by its name.
    let appended = store
        .append_message(NewMessage {
            conversation_id: alice_c,
            client_id: "m-att-1",
            agent_id: None,
            body: "",
            at: T + 1,
            attachments: &claimed,
        })
        .await
        .unwrap();
    assert_eq!(appended.message.attachments, claimed);
    let read = store.messages_after(alice_c, 0, 10).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].attachments, claimed);
    assert_eq!(read[0].body, "");
    let c = store.conversation(alice_c).await.unwrap().unwrap();
    assert_eq!(c.preview.as_deref(), Some("📎 shot.png"));

    // An agent's upload belongs to the conversation it was made for, and only it.
    let mut new = upload("att-g1", None, Some(agent));
    new.conversation_id = Some(alice_c);
    new.name = "invoice.pdf";
    new.content_type = "application/pdf";
    new.width = None;
    new.height = None;
    store.add_attachment(&new).await.unwrap();
    let ids = vec!["att-g1".to_owned()];
    assert!(matches!(
        store.claim_attachments(&ids, bob_c, None).await,
        Err(StoreError::NotFound { .. })
    ));
    // A visitor cannot pass an agent's file off as its own.
    assert!(matches!(
        store.claim_attachments(&ids, alice_c, Some(alice)).await,
        Err(StoreError::NotFound { .. })
    ));
    let sent = store.claim_attachments(&ids, alice_c, None).await.unwrap();
    assert_eq!(sent[0].name, "invoice.pdf");
    assert_eq!(
        store
            .attachment("att-g1")
            .await
            .unwrap()
            .unwrap()
            .conversation_visitor,
        Some(alice)
    );
    store
        .append_message(NewMessage {
            conversation_id: alice_c,
            client_id: "m-att-2",
            agent_id: Some(agent),
            body: "Here is your invoice",
            at: T + 2,
            attachments: &sent,
        })
        .await
        .unwrap();

    // The customer's copy of their data carries the files; erasure removes them, sent or not.
    store
        .add_attachment(&upload("att-a2", Some(alice), None))
        .await
        .unwrap();
    let contact = store.visitor_contact(alice, T + 3).await.unwrap();
    let data = store.contact_data(contact.id).await.unwrap().unwrap();
    let files: Vec<&str> = data
        .conversations
        .iter()
        .flat_map(|c| &c.messages)
        .flat_map(|m| &m.attachments)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(files, ["shot.png", "invoice.pdf"]);
    store.erase_contact(contact.id, T + 4).await.unwrap();
    for id in ["att-a1", "att-a2", "att-g1"] {
        assert_eq!(store.attachment(id).await.unwrap(), None, "{id} survived");
    }
    // Bob's conversation is untouched.
    assert!(store.conversation(bob_c).await.unwrap().is_some());

    // Uploads never sent expire; sent ones stay.
    store
        .add_attachment(&upload("att-b1", Some(bob), None))
        .await
        .unwrap();
    let mut sent = upload("att-b2", Some(bob), None);
    sent.at = T - 1;
    store.add_attachment(&sent).await.unwrap();
    store
        .claim_attachments(&["att-b2".to_owned()], bob_c, Some(bob))
        .await
        .unwrap();
    assert_eq!(store.expire_unsent_attachments(T).await.unwrap(), 0);
    assert_eq!(store.expire_unsent_attachments(T + 1).await.unwrap(), 1);
    assert_eq!(store.attachment("att-b1").await.unwrap(), None);
    assert!(store.attachment("att-b2").await.unwrap().is_some());
}
