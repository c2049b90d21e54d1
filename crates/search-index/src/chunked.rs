//! Reads a chunked index: the entry file, term chunks and document chunks (owned: chunks arrive
//! one by one over the network and live as long as the engine).

use crate::codec::{ESCAPE, Reader};
use crate::{IndexError, Kind, N_FIELDS, StoredDoc, TermInfo, content_hash, read_kind};
use std::ops::Range;

/// The file name of a chunk: language, kind and content hash (immutable, CDN-cacheable).
pub fn chunk_file_name(lang: &str, kind: Kind, hash: u64) -> String {
    // By hand, not `format!("{lang}-{k}{hash:016x}.fdc")`: char and hex formatting cost the
    // widget bytes.
    let mut name = String::with_capacity(lang.len() + 22);
    name.push_str(lang);
    name.push_str(if kind == Kind::Docs { "-d" } else { "-t" });
    for shift in (0..16).rev() {
        let digit = (hash >> (shift * 4)) as u8 & 15;
        name.push(char::from(if digit < 10 {
            b'0' + digit
        } else {
            b'a' + digit - 10
        }));
    }
    name.push_str(".fdc");
    name
}

/// Most posting lists a chunked index may have (a knowledge base of 20,000 articles has a few
/// hundred thousand).
pub const MAX_LISTS: u32 = 1 << 22;

/// Most documents a chunked index may have: the engine sizes its per-document tables from the
/// entry's count, so a damaged count must not ask for gigabytes.
pub const MAX_DOCS: u32 = 1 << 22;

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
        // Filled in place: an error drops one `Entry`, not each table built so far (that drop
        // code cost the widget bytes). No `with_capacity` from the file's counts: a corrupt
        // count fails on the bytes it lacks before it can size an allocation.
        let mut e = Entry {
            lang: lang.to_owned(),
            n_docs: r.u32()?,
            avg_field_length: [0.0; N_FIELDS],
            tf_table: Vec::new(),
            weights: Vec::new(),
            terms: Vec::new(),
            docs: Vec::new(),
        };
        for a in &mut e.avg_field_length {
            *a = f32::from_bits(r.u32()?);
        }
        let n_codes = r.varint()?;
        if n_codes > u64::from(ESCAPE) {
            return Err(IndexError::Corrupt { section: "entry" });
        }
        for _ in 0..n_codes {
            let mut tf = [0u32; N_FIELDS];
            for x in &mut tf {
                *x = r.varint()? as u32;
            }
            e.tf_table.push(tf);
        }
        let mut doc = 0u32;
        for _ in 0..r.varint()? {
            doc = doc.saturating_add(r.varint()? as u32);
            e.weights.push((doc, r.varint()? as f32 / 1000.0));
        }
        for _ in 0..r.varint()? {
            let first = r.string()?.to_owned();
            e.terms.push((first, r.u64()?));
        }
        let mut start = 0u32;
        for _ in 0..r.varint()? {
            let count = r.varint()? as u32;
            e.docs.push((start, r.u64()?));
            start = start.saturating_add(count);
        }
        if start != e.n_docs || e.n_docs > MAX_DOCS || r.pos() != bytes.len() {
            return Err(IndexError::Corrupt { section: "entry" });
        }
        Ok(e)
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
    /// The content hash the entry's table gives a chunk (`None`: no such chunk).
    pub fn chunk_hash(&self, docs: bool, index: usize) -> Option<u64> {
        if docs {
            self.docs.get(index).map(|d| d.1)
        } else {
            self.terms.get(index).map(|t| t.1)
        }
    }
}

/// An entry file, or a bundle ([`Kind::Bundle`]: a small knowledge base in one file) read as its
/// entry and the files of all its chunks.
pub struct Bundle<'a> {
    /// The entry.
    pub entry: Entry,
    /// The files of every term chunk, then of every document chunk, in the entry's table order,
    /// each checked against the content hash the entry gives it (none for an entry file alone).
    pub chunks: Vec<&'a [u8]>,
}

impl Bundle<'_> {
    /// Reads an entry file or a bundle. Each bundled chunk must be the one the entry's table
    /// names (same content hash), else the bundle is corrupt.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle<'_>, IndexError> {
        let mut r = match read_kind(bytes, Kind::Bundle) {
            Err(IndexError::WrongKind) => {
                return Ok(Bundle {
                    entry: Entry::from_bytes(bytes)?,
                    chunks: Vec::new(),
                });
            }
            other => other?.1,
        };
        let len = r.varint()? as usize;
        let entry = Entry::from_bytes(r.bytes(len)?)?;
        let n_terms = entry.terms.len();
        let mut chunks = Vec::new();
        for i in 0..n_terms + entry.docs.len() {
            let len = r.varint()? as usize;
            let file = r.bytes(len)?;
            let (docs, index) = if i < n_terms {
                (false, i)
            } else {
                (true, i - n_terms)
            };
            if entry.chunk_hash(docs, index) != Some(content_hash(file)) {
                return Err(IndexError::Corrupt { section: "bundle" });
            }
            chunks.push(file);
        }
        if r.pos() != bytes.len() {
            return Err(IndexError::Corrupt { section: "bundle" });
        }
        Ok(Bundle { entry, chunks })
    }
}

/// One posting of a chunk: document, term frequencies, token counts of the fields the term
/// occurs in, and where its list sits in the title (bit i: title word i, for the first 32).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkPosting {
    /// Document number.
    pub doc: u32,
    /// Term frequency per field.
    pub tf: [u32; N_FIELDS],
    /// Token count per field (0 where the term does not occur).
    pub lengths: [u32; N_FIELDS],
    /// Title positions of this list's words.
    pub title_mask: u32,
}

/// A term chunk: the keys of one key range and their posting lists.
pub struct TermChunk {
    bytes: Vec<u8>,
    /// Key -> list number << 1 | stop word.
    terms: fst::Map<Vec<u8>>,
    /// (list number, start, end of its postings in `bytes`), by number (a sorted vector: no
    /// hash map code in the widget).
    lists: Vec<(u32, u32, u32)>,
}

impl TermChunk {
    /// Reads a term chunk (the bytes are kept).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TermChunk, IndexError> {
        let corrupt = || IndexError::Corrupt { section: "terms" };
        let (_, mut r) = read_kind(&bytes, Kind::Terms)?;
        let fst_len = r.varint()? as usize;
        let terms = fst::Map::new(r.bytes(fst_len)?.to_vec()).map_err(|_| corrupt())?;
        #[cfg(not(target_arch = "wasm32"))]
        terms.as_fst().verify().map_err(|_| corrupt())?;
        let mut lists = Vec::new();
        let mut number = 0u32;
        for _ in 0..r.varint()? {
            // Readers index lists by number (the widget in a dense table), so numbers are kept
            // below MAX_LISTS (the builder never writes more): a damaged one reads as another
            // list, never as a huge allocation. A mask, not an error: this costs the widget
            // fewer bytes.
            number = (number + (r.varint()? as u32 & (MAX_LISTS - 1))) & (MAX_LISTS - 1);
            let len = r.varint()? as usize;
            let start = r.pos();
            r.bytes(len)?;
            lists.push((number, start as u32, (start + len) as u32));
        }
        if r.pos() != bytes.len() {
            return Err(corrupt());
        }
        Ok(TermChunk {
            bytes,
            terms,
            lists,
        })
    }
    /// The chunk's keys, each with its list as [`TermInfo::from_code`] reads it.
    pub fn terms(&self) -> &fst::Map<Vec<u8>> {
        &self.terms
    }
    /// Looks up one key.
    pub fn term_bytes(&self, key: &[u8]) -> Option<TermInfo> {
        self.terms.get(key).map(TermInfo::from_code)
    }
    /// The lists this chunk holds.
    pub fn lists(&self) -> impl Iterator<Item = u32> + '_ {
        self.lists.iter().map(|l| l.0)
    }
    /// The postings of a list this chunk holds (their count first).
    fn list(&self, list: u32) -> Option<Reader<'_>> {
        let i = self.lists.binary_search_by_key(&list, |l| l.0).ok()?;
        let (_, start, end) = self.lists[i];
        let bytes = self.bytes.get(start as usize..end as usize)?;
        Some(Reader::new(bytes, "postings"))
    }
    /// Number of documents in a list this chunk holds.
    pub fn doc_freq(&self, list: u32) -> Option<u64> {
        self.list(list)?.varint().ok()
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
        let mut r = self.list(list).ok_or_else(corrupt)?;
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
            let mut lengths = [0u32; N_FIELDS];
            for (len, &t) in lengths.iter_mut().zip(&tf) {
                if t > 0 {
                    *len = r.varint()? as u32;
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
        // The docs columns (see `read_docs`) read straight into owned documents: one pass, and
        // no second copy of the column reader in the widget.
        let mut docs: Vec<OwnedDoc> = (0..n)
            .map(|_| OwnedDoc {
                id: String::new(),
                title: String::new(),
                url: String::new(),
                lang: String::new(),
                tags: Vec::new(),
                snippet: String::new(),
                weight: 1.0,
            })
            .collect();
        for column in 0..6 {
            for d in &mut docs {
                let field = match column {
                    0 => &mut d.id,
                    1 => &mut d.title,
                    2 => &mut d.url,
                    3 => &mut d.lang,
                    4 => {
                        for _ in 0..r.varint()? {
                            d.tags.push(r.string()?.to_owned());
                        }
                        continue;
                    }
                    _ => &mut d.snippet,
                };
                field.push_str(r.string()?);
            }
        }
        for d in &mut docs {
            d.weight = r.varint()? as f32 / 1000.0;
        }
        if r.pos() != bytes.len() {
            return Err(IndexError::Corrupt { section: "docs" });
        }
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
