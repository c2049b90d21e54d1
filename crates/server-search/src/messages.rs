//! Full-text search over conversations for agents: messages, private notes and contact fields,
//! each document pointing back to its conversation. Stored on disk next to the database (or in
//! memory for tests), committed in batches.

use crate::{SearchError, StemTokenizer};
use std::path::Path;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use text_analysis::{Analyzer, Lang};

/// What a searchable document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message = 0,
    Note = 1,
    Contact = 2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationHit {
    pub conversation: i64,
    pub score: f32,
}

/// Conversations' text in tantivy. Text is analyzed language-neutrally (folding, no stemming),
/// because one inbox mixes every language its customers write in.
pub struct MessageSearch {
    index: Index,
    reader: IndexReader,
    writer: std::sync::Mutex<IndexWriter>,
    conversation: Field,
    kind: Field,
    text: Field,
    analyzer: Arc<Analyzer>,
    /// Documents were added since the last commit.
    dirty: std::sync::atomic::AtomicBool,
}

const TOKENIZER: &str = "fd_any";

impl MessageSearch {
    fn with_index(index: Index) -> Result<Self, SearchError> {
        let analyzer = Arc::new(Analyzer::new(Lang::Other));
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::from(StemTokenizer::new(analyzer.clone())),
        );
        let schema = index.schema();
        let conversation = schema.get_field("conversation")?;
        let kind = schema.get_field("kind")?;
        let text = schema.get_field("text")?;
        let writer = index.writer_with_num_threads(1, 64 * 1024 * 1024)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(MessageSearch {
            index,
            reader,
            writer: std::sync::Mutex::new(writer),
            conversation,
            kind,
            text,
            analyzer,
            dirty: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn schema() -> Schema {
        let mut schema = Schema::builder();
        schema.add_i64_field("conversation", INDEXED | STORED | FAST);
        schema.add_u64_field("kind", INDEXED | STORED);
        schema.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        );
        schema.build()
    }

    pub fn in_memory() -> Result<Self, SearchError> {
        Self::with_index(Index::create_in_ram(Self::schema()))
    }

    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Io(e.to_string()))?;
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| SearchError::Io(e.to_string()))?;
        Self::with_index(Index::open_or_create(directory, Self::schema())?)
    }

    /// Queues a document; visible to searches after `commit`.
    pub fn add(&self, conversation: i64, kind: Kind, text: &str) -> Result<(), SearchError> {
        let writer = self.writer.lock().expect("lock");
        writer.add_document(doc!(
            self.conversation => conversation,
            self.kind => kind as u64,
            self.text => text.to_owned(),
        ))?;
        self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Replaces every document of `conversation` with `docs` (deleted and added under one lock,
    /// so a search never sees it half-done once committed); visible after `commit`.
    pub fn replace_conversation(
        &self,
        conversation: i64,
        docs: &[(Kind, String)],
    ) -> Result<(), SearchError> {
        let writer = self.writer.lock().expect("lock");
        writer.delete_term(Term::from_field_i64(self.conversation, conversation));
        for (kind, text) in docs {
            writer.add_document(doc!(
                self.conversation => conversation,
                self.kind => *kind as u64,
                self.text => text.clone(),
            ))?;
        }
        self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Commits only when something was added (cheap to call on a timer).
    pub fn commit_if_dirty(&self) -> Result<(), SearchError> {
        if self.dirty.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.commit()?;
        }
        Ok(())
    }

    /// Removes every document (before a rebuild), committed at once.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer.lock().expect("lock").delete_all_documents()?;
        self.commit()
    }

    pub fn commit(&self) -> Result<(), SearchError> {
        self.writer.lock().expect("lock").commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Conversations whose messages, notes or contact fields match all words of `text`,
    /// best first (one hit per conversation).
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<ConversationHit>, SearchError> {
        let words: Vec<String> = self
            .analyzer
            .analyze(text)
            .into_iter()
            .filter(|t| !t.is_stop)
            .map(|t| t.stem)
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|w| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.text, w),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Must, q)
            })
            .collect();
        let searcher = self.reader.searcher();
        // Several documents of one conversation may match: over-fetch, then keep the best each.
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit.max(1) * 4).order_by_score(),
        )?;
        let mut hits: Vec<ConversationHit> = Vec::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(conversation) = doc.get_first(self.conversation).and_then(|v| v.as_i64())
            else {
                continue;
            };
            if !hits.iter().any(|h| h.conversation == conversation) {
                hits.push(ConversationHit {
                    conversation,
                    score,
                });
            }
            if hits.len() == limit {
                break;
            }
        }
        Ok(hits)
    }

    /// Removes every document of these conversations (an erased contact's, or expired by
    /// retention), committed at once; segments that held them are then rewritten and the old
    /// files deleted, so their words are gone from the index files, not only hidden.
    pub fn remove_conversations(&self, ids: &[i64]) -> Result<(), SearchError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer.lock().expect("lock");
        for &id in ids {
            writer.delete_term(Term::from_field_i64(self.conversation, id));
        }
        writer.commit()?;
        let with_deletes: Vec<_> = self
            .index
            .searchable_segment_metas()?
            .into_iter()
            .filter(|m| m.has_deletes())
            .map(|m| m.id())
            .collect();
        if !with_deletes.is_empty() {
            writer.merge(&with_deletes).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// How many documents hold `word` in the index files, deleted ones included until their
    /// segment is rewritten (what "no trace" is checked against).
    pub fn documents_with(&self, word: &str) -> u64 {
        let searcher = self.reader.searcher();
        self.analyzer
            .analyze(word)
            .into_iter()
            .map(|t| {
                searcher
                    .doc_freq(&Term::from_field_text(self.text, &t.stem))
                    .unwrap_or(0)
            })
            .sum()
    }

    /// `documents_with` on the index in `dir` without opening a writer (the server holding it
    /// keeps running): what an operator or a test checks an erasure against.
    pub fn documents_with_in(dir: &Path, word: &str) -> Result<u64, SearchError> {
        let index = Index::open_in_dir(dir)?;
        let text = index.schema().get_field("text")?;
        let searcher = index.reader()?.searcher();
        Ok(Analyzer::new(Lang::Other)
            .analyze(word)
            .into_iter()
            .map(|t| {
                searcher
                    .doc_freq(&Term::from_field_text(text, &t.stem))
                    .unwrap_or(0)
            })
            .sum())
    }

    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    #[doc(hidden)]
    pub fn index(&self) -> &Index {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_conversations_by_message_note_or_contact() {
        let s = MessageSearch::in_memory().unwrap();
        s.add(
            1,
            Kind::Message,
            "My invoice INV-0042 shows the wrong VAT rate",
        )
        .unwrap();
        s.add(
            1,
            Kind::Note,
            "Customer is on the Growth plan; escalate to billing",
        )
        .unwrap();
        s.add(2, Kind::Message, "Não consigo receber pagamentos via PIX")
            .unwrap();
        s.add(2, Kind::Contact, "Rita Souza rita@example.com")
            .unwrap();
        s.add(3, Kind::Message, "Şifremi unuttum, yardım eder misiniz?")
            .unwrap();
        s.commit().unwrap();
        let ids = |q: &str| {
            s.search(q, 10)
                .unwrap()
                .iter()
                .map(|h| h.conversation)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("wrong vat"), [1]);
        assert_eq!(
            ids("escalate billing"),
            [1],
            "notes are searchable by agents"
        );
        assert_eq!(ids("pagamentos pix"), [2]);
        assert_eq!(ids("PAGAMENTOS"), [2], "case-folded");
        assert_eq!(ids("rita"), [2], "contact fields");
        assert_eq!(ids("sifremi"), [3], "diacritics folded");
        assert!(ids("refund").is_empty());
        assert_eq!(s.documents(), 5);

        // Erasing conversation 2 removes its documents from the files, not only from results.
        assert_eq!(s.documents_with("pagamentos"), 1);
        s.remove_conversations(&[2]).unwrap();
        assert!(ids("pagamentos pix").is_empty() && ids("rita").is_empty());
        assert_eq!(s.documents_with("pagamentos"), 0, "no deleted copy left");
        assert_eq!(s.documents_with("rita"), 0);
        assert_eq!(ids("wrong vat"), [1], "the others stay");
        assert_eq!(s.documents(), 3);
    }
}
