//! Query planning: each typed word becomes a set of weighted posting lists (exact, completions, typos).

use crate::fuzzy::{Keys, Typo};
use crate::{Alternative, Params};
use fst::automaton::Str;
use fst::{Automaton, IntoStreamer, Streamer};
use search_index::{Index, TermInfo};

/// A term dictionary: a whole index's, or the union of the term chunks loaded so far.
pub(crate) trait Dict {
    /// Looks up one key.
    fn term_bytes(&self, key: &[u8]) -> Option<TermInfo>;
    /// Looks up one folded key.
    fn term(&self, key: &str) -> Option<TermInfo> {
        self.term_bytes(key.as_bytes())
    }
    /// Number of documents in a list (0 when unknown).
    fn doc_freq(&self, term: TermInfo) -> u64;
    /// Calls `f` with every key that starts with `prefix` and that the automaton accepts, with
    /// its list, in key order (the prefix lets a chunked dictionary skip whole chunks). One
    /// automaton type, by value: each type fst streams with costs the widget a copy of its code.
    fn search(&self, prefix: &str, aut: Keys<'_>, f: impl FnMut(&[u8], TermInfo));
    /// Calls `f` with every key and its list, in key order.
    fn each_key(&self, f: impl FnMut(&[u8], TermInfo));
}

impl Dict for Index<'_> {
    fn term_bytes(&self, key: &[u8]) -> Option<TermInfo> {
        Index::term_bytes(self, key)
    }
    fn doc_freq(&self, term: TermInfo) -> u64 {
        Index::doc_freq(self, term)
    }
    fn search(&self, _prefix: &str, aut: Keys<'_>, mut f: impl FnMut(&[u8], TermInfo)) {
        let mut stream = self.terms().search(aut).into_stream();
        while let Some(key) = stream.next() {
            if let Some(term) = Index::term_bytes(self, key) {
                f(key, term);
            }
        }
    }
    fn each_key(&self, mut f: impl FnMut(&[u8], TermInfo)) {
        let mut stream = self.terms().stream();
        while let Some(key) = stream.next() {
            if let Some(term) = Index::term_bytes(self, key) {
                f(key, term);
            }
        }
    }
}
use std::collections::HashMap;
use text_analysis::Analyzer;

/// One analysed query word.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryToken {
    /// Folded form as typed.
    pub surface: String,
    /// The word is a stop word (low weight, titles only).
    pub is_stop: bool,
    /// The word is the last one and still being typed: completions count.
    pub open: bool,
    /// The exact (or stemmed) posting list, if the vocabulary knows the word.
    pub exact: Option<TermInfo>,
    /// Everything this word may match.
    pub alternatives: Vec<Alternative>,
    /// Posting lists reached only through typo correction.
    /// The posting lists reached by a typo correction (sorted, each once).
    pub corrections: Vec<u32>,
}

/// An analysed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryPlan {
    /// The words in order.
    pub tokens: Vec<QueryToken>,
}

/// Completions of the short prefixes that start many keys, found once per engine: every word
/// typed begins with them, so streaming them per keystroke is what made big indexes slow.
pub(crate) type ShortPrefixes = HashMap<String, Vec<(TermInfo, usize)>>;

/// Prefixes up to this many characters may be answered from [`ShortPrefixes`] (five: in a
/// 20,000-article base a four- or five-letter prefix may start a thousand keys, and streaming
/// them was a tenth of a keystroke's p95).
const SHORT_PREFIX_CHARS: usize = 5;
/// A short prefix is kept when it starts more keys than this (fewer stream fast enough), or
/// when it is shorter than [`SHORT_PREFIX_ALWAYS`] characters.
const SHORT_PREFIX_MIN_KEYS: usize = 64;
const SHORT_PREFIX_ALWAYS: usize = 3;

pub(crate) fn short_prefixes(index: &impl Dict, max: usize) -> ShortPrefixes {
    // Keys stream in order, so the keys of a prefix are contiguous: one open group per length.
    let mut out = ShortPrefixes::new();
    let mut groups: Vec<(String, Vec<(TermInfo, usize)>)> =
        vec![(String::new(), Vec::new()); SHORT_PREFIX_CHARS];
    let mut close = |prefix: &mut String, terms: &mut Vec<(TermInfo, usize)>| {
        if !terms.is_empty()
            && (terms.len() > SHORT_PREFIX_MIN_KEYS || prefix.chars().count() < SHORT_PREFIX_ALWAYS)
        {
            // Each list once, with its shortest key.
            terms.sort_unstable();
            terms.dedup_by_key(|t| t.0);
            out.insert(prefix.clone(), top_completions(index, terms.drain(..), max));
        }
        terms.clear();
        prefix.clear();
    };
    index.each_key(|key, term| {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        let len = key.chars().count();
        for (i, (at, c)) in key.char_indices().take(SHORT_PREFIX_CHARS).enumerate() {
            let prefix = &key[..at + c.len_utf8()];
            let (open, terms) = &mut groups[i];
            if open != prefix {
                close(open, terms);
                open.push_str(prefix);
            }
            terms.push((term, len));
        }
    });
    for (prefix, terms) in &mut groups {
        close(prefix, terms);
    }
    out
}

pub(crate) fn plan(
    index: &impl Dict,
    analyzer: &Analyzer,
    p: &Params,
    short: &ShortPrefixes,
    text: &str,
) -> QueryPlan {
    let tokens = analyzer.analyze(text);
    let open_end = tokens.last().is_some_and(|t| t.end == text.len());
    let count = tokens.len();
    let mut out = Vec::with_capacity(count);
    for (i, t) in tokens.into_iter().enumerate() {
        let open = open_end && i + 1 == count;
        // Few alternatives per word: a list searched in place costs the wasm less than a map.
        let mut alts: Vec<(TermInfo, f32)> = Vec::new();
        let mut corrections = Vec::new();
        let mut exact = index.term(&t.surface);
        if exact.is_none() && !t.is_stop && p.query_stemming {
            // A word missing from the vocabulary may still share a stem with one that is there.
            exact = t.stem.ne(&t.surface).then(|| index.term(&t.stem)).flatten();
        }
        let is_stop = exact.map_or(t.is_stop, |e| e.is_stop);
        if let Some(e) = exact {
            raise(&mut alts, e, 1.0);
        }
        let chars = t.surface.chars().count();
        if exact.is_none() && !is_stop && p.stem_guess_weight > 0.0 {
            // No stemmer in the browser: an unknown word takes the longest known key it starts with
            // ("installing" -> "install"). The index leaves out the words this recovers exactly.
            if let Some(term) =
                search_index::guess_stem(&t.surface, |k| index.term(k).filter(|t| !t.is_stop))
            {
                raise(&mut alts, term, p.stem_guess_weight);
            }
        }
        if open {
            let found = match short.get(&t.surface) {
                Some(found) if chars <= SHORT_PREFIX_CHARS => found.clone(),
                _ => completions(index, &t.surface, p.max_expansions),
            };
            let mut budget = p.max_expansion_postings;
            for (term, key_len) in found {
                let df = index.doc_freq(term);
                if df > budget {
                    continue;
                }
                budget -= df;
                // Longer completions are less likely what is being typed.
                let w = p.prefix_weight * (chars as f32 / key_len as f32).sqrt();
                raise(&mut alts, term, w);
            }
        }
        if p.typos && alts.is_empty() && chars >= 4 {
            let distance = if chars >= 8 { 2 } else { 1 };
            let found = fuzzy(index, &t.surface, distance, open);
            for (_key, term) in found {
                raise(&mut alts, term, p.typo_weight);
                corrections.push(term.list);
            }
            corrections.sort_unstable();
            corrections.dedup();
        }
        let mut alternatives: Vec<Alternative> = alts
            .into_iter()
            .map(|(term, weight)| Alternative { term, weight })
            .collect();
        // Each term once: a total order, so an unstable sort gives the same order.
        alternatives
            .sort_unstable_by(|a, b| b.weight.total_cmp(&a.weight).then(a.term.cmp(&b.term)));
        out.push(QueryToken {
            surface: t.surface,
            is_stop,
            open,
            exact,
            alternatives,
            corrections,
        });
    }
    QueryPlan { tokens: out }
}

/// Sets the weight of `term` among `alts` to at least `weight` (adding it at `weight`).
fn raise(alts: &mut Vec<(TermInfo, f32)>, term: TermInfo, weight: f32) {
    match alts.iter_mut().find(|a| a.0 == term) {
        Some(a) => a.1 = a.1.max(weight),
        None => alts.push((term, weight)),
    }
}

/// Completions of a prefix: posting lists with the length of their shortest key; most frequent first.
fn completions(index: &impl Dict, prefix: &str, max: usize) -> Vec<(TermInfo, usize)> {
    let mut found: Vec<(TermInfo, usize)> = Vec::new();
    let keys = Keys::Prefix(Str::new(prefix).starts_with());
    index.search(prefix, keys, |key, term| {
        found.push((term, String::from_utf8_lossy(key).chars().count()));
    });
    // Each list once, with its shortest key.
    found.sort_unstable();
    found.dedup_by_key(|f| f.0);
    top_completions(index, found, max)
}

/// The `max` most frequent lists (then shortest keys), with the length of their shortest key.
fn top_completions(
    index: &impl Dict,
    found: impl IntoIterator<Item = (TermInfo, usize)>,
    max: usize,
) -> Vec<(TermInfo, usize)> {
    let mut list: Vec<(TermInfo, usize, u64)> = found
        .into_iter()
        .map(|(t, len)| (t, len, index.doc_freq(t)))
        .filter(|x| x.2 > 0)
        .collect();
    list.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
    list.truncate(max);
    list.into_iter().map(|(t, len, _)| (t, len)).collect()
}

/// Dictionary keys within `distance` edits (of the word, or of a prefix of the key when `open`).
fn fuzzy(index: &impl Dict, word: &str, distance: u8, open: bool) -> Vec<(String, TermInfo)> {
    // A finished word may also match a key near its start: the index keeps only stems of the
    // inflected forms it can guess (see `search_index::guess_stem`).
    let min_prefix = if open {
        word.chars().count()
    } else {
        (word.chars().count() * 3).div_ceil(5).max(4)
    };
    let typo = Typo::new(word, distance).matching_prefixes_from(min_prefix);
    let keys = if open {
        Keys::NearPrefix(typo.starts_with())
    } else {
        Keys::Near(typo)
    };
    let mut out = Vec::new();
    // A whole index runs the automaton over every key; a chunked one only over the chunks of
    // the word's first letter (a typo there may miss; see `ChunkedEngine`).
    let first = word.chars().next().map_or("", |c| &word[..c.len_utf8()]);
    index.search(first, keys, |k, term| {
        out.push((String::from_utf8_lossy(k).into_owned(), term));
    });
    out
}

/// A folded title word and the posting list it resolves to (for matching typo corrections).
#[derive(Debug, Clone, PartialEq)]
pub struct TitleWord {
    /// Folded surface form.
    pub surface: String,
    /// Its posting list, exact or through the stem guess.
    pub term: Option<TermInfo>,
}

impl QueryToken {
    /// Whether a title word satisfies this query word: the same word, a completion of the word
    /// being typed, or a word of a list the typo correction reached.
    pub fn matches(&self, w: &TitleWord) -> bool {
        // Same first byte first: most title words differ there, and this runs per touched document.
        let (a, b) = (w.surface.as_bytes(), self.surface.as_bytes());
        (a.first() == b.first() || b.is_empty()) && (a == b || (self.open && a.starts_with(b)))
            || (!self.corrections.is_empty()
                && w.term.is_some_and(|t| self.corrections.binary_search(&t.list).is_ok()))
            // A title rebuilt from chunked postings knows lists, not words (see `ChunkedEngine`).
            || (a.is_empty()
                && w
                    .term
                    .is_some_and(|t| self.alternatives.iter().any(|x| x.term == t)))
    }
}

impl QueryPlan {
    /// True when the title begins with the query, word by word (the last word may be unfinished).
    pub fn title_starts_with_query(&self, title: &[TitleWord]) -> bool {
        !self.tokens.is_empty()
            && title.len() >= self.tokens.len()
            && self.tokens.iter().zip(title).all(|(q, w)| q.matches(w))
    }

    /// The longest run of consecutive query words found in a row in the title.
    pub fn longest_title_run(&self, title: &[TitleWord]) -> usize {
        let q = &self.tokens;
        let mut best = 0;
        for start in 0..title.len() {
            for qs in 0..q.len() {
                let mut run = 0;
                while qs + run < q.len()
                    && start + run < title.len()
                    && q[qs + run].matches(&title[start + run])
                {
                    run += 1;
                }
                best = best.max(run);
            }
        }
        best
    }
}
