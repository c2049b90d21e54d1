//! Open time between two instants, for SLA reports: per local day, never per minute, and the
//! days wholly inside the span are counted by weekday arithmetic (holidays subtracted, the few
//! days where the clocks change measured), so a year costs about as much as a day.

use crate::date::weekday;
use crate::zone::clamp;
use crate::{Calendar, DAY, LocalDate, MINUTE};

impl Calendar {
    /// Open milliseconds in `[from, to)`; 0 when `to <= from`. A range that the clocks change
    /// in counts the real time elapsed (00:00-04:00 is 3 hours on a spring-forward day).
    pub fn business_ms(&self, from: i64, to: i64) -> i64 {
        let (from, to) = (clamp(from), clamp(to));
        if to <= from {
            return 0;
        }
        let overlap = |day: i64| -> i64 {
            self.day_intervals(day)
                .map(|(s, e)| (e.min(to) - s.max(from)).max(0))
                .sum()
        };
        let (a, b) = (self.day_of(from), self.day_of(to));
        // The neighbours of the first and last days are measured too: a wall-clock time shown
        // twice can put an instant past the start of the next local day.
        if b - a <= 4 {
            return (a - 1..=b + 1).map(overlap).sum();
        }
        let edges: i64 = (a - 1..=a + 1).chain(b - 1..=b + 1).map(overlap).sum();
        edges + self.whole_days_ms(a + 2, b - 2)
    }

    /// Open milliseconds of the local days `first..=last`.
    fn whole_days_ms(&self, first: i64, last: i64) -> i64 {
        let n = last - first + 1;
        let week_total: i64 = self.week_minutes.iter().sum();
        let start = weekday(first);
        let mut minutes = n / 7 * week_total
            + (0..(n % 7) as usize)
                .map(|i| self.week_minutes[(start + i) % 7])
                .sum::<i64>();
        let holidays = self
            .holidays
            .range(LocalDate::from_days(first)..=LocalDate::from_days(last));
        for h in holidays {
            minutes -= self.week_minutes[h.weekday()];
        }
        let mut ms = minutes * MINUTE;
        // Where the offset changes, a day lasts 23 or 25 hours: measure those from instants.
        let mut measured: Vec<i64> = Vec::new();
        let span = (
            self.zone.instant(first * DAY),
            self.zone.instant((last + 1) * DAY),
        );
        for t in self.zone.transitions(span.0, span.1) {
            let near = self.day_of(t);
            for day in near - 1..=near + 1 {
                let counted = (first..=last).contains(&day)
                    && !self.holidays.contains(&LocalDate::from_days(day));
                if counted && !measured.contains(&day) {
                    measured.push(day);
                    let real: i64 = self.day_intervals(day).map(|(s, e)| e - s).sum();
                    ms += real - self.week_minutes[weekday(day)] * MINUTE;
                }
            }
        }
        ms
    }
}
