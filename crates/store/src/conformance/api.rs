//! The public API's records: tokens (kept as hashes, scoped, revoked once, their use kept to
//! the minute) and the filtered conversation list read page by page with a keyset cursor.

use crate::{
    AssigneeFilter, ConversationContext, ConversationFilter, NewAgent, NewApiToken, Status, Store,
    StoreError, TokenScope,
};
use std::collections::BTreeSet;

/// A moment far from every other story's clock.
const T: i64 = 40_000 * 86_400_000;

pub(super) async fn tokens_are_stored_as_hashes_and_revoked_once(store: &dyn Store) {
    let admin = store
        .create_agent(
            NewAgent {
                email: "api-admin@example.com".into(),
                name: "Api Admin".into(),
                password_hash: "$argon2id$fake".into(),
                admin: true,
            },
            T,
        )
        .await
        .unwrap();
    let reader = store
        .create_api_token(
            &NewApiToken {
                name: "CRM sync",
                prefix: "fdk_aaaa1111",
                token_hash: "hash-of-reader",
                scope: TokenScope::Read,
                created_by: None,
            },
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        (reader.name.as_str(), reader.prefix.as_str(), reader.scope),
        ("CRM sync", "fdk_aaaa1111", TokenScope::Read)
    );
    assert_eq!((reader.last_used_at, reader.revoked_at), (None, None));
    let writer = store
        .create_api_token(
            &NewApiToken {
                name: "n8n",
                prefix: "fdk_bbbb2222",
                token_hash: "hash-of-writer",
                scope: TokenScope::Write,
                created_by: Some(admin.id),
            },
            T + 1,
        )
        .await
        .unwrap();
    assert_eq!(writer.created_by, Some(admin.id));
    // The same secret twice, or an agent that does not exist: refused.
    let again = NewApiToken {
        name: "copy",
        prefix: "fdk_aaaa1111",
        token_hash: "hash-of-reader",
        scope: TokenScope::Admin,
        created_by: None,
    };
    assert!(matches!(
        store.create_api_token(&again, T).await,
        Err(StoreError::Conflict { .. })
    ));
    let orphan = NewApiToken {
        token_hash: "hash-of-orphan",
        created_by: Some(i64::MAX),
        ..again
    };
    assert!(matches!(
        store.create_api_token(&orphan, T).await,
        Err(StoreError::NotFound { .. })
    ));

    // Found by hash only; listed newest first.
    let found = store.api_token_by_hash("hash-of-writer").await.unwrap();
    assert_eq!(found.as_ref(), Some(&writer));
    assert_eq!(store.api_token_by_hash("fdk_bbbb2222").await.unwrap(), None);
    let listed: Vec<i64> = store
        .api_tokens()
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, vec![writer.id, reader.id]);

    // A use is written at most once a minute.
    store.touch_api_token(reader.id, T + 10).await.unwrap();
    store.touch_api_token(reader.id, T + 59_000).await.unwrap();
    let used = || async {
        store
            .api_token_by_hash("hash-of-reader")
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };
    assert_eq!(used().await, Some(T + 10));
    store.touch_api_token(reader.id, T + 60_010).await.unwrap();
    assert_eq!(used().await, Some(T + 60_010));

    // Revoked once: a second revocation keeps the first time; an unknown id is NotFound.
    let revoked = store.revoke_api_token(reader.id, T + 70_000).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(T + 70_000));
    let twice = store.revoke_api_token(reader.id, T + 80_000).await.unwrap();
    assert_eq!(twice.revoked_at, Some(T + 70_000));
    assert!(matches!(
        store.revoke_api_token(i64::MAX, T).await,
        Err(StoreError::NotFound { .. })
    ));
    let after = store.api_token_by_hash("hash-of-reader").await.unwrap();
    assert_eq!(after.and_then(|t| t.revoked_at), Some(T + 70_000));
    let writer_now = store.api_token_by_hash("hash-of-writer").await.unwrap();
    assert_eq!(writer_now.and_then(|t| t.revoked_at), None);
}

pub(super) async fn conversations_are_listed_page_by_page_under_filters(store: &dyn Store) {
    let site = "api-list";
    let agent = store
        .create_agent(
            NewAgent {
                email: "api-lister@example.com".into(),
                name: "Lister".into(),
                password_hash: "$argon2id$fake".into(),
                admin: false,
            },
            T,
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..7_i64 {
        let visitor = store
            .create_visitor(&format!("api-list-{i}"), site, T + i)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&visitor, &ConversationContext::default(), T + i)
            .await
            .unwrap();
        ids.push(c.id);
    }
    // 0, 2, 4, 6: assigned and labelled `billing`; 1 and 2 resolved.
    for &id in ids.iter().step_by(2) {
        store.assign(id, Some(agent.id), T + 10).await.unwrap();
        store.set_labels(id, &["billing".into()]).await.unwrap();
    }
    store
        .set_status(ids[1], Status::Resolved, T + 11)
        .await
        .unwrap();
    store
        .set_status(ids[2], Status::Resolved, T + 11)
        .await
        .unwrap();

    let list = |filter: ConversationFilter| async move {
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .list_conversations(&ConversationFilter {
                    before,
                    limit: 2,
                    ..filter.clone()
                })
                .await
                .unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            seen.extend(page.iter().map(|c| c.id));
        }
        seen
    };
    let of_site = ConversationFilter {
        site: Some(site.into()),
        ..ConversationFilter::default()
    };
    // Every conversation exactly once, newest first.
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(list(of_site.clone()).await, newest_first);
    let set = |v: Vec<i64>| v.into_iter().collect::<BTreeSet<_>>();
    let open = ConversationFilter {
        status: Some(Status::Open),
        ..of_site.clone()
    };
    assert_eq!(
        set(list(open.clone()).await),
        set(vec![ids[0], ids[3], ids[4], ids[5], ids[6]])
    );
    let theirs = ConversationFilter {
        assignee: Some(AssigneeFilter::Agent(agent.id)),
        ..open.clone()
    };
    assert_eq!(set(list(theirs).await), set(vec![ids[0], ids[4], ids[6]]));
    let nobody = ConversationFilter {
        assignee: Some(AssigneeFilter::Nobody),
        ..of_site.clone()
    };
    assert_eq!(set(list(nobody).await), set(vec![ids[1], ids[3], ids[5]]));
    let billing = ConversationFilter {
        label: Some("billing".into()),
        status: Some(Status::Resolved),
        ..of_site.clone()
    };
    assert_eq!(list(billing).await, vec![ids[2]]);
    let normal = ConversationFilter {
        priority: Some("normal".into()),
        ..of_site.clone()
    };
    assert_eq!(list(normal).await.len(), 7);
    let urgent = ConversationFilter {
        priority: Some("urgent".into()),
        ..of_site
    };
    assert!(list(urgent).await.is_empty());
}
