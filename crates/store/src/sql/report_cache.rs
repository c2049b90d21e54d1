//! Reports read whole days from memory: each whole UTC day of a period keeps its facts (the
//! conversations created that day, with labels and breaches) and its next responses in the
//! store's memory, and every read checks them against the database with one stamp per day,
//! read from an index alone (~2 ms for a month of 33,000 conversations, where reading and
//! decoding their rows costs ~50 ms). A day whose stamp changed is read again.
//!
//! A facts stamp is the day's count of conversations, sum of their ids and sum of their
//! `facts_rev`, which every statement that changes what reports read of a conversation
//! increments (see the migration `report_stamps`): an added, changed or removed conversation
//! changes it. A next-responses stamp is the day's count of rows and sum of their start times:
//! rows are only ever added at the moment of the response (today, which is read from the
//! database) and removed by erasure or retention. The stamps are read before the rows, so a
//! change between the two makes the next read load the day again, never keeps a stale day.
//! Each node (each store) keeps its own days and checks them against the shared database, so
//! several nodes agree. The partial days at either end of a period are always read from the
//! database, filtered there.

use super::SqlStore;
use super::reports::{Detail, Param};
use crate::{Millis, ReportFilter, Result};
use insights::{Fact, Reply};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(super) const DAY: Millis = 86_400_000;
/// The longest run of whole days read through the memory (a longer period reads the database).
const MAX_DAYS: i64 = 400;
/// The most facts kept (each about 300 bytes with its texts: 45 MB), and the most next
/// responses (about 100 bytes: 30 MB); the least recently used days go first. Two 30-day
/// periods of 1,000 conversations and 2,000 next responses a day take a fifth of it.
const MAX_FACTS: usize = 150_000;
const MAX_REPLIES: usize = 300_000;

struct Day<T> {
    stamp: String,
    rows: Arc<Vec<T>>,
    used: u64,
}

struct Days<T> {
    days: HashMap<Millis, Day<T>>,
    total: usize,
    max: usize,
}

impl<T> Days<T> {
    fn new(max: usize) -> Self {
        Days {
            days: HashMap::new(),
            total: 0,
            max,
        }
    }

    fn get(&mut self, day: Millis, stamp: &str, clock: u64) -> Option<Arc<Vec<T>>> {
        let d = self.days.get_mut(&day).filter(|d| d.stamp == stamp)?;
        d.used = clock;
        Some(d.rows.clone())
    }

    fn put(&mut self, day: Millis, stamp: String, rows: Arc<Vec<T>>, clock: u64) {
        self.total += rows.len();
        if let Some(old) = self.days.insert(
            day,
            Day {
                stamp,
                rows,
                used: clock,
            },
        ) {
            self.total -= old.rows.len();
        }
        while self.total > self.max {
            let Some((&oldest, _)) = self.days.iter().min_by_key(|(_, d)| d.used) else {
                break;
            };
            if let Some(d) = self.days.remove(&oldest) {
                self.total -= d.rows.len();
            }
        }
    }
}

/// The days a store keeps.
pub(super) struct ReportCache {
    inner: Mutex<Inner>,
}

struct Inner {
    facts: Days<Fact>,
    replies: Days<(i64, Reply)>,
    clock: u64,
}

impl Default for ReportCache {
    fn default() -> Self {
        ReportCache {
            inner: Mutex::new(Inner {
                facts: Days::new(MAX_FACTS),
                replies: Days::new(MAX_REPLIES),
                clock: 0,
            }),
        }
    }
}

impl std::fmt::Debug for ReportCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("ReportCache")
            .field("fact_days", &inner.facts.days.len())
            .field("reply_days", &inner.replies.days.len())
            .finish()
    }
}

impl ReportCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves whole entries only: keep using them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The whole days of `[since, until)`: the start of the first and the end of the last, when
/// there is at least one and not more than [`MAX_DAYS`].
pub(super) fn whole_days(since: Millis, until: Millis) -> Option<(Millis, Millis)> {
    let first = since
        .checked_add(DAY - 1)?
        .div_euclid(DAY)
        .checked_mul(DAY)?;
    let end = until.div_euclid(DAY).checked_mul(DAY)?;
    let n = end.checked_sub(first)? / DAY;
    (1..=MAX_DAYS).contains(&n).then_some((first, end))
}

/// Whether a fact passes the filter: the same conditions `reports::conditions` writes in SQL.
pub(super) fn fact_matches(filter: &ReportFilter, f: &Fact) -> bool {
    let eq =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
    eq(&filter.site, Some(&f.site))
        && eq(&filter.team, f.team.as_deref())
        && eq(&filter.priority, Some(&f.priority))
        && eq(&filter.channel, Some(&f.channel))
        && filter.agent.is_none_or(|a| f.assignee_id == Some(a))
        && filter
            .label
            .as_deref()
            .is_none_or(|l| f.labels.iter().any(|have| have == l))
        && filter.language.as_deref().is_none_or(|language| {
            let language = language.to_lowercase();
            f.locale.as_deref().is_some_and(|locale| {
                let locale = locale.to_ascii_lowercase();
                locale == language
                    || locale
                        .strip_prefix(language.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
            })
        })
}

/// Whether next responses' own columns (site, priority) decide the filter: the other
/// conditions are their conversations'.
pub(super) fn replies_carry(filter: &ReportFilter) -> bool {
    filter.team.is_none()
        && filter.agent.is_none()
        && filter.label.is_none()
        && filter.language.is_none()
        && filter.channel.is_none()
}

/// Consecutive days as ranges `[start, end)`.
fn runs(days: &[Millis]) -> Vec<(Millis, Millis)> {
    let mut out: Vec<(Millis, Millis)> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some((_, end)) if *end == d => *end = d + DAY,
            _ => out.push((d, d + DAY)),
        }
    }
    out
}

impl SqlStore {
    /// One stamp per day of `[first, end)`: `inner` is a scalar subquery over the day
    /// `[d.s, d.s + DAY)`. The day starts are integers this code computed, written literally.
    async fn stamps(
        &self,
        first: Millis,
        end: Millis,
        inner: &str,
    ) -> Result<Vec<(Millis, String)>> {
        if end <= first {
            return Ok(Vec::new());
        }
        let days: Vec<String> = (0..(end - first) / DAY)
            .map(|i| format!("({})", first + i * DAY))
            .collect();
        let sql = format!(
            "WITH d (s) AS (VALUES {}) SELECT d.s, ({inner}) FROM d",
            days.join(", ")
        );
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(d, s)| (d, s.unwrap_or_default()))
            .collect())
    }

    /// The facts of the conversations created in the whole days `[first, end)` that pass the
    /// filter, from memory where a day's stamp still matches; previews only when `previews`.
    pub(super) async fn cached_facts(
        &self,
        filter: &ReportFilter,
        first: Millis,
        end: Millis,
        previews: bool,
    ) -> Result<Vec<Fact>> {
        let have = self.fact_days(first, end).await?;
        let mut out: Vec<Fact> = have
            .iter()
            .flat_map(|rows| rows.iter())
            .filter(|f| fact_matches(filter, f))
            .cloned()
            .collect();
        out.sort_unstable_by_key(|f| f.id);
        if previews {
            self.attach_previews(&mut out, first, end).await?;
        }
        Ok(out)
    }

    /// Which of `ids` (sorted) are conversations passing the filter, as far as the days they
    /// were created in tell: the whole days from the creation of the smallest id to the end of
    /// `until`'s day, kept in memory; `(matching, unknown)`, both sorted. An id on none of
    /// those days (a conversation older than [`MAX_DAYS`], or a node's clock behind) is
    /// unknown, for the database to decide.
    pub(super) async fn sort_by_facts(
        &self,
        filter: &ReportFilter,
        ids: &[i64],
        until: Millis,
    ) -> Result<(Vec<i64>, Vec<i64>)> {
        let Some(&low) = ids.first() else {
            return Ok((Vec::new(), Vec::new()));
        };
        let created: Option<i64> = sqlx::query_scalar(&super::dialect::q(
            "SELECT created_at FROM conversations WHERE id = ?",
        ))
        .bind(low)
        .fetch_optional(&self.pool)
        .await?;
        let mut decided: Vec<(i64, bool)> = Vec::new();
        let days = created.and_then(|created| {
            // A day of margin before: clocks of several nodes may disagree by a little.
            let first = created.div_euclid(DAY).checked_sub(1)?.checked_mul(DAY)?;
            let end = until.div_euclid(DAY).checked_add(1)?.checked_mul(DAY)?;
            (first < end && (end - first) / DAY <= MAX_DAYS).then_some((first, end))
        });
        if let Some((first, end)) = days {
            for rows in self.fact_days(first, end).await? {
                for f in rows.iter() {
                    if ids.binary_search(&f.id).is_ok() {
                        decided.push((f.id, fact_matches(filter, f)));
                    }
                }
            }
        }
        decided.sort_unstable();
        let matching = decided
            .iter()
            .filter(|(_, m)| *m)
            .map(|(id, _)| *id)
            .collect();
        let unknown = ids
            .iter()
            .copied()
            .filter(|id| decided.binary_search_by_key(id, |(d, _)| *d).is_err())
            .collect();
        Ok((matching, unknown))
    }

    /// The facts of the whole days `[first, end)`, each day from memory while its stamp
    /// matches, read again when it does not.
    async fn fact_days(&self, first: Millis, end: Millis) -> Result<Vec<Arc<Vec<Fact>>>> {
        let stamp = format!(
            "SELECT format('%s,%s,%s', count(*), sum(c.id), sum(c.facts_rev)) \
             FROM conversations c WHERE c.created_at >= d.s AND c.created_at < d.s + {DAY}"
        );
        let load = |start: Millis, stop: Millis| async move {
            let range = [Param::Int(start), Param::Int(stop)];
            let detail = Detail {
                labels: true,
                previews: false,
            };
            self.facts_where("c.created_at >= ? AND c.created_at < ?", &range, detail)
                .await
        };
        self.days(first, end, &stamp, |c| &mut c.facts, load, |f| f.created_at)
            .await
    }

    /// The next responses given in the whole days `[first, end)`, with their conversations,
    /// from memory where a day's stamp still matches.
    pub(super) async fn cached_replies(
        &self,
        first: Millis,
        end: Millis,
    ) -> Result<Vec<(i64, Reply)>> {
        let stamp = format!(
            "SELECT format('%s,%s', count(*), sum(r.from_at)) FROM response_times r \
             WHERE r.at >= d.s AND r.at < d.s + {DAY}"
        );
        let load = |start: Millis, stop: Millis| self.replies_where(start, stop);
        let have = self
            .days(first, end, &stamp, |c| &mut c.replies, load, |r| r.1.at)
            .await?;
        Ok(have.iter().flat_map(|rows| rows.iter()).cloned().collect())
    }

    /// The rows of each whole day of `[first, end)`: from `days` (the facts' or the next
    /// responses') while the day's stamp (`stamp`, a subquery over the day `d.s`) matches,
    /// else loaded again by `load` over runs of consecutive days and split by `at`'s day.
    async fn days<T, F>(
        &self,
        first: Millis,
        end: Millis,
        stamp: &str,
        days: fn(&mut Inner) -> &mut Days<T>,
        load: impl Fn(Millis, Millis) -> F,
        at: fn(&T) -> Millis,
    ) -> Result<Vec<Arc<Vec<T>>>>
    where
        F: std::future::Future<Output = Result<Vec<T>>>,
    {
        // The stamps first: a change after them makes the next read load the day again.
        let stamps = self.stamps(first, end, stamp).await?;
        let (mut have, missing) = {
            let mut inner = self.report_cache.lock();
            inner.clock += 1;
            let clock = inner.clock;
            let mut have = Vec::new();
            let mut missing = Vec::new();
            for (day, stamp) in &stamps {
                match days(&mut inner).get(*day, stamp, clock) {
                    Some(rows) => have.push(rows),
                    None => missing.push(*day),
                }
            }
            (have, missing)
        };
        for (start, stop) in runs(&missing) {
            let mut by_day: HashMap<Millis, Vec<T>> = HashMap::new();
            for row in load(start, stop).await? {
                by_day
                    .entry(at(&row).div_euclid(DAY) * DAY)
                    .or_default()
                    .push(row);
            }
            let mut inner = self.report_cache.lock();
            let clock = inner.clock;
            for (day, stamp) in stamps.iter().filter(|(d, _)| (start..stop).contains(d)) {
                let rows = Arc::new(by_day.remove(day).unwrap_or_default());
                have.push(rows.clone());
                days(&mut inner).put(*day, stamp.clone(), rows, clock);
            }
        }
        Ok(have)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_are_the_days_inside_the_period() {
        assert_eq!(whole_days(0, 3 * DAY), Some((0, 3 * DAY)));
        assert_eq!(whole_days(1, 3 * DAY - 1), Some((DAY, 2 * DAY)));
        assert_eq!(whole_days(1, 2 * DAY - 1), None);
        assert_eq!(whole_days(-DAY - 5, DAY + 5), Some((-DAY, DAY)));
        assert_eq!(whole_days(0, (MAX_DAYS + 1) * DAY), None);
        assert_eq!(whole_days(i64::MIN, i64::MAX), None);
        assert_eq!(whole_days(i64::MAX - 10, i64::MAX), None);
    }

    #[test]
    fn runs_join_consecutive_days() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(
            runs(&[0, DAY, 3 * DAY, 4 * DAY, 6 * DAY]),
            vec![(0, 2 * DAY), (3 * DAY, 5 * DAY), (6 * DAY, 7 * DAY)]
        );
    }

    #[test]
    fn the_least_recently_used_days_go_first() {
        let mut days: Days<u8> = Days::new(4);
        days.put(0, "a".into(), Arc::new(vec![1, 2]), 1);
        days.put(DAY, "b".into(), Arc::new(vec![3, 4]), 2);
        assert!(days.get(0, "a", 3).is_some());
        days.put(2 * DAY, "c".into(), Arc::new(vec![5]), 4);
        assert!(
            days.get(DAY, "b", 5).is_none(),
            "day 1 was the least recently used"
        );
        assert!(days.get(0, "a", 5).is_some());
        assert!(
            days.get(0, "other stamp", 5).is_none(),
            "a changed stamp is a miss"
        );
        assert_eq!(days.total, 3);
    }

    #[test]
    fn the_filter_matches_as_the_sql_conditions_do() {
        let fact = Fact {
            site: "demo".into(),
            priority: "high".into(),
            channel: "widget".into(),
            team: Some("billing".into()),
            assignee_id: Some(7),
            locale: Some("pt-BR".into()),
            labels: vec!["refund".into()],
            ..Fact::default()
        };
        let f = |edit: fn(&mut ReportFilter)| {
            let mut filter = ReportFilter::default();
            edit(&mut filter);
            fact_matches(&filter, &fact)
        };
        assert!(f(|_| {}));
        assert!(f(|x| x.language = Some("pt".into())));
        assert!(f(|x| x.language = Some("PT-br".into())));
        assert!(!f(|x| x.language = Some("p".into())));
        assert!(!f(|x| x.language = Some("en".into())));
        assert!(f(|x| x.label = Some("refund".into())));
        assert!(!f(|x| x.label = Some("billing".into())));
        assert!(f(|x| x.team = Some("billing".into())));
        assert!(!f(|x| x.agent = Some(8)));
        assert!(f(|x| x.agent = Some(7)));
        assert!(!f(|x| x.site = Some("other".into())));
        assert!(!f(|x| x.channel = Some("email".into())));
        assert!(f(|x| x.priority = Some("high".into())));
    }
}
