//! Builds index bytes from documents (native indexer only; needs stemmers and stop words).

use crate::codec::{ESCAPE, Posting, encode_postings, put_varint};
use crate::{FORMAT_VERSION, Field, MAGIC, N_FIELDS, TermInfo};
use std::collections::BTreeMap;
use text_analysis::{Analyzer, Lang};

/// One document to index. Text fields are analysed; the rest is stored as is.
#[derive(Debug, Clone)]
pub struct DocInput {
    /// Stable article id.
    pub id: String,
    /// Title (indexed in [`Field::Title`] and stored).
    pub title: String,
    /// Headings, description or summary text (indexed in [`Field::Headings`]).
    pub headings: String,
    /// Body text (indexed in [`Field::Body`]).
    pub body: String,
    /// Lead sentence (indexed in [`Field::Lead`]); usually also part of the body.
    pub lead: String,
    /// Tags (indexed in [`Field::Tags`] and stored for filters).
    pub tags: Vec<String>,
    /// Extra keywords (indexed in [`Field::Tags`], not stored).
    pub keywords: Vec<String>,
    /// Link to the article.
    pub url: String,
    /// BCP 47 language tag; empty means the index language.
    pub lang: String,
    /// Text shown as the result snippet.
    pub snippet: String,
    /// Ranking weight multiplier; 1.0 is neutral.
    pub weight: f32,
}

impl Default for DocInput {
    fn default() -> DocInput {
        DocInput {
            id: String::new(),
            title: String::new(),
            headings: String::new(),
            body: String::new(),
            lead: String::new(),
            tags: Vec::new(),
            keywords: Vec::new(),
            url: String::new(),
            lang: String::new(),
            snippet: String::new(),
            weight: 1.0,
        }
    }
}

type PostingMap = BTreeMap<String, BTreeMap<u32, [u32; N_FIELDS]>>;

/// Collects documents and writes the index. Output is deterministic: same input, same bytes.
pub struct IndexBuilder {
    lang: String,
    analyzers: BTreeMap<&'static str, Analyzer>,
    docs: Vec<DocInput>,
    stems: PostingMap,
    stops: PostingMap,
    surfaces: BTreeMap<String, String>,
    /// Surface forms seen in titles: always kept, as people type titles word for word.
    title_surfaces: std::collections::BTreeSet<String>,
    lengths: Vec<[u32; N_FIELDS]>,
    /// Each document's title tokens in order, as the list they post to (stop word, key): where
    /// chunked postings say a list sits in the title.
    pub(crate) titles: Vec<Vec<(bool, String)>>,
    prune_vocabulary: bool,
}

/// How keys map to lists, and the common term-frequency vectors: shared by both layouts.
pub(crate) struct Layout<'b> {
    /// Every key and its list.
    pub keys: BTreeMap<&'b str, TermInfo>,
    /// The lists in number order: (stop word, name).
    pub order: Vec<(bool, &'b str)>,
    /// The common term-frequency vectors, most frequent first.
    pub common: Vec<[u32; N_FIELDS]>,
    /// Their one-byte codes.
    pub codes: BTreeMap<[u32; N_FIELDS], u8>,
}

impl IndexBuilder {
    /// A builder for an index whose queries are analysed in `lang` (BCP 47).
    pub fn new(lang: &str) -> IndexBuilder {
        let mut b = IndexBuilder {
            lang: lang.to_string(),
            analyzers: BTreeMap::new(),
            docs: Vec::new(),
            stems: BTreeMap::new(),
            stops: BTreeMap::new(),
            surfaces: BTreeMap::new(),
            title_surfaces: std::collections::BTreeSet::new(),
            lengths: Vec::new(),
            titles: Vec::new(),
            prune_vocabulary: true,
        };
        // Every stop word of the index language gets a key, so the browser knows them all.
        for w in b.analyzer(lang).stop_words() {
            b.stops.entry(w).or_default();
        }
        b
    }

    fn analyzer(&mut self, lang: &str) -> &Analyzer {
        let lang = Lang::from_tag(lang);
        self.analyzers
            .entry(lang.code())
            .or_insert_with(|| Analyzer::new(lang))
    }

    /// Adds a document; documents are numbered in the order they are added.
    pub fn add(&mut self, doc: DocInput) {
        let n = self.docs.len() as u32;
        let lang = if doc.lang.is_empty() {
            self.lang.clone()
        } else {
            doc.lang.clone()
        };
        let tags_text = doc
            .tags
            .iter()
            .chain(&doc.keywords)
            .cloned()
            .collect::<Vec<_>>()
            .join(" \n ");
        let texts = [
            (Field::Title, &doc.title),
            (Field::Headings, &doc.headings),
            (Field::Body, &doc.body),
            (Field::Tags, &tags_text),
            (Field::Lead, &doc.lead),
        ];
        let mut lengths = [0u32; N_FIELDS];
        let mut found: Vec<(Field, text_analysis::Token)> = Vec::new();
        let mut title = Vec::new();
        {
            let analyzer = self.analyzer(&lang);
            for (field, text) in texts {
                for t in analyzer.analyze(text) {
                    found.push((field, t));
                }
            }
        }
        for (field, t) in found {
            let f = field as usize;
            if field == Field::Title {
                title.push(if t.is_stop {
                    (true, t.surface.clone())
                } else {
                    (false, t.stem.clone())
                });
            }
            if t.is_stop {
                // Stop words are indexed in titles only: prefixes like "How do I" need them; bodies do not.
                if field == Field::Title {
                    bump(&mut self.stops, &t.surface, n, f);
                    lengths[f] += 1;
                }
                continue;
            }
            lengths[f] += 1;
            bump(&mut self.stems, &t.stem, n, f);
            if field == Field::Title {
                self.title_surfaces.insert(t.surface.clone());
            }
            self.surfaces.entry(t.surface).or_insert(t.stem);
        }
        self.lengths.push(lengths);
        self.titles.push(title);
        self.docs.push(doc);
    }

    /// Keep every surface form in the term dictionary, even those the reader can guess from their
    /// stem (bigger index; for comparisons).
    pub fn keep_full_vocabulary(mut self) -> IndexBuilder {
        self.prune_vocabulary = false;
        self
    }

    /// Number of documents added so far.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no document was added.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Key → list numbering and the common term-frequency codes.
    pub(crate) fn layout(&self) -> Layout<'_> {
        // Each key names a list: its stem's, or (stop words) its own. Lists are numbered in the
        // order their first key appears, so FST outputs grow with the keys and compress well.
        let mut key_list: BTreeMap<&str, (bool, &str)> = BTreeMap::new();
        for stem in self.stems.keys() {
            key_list.insert(stem, (false, stem));
        }
        // A surface form that happens to equal another word's stem maps to its own stem: what was typed wins.
        for (surface, stem) in &self.surfaces {
            key_list.insert(surface, (false, stem));
        }
        for stop in self.stops.keys() {
            key_list.insert(stop, (true, stop));
        }
        if self.prune_vocabulary {
            prune_guessable_surfaces(&mut key_list, &self.surfaces, &self.title_surfaces);
        }
        let mut numbers: BTreeMap<(bool, &str), u32> = BTreeMap::new();
        let mut order: Vec<(bool, &str)> = Vec::new();
        let mut keys: BTreeMap<&str, TermInfo> = BTreeMap::new();
        for (&key, &list) in &key_list {
            let n = *numbers.entry(list).or_insert_with(|| {
                order.push(list);
                order.len() as u32 - 1
            });
            keys.insert(
                key,
                TermInfo {
                    list: n,
                    is_stop: list.0,
                },
            );
        }
        // The most common term-frequency vectors get one-byte codes (ties broken by value).
        let mut counts: BTreeMap<[u32; N_FIELDS], usize> = BTreeMap::new();
        for list in self.stems.values().chain(self.stops.values()) {
            for tf in list.values() {
                *counts.entry(*tf).or_default() += 1;
            }
        }
        let mut common: Vec<([u32; N_FIELDS], usize)> = counts.into_iter().collect();
        common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        common.truncate(usize::from(ESCAPE));
        let codes: BTreeMap<[u32; N_FIELDS], u8> = common
            .iter()
            .enumerate()
            .map(|(i, (tf, _))| (*tf, i as u8))
            .collect();
        Layout {
            keys,
            order,
            common: common.into_iter().map(|(tf, _)| tf).collect(),
            codes,
        }
    }

    /// The postings of a list named by [`Layout::order`].
    pub(crate) fn list(&self, (is_stop, name): (bool, &str)) -> Vec<Posting> {
        let map = if is_stop { &self.stops } else { &self.stems };
        to_postings(&map[name])
    }

    /// The documents added, in number order.
    pub(crate) fn docs(&self) -> &[DocInput] {
        &self.docs
    }

    /// Token counts per field of every document.
    pub(crate) fn lengths(&self) -> &[[u32; N_FIELDS]] {
        &self.lengths
    }

    /// The index language.
    pub(crate) fn lang(&self) -> &str {
        &self.lang
    }

    /// Writes the index as one file.
    pub fn build(&self) -> Vec<u8> {
        let Layout {
            keys,
            order,
            common,
            codes,
        } = self.layout();
        // Lists go to two streams (documents, codes); readers find where each list starts in one
        // pass at load, so the file carries no offsets.
        let (mut doc_stream, mut code_stream) = (Vec::new(), Vec::new());
        for &list in &order {
            encode_postings(&mut doc_stream, &mut code_stream, &self.list(list), &codes);
        }
        let mut postings = Vec::new();
        put_varint(&mut postings, common.len() as u64);
        for tf in &common {
            for &x in tf {
                put_varint(&mut postings, u64::from(x));
            }
        }
        put_varint(&mut postings, doc_stream.len() as u64);
        postings.extend_from_slice(&doc_stream);
        postings.extend_from_slice(&code_stream);
        // The dictionary is an FST set (no outputs: they were a sixth of the gzipped index) and,
        // per key in key order, what its list is: 0 a new list, 1 a new stop-word list (lists are
        // numbered in the order their first key appears), n >= 2 the list of the key n - 2 places
        // before (a surface form and its stem).
        let mut set_builder = fst::SetBuilder::memory();
        let mut key_table = Vec::new();
        let mut first_key: BTreeMap<u32, usize> = BTreeMap::new();
        for (rank, (k, info)) in keys.iter().enumerate() {
            set_builder.insert(k).expect("keys are sorted and unique");
            match first_key.get(&info.list) {
                Some(&r) => put_varint(&mut key_table, 2 + (rank - r) as u64),
                None => {
                    debug_assert_eq!(info.list as usize, first_key.len());
                    first_key.insert(info.list, rank);
                    put_varint(&mut key_table, u64::from(info.is_stop));
                }
            }
        }
        let fst_bytes = set_builder.into_inner().expect("in-memory fst cannot fail");
        let mut terms = Vec::with_capacity(fst_bytes.len() + key_table.len() + 5);
        put_varint(&mut terms, fst_bytes.len() as u64);
        terms.extend_from_slice(&fst_bytes);
        terms.extend_from_slice(&key_table);

        // Field by field: alike numbers together compress better.
        let mut lengths = Vec::new();
        for f in 0..N_FIELDS {
            for l in &self.lengths {
                put_varint(&mut lengths, u64::from(l[f]));
            }
        }
        let docs = encode_docs(&self.docs, &self.lang);

        let mut out =
            Vec::with_capacity(terms.len() + postings.len() + lengths.len() + docs.len() + 64);
        put_header(&mut out, crate::Kind::Single, &self.lang);
        out.extend_from_slice(&(self.docs.len() as u32).to_le_bytes());
        for s in [&terms, &postings, &lengths, &docs] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        for s in [&terms, &postings, &lengths, &docs] {
            out.extend_from_slice(s);
        }
        out
    }
}

/// A ranking weight as stored: thousandths (1000 = neutral; a bad weight is neutral).
pub(crate) fn weight_code(weight: f32) -> u64 {
    let w = if weight.is_finite() && weight >= 0.0 {
        weight
    } else {
        1.0
    };
    (w * 1000.0).round() as u64
}

/// Magic, version, the file's kind and the language.
pub(crate) fn put_header(out: &mut Vec<u8>, kind: crate::Kind, lang: &str) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(kind as u16).to_le_bytes());
    let lang = lang.as_bytes();
    out.push(lang.len().min(255) as u8);
    out.extend_from_slice(&lang[..lang.len().min(255)]);
}

/// Stored documents, column by column (read back by `read_docs`).
pub(crate) fn encode_docs(docs: &[DocInput], index_lang: &str) -> Vec<u8> {
    {
        let mut out = Vec::new();
        let put = |out: &mut Vec<u8>, s: &str| {
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        };
        // Column by column: similar strings sit together and compress better.
        for d in docs {
            put(&mut out, &d.id);
        }
        for d in docs {
            put(&mut out, &d.title);
        }
        for d in docs {
            put(&mut out, &d.url);
        }
        for d in docs {
            put(
                &mut out,
                if d.lang.is_empty() {
                    index_lang
                } else {
                    &d.lang
                },
            );
        }
        for d in docs {
            put_varint(&mut out, d.tags.len() as u64);
            for t in &d.tags {
                put(&mut out, t);
            }
        }
        for d in docs {
            put(&mut out, &d.snippet);
        }
        for d in docs {
            put_varint(&mut out, weight_code(d.weight));
        }
        out
    }
}

/// Drops surface forms that the reader's stem guess ([`crate::guess_stem`]) maps back to their own
/// stem anyway ("configuring" -> "configur"): the vocabulary keeps only what cannot be guessed,
/// and every title word (typo correction works on whole keys; titles are what people type).
/// Iterates because keeping one word can change the guess for another.
fn prune_guessable_surfaces<'k>(
    key_list: &mut BTreeMap<&'k str, (bool, &'k str)>,
    surfaces: &'k BTreeMap<String, String>,
    keep: &std::collections::BTreeSet<String>,
) {
    let mut dropped: BTreeMap<&str, (bool, &str)> = BTreeMap::new();
    for (surface, stem) in surfaces {
        if surface != stem
            && !keep.contains(surface)
            && key_list.get(surface.as_str()) == Some(&(false, stem.as_str()))
        {
            dropped.insert(surface, (false, stem));
        }
    }
    for k in dropped.keys() {
        key_list.remove(k);
    }
    loop {
        let lookup = |k: &str| key_list.get(k).filter(|l| !l.0).copied();
        let restore: Vec<&str> = dropped
            .iter()
            .filter(|(surface, list)| crate::guess_stem(surface, lookup) != Some(**list))
            .map(|(surface, _)| *surface)
            .collect();
        if restore.is_empty() {
            break;
        }
        for k in restore {
            let list = dropped.remove(k).expect("listed above");
            key_list.insert(k, list);
        }
    }
}

fn bump(map: &mut PostingMap, key: &str, doc: u32, field: usize) {
    if !map.contains_key(key) {
        map.insert(key.to_string(), BTreeMap::new());
    }
    let tf = map
        .get_mut(key)
        .expect("inserted above")
        .entry(doc)
        .or_insert([0; N_FIELDS]);
    tf[field] += 1;
}

fn to_postings(list: &BTreeMap<u32, [u32; N_FIELDS]>) -> Vec<Posting> {
    list.iter().map(|(&doc, &tf)| Posting { doc, tf }).collect()
}
