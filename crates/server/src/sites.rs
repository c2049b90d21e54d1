//! Site configuration (what a site owner sets) and office hours, a pure calendar computation.

use protocol::{Millis, SiteConfig};
use std::collections::BTreeMap;

/// One site served by this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub config: SiteConfig,
    /// Origins allowed to embed the widget (`https://shop.example`); empty allows any.
    pub allowed_origins: Vec<String>,
    /// `None` means always open.
    pub office_hours: Option<OfficeHours>,
    /// The team new conversations of this site are routed to; `None` means anyone.
    pub team: Option<String>,
    /// Secret shared with the site's own server, which signs its user ids with it
    /// (`user_hash` = hex HMAC-SHA256(secret, user_id)); `None` accepts no user ids.
    pub identity_secret: Option<String>,
}

impl Site {
    /// Whether `user_hash` is the site's signature of `user_id` (compared in constant time).
    pub fn verifies(&self, user_id: &str, user_hash: &str) -> bool {
        use hmac::Mac;
        let Some(secret) = &self.identity_secret else {
            return false;
        };
        let Ok(signature) = hex::decode(user_hash.trim()) else {
            return false;
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(user_id.as_bytes());
        mac.verify_slice(&signature).is_ok()
    }
}

/// Weekly opening hours in a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    pub utc_offset_minutes: i32,
    /// Monday = 0 … Sunday = 6: opening and closing minute of the day, closing exclusive.
    pub days: [Option<(u16, u16)>; 7],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HoursError {
    #[error("invalid UTC offset {0:?}: expected +HH:MM or -HH:MM")]
    Offset(String),
    #[error("invalid day {0:?}: expected mon, tue, wed, thu, fri, sat or sun")]
    Day(String),
    #[error("invalid hours {0:?}: expected HH:MM-HH:MM with the start before the end")]
    Range(String),
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

fn parse_hm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl OfficeHours {
    /// Parses `+HH:MM` and `day = "HH:MM-HH:MM"` pairs; days not given are closed.
    pub fn parse<'a>(
        offset: &str,
        days: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, HoursError> {
        let bad_offset = || HoursError::Offset(offset.to_owned());
        let sign = match offset.chars().next() {
            Some('+') => 1,
            Some('-') => -1,
            _ => return Err(bad_offset()),
        };
        let minutes = parse_hm(&offset[1..])
            .filter(|m| *m <= 14 * 60)
            .ok_or_else(bad_offset)?;
        let mut out = OfficeHours {
            utc_offset_minutes: sign * i32::from(minutes),
            days: [None; 7],
        };
        for (day, range) in days {
            let index = DAYS
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| HoursError::Day(day.to_owned()))?;
            let bad = || HoursError::Range(range.to_owned());
            let (start, end) = range.split_once('-').ok_or_else(bad)?;
            let (start, end) = (
                parse_hm(start).ok_or_else(bad)?,
                parse_hm(end).ok_or_else(bad)?,
            );
            if start >= end {
                return Err(bad());
            }
            out.days[index] = Some((start, end));
        }
        Ok(out)
    }

    /// (weekday Monday=0, minute of day, local midnight in UTC millis) at `now`.
    fn local(&self, now: Millis) -> (usize, i64, Millis) {
        let offset = i64::from(self.utc_offset_minutes) * MINUTE;
        let local = now + offset;
        let day_number = local.div_euclid(DAY);
        // 1970-01-01 was a Thursday (index 3).
        let weekday = (day_number + 3).rem_euclid(7) as usize;
        let minute = local.rem_euclid(DAY) / MINUTE;
        (weekday, minute, day_number * DAY - offset)
    }

    pub fn is_open(&self, now: Millis) -> bool {
        let (weekday, minute, _) = self.local(now);
        self.days[weekday].is_some_and(|(s, e)| minute >= i64::from(s) && minute < i64::from(e))
    }

    /// When the current open period ends (only meaningful while open).
    fn closes(&self, now: Millis) -> Millis {
        let (weekday, _, midnight) = self.local(now);
        match self.days[weekday] {
            Some((_, end)) => midnight + i64::from(end) * MINUTE,
            None => now,
        }
    }

    /// `now` plus `duration` of open time: deadlines pause while the office is closed.
    pub fn add_open_time(&self, now: Millis, duration: Millis) -> Option<Millis> {
        let (mut at, mut left) = (now, duration);
        for _ in 0..64 {
            if !self.is_open(at) {
                at = self.next_open(at)?;
            }
            let window = self.closes(at) - at;
            if left <= window {
                return Some(at + left);
            }
            left -= window;
            at += window;
        }
        None
    }

    /// The next opening time after `now`, within a week; `None` if never open.
    pub fn next_open(&self, now: Millis) -> Option<Millis> {
        let (weekday, minute, midnight) = self.local(now);
        (0..8).find_map(|ahead| {
            let (start, _) = self.days[(weekday + ahead) % 7]?;
            let at = midnight + ahead as i64 * DAY + i64::from(start) * MINUTE;
            (ahead > 0 || i64::from(start) > minute).then_some(at)
        })
    }
}

/// The demo site every server knows, always open.
pub fn demo_site() -> Site {
    let mut greeting = BTreeMap::new();
    greeting.insert(
        "en".into(),
        "Hi! Search our help center or chat with us.".into(),
    );
    greeting.insert(
        "pt".into(),
        "Olá! Pesquise na central de ajuda ou fale com a gente.".into(),
    );
    greeting.insert(
        "tr".into(),
        "Merhaba! Yardım merkezinde arayın veya bizimle yazışın.".into(),
    );
    greeting.insert(
        "ru".into(),
        "Здравствуйте! Найдите ответ в справке или напишите нам.".into(),
    );
    Site {
        config: SiteConfig {
            site: "demo".into(),
            name: "Brightbill".into(),
            color: "#2f5bea".into(),
            position: "right".into(),
            greeting,
            languages: vec!["en".into(), "pt".into(), "tr".into(), "ru".into()],
            prechat_name: false,
            prechat_email: false,
        },
        allowed_origins: Vec::new(),
        office_hours: None,
        team: None,
        identity_secret: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 is a Monday.
    const MONDAY_UTC_MIDNIGHT: Millis = 1_795_392_000_000;

    #[test]
    fn identity_signatures_are_checked_against_the_site_secret() {
        let mut site = demo_site();
        // Computed independently: HMAC-SHA256("a site secret, 16+ chars", "user-42").
        let good = "d5d10f16a9b2aeb6791ff7147c394716b848e3a3e225d6ea1838aedb0b801ddb";
        assert!(
            !site.verifies("user-42", good),
            "no secret: nothing verifies"
        );
        site.identity_secret = Some("a site secret, 16+ chars".into());
        assert!(site.verifies("user-42", good));
        assert!(site.verifies("user-42", &good.to_uppercase()));
        assert!(!site.verifies("user-43", good), "another user");
        assert!(!site.verifies("user-42", &good[..62]), "truncated");
        assert!(!site.verifies("user-42", "not hex"));
    }

    fn hours() -> OfficeHours {
        OfficeHours::parse("-03:00", [("mon", "09:00-18:00"), ("fri", "09:00-12:00")]).unwrap()
    }

    #[test]
    fn open_and_closed_in_the_site_timezone() {
        let h = hours();
        // Monday 12:00 UTC = 09:00 in UTC-3: open.
        assert!(h.is_open(MONDAY_UTC_MIDNIGHT + 12 * 3_600_000));
        // Monday 11:59 UTC = 08:59 local: closed; next opening one minute later.
        let early = MONDAY_UTC_MIDNIGHT + 11 * 3_600_000 + 59 * 60_000;
        assert!(!h.is_open(early));
        assert_eq!(
            h.next_open(early),
            Some(MONDAY_UTC_MIDNIGHT + 12 * 3_600_000)
        );
        // Monday 21:00 UTC = 18:00 local: closed (end exclusive); next is Friday 09:00 local.
        let evening = MONDAY_UTC_MIDNIGHT + 21 * 3_600_000;
        assert!(!h.is_open(evening));
        assert_eq!(
            h.next_open(evening),
            Some(MONDAY_UTC_MIDNIGHT + 4 * DAY + 12 * 3_600_000)
        );
    }

    #[test]
    fn deadlines_pause_while_closed() {
        let h = hours();
        // Monday 17:30 local (20:30 UTC) + 1 hour of open time: 30 minutes Monday, the rest on
        // Friday from 09:00 local.
        let at = MONDAY_UTC_MIDNIGHT + 20 * 3_600_000 + 30 * 60_000;
        let due = h.add_open_time(at, 3_600_000).unwrap();
        assert_eq!(
            due,
            MONDAY_UTC_MIDNIGHT + 4 * DAY + 12 * 3_600_000 + 30 * 60_000
        );
        let never = OfficeHours::parse("+00:00", []).unwrap();
        assert_eq!(never.add_open_time(0, 1), None);
    }

    #[test]
    fn parse_errors_name_the_input() {
        assert_eq!(
            OfficeHours::parse("3", []).unwrap_err(),
            HoursError::Offset("3".into())
        );
        assert_eq!(
            OfficeHours::parse("+00:00", [("funday", "09:00-10:00")]).unwrap_err(),
            HoursError::Day("funday".into())
        );
        assert_eq!(
            OfficeHours::parse("+00:00", [("mon", "18:00-09:00")]).unwrap_err(),
            HoursError::Range("18:00-09:00".into())
        );
        let never = OfficeHours::parse("+00:00", []).unwrap();
        assert_eq!(never.next_open(0), None);
    }
}
