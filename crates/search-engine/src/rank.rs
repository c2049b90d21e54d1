//! Ranking: BM25F over the postings of a plan, coordination, title tier and phrase boost; the
//! same code for a whole index and for the chunks loaded so far.

use crate::query::{QueryPlan, TitleWord};
use crate::{Hit, Params, Query};
use search_index::{N_FIELDS, StoredDoc, TermInfo};

/// What ranking reads: posting lists with BM25 length normalisations, titles, weights, filters.
pub(crate) trait Source {
    /// Number of documents in the whole index.
    fn n_docs(&self) -> usize;
    /// Number of documents in a list (0 when unknown).
    fn doc_freq(&self, term: TermInfo) -> u64;
    /// Calls `f(doc, tf, norm)` for every posting of a list, in document order.
    fn each_posting(&self, term: TermInfo, f: impl FnMut(u32, &[u32; N_FIELDS], &[f32; N_FIELDS]));
    /// Calls `f` with a document's title words.
    fn with_title<R>(&self, doc: u32, f: impl FnOnce(&[TitleWord]) -> R) -> R;
    /// A document's ranking weight.
    fn weight(&self, doc: u32) -> f32;
    /// Whether a document passes the query's language and tag filters.
    fn passes(&self, doc: u32, q: &Query<'_>) -> bool;
}

/// Per-document accumulators of one query; only the touched entries are non-zero between queries.
#[derive(Default)]
pub(crate) struct Scratch {
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
    pub(crate) fn prepare(&mut self, n: usize) {
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
    pub(crate) fn reset(&mut self) {
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

/// BM25 length normalisation of every field for the given lengths (as `Engine::new` computes
/// them per document).
#[cfg(feature = "chunked")]
pub(crate) fn norm(p: &Params, lens: [f32; N_FIELDS], avg: [f32; N_FIELDS]) -> [f32; N_FIELDS] {
    std::array::from_fn(|f| 1.0 - p.b[f] + p.b[f] * lens[f] / avg[f].max(1.0))
}

/// Whether a stored document passes the language and tag filters.
pub(crate) fn passes_filters(doc: &StoredDoc<'_>, q: &Query<'_>) -> bool {
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

/// Ranks the documents a plan finds.
pub(crate) fn rank(
    src: &impl Source,
    p: &Params,
    plan: &QueryPlan,
    q: &Query<'_>,
    acc: &mut Scratch,
) -> Vec<Hit> {
    let n = src.n_docs();
    let limit = if q.limit == 0 { 10 } else { q.limit };
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
            let df = src.doc_freq(alt.term) as f32;
            let idf = (1.0 + (n as f32 - df + 0.5) / (df + 0.5)).ln();
            src.each_posting(alt.term, |doc, tfs, norm| {
                let d = doc as usize;
                let mut tf = 0f32;
                for ((&t, &boost), &norm) in tfs.iter().zip(&p.boost).zip(norm) {
                    if t > 0 {
                        tf += boost * t as f32 / norm;
                    }
                }
                if tfs[0] > 0 {
                    acc.mask[d] |= bit;
                }
                let s = alt.weight * idf * tf / (p.k1 + tf);
                let best = &mut acc.best[d];
                if *best == 0.0 {
                    hit_docs.push(doc);
                }
                if s > *best {
                    *best = s;
                }
            });
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
        if filtered && !src.passes(d, q) {
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
        let tier = u8::from(could_start && src.with_title(d, |t| plan.title_starts_with_query(t)));
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
            weight: src.weight(d),
        });
    }
    let exact = |c: &Candidate| -> Hit {
        let mut s = c.pre;
        // A title that starts with the query holds all of it in a row.
        let run = if c.tier > 0 {
            plan.tokens.len()
        } else {
            src.with_title(c.doc, |t| plan.longest_title_run(t))
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
                top.sort_unstable_by(|a, b| {
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
                let done =
                    best_left.is_none_or(|(t, u)| t < kth.tier || (t == kth.tier && u < kth.score));
                if done {
                    break top;
                }
                m = (m * 2).min(pool.len());
            }
        };
    // Documents are distinct: a total order, so an unstable sort gives the same order.
    hits.sort_unstable_by(|a, b| {
        b.tier
            .cmp(&a.tier)
            .then(b.score.total_cmp(&a.score))
            .then(a.doc.cmp(&b.doc))
    });
    hits.truncate(limit);
    hits
}
