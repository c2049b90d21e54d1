//! What reports need from a calendar: business time between two instants, and local days and
//! hours. The sites' calendars (time zone, shifts, holidays) implement it; [`Utc`] is the
//! always-open UTC calendar.

use protocol::Millis;

pub trait Calendar {
    /// Open time between two instants (0 when `to <= from`).
    fn business_ms(&self, from: Millis, to: Millis) -> i64;
    /// The local date at `at`, `YYYY-MM-DD`.
    fn local_date(&self, at: Millis) -> String;
    /// (weekday Monday = 0, hour 0..24) at `at`, local.
    fn weekday_hour(&self, at: Millis) -> (usize, usize);
    /// The first instant of the local day after the one containing `at`.
    fn next_local_day(&self, at: Millis) -> Millis;
}

/// Always open, days in UTC.
pub struct Utc;

const DAY: i64 = 86_400_000;

impl Calendar for Utc {
    fn business_ms(&self, from: Millis, to: Millis) -> i64 {
        (to - from).max(0)
    }

    fn local_date(&self, at: Millis) -> String {
        calendar::LocalDate::from_days(at.div_euclid(DAY)).to_string()
    }

    fn weekday_hour(&self, at: Millis) -> (usize, usize) {
        // 1970-01-01 was a Thursday (Monday = 0).
        let day = at.div_euclid(DAY);
        (
            (day + 3).rem_euclid(7) as usize,
            (at.rem_euclid(DAY) / 3_600_000) as usize,
        )
    }

    fn next_local_day(&self, at: Millis) -> Millis {
        (at.div_euclid(DAY) + 1) * DAY
    }
}

/// A site's business calendar (time zone, shifts, holidays).
impl Calendar for calendar::Calendar {
    fn business_ms(&self, from: Millis, to: Millis) -> i64 {
        calendar::Calendar::business_ms(self, from, to)
    }

    fn local_date(&self, at: Millis) -> String {
        calendar::Calendar::local_date(self, at).to_string()
    }

    fn weekday_hour(&self, at: Millis) -> (usize, usize) {
        let (weekday, hour) = self.local_weekday_hour(at);
        (weekday, usize::from(hour))
    }

    fn next_local_day(&self, at: Millis) -> Millis {
        self.start_of_local_day(calendar::Calendar::local_date(self, at).add_days(1))
    }
}
