//! The FAQ query engine: BM25F, as-you-type prefixes, typo tolerance, filters and snippets.
//!
//! *Architecture invariant*: pure and synchronous, no IO, no clock; it reads a [`search_index::Index`]
//! borrowed from bytes and builds for `wasm32-unknown-unknown`. Stems come from the index vocabulary
//! (folded surface form -> stem), so the browser build carries no stemmer.

mod fuzzy;
mod query;
mod snippet;

pub use query::{QueryPlan, QueryToken, TitleWord};
pub use search_index::{Index, IndexError, StoredDoc};
pub use snippet::Snippet;

use search_index::{N_FIELDS, TermInfo};
use text_analysis::Analyzer;

/// Ranking parameters. The defaults are what the benchmark was tuned with; every rule is general.
#[derive(Debug, Clone)]
pub struct Params {
    /// BM25 saturation.
    pub k1: f32,
    /// Length normalisation per field.
    pub b: [f32; N_FIELDS],
    /// Field boosts, in `search_index::Field` order (title, headings, body, tags, lead).
    pub boost: [f32; N_FIELDS],
    /// Weight of a completion of the word being typed, relative to the exact word.
    pub prefix_weight: f32,
    /// Weight of a typo correction (edit distance 1) relative to the exact word.
    pub typo_weight: f32,
    /// Weight of the longest known prefix of an unknown word (the browser's stand-in for a stemmer).
    pub stem_guess_weight: f32,
    /// Weight of a stop word (they only match titles).
    pub stop_weight: f32,
    /// Exponent of the coordination factor (share of query words matched).
    pub coordination: f32,
    /// Boost per extra query word found in a row in the title (phrase proximity).
    pub phrase_boost: f32,
    /// Whether to correct typos.
    pub typos: bool,
    /// Stem query words the vocabulary does not know (needs a build with stemmers; off in the browser).
    pub query_stemming: bool,
    /// Most completions kept for a prefix (the most frequent win).
    pub max_expansions: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            // Tuned on the evaluation corpus (search-bench): a high k1 keeps repeated words counting.
            k1: 4.0,
            b: [0.5, 0.6, 0.75, 0.5, 0.5],
            boost: [3.0, 3.0, 1.0, 1.5, 1.0],
            prefix_weight: 0.5,
            typo_weight: 0.5,
            stem_guess_weight: 1.0,
            stop_weight: 0.1,
            coordination: 0.25,
            phrase_boost: 0.3,
            typos: true,
            max_expansions: 64,
            query_stemming: true,
        }
    }
}

impl Params {
    /// What the widget runs: no query-time stemmer (the browser build carries none). The
    /// `frontdesk index` commands and the benchmark use it too, so their figures are the widget's.
    pub fn browser() -> Params {
        Params {
            query_stemming: false,
            ..Params::default()
        }
    }
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct Query<'q> {
    /// The text as typed; its last word counts as unfinished unless followed by a space or punctuation.
    pub text: &'q str,
    /// Keep only documents in this language (primary subtag match: `pt` matches `pt-BR`).
    pub lang: Option<&'q str>,
    /// Keep only documents carrying all of these tags.
    pub tags: Vec<&'q str>,
    /// Number of results wanted (0 means 10).
    pub limit: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Document number in the index.
    pub doc: u32,
    /// 1 when the title starts with the query (as-you-type completion), else 0. Ranked first.
    pub tier: u8,
    /// Relevance score within the tier.
    pub score: f32,
}

/// A query engine over one index.
pub struct Engine<'a> {
    index: Index<'a>,
    analyzer: Analyzer,
    params: Params,
    /// Folded title words per document, for completion and phrase rules and highlighting.
    titles: Vec<Vec<TitleWord>>,
}

impl<'a> Engine<'a> {
    /// Reads an index from bytes (no copy of the dictionary or postings).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Engine<'a>, IndexError> {
        Ok(Engine::new(Index::from_bytes(bytes)?))
    }

    /// An engine with default parameters.
    pub fn new(index: Index<'a>) -> Engine<'a> {
        let analyzer = Analyzer::for_lang(index.lang());
        let titles = index
            .docs()
            .iter()
            .map(|d| {
                analyzer
                    .analyze(d.title)
                    .into_iter()
                    .map(|t| TitleWord {
                        term: index.resolve(&t.surface),
                        surface: t.surface,
                    })
                    .collect()
            })
            .collect();
        Engine {
            index,
            analyzer,
            params: Params::default(),
            titles,
        }
    }

    /// Replaces the ranking parameters.
    pub fn with_params(mut self, params: Params) -> Engine<'a> {
        self.params = params;
        self
    }

    /// The ranking parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The underlying index.
    pub fn index(&self) -> &Index<'a> {
        &self.index
    }

    /// Analyses a query into per-word term alternatives (exact, stem, completions, corrections).
    pub fn plan(&self, text: &str) -> QueryPlan {
        query::plan(&self.index, &self.analyzer, &self.params, text)
    }

    /// Runs a query.
    pub fn search(&self, q: &Query<'_>) -> Vec<Hit> {
        let plan = self.plan(q.text);
        self.search_plan(&plan, q)
    }

    /// Runs an analysed query.
    pub fn search_plan(&self, plan: &QueryPlan, q: &Query<'_>) -> Vec<Hit> {
        let n = self.index.len();
        let limit = if q.limit == 0 { 10 } else { q.limit };
        let p = &self.params;
        let mut score = vec![0f32; n];
        let mut matched = vec![0f32; n];
        let mut best = vec![0f32; n];
        let mut touched: Vec<u32> = Vec::new();
        let mut seen = vec![false; n];
        let avg = self.index.avg_field_lengths();
        let mut total_weight = 0f32;
        for tok in &plan.tokens {
            let tok_weight = if tok.is_stop { p.stop_weight } else { 1.0 };
            if !tok.is_stop {
                total_weight += 1.0;
            }
            let mut hit_docs: Vec<u32> = Vec::new();
            for alt in &tok.alternatives {
                let Ok(postings) = self.index.postings(alt.term) else {
                    continue;
                };
                let df = postings.doc_freq() as f32;
                let idf = (1.0 + (n as f32 - df + 0.5) / (df + 0.5)).ln();
                for posting in postings.flatten() {
                    let d = posting.doc as usize;
                    let lens = self.index.field_lengths(posting.doc);
                    let mut tf = 0f32;
                    for f in 0..N_FIELDS {
                        if posting.tf[f] > 0 {
                            let norm = 1.0 - p.b[f] + p.b[f] * lens[f] as f32 / avg[f].max(1.0);
                            tf += p.boost[f] * posting.tf[f] as f32 / norm;
                        }
                    }
                    let s = alt.weight * idf * tf / (p.k1 + tf);
                    if best[d] == 0.0 {
                        hit_docs.push(posting.doc);
                    }
                    if s > best[d] {
                        best[d] = s;
                    }
                }
            }
            for &d in &hit_docs {
                let d = d as usize;
                score[d] += tok_weight * best[d];
                if !tok.is_stop {
                    matched[d] += 1.0;
                }
                best[d] = 0.0;
                if !seen[d] {
                    seen[d] = true;
                    touched.push(d as u32);
                }
            }
        }
        let mut hits: Vec<Hit> = Vec::with_capacity(touched.len());
        for d in touched {
            let doc = self.index.doc(d);
            if !self.passes_filters(doc, q) {
                continue;
            }
            let di = d as usize;
            let mut s = score[di];
            if total_weight > 0.0 {
                s *= ((matched[di] + 1.0) / (total_weight + 1.0)).powf(p.coordination);
            }
            let title = &self.titles[di];
            let tier = u8::from(plan.title_starts_with_query(title));
            let run = plan.longest_title_run(title);
            if run >= 2 {
                s *= 1.0 + p.phrase_boost * (run - 1) as f32;
            }
            s *= doc.weight;
            hits.push(Hit {
                doc: d,
                tier,
                score: s,
            });
        }
        hits.sort_by(|a, b| {
            b.tier
                .cmp(&a.tier)
                .then(b.score.total_cmp(&a.score))
                .then(a.doc.cmp(&b.doc))
        });
        hits.truncate(limit);
        hits
    }

    fn passes_filters(&self, doc: &StoredDoc<'_>, q: &Query<'_>) -> bool {
        if let Some(lang) = q.lang {
            let primary = |t: &str| {
                t.split(['-', '_'])
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            };
            let wanted_full = lang.contains(['-', '_']);
            let ok = if wanted_full {
                doc.lang.eq_ignore_ascii_case(lang)
            } else {
                primary(doc.lang) == primary(lang)
            };
            if !ok {
                return false;
            }
        }
        q.tags
            .iter()
            .all(|t| doc.tags.iter().any(|dt| dt.eq_ignore_ascii_case(t)))
    }

    /// A highlighted snippet of a result's stored snippet text.
    pub fn snippet(&self, plan: &QueryPlan, doc: u32, max_bytes: usize) -> Snippet {
        snippet::make(
            &self.index,
            &self.analyzer,
            plan,
            self.index.doc(doc).snippet,
            max_bytes,
        )
    }

    /// Byte ranges of the title to highlight.
    pub fn title_highlights(&self, plan: &QueryPlan, doc: u32) -> Vec<std::ops::Range<usize>> {
        snippet::highlights(&self.index, &self.analyzer, plan, self.index.doc(doc).title)
    }
}

/// The postings a query word may match, with a relative weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// The posting list.
    pub term: TermInfo,
    /// Weight relative to an exact match.
    pub weight: f32,
}

#[cfg(test)]
mod tests;
