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

/// The word being typed in one document.
#[derive(Clone, Copy, Default)]
struct Open {
    best: f32,
    positions: u32,
    title_len: u8,
    in_title: bool,
}

/// A document's sums over the query words that found it.
#[derive(Clone, Copy)]
struct Sums {
    score: f32,
    /// Query words (stop words excepted) that found the document.
    matched: u16,
    /// Query words (stop words included) that found the document.
    tokens: u16,
    /// Which of the first 64 query words found the document's title (bit i: word i).
    mask: u64,
    /// Which of the first 64 query words found the title word of the same rank (positions).
    start: u64,
    title_len: u8,
}

/// Per-document accumulators of the finished words (kept between queries), of the word being
/// typed (cleared after each query), and decoded lists.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Decoded posting lists by list number (non-empty ones only: a chunk may arrive later).
    lists: Vec<Option<Box<[Posting]>>>,
    kept: usize,
    /// The finished words whose sums the accumulators hold.
    base: Vec<QueryToken>,
    score: Vec<f32>,
    matched: Vec<u16>,
    tokens: Vec<u16>,
    mask: Vec<u64>,
    start: Vec<u64>,
    title_len: Vec<u8>,
    /// Title positions per finished word and document (sources with positions): `head[doc]`
    /// is the last part, each part (word, positions, previous).
    head: Vec<u32>,
    parts: Vec<(u32, u32, u32)>,
    seen: Vec<bool>,
    touched: Vec<u32>,
    /// Whether `starters` and `order` describe the finished words.
    ordered: bool,
    /// Documents every finished word found in the title: they may start a title, so each query
    /// ranks them.
    starters: Vec<u32>,
    /// The other documents, best bound first: (bound on the final score, document). A query
    /// reads them until the bound falls below its k-th result.
    order: Vec<(f32, u32)>,
    /// The best alternative of the word being added, per document.
    best: Vec<f32>,
    hit: Vec<u32>,
    /// The word being typed, per document, and the documents it found.
    open: Vec<Open>,
    open_hit: Vec<u32>,
}

/// Calls `f(posting, score)` for every posting of a word's alternatives, from the decoded lists.
fn each_scored(
    lists: &mut Vec<Option<Box<[Posting]>>>,
    kept: &mut usize,
    src: &impl Source,
    p: &Params,
    tok: &QueryToken,
    mut f: impl FnMut(&Posting, f32),
) {
    let n = src.n_docs() as f32;
    for alt in &tok.alternatives {
        let list = alt.term.list as usize;
        if lists.get(list).is_none_or(Option::is_none) {
            let mut decoded = Vec::new();
            src.each_posting(alt.term, |p| decoded.push(p));
            if !decoded.is_empty() {
                if *kept + decoded.len() > KEPT_POSTINGS {
                    lists.clear();
                    *kept = 0;
                }
                if lists.len() <= list {
                    lists.resize_with(list + 1, || None);
                }
                *kept += decoded.len();
                lists[list] = Some(decoded.into_boxed_slice());
            }
        }
        let Some(Some(postings)) = lists.get(list) else {
            continue;
        };
        let df = src.doc_freq(alt.term) as f32;
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        for posting in postings.iter() {
            let tf = posting.tf;
            f(posting, alt.weight * idf * tf / (p.k1 + tf));
        }
    }
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
                open: vec![Open::default(); n],
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
        self.ordered = false;
    }

    /// Adds finished word `ti` to the sums.
    fn add(&mut self, src: &impl Source, p: &Params, ti: usize, tok: &QueryToken) {
        let bit = if ti < 64 { 1u64 << ti } else { 0 };
        let title_bit = if ti < 32 { 1u32 << ti } else { 0 };
        self.hit.clear();
        self.ordered = false;
        let (best, hit, mask, start, title_len, head, parts) = (
            &mut self.best,
            &mut self.hit,
            &mut self.mask,
            &mut self.start,
            &mut self.title_len,
            &mut self.head,
            &mut self.parts,
        );
        each_scored(
            &mut self.lists,
            &mut self.kept,
            src,
            p,
            tok,
            |posting, s| {
                let d = posting.doc as usize;
                if best[d] == 0.0 {
                    hit.push(posting.doc);
                }
                if s > best[d] {
                    best[d] = s;
                }
                if posting.in_title {
                    mask[d] |= bit;
                    if posting.positions != 0 {
                        title_len[d] = posting.title_len;
                        if posting.positions & title_bit != 0 {
                            start[d] |= bit;
                        }
                        parts.push((ti as u32, posting.positions, head[d]));
                        head[d] = (parts.len() - 1) as u32;
                    }
                }
            },
        );
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

    /// Scores the word being typed, apart from the finished words' sums.
    fn add_open(&mut self, src: &impl Source, p: &Params, tok: &QueryToken) {
        let (open, hit) = (&mut self.open, &mut self.open_hit);
        each_scored(
            &mut self.lists,
            &mut self.kept,
            src,
            p,
            tok,
            |posting, s| {
                let o = &mut open[posting.doc as usize];
                if o.best == 0.0 {
                    hit.push(posting.doc);
                }
                if s > o.best {
                    o.best = s;
                }
                if posting.in_title {
                    o.in_title = true;
                    if posting.positions != 0 {
                        o.title_len = posting.title_len;
                        o.positions |= posting.positions;
                    }
                }
            },
        );
    }

    fn clear_open(&mut self) {
        for &d in &self.open_hit {
            self.open[d as usize] = Open::default();
        }
        self.open_hit.clear();
    }

    /// A document's sums: the finished words', and the word being typed (word `ti`) when it found
    /// the document.
    fn sums(&self, doc: u32, ti: usize, is_stop: bool, p: &Params) -> Sums {
        let d = doc as usize;
        let mut s = Sums {
            score: self.score[d],
            matched: self.matched[d],
            tokens: self.tokens[d],
            mask: self.mask[d],
            start: self.start[d],
            title_len: self.title_len[d],
        };
        let o = self.open[d];
        if o.best != 0.0 {
            let bit = if ti < 64 { 1u64 << ti } else { 0 };
            s.score += if is_stop { p.stop_weight } else { 1.0 } * o.best;
            s.matched += u16::from(!is_stop);
            s.tokens += 1;
            if o.in_title {
                s.mask |= bit;
            }
            if o.positions != 0 {
                s.title_len = o.title_len;
                if ti < 32 && o.positions & (1 << ti) != 0 {
                    s.start |= bit;
                }
            }
        }
        s
    }

    /// Splits the finished words' documents into those that may start a title and the others,
    /// ordered by a bound on their final score for any next word (sources of `select`).
    fn order(&mut self, src: &impl Source, p: &Params) {
        if self.ordered {
            return;
        }
        self.ordered = true;
        self.starters.clear();
        self.order.clear();
        let n = self.base.len();
        let total = self.base.iter().filter(|t| !t.is_stop).count() as f32;
        let coordination: Vec<f32> = (0..=n)
            .map(|m| ((m as f32 + 1.0) / (total + 1.0)).powf(p.coordination))
            .collect();
        let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        let next = if n < 64 { 1u64 << n } else { 0 };
        let boost = p.phrase_boost;
        for &d in &self.touched {
            let di = d as usize;
            let starter = if n < 64 {
                self.mask[di] & all == all
            } else {
                usize::from(self.tokens[di]) >= n
            };
            // A negative boost lowers scores: no bound, every document is ranked.
            if starter || boost.is_nan() || boost < 0.0 {
                self.starters.push(d);
                continue;
            }
            let mut pre = self.score[di];
            if total > 0.0 {
                // More words next only lower the coordination factor.
                pre *= coordination[usize::from(self.matched[di])];
            }
            // The longest title run with the next word found in the title too.
            let run = if n < 64 {
                let mut bits = self.mask[di] | next;
                let mut run = 0;
                while bits != 0 {
                    bits &= bits << 1;
                    run += 1;
                }
                run
            } else {
                usize::from(self.tokens[di]) + 1
            }
            .min(n + 1);
            let phrase = if run >= 2 {
                1.0 + boost * (run - 1) as f32
            } else {
                1.0
            };
            let bound = pre * phrase * src.weight(d) * (1.0 + 1e-4);
            self.order.push((bound, d));
        }
        self.order
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }

    /// Title positions found by each query word in a document (sources with positions).
    fn positions(&self, doc: u32, words: usize, open: Option<usize>) -> Vec<u32> {
        let mut out = vec![0u32; words];
        let mut at = self.head[doc as usize];
        while let Some(&(word, positions, previous)) = self.parts.get(at as usize) {
            if let Some(m) = out.get_mut(word as usize) {
                *m |= positions;
            }
            at = previous;
        }
        if let Some(m) = open.and_then(|ti| out.get_mut(ti)) {
            *m |= self.open[doc as usize].positions;
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
        acc.add(src, p, ti, tok);
        acc.base.push(tok.clone());
    }
    acc.order(src, p);
    if open_last {
        acc.add_open(src, p, &plan.tokens[plan.tokens.len() - 1]);
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
    let n = plan.tokens.len();
    let last = n.saturating_sub(1);
    let last_stop = plan.tokens.last().is_some_and(|t| t.is_stop);
    let candidate = |d: u32| -> Candidate {
        let sums = if open_last {
            acc.sums(d, last, last_stop, p)
        } else {
            acc.sums(d, usize::MAX, false, p)
        };
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
        let tier = u8::from(if S::POSITIONS {
            // Every query word found the title word of its rank.
            n <= 32 && usize::from(sums.title_len).min(32) >= n && sums.start == all_bits
        } else {
            could_start && src.with_title(d, |t| plan.title_starts_with_query(t))
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
    // The documents the word being typed found, and those that may start a title: all of them.
    let mut cands: Vec<Candidate> = Vec::new();
    for &d in &acc.open_hit {
        if keep(d) {
            cands.push(candidate(d));
        }
    }
    for &d in &acc.starters {
        if acc.open[d as usize].best == 0.0 && keep(d) {
            cands.push(candidate(d));
        }
    }
    // The others start no title (tier 0): best bound first, while one of them could still
    // make the top `limit` (a bound below the k-th lower bound so far stays below the final
    // one, and the phrase rule below drops whatever cannot beat it).
    let lower = |c: &Candidate| c.pre * c.weight;
    let mut top: Vec<(u8, f32)> = Vec::with_capacity(limit + 1);
    let note = |top: &mut Vec<(u8, f32)>, c: &Candidate| {
        let k = (c.tier, lower(c));
        let at = top.partition_point(|x| x.0 > k.0 || (x.0 == k.0 && x.1 >= k.1));
        if at < limit {
            top.insert(at, k);
            top.truncate(limit);
        }
    };
    for c in &cands {
        note(&mut top, c);
    }
    for &(bound, d) in &acc.order {
        if let Some(&(kt, kl)) = top.get(limit - 1)
            && (kt > 0 || bound < kl)
        {
            break;
        }
        if acc.open[d as usize].best != 0.0 || !keep(d) {
            continue;
        }
        let c = candidate(d);
        note(&mut top, &c);
        cands.push(c);
    }
    let exact = |c: &Candidate| -> Hit {
        let mut s = c.pre;
        // A title that starts with the query holds all of it in a row.
        let run = if c.tier > 0 {
            plan.tokens.len()
        } else if S::POSITIONS {
            longest_run(&acc.positions(c.doc, n, open_last.then_some(last)))
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
