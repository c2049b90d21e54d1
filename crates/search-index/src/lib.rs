//! The FAQ index format: written by the native indexer, read (zero-copy) by the browser runtime.
//!
//! *Architecture invariant*: this is the only crate that knows the byte layout. Readers check the
//! magic and the format version before anything else and fail with [`IndexError::IncompatibleVersion`].
//!
//! Every file starts with the same header: `"FDSX" u16:version u16:kind u8:lang_len lang`
//! (little-endian; [`Kind`]: 0 a whole index, 1 the entry of a chunked index, 2 a term chunk,
//! 3 a document chunk, 4 a bundle). A reader refuses another version with
//! [`IndexError::IncompatibleVersion`] and another kind with [`IndexError::WrongKind`].
//!
//! A whole index in one file ([`Index`]; all integers little-endian or LEB128 varints):
//! ```text
//! header   (above) u32:n_docs u32 x4: section lengths
//! terms    varint fst_len, FST set of folded keys (surface forms, stems, the language's stop
//!          words), then per key in key order a varint: 0 a new list, 1 a new stop-word list
//!          (lists are numbered in the order of their first key), n >= 2 the list of the key
//!          n - 2 places before (a surface form and its stem share a list)
//! postings varint n_codes, n_codes x 5 varint tf (the common term-frequency vectors), varint
//!          length of the document stream, the document stream (per list: varint n, n x varint
//!          doc gap) and the code stream (per posting: u8 code < 224 indexes the tf vectors, else
//!          code - 224 is a field mask followed by varint tf - 1 per field); readers find where
//!          each list starts in one pass at load
//! lengths  token count per field, field by field (all titles, then all headings, ...)
//! docs     columns: ids, titles, urls, langs, tags, snippets, weights
//! ```
//!
//! A chunked index (Pagefind-style; what the widget reads): a small entry, term chunks holding
//! consecutive key ranges, document chunks holding consecutive documents. Chunk files are named
//! by their content hash ([`chunk_file_name`]); the entry names them, so a query fetches the
//! entry, then only the chunks of its words and of the results it shows. Nothing in the entry
//! grows per document except the weights that are not 1.0. A small knowledge base ships as one
//! bundle instead: the entry and every chunk in one file, one fetch.
//! ```text
//! entry     header, u32:n_docs, 5 x f32 average field lengths, varint n_codes + the common tf
//!           vectors (as above), varint n + n x (varint doc gap, varint weight x 1000) for
//!           documents whose weight is not 1.0, varint n_term_chunks + per chunk (string: its
//!           first key, empty for the first chunk; u64 content hash), varint n_doc_chunks + per
//!           chunk (varint document count; u64 content hash)
//! terms     header, varint fst_len, FST map of the chunk's keys to list << 1 | stop, varint
//!           n_lists, per list in number order: varint gap from the previous number, varint
//!           byte length, varint n, per posting: varint doc gap, u8 code (as above, tf vectors
//!           from the entry), the varint token count of each field the term occurs in, and when
//!           it occurs in the title a varint mask of its title positions (bit i: title word i,
//!           first 32)
//! docs      header, u32:first document, varint n, the docs columns (as above) of n documents
//! bundle    header, varint length + the entry file, then varint length + file of every term
//!           chunk and every document chunk, in the entry's table order (each checked against
//!           the content hash the entry gives it)
//! ```
//! A list whose keys fall in two chunks (a stem and a surface form far apart in key order) is
//! written into both. Field lengths travel in the postings (exact, so a fully loaded chunked
//! index ranks as the whole file does), so the scorer needs no per-document table.
//!
//! Version 3 (2026-12-01) stored field lengths in postings as one byte (4% steps past 127), the
//! chunk's keys as an FST set plus a list table, and had no bundle; version 2 (2026-11-22 to
//! 2026-12-01) had no kind in the header (a zero `flags` there) and no chunked form; version 1
//! stored list numbers as FST outputs, a block offset table, and lengths document by document.
//! All are refused with [`IndexError::IncompatibleVersion`] (`tests/golden/tiny-v3-old.hex` and
//! `tiny-v2-old.hex` are kept for that test).

#[cfg(feature = "chunked")]
mod chunked;
mod codec;
#[cfg(feature = "builder")]
mod write;
#[cfg(feature = "builder")]
mod write_chunked;

#[cfg(feature = "chunked")]
pub use chunked::{
    Bundle, ChunkPosting, ChunkRef, DocChunk, Entry, MAX_DOCS, MAX_LISTS, TermChunk,
    chunk_file_name,
};
#[cfg(feature = "builder")]
pub use write_chunked::Chunked;

pub use codec::{Posting, Postings};
#[cfg(feature = "builder")]
pub use write::{DocInput, IndexBuilder};

use codec::Reader;
use fst::Streamer;
use std::collections::HashMap;

/// First bytes of every index file.
pub const MAGIC: [u8; 4] = *b"FDSX";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 4;
/// What a file holds (the `u16` after the version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    /// A whole index in one file ([`Index`]).
    Single = 0,
    /// The entry of a chunked index ([`Entry`]).
    Entry = 1,
    /// A term chunk of a chunked index ([`TermChunk`]).
    Terms = 2,
    /// A document chunk of a chunked index ([`DocChunk`]).
    Docs = 3,
    /// An entry followed by all its chunks ([`Bundle`]): a small knowledge base in one fetch.
    Bundle = 4,
}

/// Number of indexed fields.
pub const N_FIELDS: usize = 5;

/// The indexed fields. Their order is part of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The article title.
    Title = 0,
    /// Section headings and the description.
    Headings = 1,
    /// The article body.
    Body = 2,
    /// Tags and keywords.
    Tags = 3,
    /// The lead: the article's first sentence, which usually restates its question.
    Lead = 4,
}

impl Field {
    /// All fields in format order.
    pub const ALL: [Field; N_FIELDS] = [
        Field::Title,
        Field::Headings,
        Field::Body,
        Field::Tags,
        Field::Lead,
    ];
}

/// Why an index could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IndexError {
    /// The bytes are not a Frontdesk search index.
    #[error(
        "not a Frontdesk search index (bad magic bytes); check the URL or path of the index file"
    )]
    BadMagic,
    /// The index was written by a different format version.
    #[error(
        "search index format version {found} is not supported (this runtime reads version {expected}); \
         rebuild the index with the same Frontdesk release as the widget, or reload the page to get a matching widget"
    )]
    IncompatibleVersion {
        /// Version in the file.
        found: u16,
        /// Version this runtime reads.
        expected: u16,
    },
    /// The file is a valid index file of another kind (say a chunk where an entry was expected).
    /// It carries no kind: formatting one would cost the widget bytes.
    #[error("search index file is of another kind (entry, chunk or whole index) than expected")]
    WrongKind,
    /// The bytes end early or a length is out of range.
    #[error("search index is truncated or corrupt in section `{section}`; rebuild it")]
    Corrupt {
        /// The section being read.
        section: &'static str,
    },
}

/// A stored document: what a result shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc<'a> {
    /// Stable article id.
    pub id: &'a str,
    /// Title (empty when the index was built without titles).
    pub title: &'a str,
    /// Link to the full article.
    pub url: &'a str,
    /// BCP 47 language tag.
    pub lang: &'a str,
    /// Tags, for filtering.
    pub tags: Vec<&'a str>,
    /// Text used for result snippets (description or start of the body).
    pub snippet: &'a str,
    /// Ranking weight multiplier (1.0 = neutral).
    pub weight: f32,
}

/// What a term key points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TermInfo {
    /// Number of the posting list (several keys share one list: a stem and its surface forms).
    pub list: u32,
    /// The key is a stop word (its postings cover titles only).
    pub is_stop: bool,
}

impl TermInfo {
    /// A key's list as a term chunk's FST stores it: `list << 1 | stop`.
    pub fn from_code(code: u64) -> TermInfo {
        TermInfo {
            list: (code >> 1) as u32,
            is_stop: code & 1 == 1,
        }
    }
    /// The code [`TermInfo::from_code`] reads.
    pub fn code(self) -> u64 {
        u64::from(self.list) << 1 | u64::from(self.is_stop)
    }
}

/// A read-only index borrowed from a byte slice.
pub struct Index<'a> {
    lang: &'a str,
    terms: fst::Set<&'a [u8]>,
    /// Every key's list (decoded once at load: the FST itself carries no outputs).
    keys: KeyMap,
    doc_stream: &'a [u8],
    code_stream: &'a [u8],
    /// Where each posting list starts in the document and code streams (found once at load).
    lists: Vec<(u32, u32)>,
    tf_table: Vec<[u32; N_FIELDS]>,
    field_lengths: Vec<[u32; N_FIELDS]>,
    avg_field_length: [f32; N_FIELDS],
    docs: Vec<StoredDoc<'a>>,
    section_lengths: [usize; 4],
}

impl<'a> Index<'a> {
    /// Reads an index without copying the term dictionary or postings. Load decodes the list of
    /// every key into a hash map and finds where each posting list starts (one pass each).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Index<'a>, IndexError> {
        let header = read_header(bytes)?;
        let mut r = Reader::new(&bytes[header.body_start..], "sections");
        let terms = r.bytes(header.sections[0])?;
        let postings = r.bytes(header.sections[1])?;
        let lengths = r.bytes(header.sections[2])?;
        let docs = r.bytes(header.sections[3])?;
        let (terms, keys) = read_terms_guarded(terms)?;

        let mut r = Reader::new(postings, "postings");
        let n_codes = r.varint()? as usize;
        if n_codes > usize::from(codec::ESCAPE) {
            return Err(IndexError::Corrupt {
                section: "postings",
            });
        }
        let mut tf_table = Vec::with_capacity(n_codes);
        for _ in 0..n_codes {
            let mut tf = [0u32; N_FIELDS];
            for x in &mut tf {
                *x = r.varint()? as u32;
            }
            tf_table.push(tf);
        }
        let doc_len = r.varint()?;
        let rest = &postings[r.pos()..];
        if doc_len > rest.len() as u64 || rest.len() > u32::MAX as usize {
            return Err(IndexError::Corrupt {
                section: "postings",
            });
        }
        let (doc_stream, code_stream) = rest.split_at(doc_len as usize);
        let lists = codec::list_offsets(doc_stream, code_stream)?;

        let n = header.n_docs as usize;
        let mut r = Reader::new(lengths, "lengths");
        let mut field_lengths = vec![[0u32; N_FIELDS]; n.min(lengths.len())];
        if field_lengths.len() != n {
            return Err(IndexError::Corrupt { section: "lengths" });
        }
        let mut sums = [0f64; N_FIELDS];
        for (f, sum) in sums.iter_mut().enumerate() {
            for l in &mut field_lengths {
                l[f] = r.varint()? as u32;
                *sum += f64::from(l[f]);
            }
        }
        let avg_field_length = sums.map(|s| if n == 0 { 0.0 } else { (s / n as f64) as f32 });
        let docs = read_docs(docs, n)?;
        Ok(Index {
            lang: header.lang,
            terms,
            keys,
            doc_stream,
            code_stream,
            lists,
            tf_table,
            field_lengths,
            avg_field_length,
            docs,
            section_lengths: header.sections,
        })
    }

    /// Byte lengths of the sections: terms, postings, field lengths, stored documents.
    pub fn section_lengths(&self) -> [usize; 4] {
        self.section_lengths
    }
    /// The language the index was analysed in.
    pub fn lang(&self) -> &'a str {
        self.lang
    }
    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }
    /// Whether the index holds no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
    /// A stored document by its number.
    pub fn doc(&self, doc: u32) -> &StoredDoc<'a> {
        &self.docs[doc as usize]
    }
    /// All stored documents, in document-number order.
    pub fn docs(&self) -> &[StoredDoc<'a>] {
        &self.docs
    }
    /// Token counts per field of a document.
    pub fn field_lengths(&self, doc: u32) -> [u32; N_FIELDS] {
        self.field_lengths[doc as usize]
    }
    /// Average token count per field.
    pub fn avg_field_lengths(&self) -> [f32; N_FIELDS] {
        self.avg_field_length
    }
    /// The term dictionary (for prefix and Levenshtein automata); [`Index::term_bytes`] gives
    /// the list of a key it streams.
    pub fn terms(&self) -> &fst::Set<&'a [u8]> {
        &self.terms
    }
    /// Looks up one folded key.
    pub fn term(&self, key: &str) -> Option<TermInfo> {
        self.term_bytes(key.as_bytes())
    }
    /// Looks up one key as bytes (as the dictionary streams them).
    pub fn term_bytes(&self, key: &[u8]) -> Option<TermInfo> {
        self.keys.get(key).copied()
    }
    /// Resolves a folded word to its posting list: the word itself, else its guessed stem
    /// ([`guess_stem`]). Stop words resolve only exactly.
    pub fn resolve(&self, word: &str) -> Option<TermInfo> {
        self.term(word)
            .or_else(|| guess_stem(word, |k| self.term(k).filter(|t| !t.is_stop)))
    }
    /// The posting list a term points to.
    pub fn postings(&self, term: TermInfo) -> Result<Postings<'_>, IndexError> {
        let corrupt = IndexError::Corrupt {
            section: "postings",
        };
        let &(d, c) = self.lists.get(term.list as usize).ok_or(corrupt.clone())?;
        let docs = self.doc_stream.get(d as usize..).ok_or(corrupt.clone())?;
        let codes = self.code_stream.get(c as usize..).ok_or(corrupt)?;
        Postings::new(docs, codes, &self.tf_table)
    }

    /// Number of documents in a posting list (0 for an unknown list).
    pub fn doc_freq(&self, term: TermInfo) -> u64 {
        self.postings(term).map_or(0, |p| p.doc_freq())
    }
    /// Number of posting lists.
    pub fn n_lists(&self) -> usize {
        self.lists.len()
    }
}

/// The stem of a word the vocabulary does not list, guessed without a stemmer: the longest shorter
/// key that starts the word and keeps at least 60% of it (and 4 characters): "installing" ->
/// "install". The index builder drops surface forms this guess recovers, so readers must use it.
pub fn guess_stem<T>(word: &str, lookup: impl Fn(&str) -> Option<T>) -> Option<T> {
    let chars = word.chars().count();
    let min = (chars * 3).div_ceil(5).max(4);
    let ends: Vec<usize> = word.char_indices().map(|(i, _)| i).skip(min).collect();
    ends.into_iter().rev().find_map(|end| lookup(&word[..end]))
}

/// The FST set of keys and the per-key list table that follows it (see the writer).
type Terms<'a> = (fst::Set<&'a [u8]>, KeyMap);

/// Key -> list, hashed with FNV-1a (keys are short; SipHash's DoS resistance is not needed for
/// the index's own keys, and this runs once per key at load).
type KeyMap = HashMap<Box<[u8]>, TermInfo, FnvBuild>;

/// FNV-1a for the index's own small keys (faster than SipHash, notably in wasm).
pub type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

#[cfg(feature = "chunked")]
/// A 64-bit FNV-1a hash of a file's bytes: chunk file names (deterministic, no dependency).
pub fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = Fnv::default();
    h.write(bytes);
    h.finish()
}

/// The FNV-1a hasher behind [`FnvBuild`].
#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// `read_terms`, with a damaged FST that panics inside `fst` (found by fuzzing even past its
/// checksum: libFuzzer solves the comparison) turned into a `Corrupt` error. Natively only: the
/// browser build aborts on panic, and its index comes from this server.
fn read_terms_guarded(bytes: &[u8]) -> Result<Terms<'_>, IndexError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::panic::catch_unwind(|| read_terms(bytes))
            .unwrap_or(Err(IndexError::Corrupt { section: "terms" }))
    }
    #[cfg(target_arch = "wasm32")]
    {
        read_terms(bytes)
    }
}

fn read_terms(bytes: &[u8]) -> Result<Terms<'_>, IndexError> {
    let corrupt = || IndexError::Corrupt { section: "terms" };
    let mut r = Reader::new(bytes, "terms");
    let fst_len = r.varint()? as usize;
    let set = fst::Set::new(r.bytes(fst_len)?).map_err(|_| corrupt())?;
    // `Set::new` checks little, and walking a damaged FST panics inside `fst` (found by
    // fuzzing): its checksum (CRC-32C, written by the builder) is checked first. Not in the
    // browser: fst's CRC tables cost the widget 17 KB brotli (over its budget); there the index
    // comes from this server over HTTP, and a format-level checksum is the cheaper fix to come.
    #[cfg(not(target_arch = "wasm32"))]
    set.as_fst().verify().map_err(|_| corrupt())?;
    let mut table = Reader::new(&bytes[r.pos()..], "terms");
    // Every key has at least one byte in the table: a dictionary claiming more keys than that is
    // corrupt (and its count must not size an allocation; found by fuzzing).
    if set.len() > bytes.len() - r.pos() {
        return Err(corrupt());
    }
    let mut by_rank: Vec<TermInfo> = Vec::with_capacity(set.len());
    let mut keys = KeyMap::with_capacity_and_hasher(set.len(), Default::default());
    let mut next_list = 0u32;
    let mut stream = set.stream();
    while let Some(key) = stream.next() {
        let info = match table.varint()? {
            code @ (0 | 1) => {
                next_list += 1;
                TermInfo {
                    list: next_list - 1,
                    is_stop: code == 1,
                }
            }
            back => *by_rank
                .len()
                .checked_sub((back - 2) as usize)
                .and_then(|r| by_rank.get(r))
                .ok_or_else(corrupt)?,
        };
        by_rank.push(info);
        keys.insert(key.into(), info);
    }
    if table.pos() != bytes.len() - r.pos() {
        return Err(corrupt());
    }
    Ok((set, keys))
}

/// The decoded fixed header.
struct Header<'a> {
    lang: &'a str,
    n_docs: u32,
    sections: [usize; 4],
    body_start: usize,
}

fn read_header(bytes: &[u8]) -> Result<Header<'_>, IndexError> {
    let (lang, mut r) = read_kind(bytes, Kind::Single)?;
    let n_docs = r.u32()?;
    let mut sections = [0usize; 4];
    for s in &mut sections {
        *s = r.u32()? as usize;
    }
    let body_start = r.pos();
    Ok(Header {
        lang,
        n_docs,
        sections,
        body_start,
    })
}

/// Checks magic, version and kind; returns the language and a reader after it (positions
/// count from the start of the file).
pub(crate) fn read_kind(bytes: &[u8], expected: Kind) -> Result<(&str, Reader<'_>), IndexError> {
    if bytes.len() < 6 || bytes[..4] != MAGIC {
        return Err(IndexError::BadMagic);
    }
    let found = u16::from_le_bytes([bytes[4], bytes[5]]);
    if found != FORMAT_VERSION {
        return Err(IndexError::IncompatibleVersion {
            found,
            expected: FORMAT_VERSION,
        });
    }
    let mut r = Reader::new(bytes, "header");
    r.bytes(6)?;
    if r.u16()? != expected as u16 {
        return Err(IndexError::WrongKind);
    }
    let lang_len = r.u8()? as usize;
    let lang = r.str(lang_len)?;
    Ok((lang, r))
}

pub(crate) fn read_docs(bytes: &[u8], n: usize) -> Result<Vec<StoredDoc<'_>>, IndexError> {
    let mut r = Reader::new(bytes, "docs");
    let mut docs: Vec<StoredDoc<'_>> = (0..n)
        .map(|_| StoredDoc {
            id: "",
            title: "",
            url: "",
            lang: "",
            tags: Vec::new(),
            snippet: "",
            weight: 1.0,
        })
        .collect();
    for d in &mut docs {
        d.id = r.string()?;
    }
    for d in &mut docs {
        d.title = r.string()?;
    }
    for d in &mut docs {
        d.url = r.string()?;
    }
    for d in &mut docs {
        d.lang = r.string()?;
    }
    for d in &mut docs {
        let count = r.varint()? as usize;
        for _ in 0..count {
            d.tags.push(r.string()?);
        }
    }
    for d in &mut docs {
        d.snippet = r.string()?;
    }
    for d in &mut docs {
        d.weight = r.varint()? as f32 / 1000.0;
    }
    Ok(docs)
}

#[cfg(all(test, feature = "builder"))]
mod tests;
#[cfg(all(test, feature = "builder"))]
mod tests_chunked;
