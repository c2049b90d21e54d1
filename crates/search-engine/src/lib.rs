//! The FAQ query engine: BM25F, as-you-type prefixes, typo tolerance, filters and snippets.
//!
//! *Architecture invariant*: pure and synchronous, no IO, no clock; it reads a [`search_index::Index`]
//! borrowed from bytes ([`Engine`]) or a chunked index as its chunks arrive (`ChunkedEngine`, what
//! the widget runs), and builds for `wasm32-unknown-unknown`. Stems come from the index vocabulary
//! (folded surface form -> stem), so the browser build carries no stemmer.

#[cfg(feature = "chunked")]
mod chunked;
mod fuzzy;
mod query;
mod rank;
mod snippet;

#[cfg(feature = "chunked")]
pub use chunked::{ChunkedEngine, MAX_PREFIX_CHUNKS};
#[cfg(feature = "chunked")]
pub use search_index::ChunkRef;

pub use query::{QueryPlan, QueryToken, TitleWord};
pub use search_index::{Index, IndexError, StoredDoc};
pub use snippet::Snippet;

use rank::Scratch;
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
    /// Most postings read for the completions of the word being typed (the most frequent
    /// completions first; one that does not fit is skipped). Bounds a keystroke's cost on big
    /// indexes: the word being typed is the part of a keystroke that cannot be kept from the
    /// last one. The evaluation corpus never reaches it (its figures are the same from 4,000
    /// to 30,000); the first letters of a word in a 20,000-article base do (5,000 postings:
    /// the most frequent completions still cover a quarter of such a base).
    pub max_expansion_postings: u64,
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
            max_expansion_postings: 5_000,
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
    /// Completions of the shortest prefixes, for the current `max_expansions`.
    short: query::ShortPrefixes,
    /// Ranking weight per document (a copy: the stored documents are big and scattered).
    weights: Vec<f32>,
    /// BM25 length normalisation per document and field, for the current parameters.
    norms: Vec<[f32; N_FIELDS]>,
    /// Per-document accumulators reused between queries (a fresh set when two queries overlap).
    scratch: std::sync::Mutex<Scratch>,
}

impl rank::Source for Engine<'_> {
    fn n_docs(&self) -> usize {
        self.index.len()
    }
    fn doc_freq(&self, term: TermInfo) -> u64 {
        self.index.doc_freq(term)
    }
    fn each_posting(&self, term: TermInfo, mut f: impl FnMut(rank::Posting)) {
        let Ok(postings) = self.index.postings(term) else {
            return;
        };
        for posting in postings.flatten() {
            f(rank::Posting {
                doc: posting.doc,
                tf: rank::pseudo_tf(&self.params, &posting.tf, &self.norms[posting.doc as usize]),
                in_title: posting.tf[0] > 0,
                title_len: 0,
                positions: 0,
            });
        }
    }
    fn with_title<R>(&self, doc: u32, _terms: bool, f: impl FnOnce(&[TitleWord]) -> R) -> R {
        f(&self.titles[doc as usize])
    }
    fn weight(&self, doc: u32) -> f32 {
        self.weights[doc as usize]
    }
    fn passes(&self, doc: u32, q: &Query<'_>) -> bool {
        rank::passes_filters(self.index.doc(doc), q)
    }
}

fn norms(index: &Index<'_>, p: &Params) -> Vec<[f32; N_FIELDS]> {
    let avg = index.avg_field_lengths();
    (0..index.len() as u32)
        .map(|d| {
            let lens = index.field_lengths(d);
            std::array::from_fn(|f| 1.0 - p.b[f] + p.b[f] * lens[f] as f32 / avg[f].max(1.0))
        })
        .collect()
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
        let params = Params::default();
        Engine {
            weights: index.docs().iter().map(|d| d.weight).collect(),
            norms: norms(&index, &params),
            short: query::short_prefixes(&index, params.max_expansions),
            index,
            analyzer,
            params,
            titles,
            scratch: std::sync::Mutex::new(Scratch::default()),
        }
    }

    /// Replaces the ranking parameters.
    pub fn with_params(mut self, params: Params) -> Engine<'a> {
        self.norms = norms(&self.index, &params);
        // Decoded lists and sums depend on the parameters.
        self.scratch = std::sync::Mutex::new(Scratch::default());
        if params.max_expansions != self.params.max_expansions {
            self.short = query::short_prefixes(&self.index, params.max_expansions);
        }
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
        query::plan(&self.index, &self.analyzer, &self.params, &self.short, text)
    }

    /// Runs a query.
    pub fn search(&self, q: &Query<'_>) -> Vec<Hit> {
        let plan = self.plan(q.text);
        self.search_plan(&plan, q)
    }

    /// Runs an analysed query.
    ///
    /// Costs grow with the postings the query reads, not with the number of documents: the
    /// per-document accumulators are reused between queries and only touched entries are reset
    /// (the finished words' sums are kept for the next keystroke), decoded lists are kept,
    /// and the title phrase rule (the costly part) runs only on documents that can still reach
    /// the top `limit` (the k-th best score without the phrase boost is a bound on the rest).
    pub fn search_plan(&self, plan: &QueryPlan, q: &Query<'_>) -> Vec<Hit> {
        let mut fresh = None;
        let mut guard = self.scratch.try_lock().ok();
        let scratch: &mut Scratch = match guard.as_deref_mut() {
            Some(s) => s,
            None => fresh.insert(Scratch::default()),
        };
        scratch.prepare(self.index.len());
        rank::rank(self, &self.params, plan, q, scratch)
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
#[cfg(all(test, feature = "chunked"))]
mod tests_chunked;
