//! A scripted month for the reports: conversations handed off and answered across business-hour
//! boundaries (a lunch break, a weekend, a holiday), the October clock change, reopens,
//! ratings, next responses, SLA deadlines and deflections, written through the store and read
//! back as facts; `insights` must then give exactly the figures worked out by hand below.

use crate::{NewMessage, ReportFilter, SlaDues, SlaKind, Status, Store};
use calendar::{Calendar, LocalDate};
use insights::{Calendars, Funnel};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// Lisbon: weekdays 09:00–13:00 and 14:00–18:00, closed on 5 October (a public holiday). The
/// clocks go back an hour on Sunday 25 October 2026.
fn lisbon() -> Calendar {
    let shifts = "09:00-13:00, 14:00-18:00";
    Calendar::parse(
        None,
        Some("Europe/Lisbon"),
        ["mon", "tue", "wed", "thu", "fri"].map(|d| (d, shifts)),
        ["2026-10-05"],
    )
    .expect("a valid calendar")
}

/// Local time in Lisbon on a day of 2026.
fn at(cal: &Calendar, month: u8, day: u8, hour: i64, minute: i64) -> i64 {
    let midnight = cal.start_of_local_day(LocalDate::new(2026, month, day).unwrap());
    // Not across a clock change: every time used is on the same side as midnight.
    midnight + hour * HOUR + minute * MIN
}

struct Script<'a> {
    store: &'a dyn Store,
    agent: i64,
    visitors: u32,
}

impl Script<'_> {
    async fn handoff(&mut self, t: i64) -> i64 {
        self.visitors += 1;
        let token = format!("vt-report-{}", self.visitors);
        let (_, c) =
            super::visitor_with_conversation(self.store, &token, "lisbon", Some("pt-PT"), t).await;
        self.say(c, None, t).await;
        c
    }

    async fn say(&self, conversation_id: i64, agent_id: Option<i64>, t: i64) {
        let client_id = format!("{conversation_id}-{t}");
        self.store
            .append_message(NewMessage {
                conversation_id,
                client_id: &client_id,
                agent_id,
                body: "Onde está a minha encomenda?",
                at: t,
                attachments: &[],
            })
            .await
            .unwrap();
    }

    async fn reply(&self, conversation_id: i64, t: i64) {
        self.say(conversation_id, Some(self.agent), t).await;
    }

    async fn resolve(&self, conversation_id: i64, t: i64) {
        self.store
            .set_status(conversation_id, Status::Resolved, t)
            .await
            .unwrap();
    }
}

pub(super) async fn a_scripted_month_gives_the_expected_figures(store: &dyn Store) {
    let cal = lisbon();
    let agent = store.list_agents().await.unwrap()[0].id;
    let mut s = Script {
        store,
        agent,
        visitors: 0,
    };
    // C1, Thu 1 Oct: answered in 12 min (due in 30), the customer writes again, answered 15
    // min later (due in 30); resolved after 40 min with 2 agent replies; rated 5.
    let c1 = s.handoff(at(&cal, 10, 1, 10, 0)).await;
    store
        .set_priority(
            c1,
            "normal",
            SlaDues {
                first_response: Some(at(&cal, 10, 1, 10, 30)),
                ..SlaDues::default()
            },
        )
        .await
        .unwrap();
    store
        .set_resolution_due(c1, at(&cal, 10, 1, 10, 0), Some(at(&cal, 10, 2, 10, 0)))
        .await
        .unwrap();
    s.reply(c1, at(&cal, 10, 1, 10, 12)).await;
    s.say(c1, None, at(&cal, 10, 1, 10, 20)).await;
    assert!(
        store
            .begin_next_response(c1, at(&cal, 10, 1, 10, 20), Some(at(&cal, 10, 1, 10, 50)))
            .await
            .unwrap()
    );
    s.reply(c1, at(&cal, 10, 1, 10, 35)).await;
    s.resolve(c1, at(&cal, 10, 1, 10, 40)).await;
    store.rate(c1, 5, None).await.unwrap();
    store.set_effort(c1, 7).await.unwrap();
    // A minute and a half in self-help before asking for a human.
    store
        .set_context(c1, r#"{"searching_ms":90000}"#, Some(90_000))
        .await
        .unwrap();
    store.set_labels(c1, &["billing".to_owned()]).await.unwrap();

    // C2, Fri 2 Oct 17:50: answered Tue 6 Oct 09:30 (Monday 5 is a holiday): 10 + 30 business
    // minutes, past its deadline (breached); resolved at 09:31 with one reply; rated 4.
    let c2 = s.handoff(at(&cal, 10, 2, 17, 50)).await;
    store
        .set_priority(
            c2,
            "normal",
            SlaDues {
                first_response: Some(at(&cal, 10, 6, 9, 20)),
                ..SlaDues::default()
            },
        )
        .await
        .unwrap();
    store
        .record_breach(
            c2,
            SlaKind::FirstResponse,
            at(&cal, 10, 6, 9, 20),
            at(&cal, 10, 6, 9, 21),
        )
        .await
        .unwrap();
    s.reply(c2, at(&cal, 10, 6, 9, 30)).await;
    s.resolve(c2, at(&cal, 10, 6, 9, 31)).await;
    store.rate(c2, 4, None).await.unwrap();
    store.set_effort(c2, 5).await.unwrap();

    // C3, Mon 12 Oct 12:50, across the lunch break: answered 14:20 (10 + 20 minutes), resolved
    // 14:30 (first resolution: 10 + 30), rated 1, reopened at 15:00 and resolved again Tue 13
    // at 09:15 (full resolution: 10 + 240 + 15); its resolution deadline was breached.
    let c3 = s.handoff(at(&cal, 10, 12, 12, 50)).await;
    store
        .set_resolution_due(c3, at(&cal, 10, 12, 12, 50), Some(at(&cal, 10, 12, 15, 50)))
        .await
        .unwrap();
    s.reply(c3, at(&cal, 10, 12, 14, 20)).await;
    s.resolve(c3, at(&cal, 10, 12, 14, 30)).await;
    store.rate(c3, 1, Some("Demorou")).await.unwrap();
    store
        .set_status(c3, Status::Open, at(&cal, 10, 12, 15, 0))
        .await
        .unwrap();
    store
        .record_breach(
            c3,
            SlaKind::Resolution,
            at(&cal, 10, 12, 15, 50),
            at(&cal, 10, 12, 15, 51),
        )
        .await
        .unwrap();
    s.resolve(c3, at(&cal, 10, 13, 9, 15)).await;
    store
        .set_labels(c3, &["billing".to_owned(), "refund".to_owned()])
        .await
        .unwrap();

    // C4, Fri 23 Oct 17:30: answered Mon 26 Oct 09:10, after the weekend of the clock change
    // (30 + 10 minutes); left open.
    let c4 = s.handoff(at(&cal, 10, 23, 17, 30)).await;
    s.reply(c4, at(&cal, 10, 26, 9, 10)).await;
    store
        .set_labels(c4, &["shipping".to_owned()])
        .await
        .unwrap();

    // C5, Sun 25 Oct 00:30 in Lisbon (still summer time: 24 Oct 23:30 UTC): counted on the 25th,
    // at hour 0 of a Sunday. Never answered.
    let c5_at = at(&cal, 10, 25, 0, 30);
    let c5 = s.handoff(c5_at).await;

    // C6, Sat 31 Oct 23:30 (winter time), answered Mon 2 Nov 09:05: 5 business minutes.
    let c6 = s.handoff(at(&cal, 10, 31, 23, 30)).await;
    s.reply(c6, at(&cal, 11, 2, 9, 5)).await;

    // The previous month: one conversation answered in 5 minutes.
    let c7 = s.handoff(at(&cal, 9, 15, 10, 0)).await;
    s.reply(c7, at(&cal, 9, 15, 10, 5)).await;

    // Three "yes, it answered" in October (one repeated: counted once), one in September.
    let v = store.visitor("vt-report-1").await.unwrap().unwrap();
    for (query, article, t) in [
        ("encomenda", "tracking", at(&cal, 10, 3, 11, 0)),
        ("fatura", "invoices", at(&cal, 10, 4, 11, 0)),
        ("fatura", "invoices", at(&cal, 10, 4, 11, 1)),
        ("reembolso", "refunds", at(&cal, 10, 20, 11, 0)),
        ("morada", "address", at(&cal, 9, 20, 11, 0)),
    ] {
        store
            .record_deflection("lisbon", v.id, query, article, t)
            .await
            .unwrap();
    }

    // The October report, in Lisbon's days.
    let since = cal.start_of_local_day(LocalDate::new(2026, 10, 1).unwrap());
    let until = cal.start_of_local_day(LocalDate::new(2026, 11, 1).unwrap());
    assert_eq!(
        until - since,
        31 * 24 * HOUR + HOUR,
        "October has a 25-hour day"
    );
    let filter = ReportFilter {
        site: Some("lisbon".into()),
        ..ReportFilter::default()
    };
    let facts = store
        .report_facts(&filter, since, until, true)
        .await
        .unwrap();
    let replies = store.report_replies(&filter, since, until).await.unwrap();
    let ids: Vec<i64> = facts.iter().map(|f| f.id).collect();
    assert_eq!(ids, [c1, c2, c3, c4, c5, c6]);
    let answered = store
        .deflections_between(Some("lisbon"), since, until)
        .await
        .unwrap();
    assert_eq!(answered, 3);
    // Four settled searches in October (two with an article opened), one in September.
    for (query, opened, t) in [
        ("encomenda", Some("tracking"), at(&cal, 10, 3, 10, 59)),
        ("fatura", None, at(&cal, 10, 4, 10, 59)),
        ("fatura", Some("invoices"), at(&cal, 10, 4, 11, 0)),
        ("morada", None, at(&cal, 10, 30, 9, 0)),
        ("morada", None, at(&cal, 9, 20, 10, 59)),
    ] {
        store
            .record_search(&crate::SearchEvent {
                site: "lisbon",
                language: "pt",
                query,
                visitor_key: "k1",
                results: 3,
                shown: &[],
                opened,
                helpful: None,
                handoff: false,
                at: t,
            })
            .await
            .unwrap();
    }
    let (searched, read) = store
        .search_funnel(Some("lisbon"), since, until, true)
        .await
        .unwrap();
    assert_eq!((searched, read), (4, 2));
    // From the rollups: whole UTC days, here the same searches.
    assert_eq!(
        store
            .search_funnel(Some("lisbon"), since, until, false)
            .await
            .unwrap(),
        (4, 2)
    );
    let funnel = Funnel {
        searched,
        read,
        answered,
        ..Funnel::default()
    };
    let by_site = |_: &str| -> &dyn insights::Calendar { &cal };
    let cals = Calendars {
        by_site: &by_site,
        days: &cal,
    };
    let f = insights::figures(&facts, &replies, funnel, &cals);
    assert_eq!(f.conversations, 6);
    // First response: 12, 40, 30, 40 and 5 business minutes.
    assert_eq!(f.first_response.count, 5);
    assert_eq!(f.first_response.mean_ms, Some(127 * MIN / 5));
    assert_eq!(f.first_response.median_ms, Some(30 * MIN));
    assert_eq!(f.first_response.p90_ms, Some(40 * MIN));
    // Buckets: under 1, 5, 15, 30, 60 minutes…: 5 and 12 in [5, 15), 30, 40, 40 in [30, 60).
    assert_eq!(f.first_response.histogram, [0, 0, 2, 0, 3, 0, 0, 0, 0, 0]);
    assert_eq!(f.next_response.count, 1);
    assert_eq!(f.next_response.median_ms, Some(15 * MIN));
    // First resolutions: 40, 41, 40; full: 40, 41, 265.
    assert_eq!(f.first_resolution.count, 3);
    assert_eq!(f.first_resolution.median_ms, Some(40 * MIN));
    assert_eq!(f.first_resolution.p90_ms, Some(41 * MIN));
    assert_eq!(f.full_resolution.count, 3);
    assert_eq!(f.full_resolution.mean_ms, Some(346 * MIN / 3));
    assert_eq!(f.full_resolution.p90_ms, Some(265 * MIN));
    assert_eq!((f.resolved, f.reopened, f.one_touch), (3, 1, 1));
    assert_eq!(f.csat, [1, 0, 0, 1, 1]);
    assert_eq!(f.csat_per_mille(), Some(666));
    assert_eq!(f.ces, [0, 0, 0, 0, 1, 0, 1]);
    assert_eq!(f.self_help.count, 1);
    assert_eq!(f.self_help.median_ms, Some(90_000));
    let sla: Vec<(&str, &str, u64, u64)> = f
        .sla
        .iter()
        .map(|s| (s.clock.as_str(), s.priority.as_str(), s.met, s.breached))
        .collect();
    assert_eq!(
        sla,
        [
            ("first_response", "normal", 1, 1),
            ("next_response", "normal", 1, 0),
            ("resolution", "normal", 1, 1),
        ]
    );
    assert_eq!(
        f.funnel,
        Funnel {
            searched: 4,
            read: 2,
            answered: 3,
            handed_off: 6,
        }
    );
    // Days in Lisbon: all 31, C5 on the 25th (its UTC date is the 24th).
    let days = insights::per_day(&facts, since, until, &cal);
    assert_eq!(days.len(), 31);
    let day = |d: &str| {
        days.iter()
            .find(|x| x.date == d)
            .map(|x| (x.created, x.resolved))
    };
    assert_eq!(day("2026-10-01"), Some((1, 1)));
    assert_eq!(day("2026-10-06"), Some((0, 1)));
    assert_eq!(day("2026-10-13"), Some((0, 1)));
    assert_eq!(day("2026-10-24"), Some((0, 0)));
    assert_eq!(day("2026-10-25"), Some((1, 0)));
    assert_eq!(day("2026-10-31"), Some((1, 0)));
    let heat = insights::heatmap(&facts, &cal);
    assert_eq!(heat[6][0], 1, "Sunday, 00:30 local");
    assert_eq!(heat[4][17], 2, "two Friday handoffs at 17:xx");
    // Drill-downs find the conversations behind the numbers.
    let pick = |key: &str| -> Vec<i64> {
        facts
            .iter()
            .filter(|x| insights::drills(key, x, &cals, until))
            .map(|x| x.id)
            .collect()
    };
    assert_eq!(pick("unanswered"), [c5]);
    assert_eq!(pick("first_response_breached"), [c2]);
    // Each duration's conversations are as many as its count; met + breached per clock.
    assert_eq!(pick("first_response").len() as u64, f.first_response.count);
    assert_eq!(
        pick("first_resolution").len() as u64,
        f.first_resolution.count
    );
    assert_eq!(
        pick("full_resolution").len() as u64,
        f.full_resolution.count
    );
    assert_eq!(pick("self_help").len() as u64, f.self_help.count);
    for (clock, met, breached) in [
        (
            "first_response",
            "first_response_met",
            "first_response_breached",
        ),
        ("resolution", "resolution_met", "resolution_breached"),
    ] {
        let (m, b) = f
            .sla
            .iter()
            .filter(|s| s.clock == clock)
            .fold((0, 0), |(m, b), s| (m + s.met, b + s.breached));
        assert_eq!(
            (pick(met).len() as u64, pick(breached).len() as u64),
            (m, b),
            "{clock}"
        );
    }
    assert_eq!(pick("rated").len() as u64, f.csat.iter().sum::<u64>());
    assert_eq!(pick("handed_off").len() as u64, f.funnel.handed_off);
    assert_eq!(pick("reopened"), [c3]);
    assert_eq!(pick("one_touch"), [c2]);
    assert_eq!(pick("label:billing"), [c1, c3]);
    assert_eq!(pick("day:2026-10-25"), [c5]);
    assert_eq!(pick("frt:4"), [c2, c3, c4], "30 to 60 minutes");
    assert_eq!(pick("rating:1"), [c3]);
    // The previous period: September's conversation.
    let length = until - since;
    let before = store
        .report_facts(&filter, since - length, since, false)
        .await
        .unwrap();
    let g = insights::figures(&before, &[], Funnel::default(), &cals);
    assert_eq!(g.conversations, 1);
    assert_eq!(g.first_response.median_ms, Some(5 * MIN));
    // Filters: by label, by priority, by another site.
    let billing = ReportFilter {
        label: Some("billing".into()),
        ..filter.clone()
    };
    let ids: Vec<i64> = store
        .report_facts(&billing, since, until, true)
        .await
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, [c1, c3]);
    let elsewhere = ReportFilter {
        site: Some("elsewhere".into()),
        ..ReportFilter::default()
    };
    assert!(
        store
            .report_facts(&elsewhere, since, until, false)
            .await
            .unwrap()
            .is_empty()
    );
    // The openers, the top contacts (none identified here) and the live counts.
    let openers = store.report_openers(&filter, since, until).await.unwrap();
    assert_eq!(openers.len(), 6);
    assert!(
        openers
            .iter()
            .all(|(_, body)| body == "Onde está a minha encomenda?")
    );
    let open = store
        .open_facts(&filter, &crate::Importance::default(), false)
        .await
        .unwrap();
    let open_ids: Vec<i64> = open.iter().map(|f| f.id).collect();
    assert_eq!(open_ids, [c7, c4, c5, c6], "oldest first");
    assert!(open.iter().all(|f| !f.important));
    let detailed = store.report_facts_of(&[c3, c1]).await.unwrap();
    assert_eq!(detailed.iter().map(|f| f.id).collect::<Vec<_>>(), [c1, c3]);
    assert_eq!(detailed[1].labels, ["billing", "refund"]);
    assert_eq!(
        detailed[0].preview.as_deref(),
        Some("Onde está a minha encomenda?")
    );
    let topics = store
        .report_topics(&filter, since, until, 10)
        .await
        .unwrap();
    assert_eq!(
        topics,
        [
            ("billing".to_owned(), 2),
            ("refund".to_owned(), 1),
            ("shipping".to_owned(), 1)
        ]
    );
    // Language: the conversations' locale is pt-PT.
    for (language, expected) in [("pt", 6), ("en", 0)] {
        let by_language = ReportFilter {
            language: Some(language.into()),
            ..filter.clone()
        };
        let n = store
            .report_facts(&by_language, since, until, false)
            .await
            .unwrap()
            .len();
        assert_eq!(n, expected, "{language}");
        let replies = store
            .report_replies(&by_language, since, until)
            .await
            .unwrap()
            .len();
        assert_eq!(replies, expected.min(1), "{language}: C1's next response");
    }
}
