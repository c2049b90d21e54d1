//! Builds the knowledge base's static files from articles: one search index per language, the
//! rendered (sanitized) articles, a per-language article map, and `manifest.json`.
//!
//! *Architecture invariant*: `build` is pure and deterministic (same articles, same bytes); only
//! `write` touches the disk. File names are content hashes, so every file but the manifest is
//! immutable and cacheable by any CDN.
//! *API boundary*: the `frontdesk index` commands, the server's live rebuild and the search
//! benchmark all turn articles into index documents through `doc_input`, so the benchmark
//! measures exactly what the widget downloads.

use kb_content::Article;
use protocol::{IndexLanguage, IndexManifest};
use search_index::{DocInput, IndexBuilder};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Size a chunk of a chunked index aims at, before compression.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// Longest snippet stored per document, in bytes (the widget shows about 140).
const SNIPPET_BYTES: usize = 90;

/// The built files, by path relative to the index folder, and the manifest describing them.
#[derive(Debug, Clone)]
pub struct Output {
    pub manifest: IndexManifest,
    pub files: BTreeMap<String, Vec<u8>>,
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..6])
}

/// The language key an article is indexed under: the primary subtag (`pt-BR` → `pt`).
pub fn language_key(article: &Article) -> String {
    article
        .lang
        .as_deref()
        .unwrap_or("en")
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase()
}

fn snippet_of(text: &str) -> String {
    if text.len() <= SNIPPET_BYTES {
        return text.to_owned();
    }
    let mut end = SNIPPET_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text[..end].rfind(char::is_whitespace).unwrap_or(end);
    format!("{}…", text[..cut].trim_end())
}

/// The index document for an article. `with_title: false` holds the title out (the benchmark's
/// whole-question setting). URLs are not stored in the search index: suggestions do not need
/// them, and the article map carries what opening an article needs.
pub fn doc_input(a: &Article, with_title: bool) -> DocInput {
    let desc = a.description.clone().unwrap_or_default();
    DocInput {
        id: a.id.clone(),
        title: if with_title {
            a.title.clone()
        } else {
            String::new()
        },
        headings: if with_title {
            format!("{desc}\n{}", a.headings)
        } else {
            a.headings.clone()
        },
        body: a.body.clone(),
        lead: a.lead.clone(),
        tags: a.tags.clone(),
        keywords: Vec::new(),
        url: String::new(),
        lang: a.lang.clone().unwrap_or_default(),
        snippet: if with_title && !desc.is_empty() {
            snippet_of(&desc)
        } else {
            snippet_of(&a.lead)
        },
        weight: a.weight,
    }
}

/// Builds every file for `articles` (already loaded and validated).
pub fn build(articles: &[Article]) -> Output {
    let mut by_lang: BTreeMap<String, Vec<&Article>> = BTreeMap::new();
    for a in articles {
        by_lang.entry(language_key(a)).or_default().push(a);
    }
    let mut files = BTreeMap::new();
    let mut languages = BTreeMap::new();
    for (lang, list) in &by_lang {
        let mut builder = IndexBuilder::new(lang);
        let mut map = BTreeMap::new();
        for a in list {
            builder.add(doc_input(a, true));
            let html = format!("<h1>{}</h1>\n{}", escape(&a.title), a.html);
            let name = format!("articles/{}.html", short_hash(html.as_bytes()));
            map.insert(a.id.clone(), name.clone());
            files.insert(name, html.into_bytes());
        }
        let IndexFiles {
            whole: index,
            chunked,
            chunks,
        } = index_files(&builder);
        let index_name = format!("{lang}-{}.fdx", short_hash(&index));
        // A bundle or an entry (the entry names its chunks by their content hash).
        let kind = if chunks.is_empty() { "bundle" } else { "entry" };
        let chunked_name = format!("{lang}-{}.{kind}.fdx", short_hash(&chunked));
        files.extend(chunks);
        files.insert(chunked_name.clone(), chunked);
        let map_json = serde_json::to_vec(&map).expect("a string map serializes");
        let map_name = format!("{lang}-{}.articles.json", short_hash(&map_json));
        languages.insert(
            lang.clone(),
            IndexLanguage {
                index: index_name.clone(),
                chunked: chunked_name,
                articles: map_name.clone(),
                documents: list.len() as u32,
                bytes: index.len() as u64,
            },
        );
        files.insert(index_name, index);
        files.insert(map_name, map_json);
    }
    let mut whole = Sha256::new();
    for (name, bytes) in &files {
        whole.update(name.as_bytes());
        whole.update(bytes);
    }
    let default_language = if languages.contains_key("en") {
        "en".to_owned()
    } else {
        languages
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "en".into())
    };
    Output {
        manifest: IndexManifest {
            format: u32::from(search_index::FORMAT_VERSION),
            version: hex::encode(&whole.finalize()[..8]),
            default_language,
            languages,
        },
        files,
    }
}

/// The index files of one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFiles {
    /// The whole index in one file (`IndexLanguage::index`: the CLI and other whole-index readers).
    pub whole: Vec<u8>,
    /// What the widget fetches first (`IndexLanguage::chunked`): a bundle, or an entry.
    pub chunked: Vec<u8>,
    /// The chunks beside an entry, by file name (none beside a bundle).
    pub chunks: BTreeMap<String, Vec<u8>>,
}

/// The index of one language: the whole file, and the chunked form as one bundle (the entry and
/// every chunk) when that is no bigger than what a first query fetches from separate chunks
/// (the entry, a few term chunks and a document chunk: the whole file within four chunks, or
/// within the entry and four chunks), else as the entry and its chunks. The sample knowledge
/// base and the evaluation corpus's suites are bundles.
pub fn index_files(builder: &IndexBuilder) -> IndexFiles {
    let whole = builder.build();
    let chunked = builder.build_chunked(CHUNK_BYTES);
    if whole.len() <= 4 * CHUNK_BYTES || whole.len() <= chunked.entry.len() + 4 * CHUNK_BYTES {
        return IndexFiles {
            chunked: chunked.bundle(),
            whole,
            chunks: BTreeMap::new(),
        };
    }
    IndexFiles {
        whole,
        chunked: chunked.entry,
        chunks: chunked.chunks,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the files, then the manifest last (through a rename), so a reader never sees a
/// manifest naming files that are not there yet. Older hashed files are kept for clients that
/// still hold the previous manifest.
pub fn write(output: &Output, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("articles"))?;
    for (name, bytes) in &output.files {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&path, bytes)?;
        }
    }
    let manifest = serde_json::to_vec_pretty(&output.manifest).expect("manifest serializes");
    let tmp = dir.join(".manifest.json.tmp");
    std::fs::write(&tmp, manifest)?;
    std::fs::rename(tmp, dir.join("manifest.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(path: &str, src: &str) -> Article {
        kb_content::parse_article(path, src).unwrap()
    }

    fn sample() -> Vec<Article> {
        vec![
            article(
                "en/refunds.md",
                "---\ntitle: How do I refund a payment?\nlang: en\n---\nGo to **Payments** and click Refund. <script>alert(1)</script>\n",
            ),
            article(
                "pt/reembolso.md",
                "---\ntitle: Como reembolsar um pagamento?\nlang: pt-BR\n---\nAbra **Pagamentos** e clique em Reembolsar.\n",
            ),
        ]
    }

    #[test]
    fn one_index_per_language_deterministic_and_sanitized() {
        let a = build(&sample());
        let b = build(&sample());
        assert_eq!(a.manifest, b.manifest, "same input, same output");
        assert_eq!(a.files, b.files);
        assert_eq!(
            a.manifest.languages.keys().collect::<Vec<_>>(),
            ["en", "pt"]
        );
        assert_eq!(a.manifest.default_language, "en");
        let en = &a.manifest.languages["en"];
        assert_eq!(en.documents, 1);
        let index = search_index::Index::from_bytes(&a.files[&en.index]).unwrap();
        assert_eq!(index.doc(0).id, "en/refunds");
        assert_eq!(index.doc(0).url, "", "urls stay out of the search index");
        let map: BTreeMap<String, String> = serde_json::from_slice(&a.files[&en.articles]).unwrap();
        let html = String::from_utf8(a.files[&map["en/refunds"]].clone()).unwrap();
        assert!(html.contains("<strong>Payments</strong>"), "{html}");
        assert!(
            !html.contains("<script"),
            "article HTML is sanitized: {html}"
        );
    }

    fn big(n: usize) -> Vec<Article> {
        let words = [
            "password", "invoice", "billing", "account", "login", "email", "refund", "export",
            "team", "member", "invite", "archive", "widget", "mobile", "backup", "webhook",
        ];
        (0..n)
            .map(|i| {
                let w = |k: usize| words[(i * 7 + k * 5 + i / 3) % words.len()];
                article(
                    &format!("en/a{i}.md"),
                    &format!(
                        "---\ntitle: How do I {} my {} {i}?\nlang: en\n---\n{} and {} with {} in {}{i}.\n",
                        w(0),
                        w(1),
                        w(2),
                        w(3),
                        w(4),
                        w(5)
                    ),
                )
            })
            .collect()
    }

    #[test]
    fn a_small_knowledge_base_is_one_bundle_beside_the_whole_index() {
        let small = build(&sample());
        for (lang, files) in &small.manifest.languages {
            let whole = search_index::Index::from_bytes(&small.files[&files.index]).unwrap();
            assert_eq!(whole.len(), 1, "{lang}");
            assert!(files.chunked.ends_with(".bundle.fdx"), "{}", files.chunked);
            let bundle = search_index::Bundle::from_bytes(&small.files[&files.chunked]).unwrap();
            assert_eq!(bundle.entry.len(), 1);
            let every_chunk = bundle.entry.n_term_chunks() + bundle.entry.n_doc_chunks();
            assert_eq!(bundle.chunks.len(), every_chunk, "one fetch holds it all");
        }
        // Nothing but the indexes, the article maps and the articles: no loose chunks.
        assert!(small.files.keys().all(|n| !n.ends_with(".fdc")));
    }

    #[test]
    fn a_big_knowledge_base_is_an_entry_and_chunks_beside_the_whole_index() {
        let big = build(&big(1500));
        let en = &big.manifest.languages["en"];
        let whole = search_index::Index::from_bytes(&big.files[&en.index]).unwrap();
        assert_eq!(whole.len(), 1500);
        assert!(en.chunked.ends_with(".entry.fdx"), "{}", en.chunked);
        let entry = search_index::Entry::from_bytes(&big.files[&en.chunked]).unwrap();
        assert_eq!(entry.len(), 1500);
        assert!(entry.n_term_chunks() > 4, "{}", entry.n_term_chunks());
        for i in 0..entry.n_term_chunks() {
            assert!(big.files.contains_key(&entry.term_chunk(i).name));
        }
        for i in 0..entry.n_doc_chunks() {
            assert!(big.files.contains_key(&entry.doc_chunk(i).name));
        }
        // The entry is a small part of the whole.
        assert!(big.files[&en.chunked].len() * 10 < big.files[&en.index].len());
    }

    #[test]
    fn the_bundle_is_chosen_while_it_costs_no_more_than_a_first_query_from_chunks() {
        for n in [1, 50, 200, 400, 800, 1500] {
            let articles = big(n);
            let mut builder = IndexBuilder::new("en");
            for a in &articles {
                builder.add(doc_input(a, true));
            }
            let files = index_files(&builder);
            let chunked = builder.build_chunked(CHUNK_BYTES);
            let first_query = (chunked.entry.len() + 4 * CHUNK_BYTES).max(4 * CHUNK_BYTES);
            assert_eq!(
                files.chunks.is_empty(),
                files.whole.len() <= first_query,
                "{n}"
            );
            if files.chunks.is_empty() {
                assert_eq!(files.chunked, chunked.bundle(), "{n}");
            }
        }
    }

    #[test]
    fn a_changed_article_changes_the_version_and_only_its_files() {
        let a = build(&sample());
        let mut changed = sample();
        changed[1].title = "Como estornar um pagamento?".into();
        let b = build(&changed);
        assert_ne!(a.manifest.version, b.manifest.version);
        assert_eq!(a.manifest.languages["en"], b.manifest.languages["en"]);
        assert_ne!(
            a.manifest.languages["pt"].index,
            b.manifest.languages["pt"].index
        );
    }
}
