//! Runs queries against an engine and scores them: R@1, R@5, MRR@10, and the prefix ceiling.

use crate::corpus::QueryRow;
use search_engine::{ChunkedEngine, Engine, Query};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Sums over queries of one kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub n: usize,
    pub r1: f64,
    pub r5: f64,
    pub mrr: f64,
}

impl Stats {
    pub fn add(&mut self, rank: Option<usize>) {
        self.n += 1;
        if let Some(r) = rank {
            self.r1 += f64::from(u8::from(r == 1));
            self.r5 += f64::from(u8::from(r <= 5));
            self.mrr += 1.0 / r as f64;
        }
    }
    /// Percentages: (R@1, R@5, MRR@10).
    pub fn pct(&self) -> (f64, f64, f64) {
        let n = self.n.max(1) as f64;
        (
            100.0 * self.r1 / n,
            100.0 * self.r5 / n,
            100.0 * self.mrr / n,
        )
    }
}

/// An engine the evaluation can query: the whole index, or a chunked one with every chunk loaded.
pub trait Searcher {
    /// The ids of the top `limit` results.
    fn ids(&self, text: &str, limit: usize) -> Vec<String>;
}

fn query(text: &str, limit: usize) -> Query<'_> {
    Query {
        text,
        limit,
        ..Query::default()
    }
}

impl Searcher for Engine<'_> {
    fn ids(&self, text: &str, limit: usize) -> Vec<String> {
        let hits = self.search(&query(text, limit));
        hits.iter()
            .map(|h| self.index().doc(h.doc).id.to_owned())
            .collect()
    }
}

impl Searcher for ChunkedEngine {
    fn ids(&self, text: &str, limit: usize) -> Vec<String> {
        let hits = self.search(&query(text, limit));
        hits.iter()
            .map(|h| self.doc(h.doc).map_or(String::new(), |d| d.id.to_owned()))
            .collect()
    }
}

/// Runs each query (after `rewrite`) and records the rank of its first target within the top 10.
pub fn run<'q>(
    engine: &impl Searcher,
    queries: impl Iterator<Item = &'q QueryRow>,
    mut rewrite: impl FnMut(&str) -> String,
    stats: &mut BTreeMap<String, Stats>,
    latencies: &mut Vec<Duration>,
    misses_of: Option<&str>,
) {
    for q in queries {
        let text = rewrite(&q.query);
        let started = Instant::now();
        let hits = engine.ids(&text, 10);
        latencies.push(started.elapsed());
        let targets: BTreeSet<&str> = q.targets.iter().map(String::as_str).collect();
        let rank = hits
            .iter()
            .position(|id| targets.contains(id.as_str()))
            .map(|p| p + 1);
        if misses_of.is_some_and(|k| k == q.kind_name()) && rank.is_none_or(|r| r > 1) {
            let top: Vec<&str> = hits
                .iter()
                .take(3)
                .map(|id| id.rsplit('/').next().unwrap_or(""))
                .collect();
            eprintln!(
                "{:?} rank={rank:?} target={} top={top:?}",
                text, q.targets[0]
            );
        }
        stats.entry(q.kind_name()).or_default().add(rank);
    }
}

/// The best any deterministic ranking can reach at k: queries with the same text get the same list,
/// so at most k of their targets fit. Greedy cover per distinct query string.
pub fn ceiling<'q>(queries: impl Iterator<Item = &'q QueryRow>, k: usize) -> (usize, usize) {
    let mut groups: BTreeMap<&str, Vec<BTreeSet<&str>>> = BTreeMap::new();
    for q in queries {
        groups
            .entry(q.query.as_str())
            .or_default()
            .push(q.targets.iter().map(String::as_str).collect());
    }
    let mut hit = 0;
    let mut total = 0;
    for sets in groups.values() {
        total += sets.len();
        let mut covered = vec![false; sets.len()];
        for _ in 0..k {
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, s) in sets.iter().enumerate() {
                if !covered[i] {
                    for t in s {
                        *count.entry(t).or_default() += 1;
                    }
                }
            }
            let Some((&best, _)) = count
                .iter()
                .max_by_key(|(t, c)| (**c, std::cmp::Reverse(**t)))
            else {
                break;
            };
            for (i, s) in sets.iter().enumerate() {
                if s.contains(best) {
                    covered[i] = true;
                }
            }
        }
        hit += covered.iter().filter(|c| **c).count();
    }
    (hit, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(query: &str, targets: &[&str]) -> QueryRow {
        QueryRow {
            collection: "c".into(),
            lang: "en".into(),
            query: query.into(),
            kind: "words_2".into(),
            field: "title".into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn ceiling_counts_what_one_ranking_can_serve() {
        // Three queries share "How do": one list can put only one of their targets first.
        let rows = [
            q("How do", &["a"]),
            q("How do", &["b"]),
            q("How do", &["c", "a"]),
            q("Where is", &["d"]),
        ];
        assert_eq!(ceiling(rows.iter(), 1), (3, 4));
        assert_eq!(ceiling(rows.iter(), 5), (4, 4));
    }
}
