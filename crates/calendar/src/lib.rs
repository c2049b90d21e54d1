//! Business hours of a site in its time zone: whether it is open, when it opens next, when a
//! deadline that pauses while closed falls, and how much open time lies between two instants.
//! Pure computation (no IO, no clock): every function takes the instant it is about.
//!
//! The open time of a local day is its opening ranges read on the wall clock of the zone, each
//! turned into an interval of real time ([`Zone`] says how a skipped or repeated wall-clock time
//! is read), minus the holidays. Every query walks the same intervals, so they agree.

mod business;
mod date;
mod parse;
#[cfg(test)]
mod tests;
mod zone;

pub use date::{LocalDate, YEARS};
pub use parse::Error;
pub use zone::Zone;

use std::collections::BTreeSet;
use zone::clamp;

pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;
/// Minutes in a day on the wall clock: a range may close at `24:00`.
pub const DAY_MINUTES: u16 = 24 * 60;
/// How far ahead an opening is looked for: past a year of holidays, so a calendar that never
/// opens again answers `None` instead of looping.
pub const SEARCH_DAYS: i64 = 400;
/// Open periods `add_open_time` crosses at most (decades of daily shifts).
const MAX_PERIODS: usize = 20_000;

/// Weekly opening hours in a time zone, with holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    zone: Zone,
    /// Monday = 0 … Sunday = 6: opening and closing minute of the local day, closing
    /// exclusive, sorted, not overlapping.
    week: [Vec<(u16, u16)>; 7],
    /// Local dates closed all day.
    holidays: BTreeSet<LocalDate>,
    /// Open minutes per weekday on the wall clock (derived from `week`).
    week_minutes: [i64; 7],
}

impl Default for Calendar {
    /// Always open, in UTC.
    fn default() -> Calendar {
        Calendar::always_open(Zone::utc())
    }
}

impl Calendar {
    /// Checks the ranges (each `start < end <= 24:00`, no two of a day overlapping; touching is
    /// fine) and sorts them.
    pub fn new(
        zone: Zone,
        mut week: [Vec<(u16, u16)>; 7],
        holidays: BTreeSet<LocalDate>,
    ) -> Result<Calendar, Error> {
        for (day, ranges) in week.iter_mut().enumerate() {
            let day = parse::DAYS[day];
            ranges.sort_unstable();
            for &(start, end) in ranges.iter() {
                if start >= end || end > DAY_MINUTES {
                    return Err(Error::Range {
                        day,
                        range: parse::format_range((start, end)),
                    });
                }
            }
            if let Some(pair) = ranges.windows(2).find(|w| w[1].0 < w[0].1) {
                return Err(Error::Overlap {
                    day,
                    first: parse::format_range(pair[0]),
                    second: parse::format_range(pair[1]),
                });
            }
        }
        let week_minutes =
            std::array::from_fn(|d| week[d].iter().map(|&(s, e)| i64::from(e - s)).sum::<i64>());
        Ok(Calendar {
            zone,
            week,
            holidays,
            week_minutes,
        })
    }

    /// Open around the clock, every day, in `zone` (for reports on a site without office
    /// hours, which still count days in the site's zone).
    pub fn always_open(zone: Zone) -> Calendar {
        let week = std::array::from_fn(|_| vec![(0, DAY_MINUTES)]);
        Calendar::new(zone, week, BTreeSet::new()).expect("one whole day is valid")
    }

    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Monday = 0 … Sunday = 6: the opening ranges of each weekday, in minutes of the day.
    pub fn week(&self) -> &[Vec<(u16, u16)>; 7] {
        &self.week
    }

    pub fn holidays(&self) -> &BTreeSet<LocalDate> {
        &self.holidays
    }

    /// The date of `ms` on the zone's calendar.
    pub fn local_date(&self, ms: i64) -> LocalDate {
        LocalDate::from_days(self.day_of(ms))
    }

    /// (weekday Monday = 0, hour 0..24) of `ms` on the zone's wall clock.
    pub fn local_weekday_hour(&self, ms: i64) -> (usize, u8) {
        let local = self.zone.local(ms);
        (
            date::weekday(local.div_euclid(DAY)),
            (local.rem_euclid(DAY) / HOUR) as u8,
        )
    }

    /// The first instant of `date` in the zone (not always 00:00: a jump forward at midnight
    /// starts the day at 01:00). Days are 23 or 25 hours long where the clocks change.
    pub fn start_of_local_day(&self, date: LocalDate) -> i64 {
        self.zone.instant(date.days_since_epoch() * DAY)
    }

    /// Whether the site is open at `ms`.
    pub fn is_open(&self, ms: i64) -> bool {
        let ms = clamp(ms);
        self.period_from(ms, 0, 0).is_some_and(|p| p.start <= ms)
    }

    /// When the site opens next after `ms`: the start of the next open period (when open, of
    /// the one after the current period), if it starts within [`SEARCH_DAYS`].
    pub fn next_open(&self, ms: i64) -> Option<i64> {
        let ms = clamp(ms);
        let now = self.period_from(ms, i64::MAX, SEARCH_DAYS)?;
        if now.start > ms {
            return Some(now.start);
        }
        if !now.complete {
            return None;
        }
        Some(self.period_from(now.end, 0, SEARCH_DAYS)?.start)
    }

    /// `ms` plus `duration` of open time: a deadline that pauses while the site is closed. A
    /// deadline that lands on a closing time is that closing time. `None` when the site stays
    /// closed for [`SEARCH_DAYS`] on the way.
    pub fn add_open_time(&self, ms: i64, duration: i64) -> Option<i64> {
        let (mut at, mut left) = (clamp(ms), duration.max(0));
        for _ in 0..MAX_PERIODS {
            let period = self.period_from(at, left, SEARCH_DAYS)?;
            let start = period.start.max(at);
            if left <= period.end - start {
                return Some(start + left);
            }
            left -= period.end - start;
            at = period.end;
        }
        None
    }

    /// The local day number of `ms`.
    fn day_of(&self, ms: i64) -> i64 {
        self.zone.local(ms).div_euclid(DAY)
    }

    /// The open intervals of a local day, in real time, ascending.
    fn day_intervals(&self, day: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let ranges: &[(u16, u16)] = if self.holidays.contains(&LocalDate::from_days(day)) {
            &[]
        } else {
            &self.week[date::weekday(day)]
        };
        let midnight = day * DAY;
        ranges
            .iter()
            .map(move |&(s, e)| {
                (
                    self.zone.instant(midnight + i64::from(s) * MINUTE),
                    self.zone.instant(midnight + i64::from(e) * MINUTE),
                )
            })
            .filter(|(s, e)| s < e)
    }

    /// The first open period (touching intervals merged, across midnight too) that ends after
    /// `at` and starts within `days` local days of it. Merging stops once the period holds
    /// `enough` open time from `at`, or at the end of the search (then it is not `complete`).
    fn period_from(&self, at: i64, enough: i64, days: i64) -> Option<Period> {
        let first = self.day_of(at) - 1;
        let mut current: Option<Period> = None;
        for day in first..=first + 2 + days {
            for (s, e) in self.day_intervals(day) {
                match &mut current {
                    Some(p) if s <= p.end => p.end = p.end.max(e),
                    Some(p) => {
                        p.complete = true;
                        return current;
                    }
                    None if e > at => {
                        current = Some(Period {
                            start: s,
                            end: e,
                            complete: false,
                        })
                    }
                    None => {}
                }
            }
            if let Some(p) = &mut current {
                // The next day's intervals start at its first instant or later.
                if p.end < self.zone.instant((day + 1) * DAY) {
                    p.complete = true;
                    return current;
                }
                if p.end - p.start.max(at) > enough {
                    return current;
                }
            }
        }
        current
    }
}

/// A stretch of open time.
#[derive(Debug, Clone, Copy)]
struct Period {
    start: i64,
    end: i64,
    /// The period really ends at `end` (it was not cut short by the search).
    complete: bool,
}
