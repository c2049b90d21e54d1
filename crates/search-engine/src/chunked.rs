//! Queries over a chunked index, with the chunks loaded so far: which chunks a query needs, adding
//! a chunk, and ranking with what is there.
//!
//! What differs from a whole index ([`crate::Engine`]), on purpose:
//! - completions and typo corrections come from the loaded term chunks only: the word being typed
//!   asks for the chunks of its prefix (or, when the prefix spans more than
//!   [`MAX_PREFIX_CHUNKS`] chunks, only the chunk where the prefix itself sorts), and typo
//!   corrections are searched in the loaded chunks of the word's first letter, so a typo in the
//!   first letters of a word may find nothing a whole index would have found;
//! - field lengths come from one byte per field in each posting (exact below 128 tokens, then
//!   within 2%), so scores differ slightly;
//! - titles are rebuilt from the postings' title positions: a query word matches a title word
//!   when the title word's list is one of the word's alternatives (same stem, a loaded
//!   completion, a correction), not by comparing surface forms;
//! - language and tag filters apply to documents whose document chunk is loaded only.

use crate::query::{self, Dict, ShortPrefixes};
use crate::rank::{self, Scratch, Source};
use crate::{Hit, Params, Query, QueryPlan, Snippet, StoredDoc};
use search_index::{ChunkRef, DocChunk, Entry, IndexError, N_FIELDS, TermChunk, TermInfo};
use std::cell::RefCell;
use std::collections::HashMap;
use text_analysis::Analyzer;

/// The word being typed loads all the chunks of its prefix up to this many; past it, only the
/// chunk where the prefix sorts (a one-letter prefix of a big index spans dozens of chunks).
pub const MAX_PREFIX_CHUNKS: usize = 2;

/// A query engine over the entry of a chunked index and the chunks added so far.
pub struct ChunkedEngine {
    entry: Entry,
    analyzer: Analyzer,
    params: Params,
    /// Term chunks by number, `None` until loaded (vectors: no map code in the widget).
    terms: Vec<Option<TermChunk>>,
    /// Which loaded term chunk holds each list.
    lists: HashMap<u32, usize, search_index::FnvBuild>,
    docs: Vec<Option<DocChunk>>,
    /// Completions of the shortest prefixes over the loaded keys; `None` after a chunk was
    /// added (computed again by the next query, not per chunk).
    short: RefCell<Option<ShortPrefixes>>,
    scratch: RefCell<Scratch>,
    /// BM25 length normalisation per field and length byte, for the current parameters.
    norms: Box<[[f32; N_FIELDS]; 256]>,
}

fn norm_table(p: &Params, avg: [f32; N_FIELDS]) -> Box<[[f32; N_FIELDS]; 256]> {
    let mut t = Box::new([[1.0; N_FIELDS]; 256]);
    for (b, row) in t.iter_mut().enumerate() {
        *row = rank::norm(p, [search_index::length_of_byte(b as u8); N_FIELDS], avg);
    }
    t
}

impl ChunkedEngine {
    /// An engine over an entry file, with no chunk loaded yet.
    pub fn from_entry(bytes: &[u8]) -> Result<ChunkedEngine, IndexError> {
        let entry = Entry::from_bytes(bytes)?;
        let terms = (0..entry.n_term_chunks()).map(|_| None).collect();
        let docs = (0..entry.n_doc_chunks()).map(|_| None).collect();
        Ok(ChunkedEngine {
            norms: norm_table(&Params::default(), entry.avg_field_lengths()),
            analyzer: Analyzer::for_lang(entry.lang()),
            entry,
            params: Params::default(),
            terms,
            lists: HashMap::default(),
            docs,
            short: RefCell::new(None),
            scratch: RefCell::new(Scratch::default()),
        })
    }

    /// Replaces the ranking parameters.
    pub fn with_params(mut self, params: Params) -> ChunkedEngine {
        self.norms = norm_table(&params, self.entry.avg_field_lengths());
        self.params = params;
        self.short = RefCell::new(None);
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
        // A chunk named by another entry (the index was rebuilt meanwhile) has no place here.
        let count = if chunk.docs {
            self.entry.n_doc_chunks()
        } else {
            self.entry.n_term_chunks()
        };
        let named = chunk.index < count
            && if chunk.docs {
                self.entry.doc_chunk(chunk.index) == *chunk
            } else {
                self.entry.term_chunk(chunk.index) == *chunk
            };
        if !named {
            return Err(IndexError::Corrupt { section: "entry" });
        }
        if chunk.docs {
            self.docs[chunk.index] = Some(DocChunk::from_bytes(&bytes)?);
            return Ok(());
        }
        let terms = TermChunk::from_bytes(bytes)?;
        for list in terms.lists() {
            self.lists.entry(list).or_insert(chunk.index);
        }
        self.terms[chunk.index] = Some(terms);
        self.short = RefCell::new(None);
        // The plans of the words already typed may change with the new keys.
        self.scratch.get_mut().forget_sums();
        Ok(())
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
        self.terms.get(*self.lists.get(&list)?)?.as_ref()
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
    fn search(
        &self,
        prefix: &str,
        aut: crate::fuzzy::Keys<'_>,
        mut f: impl FnMut(&[u8], TermInfo),
    ) {
        use fst::{IntoStreamer, Streamer};
        let range = self.entry.term_chunks_for_prefix(prefix);
        for chunk in self.terms[range].iter().flatten() {
            let mut stream = chunk.terms().search(aut.clone()).into_stream();
            while let Some(key) = stream.next() {
                if let Some(term) = chunk.term_bytes(key) {
                    f(key, term);
                }
            }
        }
    }
    fn each_key(&self, mut f: impl FnMut(&[u8], TermInfo)) {
        use fst::Streamer;
        for chunk in self.terms.iter().flatten() {
            let mut stream = chunk.terms().stream();
            while let Some(key) = stream.next() {
                if let Some(term) = chunk.term_bytes(key) {
                    f(key, term);
                }
            }
        }
    }
}

impl Source for ChunkedEngine {
    const POSITIONS: bool = true;
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
        let _ = chunk.each_posting(term.list, self.entry.tf_table(), |p| {
            let norm: [f32; N_FIELDS] =
                std::array::from_fn(|f| self.norms[p.lengths[f] as usize][f]);
            let title_len = search_index::length_of_byte(p.lengths[0]).min(255.0) as u8;
            f(rank::Posting {
                doc: p.doc,
                tf: rank::pseudo_tf(&self.params, &p.tf, &norm),
                in_title: p.tf[0] > 0,
                title_len,
                positions: p.title_mask,
            });
        });
    }
    fn weight(&self, doc: u32) -> f32 {
        self.entry.weight(doc)
    }
    fn passes(&self, doc: u32, q: &Query<'_>) -> bool {
        self.doc(doc).is_none_or(|d| rank::passes_filters(&d, q))
    }
}
