//! The calendar against hand-computed instants and against a reference that reads the wall
//! clock of every minute through jiff directly.

use super::*;
use jiff::civil::date;
use jiff::tz::TimeZone;

/// The instant of a wall-clock time in `zone` (jiff's own conversion, "compatible" rules).
fn at(zone: &str, y: i16, m: i8, d: i8, h: i8, mi: i8) -> i64 {
    let tz = TimeZone::get(zone).unwrap();
    date(y, m, d)
        .at(h, mi, 0, 0)
        .to_zoned_datetime(tz)
        .unwrap()
        .timestamp()
        .as_millisecond()
}

fn utc(y: i16, m: i8, d: i8, h: i8, mi: i8) -> i64 {
    at("UTC", y, m, d, h, mi)
}

fn cal(zone: &str, days: &[(&str, &str)], holidays: &[&str]) -> Calendar {
    let (offset, name) = if zone.starts_with(['+', '-']) {
        (Some(zone), None)
    } else {
        (None, Some(zone))
    };
    Calendar::parse(offset, name, days.iter().copied(), holidays.iter().copied()).unwrap()
}

const WEEKDAYS_9_TO_6: [(&str, &str); 5] = [
    ("mon", "09:00-18:00"),
    ("tue", "09:00-18:00"),
    ("wed", "09:00-18:00"),
    ("thu", "09:00-18:00"),
    ("fri", "09:00-18:00"),
];

/// Open minutes in `[from, to)` counted one minute at a time: open when the wall clock of the
/// minute, read by jiff, is in a range of its weekday and its date is no holiday.
fn minute_by_minute(c: &Calendar, tz: &TimeZone, from: i64, to: i64) -> i64 {
    let mut open = 0;
    let mut t = from;
    while t < to {
        let dt = tz.to_datetime(jiff::Timestamp::from_millisecond(t).unwrap());
        let day = LocalDate::new(i32::from(dt.year()), dt.month() as u8, dt.day() as u8).unwrap();
        let minute = dt.hour() as u16 * 60 + dt.minute() as u16;
        let weekday = dt.weekday().to_monday_zero_offset() as usize;
        let in_range = c.week()[weekday]
            .iter()
            .any(|&(s, e)| s <= minute && minute < e);
        if in_range && !c.holidays().contains(&day) {
            open += MINUTE;
        }
        t += MINUTE;
    }
    open
}

/// A small deterministic generator (no dependency for randomness).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as i64
    }
}

#[test]
fn split_shifts_open_close_and_reopen() {
    // Ranges may come in any order; they are sorted.
    let c = cal("+00:00", &[("mon", "13:30-18:00, 09:00-12:30")], &[]);
    assert_eq!(c.week()[0], vec![(540, 750), (810, 1080)]);
    // 2026-11-23 is a Monday.
    let h = |h, m| utc(2026, 11, 23, h, m);
    assert!(!c.is_open(h(8, 59)));
    assert!(c.is_open(h(9, 0)));
    assert!(c.is_open(h(12, 29)));
    assert!(!c.is_open(h(12, 30)), "closing is exclusive");
    assert!(!c.is_open(h(13, 0)));
    assert!(c.is_open(h(13, 30)));
    assert_eq!(c.next_open(h(12, 45)), Some(h(13, 30)));
    assert_eq!(
        c.next_open(h(10, 0)),
        Some(h(13, 30)),
        "open: the next period"
    );
    // One hour from 12:00: 30 minutes before the break, 30 after.
    assert_eq!(c.add_open_time(h(12, 0), HOUR), Some(h(14, 0)));
    assert_eq!(c.add_open_time(h(12, 0), 30 * MINUTE), Some(h(12, 30)));
    assert_eq!(
        c.business_ms(h(0, 0), h(23, 59)),
        3 * HOUR + 30 * MINUTE + 4 * HOUR + 30 * MINUTE
    );
    assert_eq!(c.business_ms(h(12, 0), h(14, 0)), HOUR);
    // Next Monday, a week later.
    assert_eq!(c.next_open(h(18, 0)), Some(h(9, 0) + 7 * DAY));
}

#[test]
fn touching_ranges_make_one_period_across_midnight() {
    let c = cal(
        "+00:00",
        &[("mon", "20:00-24:00"), ("tue", "00:00-02:00, 02:00-03:00")],
        &[],
    );
    let mon = |h, m| utc(2026, 11, 23, h, m);
    assert_eq!(
        c.add_open_time(mon(23, 0), 3 * HOUR),
        Some(mon(23, 0) + 3 * HOUR)
    );
    assert_eq!(
        c.next_open(mon(21, 0)),
        Some(mon(20, 0) + 7 * DAY),
        "not Tuesday 00:00"
    );
    assert!(c.is_open(mon(23, 59) + MINUTE));
}

#[test]
fn open_and_closed_in_a_fixed_offset() {
    // The rules of the former OfficeHours, kept: -03:00, Monday 09-18, Friday 09-12.
    let c = cal(
        "-03:00",
        &[("mon", "09:00-18:00"), ("fri", "09:00-12:00")],
        &[],
    );
    let monday = utc(2026, 11, 23, 0, 0);
    assert!(c.is_open(monday + 12 * HOUR), "09:00 local");
    let early = monday + 11 * HOUR + 59 * MINUTE;
    assert!(!c.is_open(early));
    assert_eq!(c.next_open(early), Some(monday + 12 * HOUR));
    let evening = monday + 21 * HOUR;
    assert!(!c.is_open(evening), "18:00 local: closing is exclusive");
    assert_eq!(c.next_open(evening), Some(monday + 4 * DAY + 12 * HOUR));
    // Monday 17:30 local + 1 hour: 30 minutes on Monday, 30 from Friday 09:00.
    let at = monday + 20 * HOUR + 30 * MINUTE;
    assert_eq!(
        c.add_open_time(at, HOUR),
        Some(monday + 4 * DAY + 12 * HOUR + 30 * MINUTE)
    );
    assert_eq!(c.zone().name(), "-03:00");
    let never = cal("+00:00", &[], &[]);
    assert_eq!(never.add_open_time(0, 1), None);
    assert_eq!(never.next_open(0), None);
    assert!(!never.is_open(0));
    assert_eq!(never.business_ms(0, 400 * DAY), 0);
}

#[test]
fn a_fixed_offset_with_minutes() {
    let c = cal("+05:30", &WEEKDAYS_9_TO_6, &[]);
    // Monday 2026-11-23 09:00 +05:30 = 03:30 UTC.
    let open = utc(2026, 11, 23, 3, 30);
    assert!(c.is_open(open) && !c.is_open(open - 1));
    assert_eq!(c.local_weekday_hour(open), (0, 9));
    assert_eq!(
        c.local_date(utc(2026, 11, 22, 18, 30)).to_string(),
        "2026-11-23"
    );
    assert_eq!(
        c.local_date(utc(2026, 11, 22, 18, 29)).to_string(),
        "2026-11-22"
    );
    // A whole week: 45 hours, from any instant of the weekend before.
    assert_eq!(
        c.business_ms(utc(2026, 11, 22, 0, 0), utc(2026, 11, 29, 0, 0)),
        45 * HOUR
    );
}

#[test]
fn business_time_across_a_weekend() {
    let c = cal("Europe/Istanbul", &WEEKDAYS_9_TO_6, &[]);
    // Friday 2026-11-27 17:00 to Monday 10:00, Istanbul (UTC+3 all year).
    let from = at("Europe/Istanbul", 2026, 11, 27, 17, 0);
    let to = at("Europe/Istanbul", 2026, 11, 30, 10, 0);
    assert_eq!(from, utc(2026, 11, 27, 14, 0));
    assert_eq!(c.business_ms(from, to), 2 * HOUR);
    assert_eq!(c.business_ms(to, from), 0);
    assert_eq!(c.business_ms(from, from), 0);
    assert_eq!(c.add_open_time(from, 2 * HOUR), Some(to));
}

#[test]
fn holidays_are_closed_all_day() {
    let c = cal(
        "Europe/Lisbon",
        &WEEKDAYS_9_TO_6,
        &["2026-12-25", "2026-12-24", "2027-01-01"],
    );
    let lisbon = |m, d, h| at("Europe/Lisbon", 2026, m, d, h, 0);
    // Thursday 24 and Friday 25 December are holidays.
    assert!(c.is_open(lisbon(12, 23, 12)));
    assert!(!c.is_open(lisbon(12, 24, 12)));
    assert!(!c.is_open(lisbon(12, 25, 12)));
    assert_eq!(c.next_open(lisbon(12, 23, 19)), Some(lisbon(12, 28, 9)));
    // Wednesday 17:00 + 2 hours: one on Wednesday, one on Monday 28.
    assert_eq!(
        c.add_open_time(lisbon(12, 23, 17), 2 * HOUR),
        Some(lisbon(12, 28, 10))
    );
    // Monday 21 to Monday 28 (00:00): Mon, Tue, Wed open, Thu and Fri holidays.
    assert_eq!(
        c.business_ms(lisbon(12, 21, 0), lisbon(12, 28, 0)),
        27 * HOUR
    );
    // The same span inside a long one: the holidays are subtracted by the fast count too.
    let year = c.business_ms(lisbon(1, 1, 0), at("Europe/Lisbon", 2027, 1, 1, 0, 0));
    // 2026 has 261 weekdays, two of them holidays here.
    assert_eq!(year, (261 - 2) * 9 * HOUR);
    let holidays: Vec<String> = c.holidays().iter().map(ToString::to_string).collect();
    assert_eq!(holidays, ["2026-12-24", "2026-12-25", "2027-01-01"]);
}

#[test]
fn a_calendar_of_holidays_only_gives_up_instead_of_looping() {
    let every_day = (0..800).map(|i| LocalDate::new(2026, 1, 1).unwrap().add_days(i));
    let c = Calendar::new(
        Zone::utc(),
        std::array::from_fn(|_| vec![(540, 1080)]),
        every_day.collect(),
    )
    .unwrap();
    let jan = utc(2026, 1, 1, 0, 0);
    assert_eq!(
        c.next_open(jan),
        None,
        "the first opening is past the search"
    );
    assert_eq!(c.add_open_time(jan, MINUTE), None);
    // Past the holidays it opens again.
    assert_eq!(
        c.next_open(jan + 500 * DAY),
        Some(jan + 800 * DAY + 9 * HOUR)
    );
}

/// Lisbon: 2026-03-29 (a Sunday) 01:00 WET becomes 02:00 WEST (23 hours); 2026-10-25 02:00
/// WEST becomes 01:00 WET (25 hours).
fn lisbon_every_day() -> Calendar {
    let days =
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(|d| (d, "00:00-04:00, 09:00-17:00"));
    cal("Europe/Lisbon", &days, &[])
}

#[test]
fn business_time_over_the_lisbon_clock_changes() {
    let c = lisbon_every_day();
    let day = |m, d| c.start_of_local_day(LocalDate::new(2026, m, d).unwrap());
    // Spring forward: the night shift lasts 3 real hours.
    assert_eq!(c.business_ms(day(3, 29), day(3, 30)), 3 * HOUR + 8 * HOUR);
    assert_eq!(c.business_ms(day(3, 29), day(3, 29) + 4 * HOUR), 3 * HOUR);
    assert_eq!(c.business_ms(day(3, 28), day(3, 29)), 12 * HOUR);
    // Fall back: 5 real hours.
    assert_eq!(c.business_ms(day(10, 25), day(10, 26)), 5 * HOUR + 8 * HOUR);
    assert_eq!(c.business_ms(day(10, 24), day(10, 25)), 12 * HOUR);
    // The day shift is 8 hours on both days, in local time.
    assert_eq!(
        at("Europe/Lisbon", 2026, 3, 29, 9, 0),
        utc(2026, 3, 29, 8, 0),
        "09:00 WEST"
    );
    assert!(c.is_open(utc(2026, 3, 29, 8, 0)) && !c.is_open(utc(2026, 3, 29, 7, 59)));
    assert!(c.is_open(utc(2026, 10, 25, 9, 0)) && !c.is_open(utc(2026, 10, 25, 8, 59)));
    // Long spans take the fast count: the year 2026 is 365 × 12 hours, -1 + 1.
    let year = c.business_ms(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    assert_eq!(year, 365 * 12 * HOUR);
    assert_eq!(c.business_ms(day(3, 1), day(4, 1)), 31 * 12 * HOUR - HOUR);
    assert_eq!(c.business_ms(day(10, 1), day(11, 1)), 31 * 12 * HOUR + HOUR);
    // Deadlines count real time through the change.
    assert_eq!(
        c.add_open_time(day(3, 29), 3 * HOUR),
        Some(day(3, 29) + 3 * HOUR)
    );
    assert_eq!(
        c.add_open_time(day(3, 29), 3 * HOUR + MINUTE),
        Some(utc(2026, 3, 29, 8, 1))
    );
    assert_eq!(
        c.add_open_time(day(10, 25), 5 * HOUR),
        Some(day(10, 25) + 5 * HOUR)
    );
}

#[test]
fn local_days_on_clock_change_days_last_23_and_25_hours() {
    let c = lisbon_every_day();
    let start = |m, d| c.start_of_local_day(LocalDate::new(2026, m, d).unwrap());
    assert_eq!(start(3, 29), utc(2026, 3, 29, 0, 0));
    assert_eq!(start(3, 30), utc(2026, 3, 29, 23, 0));
    assert_eq!(start(3, 30) - start(3, 29), 23 * HOUR);
    assert_eq!(start(10, 26) - start(10, 25), 25 * HOUR);
    assert_eq!(
        c.local_date(utc(2026, 3, 29, 22, 59)).to_string(),
        "2026-03-29"
    );
    assert_eq!(
        c.local_date(utc(2026, 3, 29, 23, 0)).to_string(),
        "2026-03-30"
    );
    assert_eq!(
        c.local_date(utc(2026, 10, 25, 23, 59)).to_string(),
        "2026-10-25"
    );
    assert_eq!(
        c.local_date(utc(2026, 10, 26, 0, 0)).to_string(),
        "2026-10-26"
    );
    // 01:30 happens twice on 25 October: the hour is read on the wall clock both times.
    assert_eq!(c.local_weekday_hour(utc(2026, 10, 25, 0, 30)), (6, 1));
    assert_eq!(c.local_weekday_hour(utc(2026, 10, 25, 1, 30)), (6, 1));
    assert_eq!(
        c.local_weekday_hour(utc(2026, 3, 29, 1, 0)),
        (6, 2),
        "no 01:xx that day"
    );
    // Where the clocks jump at midnight, the day starts at 01:00 (Santiago, 2026-09-06).
    let santiago = Calendar::always_open(Zone::named("America/Santiago").unwrap());
    let sept6 = LocalDate::new(2026, 9, 6).unwrap();
    assert_eq!(santiago.start_of_local_day(sept6), utc(2026, 9, 6, 4, 0));
    assert_eq!(
        santiago.local_date(utc(2026, 9, 6, 3, 59)).to_string(),
        "2026-09-05"
    );
    assert_eq!(santiago.local_date(utc(2026, 9, 6, 4, 0)), sept6);
    let jiff_start = date(2026, 9, 6)
        .to_zoned_datetime(TimeZone::get("America/Santiago").unwrap())
        .unwrap()
        .start_of_day()
        .unwrap()
        .timestamp()
        .as_millisecond();
    assert_eq!(santiago.start_of_local_day(sept6), jiff_start);
}

#[test]
fn zones_without_dst_sao_paulo_and_istanbul() {
    for (zone, utc_hour) in [("America/Sao_Paulo", 12), ("Europe/Istanbul", 6)] {
        let c = cal(zone, &WEEKDAYS_9_TO_6, &[]);
        // Monday 2026-11-23, 09:00 local.
        let nine = utc(2026, 11, 23, utc_hour, 0);
        assert!(c.is_open(nine) && !c.is_open(nine - 1), "{zone}");
        assert_eq!(c.local_weekday_hour(nine), (0, 9));
        // A year in the zone: 261 weekdays of 9 hours, no clock change in either.
        let (from, to) = (at(zone, 2026, 1, 1, 0, 0), at(zone, 2027, 1, 1, 0, 0));
        assert_eq!(c.business_ms(from, to), 261 * 9 * HOUR, "{zone}");
        assert_eq!(
            c.start_of_local_day(LocalDate::new(2026, 1, 1).unwrap()),
            from
        );
        let canonical = c.zone().name();
        assert_eq!(canonical, zone);
    }
}

#[test]
fn always_open_counts_every_millisecond() {
    let c = Calendar::always_open(Zone::named("Europe/Lisbon").unwrap());
    let (from, to) = (utc(2026, 1, 1, 0, 0) + 123, utc(2028, 6, 1, 7, 0));
    assert_eq!(c.business_ms(from, to), to - from);
    assert!(c.is_open(from));
    assert_eq!(c.add_open_time(from, 30 * DAY), Some(from + 30 * DAY));
    assert_eq!(c.add_open_time(from, 900 * DAY), Some(from + 900 * DAY));
    assert_eq!(c.next_open(from), None, "open for longer than the search");
    assert_eq!(Calendar::default().zone().name(), "UTC");
}

/// Calendars with split shifts, holidays and clock changes, for the loops below.
fn mixed_calendars() -> Vec<Calendar> {
    let split = [
        ("mon", "08:00-12:30, 13:30-18:00"),
        ("tue", "00:00-04:00, 09:00-17:00"),
        ("wed", "09:00-17:00"),
        ("thu", "01:30-02:30, 22:00-24:00"),
        ("fri", "00:00-24:00"),
        ("sun", "00:00-04:00, 23:00-24:00"),
    ];
    let holidays = ["2026-03-30", "2026-10-26", "2026-12-25", "2027-01-01"];
    vec![
        lisbon_every_day(),
        cal("Europe/Lisbon", &split, &holidays),
        cal("America/New_York", &split, &holidays),
        cal("America/Sao_Paulo", &split, &holidays),
        cal("Europe/Istanbul", &WEEKDAYS_9_TO_6, &holidays),
        cal("-03:30", &split, &holidays),
    ]
}

#[test]
fn business_time_matches_the_wall_clock_minute_by_minute() {
    let mut rng = Lcg(7);
    let base = utc(2026, 3, 20, 0, 0);
    for c in mixed_calendars() {
        let tz = match c.zone().name() {
            "-03:30" => {
                TimeZone::fixed(jiff::tz::Offset::from_seconds(-(3 * 3600 + 1800)).unwrap())
            }
            name => TimeZone::get(name).unwrap(),
        };
        for _ in 0..25 {
            // Spans of up to 12 days around both clock changes of 2026.
            let season = if rng.below(2) == 0 { 0 } else { 217 * DAY };
            let from = base + season + rng.below(8 * 24 * 60) * MINUTE;
            let to = from + rng.below(12 * 24 * 60) * MINUTE;
            assert_eq!(
                c.business_ms(from, to),
                minute_by_minute(&c, &tz, from, to),
                "{} {from}..{to}",
                c.zone().name()
            );
        }
    }
}

#[test]
fn long_spans_match_the_day_by_day_sum() {
    let mut rng = Lcg(11);
    let base = utc(2025, 6, 1, 0, 0);
    for c in mixed_calendars() {
        for _ in 0..40 {
            let from = base + rng.below(400 * DAY);
            let to = from + rng.below(800 * DAY);
            let (a, b) = (c.day_of(from), c.day_of(to));
            let slow: i64 = (a - 1..=b + 1)
                .flat_map(|d| c.day_intervals(d))
                .map(|(s, e)| (e.min(to) - s.max(from)).max(0))
                .sum();
            assert_eq!(
                c.business_ms(from, to),
                slow,
                "{} {from}..{to}",
                c.zone().name()
            );
            // Additive: splitting a span anywhere changes nothing.
            let mid = from + rng.below(to - from + 1);
            assert_eq!(c.business_ms(from, mid) + c.business_ms(mid, to), slow);
        }
    }
}

#[test]
fn adding_the_open_time_between_two_instants_lands_on_the_second() {
    let mut rng = Lcg(3);
    let base = utc(2026, 3, 1, 0, 0);
    let mut checked = 0;
    for c in mixed_calendars() {
        for _ in 0..300 {
            let t = base + rng.below(300 * DAY);
            let u = t + rng.below(40 * DAY);
            // Inside an open period, not at its start (that instant is also the end of the
            // period before, where the deadline would land first).
            if !(c.is_open(u) && c.is_open(u - 1)) {
                continue;
            }
            checked += 1;
            assert_eq!(
                c.add_open_time(t, c.business_ms(t, u)),
                Some(u),
                "{} {t} {u}",
                c.zone().name()
            );
        }
    }
    assert!(checked > 300, "only {checked} instants were open");
}

#[test]
fn is_open_agrees_with_next_open_and_add_open_time() {
    let mut rng = Lcg(5);
    let base = utc(2026, 3, 1, 0, 0);
    for c in mixed_calendars() {
        for _ in 0..300 {
            let t = base + rng.below(300 * DAY);
            let next = c.next_open(t).unwrap();
            assert!(next > t && c.is_open(next) && !c.is_open(next - 1));
            if !c.is_open(t) {
                // Closed until the next opening: no open time on the way there.
                assert_eq!(c.business_ms(t, next), 0);
                assert_eq!(c.add_open_time(t, 0), Some(next));
            }
        }
    }
}

#[test]
fn invalid_office_hours_are_refused_with_the_input_named() {
    let parse =
        |offset: Option<&str>, zone: Option<&str>, days: &[(&str, &str)], holidays: &[&str]| {
            Calendar::parse(offset, zone, days.iter().copied(), holidays.iter().copied())
                .unwrap_err()
        };
    assert_eq!(
        parse(None, Some("Mars/Olympus"), &[], &[]),
        Error::Zone("Mars/Olympus".into())
    );
    assert_eq!(parse(None, Some(""), &[], &[]), Error::Zone("".into()));
    assert_eq!(
        parse(None, Some("EST5EDT,M3.2.0,M11.1.0"), &[], &[]),
        Error::Zone("EST5EDT,M3.2.0,M11.1.0".into())
    );
    assert_eq!(
        parse(Some("+01:00"), Some("Europe/Lisbon"), &[], &[]),
        Error::BothZones
    );
    assert_eq!(parse(None, None, &[], &[]), Error::NoZone);
    assert_eq!(parse(Some("3"), None, &[], &[]), Error::Offset("3".into()));
    assert_eq!(
        parse(Some("+15:00"), None, &[], &[]),
        Error::Offset("+15:00".into())
    );
    let utc = Some("+00:00");
    assert_eq!(
        parse(utc, None, &[("funday", "09:00-10:00")], &[]),
        Error::Day("funday".into())
    );
    assert_eq!(
        parse(utc, None, &[("mon", "18:00-09:00")], &[]),
        Error::Range {
            day: "mon",
            range: "18:00-09:00".into()
        }
    );
    for bad in [
        "",
        "09:00",
        "09:00-25:00",
        "09:60-10:00",
        "9-10",
        "09:00-10:00,",
        "09:00-24:01",
    ] {
        assert!(
            matches!(
                parse(utc, None, &[("tue", bad)], &[]),
                Error::Range { day: "tue", .. }
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        parse(utc, None, &[("wed", "09:00-13:00, 12:00-18:00")], &[]),
        Error::Overlap {
            day: "wed",
            first: "09:00-13:00".into(),
            second: "12:00-18:00".into()
        }
    );
    assert_eq!(
        parse(utc, None, &[("wed", "09:00-18:00, 10:00-11:00")], &[]).to_string(),
        "wed: the hours 09:00-18:00 and 10:00-11:00 overlap"
    );
    assert_eq!(
        parse(
            utc,
            None,
            &[("mon", "09:00-10:00"), ("Mon", "11:00-12:00")],
            &[]
        ),
        Error::DayTwice("mon")
    );
    assert_eq!(
        parse(utc, None, &[], &["2026-02-30"]),
        Error::Holiday("2026-02-30".into())
    );
    assert_eq!(
        parse(utc, None, &[], &["25/12/2026"]),
        Error::Holiday("25/12/2026".into())
    );
    assert_eq!(
        Error::Zone("Mars/Olympus".into()).to_string(),
        "unknown time zone \"Mars/Olympus\": expected an IANA name such as \"Europe/Istanbul\""
    );
    // Built in code, the same checks apply.
    let mut week: [Vec<(u16, u16)>; 7] = Default::default();
    week[6] = vec![(600, 700), (650, 800)];
    assert!(matches!(
        Calendar::new(Zone::utc(), week, BTreeSet::new()),
        Err(Error::Overlap { day: "sun", .. })
    ));
    let mut week: [Vec<(u16, u16)>; 7] = Default::default();
    week[0] = vec![(600, 1500)];
    assert!(matches!(
        Calendar::new(Zone::utc(), week, BTreeSet::new()),
        Err(Error::Range { day: "mon", .. })
    ));
    // Accepted: any case, spaces, 24:00, a touching pair, a canonical zone name.
    let c = Calendar::parse(
        None,
        Some(" europe/istanbul "),
        [("MON", " 09:00 - 12:00 ,12:00-24:00 ")],
        [" 2026-01-01 "],
    )
    .unwrap();
    assert_eq!(c.week()[0], vec![(540, 720), (720, 1440)]);
    assert_eq!(c.zone().name(), "Europe/Istanbul");
}

#[test]
fn a_range_that_opens_in_the_skipped_or_repeated_hour() {
    let c = cal("Europe/Lisbon", &[("sun", "01:30-03:00")], &[]);
    // 29 March: 01:30 is never shown (01:00 WET jumps to 02:00 WEST): open from the jump,
    // 01:00 UTC, to 03:00 WEST, 02:00 UTC.
    assert!(!c.is_open(utc(2026, 3, 29, 0, 59)));
    assert!(c.is_open(utc(2026, 3, 29, 1, 0)));
    assert_eq!(
        c.next_open(utc(2026, 3, 28, 12, 0)),
        Some(utc(2026, 3, 29, 1, 0))
    );
    assert_eq!(
        c.business_ms(utc(2026, 3, 29, 0, 0), utc(2026, 3, 30, 0, 0)),
        HOUR
    );
    // 25 October: 01:30 is shown twice (02:00 WEST goes back to 01:00 WET): open from its
    // first showing, 00:30 UTC, to 03:00 WET, 03:00 UTC.
    assert!(!c.is_open(utc(2026, 10, 25, 0, 29)));
    assert!(c.is_open(utc(2026, 10, 25, 0, 30)));
    assert_eq!(
        c.business_ms(utc(2026, 10, 25, 0, 0), utc(2026, 10, 26, 0, 0)),
        2 * HOUR + 30 * MINUTE
    );
    // An ordinary Sunday: 90 minutes.
    assert_eq!(
        c.business_ms(utc(2026, 11, 1, 0, 0), utc(2026, 11, 2, 0, 0)),
        90 * MINUTE
    );
}
