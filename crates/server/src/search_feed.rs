//! The agents' search index (a folder per node) kept in step with the database, which every
//! node writes to. A node indexes what it writes and what other nodes announce; what it may
//! have missed is re-indexed from the database, conversation by conversation:
//! - at start, everything touched since the index's mark (`indexed-until`, written after a
//!   commit every `MARK_EVERY`): what other nodes wrote while this one was down, and what this
//!   one indexed but had not committed when it was killed;
//! - when the Redis subscription comes back after a break, or another node says it could not
//!   publish for a while (`bus`), everything touched since then.
//!
//! Requests merge into one worker (`CatchUp`): a burst of them costs one pass, a failed pass is
//! retried, and the mark never moves past a moment still owed.
//!
//! Each moment is moved back by `MARGIN`, since the times compared were written by other
//! nodes' clocks. A missing or unfinished index is rebuilt whole.
//!
//! Chosen over PostgreSQL's full-text search: one engine (tantivy) ranks and tokenizes alike on
//! SQLite and PostgreSQL, in every language the knowledge base handles, and a search never
//! queries the database.

use crate::AppState;
use server_search::messages::{Kind, MessageSearch};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const MARK: &str = "indexed-until";
const MARK_EVERY: Duration = Duration::from_secs(10);
/// How far back a catch-up starts before the moment events may have been missed.
pub(crate) const MARGIN: i64 = 5 * 60 * 1000;
/// Conversations re-indexed per page of the catch-up.
const PAGE: u32 = 500;

/// The catch-ups this node owes its index: requests merge into the oldest moment, one worker runs
/// them one at a time (retrying after a failure), and the mark never passes a moment still owed.
pub(crate) struct CatchUp {
    /// The oldest moment asked for and not yet started (`i64::MAX`: none).
    pending: AtomicI64,
    /// The moment of the catch-up running or failed (`i64::MAX`: none).
    running: AtomicI64,
    wake: tokio::sync::Notify,
}

impl Default for CatchUp {
    fn default() -> Self {
        CatchUp {
            pending: AtomicI64::new(i64::MAX),
            running: AtomicI64::new(i64::MAX),
            wake: tokio::sync::Notify::new(),
        }
    }
}

impl CatchUp {
    /// Asks for everything touched since `since` (ms since the epoch) to be re-indexed.
    pub(crate) fn request(&self, since: i64) {
        self.pending.fetch_min(since, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// The oldest moment not yet caught up, if any.
    fn owed(&self) -> Option<i64> {
        let owed = self
            .pending
            .load(Ordering::Acquire)
            .min(self.running.load(Ordering::Acquire));
        (owed != i64::MAX).then_some(owed)
    }
}

/// Runs the requested catch-ups, oldest moment first, one at a time; a failed one is retried
/// (backoff up to 30 s) and keeps its moment owed meanwhile.
fn catch_up_worker(state: AppState) {
    tokio::spawn(async move {
        let owed = state.catch_up.clone();
        let mut backoff = Duration::from_secs(1);
        loop {
            owed.wake.notified().await;
            loop {
                let since = owed.pending.swap(i64::MAX, Ordering::AcqRel);
                if since == i64::MAX {
                    break;
                }
                owed.running.fetch_min(since, Ordering::AcqRel);
                if catch_up(&state, since).await.is_some() {
                    owed.running.store(i64::MAX, Ordering::Release);
                    backoff = Duration::from_secs(1);
                } else {
                    owed.request(since);
                    owed.running.store(i64::MAX, Ordering::Release);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
}

/// Opens the index's upkeep: rebuild or catch up, then commit once a second.
pub(crate) fn start(state: &AppState, search: Arc<MessageSearch>) {
    let dir = state.settings.search_dir.clone();
    // A marker written after a complete rebuild: without it (a new or lost search folder, an
    // upgrade from before the marker, a rebuild cut short by a restart) the index is rebuilt
    // from the database in the background.
    let marker = dir.as_ref().map(|d| d.join("rebuilt-from-database"));
    let rebuild = search.documents() == 0 || marker.as_ref().is_some_and(|m| !m.exists());
    if rebuild {
        let state = state.clone();
        let s = search.clone();
        tokio::spawn(async move {
            crate::privacy::start_at_latest(&state).await;
            match tokio::task::spawn_blocking(move || s.clear()).await {
                Ok(Ok(())) => {}
                _ => return tracing::error!("clearing the search index failed"),
            }
            if state.reindex().await.is_some()
                && let Some(m) = marker
                && let Err(e) = std::fs::write(&m, b"")
            {
                tracing::error!(error = %e, "writing {} failed", m.display());
            }
        });
    } else {
        let state = state.clone();
        let mark = dir.as_ref().and_then(|d| read_mark(&d.join(MARK)));
        if let Some(mark) = mark {
            // Owed from now on, so the mark cannot pass it before it is done.
            state.catch_up.request(mark - MARGIN);
        }
        tokio::spawn(async move { crate::privacy::start(&state).await });
    }
    catch_up_worker(state.clone());
    // Commit what was indexed, once a second: searches see messages within a second. The mark
    // is a moment before a commit that succeeded (everything indexed before it is on disk), and
    // never past a catch-up still owed (a restart resumes from there).
    let mark = dir.map(|d| d.join(MARK));
    let owed = state.catch_up.clone();
    tokio::spawn(async move {
        let mut marked: Option<tokio::time::Instant> = None;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = crate::now_millis();
            let s = search.clone();
            let committed = matches!(
                tokio::task::spawn_blocking(move || s.commit_if_dirty()).await,
                Ok(Ok(()))
            );
            if committed
                && marked.is_none_or(|m| m.elapsed() >= MARK_EVERY)
                && let Some(path) = &mark
            {
                marked = Some(tokio::time::Instant::now());
                write_mark(path, owed.owed().map_or(before, |o| o.min(before)));
            }
        }
    });
}

fn read_mark(path: &std::path::Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn write_mark(path: &PathBuf, at: i64) {
    let tmp = path.with_extension("tmp");
    if let Err(e) = std::fs::write(&tmp, at.to_string()).and_then(|()| std::fs::rename(&tmp, path))
    {
        tracing::error!(error = %e, "writing {} failed", path.display());
    }
}

/// Re-indexes every conversation touched at or after `since` (milliseconds since the epoch).
/// Returns how many, or `None` when the database failed. Run by the worker (`CatchUp`).
async fn catch_up(state: &AppState, since: i64) -> Option<u64> {
    let search = state.messages.clone()?;
    let started = std::time::Instant::now();
    let mut contacts = HashMap::new();
    let mut after = 0;
    let mut done = 0u64;
    loop {
        let page = match state.store.touched_since(since, after, PAGE).await {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => break,
            Err(e) => return reindex_failed(e),
        };
        after = *page.last().expect("not empty");
        for id in page {
            if let Err(e) = reindex_conversation(state, &search, id, &mut contacts).await {
                return reindex_failed(e);
            }
            done += 1;
        }
    }
    if done > 0 {
        tracing::info!(
            conversations = done,
            since,
            ms = started.elapsed().as_millis() as u64,
            "search index caught up from the database"
        );
    }
    Some(done)
}

/// Replaces a conversation's documents with what the database holds. A message written while
/// this runs is indexed live, or by the second read below if its event came before the
/// replacement (then twice, which only points at the same conversation twice).
async fn reindex_conversation(
    state: &AppState,
    search: &Arc<MessageSearch>,
    id: i64,
    contacts: &mut HashMap<i64, Option<store::Contact>>,
) -> Result<(), store::StoreError> {
    let Some(c) = state.store.conversation(id).await? else {
        // Erased meanwhile: the erasure log removes it.
        return Ok(());
    };
    let mut docs = Vec::new();
    let contact = contact_text(state, &c, contacts).await;
    if !contact.trim().is_empty() {
        docs.push((Kind::Contact, contact));
    }
    let mut seq = 0;
    loop {
        let page = state.store.messages_after(id, seq, 1_000).await?;
        let Some(last) = page.last() else { break };
        seq = last.seq;
        docs.extend(
            page.into_iter()
                .map(|m| crate::attachments::search_text(&m.body, &m.attachments).into_owned())
                .filter(|text| !text.trim().is_empty())
                .map(|text| (Kind::Message, text)),
        );
    }
    let notes = state.store.notes(id).await?;
    let notes_read = notes.len();
    for note in notes {
        docs.push((Kind::Note, note.body));
    }
    let s = search.clone();
    match tokio::task::spawn_blocking(move || s.replace_conversation(id, &docs)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, conversation = id, "re-indexing failed"),
        Err(_) => return Ok(()),
    }
    for m in state.store.messages_after(id, seq, 1_000).await? {
        let text = crate::attachments::search_text(&m.body, &m.attachments);
        state.index_text(id, Kind::Message, &text);
    }
    // A note added while this ran was indexed live and may have been replaced away: add the
    // ones past those read (twice at worst, which only points at the conversation twice).
    for note in state.store.notes(id).await?.into_iter().skip(notes_read) {
        state.index_text(id, Kind::Note, &note.body);
    }
    Ok(())
}

/// A conversation's contact fields as live indexing writes them: name, email, and the
/// contact's verified id and attribute values.
async fn contact_text(
    state: &AppState,
    c: &store::Conversation,
    contacts: &mut HashMap<i64, Option<store::Contact>>,
) -> String {
    let mut text: Vec<String> = [c.contact_name.clone(), c.contact_email.clone()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(id) = c.contact_id {
        if let std::collections::hash_map::Entry::Vacant(slot) = contacts.entry(id) {
            slot.insert(state.store.contact(id).await.ok().flatten());
        }
        if let Some(Some(contact)) = contacts.get(&id) {
            text.extend(contact.external_id.clone());
            text.extend(contact.attributes.values().cloned());
        }
    }
    text.join(" ")
}

impl AppState {
    /// Indexes every stored message, note and contact field for the agents' search, in pages.
    /// Returns how many documents were added. Safe beside live indexing: a document added twice
    /// only points at the same conversation twice.
    pub async fn reindex(&self) -> Option<u64> {
        use server_search::messages::Kind;
        const PAGE: u32 = 1_000;
        let search = self.messages.clone()?;
        let started = std::time::Instant::now();
        let mut added = 0u64;
        let mut add = |conversation: i64, kind: Kind, text: &str| {
            if !text.trim().is_empty() {
                self.index_text(conversation, kind, text);
                added += 1;
            }
        };
        let mut contacts: std::collections::HashMap<i64, Option<store::Contact>> =
            std::collections::HashMap::new();
        let mut after = 0;
        loop {
            let page = match self.store.conversations_since(after, PAGE).await {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => break,
                Err(e) => return reindex_failed(e),
            };
            after = page.last().map_or(after, |c| c.id);
            for c in page {
                let text = contact_text(self, &c, &mut contacts).await;
                add(c.id, Kind::Contact, &text);
            }
        }
        let mut cursor = (0, 0);
        loop {
            let page = match self.store.messages_since(cursor, PAGE).await {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => break,
                Err(e) => return reindex_failed(e),
            };
            if let Some(last) = page.last() {
                cursor = (last.conversation_id, last.seq);
            }
            for m in page {
                let text = crate::attachments::search_text(&m.body, &m.attachments);
                add(m.conversation_id, Kind::Message, &text);
            }
        }
        let mut after = 0;
        loop {
            let page = match self.store.notes_since(after, PAGE).await {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => break,
                Err(e) => return reindex_failed(e),
            };
            after = page.last().map_or(after, |(id, _)| *id);
            for (_, n) in page {
                add(n.conversation_id, Kind::Note, &n.body);
            }
        }
        let s = search.clone();
        match tokio::task::spawn_blocking(move || s.commit()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "committing the rebuilt search index failed");
                return None;
            }
            Err(_) => return None,
        }
        if added > 0 {
            tracing::info!(
                documents = added,
                ms = started.elapsed().as_millis() as u64,
                "search index rebuilt from the database"
            );
        }
        Some(added)
    }
}

fn reindex_failed(e: store::StoreError) -> Option<u64> {
    tracing::error!(error = %e, "rebuilding the search index failed");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_merge_into_the_oldest_moment_and_a_running_one_stays_owed() {
        let owed = CatchUp::default();
        assert_eq!(owed.owed(), None);
        owed.request(500);
        owed.request(300);
        owed.request(900);
        assert_eq!(owed.owed(), Some(300), "the oldest of the requests");
        // The worker takes it: still owed while it runs (the mark must not pass it).
        let since = owed.pending.swap(i64::MAX, Ordering::AcqRel);
        owed.running.fetch_min(since, Ordering::AcqRel);
        assert_eq!(owed.owed(), Some(300));
        owed.request(700);
        assert_eq!(owed.owed(), Some(300), "a newer request does not hide it");
        owed.running.store(i64::MAX, Ordering::Release);
        assert_eq!(owed.owed(), Some(700), "done: the next one is owed");
    }
}
