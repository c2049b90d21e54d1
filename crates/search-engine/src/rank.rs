//! Ranking: BM25F over the postings of a plan, coordination, title tier and phrase boost; the
//! same code for a whole index and for the chunks loaded so far.
//!
//! Queries come one keystroke at a time and mostly differ from the previous one in the word being
//! typed: the sums of the finished words stay in the accumulators between queries (they are
//! reused when the next query starts with the same words, stop-word flags and alternatives),
//! the word being typed is scored apart and cleared after ranking. Decoded posting lists are
//! kept too (up to [`KEPT_POSTINGS`]), so the lists a keystroke reads again cost no decoding.

use crate::query::{QueryPlan, QueryToken, TitleWord};
use crate::{Alternative, Hit, Params, Query};
use search_index::{N_FIELDS, StoredDoc, TermInfo};

/// Most decoded postings kept between queries (16 bytes each); past it they are all dropped.
const KEPT_POSTINGS: usize = 1 << 20;

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
    /// Number of documents in the whole index.
    fn n_docs(&self) -> usize;
    /// Number of documents in a list (0 when unknown).
    fn doc_freq(&self, term: TermInfo) -> u64;
    /// Calls `f` for every posting of a list, in document order.
    fn each_posting(&self, term: TermInfo, f: impl FnMut(Posting));
    /// Whether the title rules read a document's title from its postings' title positions
    /// (a chunked index whose document chunk is not loaded) rather than from `with_title`.
    fn by_positions(&self, _doc: u32) -> bool {
        false
    }
    /// Calls `f` with a document's title words (with their lists when `terms`: only typo
    /// corrections match title words by list).
    fn with_title<R>(&self, doc: u32, terms: bool, f: impl FnOnce(&[TitleWord]) -> R) -> R;
    /// A document's ranking weight.
    fn weight(&self, doc: u32) -> f32;
    /// Whether a document passes the query's language and tag filters.
    fn passes(&self, doc: u32, q: &Query<'_>) -> bool;
}

/// One document's accumulators.
#[derive(Clone, Copy, Default)]
struct Doc {
    /// Sum over the finished words.
    score: f32,
    /// Finished words (stop words excepted) that found the document.
    matched: u16,
    /// Finished words (stop words included) that found the document.
    tokens: u16,
    /// Which of the first 64 query words found the document's title (bit i: word i).
    mask: u64,
    /// Which of the first 64 query words found the title word of the same rank (positions).
    start: u64,
    /// Last title part (1-based, 0: none) of the finished words (positions).
    head: u32,
    title_len: u8,
    seen: bool,
    /// The best alternative of the finished word being added.
    best: f32,
    /// The word being typed: its best alternative, title positions, title length, whether it
    /// found the title.
    open: f32,
    open_positions: u32,
    open_len: u8,
    open_title: bool,
}

/// A document's sums over the query words that found it.
#[derive(Clone, Copy)]
struct Sums {
    score: f32,
    matched: u16,
    tokens: u16,
    mask: u64,
    start: u64,
    title_len: u8,
}

/// Per-document accumulators of the finished words (kept between queries) and of the word
/// being typed (cleared after each query), and decoded lists.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Decoded posting lists by list number (empty: not decoded; an empty list is not kept, its
    /// chunk may arrive later).
    lists: Vec<Vec<Posting>>,
    kept: usize,
    /// The finished words whose sums the accumulators hold: stop word or not, alternatives.
    base: Vec<(bool, Vec<Alternative>)>,
    docs: Vec<Doc>,
    /// Title positions per finished word and document (positions): parts (word, positions,
    /// previous part, 1-based) linked from `Doc::head`.
    parts: Vec<(u32, u32, u32)>,
    touched: Vec<u32>,
    hit: Vec<u32>,
    /// The documents the word being typed found.
    open_hit: Vec<u32>,
}

/// The decoded postings of a list (decoded once, kept up to [`KEPT_POSTINGS`]).
fn decoded<'a>(
    lists: &'a mut Vec<Vec<Posting>>,
    kept: &mut usize,
    src: &impl Source,
    term: TermInfo,
) -> &'a [Posting] {
    let list = term.list as usize;
    if lists.get(list).is_none_or(Vec::is_empty) {
        let mut decoded = Vec::new();
        src.each_posting(term, |p| decoded.push(p));
        if *kept + decoded.len() > KEPT_POSTINGS {
            lists.clear();
            *kept = 0;
        }
        if lists.len() <= list {
            lists.resize_with(list + 1, Vec::new);
        }
        *kept += decoded.len();
        lists[list] = decoded;
    }
    &lists[list]
}

impl Scratch {
    pub(crate) fn prepare(&mut self, n: usize) {
        if self.docs.len() != n {
            *self = Scratch {
                docs: vec![Doc::default(); n],
                ..Scratch::default()
            };
        }
    }

    /// Forgets the finished words' sums (the index or the parameters changed).
    pub(crate) fn forget_sums(&mut self) {
        for &d in &self.touched {
            self.docs[d as usize] = Doc::default();
        }
        self.touched.clear();
        self.parts.clear();
        self.base.clear();
    }

    /// Adds query word `ti` to the sums (`open`: the word being typed, kept apart).
    fn add(&mut self, src: &impl Source, p: &Params, ti: usize, tok: &QueryToken, open: bool) {
        let bit = if ti < 64 { 1u64 << ti } else { 0 };
        let title_bit = if ti < 32 { 1u32 << ti } else { 0 };
        let n = src.n_docs() as f32;
        self.hit.clear();
        let hit = if open {
            &mut self.open_hit
        } else {
            &mut self.hit
        };
        for alt in &tok.alternatives {
            let df = src.doc_freq(alt.term) as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for posting in decoded(&mut self.lists, &mut self.kept, src, alt.term) {
                let tf = posting.tf;
                let s = alt.weight * idf * tf / (p.k1 + tf);
                let doc = &mut self.docs[posting.doc as usize];
                let best = if open { &mut doc.open } else { &mut doc.best };
                if *best == 0.0 {
                    hit.push(posting.doc);
                }
                if s > *best {
                    *best = s;
                }
                if !posting.in_title {
                    continue;
                }
                if open {
                    doc.open_title = true;
                    if posting.positions != 0 {
                        doc.open_len = posting.title_len;
                        doc.open_positions |= posting.positions;
                    }
                    continue;
                }
                doc.mask |= bit;
                if posting.positions != 0 {
                    doc.title_len = posting.title_len;
                    if posting.positions & title_bit != 0 {
                        doc.start |= bit;
                    }
                    self.parts.push((ti as u32, posting.positions, doc.head));
                    doc.head = self.parts.len() as u32;
                }
            }
        }
        if open {
            return;
        }
        let tok_weight = if tok.is_stop { p.stop_weight } else { 1.0 };
        for &d in &self.hit {
            let doc = &mut self.docs[d as usize];
            doc.score += tok_weight * doc.best;
            if !tok.is_stop {
                doc.matched += 1;
            }
            doc.tokens += 1;
            doc.best = 0.0;
            if !doc.seen {
                doc.seen = true;
                self.touched.push(d);
            }
        }
    }

    fn clear_open(&mut self) {
        for &d in &self.open_hit {
            let doc = &mut self.docs[d as usize];
            doc.open = 0.0;
            doc.open_positions = 0;
            doc.open_len = 0;
            doc.open_title = false;
        }
        self.open_hit.clear();
    }

    /// A document's sums: the finished words', and the word being typed (word `ti`) when it found
    /// the document.
    fn sums(&self, doc: u32, ti: usize, is_stop: bool, p: &Params) -> Sums {
        let d = &self.docs[doc as usize];
        let mut s = Sums {
            score: d.score,
            matched: d.matched,
            tokens: d.tokens,
            mask: d.mask,
            start: d.start,
            title_len: d.title_len,
        };
        if d.open != 0.0 {
            let bit = if ti < 64 { 1u64 << ti } else { 0 };
            s.score += if is_stop { p.stop_weight } else { 1.0 } * d.open;
            s.matched += u16::from(!is_stop);
            s.tokens += 1;
            if d.open_title {
                s.mask |= bit;
            }
            if d.open_positions != 0 {
                s.title_len = d.open_len;
                if ti < 32 && d.open_positions & (1 << ti) != 0 {
                    s.start |= bit;
                }
            }
        }
        s
    }

    /// Title positions found by each query word in a document (positions).
    fn positions(&self, doc: u32, words: usize, open: Option<usize>) -> Vec<u32> {
        let mut out = vec![0u32; words];
        let d = &self.docs[doc as usize];
        let mut at = d.head;
        while let Some(&(word, positions, previous)) = self.parts.get((at as usize).wrapping_sub(1))
        {
            if let Some(m) = out.get_mut(word as usize) {
                *m |= positions;
            }
            at = previous;
        }
        if let Some(m) = open.and_then(|ti| out.get_mut(ti)) {
            *m |= d.open_positions;
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
    // The finished words' sums carry over when this query starts with the last one's: the
    // same words, weights and lists.
    let kept = acc.base.len();
    let same =
        |t: &QueryToken, b: &(bool, Vec<Alternative>)| t.is_stop == b.0 && t.alternatives == b.1;
    if kept > finished.len() || !finished.iter().zip(&acc.base).all(|(t, b)| same(t, b)) {
        acc.forget_sums();
    }
    while let Some(tok) = finished.get(acc.base.len()) {
        acc.add(src, p, acc.base.len(), tok, false);
        acc.base.push((tok.is_stop, tok.alternatives.clone()));
    }
    if open_last {
        acc.add(
            src,
            p,
            plan.tokens.len() - 1,
            &plan.tokens[plan.tokens.len() - 1],
            true,
        );
    }
    let hits = select(src, p, plan, q, acc, limit, total_weight);
    acc.clear_open();
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
        // exp(c ln x), not `powf`: the widget has `ln` and `exp` already, `powf` costs 1.6 KB.
        .map(|m| (p.coordination * ((m as f32 + 1.0) / (total_weight + 1.0)).ln()).exp())
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
    let n = plan.tokens.len();
    let last = n.saturating_sub(1);
    let typos = plan.tokens.iter().any(|t| !t.corrections.is_empty());
    let last_stop = plan.tokens.last().is_some_and(|t| t.is_stop);
    let candidate = |d: u32| -> Candidate {
        // Without a word being typed no document has its part.
        let sums = acc.sums(d, last, last_stop, p);
        let mut pre = sums.score;
        if total_weight > 0.0 {
            pre *= coordination[sums.matched as usize];
        }
        // Every finished query word of a title that starts with the query found the title
        // (a title word equal to a query word is in that word's list, with the title field).
        let could_start = if n <= 64 {
            (sums.mask | open_bit) == all_bits
        } else {
            usize::from(sums.tokens) + usize::from(open_last) >= n
        };
        let tier = u8::from(if src.by_positions(d) {
            // Every query word found the title word of its rank.
            n <= 32 && usize::from(sums.title_len).min(32) >= n && sums.start == all_bits
        } else {
            could_start && src.with_title(d, typos, |t| plan.title_starts_with_query(t))
        });
        // A title run is made of query words that found the title, and perhaps the word being
        // typed (its completions are capped): that bounds the phrase boost.
        let run = if n <= 64 {
            // Only consecutive query words found in the title make a run.
            let mut bits = sums.mask | open_bit;
            let mut run = 0;
            while bits != 0 {
                bits &= bits << 1;
                run += 1;
            }
            run
        } else {
            usize::from(sums.tokens) + usize::from(open_last)
        }
        .min(n);
        let max_phrase = if run >= 2 {
            1.0 + p.phrase_boost * (run - 1) as f32
        } else {
            1.0
        };
        Candidate {
            doc: d,
            tier,
            pre,
            max_phrase,
            weight: src.weight(d),
        }
    };
    // Stored documents and titles are big and scattered: read them only when needed.
    let filtered = q.lang.is_some() || !q.tags.is_empty();
    let keep = |d: u32| !filtered || src.passes(d, q);
    // The documents the word being typed found and those every finished word found in the
    // title (they may start it) first; the finished words' other documents start no title
    // (tier 0) and are ranked only when a bound of their score reaches the k-th lower bound
    // of the first ones (the phrase rule below would drop them anyway).
    // The best `limit` (tier, lower bound) so far, and the index of the worst of them: the
    // k-th lower bound without sorting the candidates.
    let lower = |c: &Candidate| c.pre * c.weight;
    let worse = |a: (u8, f32), b: (u8, f32)| a.0 < b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut top: Vec<(u8, f32)> = Vec::with_capacity(limit);
    let mut worst = 0;
    let finished = n - usize::from(open_last);
    let fin_bits = if finished >= 64 {
        u64::MAX
    } else {
        (1u64 << finished) - 1
    };
    let best_phrase = 1.0 + p.phrase_boost * n.saturating_sub(1) as f32;
    let mut cands: Vec<Candidate> = Vec::with_capacity(acc.open_hit.len() + acc.touched.len());
    let mut threshold = None;
    for pass in 0..3 {
        let docs = if pass == 0 {
            &acc.open_hit
        } else {
            &acc.touched
        };
        for &d in docs {
            let doc = &acc.docs[d as usize];
            if pass > 0 {
                let starter = if finished < 64 {
                    doc.mask & fin_bits == fin_bits
                } else {
                    usize::from(doc.tokens) >= finished
                };
                if doc.open != 0.0 || starter != (pass == 1) {
                    continue;
                }
                if let Some((kt, kl)) = threshold {
                    let mut pre = doc.score;
                    if total_weight > 0.0 {
                        pre *= coordination[usize::from(doc.matched)];
                    }
                    if kt > 0 || pre * best_phrase * src.weight(d) * (1.0 + 1e-4) < kl {
                        continue;
                    }
                }
            }
            if !keep(d) {
                continue;
            }
            let c = candidate(d);
            let k = (c.tier, lower(&c));
            cands.push(c);
            if top.len() < limit || worse(top[worst], k) {
                if top.len() < limit {
                    top.push(k);
                } else {
                    top[worst] = k;
                }
                for i in 0..top.len() {
                    if worse(top[i], top[worst]) {
                        worst = i;
                    }
                }
            }
        }
        if pass == 1 && top.len() == limit && best_phrase >= 1.0 {
            threshold = Some(top[worst]);
        }
    }
    let exact = |c: &Candidate| -> Hit {
        let mut s = c.pre;
        // A title that starts with the query holds all of it in a row.
        let run = if c.tier > 0 {
            plan.tokens.len()
        } else if src.by_positions(c.doc) {
            longest_run(&acc.positions(c.doc, n, open_last.then_some(last)))
        } else {
            src.with_title(c.doc, typos, |t| plan.longest_title_run(t))
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
            let (kt, kl) = top[worst];
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
