//! Reports keep whole days in each store's memory (`sql/report_cache.rs`): after every kind of
//! change, made through this store or through another one on the same database (another node),
//! what this store reports must equal what a store that never read the days reports.

use crate::{Expiry, NewAgent, NewMessage, ReportFilter, SlaDues, SlaKind, Status, Store};
use std::future::Future;
use std::sync::Arc;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// A day start far from every other story's clock.
const T: i64 = 22_000 * DAY;
/// The period: a partial day before `T`, four whole days, a partial day after.
const SINCE: i64 = T - 5 * HOUR;
const UNTIL: i64 = T + 4 * DAY + 3 * HOUR;

fn filters(agent: i64) -> Vec<ReportFilter> {
    let mut out = vec![ReportFilter::default()];
    let one = |edit: &dyn Fn(&mut ReportFilter)| {
        let mut f = ReportFilter::default();
        edit(&mut f);
        f
    };
    out.push(one(&|f| f.site = Some("days".into())));
    out.push(one(&|f| f.label = Some("refund".into())));
    out.push(one(&|f| f.language = Some("pt".into())));
    out.push(one(&|f| f.team = Some("billing".into())));
    out.push(one(&|f| f.agent = Some(agent)));
    out.push(one(&|f| f.priority = Some("high".into())));
    out.push(one(&|f| f.channel = Some("widget".into())));
    out
}

/// What `store` reports for the period under every filter.
async fn read(store: &dyn Store, agent: i64) -> Vec<String> {
    let mut out = Vec::new();
    for filter in filters(agent) {
        for details in [false, true] {
            let facts = store
                .report_facts(&filter, SINCE, UNTIL, details)
                .await
                .unwrap();
            out.push(format!("{filter:?} {details} {facts:?}"));
        }
        let replies = store.report_replies(&filter, SINCE, UNTIL).await.unwrap();
        out.push(format!("{filter:?} {replies:?}"));
    }
    out
}

/// `a` (which keeps its days across the calls) reports what a store just opened reports.
async fn same<F, Fut>(a: &dyn Store, fresh: &F, agent: i64, after: &str)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let kept = read(a, agent).await;
    let other = fresh().await;
    let expected = read(&*other, agent).await;
    other.close().await;
    for (k, e) in kept.iter().zip(&expected) {
        assert_eq!(k, e, "after {after}: the days kept in memory are stale");
    }
    assert_eq!(kept.len(), expected.len());
}

async fn handoff(store: &dyn Store, n: u32, t: i64, locale: &str) -> i64 {
    let token = format!("vt-days-{n}");
    let (_, c) = super::visitor_with_conversation(store, &token, "days", Some(locale), t).await;
    say(store, c, None, t).await;
    c
}

async fn say(store: &dyn Store, conversation_id: i64, agent_id: Option<i64>, t: i64) {
    store
        .append_message(NewMessage {
            conversation_id,
            client_id: &format!("days-{conversation_id}-{t}-{agent_id:?}"),
            agent_id,
            body: "Onde está a minha encomenda?",
            attachments: &[],
            at: t,
        })
        .await
        .unwrap();
}

/// `a` reads the days, then `a` and `b` (another store on the same database) change them in
/// every way a report can see; `fresh` opens a third store each time, which has read nothing.
pub async fn reports_kept_in_memory_follow_every_change<F, Fut>(
    a: &dyn Store,
    b: &dyn Store,
    fresh: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let agent = a
        .create_agent(
            NewAgent {
                email: "days@example.com".into(),
                name: "Days".into(),
                password_hash: "x".into(),
                admin: false,
            },
            T,
        )
        .await
        .unwrap()
        .id;
    // One conversation on each whole day and on each partial one.
    let c0 = handoff(a, 0, T - 2 * HOUR, "pt-BR").await;
    let c1 = handoff(a, 1, T + HOUR, "pt-PT").await;
    let c2 = handoff(a, 2, T + DAY + HOUR, "en").await;
    let c3 = handoff(a, 3, T + 2 * DAY + HOUR, "tr").await;
    let c4 = handoff(a, 4, T + 4 * DAY + HOUR, "ru").await;
    // Created long before the period (more days back than are kept), answered in it.
    let old = handoff(a, 9, T - 500 * DAY, "pt-BR").await;
    say(a, old, Some(agent), T - 500 * DAY + HOUR).await;
    say(a, old, None, T + HOUR).await;
    assert!(a.begin_next_response(old, T + HOUR, None).await.unwrap());
    say(a, old, Some(agent), T + HOUR + 300_000).await;
    a.set_labels(old, &["refund".to_owned()]).await.unwrap();
    same(a, &fresh, agent, "the handoffs").await;

    // Agents answer (first response, agent replies, a next response), on both stores.
    say(a, c1, Some(agent), T + 2 * HOUR).await;
    say(b, c2, Some(agent), T + DAY + 2 * HOUR).await;
    same(a, &fresh, agent, "the first responses").await;
    say(b, c2, None, T + DAY + 2 * HOUR + 60_000).await;
    same(a, &fresh, agent, "the customer writes back").await;
    say(a, c1, None, T + 3 * HOUR).await;
    assert!(
        a.begin_next_response(c1, T + 3 * HOUR, Some(T + 4 * HOUR))
            .await
            .unwrap()
    );
    say(b, c1, Some(agent), T + 3 * HOUR + 600_000).await;
    same(a, &fresh, agent, "a next response").await;

    b.set_status(c1, Status::Resolved, T + 5 * HOUR)
        .await
        .unwrap();
    same(a, &fresh, agent, "a resolution on another node").await;
    b.set_status(c1, Status::Open, T + 6 * HOUR).await.unwrap();
    same(a, &fresh, agent, "a reopening").await;
    b.rate(c2, 2, Some("slow")).await.unwrap();
    same(a, &fresh, agent, "a rating").await;
    b.set_effort(c2, 6).await.unwrap();
    same(a, &fresh, agent, "an effort score").await;
    b.set_priority(
        c3,
        "high",
        SlaDues {
            first_response: Some(T + 2 * DAY + 2 * HOUR),
            ..SlaDues::default()
        },
    )
    .await
    .unwrap();
    same(a, &fresh, agent, "a priority").await;
    b.set_team(c3, Some("billing")).await.unwrap();
    same(a, &fresh, agent, "a team").await;
    b.assign(c3, Some(agent), T + 2 * DAY + 3 * HOUR)
        .await
        .unwrap();
    same(a, &fresh, agent, "an assignment").await;
    b.set_labels(c2, &["refund".to_owned()]).await.unwrap();
    same(a, &fresh, agent, "a label").await;
    b.set_labels(c2, &["shipping".to_owned()]).await.unwrap();
    same(a, &fresh, agent, "a label replaced").await;
    // Next responses filtered by their conversation: c1 and `old` have one each.
    b.set_labels(c1, &["refund".to_owned()]).await.unwrap();
    same(
        a,
        &fresh,
        agent,
        "a label on the conversation answered twice",
    )
    .await;
    let replies = |f: fn(&mut ReportFilter)| {
        let mut filter = ReportFilter::default();
        f(&mut filter);
        async move { a.report_replies(&filter, SINCE, UNTIL).await.unwrap().len() }
    };
    assert_eq!(replies(|_| {}).await, 2);
    assert_eq!(replies(|f| f.label = Some("refund".into())).await, 2);
    assert_eq!(replies(|f| f.label = Some("shipping".into())).await, 0);
    assert_eq!(replies(|f| f.language = Some("pt".into())).await, 2);
    assert_eq!(replies(|f| f.language = Some("en".into())).await, 0);
    assert_eq!(replies(|f| f.team = Some("billing".into())).await, 0);
    b.set_team(old, Some("billing")).await.unwrap();
    assert_eq!(replies(|f| f.team = Some("billing".into())).await, 1);
    assert_eq!(replies(|f| f.site = Some("days".into())).await, 2);
    assert_eq!(replies(|f| f.site = Some("other".into())).await, 0);
    b.record_breach(
        c3,
        SlaKind::FirstResponse,
        T + 2 * DAY + 2 * HOUR,
        T + 2 * DAY + 2 * HOUR + 1,
    )
    .await
    .unwrap();
    same(a, &fresh, agent, "a breach").await;
    b.set_resolution_due(c3, T + 2 * DAY + HOUR, Some(T + 3 * DAY))
        .await
        .unwrap();
    same(a, &fresh, agent, "a resolution clock").await;
    b.set_context(c3, r#"{"searching_ms":5000}"#, Some(5_000))
        .await
        .unwrap();
    same(a, &fresh, agent, "self-help time").await;
    let visitor = b.visitor("vt-days-3").await.unwrap().unwrap();
    let contact = b.identify_visitor(visitor.id, "days-3", T).await.unwrap();
    same(a, &fresh, agent, "an identified contact").await;
    // Messages change previews only: what the details show.
    say(b, c3, None, T + 2 * DAY + 4 * HOUR).await;
    same(a, &fresh, agent, "a customer's message").await;
    // The partial days too.
    b.set_status(c0, Status::Resolved, T).await.unwrap();
    b.set_status(c4, Status::Resolved, T + 4 * DAY + 2 * HOUR)
        .await
        .unwrap();
    same(a, &fresh, agent, "the partial days").await;
    b.set_status(c2, Status::Resolved, T + DAY + 3 * HOUR)
        .await
        .unwrap();
    same(a, &fresh, agent, "a resolution").await;
    // Retention anonymises a resolved conversation (its contact link goes) …
    let done = b
        .expire(T + 1, Expiry::Anonymize, 100, T + 10 * DAY)
        .await
        .unwrap();
    assert_eq!(done, vec![c0]);
    same(a, &fresh, agent, "anonymising").await;
    // … or deletes one, and erasing a contact takes its conversation: whole days lose one.
    let done = b
        .expire(T + DAY + 4 * HOUR, Expiry::Delete, 100, T + 10 * DAY)
        .await
        .unwrap();
    assert_eq!(done, vec![c2]);
    same(a, &fresh, agent, "deleting").await;
    b.erase_contact(contact.id, T + 10 * DAY).await.unwrap();
    same(a, &fresh, agent, "an erasure").await;
    let left: Vec<i64> = a
        .report_facts(&ReportFilter::default(), SINCE, UNTIL, false)
        .await
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(left, vec![c0, c1, c4]);
}
