//! Civil dates (a day on a wall calendar, no zone), kept as a day number so that walking and
//! comparing days is integer arithmetic.

use std::fmt;

/// A date on the calendar of some place: `2026-12-25`. Ordered by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDate(i32);

/// The years a date may have: what the time-zone database and millisecond instants both cover.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=8999;

impl LocalDate {
    /// The date, when it exists and its year is in [`YEARS`].
    pub fn new(year: i32, month: u8, day: u8) -> Option<LocalDate> {
        let valid = YEARS.contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then(|| LocalDate(days_from_civil(year, month, day) as i32))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<LocalDate> {
        let b = text.as_bytes();
        let digits = |r: std::ops::Range<usize>| {
            b[r.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| text[r].parse::<i32>().ok())
                .flatten()
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        LocalDate::new(y, m as u8, d as u8)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0)
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> LocalDate {
        LocalDate(days as i32)
    }

    /// The date `n` days later (earlier when negative).
    pub fn add_days(self, n: i32) -> LocalDate {
        LocalDate(self.0 + n)
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> usize {
        weekday(self.days_since_epoch())
    }

    pub fn year(self) -> i32 {
        civil_from_days(self.days_since_epoch()).0
    }

    pub fn month(self) -> u8 {
        civil_from_days(self.days_since_epoch()).1
    }

    pub fn day(self) -> u8 {
        civil_from_days(self.days_since_epoch()).2
    }
}

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.days_since_epoch());
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// Monday = 0 … Sunday = 6 of a day number (1970-01-01 was a Thursday).
pub(crate) fn weekday(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's `days_from_civil` and `civil_from_days` (proleptic Gregorian calendar).
pub(crate) fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_and_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2026-11-23 was a Monday.
        assert_eq!(LocalDate::new(2026, 11, 23).unwrap().weekday(), 0);
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn dates_parse_strictly() {
        let d = LocalDate::parse("2028-02-29").unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2028, 2, 29));
        assert_eq!(d.to_string(), "2028-02-29");
        for bad in [
            "2027-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "2026-01-01 ",
            "+026-01-01",
            "0000-01-01",
            "",
        ] {
            assert_eq!(LocalDate::parse(bad), None, "{bad:?}");
        }
    }
}
