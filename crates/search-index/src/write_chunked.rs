//! Writes a chunked index: an entry file, term chunks partitioned by key range, document chunks.

use crate::codec::{ESCAPE, Posting, put_varint};
use crate::write::{IndexBuilder, Layout, encode_docs, put_header};
use crate::{Entry, Kind, N_FIELDS, chunk_file_name, content_hash};
use std::collections::{BTreeMap, BTreeSet};

/// A chunked index: the entry file and every chunk, by file name (content-hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunked {
    /// The entry: global statistics and the tables of chunks.
    pub entry: Vec<u8>,
    /// Term and document chunks by file name (`chunk_file_name`).
    pub chunks: BTreeMap<String, Vec<u8>>,
}

impl Chunked {
    /// Total bytes of the entry and every chunk.
    pub fn len(&self) -> usize {
        self.entry.len() + self.chunks.values().map(Vec::len).sum::<usize>()
    }
    /// Whether the index is empty (never: the entry has a header).
    pub fn is_empty(&self) -> bool {
        false
    }
    /// The whole chunked index in one file ([`Kind::Bundle`]): the entry, then every term chunk
    /// and every document chunk in the entry's table order.
    pub fn bundle(&self) -> Vec<u8> {
        let entry = Entry::from_bytes(&self.entry).expect("the builder's own entry");
        let mut out = Vec::with_capacity(self.len() + 16 * (self.chunks.len() + 1));
        put_header(&mut out, Kind::Bundle, entry.lang());
        let mut file = |bytes: &[u8]| {
            put_varint(&mut out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        };
        file(&self.entry);
        let names = (0..entry.n_term_chunks())
            .map(|i| entry.term_chunk(i).name)
            .chain((0..entry.n_doc_chunks()).map(|i| entry.doc_chunk(i).name));
        for name in names {
            file(&self.chunks[&name]);
        }
        out
    }
}

impl IndexBuilder {
    /// Writes the index in chunks of about `target` bytes each (before compression): term chunks
    /// cover consecutive key ranges (a list bigger than `target` gets a chunk of its own),
    /// document chunks consecutive document numbers.
    pub fn build_chunked(&self, target: usize) -> Chunked {
        let Layout {
            keys,
            order,
            common,
            codes,
        } = self.layout();
        assert!(
            order.len() <= crate::MAX_LISTS as usize,
            "more posting lists than a chunked index may hold"
        );
        assert!(
            self.docs().len() <= crate::MAX_DOCS as usize,
            "more documents than a chunked index may hold"
        );
        let lists: Vec<Vec<u8>> = order
            .iter()
            .map(|&list| self.encode_chunk_list(list, &self.list(list), &codes))
            .collect();
        let lang = self.lang();
        let mut chunks = BTreeMap::new();

        // Term chunks: keys in order, a new chunk when the next key (and its list, unless the
        // chunk already holds it) would pass the target.
        let mut term_table: Vec<(String, u64)> = Vec::new();
        let mut group: Vec<(&str, crate::TermInfo)> = Vec::new();
        let mut size = 0usize;
        let mut held = BTreeSet::new();
        let mut flush = |group: &mut Vec<(&str, crate::TermInfo)>, held: &mut BTreeSet<u32>| {
            if group.is_empty() {
                return;
            }
            let bytes = term_chunk(lang, group, &lists);
            let hash = content_hash(&bytes);
            let first = if term_table.is_empty() {
                ""
            } else {
                group[0].0
            };
            term_table.push((first.to_owned(), hash));
            chunks.insert(chunk_file_name(lang, Kind::Terms, hash), bytes);
            group.clear();
            held.clear();
        };
        for (&key, &info) in &keys {
            let add = key.len()
                + 2
                + if held.contains(&info.list) {
                    0
                } else {
                    lists[info.list as usize].len()
                };
            if !group.is_empty() && size + add > target {
                flush(&mut group, &mut held);
                size = 0;
            }
            size += key.len()
                + 2
                + if held.insert(info.list) {
                    lists[info.list as usize].len()
                } else {
                    0
                };
            group.push((key, info));
        }
        flush(&mut group, &mut held);

        // Document chunks: consecutive documents up to the target.
        let docs = self.docs();
        let mut doc_table: Vec<(u32, u64)> = Vec::new();
        let mut start = 0usize;
        while start < docs.len() {
            let mut end = start;
            let mut size = 0;
            while end < docs.len() && (end == start || size < target) {
                let d = &docs[end];
                size += d.id.len() + d.title.len() + d.url.len() + d.snippet.len() + 8;
                size += d.tags.iter().map(|t| t.len() + 1).sum::<usize>();
                end += 1;
            }
            let mut bytes = Vec::new();
            put_header(&mut bytes, Kind::Docs, lang);
            bytes.extend_from_slice(&(start as u32).to_le_bytes());
            put_varint(&mut bytes, (end - start) as u64);
            bytes.extend_from_slice(&encode_docs(&docs[start..end], lang));
            let hash = content_hash(&bytes);
            doc_table.push(((end - start) as u32, hash));
            chunks.insert(chunk_file_name(lang, Kind::Docs, hash), bytes);
            start = end;
        }

        let mut entry = Vec::new();
        put_header(&mut entry, Kind::Entry, lang);
        entry.extend_from_slice(&(docs.len() as u32).to_le_bytes());
        let n = self.lengths().len().max(1) as f64;
        for f in 0..N_FIELDS {
            let sum: f64 = self.lengths().iter().map(|l| f64::from(l[f])).sum();
            entry.extend_from_slice(&((sum / n) as f32).to_le_bytes());
        }
        put_varint(&mut entry, common.len() as u64);
        for tf in &common {
            for &x in tf {
                put_varint(&mut entry, u64::from(x));
            }
        }
        // Weights other than 1.0 only: most knowledge bases set none.
        let weighted: Vec<(u32, u64)> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (i as u32, crate::write::weight_code(d.weight)))
            .filter(|&(_, w)| w != 1000)
            .collect();
        put_varint(&mut entry, weighted.len() as u64);
        let mut prev = 0;
        for (doc, w) in weighted {
            put_varint(&mut entry, u64::from(doc - prev));
            put_varint(&mut entry, w);
            prev = doc;
        }
        put_varint(&mut entry, term_table.len() as u64);
        for (first, hash) in &term_table {
            put_varint(&mut entry, first.len() as u64);
            entry.extend_from_slice(first.as_bytes());
            entry.extend_from_slice(&hash.to_le_bytes());
        }
        put_varint(&mut entry, doc_table.len() as u64);
        for (n, hash) in &doc_table {
            put_varint(&mut entry, u64::from(*n));
            entry.extend_from_slice(&hash.to_le_bytes());
        }
        Chunked { entry, chunks }
    }

    /// One posting list as a chunk stores it: document gaps, term-frequency codes, the token
    /// count of each field the term occurs in, and where the list sits in the title.
    fn encode_chunk_list(
        &self,
        list: (bool, &str),
        postings: &[Posting],
        codes: &BTreeMap<[u32; N_FIELDS], u8>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, postings.len() as u64);
        let mut prev = 0u32;
        for p in postings {
            put_varint(&mut out, u64::from(p.doc - prev));
            prev = p.doc;
            let present: Vec<usize> = (0..N_FIELDS).filter(|&f| p.tf[f] > 0).collect();
            match codes.get(&p.tf) {
                Some(&code) => out.push(code),
                None => {
                    out.push(ESCAPE + present.iter().map(|&f| 1u8 << f).sum::<u8>());
                    for &f in &present {
                        put_varint(&mut out, u64::from(p.tf[f] - 1));
                    }
                }
            }
            let lengths = self.lengths()[p.doc as usize];
            for &f in &present {
                put_varint(&mut out, u64::from(lengths[f]));
            }
            if p.tf[0] > 0 {
                let mut mask = 0u32;
                for (pos, word) in self.titles[p.doc as usize].iter().take(32).enumerate() {
                    if word.0 == list.0 && word.1 == list.1 {
                        mask |= 1 << pos;
                    }
                }
                put_varint(&mut out, u64::from(mask));
            }
        }
        out
    }
}

/// A term chunk: the FST map of its keys to their lists (`list << 1 | stop`), then its lists in
/// number order (varint gap from the previous number, varint byte length, the list).
fn term_chunk(lang: &str, group: &[(&str, crate::TermInfo)], lists: &[Vec<u8>]) -> Vec<u8> {
    let mut set = fst::MapBuilder::memory();
    let mut numbers = BTreeSet::new();
    for (key, info) in group {
        set.insert(key, info.code())
            .expect("keys are sorted and unique");
        numbers.insert(info.list);
    }
    let fst_bytes = set.into_inner().expect("in-memory fst cannot fail");
    let mut out = Vec::new();
    put_header(&mut out, Kind::Terms, lang);
    put_varint(&mut out, fst_bytes.len() as u64);
    out.extend_from_slice(&fst_bytes);
    put_varint(&mut out, numbers.len() as u64);
    let mut prev = 0;
    for n in numbers {
        put_varint(&mut out, u64::from(n - prev));
        prev = n;
        let list = &lists[n as usize];
        put_varint(&mut out, list.len() as u64);
        out.extend_from_slice(list);
    }
    out
}
