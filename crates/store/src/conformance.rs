//! The conformance suite every `Store` backend passes: call `run_all` from a backend's tests
//! with a fresh, empty store.

use crate::{
    ContactUpdate, ConversationContext, Expiry, GapsQuery, MessageAuthor, NewAgent, NewMessage,
    QueryFigure, ReadBy, SearchEvent, SlaDues, SlaKind, Status, Store, StoreError,
};
use std::sync::Arc;

mod api;
mod attachments;
mod email;
mod escalations;
mod report_days;
mod reports;
mod webhooks;

/// A fresh, empty database on the PostgreSQL server of `FRONTDESK_TEST_DATABASE_URL` (started by
/// `cargo xtask test`), for the tests of anything that runs on PostgreSQL; `None` (the test
/// skips, saying so) when the variable is not set, unless `FRONTDESK_REQUIRE_SERVICES` is set,
/// where it panics.
pub async fn postgres_database(name: &str) -> Option<String> {
    use sqlx::Connection;
    let Ok(url) = std::env::var("FRONTDESK_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("FRONTDESK_REQUIRE_SERVICES").is_none(),
            "FRONTDESK_TEST_DATABASE_URL is not set"
        );
        eprintln!("skipped: FRONTDESK_TEST_DATABASE_URL is not set (cargo xtask test sets it)");
        return None;
    };
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let db = format!("fd_{name}_{}_{}", std::process::id(), nanos % 1_000_000_000);
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    Some(format!("{base}/{db}"))
}

pub use report_days::reports_kept_in_memory_follow_every_change;

/// A new visitor `token` of `site` with an open conversation in `locale` (when given), created
/// at `t`: (visitor id, conversation id). The stories' common start.
async fn visitor_with_conversation(
    store: &dyn Store,
    token: &str,
    site: &str,
    locale: Option<&str>,
    t: i64,
) -> (i64, i64) {
    let visitor = store.create_visitor(token, site, t).await.unwrap();
    let context = ConversationContext {
        page_url: None,
        locale: locale.map(str::to_owned),
    };
    let c = store
        .open_or_create_conversation(&visitor, &context, t)
        .await
        .unwrap();
    (visitor.id, c.id)
}

/// Runs every story against `store`, which must be empty. Panics with the failing story's name.
pub async fn run_all(store: Arc<dyn Store>) {
    agents_and_sessions(&*store).await;
    leases_are_held_by_one_node_until_they_run_out(&*store).await;
    the_first_of_two_routing_decisions_wins(&*store).await;
    visitors_and_conversations(&*store).await;
    messages_are_sequenced_and_deduplicated(&*store).await;
    concurrent_appends_are_gap_free(store.clone()).await;
    concurrent_first_messages_share_one_conversation(store.clone()).await;
    resolution_rating_and_read_marks(&*store).await;
    assignment_priority_sla_and_notes(&*store).await;
    next_response_resolution_labels_and_teams(&*store).await;
    contacts_identity_attributes_and_merging(&*store).await;
    everything_can_be_read_back_in_pages(&*store).await;
    what_changed_since_a_moment_is_found(&*store).await;
    searches_roll_up_and_rare_queries_stay_hidden(&*store).await;
    effort_and_self_help_time_are_kept(&*store).await;
    email::unread_replies_to_a_known_address_are_due_once(&*store).await;
    // Last: retention removes every old resolved conversation of the stories above.
    a_contact_is_exported_and_erased_without_a_trace(&*store).await;
    retention_removes_what_is_older_than_the_rule_and_nothing_else(&*store).await;
    // After retention, which would take its resolved conversations.
    reports::a_scripted_month_gives_the_expected_figures(&*store).await;
    // Last: its conversations must not count in the stories above.
    api::tokens_are_stored_as_hashes_and_revoked_once(&*store).await;
    api::conversations_are_listed_page_by_page_under_filters(&*store).await;
    // Last: it erases a contact (the erasure story above reads the whole erasure log).
    webhooks::the_outbox_keeps_every_event_in_order_per_stream(&*store).await;
    // After the erasure stories, whose erasure log it would add to.
    escalations::conversations_are_escalated_to_issues_whose_status_follows(&*store).await;
    attachments::uploads_join_their_senders_conversation_and_go_with_it(&*store).await;
}

/// Settled searches roll up by day; a query shows in the lists only when enough distinct
/// visitors asked it (a visitor repeating it, even on another day, counts once); retention
/// deletes the raw events and keeps the rollups.
async fn searches_roll_up_and_rare_queries_stay_hidden(store: &dyn Store) {
    const DAY: i64 = 86_400_000;
    // A day start far from every other story's clock.
    const T: i64 = 20_000 * DAY;
    let site = "gaps";
    let search = |key: &'static str, query: &'static str, at: i64| SearchEvent {
        site,
        language: "en",
        query,
        visitor_key: key,
        results: 0,
        shown: &[],
        opened: None,
        helpful: None,
        handoff: false,
        at,
    };
    let shown = ["a1".to_owned(), "a2".to_owned()];
    let mut events = Vec::new();
    // Asked by three visitors, one of them three times (once ending in a handoff): no result.
    for key in ["k1", "k2", "k3", "k1"] {
        events.push(search(key, "refund policy", T + 1_000));
    }
    events.push(SearchEvent {
        handoff: true,
        ..search("k1", "refund policy", T + 2_000)
    });
    // Asked by three visitors, found articles; one said "no" to a1, one "yes".
    for (key, helpful) in [("k1", Some(false)), ("k2", Some(true)), ("k3", None)] {
        events.push(SearchEvent {
            results: 2,
            shown: &shown,
            opened: helpful.map(|_| "a1"),
            helpful,
            ..search(key, "billing", T + 3_000)
        });
    }
    // Two visitors, however often: hidden at k = 3.
    for _ in 0..5 {
        events.push(search("k1", "rare thing", T + 4_000));
    }
    events.push(search("k2", "rare thing", T + 4_000));
    // Two visitors, one of them on two days: still two.
    events.push(search("k1", "two days", T + 5_000));
    events.push(search("k2", "two days", T + 5_000));
    events.push(search("k1", "two days", T + DAY + 5_000));
    // Another site's searches are not this site's.
    events.push(SearchEvent {
        site: "gaps-other",
        ..search("k9", "refund policy", T + 6_000)
    });
    for e in &events {
        store.record_search(e).await.unwrap();
    }
    let figure = |query: &str, searches: u64, visitors: u64| QueryFigure {
        language: "en".into(),
        query: query.into(),
        searches,
        visitors,
    };
    let gaps = |site: Option<&'static str>, min_visitors: u64| async move {
        store
            .search_gaps(&GapsQuery {
                since: T,
                site,
                min_visitors,
                limit: 20,
            })
            .await
            .unwrap()
    };
    let g = gaps(Some(site), 3).await;
    assert_eq!(
        g.top_searches,
        [figure("refund policy", 5, 3), figure("billing", 3, 3)]
    );
    assert_eq!(g.no_result, [figure("refund policy", 5, 3)]);
    assert_eq!(g.handed_off, [figure("refund policy", 1, 3)]);
    assert_eq!(g.unhelpful_articles, [("a1".to_owned(), 1)]);
    assert_eq!(
        g.shown_articles.iter().collect::<Vec<_>>(),
        ["a1", "a2"],
        "searches that showed articles"
    );
    // At k = 2 the rarer queries show, each with its distinct visitors.
    let g2 = gaps(Some(site), 2).await;
    assert!(g2.no_result.contains(&figure("rare thing", 6, 2)), "{g2:?}");
    assert!(g2.no_result.contains(&figure("two days", 3, 2)), "{g2:?}");
    // Another site, and every site.
    assert_eq!(gaps(Some("gaps-elsewhere"), 1).await, Default::default());
    let all = gaps(None, 1).await;
    assert!(
        all.no_result.contains(&figure("refund policy", 6, 4)),
        "{all:?}"
    );
    // The period starts at `since`'s day: the day after holds only the second "two days".
    let later = store
        .search_gaps(&GapsQuery {
            since: T + DAY,
            site: Some(site),
            min_visitors: 1,
            limit: 20,
        })
        .await
        .unwrap();
    assert_eq!(later.top_searches, [figure("two days", 1, 1)]);

    // Retention: the raw events of the first day go (once), the rollups stay.
    let first_day = events.iter().filter(|e| e.at < T + DAY).count() as u64;
    assert_eq!(store.expire_searches(T + DAY).await.unwrap(), first_day);
    assert_eq!(store.expire_searches(T + DAY).await.unwrap(), 0);
    // Without the first day's visitor keys, its daily distinct count is summed with the next
    // day's: the visitor who asked on both days now counts twice (documented on the trait),
    // which lifts "two days" to three visitors.
    let kept = gaps(Some(site), 3).await;
    assert_eq!(
        kept.top_searches,
        [
            figure("refund policy", 5, 3),
            figure("billing", 3, 3),
            figure("two days", 3, 3)
        ]
    );
    assert_eq!(
        kept.no_result,
        [figure("refund policy", 5, 3), figure("two days", 3, 3)]
    );
    assert_eq!(kept.handed_off, g.handed_off);
    assert_eq!(kept.unhelpful_articles, g.unhelpful_articles);
    assert_eq!(kept.shown_articles, g.shown_articles);
    assert_eq!(store.expire_searches(T + 2 * DAY).await.unwrap(), 1);
}

/// The customer effort score and the self-help time land on the conversation.
async fn effort_and_self_help_time_are_kept(store: &dyn Store) {
    let v = store
        .create_visitor("vt-effort", "demo", 1_000)
        .await
        .unwrap();
    let c = store
        .open_or_create_conversation(&v, &ConversationContext::default(), 1_000)
        .await
        .unwrap();
    assert_eq!((c.ces, c.self_help_ms), (None, None));
    store
        .set_context(c.id, r#"{"searching_ms":42000}"#, Some(42_000))
        .await
        .unwrap();
    // The first conversation message set it; a later one does not move it.
    store
        .set_context(c.id, r#"{"searching_ms":99000}"#, Some(99_000))
        .await
        .unwrap();
    store.set_effort(c.id, 6).await.unwrap();
    let c = store.conversation(c.id).await.unwrap().unwrap();
    assert_eq!((c.ces, c.self_help_ms), (Some(6), Some(42_000)));
    store.set_effort(c.id, 2).await.unwrap();
    assert_eq!(
        store.conversation(c.id).await.unwrap().unwrap().ces,
        Some(2)
    );
    assert!(matches!(
        store.set_effort(i64::MAX, 3).await,
        Err(StoreError::NotFound { .. })
    ));
    // The database refuses what is not a 1–7 score.
    assert!(store.set_effort(c.id, 8).await.is_err());
    store
        .set_status(c.id, Status::Resolved, 2_000)
        .await
        .unwrap();
}

/// A node that missed events finds every conversation with a message or a note since then.
async fn what_changed_since_a_moment_is_found(store: &dyn Store) {
    // Far in the future of every other story's clock, so only this story's records count.
    const T: i64 = 9_000_000_000_000;
    let agent = store.list_agents().await.unwrap()[0].id;
    let mut ids = Vec::new();
    for i in 0..4 {
        let v = store
            .create_visitor(&format!("vt-touched-{i}"), "demo", T)
            .await
            .unwrap();
        let c = store
            .open_or_create_conversation(&v, &ConversationContext::default(), T)
            .await
            .unwrap();
        ids.push(c.id);
    }
    let message = |c: i64, at: i64| NewMessage {
        conversation_id: c,
        client_id: "touched",
        agent_id: None,
        body: "hello",
        at,
        attachments: &[],
    };
    // 0: written before the moment; 1: a message after it; 2: only a note after it;
    // 3: written before, resolved after.
    store.append_message(message(ids[0], T + 10)).await.unwrap();
    store
        .append_message(message(ids[1], T + 100))
        .await
        .unwrap();
    store.append_message(message(ids[2], T + 10)).await.unwrap();
    store
        .add_note(ids[2], agent, "touched", "note", T + 100)
        .await
        .unwrap();
    store.append_message(message(ids[3], T + 10)).await.unwrap();
    store
        .set_status(ids[3], Status::Resolved, T + 100)
        .await
        .unwrap();
    let since = T + 50;
    assert_eq!(
        store.touched_since(since, 0, 100).await.unwrap(),
        vec![ids[1], ids[2], ids[3]]
    );
    // In pages, by id.
    let first = store.touched_since(since, 0, 2).await.unwrap();
    assert_eq!(first, vec![ids[1], ids[2]]);
    assert_eq!(
        store.touched_since(since, first[1], 2).await.unwrap(),
        vec![ids[3]]
    );
}

/// Keyset pages over all messages, notes and conversations (rebuilding search) visit each
/// record exactly once.
async fn everything_can_be_read_back_in_pages(store: &dyn Store) {
    let mut messages = 0;
    let mut cursor = (0, 0);
    loop {
        let page = store.messages_since(cursor, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(
            page.windows(2)
                .all(|w| (w[0].conversation_id, w[0].seq) < (w[1].conversation_id, w[1].seq))
        );
        cursor = (last.conversation_id, last.seq);
        messages += page.len();
    }
    let mut expected = 0;
    let mut conversations = 0;
    let mut after = 0;
    loop {
        let page = store.conversations_since(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        conversations += page.len();
        for c in &page {
            expected += store.messages_after(c.id, 0, 10_000).await.unwrap().len();
        }
    }
    assert!(messages > 0 && conversations > 0);
    assert_eq!(messages, expected, "every message once");
    let mut notes = Vec::new();
    let mut after = 0;
    loop {
        let page = store.notes_since(after, 1).await.unwrap();
        let Some((id, _)) = page.last() else { break };
        after = *id;
        notes.extend(page.into_iter().map(|(_, n)| n.body));
    }
    assert!(notes.contains(&"VIP customer".to_owned()));
}

async fn contacts_identity_attributes_and_merging(store: &dyn Store) {
    let attrs = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // An anonymous browser gets a contact on first need, the same one every time.
    let laptop = store.create_visitor("vt-laptop", "demo", 1).await.unwrap();
    let anon = store.visitor_contact(laptop.id, 2).await.unwrap();
    assert_eq!(
        store.visitor_contact(laptop.id, 3).await.unwrap().id,
        anon.id
    );
    assert_eq!(anon.external_id, None);
    let conv = store
        .open_or_create_conversation(&laptop, &ConversationContext::default(), 4)
        .await
        .unwrap();
    let c = store.conversation(conv.id).await.unwrap().unwrap();
    assert_eq!((c.contact_id, c.contact_verified), (Some(anon.id), false));

    // Details and attributes; the contact's name stands in for the conversation's.
    let update = ContactUpdate {
        name: Some("Rita Alves".into()),
        email: Some("rita@example.com".into()),
        attributes: attrs(&[("plan", "pro"), ("seats", "12")]),
    };
    let rita = store.update_contact(anon.id, &update, 5).await.unwrap();
    assert_eq!(rita.attributes["plan"], "pro");
    let more = ContactUpdate {
        attributes: attrs(&[("plan", "enterprise")]),
        ..ContactUpdate::default()
    };
    let rita = store.update_contact(anon.id, &more, 6).await.unwrap();
    assert_eq!(
        (
            rita.name.as_deref(),
            rita.attributes["plan"].as_str(),
            rita.attributes.len()
        ),
        (Some("Rita Alves"), "enterprise", 2),
        "attributes merge, details stay"
    );
    assert_eq!(
        store
            .conversation(conv.id)
            .await
            .unwrap()
            .unwrap()
            .contact_name
            .as_deref(),
        Some("Rita Alves")
    );

    // The site identifies her: the anonymous contact becomes hers.
    let verified = store
        .identify_visitor(laptop.id, "user-42", 7)
        .await
        .unwrap();
    assert_eq!(
        (verified.id, verified.external_id.as_deref()),
        (anon.id, Some("user-42"))
    );
    assert!(
        store
            .conversation(conv.id)
            .await
            .unwrap()
            .unwrap()
            .contact_verified
    );

    // A second browser, anonymous first, then identified as the same user: one contact, and
    // both browsers' conversations are its history.
    let phone = store.create_visitor("vt-phone", "demo", 8).await.unwrap();
    let phone_anon = store.visitor_contact(phone.id, 8).await.unwrap();
    store
        .update_contact(
            phone_anon.id,
            &ContactUpdate {
                attributes: attrs(&[("device", "phone"), ("plan", "free")]),
                ..ContactUpdate::default()
            },
            8,
        )
        .await
        .unwrap();
    let phone_conv = store
        .open_or_create_conversation(&phone, &ConversationContext::default(), 9)
        .await
        .unwrap();
    let same = store
        .identify_visitor(phone.id, "user-42", 10)
        .await
        .unwrap();
    assert_eq!(same.id, anon.id);
    assert_eq!(
        same.attributes["plan"], "enterprise",
        "the surviving contact's value wins"
    );
    assert_eq!(
        same.attributes["device"], "phone",
        "missing ones are copied"
    );
    assert_eq!(
        store.contact(phone_anon.id).await.unwrap().unwrap().id,
        anon.id,
        "a merged contact resolves to the survivor"
    );
    let history: Vec<i64> = store
        .conversations_of_contact(anon.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(history, [phone_conv.id, conv.id]);

    // Duplicates by email, merged by an agent; different identities never merge.
    let tablet = store.create_visitor("vt-tablet", "demo", 11).await.unwrap();
    let dup = store.visitor_contact(tablet.id, 11).await.unwrap();
    store
        .update_contact(
            dup.id,
            &ContactUpdate {
                email: Some("RITA@example.com".into()),
                ..ContactUpdate::default()
            },
            12,
        )
        .await
        .unwrap();
    let dups = store
        .contacts_with_email("demo", "rita@example.com", anon.id)
        .await
        .unwrap();
    assert_eq!(dups.iter().map(|c| c.id).collect::<Vec<_>>(), [dup.id]);
    let other = store.create_visitor("vt-other", "demo", 13).await.unwrap();
    let bob = store
        .identify_visitor(other.id, "user-7", 13)
        .await
        .unwrap();
    assert!(matches!(
        store.merge_contacts(bob.id, anon.id, 14).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(
        matches!(
            store.merge_contacts(anon.id, dup.id, 15).await,
            Err(StoreError::Conflict { .. })
        ),
        "a verified contact never merges into an unverified one"
    );
    assert_eq!(
        store.contact(dup.id).await.unwrap().unwrap().external_id,
        None
    );
    let merged = store.merge_contacts(dup.id, anon.id, 15).await.unwrap();
    assert_eq!(merged.external_id.as_deref(), Some("user-42"));
    assert!(
        store
            .contacts_with_email("demo", "rita@example.com", anon.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.visitor_contact(tablet.id, 16).await.unwrap().id,
        anon.id
    );
    // A browser merged in by an agent did not prove who it is: its conversations are the
    // contact's, but not verified.
    let tablet_conv = store
        .open_or_create_conversation(&tablet, &ConversationContext::default(), 16)
        .await
        .unwrap();
    assert_eq!(
        (tablet_conv.contact_id, tablet_conv.contact_verified),
        (Some(anon.id), false)
    );
    assert!(
        store
            .conversation(conv.id)
            .await
            .unwrap()
            .unwrap()
            .contact_verified
    );

    // Another account on a browser: its earlier conversation stays with the first account.
    let bob_conv = store
        .open_or_create_conversation(&other, &ConversationContext::default(), 16)
        .await
        .unwrap();
    assert_eq!(bob_conv.contact_id, Some(bob.id));
    store
        .set_status(bob_conv.id, Status::Resolved, 16)
        .await
        .unwrap();
    store
        .identify_visitor(other.id, "user-42", 16)
        .await
        .unwrap();
    let bobs: Vec<i64> = store
        .conversations_of_contact(bob.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(bobs, [bob_conv.id]);
    assert!(
        matches!(
            store.merge_contacts(dup.id, anon.id, 17).await,
            Err(StoreError::Conflict { .. })
        ),
        "already merged"
    );

    // The account manager.
    let ana = store
        .create_agent(new_agent("am-ana@example.com"), 18)
        .await
        .unwrap();
    let managed = store
        .set_account_manager(anon.id, Some(ana.id), 19)
        .await
        .unwrap();
    assert_eq!(
        managed.account_manager,
        Some((ana.id, "Ana Lima".to_owned()))
    );
    assert!(matches!(
        store
            .set_account_manager(anon.id, Some(ana.id + 1000), 20)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn next_response_resolution_labels_and_teams(store: &dyn Store) {
    let ana = store
        .create_agent(new_agent("teams-ana@example.com"), 1)
        .await
        .unwrap();
    let visitor = store.create_visitor("vt-next", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
    let dues = SlaDues {
        first_response: Some(1_000),
        next_response: Some(1),
        resolution: Some(5_000),
    };
    let c = store.set_priority(conv.id, "high", dues).await.unwrap();
    assert_eq!(
        (
            c.due(SlaKind::FirstResponse),
            c.next_response_due,
            c.due(SlaKind::Resolution)
        ),
        (Some(1_000), None, Some(5_000)),
        "no next-response deadline while nobody waits for one"
    );
    let send = |agent: Option<i64>, id: &'static str, at: i64| NewMessage {
        conversation_id: conv.id,
        client_id: id,
        agent_id: agent,
        body: "x",
        at,
        attachments: &[],
    };
    let q1 = store.append_message(send(None, "q1", 10)).await.unwrap();
    assert_eq!(q1.next_response_priority, None, "nobody answered yet");
    assert!(
        !store
            .begin_next_response(conv.id, 10, Some(600))
            .await
            .unwrap(),
        "before the first response, the first-response clock runs"
    );
    let a1 = store
        .append_message(send(Some(ana.id), "a1", 20))
        .await
        .unwrap();
    assert_eq!(a1.next_response_priority, None, "an agent's message");
    assert!(
        !store
            .begin_next_response(conv.id, 20, Some(600))
            .await
            .unwrap(),
        "the newest message is the agent's"
    );
    let q2 = store.append_message(send(None, "q2", 30)).await.unwrap();
    assert_eq!(
        q2.next_response_priority.as_deref(),
        Some("high"),
        "answered before: the clock may start"
    );
    assert!(
        store
            .begin_next_response(conv.id, 30, Some(600))
            .await
            .unwrap()
    );
    let q2b = store.append_message(send(None, "q2b", 35)).await.unwrap();
    assert_eq!(q2b.next_response_priority, None, "already running");
    let both: Vec<i64> = {
        let mut ids: Vec<i64> = store
            .conversations(&[conv.id, conv.id + 1_000_000])
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(both, [conv.id], "conversations by id: the ones that exist");
    assert!(
        !store
            .begin_next_response(conv.id, 40, Some(700))
            .await
            .unwrap(),
        "already running"
    );
    let c = store.conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(
        (c.next_response_from, c.due(SlaKind::NextResponse)),
        (Some(30), Some(600))
    );
    let c = store
        .set_priority(
            conv.id,
            "urgent",
            SlaDues {
                next_response: Some(90),
                ..dues
            },
        )
        .await
        .unwrap();
    assert_eq!(
        c.next_response_due,
        Some(90),
        "a priority change moves a running clock"
    );

    let overdue = store.overdue(6_000).await.unwrap();
    let kinds: Vec<SlaKind> = overdue
        .iter()
        .filter(|o| o.conversation.id == conv.id)
        .map(|o| o.kind)
        .collect();
    assert_eq!(
        kinds,
        [SlaKind::NextResponse, SlaKind::Resolution],
        "replied once: no first-response breach"
    );
    assert!(
        store
            .record_breach(conv.id, SlaKind::NextResponse, 90, 100)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_breach(conv.id, SlaKind::NextResponse, 90, 101)
            .await
            .unwrap(),
        "once per deadline"
    );
    assert!(
        !store
            .overdue(6_000)
            .await
            .unwrap()
            .iter()
            .any(|o| o.conversation.id == conv.id && o.kind == SlaKind::NextResponse)
    );
    // The agent's reply stops the clock; the customer's next message may start a new one.
    store
        .append_message(send(Some(ana.id), "a2", 110))
        .await
        .unwrap();
    let c = store.conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(
        (c.next_response_from, c.next_response_due, c.sla_breached_at),
        (None, None, Some(100))
    );
    store.append_message(send(None, "q3", 120)).await.unwrap();
    assert!(
        store
            .begin_next_response(conv.id, 120, Some(900))
            .await
            .unwrap()
    );

    // Resolving clears every deadline; reopening gets a new resolution deadline from the server.
    let c = store
        .set_status(conv.id, Status::Resolved, 130)
        .await
        .unwrap();
    assert_eq!((c.next_response_due, c.resolution_due), (None, None));
    assert!(
        !store
            .overdue(i64::MAX)
            .await
            .unwrap()
            .iter()
            .any(|o| o.conversation.id == conv.id)
    );
    store.set_status(conv.id, Status::Open, 140).await.unwrap();
    store
        .set_resolution_due(conv.id, 140, Some(9_000))
        .await
        .unwrap();
    assert_eq!(
        store
            .conversation(conv.id)
            .await
            .unwrap()
            .unwrap()
            .due(SlaKind::Resolution),
        Some(9_000)
    );

    // Labels: replaced as a set, returned sorted.
    let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let c = store
        .set_labels(conv.id, &labels(&["refund", "billing", "refund"]))
        .await
        .unwrap();
    assert_eq!(c.labels, ["billing", "refund"]);
    assert_eq!(
        store
            .set_labels(conv.id, &labels(&["vip"]))
            .await
            .unwrap()
            .labels,
        ["vip"]
    );
    assert!(
        store
            .list_open_conversations(100)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == conv.id && c.labels == ["vip"])
    );
    assert!(matches!(
        store.set_labels(conv.id + 10_000, &[]).await,
        Err(StoreError::NotFound { .. })
    ));

    // Teams.
    store
        .set_agent_teams(ana.id, &labels(&["billing", "vip"]))
        .await
        .unwrap();
    assert_eq!(
        store.agent(ana.id).await.unwrap().unwrap().teams,
        ["billing", "vip"]
    );
    assert_eq!(
        store
            .set_team(conv.id, Some("billing"))
            .await
            .unwrap()
            .team
            .as_deref(),
        Some("billing")
    );
    assert_eq!(store.set_team(conv.id, None).await.unwrap().team, None);
}

async fn assignment_priority_sla_and_notes(store: &dyn Store) {
    let ana = store
        .create_agent(new_agent("sla-ana@example.com"), 1)
        .await
        .unwrap();
    let visitor = store.create_visitor("vt-sla", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
    assert_eq!(conv.priority, "normal");
    assert_eq!(conv.assignee, None);
    assert!(
        store
            .unassigned_open(100)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == conv.id)
    );
    let waiting = store.unassigned_open(1_000).await.unwrap().len() as u64;
    assert_eq!(store.unassigned_count(1_000).await.unwrap(), waiting);
    assert_eq!(
        store.unassigned_count(0).await.unwrap(),
        0,
        "counted up to the limit"
    );
    let assigned = store.assign(conv.id, Some(ana.id), 2).await.unwrap();
    assert_eq!(
        store.unassigned_count(1_000).await.unwrap(),
        waiting - 1,
        "assigned: no longer waiting"
    );
    assert_eq!(assigned.assignee, Some((ana.id, "Ana Lima".to_owned())));
    assert_eq!(store.assigned_open(ana.id).await.unwrap().len(), 1);
    assert_eq!(store.open_load().await.unwrap().get(&ana.id), Some(&1));
    assert!(
        !store
            .unassigned_open(100)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == conv.id)
    );

    let urgent = store
        .set_priority(
            conv.id,
            "urgent",
            SlaDues {
                first_response: Some(100),
                ..SlaDues::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (urgent.priority.as_str(), urgent.first_response_due),
        ("urgent", Some(100))
    );
    assert!(store.overdue(99).await.unwrap().is_empty());
    let overdue = store.overdue(100).await.unwrap();
    assert_eq!(
        (overdue[0].conversation.id, overdue[0].kind, overdue[0].due),
        (conv.id, SlaKind::FirstResponse, 100)
    );
    assert!(
        store
            .record_breach(conv.id, SlaKind::FirstResponse, 100, 101)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_breach(conv.id, SlaKind::FirstResponse, 100, 102)
            .await
            .unwrap(),
        "once"
    );
    assert!(store.overdue(200).await.unwrap().is_empty());
    assert_eq!(
        store
            .conversation(conv.id)
            .await
            .unwrap()
            .unwrap()
            .sla_breached_at,
        Some(101)
    );

    // The first agent message sets the first response; later ones do not move it.
    for (i, agent) in [None, Some(ana.id), Some(ana.id)].into_iter().enumerate() {
        store
            .append_message(NewMessage {
                conversation_id: conv.id,
                client_id: &format!("sla{i}"),
                agent_id: agent,
                body: "x",
                at: 300 + i as i64,
                attachments: &[],
            })
            .await
            .unwrap();
    }
    let c = store.conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(c.first_response_at, Some(301));
    assert_eq!(c.last_author.as_deref(), Some("agent"));

    let note = store
        .add_note(conv.id, ana.id, "n1", "VIP customer", 5)
        .await
        .unwrap();
    assert_eq!(
        (note.agent_name.as_str(), note.body.as_str()),
        ("Ana Lima", "VIP customer")
    );
    store
        .add_note(conv.id, ana.id, "n1", "VIP customer", 6)
        .await
        .unwrap();
    assert_eq!(
        store.notes(conv.id).await.unwrap().len(),
        1,
        "a resent note is stored once"
    );
    assert!(matches!(
        store
            .add_note(conv.id + 1000, ana.id, "n2", "lost", 7)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // Notes never appear among messages.
    assert!(
        store
            .messages_after(conv.id, 0, 100)
            .await
            .unwrap()
            .iter()
            .all(|m| m.body != "VIP customer")
    );
    store
        .set_agent_languages(ana.id, &["pt".to_owned(), "en".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        store.agent(ana.id).await.unwrap().unwrap().languages,
        ["pt", "en"]
    );
    let history = store
        .conversations_of_visitor(visitor.id, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, conv.id);
    let unassigned = store.assign(conv.id, None, 8).await.unwrap();
    assert_eq!(unassigned.assignee, None);
    assert!(
        store
            .list_agents()
            .await
            .unwrap()
            .iter()
            .any(|a| a.id == ana.id)
    );
}

async fn resolution_rating_and_read_marks(store: &dyn Store) {
    let visitor = store.create_visitor("vt-csat", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
    for (i, id) in ["a", "b"].into_iter().enumerate() {
        store
            .append_message(NewMessage {
                conversation_id: conv.id,
                client_id: id,
                agent_id: None,
                body: "hi",
                at: 2 + i as i64,
                attachments: &[],
            })
            .await
            .unwrap();
    }
    store
        .set_context(conv.id, r#"{"query":"refund"}"#, None)
        .await
        .unwrap();
    store
        .set_context(conv.id, r#"{"query":"overwritten?"}"#, None)
        .await
        .unwrap();
    store.mark_read(conv.id, ReadBy::Agent, 1).await.unwrap();
    store.mark_read(conv.id, ReadBy::Agent, 0).await.unwrap();
    store.mark_read(conv.id, ReadBy::Visitor, 99).await.unwrap();
    store
        .set_contact(conv.id, Some("Rita"), None)
        .await
        .unwrap();
    store
        .set_contact(conv.id, None, Some("rita@example.com"))
        .await
        .unwrap();
    let resolved = store
        .set_status(conv.id, Status::Resolved, 10)
        .await
        .unwrap();
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.resolved_at, Some(10));
    assert_eq!(
        resolved.context.as_deref(),
        Some(r#"{"query":"refund"}"#),
        "first context kept"
    );
    assert_eq!(resolved.agent_read, 1, "read marks never go down");
    assert_eq!(resolved.visitor_read, 2, "nor past the last message");
    assert_eq!(resolved.contact_name.as_deref(), Some("Rita"));
    assert_eq!(resolved.contact_email.as_deref(), Some("rita@example.com"));
    assert_eq!(store.open_conversation(visitor.id).await.unwrap(), None);
    store.rate(conv.id, 4, Some("Quick")).await.unwrap();
    let latest = store
        .latest_conversation(visitor.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.id, latest.rating), (conv.id, Some(4)));
    assert_eq!(latest.rating_comment.as_deref(), Some("Quick"));

    // A new message after resolution opens a new conversation; the old one cannot be reopened
    // while the new one is open.
    let next = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 11)
        .await
        .unwrap();
    assert_ne!(next.id, conv.id);
    assert!(matches!(
        store.set_status(conv.id, Status::Open, 12).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.set_status(next.id + 1000, Status::Resolved, 12).await,
        Err(StoreError::NotFound { .. })
    ));

    for at in 3..403 {
        store
            .record_deflection("demo", visitor.id, "refund", "en/refunds", at)
            .await
            .unwrap();
    }
    assert_eq!(
        store.deflection_count("demo").await.unwrap(),
        1,
        "once per visitor, query and article"
    );
    store
        .record_deflection("demo", visitor.id, "refund", "en/returns", 404)
        .await
        .unwrap();
    assert_eq!(store.deflection_count("demo").await.unwrap(), 2);
    assert_eq!(store.deflection_count("other").await.unwrap(), 0);
}

fn new_agent(email: &str) -> NewAgent {
    NewAgent {
        email: email.into(),
        name: "Ana Lima".into(),
        password_hash: "$argon2id$fake".into(),
        admin: false,
    }
}

async fn agents_and_sessions(store: &dyn Store) {
    assert_eq!(
        store.agent_count().await.unwrap(),
        0,
        "store must start empty"
    );
    let agent = store
        .create_agent(new_agent("ana@example.com"), 1)
        .await
        .unwrap();
    assert_eq!(agent.email, "ana@example.com");
    assert!(!agent.admin && !agent.disabled);
    let dup = store.create_agent(new_agent("ANA@example.com"), 2).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict { .. })),
        "emails are unique, case-insensitively: {dup:?}"
    );
    let creds = store
        .agent_credentials("ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.agent, agent);
    let agent = &agent;
    assert_eq!(creds.password_hash, "$argon2id$fake");
    assert!(
        store
            .agent_credentials("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.agent(agent.id).await.unwrap(), Some(agent.clone()));

    store.create_session("h1", agent.id, 10, 100).await.unwrap();
    assert_eq!(
        store.session_agent("h1", 50).await.unwrap(),
        Some(agent.clone())
    );
    assert_eq!(
        store.session_agent("h1", 100).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.session_agent("nope", 50).await.unwrap(), None);
    store.delete_session("h1").await.unwrap();
    assert_eq!(
        store.session_agent("h1", 50).await.unwrap(),
        None,
        "logged out"
    );
}

async fn visitors_and_conversations(store: &dyn Store) {
    let visitor = store.create_visitor("vt1", "demo", 5).await.unwrap();
    assert_eq!(store.visitor("vt1").await.unwrap(), Some(visitor.clone()));
    assert_eq!(store.visitor("vt2").await.unwrap(), None);
    assert_eq!(store.open_conversation(visitor.id).await.unwrap(), None);
    let context = ConversationContext {
        page_url: Some("https://shop.example/pricing".into()),
        locale: Some("pt-BR".into()),
    };
    let conv = store
        .open_or_create_conversation(&visitor, &context, 7)
        .await
        .unwrap();
    assert_eq!(conv.status, Status::Open);
    assert_eq!(conv.last_seq, 0);
    assert_eq!(conv.site, "demo");
    assert_eq!(
        conv.page_url.as_deref(),
        Some("https://shop.example/pricing")
    );
    let again = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 8)
        .await
        .unwrap();
    assert_eq!(again.id, conv.id, "one open conversation per visitor");
    assert_eq!(
        store.conversation(conv.id).await.unwrap(),
        Some(conv.clone())
    );
    assert_eq!(store.conversation(conv.id + 1000).await.unwrap(), None);
    let open = store.list_open_conversations(10).await.unwrap();
    assert!(open.iter().any(|c| c.id == conv.id));
}

async fn messages_are_sequenced_and_deduplicated(store: &dyn Store) {
    let agent = store
        .create_agent(new_agent("bo@example.com"), 1)
        .await
        .unwrap();
    let visitor = store.create_visitor("vt-msg", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
    let send =
        |client_id: &'static str, agent_id: Option<i64>, body: &'static str, at| NewMessage {
            conversation_id: conv.id,
            client_id,
            agent_id,
            body,
            at,
            attachments: &[],
        };
    let first = store
        .append_message(send("c1", None, "Hello", 10))
        .await
        .unwrap();
    assert_eq!((first.message.seq, first.duplicate), (1, false));
    assert_eq!(first.message.author, MessageAuthor::Visitor);
    let reply = store
        .append_message(send("c1", Some(agent.id), "Hi, how can I help?", 11))
        .await
        .unwrap();
    assert_eq!(
        (reply.message.seq, reply.duplicate),
        (2, false),
        "the same client id from another author is another message"
    );
    assert_eq!(
        reply.message.author,
        MessageAuthor::Agent {
            id: agent.id,
            name: "Ana Lima".into()
        }
    );
    let resent = store
        .append_message(send("c1", None, "Hello", 12))
        .await
        .unwrap();
    assert!(resent.duplicate);
    assert_eq!(
        resent.message, first.message,
        "a resend returns the stored message"
    );
    let third = store
        .append_message(send("c2", None, "Olá 👋", 13))
        .await
        .unwrap();
    assert_eq!(third.message.seq, 3, "no gap after a duplicate");

    let all = store.messages_after(conv.id, 0, 100).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(all[2].body, "Olá 👋");
    let tail = store.messages_after(conv.id, 2, 100).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(store.messages_after(conv.id, 0, 2).await.unwrap().len(), 2);
    let updated = store.conversation(conv.id).await.unwrap().unwrap();
    assert_eq!(updated.last_seq, 3);
    assert_eq!(updated.preview.as_deref(), Some("Olá 👋"));

    let missing = store
        .append_message(NewMessage {
            conversation_id: conv.id + 1000,
            client_id: "x",
            agent_id: None,
            body: "lost?",
            at: 1,
            attachments: &[],
        })
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

async fn concurrent_appends_are_gap_free(store: Arc<dyn Store>) {
    let visitor = store.create_visitor("vt-conc", "demo", 1).await.unwrap();
    let conv = store
        .open_or_create_conversation(&visitor, &ConversationContext::default(), 1)
        .await
        .unwrap();
    // A write to a conversation that does not exist, among them, fails alone.
    let unknown = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append_message(NewMessage {
                    conversation_id: conv.id + 1_000_000,
                    client_id: "lost",
                    agent_id: None,
                    body: "nowhere",
                    at: 2,
                    attachments: &[],
                })
                .await
        })
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("m{}", i % 20); // every id sent twice, concurrently
            store
                .append_message(NewMessage {
                    conversation_id: conv.id,
                    client_id: &id,
                    agent_id: None,
                    body: "concurrent",
                    at: 2,
                    attachments: &[],
                })
                .await
                .unwrap()
        }));
    }
    let mut fresh = 0;
    for task in tasks {
        if !task.await.unwrap().duplicate {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 20, "each client id stored once");
    assert!(matches!(
        unknown.await.unwrap(),
        Err(StoreError::NotFound { .. })
    ));
    let seqs: Vec<u64> = store
        .messages_after(conv.id, 0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>(), "gap-free sequence");
}

async fn concurrent_first_messages_share_one_conversation(store: Arc<dyn Store>) {
    let visitor = store.create_visitor("vt-tabs", "demo", 1).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let visitor = visitor.clone();
        tasks.push(tokio::spawn(async move {
            store
                .open_or_create_conversation(&visitor, &ConversationContext::default(), 3)
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "two tabs, one conversation: {ids:?}");
}

/// Every message, note and deflection text, and every contact detail, reachable through the
/// trait (what "no trace" is checked against).
async fn everything_readable(store: &dyn Store) -> String {
    let mut all = String::new();
    let mut cursor = (0, 0);
    while let Some(last) = {
        let page = store.messages_since(cursor, 500).await.unwrap();
        for m in &page {
            all.push_str(&m.body);
            all.push('\n');
        }
        page.last().cloned()
    } {
        cursor = (last.conversation_id, last.seq);
    }
    let mut after = 0;
    loop {
        let page = store.notes_since(after, 500).await.unwrap();
        let Some((id, _)) = page.last() else { break };
        after = *id;
        for (_, n) in &page {
            all.push_str(&n.body);
            all.push('\n');
        }
    }
    let mut after = 0;
    loop {
        let page = store.conversations_since(after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        for c in &page {
            for field in [
                &c.contact_name,
                &c.contact_email,
                &c.context,
                &c.page_url,
                &c.preview,
                &c.rating_comment,
            ] {
                all.push_str(field.as_deref().unwrap_or(""));
                all.push('\n');
            }
            if let Some(id) = c.contact_id
                && let Some(contact) = store.contact(id).await.unwrap()
            {
                all.push_str(&format!("{contact:?}\n"));
            }
        }
    }
    all
}

async fn a_contact_is_exported_and_erased_without_a_trace(store: &dyn Store) {
    let agent = store
        .create_agent(
            NewAgent {
                email: "dpo@example.com".into(),
                name: "Dee".into(),
                password_hash: "x".into(),
                admin: true,
            },
            1,
        )
        .await
        .unwrap();
    let say = async |conversation: i64, id: &str, agent: Option<i64>, body: &str| {
        store
            .append_message(NewMessage {
                conversation_id: conversation,
                client_id: id,
                agent_id: agent,
                body,
                at: 20,
                attachments: &[],
            })
            .await
            .unwrap();
    };
    // Erin, on a laptop: details, a conversation with a reply, a note, a label, a rating and a
    // deflection.
    let laptop = store
        .create_visitor("vt-erin-laptop", "gdpr", 10)
        .await
        .unwrap();
    let erin = store.visitor_contact(laptop.id, 10).await.unwrap();
    let details = ContactUpdate {
        name: Some("Erin Erasable".into()),
        email: Some("erin.erasable@example.org".into()),
        attributes: [("plan".to_owned(), "erin-plan-platinum".to_owned())].into(),
    };
    store.update_contact(erin.id, &details, 11).await.unwrap();
    let c1 = store
        .open_or_create_conversation(&laptop, &ConversationContext::default(), 12)
        .await
        .unwrap();
    store
        .set_context(c1.id, "{\"query\":\"erin-searched-refund\"}", None)
        .await
        .unwrap();
    say(c1.id, "e1", None, "erin-secret order 4711 never came").await;
    say(c1.id, "a1", Some(agent.id), "erin-reply: it ships today").await;
    store
        .add_note(c1.id, agent.id, "n1", "erin-note: VIP, refund", 21)
        .await
        .unwrap();
    store
        .set_labels(c1.id, &["erin-label".to_owned()])
        .await
        .unwrap();
    store.set_status(c1.id, Status::Resolved, 22).await.unwrap();
    store
        .rate(c1.id, 2, Some("erin-comment: slow"))
        .await
        .unwrap();
    store
        .record_deflection("gdpr", laptop.id, "erin-query", "refunds", 23)
        .await
        .unwrap();
    // Her phone, a duplicate contact merged into hers.
    let phone = store
        .create_visitor("vt-erin-phone", "gdpr", 30)
        .await
        .unwrap();
    let phone_contact = store.visitor_contact(phone.id, 30).await.unwrap();
    let c2 = store
        .open_or_create_conversation(&phone, &ConversationContext::default(), 31)
        .await
        .unwrap();
    say(c2.id, "e2", None, "erin-phone: hello from my phone").await;
    store
        .merge_contacts(phone_contact.id, erin.id, 32)
        .await
        .unwrap();
    // Someone else on the same site, who must keep everything.
    let oscar_browser = store.create_visitor("vt-oscar", "gdpr", 40).await.unwrap();
    let oscar = store.visitor_contact(oscar_browser.id, 40).await.unwrap();
    let oscar_details = ContactUpdate {
        name: Some("Oscar Other".into()),
        ..ContactUpdate::default()
    };
    store
        .update_contact(oscar.id, &oscar_details, 41)
        .await
        .unwrap();
    let c3 = store
        .open_or_create_conversation(&oscar_browser, &ConversationContext::default(), 42)
        .await
        .unwrap();
    say(c3.id, "o1", None, "oscar: keep me").await;
    store
        .record_deflection("gdpr", oscar_browser.id, "oscar-query", "refunds", 43)
        .await
        .unwrap();

    // The export has everything, asked by either id.
    let data = store.contact_data(phone_contact.id).await.unwrap().unwrap();
    assert_eq!(
        data.contact.id, erin.id,
        "a merged id resolves to the survivor"
    );
    assert_eq!(data.contact.name.as_deref(), Some("Erin Erasable"));
    assert_eq!(
        data.merged.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![phone_contact.id]
    );
    let ids: Vec<i64> = data
        .conversations
        .iter()
        .map(|c| c.conversation.id)
        .collect();
    assert_eq!(ids, vec![c1.id, c2.id]);
    let first = &data.conversations[0];
    assert_eq!(first.messages.len(), 2);
    assert_eq!(first.notes.len(), 1);
    assert_eq!(first.conversation.rating, Some(2));
    assert_eq!(first.conversation.labels, vec!["erin-label".to_owned()]);
    assert_eq!(data.deflections.len(), 1);
    assert_eq!(data.deflections[0].query, "erin-query");
    assert!(store.contact_data(999_999).await.unwrap().is_none());
    let before = everything_readable(store).await;
    assert!(before.contains("erin-secret") && before.contains("erin-note"));

    // Erased: nothing of her is left anywhere the trait reads.
    let deflections_before = store.deflection_count("gdpr").await.unwrap();
    let erased = store.erase_contact(erin.id, 50).await.unwrap();
    assert_eq!(erased.contacts, vec![erin.id, phone_contact.id]);
    assert_eq!(erased.conversations, vec![c1.id, c2.id]);
    assert_eq!(erased.visitors, vec![laptop.id, phone.id]);
    for id in [erin.id, phone_contact.id] {
        assert!(store.contact(id).await.unwrap().is_none());
        assert!(store.contact_data(id).await.unwrap().is_none());
    }
    for c in [c1.id, c2.id] {
        assert!(store.conversation(c).await.unwrap().is_none());
        assert!(store.messages_after(c, 0, 100).await.unwrap().is_empty());
        assert!(store.notes(c).await.unwrap().is_empty());
    }
    assert!(store.visitor("vt-erin-laptop").await.unwrap().is_none());
    assert!(store.visitor("vt-erin-phone").await.unwrap().is_none());
    let after = everything_readable(store).await;
    assert!(
        !after.contains("erin") && !after.contains("Erin"),
        "{after}"
    );
    assert_eq!(
        store.deflection_count("gdpr").await.unwrap(),
        deflections_before - 1
    );
    assert!(matches!(
        store.erase_contact(erin.id, 51).await,
        Err(StoreError::NotFound { .. })
    ));
    // The erasure log names what every node must drop (ids only).
    let log = store.erasures_since(0, 100).await.unwrap();
    let logged_conversations: Vec<i64> = log.iter().filter_map(|e| e.conversation).collect();
    let logged_visitors: Vec<i64> = log.iter().filter_map(|e| e.visitor).collect();
    assert_eq!(logged_conversations, vec![c1.id, c2.id]);
    assert_eq!(logged_visitors, vec![laptop.id, phone.id]);
    let last = log.last().unwrap().id;
    assert!(store.erasures_since(last, 100).await.unwrap().is_empty());
    assert_eq!(store.latest_erasure().await.unwrap(), last);
    // Oscar keeps everything.
    assert_eq!(store.messages_after(c3.id, 0, 100).await.unwrap().len(), 1);
    assert_eq!(
        store
            .contact(oscar.id)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("Oscar Other")
    );
    assert!(store.visitor("vt-oscar").await.unwrap().is_some());
}

async fn retention_removes_what_is_older_than_the_rule_and_nothing_else(store: &dyn Store) {
    const DAY: i64 = 86_400_000;
    let now = 400 * DAY;
    let cutoff = now - 30 * DAY;
    let agent = store.list_agents().await.unwrap()[0].id;
    let start = async |token: &str, at: i64, body: &str, resolve: bool| {
        let v = store.create_visitor(token, "retain", at).await.unwrap();
        let c = store
            .open_or_create_conversation(&v, &ConversationContext::default(), at)
            .await
            .unwrap();
        store
            .append_message(NewMessage {
                conversation_id: c.id,
                client_id: "m",
                agent_id: None,
                body,
                at,
                attachments: &[],
            })
            .await
            .unwrap();
        store
            .add_note(c.id, agent, "n", &format!("note of {body}"), at)
            .await
            .unwrap();
        if resolve {
            store.set_status(c.id, Status::Resolved, at).await.unwrap();
            store.rate(c.id, 2, Some("call me on 555")).await.unwrap();
        }
        (v, c.id)
    };
    let (old_v, old) = start("vt-old", cutoff - DAY, "old and resolved", true).await;
    let (_, old_open) = start("vt-old-open", cutoff - DAY, "old but open", false).await;
    let (_, recent) = start("vt-recent", cutoff + DAY, "recent and resolved", true).await;
    store
        .record_deflection("retain", old_v.id, "old query", "a", cutoff - DAY)
        .await
        .unwrap();
    store
        .record_deflection("retain", old_v.id, "recent query", "a", cutoff + DAY)
        .await
        .unwrap();
    // What the rule must take: every resolved conversation last updated before the cutoff
    // (the earlier stories' too), and nothing else.
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.conversations_since(after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        all.extend(page);
    }
    let mut due: Vec<i64> = all
        .iter()
        .filter(|c| c.status == Status::Resolved && c.updated_at < cutoff)
        .map(|c| c.id)
        .collect();
    due.sort();
    assert!(due.contains(&old) && !due.contains(&recent) && !due.contains(&old_open));
    // In small batches, as the background job does.
    let mut done = Vec::new();
    loop {
        let batch = store.expire(cutoff, Expiry::Delete, 2, now).await.unwrap();
        if batch.is_empty() {
            break;
        }
        done.extend(batch);
    }
    done.sort();
    assert_eq!(done, due, "exactly the old resolved conversations");
    for c in &all {
        let kept = store.conversation(c.id).await.unwrap();
        if due.contains(&c.id) {
            assert!(kept.is_none());
            assert!(store.messages_after(c.id, 0, 10).await.unwrap().is_empty());
            assert!(store.notes(c.id).await.unwrap().is_empty());
        } else {
            let kept = kept.expect("a conversation the rule does not cover stays");
            assert_eq!(kept.last_seq, c.last_seq);
            assert_eq!(
                store.messages_after(c.id, 0, 10_000).await.unwrap().len() as u64,
                c.last_seq
            );
        }
    }
    assert_eq!(
        store.deflection_count("retain").await.unwrap(),
        1,
        "the old deflection went, the recent one stayed"
    );
    let logged: Vec<i64> = store
        .erasures_since(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.conversation)
        .collect();
    assert!(due.iter().all(|id| logged.contains(id)));

    // Anonymising keeps the figures and removes the words.
    let later = now + 60 * DAY;
    let (_, recent_open) = start("vt-fresh", later - DAY, "fresh", false).await;
    let before = store.conversation(recent).await.unwrap().unwrap();
    let done = store
        .expire(later - 30 * DAY, Expiry::Anonymize, 100, later)
        .await
        .unwrap();
    assert_eq!(done, vec![recent], "only the now-old resolved conversation");
    let anon = store.conversation(recent).await.unwrap().unwrap();
    assert_eq!(
        (
            anon.rating,
            anon.last_seq,
            anon.status,
            anon.created_at,
            anon.resolved_at
        ),
        (
            before.rating,
            before.last_seq,
            before.status,
            before.created_at,
            before.resolved_at
        )
    );
    assert_eq!(
        (
            anon.rating_comment,
            anon.preview,
            anon.contact_id,
            anon.contact_name
        ),
        (None, None, None, None)
    );
    let messages = store.messages_after(recent, 0, 10).await.unwrap();
    assert_eq!(messages.len(), 1, "the message stays, for the figures");
    assert_eq!(messages[0].body, "");
    assert!(store.notes(recent).await.unwrap().is_empty());
    let text = everything_readable(store).await;
    assert!(!text.contains("recent and resolved") && !text.contains("555"));
    assert!(text.contains("old but open") && text.contains("fresh"));
    assert!(
        store
            .expire(later - 30 * DAY, Expiry::Anonymize, 100, later)
            .await
            .unwrap()
            .is_empty(),
        "not twice"
    );
    assert!(store.conversation(recent_open).await.unwrap().is_some());
}

async fn leases_are_held_by_one_node_until_they_run_out(store: &dyn Store) {
    assert!(store.try_lease("sla", "node-a", 300).await.unwrap());
    assert!(
        !store.try_lease("sla", "node-b", 300).await.unwrap(),
        "a holds it"
    );
    assert!(
        store.try_lease("sla", "node-a", 300).await.unwrap(),
        "a renews"
    );
    assert!(
        store.try_lease("retention", "node-b", 300).await.unwrap(),
        "another lease"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        store.try_lease("sla", "node-b", 300).await.unwrap(),
        "b takes over once it ran out"
    );
    assert!(!store.try_lease("sla", "node-a", 300).await.unwrap());
    let key = store.cluster_key("first").await.unwrap();
    assert_eq!(key, "first");
    assert_eq!(
        store.cluster_key("second").await.unwrap(),
        "first",
        "the first node's key stays"
    );
}

async fn the_first_of_two_routing_decisions_wins(store: &dyn Store) {
    let a = store.list_agents().await.unwrap();
    let (ana, bo) = (a[0].id, a.get(1).map_or(a[0].id, |b| b.id));
    let v = store.create_visitor("vt-routing", "demo", 1).await.unwrap();
    let c = store
        .open_or_create_conversation(&v, &ConversationContext::default(), 1)
        .await
        .unwrap();
    // Two nodes saw it unassigned and decide at once: the first wins, the second is told.
    let first = store.assign_if(c.id, None, Some(ana), 2).await.unwrap();
    assert_eq!(first.unwrap().assignee.map(|(id, _)| id), Some(ana));
    assert!(
        store
            .assign_if(c.id, None, Some(bo), 2)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .conversation(c.id)
            .await
            .unwrap()
            .unwrap()
            .assignee
            .map(|(id, _)| id),
        Some(ana)
    );
    // A transfer from the assignee it expects goes through; to nobody too.
    assert!(
        store
            .assign_if(c.id, Some(ana), Some(bo), 3)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .assign_if(c.id, Some(bo), None, 4)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store.assign_if(c.id + 1_000_000, None, Some(ana), 5).await,
        Err(StoreError::NotFound { .. })
    ));
}
