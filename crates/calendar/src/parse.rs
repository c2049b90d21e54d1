//! Reading office hours as a site owner writes them: a zone (`timezone = "Europe/Istanbul"` or
//! `utc_offset = "+03:00"`), `mon = "09:00-12:30, 13:30-18:00"`, `holidays = ["2026-12-25"]`.

use crate::{Calendar, DAY_MINUTES, LocalDate, Zone};
use std::collections::BTreeSet;

/// What is wrong with office hours; each names the input at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("give the time zone: timezone = \"Europe/Istanbul\" (or utc_offset = \"+03:00\")")]
    NoZone,
    #[error("give timezone or utc_offset, not both")]
    BothZones,
    #[error("invalid UTC offset {0:?}: expected +HH:MM or -HH:MM, at most 14 hours")]
    Offset(String),
    #[error("unknown time zone {0:?}: expected an IANA name such as \"Europe/Istanbul\"")]
    Zone(String),
    #[error("invalid day {0:?}: expected mon, tue, wed, thu, fri, sat or sun")]
    Day(String),
    #[error("{0} is given twice")]
    DayTwice(&'static str),
    #[error(
        "{day}: invalid hours {range:?}: expected HH:MM-HH:MM with the start before the end \
         (24:00 closes at midnight), several separated by commas"
    )]
    Range { day: &'static str, range: String },
    #[error("{day}: the hours {first} and {second} overlap")]
    Overlap {
        day: &'static str,
        first: String,
        second: String,
    },
    #[error("invalid holiday {0:?}: expected a date YYYY-MM-DD")]
    Holiday(String),
}

pub(crate) const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `HH:MM` (up to `24:00`) as a minute of the day.
fn parse_hm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && h * 60 + m <= DAY_MINUTES).then_some(h * 60 + m)
}

pub(crate) fn format_range((start, end): (u16, u16)) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        start / 60,
        start % 60,
        end / 60,
        end % 60
    )
}

/// `+HH:MM` or `-HH:MM`.
fn parse_offset(text: &str) -> Result<Zone, Error> {
    let bad = || Error::Offset(text.to_owned());
    let sign = match text.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let minutes = parse_hm(&text[1..]).ok_or_else(bad)?;
    Zone::fixed(sign * i32::from(minutes)).ok_or_else(bad)
}

impl Calendar {
    /// Reads office hours: exactly one of `utc_offset` (`+HH:MM`) and `timezone` (IANA name),
    /// days (`mon` … `sun`, any case) with comma-separated `HH:MM-HH:MM` ranges (days not given
    /// are closed), and holidays (`YYYY-MM-DD`, local dates closed all day).
    pub fn parse<'a>(
        utc_offset: Option<&str>,
        timezone: Option<&str>,
        days: impl IntoIterator<Item = (&'a str, &'a str)>,
        holidays: impl IntoIterator<Item = &'a str>,
    ) -> Result<Calendar, Error> {
        let zone = match (utc_offset, timezone) {
            (Some(_), Some(_)) => return Err(Error::BothZones),
            (None, None) => return Err(Error::NoZone),
            (Some(offset), None) => parse_offset(offset.trim())?,
            (None, Some(name)) => Zone::named(name.trim())?,
        };
        let mut week: [Option<Vec<(u16, u16)>>; 7] = Default::default();
        for (day, text) in days {
            let index = DAYS
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| Error::Day(day.to_owned()))?;
            let name = DAYS[index];
            if week[index].is_some() {
                return Err(Error::DayTwice(name));
            }
            let ranges = text
                .split(',')
                .map(|range| {
                    let bad = || Error::Range {
                        day: name,
                        range: range.trim().to_owned(),
                    };
                    let (start, end) = range.split_once('-').ok_or_else(bad)?;
                    let (start, end) = (
                        parse_hm(start).ok_or_else(bad)?,
                        parse_hm(end).ok_or_else(bad)?,
                    );
                    if start >= end {
                        return Err(bad());
                    }
                    Ok((start, end))
                })
                .collect::<Result<Vec<_>, _>>()?;
            week[index] = Some(ranges);
        }
        let holidays = holidays
            .into_iter()
            .map(|h| LocalDate::parse(h.trim()).ok_or_else(|| Error::Holiday(h.to_owned())))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Calendar::new(zone, week.map(Option::unwrap_or_default), holidays)
    }
}
