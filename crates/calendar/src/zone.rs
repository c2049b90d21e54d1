//! A site's time zone: an IANA zone (bundled database) or a fixed UTC offset, and the two
//! conversions the calendar needs (instant → wall clock, wall clock → instant).

use crate::Error;
use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Instants are clamped to ±`LIMIT_MS` (about the years -5000 and 8940), inside what the
/// time-zone database covers, with room for searches that look a few years ahead.
pub(crate) const LIMIT_MS: i64 = 220_000_000_000_000;

/// Milliseconds, kept inside what the zone database can convert.
pub(crate) fn clamp(ms: i64) -> i64 {
    ms.clamp(-LIMIT_MS, LIMIT_MS)
}

/// Where the wall clock is read: `Europe/Istanbul`, or `+03:00` (no DST).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
    /// The offset of a fixed zone, so that its conversions are one addition.
    fixed_ms: Option<i64>,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            tz: TimeZone::UTC,
            fixed_ms: Some(0),
        }
    }

    /// A fixed offset east of UTC, up to ±14 hours; named `+HH:MM`.
    pub fn fixed(minutes: i32) -> Option<Zone> {
        if minutes.abs() > 14 * 60 {
            return None;
        }
        let offset = jiff::tz::Offset::from_seconds(minutes * 60).ok()?;
        let sign = if minutes < 0 { '-' } else { '+' };
        Some(Zone {
            name: format!("{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60),
            tz: TimeZone::fixed(offset),
            fixed_ms: Some(i64::from(minutes) * 60_000),
        })
    }

    /// An IANA zone such as `America/Sao_Paulo`, from the database compiled into the binary.
    pub fn named(name: &str) -> Result<Zone, Error> {
        let unknown = || Error::Zone(name.to_owned());
        // jiff also accepts POSIX TZ strings in some places; only names of the database here.
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ',') {
            return Err(unknown());
        }
        let tz = jiff::tz::db().get(name).map_err(|_| unknown())?;
        Ok(Zone {
            name: tz.iana_name().unwrap_or(name).to_owned(),
            fixed_ms: None,
            tz,
        })
    }

    /// `UTC`, `+03:00` or the IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wall clock at `ms`, as milliseconds since 1970-01-01T00:00 local.
    pub(crate) fn local(&self, ms: i64) -> i64 {
        let ms = clamp(ms);
        match self.fixed_ms {
            Some(offset) => ms + offset,
            None => ms + self.offset_ms(ms),
        }
    }

    fn offset_ms(&self, ms: i64) -> i64 {
        let ts = Timestamp::from_millisecond(ms).expect("clamped into range");
        i64::from(self.tz.to_offset(ts).seconds()) * 1000
    }

    /// The instant the wall clock shows `local` (milliseconds since 1970-01-01T00:00 local).
    /// A time skipped by a jump forward maps to the jump (the first instant after the gap); a
    /// time shown twice maps to its first showing. So the map never decreases: an opening
    /// range becomes an interval of real time, 09:00-17:00 lasts 8 hours and 00:00-04:00 lasts
    /// 3 or 5 hours on the days the clocks change.
    pub(crate) fn instant(&self, local: i64) -> i64 {
        let local = clamp(local);
        if let Some(offset) = self.fixed_ms {
            return local - offset;
        }
        let secs = local.div_euclid(1000);
        let (y, m, d) = crate::date::civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let nanos = (local.rem_euclid(1000) * 1_000_000) as i32;
        let dt = jiff::civil::date(y as i16, m as i8, d as i8).at(
            (sod / 3600) as i8,
            (sod / 60 % 60) as i8,
            (sod % 60) as i8,
            nanos,
        );
        let seconds_ms = |o: jiff::tz::Offset| i64::from(o.seconds()) * 1000;
        match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => local - seconds_ms(offset),
            AmbiguousOffset::Fold { before, .. } => local - seconds_ms(before),
            AmbiguousOffset::Gap { before, after } => {
                // Read with the later offset, the time falls before the jump: the next
                // transition is the jump itself.
                let early = local - seconds_ms(after);
                let ts = Timestamp::from_millisecond(early).expect("clamped into range");
                self.tz
                    .following(ts)
                    .next()
                    .map(|t| t.timestamp().as_millisecond())
                    .unwrap_or(local - seconds_ms(before))
            }
        }
    }

    /// The instants in `[from, to)` where the offset may change (none for a fixed zone).
    pub(crate) fn transitions(&self, from: i64, to: i64) -> impl Iterator<Item = i64> + '_ {
        let from = Timestamp::from_millisecond(clamp(from) - 1).expect("clamped into range");
        let to = clamp(to);
        self.fixed_ms
            .is_none()
            .then(|| self.tz.following(from))
            .into_iter()
            .flatten()
            .map(|t| t.timestamp().as_millisecond())
            .take_while(move |t| *t < to)
    }
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}
