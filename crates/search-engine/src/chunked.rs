//! Queries over a chunked index, with the chunks loaded so far: which chunks a query needs, adding
//! a chunk, and ranking with what is there.
//!
//! With every chunk loaded (a bundle, or an entry whose chunks all arrived) it ranks as a whole
//! index ([`crate::Engine`]) does: postings carry exact field lengths, typo corrections are
//! searched in every loaded chunk, and a document whose document chunk is loaded has its title
//! read from the stored title. What differs while chunks are missing, on purpose:
//! - completions come from the loaded term chunks only: the word being typed asks for the
//!   chunks of its prefix (or, when the prefix spans more than [`MAX_PREFIX_CHUNKS`] chunks,
//!   only the chunk where the prefix itself sorts), and corrections from the chunks loaded;
//! - the title of a document whose document chunk is not loaded yet is rebuilt from the
//!   postings' title positions: a query word matches a title word when the title word's list is
//!   one of the word's alternatives (same stem, a loaded completion, a correction), not by
//!   comparing surface forms;
//! - language and tag filters apply to documents whose document chunk is loaded only.

use crate::fuzzy::Keys;
use crate::query::{self, Dict, ShortPrefixes, TitleWord};
use crate::rank::{self, Scratch, Source};
use crate::{Hit, Params, Query, QueryPlan, Snippet, StoredDoc};
use search_index::{Bundle, ChunkRef, DocChunk, Entry, IndexError, TermChunk, TermInfo};
use std::cell::RefCell;
use text_analysis::Analyzer;

/// The word being typed loads all the chunks of its prefix up to this many; past it, only the
/// chunk where the prefix sorts (a one-letter prefix of a big index spans dozens of chunks).
pub const MAX_PREFIX_CHUNKS: usize = 2;

const NONE: u32 = u32::MAX;

/// A query engine over the entry of a chunked index and the chunks added so far.
pub struct ChunkedEngine {
    entry: Entry,
    analyzer: Analyzer,
    params: Params,
    /// Term chunks by number, `None` until loaded (vectors: no map code in the widget).
    terms: Vec<Option<TermChunk>>,
    /// Which loaded term chunk holds each list, by list number (`NONE`: none yet).
    lists: Vec<u32>,
    docs: Vec<Option<DocChunk>>,
    /// Whether each document's chunk is loaded (asked per candidate by the title rules).
    loaded: Vec<bool>,
    /// Completions of the shortest prefixes over the loaded keys; `None` after a chunk was
    /// added (computed again by the next query, not per chunk).
    short: RefCell<Option<ShortPrefixes>>,
    /// Title words of documents whose document chunk is loaded, read on first use (as a
    /// whole index reads them), without their lists: only typo corrections need those.
    titles: RefCell<Vec<Option<Vec<TitleWord>>>>,
    scratch: RefCell<Scratch>,
}

impl ChunkedEngine {
    /// An engine over an entry file (no chunk loaded yet) or a bundle (every chunk loaded).
    pub fn from_bytes(bytes: &[u8]) -> Result<ChunkedEngine, IndexError> {
        let Bundle { entry, chunks } = Bundle::from_bytes(bytes)?;
        let n_terms = entry.n_term_chunks();
        let mut engine = ChunkedEngine {
            analyzer: Analyzer::for_lang(entry.lang()),
            params: Params::default(),
            terms: (0..n_terms).map(|_| None).collect(),
            lists: Vec::new(),
            docs: (0..entry.n_doc_chunks()).map(|_| None).collect(),
            loaded: vec![false; entry.len()],
            entry,
            short: RefCell::new(None),
            titles: RefCell::new(Vec::new()),
            scratch: RefCell::new(Scratch::default()),
        };
        for (i, file) in chunks.into_iter().enumerate() {
            let (docs, index) = if i < n_terms {
                (false, i)
            } else {
                (true, i - n_terms)
            };
            engine.put(docs, index, file.to_vec())?;
        }
        Ok(engine)
    }

    /// Replaces the ranking parameters.
    pub fn with_params(mut self, params: Params) -> ChunkedEngine {
        self.params = params;
        self.short = RefCell::new(None);
        // Decoded lists and sums depend on the parameters.
        self.scratch = RefCell::new(Scratch::default());
        self
    }

    /// The entry: global statistics and the chunk tables.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The term chunks `text` needs, loaded or not, in key order.
    pub fn chunks_for(&self, text: &str) -> Vec<ChunkRef> {
        let tokens = self.analyzer.analyze(text);
        let open_end = tokens.last().is_some_and(|t| t.end == text.len());
        let wanted = RefCell::new(vec![false; self.entry.n_term_chunks()]);
        let want = |i: usize| {
            if let Some(w) = wanted.borrow_mut().get_mut(i) {
                *w = true;
            }
        };
        for (i, t) in tokens.iter().enumerate() {
            let w = &t.surface;
            want(self.entry.term_chunk_of(w));
            if open_end && i + 1 == tokens.len() {
                let range = self.entry.term_chunks_for_prefix(w);
                if range.len() <= MAX_PREFIX_CHUNKS {
                    range.for_each(want);
                }
            } else {
                // The stem guess looks up shorter keys the word starts with.
                search_index::guess_stem(w, |k| {
                    want(self.entry.term_chunk_of(k));
                    None::<()>
                });
            }
        }
        let wanted = wanted.into_inner();
        (0..wanted.len())
            .filter(|&i| wanted[i])
            .map(|i| self.entry.term_chunk(i))
            .collect()
    }

    /// The term chunks `text` needs that are not loaded yet.
    pub fn missing_for(&self, text: &str) -> Vec<ChunkRef> {
        self.chunks_for(text)
            .into_iter()
            .filter(|c| !self.has(c))
            .collect()
    }

    /// The document chunks the hits need to be shown that are not loaded yet.
    pub fn missing_docs(&self, hits: &[Hit]) -> Vec<ChunkRef> {
        let mut out: Vec<ChunkRef> = Vec::new();
        for h in hits {
            let c = self.entry.doc_chunk(self.entry.doc_chunk_of(h.doc));
            if !self.has(&c) && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Adds a loaded chunk (as named by [`ChunkedEngine::chunks_for`] or
    /// [`ChunkedEngine::missing_docs`]).
    pub fn add(&mut self, chunk: &ChunkRef, bytes: Vec<u8>) -> Result<(), IndexError> {
        // A chunk of another entry (the index was rebuilt meanwhile) has no place here: its
        // content hash is not the one this entry names.
        if self.entry.chunk_hash(chunk.docs, chunk.index)
            != Some(search_index::content_hash(&bytes))
        {
            return Err(IndexError::Corrupt { section: "entry" });
        }
        self.put(chunk.docs, chunk.index, bytes)
    }

    /// Reads a chunk the entry names into its place.
    fn put(&mut self, docs: bool, index: usize, bytes: Vec<u8>) -> Result<(), IndexError> {
        if docs {
            let chunk = DocChunk::from_bytes(&bytes)?;
            for d in chunk.range() {
                if let Some(l) = self.loaded.get_mut(d as usize) {
                    *l = true;
                }
            }
            self.docs[index] = Some(chunk);
        } else {
            self.add_terms(index, TermChunk::from_bytes(bytes)?);
        }
        Ok(())
    }

    fn add_terms(&mut self, index: usize, terms: TermChunk) {
        for list in terms.lists() {
            let list = list as usize;
            if list >= self.lists.len() {
                self.lists.resize(list + 1, NONE);
            }
            if self.lists[list] == NONE {
                self.lists[list] = index as u32;
            }
        }
        self.terms[index] = Some(terms);
        self.short = RefCell::new(None);
        // The plans of the words already typed may change with the new keys.
        self.scratch.get_mut().forget_sums();
    }

    /// Whether a chunk is loaded.
    pub fn has(&self, chunk: &ChunkRef) -> bool {
        let loaded = if chunk.docs {
            self.docs.get(chunk.index).map(Option::is_some)
        } else {
            self.terms.get(chunk.index).map(Option::is_some)
        };
        loaded == Some(true)
    }

    /// Analyses a query with the loaded chunks.
    pub fn plan(&self, text: &str) -> QueryPlan {
        let mut short = self.short.borrow_mut();
        let short =
            short.get_or_insert_with(|| query::short_prefixes(self, self.params.max_expansions));
        query::plan(self, &self.analyzer, &self.params, short, text)
    }

    /// Runs a query with the loaded chunks.
    pub fn search(&self, q: &Query<'_>) -> Vec<Hit> {
        let plan = self.plan(q.text);
        self.search_plan(&plan, q)
    }

    /// Runs an analysed query with the loaded chunks.
    pub fn search_plan(&self, plan: &QueryPlan, q: &Query<'_>) -> Vec<Hit> {
        let mut scratch = self.scratch.borrow_mut();
        scratch.prepare(self.entry.len());
        rank::rank(self, &self.params, plan, q, &mut scratch)
    }

    /// A stored document, when its chunk is loaded.
    pub fn doc(&self, doc: u32) -> Option<StoredDoc<'_>> {
        self.docs
            .get(self.entry.doc_chunk_of(doc))?
            .as_ref()?
            .doc(doc)
    }

    /// A highlighted snippet of a result's stored snippet text, when its chunk is loaded.
    pub fn snippet(&self, plan: &QueryPlan, doc: u32, max_bytes: usize) -> Option<Snippet> {
        let text = self.doc(doc)?.snippet;
        Some(crate::snippet::make(
            self,
            &self.analyzer,
            plan,
            text,
            max_bytes,
        ))
    }

    fn chunk_of_list(&self, list: u32) -> Option<&TermChunk> {
        let chunk = *self.lists.get(list as usize)?;
        self.terms.get(chunk as usize)?.as_ref()
    }
}

impl Dict for ChunkedEngine {
    fn term_bytes(&self, key: &[u8]) -> Option<TermInfo> {
        let key_str = std::str::from_utf8(key).ok()?;
        self.terms
            .get(self.entry.term_chunk_of(key_str))?
            .as_ref()?
            .term_bytes(key)
    }
    fn doc_freq(&self, term: TermInfo) -> u64 {
        self.chunk_of_list(term.list)
            .and_then(|c| c.doc_freq(term.list))
            .unwrap_or(0)
    }
    fn search(&self, prefix: &str, aut: Keys<'_>, mut f: impl FnMut(&[u8], TermInfo)) {
        // Completions come from the chunks of their prefix; typo corrections from every loaded
        // chunk (as a whole index searches every key), so a fully loaded index corrects alike.
        let range = match aut {
            Keys::Prefix(_) => self.entry.term_chunks_for_prefix(prefix),
            _ => 0..self.terms.len(),
        };
        self.stream(range, aut, &mut f);
    }
    fn each_key(&self, mut f: impl FnMut(&[u8], TermInfo)) {
        // The empty prefix, not `Map::stream`: a second automaton type would cost the widget a
        // second copy of fst's stream code.
        let all = Keys::Prefix(fst::Automaton::starts_with(fst::automaton::Str::new("")));
        self.stream(0..self.terms.len(), all, &mut f);
    }
}

impl ChunkedEngine {
    /// Streams the keys the automaton accepts in the loaded chunks of `range`, in key order
    /// (one copy of the code for every caller: `f` is not generic).
    fn stream(
        &self,
        range: std::ops::Range<usize>,
        aut: Keys<'_>,
        f: &mut dyn FnMut(&[u8], TermInfo),
    ) {
        use fst::{IntoStreamer, Streamer};
        let Some(terms) = self.terms.get(range) else {
            return;
        };
        for chunk in terms.iter().flatten() {
            let mut stream = chunk.terms().search(aut.clone()).into_stream();
            while let Some((key, code)) = stream.next() {
                f(key, TermInfo::from_code(code));
            }
        }
    }

    /// The title words of a document whose document chunk is loaded, as a whole index reads
    /// them.
    fn title_words(&self, doc: u32, terms: bool) -> Vec<TitleWord> {
        let Some(d) = self.doc(doc) else {
            return Vec::new();
        };
        self.analyzer
            .analyze(d.title)
            .into_iter()
            .map(|t| TitleWord {
                term: terms
                    .then(|| {
                        self.term(&t.surface).or_else(|| {
                            search_index::guess_stem(&t.surface, |k| {
                                self.term(k).filter(|t| !t.is_stop)
                            })
                        })
                    })
                    .flatten(),
                surface: t.surface,
            })
            .collect()
    }
}

impl Source for ChunkedEngine {
    fn n_docs(&self) -> usize {
        self.entry.len()
    }
    fn doc_freq(&self, term: TermInfo) -> u64 {
        Dict::doc_freq(self, term)
    }
    fn each_posting(&self, term: TermInfo, mut f: impl FnMut(rank::Posting)) {
        let Some(chunk) = self.chunk_of_list(term.list) else {
            return;
        };
        let avg = self.entry.avg_field_lengths();
        let _ = chunk.each_posting(term.list, self.entry.tf_table(), |p| {
            let lengths = p.lengths.map(|l| l as f32);
            f(rank::Posting {
                doc: p.doc,
                tf: rank::pseudo_tf(&self.params, &p.tf, &rank::norm(&self.params, lengths, avg)),
                in_title: p.tf[0] > 0,
                title_len: p.lengths[0].min(255) as u8,
                positions: p.title_mask,
            });
        });
    }
    fn by_positions(&self, doc: u32) -> bool {
        !self.loaded.get(doc as usize).is_some_and(|&l| l)
    }
    fn with_title<R>(&self, doc: u32, terms: bool, f: impl FnOnce(&[TitleWord]) -> R) -> R {
        if terms {
            // Typo corrections match title words by list: looked up each time (rare).
            return f(&self.title_words(doc, true));
        }
        let mut titles = self.titles.borrow_mut();
        let d = doc as usize;
        if titles.len() <= d {
            titles.resize_with(d + 1, || None);
        }
        f(titles[d].get_or_insert_with(|| self.title_words(doc, false)))
    }
    fn weight(&self, doc: u32) -> f32 {
        self.entry.weight(doc)
    }
    fn passes(&self, doc: u32, q: &Query<'_>) -> bool {
        self.doc(doc).is_none_or(|d| rank::passes_filters(&d, q))
    }
}
