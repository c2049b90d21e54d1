//! Reads a chunked index: the entry file, term chunks and document chunks (owned: chunks arrive
//! one by one over the network and live as long as the engine).

use crate::codec::{ESCAPE, Reader};
use crate::{FnvBuild, IndexError, Kind, N_FIELDS, StoredDoc, TermInfo, read_docs, read_kind};
use std::collections::HashMap;
use std::ops::Range;

/// The file name of a chunk: language, kind and content hash (immutable, CDN-cacheable).
pub fn chunk_file_name(lang: &str, kind: Kind, hash: u64) -> String {
    let k = if kind == Kind::Docs { 'd' } else { 't' };
    format!("{lang}-{k}{hash:016x}.fdc")
}

/// A field length in one byte (Lucene-style norms): exact below 128, then 4% steps up to ~18,000.
pub fn length_byte(len: u32) -> u8 {
    if len < 128 {
        return len as u8;
    }
    let steps = (f64::from(len) / 128.0).ln() / 1.04f64.ln();
    (128.0 + steps.round()).min(255.0) as u8
}

/// The field length a [`length_byte`] stands for.
pub fn length_of_byte(b: u8) -> f32 {
    if b < 128 {
        f32::from(b)
    } else {
        128.0 * 1.04f32.powi(i32::from(b - 128))
    }
}

/// A chunk the engine may need: its number in the entry's table and its file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkRef {
    /// Term or document chunk.
    pub docs: bool,
    /// Number in the entry's table.
    pub index: usize,
    /// File name, relative to the index folder.
    pub name: String,
}

/// The entry of a chunked index: what every query needs, and where the rest is.
#[derive(Debug, Clone)]
pub struct Entry {
    lang: String,
    n_docs: u32,
    avg_field_length: [f32; N_FIELDS],
    tf_table: Vec<[u32; N_FIELDS]>,
    /// Documents whose weight is not 1.0, by number.
    weights: Vec<(u32, f32)>,
    /// First key and content hash of every term chunk, in key order.
    terms: Vec<(String, u64)>,
    /// First document and content hash of every document chunk.
    docs: Vec<(u32, u64)>,
}

impl Entry {
    /// Reads an entry file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, IndexError> {
        let (lang, mut r) = read_kind(bytes, Kind::Entry)?;
        let n_docs = r.u32()?;
        let mut avg_field_length = [0f32; N_FIELDS];
        for a in &mut avg_field_length {
            *a = f32::from_bits(r.u32()?);
        }
        let corrupt = IndexError::Corrupt { section: "entry" };
        let n_codes = r.varint()? as usize;
        if n_codes > usize::from(ESCAPE) {
            return Err(corrupt);
        }
        let mut tf_table = Vec::with_capacity(n_codes);
        for _ in 0..n_codes {
            let mut tf = [0u32; N_FIELDS];
            for x in &mut tf {
                *x = r.varint()? as u32;
            }
            tf_table.push(tf);
        }
        let bound = |n: u64, r: &Reader<'_>| {
            if n as usize > bytes.len() - r.pos() {
                Err(IndexError::Corrupt { section: "entry" })
            } else {
                Ok(n as usize)
            }
        };
        let n = bound(r.varint()?, &r)?;
        let mut weights = Vec::with_capacity(n);
        let mut doc = 0u32;
        for _ in 0..n {
            doc = doc.saturating_add(r.varint()? as u32);
            weights.push((doc, r.varint()? as f32 / 1000.0));
        }
        let n = bound(r.varint()?, &r)?;
        let mut terms = Vec::with_capacity(n);
        for _ in 0..n {
            let first = r.string()?.to_owned();
            terms.push((first, r.u64()?));
        }
        let n = bound(r.varint()?, &r)?;
        let mut docs = Vec::with_capacity(n);
        let mut start = 0u32;
        for _ in 0..n {
            let count = r.varint()? as u32;
            docs.push((start, r.u64()?));
            start = start.saturating_add(count);
        }
        if start != n_docs || r.pos() != bytes.len() {
            return Err(IndexError::Corrupt { section: "entry" });
        }
        Ok(Entry {
            lang: lang.to_owned(),
            n_docs,
            avg_field_length,
            tf_table,
            weights,
            terms,
            docs,
        })
    }

    /// The language the index was analysed in.
    pub fn lang(&self) -> &str {
        &self.lang
    }
    /// Number of documents in the whole index.
    pub fn len(&self) -> usize {
        self.n_docs as usize
    }
    /// Whether the index holds no documents.
    pub fn is_empty(&self) -> bool {
        self.n_docs == 0
    }
    /// Average token count per field over the whole index.
    pub fn avg_field_lengths(&self) -> [f32; N_FIELDS] {
        self.avg_field_length
    }
    /// A document's ranking weight.
    pub fn weight(&self, doc: u32) -> f32 {
        match self.weights.binary_search_by_key(&doc, |w| w.0) {
            Ok(i) => self.weights[i].1,
            Err(_) => 1.0,
        }
    }
    /// Number of term chunks.
    pub fn n_term_chunks(&self) -> usize {
        self.terms.len()
    }
    /// Number of document chunks.
    pub fn n_doc_chunks(&self) -> usize {
        self.docs.len()
    }
    /// The term chunks holding keys that start with `prefix` (every key when it is empty).
    pub fn term_chunks_for_prefix(&self, prefix: &str) -> Range<usize> {
        // The chunk holding `prefix` itself, through the last chunk starting with the prefix.
        let p = prefix.as_bytes();
        let first = self
            .terms
            .partition_point(|(k, _)| k.as_bytes() <= p)
            .saturating_sub(1);
        let end = self
            .terms
            .partition_point(|(k, _)| k.as_bytes() < p || k.as_bytes().starts_with(p));
        first..end.max(first + 1).min(self.terms.len())
    }
    /// The term chunk that holds `key` if the index has it.
    pub fn term_chunk_of(&self, key: &str) -> usize {
        self.terms
            .partition_point(|(k, _)| k.as_str() <= key)
            .saturating_sub(1)
    }
    /// The document chunk that holds `doc`.
    pub fn doc_chunk_of(&self, doc: u32) -> usize {
        self.docs
            .partition_point(|&(start, _)| start <= doc)
            .saturating_sub(1)
    }
    /// A term chunk by number.
    pub fn term_chunk(&self, index: usize) -> ChunkRef {
        ChunkRef {
            docs: false,
            index,
            name: chunk_file_name(&self.lang, Kind::Terms, self.terms[index].1),
        }
    }
    /// A document chunk by number.
    pub fn doc_chunk(&self, index: usize) -> ChunkRef {
        ChunkRef {
            docs: true,
            index,
            name: chunk_file_name(&self.lang, Kind::Docs, self.docs[index].1),
        }
    }
    /// The term-frequency vectors behind one-byte codes.
    pub fn tf_table(&self) -> &[[u32; N_FIELDS]] {
        &self.tf_table
    }
}

/// One posting of a chunk: document, term frequencies, field lengths of the fields the term
/// occurs in, and where its list sits in the title (bit i: title word i, for the first 32).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkPosting {
    /// Document number.
    pub doc: u32,
    /// Term frequency per field.
    pub tf: [u32; N_FIELDS],
    /// Token count per field as a [`length_byte`] (0 where the term does not occur).
    pub lengths: [u8; N_FIELDS],
    /// Title positions of this list's words.
    pub title_mask: u32,
}

/// A term chunk: the keys of one key range and their posting lists.
pub struct TermChunk {
    bytes: Vec<u8>,
    terms: fst::Set<Vec<u8>>,
    keys: HashMap<Box<[u8]>, TermInfo, FnvBuild>,
    /// List number -> (document count, byte range of the postings).
    lists: HashMap<u32, (u64, Range<usize>), FnvBuild>,
}

impl TermChunk {
    /// Reads a term chunk (the bytes are kept).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TermChunk, IndexError> {
        let corrupt = || IndexError::Corrupt { section: "terms" };
        let (_, mut r) = read_kind(&bytes, Kind::Terms)?;
        let fst_len = r.varint()? as usize;
        let terms = fst::Set::new(r.bytes(fst_len)?.to_vec()).map_err(|_| corrupt())?;
        #[cfg(not(target_arch = "wasm32"))]
        terms.as_fst().verify().map_err(|_| corrupt())?;
        if terms.len() > bytes.len() {
            return Err(corrupt());
        }
        let mut keys = HashMap::with_capacity_and_hasher(terms.len(), FnvBuild::default());
        let mut stream = terms.stream();
        while let Some(key) = fst::Streamer::next(&mut stream) {
            let v = r.varint()?;
            let info = TermInfo {
                list: u32::try_from(v >> 1).map_err(|_| corrupt())?,
                is_stop: v & 1 == 1,
            };
            keys.insert(key.into(), info);
        }
        let n = r.varint()? as usize;
        let mut lists = HashMap::with_capacity_and_hasher(n.min(bytes.len()), FnvBuild::default());
        let mut number = 0u32;
        for _ in 0..n {
            number = number.saturating_add(r.varint()? as u32);
            let len = r.varint()? as usize;
            let start = r.pos();
            let list = r.bytes(len)?;
            let df = Reader::new(list, "postings").varint()?;
            lists.insert(number, (df, start..start + len));
        }
        if r.pos() != bytes.len() {
            return Err(corrupt());
        }
        Ok(TermChunk {
            bytes,
            terms,
            keys,
            lists,
        })
    }
    /// The chunk's keys.
    pub fn terms(&self) -> &fst::Set<Vec<u8>> {
        &self.terms
    }
    /// Looks up one key.
    pub fn term_bytes(&self, key: &[u8]) -> Option<TermInfo> {
        self.keys.get(key).copied()
    }
    /// The lists this chunk holds.
    pub fn lists(&self) -> impl Iterator<Item = u32> + '_ {
        self.lists.keys().copied()
    }
    /// Number of documents in a list this chunk holds.
    pub fn doc_freq(&self, list: u32) -> Option<u64> {
        self.lists.get(&list).map(|l| l.0)
    }
    /// Decodes a list this chunk holds, with the entry's term-frequency table.
    pub fn postings(
        &self,
        list: u32,
        tf_table: &[[u32; N_FIELDS]],
    ) -> Result<Vec<ChunkPosting>, IndexError> {
        let mut out = Vec::new();
        self.each_posting(list, tf_table, |p| out.push(p))?;
        Ok(out)
    }

    /// Calls `f` with every posting of a list this chunk holds, in document order (no
    /// allocation: this runs per query word).
    pub fn each_posting(
        &self,
        list: u32,
        tf_table: &[[u32; N_FIELDS]],
        mut f: impl FnMut(ChunkPosting),
    ) -> Result<(), IndexError> {
        let corrupt = || IndexError::Corrupt {
            section: "postings",
        };
        let (_, range) = self.lists.get(&list).ok_or_else(corrupt)?;
        let mut r = Reader::new(&self.bytes[range.clone()], "postings");
        let n = r.varint()?;
        let mut doc = 0u32;
        for _ in 0..n {
            doc = doc.checked_add(r.varint()? as u32).ok_or_else(corrupt)?;
            let code = r.u8()?;
            let tf = if code < ESCAPE {
                *tf_table.get(usize::from(code)).ok_or_else(corrupt)?
            } else {
                let mut tf = [0u32; N_FIELDS];
                for (f, slot) in tf.iter_mut().enumerate() {
                    if (code - ESCAPE) & (1 << f) != 0 {
                        *slot = r.varint()? as u32 + 1;
                    }
                }
                tf
            };
            let mut lengths = [0u8; N_FIELDS];
            for (len, &t) in lengths.iter_mut().zip(&tf) {
                if t > 0 {
                    *len = r.u8()?;
                }
            }
            let title_mask = if tf[0] > 0 { r.varint()? as u32 } else { 0 };
            f(ChunkPosting {
                doc,
                tf,
                lengths,
                title_mask,
            });
        }
        Ok(())
    }
}

/// Stored fields of a document, owned.
#[derive(Debug, Clone, PartialEq)]
struct OwnedDoc {
    id: String,
    title: String,
    url: String,
    lang: String,
    tags: Vec<String>,
    snippet: String,
    weight: f32,
}

/// A document chunk: the stored fields of consecutive documents.
pub struct DocChunk {
    first: u32,
    docs: Vec<OwnedDoc>,
}

impl DocChunk {
    /// Reads a document chunk.
    pub fn from_bytes(bytes: &[u8]) -> Result<DocChunk, IndexError> {
        let (_, mut r) = read_kind(bytes, Kind::Docs)?;
        let first = r.u32()?;
        let n = r.varint()? as usize;
        if n > bytes.len() {
            return Err(IndexError::Corrupt { section: "docs" });
        }
        let docs = read_docs(&bytes[r.pos()..], n)?
            .into_iter()
            .map(|d| OwnedDoc {
                id: d.id.into(),
                title: d.title.into(),
                url: d.url.into(),
                lang: d.lang.into(),
                tags: d.tags.iter().map(|t| t.to_string()).collect(),
                snippet: d.snippet.into(),
                weight: d.weight,
            })
            .collect();
        Ok(DocChunk { first, docs })
    }
    /// The documents this chunk holds.
    pub fn range(&self) -> Range<u32> {
        self.first..self.first + self.docs.len() as u32
    }
    /// A stored document, if this chunk holds it.
    pub fn doc(&self, doc: u32) -> Option<StoredDoc<'_>> {
        let d = self.docs.get(doc.checked_sub(self.first)? as usize)?;
        Some(StoredDoc {
            id: &d.id,
            title: &d.title,
            url: &d.url,
            lang: &d.lang,
            tags: d.tags.iter().map(String::as_str).collect(),
            snippet: &d.snippet,
            weight: d.weight,
        })
    }
}
