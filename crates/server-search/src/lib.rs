//! Server-side full-text search with tantivy: the knowledge base for agents and for knowledge
//! bases too large to ship whole, and the reference the browser engine is checked against.
//!
//! *Architecture invariant*: text is analyzed by `text_analysis` — the browser engine's own
//! analyzer — registered as a tantivy tokenizer, so both engines index and query the same terms.

pub mod messages;

use kb_content::Article;
use std::collections::BTreeMap;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};
use text_analysis::Analyzer;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index folder: {0}")]
    Io(String),
}

/// Our analyzer as a tantivy tokenizer: one token per non-stop word, its text the stem.
#[derive(Clone)]
pub struct StemTokenizer {
    analyzer: Arc<Analyzer>,
}

impl StemTokenizer {
    pub fn new(analyzer: Arc<Analyzer>) -> Self {
        StemTokenizer { analyzer }
    }
}

pub struct StemStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for StemStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for StemTokenizer {
    type TokenStream<'a> = StemStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> StemStream {
        StemStream {
            tokens: stems(&self.analyzer, text)
                .into_iter()
                .map(|(position, from, to, stem)| Token {
                    offset_from: from,
                    offset_to: to,
                    position,
                    text: stem,
                    position_length: 1,
                })
                .collect(),
            next: 0,
        }
    }
}

/// (position, byte start, byte end, stem) of every non-stop word.
fn stems(analyzer: &Analyzer, text: &str) -> Vec<(usize, usize, usize, String)> {
    analyzer
        .analyze(text)
        .into_iter()
        .filter(|t| !t.is_stop)
        .map(|t| (t.position as usize, t.start, t.end, t.stem))
        .collect()
}

/// Which fields a query searches, with their boosts.
#[derive(Debug, Clone, Copy)]
pub struct Boosts {
    pub title: f32,
    pub headings: f32,
    pub body: f32,
}

impl Default for Boosts {
    fn default() -> Self {
        Boosts {
            title: 3.0,
            headings: 2.0,
            body: 1.0,
        }
    }
}

struct LangIndex {
    analyzer: Arc<Analyzer>,
    reader: IndexReader,
    id: Field,
    url: Field,
    title: Field,
    headings: Field,
    body: Field,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArticleHit {
    pub id: String,
    pub title: String,
    /// The article's public link (front matter `url`), empty when it has none.
    pub url: String,
    pub score: f32,
}

/// Knowledge-base articles in tantivy, one in-memory index per language.
pub struct ArticleSearch {
    langs: BTreeMap<String, LangIndex>,
    default_language: String,
}

fn primary(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or(tag)
        .to_ascii_lowercase()
}

impl ArticleSearch {
    /// Indexes `articles` (titles included unless `with_titles` is false).
    pub fn build(articles: &[Article], with_titles: bool) -> Result<Self, SearchError> {
        let mut by_lang: BTreeMap<String, Vec<&Article>> = BTreeMap::new();
        for a in articles {
            by_lang
                .entry(primary(a.lang.as_deref().unwrap_or("en")))
                .or_default()
                .push(a);
        }
        let mut langs = BTreeMap::new();
        for (lang, list) in by_lang {
            let analyzer = Arc::new(Analyzer::for_lang(&lang));
            let tokenizer = format!("fd_{lang}");
            let text = TextOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(&tokenizer)
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_stored();
            let mut schema = Schema::builder();
            let id = schema.add_text_field("id", STRING | STORED);
            let url = schema.add_text_field("url", STORED);
            let title = schema.add_text_field("title", text.clone());
            let headings = schema.add_text_field("headings", text.clone());
            let body = schema.add_text_field("body", text);
            let index = Index::create_in_ram(schema.build());
            index.tokenizers().register(
                &tokenizer,
                TextAnalyzer::from(StemTokenizer {
                    analyzer: analyzer.clone(),
                }),
            );
            let mut writer = index.writer_with_num_threads(1, 32 * 1024 * 1024)?;
            for a in &list {
                let shown_title = if with_titles { a.title.as_str() } else { "" };
                writer.add_document(doc!(
                    id => a.id.clone(),
                    url => a.url.clone().unwrap_or_default(),
                    title => shown_title.to_owned(),
                    headings => a.headings.clone(),
                    body => a.body.clone(),
                ))?;
            }
            writer.commit()?;
            let reader = index.reader()?;
            langs.insert(
                lang,
                LangIndex {
                    analyzer,
                    reader,
                    id,
                    url,
                    title,
                    headings,
                    body,
                },
            );
        }
        let default_language = if langs.contains_key("en") {
            "en".to_owned()
        } else {
            langs.keys().next().cloned().unwrap_or_else(|| "en".into())
        };
        Ok(ArticleSearch {
            langs,
            default_language,
        })
    }

    /// BM25 over the chosen fields, OR of the query's stems.
    pub fn search(
        &self,
        lang: Option<&str>,
        text: &str,
        limit: usize,
        boosts: Boosts,
    ) -> Result<Vec<ArticleHit>, SearchError> {
        let key = lang.map(primary).filter(|l| self.langs.contains_key(l));
        let Some(ix) = self
            .langs
            .get(key.as_deref().unwrap_or(&self.default_language))
        else {
            return Ok(Vec::new());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (_, _, _, stem) in stems(&ix.analyzer, text) {
            if !seen.insert(stem.clone()) {
                continue;
            }
            for (field, boost) in [
                (ix.title, boosts.title),
                (ix.headings, boosts.headings),
                (ix.body, boosts.body),
            ] {
                if boost > 0.0 {
                    let term = TermQuery::new(
                        Term::from_field_text(field, &stem),
                        IndexRecordOption::WithFreqs,
                    );
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(term), boost)),
                    ));
                }
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = ix.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit.max(1)).order_by_score(),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let get = |f: Field| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            hits.push(ArticleHit {
                id: get(ix.id),
                url: get(ix.url),
                title: get(ix.title),
                score,
            });
        }
        Ok(hits)
    }
}
