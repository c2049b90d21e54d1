//! Ranking: BM25F over the postings of a plan, coordination, title tier and phrase boost; the
//! same code for a whole index and for the chunks loaded so far.
//!
//! Queries come one keystroke at a time and mostly differ from the previous one in the word being
//! typed: the sums of the finished words stay in the accumulators between queries (they are
//! reused when the next query starts with the same words), the word being typed is added on top
//! and taken back after ranking. Decoded posting lists are kept too (up to [`KEPT_POSTINGS`]),
//! so the lists a keystroke reads again cost no decoding.

use crate::query::{QueryPlan, QueryToken, TitleWord};
use crate::{Hit, Params, Query};
use search_index::{N_FIELDS, StoredDoc, TermInfo};

/// Most decoded postings kept between queries (16 bytes each); past it they are all dropped.
const KEPT_POSTINGS: usize = 1 << 19;

const NONE: u32 = u32::MAX;

/// One posting as ranking reads it.
#[derive(Clone, Copy)]
pub(crate) struct Posting {
    pub(crate) doc: u32,
    /// BM25F pseudo-frequency: the field frequencies with their boosts and length norms.
    pub(crate) tf: f32,
    /// The term is in the title.
    pub(crate) in_title: bool,
    /// Number of title words, at most 255 (sources with positions only).
    pub(crate) title_len: u8,
    /// Title positions of the list's words, bit i for word i of the first 32 (sources with
    /// positions only).
    pub(crate) positions: u32,
}

/// The BM25F pseudo-frequency of one posting.
pub(crate) fn pseudo_tf(p: &Params, tfs: &[u32; N_FIELDS], norm: &[f32; N_FIELDS]) -> f32 {
    let mut tf = 0f32;
    for ((&t, &boost), &norm) in tfs.iter().zip(&p.boost).zip(norm) {
        if t > 0 {
            tf += boost * t as f32 / norm;
        }
    }
    tf
}

/// What ranking reads: posting lists, titles, weights, filters.
pub(crate) trait Source {
    /// Whether postings carry title positions: the title rules then read them, not titles.
    const POSITIONS: bool;
    /// Number of documents in the whole index.
    fn n_docs(&self) -> usize;
    /// Number of documents in a list (0 when unknown).
    fn doc_freq(&self, term: TermInfo) -> u64;
    /// Calls `f` for every posting of a list, in document order.
    fn each_posting(&self, term: TermInfo, f: impl FnMut(Posting));
    /// Calls `f` with a document's title words (sources without positions).
    fn with_title<R>(&self, _doc: u32, f: impl FnOnce(&[TitleWord]) -> R) -> R {
        f(&[])
    }
    /// A document's ranking weight.
    fn weight(&self, doc: u32) -> f32;
    /// Whether a document passes the query's language and tag filters.
    fn passes(&self, doc: u32, q: &Query<'_>) -> bool;
}

/// What the word being typed changed in one document, to take it back.
struct Undo {
    doc: u32,
    score: f32,
    matched: u16,
    tokens: u16,
    mask: u64,
    start: u64,
    head: u32,
    title_len: u8,
    seen: bool,
}

/// Per-document accumulators, the finished words they hold, and decoded lists.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Decoded posting lists by list number (non-empty ones only: a chunk may arrive later).
    lists: Vec<Option<Box<[Posting]>>>,
    kept: usize,
    /// The finished words whose sums the accumulators hold.
    base: Vec<QueryToken>,
    score: Vec<f32>,
    /// Query words (stop words excepted) that found the document.
    matched: Vec<u16>,
    /// Query words (stop words included) that found the document.
    tokens: Vec<u16>,
    /// Which of the first 64 query words found the document's title (bit i: word i).
    mask: Vec<u64>,
    /// Which of the first 64 query words found title word of the same rank (with positions).
    start: Vec<u64>,
    title_len: Vec<u8>,
    /// Title positions per query word and document (with positions): `head[doc]` is the last
    /// part, each part (word, positions, previous).
    head: Vec<u32>,
    parts: Vec<(u32, u32, u32)>,
    seen: Vec<bool>,
    touched: Vec<u32>,
    /// The best alternative of the word being added, per document.
    best: Vec<f32>,
    hit: Vec<u32>,
    undo: Vec<Undo>,
}

impl Scratch {
    pub(crate) fn prepare(&mut self, n: usize) {
        if self.score.len() != n {
            *self = Scratch {
                score: vec![0.0; n],
                matched: vec![0; n],
                tokens: vec![0; n],
                mask: vec![0; n],
                start: vec![0; n],
                title_len: vec![0; n],
                head: vec![NONE; n],
                seen: vec![false; n],
                best: vec![0.0; n],
                ..Scratch::default()
            };
        }
    }

    /// Forgets the finished words' sums (the index or the parameters changed).
    pub(crate) fn forget_sums(&mut self) {
        for &d in &self.touched {
            let d = d as usize;
            self.score[d] = 0.0;
            self.matched[d] = 0;
            self.tokens[d] = 0;
            self.mask[d] = 0;
            self.start[d] = 0;
            self.title_len[d] = 0;
            self.head[d] = NONE;
            self.seen[d] = false;
        }
        self.touched.clear();
        self.parts.clear();
        self.base.clear();
    }

    /// Adds query word `ti` to the accumulators; with `undo`, records what it changes.
    fn add(&mut self, src: &impl Source, p: &Params, ti: usize, tok: &QueryToken, undo: bool) {
        let n = src.n_docs() as f32;
        let bit = if ti < 64 { 1u64 << ti } else { 0 };
        let title_bit = if ti < 32 { 1u32 << ti } else { 0 };
        self.hit.clear();
        for alt in &tok.alternatives {
            let list = alt.term.list as usize;
            if self.lists.get(list).is_none_or(Option::is_none) {
                let mut decoded = Vec::new();
                src.each_posting(alt.term, |p| decoded.push(p));
                if !decoded.is_empty() {
                    if self.kept + decoded.len() > KEPT_POSTINGS {
                        self.lists.clear();
                        self.kept = 0;
                    }
                    if self.lists.len() <= list {
                        self.lists.resize_with(list + 1, || None);
                    }
                    self.kept += decoded.len();
                    self.lists[list] = Some(decoded.into_boxed_slice());
                }
            }
            let Some(Some(postings)) = self.lists.get(list) else {
                continue;
            };
            let df = src.doc_freq(alt.term) as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for posting in postings.iter() {
                let d = posting.doc as usize;
                let tf = posting.tf;
                let s = alt.weight * idf * tf / (p.k1 + tf);
                if self.best[d] == 0.0 {
                    self.hit.push(posting.doc);
                    if undo {
                        self.undo.push(Undo {
                            doc: posting.doc,
                            score: self.score[d],
                            matched: self.matched[d],
                            tokens: self.tokens[d],
                            mask: self.mask[d],
                            start: self.start[d],
                            head: self.head[d],
                            title_len: self.title_len[d],
                            seen: self.seen[d],
                        });
                    }
                }
                if s > self.best[d] {
                    self.best[d] = s;
                }
                if posting.in_title {
                    self.mask[d] |= bit;
                    if posting.positions != 0 {
                        self.title_len[d] = posting.title_len;
                        if posting.positions & title_bit != 0 {
                            self.start[d] |= bit;
                        }
                        self.parts
                            .push((ti as u32, posting.positions, self.head[d]));
                        self.head[d] = (self.parts.len() - 1) as u32;
                    }
                }
            }
        }
        let tok_weight = if tok.is_stop { p.stop_weight } else { 1.0 };
        for &d in &self.hit {
            let d = d as usize;
            self.score[d] += tok_weight * self.best[d];
            if !tok.is_stop {
                self.matched[d] += 1;
            }
            self.tokens[d] += 1;
            self.best[d] = 0.0;
            if !self.seen[d] {
                self.seen[d] = true;
                self.touched.push(d as u32);
            }
        }
    }

    /// Takes back the word added with `undo` (the accumulators hold the finished words again).
    fn take_back(&mut self, touched: usize, parts: usize) {
        for u in self.undo.drain(..) {
            let d = u.doc as usize;
            self.score[d] = u.score;
            self.matched[d] = u.matched;
            self.tokens[d] = u.tokens;
            self.mask[d] = u.mask;
            self.start[d] = u.start;
            self.head[d] = u.head;
            self.title_len[d] = u.title_len;
            self.seen[d] = u.seen;
        }
        self.touched.truncate(touched);
        self.parts.truncate(parts);
    }

    /// Title positions found by each query word in a document (with positions).
    fn positions(&self, doc: u32, words: usize) -> Vec<u32> {
        let mut out = vec![0u32; words];
        let mut at = self.head[doc as usize];
        while let Some(&(word, positions, previous)) = self.parts.get(at as usize) {
            if let Some(m) = out.get_mut(word as usize) {
                *m |= positions;
            }
            at = previous;
        }
        out
    }
}

/// The longest run of consecutive query words found at consecutive title positions, from each
/// word's title positions.
fn longest_run(positions: &[u32]) -> usize {
    // ends[l]: title positions where a run of l + 1 words ends at the current word.
    let mut ends = [0u32; 33];
    let mut len = 0;
    let mut best = 0;
    for &m in positions {
        let mut next = [0u32; 33];
        let mut n = 0;
        if m != 0 {
            next[0] = m;
            n = 1;
            while n <= len && n < 33 {
                let x = m & (ends[n - 1] << 1);
                if x == 0 {
                    break;
                }
                next[n] = x;
                n += 1;
            }
        }
        ends = next;
        len = n;
        best = best.max(n);
    }
    best
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
pub(crate) fn rank<S: Source>(
    src: &S,
    p: &Params,
    plan: &QueryPlan,
    q: &Query<'_>,
    acc: &mut Scratch,
) -> Vec<Hit> {
    let limit = if q.limit == 0 { 10 } else { q.limit };
    let total_weight = plan.tokens.iter().filter(|t| !t.is_stop).count() as f32;
    let open_last = plan.tokens.last().is_some_and(|t| t.open);
    let finished = &plan.tokens[..plan.tokens.len() - usize::from(open_last)];
    // The finished words' sums carry over when this query starts with the last one's.
    let kept = acc.base.len();
    if kept > finished.len() || acc.base[..] != finished[..kept] {
        acc.forget_sums();
    }
    for (ti, tok) in finished.iter().enumerate().skip(acc.base.len()) {
        acc.add(src, p, ti, tok, false);
        acc.base.push(tok.clone());
    }
    let (base_touched, base_parts) = (acc.touched.len(), acc.parts.len());
    if open_last {
        let ti = plan.tokens.len() - 1;
        acc.add(src, p, ti, &plan.tokens[ti], true);
    }
    let hits = select(src, p, plan, q, acc, limit, total_weight);
    acc.take_back(base_touched, base_parts);
    hits
}

/// The top `limit` documents of the accumulators.
fn select<S: Source>(
    src: &S,
    p: &Params,
    plan: &QueryPlan,
    q: &Query<'_>,
    acc: &Scratch,
    limit: usize,
    total_weight: f32,
) -> Vec<Hit> {
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
        let tier = u8::from(if S::POSITIONS {
            // Every query word found the title word of its rank.
            let n = plan.tokens.len();
            n <= 32 && usize::from(acc.title_len[di]).min(32) >= n && acc.start[di] == all_bits
        } else {
            could_start && src.with_title(d, |t| plan.title_starts_with_query(t))
        });
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
        } else if S::POSITIONS {
            longest_run(&acc.positions(c.doc, plan.tokens.len()))
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
