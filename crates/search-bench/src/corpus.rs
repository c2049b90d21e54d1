//! Reads the evaluation corpus: articles per suite (via kb-content) and queries.jsonl.

use anyhow::{Context, Result, bail};
use kb_content::Article;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One evaluation query.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryRow {
    pub collection: String,
    pub lang: String,
    pub query: String,
    pub kind: String,
    pub field: String,
    pub targets: Vec<String>,
}

impl QueryRow {
    /// The benchmark's name for the query kind: `full`, `words_2`, ..., `desc`, `anchor`.
    pub fn kind_name(&self) -> String {
        match self.field.as_str() {
            "title" => self.kind.clone(),
            other => other.to_string(),
        }
    }
}

/// A collection/language suite.
pub struct Suite {
    pub name: String,
    pub lang: String,
    pub articles: Vec<Article>,
    pub queries: Vec<QueryRow>,
}

/// Loads every suite named in queries.jsonl, in name order.
pub fn load(corpus: &Path) -> Result<Vec<Suite>> {
    let path = corpus.join("queries.jsonl");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut by_suite: BTreeMap<(String, String), Vec<QueryRow>> = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let q: QueryRow =
            serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        by_suite
            .entry((q.collection.clone(), q.lang.clone()))
            .or_default()
            .push(q);
    }
    let mut suites = Vec::new();
    for ((collection, lang), queries) in by_suite {
        let dir = corpus.join(&collection).join(&lang);
        let loaded = kb_content::load_dir(&dir);
        for e in &loaded.errors {
            eprintln!("warning: {e}");
        }
        if loaded.articles.is_empty() {
            bail!("no articles in {}", dir.display());
        }
        suites.push(Suite {
            name: format!("{collection}/{lang}"),
            lang,
            articles: loaded.articles,
            queries,
        });
    }
    Ok(suites)
}
