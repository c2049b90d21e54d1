//! The Reports page (issue 11, "Insights"). This file holds its pure parts: the periods, the
//! query string of `/api/reports/*`, the derived figures (rates from counts) and how numbers and
//! durations are written. `charts` draws the SVG charts, `i18n` holds the page's strings, and
//! `page` (wasm only) fetches and renders.

pub mod charts;
pub mod i18n;
#[cfg(target_arch = "wasm32")]
pub mod page;

use i18n::Strings;
use protocol::reports::{Figures, Funnel};

/// A calendar date (proleptic Gregorian), month 1–12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn add_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }

    fn first_of_month(self) -> Date {
        Date { day: 1, ..self }
    }

    fn next_month(self) -> Date {
        if self.month == 12 {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        } else {
            Date {
                month: self.month + 1,
                day: 1,
                ..self
            }
        }
    }

    fn previous_month(self) -> Date {
        if self.month == 1 {
            Date {
                year: self.year - 1,
                month: 12,
                day: 1,
            }
        } else {
            Date {
                month: self.month - 1,
                day: 1,
                ..self
            }
        }
    }
}

/// The periods the page offers; each is whole local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Last7,
    Last30,
    ThisMonth,
    PreviousMonth,
}

impl Period {
    pub const ALL: [Period; 4] = [
        Period::Last7,
        Period::Last30,
        Period::ThisMonth,
        Period::PreviousMonth,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Period::Last7 => "7d",
            Period::Last30 => "30d",
            Period::ThisMonth => "month",
            Period::PreviousMonth => "previous-month",
        }
    }

    pub fn parse(key: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The first day of the period and the day after its last (local midnights), given today.
    /// "Last 7 days" ends with today.
    pub fn range(self, today: Date) -> (Date, Date) {
        match self {
            Period::Last7 => (today.add_days(-6), today.add_days(1)),
            Period::Last30 => (today.add_days(-29), today.add_days(1)),
            Period::ThisMonth => (today.first_of_month(), today.next_month()),
            Period::PreviousMonth => (today.previous_month(), today.first_of_month()),
        }
    }
}

/// The filters above the page; an empty field does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub site: String,
    pub team: String,
    /// An agent id.
    pub agent: String,
    pub label: String,
    pub priority: String,
    pub language: String,
}

/// What a click on a number asks for: the conversations behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drill {
    /// A drill key of `/api/reports/conversations` (`created`, `day:2026-12-01`, `heat:0:9`…).
    pub key: String,
    /// Narrows the filters to one priority (an SLA table cell).
    pub priority: Option<String>,
}

impl Drill {
    pub fn new(key: impl Into<String>) -> Drill {
        Drill {
            key: key.into(),
            priority: None,
        }
    }
}

/// `encodeURIComponent`: everything but the unreserved characters is percent-encoded (UTF-8).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query string shared by `/api/reports`, `/lists`, `/conversations` and its CSV (without
/// `?`): the period in milliseconds, the viewer's time zone, the filters set, and the drill.
pub fn query_string(
    since: i64,
    until: i64,
    tz: &str,
    filters: &Filters,
    drill: Option<&Drill>,
) -> String {
    let mut q = format!("since={since}&until={until}&tz={}", encode_component(tz));
    let priority = drill
        .and_then(|d| d.priority.as_deref())
        .unwrap_or(&filters.priority);
    for (name, value) in [
        ("site", filters.site.as_str()),
        ("team", &filters.team),
        ("agent", &filters.agent),
        ("label", &filters.label),
        ("priority", priority),
        ("language", &filters.language),
    ] {
        let value = value.trim();
        if !value.is_empty() {
            q.push_str(&format!("&{name}={}", encode_component(value)));
        }
    }
    if let Some(d) = drill {
        q.push_str(&format!("&drill={}", encode_component(&d.key)));
    }
    q
}

/// `part ÷ whole` in per mille (rounded down, like `Figures::csat_per_mille`); `None` when
/// `whole` is 0.
pub fn ratio(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| part.min(whole) * 1000 / whole)
}

/// Conversations of the period no agent answered.
pub fn unanswered(f: &Figures) -> u64 {
    f.conversations.saturating_sub(f.first_response.count)
}

/// One-touch resolutions ÷ resolutions.
pub fn one_touch_rate(f: &Figures) -> Option<u64> {
    ratio(f.one_touch, f.resolved)
}

/// Reopened ÷ resolved.
pub fn reopen_rate(f: &Figures) -> Option<u64> {
    ratio(f.reopened, f.resolved)
}

/// Answered by an article ÷ (answered + handed off to a person).
pub fn self_service_rate(f: &Funnel) -> Option<u64> {
    ratio(f.answered, f.answered + f.handed_off)
}

/// Met ÷ (met + breached).
pub fn achievement(met: u64, breached: u64) -> Option<u64> {
    ratio(met, met + breached)
}

/// The average customer-effort score in tenths (5.3 → 53), rounded; `None` without answers.
pub fn ces_tenths(ces: &[u64; 7]) -> Option<u64> {
    let answers: u64 = ces.iter().sum();
    let total: u64 = ces.iter().zip(1..).map(|(n, score)| n * score).sum();
    (answers > 0).then(|| (total * 10 + answers / 2) / answers)
}

/// A number of tenths with the language's decimal separator: 53 → "5.3", 50 → "5".
pub fn tenths(value: u64, s: &Strings) -> String {
    if value.is_multiple_of(10) {
        (value / 10).to_string()
    } else {
        format!("{}{}{}", value / 10, s.decimal, value % 10)
    }
}

/// A per-mille figure as a percentage: 833 → "83.3%", `None` → "–".
pub fn percent(per_mille: Option<u64>, s: &Strings) -> String {
    match per_mille {
        Some(pm) => s.percent.replace("{}", &tenths(pm, s)),
        None => "–".into(),
    }
}

/// A duration as a person reads it: "35 s", "4 min", "1 h 20 min", "2 d 3 h"; `None` → "–".
pub fn duration(ms: Option<i64>, s: &Strings) -> String {
    let Some(ms) = ms else { return "–".into() };
    let ms = ms.max(0);
    let round = |unit: i64| (ms + unit / 2) / unit;
    let seconds = round(1000);
    if seconds < 60 {
        return format!("{seconds} {}", s.unit_s);
    }
    let minutes = round(60_000);
    if minutes < 60 {
        return format!("{minutes} {}", s.unit_min);
    }
    if minutes < 24 * 60 {
        let (h, m) = (minutes / 60, minutes % 60);
        return if m == 0 {
            format!("{h} {}", s.unit_h)
        } else {
            format!("{h} {} {m} {}", s.unit_h, s.unit_min)
        };
    }
    let hours = round(3_600_000);
    let (d, h) = (hours / 24, hours % 24);
    if h == 0 {
        format!("{d} {}", s.unit_d)
    } else {
        format!("{d} {} {h} {}", s.unit_d, s.unit_h)
    }
}

/// The label of first-response histogram bucket `i` (bounds of `HISTOGRAM_MINUTES`).
pub fn bucket_label(i: usize, s: &Strings) -> String {
    let bounds = protocol::reports::HISTOGRAM_MINUTES;
    let minutes = |m: i64| duration(Some(m * 60_000), s);
    match (i.checked_sub(1).map(|j| bounds[j]), bounds.get(i)) {
        (None, Some(&hi)) => format!("< {}", minutes(hi)),
        (Some(lo), Some(&hi)) => format!("{}–{}", minutes(lo), minutes(hi)),
        (Some(lo), None) => format!("≥ {}", minutes(lo)),
        (None, None) => String::new(),
    }
}

/// Which way a figure moved since the previous period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Up,
    Down,
    Same,
}

impl Trend {
    pub fn of(current: Option<i64>, previous: Option<i64>) -> Option<Trend> {
        let (c, p) = (current?, previous?);
        Some(match c.cmp(&p) {
            std::cmp::Ordering::Greater => Trend::Up,
            std::cmp::Ordering::Less => Trend::Down,
            std::cmp::Ordering::Equal => Trend::Same,
        })
    }

    /// `better`/`worse`/`same`, for a figure where more is better unless `lower_is_better`.
    pub fn class(self, lower_is_better: bool) -> &'static str {
        match (self, lower_is_better) {
            (Trend::Same, _) => "same",
            (Trend::Up, false) | (Trend::Down, true) => "better",
            _ => "worse",
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            Trend::Up => "▲",
            Trend::Down => "▼",
            Trend::Same => "=",
        }
    }
}

#[cfg(test)]
mod tests {
    //! Run natively by `cargo test` and as wasm by `cargo xtask test` (wasm-bindgen-test-runner).
    use super::*;
    use protocol::reports::Durations;
    use wasm_bindgen_test::wasm_bindgen_test;

    const EN: &Strings = &i18n::EN;

    fn d(year: i32, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn dates_count_days_across_months_years_and_leap_days() {
        assert_eq!(d(1970, 1, 1).days(), 0);
        assert_eq!(d(2000, 3, 1).days() - d(2000, 2, 28).days(), 2);
        assert_eq!(d(2026, 3, 1).add_days(-1), d(2026, 2, 28));
        assert_eq!(d(2028, 3, 1).add_days(-1), d(2028, 2, 29));
        assert_eq!(d(2026, 12, 31).add_days(1), d(2027, 1, 1));
        for n in [-800_000, -1, 0, 59, 20_000, 3_000_000] {
            assert_eq!(Date::from_days(n).days(), n);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn periods_are_whole_local_days() {
        let today = d(2026, 1, 3);
        assert_eq!(Period::Last7.range(today), (d(2025, 12, 28), d(2026, 1, 4)));
        assert_eq!(Period::Last30.range(today), (d(2025, 12, 5), d(2026, 1, 4)));
        assert_eq!(
            Period::ThisMonth.range(today),
            (d(2026, 1, 1), d(2026, 2, 1))
        );
        assert_eq!(
            Period::PreviousMonth.range(today),
            (d(2025, 12, 1), d(2026, 1, 1))
        );
        assert_eq!(
            Period::ThisMonth.range(d(2026, 12, 31)),
            (d(2026, 12, 1), d(2027, 1, 1))
        );
        for p in Period::ALL {
            assert_eq!(Period::parse(p.key()), Some(p));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_query_string_encodes_values_and_skips_empty_filters() {
        let filters = Filters {
            site: "acme shop".into(),
            agent: "7".into(),
            label: "r&d=1".into(),
            priority: "high".into(),
            language: "  ".into(),
            ..Filters::default()
        };
        assert_eq!(
            query_string(10, 20, "America/Sao_Paulo", &filters, None),
            "since=10&until=20&tz=America%2FSao_Paulo&site=acme%20shop&agent=7&label=r%26d%3D1&priority=high"
        );
        let drill = Drill {
            key: "day:2026-12-01".into(),
            priority: Some("urgent".into()),
        };
        assert_eq!(
            query_string(1, 2, "UTC", &Filters::default(), Some(&drill)),
            "since=1&until=2&tz=UTC&priority=urgent&drill=day%3A2026-12-01"
        );
        assert_eq!(encode_component("ç ü/?"), "%C3%A7%20%C3%BC%2F%3F");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn durations_read_like_a_person_writes_them() {
        let cases = [
            (None, "–"),
            (Some(0), "0 s"),
            (Some(35_400), "35 s"),
            (Some(59_600), "1 min"),
            (Some(4 * 60_000 + 10_000), "4 min"),
            (Some(59 * 60_000 + 40_000), "1 h"),
            (Some(80 * 60_000), "1 h 20 min"),
            (Some(26 * 3_600_000), "1 d 2 h"),
            (Some(48 * 3_600_000), "2 d"),
        ];
        for (ms, text) in cases {
            assert_eq!(duration(ms, EN), text, "{ms:?}");
        }
        assert_eq!(duration(Some(80 * 60_000), &i18n::RU), "1 ч 20 мин");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn histogram_buckets_are_labelled_by_their_bounds() {
        assert_eq!(bucket_label(0, EN), "< 1 min");
        assert_eq!(bucket_label(1, EN), "1 min–5 min");
        assert_eq!(bucket_label(5, EN), "1 h–2 h");
        assert_eq!(bucket_label(9, EN), "≥ 1 d");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rates_come_from_counts() {
        let mut f = Figures {
            conversations: 3,
            resolved: 2,
            one_touch: 2,
            reopened: 1,
            first_response: Durations {
                count: 2,
                ..Durations::default()
            },
            csat: [1, 0, 0, 0, 1],
            ..Figures::default()
        };
        assert_eq!(unanswered(&f), 1);
        assert_eq!(one_touch_rate(&f), Some(1000));
        assert_eq!(reopen_rate(&f), Some(500));
        assert_eq!(percent(f.csat_per_mille(), EN), "50%");
        assert_eq!(percent(Some(833), EN), "83.3%");
        assert_eq!(percent(Some(833), &i18n::PT), "83,3%");
        assert_eq!(percent(Some(833), &i18n::TR), "%83,3");
        f.resolved = 0;
        assert_eq!(one_touch_rate(&f), None);
        assert_eq!(percent(None, EN), "–");
        let funnel = Funnel {
            searched: 10,
            read: 6,
            answered: 3,
            handed_off: 1,
        };
        assert_eq!(self_service_rate(&funnel), Some(750));
        assert_eq!(achievement(2, 1), Some(666));
        assert_eq!(achievement(0, 0), None);
        assert_eq!(ces_tenths(&[0; 7]), None);
        assert_eq!(ces_tenths(&[0, 0, 0, 0, 1, 0, 2]), Some(63)); // (5 + 14) / 3
        assert_eq!(tenths(63, &i18n::RU), "6,3");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn trends_say_whether_a_move_is_good() {
        assert_eq!(Trend::of(Some(5), Some(3)), Some(Trend::Up));
        assert_eq!(Trend::of(Some(5), None), None);
        assert_eq!(Trend::Up.class(false), "better");
        assert_eq!(Trend::Up.class(true), "worse");
        assert_eq!(Trend::Down.class(true), "better");
        assert_eq!(Trend::Same.class(true), "same");
    }
}
