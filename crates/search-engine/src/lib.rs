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
    /// Most postings read for the completions of the word being typed (the most frequent
    /// completions first; one that does not fit is skipped). Bounds a keystroke's cost on big
    /// indexes; knowledge bases of a few thousand articles never reach it.
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
            max_expansion_postings: 30_000,
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

/// Per-document accumulators of one query; only the touched entries are non-zero between queries.
#[derive(Default)]
struct Scratch {
    score: Vec<f32>,
    matched: Vec<f32>,
    best: Vec<f32>,
    seen: Vec<bool>,
    /// Query words (stop words included) that found the document.
    tokens: Vec<u16>,
    /// Which of the first 64 query words found the document's title (bit i: word i).
    mask: Vec<u64>,
    touched: Vec<u32>,
}

impl Scratch {
    fn prepare(&mut self, n: usize) {
        if self.score.len() != n {
            *self = Scratch {
                score: vec![0.0; n],
                matched: vec![0.0; n],
                best: vec![0.0; n],
                seen: vec![false; n],
                tokens: vec![0; n],
                mask: vec![0; n],
                touched: Vec::new(),
            };
        }
    }
    fn reset(&mut self) {
        for &d in &self.touched {
            let d = d as usize;
            self.score[d] = 0.0;
            self.matched[d] = 0.0;
            self.best[d] = 0.0;
            self.seen[d] = false;
            self.tokens[d] = 0;
            self.mask[d] = 0;
        }
        self.touched.clear();
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
    /// per-document accumulators are reused between queries and only touched entries are reset,
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
        let hits = self.rank(plan, q, scratch);
        scratch.reset();
        hits
    }

    fn rank(&self, plan: &QueryPlan, q: &Query<'_>, acc: &mut Scratch) -> Vec<Hit> {
        let n = self.index.len();
        let limit = if q.limit == 0 { 10 } else { q.limit };
        let p = &self.params;
        let mut total_weight = 0f32;
        let mut hit_docs: Vec<u32> = Vec::new();
        for (ti, tok) in plan.tokens.iter().enumerate() {
            let bit = if ti < 64 { 1u64 << ti } else { 0 };
            let tok_weight = if tok.is_stop { p.stop_weight } else { 1.0 };
            if !tok.is_stop {
                total_weight += 1.0;
            }
            hit_docs.clear();
            for alt in &tok.alternatives {
                let Ok(postings) = self.index.postings(alt.term) else {
                    continue;
                };
                let df = postings.doc_freq() as f32;
                let idf = (1.0 + (n as f32 - df + 0.5) / (df + 0.5)).ln();
                for posting in postings.flatten() {
                    let d = posting.doc as usize;
                    let norm = &self.norms[d];
                    let mut tf = 0f32;
                    for ((&t, &boost), &norm) in posting.tf.iter().zip(&p.boost).zip(norm) {
                        if t > 0 {
                            tf += boost * t as f32 / norm;
                        }
                    }
                    if posting.tf[0] > 0 {
                        acc.mask[d] |= bit;
                    }
                    let s = alt.weight * idf * tf / (p.k1 + tf);
                    let best = &mut acc.best[d];
                    if *best == 0.0 {
                        hit_docs.push(posting.doc);
                    }
                    if s > *best {
                        *best = s;
                    }
                }
            }
            for &d in &hit_docs {
                let d = d as usize;
                acc.score[d] += tok_weight * acc.best[d];
                if !tok.is_stop {
                    acc.matched[d] += 1.0;
                }
                acc.tokens[d] += 1;
                acc.best[d] = 0.0;
                if !acc.seen[d] {
                    acc.seen[d] = true;
                    acc.touched.push(d as u32);
                }
            }
        }
        // The coordination factor takes one value per number of matched words.
        let coordination: Vec<f32> = (0..=plan.tokens.len())
            .map(|m| ((m as f32 + 1.0) / (total_weight + 1.0)).powf(p.coordination))
            .collect();
        let open_last = plan.tokens.last().is_some_and(|t| t.open);
        let all_bits = match plan.tokens.len() {
            64.. => u64::MAX,
            n => (1u64 << n) - 1,
        };
        let open_bit = match plan.tokens.len() {
            n @ 1..=64 if open_last => 1u64 << (n - 1),
            _ => 0,
        };
        struct Candidate {
            doc: u32,
            tier: u8,
            /// Score before the phrase boost and the document weight.
            pre: f32,
            /// Largest phrase boost the document can get.
            max_phrase: f32,
            weight: f32,
        }
        let mut cands: Vec<Candidate> = Vec::with_capacity(acc.touched.len());
        // Stored documents and titles are big and scattered: read them only when needed.
        let filtered = q.lang.is_some() || !q.tags.is_empty();
        for &d in &acc.touched {
            if filtered && !self.passes_filters(self.index.doc(d), q) {
                continue;
            }
            let di = d as usize;
            let mut pre = acc.score[di];
            if total_weight > 0.0 {
                pre *= coordination[acc.matched[di] as usize];
            }
            // Every finished query word of a title that starts with the query found the title
            // (a title word equal to a query word is in that word's list, with the title field).
            let could_start = if plan.tokens.len() <= 64 {
                (acc.mask[di] | open_bit) == all_bits
            } else {
                usize::from(acc.tokens[di]) + usize::from(open_last) >= plan.tokens.len()
            };
            let tier = u8::from(could_start && plan.title_starts_with_query(&self.titles[di]));
            // A title run is made of query words that found the title, and perhaps the word being
            // typed (its completions are capped): that bounds the phrase boost.
            let run = if plan.tokens.len() <= 64 {
                // Only consecutive query words found in the title make a run.
                let mut bits = acc.mask[di] | open_bit;
                let mut run = 0;
                while bits != 0 {
                    bits &= bits << 1;
                    run += 1;
                }
                run
            } else {
                usize::from(acc.tokens[di]) + usize::from(open_last)
            }
            .min(plan.tokens.len());
            let max_phrase = if run >= 2 {
                1.0 + p.phrase_boost * (run - 1) as f32
            } else {
                1.0
            };
            cands.push(Candidate {
                doc: d,
                tier,
                pre,
                max_phrase,
                weight: self.weights[di],
            });
        }
        let exact = |c: &Candidate| -> Hit {
            let mut s = c.pre;
            // A title that starts with the query holds all of it in a row.
            let run = if c.tier > 0 {
                plan.tokens.len()
            } else {
                plan.longest_title_run(&self.titles[c.doc as usize])
            };
            if run >= 2 {
                s *= 1.0 + p.phrase_boost * (run - 1) as f32;
            }
            s *= c.weight;
            Hit {
                doc: c.doc,
                tier: c.tier,
                score: s,
            }
        };
        let mut hits: Vec<Hit> =
            if cands.len() <= limit || p.phrase_boost.is_nan() || p.phrase_boost < 0.0 {
                cands.iter().map(exact).collect()
            } else {
                // Without the phrase boost every score is a lower bound of the final one, and with
                // the largest boost an upper bound: whatever cannot beat the k-th lower bound is out.
                let lower = |c: &Candidate| c.pre * c.weight;
                let key = |c: &Candidate| (c.tier, lower(c));
                cands.select_nth_unstable_by(limit - 1, |a, b| {
                    let (ta, la) = key(a);
                    let (tb, lb) = key(b);
                    tb.cmp(&ta).then(lb.total_cmp(&la))
                });
                let (kt, kl) = key(&cands[limit - 1]);
                let upper = |c: &Candidate| c.pre * c.max_phrase * c.weight * (1.0 + 1e-5);
                let mut pool: Vec<&Candidate> = cands
                    .iter()
                    .filter(|c| c.tier > kt || (c.tier == kt && upper(c) >= kl))
                    .collect();
                // Then best upper bounds first, in growing rounds, until the k-th exact score beats
                // every bound left: the phrase rule runs on a few times `limit` documents.
                let by_upper = |a: &&Candidate, b: &&Candidate| {
                    b.tier.cmp(&a.tier).then(upper(b).total_cmp(&upper(a)))
                };
                let mut m = (4 * limit).min(pool.len());
                loop {
                    if m < pool.len() {
                        pool.select_nth_unstable_by(m - 1, by_upper);
                    }
                    let mut top: Vec<Hit> = pool[..m].iter().map(|c| exact(c)).collect();
                    if m == pool.len() {
                        break top;
                    }
                    top.sort_by(|a, b| {
                        b.tier
                            .cmp(&a.tier)
                            .then(b.score.total_cmp(&a.score))
                            .then(a.doc.cmp(&b.doc))
                    });
                    let best_left = pool[m..]
                        .iter()
                        .map(|c| (c.tier, upper(c)))
                        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                    let kth = &top[limit - 1];
                    let done = best_left
                        .is_none_or(|(t, u)| t < kth.tier || (t == kth.tier && u < kth.score));
                    if done {
                        break top;
                    }
                    m = (m * 2).min(pool.len());
                }
            };
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
