use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// Monday 2026-11-02 00:00 UTC.
const MONDAY: i64 = 1_793_577_600_000;

/// Open 09:00–17:00 UTC on weekdays: enough to test that figures use business time.
struct NineToFive;

impl Calendar for NineToFive {
    fn business_ms(&self, from: Millis, to: Millis) -> i64 {
        let mut total = 0;
        let mut day = from.div_euclid(DAY) * DAY;
        while day < to {
            let (weekday, _) = Utc.weekday_hour(day);
            if weekday < 5 {
                let (open, close) = (day + 9 * HOUR, day + 17 * HOUR);
                total += (close.min(to) - open.max(from)).max(0);
            }
            day += DAY;
        }
        total
    }
    fn local_date(&self, at: Millis) -> String {
        Utc.local_date(at)
    }
    fn weekday_hour(&self, at: Millis) -> (usize, usize) {
        Utc.weekday_hour(at)
    }
    fn next_local_day(&self, at: Millis) -> Millis {
        Utc.next_local_day(at)
    }
}

fn fact(id: i64, created_at: Millis) -> Fact {
    Fact {
        id,
        site: "shop".into(),
        created_at,
        open: true,
        priority: "normal".into(),
        channel: "widget".into(),
        ..Fact::default()
    }
}

fn cals<'a>(cal: &'a dyn Calendar) -> Calendars<'a> {
    Calendars {
        by_site: Box::leak(Box::new(move |_: &str| cal)),
        days: &Utc,
    }
}

#[test]
fn first_response_counts_business_time_only() {
    // Handed off Friday 16:30, answered Monday 09:15: 30 + 15 business minutes.
    let mut f = fact(1, MONDAY + 4 * DAY + 16 * HOUR + 30 * MIN);
    f.first_response_at = Some(MONDAY + 7 * DAY + 9 * HOUR + 15 * MIN);
    assert_eq!(first_response_ms(&f, &NineToFive), Some(45 * MIN));
    assert_eq!(
        first_response_ms(&f, &Utc),
        Some(2 * DAY + 16 * HOUR + 45 * MIN)
    );
    // Self-help is its own number, never mixed in.
    f.self_help_ms = Some(5 * MIN);
    assert_eq!(first_response_ms(&f, &NineToFive), Some(45 * MIN));
    assert_eq!(self_help_ms(&f), Some(5 * MIN));
    f.first_response_at = None;
    assert_eq!(first_response_ms(&f, &NineToFive), None);
}

#[test]
fn resolution_reopen_and_one_touch() {
    let mut f = fact(1, MONDAY + 10 * HOUR);
    assert!(!was_resolved(&f) && !is_one_touch(&f));
    f.first_resolved_at = Some(MONDAY + 11 * HOUR);
    f.resolved_at = f.first_resolved_at;
    f.open = false;
    f.agent_replies = 1;
    assert!(is_one_touch(&f));
    assert_eq!(first_resolution_ms(&f, &NineToFive), Some(HOUR));
    assert_eq!(full_resolution_ms(&f, &NineToFive), Some(HOUR));
    f.agent_replies = 2;
    assert!(!is_one_touch(&f), "two agent replies is not one touch");
    // Reopened, then resolved again the next day: first and full resolution differ.
    f.agent_replies = 1;
    f.reopens = 1;
    f.resolved_at = Some(MONDAY + DAY + 10 * HOUR);
    assert!(was_reopened(&f));
    assert!(!is_one_touch(&f), "reopened is not one touch");
    assert_eq!(first_resolution_ms(&f, &NineToFive), Some(HOUR));
    assert_eq!(full_resolution_ms(&f, &NineToFive), Some(8 * HOUR));
    // Open again: no full resolution.
    f.open = true;
    assert_eq!(full_resolution_ms(&f, &NineToFive), None);
}

#[test]
fn durations_give_mean_median_p90_and_histogram() {
    let d = durations(vec![10 * MIN, 2 * MIN, 30 * MIN, 90 * MIN, 4 * MIN]);
    assert_eq!(d.count, 5);
    assert_eq!(d.mean_ms, Some(136 * MIN / 5));
    assert_eq!(d.median_ms, Some(10 * MIN));
    assert_eq!(d.p90_ms, Some(90 * MIN));
    // <1, <5, <15, <30, <60, <120, …
    assert_eq!(d.histogram, vec![0, 2, 1, 0, 1, 1, 0, 0, 0, 0]);
    let ten: Vec<i64> = (1..=10).map(|m| m * MIN).collect();
    let d = durations(ten);
    assert_eq!((d.median_ms, d.p90_ms), (Some(5 * MIN), Some(9 * MIN)));
    let empty = durations(vec![]);
    assert_eq!(
        (empty.count, empty.mean_ms, empty.median_ms),
        (0, None, None)
    );
    assert_eq!(bucket(0), 0);
    assert_eq!(bucket(24 * HOUR), HISTOGRAM_MINUTES.len());
}

#[test]
fn sla_achievement_per_clock() {
    let mut met = fact(1, MONDAY + 10 * HOUR);
    met.first_response_due = Some(MONDAY + 11 * HOUR);
    met.first_response_at = Some(MONDAY + 10 * HOUR + 5 * MIN);
    let mut late = fact(2, MONDAY + 10 * HOUR);
    late.first_response_due = Some(MONDAY + 11 * HOUR);
    late.first_response_at = Some(MONDAY + 12 * HOUR);
    late.breaches = vec!["first_response".into()];
    late.priority = "urgent".into();
    let mut running = fact(3, MONDAY + 10 * HOUR);
    running.first_response_due = Some(MONDAY + 11 * HOUR);
    assert_eq!(first_response_sla(&met), Some(true));
    assert_eq!(first_response_sla(&late), Some(false));
    assert_eq!(first_response_sla(&running), None);
    let mut resolved = met.clone();
    resolved.resolution_from = Some(resolved.created_at);
    resolved.open = false;
    resolved.resolved_at = Some(MONDAY + 12 * HOUR);
    resolved.first_resolved_at = resolved.resolved_at;
    assert_eq!(resolution_sla(&resolved), Some(true));
    let replies = [
        Reply {
            site: "shop".into(),
            priority: "normal".into(),
            from_at: MONDAY + 13 * HOUR,
            at: MONDAY + 13 * HOUR + 10 * MIN,
            due: Some(MONDAY + 14 * HOUR),
        },
        Reply {
            site: "shop".into(),
            priority: "normal".into(),
            from_at: MONDAY + 15 * HOUR,
            at: MONDAY + 17 * HOUR,
            due: Some(MONDAY + 16 * HOUR),
        },
    ];
    let f = figures(
        &[resolved, late, running],
        &replies,
        Funnel::default(),
        &cals(&NineToFive),
    );
    let get = |clock: &str, priority: &str| {
        f.sla
            .iter()
            .find(|s| s.clock == clock && s.priority == priority)
            .map(|s| (s.met, s.breached))
    };
    assert_eq!(get("first_response", "normal"), Some((1, 0)));
    assert_eq!(get("first_response", "urgent"), Some((0, 1)));
    assert_eq!(get("resolution", "normal"), Some((1, 0)));
    assert_eq!(get("next_response", "normal"), Some((1, 1)));
    assert_eq!(f.next_response.median_ms, Some(10 * MIN));
    assert_eq!(f.next_response.p90_ms, Some(2 * HOUR));
}

#[test]
fn csat_ces_and_the_funnel() {
    let mut facts: Vec<Fact> = (0..6).map(|i| fact(i, MONDAY + i * HOUR)).collect();
    for (f, r) in facts.iter_mut().zip([5, 4, 1, 5, 2]) {
        f.rating = Some(r);
    }
    facts[0].ces = Some(7);
    facts[1].ces = Some(2);
    facts[5].channel = "email".into();
    let f = figures(
        &facts,
        &[],
        Funnel {
            searched: 40,
            read: 20,
            answered: 12,
            handed_off: 999,
        },
        &cals(&Utc),
    );
    assert_eq!(f.csat, [1, 1, 0, 1, 2]);
    assert_eq!(f.csat_per_mille(), Some(600));
    assert_eq!(f.ces, [0, 1, 0, 0, 0, 0, 1]);
    assert_eq!(
        f.funnel,
        Funnel {
            searched: 40,
            read: 20,
            answered: 12,
            handed_off: 5
        },
        "handoffs are the widget's conversations"
    );
    assert_eq!(Figures::default().csat_per_mille(), None);
}

#[test]
fn days_heatmap_and_drills() {
    let a = fact(1, MONDAY + 9 * HOUR);
    let mut b = fact(2, MONDAY + DAY + 23 * HOUR);
    b.open = false;
    b.first_resolved_at = Some(MONDAY + 2 * DAY + HOUR);
    b.resolved_at = b.first_resolved_at;
    b.labels = vec!["billing".into()];
    b.rating = Some(1);
    let facts = [a.clone(), b.clone()];
    let days = per_day(&facts, MONDAY, MONDAY + 3 * DAY, &Utc);
    let got: Vec<(&str, u64, u64)> = days
        .iter()
        .map(|d| (d.date.as_str(), d.created, d.resolved))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-11-02", 1, 0),
            ("2026-11-03", 1, 0),
            ("2026-11-04", 0, 1)
        ]
    );
    let heat = heatmap(&facts, &Utc);
    assert_eq!(heat[0][9], 1);
    assert_eq!(heat[1][23], 1);
    assert_eq!(heat.iter().flatten().sum::<u64>(), 2);
    let c = cals(&Utc);
    let now = MONDAY + 3 * DAY;
    let pick = |key: &str| -> Vec<i64> {
        facts
            .iter()
            .filter(|f| drills(key, f, &c, now))
            .map(|f| f.id)
            .collect()
    };
    assert_eq!(pick("created"), [1, 2]);
    assert_eq!(pick("rating:1"), [2]);
    assert_eq!(pick("label:billing"), [2]);
    assert_eq!(pick("day:2026-11-03"), [2]);
    assert_eq!(pick("heat:0:9"), [1]);
    assert_eq!(pick("open"), [1]);
    assert_eq!(pick("aging:2"), [1], "open for three days");
    assert_eq!(pick("unanswered"), [1, 2]);
    assert_eq!(pick("matrix:3"), [1]);
    assert_eq!(pick("nonsense"), Vec::<i64>::new());
}

#[test]
fn questions_group_by_their_words() {
    assert_eq!(
        question_key("  How do I   RESET my password?? "),
        Some("how do i reset my password".into())
    );
    assert_eq!(
        question_key("Как вернуть деньги?"),
        Some("как вернуть деньги".into())
    );
    assert_eq!(question_key(" ?! "), None);
    assert_eq!(language(Some("pt-BR")), Some("pt".into()));
    assert_eq!(language(None), None);
}

#[test]
fn csv_has_one_row_per_conversation_and_quotes_safely() {
    let mut f = fact(7, MONDAY);
    f.preview = Some("=HYPERLINK(\"x\"), then\nmore".into());
    f.labels = vec!["a".into(), "b".into()];
    let rows = [row(&f, &Utc), row(&fact(8, MONDAY + DAY), &Utc)];
    let text = csv(&rows);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("id,site,created_at"));
    assert!(lines[1].starts_with("7,shop,2026-11-02T00:00:00Z,open,normal,"));
    assert!(
        lines[1].ends_with(",\"'=HYPERLINK(\"\"x\"\"), then\nmore\""),
        "a formula is defused and quoted: {text}"
    );
    assert!(text.contains(",a;b,"));
    assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
    assert_eq!(iso_utc(1_762_045_261_000), "2025-11-02T01:01:01Z");
}

#[test]
fn every_listed_drill_key_is_known_and_no_other() {
    let f = fact(1, 0);
    for key in DRILL_KEYS {
        assert!(drill(key, &f, &cals(&Utc), 0).is_some(), "{key}");
    }
    for key in ["", "everything", "ratings", "Created"] {
        assert!(drill(key, &f, &cals(&Utc), 0).is_none(), "{key}");
        assert!(!DRILL_KEYS.contains(&key));
    }
}
