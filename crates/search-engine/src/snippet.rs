//! Highlighted snippets: byte ranges of the words a query matched, in a window of the stored text.

use crate::query::Dict;
use crate::query::QueryPlan;
use std::ops::Range;
use text_analysis::Analyzer;

/// A window of a document's snippet text with the matched words marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// Byte range of the window within the stored snippet text (on char boundaries).
    pub window: Range<usize>,
    /// Byte ranges (into the stored text) to highlight; all inside `window`.
    pub highlights: Vec<Range<usize>>,
}

/// Byte ranges of `text` whose words match the query (same word, same stem, completion, correction).
pub(crate) fn highlights(
    index: &impl Dict,
    analyzer: &Analyzer,
    plan: &QueryPlan,
    text: &str,
) -> Vec<Range<usize>> {
    let mut lists: Vec<u32> = plan
        .tokens
        .iter()
        .filter(|t| !t.is_stop)
        .flat_map(|t| t.alternatives.iter().map(|a| a.term.list))
        .collect();
    lists.sort_unstable();
    lists.dedup();
    analyzer
        .analyze(text)
        .into_iter()
        .filter(|w| {
            plan.tokens.iter().any(|q| {
                w.surface == q.surface && !q.is_stop
                    || (q.open && !q.surface.is_empty() && w.surface.starts_with(&q.surface))
            }) || (!w.is_stop
                && index
                    .term(&w.surface)
                    .is_some_and(|t| !t.is_stop && lists.binary_search(&t.list).is_ok()))
        })
        .map(|w| w.start..w.end)
        .collect()
}

pub(crate) fn make(
    index: &impl Dict,
    analyzer: &Analyzer,
    plan: &QueryPlan,
    text: &str,
    max_bytes: usize,
) -> Snippet {
    let marks = highlights(index, analyzer, plan, text);
    // Start a little before the first match so it reads in context.
    let first = marks.first().map_or(0, |r| r.start);
    let mut start = first.saturating_sub(max_bytes / 4);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    if start > 0 {
        start = text[..start]
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
    }
    let mut end = (start + max_bytes).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let highlights = marks
        .into_iter()
        .filter(|r| r.start >= start && r.end <= end)
        .collect();
    Snippet {
        window: start..end,
        highlights,
    }
}
